//! Exchange appointments for counter systems and the centre: book, list, cancel, check in, the
//! places ahead; and the migration's figures. A clerk checks in at its own point only — the
//! store checks it.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sscard_core::Half;
use sscard_store::appointments::{BookRequest, Channel};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};

use super::body::JsonBody;
use super::{ctx_of, parse_id};

/// A booking.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookBody {
    /// The holder's ID number.
    #[schema(example = "321202198808081014")]
    pub id_number: String,
    /// The exchange point's code.
    #[schema(example = "TZ-HL-01")]
    pub point: String,
    /// The day (YYYY-MM-DD).
    #[schema(value_type = String, example = "2026-12-08")]
    pub day: chrono::NaiveDate,
    /// `am` or `pm`.
    #[schema(example = "am")]
    pub slot: String,
    /// A mobile number for the confirmation and the reminder.
    pub phone: Option<String>,
}

/// Which bookings.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// One point.
    pub point: Option<String>,
    /// One day (YYYY-MM-DD).
    #[param(value_type = Option<String>)]
    pub date: Option<chrono::NaiveDate>,
    /// `booked`, `checked_in`, `cancelled`, `no_show`.
    pub status: Option<String>,
    /// At most this many (default 100).
    pub limit: Option<i64>,
}

/// Which half-days.
#[derive(Debug, Deserialize, IntoParams)]
pub struct SlotsQuery {
    /// From (YYYY-MM-DD; default today).
    #[param(value_type = Option<String>)]
    pub from: Option<chrono::NaiveDate>,
    /// Working days (default 10, at most 60).
    pub days: Option<u32>,
    /// One district's points.
    pub district: Option<String>,
}

/// 预约换卡 / books an exchange appointment in a half-day slot (one open booking per person;
/// the phase must be open on that day).
#[utoipa::path(post, path = "/api/v1/appointments", tag = "migration", request_body = BookBody,
    responses((status = 200, description = "{code, id_masked, name_masked, point, point_name, day, half, status, phone_masked, channel, created_at}"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn book(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<BookBody>,
) -> Result<Response, ApiError> {
    let half = Half::parse(&body.slot).ok_or_else(|| {
        ApiError::bad_field(
            "slot",
            "appointment.slot",
            "时段应为 am（上午）或 pm（下午）",
            "the slot must be am or pm",
        )
    })?;
    let req = BookRequest {
        id: parse_id(&body.id_number)?,
        name: None,
        point: body.point,
        day: body.day,
        half,
        phone: body.phone,
        channel: Channel::Api,
    };
    let a = st
        .store
        .book_appointment(&ctx_of(&caller, None), &req)
        .await?;
    Ok(Json(a).into_response())
}

/// 预约列表 / bookings of a point and/or day and/or status.
#[utoipa::path(get, path = "/api/v1/appointments", tag = "migration", params(ListQuery),
    responses((status = 200, description = "[appointment]"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn list(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let out = st
        .store
        .appointments(
            &ctx_of(&caller, None),
            q.point.as_deref(),
            q.date,
            q.status.as_deref(),
            q.limit.unwrap_or(100).clamp(1, 1000),
        )
        .await?;
    Ok(Json(out).into_response())
}

/// 可约时段 / the half-days ahead with the places left at each point.
#[utoipa::path(get, path = "/api/v1/appointments/slots", tag = "migration", params(SlotsQuery),
    responses((status = 200, description = "[{point, point_name, district, day, half, capacity, booked, left}]"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn slots(
    State(st): State<AppState>,
    Query(q): Query<SlotsQuery>,
) -> Result<Response, ApiError> {
    let out = st
        .store
        .free_slots(
            q.from.unwrap_or_else(sscard_ids::china_today),
            q.days.unwrap_or(10).clamp(1, 60),
            q.district.as_deref(),
        )
        .await?;
    Ok(Json(out).into_response())
}

/// 查询预约 / one booking by its confirmation code.
#[utoipa::path(get, path = "/api/v1/appointments/{code}", tag = "migration", params(("code" = String, Path)),
    responses((status = 200, description = "the appointment"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn show(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let a = st.store.appointment(&ctx_of(&caller, None), &code).await?;
    Ok(Json(a).into_response())
}

/// 取消预约 / cancels a booking; its place is free again.
#[utoipa::path(post, path = "/api/v1/appointments/{code}/cancel", tag = "migration", params(("code" = String, Path)),
    responses((status = 200, description = "the appointment, cancelled"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn cancel(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let a = st
        .store
        .cancel_appointment(&ctx_of(&caller, None), &code)
        .await?;
    Ok(Json(a).into_response())
}

/// 预约签到 / checks a booking in at its point on its day; the clerk then takes the exchange
/// application (business type 06) with the photo.
#[utoipa::path(post, path = "/api/v1/appointments/{code}/check-in", tag = "migration", params(("code" = String, Path)),
    responses((status = 200, description = "the appointment, checked in"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn check_in(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let a = st
        .store
        .check_in_appointment(&ctx_of(&caller, None), &code)
        .await?;
    Ok(Json(a).into_response())
}

/// 换卡进度 / legacy cards by district (superseded, exchanged, booked, pending), exchanges per
/// day, bookings ahead, the cut-over.
#[utoipa::path(get, path = "/api/v1/migration", tag = "migration",
    responses((status = 200, description = "{districts, daily_exchanges, bookings_ahead, cutover, unexchanged, retired_unexchanged}"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn figures(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let f = st.store.migration_figures(&ctx_of(&caller, None)).await?;
    Ok(Json(f).into_response())
}
