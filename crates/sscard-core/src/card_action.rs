//! The card actions people and systems take, as one list: the API's routes
//! (`/api/v1/cards/{card}/{slug}`), the console's buttons, the CLI's `sscard card …` commands
//! and the store's dispatch all come from [`CardAction::ALL`], so none of them can offer an
//! action another does not know, and none has a catch-all.

use chrono::{DateTime, Utc};

use crate::{CardEvent, CardState, Permission};

/// One action on one card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardAction {
    /// 发放.
    HandOver,
    /// 启用社保功能.
    ActivateSs,
    /// 临时挂失.
    TemporaryLoss,
    /// 正式挂失.
    FormalLoss,
    /// 解挂.
    Unfreeze,
    /// 注销.
    Cancel,
    /// 补卡 (a new card; this one is cancelled).
    Reissue,
    /// 换卡 (a new card; this one works until the new one is used).
    Exchange,
    /// 用卡: a use at a terminal.
    RecordUse,
    /// The bank reports the account opened.
    BankAccountOpened,
    /// 激活金融功能, as reported by the bank.
    ActivateBank,
}

impl CardAction {
    /// Every action, in the order a screen lists them.
    pub const ALL: [CardAction; 11] = [
        CardAction::HandOver,
        CardAction::ActivateSs,
        CardAction::TemporaryLoss,
        CardAction::FormalLoss,
        CardAction::Unfreeze,
        CardAction::Reissue,
        CardAction::Exchange,
        CardAction::Cancel,
        CardAction::RecordUse,
        CardAction::BankAccountOpened,
        CardAction::ActivateBank,
    ];

    /// The path segment (API and console).
    pub fn slug(self) -> &'static str {
        match self {
            CardAction::HandOver => "hand-over",
            CardAction::ActivateSs => "activate",
            CardAction::TemporaryLoss => "temporary-loss",
            CardAction::FormalLoss => "formal-loss",
            CardAction::Unfreeze => "unfreeze",
            CardAction::Cancel => "cancel",
            CardAction::Reissue => "reissue",
            CardAction::Exchange => "exchange",
            CardAction::RecordUse => "uses",
            CardAction::BankAccountOpened => "bank-account",
            CardAction::ActivateBank => "bank-activation",
        }
    }

    /// The action for a path segment.
    pub fn parse(slug: &str) -> Option<CardAction> {
        Self::ALL.into_iter().find(|a| a.slug() == slug)
    }

    /// What a role needs to take it.
    pub fn permission(self) -> Permission {
        match self {
            CardAction::HandOver
            | CardAction::ActivateSs
            | CardAction::Cancel
            | CardAction::Reissue
            | CardAction::Exchange => Permission::CardService,
            CardAction::TemporaryLoss | CardAction::FormalLoss | CardAction::Unfreeze => {
                Permission::CardLoss
            }
            CardAction::RecordUse => Permission::RecordUse,
            CardAction::BankAccountOpened | CardAction::ActivateBank => Permission::BankOps,
        }
    }

    /// The label in Chinese.
    pub fn zh(self) -> &'static str {
        match self {
            CardAction::HandOver => "发放",
            CardAction::ActivateSs => "启用社保功能",
            CardAction::TemporaryLoss => "临时挂失",
            CardAction::FormalLoss => "正式挂失",
            CardAction::Unfreeze => "解挂",
            CardAction::Cancel => "注销",
            CardAction::Reissue => "补卡",
            CardAction::Exchange => "换卡",
            CardAction::RecordUse => "用卡",
            CardAction::BankAccountOpened => "银行开户",
            CardAction::ActivateBank => "激活金融功能",
        }
    }

    /// The label in English.
    pub fn en(self) -> &'static str {
        match self {
            CardAction::HandOver => "Hand over",
            CardAction::ActivateSs => "Enable SS function",
            CardAction::TemporaryLoss => "Temporary loss",
            CardAction::FormalLoss => "Formal loss",
            CardAction::Unfreeze => "Unfreeze",
            CardAction::Cancel => "Cancel card",
            CardAction::Reissue => "Reissue",
            CardAction::Exchange => "Exchange",
            CardAction::RecordUse => "Record a use",
            CardAction::BankAccountOpened => "Bank account opened",
            CardAction::ActivateBank => "Activate bank function",
        }
    }

    /// Whether a screen should ask twice (it cannot be undone at the counter).
    pub fn danger(self) -> bool {
        matches!(self, CardAction::FormalLoss | CardAction::Cancel)
    }

    /// Whether it produces a new card (reissue, exchange).
    pub fn replaces_card(self) -> bool {
        matches!(self, CardAction::Reissue | CardAction::Exchange)
    }

    /// The lifecycle event it applies to the card at `at`.
    pub fn event(self, at: DateTime<Utc>) -> CardEvent {
        match self {
            CardAction::HandOver => CardEvent::HandOver,
            CardAction::ActivateSs => CardEvent::ActivateSs,
            CardAction::TemporaryLoss => CardEvent::TemporaryLoss { at },
            CardAction::FormalLoss => CardEvent::FormalLoss,
            CardAction::Unfreeze => CardEvent::Unfreeze,
            CardAction::Cancel => CardEvent::Cancel,
            CardAction::Reissue => CardEvent::Reissue,
            CardAction::Exchange => CardEvent::Exchange,
            CardAction::RecordUse => CardEvent::FirstUse,
            CardAction::BankAccountOpened => CardEvent::BankAccountOpened,
            CardAction::ActivateBank => CardEvent::ActivateBank,
        }
    }

    /// The actions the card's lifecycle allows now (the store still checks each on submit).
    pub fn allowed(state: &CardState, at: DateTime<Utc>) -> Vec<CardAction> {
        Self::ALL
            .into_iter()
            .filter(|a| state.apply(&a.event(at)).is_ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_parse_back() {
        for a in CardAction::ALL {
            assert_eq!(CardAction::parse(a.slug()), Some(a));
        }
        assert_eq!(CardAction::parse("nothing"), None);
        let mut slugs: Vec<_> = CardAction::ALL.iter().map(|a| a.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), CardAction::ALL.len());
    }
}
