//! Sorted distribution and the pickup desk: what the distribution operations take and return.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A place where cards are handed out: an ordinary outlet, or an on-site point at an employer
/// (open on given days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistributionPoint {
    /// Code (`TZ-KS-ONSITE`).
    pub id: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// `outlet` or `employer_site`.
    pub kind: String,
    /// The host employer's name (on-site points).
    pub employer: Option<String>,
    /// The host employer's unified social credit code.
    pub employer_code: Option<String>,
    /// The days an on-site point is open (empty: an outlet's ordinary working days).
    pub opening_days: Vec<NaiveDate>,
}

impl DistributionPoint {
    /// Whether the point is open on `day` (outlets: every day they work).
    pub fn open_on(&self, day: NaiveDate) -> bool {
        self.opening_days.is_empty() || self.opening_days.contains(&day)
    }
}

/// One card in a distribution plan, in pickup order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanEntry {
    /// Place in the pickup order, from 1.
    pub position: u32,
    /// Workshop (may be empty).
    pub workshop: String,
    /// Department (may be empty).
    pub department: String,
    /// The holder's name (the list is for the point's staff and the holders themselves).
    pub name: String,
    /// The holder's ID number, masked.
    pub id_masked: String,
    /// Card number.
    pub card_number: String,
    /// Box, from 1.
    pub r#box: u32,
    /// Slot in the box, from 1.
    pub slot: u32,
    /// Handed over already.
    pub handed_over: bool,
}

/// One box of a plan and its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanBox {
    /// Box number, from 1.
    pub number: u32,
    /// Cards in it.
    pub cards: u32,
    /// The label's text (`第 1 箱 · 总装车间 一班 丁—总装车间 二班 王 · 200 张`).
    pub label: String,
}

/// A batch's distribution plan: where its cards wait and in which order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistributionPlan {
    /// Batch number.
    pub batch: i64,
    /// The employer that applied.
    pub employer: String,
    /// The distribution point.
    pub point: DistributionPoint,
    /// Box capacity.
    pub box_size: u32,
    /// When the plan was made.
    pub created_at: DateTime<Utc>,
    /// The cards, in pickup order.
    pub entries: Vec<PlanEntry>,
    /// The boxes, in order.
    pub boxes: Vec<PlanBox>,
}

/// A proxy pickup (代领): the person collecting for the holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyInput {
    /// The agent's resident ID number (recorded; masked everywhere it is shown).
    pub id: sscard_ids::ResidentId,
    /// The agent's name.
    pub name: String,
}

/// The card the desk is about to hand over (or has handed over).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PickupCard {
    /// Card number.
    pub card_number: String,
    /// The holder's name, masked (`王*明`).
    pub name_masked: String,
    /// The holder's ID number, masked.
    pub id_masked: String,
    /// Workshop and department.
    pub workshop: String,
    /// Department.
    pub department: String,
    /// Box and slot, when the card is in a plan here.
    pub r#box: Option<u32>,
    /// Slot in the box.
    pub slot: Option<u32>,
    /// The holder's card photo (JPEG), for the clerk to compare with the face in front of them.
    #[serde(skip)]
    pub photo: Option<Vec<u8>>,
}

/// What a desk finds for a scanned ID number, or what became of a hand-over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PickupOutcome {
    /// The card is here: hand it over.
    Ready {
        /// The card.
        card: PickupCard,
    },
    /// Handed over now.
    HandedOver {
        /// The card.
        card: PickupCard,
        /// When.
        at: DateTime<Utc>,
        /// Collected by a proxy (masked ID number).
        proxy: Option<String>,
    },
    /// The card was handed over before.
    AlreadyPickedUp {
        /// Card number.
        card_number: String,
        /// When (if handed over at a pickup desk or counter that recorded it).
        at: Option<DateTime<Utc>>,
        /// Where (point name).
        point: Option<String>,
        /// By whom it was collected: the holder, or a proxy (masked ID number).
        proxy: Option<String>,
    },
    /// The card was reported lost (missing from its box, or a loss report on the card).
    Lost {
        /// Card number.
        card_number: String,
        /// When the loss was recorded.
        since: Option<DateTime<Utc>>,
    },
    /// The card waits at another point.
    Elsewhere {
        /// That point's name.
        point: String,
        /// Its code.
        point_id: String,
    },
    /// The person belongs to another employer than the one this on-site point serves.
    OtherEmployer {
        /// Where the person's card waits, if anywhere.
        point: Option<String>,
    },
    /// No card for this person here.
    NoCard {
        /// `unknown_person`, `in_production` or `none`.
        reason: &'static str,
    },
}

impl PickupOutcome {
    /// A short code (`ready`, `already_picked_up`, …).
    pub fn code(&self) -> &'static str {
        match self {
            PickupOutcome::Ready { .. } => "ready",
            PickupOutcome::HandedOver { .. } => "handed_over",
            PickupOutcome::AlreadyPickedUp { .. } => "already_picked_up",
            PickupOutcome::Lost { .. } => "lost",
            PickupOutcome::Elsewhere { .. } => "elsewhere",
            PickupOutcome::OtherEmployer { .. } => "other_employer",
            PickupOutcome::NoCard { .. } => "no_card",
        }
    }

    /// What the clerk reads, in Chinese.
    pub fn zh(&self) -> String {
        match self {
            PickupOutcome::Ready { card } => match (card.r#box, card.slot) {
                (Some(b), Some(s)) => format!("请取卡：第 {b} 箱第 {s} 张"),
                _ => "卡在本点，未分箱：请在本点卡片中查找".into(),
            },
            PickupOutcome::HandedOver { proxy, .. } => match proxy {
                Some(p) => format!("已发放（代领人 {p}）"),
                None => "已发放".into(),
            },
            PickupOutcome::AlreadyPickedUp { at, point, .. } => format!(
                "此卡已领取{}{}",
                at.map(|t| format!("，时间 {}", china_time(t)))
                    .unwrap_or_default(),
                point
                    .as_ref()
                    .map(|p| format!("，地点 {p}"))
                    .unwrap_or_default()
            ),
            PickupOutcome::Lost { since, .. } => format!(
                "此卡已登记丢失{}：请引导持卡人到柜台办理补卡",
                since
                    .map(|t| format!("（{}）", china_time(t)))
                    .unwrap_or_default()
            ),
            PickupOutcome::Elsewhere { point, .. } => {
                format!("此人的卡不在本点，在：{point}")
            }
            PickupOutcome::OtherEmployer { point } => format!(
                "此人不属于本现场发卡点服务的单位{}",
                point
                    .as_ref()
                    .map(|p| format!("；其卡在：{p}"))
                    .unwrap_or_default()
            ),
            PickupOutcome::NoCard { reason } => match *reason {
                "unknown_person" => "本系统没有此人的登记：无卡可发".into(),
                "in_production" => "此人的卡尚在制作中，未到本点".into(),
                _ => "本点没有此人的卡".into(),
            },
        }
    }

    /// What the clerk reads, in English.
    pub fn en(&self) -> String {
        match self {
            PickupOutcome::Ready { card } => match (card.r#box, card.slot) {
                (Some(b), Some(s)) => format!("Take the card from box {b}, slot {s}"),
                _ => "The card is here but not boxed: look among this point's cards".into(),
            },
            PickupOutcome::HandedOver { proxy, .. } => match proxy {
                Some(p) => format!("Handed over (collected by proxy {p})"),
                None => "Handed over".into(),
            },
            PickupOutcome::AlreadyPickedUp { at, point, .. } => format!(
                "This card was already picked up{}{}",
                at.map(|t| format!(" at {}", china_time(t)))
                    .unwrap_or_default(),
                point
                    .as_ref()
                    .map(|p| format!(" at {p}"))
                    .unwrap_or_default()
            ),
            PickupOutcome::Lost { since, .. } => format!(
                "This card was reported lost{}: send the person to the counter for a replacement",
                since
                    .map(|t| format!(" ({})", china_time(t)))
                    .unwrap_or_default()
            ),
            PickupOutcome::Elsewhere { point, .. } => {
                format!("This person's card is not here; it is at {point}")
            }
            PickupOutcome::OtherEmployer { point } => format!(
                "This person belongs to another employer than the one this on-site point serves{}",
                point
                    .as_ref()
                    .map(|p| format!("; their card is at {p}"))
                    .unwrap_or_default()
            ),
            PickupOutcome::NoCard { reason } => match *reason {
                "unknown_person" => {
                    "This person is not registered here: no card to hand over".into()
                }
                "in_production" => {
                    "This person's card is still being made; it has not reached this point".into()
                }
                _ => "No card for this person at this point".into(),
            },
        }
    }
}

/// China Standard Time, `2026-11-28 14:05`.
fn china_time(t: DateTime<Utc>) -> String {
    (t + chrono::Duration::hours(8))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A point's live figures for one day (China time).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PickupFigures {
    /// Point code.
    pub point: String,
    /// Point name.
    pub point_name: String,
    /// The day (China time).
    pub date: NaiveDate,
    /// Whether the point is open that day.
    pub open: bool,
    /// Cards handed over that day.
    pub handed_over_today: u32,
    /// Hand-overs per hour of the day (China time): `[hour, count]` for 0–23.
    pub per_hour: Vec<(u32, u32)>,
    /// Hand-overs in the last 60 minutes.
    pub last_hour: u32,
    /// Cards waiting at the point (not handed over, not missing).
    pub remaining: u32,
    /// Cards reported missing at the point.
    pub missing: u32,
    /// Average handling time (scan to hand-over) that day, in seconds.
    pub avg_handling_seconds: Option<f64>,
    /// Desks that handed over a card in the last 15 minutes.
    pub active_desks: u32,
    /// The queue the point last reported, and when.
    pub queue: Option<u32>,
    /// When the queue was counted.
    pub queue_at: Option<DateTime<Utc>>,
    /// Estimated wait for someone joining the queue now, in minutes: queue × average handling
    /// time ÷ active desks (at least one).
    pub estimated_wait_minutes: Option<f64>,
}

/// Internal: the ids a hand-over needs, found by the lookup.
#[derive(Debug, Clone)]
pub(crate) struct ReadyCard {
    pub(crate) card_id: Uuid,
    pub(crate) card_number: sscard_ids::CardNumber,
}
