//! The sscard HTTP server: the REST API under `/api/v1` (OpenAPI at `/openapi.json`, Swagger UI
//! at `/docs`), the console under `/console`, `/healthz` and `/metrics`.
//!
//! Layers, outermost first: request id → trace span (path masked) → metrics → timeout → body
//! limit → routes. API routes sit behind `guard`, which authenticates, authorises against
//! [`api::RULES`] and replays `Idempotency-Key` requests.

pub mod api;
pub mod auth;
pub mod config;
mod console;
pub mod error;
pub mod fsi;
pub mod i18n;
pub mod logging;
mod metrics;
mod selfservice;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sm3::Digest;
use sscard_store::{Ctx, IdempotencyClaim, IdempotentResponse, Store};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use auth::Caller;
pub use config::ServerConfig;
use error::ApiError;
use i18n::Lang;

/// Serialises requests that carry the same idempotency key.
type KeyLock = Arc<tokio::sync::Mutex<()>>;

/// The in-process locks of the idempotency keys in flight.
type KeyLocks = Arc<std::sync::Mutex<HashMap<(uuid::Uuid, String), KeyLock>>>;

/// A key's lock, taken from the map and put back out of it by the last request that held it:
/// the map holds only the keys in flight, however many keys the server has seen.
struct KeyLockGuard<'a> {
    locks: &'a KeyLocks,
    key: (uuid::Uuid, String),
    lock: KeyLock,
}

impl<'a> KeyLockGuard<'a> {
    fn take(locks: &'a KeyLocks, key: (uuid::Uuid, String)) -> Self {
        let lock = locks
            .lock()
            .expect("not poisoned")
            .entry(key.clone())
            .or_default()
            .clone();
        Self { locks, key, lock }
    }
}

impl Drop for KeyLockGuard<'_> {
    fn drop(&mut self) {
        let mut locks = self.locks.lock().expect("not poisoned");
        // Two references: the map's and ours. More: another request still waits on it.
        if locks
            .get(&self.key)
            .is_some_and(|l| Arc::ptr_eq(l, &self.lock) && Arc::strong_count(l) == 2)
        {
            locks.remove(&self.key);
        }
    }
}

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// Settings.
    pub config: Arc<ServerConfig>,
    limiter: Arc<auth::LoginLimiter>,
    /// Counts the self-service page's requests per address.
    self_limiter: Arc<auth::LoginLimiter>,
    metrics: Arc<metrics::Metrics>,
    /// The exchange secret for production files, resolved once at start (none: the console's
    /// production steps refuse, saying how to set it).
    exchange: Option<sscard_import::production::ExchangeKeys>,
    /// The key service for terminal checks (none: terminal routes answer 503, saying how to
    /// configure it).
    keys: Option<Arc<sscard_chip::online::KeyService>>,
    idempotency_locks: KeyLocks,
    /// The interface gateway's keys by paasid.
    pub(crate) gateway: Arc<fsi::KeyCache>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State for a store and settings.
    pub fn new(store: Store, config: ServerConfig) -> Self {
        let limiter = auth::LoginLimiter::new(
            config.login_max_failures,
            Duration::from_secs(config.login_window_secs),
        );
        let self_limiter = auth::LoginLimiter::new(
            config.self_max_requests,
            Duration::from_secs(config.self_window_secs),
        );
        Self {
            store,
            config: Arc::new(config),
            limiter: Arc::new(limiter),
            self_limiter: Arc::new(self_limiter),
            metrics: Arc::new(metrics::Metrics::default()),
            exchange: None,
            keys: None,
            idempotency_locks: Arc::default(),
            gateway: Arc::default(),
        }
    }

    /// The same state with the exchange secret the console's production steps sign with.
    #[must_use]
    pub fn with_exchange_keys(mut self, keys: sscard_import::production::ExchangeKeys) -> Self {
        self.exchange = Some(keys);
        self
    }

    /// The same state with the key service terminal checks are verified with.
    #[must_use]
    pub fn with_key_service(mut self, keys: sscard_chip::online::KeyService) -> Self {
        self.keys = Some(Arc::new(keys));
        self
    }

    /// The key service, if configured.
    pub fn key_service(&self) -> Option<&sscard_chip::online::KeyService> {
        self.keys.as_deref()
    }

    /// Whether the server signs with the published demo secret.
    pub fn demo_keys(&self) -> bool {
        self.exchange.as_ref().is_some_and(|k| k.demo)
    }
}

/// Reveals a person's full ID number for a caller allowed to; the store checks the scope and
/// records the reveal in the same transaction.
pub(crate) async fn reveal(
    st: &AppState,
    caller: &Caller,
    person: uuid::Uuid,
    reason: Option<&str>,
) -> Result<sscard_ids::ResidentId, ApiError> {
    let ctx = Ctx::now(caller.actor()).because(reason.unwrap_or_default());
    let ssn = st.store.reveal_ssn(&ctx, person).await?;
    tracing::info!(person = %person, actor = %caller.actor().name(), "full ID number revealed");
    Ok(ssn)
}

/// The whole application: API, console, docs, health and metrics.
pub fn app(state: AppState) -> Router {
    let (api_router, openapi) = api::router();
    let openapi_json = Arc::new(openapi.clone());
    let api_router = api_router.route_layer(middleware::from_fn_with_state(state.clone(), guard));
    let docs: Router<AppState> = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .url("/openapi-ui.json", openapi)
        .into();
    Router::new()
        .merge(api_router)
        .merge(console::router())
        .merge(selfservice::router(state.clone()))
        .merge(fsi::router())
        .merge(docs)
        .route(
            "/openapi.json",
            get(move || {
                let doc = openapi_json.clone();
                async move { Json((*doc).clone()) }
            }),
        )
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/console") }),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.config.request_timeout_secs),
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.body_limit_bytes,
        ))
        .layer(logging::trace_layer())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The OpenAPI document (for tests and `sscard serve --print-openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().1
}

async fn healthz(State(st): State<AppState>) -> Response {
    match st.store.banks().await {
        Ok(_) => (
            StatusCode::OK,
            Json(serde_json::json!({
                "status": "ok",
                "backend": st.store.backend().as_str(),
                "demo_keys": st.demo_keys(),
            })),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "database unavailable" })),
        )
            .into_response(),
    }
}

/// Authenticates and authorises every API request, then handles `Idempotency-Key`.
async fn guard(State(st): State<AppState>, request: Request, next: Next) -> Response {
    let lang = Lang::from_headers(request.headers());
    let method = request.method().as_str().to_owned();
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let Some(access) = api::rule(&method, &path) else {
        tracing::error!(method = %method, path = %path, "API route without an access rule");
        return ApiError::forbidden(&format!("{method} {path}"))
            .in_lang(lang)
            .into_response();
    };
    // A terminal proves itself with the MAC of each request, checked by the store inside the
    // check's transaction; it has no staff credentials.
    if access == api::Access::Terminal {
        return localise(next.run(request).await, lang);
    }
    let caller = match auth::authenticate(&st.store, request.headers()).await {
        Ok(Some(c)) => c,
        Ok(None) => return ApiError::unauthenticated().in_lang(lang).into_response(),
        Err(e) => return ApiError::from(e).in_lang(lang).into_response(),
    };
    if !api::allows(access, caller.staff.role) {
        return ApiError::forbidden(&format!("{method} {path}"))
            .in_lang(lang)
            .into_response();
    }
    // A console session calling the API from the browser must carry its CSRF token.
    if let auth::Via::Session { csrf, .. } = &caller.via
        && method != "GET"
    {
        let sent = request
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if sent != Some(csrf.as_str()) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "auth.csrf",
                "缺少或错误的 CSRF 令牌",
                "missing or wrong CSRF token",
            )
            .in_lang(lang)
            .into_response();
        }
    }
    let key = request
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let staff_id = caller.staff.id;
    let actor = caller.actor();
    let mut request = request;
    request.extensions_mut().insert(caller);
    let response = match key {
        Some(key) if method == "POST" => {
            idempotent(&st, (staff_id, actor), key, &method, &path, request, next).await
        }
        _ => next.run(request).await,
    };
    localise(response, lang)
}

/// Re-renders an error response in the caller's language.
fn localise(response: Response, lang: Lang) -> Response {
    match (lang, response.extensions().get::<ApiError>()) {
        (Lang::En, Some(e)) => e.clone().in_lang(Lang::En).into_response(),
        _ => response,
    }
}

/// Runs a POST at most once per (caller, key): a retry with the same request gets the first
/// response; the same key with a different request is refused.
async fn idempotent(
    st: &AppState,
    (staff, actor): (uuid::Uuid, sscard_core::Actor),
    key: String,
    method: &str,
    path: &str,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, st.config.body_limit_bytes).await else {
        return api::body::too_large().into_response();
    };
    let mut h = sm3::Sm3::new();
    h.update(method.as_bytes());
    h.update(parts.uri.path().as_bytes());
    h.update(&bytes);
    let request_hash = hex::encode(h.finalize());
    // Serialise requests with the same key in this process, so a retry racing the first
    // attempt waits for it instead of running twice.
    let lock = KeyLockGuard::take(&st.idempotency_locks, (staff, key.clone()));
    let _held = lock.lock.lock().await;
    // The claim is committed before the request runs, so the request runs at most once per
    // key whatever happens next: another server instance, or a retry after this one stopped
    // between the operation and recording its response, finds the claim.
    let ctx = Ctx::now(actor);
    let claim = st
        .store
        .claim_idempotency_key(&ctx, staff, &key, method, path, &request_hash)
        .await;
    match claim {
        Ok(IdempotencyClaim::Claimed) => {}
        Ok(IdempotencyClaim::Done(stored)) => {
            let mut r = Response::new(Body::from(stored.body));
            *r.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
            r.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return r;
        }
        Ok(IdempotencyClaim::InFlight { since }) => return in_flight(since),
        Ok(IdempotencyClaim::OtherRequest) => {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.idempotency_key_reused",
                "该 Idempotency-Key 已用于另一个请求，请为新请求使用新的键",
                "this Idempotency-Key was used for a different request; use a new key for a new request",
            )
            .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status();
    // Server-side failures are not recorded: the claim is released and a retry runs again.
    if status.is_server_error() {
        if let Err(e) = st
            .store
            .finish_idempotency_key(&ctx, staff, &key, None)
            .await
        {
            tracing::warn!(error = %e, "idempotency claim not released");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let stored = IdempotentResponse {
        request_hash,
        status: status.as_u16(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    if let Err(e) = st
        .store
        .finish_idempotency_key(&ctx, staff, &key, Some(&stored))
        .await
    {
        tracing::warn!(error = %e, "idempotency response not recorded");
    }
    Response::from_parts(parts, Body::from(body))
}

/// How long a claimed key counts as "still running" before a retry is told the first attempt
/// never finished.
const IN_FLIGHT_GRACE: chrono::Duration = chrono::Duration::seconds(60);

/// The answer to a retry whose key is claimed by an attempt that has not recorded its
/// response: `409`, with what to do.
fn in_flight(since: chrono::DateTime<chrono::Utc>) -> Response {
    let e = if chrono::Utc::now() - since < IN_FLIGHT_GRACE {
        ApiError::new(
            StatusCode::CONFLICT,
            "request.idempotency_in_flight",
            "使用该 Idempotency-Key 的请求仍在处理中，请稍后用同一个键重试",
            "a request with this Idempotency-Key is still being processed; retry with the same key in a moment",
        )
    } else {
        ApiError::new(
            StatusCode::CONFLICT,
            "request.idempotency_unfinished",
            "使用该 Idempotency-Key 的首次请求未完成记录（服务器中途停止）：请先查询业务是否已办理，再用新的键重新提交",
            "the first request with this Idempotency-Key never recorded its outcome (the server stopped): check whether it took effect, then send it again with a new key",
        )
    };
    e.into_response()
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // With the peer's address, for the self-service page's per-address limit.
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idempotency_locks_hold_only_keys_in_flight() {
        let locks = KeyLocks::default();
        let staff = uuid::Uuid::new_v4();
        for i in 0..1000 {
            let g = KeyLockGuard::take(&locks, (staff, format!("key-{i}")));
            let _held = g.lock.lock().await;
        }
        assert_eq!(
            locks.lock().unwrap().len(),
            0,
            "finished keys are forgotten"
        );

        // Two requests with one key: the second waits on the same lock; the entry stays until
        // the last one is done.
        let first = KeyLockGuard::take(&locks, (staff, "same".into()));
        let second = KeyLockGuard::take(&locks, (staff, "same".into()));
        assert!(Arc::ptr_eq(&first.lock, &second.lock));
        let held = first.lock.lock().await;
        assert!(
            second.lock.try_lock().is_err(),
            "the second waits for the first"
        );
        drop(held);
        drop(first);
        assert_eq!(locks.lock().unwrap().len(), 1, "still in flight");
        drop(second);
        assert_eq!(locks.lock().unwrap().len(), 0);
    }
}
