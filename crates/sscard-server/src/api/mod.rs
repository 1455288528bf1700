//! The REST API under `/api/v1`. Every route has one access rule in [`RULES`]; the guard
//! middleware authenticates the caller, applies the rule for the matched route, and handles
//! `Idempotency-Key`. Handlers are thin: parse, call one store operation, render.

pub mod appointments;
pub mod bank;
pub mod body;
pub mod dto;
pub mod insurance;
pub mod terminal;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use sscard_core::{ApplicationSource, BusinessType, CardAction, Permission, Role, Scope};
use sscard_ids::{CardNumber, CreditCode, PersonName, RegionCode, ResidentId};
use sscard_store::{ApplyRequest, Ctx, PersonInput};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use body::JsonBody;
use dto::{
    ApplyBody, ApplyDto, AuditEventDto, AuditVerifyDto, BankDto, CardDto, EmployerBody,
    EmployerDto, LapseDto, LookupBody, MeDto, PersonBody, PersonDto, ReasonBody, RevealDto,
};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any authenticated staff member.
    AnyStaff,
    /// Staff whose role has this permission.
    Needs(Permission),
    /// A terminal, authenticated by its request MAC (no staff credentials).
    Terminal,
}

/// The access rule of every API route: (method, path as in the router, rule). A route missing
/// here is refused for everyone, and the RBAC test fails on it.
pub const RULES: &[(&str, &str, Access)] = &[
    ("GET", "/api/v1/me", Access::AnyStaff),
    ("GET", "/api/v1/banks", Access::Needs(Permission::ReadBanks)),
    (
        "POST",
        "/api/v1/persons",
        Access::Needs(Permission::RegisterPersons),
    ),
    (
        "POST",
        "/api/v1/persons/lookup",
        Access::Needs(Permission::ReadPersons),
    ),
    (
        "GET",
        "/api/v1/persons/{person_id}",
        Access::Needs(Permission::ReadPersons),
    ),
    (
        "POST",
        "/api/v1/persons/{person_id}/reveal",
        Access::Needs(Permission::RevealId),
    ),
    (
        "POST",
        "/api/v1/employers",
        Access::Needs(Permission::ManageEmployers),
    ),
    (
        "POST",
        "/api/v1/applications",
        Access::Needs(Permission::Apply),
    ),
    (
        "GET",
        "/api/v1/cards/{card_number}",
        Access::Needs(Permission::ReadCards),
    ),
    (
        "POST",
        "/api/v1/cards/{card_number}/hand-over",
        Access::Needs(Permission::CardService),
    ),
    (
        "POST",
        "/api/v1/cards/{card_number}/activate",
        Access::Needs(Permission::CardService),
    ),
    (
        "POST",
        "/api/v1/cards/{card_number}/temporary-loss",
        Access::Needs(Permission::CardLoss),
    ),
    (
        "POST",
        "/api/v1/cards/{card_number}/formal-loss",
        Access::Needs(Permission::CardLoss),
    ),
    (
        "POST",
        "/api/v1/cards/{card_number}/unfreeze",
        Access::Needs(Permission::CardLoss),
    ),
    (
        "POST",
        "/api/v1/cards/{card_number}/cancel",
        Access::Needs(Permission::CardService),
    ),
    (
        "POST",
        "/api/v1/cards/{card_number}/reissue",
        Access::Needs(Permission::CardService),
    ),
    (
        "POST",
        "/api/v1/cards/{card_number}/exchange",
        Access::Needs(Permission::CardService),
    ),
    (
        "POST",
        "/api/v1/cards/{card_number}/uses",
        Access::Needs(Permission::RecordUse),
    ),
    (
        "POST",
        "/api/v1/cards/{card_number}/bank-account",
        Access::Needs(Permission::BankOps),
    ),
    (
        "POST",
        "/api/v1/cards/{card_number}/bank-activation",
        Access::Needs(Permission::BankOps),
    ),
    (
        "POST",
        "/api/v1/jobs/lapse-temporary-losses",
        Access::Needs(Permission::RunJobs),
    ),
    (
        "GET",
        "/api/v1/audit/events",
        Access::Needs(Permission::ReadAudit),
    ),
    (
        "GET",
        "/api/v1/audit/verify",
        Access::Needs(Permission::ReadAudit),
    ),
    (
        "POST",
        "/api/v1/points/{point}/lookup",
        Access::Needs(Permission::Distribute),
    ),
    (
        "POST",
        "/api/v1/points/{point}/hand-over",
        Access::Needs(Permission::Distribute),
    ),
    (
        "GET",
        "/api/v1/points/{point}/figures",
        Access::Needs(Permission::ReadDistribution),
    ),
    ("POST", "/api/v1/terminal/checks", Access::Terminal),
    ("POST", "/api/v1/terminal/selftest", Access::Terminal),
    ("GET", "/api/v1/terminal/test-card", Access::Terminal),
    ("GET", "/api/v1/terminal/deny-list", Access::Terminal),
    ("POST", "/api/v1/terminal/offline-uses", Access::Terminal),
    ("POST", "/api/v1/pension/certifications", Access::Terminal),
    (
        "GET",
        "/api/v1/offline-uses",
        Access::Needs(Permission::ReadTerminals),
    ),
    (
        "GET",
        "/api/v1/readiness",
        Access::Needs(Permission::ReadTerminals),
    ),
    (
        "POST",
        "/api/v1/bank/events",
        Access::Needs(Permission::BankOps),
    ),
    (
        "POST",
        "/api/v1/bank/exports",
        Access::Needs(Permission::BankOps),
    ),
    (
        "GET",
        "/api/v1/bank/exports/{export_no}",
        Access::Needs(Permission::BankOps),
    ),
    (
        "GET",
        "/api/v1/payments",
        Access::Needs(Permission::ReadPayments),
    ),
    (
        "GET",
        "/api/v1/payments/{batch}",
        Access::Needs(Permission::ReadPayments),
    ),
    (
        "POST",
        "/api/v1/payments/{batch}/results",
        Access::Needs(Permission::BankOps),
    ),
    (
        "POST",
        "/api/v1/appointments",
        Access::Needs(Permission::Appointments),
    ),
    (
        "GET",
        "/api/v1/appointments",
        Access::Needs(Permission::Appointments),
    ),
    (
        "GET",
        "/api/v1/appointments/slots",
        Access::Needs(Permission::Appointments),
    ),
    (
        "GET",
        "/api/v1/appointments/{code}",
        Access::Needs(Permission::Appointments),
    ),
    (
        "POST",
        "/api/v1/appointments/{code}/cancel",
        Access::Needs(Permission::Appointments),
    ),
    (
        "POST",
        "/api/v1/appointments/{code}/check-in",
        Access::Needs(Permission::Appointments),
    ),
    (
        "GET",
        "/api/v1/migration",
        Access::Needs(Permission::ReadMigration),
    ),
    (
        "POST",
        "/api/v1/insurance/lookup",
        Access::Needs(Permission::ReadPersons),
    ),
    (
        "POST",
        "/api/v1/insurance/enrolments",
        Access::Needs(Permission::RegisterPersons),
    ),
    (
        "POST",
        "/api/v1/insurance/filings",
        Access::Needs(Permission::RegisterPersons),
    ),
    (
        "POST",
        "/api/v1/insurance/filings/{serial}/cancel",
        Access::Needs(Permission::RegisterPersons),
    ),
];

/// The rule for a route, if it has one.
pub fn rule(method: &str, path: &str) -> Option<Access> {
    RULES
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, a)| *a)
}

/// Whether a role passes a rule.
pub fn allows(access: Access, role: Role) -> bool {
    match access {
        Access::AnyStaff => true,
        Access::Needs(p) => role.can(p),
        Access::Terminal => false,
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sscard API",
        description = "社会保障卡平台接口 / The social security card platform API. Errors are one shape \
                       `{code, message, field?}`; messages are zh-CN unless `Accept-Language: en`. \
                       POSTs accept `Idempotency-Key`.",
        license(name = "MIT OR Apache-2.0")
    ),
    modifiers(&Security),
    tags(
        (name = "persons", description = "人员 / persons"),
        (name = "applications", description = "申领 / applications"),
        (name = "cards", description = "卡片 / cards"),
        (name = "distribution", description = "分拣发放 / sorted distribution and the pickup desk"),
        (name = "audit", description = "审计 / audit trail"),
        (name = "reference", description = "参考数据 / reference data"),
        (name = "insurance", description = "医保 / medical insurance: enrolments, accounts, accumulators, filings"),
        (name = "terminals", description = "终端 / terminals at designated institutions: online card checks, self-test, readiness"),
        (name = "banks", description = "银行 / the bank side: status exchange, benefit payments (代发) and their results"),
        (name = "migration", description = "换卡 / the city's migration: exchange appointments, progress"),
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("API token from `sscard token create`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
        openapi.security = Some(vec![
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("session", Vec::<String>::new()),
        ]);
    }
}

/// The API router and its OpenAPI document, built from the same route list.
pub fn router() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(me))
        .routes(routes!(banks))
        .routes(routes!(register_person))
        .routes(routes!(lookup_person))
        .routes(routes!(get_person))
        .routes(routes!(reveal_person))
        .routes(routes!(register_employer))
        .routes(routes!(apply))
        .routes(routes!(get_card))
        .routes(routes!(hand_over))
        .routes(routes!(activate))
        .routes(routes!(temporary_loss))
        .routes(routes!(formal_loss))
        .routes(routes!(unfreeze))
        .routes(routes!(cancel))
        .routes(routes!(reissue))
        .routes(routes!(exchange))
        .routes(routes!(record_use))
        .routes(routes!(bank_account))
        .routes(routes!(bank_activation))
        .routes(routes!(lapse_temporary_losses))
        .routes(routes!(audit_events))
        .routes(routes!(audit_verify))
        .routes(routes!(pickup_lookup))
        .routes(routes!(pickup_hand_over))
        .routes(routes!(pickup_figures))
        .routes(routes!(terminal::terminal_check))
        .routes(routes!(terminal::terminal_selftest))
        .routes(routes!(terminal::test_card))
        .routes(routes!(terminal::readiness))
        .routes(routes!(terminal::deny_list))
        .routes(routes!(terminal::upload_offline))
        .routes(routes!(terminal::pension_certification))
        .routes(routes!(terminal::offline_report))
        .routes(routes!(insurance::insurance_lookup))
        .routes(routes!(insurance::insurance_enrol))
        .routes(routes!(insurance::insurance_filing))
        .routes(routes!(insurance::insurance_filing_cancel))
        .routes(routes!(bank::bank_reports))
        .routes(routes!(bank::bank_export))
        .routes(routes!(bank::bank_export_again))
        .routes(routes!(bank::payment_batches))
        .routes(routes!(bank::payment_report))
        .routes(routes!(bank::payment_result))
        .routes(routes!(appointments::book, appointments::list))
        .routes(routes!(appointments::slots))
        .routes(routes!(appointments::show))
        .routes(routes!(appointments::cancel))
        .routes(routes!(appointments::check_in))
        .routes(routes!(appointments::figures))
        .split_for_parts()
}

pub(crate) fn ctx_of(caller: &Caller, reason: Option<&str>) -> Ctx {
    Ctx::now(caller.actor()).because(reason.unwrap_or_default())
}

fn parse_card(s: &str) -> Result<CardNumber, ApiError> {
    CardNumber::parse(s).map_err(|e| ApiError::invalid("card_number", &e))
}

pub(crate) fn parse_id(s: &str) -> Result<ResidentId, ApiError> {
    ResidentId::parse(s).map_err(|e| ApiError::invalid("id_number", &e))
}

fn parse_name(s: &str) -> Result<PersonName, ApiError> {
    let name = PersonName::parse(s).map_err(|e| ApiError::invalid("name", &e))?;
    name.chip_name()
        .map_err(|e| ApiError::invalid("name", &e))?;
    Ok(name)
}

fn parse_uuid(s: &str, what: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(s).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found.person",
            format!("未找到{what}：{s}"),
            format!("no {what} {s}"),
        )
    })
}

const E401: &str = "未登录 / not authenticated";
const E403: &str = "角色无权限 / role not allowed";

/// The caller's own account.
#[utoipa::path(get, path = "/api/v1/me", tag = "reference",
    responses((status = 200, body = MeDto), (status = 401, description = E401, body = ErrorBody)))]
async fn me(Extension(caller): Extension<Caller>) -> Json<MeDto> {
    Json(MeDto::from(&caller.staff))
}

/// The partner banks.
#[utoipa::path(get, path = "/api/v1/banks", tag = "reference",
    responses((status = 200, body = Vec<BankDto>), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody)))]
async fn banks(State(st): State<AppState>) -> Result<Json<Vec<BankDto>>, ApiError> {
    Ok(Json(
        st.store
            .banks()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Registers a person, or updates a known one.
#[utoipa::path(post, path = "/api/v1/persons", tag = "persons", request_body = PersonBody,
    responses((status = 200, body = PersonDto), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody), (status = 422, description = "invalid field", body = ErrorBody)))]
async fn register_person(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<PersonBody>,
) -> Result<Json<PersonDto>, ApiError> {
    let mut input = PersonInput::new(parse_id(&body.id_number)?, parse_name(&body.name)?);
    input.workshop = body.workshop;
    input.department = body.department;
    input.phone = body.phone;
    let actor = caller.actor();
    // An employer agent registers for its own employer; the store checks that scope (and the
    // person's current employer) inside the transaction.
    input.employer = match (actor.scope(), body.employer_credit_code) {
        (Scope::Employer(own), _) => Some(*own),
        (_, Some(code)) => Some(
            CreditCode::parse(&code).map_err(|e| ApiError::invalid("employer_credit_code", &e))?,
        ),
        (_, None) => None,
    };
    let view = st
        .store
        .register_person(&ctx_of(&caller, None), &input)
        .await?;
    Ok(Json(view.into()))
}

/// Finds a person by ID number.
#[utoipa::path(post, path = "/api/v1/persons/lookup", tag = "persons", request_body = LookupBody,
    responses((status = 200, body = PersonDto), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn lookup_person(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<LookupBody>,
) -> Result<Json<PersonDto>, ApiError> {
    let id = parse_id(&body.id_number)?;
    let view = st.store.person(&ctx_of(&caller, None), &id).await?;
    Ok(Json(view.into()))
}

/// A person by internal id.
#[utoipa::path(get, path = "/api/v1/persons/{person_id}", tag = "persons",
    params(("person_id" = String, Path, description = "internal id")),
    responses((status = 200, body = PersonDto), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_person(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(person_id): Path<String>,
) -> Result<Json<PersonDto>, ApiError> {
    let id = parse_uuid(&person_id, "person")?;
    let view = st.store.person_by_id(&ctx_of(&caller, None), id).await?;
    Ok(Json(view.into()))
}

/// Reveals a person's full ID number; the reveal is audited.
#[utoipa::path(post, path = "/api/v1/persons/{person_id}/reveal", tag = "persons",
    params(("person_id" = String, Path, description = "internal id")),
    request_body(content = Option<ReasonBody>, description = "why the full number is needed"),
    responses((status = 200, body = RevealDto), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn reveal_person(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(person_id): Path<String>,
    body: Option<JsonBody<ReasonBody>>,
) -> Result<Json<RevealDto>, ApiError> {
    let id = parse_uuid(&person_id, "person")?;
    let reason = body.and_then(|b| b.0.reason);
    let ssn = crate::reveal(&st, &caller, id, reason.as_deref()).await?;
    Ok(Json(RevealDto {
        id_number: ssn.expose().to_owned(),
    }))
}

/// Registers an employer.
#[utoipa::path(post, path = "/api/v1/employers", tag = "reference", request_body = EmployerBody,
    responses((status = 200, body = EmployerDto), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn register_employer(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<EmployerBody>,
) -> Result<Json<EmployerDto>, ApiError> {
    let code =
        CreditCode::parse(&body.credit_code).map_err(|e| ApiError::invalid("credit_code", &e))?;
    let region = RegionCode::parse(&body.region).map_err(|e| ApiError::invalid("region", &e))?;
    let e = st
        .store
        .register_employer(&ctx_of(&caller, None), &code, &body.name, region)
        .await?;
    Ok(Json(EmployerDto {
        id: e.id.to_string(),
        credit_code: e.credit_code,
        name: e.name,
        region: e.region,
    }))
}

/// Applies for a card (new, reissue, exchange); `instant` produces it at once.
#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", request_body = ApplyBody,
    responses((status = 200, body = ApplyDto), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "refused by a rule, e.g. one person one card", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn apply(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<ApplyBody>,
) -> Result<Json<ApplyDto>, ApiError> {
    let id = parse_id(&body.id_number)?;
    let name = parse_name(&body.name)?;
    let kind = match body.business_type.as_deref() {
        None => BusinessType::New,
        Some(t) => BusinessType::parse(t).ok_or_else(|| {
            let mut e = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "application.business_type",
                format!("业务类型“{t}”无效：可选 new、reissue、exchange、warranty_exchange"),
                format!("business type \"{t}\" is not valid: use new, reissue, exchange or warranty_exchange"),
            );
            e.field = Some("business_type".into());
            e
        })?,
    };
    let mut person = PersonInput::new(id, name);
    person.workshop = body.workshop;
    person.department = body.department;
    let actor = caller.actor();
    let source = match actor.scope() {
        Scope::Employer(own) => {
            person.employer = Some(*own);
            ApplicationSource::Employer
        }
        _ if actor.role() == Role::EmployerAgent => ApplicationSource::Employer,
        _ => ApplicationSource::Individual,
    };
    let req = ApplyRequest {
        person,
        bank: body.bank,
        kind,
        source,
        instant: body.instant,
        outlet: caller.staff.outlet.clone(),
    };
    Ok(Json(
        st.store.apply(&ctx_of(&caller, None), &req).await?.into(),
    ))
}

/// One card.
#[utoipa::path(get, path = "/api/v1/cards/{card_number}", tag = "cards",
    params(("card_number" = String, Path, description = "9-character card number")),
    responses((status = 200, body = CardDto), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_card(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(card_number): Path<String>,
) -> Result<Json<CardDto>, ApiError> {
    let number = parse_card(&card_number)?;
    Ok(Json(
        st.store.card(&ctx_of(&caller, None), &number).await?.into(),
    ))
}

/// Generates the endpoint of one [`CardAction`]: parse the number, take the action through the
/// store's one dispatch, render the card (or, for a reissue or exchange, the new application).
macro_rules! card_action {
    ($name:ident, $action:expr, $path:literal, $summary:literal, $dto:ty, $render:expr) => {
        #[doc = $summary]
        #[utoipa::path(post, path = $path, tag = "cards",
            params(("card_number" = String, Path, description = "9-character card number")),
            request_body(content = Option<ReasonBody>, description = "why (recorded in the audit trail)"),
            responses((status = 200, body = $dto), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "refused by a lifecycle rule", body = ErrorBody), (status = 422, body = ErrorBody)))]
        async fn $name(
            State(st): State<AppState>,
            Extension(caller): Extension<Caller>,
            Path(card_number): Path<String>,
            body: Option<JsonBody<ReasonBody>>,
        ) -> Result<Json<$dto>, ApiError> {
            let number = parse_card(&card_number)?;
            let reason = body.and_then(|b| b.0.reason);
            let ctx = ctx_of(&caller, reason.as_deref());
            let outcome = st.store.card_action(&ctx, &number, $action).await?;
            let render: fn(sscard_store::CardActionOutcome) -> $dto = $render;
            Ok(Json(render(outcome)))
        }
    };
}

fn card_of(o: sscard_store::CardActionOutcome) -> CardDto {
    o.card.into()
}

fn replacement_of(o: sscard_store::CardActionOutcome) -> ApplyDto {
    o.replacement
        .expect("a reissue or exchange produces a replacement")
        .into()
}

card_action!(
    hand_over,
    CardAction::HandOver,
    "/api/v1/cards/{card_number}/hand-over",
    "发放 / hand the card over to its holder.",
    CardDto,
    card_of
);
card_action!(
    activate,
    CardAction::ActivateSs,
    "/api/v1/cards/{card_number}/activate",
    "启用社保功能 / enable the social-security function; supersedes older cards.",
    CardDto,
    card_of
);
card_action!(
    temporary_loss,
    CardAction::TemporaryLoss,
    "/api/v1/cards/{card_number}/temporary-loss",
    "临时挂失 / temporary loss (lapses after the configured period).",
    CardDto,
    card_of
);
card_action!(
    formal_loss,
    CardAction::FormalLoss,
    "/api/v1/cards/{card_number}/formal-loss",
    "正式挂失 / formal loss (shared with the bank).",
    CardDto,
    card_of
);
card_action!(
    unfreeze,
    CardAction::Unfreeze,
    "/api/v1/cards/{card_number}/unfreeze",
    "解挂 / lift a loss.",
    CardDto,
    card_of
);
card_action!(
    cancel,
    CardAction::Cancel,
    "/api/v1/cards/{card_number}/cancel",
    "注销 / cancel the card.",
    CardDto,
    card_of
);
card_action!(
    record_use,
    CardAction::RecordUse,
    "/api/v1/cards/{card_number}/uses",
    "用卡 / a use at a terminal; the first use of a new card supersedes the old one.",
    CardDto,
    card_of
);
card_action!(
    bank_account,
    CardAction::BankAccountOpened,
    "/api/v1/cards/{card_number}/bank-account",
    "The bank reports the account opened.",
    CardDto,
    card_of
);
card_action!(
    bank_activation,
    CardAction::ActivateBank,
    "/api/v1/cards/{card_number}/bank-activation",
    "The bank reports the financial function activated.",
    CardDto,
    card_of
);
card_action!(
    reissue,
    CardAction::Reissue,
    "/api/v1/cards/{card_number}/reissue",
    "补卡 / after a formal loss: a new card at once, the old one cancelled.",
    ApplyDto,
    replacement_of
);
card_action!(
    exchange,
    CardAction::Exchange,
    "/api/v1/cards/{card_number}/exchange",
    "换卡 / a new card at once; the old one works until the new one is used.",
    ApplyDto,
    replacement_of
);

/// Lapses temporary losses older than the configured period (the daily job).
#[utoipa::path(post, path = "/api/v1/jobs/lapse-temporary-losses", tag = "cards",
    responses((status = 200, body = LapseDto), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody)))]
async fn lapse_temporary_losses(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<LapseDto>, ApiError> {
    let lapsed = st
        .store
        .lapse_overdue_temporary_losses(&ctx_of(&caller, None))
        .await?;
    Ok(Json(LapseDto {
        lapsed: lapsed.into_iter().map(|c| c.to_string()).collect(),
    }))
}

/// The latest audit events, newest first.
#[utoipa::path(get, path = "/api/v1/audit/events", tag = "audit",
    responses((status = 200, body = Vec<AuditEventDto>), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody)))]
async fn audit_events(State(st): State<AppState>) -> Result<Json<Vec<AuditEventDto>>, ApiError> {
    Ok(Json(
        st.store
            .audit_tail(200)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Where a verification starts.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct VerifyQuery {
    /// `checkpoint` (default): the events after the last verified checkpoint; `genesis`: the
    /// whole chain.
    from: Option<String>,
}

/// Walks the audit chain (from the last checkpoint, or `?from=genesis` the whole chain) and
/// names the first altered, deleted or moved event.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", params(VerifyQuery),
    responses((status = 200, body = AuditVerifyDto), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody)))]
async fn audit_verify(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(q): axum::extract::Query<VerifyQuery>,
) -> Result<Json<AuditVerifyDto>, ApiError> {
    let from = match q.from.as_deref() {
        None | Some("checkpoint") => sscard_store::VerifyFrom::Checkpoint,
        Some("genesis") => sscard_store::VerifyFrom::Genesis,
        Some(other) => {
            let mut e = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "audit.verify_from",
                format!("from=“{other}”无效：可选 checkpoint 或 genesis"),
                format!("from=\"{other}\" is not valid: use checkpoint or genesis"),
            );
            e.field = Some("from".into());
            return Err(e);
        }
    };
    let report = st.store.verify_audit_with(from, None).await?;
    let (zh, en) = report.message();
    let message = if crate::i18n::Lang::from_headers(&headers) == crate::i18n::Lang::En {
        en
    } else {
        zh
    };
    Ok(Json(AuditVerifyDto {
        ok: report.ok(),
        events: report.events,
        message,
    }))
}

/// 发放台查询 / what a pickup desk finds for a scanned ID number (changes nothing).
#[utoipa::path(post, path = "/api/v1/points/{point}/lookup", tag = "distribution",
    params(("point" = String, Path, description = "distribution point code")),
    request_body = dto::PickupRequest,
    responses((status = 200, body = dto::PickupDto), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn pickup_lookup(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(point): Path<String>,
    JsonBody(body): JsonBody<dto::PickupRequest>,
) -> Result<Json<dto::PickupDto>, ApiError> {
    let id = parse_id(&body.id_number)?;
    Ok(Json(
        st.store
            .pickup_lookup(&ctx_of(&caller, None), &point, &id)
            .await?
            .into(),
    ))
}

/// 发放 / hand the scanned person's card over when it is ready at this point; otherwise the
/// outcome says why not (already picked up, lost, elsewhere, another employer, no card).
#[utoipa::path(post, path = "/api/v1/points/{point}/hand-over", tag = "distribution",
    params(("point" = String, Path, description = "distribution point code")),
    request_body = dto::PickupRequest,
    responses((status = 200, body = dto::PickupDto), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn pickup_hand_over(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(point): Path<String>,
    JsonBody(body): JsonBody<dto::PickupRequest>,
) -> Result<Json<dto::PickupDto>, ApiError> {
    let id = parse_id(&body.id_number)?;
    let proxy = proxy_of(body.proxy_id.as_deref(), body.proxy_name.as_deref())?;
    Ok(Json(
        st.store
            .pickup_hand_over(
                &ctx_of(&caller, None),
                &point,
                &id,
                proxy.as_ref(),
                body.handling_ms,
            )
            .await?
            .into(),
    ))
}

/// A proxy (代领) from its two fields: both or neither.
pub(crate) fn proxy_of(
    id: Option<&str>,
    name: Option<&str>,
) -> Result<Option<sscard_store::ProxyInput>, ApiError> {
    let id = id.map(str::trim).filter(|s| !s.is_empty());
    let name = name.map(str::trim).filter(|s| !s.is_empty());
    match (id, name) {
        (None, None) => Ok(None),
        (Some(id), Some(name)) => Ok(Some(sscard_store::ProxyInput {
            id: ResidentId::parse(id).map_err(|e| ApiError::invalid("proxy_id", &e))?,
            name: name.to_owned(),
        })),
        (Some(_), None) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "pickup.proxy_name",
            "代领须填写代领人姓名",
            "a proxy pickup needs the proxy's name",
        )),
        (None, Some(_)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "pickup.proxy_id",
            "代领须填写代领人身份证号码",
            "a proxy pickup needs the proxy's ID number",
        )),
    }
}

/// 发放点实时数据 / a point's live figures today (China time).
#[utoipa::path(get, path = "/api/v1/points/{point}/figures", tag = "distribution",
    params(("point" = String, Path, description = "distribution point code")),
    responses((status = 200, body = dto::FiguresDto), (status = 401, description = E401, body = ErrorBody), (status = 403, description = E403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn pickup_figures(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(point): Path<String>,
) -> Result<Json<dto::FiguresDto>, ApiError> {
    Ok(Json(
        st.store
            .pickup_figures(&ctx_of(&caller, None), &point, chrono::Utc::now())
            .await?
            .into(),
    ))
}
