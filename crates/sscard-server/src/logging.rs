//! Structured, request-scoped logs. Personal data never reaches them: domain types print
//! masked, URLs carry no ID numbers, and [`mask_personal`] masks any ID-number- or
//! account-number-shaped run that slips into a logged path anyway.

use axum::http::Request;
use tower_http::trace::{DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::Level;

/// Masks runs that look like ID numbers (15 or 18 characters, the last may be X) or bank
/// account numbers (16–19 digits): first four and last four kept.
pub fn mask_personal(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'X' || chars[i] == 'x') && i - start == 17 {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            if run.len() >= 15 {
                out.push_str(&sscard_ids::mask_middle(&run, 4, 4));
            } else {
                out.push_str(&run);
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The span of one request: request id, method and masked path.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> tracing::Span {
        let id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!(
            "request",
            request_id = %id,
            method = %request.method(),
            path = %mask_personal(request.uri().path()),
        )
    }
}

/// The tracing layer used by the app.
pub fn trace_layer() -> TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    RequestSpan,
    tower_http::trace::DefaultOnRequest,
    DefaultOnResponse,
> {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_response(DefaultOnResponse::new().level(Level::INFO))
}

/// Installs the global subscriber: text or JSON lines, filtered by `RUST_LOG` (default info).
pub fn init(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_id_and_account_shaped_runs() {
        assert_eq!(
            mask_personal("/x/11010519491231002X/y"),
            "/x/1101**********002X/y"
        );
        assert_eq!(mask_personal("id=110105491231002"), "id=1101*******1002");
        assert_eq!(
            mask_personal("acct 6217001234567890123"),
            "acct 6217***********0123"
        );
        assert_eq!(
            mask_personal("/api/v1/cards/T0000001X"),
            "/api/v1/cards/T0000001X"
        );
        assert_eq!(mask_personal("2026-11-28"), "2026-11-28");
    }
}
