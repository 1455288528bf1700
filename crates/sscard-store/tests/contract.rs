//! The store's contract, run against SQLite and PostgreSQL alike.

mod common;

use chrono::Duration;
use common::{card_in_use, ctx, new_person, request, t0};
use sscard_core::{BusinessType, FinancialStatus, SsStatus};
use sscard_ids::Bilingual;
use sscard_store::{AuditProblem, Ctx, Rule, StoreError};

contract!(init_is_idempotent_and_seeds_banks, |db| {
    assert_eq!(db.store.migrate().await.unwrap(), 0);
    let banks = db.store.banks().await.unwrap();
    let names: Vec<&str> = banks.iter().map(|b| b.short_name.as_str()).collect();
    assert_eq!(names, ["ABC", "CCB", "BOCOM", "TZRCB", "PSBC"]);
    assert!(
        banks
            .iter()
            .find(|b| b.short_name == "PSBC")
            .unwrap()
            .legacy
    );
});

contract!(instant_card_through_its_lifecycle, |db| {
    let s = &db.store;
    let (id, name) = new_person();
    let out = s
        .apply(&ctx(), &request(&id, &name, BusinessType::New, true))
        .await
        .unwrap();
    let card = out.card_number.expect("instant issue produces a card");
    let view = s
        .card(&sscard_store::Ctx::system("system:test"), &card)
        .await
        .unwrap();
    assert_eq!((view.ss_status, view.ss_status_code), (SsStatus::Sealed, 0));
    assert_eq!(view.holder_id, id.masked());
    assert_eq!(view.expiry_date.to_string(), "2036-11-01");
    assert!(
        view.card_id_code
            .as_deref()
            .unwrap()
            .starts_with("321200D156000005")
    );
    let refused = s.activate_ss(&ctx(), &card).await.unwrap_err();
    assert_eq!(refused.code(), "card.not_handed_over");
    assert!(s.hand_over(&ctx(), &card).await.unwrap().handed_over);
    assert_eq!(
        s.activate_ss(&ctx(), &card).await.unwrap().ss_status,
        SsStatus::Normal
    );
    assert_eq!(
        s.report_temporary_loss(&ctx(), &card)
            .await
            .unwrap()
            .ss_status,
        SsStatus::TemporaryLoss
    );
    assert_eq!(
        s.unfreeze(&ctx(), &card).await.unwrap().ss_status,
        SsStatus::Normal
    );
    s.record_bank_account(&ctx(), &card).await.unwrap();
    s.activate_bank(&ctx(), &card).await.unwrap();
    let lost = s.report_formal_loss(&ctx(), &card).await.unwrap();
    assert_eq!(
        (lost.ss_status, lost.financial_status),
        (SsStatus::FormalLoss, FinancialStatus::Frozen)
    );
    let re = s.reissue(&ctx(), &card).await.unwrap();
    let new = re.card_number.unwrap();
    assert_eq!(re.replaces, Some(card));
    assert_eq!(
        s.card(&sscard_store::Ctx::system("system:test"), &card)
            .await
            .unwrap()
            .ss_status,
        SsStatus::Cancelled
    );
    assert_eq!(
        s.card(&sscard_store::Ctx::system("system:test"), &new)
            .await
            .unwrap()
            .ss_status,
        SsStatus::Sealed
    );
    let person = s
        .person(&sscard_store::Ctx::system("system:test"), &id)
        .await
        .unwrap();
    assert_eq!(person.cards.len(), 2);
    assert_eq!(person.applications.len(), 2);
    assert_eq!(person.applications[0].business_type, BusinessType::Reissue);
    assert!(s.verify_audit().await.unwrap().ok());
});

contract!(second_application_is_refused_naming_the_card, |db| {
    let s = &db.store;
    let (id, card) = card_in_use(s).await;
    let name = sscard_ids::PersonName::parse("王小明").unwrap();
    let err = s
        .apply(&ctx(), &request(&id, &name, BusinessType::New, true))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "holder.already_holds_card");
    assert!(err.zh().contains(&card.masked()), "{}", err.zh());
    assert!(err.en().contains(&card.masked()), "{}", err.en());
    assert!(
        !err.to_string().contains(card.as_str()),
        "the card number is masked"
    );
    assert!(err.zh().contains("一人一卡") && err.en().contains("one person, one card"));
    // An exchange is accepted, and the old card keeps working until the new one is used.
    let ex = s
        .apply(&ctx(), &request(&id, &name, BusinessType::Exchange, true))
        .await
        .unwrap();
    assert_eq!(ex.replaces, Some(card));
    assert_eq!(
        s.person(&sscard_store::Ctx::system("system:test"), &id)
            .await
            .unwrap()
            .live_card,
        Some(card)
    );
    // A second replacement is refused while the first one is open.
    let again = s
        .apply(&ctx(), &request(&id, &name, BusinessType::Exchange, true))
        .await
        .unwrap_err();
    assert!(again.is_refusal(), "{again:?}");
    // Reissue needs a formal loss.
    let (id2, card2) = card_in_use(s).await;
    let no = s
        .apply(&ctx(), &request(&id2, &name, BusinessType::Reissue, false))
        .await
        .unwrap_err();
    assert_eq!(no.code(), "holder.no_lost_card");
    s.report_formal_loss(&ctx(), &card2).await.unwrap();
    let ok = s
        .apply(&ctx(), &request(&id2, &name, BusinessType::Reissue, false))
        .await
        .unwrap();
    assert_eq!((ok.replaces, ok.card_number), (Some(card2), None));
});

contract!(legacy_bank_and_unknown_bank_are_refused, |db| {
    let (id, name) = new_person();
    let mut req = request(&id, &name, BusinessType::New, true);
    req.bank = "PSBC".into();
    assert_eq!(
        db.store.apply(&ctx(), &req).await.unwrap_err().code(),
        "bank.legacy"
    );
    req.bank = "XYZ".into();
    assert_eq!(
        db.store.apply(&ctx(), &req).await.unwrap_err().code(),
        "not_found.bank"
    );
    assert!(
        db.store
            .person(&sscard_store::Ctx::system("system:test"), &id)
            .await
            .is_err(),
        "nothing half-written"
    );
});

contract!(concurrent_applications_for_one_person_make_one_card, |db| {
    let (id, name) = new_person();
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let s = db.store.clone();
            let req = request(&id, &name, BusinessType::New, true);
            tokio::spawn(async move { s.apply(&ctx(), &req).await })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ok.len(), 1, "exactly one application goes through");
    for r in &results {
        if let Err(e) = r {
            assert!(e.is_refusal(), "refused by a rule, not failed: {e:?}");
        }
    }
    let card = ok[0].card_number.unwrap();
    let person = db
        .store
        .person(&sscard_store::Ctx::system("system:test"), &id)
        .await
        .unwrap();
    assert_eq!(person.cards.len(), 1);
    db.store.hand_over(&ctx(), &card).await.unwrap();
    db.store.activate_ss(&ctx(), &card).await.unwrap();
    assert_eq!(
        db.store
            .person(&sscard_store::Ctx::system("system:test"), &id)
            .await
            .unwrap()
            .live_card,
        Some(card)
    );
});

contract!(concurrent_hand_overs_succeed_once, |db| {
    let (id, name) = new_person();
    let card = db
        .store
        .apply(&ctx(), &request(&id, &name, BusinessType::New, true))
        .await
        .unwrap()
        .card_number
        .unwrap();
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let s = db.store.clone();
            tokio::spawn(async move { s.hand_over(&ctx(), &card).await })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r.code(), "card.already_handed_over", "{r:?}");
    }
    let handovers = db
        .store
        .audit_tail(1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "card.hand_over")
        .count();
    assert_eq!(handovers, 1);
    assert!(db.store.verify_audit().await.unwrap().ok());
});

contract!(first_use_of_new_card_races_use_of_old_card, |db| {
    let s = &db.store;
    for round in 0..10 {
        let (id, old) = card_in_use(s).await;
        s.record_bank_account(&ctx(), &old).await.unwrap();
        s.activate_bank(&ctx(), &old).await.unwrap();
        s.record_use(&ctx(), &old).await.unwrap();
        let new = s.exchange(&ctx(), &old).await.unwrap().card_number.unwrap();
        s.hand_over(&ctx(), &new).await.unwrap();
        let (a, b) = {
            let (s1, s2) = (s.clone(), s.clone());
            let use_new = tokio::spawn(async move { s1.record_use(&ctx(), &new).await });
            let use_old = tokio::spawn(async move { s2.record_use(&ctx(), &old).await });
            (use_new.await.unwrap(), use_old.await.unwrap())
        };
        assert!(
            a.is_ok(),
            "round {round}: the new card's first use is accepted: {a:?}"
        );
        if let Err(e) = &b {
            assert_eq!(e.code(), "card.superseded", "round {round}");
        }
        let old_view = s
            .card(&sscard_store::Ctx::system("system:test"), &old)
            .await
            .unwrap();
        assert_eq!(old_view.superseded_by, Some(new));
        assert_eq!(
            old_view.financial_status,
            FinancialStatus::Active,
            "the bank function stays"
        );
        let person = s
            .person(&sscard_store::Ctx::system("system:test"), &id)
            .await
            .unwrap();
        assert_eq!(person.live_card, Some(new));
        let supersessions = s
            .audit_tail(10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "card.supersede" && e.subject == old.as_str())
            .count();
        assert_eq!(
            supersessions, 1,
            "round {round}: the old card's SS function ends exactly once"
        );
        assert_eq!(
            s.record_use(&ctx(), &old).await.unwrap_err().code(),
            "card.superseded"
        );
    }
});

contract!(temporary_loss_lapses_after_the_period, |db| {
    let s = &db.store;
    let (_, card) = card_in_use(s).await;
    let (_, other) = card_in_use(s).await;
    s.report_temporary_loss(&ctx(), &card).await.unwrap();
    let later = |d: i64| {
        Ctx::at(
            sscard_core::Actor::system("system:lapse"),
            t0() + Duration::days(d),
        )
    };
    s.report_temporary_loss(&later(3), &other).await.unwrap();
    assert!(
        s.lapse_overdue_temporary_losses(&later(6))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.card(&sscard_store::Ctx::system("system:test"), &card)
            .await
            .unwrap()
            .ss_status,
        SsStatus::TemporaryLoss
    );
    assert_eq!(
        s.lapse_overdue_temporary_losses(&later(7)).await.unwrap(),
        vec![card]
    );
    assert_eq!(
        s.card(&sscard_store::Ctx::system("system:test"), &card)
            .await
            .unwrap()
            .ss_status,
        SsStatus::Normal
    );
    assert_eq!(
        s.card(&sscard_store::Ctx::system("system:test"), &other)
            .await
            .unwrap()
            .ss_status,
        SsStatus::TemporaryLoss
    );
    assert_eq!(
        s.lapse_overdue_temporary_losses(&later(10)).await.unwrap(),
        vec![other]
    );
    let tail = s.audit_tail(5).await.unwrap();
    assert!(
        tail.iter()
            .any(|e| e.action == "card.lapse_temporary_loss" && e.actor == "system:lapse")
    );
});

contract!(audit_tampering_is_named, |db| {
    let s = &db.store;
    for _ in 0..3 {
        card_in_use(s).await;
    }
    let report = s.verify_audit().await.unwrap();
    assert!(report.ok(), "{report:?}");
    let n = report.events;
    assert!(n >= 10);
    // Altered: a reason is rewritten.
    db.raw("UPDATE audit_events SET reason = 'nothing happened' WHERE seq = 5")
        .await
        .unwrap();
    assert!(matches!(
        s.verify_audit().await.unwrap().problem,
        Some(AuditProblem::Altered { seq: 5, .. })
    ));
    db.raw("UPDATE audit_events SET reason = '' WHERE seq = 5")
        .await
        .unwrap();
    assert!(s.verify_audit().await.unwrap().ok());
    // Reordered: events 7 and 8 swap places.
    db.raw("UPDATE audit_events SET seq = -7 WHERE seq = 7")
        .await
        .unwrap();
    db.raw("UPDATE audit_events SET seq = 7 WHERE seq = 8")
        .await
        .unwrap();
    db.raw("UPDATE audit_events SET seq = 8 WHERE seq = -7")
        .await
        .unwrap();
    assert!(matches!(
        s.verify_audit().await.unwrap().problem,
        Some(AuditProblem::OutOfOrder { seq: 7, .. })
    ));
    // Deleted: event 3 disappears.
    db.raw("DELETE FROM audit_events WHERE seq = 3")
        .await
        .unwrap();
    assert_eq!(
        s.verify_audit().await.unwrap().problem,
        Some(AuditProblem::Missing { seq: 3 })
    );
    // Deleting the last events is seen against the head.
    let fresh = common::TestDb::sqlite().await;
    card_in_use(&fresh.store).await;
    let last = fresh.store.verify_audit().await.unwrap().events;
    fresh
        .raw(&format!("DELETE FROM audit_events WHERE seq = {last}"))
        .await
        .unwrap();
    assert_eq!(
        fresh.store.verify_audit().await.unwrap().problem,
        Some(AuditProblem::TruncatedAfter {
            seq: last - 1,
            head_seq: last
        })
    );
});

contract!(database_holds_the_invariants_itself, |db| {
    let s = &db.store;
    let (_, card) = card_in_use(s).await;
    let (_, other) = card_in_use(s).await;
    // Bypass the code: move the second live card to the first card's person.
    let sql = format!(
        "UPDATE cards SET person_id = (SELECT person_id FROM cards WHERE card_number = '{card}') \
         WHERE card_number = '{other}'"
    );
    let err = StoreError::from(db.raw(&sql).await.unwrap_err());
    assert_eq!(err, StoreError::Conflict(Rule::LiveCardPerPerson));
    assert!(err.zh().contains("card_live_per_person"));
    let err = StoreError::from(
        db.raw(&format!(
            "UPDATE cards SET ss_status = 7 WHERE card_number = '{card}'"
        ))
        .await
        .unwrap_err(),
    );
    assert_eq!(err, StoreError::Conflict(Rule::ValidCode));
    let err = StoreError::from(
        db.raw(&format!(
            "UPDATE cards SET card_number = '{card}' WHERE card_number = '{other}'"
        ))
        .await
        .unwrap_err(),
    );
    assert_eq!(err, StoreError::Conflict(Rule::CardNumberUnique));
    let err = StoreError::from(
        db.raw(&format!(
            "UPDATE cards SET card_id_code = (SELECT card_id_code FROM cards WHERE card_number = '{card}') WHERE card_number = '{other}'"
        ))
        .await
        .unwrap_err(),
    );
    assert_eq!(err, StoreError::Conflict(Rule::CardIdCodeUnique));
});

contract!(
    a_rewritten_chain_is_caught_by_an_anchor_kept_outside,
    |db| {
        let s = &db.store;
        for _ in 0..3 {
            card_in_use(s).await;
        }
        let key = sscard_store::AuditKey::from_hex(&"17".repeat(32)).unwrap();
        let anchor = s.audit_anchor(&key).await.unwrap();
        assert!(anchor.check(&key).is_ok());
        let report = s
            .verify_audit_with(sscard_store::VerifyFrom::Genesis, Some(&anchor))
            .await
            .unwrap();
        assert!(report.ok() && report.anchored, "{report:?}");

        // An attacker with write access rewrites event #4 and recomputes every later hash and the
        // head: the chain alone verifies again.
        let mut events = s.audit_tail(10_000).await.unwrap();
        events.reverse();
        let mut prev = events[2].hash.clone();
        for e in events.iter_mut().skip(3) {
            if e.seq == 4 {
                e.reason = "nothing to see".into();
            }
            e.prev_hash.clone_from(&prev);
            e.hash = e.expected_hash().unwrap();
            prev.clone_from(&e.hash);
            db.raw(&format!(
            "UPDATE audit_events SET reason = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {}",
            e.reason, e.prev_hash, e.hash, e.seq
        ))
        .await
        .unwrap();
        }
        db.raw(&format!(
            "UPDATE audit_head SET hash = '{prev}' WHERE id = 1"
        ))
        .await
        .unwrap();
        assert!(
            s.verify_audit().await.unwrap().ok(),
            "the rewrite is consistent"
        );
        // The anchor is not fooled.
        let report = s
            .verify_audit_with(sscard_store::VerifyFrom::Genesis, Some(&anchor))
            .await
            .unwrap();
        assert_eq!(
            report.problem,
            Some(AuditProblem::AnchorMismatch { seq: anchor.seq })
        );
        // Nor is it when the attacker also cuts the chain short before the anchor.
        db.raw(&format!(
            "DELETE FROM audit_events WHERE seq >= {}",
            anchor.seq - 1
        ))
        .await
        .unwrap();
        db.raw(&format!(
            "UPDATE audit_head SET seq = {}, hash = '{}' WHERE id = 1",
            anchor.seq - 2,
            events
                .iter()
                .find(|e| e.seq == anchor.seq - 2)
                .unwrap()
                .hash
        ))
        .await
        .unwrap();
        let report = s
            .verify_audit_with(sscard_store::VerifyFrom::Genesis, Some(&anchor))
            .await
            .unwrap();
        assert_eq!(
            report.problem,
            Some(AuditProblem::AnchorMissing {
                seq: anchor.seq,
                last: anchor.seq - 2
            })
        );
        // An edited anchor is refused by its signature.
        let mut forged = anchor.clone();
        forged.hash = prev;
        assert!(forged.check(&key).is_err());
    }
);

contract!(
    pending_events_are_sealed_in_order_and_checkpoints_shorten_the_walk,
    |db| {
        let s = &db.store;
        card_in_use(s).await;
        let full = s.verify_audit().await.unwrap();
        assert!(full.ok() && full.from_seq == 0);
        assert_eq!(s.audit_pending().await.unwrap(), 0, "readers seal first");
        // Concurrent writers: every event lands in the chain exactly once.
        let before = full.last_seq;
        let writes = (0..20).map(|i| {
            let ctx = ctx();
            async move {
                s.record_audit(
                    &ctx,
                    "test.concurrent",
                    &format!("w{i}"),
                    serde_json::json!({ "i": i }),
                )
                .await
                .unwrap();
            }
        });
        futures::future::join_all(writes).await;
        let incremental = s
            .verify_audit_with(sscard_store::VerifyFrom::Checkpoint, None)
            .await
            .unwrap();
        assert!(incremental.ok(), "{incremental:?}");
        assert_eq!(incremental.from_seq, before, "walked from the checkpoint");
        assert_eq!(incremental.events, 20);
        let tail = s.audit_tail(20).await.unwrap();
        let mut subjects: Vec<_> = tail.iter().map(|e| e.subject.clone()).collect();
        subjects.sort();
        subjects.dedup();
        assert_eq!(subjects.len(), 20);
    }
);
