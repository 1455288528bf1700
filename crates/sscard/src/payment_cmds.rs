//! `sscard payment` (benefit payments to the card's bank account), the status exchange with
//! the banks (`sscard bank export|import|events`) and the bank simulators for both
//! (`sscard sim bank-payments|bank-status`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sscard_core::{BankReport, PaymentKind};
use sscard_exchange::PaymentFailPlan;
use sscard_ids::{Bilingual, CardNumber};
use sscard_import::bank_files::{self, StatusLine};
use sscard_import::production::ProductionError;
use sscard_store::bank::{PaymentBatchReport, SendOutcome};

use crate::output::json_line;
use crate::production_cmds::{keys, production_error, read};
use crate::store_cmds::{Global, try_open, try_store};

#[derive(Debug, Subcommand)]
pub(crate) enum PaymentCommand {
    /// 建立代发批次 / a batch from a payment file (CSV `id_number,amount`).
    Create {
        /// `pension`, `unemployment` or `subsidy`.
        #[arg(long)]
        kind: String,
        /// The period paid, `YYYY-MM`.
        #[arg(long)]
        period: String,
        /// The payment file (UTF-8 or GBK; header `id_number,amount` or `身份证号码,金额`).
        file: PathBuf,
    },
    /// 发送银行 / one send: a signed file per bank, to each payee's current card account.
    Send {
        /// Batch number.
        batch: i64,
        /// Directory for the files.
        #[arg(long)]
        out: PathBuf,
    },
    /// 导入银行回盘 / apply banks' signed result files (each once).
    Result {
        /// Batch number.
        batch: i64,
        /// Result files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// 批次对账 / a batch by status, by bank and by file, with the rows not paid and why.
    Show {
        /// Batch number.
        batch: i64,
    },
    /// 代发批次列表 / every batch with what is paid.
    List,
}

fn kind_arg(g: &Global, kind: &str) -> Result<PaymentKind, ExitCode> {
    PaymentKind::from_name(kind).ok_or_else(|| {
        let (zh, en) = (
            format!("发放类型“{kind}”应为 pension、unemployment 或 subsidy"),
            format!("the kind \"{kind}\" must be pension, unemployment or subsidy"),
        );
        if g.json {
            json_line(&serde_json::json!({ "error": { "code": "payment.kind", "message": zh, "message_en": en, "field": "--kind" } }));
        } else {
            eprintln!("✗ --kind: {zh}（{en}） [payment.kind]");
        }
        ExitCode::from(2)
    })
}

fn period_ok(period: &str) -> bool {
    chrono::NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").is_ok()
        && period.len() == 7
}

pub(crate) async fn payment(g: &Global, c: PaymentCommand) -> anyhow::Result<ExitCode> {
    match c {
        PaymentCommand::Create { kind, period, file } => create(g, &kind, &period, &file).await,
        PaymentCommand::Send { batch, out } => {
            let keys = keys(g)?;
            let store = try_open!(g);
            let ctx = g.ctx();
            let send = try_store!(g, store.send_payments(&ctx, batch).await);
            let files =
                match bank_files::write_payment_files(&store, &ctx, &keys, &send, &out).await {
                    Ok(f) => f,
                    Err(e) => return Ok(production_error(&e, g.json)),
                };
            print_send(g, &send, &files);
            Ok(ExitCode::SUCCESS)
        }
        PaymentCommand::Result { batch, files } => results(g, batch, &files).await,
        PaymentCommand::Show { batch } => {
            let store = try_open!(g);
            let report = try_store!(g, store.payment_report(&g.ctx(), batch).await);
            if g.json {
                json_line(&report);
            } else {
                print_report(&report);
            }
            Ok(ExitCode::SUCCESS)
        }
        PaymentCommand::List => {
            let store = try_open!(g);
            let list = try_store!(g, store.payment_batches(&g.ctx()).await);
            if g.json {
                json_line(&list);
            } else {
                for b in list {
                    println!(
                        "{:>6}  {} {} · {} 行 {} 元 · 已发 {} 行 {} 元 · 发送 {} 次",
                        b.batch_id,
                        b.kind.zh(),
                        b.period,
                        b.accepted.rows,
                        b.accepted.amount,
                        b.paid.rows,
                        b.paid.amount,
                        b.sends
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn create(
    g: &Global,
    kind: &str,
    period: &str,
    file: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let kind = match kind_arg(g, kind) {
        Ok(k) => k,
        Err(code) => return Ok(code),
    };
    if !period_ok(period) {
        eprintln!(
            "✗ --period: “{period}”应为 YYYY-MM，如 2026-11（must be YYYY-MM, e.g. 2026-11） [payment.period]"
        );
        return Ok(ExitCode::from(2));
    }
    let bytes = read(file)?;
    let store = try_open!(g);
    let created =
        match bank_files::create_payment_batch(&store, &g.ctx(), kind, period, &bytes).await {
            Ok(r) => try_store!(g, r),
            Err(problem) => {
                return Ok(crate::insurance_cmds::refused(g, file, &[problem]));
            }
        };
    if g.json {
        json_line(&created);
    } else {
        println!(
            "✓ 代发批次 {}（payment batch）: {} {period} · 读入 {} 行 · 受理 {} 行 · 合计 {} 元 · 拒绝 {} 行",
            created.batch_id,
            kind.zh(),
            created.rows,
            created.accepted,
            created.total,
            created.rejected.len()
        );
        for r in &created.rejected {
            println!(
                "  ✗ 第 {} 行 {}: {}（{}） [{}]",
                r.row, r.column, r.message, r.message_en, r.code
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn results(g: &Global, batch: i64, files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let keys = keys(g)?;
    let store = try_open!(g);
    let mut outcomes = Vec::new();
    for file in files {
        let bytes = read(file)?;
        match bank_files::apply_payment_result_file(&store, &g.ctx(), &keys, batch, &bytes).await {
            Ok(o) => {
                if !g.json {
                    let f = &o.file;
                    if o.already_applied {
                        println!(
                            "= {}: 该回盘已导入过，未做任何改动（applied before; nothing changed）",
                            file.display()
                        );
                    } else {
                        println!(
                            "✓ {}: {} 第 {} 次发送 · 成功 {} 行 {} 元 · 失败 {} 行 {} 元",
                            file.display(),
                            f.bank,
                            f.send_no,
                            f.paid_rows,
                            f.paid,
                            f.failed_rows,
                            f.failed
                        );
                    }
                }
                outcomes.push(o);
            }
            Err(e) => return Ok(production_error(&e, g.json)),
        }
    }
    if g.json {
        json_line(&outcomes);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_send(g: &Global, send: &SendOutcome, files: &[PathBuf]) {
    if g.json {
        json_line(&serde_json::json!({
            "batch_id": send.batch_id, "send_no": send.send_no, "files": send.files,
            "written": files, "held": send.held.iter().map(|(c, n)| serde_json::json!({ "reason": c, "rows": n })).collect::<Vec<_>>(),
        }));
        return;
    }
    println!(
        "✓ 批次 {} 第 {} 次发送（send）: {} 个文件",
        send.batch_id,
        send.send_no,
        send.files.len()
    );
    for (f, path) in send.files.iter().zip(files) {
        println!(
            "  {} · {} 行 · {} 元 → {}",
            f.bank,
            f.rows,
            f.total,
            path.display()
        );
    }
    for (code, n) in &send.held {
        let reason = sscard_core::PaymentHold::from_name(code)
            .map_or_else(|| code.clone(), |h| format!("{}（{}）", h.zh(), h.en()));
        println!("  暂停 {n} 行（held）: {reason}");
    }
}

fn print_report(r: &PaymentBatchReport) {
    println!(
        "代发批次 {}（payment batch）: {} {} · 受理 {} 行 {} 元 · 拒绝 {} 行 · {}",
        r.batch_id,
        r.kind.zh(),
        r.period,
        r.accepted.rows,
        r.accepted.amount,
        r.rejected.rows,
        if r.reconciled {
            "✓ 对账平衡（reconciled）"
        } else {
            "✗ 对账不平（does not reconcile）"
        }
    );
    println!("按状态（by status）:");
    for (s, t) in &r.by_status {
        println!("  {s:<8} {:>9} 行 {:>16} 元", t.rows, t.amount);
    }
    println!("按银行（by bank）: 发送 / 成功 / 失败 / 待回盘");
    for b in &r.by_bank {
        println!(
            "  {}  {} 行 {} 元 / {} 行 {} 元 / {} 行 {} 元 / {} 行 {} 元",
            b.bank,
            b.sent.rows,
            b.sent.amount,
            b.paid.rows,
            b.paid.amount,
            b.failed.rows,
            b.failed.amount,
            b.awaiting.rows,
            b.awaiting.amount
        );
    }
    if !r.unpaid.is_empty() {
        println!("未发放（not paid）:");
        for u in &r.unpaid {
            println!(
                "  第 {} 行 {} {} {} 元 · {}: {}（{}）",
                u.row, u.id_masked, u.name_masked, u.amount, u.status, u.reason, u.reason_en
            );
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The bank's code (`105`).
    #[arg(long)]
    bank: String,
    /// Where to write the signed file.
    #[arg(long)]
    out: PathBuf,
    /// Write an earlier export again (its number), unchanged.
    #[arg(long)]
    again: Option<i64>,
}

/// `sscard bank export`: the social-security events for one bank since its last export.
pub(crate) async fn export(g: &Global, a: &ExportArgs) -> anyhow::Result<ExitCode> {
    let keys = keys(g)?;
    let store = try_open!(g);
    let ctx = g.ctx();
    let export = try_store!(g, store.bank_export(&ctx, &a.bank, a.again).await);
    let bytes = match bank_files::status_export_bytes(&keys, &ctx, &export) {
        Ok(b) => b,
        Err(e) => return Ok(production_error(&ProductionError::Exchange(e), g.json)),
    };
    std::fs::write(&a.out, bytes).with_context(|| format!("cannot write {}", a.out.display()))?;
    if g.json {
        json_line(&serde_json::json!({
            "bank": export.bank, "export_no": export.export_no, "events": export.events.len(), "out": a.out,
        }));
    } else {
        println!(
            "✓ {} 第 {} 次状态交换（status export）: {} 条 → {}",
            export.bank,
            export.export_no,
            export.events.len(),
            a.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `sscard bank import`: a bank's signed status file.
pub(crate) async fn import(g: &Global, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let keys = keys(g)?;
    let bytes = read(file)?;
    let store = try_open!(g);
    match bank_files::import_bank_status(&store, &g.ctx(), &keys, &bytes).await {
        Ok((bank, out)) => {
            if g.json {
                json_line(
                    &serde_json::json!({ "bank": bank, "applied": out.applied, "already": out.already, "refused": out.refused }),
                );
            } else {
                println!(
                    "✓ {bank} 状态文件（status file）: 生效 {} 条 · 已导入过 {} 条 · 拒绝 {} 条",
                    out.applied,
                    out.already,
                    out.refused.len()
                );
                for r in &out.refused {
                    println!(
                        "  ✗ {} {}: {}（{}） [{}]",
                        r.reference, r.card_number, r.message, r.message_en, r.code
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(production_error(&e, g.json)),
    }
}

/// `sscard bank events`: the exchange's latest events.
pub(crate) async fn events(g: &Global, bank: Option<&str>, limit: i64) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    let events = try_store!(g, store.bank_events(&g.ctx(), bank, limit).await);
    if g.json {
        json_line(&events);
    } else {
        for e in events {
            let arrow = if e.direction == "to_bank" {
                "→"
            } else {
                "←"
            };
            println!(
                "{:>8}  {} {arrow} {} {} {}{}",
                e.seq,
                e.at.format("%Y-%m-%d %H:%M"),
                e.bank,
                e.card_number,
                e.event,
                e.outcome.map(|o| format!(" [{o}]")).unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub(crate) struct SimPaymentsArgs {
    /// The centre's payment order.
    file: PathBuf,
    /// Where to write the signed result.
    #[arg(long)]
    out: PathBuf,
    /// Fail rows: `ROW=OUTCOME` (`account_frozen`, `account_closed`, `name_mismatch`), repeatable.
    #[arg(long = "fail")]
    fail: Vec<String>,
    /// Fail rows paid into an account: `ACCOUNT=OUTCOME`, repeatable.
    #[arg(long = "fail-account")]
    fail_account: Vec<String>,
    /// Fail this share of the other rows as `account_frozen` (0–1), the same rows for the same file.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
}

#[derive(Debug, Args)]
pub(crate) struct SimStatusArgs {
    /// The bank's code.
    #[arg(long)]
    bank: String,
    /// The bank's file number.
    #[arg(long, default_value_t = 1)]
    file_no: i64,
    /// Events: `CARD=EVENT[:ACCOUNT]` (`opened:ACCOUNT`, `activated`, `frozen`, `unfrozen`,
    /// `closed`, `formal_loss`, `loss_lifted`), repeatable.
    #[arg(long = "event", required = true)]
    events: Vec<String>,
    /// Where to write the signed file.
    #[arg(long)]
    out: PathBuf,
}

fn pairs(args: &[String], flag: &str) -> anyhow::Result<Vec<(String, String)>> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .with_context(|| format!("{flag} {a}: 应为 KEY=VALUE（expected KEY=VALUE）"))
        })
        .collect()
}

/// `sscard sim bank-payments`: a bank's answer to a payment order.
pub(crate) fn sim_payments(g: &Global, a: &SimPaymentsArgs) -> anyhow::Result<ExitCode> {
    let keys = keys(g)?;
    let input = read(&a.file)?;
    let plan = PaymentFailPlan {
        rows: pairs(&a.fail, "--fail")?,
        accounts: pairs(&a.fail_account, "--fail-account")?,
        rate: a.fail_rate,
    };
    for (_, o) in plan.rows.iter().chain(&plan.accounts) {
        if sscard_core::PaymentOutcome::from_name(o).is_none() {
            anyhow::bail!(
                "结果代码“{o}”应为 account_frozen、account_closed 或 name_mismatch（outcome must be account_frozen, account_closed or name_mismatch）"
            );
        }
    }
    let now = g
        .ctx()
        .at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let result = sscard_exchange::partner_of(&input).and_then(|bank| {
        let k = keys.partner(&bank);
        sscard_exchange::sim_bank_payments(&input, &k, &k, &plan, &now)
    });
    match result {
        Ok(bytes) => {
            std::fs::write(&a.out, &bytes)
                .with_context(|| format!("cannot write {}", a.out.display()))?;
            let text = String::from_utf8_lossy(&bytes);
            let rows = text.lines().filter(|l| !l.starts_with('#')).count();
            let paid = text.lines().filter(|l| l.ends_with("|paid")).count();
            if g.json {
                json_line(
                    &serde_json::json!({ "out": a.out, "rows": rows, "failed": rows - paid }),
                );
            } else {
                println!(
                    "✓ 回盘已写入（result written）: {} · {rows} 行 · 失败 {}",
                    a.out.display(),
                    rows - paid
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(production_error(&ProductionError::Exchange(e), g.json)),
    }
}

/// `sscard sim bank-status`: a bank's own status file.
pub(crate) fn sim_status(g: &Global, a: &SimStatusArgs) -> anyhow::Result<ExitCode> {
    let keys = keys(g)?;
    let ctx = g.ctx();
    let mut lines = Vec::new();
    for (i, (card, what)) in pairs(&a.events, "--event")?.into_iter().enumerate() {
        let card = match CardNumber::parse(&card) {
            Ok(c) => c,
            Err(e) => return Ok(crate::output::invalid_argument("--event", &e, g.json)),
        };
        let (event, account) = match what.split_once(':') {
            Some((e, acc)) => (e.to_owned(), Some(acc.to_owned())),
            None => (what, None),
        };
        let report = BankReport::from_name(&event)
            .with_context(|| format!("事件“{event}”不认识（unknown event; see --help）"))?;
        lines.push(StatusLine {
            reference: format!("{}", i + 1),
            card,
            report,
            account,
            at: ctx.at,
        });
    }
    let now = ctx.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match bank_files::bank_status_bytes(&keys, &a.bank, a.file_no, &now, &lines) {
        Ok(bytes) => {
            std::fs::write(&a.out, bytes)
                .with_context(|| format!("cannot write {}", a.out.display()))?;
            if g.json {
                json_line(&serde_json::json!({ "out": a.out, "events": lines.len() }));
            } else {
                println!(
                    "✓ 银行状态文件已写入（bank status file written）: {} · {} 条",
                    a.out.display(),
                    lines.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(production_error(&ProductionError::Exchange(e), g.json)),
    }
}
