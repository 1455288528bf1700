//! Every (card state, event) pair of the single-card lifecycle, as one readable table.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sscard_core::{CardEvent, CardState, FinancialStatus, LifecyclePolicy, SsStatus};
use sscard_ids::{Bilingual, CardNumber};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap()
}

fn newer() -> CardNumber {
    CardNumber::parse("X00000019").unwrap()
}

/// Representative states, by name.
fn state(name: &str) -> CardState {
    let mut s = CardState::produced();
    let step = |s: &CardState, e: CardEvent| s.apply(&e).unwrap();
    if name == "sealed_new" {
        return s;
    }
    s = step(&s, CardEvent::BankAccountOpened);
    s = step(&s, CardEvent::HandOver);
    match name {
        "sealed_handed" => s,
        "normal" => step(&s, CardEvent::ActivateSs),
        "formal_loss" => step(&step(&s, CardEvent::ActivateSs), CardEvent::FormalLoss),
        "locked" => step(&step(&s, CardEvent::ActivateSs), CardEvent::Lock),
        "temporary_loss" => step(
            &step(&s, CardEvent::ActivateSs),
            CardEvent::TemporaryLoss { at: t0() },
        ),
        "cancelled" => step(&s, CardEvent::Cancel),
        "superseded" => step(
            &step(&s, CardEvent::ActivateSs),
            CardEvent::Supersede { by: newer() },
        ),
        other => panic!("unknown state {other}"),
    }
}

fn events() -> Vec<(&'static str, CardEvent)> {
    let policy = LifecyclePolicy::default();
    vec![
        ("hand_over", CardEvent::HandOver),
        ("activate_ss", CardEvent::ActivateSs),
        ("bank_opened", CardEvent::BankAccountOpened),
        ("activate_bank", CardEvent::ActivateBank),
        (
            "temp_loss",
            CardEvent::TemporaryLoss {
                at: t0() + Duration::hours(1),
            },
        ),
        ("formal_loss", CardEvent::FormalLoss),
        ("unfreeze", CardEvent::Unfreeze),
        (
            "lapse",
            CardEvent::LapseTemporaryLoss {
                now: t0() + policy.temporary_loss_lapse,
                period: policy.temporary_loss_lapse,
            },
        ),
        ("lock", CardEvent::Lock),
        ("unlock", CardEvent::Unlock),
        ("reissue", CardEvent::Reissue),
        ("exchange", CardEvent::Exchange),
        ("cancel", CardEvent::Cancel),
        ("first_use", CardEvent::FirstUse),
        ("supersede", CardEvent::Supersede { by: newer() }),
        ("bank_freeze", CardEvent::BankFreeze),
        ("bank_unfreeze", CardEvent::BankUnfreeze),
        ("bank_close", CardEvent::BankClose),
    ]
}

/// Each cell: the social-security status after the event, or `!code` for the refusing rule
/// (`card.` prefix left out).
const TABLE: &str = "
state          | hand_over            | activate_ss       | bank_opened                  | activate_bank      | temp_loss         | formal_loss       | unfreeze          | lapse               | lock         | unlock       | reissue          | exchange          | cancel    | first_use         | supersede | bank_freeze               | bank_unfreeze     | bank_close
sealed_new     | sealed               | !not_handed_over  | sealed                       | !not_handed_over   | !not_enabled      | !not_handed_over  | !not_reported_lost| !not_temporary_loss | !not_normal  | !not_locked  | !not_formal_loss | !not_handed_over  | cancelled | !not_handed_over  | sealed | !bank_account_not_opened  | !bank_not_frozen  | !bank_account_not_opened
sealed_handed  | !already_handed_over | normal            | !bank_account_already_opened | sealed             | !not_enabled      | formal_loss       | !not_reported_lost| !not_temporary_loss | !not_normal  | !not_locked  | !not_formal_loss | sealed            | cancelled | normal            | sealed | sealed                    | !bank_not_frozen  | sealed
normal         | !already_handed_over | !already_active   | !bank_account_already_opened | normal             | temporary_loss    | formal_loss       | !not_reported_lost| !not_temporary_loss | locked       | !not_locked  | !not_formal_loss | normal            | cancelled | normal            | normal | normal                    | !bank_not_frozen  | normal
formal_loss    | !already_handed_over | !reported_lost    | !bank_account_already_opened | !reported_lost     | !reported_lost    | !reported_lost    | normal            | !not_temporary_loss | !not_normal  | !not_locked  | cancelled        | !use_reissue      | cancelled | !reported_lost    | formal_loss | !bank_frozen              | !reported_lost    | formal_loss
locked         | !already_handed_over | !locked           | !bank_account_already_opened | locked             | temporary_loss    | formal_loss       | !not_reported_lost| !not_temporary_loss | !not_normal  | normal       | !not_formal_loss | locked            | cancelled | !locked           | locked | locked                    | !bank_not_frozen  | locked
temporary_loss | !already_handed_over | !reported_lost    | !bank_account_already_opened | temporary_loss     | !reported_lost    | formal_loss       | normal            | normal              | !not_normal  | !not_locked  | !not_formal_loss | temporary_loss    | cancelled | !reported_lost    | temporary_loss | temporary_loss            | !bank_not_frozen  | temporary_loss
cancelled      | !cancelled           | !cancelled        | !cancelled                   | !cancelled         | !cancelled        | !cancelled        | !cancelled        | !cancelled          | !cancelled   | !cancelled   | !cancelled       | !cancelled        | !cancelled| !cancelled        | !cancelled | !cancelled                | !cancelled        | !cancelled
superseded     | !already_handed_over | !superseded       | !bank_account_already_opened | normal             | !superseded       | formal_loss       | !not_reported_lost| !not_temporary_loss | !superseded  | !not_locked  | !not_formal_loss | !superseded       | cancelled | !superseded       | !already_superseded | normal                    | !bank_not_frozen  | normal
";

#[test]
fn every_state_event_pair() {
    let mut lines = TABLE.trim().lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split('|')
        .map(str::trim)
        .skip(1)
        .collect();
    let events = events();
    assert_eq!(
        header,
        events.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        "table header"
    );
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in lines {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let from = state(cells[0]);
        for ((name, event), expected) in events.iter().zip(&cells[1..]) {
            let got = match from.apply(event) {
                Ok(next) => next.ss.as_str().to_owned(),
                Err(e) => format!("!{}", e.code().trim_start_matches("card.")),
            };
            if got != *expected {
                failures.push(format!(
                    "{} × {name}: expected {expected}, got {got}",
                    cells[0]
                ));
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 8 * 18);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn financial_side_effects() {
    // Formal loss freezes the bank function too; unfreeze restores what it was.
    let active = state("normal").apply(&CardEvent::ActivateBank).unwrap();
    assert_eq!(active.financial, FinancialStatus::Active);
    let lost = active.apply(&CardEvent::FormalLoss).unwrap();
    assert_eq!(lost.financial, FinancialStatus::Frozen);
    let back = lost.apply(&CardEvent::Unfreeze).unwrap();
    assert_eq!(
        (back.ss, back.financial),
        (SsStatus::Normal, FinancialStatus::Active)
    );
    // Temporary loss is the social-security side only.
    let temp = active
        .apply(&CardEvent::TemporaryLoss { at: t0() })
        .unwrap();
    assert_eq!(temp.financial, FinancialStatus::Active);
    // Reissue closes the old account (it moves to the new card); cancel closes it.
    assert_eq!(
        lost.apply(&CardEvent::Reissue).unwrap().financial,
        FinancialStatus::Closed
    );
    assert_eq!(
        active.apply(&CardEvent::Cancel).unwrap().financial,
        FinancialStatus::Closed
    );
    // The bank's own freeze leaves the social-security side alone and is lifted by the bank;
    // a freeze by formal loss is not.
    let frozen = active.apply(&CardEvent::BankFreeze).unwrap();
    assert_eq!(
        (frozen.ss, frozen.financial),
        (SsStatus::Normal, FinancialStatus::Frozen)
    );
    assert_eq!(
        frozen.apply(&CardEvent::BankUnfreeze).unwrap().financial,
        FinancialStatus::Active
    );
    assert_eq!(
        lost.apply(&CardEvent::BankUnfreeze).unwrap_err().code(),
        "card.reported_lost"
    );
    let closed = active.apply(&CardEvent::BankClose).unwrap();
    assert_eq!(
        (closed.ss, closed.financial),
        (SsStatus::Normal, FinancialStatus::Closed)
    );
    // Supersession leaves the bank function alone.
    let old = active.apply(&CardEvent::Supersede { by: newer() }).unwrap();
    assert_eq!(old.financial, FinancialStatus::Active);
    assert!(!old.is_live());
}

#[test]
fn temporary_loss_lapses_only_after_its_period() {
    let policy = LifecyclePolicy::default();
    let temp = state("temporary_loss");
    assert_eq!(temp.lapse_due(&policy), Some(t0() + Duration::days(7)));
    let early = temp.apply(&CardEvent::LapseTemporaryLoss {
        now: t0() + Duration::days(7) - Duration::seconds(1),
        period: policy.temporary_loss_lapse,
    });
    assert_eq!(early.unwrap_err().code(), "card.lapse_not_due");
    // A shorter configured period (Shanghai: 5 days) lapses earlier.
    let five = temp
        .apply(&CardEvent::LapseTemporaryLoss {
            now: t0() + Duration::days(5),
            period: Duration::days(5),
        })
        .unwrap();
    assert_eq!(five.ss, SsStatus::Normal);
    // A temporary loss reported on a locked card returns to locked.
    let locked_lost = state("locked")
        .apply(&CardEvent::TemporaryLoss { at: t0() })
        .unwrap();
    assert_eq!(
        locked_lost.apply(&CardEvent::Unfreeze).unwrap().ss,
        SsStatus::Locked
    );
}

#[test]
fn status_codes_round_trip() {
    for s in SsStatus::ALL {
        assert_eq!(SsStatus::from_code(s.code()), Some(s));
        assert_eq!(SsStatus::from_name(s.as_str()), Some(s));
    }
    assert_eq!(SsStatus::ALL.map(SsStatus::code), [0, 1, 2, 3, 4, 9]);
    for f in FinancialStatus::ALL {
        assert_eq!(FinancialStatus::from_name(f.as_str()), Some(f));
    }
}

#[test]
fn errors_are_bilingual() {
    let err = state("cancelled").apply(&CardEvent::HandOver).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("注销") && text.contains("cancelled"),
        "{text}"
    );
}
