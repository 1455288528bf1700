//! One card's lifecycle: its social-security application status, its financial status (owned
//! by the bank) and its supersession, each kept separately.
//!
//! Every transition is one call to [`CardState::apply`], which returns the new state or a
//! [`CardRuleError`] that names the rule. The rules that span several cards of one person (one
//! live social-security function, supersession on first use) live in [`crate::holder`].

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sscard_ids::{Bilingual, CardNumber};

use crate::display_bilingual;

/// The social-security application status (卡应用状态) as coded in practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SsStatus {
    /// 0 封存: produced, not yet enabled.
    Sealed,
    /// 1 正常: in use.
    Normal,
    /// 2 正式挂失: formally reported lost (shared with the bank).
    FormalLoss,
    /// 3 应用锁定: application locked.
    Locked,
    /// 4 临时挂失: temporarily reported lost; lapses after the configured period.
    TemporaryLoss,
    /// 9 注销: cancelled. Final.
    Cancelled,
}

impl SsStatus {
    /// All statuses, in code order.
    pub const ALL: [SsStatus; 6] = [
        SsStatus::Sealed,
        SsStatus::Normal,
        SsStatus::FormalLoss,
        SsStatus::Locked,
        SsStatus::TemporaryLoss,
        SsStatus::Cancelled,
    ];

    /// The one-digit code: 0, 1, 2, 3, 4 or 9.
    pub fn code(self) -> u8 {
        match self {
            SsStatus::Sealed => 0,
            SsStatus::Normal => 1,
            SsStatus::FormalLoss => 2,
            SsStatus::Locked => 3,
            SsStatus::TemporaryLoss => 4,
            SsStatus::Cancelled => 9,
        }
    }

    /// The status for a code.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// `sealed`, `normal`, `formal_loss`, `locked`, `temporary_loss` or `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            SsStatus::Sealed => "sealed",
            SsStatus::Normal => "normal",
            SsStatus::FormalLoss => "formal_loss",
            SsStatus::Locked => "locked",
            SsStatus::TemporaryLoss => "temporary_loss",
            SsStatus::Cancelled => "cancelled",
        }
    }

    /// The status from its `as_str` name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            SsStatus::Sealed => "封存",
            SsStatus::Normal => "正常",
            SsStatus::FormalLoss => "正式挂失",
            SsStatus::Locked => "应用锁定",
            SsStatus::TemporaryLoss => "临时挂失",
            SsStatus::Cancelled => "注销",
        }
    }
}

/// The financial (bank) application's status. The bank owns it; sscard mirrors what the bank
/// reports and applies the shared formal loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinancialStatus {
    /// No account opened yet.
    NotOpened,
    /// Account opened, not activated by the holder at the bank.
    Inactive,
    /// Activated (激活金融功能).
    Active,
    /// Frozen by a formal loss.
    Frozen,
    /// Account closed or moved to a replacement card.
    Closed,
}

impl FinancialStatus {
    /// All statuses.
    pub const ALL: [FinancialStatus; 5] = [
        FinancialStatus::NotOpened,
        FinancialStatus::Inactive,
        FinancialStatus::Active,
        FinancialStatus::Frozen,
        FinancialStatus::Closed,
    ];

    /// `not_opened`, `inactive`, `active`, `frozen` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            FinancialStatus::NotOpened => "not_opened",
            FinancialStatus::Inactive => "inactive",
            FinancialStatus::Active => "active",
            FinancialStatus::Frozen => "frozen",
            FinancialStatus::Closed => "closed",
        }
    }

    /// The status from its `as_str` name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            FinancialStatus::NotOpened => "未开户",
            FinancialStatus::Inactive => "未激活",
            FinancialStatus::Active => "已激活",
            FinancialStatus::Frozen => "冻结",
            FinancialStatus::Closed => "已销户",
        }
    }
}

/// Settings of the lifecycle rules that differ between places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecyclePolicy {
    /// How long a temporary loss lasts before it lapses by itself (Jiangsu: 7 days; Shanghai 5).
    pub temporary_loss_lapse: Duration,
}

impl Default for LifecyclePolicy {
    fn default() -> Self {
        Self {
            temporary_loss_lapse: Duration::days(7),
        }
    }
}

/// The full state of one card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardState {
    /// Social-security application status.
    pub ss: SsStatus,
    /// Financial application status.
    pub financial: FinancialStatus,
    /// Whether the card has reached its holder (发放).
    pub handed_over: bool,
    /// Whether the card has been used at a terminal.
    pub first_used: bool,
    /// The newer card that took over this card's social-security function, if any. The bank
    /// function is untouched by supersession.
    pub superseded_by: Option<CardNumber>,
    /// When the current temporary loss was reported.
    pub temporary_loss_since: Option<DateTime<Utc>>,
    /// The social-security status to return to when a loss or lock is lifted.
    pub ss_before_loss: Option<SsStatus>,
    /// The financial status to return to when a formal loss is lifted.
    pub financial_before_loss: Option<FinancialStatus>,
}

/// Something that happens to one card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardEvent {
    /// 发放: the card reaches its holder.
    HandOver,
    /// 启用社保功能: the holder starts using the card's social-security function.
    ActivateSs,
    /// The partner bank reports the account opened.
    BankAccountOpened,
    /// 激活金融功能 at the bank.
    ActivateBank,
    /// 临时挂失.
    TemporaryLoss { at: DateTime<Utc> },
    /// 正式挂失 (applies to both functions).
    FormalLoss,
    /// 解挂: lifts a temporary or formal loss.
    Unfreeze,
    /// A temporary loss lapses by itself once its period is over.
    LapseTemporaryLoss {
        now: DateTime<Utc>,
        period: Duration,
    },
    /// 应用锁定 (e.g. by the centre, or PIN blocked beyond counter reset).
    Lock,
    /// 解锁.
    Unlock,
    /// 补卡: this card, formally lost, is replaced; it is cancelled and its account moves.
    Reissue,
    /// 换卡: this card is exchanged; it keeps working until the new card is used.
    Exchange,
    /// 注销.
    Cancel,
    /// The first accepted use at a terminal (enables a sealed card that has been handed over).
    FirstUse,
    /// A newer card of the same holder took over the social-security function.
    Supersede { by: CardNumber },
    /// The bank froze the account for a reason of its own (a court order, suspected fraud);
    /// the social-security function is not touched.
    BankFreeze,
    /// The bank lifted its own freeze (a freeze by formal loss is lifted by [`Self::Unfreeze`]).
    BankUnfreeze,
    /// The bank closed the account (销户); the social-security function is not touched.
    BankClose,
}

impl CardEvent {
    /// A short stable name of the event, used in audit records and errors.
    pub fn name(&self) -> &'static str {
        match self {
            CardEvent::HandOver => "hand_over",
            CardEvent::ActivateSs => "activate_ss",
            CardEvent::BankAccountOpened => "bank_account_opened",
            CardEvent::ActivateBank => "activate_bank",
            CardEvent::TemporaryLoss { .. } => "temporary_loss",
            CardEvent::FormalLoss => "formal_loss",
            CardEvent::Unfreeze => "unfreeze",
            CardEvent::LapseTemporaryLoss { .. } => "lapse_temporary_loss",
            CardEvent::Lock => "lock",
            CardEvent::Unlock => "unlock",
            CardEvent::Reissue => "reissue",
            CardEvent::Exchange => "exchange",
            CardEvent::Cancel => "cancel",
            CardEvent::FirstUse => "first_use",
            CardEvent::Supersede { .. } => "supersede",
            CardEvent::BankFreeze => "bank_freeze",
            CardEvent::BankUnfreeze => "bank_unfreeze",
            CardEvent::BankClose => "bank_close",
        }
    }
}

/// Why a card event was refused. Each variant names one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardRuleError {
    /// The card is cancelled; nothing more can happen to it.
    Cancelled,
    /// The card has not reached its holder yet.
    NotHandedOver,
    /// The card was already handed over.
    AlreadyHandedOver,
    /// A newer card took over the social-security function.
    Superseded { by: CardNumber },
    /// The social-security function is already enabled.
    AlreadyActive,
    /// The card is reported lost (temporary or formal).
    ReportedLost { status: SsStatus },
    /// The card's application is locked.
    Locked,
    /// The card is not reported lost.
    NotReportedLost,
    /// The card is not temporarily reported lost.
    NotTemporaryLoss,
    /// The temporary loss has not yet run its period.
    LapseNotDue { due: DateTime<Utc> },
    /// The event needs the status `Normal`.
    NotNormal { status: SsStatus },
    /// The card is not locked.
    NotLocked,
    /// Reissue needs a formal loss first.
    NotFormalLoss,
    /// A formally lost card is replaced by reissue, not exchange.
    UseReissue,
    /// The bank has not opened an account for this card.
    BankAccountNotOpened,
    /// The bank account was already opened.
    BankAccountAlreadyOpened,
    /// The financial function is already active.
    BankAlreadyActive,
    /// The financial function is frozen by a formal loss.
    BankFrozen,
    /// The bank account is closed.
    BankClosed,
    /// The bank account is not frozen.
    BankNotFrozen,
    /// The card is already superseded.
    AlreadySuperseded,
    /// The social-security function was never enabled, so there is nothing to suspend.
    NotEnabled,
}

impl Bilingual for CardRuleError {
    fn code(&self) -> &'static str {
        match self {
            Self::Cancelled => "card.cancelled",
            Self::NotHandedOver => "card.not_handed_over",
            Self::AlreadyHandedOver => "card.already_handed_over",
            Self::Superseded { .. } => "card.superseded",
            Self::AlreadyActive => "card.already_active",
            Self::ReportedLost { .. } => "card.reported_lost",
            Self::Locked => "card.locked",
            Self::NotReportedLost => "card.not_reported_lost",
            Self::NotTemporaryLoss => "card.not_temporary_loss",
            Self::LapseNotDue { .. } => "card.lapse_not_due",
            Self::NotNormal { .. } => "card.not_normal",
            Self::NotLocked => "card.not_locked",
            Self::NotFormalLoss => "card.not_formal_loss",
            Self::UseReissue => "card.use_reissue",
            Self::BankAccountNotOpened => "card.bank_account_not_opened",
            Self::BankAccountAlreadyOpened => "card.bank_account_already_opened",
            Self::BankAlreadyActive => "card.bank_already_active",
            Self::BankFrozen => "card.bank_frozen",
            Self::BankClosed => "card.bank_closed",
            Self::BankNotFrozen => "card.bank_not_frozen",
            Self::AlreadySuperseded => "card.already_superseded",
            Self::NotEnabled => "card.not_enabled",
        }
    }

    fn zh(&self) -> String {
        match self {
            Self::Cancelled => "该卡已注销，不能再办理任何业务".into(),
            Self::NotHandedOver => "该卡尚未发放给持卡人，请先办理领卡".into(),
            Self::AlreadyHandedOver => "该卡已发放，不能重复发放".into(),
            Self::Superseded { by } => {
                format!("该卡的社保功能已由新卡 {by} 取代，社保业务请使用新卡（金融功能不受影响）")
            }
            Self::AlreadyActive => "该卡社保功能已启用".into(),
            Self::ReportedLost { status } => {
                format!("该卡处于{}状态，请先解挂", status.zh())
            }
            Self::Locked => "该卡应用已锁定，请先解锁".into(),
            Self::NotReportedLost => "该卡未挂失，无需解挂".into(),
            Self::NotTemporaryLoss => "该卡不是临时挂失状态".into(),
            Self::LapseNotDue { due } => {
                format!(
                    "临时挂失尚未到期，将于 {} 自动解除",
                    due.format("%Y-%m-%d %H:%M UTC")
                )
            }
            Self::NotNormal { status } => {
                format!("该业务要求卡状态为正常，当前为{}", status.zh())
            }
            Self::NotLocked => "该卡未锁定".into(),
            Self::NotFormalLoss => "补卡须先办理正式挂失".into(),
            Self::UseReissue => "已正式挂失的卡请办理补卡，而不是换卡".into(),
            Self::BankAccountNotOpened => "合作银行尚未为该卡开户".into(),
            Self::BankAccountAlreadyOpened => "合作银行已为该卡开户".into(),
            Self::BankAlreadyActive => "该卡金融功能已激活".into(),
            Self::BankFrozen => "该卡金融功能因正式挂失已冻结，请先解挂".into(),
            Self::BankClosed => "该卡银行账户已销户".into(),
            Self::BankNotFrozen => "该卡银行账户未冻结，无需解冻".into(),
            Self::AlreadySuperseded => "该卡已被新卡取代".into(),
            Self::NotEnabled => "该卡社保功能尚未启用，无需临时挂失；卡片遗失请办理正式挂失".into(),
        }
    }

    fn en(&self) -> String {
        match self {
            Self::Cancelled => "the card is cancelled; nothing more can be done with it".into(),
            Self::NotHandedOver => {
                "the card has not been handed over to its holder yet; hand it over first".into()
            }
            Self::AlreadyHandedOver => "the card was already handed over".into(),
            Self::Superseded { by } => format!(
                "the card's social-security function was taken over by the new card {by}; use \
                 the new card (the bank function is unaffected)"
            ),
            Self::AlreadyActive => "the social-security function is already enabled".into(),
            Self::ReportedLost { status } => format!(
                "the card is reported lost ({}); lift the loss first",
                status.as_str().replace('_', " ")
            ),
            Self::Locked => "the card's application is locked; unlock it first".into(),
            Self::NotReportedLost => "the card is not reported lost; nothing to lift".into(),
            Self::NotTemporaryLoss => "the card is not temporarily reported lost".into(),
            Self::LapseNotDue { due } => format!(
                "the temporary loss has not run its period; it lapses at {}",
                due.format("%Y-%m-%d %H:%M UTC")
            ),
            Self::NotNormal { status } => format!(
                "this needs the card in normal status; it is {}",
                status.as_str().replace('_', " ")
            ),
            Self::NotLocked => "the card is not locked".into(),
            Self::NotFormalLoss => "a reissue needs a formal loss report first".into(),
            Self::UseReissue => {
                "a formally lost card is replaced by a reissue, not an exchange".into()
            }
            Self::BankAccountNotOpened => {
                "the partner bank has not opened an account for this card".into()
            }
            Self::BankAccountAlreadyOpened => "the bank account was already opened".into(),
            Self::BankAlreadyActive => "the bank function is already activated".into(),
            Self::BankFrozen => {
                "the bank function is frozen by a formal loss; lift the loss first".into()
            }
            Self::BankClosed => "the bank account is closed".into(),
            Self::BankNotFrozen => "the bank account is not frozen; nothing to lift".into(),
            Self::AlreadySuperseded => "the card was already superseded by a newer card".into(),
            Self::NotEnabled => "the social-security function was never enabled, so there is \
                                 nothing to suspend; report a lost card formally"
                .into(),
        }
    }
}
display_bilingual!(CardRuleError);

impl CardState {
    /// A freshly produced card: sealed, no bank account yet, not handed over.
    pub fn produced() -> Self {
        Self {
            ss: SsStatus::Sealed,
            financial: FinancialStatus::NotOpened,
            handed_over: false,
            first_used: false,
            superseded_by: None,
            temporary_loss_since: None,
            ss_before_loss: None,
            financial_before_loss: None,
        }
    }

    /// Whether the card's social-security function is live: enabled (normal, locked or
    /// temporarily lost — all recoverable) and not taken over by a newer card. At most one card
    /// per person may be live.
    pub fn is_live(&self) -> bool {
        matches!(
            self.ss,
            SsStatus::Normal | SsStatus::Locked | SsStatus::TemporaryLoss
        ) && self.superseded_by.is_none()
    }

    /// Whether the card still counts as the holder's card for "one person, one card": neither
    /// cancelled nor superseded (this includes cards still sealed or in production).
    pub fn is_current(&self) -> bool {
        self.ss != SsStatus::Cancelled && self.superseded_by.is_none()
    }

    /// When a temporary loss lapses under `policy`, if the card is temporarily lost.
    pub fn lapse_due(&self, policy: &LifecyclePolicy) -> Option<DateTime<Utc>> {
        (self.ss == SsStatus::TemporaryLoss)
            .then_some(self.temporary_loss_since)
            .flatten()
            .map(|since| since + policy.temporary_loss_lapse)
    }

    fn not_superseded(&self) -> Result<(), CardRuleError> {
        match &self.superseded_by {
            Some(by) => Err(CardRuleError::Superseded { by: *by }),
            None => Ok(()),
        }
    }

    fn in_hand(&self) -> Result<(), CardRuleError> {
        if self.handed_over {
            Ok(())
        } else {
            Err(CardRuleError::NotHandedOver)
        }
    }

    /// Applies one event and returns the new state, or the rule that refuses it. `self` is
    /// never changed: a refused event leaves nothing half-done.
    // One match over every event is the state machine's table; split up, it would be harder to
    // check against the table test.
    #[allow(clippy::too_many_lines)]
    pub fn apply(&self, event: &CardEvent) -> Result<CardState, CardRuleError> {
        use SsStatus as S;
        if self.ss == S::Cancelled {
            return Err(CardRuleError::Cancelled);
        }
        let mut next = self.clone();
        match event {
            CardEvent::HandOver => {
                if self.handed_over {
                    return Err(CardRuleError::AlreadyHandedOver);
                }
                next.handed_over = true;
            }
            CardEvent::ActivateSs => {
                self.in_hand()?;
                self.not_superseded()?;
                match self.ss {
                    S::Sealed => next.ss = S::Normal,
                    S::Normal => return Err(CardRuleError::AlreadyActive),
                    S::Locked => return Err(CardRuleError::Locked),
                    S::TemporaryLoss | S::FormalLoss => {
                        return Err(CardRuleError::ReportedLost { status: self.ss });
                    }
                    S::Cancelled => unreachable!("handled above"),
                }
            }
            CardEvent::BankAccountOpened => {
                if self.financial != FinancialStatus::NotOpened {
                    return Err(CardRuleError::BankAccountAlreadyOpened);
                }
                next.financial = FinancialStatus::Inactive;
            }
            CardEvent::ActivateBank => {
                self.in_hand()?;
                if self.ss == S::FormalLoss {
                    return Err(CardRuleError::ReportedLost { status: self.ss });
                }
                next.financial = match self.financial {
                    FinancialStatus::Inactive => FinancialStatus::Active,
                    FinancialStatus::NotOpened => return Err(CardRuleError::BankAccountNotOpened),
                    FinancialStatus::Active => return Err(CardRuleError::BankAlreadyActive),
                    FinancialStatus::Frozen => return Err(CardRuleError::BankFrozen),
                    FinancialStatus::Closed => return Err(CardRuleError::BankClosed),
                };
            }
            CardEvent::TemporaryLoss { at } => {
                self.not_superseded()?;
                match self.ss {
                    S::Normal | S::Locked => {}
                    // Nothing to protect on the social-security side yet; a lost card that was
                    // never enabled is reported formally (which also covers the bank function).
                    S::Sealed => return Err(CardRuleError::NotEnabled),
                    S::TemporaryLoss | S::FormalLoss => {
                        return Err(CardRuleError::ReportedLost { status: self.ss });
                    }
                    S::Cancelled => unreachable!("handled above"),
                }
                next.ss = S::TemporaryLoss;
                next.ss_before_loss = Some(self.ss);
                next.temporary_loss_since = Some(*at);
            }
            CardEvent::FormalLoss => {
                let before = match self.ss {
                    S::Normal | S::Locked => self.ss,
                    S::Sealed => {
                        self.in_hand()?;
                        self.ss
                    }
                    S::TemporaryLoss => self.ss_before_loss.unwrap_or(S::Normal),
                    S::FormalLoss => return Err(CardRuleError::ReportedLost { status: self.ss }),
                    S::Cancelled => unreachable!("handled above"),
                };
                next.ss = S::FormalLoss;
                next.ss_before_loss = Some(before);
                next.temporary_loss_since = None;
                // Formal loss is shared: one side reports, both the centre and the bank apply it.
                if matches!(
                    self.financial,
                    FinancialStatus::Inactive | FinancialStatus::Active
                ) {
                    next.financial_before_loss = Some(self.financial);
                    next.financial = FinancialStatus::Frozen;
                }
            }
            CardEvent::Unfreeze => {
                if !matches!(self.ss, S::TemporaryLoss | S::FormalLoss) {
                    return Err(CardRuleError::NotReportedLost);
                }
                next.lift_loss();
            }
            CardEvent::LapseTemporaryLoss { now, period } => {
                if self.ss != S::TemporaryLoss {
                    return Err(CardRuleError::NotTemporaryLoss);
                }
                let since = self.temporary_loss_since.unwrap_or(*now);
                let due = since + *period;
                if *now < due {
                    return Err(CardRuleError::LapseNotDue { due });
                }
                next.lift_loss();
            }
            CardEvent::Lock => {
                self.not_superseded()?;
                if self.ss != S::Normal {
                    return Err(CardRuleError::NotNormal { status: self.ss });
                }
                next.ss = S::Locked;
            }
            CardEvent::Unlock => {
                if self.ss != S::Locked {
                    return Err(CardRuleError::NotLocked);
                }
                next.ss = S::Normal;
            }
            CardEvent::Reissue => {
                if self.ss != S::FormalLoss {
                    return Err(CardRuleError::NotFormalLoss);
                }
                next.ss = S::Cancelled;
                next.close_account();
            }
            CardEvent::Exchange => {
                self.not_superseded()?;
                match self.ss {
                    S::Normal | S::Locked | S::TemporaryLoss => {}
                    S::Sealed => self.in_hand()?,
                    S::FormalLoss => return Err(CardRuleError::UseReissue),
                    S::Cancelled => unreachable!("handled above"),
                }
                // The old card keeps working until the new one is used: nothing changes yet.
            }
            CardEvent::Cancel => {
                next.ss = S::Cancelled;
                next.temporary_loss_since = None;
                next.close_account();
            }
            CardEvent::FirstUse => {
                self.in_hand()?;
                self.not_superseded()?;
                match self.ss {
                    S::Sealed | S::Normal => {
                        next.ss = S::Normal;
                        next.first_used = true;
                    }
                    S::Locked => return Err(CardRuleError::Locked),
                    S::TemporaryLoss | S::FormalLoss => {
                        return Err(CardRuleError::ReportedLost { status: self.ss });
                    }
                    S::Cancelled => unreachable!("handled above"),
                }
            }
            CardEvent::Supersede { by } => {
                if self.superseded_by.is_some() {
                    return Err(CardRuleError::AlreadySuperseded);
                }
                // Only the social-security function ends; the financial status stays as it is.
                next.superseded_by = Some(*by);
            }
            CardEvent::BankFreeze => {
                next.financial = match self.financial {
                    FinancialStatus::Inactive | FinancialStatus::Active => FinancialStatus::Frozen,
                    FinancialStatus::NotOpened => return Err(CardRuleError::BankAccountNotOpened),
                    FinancialStatus::Frozen => return Err(CardRuleError::BankFrozen),
                    FinancialStatus::Closed => return Err(CardRuleError::BankClosed),
                };
                next.financial_before_loss = Some(self.financial);
            }
            CardEvent::BankUnfreeze => {
                if self.financial != FinancialStatus::Frozen {
                    return Err(CardRuleError::BankNotFrozen);
                }
                // A freeze by formal loss is the shared one: it is lifted with the loss.
                if self.ss == S::FormalLoss {
                    return Err(CardRuleError::ReportedLost { status: self.ss });
                }
                next.financial = self
                    .financial_before_loss
                    .unwrap_or(FinancialStatus::Inactive);
                next.financial_before_loss = None;
            }
            CardEvent::BankClose => {
                match self.financial {
                    FinancialStatus::NotOpened => return Err(CardRuleError::BankAccountNotOpened),
                    FinancialStatus::Closed => return Err(CardRuleError::BankClosed),
                    _ => {}
                }
                next.close_account();
            }
        }
        Ok(next)
    }

    fn lift_loss(&mut self) {
        self.ss = self.ss_before_loss.take().unwrap_or(SsStatus::Normal);
        self.temporary_loss_since = None;
        if self.financial == FinancialStatus::Frozen {
            self.financial = self
                .financial_before_loss
                .take()
                .unwrap_or(FinancialStatus::Inactive);
        }
    }

    fn close_account(&mut self) {
        if self.financial != FinancialStatus::NotOpened {
            self.financial = FinancialStatus::Closed;
        }
        self.financial_before_loss = None;
    }
}
