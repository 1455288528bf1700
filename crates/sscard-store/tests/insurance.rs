//! Insurance enrolment, the personal account, and the settlement configuration on both
//! backends: one active enrolment per person and insutype, exact money, loads that replace a
//! region (and year) whole, and the scopes checked inside the store.

mod common;

use common::{card_in_use, ctx, t0};
use sscard_core::Actor;
use sscard_core::money::{Fixed4, Money};
use sscard_core::settlement::{CatalogueItem, ItemClass, Policy};
use sscard_store::insurance::{CatalogueRow, EnrolInput, PolicyRow};
use sscard_store::{Ctx, StoreError};

fn m(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn f(s: &str) -> Fixed4 {
    Fixed4::parse(s).unwrap()
}

fn policy(deductible: &str) -> Policy {
    Policy {
        deductible: m(deductible),
        ratio_by_level: [f("0.9"), f("0.85"), f("0.8")],
        ratio_pharmacy: f("0.85"),
        pool_cap: m("300000"),
        second_tier_ratio: f("0.8"),
        second_tier_cap: m("200000"),
        unfiled_reduction: f("0.1"),
        account: true,
    }
}

fn row(region: &str, year: i32, med_type: &str, deductible: &str) -> PolicyRow {
    PolicyRow {
        region: region.into(),
        year,
        insutype: "310".into(),
        med_type: med_type.into(),
        policy: policy(deductible),
    }
}

fn refused_code(e: &StoreError) -> &str {
    match e {
        StoreError::Refused { code, .. } => code,
        other => panic!("not a refusal: {other:?}"),
    }
}

contract!(enrolment_and_account, |db| {
    let store = &db.store;
    let (id, _) = card_in_use(store).await;
    let enrol = |insutype: &str, region: &str, balance: Option<&str>| EnrolInput {
        id,
        insutype: insutype.into(),
        psn_type: "1101".into(),
        region: region.into(),
        from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        balance: balance.map(m),
        employer: None,
    };
    let done = store
        .enrol_insurance(&ctx(), &enrol("310", "321200", Some("1000.00")))
        .await
        .unwrap();
    assert_eq!(
        (done.status.as_str(), done.region.as_str()),
        ("active", "321200")
    );
    let again = store
        .enrol_insurance(&ctx(), &enrol("310", "320100", None))
        .await
        .unwrap_err();
    assert_eq!(refused_code(&again), "insurance.already_enrolled");
    for (insutype, region, balance, code) in [
        ("320", "321200", None, "insurance.insutype"),
        ("390", "321202", None, "insurance.region"),
        ("390", "321200", Some("5.00"), "insurance.account"),
    ] {
        let e = store
            .enrol_insurance(&ctx(), &enrol(insutype, region, balance))
            .await
            .unwrap_err();
        assert_eq!(refused_code(&e), code);
    }
    let record = store.insurance_record(&ctx(), &id).await.unwrap();
    assert_eq!(record.enrolments.len(), 1);
    assert_eq!(record.accounts[0].balance, m("1000.00"));
    assert!(!record.id_masked.contains(id.expose()));
    // A terminal or a bank keeps no insurance record.
    let terminal = Ctx::at(Actor::terminal("321202000001", "H32120200001"), t0());
    assert!(matches!(
        store.insurance_record(&terminal, &id).await,
        Err(StoreError::OutOfScope(_))
    ));
});

contract!(policies_and_catalogues_load_whole, |db| {
    let store = &db.store;
    let first = store
        .load_policies(
            &ctx(),
            &[
                row("321200", 2026, "11", "800.00"),
                row("321200", 2026, "21", "1200.00"),
            ],
        )
        .await
        .unwrap();
    assert_eq!((first.rows, first.replaced), (2, 0));
    let other_year = store
        .load_policies(&ctx(), &[row("321200", 2025, "11", "700.00")])
        .await
        .unwrap();
    assert_eq!(other_year.replaced, 0);
    // A reload of 321200/2026 replaces both of its tables, and only those.
    let reload = store
        .load_policies(&ctx(), &[row("321200", 2026, "11", "850.00")])
        .await
        .unwrap();
    assert_eq!((reload.rows, reload.replaced), (1, 2));
    let p = store
        .policy_for("321200", 2026, "310", "11")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.deductible, m("850.00"));
    assert_eq!(p.ratio_by_level[1], f("0.85"));
    assert!(
        store
            .policy_for("321200", 2026, "310", "21")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .policy_for("321200", 2025, "310", "11")
            .await
            .unwrap()
            .unwrap()
            .deductible,
        m("700.00")
    );
    let item = |code: &str, class| CatalogueRow {
        region: "321200".into(),
        code: code.into(),
        name: "阿莫西林胶囊".into(),
        item: CatalogueItem {
            class,
            selfpay_prop: Fixed4::ZERO,
            price_cap: Some(m("12.50")),
        },
    };
    let loaded = store
        .load_catalogue(
            &ctx(),
            &[item("A1", ItemClass::A), item("C1", ItemClass::C)],
        )
        .await
        .unwrap();
    assert_eq!((loaded.rows, loaded.replaced), (2, 0));
    let loaded = store
        .load_catalogue(&ctx(), &[item("A1", ItemClass::A)])
        .await
        .unwrap();
    assert_eq!((loaded.rows, loaded.replaced), (1, 2));
    // Only the centre changes the configuration.
    let terminal = Ctx::at(Actor::terminal("321202000001", "H32120200001"), t0());
    assert!(matches!(
        store
            .load_policies(&terminal, &[row("321200", 2026, "11", "1.00")])
            .await,
        Err(StoreError::OutOfScope(_))
    ));
    assert_eq!(
        store
            .policy_for("321200", 2026, "310", "11")
            .await
            .unwrap()
            .unwrap()
            .deductible,
        m("850.00")
    );
});

contract!(filings_for_care_elsewhere, |db| {
    use sscard_store::insurance::FilingInput;
    let store = &db.store;
    let (id, _) = card_in_use(store).await;
    let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let filing = |region: &str, from: &str, to: &str, kind: &str| FilingInput {
        id,
        insutype: "310".into(),
        region: region.into(),
        from: date(from),
        to: date(to),
        kind: kind.into(),
    };
    // Not enrolled yet: nothing to file.
    let e = store
        .add_filing(
            &ctx(),
            &filing("320100", "2026-03-01", "2026-08-31", "temporary"),
        )
        .await
        .unwrap_err();
    assert_eq!(refused_code(&e), "filing.not_enrolled");
    store
        .enrol_insurance(
            &ctx(),
            &EnrolInput {
                id,
                insutype: "310".into(),
                psn_type: "1102".into(),
                region: "321200".into(),
                from: date("2026-01-01"),
                balance: None,
                employer: None,
            },
        )
        .await
        .unwrap();
    for (f, code) in [
        (
            filing("321200", "2026-03-01", "2026-08-31", "temporary"),
            "filing.same_region",
        ),
        (
            filing("320100", "2026-09-01", "2026-08-31", "temporary"),
            "filing.period",
        ),
        (
            filing("320100", "2026-03-01", "2026-08-31", "holiday"),
            "filing.kind",
        ),
        (
            filing("3201", "2026-03-01", "2026-08-31", "temporary"),
            "filing.region",
        ),
    ] {
        assert_eq!(
            refused_code(&store.add_filing(&ctx(), &f).await.unwrap_err()),
            code
        );
    }
    let done = store
        .add_filing(
            &ctx(),
            &filing("320100", "2026-03-01", "2026-08-31", "long_term"),
        )
        .await
        .unwrap();
    assert!(done.serial.starts_with("BA321200"), "{}", done.serial);
    assert!(done.covers("320100", date("2026-05-01")));
    assert!(!done.covers("320100", date("2026-09-01")));
    assert!(!done.covers("320500", date("2026-05-01")));
    let record = store.insurance_record(&ctx(), &id).await.unwrap();
    assert_eq!(record.filings, vec![done.clone()]);
    let cancelled = store
        .cancel_filing(&ctx(), &done.serial, "已返回泰州")
        .await
        .unwrap();
    assert!(!cancelled.covers("320100", date("2026-05-01")));
    let again = store
        .cancel_filing(&ctx(), &done.serial, "")
        .await
        .unwrap_err();
    assert_eq!(refused_code(&again), "filing.cancelled");
    let record = store.insurance_record(&ctx(), &id).await.unwrap();
    assert_eq!(record.filings[0].status, "cancelled");
});
