//! The bank side of the card: the events the centre and a partner bank tell each other about a
//! card's account (the daily status exchange), and the vocabulary of benefit payments (代发) to
//! the card's account — kinds, the bank's outcome per row, and why a row is held.
//!
//! The bank owns the financial function and the centre the social-security function; formal
//! loss is the one status they share, so it travels both ways.

use serde::Serialize;
use sscard_ids::Bilingual;

use crate::CardEvent;

/// Bank → centre: a financial status change of one card's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BankReport {
    /// The account was opened (the account number travels with it).
    Opened,
    /// 激活金融功能 at the bank.
    Activated,
    /// The bank froze the account for its own reasons.
    Frozen,
    /// The bank lifted its own freeze.
    Unfrozen,
    /// 销户: the account is closed.
    Closed,
    /// The holder reported the card formally lost at the bank: it freezes both functions.
    FormalLoss,
    /// The holder lifted the formal loss at the bank: both functions return.
    LossLifted,
}

impl BankReport {
    /// Every report.
    pub const ALL: [BankReport; 7] = [
        BankReport::Opened,
        BankReport::Activated,
        BankReport::Frozen,
        BankReport::Unfrozen,
        BankReport::Closed,
        BankReport::FormalLoss,
        BankReport::LossLifted,
    ];

    /// The code in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            BankReport::Opened => "opened",
            BankReport::Activated => "activated",
            BankReport::Frozen => "frozen",
            BankReport::Unfrozen => "unfrozen",
            BankReport::Closed => "closed",
            BankReport::FormalLoss => "formal_loss",
            BankReport::LossLifted => "loss_lifted",
        }
    }

    /// The report from its code.
    pub fn from_name(name: &str) -> Option<BankReport> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The card event it is.
    pub fn card_event(self) -> CardEvent {
        match self {
            BankReport::Opened => CardEvent::BankAccountOpened,
            BankReport::Activated => CardEvent::ActivateBank,
            BankReport::Frozen => CardEvent::BankFreeze,
            BankReport::Unfrozen => CardEvent::BankUnfreeze,
            BankReport::Closed => CardEvent::BankClose,
            BankReport::FormalLoss => CardEvent::FormalLoss,
            BankReport::LossLifted => CardEvent::Unfreeze,
        }
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            BankReport::Opened => "开户",
            BankReport::Activated => "激活金融功能",
            BankReport::Frozen => "冻结",
            BankReport::Unfrozen => "解冻",
            BankReport::Closed => "销户",
            BankReport::FormalLoss => "正式挂失",
            BankReport::LossLifted => "解除挂失",
        }
    }
}

/// Centre → bank: a social-security event that concerns the card's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CentreNotice {
    /// Formal loss reported at the centre: freeze the account too.
    FormalLoss,
    /// The formal loss was lifted at the centre: the account returns.
    LossLifted,
    /// The card was cancelled (or replaced by a reissue): close its account.
    Cancelled,
    /// A new card replaces an old one (exchange or reissue): open its account (`detail`: the
    /// old card).
    NewCard,
    /// A newer card took over the social-security function (`detail`: the new card). The old
    /// card's bank function is not closed by it.
    Superseded,
}

impl CentreNotice {
    /// Every notice.
    pub const ALL: [CentreNotice; 5] = [
        CentreNotice::FormalLoss,
        CentreNotice::LossLifted,
        CentreNotice::Cancelled,
        CentreNotice::NewCard,
        CentreNotice::Superseded,
    ];

    /// The code in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CentreNotice::FormalLoss => "formal_loss",
            CentreNotice::LossLifted => "loss_lifted",
            CentreNotice::Cancelled => "cancelled",
            CentreNotice::NewCard => "new_card",
            CentreNotice::Superseded => "superseded",
        }
    }

    /// The notice from its code.
    pub fn from_name(name: &str) -> Option<CentreNotice> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            CentreNotice::FormalLoss => "正式挂失",
            CentreNotice::LossLifted => "解除挂失",
            CentreNotice::Cancelled => "注销",
            CentreNotice::NewCard => "换发新卡",
            CentreNotice::Superseded => "社保功能由新卡取代",
        }
    }
}

/// What a benefit payment batch pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// 养老金: needs the pensioner's certification in the last 12 months.
    Pension,
    /// 失业保险金.
    Unemployment,
    /// 补贴.
    Subsidy,
}

impl PaymentKind {
    /// Every kind.
    pub const ALL: [PaymentKind; 3] = [
        PaymentKind::Pension,
        PaymentKind::Unemployment,
        PaymentKind::Subsidy,
    ];

    /// `pension`, `unemployment` or `subsidy`.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentKind::Pension => "pension",
            PaymentKind::Unemployment => "unemployment",
            PaymentKind::Subsidy => "subsidy",
        }
    }

    /// The kind from its code.
    pub fn from_name(name: &str) -> Option<PaymentKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            PaymentKind::Pension => "养老金",
            PaymentKind::Unemployment => "失业保险金",
            PaymentKind::Subsidy => "补贴",
        }
    }
}

/// The bank's answer for one payment row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentOutcome {
    /// Credited to the account.
    Paid,
    /// The account is frozen.
    AccountFrozen,
    /// The account is closed.
    AccountClosed,
    /// The account holder's name differs from the name in the file.
    NameMismatch,
}

impl PaymentOutcome {
    /// Every outcome.
    pub const ALL: [PaymentOutcome; 4] = [
        PaymentOutcome::Paid,
        PaymentOutcome::AccountFrozen,
        PaymentOutcome::AccountClosed,
        PaymentOutcome::NameMismatch,
    ];

    /// The code in the bank's result file.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentOutcome::Paid => "paid",
            PaymentOutcome::AccountFrozen => "account_frozen",
            PaymentOutcome::AccountClosed => "account_closed",
            PaymentOutcome::NameMismatch => "name_mismatch",
        }
    }

    /// The outcome from its code.
    pub fn from_name(name: &str) -> Option<PaymentOutcome> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }
}

/// Why a payment row is not paid (yet): a bank's failure, or the centre holding it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentHold {
    /// A pension whose payee has no certification in the last 12 months.
    NotCertified,
    /// The payee has no card with an open bank account.
    NoAccount,
    /// The bank answered (or the centre knows) the account is frozen.
    AccountFrozen,
    /// The bank answered the account is closed, and the payee has no other open account.
    AccountClosed,
    /// The bank answered the name differs; held until the person's record is corrected.
    NameMismatch,
}

impl PaymentHold {
    /// Every reason.
    pub const ALL: [PaymentHold; 5] = [
        PaymentHold::NotCertified,
        PaymentHold::NoAccount,
        PaymentHold::AccountFrozen,
        PaymentHold::AccountClosed,
        PaymentHold::NameMismatch,
    ];

    /// The reason from its code (a bank outcome's code names the same reason).
    pub fn from_name(name: &str) -> Option<PaymentHold> {
        Self::ALL.into_iter().find(|o| o.code_name() == name)
    }

    fn code_name(self) -> &'static str {
        match self {
            PaymentHold::NotCertified => "not_certified",
            PaymentHold::NoAccount => "no_account",
            PaymentHold::AccountFrozen => "account_frozen",
            PaymentHold::AccountClosed => "account_closed",
            PaymentHold::NameMismatch => "name_mismatch",
        }
    }

    /// The code stored on the row (`not_certified`, `account_frozen`, …).
    pub fn as_str(self) -> &'static str {
        self.code_name()
    }
}

impl Bilingual for PaymentHold {
    fn code(&self) -> &'static str {
        match self {
            PaymentHold::NotCertified => "payment.not_certified",
            PaymentHold::NoAccount => "payment.no_account",
            PaymentHold::AccountFrozen => "payment.account_frozen",
            PaymentHold::AccountClosed => "payment.account_closed",
            PaymentHold::NameMismatch => "payment.name_mismatch",
        }
    }

    fn zh(&self) -> String {
        match self {
            PaymentHold::NotCertified => {
                "近 12 个月未进行领取资格认证，暂停发放；在任一城市网点或终端认证后随下次发送恢复"
                    .into()
            }
            PaymentHold::NoAccount => {
                "该人员没有已开户且未销户的社保卡银行账户，请到合作银行开户或激活后再发".into()
            }
            PaymentHold::AccountFrozen => {
                "银行账户已冻结，暂停发放；银行解冻或换卡后随下次发送重发".into()
            }
            PaymentHold::AccountClosed => {
                "银行账户已销户且无其他可用的社保卡账户；新卡开户后随下次发送重发".into()
            }
            PaymentHold::NameMismatch => {
                "银行户名与姓名不符，暂停发放；更正人员信息后随下次发送重发".into()
            }
        }
    }

    fn en(&self) -> String {
        match self {
            PaymentHold::NotCertified => "no pension certification in the last 12 months: held; \
                                          certify at any city's outlet or terminal and the next \
                                          send pays it"
                .into(),
            PaymentHold::NoAccount => "the person has no card with an open bank account; open \
                                       or activate one at the partner bank, then send again"
                .into(),
            PaymentHold::AccountFrozen => "the bank account is frozen: held; the next send pays \
                                           it once the bank unfreezes it or a new card has an \
                                           account"
                .into(),
            PaymentHold::AccountClosed => "the bank account is closed and there is no other open \
                                           card account; the next send pays it once a new \
                                           card's account is open"
                .into(),
            PaymentHold::NameMismatch => "the account holder's name differs: held; correct the \
                                          person's record and the next send pays it"
                .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in BankReport::ALL {
            assert_eq!(BankReport::from_name(r.as_str()), Some(r));
        }
        for n in CentreNotice::ALL {
            assert_eq!(CentreNotice::from_name(n.as_str()), Some(n));
        }
        for k in PaymentKind::ALL {
            assert_eq!(PaymentKind::from_name(k.as_str()), Some(k));
        }
        for o in PaymentOutcome::ALL {
            assert_eq!(PaymentOutcome::from_name(o.as_str()), Some(o));
        }
        for h in PaymentHold::ALL {
            assert_eq!(PaymentHold::from_name(h.as_str()), Some(h));
            assert!(h.code().ends_with(h.as_str()));
        }
        // A bank failure names the reason a row is then held for.
        for o in &PaymentOutcome::ALL[1..] {
            assert!(PaymentHold::from_name(o.as_str()).is_some());
        }
    }

    #[test]
    fn a_formal_loss_at_the_bank_is_the_shared_one() {
        assert_eq!(BankReport::FormalLoss.card_event(), CardEvent::FormalLoss);
        assert_eq!(BankReport::LossLifted.card_event(), CardEvent::Unfreeze);
    }
}
