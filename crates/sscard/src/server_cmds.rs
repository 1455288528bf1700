//! `sscard serve`, `sscard demo`, `sscard user add`, `sscard token create`.

use std::fmt::Write as _;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use sscard_core::Role;
use sscard_ids::CreditCode;
use sscard_server::{AppState, ServerConfig};
use sscard_store::{Ctx, NewStaff, Store, StoreOptions};

use crate::output::{json_line, store_error};
use crate::store_cmds::Global;

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080; or `listen` in the config file, or
    /// `SSCARD_LISTEN`).
    #[arg(long)]
    listen: Option<String>,
    /// A TOML config file (keys: `listen`, `db`, `log_json`, `session_hours`,
    /// `body_limit_bytes`, `request_timeout_secs`, `login_max_failures`, `login_window_secs`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Log JSON lines instead of text.
    #[arg(long)]
    log_json: bool,
}

fn server_config(g: &Global, a: &ServeArgs) -> anyhow::Result<ServerConfig> {
    let mut config = ServerConfig::load(a.config.as_deref())?;
    if let Some(db) = &g.db_flag {
        config.db.clone_from(db);
    }
    if let Some(listen) = &a.listen {
        config.listen.clone_from(listen);
    }
    config.log_json |= a.log_json;
    Ok(config)
}

async fn run_server(
    store: Store,
    config: ServerConfig,
    keys: sscard_import::production::ExchangeKeys,
    key_service: Option<sscard_chip::online::KeyService>,
    banner: impl FnOnce(&str),
) -> anyhow::Result<ExitCode> {
    let listener = match tokio::net::TcpListener::bind(&config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("✗ 无法监听 {}（cannot listen）: {e}", config.listen);
            return Ok(ExitCode::from(3));
        }
    };
    let addr = listener.local_addr()?;
    banner(&format!("http://{addr}"));
    tracing::info!(%addr, backend = store.backend().as_str(), "listening");
    let mut state = AppState::new(store, config).with_exchange_keys(keys);
    if let Some(service) = key_service {
        state = state.with_key_service(service);
    }
    sscard_server::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn serve(g: &Global, a: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = server_config(g, a)?;
    // Secrets are resolved once, before anything listens: a server that lacks one refuses to
    // start and says which and how to set it.
    let keys = match sscard_import::production::ExchangeKeys::resolve(g.demo_keys) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("✗ sscard serve: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if keys.demo {
        eprintln!(
            "⚠ 演示密钥：交换文件用公开的演示密钥签名，不得用于生产（demo keys: exchange files are signed with the published demo secret; not for production）"
        );
    }
    // Terminal checks need the key service; without one the server runs and its terminal
    // routes answer 503 saying how to configure it.
    let key_service = match crate::terminal_cmds::key_service(g) {
        Ok(k) => Some(k),
        Err(e) => {
            eprintln!("⚠ 终端验卡未启用（terminal checks disabled）: {e}");
            None
        }
    };
    sscard_server::logging::init(config.log_json);
    let store = match Store::open(&config.db, &StoreOptions::default()).await {
        Ok(s) => s,
        Err(e) => return Ok(store_error(&e, g.json)),
    };
    run_server(store, config, keys, key_service, |url| {
        println!("sscard serve: {url}/console  (API {url}/api/v1, docs {url}/docs)");
    })
    .await
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Employees of the demo factory.
    #[arg(long, default_value_t = 5000)]
    people: usize,
    /// Of them, how many get a card (in varied states).
    #[arg(long, default_value_t = 300)]
    cards: usize,
    /// Employees uploaded by the factory's HR with their photos and taken through the whole
    /// production chain to the on-site point (the rest are registered directly).
    #[arg(long, default_value_t = 1000)]
    batch_people: usize,
    /// Seed of the generator (same seed, same people).
    #[arg(long, default_value_t = 20_140_601)]
    seed: u64,
    /// Seed the database and exit without serving.
    #[arg(long)]
    no_serve: bool,
    /// The demo's own SQLite file, recreated on every run (`--db`/`SSCARD_DB` are ignored so a
    /// real database is never overwritten).
    #[arg(long, default_value = "sscard-demo.db")]
    demo_db: PathBuf,
}

pub(crate) async fn demo(g: &Global, a: &DemoArgs) -> anyhow::Result<ExitCode> {
    let mut config = server_config(g, &a.serve)?;
    let path = a.demo_db.display().to_string();
    config.db = format!("sqlite://{path}");
    sscard_server::logging::init(config.log_json);
    // A fresh database every time: the demo's own file and its WAL companions.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    let files = std::path::PathBuf::from(format!("{path}.files"));
    let _ = std::fs::remove_dir_all(&files);
    let started = std::time::Instant::now();
    let store = match Store::open(&config.db, &StoreOptions::default()).await {
        Ok(s) => s,
        Err(e) => return Ok(store_error(&e, g.json)),
    };
    let seeded = match crate::demo::seed(
        &store,
        a.people,
        a.cards.min(a.people.saturating_sub(2)),
        a.seed,
        Some((&files, a.batch_people)),
    )
    .await
    {
        Ok(s) => s,
        Err(e) => match e.downcast_ref::<sscard_store::StoreError>() {
            Some(e) => return Ok(store_error(e, g.json)),
            None => return Err(e),
        },
    };
    let took = started.elapsed();
    let mut summary = format!(
        "sscard demo — 泰州 / Taizhou: {} 名职工（employees）, {} 张卡（cards）, 用时 {:.1} s（seeded in）",
        seeded.people,
        seeded.cards,
        took.as_secs_f64()
    );
    summary.push_str(&seeded.programme_summary());
    if let Some(b) = &seeded.batch {
        let written = |p: &Option<std::path::PathBuf>| {
            p.as_ref().map_or_else(
                || "未生成：见上方说明（not written: see the note above）".to_owned(),
                |p| p.display().to_string(),
            )
        };
        let _ = write!(
            summary,
            "\n  工厂批量申领（factory upload）: 批次 {} · 受理 {} · 未通过 {}（错误清单 error workbook: {}）\n  \
             照片核对表（contact sheet）: {}{}\n  \
             已制卡并送达厂区发卡点（made and at the on-site point TZ-KS-ONSITE）: {} · 交换文件与卡片镜像（exchange files, card images）: {}\n  \
             分拣待领（sorted, ready for pickup）: {} 箱 · 发放清单与箱标签（list and box labels）: {}",
            b.number,
            b.accepted,
            b.rejected,
            files.join("errors.xlsx").display(),
            written(&b.sheet_pdf),
            b.replaced
                .map(|r| format!(" · 第 {r} 行照片已单独更换（row {r}: photo replaced alone）"))
                .unwrap_or_default(),
            b.received,
            files.display(),
            b.boxes,
            written(&b.distribution_pdf)
        );
    }
    if a.no_serve {
        println!("{summary}");
        return Ok(ExitCode::SUCCESS);
    }
    let samples = seeded.sample_ids.clone();
    run_server(
        store,
        config,
        sscard_import::production::ExchangeKeys::demo(),
        Some(sscard_chip::online::KeyService::test()),
        move |url| {
            println!("{summary}");
            println!();
            println!("  控制台（console）  {url}/console");
            println!("  接口文档（API docs） {url}/docs");
            println!();
            println!("  登录（logins）: 用户名 / 密码 (user / password)");
            for (user, password, role, _) in crate::demo::LOGINS {
                println!(
                    "    {user:<10} {password:<15} {} {}",
                    role.zh(),
                    role.as_str()
                );
            }
            println!();
            println!("  试试这些身份证号码（synthetic ID numbers to try）:");
            for id in &samples {
                println!("    {}", id.expose());
            }
            println!();
            println!("  Ctrl-C 停止（to stop）");
        },
    )
    .await
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// 新增工作人员账号 / add a staff account; the password is read from standard input.
    Add(UserAdd),
    /// 账号列表 / list staff accounts.
    List,
}

#[derive(Debug, Args)]
pub(crate) struct UserAdd {
    /// Login name.
    #[arg(long)]
    name: String,
    /// Role: `admin`, `clerk`, `employer_agent`, `production_operator`, `terminal`, `bank`,
    /// `auditor`.
    #[arg(long)]
    role: String,
    /// Name shown on screen (defaults to the login name).
    #[arg(long)]
    display: Option<String>,
    /// Outlet code (clerks).
    #[arg(long)]
    outlet: Option<String>,
    /// Employer credit code (employer agents).
    #[arg(long)]
    employer: Option<String>,
    /// Bank code (bank accounts).
    #[arg(long)]
    bank: Option<String>,
}

pub(crate) async fn user(g: &Global, c: UserCommand) -> anyhow::Result<ExitCode> {
    let store = match Store::open(&g.db(), &StoreOptions::default()).await {
        Ok(s) => s,
        Err(e) => return Ok(store_error(&e, g.json)),
    };
    match c {
        UserCommand::List => {
            let staff = match store.staff_list().await {
                Ok(s) => s,
                Err(e) => return Ok(store_error(&e, g.json)),
            };
            if g.json {
                json_line(&staff);
            } else {
                for s in staff {
                    println!(
                        "{:<12} {:<20} {} {}",
                        s.username,
                        s.role.as_str(),
                        s.display_name,
                        s.outlet.unwrap_or_default()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Add(a) => {
            let Some(role) = Role::parse(&a.role) else {
                eprintln!(
                    "✗ 未知角色“{}”（unknown role）: admin, clerk, employer_agent, production_operator, terminal, bank, auditor",
                    a.role
                );
                return Ok(ExitCode::from(2));
            };
            let employer = match a.employer.as_deref().map(CreditCode::parse).transpose() {
                Ok(e) => e,
                Err(e) => return Ok(crate::output::invalid_argument("--employer", &e, g.json)),
            };
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.chars().count() < 8 {
                eprintln!(
                    "✗ 密码至少 8 个字符，请从标准输入提供（password: at least 8 characters, from standard input）"
                );
                return Ok(ExitCode::from(1));
            }
            let staff = NewStaff {
                username: a.name.clone(),
                display_name: a.display.unwrap_or_else(|| a.name.clone()),
                role,
                outlet: a.outlet,
                employer,
                bank_code: a.bank,
                password_hash: sscard_server::auth::hash_password(password),
            };
            match store
                .create_staff(&Ctx::system(g.actor.clone()), &staff)
                .await
            {
                Ok(s) => {
                    if g.json {
                        json_line(&s);
                    } else {
                        println!(
                            "✓ 账号已创建（account created）: {} · {} {}",
                            s.username,
                            s.role.zh(),
                            s.role.as_str()
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(store_error(&e, g.json)),
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// 创建 API 令牌 / create an API token for a staff account (shown once).
    Create {
        /// The staff account's login name.
        #[arg(long)]
        user: String,
        /// A label for the token.
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

pub(crate) async fn token(g: &Global, c: TokenCommand) -> anyhow::Result<ExitCode> {
    let TokenCommand::Create { user, label } = c;
    let store = match Store::open(&g.db(), &StoreOptions::default()).await {
        Ok(s) => s,
        Err(e) => return Ok(store_error(&e, g.json)),
    };
    let token = sscard_server::auth::new_token();
    match store
        .create_api_token(
            &Ctx::system(g.actor.clone()),
            &user,
            &label,
            &sscard_server::auth::token_hash(&token),
        )
        .await
    {
        Ok(staff) => {
            if g.json {
                json_line(
                    &serde_json::json!({ "token": token, "user": staff.username, "role": staff.role.as_str() }),
                );
            } else {
                println!("{token}");
                eprintln!(
                    "✓ 令牌只显示这一次（shown once）: Authorization: Bearer <token> · {} {}",
                    staff.username,
                    staff.role.as_str()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(store_error(&e, g.json)),
    }
}
