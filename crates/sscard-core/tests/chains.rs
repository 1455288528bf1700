//! Application and batch status chains: every (status, event) pair against the list of allowed
//! transitions, and forward progress over random sequences.

use proptest::prelude::*;
use sscard_core::{
    ApplicationEvent as AE, ApplicationStatus as AS, BatchEvent as BE, BatchStatus as BS, Stage,
    StepState as T,
};

#[test]
fn application_every_pair() {
    let allowed = [
        (AS::Initial, AE::SubmitToProduction, AS::InProduction),
        (AS::Initial, AE::IssueInstantly, AS::AwaitingPickup),
        (AS::Initial, AE::Reject, AS::Rejected),
        (AS::Initial, AE::Cancel, AS::Cancelled),
        (AS::InProduction, AE::ReturnToQueue, AS::Initial),
        (AS::InProduction, AE::CardReceived, AS::AwaitingPickup),
        (AS::InProduction, AE::Reject, AS::Rejected),
        (AS::InProduction, AE::Cancel, AS::Cancelled),
        (AS::AwaitingPickup, AE::HandOver, AS::PickedUp),
        (AS::AwaitingPickup, AE::Cancel, AS::Cancelled),
        (AS::PickedUp, AE::Activate, AS::Activated),
    ];
    let mut pairs = 0;
    for from in AS::ALL {
        for event in AE::ALL {
            pairs += 1;
            let expected = allowed
                .iter()
                .find(|(f, e, _)| *f == from && *e == event)
                .map(|(_, _, t)| *t);
            match (from.apply(event), expected) {
                (Ok(to), Some(t)) => assert_eq!(to, t, "{from:?} × {event:?}"),
                (Err(e), None) => assert_eq!((e.from, e.event), (from, event)),
                (got, want) => panic!("{from:?} × {event:?}: got {got:?}, want {want:?}"),
            }
        }
        if from.is_final() {
            assert!(
                AE::ALL.iter().all(|e| from.apply(*e).is_err()),
                "{from:?} is final"
            );
        }
    }
    assert_eq!(pairs, 7 * 8);
    for s in AS::ALL {
        assert_eq!(AS::parse(s.code()), Some(s));
        assert_eq!(AS::parse(s.as_str()), Some(s));
    }
}

fn batch_events() -> Vec<BE> {
    let mut v = Vec::new();
    for s in Stage::ALL {
        v.extend([
            BE::Export(s),
            BE::ExportFailed(s),
            BE::ImportResult(s),
            BE::ImportFailed(s),
        ]);
    }
    v.extend([BE::Retry, BE::ReceiveAtOutlet, BE::FinishIssuing]);
    v
}

#[test]
#[allow(clippy::too_many_lines)] // the list of allowed transitions is the test
fn batch_every_pair() {
    use Stage::{Bank, Factory, Personalisation as Perso};
    let at = BS::At;
    let allowed = [
        (BS::Created, BE::Export(Bank), at(Bank, T::Sent)),
        (
            BS::Created,
            BE::ExportFailed(Bank),
            at(Bank, T::ExportFailed),
        ),
        (at(Bank, T::ExportFailed), BE::Retry, BS::Created),
        (
            at(Bank, T::Sent),
            BE::ImportResult(Bank),
            at(Bank, T::Returned),
        ),
        (
            at(Bank, T::Sent),
            BE::ImportFailed(Bank),
            at(Bank, T::ReturnFailed),
        ),
        (at(Bank, T::ReturnFailed), BE::Retry, at(Bank, T::Sent)),
        (
            at(Bank, T::Returned),
            BE::Export(Factory),
            at(Factory, T::Sent),
        ),
        (
            at(Bank, T::Returned),
            BE::ExportFailed(Factory),
            at(Factory, T::ExportFailed),
        ),
        (
            at(Factory, T::ExportFailed),
            BE::Retry,
            at(Bank, T::Returned),
        ),
        (
            at(Factory, T::Sent),
            BE::ImportResult(Factory),
            at(Factory, T::Returned),
        ),
        (
            at(Factory, T::Sent),
            BE::ImportFailed(Factory),
            at(Factory, T::ReturnFailed),
        ),
        (
            at(Factory, T::ReturnFailed),
            BE::Retry,
            at(Factory, T::Sent),
        ),
        (
            at(Factory, T::Returned),
            BE::Export(Perso),
            at(Perso, T::Sent),
        ),
        (
            at(Factory, T::Returned),
            BE::ExportFailed(Perso),
            at(Perso, T::ExportFailed),
        ),
        (
            at(Perso, T::ExportFailed),
            BE::Retry,
            at(Factory, T::Returned),
        ),
        (
            at(Perso, T::Sent),
            BE::ImportResult(Perso),
            at(Perso, T::Returned),
        ),
        (
            at(Perso, T::Sent),
            BE::ImportFailed(Perso),
            at(Perso, T::ReturnFailed),
        ),
        (at(Perso, T::ReturnFailed), BE::Retry, at(Perso, T::Sent)),
        (
            at(Perso, T::Returned),
            BE::ReceiveAtOutlet,
            BS::ReceivedAtOutlet,
        ),
        (BS::ReceivedAtOutlet, BE::FinishIssuing, BS::Issued),
    ];
    let statuses = BS::all();
    assert_eq!(statuses.len(), 15);
    let codes: Vec<u8> = statuses.iter().map(|s| s.code()).collect();
    assert_eq!(
        codes,
        [10, 20, 21, 22, 23, 30, 31, 32, 33, 40, 41, 42, 43, 60, 70]
    );
    let mut pairs = 0;
    for from in &statuses {
        assert_eq!(BS::from_code(from.code()), Some(*from));
        for event in batch_events() {
            pairs += 1;
            let expected = allowed
                .iter()
                .find(|(f, e, _)| f == from && *e == event)
                .map(|(_, _, t)| *t);
            match (from.apply(event), expected) {
                (Ok(to), Some(t)) => assert_eq!(to, t, "{from:?} × {event:?}"),
                (Err(_), None) => {}
                (got, want) => panic!("{from:?} × {event:?}: got {got:?}, want {want:?}"),
            }
        }
    }
    assert_eq!(pairs, 15 * 15);
}

proptest! {
    /// Outside failure states a batch only moves forward; `Issued` is final.
    #[test]
    fn batches_only_move_forward(picks in prop::collection::vec(0usize..15, 1..80)) {
        let events = batch_events();
        let mut s = BS::Created;
        for p in picks {
            if let Ok(next) = s.apply(events[p]) {
                if !s.is_failed() {
                    prop_assert!(next.code() > s.code(), "{:?} -> {:?}", s, next);
                }
                prop_assert_ne!(s, BS::Issued);
                s = next;
            }
        }
    }
}
