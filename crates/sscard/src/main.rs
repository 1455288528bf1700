//! The `sscard` command: raw arguments → a validated plan (clap) → execution.
//!
//! Exit status: 0 success; 1 when a value is invalid or a request is refused by a rule (the
//! message says which); 2 on a usage error (clap's own code for bad arguments); 3 when the
//! system failed (database unreachable, …).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: many small allocations (JSON, rows, futures) on every request; glibc's malloc
/// cost a third of the CPU of an interface call.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod batch_cmds;
mod bench;
mod bench_audit;
mod bench_check;
mod bench_legacy;
mod bench_payments;
mod bench_photos;
mod bench_pickup;
mod bench_settle;
mod check;
mod chip_cmds;
mod demo;
mod demo_migration;
mod demo_payments;
mod demo_settlement;
mod demo_terminals;
mod distribution_cmds;
mod institution_cmds;
mod insurance_cmds;
mod legacy_cmds;
mod migration_cmds;
mod output;
mod payment_cmds;
mod pg_cluster;
mod production_cmds;
mod server_cmds;
mod store_cmds;
mod terminal_agent;
mod terminal_cmds;

/// sscard — 社会保障卡平台 / the social security card platform.
#[derive(Debug, Parser)]
#[command(name = "sscard", version, about, long_about = None)]
struct Cli {
    /// Print data as JSON (one object per line where there are several).
    #[arg(long, global = true)]
    json: bool,
    /// Database URL: `sqlite://PATH` or `postgres://…` (default `sqlite://sscard.db`).
    #[arg(long, global = true, env = "SSCARD_DB")]
    db: Option<String>,
    /// Who is acting, recorded in the audit trail.
    #[arg(long, global = true, env = "SSCARD_ACTOR", default_value = "cli")]
    actor: String,
    /// Why, recorded in the audit trail.
    #[arg(long, global = true, default_value = "")]
    reason: String,
    /// Sign and check exchange files with the published demo secret instead of
    /// `SSCARD_EXCHANGE_SECRET` (demonstrations and tests only; files then prove nothing).
    #[arg(long, global = true, env = "SSCARD_DEMO_KEYS")]
    demo_keys: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 校验标识符 / check identifiers: resident ID numbers, card numbers, credit codes.
    Check(check::CheckArgs),
    /// 建库或升级 / create or migrate the database (idempotent).
    Init(store_cmds::InitArgs),
    /// 申领 / apply for a card.
    Apply(store_cmds::ApplyArgs),
    /// 卡片业务 / card operations.
    #[command(subcommand)]
    Card(store_cmds::CardCommand),
    /// 人员 / persons.
    #[command(subcommand)]
    Person(store_cmds::PersonCommand),
    /// 审计 / the audit trail.
    #[command(subcommand)]
    Audit(store_cmds::AuditCommand),
    /// 单位 / employers.
    #[command(subcommand)]
    Employer(store_cmds::EmployerCommand),
    /// 制卡批次 / employer bulk applications and production batches.
    #[command(subcommand)]
    Batch(batch_cmds::BatchCommand),
    /// 分拣发放 / sorted distribution: points, box plans, the pickup desk, live figures.
    #[command(subcommand)]
    Distribution(distribution_cmds::DistributionCommand),
    /// 模拟合作方 / play a partner bank or the card factory from the centre's files.
    #[command(subcommand)]
    Sim(production_cmds::SimCommand),
    /// 照片 / ID photos.
    #[command(subcommand)]
    Photo(batch_cmds::PhotoCommand),
    /// 服务网点 / service points (outlets and on-site points).
    #[command(subcommand)]
    Outlet(store_cmds::OutletCommand),
    /// 定点医药机构 / designated hospitals, clinics and pharmacies.
    #[command(subcommand)]
    Institution(institution_cmds::InstitutionCommand),
    /// 医保参保 / medical insurance enrolment, accounts and accumulators.
    #[command(subcommand)]
    Insurance(insurance_cmds::InsuranceCommand),
    /// 异地就医备案 / filings for care in another city.
    #[command(subcommand)]
    Filing(insurance_cmds::FilingCommand),
    /// 结算政策 / settlement policies of insured places (TOML).
    #[command(subcommand)]
    Policy(insurance_cmds::LoadCommand),
    /// 医保目录 / catalogues of treatment places (CSV).
    #[command(subcommand)]
    Catalogue(insurance_cmds::LoadCommand),
    /// 养老金领取资格认证 / pensioners' yearly certification of entitlement.
    #[command(subcommand)]
    Pension(insurance_cmds::PensionCommand),
    /// 存量卡 / the old city system's cards: import, a synthetic file.
    #[command(subcommand)]
    Legacy(legacy_cmds::LegacyCommand),
    /// 换卡批次 / the migration's rollout: phases by district, who may exchange now.
    #[command(subcommand)]
    Rollout(legacy_cmds::RolloutCommand),
    /// 换卡网点 / exchange points with their daily capacity.
    #[command(subcommand)]
    ExchangePoint(migration_cmds::ExchangePointCommand),
    /// 换卡预约 / exchange appointments in half-day slots: book, cancel, check in, no-shows.
    #[command(subcommand)]
    Appointment(migration_cmds::AppointmentCommand),
    /// 短信通知 / the notices outbox (confirmations, reminders, phase openings, cards ready).
    #[command(subcommand)]
    Notices(migration_cmds::NoticesCommand),
    /// 换卡模拟与预测 / the migration: simulate a plan, forecast from the data, progress.
    #[command(subcommand)]
    Migration(migration_cmds::MigrationCommand),
    /// 代发 / benefit payments to the card's bank account: batches, sends, bank results.
    #[command(subcommand)]
    Payment(payment_cmds::PaymentCommand),
    /// 异地清算 / the month's clearing between the 13 cities.
    #[command(subcommand)]
    Clearing(insurance_cmds::ClearingCommand),
    /// 终端 / terminals at designated institutions: enrolment, self-test, card checks, problems.
    #[command(subcommand)]
    Terminal(terminal_cmds::TerminalCommand),
    /// 终端改造进度 / readiness of the terminals by district and kind, with open problems.
    Readiness,
    /// 密钥服务 / the key store (province keys, terminal master).
    #[command(subcommand)]
    Keys(terminal_cmds::KeysCommand),
    /// 合作银行 / partner banks.
    #[command(subcommand)]
    Bank(store_cmds::BankCommand),
    /// 启动服务 / serve the API and the console.
    Serve(server_cmds::ServeArgs),
    /// 演示 / a fresh demo database of Taizhou, then serve it.
    Demo(server_cmds::DemoArgs),
    /// 工作人员账号 / staff accounts.
    #[command(subcommand)]
    User(server_cmds::UserCommand),
    /// API 令牌 / API tokens.
    #[command(subcommand)]
    Token(server_cmds::TokenCommand),
    /// 芯片 / the chip: card images, PSAMs, the vpcd bridge, reading cards.
    #[command(subcommand)]
    Chip(chip_cmds::ChipCommand),
    /// 性能测试 / benchmarks (figures, not tests).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// A reader that stopped reading (`sscard audit tail | head`) ends the command quietly with
/// the status a shell reports for SIGPIPE (128 + 13), as Unix tools do, instead of a panic.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    let global = store_cmds::Global {
        json: cli.json,
        db_flag: cli.db.clone(),
        actor: cli.actor.clone(),
        reason: cli.reason.clone(),
        demo_keys: cli.demo_keys,
    };
    let result = match cli.command {
        Command::Check(args) => check::run(&args, cli.json),
        Command::Photo(c) => batch_cmds::photo(&global, c),
        Command::Sim(c) => production_cmds::sim(&global, &c),
        Command::Keys(c) => terminal_cmds::keys(&global, &c),
        other => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("错误（error）: 无法启动运行时（cannot start the runtime）: {e}");
                    return ExitCode::from(3);
                }
            };
            runtime.block_on(async move {
                match other {
                    Command::Init(a) => store_cmds::init(&global, &a).await,
                    Command::Apply(a) => store_cmds::apply(&global, &a).await,
                    Command::Card(c) => store_cmds::card(&global, c).await,
                    Command::Person(c) => store_cmds::person(&global, c).await,
                    Command::Audit(c) => store_cmds::audit(&global, c).await,
                    Command::Bank(c) => store_cmds::bank(&global, c).await,
                    Command::Employer(c) => store_cmds::employer(&global, c).await,
                    Command::Outlet(c) => store_cmds::outlet(&global, c).await,
                    Command::Institution(c) => institution_cmds::institution(&global, c).await,
                    Command::Terminal(c) => terminal_cmds::run(&global, c).await,
                    Command::Insurance(c) => insurance_cmds::insurance(&global, c).await,
                    Command::Policy(c) => insurance_cmds::policy(&global, c).await,
                    Command::Clearing(c) => insurance_cmds::clearing(&global, c).await,
                    Command::Pension(c) => insurance_cmds::pension(&global, c).await,
                    Command::Payment(c) => payment_cmds::payment(&global, c).await,
                    Command::Legacy(c) => legacy_cmds::legacy(&global, c).await,
                    Command::Rollout(c) => legacy_cmds::rollout(&global, c).await,
                    Command::ExchangePoint(c) => migration_cmds::exchange_point(&global, c).await,
                    Command::Appointment(c) => migration_cmds::appointment(&global, c).await,
                    Command::Notices(c) => migration_cmds::notices(&global, c).await,
                    Command::Migration(c) => migration_cmds::migration(&global, c).await,
                    Command::Filing(c) => insurance_cmds::filing(&global, c).await,
                    Command::Catalogue(c) => insurance_cmds::catalogue(&global, c).await,
                    Command::Readiness => terminal_cmds::readiness(&global).await,
                    Command::Batch(c) => batch_cmds::run(&global, c).await,
                    Command::Distribution(c) => distribution_cmds::run(&global, c).await,
                    Command::Bench(c) => bench::run(&global, c).await,
                    Command::Chip(c) => chip_cmds::run(&global, c).await,
                    Command::Serve(a) => server_cmds::serve(&global, &a).await,
                    Command::Demo(a) => server_cmds::demo(&global, &a).await,
                    Command::User(c) => server_cmds::user(&global, c).await,
                    Command::Token(c) => server_cmds::token(&global, c).await,
                    Command::Check(_) | Command::Photo(_) | Command::Sim(_) | Command::Keys(_) => {
                        unreachable!("handled above")
                    }
                }
            })
        }
    };
    match result {
        Ok(code) => code,
        // Output written with `write!` to a reader that went away: quiet, as with `println!`.
        Err(err)
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::from(141)
        }
        Err(err) => {
            eprintln!("错误（error）: {err:#}");
            ExitCode::from(3)
        }
    }
}
