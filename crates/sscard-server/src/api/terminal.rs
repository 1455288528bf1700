//! The terminal's API: online card checks, the self-test, the test card, and the readiness
//! report for the centre. Terminal routes carry no staff credentials: each request is
//! authenticated by the terminal's MAC, which the store verifies inside the check's
//! transaction together with the counter (so a replay fails) and the clock.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use sscard_chip::online::{CheckBody, KeyService};
use sscard_core::{Actor, CheckResult};
use sscard_store::Ctx;
use sscard_store::terminals::{CheckKind, CheckOutcome, ReadinessLine, TerminalProblem};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};

use super::body::JsonBody;

/// What a terminal sends: the card's data and answer, the terminal's counter, clock and MAC.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequestDto {
    /// Terminal number (12 digits, also the PSAM's).
    #[schema(example = "321202000001")]
    pub terminal: String,
    /// The institution's code (`fixmedins_code`).
    #[schema(example = "H32120200001")]
    pub institution: String,
    /// Above every counter this terminal used before.
    pub counter: u64,
    /// The terminal's clock, Unix seconds (within 5 minutes of the platform's).
    pub time: i64,
    /// Card number read from EF05.
    #[schema(example = "T0000001X")]
    pub card_number: String,
    /// Card identification code read from EF05 (32 hex digits).
    pub card_id_code: String,
    /// The card's answer to INTERNAL AUTHENTICATE over the binding of terminal, counter and
    /// time (16 hex digits).
    pub card_cryptogram: String,
    /// SM4-CBC-MAC of `terminal|institution|counter|time|card_number|card_id_code|card_cryptogram`
    /// under the terminal's key, left 8 bytes (16 hex digits).
    pub mac: String,
    /// Self-test only: the PSAM's answer to the same INTERNAL AUTHENTICATE.
    #[serde(default)]
    pub psam_answer: Option<String>,
}

impl From<CheckRequestDto> for CheckBody {
    fn from(d: CheckRequestDto) -> Self {
        CheckBody {
            terminal: d.terminal,
            institution: d.institution,
            counter: d.counter,
            time: d.time,
            card_number: d.card_number,
            card_id_code: d.card_id_code,
            card_cryptogram: d.card_cryptogram,
            mac: d.mac,
            psam_answer: d.psam_answer,
        }
    }
}

/// The platform's answer to a check.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckAnswerDto {
    /// `ok`, `card.unknown`, `card.not_genuine`, `card.not_issued`, `card.temporary_loss`,
    /// `card.formal_loss`, `card.locked`, `card.cancelled`, `card.superseded`,
    /// `card.expired`, `terminal.unknown`, `terminal.bad_mac`, `terminal.replay`,
    /// `terminal.not_ready`, `terminal.suspended`, `terminal.psam_foreign`, `request.stale`.
    pub result: String,
    /// What to show, in Chinese.
    pub message: String,
    /// What to show, in English.
    pub message_en: String,
    /// The card checked.
    pub card_number: Option<String>,
    /// `legacy`, `second`, `third`.
    pub generation: Option<String>,
    /// Social-security status (`normal`, `temporary_loss`, …).
    pub ss_status: Option<String>,
    /// The holder's name, masked.
    pub holder_masked: Option<String>,
    /// The insured city (six digits).
    pub insured_city: Option<String>,
    /// Proof the card was present, required by settlement (ok only; 30 minutes).
    pub check_token: Option<String>,
    /// Until when the token is accepted (RFC 3339).
    pub valid_until: Option<String>,
    /// Older cards this first use superseded.
    pub superseded: Vec<String>,
    /// When the platform decided (RFC 3339).
    pub checked_at: String,
}

impl From<CheckOutcome> for CheckAnswerDto {
    fn from(o: CheckOutcome) -> Self {
        Self {
            result: o.result.code().to_owned(),
            message: o.result.zh().to_owned(),
            message_en: o.result.en().to_owned(),
            card_number: o.card_number,
            generation: o.generation,
            ss_status: o.ss_status.map(|s| s.as_str().to_owned()),
            holder_masked: o.holder_masked,
            insured_city: o.insured_city,
            check_token: o.check_token,
            valid_until: o.valid_until.map(|t| t.to_rfc3339()),
            superseded: o.superseded,
            checked_at: o.checked_at.to_rfc3339(),
        }
    }
}

/// The HTTP status of a result: 200 for decisions about the card, 401 when the request did
/// not authenticate, 403 when the terminal may not check cards.
pub fn status_of(result: CheckResult) -> StatusCode {
    match result {
        CheckResult::TerminalUnknown
        | CheckResult::TerminalBadMac
        | CheckResult::TerminalReplay
        | CheckResult::RequestStale => StatusCode::UNAUTHORIZED,
        CheckResult::TerminalNotReady
        | CheckResult::TerminalSuspended
        | CheckResult::TerminalPsamForeign => StatusCode::FORBIDDEN,
        _ => StatusCode::OK,
    }
}

fn key_service(st: &AppState) -> Result<&KeyService, ApiError> {
    st.key_service().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "terminal.no_key_service",
            "平台未配置密钥服务：请设置 SSCARD_KEY_STORE 指向密钥库文件（sscard keys generate），演示时加 --demo-keys",
            "the platform has no key service: set SSCARD_KEY_STORE to a key-store file (sscard keys generate), or pass --demo-keys for a demonstration",
        )
    })
}

async fn run_check(
    st: &AppState,
    body: CheckRequestDto,
    kind: CheckKind,
) -> Result<Response, ApiError> {
    let keys = key_service(st)?;
    let body = CheckBody::from(body);
    let ctx = Ctx::now(Actor::terminal(&body.terminal, &body.institution));
    let outcome = st.store.terminal_check(&ctx, &body, keys, kind).await?;
    let status = status_of(outcome.result);
    Ok((status, Json(CheckAnswerDto::from(outcome))).into_response())
}

/// 联网验卡 / an online card check by a terminal.
#[utoipa::path(post, path = "/api/v1/terminal/checks", tag = "terminals",
    request_body = CheckRequestDto,
    responses(
        (status = 200, description = "a decision about the card (`result` says which)", body = CheckAnswerDto),
        (status = 401, description = "terminal.unknown, terminal.bad_mac, terminal.replay, request.stale", body = CheckAnswerDto),
        (status = 403, description = "terminal.not_ready, terminal.suspended", body = CheckAnswerDto),
        (status = 422, description = "malformed body", body = ErrorBody),
        (status = 503, description = "no key service", body = ErrorBody)),
    security(()))]
pub(super) async fn terminal_check(
    State(st): State<AppState>,
    JsonBody(body): JsonBody<CheckRequestDto>,
) -> Result<Response, ApiError> {
    run_check(&st, body, CheckKind::Online).await
}

/// 终端自检 / the self-test: a check of the platform's test card with the PSAM's own answer;
/// on `ok` the terminal is ready.
#[utoipa::path(post, path = "/api/v1/terminal/selftest", tag = "terminals",
    request_body = CheckRequestDto,
    responses(
        (status = 200, body = CheckAnswerDto),
        (status = 401, body = CheckAnswerDto),
        (status = 403, description = "terminal.suspended, terminal.psam_foreign", body = CheckAnswerDto),
        (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(()))]
pub(super) async fn terminal_selftest(
    State(st): State<AppState>,
    JsonBody(body): JsonBody<CheckRequestDto>,
) -> Result<Response, ApiError> {
    run_check(&st, body, CheckKind::Selftest).await
}

/// Checks a terminal's signed GET (headers `x-terminal`, `x-time` in Unix seconds, `x-mac` =
/// the terminal's MAC of `text(terminal, time)`), returning the terminal number.
fn signed_get(
    keys: &KeyService,
    headers: &HeaderMap,
    text: impl Fn(&str, i64) -> String,
) -> Result<String, ApiError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let terminal = header("x-terminal");
    let time: i64 = header("x-time").parse().unwrap_or_default();
    let mac = hex::decode(header("x-mac")).unwrap_or_default();
    let fresh = (chrono::Utc::now().timestamp() - time).abs() <= 300;
    let signed = sscard_chip::online::request_mac_ok(
        &keys.terminal_key(&terminal),
        &text(&terminal, time),
        &mac,
    );
    if fresh && signed {
        Ok(terminal)
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "terminal.bad_mac",
            CheckResult::TerminalBadMac.zh(),
            CheckResult::TerminalBadMac.en(),
        ))
    }
}

/// The text a terminal signs to fetch the deny list: `deny-list|TERMINAL|TIME|SINCE`.
pub fn deny_list_text(terminal: &str, time: i64, since: i64) -> String {
    format!("deny-list|{terminal}|{time}|{since}")
}

/// The version a deny list is asked from.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SinceQuery {
    /// The version the terminal holds (0: the whole list).
    #[serde(default)]
    pub since: i64,
}

/// 黑名单 / the deny list's changes since a version (signed GET: `x-terminal`, `x-time`,
/// `x-mac` of `deny-list|TERMINAL|TIME|SINCE`).
#[utoipa::path(get, path = "/api/v1/terminal/deny-list", tag = "terminals", params(SinceQuery),
    responses((status = 200, description = "{version, changes: [{version, card_number, reason}]}"), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(()))]
pub(super) async fn deny_list(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<SinceQuery>,
) -> Result<Response, ApiError> {
    let keys = key_service(&st)?;
    let terminal = signed_get(keys, &headers, |t, time| deny_list_text(t, time, q.since))?;
    let ctx = Ctx::now(Actor::terminal(&terminal, ""));
    Ok(Json(st.store.deny_list(&ctx, q.since).await?).into_response())
}

/// Offline uses to reconcile.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineUploadDto {
    /// Each use as the terminal signed it when it decided offline (one terminal per upload).
    pub uses: Vec<CheckRequestDto>,
}

/// 离线交易上传 / a terminal uploads the uses it decided offline; each is accepted or flagged.
#[utoipa::path(post, path = "/api/v1/terminal/offline-uses", tag = "terminals",
    request_body = OfflineUploadDto,
    responses((status = 200, description = "{outcomes: [{counter, card_number, outcome, reason}]}"), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(()))]
pub(super) async fn upload_offline(
    State(st): State<AppState>,
    JsonBody(body): JsonBody<OfflineUploadDto>,
) -> Result<Response, ApiError> {
    let keys = key_service(&st)?;
    let uses: Vec<CheckBody> = body.uses.into_iter().map(CheckBody::from).collect();
    let Some(first) = uses.first() else {
        return Ok(Json(serde_json::json!({ "outcomes": [] })).into_response());
    };
    if uses
        .iter()
        .any(|u| u.terminal != first.terminal || u.institution != first.institution)
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "offline.mixed_terminals",
            "一次上传只能包含一台终端的交易",
            "one upload carries the uses of one terminal",
        ));
    }
    let ctx = Ctx::now(Actor::terminal(&first.terminal, &first.institution));
    let outcomes = st.store.upload_offline_uses(&ctx, &uses, keys).await?;
    Ok(Json(serde_json::json!({ "outcomes": outcomes })).into_response())
}

/// Which offline uses to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FlaggedQuery {
    /// Only the flagged ones.
    #[serde(default)]
    pub flagged: bool,
}

/// 离线交易核对 / the reconciled offline uses, newest first.
#[utoipa::path(get, path = "/api/v1/offline-uses", tag = "terminals", params(FlaggedQuery),
    responses((status = 200, description = "[{terminal, institution, counter, card_number, used_at, uploaded_at, outcome, reason}]"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn offline_report(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    axum::extract::Query(q): axum::extract::Query<FlaggedQuery>,
) -> Result<Response, ApiError> {
    let list = st
        .store
        .offline_uses(&super::ctx_of(&caller, None), q.flagged)
        .await?;
    Ok(Json(list).into_response())
}

/// The text a terminal signs to fetch the test card: `test-card|TERMINAL|TIME`.
pub fn test_card_text(terminal: &str, time: i64) -> String {
    format!("test-card|{terminal}|{time}")
}

/// 测试卡 / the platform's test card image for the self-test (headers `x-terminal`,
/// `x-time`, `x-mac` = the terminal's MAC of `test-card|TERMINAL|TIME`).
#[utoipa::path(get, path = "/api/v1/terminal/test-card", tag = "terminals",
    responses((status = 200, description = "card image (sscard-card-image/1)"), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(()))]
pub(super) async fn test_card(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let keys = key_service(&st)?;
    signed_get(keys, &headers, |terminal, time| {
        test_card_text(terminal, time)
    })?;
    let image = sscard_chip::file::image_to_json(&keys.test_card(), keys.is_test());
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        image,
    )
        .into_response())
}

/// The readiness report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessDto {
    /// Per district and kind.
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<ReadinessLine>,
    /// Institutions in all.
    pub institutions: u32,
    /// Terminals in all.
    pub terminals: u32,
    /// Ready terminals.
    pub ready: u32,
    /// Ready terminals per thousand.
    pub ready_permille: u32,
    /// The open problems, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub open_problems: Vec<TerminalProblem>,
}

/// Builds the readiness report (also used by the console).
pub(crate) async fn readiness_report(st: &AppState, ctx: &Ctx) -> Result<ReadinessDto, ApiError> {
    let lines = st.store.readiness(ctx).await?;
    let open_problems = st.store.problems(ctx, true).await?;
    let institutions = lines.iter().map(|l| l.institutions).sum();
    let terminals: u32 = lines.iter().map(|l| l.terminals).sum();
    let ready: u32 = lines.iter().map(|l| l.ready).sum();
    Ok(ReadinessDto {
        lines,
        institutions,
        terminals,
        ready,
        ready_permille: sscard_store::terminals::permille(ready, terminals),
        open_problems,
    })
}

/// 终端改造进度 / readiness by district and institution kind, with the open problems.
#[utoipa::path(get, path = "/api/v1/readiness", tag = "terminals",
    responses((status = 200, body = ReadinessDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn readiness(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<ReadinessDto>, ApiError> {
    Ok(Json(
        readiness_report(&st, &super::ctx_of(&caller, None)).await?,
    ))
}

/// A pensioner's certification at the terminal, after the card's online check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PensionCertificationDto {
    /// The card number the check read.
    pub card_number: String,
    /// The check's `check_token` (30 minutes).
    pub check_token: String,
}

/// The text a terminal signs to certify a pensioner: `pension|TERMINAL|TIME|CARD`.
pub fn pension_text(terminal: &str, time: i64, card: &str) -> String {
    format!("pension|{terminal}|{time}|{card}")
}

/// 领取资格认证 / a pensioner certifies at the terminal with the card: the card checked online at
/// this terminal within 30 minutes (its `check_token`), the request signed by the terminal
/// (`x-terminal`, `x-time`, `x-mac` of `pension|TERMINAL|TIME|CARD`). Answers the
/// certification and whether the person may now be paid.
#[utoipa::path(post, path = "/api/v1/pension/certifications", tag = "terminals",
    request_body = PensionCertificationDto,
    responses((status = 200, description = "{certification: {certified_at, region, channel, place}}"), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(()))]
pub(super) async fn pension_certification(
    State(st): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PensionCertificationDto>,
) -> Result<Response, ApiError> {
    let keys = key_service(&st)?;
    let terminal = signed_get(keys, &headers, |t, time| {
        pension_text(t, time, &body.card_number)
    })?;
    let ctx = Ctx::now(Actor::terminal(&terminal, ""));
    let at = sscard_store::insurance::CertifyAt::Terminal {
        card_number: body.card_number.clone(),
        check_token: body.check_token.clone(),
    };
    let done = st.store.certify_pension(&ctx, None, &at).await?;
    Ok(Json(serde_json::json!({ "certification": done })).into_response())
}
