//! The one error type of the HTTP interface: `{code, message, field?}` with a stable code.
//! Internal causes are logged, never sent to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sscard_ids::Bilingual;
use sscard_store::StoreError;

use crate::i18n::Lang;

/// An error answered to an HTTP client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine code.
    pub code: &'static str,
    /// Message in Chinese.
    pub zh: String,
    /// Message in English.
    pub en: String,
    /// The request field at fault, if any.
    pub field: Option<String>,
    /// Language of the `message` field.
    pub lang: Lang,
}

/// The JSON body of an error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine code, e.g. `card.superseded`.
    pub code: String,
    /// What is wrong and how to fix it (zh-CN by default; English with `Accept-Language: en`).
    pub message: String,
    /// The request field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// An error from any bilingual domain error.
    pub fn from_bilingual(status: StatusCode, e: &impl Bilingual) -> Self {
        Self {
            status,
            code: e.code(),
            zh: e.zh(),
            en: e.en(),
            field: None,
            lang: Lang::Zh,
        }
    }

    /// An invalid request field, with its own code and words.
    pub fn bad_field(field: &str, code: &'static str, zh: &str, en: &str) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            zh: zh.to_owned(),
            en: en.to_owned(),
            field: Some(field.to_owned()),
            lang: Lang::Zh,
        }
    }

    /// An invalid request field.
    pub fn invalid(field: &str, e: &impl Bilingual) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::from_bilingual(StatusCode::UNPROCESSABLE_ENTITY, e)
        }
    }

    /// A plain error with fixed texts.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            zh: zh.into(),
            en: en.into(),
            field: None,
            lang: Lang::Zh,
        }
    }

    /// 500 with what went wrong in the server's own words (no personal data in it).
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let detail = detail.to_string();
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            detail.clone(),
            detail,
        )
    }

    /// A document that could not be printed: 503 `print.font` without a CJK font, else 500.
    pub fn print(e: &sscard_print::PrintError) -> Self {
        match e {
            sscard_print::PrintError::Font(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "print.font",
                e.to_string(),
                e.to_string(),
            ),
            _ => Self::internal(e),
        }
    }

    /// 401.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "auth.required",
            "请先登录，或在 Authorization 头中提供有效的 API 令牌",
            "log in first, or send a valid API token in the Authorization header",
        )
    }

    /// 403.
    pub fn forbidden(what: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "auth.forbidden",
            format!("您的角色无权执行此操作：{what}"),
            format!("your role is not allowed to do this: {what}"),
        )
    }

    /// The message in the error's language.
    pub fn message(&self) -> &str {
        match self.lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }

    /// The same error answered in `lang`.
    #[must_use]
    pub fn in_lang(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
            StoreError::OutOfScope(_) => StatusCode::FORBIDDEN,
            StoreError::Refused { .. } | StoreError::Conflict(_) => StatusCode::CONFLICT,
            StoreError::Busy { .. } | StoreError::Retry => StatusCode::SERVICE_UNAVAILABLE,
            StoreError::Database { detail } | StoreError::Migration { detail } => {
                tracing::error!(detail = %detail, "store failure");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError::from_bilingual(status, &e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message().to_owned(),
            field: self.field.clone(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        // Lets the console render its own page for the same error.
        response.extensions_mut().insert(self);
        response
    }
}
