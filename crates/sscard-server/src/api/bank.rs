//! The bank side for banks that push and pull instead of exchanging files: status reports in,
//! the centre's notices out, payment results in; and the payment batches for the centre and
//! the banks. A bank's account acts for its own bank only — the store checks every card.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use sscard_core::BankReport;
use sscard_core::money::Money;
use sscard_store::bank::{BankReportInput, PaymentResultRow};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};

use super::body::JsonBody;
use super::{ctx_of, parse_card};

/// One financial status change, as the bank reports it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    /// The bank's own reference: a report is applied once per bank and reference.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The card number.
    #[schema(example = "T0000001X")]
    pub card_number: String,
    /// `opened` (with `account`), `activated`, `frozen`, `unfrozen`, `closed`, `formal_loss`,
    /// `loss_lifted`.
    #[schema(example = "frozen")]
    pub event: String,
    /// The account number (`opened`).
    pub account: Option<String>,
    /// When it happened at the bank (RFC 3339).
    #[schema(value_type = String, example = "2026-12-01T09:30:00+08:00")]
    pub at: chrono::DateTime<chrono::FixedOffset>,
}

/// A bank's reports.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportsBody {
    /// The bank (its code); a bank's own account may leave it out.
    pub bank: Option<String>,
    /// The reports, applied in order.
    pub events: Vec<ReportBody>,
}

/// Which bank.
#[derive(Debug, Deserialize, IntoParams)]
pub struct BankQuery {
    /// The bank's code; a bank's own account may leave it out.
    pub bank: Option<String>,
}

/// One answered row of a payment file.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultRowBody {
    /// Row of the batch.
    pub row: i64,
    /// The attempt answered.
    pub attempt: i64,
    /// The account paid into.
    pub account: String,
    /// The amount, yuan with two decimals, as a string.
    #[schema(example = "3456.78")]
    pub amount: String,
    /// `paid`, `account_frozen`, `account_closed`, `name_mismatch`.
    pub outcome: String,
}

/// A bank's result for one payment file.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultBody {
    /// The bank; a bank's own account may leave it out.
    pub bank: Option<String>,
    /// The send answered.
    pub send_no: i64,
    /// Every row of the file, once.
    pub rows: Vec<ResultRowBody>,
}

fn bank_of(caller: &Caller, given: Option<String>) -> Result<String, ApiError> {
    match (caller.staff.bank_code.clone(), given) {
        (Some(own), None) => Ok(own),
        (_, Some(b)) => Ok(b),
        (None, None) => Err(ApiError::bad_field(
            "bank",
            "request.bank_missing",
            "请给出合作银行代码（bank），如 105",
            "give the partner bank's code (bank), e.g. 105",
        )),
    }
}

/// 银行状态报告 / a bank reports financial status changes (activated, frozen, closed, a formal
/// loss at the bank, …); each applied once by its reference.
#[utoipa::path(post, path = "/api/v1/bank/events", tag = "banks", request_body = ReportsBody,
    responses((status = 200, description = "{applied, already, refused: [{reference, card_number, code, message, message_en}]}"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn bank_reports(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<ReportsBody>,
) -> Result<Response, ApiError> {
    let bank = bank_of(&caller, body.bank)?;
    let mut reports = Vec::with_capacity(body.events.len());
    for (i, e) in body.events.into_iter().enumerate() {
        let field = |f: &str| format!("events[{i}].{f}");
        let card = parse_card(&e.card_number).map_err(|mut err| {
            err.field = Some(field("card_number"));
            err
        })?;
        let report = BankReport::from_name(&e.event).ok_or_else(|| {
            ApiError::bad_field(
                &field("event"),
                "bank.event",
                "事件应为 opened、activated、frozen、unfrozen、closed、formal_loss 或 loss_lifted",
                "the event must be opened, activated, frozen, unfrozen, closed, formal_loss or \
                 loss_lifted",
            )
        })?;
        reports.push(BankReportInput {
            reference: e.reference,
            card,
            report,
            account: e.account,
            at: e.at.with_timezone(&chrono::Utc),
        });
    }
    let out = st
        .store
        .bank_reports(&ctx_of(&caller, None), &bank, &reports)
        .await?;
    Ok(Json(out).into_response())
}

/// 状态交换：取新事件 / the centre's social-security events for the bank since its last
/// export (formal loss, loss lifted, cancelled, new card, superseded), as the next export.
#[utoipa::path(post, path = "/api/v1/bank/exports", tag = "banks", params(BankQuery),
    responses((status = 200, description = "{bank, export_no, events: [{seq, card_number, account, event, detail, at}]}"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn bank_export(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<BankQuery>,
) -> Result<Response, ApiError> {
    let bank = bank_of(&caller, q.bank)?;
    let out = st
        .store
        .bank_export(&ctx_of(&caller, None), &bank, None)
        .await?;
    Ok(Json(out).into_response())
}

/// 状态交换：重取 / an earlier export again, unchanged.
#[utoipa::path(get, path = "/api/v1/bank/exports/{export_no}", tag = "banks", params(("export_no" = i64, Path), BankQuery),
    responses((status = 200, description = "the export"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn bank_export_again(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(export_no): Path<i64>,
    Query(q): Query<BankQuery>,
) -> Result<Response, ApiError> {
    let bank = bank_of(&caller, q.bank)?;
    let out = st
        .store
        .bank_export(&ctx_of(&caller, None), &bank, Some(export_no))
        .await?;
    Ok(Json(out).into_response())
}

/// 代发批次 / the payment batches (a bank: those with files for it, with its figures).
#[utoipa::path(get, path = "/api/v1/payments", tag = "banks",
    responses((status = 200, description = "[{batch_id, kind, period, accepted, paid, sends, created_at}]"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn payment_batches(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let out = st.store.payment_batches(&ctx_of(&caller, None)).await?;
    Ok(Json(out).into_response())
}

/// 代发对账 / a batch by status, by bank and by file, with the rows not paid and why (a bank:
/// its own files only).
#[utoipa::path(get, path = "/api/v1/payments/{batch}", tag = "banks", params(("batch" = i64, Path)),
    responses((status = 200, description = "the batch's reconciliation; money as decimal strings"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn payment_report(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(batch): Path<i64>,
) -> Result<Response, ApiError> {
    let out = st
        .store
        .payment_report(&ctx_of(&caller, None), batch)
        .await?;
    Ok(Json(out).into_response())
}

/// 代发回盘 / a bank's result for one payment file: every row once, for the attempt, account
/// and amount sent; applied once (again: `already_applied`, nothing changes).
#[utoipa::path(post, path = "/api/v1/payments/{batch}/results", tag = "banks", params(("batch" = i64, Path)), request_body = ResultBody,
    responses((status = 200, description = "{file, already_applied}"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "the result does not answer the file", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn payment_result(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(batch): Path<i64>,
    JsonBody(body): JsonBody<ResultBody>,
) -> Result<Response, ApiError> {
    let bank = bank_of(&caller, body.bank)?;
    let mut rows = Vec::with_capacity(body.rows.len());
    for (i, r) in body.rows.into_iter().enumerate() {
        let amount = Money::parse(&r.amount)
            .map_err(|e| ApiError::invalid(&format!("rows[{i}].amount"), &e))?;
        rows.push(PaymentResultRow {
            row: r.row,
            attempt: r.attempt,
            account: r.account,
            amount,
            outcome: r.outcome,
        });
    }
    let out = st
        .store
        .apply_payment_result(&ctx_of(&caller, None), batch, body.send_no, &bank, &rows)
        .await?;
    Ok(Json(out).into_response())
}
