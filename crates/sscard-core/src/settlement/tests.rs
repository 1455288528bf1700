//! The rules file's arithmetic, case by case, and its invariants for random visits.

use proptest::prelude::*;

use super::*;

fn m(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn f(s: &str) -> Fixed4 {
    Fixed4::parse(s).unwrap()
}

/// The rules file's example policy (employees, outpatient).
fn policy() -> Policy {
    Policy {
        deductible: m("800.00"),
        ratio_by_level: [f("0.90"), f("0.85"), f("0.80")],
        ratio_pharmacy: f("0.85"),
        pool_cap: m("300000.00"),
        second_tier_ratio: f("0.80"),
        second_tier_cap: m("200000.00"),
        unfiled_reduction: f("0.10"),
        account: true,
    }
}

fn class_a() -> CatalogueItem {
    CatalogueItem {
        class: ItemClass::A,
        selfpay_prop: Fixed4::ZERO,
        price_cap: None,
    }
}

fn line(pric: &str, cnt: &str, amount: &str, item: Option<&CatalogueItem>) -> LineResult {
    classify_line(
        &FeeLine {
            pric: f(pric),
            cnt: f(cnt),
            amount: m(amount),
        },
        item,
    )
    .unwrap()
}

fn visit(level: u8) -> Visit {
    Visit {
        venue: Venue::Hospital(level),
        cross_region_unfiled: false,
        use_account: true,
        residents: false,
    }
}

fn acc(dedc: &str, pool: &str, tier: &str, balance: &str) -> Accumulators {
    Accumulators {
        deductible_used: m(dedc),
        pool_paid: m(pool),
        tier_paid: m(tier),
        balance: m(balance),
    }
}

#[test]
fn the_deductible_is_crossed_within_a_visit() {
    let lines = [line("500", "1", "500.00", Some(&class_a()))];
    let s = settle(
        &lines,
        &policy(),
        &visit(3),
        &acc("700.00", "0", "0", "1000.00"),
    );
    assert_eq!(s.act_pay_dedc, m("100.00"));
    assert_eq!(s.hifp_pay, m("320.00")); // (500 − 100) × 0.80
    assert_eq!(s.fund_pay_sumamt, m("320.00"));
    assert_eq!(s.psn_part_amt, m("180.00"));
    assert_eq!(
        (s.acct_pay, s.psn_cash_pay, s.balc),
        (m("180.00"), m("0.00"), m("820.00"))
    );
    assert!(s.holds());
}

#[test]
fn the_pool_cap_is_crossed_into_the_second_tier() {
    let lines = [line("1000", "1", "1000.00", Some(&class_a()))];
    let s = settle(
        &lines,
        &policy(),
        &visit(1),
        &acc("800.00", "299900.00", "0", "0"),
    );
    assert_eq!(s.act_pay_dedc, Money::ZERO);
    assert_eq!(s.hifp_pay, m("100.00")); // the cap's last 100.00 of the 900.00 wanted
    // uncovered = 1000 − round(100 / 0.9) = 888.89; × 0.80 = 711.112 → 711.11
    assert_eq!(s.hifob_pay, m("711.11"));
    assert_eq!(s.hifmi_pay, Money::ZERO);
    assert_eq!(s.fund_pay_sumamt, m("811.11"));
    assert_eq!(s.psn_part_amt, m("188.89"));
    assert!(s.holds());
    // The second tier has its own cap.
    let s = settle(
        &lines,
        &policy(),
        &visit(1),
        &acc("800.00", "300000.00", "199950.00", "0"),
    );
    assert_eq!((s.hifp_pay, s.hifob_pay), (Money::ZERO, m("50.00")));
}

#[test]
fn class_b_pays_its_share_first_and_class_c_is_out_of_scope() {
    let b = CatalogueItem {
        class: ItemClass::B,
        selfpay_prop: f("0.10"),
        price_cap: None,
    };
    let c = CatalogueItem {
        class: ItemClass::C,
        selfpay_prop: Fixed4::ZERO,
        price_cap: None,
    };
    let lb = line("100", "2", "200.00", Some(&b));
    assert_eq!(
        (lb.preselfpay_amt, lb.inscp_scp_amt),
        (m("20.00"), m("180.00"))
    );
    let lc = line("88.88", "1", "88.88", Some(&c));
    assert_eq!(
        (lc.fulamt_ownpay_amt, lc.inscp_scp_amt),
        (m("88.88"), Money::ZERO)
    );
    let none = line("12.5", "2", "25.00", None);
    assert_eq!(none.fulamt_ownpay_amt, m("25.00"));
    let s = settle(
        &[lb, lc, none],
        &policy(),
        &visit(2),
        &acc("800.00", "0", "0", "0"),
    );
    assert_eq!(s.medfee_sumamt, m("313.88"));
    assert_eq!(s.hifp_pay, m("153.00")); // 180 × 0.85
    assert_eq!(s.psn_part_amt, m("160.88"));
    assert!(s.holds());
}

#[test]
fn a_price_above_the_limit_is_paid_by_the_person() {
    let capped = CatalogueItem {
        class: ItemClass::A,
        selfpay_prop: Fixed4::ZERO,
        price_cap: Some(m("30.00")),
    };
    let l = line("50", "2", "100.00", Some(&capped));
    assert_eq!((l.overlmt_amt, l.inscp_scp_amt), (m("40.00"), m("60.00")));
    let within = line("25", "2", "50.00", Some(&capped));
    assert_eq!(
        (within.overlmt_amt, within.inscp_scp_amt),
        (Money::ZERO, m("50.00"))
    );
}

#[test]
fn an_account_too_small_pays_what_it_holds() {
    let lines = [line("500", "1", "500.00", Some(&class_a()))];
    let s = settle(
        &lines,
        &policy(),
        &visit(3),
        &acc("700.00", "0", "0", "12.34"),
    );
    assert_eq!(
        (s.acct_pay, s.psn_cash_pay, s.balc),
        (m("12.34"), m("167.66"), m("0.00"))
    );
    // Not asked, or not allowed (residents): nothing from the account.
    let mut v = visit(3);
    v.use_account = false;
    let s = settle(&lines, &policy(), &v, &acc("700.00", "0", "0", "12.34"));
    assert_eq!(s.acct_pay, Money::ZERO);
}

#[test]
fn cross_region_care_without_a_filing_gets_the_reduced_ratio() {
    let lines = [line("1000", "1", "1000.00", Some(&class_a()))];
    let mut v = visit(3);
    v.cross_region_unfiled = true;
    let s = settle(&lines, &policy(), &v, &acc("800.00", "0", "0", "0"));
    assert_eq!(s.hifp_pay, m("700.00")); // 0.80 − 0.10
    let s = settle(
        &lines,
        &policy(),
        &Visit {
            venue: Venue::Pharmacy,
            ..v
        },
        &acc("800.00", "0", "0", "0"),
    );
    assert_eq!(s.hifp_pay, m("750.00")); // 0.85 − 0.10
}

#[test]
fn residents_get_the_serious_illness_tier_and_no_account() {
    let mut p = policy();
    p.account = false;
    let mut v = visit(1);
    v.residents = true;
    let lines = [line("1000", "1", "1000.00", Some(&class_a()))];
    let s = settle(&lines, &p, &v, &acc("800.00", "299900.00", "0", "500.00"));
    assert_eq!((s.hifob_pay, s.hifmi_pay), (Money::ZERO, m("711.11")));
    assert_eq!(s.acct_pay, Money::ZERO);
    assert!(s.holds());
}

#[test]
fn a_cancellation_restores_every_accumulator() {
    let lines = [
        line("500", "1", "500.00", Some(&class_a())),
        line("1000", "1", "1000.00", Some(&class_a())),
    ];
    let before = acc("700.00", "299000.00", "10.00", "300.00");
    let s = settle(&lines, &policy(), &visit(1), &before);
    let after = s.applied_to(&before);
    assert_ne!(after, before);
    let c = s.cancellation(&after);
    assert_eq!(c.hifp_pay, -s.hifp_pay);
    assert_eq!(c.applied_to(&after), before);
    assert_eq!(c.balc, before.balance);
    assert!(c.holds());
}

#[test]
fn a_line_whose_amount_is_not_price_times_count_is_refused() {
    let l = |amount: &str| {
        classify_line(
            &FeeLine {
                pric: f("10.0050"),
                cnt: f("3"),
                amount: m(amount),
            },
            Some(&class_a()),
        )
    };
    // 10.005 × 3 = 30.015 → 30.02; a cent either way is the HIS's rounding.
    assert!(l("30.02").is_ok());
    assert!(l("30.01").is_ok());
    let e = l("30.04").unwrap_err();
    assert_eq!(e.expected, m("30.02"));
}

fn any_item() -> impl Strategy<Value = Option<CatalogueItem>> {
    prop_oneof![
        Just(None),
        (0..3u8, 0..5_000i64, proptest::option::of(100..50_000i64)).prop_map(|(c, p, cap)| {
            Some(CatalogueItem {
                class: [ItemClass::A, ItemClass::B, ItemClass::C][usize::from(c)],
                selfpay_prop: Fixed4::from_units(p),
                price_cap: cap.map(Money::from_cents),
            })
        }),
    ]
}

proptest! {
    #[test]
    fn every_visit_keeps_the_invariants(
        lines in proptest::collection::vec((1..2_000_000i64, 1..50_000i64, any_item()), 1..8),
        dedc in 0..100_000i64,
        pool in 0..31_000_000i64,
        tier in 0..21_000_000i64,
        balance in 0..500_000i64,
        level in 1..=3u8,
        unfiled: bool,
        use_account: bool,
        residents: bool,
    ) {
        let classified: Vec<LineResult> = lines
            .iter()
            .map(|(p, c, item)| {
                let (pric, cnt) = (Fixed4::from_units(*p), Fixed4::from_units(*c));
                let amount = Fixed4::price_times_count(pric, cnt);
                classify_line(&FeeLine { pric, cnt, amount }, item.as_ref()).unwrap()
            })
            .collect();
        for l in &classified {
            prop_assert_eq!(
                l.det_item_fee_sumamt,
                l.fulamt_ownpay_amt + l.overlmt_amt + l.preselfpay_amt + l.inscp_scp_amt
            );
            prop_assert!(l.inscp_scp_amt >= Money::ZERO && l.overlmt_amt >= Money::ZERO);
        }
        let before = Accumulators {
            deductible_used: Money::from_cents(dedc),
            pool_paid: Money::from_cents(pool),
            tier_paid: Money::from_cents(tier),
            balance: Money::from_cents(balance),
        };
        let v = Visit { venue: Venue::Hospital(level), cross_region_unfiled: unfiled, use_account, residents };
        let p = policy();
        let s = settle(&classified, &p, &v, &before);
        prop_assert!(s.holds(), "{s:?}");
        for amount in [s.act_pay_dedc, s.hifp_pay, s.tier(), s.acct_pay, s.psn_cash_pay] {
            prop_assert!(amount >= Money::ZERO, "{s:?}");
        }
        let after = s.applied_to(&before);
        prop_assert!(after.deductible_used <= p.deductible.max(before.deductible_used));
        prop_assert!(after.pool_paid <= p.pool_cap.max(before.pool_paid));
        prop_assert!(after.tier_paid <= p.second_tier_cap.max(before.tier_paid));
        prop_assert!(after.balance >= Money::ZERO);
        prop_assert_eq!(s.cancellation(&after).applied_to(&after), before);
    }
}
