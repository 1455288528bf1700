//! Medical insurance as settlement needs it: enrolments (参保登记), the personal account, the
//! year's accumulators, and the settlement configuration (policies of insured places,
//! catalogues of treatment places). Money is exact ([`Money`], cents).

use chrono::NaiveDate;
use serde::Serialize;
use sscard_core::money::Money;
use sscard_core::settlement::{CatalogueItem, Policy};
use sscard_ids::ResidentId;

/// An enrolment to record.
#[derive(Debug, Clone)]
pub struct EnrolInput {
    /// Who.
    pub id: ResidentId,
    /// `310` employees' / `390` residents' basic medical insurance.
    pub insutype: String,
    /// `psn_type` (1101 in-service employee, 1102 retired, 1501 resident, …).
    pub psn_type: String,
    /// The insured place: a city code.
    pub region: String,
    /// From.
    pub from: NaiveDate,
    /// The personal account's opening balance (employees).
    pub balance: Option<Money>,
    /// The employer's code, if any.
    pub employer: Option<String>,
}

/// One enrolment period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrolment {
    /// `310` / `390`.
    pub insutype: String,
    /// The insured place.
    pub region: String,
    /// `psn_type`.
    pub psn_type: String,
    /// `active`, `suspended`, `ended`.
    pub status: String,
    /// From.
    pub begin_date: NaiveDate,
    /// Until (none: open).
    pub end_date: Option<NaiveDate>,
    /// The employer's code.
    pub employer: Option<String>,
}

/// A personal account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Its insutype.
    pub insutype: String,
    /// Balance.
    pub balance: Money,
}

/// The accumulators of one year and insutype.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct YearFigures {
    /// Insutype.
    pub insutype: String,
    /// Year.
    pub year: i32,
    /// The pooled fund paid.
    pub pool_paid: Money,
    /// The second tier paid.
    pub tier_paid: Money,
    /// The deductible used, by `med_type`.
    pub deductible_used: Vec<(String, Money)>,
}

/// A person's insurance record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InsuranceRecord {
    /// The ID number, masked.
    pub id_masked: String,
    /// Every enrolment period, oldest first.
    pub enrolments: Vec<Enrolment>,
    /// The personal accounts.
    pub accounts: Vec<Account>,
    /// The accumulators by year.
    pub years: Vec<YearFigures>,
    /// Filings for care in other cities, newest first (cancelled ones too).
    pub filings: Vec<Filing>,
    /// Moves between cities (关系转移接续), oldest first.
    pub transfers: Vec<Transfer>,
}

/// A move of an insutype to another city to record.
#[derive(Debug, Clone)]
pub struct TransferInput {
    /// Who.
    pub id: ResidentId,
    /// `310` / `390`.
    pub insutype: String,
    /// The new insured place: a city code.
    pub to: String,
    /// The new employer's code, if any.
    pub employer: Option<String>,
    /// The day the new enrolment begins.
    pub date: NaiveDate,
}

/// A transfer (关系转移接续).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// Serial (`ZY` + the old city + a number).
    pub serial: String,
    /// Insutype.
    pub insutype: String,
    /// The old insured place.
    pub from: String,
    /// The new one.
    pub to: String,
    /// The day the new enrolment began.
    pub date: NaiveDate,
    /// Months of contributions carried over.
    pub contribution_months: i64,
    /// The personal account's balance that moved with the person.
    pub balance_moved: Money,
}

/// A filing to record.
#[derive(Debug, Clone)]
pub struct FilingInput {
    /// Who.
    pub id: ResidentId,
    /// `310` / `390`.
    pub insutype: String,
    /// The treatment city.
    pub region: String,
    /// From.
    pub from: NaiveDate,
    /// Until.
    pub to: NaiveDate,
    /// `long_term`, `temporary`, `referral`.
    pub kind: String,
}

/// A filing (异地就医备案).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filing {
    /// `trt_dcla_detl_sn`.
    pub serial: String,
    /// Insutype.
    pub insutype: String,
    /// The treatment city.
    pub region: String,
    /// Kind.
    pub kind: String,
    /// From.
    pub begin_date: NaiveDate,
    /// Until.
    pub end_date: NaiveDate,
    /// `active` / `cancelled`.
    pub status: String,
}

impl Filing {
    /// Whether the filing covers care in `region` on `date`.
    pub fn covers(&self, region: &str, date: NaiveDate) -> bool {
        self.status == "active"
            && self.region == region
            && (self.begin_date..=self.end_date).contains(&date)
    }
}

/// A policy table as loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    /// The insured place.
    pub region: String,
    /// Year.
    pub year: i32,
    /// Insutype.
    pub insutype: String,
    /// `med_type`.
    pub med_type: String,
    /// The numbers.
    pub policy: Policy,
}

/// A catalogue line as loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueRow {
    /// The treatment place.
    pub region: String,
    /// Item code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Class, pay-first share, price limit.
    pub item: CatalogueItem,
}

/// What a load replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loaded {
    /// Rows written.
    pub rows: usize,
    /// Rows the load replaced (of the same regions, or region-years).
    pub replaced: usize,
    /// The regions (or `region/year`s) concerned.
    pub scopes: Vec<String>,
}

/// `psn_type`s of retired people (退休): employees 1201–1203, retired cadres 1300.
pub const RETIRED_PSN_TYPES: [&str; 4] = ["1201", "1202", "1203", "1300"];

/// How long a pension certification lasts.
pub const CERTIFICATION_MONTHS: u32 = 12;

/// Where a pensioner proves entitlement (领取资格认证).
#[derive(Debug, Clone)]
pub enum CertifyAt {
    /// At an outlet's counter (any city's).
    Outlet(String),
    /// At a ready terminal with the card: the card's number and the token of the terminal's
    /// online check (30 minutes).
    Terminal {
        /// The card number.
        card_number: String,
        /// The check token.
        check_token: String,
    },
}

/// A certification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Certification {
    /// When.
    pub certified_at: chrono::DateTime<chrono::Utc>,
    /// The city where.
    pub region: String,
    /// `outlet` / `terminal`.
    pub channel: String,
    /// The outlet or the terminal.
    pub place: String,
}

/// Whether a pensioner may be paid now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PensionStatus {
    /// The ID number, masked.
    pub id_masked: String,
    /// The latest certification.
    pub last: Option<Certification>,
    /// Until when it holds (12 months).
    pub valid_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Held from payment.
    pub held: bool,
    /// Why (zh), when held.
    pub reason: Option<String>,
    /// Why (en), when held.
    pub reason_en: Option<String>,
}
