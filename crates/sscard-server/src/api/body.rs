//! The API's JSON request body: [`JsonBody`] is axum's `Json` with every rejection answered in
//! the API's one error shape `{code, message, field?}` — malformed or truncated JSON, a wrong
//! type, an unknown or missing field, a wrong content type, a body over the limit — instead of
//! axum's plain text.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, OptionalFromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body of type `T`; see the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match <axum::Json<T> as FromRequest<S>>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(refusal(&rejection)),
        }
    }
}

/// An optional body: none when the request carries no body at all; a body that is there must
/// be good JSON.
impl<T, S> OptionalFromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let empty = !req.headers().contains_key(axum::http::header::CONTENT_TYPE)
            && req
                .headers()
                .get(axum::http::header::CONTENT_LENGTH)
                .is_none_or(|v| v.as_bytes() == b"0");
        if empty {
            return Ok(None);
        }
        <Self as FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

/// The field a serde message names: `unknown field `x``, `missing field `x``, or the path that
/// `serde_path_to_error` puts before the message (`person.id_number: invalid type …`).
fn field_of(detail: &str) -> Option<String> {
    for marker in ["unknown field `", "missing field `"] {
        if let Some(at) = detail.find(marker) {
            let rest = &detail[at + marker.len()..];
            return rest.find('`').map(|end| rest[..end].to_owned());
        }
    }
    let (path, _) = detail.split_once(": ")?;
    let path = path.trim();
    (!path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']')))
    .then(|| path.to_owned())
}

fn refusal(rejection: &JsonRejection) -> ApiError {
    // axum's text: "Failed to … : <serde's message>"; keep serde's part for people.
    let text = rejection.body_text();
    let detail = text
        .split_once(": ")
        .map_or(text.as_str(), |(_, d)| d)
        .to_owned();
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.content_type",
            "请求体须为 JSON：请设置请求头 Content-Type: application/json",
            "the request body must be JSON: send the header Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "request.json_syntax",
            format!("请求体不是有效的 JSON（可能不完整）：{detail}"),
            format!("the request body is not valid JSON (perhaps cut short): {detail}"),
        ),
        JsonRejection::JsonDataError(_) => {
            let mut e = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.json_data",
                format!("请求体字段有误：{detail}；请对照接口文档 /docs 修正"),
                format!(
                    "a field of the request body is wrong: {detail}; see the API docs at /docs"
                ),
            );
            e.field = field_of(&detail);
            e
        }
        JsonRejection::BytesRejection(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            too_large()
        }
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "request.body",
            format!("请求体无法读取：{detail}"),
            format!("the request body could not be read: {detail}"),
        ),
    }
}

/// 413, in the API's shape.
pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request.too_large",
        "请求体过大：请缩小请求内容",
        "the request body is too large: send less",
    )
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn fields_are_found_in_serde_messages() {
        assert_eq!(
            field_of("unknown field `nmae`, expected one of `id_number`, `name`").as_deref(),
            Some("nmae")
        );
        assert_eq!(
            field_of("missing field `bank` at line 1 column 2").as_deref(),
            Some("bank")
        );
        assert_eq!(
            field_of("instant: invalid type: string \"yes\", expected a boolean").as_deref(),
            Some("instant")
        );
        assert_eq!(field_of("EOF while parsing a value"), None);
    }
}
