//! Card applications (申领) and their status chain.

use serde::Serialize;
use sscard_ids::Bilingual;

use crate::display_bilingual;

/// Business type of an application (业务类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BusinessType {
    /// 01 新申领: first card.
    New,
    /// 05 遗失补卡: reissue after a formal loss.
    Reissue,
    /// 06 普通换卡: ordinary exchange (damage, changed face data, migration to the new card).
    Exchange,
    /// 07 质保换卡: exchange under warranty (chip fault).
    WarrantyExchange,
}

impl BusinessType {
    /// All types.
    pub const ALL: [BusinessType; 4] = [
        BusinessType::New,
        BusinessType::Reissue,
        BusinessType::Exchange,
        BusinessType::WarrantyExchange,
    ];

    /// The two-digit code.
    pub fn code(self) -> &'static str {
        match self {
            BusinessType::New => "01",
            BusinessType::Reissue => "05",
            BusinessType::Exchange => "06",
            BusinessType::WarrantyExchange => "07",
        }
    }
    /// `new`, `reissue`, `exchange` or `warranty_exchange`.
    pub fn as_str(self) -> &'static str {
        match self {
            BusinessType::New => "new",
            BusinessType::Reissue => "reissue",
            BusinessType::Exchange => "exchange",
            BusinessType::WarrantyExchange => "warranty_exchange",
        }
    }
    /// The type from its code or name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.code() == s || t.as_str() == s)
    }
    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            BusinessType::New => "新申领",
            BusinessType::Reissue => "遗失补卡",
            BusinessType::Exchange => "普通换卡",
            BusinessType::WarrantyExchange => "质保换卡",
        }
    }
}

/// Where an application came from (申领来源).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationSource {
    /// 01 individual, at a counter or online.
    Individual,
    /// 02 employer bulk application.
    Employer,
}

/// Status of an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// 00 初始: recorded, waiting for a batch.
    Initial,
    /// 01 制卡中: in a production batch.
    InProduction,
    /// 02 待领取: the card is at the outlet.
    AwaitingPickup,
    /// 03 已领取.
    PickedUp,
    /// 04 已启用.
    Activated,
    /// Refused (e.g. photo rejected, bank refused the account); the reason is recorded.
    Rejected,
    /// Withdrawn before the card was collected.
    Cancelled,
}

impl ApplicationStatus {
    /// All statuses.
    pub const ALL: [ApplicationStatus; 7] = [
        ApplicationStatus::Initial,
        ApplicationStatus::InProduction,
        ApplicationStatus::AwaitingPickup,
        ApplicationStatus::PickedUp,
        ApplicationStatus::Activated,
        ApplicationStatus::Rejected,
        ApplicationStatus::Cancelled,
    ];

    /// The code: `00`–`04` as in practice; `90` rejected and `99` cancelled are sscard's own.
    pub fn code(self) -> &'static str {
        match self {
            ApplicationStatus::Initial => "00",
            ApplicationStatus::InProduction => "01",
            ApplicationStatus::AwaitingPickup => "02",
            ApplicationStatus::PickedUp => "03",
            ApplicationStatus::Activated => "04",
            ApplicationStatus::Rejected => "90",
            ApplicationStatus::Cancelled => "99",
        }
    }
    /// Snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Initial => "initial",
            ApplicationStatus::InProduction => "in_production",
            ApplicationStatus::AwaitingPickup => "awaiting_pickup",
            ApplicationStatus::PickedUp => "picked_up",
            ApplicationStatus::Activated => "activated",
            ApplicationStatus::Rejected => "rejected",
            ApplicationStatus::Cancelled => "cancelled",
        }
    }
    /// The status from its code or name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.code() == s || t.as_str() == s)
    }
    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            ApplicationStatus::Initial => "初始",
            ApplicationStatus::InProduction => "制卡中",
            ApplicationStatus::AwaitingPickup => "待领取",
            ApplicationStatus::PickedUp => "已领取",
            ApplicationStatus::Activated => "已启用",
            ApplicationStatus::Rejected => "已驳回",
            ApplicationStatus::Cancelled => "已撤销",
        }
    }
    /// Whether no event can follow.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ApplicationStatus::Activated
                | ApplicationStatus::Rejected
                | ApplicationStatus::Cancelled
        )
    }
}

/// Something that happens to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationEvent {
    /// Put into a production batch.
    SubmitToProduction,
    /// A batch row failed; the application waits for the next batch.
    ReturnToQueue,
    /// The finished card arrived at the outlet.
    CardReceived,
    /// 即时制卡: the card is made on the spot.
    IssueInstantly,
    /// The card was handed over.
    HandOver,
    /// The card's social-security function was enabled.
    Activate,
    /// Refused, with a reason kept by the caller.
    Reject,
    /// Withdrawn.
    Cancel,
}

impl ApplicationEvent {
    /// All events.
    pub const ALL: [ApplicationEvent; 8] = [
        ApplicationEvent::SubmitToProduction,
        ApplicationEvent::ReturnToQueue,
        ApplicationEvent::CardReceived,
        ApplicationEvent::IssueInstantly,
        ApplicationEvent::HandOver,
        ApplicationEvent::Activate,
        ApplicationEvent::Reject,
        ApplicationEvent::Cancel,
    ];
    /// Snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationEvent::SubmitToProduction => "submit_to_production",
            ApplicationEvent::ReturnToQueue => "return_to_queue",
            ApplicationEvent::CardReceived => "card_received",
            ApplicationEvent::IssueInstantly => "issue_instantly",
            ApplicationEvent::HandOver => "hand_over",
            ApplicationEvent::Activate => "activate",
            ApplicationEvent::Reject => "reject",
            ApplicationEvent::Cancel => "cancel",
        }
    }
}

/// An application event that its current status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplicationTransitionError {
    /// Current status.
    pub from: ApplicationStatus,
    /// The refused event.
    pub event: ApplicationEvent,
}

impl Bilingual for ApplicationTransitionError {
    fn code(&self) -> &'static str {
        "application.transition"
    }
    fn zh(&self) -> String {
        format!(
            "申领状态为“{}”，不能执行“{}”",
            self.from.zh(),
            self.event.as_str()
        )
    }
    fn en(&self) -> String {
        format!(
            "an application in status {} cannot {}",
            self.from.as_str(),
            self.event.as_str().replace('_', " ")
        )
    }
}
display_bilingual!(ApplicationTransitionError);

impl ApplicationStatus {
    /// The status after `event`, or the error naming the refused pair.
    pub fn apply(self, event: ApplicationEvent) -> Result<Self, ApplicationTransitionError> {
        use ApplicationEvent as E;
        use ApplicationStatus as S;
        let next = match (self, event) {
            (S::Initial, E::SubmitToProduction) => S::InProduction,
            (S::InProduction, E::ReturnToQueue) => S::Initial,
            (S::InProduction, E::CardReceived) | (S::Initial, E::IssueInstantly) => {
                S::AwaitingPickup
            }
            (S::AwaitingPickup, E::HandOver) => S::PickedUp,
            (S::PickedUp, E::Activate) => S::Activated,
            (S::Initial | S::InProduction, E::Reject) => S::Rejected,
            (S::Initial | S::InProduction | S::AwaitingPickup, E::Cancel) => S::Cancelled,
            _ => return Err(ApplicationTransitionError { from: self, event }),
        };
        Ok(next)
    }
}
