//! The insurance record settlement needs: enrolments, the personal account, the year's
//! accumulators, and filings for care in another city. ID numbers travel in bodies, never in
//! URLs.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use sscard_core::money::Money;
use sscard_store::insurance::{EnrolInput, FilingInput};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};

use super::body::JsonBody;
use super::dto::LookupBody;
use super::{ctx_of, parse_id};

/// An enrolment (参保登记).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    /// Resident ID number.
    pub id_number: String,
    /// `310` employees' / `390` residents' basic medical insurance.
    #[schema(example = "310")]
    pub insutype: String,
    /// `psn_type`.
    #[schema(example = "1101")]
    pub psn_type: String,
    /// The insured place: a city code.
    #[schema(example = "321200")]
    pub region: String,
    /// From (YYYY-MM-DD).
    #[schema(value_type = String, example = "2026-01-01")]
    pub from: chrono::NaiveDate,
    /// The personal account's opening balance, yuan with two decimals, as a string.
    #[schema(example = "1000.00")]
    pub balance: Option<String>,
    /// The employer's code.
    pub employer: Option<String>,
}

/// A filing for care in another city (异地就医备案).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilingBody {
    /// Resident ID number.
    pub id_number: String,
    /// `310` / `390`.
    pub insutype: String,
    /// The treatment city.
    #[schema(example = "320100")]
    pub region: String,
    /// From (YYYY-MM-DD).
    #[schema(value_type = String)]
    pub from: chrono::NaiveDate,
    /// Until (YYYY-MM-DD).
    #[schema(value_type = String)]
    pub to: chrono::NaiveDate,
    /// `long_term`, `temporary` or `referral`.
    #[schema(example = "temporary")]
    pub kind: String,
}

/// Why a filing is cancelled.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelFilingBody {
    /// The reason.
    #[serde(default)]
    pub note: String,
}

/// 参保信息 / a person's enrolments, accounts, accumulators by year and filings.
#[utoipa::path(post, path = "/api/v1/insurance/lookup", tag = "insurance", request_body = LookupBody,
    responses((status = 200, description = "{id_masked, enrolments, accounts, years, filings}; money as decimal strings"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn insurance_lookup(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<LookupBody>,
) -> Result<Response, ApiError> {
    let id = parse_id(&body.id_number)?;
    let record = st
        .store
        .insurance_record(&ctx_of(&caller, None), &id)
        .await?;
    Ok(Json(record).into_response())
}

/// 参保登记 / enrol a person in an insutype at an insured place.
#[utoipa::path(post, path = "/api/v1/insurance/enrolments", tag = "insurance", request_body = EnrolBody,
    responses((status = 200, description = "the enrolment"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "refused by a rule, e.g. already enrolled", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn insurance_enrol(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<EnrolBody>,
) -> Result<Response, ApiError> {
    let id = parse_id(&body.id_number)?;
    let balance = body
        .balance
        .as_deref()
        .map(Money::parse)
        .transpose()
        .map_err(|e| ApiError::invalid("balance", &e))?;
    let input = EnrolInput {
        id,
        insutype: body.insutype,
        psn_type: body.psn_type,
        region: body.region,
        from: body.from,
        balance,
        employer: body.employer,
    };
    let done = st
        .store
        .enrol_insurance(&ctx_of(&caller, None), &input)
        .await?;
    Ok(Json(done).into_response())
}

/// 异地就医备案 / file for care in another city.
#[utoipa::path(post, path = "/api/v1/insurance/filings", tag = "insurance", request_body = FilingBody,
    responses((status = 200, description = "the filing with its serial (trt_dcla_detl_sn)"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn insurance_filing(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<FilingBody>,
) -> Result<Response, ApiError> {
    let input = FilingInput {
        id: parse_id(&body.id_number)?,
        insutype: body.insutype,
        region: body.region,
        from: body.from,
        to: body.to,
        kind: body.kind,
    };
    let done = st.store.add_filing(&ctx_of(&caller, None), &input).await?;
    Ok(Json(done).into_response())
}

/// 撤销备案 / cancel a filing (kept, marked cancelled).
#[utoipa::path(post, path = "/api/v1/insurance/filings/{serial}/cancel", tag = "insurance",
    params(("serial" = String, Path, description = "trt_dcla_detl_sn")), request_body = CancelFilingBody,
    responses((status = 200, description = "the filing, cancelled"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn insurance_filing_cancel(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(serial): Path<String>,
    JsonBody(body): JsonBody<CancelFilingBody>,
) -> Result<Response, ApiError> {
    let done = st
        .store
        .cancel_filing(&ctx_of(&caller, None), &serial, &body.note)
        .await?;
    Ok(Json(done).into_response())
}
