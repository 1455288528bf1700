//! The rules across one person's cards: scenarios, then property tests over random event
//! sequences.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use sscard_core::{CardEvent, Effect, FinancialStatus, Holder, HolderEvent, SsStatus};
use sscard_ids::{Bilingual, CardNumber, CardNumberGenerator};

fn card(i: u64) -> CardNumber {
    CardNumberGenerator::new("X")
        .unwrap()
        .number(i + 1)
        .unwrap()
}

fn go(h: &Holder, e: &HolderEvent) -> Holder {
    h.apply(e).unwrap_or_else(|err| panic!("{e:?}: {err}")).0
}

fn on(c: CardNumber, event: CardEvent) -> HolderEvent {
    HolderEvent::Card { card: c, event }
}

/// A holder whose card 0 is in use with an active bank function.
fn in_use() -> Holder {
    let mut h = go(&Holder::new(), &HolderEvent::IssueNew { card: card(0) });
    for e in [
        CardEvent::BankAccountOpened,
        CardEvent::HandOver,
        CardEvent::ActivateSs,
        CardEvent::ActivateBank,
    ] {
        h = go(&h, &on(card(0), e));
    }
    h
}

#[test]
fn one_person_one_card() {
    let h = in_use();
    let err = h
        .apply(&HolderEvent::IssueNew { card: card(1) })
        .unwrap_err();
    assert_eq!(err.code(), "holder.already_holds_card");
}

#[test]
fn first_use_of_the_new_card_supersedes_the_old_one_but_not_its_bank_function() {
    let h = go(
        &in_use(),
        &HolderEvent::Exchange {
            old: card(0),
            new: card(1),
        },
    );
    // The old card keeps working until the new one is used.
    assert_eq!(h.live_card(), Some(&card(0)));
    let h = go(&h, &on(card(1), CardEvent::HandOver));
    assert_eq!(h.live_card(), Some(&card(0)));
    let (h, effects) = h.apply(&on(card(1), CardEvent::FirstUse)).unwrap();
    assert_eq!(h.live_card(), Some(&card(1)));
    assert!(effects.contains(&Effect::Superseded {
        card: card(0),
        by: card(1)
    }));
    let old = h.card(&card(0)).unwrap();
    assert_eq!(old.superseded_by, Some(card(1)));
    assert_eq!(old.financial, FinancialStatus::Active);
    assert_eq!(old.ss, SsStatus::Normal);
    // The superseded card cannot be used for social security any more.
    let err = h.apply(&on(card(0), CardEvent::FirstUse)).unwrap_err();
    assert_eq!(err.code(), "card.superseded");
}

#[test]
fn using_the_old_card_does_not_supersede_the_new_one() {
    let h = go(
        &in_use(),
        &HolderEvent::Exchange {
            old: card(0),
            new: card(1),
        },
    );
    let h = go(&h, &on(card(1), CardEvent::HandOver));
    let (h, effects) = h.apply(&on(card(0), CardEvent::FirstUse)).unwrap();
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Superseded { .. })),
        "{effects:?}"
    );
    assert_eq!(h.card(&card(1)).unwrap().superseded_by, None);
    // The new card still takes over at its first use.
    let (h, _) = h.apply(&on(card(1), CardEvent::FirstUse)).unwrap();
    assert_eq!(h.live_card(), Some(&card(1)));
}

#[test]
fn reissue_after_formal_loss_cancels_the_old_card() {
    let h = go(&in_use(), &on(card(0), CardEvent::FormalLoss));
    let refused = in_use()
        .apply(&HolderEvent::Reissue {
            old: card(0),
            new: card(1),
        })
        .unwrap_err();
    assert_eq!(refused.code(), "card.not_formal_loss");
    let h = go(
        &h,
        &HolderEvent::Reissue {
            old: card(0),
            new: card(1),
        },
    );
    assert_eq!(h.card(&card(0)).unwrap().ss, SsStatus::Cancelled);
    assert_eq!(h.card(&card(0)).unwrap().financial, FinancialStatus::Closed);
    assert_eq!(h.card(&card(1)).unwrap().ss, SsStatus::Sealed);
    assert_eq!(h.live_card(), None);
}

#[test]
fn a_second_replacement_is_refused_while_one_is_pending() {
    let h = go(
        &in_use(),
        &HolderEvent::Exchange {
            old: card(0),
            new: card(1),
        },
    );
    let err = h
        .apply(&HolderEvent::Exchange {
            old: card(0),
            new: card(2),
        })
        .unwrap_err();
    assert_eq!(err.code(), "holder.replacement_pending");
}

#[test]
fn unknown_and_duplicate_cards() {
    let h = in_use();
    assert_eq!(
        h.apply(&on(card(5), CardEvent::HandOver))
            .unwrap_err()
            .code(),
        "holder.unknown_card"
    );
    assert_eq!(
        h.apply(&HolderEvent::Exchange {
            old: card(0),
            new: card(0)
        })
        .unwrap_err()
        .code(),
        "holder.duplicate_card"
    );
}

fn card_event() -> impl Strategy<Value = CardEvent> {
    let at = Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap();
    prop_oneof![
        Just(CardEvent::HandOver),
        Just(CardEvent::ActivateSs),
        Just(CardEvent::BankAccountOpened),
        Just(CardEvent::ActivateBank),
        (0i64..20).prop_map(move |d| CardEvent::TemporaryLoss {
            at: at + chrono::Duration::days(d)
        }),
        Just(CardEvent::FormalLoss),
        Just(CardEvent::Unfreeze),
        (0i64..30).prop_map(move |d| CardEvent::LapseTemporaryLoss {
            now: at + chrono::Duration::days(d),
            period: chrono::Duration::days(7)
        }),
        Just(CardEvent::Lock),
        Just(CardEvent::Unlock),
        Just(CardEvent::Cancel),
        Just(CardEvent::FirstUse),
        Just(CardEvent::FirstUse),
        Just(CardEvent::BankFreeze),
        Just(CardEvent::BankUnfreeze),
        Just(CardEvent::BankClose),
    ]
}

fn holder_event() -> impl Strategy<Value = HolderEvent> {
    prop_oneof![
        (0u64..3).prop_map(|i| HolderEvent::IssueNew { card: card(i) }),
        (0u64..3, 0u64..3).prop_map(|(o, n)| HolderEvent::Reissue {
            old: card(o),
            new: card(n)
        }),
        (0u64..3, 0u64..3).prop_map(|(o, n)| HolderEvent::Exchange {
            old: card(o),
            new: card(n)
        }),
        (0u64..3, card_event()).prop_map(|(i, event)| HolderEvent::Card {
            card: card(i),
            event
        }),
        (0u64..3, card_event()).prop_map(|(i, event)| HolderEvent::Card {
            card: card(i),
            event
        }),
        (0u64..3, card_event()).prop_map(|(i, event)| HolderEvent::Card {
            card: card(i),
            event
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_over_random_sequences(events in prop::collection::vec(holder_event(), 1..120)) {
        let mut h = Holder::new();
        let mut applied = 0;
        for event in &events {
            let Ok((next, effects)) = h.apply(event) else { continue };
            applied += 1;
            // Never two live social-security functions for one person.
            prop_assert!(next.live_count() <= 1, "two live cards after {:?}", event);
            for (number, before) in h.cards() {
                let after = next.card(number).expect("cards are never removed");
                // Cancelled is final: nothing about a cancelled card changes.
                if before.ss == SsStatus::Cancelled {
                    prop_assert_eq!(after, before);
                }
                // Supersession is never undone.
                if before.superseded_by.is_some() {
                    prop_assert_eq!(after.superseded_by, before.superseded_by);
                }
            }
            // Supersession keeps the bank function as it was.
            for effect in &effects {
                if let Effect::Superseded { card, .. } = effect {
                    prop_assert_eq!(next.card(card).unwrap().financial, h.card(card).unwrap().financial);
                    prop_assert!(!next.card(card).unwrap().is_live());
                }
            }
            h = next;
        }
        // Keeps the test honest: the first IssueNew always lands on an empty holder.
        let has_issue = events.iter().any(|e| matches!(e, HolderEvent::IssueNew { card: _ }));
        prop_assert!(applied > 0 || !has_issue);
    }
}

#[test]
fn check_application_finds_the_card_to_replace() {
    use sscard_core::BusinessType;
    assert_eq!(Holder::new().check_application(BusinessType::New), Ok(None));
    assert_eq!(
        Holder::new()
            .check_application(BusinessType::Exchange)
            .unwrap_err()
            .code(),
        "holder.no_card_to_exchange"
    );
    let h = in_use();
    let err = h.check_application(BusinessType::New).unwrap_err();
    assert_eq!(err.code(), "holder.already_holds_card");
    assert!(
        err.zh().contains("X0*****35") || err.zh().contains(&card(0).masked()),
        "{err}"
    );
    assert!(!err.to_string().contains(card(0).as_str()));
    assert_eq!(
        h.check_application(BusinessType::Exchange),
        Ok(Some(card(0)))
    );
    assert_eq!(
        h.check_application(BusinessType::Reissue)
            .unwrap_err()
            .code(),
        "holder.no_lost_card"
    );
    let lost = go(&h, &on(card(0), CardEvent::FormalLoss));
    assert_eq!(
        lost.check_application(BusinessType::Reissue),
        Ok(Some(card(0)))
    );
    assert_eq!(
        lost.check_application(BusinessType::Exchange)
            .unwrap_err()
            .code(),
        "card.use_reissue"
    );
}
