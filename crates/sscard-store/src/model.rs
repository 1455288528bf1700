//! What goes into and comes out of the store's operations.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sscard_core::{
    Actor, ApplicationSource, ApplicationStatus, BusinessType, FinancialStatus, SsStatus,
};
use sscard_ids::{CardNumber, CreditCode, PersonName, RegionCode, ResidentId};
use uuid::Uuid;

/// What a card action did: the card afterwards, and the new card of a reissue or exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardActionOutcome {
    /// The card acted on, as it is now.
    pub card: CardView,
    /// The application and new card of a reissue or exchange.
    pub replacement: Option<ApplyOutcome>,
}

/// Who does something, when, and why. Every state change records all three, and every
/// operation checks the actor's scope inside its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    /// The staff account, token, terminal or job acting, with its role and scope.
    pub actor: Actor,
    /// When it happens. Injected, so tests and replays control time.
    pub at: DateTime<Utc>,
    /// Why, in the actor's words (may be empty).
    pub reason: String,
}

impl Ctx {
    /// A job or command of the centre itself acting now, on everything ([`Actor::system`]).
    pub fn system(name: impl Into<String>) -> Self {
        Self::now(Actor::system(name))
    }

    /// An actor acting now.
    pub fn now(actor: Actor) -> Self {
        Self {
            actor,
            at: Utc::now(),
            reason: String::new(),
        }
    }

    /// An actor acting at a given time.
    pub fn at(actor: Actor, at: DateTime<Utc>) -> Self {
        Self {
            actor,
            at,
            reason: String::new(),
        }
    }

    /// The same context with a reason.
    #[must_use]
    pub fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }
}

/// A partner bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bank {
    /// PBoC bank category code, e.g. `105`.
    pub code: String,
    /// Short name, e.g. `CCB`.
    pub short_name: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Customer service number.
    pub service_phone: String,
    /// A legacy partner takes no new applications.
    pub legacy: bool,
}

/// A person's registration data.
#[derive(Debug, Clone)]
pub struct PersonInput {
    /// Resident ID number = social security number.
    pub id: ResidentId,
    /// Name as on the ID card.
    pub name: PersonName,
    /// Employer, when known.
    pub employer: Option<CreditCode>,
    /// Workshop (车间) at the employer.
    pub workshop: Option<String>,
    /// Department (部门) at the employer.
    pub department: Option<String>,
    /// Mobile phone.
    pub phone: Option<String>,
    /// Insured city (one of Jiangsu's 13).
    pub insured_city: Option<RegionCode>,
}

impl PersonInput {
    /// Just the two required fields.
    pub fn new(id: ResidentId, name: PersonName) -> Self {
        Self {
            id,
            name,
            employer: None,
            workshop: None,
            department: None,
            phone: None,
            insured_city: None,
        }
    }
}

/// An application for a card.
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    /// The applicant; registered on the fly if new.
    pub person: PersonInput,
    /// Bank code (`105`) or short name (`CCB`).
    pub bank: String,
    /// New, reissue, exchange, warranty exchange.
    pub kind: BusinessType,
    /// Individual or employer.
    pub source: ApplicationSource,
    /// 即时制卡: produce the card at once.
    pub instant: bool,
    /// The outlet taking the application.
    pub outlet: Option<String>,
}

/// What an application produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyOutcome {
    /// The new application.
    pub application_id: Uuid,
    /// The new card, when produced instantly.
    pub card_number: Option<CardNumber>,
    /// The card it replaces (reissue, exchange).
    pub replaces: Option<CardNumber>,
}

/// A card as shown to staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardView {
    /// Card number.
    pub card_number: CardNumber,
    /// Card identification code.
    pub card_id_code: Option<String>,
    /// Holder's ID number, masked.
    pub holder_id: String,
    /// Holder's name, masked.
    pub holder_name: String,
    /// `sealed`, `normal`, …
    pub ss_status: SsStatus,
    /// 0, 1, 2, 3, 4, 9.
    pub ss_status_code: u8,
    /// Bank-side status.
    pub financial_status: FinancialStatus,
    /// The newer card that took over the social-security function.
    pub superseded_by: Option<CardNumber>,
    /// Whether the card reached its holder.
    pub handed_over: bool,
    /// Whether it was used at a terminal.
    pub first_used: bool,
    /// Partner bank code.
    pub bank_code: String,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Expiry date.
    pub expiry_date: NaiveDate,
    /// When a temporary loss was reported.
    pub temporary_loss_since: Option<DateTime<Utc>>,
    /// When that temporary loss lapses by itself.
    pub temporary_loss_lapses_at: Option<DateTime<Utc>>,
    /// The application that produced it.
    pub application_id: Option<Uuid>,
    /// The actions the card's lifecycle allows now (computed from its full state).
    pub allowed: Vec<sscard_core::CardAction>,
}

/// An application as shown to staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationView {
    /// Application id.
    pub id: Uuid,
    /// Business type.
    pub business_type: BusinessType,
    /// Source.
    pub source: String,
    /// Status.
    pub status: ApplicationStatus,
    /// Partner bank code.
    pub bank_code: String,
    /// The card produced, if any.
    pub card_number: Option<String>,
    /// The card replaced, if any.
    pub replaces_card: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// A person as shown to staff: personal data masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonView {
    /// Internal id.
    pub id: Uuid,
    /// ID number, masked.
    pub ssn: String,
    /// Name, masked.
    pub name: String,
    /// `male` / `female`.
    pub sex: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Household region code.
    pub household_region: String,
    /// Workshop.
    pub workshop: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Employer credit code.
    pub employer: Option<String>,
    /// The card whose social-security function is live.
    pub live_card: Option<CardNumber>,
    /// All cards, newest first.
    pub cards: Vec<CardView>,
    /// All applications, newest first.
    pub applications: Vec<ApplicationView>,
}

/// An employer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Employer {
    /// Internal id.
    pub id: Uuid,
    /// Unified social credit code.
    pub credit_code: String,
    /// Name.
    pub name: String,
    /// Region code.
    pub region: String,
}

/// A designated medical institution to register (or update, by code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionInput {
    /// `H…` or `P…`: the code carries the kind and the district.
    pub code: sscard_ids::InstitutionCode,
    /// Name.
    pub name: String,
    /// `hosp_lv` 1/2/3 (hospitals only).
    pub level: Option<u8>,
    /// The district it stands in.
    pub region: RegionCode,
    /// Networked for cross-region settlement.
    pub networked: bool,
}

/// A registered institution with its terminals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Institution {
    /// Code (`fixmedins_code`).
    pub code: String,
    /// Name.
    pub name: String,
    /// `hospital` or `pharmacy`.
    pub kind: String,
    /// `hosp_lv` 1/2/3, hospitals only.
    pub level: Option<u8>,
    /// District (six-digit region code).
    pub region: String,
    /// Networked for cross-region settlement.
    pub networked: bool,
    /// `active`, `suspended` or `closed`.
    pub status: String,
    /// Terminals enrolled (any state).
    pub terminals: u32,
    /// Terminals that passed the self-test.
    pub ready: u32,
}

/// What registering a list of institutions did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InstitutionsRegistered {
    /// New institutions.
    pub added: u32,
    /// Known codes whose name, level, district or network flag changed.
    pub updated: u32,
    /// Known codes given again unchanged.
    pub unchanged: u32,
}

/// A staff account (without its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffAccount {
    /// Internal id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Name shown on screen.
    pub display_name: String,
    /// Role.
    pub role: sscard_core::Role,
    /// The outlet a clerk acts for.
    pub outlet: Option<String>,
    /// The employer an employer agent acts for.
    pub employer_id: Option<Uuid>,
    /// That employer's credit code.
    pub employer_credit_code: Option<String>,
    /// The bank a bank account acts for.
    pub bank_code: Option<String>,
}

impl StaffAccount {
    /// The actor this account acts as: its role, and the scope its role is bounded by (a clerk's
    /// outlet, an employer agent's employer, a bank's code). A role that needs a scope the
    /// account lacks acts on nothing.
    pub fn actor(&self) -> Actor {
        use sscard_core::{Role, Scope};
        let scope = match self.role {
            Role::Clerk => self.outlet.clone().map_or(Scope::All, Scope::Outlet),
            Role::EmployerAgent => self
                .employer_credit_code
                .as_deref()
                .and_then(|c| CreditCode::parse(c).ok())
                .map_or(Scope::Nothing, Scope::Employer),
            Role::Bank => self.bank_code.clone().map_or(Scope::Nothing, Scope::Bank),
            Role::Admin | Role::ProductionOperator | Role::Terminal | Role::Auditor => Scope::All,
            // Not a staff role: a stored account with it acts on nothing.
            Role::Holder => Scope::Nothing,
        };
        Actor::new(
            format!("{}:{}", self.role.as_str(), self.username),
            self.role,
            scope,
        )
    }
}

/// A new staff account.
#[derive(Debug, Clone)]
pub struct NewStaff {
    /// Login name.
    pub username: String,
    /// Name shown on screen.
    pub display_name: String,
    /// Role.
    pub role: sscard_core::Role,
    /// Outlet code (clerks).
    pub outlet: Option<String>,
    /// Employer credit code (employer agents).
    pub employer: Option<CreditCode>,
    /// Bank code (bank accounts).
    pub bank_code: Option<String>,
    /// The argon2 PHC string.
    pub password_hash: String,
}

/// A service point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outlet {
    /// Code.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Region code.
    pub region: String,
    /// `outlet` or `employer_site`.
    pub kind: String,
    /// The employer hosting an on-site point.
    pub employer_id: Option<Uuid>,
}

/// A stored first response to an idempotent POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentResponse {
    /// Hash of the original request (method, path, body).
    pub request_hash: String,
    /// HTTP status.
    pub status: u16,
    /// Response body.
    pub body: String,
}

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new: this request runs.
    Claimed,
    /// The same request already ran: its response, to replay.
    Done(IdempotentResponse),
    /// The same request was claimed at `since` and has not recorded its response: it is still
    /// running elsewhere, or its server stopped before the response was recorded.
    InFlight {
        /// When the first attempt claimed the key.
        since: chrono::DateTime<chrono::Utc>,
    },
    /// The key was used for a different request.
    OtherRequest,
}

// ---- employer bulk applications ----

/// A normalised photo to keep for a person.
#[derive(Clone)]
pub struct PhotoInput {
    /// SHA-256 of the employer's original file (hex), to notice the same photo uploaded again.
    pub sha256: String,
    /// The card photo (JPEG, 358×441, 350 dpi).
    pub jpeg: Vec<u8>,
    /// The chip (EF08) photo.
    pub chip_jpeg: Vec<u8>,
    /// JPEG quality of the card photo.
    pub quality: u8,
}

impl std::fmt::Debug for PhotoInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhotoInput")
            .field("sha256", &self.sha256)
            .field("jpeg", &format_args!("{} bytes", self.jpeg.len()))
            .field("chip_jpeg", &format_args!("{} bytes", self.chip_jpeg.len()))
            .field("quality", &self.quality)
            .finish()
    }
}

/// One good row of an employer's upload.
#[derive(Debug, Clone)]
pub struct BatchRowInput {
    /// The row number in the employer's file (header = row 1).
    pub row: usize,
    /// The employee, with the employer set.
    pub person: PersonInput,
    /// Chosen partner bank (code or short name).
    pub bank: String,
    /// The normalised photo, when one came with the upload.
    pub photo: Option<PhotoInput>,
}

/// A problem with one row: where it is and what to do, in zh-CN and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RowIssue {
    /// Row number in the employer's file (header = row 1; for CSV the line number).
    pub row: usize,
    /// The column's header as the template names it (zh-CN).
    pub column: String,
    /// Stable code.
    pub code: String,
    /// zh-CN message.
    pub message: String,
    /// English message.
    pub message_en: String,
}

/// An employer's upload: the good rows and the problems already found in the file.
#[derive(Debug, Clone)]
pub struct BatchUploadInput {
    /// The employer.
    pub employer: CreditCode,
    /// The file's name as uploaded.
    pub file_name: String,
    /// SHA-256 of the file (hex).
    pub file_sha256: String,
    /// Data rows in the file.
    pub rows_total: usize,
    /// Rows that passed the file checks.
    pub rows: Vec<BatchRowInput>,
    /// Rows that did not, with why.
    pub problems: Vec<RowIssue>,
    /// Rows whose only problem is their photo: the person is registered and the row held in
    /// the batch until a photo that passes is given for it ([`crate::Store::replace_batch_photo`]).
    /// Their problem is in `problems` too (the error workbook lists it).
    pub held: Vec<HeldRowInput>,
}

/// A row held for its photo.
#[derive(Debug, Clone)]
pub struct HeldRowInput {
    /// The row, without a photo.
    pub row: BatchRowInput,
    /// Why the photo was refused.
    pub issue: RowIssue,
    /// The refused source as a small JPEG, for the contact sheet.
    pub preview: Option<Vec<u8>>,
}

/// A batch's contact sheet: the batch and its rows.
#[derive(Debug, Clone, Serialize)]
pub struct BatchSheet {
    /// The batch.
    pub summary: BatchSummary,
    /// Its rows in upload and row order.
    pub entries: Vec<SheetEntry>,
}

/// One row of a batch on its contact sheet.
#[derive(Debug, Clone, Serialize)]
pub struct SheetEntry {
    /// Row in the employer's file.
    pub row: usize,
    /// The upload the row came in (rows are numbered per file).
    pub upload_id: Uuid,
    /// Masked name.
    pub name: String,
    /// Masked ID number.
    pub id_number: String,
    /// What the row has.
    #[serde(flatten)]
    pub photo: SheetPhoto,
}

/// A row's photo on the contact sheet.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SheetPhoto {
    /// The normalised card photo.
    Accepted {
        /// The card photo (JPEG 358×441).
        #[serde(skip)]
        jpeg: Vec<u8>,
    },
    /// Held: the photo was refused.
    Refused {
        /// Stable code.
        code: String,
        /// zh-CN reason.
        message: String,
        /// English reason.
        message_en: String,
        /// The refused source, small.
        #[serde(skip)]
        preview: Option<Vec<u8>>,
    },
    /// Applied without a photo (the upload had no photo archive).
    Missing,
}

/// What replacing one row's photo did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PhotoReplaced {
    /// A held row was applied with the new photo, into batch `batch`.
    Applied {
        /// The batch the application is in.
        batch: i64,
    },
    /// The row was already applied; its photo is replaced.
    Updated,
}

/// What an upload did.
#[derive(Debug, Clone, Serialize)]
pub struct BatchImportOutcome {
    /// The batch the rows went into (its number).
    pub batch_id: i64,
    /// The upload's id (for its error workbook).
    pub upload_id: Uuid,
    /// Rows applied now.
    pub accepted: usize,
    /// Rows already applied in this batch by an earlier upload (not applied twice).
    pub already: usize,
    /// Rows refused, with why (file problems and store rules together, by row).
    pub rejected: Vec<RowIssue>,
}

/// A batch in a list.
#[derive(Debug, Clone, Serialize)]
pub struct BatchSummary {
    /// Batch number.
    pub id: i64,
    /// Employer's credit code.
    pub employer: String,
    /// Employer's name.
    pub employer_name: String,
    /// Status code (`sscard_core::BatchStatus`).
    pub status: u8,
    /// Status in words (zh-CN).
    pub status_zh: String,
    /// People in the batch.
    pub rows: usize,
    /// Cards produced so far.
    pub cards: usize,
    /// When the batch was started.
    pub created_at: DateTime<Utc>,
}

/// One upload of a batch.
#[derive(Debug, Clone, Serialize)]
pub struct UploadSummary {
    /// Upload id.
    pub id: Uuid,
    /// File name.
    pub file_name: String,
    /// Data rows in the file.
    pub rows_total: usize,
    /// Applied.
    pub accepted: usize,
    /// Already applied before.
    pub already: usize,
    /// Refused rows.
    pub rejected: usize,
    /// Who uploaded.
    pub actor: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A batch with its rows counted by production step, and its uploads.
#[derive(Debug, Clone, Serialize)]
pub struct BatchDetail {
    /// The batch.
    #[serde(flatten)]
    pub summary: BatchSummary,
    /// Rows per step (`applied`, `bank_sent`, …), in chain order.
    pub steps: Vec<(String, usize)>,
    /// Rows with a photo.
    pub photos: usize,
    /// Uploads, oldest first.
    pub uploads: Vec<UploadSummary>,
}

// ---- the production chain ----

/// One person of a batch as the production files need them. Holds full personal data for
/// exchange files and card personalisation: its `Debug` masks it, and callers must not log it.
#[derive(Clone)]
pub struct ProductionRow {
    /// The batch row.
    pub row_id: Uuid,
    /// The person.
    pub person_id: Uuid,
    /// The row's application.
    pub application_id: Uuid,
    /// Full social security number.
    pub ssn: String,
    /// Full name.
    pub name: String,
    /// `1` male, `2` female.
    pub sex: i16,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Mobile phone.
    pub phone: Option<String>,
    /// Workshop.
    pub workshop: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Partner bank code.
    pub bank_code: String,
    /// Employer credit code.
    pub employer_code: String,
    /// Employer name.
    pub employer_name: String,
    /// Production step.
    pub step: String,
    /// Why the last step failed.
    pub failure: Option<String>,
    /// Bank account number (after the bank's result).
    pub account_number: Option<String>,
    /// Card number (from the factory order on).
    pub card_number: Option<String>,
    /// Chip serial (from the factory's result).
    pub chip_serial: Option<String>,
    /// Card identification code (once the card is made).
    pub card_id_code: Option<String>,
    /// Issue date (once the card is made).
    pub issue_date: Option<NaiveDate>,
    /// Expiry date (once the card is made).
    pub expiry_date: Option<NaiveDate>,
    /// Card photo.
    pub photo: Option<Vec<u8>>,
    /// Chip photo.
    pub chip_photo: Option<Vec<u8>>,
}

impl std::fmt::Debug for ProductionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProductionRow")
            .field("row_id", &self.row_id)
            .field("ssn", &sscard_ids::mask_middle(&self.ssn, 4, 4))
            .field("step", &self.step)
            .field("card_number", &self.card_number)
            .finish_non_exhaustive()
    }
}

/// A partner's answer for one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepResult {
    /// Done: the account number (bank) or chip serial (factory).
    Ok(String),
    /// Not done, with the partner's code and reason.
    Failed {
        /// Partner's code.
        code: String,
        /// Partner's reason.
        reason: String,
    },
}

/// What one production step did.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Batch number.
    pub batch_id: i64,
    /// Batch status after the step.
    pub status: u8,
    /// Status in words.
    pub status_zh: String,
    /// Rows moved forward.
    pub done: usize,
    /// Rows that failed (waiting for a retry).
    pub failed: usize,
    /// Rows in the file that were not waiting for it (already done, unknown): not touched.
    pub ignored: usize,
}
