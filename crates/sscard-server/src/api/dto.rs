//! The API's request and response bodies. HTTP DTOs become domain values in exactly one place
//! (the handlers' `parse_*` helpers); responses are rendered from the store's views.

use serde::{Deserialize, Serialize};
use sscard_store::{ApplicationView, AuditEvent, Bank, CardView, PersonView, StaffAccount};
use utoipa::ToSchema;

/// A card as the API shows it; the holder's data masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardDto {
    /// 9-character card number.
    pub card_number: String,
    /// Card identification code (32 hex).
    pub card_id_code: Option<String>,
    /// Holder's ID number, masked (`3212**********123X`).
    pub holder_id: String,
    /// Holder's name, masked.
    pub holder_name: String,
    /// `sealed|normal|formal_loss|locked|temporary_loss|cancelled`.
    pub ss_status: String,
    /// `0|1|2|3|4|9`.
    pub ss_status_code: u8,
    /// `not_opened|inactive|active|frozen|closed` (owned by the bank).
    pub financial_status: String,
    /// The newer card that took over the social-security function.
    pub superseded_by: Option<String>,
    /// Whether the card reached its holder.
    pub handed_over: bool,
    /// Whether the card was used at a terminal.
    pub first_used: bool,
    /// Partner bank code.
    pub bank_code: String,
    /// `YYYY-MM-DD`.
    pub issue_date: String,
    /// `YYYY-MM-DD`.
    pub expiry_date: String,
    /// When a temporary loss lapses by itself (RFC 3339).
    pub temporary_loss_lapses_at: Option<String>,
}

impl From<CardView> for CardDto {
    fn from(v: CardView) -> Self {
        Self {
            card_number: v.card_number.to_string(),
            card_id_code: v.card_id_code,
            holder_id: v.holder_id,
            holder_name: v.holder_name,
            ss_status: v.ss_status.as_str().into(),
            ss_status_code: v.ss_status_code,
            financial_status: v.financial_status.as_str().into(),
            superseded_by: v.superseded_by.map(|c| c.to_string()),
            handed_over: v.handed_over,
            first_used: v.first_used,
            bank_code: v.bank_code,
            issue_date: v.issue_date.to_string(),
            expiry_date: v.expiry_date.to_string(),
            temporary_loss_lapses_at: v.temporary_loss_lapses_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// An application.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationDto {
    /// Application id.
    pub id: String,
    /// `new|reissue|exchange|warranty_exchange`.
    pub business_type: String,
    /// `individual|employer`.
    pub source: String,
    /// `initial|in_production|awaiting_pickup|picked_up|activated|rejected|cancelled`.
    pub status: String,
    /// Partner bank code.
    pub bank_code: String,
    /// The card produced.
    pub card_number: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

impl From<ApplicationView> for ApplicationDto {
    fn from(a: ApplicationView) -> Self {
        Self {
            id: a.id.to_string(),
            business_type: a.business_type.as_str().into(),
            source: a.source,
            status: a.status.as_str().into(),
            bank_code: a.bank_code,
            card_number: a.card_number,
            created_at: a.created_at.to_rfc3339(),
        }
    }
}

/// A person; personal data masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonDto {
    /// Internal id, used in URLs (ID numbers never are).
    pub id: String,
    /// ID number, masked.
    pub id_number: String,
    /// Name, masked.
    pub name: String,
    /// `male|female`.
    pub sex: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Household region code.
    pub household_region: String,
    /// Workshop at the employer.
    pub workshop: Option<String>,
    /// Department at the employer.
    pub department: Option<String>,
    /// Employer credit code.
    pub employer: Option<String>,
    /// The card whose social-security function is live.
    pub live_card: Option<String>,
    /// Cards, newest first.
    pub cards: Vec<CardDto>,
    /// Applications, newest first.
    pub applications: Vec<ApplicationDto>,
}

impl From<PersonView> for PersonDto {
    fn from(p: PersonView) -> Self {
        Self {
            id: p.id.to_string(),
            id_number: p.ssn,
            name: p.name,
            sex: p.sex,
            birth_date: p.birth_date.to_string(),
            household_region: p.household_region,
            workshop: p.workshop,
            department: p.department,
            employer: p.employer,
            live_card: p.live_card.map(|c| c.to_string()),
            cards: p.cards.into_iter().map(Into::into).collect(),
            applications: p.applications.into_iter().map(Into::into).collect(),
        }
    }
}

/// Register or update a person.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonBody {
    /// Resident ID number (18 characters, or 15-digit legacy).
    pub id_number: String,
    /// Name as on the ID card.
    pub name: String,
    /// Workshop.
    pub workshop: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Mobile phone.
    pub phone: Option<String>,
    /// Employer's unified social credit code.
    pub employer_credit_code: Option<String>,
}

/// Find a person by ID number (in the body, so it never appears in URLs or access logs).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupBody {
    /// Resident ID number.
    pub id_number: String,
}

/// The full ID number, revealed on purpose and audited.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevealDto {
    /// The full 18-character ID number.
    pub id_number: String,
}

/// Apply for a card.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyBody {
    /// Resident ID number.
    pub id_number: String,
    /// Name as on the ID card.
    pub name: String,
    /// Bank code (`105`) or short name (`CCB`).
    pub bank: String,
    /// `new` (default), `reissue`, `exchange`, `warranty_exchange`.
    pub business_type: Option<String>,
    /// 即时制卡: produce the card at once.
    #[serde(default)]
    pub instant: bool,
    /// Workshop (employer applications).
    pub workshop: Option<String>,
    /// Department (employer applications).
    pub department: Option<String>,
}

/// The outcome of an application.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApplyDto {
    /// Application id.
    pub application_id: String,
    /// The new card (instant issue).
    pub card_number: Option<String>,
    /// The card replaced (reissue, exchange).
    pub replaces: Option<String>,
}

impl From<sscard_store::ApplyOutcome> for ApplyDto {
    fn from(o: sscard_store::ApplyOutcome) -> Self {
        Self {
            application_id: o.application_id.to_string(),
            card_number: o.card_number.map(|c| c.to_string()),
            replaces: o.replaces.map(|c| c.to_string()),
        }
    }
}

/// Why an action is taken (recorded in the audit trail).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Free text.
    pub reason: Option<String>,
}

/// Register an employer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployerBody {
    /// Unified social credit code.
    pub credit_code: String,
    /// Name.
    pub name: String,
    /// Region code (6 digits).
    pub region: String,
}

/// An employer.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmployerDto {
    /// Internal id.
    pub id: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Name.
    pub name: String,
    /// Region code.
    pub region: String,
}

/// A partner bank.
#[derive(Debug, Serialize, ToSchema)]
pub struct BankDto {
    /// PBoC bank category code.
    pub code: String,
    /// Short name.
    pub short_name: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Service phone.
    pub service_phone: String,
    /// No new applications.
    pub legacy: bool,
}

impl From<Bank> for BankDto {
    fn from(b: Bank) -> Self {
        Self {
            code: b.code,
            short_name: b.short_name,
            name_zh: b.name_zh,
            name_en: b.name_en,
            service_phone: b.service_phone,
            legacy: b.legacy,
        }
    }
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeDto {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: String,
    /// Outlet (clerks).
    pub outlet: Option<String>,
    /// Employer credit code (employer agents).
    pub employer: Option<String>,
}

impl From<&StaffAccount> for MeDto {
    fn from(s: &StaffAccount) -> Self {
        Self {
            username: s.username.clone(),
            display_name: s.display_name.clone(),
            role: s.role.as_str().into(),
            outlet: s.outlet.clone(),
            employer: s.employer_credit_code.clone(),
        }
    }
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventDto {
    /// Position in the chain.
    pub seq: i64,
    /// RFC 3339.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub subject: String,
    /// Why.
    pub reason: String,
    /// Details (JSON text, personal data masked).
    pub payload: String,
    /// SM3 chain hash.
    pub hash: String,
}

impl From<AuditEvent> for AuditEventDto {
    fn from(e: AuditEvent) -> Self {
        Self {
            seq: e.seq,
            at: chrono::DateTime::from_timestamp_micros(e.at_us)
                .unwrap_or_default()
                .to_rfc3339(),
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            reason: e.reason,
            payload: e.payload,
            hash: e.hash,
        }
    }
}

/// The result of walking the audit chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerifyDto {
    /// Whether the chain is intact.
    pub ok: bool,
    /// Events read.
    pub events: i64,
    /// The first problem, in the request's language.
    pub message: String,
}

/// Cards whose temporary loss lapsed.
#[derive(Debug, Serialize, ToSchema)]
pub struct LapseDto {
    /// Card numbers.
    pub lapsed: Vec<String>,
}

/// A scan at a pickup desk: the holder's resident ID number (from the ID card reader).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickupRequest {
    /// The holder's 18-character resident ID number.
    pub id_number: String,
    /// 代领: the proxy's resident ID number (with `proxy_name`).
    #[serde(default)]
    pub proxy_id: Option<String>,
    /// 代领: the proxy's name.
    #[serde(default)]
    pub proxy_name: Option<String>,
    /// Milliseconds from the scan to the hand-over, as the desk measured it.
    #[serde(default)]
    pub handling_ms: Option<u32>,
}

/// What the desk finds, or what became of a hand-over.
#[derive(Debug, Serialize, ToSchema)]
pub struct PickupDto {
    /// `ready`, `handed_over`, `already_picked_up`, `lost`, `elsewhere`, `other_employer`,
    /// `no_card`.
    pub outcome: String,
    /// zh-CN message for the clerk.
    pub message: String,
    /// English message.
    pub message_en: String,
    /// Card number (where there is a card).
    pub card_number: Option<String>,
    /// Holder's name, masked.
    pub name_masked: Option<String>,
    /// Box, from 1.
    pub r#box: Option<u32>,
    /// Slot in the box, from 1.
    pub slot: Option<u32>,
    /// When the card was handed over (now, or before).
    pub at: Option<String>,
    /// The point concerned (where it was picked up, or where it waits).
    pub point: Option<String>,
    /// The proxy's ID number, masked.
    pub proxy: Option<String>,
}

impl From<sscard_store::PickupOutcome> for PickupDto {
    fn from(o: sscard_store::PickupOutcome) -> Self {
        use sscard_store::PickupOutcome as O;
        let mut dto = PickupDto {
            outcome: o.code().to_owned(),
            message: o.zh(),
            message_en: o.en(),
            card_number: None,
            name_masked: None,
            r#box: None,
            slot: None,
            at: None,
            point: None,
            proxy: None,
        };
        match o {
            O::Ready { card } => {
                dto.card_number = Some(card.card_number);
                dto.name_masked = Some(card.name_masked);
                (dto.r#box, dto.slot) = (card.r#box, card.slot);
            }
            O::HandedOver { card, at, proxy } => {
                dto.card_number = Some(card.card_number);
                dto.name_masked = Some(card.name_masked);
                (dto.r#box, dto.slot) = (card.r#box, card.slot);
                dto.at = Some(at.to_rfc3339());
                dto.proxy = proxy;
            }
            O::AlreadyPickedUp {
                card_number,
                at,
                point,
                proxy,
            } => {
                dto.card_number = Some(card_number);
                dto.at = at.map(|t| t.to_rfc3339());
                dto.point = point;
                dto.proxy = proxy;
            }
            O::Lost { card_number, since } => {
                dto.card_number = Some(card_number);
                dto.at = since.map(|t| t.to_rfc3339());
            }
            O::Elsewhere { point, .. } => dto.point = Some(point),
            O::OtherEmployer { point } => dto.point = point,
            O::NoCard { .. } => {}
        }
        dto
    }
}

/// A pickup point's live figures today (China time).
#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresDto {
    /// Point code.
    pub point: String,
    /// Point name.
    pub point_name: String,
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// Open that day.
    pub open: bool,
    /// Cards handed over that day.
    pub handed_over_today: u32,
    /// Hand-overs per hour, index = hour of the day (0–23).
    pub per_hour: Vec<u32>,
    /// Hand-overs in the last 60 minutes.
    pub last_hour: u32,
    /// Cards still waiting.
    pub remaining: u32,
    /// Cards marked missing.
    pub missing: u32,
    /// Average scan-to-hand-over time, seconds.
    pub avg_handling_seconds: Option<f64>,
    /// Desks active in the last 15 minutes.
    pub active_desks: u32,
    /// The queue last counted.
    pub queue: Option<u32>,
    /// Estimated wait for someone joining the queue now, minutes.
    pub estimated_wait_minutes: Option<f64>,
}

impl From<sscard_store::PickupFigures> for FiguresDto {
    fn from(f: sscard_store::PickupFigures) -> Self {
        FiguresDto {
            point: f.point,
            point_name: f.point_name,
            date: f.date.to_string(),
            open: f.open,
            handed_over_today: f.handed_over_today,
            per_hour: f.per_hour.iter().map(|(_, n)| *n).collect(),
            last_hour: f.last_hour,
            remaining: f.remaining,
            missing: f.missing,
            avg_handling_seconds: f.avg_handling_seconds,
            active_desks: f.active_desks,
            queue: f.queue,
            estimated_wait_minutes: f.estimated_wait_minutes,
        }
    }
}
