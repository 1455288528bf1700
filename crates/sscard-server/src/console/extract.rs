//! The console's extractors: who is signed in and may open the page ([`ConsoleUser`]), and a
//! form that came from this site ([`CsrfForm`], [`CsrfMultipart`]). A handler names what it
//! needs in its signature; a refusal is the login redirect or the console's error page, never
//! a line the handler has to remember.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sscard_core::{CardAction, Permission};

use super::{Page, csrf_failed, csrf_ok, error_page, forbidden, page};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// What a console page needs of its caller's role, known at compile time.
pub(crate) trait Need: Send + Sync + 'static {
    /// The permission the role must have (`None`: any signed-in staff member).
    const PERMISSION: Option<Permission>;
    /// What is refused, for the 403 page (zh).
    const WHAT_ZH: &'static str;
    /// What is refused, for the 403 page (en).
    const WHAT_EN: &'static str;
}

/// Declares the markers a handler names in `ConsoleUser<…>`.
macro_rules! needs {
    ($($(#[$doc:meta])* $name:ident => $perm:expr, $zh:literal, $en:literal;)*) => {$(
        $(#[$doc])*
        pub(crate) struct $name;
        impl Need for $name {
            const PERMISSION: Option<Permission> = $perm;
            const WHAT_ZH: &'static str = $zh;
            const WHAT_EN: &'static str = $en;
        }
    )*};
}

/// The markers, one per kind of page.
pub(crate) mod need {
    use super::{Need, Permission};

    needs! {
        /// Any signed-in staff member.
        SignedIn => None, "", "";
        /// Finding and reading persons.
        ReadPersons => Some(Permission::ReadPersons), "查询人员", "read persons";
        /// Showing a full ID number (audited).
        RevealId => Some(Permission::RevealId), "显示完整身份证号码", "reveal full ID numbers";
        /// Reading cards.
        ReadCards => Some(Permission::ReadCards), "查询卡片", "read cards";
        /// Reading the audit trail.
        ReadAudit => Some(Permission::ReadAudit), "查看审计记录", "read the audit trail";
        /// Viewing batches, their rows and error workbooks.
        ReadBatches => Some(Permission::ReadBatches), "查看制卡批次", "view production batches";
        /// Uploading employee lists.
        UploadBatches => Some(Permission::UploadBatches), "上传员工名单", "upload employee lists";
        /// Running production steps.
        RunProduction => Some(Permission::RunProduction), "执行生产环节", "run production steps";
        /// Working a pickup desk.
        Distribute => Some(Permission::Distribute), "发放台", "the pickup desk";
        /// A point's live figures.
        ReadDistribution => Some(Permission::ReadDistribution), "发放点实时数据", "a point's live figures";
        /// Terminals and the readiness report.
        ReadTerminals => Some(Permission::ReadTerminals), "终端与改造进度", "terminals and readiness";
        /// Settlements and the month's clearing.
        ReadSettlements => Some(Permission::ReadSettlements), "医保结算与异地清算", "settlements and clearing";
        /// Benefit payments and the bank side.
        ReadPayments => Some(Permission::ReadPayments), "代发与银行端", "benefit payments and the bank side";
        /// Exchange appointments at a counter.
        Appointments => Some(Permission::Appointments), "换卡预约", "exchange appointments";
        /// The migration's progress and forecast.
        ReadMigration => Some(Permission::ReadMigration), "换卡进度", "the migration's progress";
    }
}

/// The signed-in caller whose role has what `N` needs, and the page context built for it.
/// Rejects with the login redirect (nobody signed in) or the 403 page naming what was refused.
pub(crate) struct ConsoleUser<N: Need = need::SignedIn> {
    /// The page context (language, caller, CSRF token).
    pub p: Page,
    /// The signed-in caller.
    pub caller: Caller,
    _need: PhantomData<N>,
}

/// The page context of a request, kept so a later extractor in the same request does not
/// authenticate twice.
#[derive(Clone)]
struct Resolved(Page);

/// The page context of a request, built once per request.
async fn resolved(parts: &mut Parts, st: &AppState) -> Page {
    if let Some(Resolved(p)) = parts.extensions.get::<Resolved>() {
        return p.clone();
    }
    let p = page(st, &parts.headers).await;
    parts.extensions.insert(Resolved(p.clone()));
    p
}

impl<N: Need> FromRequestParts<AppState> for ConsoleUser<N> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let p = resolved(parts, st).await;
        let Some(caller) = p.caller.clone() else {
            return Err(Redirect::to("/console/login").into_response());
        };
        if let Some(permission) = N::PERMISSION
            && !p.can(permission)
        {
            return Err(forbidden(&p, p.t(N::WHAT_ZH, N::WHAT_EN)));
        }
        Ok(Self {
            p,
            caller,
            _need: PhantomData,
        })
    }
}

/// A signed-in caller whose role may do the card action named in the path
/// `/console/cards/{number}/{action}`, with the card number as it was written.
pub(crate) struct ActionUser {
    /// The page context.
    pub p: Page,
    /// The signed-in caller.
    pub caller: Caller,
    /// The card number from the path (parsed by the handler, which reports it on its page).
    pub number: String,
    /// The action.
    pub action: CardAction,
}

impl FromRequestParts<AppState> for ActionUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let ConsoleUser { p, caller, .. } =
            ConsoleUser::<need::SignedIn>::from_request_parts(parts, st).await?;
        let Ok(Path((number, slug))) =
            Path::<(String, String)>::from_request_parts(parts, st).await
        else {
            return Err(no_action(&p));
        };
        let Some(action) = CardAction::parse(&slug) else {
            return Err(no_action(&p));
        };
        if !p.can(action.permission()) {
            return Err(forbidden(&p, p.t(action.zh(), action.en())));
        }
        Ok(Self {
            p,
            caller,
            number,
            action,
        })
    }
}

fn no_action(p: &Page) -> Response {
    error_page(
        p,
        &ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found.action",
            "没有这项业务",
            "no such action",
        ),
    )
}

/// The page context whoever is (or is not) signed in: for the login and logout pages.
pub(crate) struct AnyPage(pub Page);

impl FromRequestParts<AppState> for AnyPage {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        st: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(Self(resolved(parts, st).await))
    }
}

#[derive(Deserialize)]
struct Token {
    #[serde(default)]
    csrf: String,
}

/// A URL-encoded form that carries the session's CSRF token in its `csrf` field, deserialised
/// into `T` (which may ignore that field). A missing or wrong token is the 403 page; a form that
/// does not fit `T` is a 422 page naming the problem.
pub(crate) struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, st: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let p = resolved(&mut parts, st).await;
        let req = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(req, st)
            .await
            .map_err(|e| error_page(&p, &too_large(&e.body_text())))?;
        let token: Token = serde_urlencoded::from_bytes(&bytes).unwrap_or(Token {
            csrf: String::new(),
        });
        if !csrf_ok(&p, &token.csrf) {
            return Err(csrf_failed(&p));
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|e| {
                error_page(
                    &p,
                    &ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "request.form",
                        format!("表单内容有误：{e}"),
                        format!("the form is malformed: {e}"),
                    ),
                )
            })
    }
}

/// One part of a multipart form: field name, file name (empty for plain fields) and bytes.
pub(crate) type FormPart = (String, String, Bytes);

/// A multipart form (a file upload) that carries the session's CSRF token in its `csrf` part,
/// read whole into its parts.
pub(crate) struct CsrfMultipart(pub Vec<FormPart>);

impl CsrfMultipart {
    /// The non-empty part called `name`.
    pub(crate) fn part(&self, name: &str) -> Option<&FormPart> {
        self.0.iter().find(|f| f.0 == name && !f.2.is_empty())
    }
}

impl FromRequest<AppState> for CsrfMultipart {
    type Rejection = Response;

    async fn from_request(req: Request, st: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let p = resolved(&mut parts, st).await;
        let req = Request::from_parts(parts, body);
        let malformed = |e: String| {
            error_page(
                &p,
                &ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "upload.malformed",
                    format!("上传内容有误：{e}"),
                    format!("the upload is malformed: {e}"),
                ),
            )
        };
        let mut form = Multipart::from_request(req, st)
            .await
            .map_err(|e| malformed(e.body_text()))?;
        let mut out = Vec::new();
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| malformed(e.to_string()))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let file = field.file_name().unwrap_or_default().to_owned();
            let data = field
                .bytes()
                .await
                .map_err(|e| error_page(&p, &too_large(&e.to_string())))?;
            out.push((name, file, data));
        }
        let form = Self(out);
        let csrf = form
            .part("csrf")
            .map(|f| String::from_utf8_lossy(&f.2).into_owned())
            .unwrap_or_default();
        if !csrf_ok(&p, &csrf) {
            return Err(csrf_failed(&p));
        }
        Ok(form)
    }
}

fn too_large(e: &str) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "upload.too_large",
        format!("上传内容过大或中断：{e}"),
        format!("the upload is too large or was cut off: {e}"),
    )
}
