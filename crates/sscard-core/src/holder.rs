//! The rules that span all cards of one person (持卡人): one person, one current card; at most
//! one live social-security function; the first use of a new card supersedes the old one in the
//! same step, while the old card's bank function stays.

use std::collections::BTreeMap;

use sscard_ids::{Bilingual, CardNumber};

use crate::card::{CardEvent, CardRuleError, CardState};
use crate::display_bilingual;

/// All cards of one person, keyed by card number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holder {
    cards: BTreeMap<CardNumber, CardState>,
}

/// Something that happens to a person's cards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderEvent {
    /// A first card is produced for a new application (申领, business type 01).
    IssueNew { card: CardNumber },
    /// 补卡 (05): `old`, formally lost, is cancelled and `new` is produced.
    Reissue { old: CardNumber, new: CardNumber },
    /// 换卡 (06/07, and migration from a legacy card): `new` is produced; `old` keeps working
    /// until `new` is first used.
    Exchange { old: CardNumber, new: CardNumber },
    /// An event on one card. `ActivateSs` and `FirstUse` supersede the holder's other cards.
    Card { card: CardNumber, event: CardEvent },
}

/// A consequence of a holder event beyond the card it named, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A card was produced.
    Produced { card: CardNumber },
    /// A card changed by the named event.
    Changed {
        card: CardNumber,
        event: &'static str,
    },
    /// The old card's social-security function was taken over by `by`.
    Superseded { card: CardNumber, by: CardNumber },
}

/// Why a holder event was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderError {
    /// The person has no card with this number.
    UnknownCard { card: CardNumber },
    /// A card with this number already exists.
    DuplicateCard { card: CardNumber },
    /// One person, one card: a current card exists, so apply for a reissue or exchange instead.
    AlreadyHoldsCard { card: CardNumber },
    /// A replacement card is already being produced.
    ReplacementPending { card: CardNumber },
    /// A rule of one card refused the event.
    Card {
        card: CardNumber,
        error: CardRuleError,
    },
    /// A reissue needs a card in formal loss.
    NoLostCard,
    /// An exchange needs a current card.
    NoCardToExchange,
}

impl Bilingual for HolderError {
    fn code(&self) -> &'static str {
        match self {
            Self::UnknownCard { .. } => "holder.unknown_card",
            Self::DuplicateCard { .. } => "holder.duplicate_card",
            Self::AlreadyHoldsCard { .. } => "holder.already_holds_card",
            Self::ReplacementPending { .. } => "holder.replacement_pending",
            Self::NoLostCard => "holder.no_lost_card",
            Self::NoCardToExchange => "holder.no_card_to_exchange",
            Self::Card { error, .. } => error.code(),
        }
    }
    fn zh(&self) -> String {
        match self {
            Self::UnknownCard { card } => format!("该持卡人名下没有卡号为 {card} 的卡"),
            Self::DuplicateCard { card } => format!("卡号 {card} 已存在"),
            Self::AlreadyHoldsCard { card } => format!(
                "一人一卡：该人员已持有社会保障卡 {}，请办理补卡或换卡，不能重复申领",
                card.masked()
            ),
            Self::ReplacementPending { card } => format!(
                "该人员已有一张新卡 {} 正在制作或待启用，请勿重复办理",
                card.masked()
            ),
            Self::NoLostCard => "补卡须先对原卡办理正式挂失；该人员没有正式挂失的卡".into(),
            Self::NoCardToExchange => "该人员没有可换的卡：换卡须持有未注销、未被取代的卡".into(),
            Self::Card { card, error } => format!("卡 {}：{}", card.masked(), error.zh()),
        }
    }
    fn en(&self) -> String {
        match self {
            Self::UnknownCard { card } => format!("this person has no card {card}"),
            Self::DuplicateCard { card } => format!("card number {card} already exists"),
            Self::AlreadyHoldsCard { card } => format!(
                "one person, one card: this person already holds card {}; apply for a \
                 reissue or exchange instead",
                card.masked()
            ),
            Self::ReplacementPending { card } => format!(
                "a new card {} is already in production or waiting to be used",
                card.masked()
            ),
            Self::NoLostCard => {
                "a reissue needs a card reported lost formally; this person has none".into()
            }
            Self::NoCardToExchange => "nothing to exchange: an exchange needs a card that is \
                                       neither cancelled nor superseded"
                .into(),
            Self::Card { card, error } => format!("card {}: {}", card.masked(), error.en()),
        }
    }
}
display_bilingual!(HolderError);

impl Holder {
    /// A person without cards.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a holder from stored card states (e.g. loaded from the database).
    pub fn from_cards(cards: impl IntoIterator<Item = (CardNumber, CardState)>) -> Self {
        Self {
            cards: cards.into_iter().collect(),
        }
    }

    /// The cards, ordered by card number.
    pub fn cards(&self) -> impl Iterator<Item = (&CardNumber, &CardState)> {
        self.cards.iter()
    }

    /// One card's state.
    pub fn card(&self, card: &CardNumber) -> Option<&CardState> {
        self.cards.get(card)
    }

    /// The card whose social-security function is live, if any.
    pub fn live_card(&self) -> Option<&CardNumber> {
        self.cards.iter().find(|(_, s)| s.is_live()).map(|(n, _)| n)
    }

    /// Cards that are live; never more than one for a holder built by [`Holder::apply`].
    pub fn live_count(&self) -> usize {
        self.cards.values().filter(|s| s.is_live()).count()
    }

    fn state(&self, card: &CardNumber) -> Result<&CardState, HolderError> {
        self.cards
            .get(card)
            .ok_or(HolderError::UnknownCard { card: *card })
    }

    fn fresh(&self, card: &CardNumber) -> Result<(), HolderError> {
        if self.cards.contains_key(card) {
            Err(HolderError::DuplicateCard { card: *card })
        } else {
            Ok(())
        }
    }

    /// A current card other than `except` that is not yet in use: a replacement in progress.
    fn pending_other(&self, except: &CardNumber) -> Option<CardNumber> {
        self.cards
            .iter()
            .find(|(n, s)| {
                *n != except && s.is_current() && !s.is_live() && s.ss == crate::SsStatus::Sealed
            })
            .map(|(n, _)| *n)
    }

    /// Checks whether an application of `kind` may be made now and returns the card it would
    /// replace (for reissue and exchange). Used before a card number exists (applications that
    /// wait for a production batch); [`Holder::apply`] checks again when the card is produced.
    pub fn check_application(
        &self,
        kind: crate::BusinessType,
    ) -> Result<Option<CardNumber>, HolderError> {
        use crate::BusinessType as B;
        let old = match kind {
            B::New => {
                if let Some((held, _)) = self.cards.iter().find(|(_, s)| s.is_current()) {
                    return Err(HolderError::AlreadyHoldsCard { card: *held });
                }
                return Ok(None);
            }
            B::Reissue => self
                .cards
                .iter()
                .find(|(_, s)| s.ss == crate::SsStatus::FormalLoss && s.superseded_by.is_none())
                .map(|(n, _)| *n)
                .ok_or(HolderError::NoLostCard)?,
            B::Exchange | B::WarrantyExchange => self
                .cards
                .iter()
                .filter(|(_, s)| s.is_current())
                // Prefer the card in use; a card still sealed but handed over can be exchanged too.
                .max_by_key(|(_, s)| (s.is_live(), s.handed_over))
                .map(|(n, _)| *n)
                .ok_or(HolderError::NoCardToExchange)?,
        };
        let event = if kind == B::Reissue {
            CardEvent::Reissue
        } else {
            CardEvent::Exchange
        };
        self.state(&old)?
            .apply(&event)
            .map_err(|error| HolderError::Card { card: old, error })?;
        if let Some(pending) = self.pending_other(&old) {
            return Err(HolderError::ReplacementPending { card: pending });
        }
        Ok(Some(old))
    }

    /// Replaces `old` by a newly produced `new` (reissue or exchange), applying `event` to `old`.
    fn replace(
        &mut self,
        before: &Holder,
        old: CardNumber,
        new: CardNumber,
        event: &CardEvent,
        effects: &mut Vec<Effect>,
    ) -> Result<(), HolderError> {
        before.fresh(&new)?;
        let changed = before
            .state(&old)?
            .apply(event)
            .map_err(|error| HolderError::Card { card: old, error })?;
        if let Some(pending) = before.pending_other(&old) {
            return Err(HolderError::ReplacementPending { card: pending });
        }
        self.cards.insert(old, changed);
        self.cards.insert(new, CardState::produced());
        effects.push(Effect::Changed {
            card: old,
            event: event.name(),
        });
        effects.push(Effect::Produced { card: new });
        Ok(())
    }

    /// Applies one event; returns the new holder and what changed. `self` is never modified.
    pub fn apply(&self, event: &HolderEvent) -> Result<(Holder, Vec<Effect>), HolderError> {
        let mut next = self.clone();
        let mut effects = Vec::new();
        match event {
            HolderEvent::IssueNew { card } => {
                self.fresh(card)?;
                if let Some((held, _)) = self.cards.iter().find(|(_, s)| s.is_current()) {
                    return Err(HolderError::AlreadyHoldsCard { card: *held });
                }
                next.cards.insert(*card, CardState::produced());
                effects.push(Effect::Produced { card: *card });
            }
            HolderEvent::Reissue { old, new } => {
                next.replace(self, *old, *new, &CardEvent::Reissue, &mut effects)?;
            }
            HolderEvent::Exchange { old, new } => {
                next.replace(self, *old, *new, &CardEvent::Exchange, &mut effects)?;
            }
            HolderEvent::Card { card, event } => {
                let changed = self
                    .state(card)?
                    .apply(event)
                    .map_err(|error| HolderError::Card { card: *card, error })?;
                // Only a card that starts being used takes over; using the card that is
                // already in use (the old card, before the new one is used) changes nothing.
                let takes_over = matches!(event, CardEvent::ActivateSs | CardEvent::FirstUse)
                    && changed.is_live()
                    && !self.state(card)?.is_live();
                next.cards.insert(*card, changed);
                effects.push(Effect::Changed {
                    card: *card,
                    event: event.name(),
                });
                if takes_over {
                    // Starting to use a card ends every other current card's social-security
                    // function in the same step (a sealed one too, so it can never come back
                    // later); their financial status is left as it is.
                    for (other, state) in &self.cards {
                        if other != card && state.is_current() {
                            let superseded = state
                                .apply(&CardEvent::Supersede { by: *card })
                                .map_err(|error| HolderError::Card {
                                    card: *other,
                                    error,
                                })?;
                            next.cards.insert(*other, superseded);
                            effects.push(Effect::Superseded {
                                card: *other,
                                by: *card,
                            });
                        }
                    }
                }
                // The one-live rule must hold after every event; anything else is a bug here.
                debug_assert!(next.live_count() <= 1, "two live cards after {event:?}");
            }
        }
        Ok((next, effects))
    }
}
