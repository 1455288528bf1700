//! Browsing: the console's lists (persons, cards, batches, institutions, terminals,
//! settlements, payment batches, bookings) with search, filters and pages, and the counts the
//! role dashboards draw. Every list and count is cut to the caller's scope in the store: an
//! employer agent's lists hold its own employer's people, a bank's its own cards, a counter's
//! its own point's bookings.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// The most rows one page holds.
pub const MAX_PER_PAGE: u32 = 200;

/// What a list is asked for: a search text, filters (each list reads the ones it has), and
/// the page. Unknown or empty filters are ignored by the lists that do not have them.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Free text: a name's beginning, an ID number (whole, or its last digits), a card
    /// number's beginning, a code or name part, a batch number — as the list says.
    pub q: Option<String>,
    /// A status: the card's social-security status code, a batch's status group, a terminal's
    /// state, a settlement's status, a booking's status.
    pub status: Option<String>,
    /// A district (six digits): the person's household region, the card's district, the
    /// institution's or terminal's region, the settlement's treatment region.
    pub district: Option<String>,
    /// A kind: card generation (`legacy`, `second`, `third`), institution kind (`hospital`,
    /// `pharmacy`), settlement kind (`local`, `cross`).
    pub kind: Option<String>,
    /// A partner bank's code (cards, batches).
    pub bank: Option<String>,
    /// An employer's credit code (persons, batches).
    pub employer: Option<String>,
    /// An institution's code (terminals, settlements).
    pub institution: Option<String>,
    /// A month `YYYY-MM` (settlements).
    pub month: Option<String>,
    /// A day (settlements, bookings).
    pub day: Option<NaiveDate>,
    /// A point's code (bookings).
    pub point: Option<String>,
    /// Which page, from 1.
    pub page: u32,
    /// Rows per page (1–[`MAX_PER_PAGE`]; 0 means 50).
    pub per_page: u32,
}

impl ListQuery {
    /// Rows per page as used.
    pub fn limit(&self) -> u32 {
        match self.per_page {
            0 => 50,
            n => n.min(MAX_PER_PAGE),
        }
    }

    /// Rows skipped before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.max(1) - 1) * u64::from(self.limit())
    }

    /// The search text, trimmed, if any.
    pub fn text(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
}

/// One page of a list and how many rows the whole list has.
#[derive(Debug, Clone, Serialize)]
pub struct ListPage<T> {
    /// The rows of this page.
    pub rows: Vec<T>,
    /// Rows in the whole list (every page).
    pub total: u64,
    /// This page, from 1.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

impl<T> ListPage<T> {
    /// A page of `rows` cut from a list already in memory (small lists: batches, payment
    /// batches).
    pub fn of(all: Vec<T>, q: &ListQuery) -> ListPage<T> {
        let total = all.len() as u64;
        let rows = all
            .into_iter()
            .skip(usize::try_from(q.offset()).unwrap_or(usize::MAX))
            .take(q.limit() as usize)
            .collect();
        ListPage {
            rows,
            total,
            page: q.page.max(1),
            per_page: q.limit(),
        }
    }

    /// The number of pages.
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(u64::from(self.per_page.max(1))).max(1)
    }
}

/// A person in the persons list (masked).
#[derive(Debug, Clone, Serialize)]
pub struct PersonRow {
    /// The person's id (the console's person page).
    pub id: Uuid,
    /// ID number, masked.
    pub id_masked: String,
    /// Name, masked.
    pub name_masked: String,
    /// `male` or `female`.
    pub sex: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Household region (six digits).
    pub household_region: String,
    /// The employer's name, if any.
    pub employer_name: Option<String>,
    /// The card in use, if any.
    pub live_card: Option<String>,
}

/// A card in the cards list.
#[derive(Debug, Clone, Serialize)]
pub struct CardRow {
    /// Card number.
    pub card_number: String,
    /// The holder's id (the console's person page).
    pub person_id: Uuid,
    /// The holder's name, masked.
    pub holder_masked: String,
    /// `legacy`, `second` or `third`.
    pub generation: String,
    /// Social-security status code (0 sealed, 1 normal, 2 formal loss, 3 locked, 4 temporary
    /// loss, 9 cancelled).
    pub ss_status: i16,
    /// Financial status (the bank's).
    pub financial_status: String,
    /// Partner bank code.
    pub bank_code: String,
    /// Whether the holder has it.
    pub handed_over: bool,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// The card that replaced it, if any.
    pub superseded_by: Option<String>,
}

/// An institution in the institutions list.
#[derive(Debug, Clone, Serialize)]
pub struct InstitutionRow {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// `hospital` or `pharmacy`.
    pub kind: String,
    /// Hospital level (1–3), if rated.
    pub level: Option<i32>,
    /// District.
    pub region: String,
    /// Networked for cross-region settlement.
    pub networked: bool,
    /// Terminals enrolled.
    pub terminals: u64,
    /// Terminals ready.
    pub ready: u64,
}

/// A terminal in the terminals list.
#[derive(Debug, Clone, Serialize)]
pub struct TerminalRow {
    /// Terminal number.
    pub number: String,
    /// The institution's code.
    pub institution_code: String,
    /// The institution's name.
    pub institution_name: String,
    /// The institution's district.
    pub region: String,
    /// 10 enrolled, 20 ready, 30 suspended.
    pub state: i32,
    /// `sm4` or `3des`.
    pub alg: String,
    /// When it became ready.
    pub ready_at: Option<DateTime<Utc>>,
    /// Open readiness problems.
    pub open_problems: u64,
}

/// A settlement in the settlements list.
#[derive(Debug, Clone, Serialize)]
pub struct SettlementRow {
    /// `setl_id`.
    pub setl_id: String,
    /// When (China time, as the interface gives it).
    pub setl_time: NaiveDateTime,
    /// The institution's code.
    pub institution_code: String,
    /// The institution's name.
    pub institution_name: String,
    /// The insured person's name, masked.
    pub person_masked: String,
    /// `310` or `390`.
    pub insutype: String,
    /// Medical type.
    pub med_type: String,
    /// Insured city.
    pub insured_region: String,
    /// Treatment city.
    pub treatment_region: String,
    /// Total fees, cents.
    pub medfee_cents: i64,
    /// Funds paid, cents.
    pub fund_cents: i64,
    /// Personal account paid, cents.
    pub acct_cents: i64,
    /// Cash paid, cents.
    pub cash_cents: i64,
    /// `settled`, `cancelled` or `cancellation`.
    pub status: String,
}

/// Cards of one generation in one social-security status.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CardCount {
    /// `legacy`, `second` or `third`.
    pub generation: String,
    /// Social-security status code.
    pub ss_status: i16,
    /// Cards.
    pub cards: u64,
}

/// Production rows waiting at one step of the chain, by partner bank.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProductionQueue {
    /// The row's partner bank (the factory works for every bank).
    pub bank_code: String,
    /// The step (`applied`, `bank_sent`, … `personalised`).
    pub step: String,
    /// Rows at that step.
    pub rows: u64,
    /// Batches with rows at that step.
    pub batches: u64,
}

/// Cards handed over at one point on one day.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PointPickups {
    /// Point code.
    pub point: String,
    /// Point name.
    pub name: String,
    /// Cards handed over that day.
    pub handed_over: u64,
    /// Cards waiting at the point.
    pub waiting: u64,
}
