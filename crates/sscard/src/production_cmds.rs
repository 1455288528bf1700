//! The production chain from the command line (`sscard batch send-bank|bank-result|…|advance|
//! report`) and the partner simulators (`sscard sim bank|factory`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sscard_exchange::FailPlan;
use sscard_ids::Bilingual;
use sscard_import::production::{self, DEFAULT_FACTORY, ExchangeKeys, ProductionError};
use sscard_store::{StepReport, Store};

use crate::output::{json_line, store_error};
use crate::store_cmds::{Global, try_open, try_store};

/// The steps of the chain, each runnable again (retries send only what is still open).
#[derive(Debug, Subcommand)]
pub(crate) enum ChainCommand {
    /// 送银行开户 / write account-opening files per bank (new rows and earlier failures).
    SendBank {
        /// Batch number.
        id: i64,
        /// Directory for the files.
        #[arg(long)]
        out: PathBuf,
    },
    /// 导入银行回盘 / apply banks' signed result files.
    BankResult {
        /// Batch number.
        id: i64,
        /// Result files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// 送卡厂 / write the card order (with photos) for rows with an account.
    SendFactory {
        /// Batch number.
        id: i64,
        /// Directory for the package.
        #[arg(long)]
        out: PathBuf,
        /// Factory code.
        #[arg(long, default_value = DEFAULT_FACTORY)]
        factory: String,
    },
    /// 导入卡厂回盘 / apply the factory's signed result file.
    FactoryResult {
        /// Batch number.
        id: i64,
        /// Result file.
        file: PathBuf,
    },
    /// 个人化 / personalise the made cards: card images written to DIR.
    Personalise {
        /// Batch number.
        id: i64,
        /// PSAM file holding the province keys (`sscard chip psam`).
        #[arg(long)]
        psam: PathBuf,
        /// Directory for the card images.
        #[arg(long)]
        out: PathBuf,
    },
    /// 网点接收 / the outlet (or on-site point) has received the cards.
    Receive {
        /// Batch number.
        id: i64,
        /// Outlet code.
        #[arg(long)]
        outlet: String,
    },
    /// 下一步 / run the batch's next step (by its status).
    Advance(AdvanceArgs),
    /// 生产报告 / rows per step and every failed row with its reason.
    Report {
        /// Batch number.
        id: i64,
    },
}

#[derive(Debug, Args)]
pub(crate) struct AdvanceArgs {
    /// Batch number.
    id: i64,
    /// Directory for files written (bank files, card order, card images).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Partner result files to apply (when the batch waits for them).
    #[arg(long = "result")]
    results: Vec<PathBuf>,
    /// PSAM file (for personalisation).
    #[arg(long)]
    psam: Option<PathBuf>,
    /// Outlet (for receipt).
    #[arg(long)]
    outlet: Option<String>,
    /// Factory code.
    #[arg(long, default_value = DEFAULT_FACTORY)]
    factory: String,
}

/// The exchange secret: `SSCARD_EXCHANGE_SECRET`, or the demo secret with `--demo-keys`.
pub(crate) fn keys(g: &Global) -> anyhow::Result<ExchangeKeys> {
    let keys = ExchangeKeys::resolve(g.demo_keys).map_err(|e| anyhow::anyhow!(e))?;
    if keys.demo {
        eprintln!(
            "注意：交换文件使用公开的演示密钥签名，仅供演示；生产环境请设置 SSCARD_EXCHANGE_SECRET（note: exchange files are signed with the published demo secret; set SSCARD_EXCHANGE_SECRET in production）"
        );
    }
    Ok(keys)
}

pub(crate) fn production_error(e: &ProductionError, json: bool) -> ExitCode {
    match e {
        ProductionError::Store(e) => store_error(e, json),
        ProductionError::Exchange(e) => {
            if json {
                json_line(
                    &serde_json::json!({ "error": { "code": e.code(), "message": e.zh(), "message_en": e.en() } }),
                );
            } else {
                eprintln!("✗ {}（{}） [{}]", e.zh(), e.en(), e.code());
                eprintln!(
                    "  文件未被采用，数据库未改动（the file was not used; nothing was changed）"
                );
            }
            ExitCode::from(1)
        }
        ProductionError::Io(e) => {
            eprintln!("✗ 文件读写失败（file error）: {e}");
            ExitCode::from(3)
        }
    }
}

fn print_files(g: &Global, what: &str, files: &[PathBuf]) {
    if g.json {
        json_line(&serde_json::json!({ "files": files }));
    } else {
        for f in files {
            println!("✓ {what}: {}", f.display());
        }
        if files.is_empty() {
            println!("（没有待处理的行 / no rows waiting）");
        }
    }
}

fn print_report(g: &Global, what: &str, r: &StepReport) {
    if g.json {
        json_line(r);
    } else {
        println!(
            "✓ {what} · 批次 {} → {} {} · 完成 {} · 失败 {} · 忽略 {}（done {}, failed {}, ignored {}）",
            r.batch_id,
            r.status,
            r.status_zh,
            r.done,
            r.failed,
            r.ignored,
            r.done,
            r.failed,
            r.ignored
        );
    }
}

fn need<'a, T>(value: Option<&'a T>, flag: &str, why: &str) -> Result<&'a T, ExitCode>
where
    T: ?Sized,
{
    value.ok_or_else(|| {
        eprintln!("✗ 需要 {flag}：{why}（{flag} needed: {why}）");
        ExitCode::from(2)
    })
}

macro_rules! try_step {
    ($g:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Ok(production_error(&e, $g.json)),
        }
    };
}

pub(crate) fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("无法读取（cannot read） {}", path.display()))
}

async fn bank_results(
    g: &Global,
    store: &Store,
    id: i64,
    files: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let keys = keys(g)?;
    for f in files {
        let r = try_step!(
            g,
            production::record_bank_file(store, &g.ctx(), id, &keys, &read(f)?).await
        );
        print_report(g, &format!("银行回盘（bank result） {}", f.display()), &r);
    }
    Ok(ExitCode::SUCCESS)
}

async fn personalise(
    g: &Global,
    store: &Store,
    id: i64,
    psam: &Path,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let (psam, test) = sscard_chip::file::psam_from_json(&std::fs::read_to_string(psam)?)?;
    let (r, images) = try_step!(
        g,
        production::personalise(store, &g.ctx(), id, &psam.keys, test, out).await
    );
    if test {
        eprintln!("注意：测试密钥，仅供演示（note: test keys, for demonstration only）");
    }
    if !g.json {
        println!(
            "✓ 卡片镜像（card images）: {} → {}",
            images.len(),
            out.display()
        );
    }
    print_report(g, "个人化（personalised）", &r);
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn run(g: &Global, c: ChainCommand) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    match c {
        ChainCommand::SendBank { id, out } => {
            let files = try_step!(
                g,
                production::send_to_banks(&store, &g.ctx(), id, &keys(g)?, &out).await
            );
            print_files(g, "开户文件（account-opening file）", &files);
        }
        ChainCommand::BankResult { id, files } => return bank_results(g, &store, id, &files).await,
        ChainCommand::SendFactory { id, out, factory } => {
            let file = try_step!(
                g,
                production::send_to_factory(&store, &g.ctx(), id, &keys(g)?, &factory, &out).await
            );
            print_files(g, "制卡数据包（card order）", &[file]);
        }
        ChainCommand::FactoryResult { id, file } => {
            let r = try_step!(
                g,
                production::record_factory_file(&store, &g.ctx(), id, &keys(g)?, &read(&file)?)
                    .await
            );
            print_report(g, "卡厂回盘（factory result）", &r);
        }
        ChainCommand::Personalise { id, psam, out } => {
            return personalise(g, &store, id, &psam, &out).await;
        }
        ChainCommand::Receive { id, outlet } => {
            let r = try_store!(g, store.receive_batch(&g.ctx(), id, &outlet).await);
            print_report(g, &format!("网点接收（received at {outlet}）"), &r);
        }
        ChainCommand::Advance(a) => return advance(g, &store, a).await,
        ChainCommand::Report { id } => return report(g, &store, id).await,
    }
    Ok(ExitCode::SUCCESS)
}

async fn advance(g: &Global, store: &Store, a: AdvanceArgs) -> anyhow::Result<ExitCode> {
    let detail = try_store!(g, store.batch(&g.ctx(), a.id).await);
    let out = a.out.as_deref();
    let step = match detail.summary.status {
        10 | 22 => ChainCommand::SendBank {
            id: a.id,
            out: match need(
                out,
                "--out",
                "开户文件写到哪里 / where to write the bank files",
            ) {
                Ok(p) => p.to_owned(),
                Err(code) => return Ok(code),
            },
        },
        20 | 23 => {
            if a.results.is_empty() {
                eprintln!(
                    "✗ 批次在等银行回盘：--result FILE（the batch waits for bank results: --result FILE）"
                );
                return Ok(ExitCode::from(2));
            }
            ChainCommand::BankResult {
                id: a.id,
                files: a.results,
            }
        }
        21 | 32 => ChainCommand::SendFactory {
            id: a.id,
            out: match need(
                out,
                "--out",
                "制卡数据包写到哪里 / where to write the card order",
            ) {
                Ok(p) => p.to_owned(),
                Err(code) => return Ok(code),
            },
            factory: a.factory,
        },
        30 | 33 => {
            let Some(f) = a.results.first() else {
                eprintln!(
                    "✗ 批次在等卡厂回盘：--result FILE（the batch waits for the factory's result: --result FILE）"
                );
                return Ok(ExitCode::from(2));
            };
            ChainCommand::FactoryResult {
                id: a.id,
                file: f.clone(),
            }
        }
        31 | 40 | 42 | 43 => {
            let (Ok(psam), Ok(out)) = (
                need(a.psam.as_deref(), "--psam", "省级密钥 / province keys"),
                need(out, "--out", "卡片镜像目录 / card images"),
            ) else {
                return Ok(ExitCode::from(2));
            };
            ChainCommand::Personalise {
                id: a.id,
                psam: psam.to_owned(),
                out: out.to_owned(),
            }
        }
        41 => match need(
            a.outlet.as_deref(),
            "--outlet",
            "接收网点 / receiving outlet",
        ) {
            Ok(o) => ChainCommand::Receive {
                id: a.id,
                outlet: o.to_owned(),
            },
            Err(code) => return Ok(code),
        },
        other => {
            eprintln!(
                "✓ 批次 {} 状态 {other}（{}），生产环节已完成（production is complete）",
                a.id, detail.summary.status_zh
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    Box::pin(run(g, step)).await
}

async fn report(g: &Global, store: &Store, id: i64) -> anyhow::Result<ExitCode> {
    let detail = try_store!(g, store.batch(&g.ctx(), id).await);
    let failed = try_store!(
        g,
        store
            .production_rows(id, &["bank_failed", "factory_failed"])
            .await
    );
    let failures: Vec<serde_json::Value> = failed
        .iter()
        .map(|r| {
            serde_json::json!({
                "ssn": sscard_ids::mask_middle(&r.ssn, 4, 4),
                "name": sscard_ids::PersonName::parse(&r.name).map(|n| n.masked()).unwrap_or_default(),
                "step": r.step, "bank": r.bank_code, "card_number": r.card_number, "reason": r.failure,
            })
        })
        .collect();
    if g.json {
        json_line(&serde_json::json!({ "batch": detail, "failures": failures }));
        return Ok(ExitCode::SUCCESS);
    }
    let s = &detail.summary;
    println!(
        "批次（batch） {} · {} · {} {} · {} 人 · {} 张卡",
        s.id, s.employer_name, s.status, s.status_zh, s.rows, s.cards
    );
    for (step, n) in &detail.steps {
        println!("  {step:<15} {n:>6}");
    }
    if failures.is_empty() {
        println!("  没有失败的行（no failed rows）");
    }
    for f in &failures {
        println!(
            "  ✗ {} {} · {} · {}",
            f["ssn"].as_str().unwrap_or(""),
            f["name"].as_str().unwrap_or(""),
            f["step"].as_str().unwrap_or(""),
            f["reason"].as_str().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub(crate) enum SimCommand {
    /// 模拟银行 / answer an account-opening file as a partner bank would.
    Bank(SimArgs),
    /// 模拟卡厂 / answer a card order as the card factory would.
    Factory(SimArgs),
    /// 模拟银行代发回盘 / answer a payment order as the bank would.
    BankPayments(crate::payment_cmds::SimPaymentsArgs),
    /// 模拟银行状态文件 / write a bank's status file (opened, frozen, formal loss …).
    BankStatus(crate::payment_cmds::SimStatusArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SimArgs {
    /// The centre's file (account-opening file or card-order package).
    file: PathBuf,
    /// Where to write the signed result.
    #[arg(long)]
    out: PathBuf,
    /// Fail these rows (sequence numbers, first column).
    #[arg(long = "fail", value_delimiter = ',')]
    fail: Vec<String>,
    /// Fail this share of the other rows (0–1), the same rows for the same file.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
}

pub(crate) fn sim(g: &Global, c: &SimCommand) -> anyhow::Result<ExitCode> {
    let (a, bank) = match c {
        SimCommand::Bank(a) => (a, true),
        SimCommand::Factory(a) => (a, false),
        SimCommand::BankPayments(a) => return crate::payment_cmds::sim_payments(g, a),
        SimCommand::BankStatus(a) => return crate::payment_cmds::sim_status(g, a),
    };
    let keys = keys(g)?;
    let input = read(&a.file)?;
    let plan = FailPlan {
        seqs: a.fail.clone(),
        rate: a.fail_rate,
    };
    let now = g
        .ctx()
        .at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let result = if bank {
        sscard_exchange::partner_of(&input).and_then(|partner| {
            let k = keys.partner(&partner);
            sscard_exchange::sim_bank(&input, &k, &k, &plan, &now)
        })
    } else {
        let k = keys.partner(DEFAULT_FACTORY);
        sscard_exchange::sim_factory(&input, &k, &k, &plan, &now)
    };
    match result {
        Ok(bytes) => {
            std::fs::write(&a.out, &bytes)
                .with_context(|| format!("cannot write {}", a.out.display()))?;
            let rows = bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty() && l[0] != b'#')
                .count();
            let failed = bytes.windows(6).filter(|w| w == b"|FAIL|").count();
            if g.json {
                json_line(&serde_json::json!({ "out": a.out, "rows": rows, "failed": failed }));
            } else {
                println!(
                    "✓ 回盘已写入（result written）: {} · {rows} 行 · 失败 {failed}",
                    a.out.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(production_error(&ProductionError::Exchange(e), g.json)),
    }
}
