//! `sscard insurance`, `sscard policy`, `sscard catalogue`: the part of the insurance record
//! settlement needs, and the settlement's configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use sscard_core::money::Money;
use sscard_ids::ResidentId;
use sscard_import::RowProblem;
use sscard_store::insurance::EnrolInput;

use crate::output::{invalid_argument, json_line};
use crate::store_cmds::{Global, try_open, try_store};

#[derive(Debug, Subcommand)]
pub(crate) enum InsuranceCommand {
    /// 参保登记 / enrol a person in an insutype at an insured place.
    Enrol {
        /// The person's ID number.
        #[arg(long)]
        id: String,
        /// 310 employees' or 390 residents' basic medical insurance.
        #[arg(long)]
        insutype: String,
        /// `psn_type` (1101 in-service employee, 1102 retired, 1501 resident …).
        #[arg(long)]
        psn_type: String,
        /// The insured place: a city code (`321200`).
        #[arg(long)]
        region: String,
        /// From (YYYY-MM-DD).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// The personal account's opening balance in yuan (employees), e.g. `1000.00`.
        #[arg(long)]
        balance: Option<String>,
        /// The employer's code.
        #[arg(long)]
        employer: Option<String>,
    },
    /// 参保信息 / a person's enrolments, accounts and accumulators by year.
    Show {
        /// The person's ID number.
        id: String,
    },
    /// 关系转移接续 / move the person's insurance to another city: the same card and number,
    /// the old enrolment ends the day before `--date`, the account's balance follows.
    Transfer {
        /// The person's ID number.
        #[arg(long)]
        id: String,
        /// 310 or 390.
        #[arg(long)]
        insutype: String,
        /// The new insured place: a city code (`320500`).
        #[arg(long)]
        to: String,
        /// The new employer's code.
        #[arg(long)]
        employer: Option<String>,
        /// The day the new enrolment begins (YYYY-MM-DD).
        #[arg(long)]
        date: chrono::NaiveDate,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum FilingKind {
    /// 异地长期居住 (relocated retirees, long-term residents, staff stationed elsewhere).
    LongTerm,
    /// 临时外出就医.
    Temporary,
    /// 转诊转院.
    Referral,
}

#[derive(Debug, Subcommand)]
pub(crate) enum FilingCommand {
    /// 异地就医备案 / file for care in another city.
    Add {
        /// The person's ID number.
        #[arg(long)]
        id: String,
        /// 310 / 390.
        #[arg(long)]
        insutype: String,
        /// The treatment city (`320100`).
        #[arg(long)]
        region: String,
        /// From (YYYY-MM-DD).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Until (YYYY-MM-DD).
        #[arg(long)]
        to: chrono::NaiveDate,
        /// The kind of filing.
        #[arg(long, value_enum, default_value = "temporary")]
        kind: FilingKind,
    },
    /// 撤销备案 / cancel a filing by its serial.
    Cancel {
        /// The filing's serial (`BA321200…`).
        serial: String,
        /// Why.
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PensionCommand {
    /// 领取资格认证 / certify a pensioner's entitlement at an outlet's counter (any city's).
    Certify {
        /// The person's ID number.
        #[arg(long)]
        id: String,
        /// The outlet where it is done.
        #[arg(long)]
        outlet: String,
    },
    /// 认证状态 / whether a pensioner may be paid now, and why not.
    Status {
        /// The person's ID number.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClearingCommand {
    /// 月度异地清算 / sum the month's cross-region settlements per (insured city, treatment
    /// city) and give each city's net position.
    Run {
        /// The month, `YYYY-MM`.
        #[arg(long)]
        month: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum LoadCommand {
    /// 载入 / load a file, whole or nothing; the regions (and years) in it are replaced.
    Load {
        /// The file.
        file: PathBuf,
    },
}

fn parse_id(g: &Global, text: &str) -> Result<ResidentId, ExitCode> {
    ResidentId::parse(text).map_err(|e| invalid_argument("--id", &e, g.json))
}

pub(crate) async fn insurance(g: &Global, c: InsuranceCommand) -> anyhow::Result<ExitCode> {
    match c {
        InsuranceCommand::Enrol {
            id,
            insutype,
            psn_type,
            region,
            from,
            balance,
            employer,
        } => {
            let id = match parse_id(g, &id) {
                Ok(id) => id,
                Err(code) => return Ok(code),
            };
            let balance = match balance.as_deref().map(Money::parse).transpose() {
                Ok(b) => b,
                Err(e) => return Ok(invalid_argument("--balance", &e, g.json)),
            };
            let store = try_open!(g);
            let input = EnrolInput {
                id,
                insutype,
                psn_type,
                region,
                from,
                balance,
                employer,
            };
            let done = try_store!(g, store.enrol_insurance(&g.ctx(), &input).await);
            if g.json {
                json_line(&done);
            } else {
                println!(
                    "✓ 已参保（enrolled）: {} 险种 {} · 参保地 {} · 人员类别 {} · 自 {}",
                    id.masked(),
                    done.insutype,
                    done.region,
                    done.psn_type,
                    done.begin_date
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        InsuranceCommand::Show { id } => show(g, &id).await,
        InsuranceCommand::Transfer {
            id,
            insutype,
            to,
            employer,
            date,
        } => {
            let id = match parse_id(g, &id) {
                Ok(id) => id,
                Err(code) => return Ok(code),
            };
            let input = sscard_store::insurance::TransferInput {
                id,
                insutype,
                to,
                employer,
                date,
            };
            transfer(g, &input).await
        }
    }
}

/// `sscard insurance show ID`.
async fn show(g: &Global, id: &str) -> anyhow::Result<ExitCode> {
    let id = match parse_id(g, id) {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let store = try_open!(g);
    let record = try_store!(g, store.insurance_record(&g.ctx(), &id).await);
    if g.json {
        json_line(&record);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} 参保信息（insurance）", record.id_masked);
    for e in &record.enrolments {
        println!(
            "  {} {} {} {} {} – {}",
            e.insutype,
            e.region,
            e.psn_type,
            e.status,
            e.begin_date,
            e.end_date.map(|d| d.to_string()).unwrap_or_default()
        );
    }
    for a in &record.accounts {
        println!("  个人账户（account） {}: {} 元", a.insutype, a.balance);
    }
    for f in &record.filings {
        println!(
            "  备案（filing） {} {} {} {} – {} {}",
            f.serial, f.kind, f.region, f.begin_date, f.end_date, f.status
        );
    }
    for t in &record.transfers {
        println!(
            "  转移（transfer） {} {} {} → {} {} · {} 个月 · 账户 {} 元",
            t.serial, t.insutype, t.from, t.to, t.date, t.contribution_months, t.balance_moved
        );
    }
    for y in &record.years {
        println!(
            "  {} {}: 统筹 {} · 大额/大病 {} · 起付线已用 {:?}",
            y.year, y.insutype, y.pool_paid, y.tier_paid, y.deductible_used
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `sscard insurance transfer`.
async fn transfer(
    g: &Global,
    input: &sscard_store::insurance::TransferInput,
) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    let t = try_store!(g, store.transfer_insurance(&g.ctx(), input).await);
    if g.json {
        json_line(&t);
    } else {
        println!(
            "✓ 关系已转移（transferred） {}: {} → {}，自 {} 起；缴费 {} 个月，个人账户 {} 元随转；卡号不变（same card）",
            t.serial, t.from, t.to, t.date, t.contribution_months, t.balance_moved
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn filing(g: &Global, c: FilingCommand) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    let done = match c {
        FilingCommand::Add {
            id,
            insutype,
            region,
            from,
            to,
            kind,
        } => {
            let id = match parse_id(g, &id) {
                Ok(id) => id,
                Err(code) => return Ok(code),
            };
            let kind = match kind {
                FilingKind::LongTerm => "long_term",
                FilingKind::Temporary => "temporary",
                FilingKind::Referral => "referral",
            };
            let input = sscard_store::insurance::FilingInput {
                id,
                insutype,
                region,
                from,
                to,
                kind: kind.into(),
            };
            try_store!(g, store.add_filing(&g.ctx(), &input).await)
        }
        FilingCommand::Cancel { serial, note } => {
            try_store!(g, store.cancel_filing(&g.ctx(), &serial, &note).await)
        }
    };
    if g.json {
        json_line(&done);
    } else {
        println!(
            "✓ 备案 {}（filing）: {} · 就医地 {} · {} – {} · {}",
            done.serial, done.kind, done.region, done.begin_date, done.end_date, done.status
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a refused file's problems (row, field, zh, en, code); exit code 1.
pub(crate) fn refused(g: &Global, file: &std::path::Path, problems: &[RowProblem]) -> ExitCode {
    if g.json {
        json_line(&serde_json::json!({
            "error": {
                "code": "file.rows_refused",
                "message": format!("{} 处错误，未载入任何内容；请改正后重新载入", problems.len()),
                "message_en": format!("{} problem(s); nothing was loaded; correct them and load again", problems.len()),
            },
            "rejected": problems,
        }));
    } else {
        eprintln!(
            "✗ {}: {} 处错误，未载入任何内容（{} problem(s), nothing loaded）:",
            file.display(),
            problems.len(),
            problems.len()
        );
        for p in problems {
            eprintln!(
                "  第 {} 行 {}: {}（{}） [{}]",
                p.row, p.column, p.message, p.message_en, p.code
            );
        }
    }
    ExitCode::from(1)
}

fn print_loaded(g: &Global, what: &str, loaded: &sscard_store::insurance::Loaded) {
    if g.json {
        json_line(loaded);
    } else {
        println!(
            "✓ 已载入{what}（loaded）: {} 条 · 替换 {} 条（replaced）· {}",
            loaded.rows,
            loaded.replaced,
            loaded.scopes.join(", ")
        );
    }
}

fn read(file: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file)
        .map_err(|e| anyhow::anyhow!("无法读取（cannot read） {}: {e}", file.display()))
}

pub(crate) async fn policy(g: &Global, c: LoadCommand) -> anyhow::Result<ExitCode> {
    let LoadCommand::Load { file } = c;
    let bytes = read(&file)?;
    let Ok(text) = String::from_utf8(bytes) else {
        let p = RowProblem {
            row: 1,
            column: String::new(),
            code: "file.encoding".into(),
            message: "政策文件应为 UTF-8 编码的 TOML".into(),
            message_en: "a policy file is TOML in UTF-8".into(),
        };
        return Ok(refused(g, &file, &[p]));
    };
    let rows = match sscard_import::settlement_config::parse_policies(&text) {
        Ok(rows) => rows,
        Err(problems) => return Ok(refused(g, &file, &problems)),
    };
    let store = try_open!(g);
    let loaded = try_store!(g, store.load_policies(&g.ctx(), &rows).await);
    print_loaded(g, "结算政策", &loaded);
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn catalogue(g: &Global, c: LoadCommand) -> anyhow::Result<ExitCode> {
    let LoadCommand::Load { file } = c;
    let bytes = read(&file)?;
    let rows = match sscard_import::settlement_config::parse_catalogue(&bytes) {
        Ok(rows) => rows,
        Err(problems) => return Ok(refused(g, &file, &problems)),
    };
    let store = try_open!(g);
    let loaded = try_store!(g, store.load_catalogue(&g.ctx(), &rows).await);
    print_loaded(g, "医保目录", &loaded);
    Ok(ExitCode::SUCCESS)
}

/// The year at the platform's clock in China Standard Time (the interface settles by it).
pub(crate) fn this_year() -> i32 {
    use chrono::Datelike;
    (chrono::Utc::now() + chrono::Duration::hours(8)).year()
}

/// `sscard clearing run --month YYYY-MM`.
pub(crate) async fn clearing(g: &Global, c: ClearingCommand) -> anyhow::Result<ExitCode> {
    let ClearingCommand::Run { month } = c;
    if month.len() != 7
        || chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_err()
    {
        return Ok(crate::output::invalid_argument(
            "--month",
            &BadMonth(month),
            g.json,
        ));
    }
    let store = try_open!(g);
    let c = try_store!(g, store.clearing(&g.ctx(), &month).await);
    if g.json {
        json_line(&c);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} 异地清算（cross-region clearing）", c.month);
    // CJK headings are two columns wide each: padded by hand.
    println!("参保地 insured  就医地 treated   笔数 n      基金支付 fund    个人账户 acct");
    for e in &c.entries {
        println!(
            "{:<15} {:<15} {:>6} {:>16} {:>16}",
            e.insured_region, e.treatment_region, e.settlements, e.fund_pay_sumamt, e.acct_pay
        );
    }
    println!("各市净额（net position: owed − owes）:");
    for p in &c.positions {
        println!(
            "  {} {} 应收 {:>12}  应付 {:>12}  净额 {:>12}",
            p.region,
            city_name(&p.region),
            p.owed,
            p.owes,
            p.net
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A `--month` that is not `YYYY-MM`.
struct BadMonth(String);

impl sscard_ids::Bilingual for BadMonth {
    fn code(&self) -> &'static str {
        "clearing.month"
    }
    fn zh(&self) -> String {
        format!("月份“{}”应为 YYYY-MM，如 2026-11", self.0)
    }
    fn en(&self) -> String {
        format!("month \"{}\" must be YYYY-MM, e.g. 2026-11", self.0)
    }
}

/// A Jiangsu city's name by its code.
pub(crate) fn city_name(code: &str) -> &'static str {
    sscard_ids::JIANGSU_CITIES
        .iter()
        .find(|(c, _, _)| c.to_string() == code)
        .map_or("", |(_, zh, _)| zh)
}

/// `sscard pension certify | status`.
pub(crate) async fn pension(g: &Global, c: PensionCommand) -> anyhow::Result<ExitCode> {
    let id_text = match &c {
        PensionCommand::Certify { id, .. } | PensionCommand::Status { id } => id.clone(),
    };
    let id = match parse_id(g, &id_text) {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let store = try_open!(g);
    match c {
        PensionCommand::Certify { outlet, .. } => {
            let at = sscard_store::insurance::CertifyAt::Outlet(outlet);
            let done = try_store!(g, store.certify_pension(&g.ctx(), Some(&id), &at).await);
            if g.json {
                json_line(&done);
            } else {
                println!(
                    "✓ 已认证（certified） {} 于 {}（{}），12 个月内有效",
                    id.masked(),
                    done.place,
                    done.region
                );
            }
        }
        PensionCommand::Status { .. } => {
            let s = try_store!(g, store.pension_status(&g.ctx(), &id).await);
            if g.json {
                json_line(&s);
            } else if s.held {
                println!(
                    "✗ {} 暂停发放（held）: {}（{}）",
                    s.id_masked,
                    s.reason.unwrap_or_default(),
                    s.reason_en.unwrap_or_default()
                );
            } else {
                println!(
                    "✓ {} 可发放（may be paid），认证有效至 {}",
                    s.id_masked,
                    s.valid_until
                        .map(|u| (u + chrono::Duration::hours(8))
                            .format("%Y-%m-%d")
                            .to_string())
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
