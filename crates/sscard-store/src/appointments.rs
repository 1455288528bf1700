//! The city's migration as the store keeps it: exchange points, appointments in half-day slots,
//! the notices outbox, the cut-over and the figures of the migration dashboard.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sscard_core::Half;
use sscard_ids::{PersonName, ResidentId};

/// How far ahead a booking may be made, in days.
pub const BOOKING_HORIZON_DAYS: i64 = 60;

/// An exchange point to add or change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangePointInput {
    /// Its code (also its outlet's code: a clerk of that outlet works there).
    pub code: String,
    /// Its name in Chinese.
    pub name_zh: String,
    /// Its name in English.
    pub name_en: String,
    /// The district it serves (6-digit code).
    pub district: String,
    /// Photo captures per working day (the morning takes the odd place).
    pub capacity: u32,
}

/// An exchange point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExchangePoint {
    /// Its code.
    pub code: String,
    /// Its name in Chinese.
    pub name_zh: String,
    /// Its name in English.
    pub name_en: String,
    /// The district it serves.
    pub district: String,
    /// Places per working day.
    pub capacity: u32,
}

/// Through which door a booking came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// At a counter, by a clerk.
    Counter,
    /// The cardholder on the self-service page.
    SelfService,
    /// Through the API.
    Api,
}

impl Channel {
    /// As stored: `counter`, `self`, `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Counter => "counter",
            Channel::SelfService => "self",
            Channel::Api => "api",
        }
    }
}

/// A booking to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookRequest {
    /// Who.
    pub id: ResidentId,
    /// The name the holder typed (self-service: must be the registered name, or the booking is
    /// refused exactly as for an unknown ID number).
    pub name: Option<PersonName>,
    /// Where.
    pub point: String,
    /// Which day.
    pub day: NaiveDate,
    /// Which half-day.
    pub half: Half,
    /// A mobile number for the confirmation and the reminder.
    pub phone: Option<String>,
    /// Through which door.
    pub channel: Channel,
}

/// A booking, masked for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Appointment {
    /// The confirmation code (what the holder shows at the point).
    pub code: String,
    /// The holder's ID number, masked.
    pub id_masked: String,
    /// The holder's name, masked.
    pub name_masked: String,
    /// The point's code.
    pub point: String,
    /// The point's name.
    pub point_name: String,
    /// The day.
    pub day: NaiveDate,
    /// The half-day.
    pub half: Half,
    /// `booked`, `checked_in`, `cancelled` or `no_show`.
    pub status: String,
    /// The phone, masked.
    pub phone_masked: Option<String>,
    /// `counter`, `self` or `api`.
    pub channel: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// A half-day at a point with what is left of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotView {
    /// The point's code.
    pub point: String,
    /// The point's name.
    pub point_name: String,
    /// The district the point serves.
    pub district: String,
    /// The day.
    pub day: NaiveDate,
    /// The half-day.
    pub half: Half,
    /// Its places.
    pub capacity: u32,
    /// Places booked.
    pub booked: u32,
    /// Places left.
    pub left: u32,
}

/// A message of the notices outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// Its number.
    pub id: i64,
    /// `booking_confirmed`, `booking_reminder`, `phase_open` or `card_ready`.
    pub kind: String,
    /// The mobile number, masked (the export carries it whole, for the SMS gateway).
    pub phone_masked: String,
    /// What it is about (a confirmation code, a phase's name, a card number).
    pub subject: String,
    /// The text in Chinese (what the SMS says).
    pub text: String,
    /// The text in English.
    pub text_en: String,
    /// When it is to go out.
    pub due_at: DateTime<Utc>,
    /// `pending`, `withdrawn` or `exported`.
    pub status: String,
}

/// Notices taken by an export, with the whole phone number for the SMS gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeExport {
    /// The notices, in due order.
    pub notices: Vec<(Notice, String)>,
}

/// One district's legacy cards on the dashboard. Each live legacy card is in exactly one of
/// superseded, exchanged, booked, pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistrictProgress {
    /// The district's code.
    pub district: String,
    /// Its name.
    pub name: String,
    /// Live legacy cards (the latest of each holder, not cancelled).
    pub legacy: u64,
    /// Its holder's new card has taken over.
    pub superseded: u64,
    /// A new card is on its way (applied for, in production or not yet used).
    pub exchanged: u64,
    /// An appointment is booked (or checked in, not yet applied).
    pub booked: u64,
    /// Nothing yet.
    pub pending: u64,
}

/// The migration dashboard's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationFigures {
    /// By district.
    pub districts: Vec<DistrictProgress>,
    /// Exchange applications of legacy cards per day (the last 60 days with any).
    pub daily_exchanges: Vec<(NaiveDate, u64)>,
    /// Open bookings per day from today.
    pub bookings_ahead: Vec<(NaiveDate, u64)>,
    /// The cut-over date, if set.
    pub cutover: Option<NaiveDate>,
    /// Live legacy cards whose holder has not exchanged (pending or booked).
    pub unexchanged: u64,
    /// Of those, the ones past the cut-over (refused at terminals now).
    pub retired_unexchanged: u64,
}

/// The forecast's data from the store: who is still to come, by phase, and the places.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForecastData {
    /// Holders still to book (pending), by the phase that opens their district.
    pub groups: Vec<sscard_core::migration::SimGroup>,
    /// Holders of a district no phase opens yet.
    pub unphased: u64,
    /// Places per working day over all exchange points.
    pub daily_capacity: u64,
    /// Open bookings per day.
    pub booked: Vec<(NaiveDate, u64)>,
}

/// What the self-service page shows a holder about themself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HolderStatus {
    /// Whether they may exchange now, and from when.
    pub eligibility: crate::bank::Eligibility,
    /// Their legacy card's district, if they have one.
    pub district: Option<String>,
    /// Their open booking (booked or checked in).
    pub booking: Option<Appointment>,
}
