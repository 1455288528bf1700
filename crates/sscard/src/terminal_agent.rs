//! `sscard terminal agent`: the terminal as a local reader service, so a hospital's
//! browser-based HIS can use the card without linking the reader DLL.
//!
//! It listens on loopback only. `GET /card` reads the card, checks with the PSAM that it is
//! genuine and answers the national reader string (`iReadCardBas`'s eleven fields); `POST
//! /check` runs the online check (or the offline decision when the platform is out of reach)
//! and answers what the platform answered. Browsers may call it only from the origins given
//! with `--allow-origin`, and only under a loopback `Host` (no DNS rebinding).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Args;
use serde_json::{Value, json};
use sscard_chip::online::read_for_check;
use sscard_chip::terminal::{SecurityModule as _, Terminal};
use tokio::sync::Mutex;

use crate::store_cmds::Global;
use crate::terminal_cmds::{Loaded, check_once, transport};

#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// The terminal's file.
    #[arg(long)]
    config: PathBuf,
    /// A card image, read at every request (replace the file to "insert" another card).
    #[arg(long, conflicts_with = "reader", required_unless_present = "reader")]
    image: Option<PathBuf>,
    /// A PC/SC reader (part of its name).
    #[arg(long)]
    reader: Option<String>,
    /// Where to listen (loopback only).
    #[arg(long, default_value = "127.0.0.1:7020")]
    listen: SocketAddr,
    /// A web origin allowed to call the agent from a browser (e.g. `http://his.hospital.local`);
    /// repeatable. Without it, browsers are refused and only local programs may call.
    #[arg(long = "allow-origin")]
    allow_origin: Vec<String>,
}

struct Agent {
    terminal: Mutex<Loaded>,
    image: Option<PathBuf>,
    reader: Option<String>,
    client: reqwest::Client,
    origins: Vec<String>,
    port: u16,
}

/// A failure in the agent's answer shape: `{code: -1, error, message, message_en}`.
fn failure(status: StatusCode, error: &str, zh: &str, en: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": -1, "error": error, "message": zh, "message_en": en})),
    )
        .into_response()
}

pub(crate) async fn run(_g: &Global, a: AgentArgs) -> anyhow::Result<ExitCode> {
    if !a.listen.ip().is_loopback() {
        anyhow::bail!(
            "读卡服务只在本机回环地址上监听（the agent listens on loopback only）: {} → use 127.0.0.1:PORT",
            a.listen
        );
    }
    let terminal = Loaded::load(&a.config)?;
    // The card source is opened once here so a missing reader is said at start.
    drop(transport(a.image.as_deref(), a.reader.as_deref())?);
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|e| anyhow::anyhow!("无法监听（cannot listen on） {}: {e}", a.listen))?;
    let port = listener.local_addr()?.port();
    eprintln!(
        "✓ 读卡服务 / reader agent: 终端 {} · http://127.0.0.1:{port}/card · POST /check",
        terminal.file.terminal
    );
    let agent = Arc::new(Agent {
        terminal: Mutex::new(terminal),
        image: a.image,
        reader: a.reader,
        client: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()?,
        origins: a.allow_origin,
        port,
    });
    let app = Router::new()
        .route("/", get(info))
        .route("/card", get(card).options(preflight))
        .route("/check", axum::routing::post(check).options(preflight))
        .layer(middleware::from_fn_with_state(agent.clone(), guard))
        .with_state(agent);
    axum::serve(listener, app).await?;
    Ok(ExitCode::SUCCESS)
}

/// Loopback `Host` only; a browser's `Origin` must be one of the allowed, and gets the CORS
/// headers back.
async fn guard(State(agent): State<Arc<Agent>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let loopback = [
        format!("127.0.0.1:{}", agent.port),
        format!("localhost:{}", agent.port),
        format!("[::1]:{}", agent.port),
    ];
    if !loopback.iter().any(|l| l == host) {
        return failure(
            StatusCode::FORBIDDEN,
            "agent.host",
            "只接受本机地址的请求",
            "only requests to the loopback address are answered",
        );
    }
    let origin = request.headers().get(header::ORIGIN).cloned();
    if let Some(o) = &origin {
        let allowed = o
            .to_str()
            .is_ok_and(|o| agent.origins.iter().any(|a| a == o));
        if !allowed {
            return failure(
                StatusCode::FORBIDDEN,
                "agent.origin",
                "该网页来源未获准使用读卡服务（启动时用 --allow-origin 指定）",
                "this web origin may not use the reader agent (start it with --allow-origin)",
            );
        }
    }
    let mut response = next.run(request).await;
    if let Some(o) = origin {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

async fn preflight() -> Response {
    let mut h = HeaderMap::new();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    (StatusCode::NO_CONTENT, h).into_response()
}

async fn info(State(agent): State<Arc<Agent>>) -> Response {
    let t = agent.terminal.lock().await;
    axum::Json(json!({
        "terminal": t.file.terminal,
        "institution": t.file.institution,
        "server": t.file.server,
        "routes": {"GET /card": "iReadCardBas", "POST /check": "online card check"},
    }))
    .into_response()
}

/// `GET /card`: the card read and proved genuine by the PSAM (internal authentication over a
/// fresh challenge); the eleven fields of `iReadCardBas`.
async fn card(State(agent): State<Arc<Agent>>) -> Response {
    let t = agent.terminal.lock().await;
    let source = match transport(agent.image.as_deref(), agent.reader.as_deref()) {
        Ok(s) => s,
        Err(e) => return read_failed(&e),
    };
    let mut session = Terminal::new(source, t.psam.clone());
    // A challenge of this terminal at counter 0: proves the card to the PSAM, never sent.
    let time = chrono::Utc::now().timestamp();
    let read = match read_for_check(&mut session, &t.file.terminal, 0, time) {
        Ok(r) => r,
        Err(e) => return read_failed(&anyhow::anyhow!("{e}")),
    };
    if !read.psam_agrees {
        let r = sscard_core::CheckResult::CardNotGenuine;
        return failure(StatusCode::UNPROCESSABLE_ENTITY, r.code(), r.zh(), r.en());
    }
    let psam = session.psam();
    let info = read
        .basics
        .reader_string(&psam.terminal_id(), &psam.device_id());
    axum::Json(json!({
        "code": 0,
        "info": info,
        "card_no": read.basics.card_number,
        "card_sn": read.basics.card_id_code,
        "region": read.basics.region,
        "version": read.basics.version,
    }))
    .into_response()
}

fn read_failed(e: &anyhow::Error) -> Response {
    failure(
        StatusCode::SERVICE_UNAVAILABLE,
        "card.read_failed",
        &format!("读卡失败，请确认卡已插好: {e}"),
        &format!("the card could not be read; is it inserted? {e}"),
    )
}

/// `POST /check` (body optional: `{"pin": "…"}`): the online check; the platform's answer.
async fn check(State(agent): State<Arc<Agent>>, method: Method, body: Bytes) -> Response {
    debug_assert_eq!(method, Method::POST);
    let pin = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => v["pin"].as_str().map(str::to_owned),
            Err(e) => {
                return failure(
                    StatusCode::BAD_REQUEST,
                    "request.body",
                    &format!("请求体不是 JSON（应为 {{\"pin\":\"…\"}} 或为空）: {e}"),
                    &format!("the body is not JSON (expected {{\"pin\":\"…\"}} or nothing): {e}"),
                );
            }
        }
    };
    let mut t = agent.terminal.lock().await;
    let source = match transport(agent.image.as_deref(), agent.reader.as_deref()) {
        Ok(s) => s,
        Err(e) => return read_failed(&e),
    };
    match check_once(&mut t, source, pin.as_deref(), &agent.client, None).await {
        Ok(Ok(answer)) => axum::Json(answer).into_response(),
        Ok(Err(e)) => failure(StatusCode::BAD_GATEWAY, "platform.answer", &e, &e),
        Err(e) => read_failed(&e),
    }
}
