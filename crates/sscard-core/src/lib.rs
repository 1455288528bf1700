//! The social security card domain as pure code: no I/O, no clock, no database.
//!
//! - [`card`]: one card's social-security status, financial status and supersession, with a
//!   transition function per event.
//! - [`holder`]: the rules across one person's cards (one person one card, one live
//!   social-security function, supersession on first use).
//! - [`application`] and [`batch`]: the application and production-batch status chains.
//! - [`bank`]: the status exchange with the partner banks and benefit payments to the card.
//! - [`actor`]: who acts, with its role and scope, and the scope checks the store runs.
//! - [`strokes`]: surname stroke order for distribution lists.
//! - [`money`] and [`settlement`]: exact amounts, and the medical settlement arithmetic.
//!
//! Every refusal is a typed error implementing [`sscard_ids::Bilingual`]: a stable code plus
//! zh-CN and English text.

pub mod actor;
pub mod application;
pub mod bank;
pub mod batch;
pub mod card;
pub mod card_action;
pub mod distribution;
pub mod holder;
pub mod migration;
pub mod money;
pub mod roles;
pub mod settlement;
pub mod strokes;
pub mod terminal;

pub use actor::{Actor, Scope, ScopeError, ScopeObject};
pub use application::{
    ApplicationEvent, ApplicationSource, ApplicationStatus, ApplicationTransitionError,
    BusinessType,
};
pub use bank::{BankReport, CentreNotice, PaymentHold, PaymentKind, PaymentOutcome};
pub use batch::{BatchEvent, BatchStatus, BatchTransitionError, Stage, StepState};
pub use card::{CardEvent, CardRuleError, CardState, FinancialStatus, LifecyclePolicy, SsStatus};
pub use card_action::CardAction;
pub use holder::{Effect, Holder, HolderError, HolderEvent};
pub use migration::Half;
pub use money::{Fixed4, Money};
pub use roles::{Permission, Role};
pub use terminal::{CheckResult, TerminalState};

/// Implements `Display` as `zh（en）` and `Error` for a type that implements `Bilingual`.
macro_rules! display_bilingual {
    ($ty:ty) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                use ::sscard_ids::Bilingual as _;
                write!(f, "{}（{}）", self.zh(), self.en())
            }
        }
        impl ::std::error::Error for $ty {}
    };
}
pub(crate) use display_bilingual;
