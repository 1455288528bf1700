//! Commands that work on the database: init, apply, card, person, audit, bank.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use sscard_core::{ApplicationSource, BusinessType, CardAction};
use sscard_ids::{CardNumber, PersonName, ResidentId};
use sscard_store::{ApplyRequest, CardView, Ctx, PersonInput, Store, StoreOptions};

use crate::output::{invalid_argument, json_line, store_error};

/// Options every database command shares.
#[derive(Debug, Clone)]
pub(crate) struct Global {
    pub(crate) json: bool,
    /// `--db` or `SSCARD_DB`, if given.
    pub(crate) db_flag: Option<String>,
    pub(crate) actor: String,
    pub(crate) reason: String,
    /// `--demo-keys`: the published demo exchange secret.
    pub(crate) demo_keys: bool,
}

impl Global {
    /// The database URL: the flag, else the default.
    pub(crate) fn db(&self) -> String {
        self.db_flag
            .clone()
            .unwrap_or_else(|| sscard_store::DEFAULT_URL.to_owned())
    }

    pub(crate) fn ctx(&self) -> Ctx {
        Ctx::system(self.actor.clone()).because(self.reason.clone())
    }
}

/// Opens the store and migrates it (every command works on an up-to-date schema).
pub(crate) async fn open(g: &Global) -> Result<Store, ExitCode> {
    match Store::open(&g.db(), &StoreOptions::default()).await {
        Ok(s) => Ok(s),
        Err(e) => Err(store_error(&e, g.json)),
    }
}

macro_rules! try_store {
    ($g:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Ok($crate::output::store_error(&e, $g.json)),
        }
    };
}

macro_rules! try_open {
    ($g:expr) => {
        match $crate::store_cmds::open($g).await {
            Ok(s) => s,
            Err(code) => return Ok(code),
        }
    };
}
pub(crate) use {try_open, try_store};

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Do not take the database's migration lock (for distributed SQL without advisory locks;
    /// run `init` from one place only).
    #[arg(long)]
    no_migration_lock: bool,
}

pub(crate) async fn init(g: &Global, a: &InitArgs) -> anyhow::Result<ExitCode> {
    let options = StoreOptions {
        migration_locking: !a.no_migration_lock,
        ..StoreOptions::default()
    };
    let store = try_store!(g, Store::connect(&g.db(), &options).await);
    let applied = try_store!(g, store.migrate().await);
    let banks = try_store!(g, store.banks().await);
    if g.json {
        json_line(&serde_json::json!({
            "database": sscard_server::config::redact_url(&g.db()),
            "backend": store.backend().as_str(),
            "migrations_applied": applied,
            "banks": banks.len(),
        }));
    } else {
        println!(
            "✓ 数据库已就绪（database ready）: {} [{}] · 本次执行迁移 {applied} 个（migrations applied now）· 合作银行 {} 家（partner banks）",
            sscard_server::config::redact_url(&g.db()),
            store.backend().as_str(),
            banks.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ApplyType {
    New,
    Reissue,
    Exchange,
    WarrantyExchange,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// Resident ID number of the applicant.
    #[arg(long)]
    id: String,
    /// Name as on the ID card.
    #[arg(long)]
    name: String,
    /// Partner bank: code (105) or short name (CCB); see `sscard bank list`.
    #[arg(long)]
    bank: String,
    /// Business type.
    #[arg(long = "type", value_enum, default_value = "new")]
    kind: ApplyType,
    /// 即时制卡: produce the card at once.
    #[arg(long)]
    instant: bool,
    /// The outlet taking the application.
    #[arg(long)]
    outlet: Option<String>,
}

pub(crate) async fn apply(g: &Global, a: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let id = match ResidentId::parse(&a.id) {
        Ok(id) => id,
        Err(e) => return Ok(invalid_argument("--id", &e, g.json)),
    };
    let name = match PersonName::parse(&a.name) {
        Ok(n) => n,
        Err(e) => return Ok(invalid_argument("--name", &e, g.json)),
    };
    // The chip must be able to carry the name; say so now, not at the card factory.
    if let Err(e) = name.chip_name() {
        return Ok(invalid_argument("--name", &e, g.json));
    }
    let store = try_open!(g);
    let req = ApplyRequest {
        person: PersonInput::new(id, name),
        bank: a.bank.clone(),
        kind: match a.kind {
            ApplyType::New => BusinessType::New,
            ApplyType::Reissue => BusinessType::Reissue,
            ApplyType::Exchange => BusinessType::Exchange,
            ApplyType::WarrantyExchange => BusinessType::WarrantyExchange,
        },
        source: ApplicationSource::Individual,
        instant: a.instant,
        outlet: a.outlet.clone(),
    };
    let out = try_store!(g, store.apply(&g.ctx(), &req).await);
    if g.json {
        json_line(&out);
    } else {
        println!(
            "✓ 申领已受理（application accepted）: {}",
            out.application_id
        );
        if let Some(card) = out.card_number {
            println!("  新卡号（new card number）: {card}");
        }
        if let Some(old) = out.replaces {
            println!("  替换原卡（replaces card）: {old}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub(crate) enum CardCommand {
    /// 查询 / show a card.
    Show(CardArg),
    /// 卡面 / draw the back of the card (PNG, 300 dpi) with photo, name, numbers and bank.
    Face {
        /// The 9-character card number.
        card_number: String,
        /// Where to write the PNG.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// 发放 / hand the card over to its holder.
    HandOver(CardArg),
    /// 启用社保功能 / enable the social-security function (supersedes older cards).
    Activate(CardArg),
    /// 挂失 / report a loss: --temporary (lapses after 7 days) or --formal (shared with the bank).
    Loss(LossArgs),
    /// 解挂 / lift a temporary or formal loss.
    Unfreeze(CardArg),
    /// 注销 / cancel the card.
    Cancel(CardArg),
    /// 补卡 / after a formal loss: a new card at once, the old one cancelled.
    Reissue(CardArg),
    /// 换卡 / a new card at once; the old one works until the new one is used.
    Exchange(CardArg),
    /// 用卡 / record a use at a terminal (the first use of a new card supersedes the old one).
    Use(CardArg),
    /// 临时挂失到期解除 / lapse every temporary loss older than the configured period.
    LapseOverdue,
}

#[derive(Debug, Args)]
pub(crate) struct CardArg {
    /// The 9-character card number.
    card_number: String,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("kind").required(true).args(["temporary", "formal"])))]
pub(crate) struct LossArgs {
    /// The 9-character card number.
    card_number: String,
    /// 临时挂失: the social-security side only; lapses by itself.
    #[arg(long)]
    temporary: bool,
    /// 正式挂失: both functions, until unfrozen or reissued.
    #[arg(long)]
    formal: bool,
}

fn parse_card(s: &str, json: bool) -> Result<CardNumber, ExitCode> {
    CardNumber::parse(s).map_err(|e| invalid_argument("CARD_NUMBER", &e, json))
}

fn print_card(g: &Global, v: &CardView, headline: &str) {
    if g.json {
        json_line(v);
        return;
    }
    println!("✓ {headline}");
    println!("  卡号（card number）       {}", v.card_number);
    println!(
        "  持卡人（holder）          {} {}",
        v.holder_id, v.holder_name
    );
    println!(
        "  社保状态（SS status）     {} {} ({})",
        v.ss_status.zh(),
        v.ss_status.as_str(),
        v.ss_status_code
    );
    println!(
        "  金融状态（financial）     {} {}",
        v.financial_status.zh(),
        v.financial_status.as_str()
    );
    println!(
        "  已发放（handed over）     {}",
        if v.handed_over { "是 yes" } else { "否 no" }
    );
    if let Some(by) = v.superseded_by {
        println!("  已被新卡取代（superseded by） {by}");
    }
    if let Some(at) = v.temporary_loss_lapses_at {
        println!(
            "  临时挂失到期（lapses at） {}",
            at.format("%Y-%m-%d %H:%M UTC")
        );
    }
    println!("  银行（bank）              {}", v.bank_code);
    println!(
        "  有效期（valid）           {} – {}",
        v.issue_date, v.expiry_date
    );
    if let Some(code) = &v.card_id_code {
        println!("  卡识别码（card id code）  {code}");
    }
}

pub(crate) async fn card(g: &Global, c: CardCommand) -> anyhow::Result<ExitCode> {
    let (number, loss_kind) = match &c {
        CardCommand::LapseOverdue => {
            let store = try_open!(g);
            let lapsed = try_store!(g, store.lapse_overdue_temporary_losses(&g.ctx()).await);
            if g.json {
                json_line(&serde_json::json!({ "lapsed": lapsed }));
            } else {
                println!(
                    "✓ 到期解除临时挂失 {} 张（temporary losses lapsed）",
                    lapsed.len()
                );
                for n in lapsed {
                    println!("  {n}");
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        CardCommand::Face { card_number, out } => {
            return crate::batch_cmds::card_face(g, card_number, out).await;
        }
        CardCommand::Loss(l) => (&l.card_number, Some(l.formal)),
        CardCommand::Show(a)
        | CardCommand::HandOver(a)
        | CardCommand::Activate(a)
        | CardCommand::Unfreeze(a)
        | CardCommand::Cancel(a)
        | CardCommand::Reissue(a)
        | CardCommand::Exchange(a)
        | CardCommand::Use(a) => (&a.card_number, None),
    };
    let number = match parse_card(number, g.json) {
        Ok(n) => n,
        Err(code) => return Ok(code),
    };
    let store = try_open!(g);
    let ctx = g.ctx();
    // The CLI's card commands are the catalogue's actions (plus `show`): one dispatch for all.
    let action = match c {
        CardCommand::Show(_) => None,
        CardCommand::HandOver(_) => Some(CardAction::HandOver),
        CardCommand::Activate(_) => Some(CardAction::ActivateSs),
        CardCommand::Loss(_) if loss_kind == Some(true) => Some(CardAction::FormalLoss),
        CardCommand::Loss(_) => Some(CardAction::TemporaryLoss),
        CardCommand::Unfreeze(_) => Some(CardAction::Unfreeze),
        CardCommand::Cancel(_) => Some(CardAction::Cancel),
        CardCommand::Use(_) => Some(CardAction::RecordUse),
        CardCommand::Reissue(_) => Some(CardAction::Reissue),
        CardCommand::Exchange(_) => Some(CardAction::Exchange),
        CardCommand::LapseOverdue | CardCommand::Face { .. } => unreachable!("handled above"),
    };
    let Some(action) = action else {
        let view = try_store!(g, store.card(&ctx, &number).await);
        print_card(g, &view, "社会保障卡（social security card）");
        return Ok(ExitCode::SUCCESS);
    };
    let out = try_store!(g, store.card_action(&ctx, &number, action).await);
    match out.replacement {
        Some(replacement) => {
            if g.json {
                json_line(&replacement);
            } else {
                println!(
                    "✓ {}已办理（{}）: {}",
                    action.zh(),
                    action.en(),
                    replacement.application_id
                );
                if let Some(card) = replacement.card_number {
                    println!("  新卡号（new card number）: {card}");
                }
            }
        }
        None => print_card(
            g,
            &out.card,
            &format!("已办理：{}（done: {}）", action.zh(), action.en()),
        ),
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub(crate) enum PersonCommand {
    /// 查询人员 / show a person with cards and applications (masked).
    Show {
        /// Resident ID number.
        id: String,
    },
}

pub(crate) async fn person(g: &Global, c: PersonCommand) -> anyhow::Result<ExitCode> {
    let PersonCommand::Show { id } = c;
    let id = match ResidentId::parse(&id) {
        Ok(id) => id,
        Err(e) => return Ok(invalid_argument("ID", &e, g.json)),
    };
    let store = try_open!(g);
    let p = try_store!(g, store.person(&g.ctx(), &id).await);
    if g.json {
        json_line(&p);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "✓ {} {} · {} · {} · {}",
        p.ssn, p.name, p.sex, p.birth_date, p.household_region
    );
    match p.live_card {
        Some(c) => println!("  社保功能有效的卡（live card）: {c}"),
        None => println!("  无社保功能有效的卡（no live card）"),
    }
    for c in &p.cards {
        let sup = c
            .superseded_by
            .map(|b| format!(" → {b}"))
            .unwrap_or_default();
        println!(
            "  卡（card） {} · {} {} · {} {}{sup}",
            c.card_number,
            c.ss_status.zh(),
            c.ss_status.as_str(),
            c.financial_status.zh(),
            c.financial_status.as_str()
        );
    }
    for a in &p.applications {
        println!(
            "  申领（application） {} · {} · {} {} · {}",
            a.id,
            a.business_type.zh(),
            a.status.zh(),
            a.status.as_str(),
            a.created_at.format("%Y-%m-%d %H:%M")
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// 校验审计链 / walk the hash chain (streamed, constant memory) and name the first altered,
    /// deleted or moved event; prints the peak memory of the walk.
    Verify {
        /// An anchor written earlier by `sscard audit anchor` and kept outside the database: a
        /// chain rewritten since (with every hash and the head recomputed) is caught.
        #[arg(long)]
        anchor: Option<PathBuf>,
        /// Walk only the events after the latest checkpoint (the last walk that found the chain
        /// intact) instead of the whole chain.
        #[arg(long)]
        from_checkpoint: bool,
    },
    /// 审计链锚点 / the chain's head now (sequence number, hash, time), signed with the audit key
    /// (`SSCARD_AUDIT_KEY`, 64 hex digits; `--demo-keys`: the published demo key). Keep it outside
    /// the database — the auditor's mailbox, a WORM log, paper.
    Anchor {
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// 最近的审计事件 / the latest events.
    Tail {
        /// How many.
        #[arg(short = 'n', default_value_t = 20)]
        n: i64,
    },
}

/// The audit key: `SSCARD_AUDIT_KEY`, or the demo key with `--demo-keys`.
fn audit_key(g: &Global) -> Result<sscard_store::AuditKey, String> {
    if g.demo_keys {
        return Ok(sscard_store::AuditKey::demo());
    }
    match sscard_store::AuditKey::from_env() {
        Ok(Some(k)) => Ok(k),
        Ok(None) => Err(format!(
            "未设置审计密钥 {env}：请设置为 64 位十六进制数字（例如 `openssl rand -hex 32`，由审计部门保管），或演示时加 --demo-keys（the audit key {env} is not set: set it to 64 hex digits, e.g. from `openssl rand -hex 32`, kept by the audit office, or pass --demo-keys for a demonstration）",
            env = sscard_store::AuditKey::ENV
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The peak resident memory of this process so far, in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn refuse(g: &Global, code: &str, message: &str) -> ExitCode {
    if g.json {
        json_line(&serde_json::json!({ "code": code, "message": message }));
    } else {
        eprintln!("✗ {message}");
    }
    ExitCode::from(1)
}

/// `sscard audit verify`.
async fn audit_verify(
    g: &Global,
    store: &Store,
    anchor: Option<PathBuf>,
    from_checkpoint: bool,
) -> anyhow::Result<ExitCode> {
    let anchor = match anchor {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let Ok(a) = serde_json::from_str::<sscard_store::Anchor>(&text) else {
                return Ok(refuse(
                    g,
                    "audit.anchor_format",
                    &format!(
                        "{} 不是审计锚点文件（not an audit anchor file）",
                        path.display()
                    ),
                ));
            };
            let key = match audit_key(g) {
                Ok(k) => k,
                Err(m) => return Ok(refuse(g, "audit.key", &m)),
            };
            if let Err(e) = a.check(&key) {
                return Ok(refuse(g, "audit.anchor_signature", &e.to_string()));
            }
            Some(a)
        }
    };
    let from = if from_checkpoint {
        sscard_store::VerifyFrom::Checkpoint
    } else {
        sscard_store::VerifyFrom::Genesis
    };
    let started = std::time::Instant::now();
    let report = try_store!(g, store.verify_audit_with(from, anchor.as_ref()).await);
    let seconds = started.elapsed().as_secs_f64();
    let (zh, en) = report.message();
    let rss = peak_rss_kib();
    if g.json {
        json_line(&serde_json::json!({
            "ok": report.ok(), "events": report.events, "problem": report.problem,
            "from_seq": report.from_seq, "last_seq": report.last_seq,
            "anchored": report.anchored, "seconds": seconds, "peak_rss_kib": rss,
            "message": zh, "message_en": en,
        }));
    } else {
        let mark = if report.ok() { "✓" } else { "✗" };
        println!("{mark} {zh}（{en}）");
        if report.from_seq > 0 {
            println!(
                "  自检查点 #{} 起（from checkpoint #{}）",
                report.from_seq, report.from_seq
            );
        }
        if let Some(a) = &anchor {
            println!(
                "  锚点 #{} {}（anchor of {}）: {}",
                a.seq,
                a.hash,
                a.at.to_rfc3339(),
                if report.anchored {
                    "一致 / matches"
                } else {
                    "未核对 / not reached"
                }
            );
        }
        println!(
            "  {:.2} s, 峰值内存 / peak RSS {} KiB",
            seconds,
            rss.map_or_else(|| "?".into(), |k| k.to_string())
        );
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(crate) async fn audit(g: &Global, c: AuditCommand) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    match c {
        AuditCommand::Verify {
            anchor,
            from_checkpoint,
        } => audit_verify(g, &store, anchor, from_checkpoint).await,
        AuditCommand::Anchor { out } => {
            let key = match audit_key(g) {
                Ok(k) => k,
                Err(m) => return Ok(refuse(g, "audit.key", &m)),
            };
            let anchor = try_store!(g, store.audit_anchor(&key).await);
            let text = serde_json::to_string_pretty(&anchor)? + "\n";
            match out {
                Some(path) => {
                    std::fs::write(&path, &text)?;
                    if g.json {
                        json_line(&anchor);
                    } else {
                        println!(
                            "✓ 锚点 #{} 已写入 {}（anchor of #{} written）",
                            anchor.seq,
                            path.display(),
                            anchor.seq
                        );
                    }
                }
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Tail { n } => {
            let events = try_store!(g, store.audit_tail(n).await);
            for e in events.iter().rev() {
                if g.json {
                    json_line(e);
                } else {
                    let at = chrono::DateTime::from_timestamp_micros(e.at_us).unwrap_or_default();
                    println!(
                        "#{:<6} {} {:<24} {:<28} {} {}",
                        e.seq,
                        at.format("%Y-%m-%d %H:%M:%S"),
                        e.actor,
                        e.action,
                        e.subject,
                        e.payload
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum BankCommand {
    /// 合作银行列表 / list the partner banks.
    List,
    /// 状态交换：导出 / the social-security events for one bank since its last export (signed).
    Export(crate::payment_cmds::ExportArgs),
    /// 状态交换：导入 / apply a bank's signed status file (activated, frozen, closed, loss …).
    Import {
        /// The bank's file.
        file: std::path::PathBuf,
    },
    /// 状态交换记录 / the latest events of the exchange, both ways.
    Events {
        /// Only this bank's.
        #[arg(long)]
        bank: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

pub(crate) async fn bank(g: &Global, c: BankCommand) -> anyhow::Result<ExitCode> {
    match c {
        BankCommand::List => {}
        BankCommand::Export(a) => return crate::payment_cmds::export(g, &a).await,
        BankCommand::Import { file } => return crate::payment_cmds::import(g, &file).await,
        BankCommand::Events { bank, limit } => {
            return crate::payment_cmds::events(g, bank.as_deref(), limit).await;
        }
    }
    let store = try_open!(g);
    let banks = try_store!(g, store.banks().await);
    if g.json {
        json_line(&banks);
    } else {
        for b in banks {
            let legacy = if b.legacy {
                " （存量，不再受理新申领 legacy: no new applications）"
            } else {
                ""
            };
            println!(
                "{}  {:<6} {} / {} · {}{legacy}",
                b.code, b.short_name, b.name_zh, b.name_en, b.service_phone
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub(crate) enum EmployerCommand {
    /// 登记单位 / register an employer (or update its name).
    Add {
        /// Unified social credit code.
        #[arg(long)]
        code: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// Region code (6 digits; default: characters 3–8 of the credit code).
        #[arg(long)]
        region: Option<String>,
    },
}

pub(crate) async fn employer(g: &Global, c: EmployerCommand) -> anyhow::Result<ExitCode> {
    let EmployerCommand::Add { code, name, region } = c;
    let code = match sscard_ids::CreditCode::parse(&code) {
        Ok(c) => c,
        Err(e) => return Ok(invalid_argument("--code", &e, g.json)),
    };
    let region_text = region.unwrap_or_else(|| code.region_digits().to_owned());
    let region = match sscard_ids::RegionCode::parse(&region_text) {
        Ok(r) => r,
        Err(e) => return Ok(invalid_argument("--region", &e, g.json)),
    };
    if name.trim().is_empty() {
        eprintln!("✗ --name: 单位名称不能为空（the employer name is empty）");
        return Ok(ExitCode::from(1));
    }
    let store = try_open!(g);
    let e = try_store!(
        g,
        store
            .register_employer(&g.ctx(), &code, name.trim(), region)
            .await
    );
    if g.json {
        json_line(&e);
    } else {
        println!(
            "✓ 单位已登记（employer registered）: {} {} · {}",
            e.credit_code, e.name, e.region
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub(crate) enum OutletCommand {
    /// 新增或修改服务网点 / add or update a service point.
    Add {
        /// Code, e.g. `TZ-HL-01`.
        #[arg(long)]
        code: String,
        /// Chinese name.
        #[arg(long)]
        name: String,
        /// English name (defaults to the Chinese one).
        #[arg(long)]
        name_en: Option<String>,
        /// Region code (6 digits).
        #[arg(long)]
        region: String,
        /// An on-site point at this employer (credit code).
        #[arg(long)]
        employer: Option<String>,
    },
    /// 服务网点列表 / list service points.
    List,
}

pub(crate) async fn outlet(g: &Global, c: OutletCommand) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    match c {
        OutletCommand::List => {
            let outlets = try_store!(g, store.outlets().await);
            if g.json {
                json_line(&outlets);
            } else {
                for o in outlets {
                    println!(
                        "{:<14} {:<14} {} / {} · {}",
                        o.code, o.kind, o.name_zh, o.name_en, o.region
                    );
                }
            }
        }
        OutletCommand::Add {
            code,
            name,
            name_en,
            region,
            employer,
        } => {
            let region = match sscard_ids::RegionCode::parse(&region) {
                Ok(r) => r,
                Err(e) => return Ok(invalid_argument("--region", &e, g.json)),
            };
            let employer_id = match employer {
                Some(credit) => {
                    let credit = match sscard_ids::CreditCode::parse(&credit) {
                        Ok(c) => c,
                        Err(e) => return Ok(invalid_argument("--employer", &e, g.json)),
                    };
                    // Registering with the same name is a no-op lookup; an unknown code is refused.
                    let known = try_store!(g, store.employer(&credit).await);
                    Some(known.id)
                }
                None => None,
            };
            let outlet = sscard_store::Outlet {
                code: code.clone(),
                name_zh: name.clone(),
                name_en: name_en.unwrap_or(name),
                region: region.to_string(),
                kind: if employer_id.is_some() {
                    "employer_site".into()
                } else {
                    "outlet".into()
                },
                employer_id,
            };
            try_store!(g, store.upsert_outlet(&g.ctx(), &outlet).await);
            if g.json {
                json_line(&outlet);
            } else {
                println!("✓ 服务网点已保存（service point saved）: {code}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
