//! How results and refusals are printed: human text (zh-CN first, English beside it) or JSON.

use std::process::ExitCode;

use serde::Serialize;
use sscard_ids::Bilingual;
use sscard_store::StoreError;

/// Prints a store error and returns the exit code: 1 for refusals, 3 for failures.
pub(crate) fn store_error(e: &StoreError, json: bool) -> ExitCode {
    if json {
        let v = serde_json::json!({ "error": { "code": e.code(), "message": e.zh(), "message_en": e.en() } });
        println!("{v}");
    } else {
        eprintln!("✗ {}（{}） [{}]", e.zh(), e.en(), e.code());
    }
    if let StoreError::Database { detail } | StoreError::Migration { detail } = e {
        // For the operator: the cause, without personal data (SQL errors carry none of ours).
        eprintln!("  detail: {detail}");
    }
    if e.is_refusal() {
        ExitCode::from(1)
    } else {
        ExitCode::from(3)
    }
}

/// Prints a value as one JSON line.
pub(crate) fn json_line<T: Serialize>(value: &T) {
    println!("{}", serde_json::to_string(value).expect("serialisable"));
}

/// Prints a bilingual parse error of an argument and returns exit code 1.
pub(crate) fn invalid_argument(what: &str, e: &impl Bilingual, json: bool) -> ExitCode {
    if json {
        let v = serde_json::json!({ "error": { "code": e.code(), "message": e.zh(), "message_en": e.en(), "field": what } });
        println!("{v}");
    } else {
        eprintln!("✗ {what}: {}（{}） [{}]", e.zh(), e.en(), e.code());
    }
    ExitCode::from(1)
}
