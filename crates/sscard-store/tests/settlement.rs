//! Settlement through the store's interface writer on both backends: 50 settlements of one
//! person at once never overdraw the account nor count the deductible twice; random visits
//! with random settle/cancel sequences keep every result's invariants and the accumulators
//! equal to what the settlements in force paid.

mod common;

use common::{card_in_use, ctx, t0};
use serde_json::Value;
use sscard_core::money::{Fixed4, Money};
use sscard_core::settlement::{CatalogueItem, ItemClass, Policy};
use sscard_ids::{InstitutionCode, ResidentId};
use sscard_store::fsi::{Certificate, FeeInput, Input, Message, Registration, SettleInput};
use sscard_store::insurance::{CatalogueRow, EnrolInput, PolicyRow};
use sscard_store::{InstitutionInput, Store};

const HOSPITAL: &str = "H32120200001";

fn m(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn f(s: &str) -> Fixed4 {
    Fixed4::parse(s).unwrap()
}

/// A HIS talking to the store directly (the gateway's checks are the server's).
struct His {
    store: Store,
    code: String,
    paasid: String,
    sign_no: String,
    n: u64,
}

impl His {
    async fn new(store: &Store) -> His {
        His::at(store, HOSPITAL).await
    }

    async fn at(store: &Store, code: &str) -> His {
        let c = store.issue_credentials(&ctx(), code).await.unwrap();
        let mut his = His {
            store: store.clone(),
            code: code.to_owned(),
            paasid: c.paasid,
            sign_no: String::new(),
            n: 0,
        };
        let out = his
            .ok(
                "9001",
                Input::SignIn {
                    opter_no: "t".into(),
                    mac: String::new(),
                    ip: String::new(),
                },
            )
            .await;
        out["signinoutb"]["sign_no"]
            .as_str()
            .unwrap()
            .clone_into(&mut his.sign_no);
        his
    }

    fn message(&mut self, infno: &str, input: Input) -> Message {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        self.n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        Message {
            institution: self.code.clone(),
            paasid: self.paasid.clone(),
            nonce: format!("n{}-{}", self.n, uuid::Uuid::now_v7()),
            msgid: format!("{}{:018}", self.code, self.n),
            infno: infno.into(),
            sign_no: self.sign_no.clone(),
            opter: "t".into(),
            at: t0(),
            input,
        }
    }

    async fn ok(&mut self, infno: &str, input: Input) -> Value {
        let msg = self.message(infno, input);
        let answer = self.store.interface_call(msg).await.unwrap();
        answer.outcome.unwrap_or_else(|r| panic!("{infno}: {r:?}"))
    }

    async fn psn_no(&mut self, id: &ResidentId) -> String {
        let out = self
            .ok("1101", Input::PersonInfo(Certificate::IdNumber(*id)))
            .await;
        out["baseinfo"]["psn_no"].as_str().unwrap().to_owned()
    }

    /// 2201 and 2204: a visit with the lines given as (item code, price, count).
    async fn visit(&mut self, psn_no: &str, lines: &[(&str, Fixed4, Fixed4)]) -> (String, Money) {
        let reg = self
            .ok(
                "2201",
                Input::Register(Registration {
                    psn_no: psn_no.into(),
                    insutype: "310".into(),
                    med_type: None,
                    begntime: t0().naive_utc(),
                    cert_type: "02".into(),
                    cert_no: String::new(),
                    ipt_otp_no: format!("MZ{}", self.n),
                    dise_codg: None,
                    dise_name: None,
                    emergency: false,
                }),
            )
            .await;
        let mdtrt_id = reg["data"]["mdtrt_id"].as_str().unwrap().to_owned();
        let fees: Vec<FeeInput> = lines
            .iter()
            .enumerate()
            .map(|(i, (code, pric, cnt))| FeeInput {
                feedetl_sn: (i + 1).to_string(),
                mdtrt_id: mdtrt_id.clone(),
                psn_no: psn_no.into(),
                chrg_bchno: "B1".into(),
                med_list_codg: (*code).into(),
                medins_list_codg: String::new(),
                fee_ocur_time: t0().naive_utc(),
                pric: *pric,
                cnt: *cnt,
                amount: Fixed4::price_times_count(*pric, *cnt),
            })
            .collect();
        let total = fees.iter().map(|l| l.amount).sum();
        self.ok("2204", Input::Fees(fees)).await;
        (mdtrt_id, total)
    }

    fn settle_input(psn_no: &str, mdtrt_id: &str, total: Money, use_account: bool) -> Input {
        Input::Settle {
            input: SettleInput {
                mdtrt_id: mdtrt_id.into(),
                psn_no: psn_no.into(),
                insutype: "310".into(),
                med_type: None,
                medfee_sumamt: total,
                use_account,
                interim: false,
            },
            commit: true,
        }
    }
}

/// Taizhou's example policy for outpatient care, a catalogue of four classes, the hospital,
/// and a person enrolled with `balance` on the account.
async fn setup(store: &Store, balance: &str) -> (ResidentId, sscard_ids::CardNumber) {
    let policy = Policy {
        deductible: m("100.00"),
        ratio_by_level: [f("0.90"), f("0.85"), f("0.80")],
        ratio_pharmacy: f("0.85"),
        pool_cap: m("500.00"),
        second_tier_ratio: f("0.80"),
        second_tier_cap: m("300.00"),
        unfiled_reduction: f("0.10"),
        account: true,
    };
    let row = PolicyRow {
        region: "321200".into(),
        year: 2026,
        insutype: "310".into(),
        med_type: "11".into(),
        policy,
    };
    store.load_policies(&ctx(), &[row]).await.unwrap();
    let item = |code: &str, class, prop: &str, cap: Option<&str>| CatalogueRow {
        region: "321200".into(),
        code: code.into(),
        name: code.into(),
        item: CatalogueItem {
            class,
            selfpay_prop: f(prop),
            price_cap: cap.map(m),
        },
    };
    store
        .load_catalogue(
            &ctx(),
            &[
                item("A", ItemClass::A, "0", None),
                item("B", ItemClass::B, "0.15", Some("80.00")),
                item("C", ItemClass::C, "0", None),
            ],
        )
        .await
        .unwrap();
    let code = InstitutionCode::parse(HOSPITAL).unwrap();
    store
        .register_institutions(
            &ctx(),
            &[InstitutionInput {
                region: code.region(),
                level: Some(2),
                code,
                name: "泰州市人民医院".into(),
                networked: true,
            }],
        )
        .await
        .unwrap();
    let (id, card) = card_in_use(store).await;
    enrol(store, id, balance).await;
    (id, card)
}

async fn enrol(store: &Store, id: ResidentId, balance: &str) {
    store
        .enrol_insurance(
            &ctx(),
            &EnrolInput {
                id,
                insutype: "310".into(),
                psn_type: "1101".into(),
                region: "321200".into(),
                from: chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
                balance: Some(m(balance)),
                employer: None,
            },
        )
        .await
        .unwrap();
}

fn money(v: &Value) -> Money {
    m(v.as_str().unwrap())
}

/// Each result's invariants (settlement-rules.md §3).
fn check_invariants(s: &Value) {
    let g = |k: &str| money(&s[k]);
    assert_eq!(
        g("inscp_scp_amt"),
        g("medfee_sumamt") - g("fulamt_ownpay_amt") - g("overlmt_selfpay") - g("preselfpay_amt"),
        "{s}"
    );
    assert_eq!(
        g("psn_part_amt"),
        g("medfee_sumamt") - g("fund_pay_sumamt"),
        "{s}"
    );
    assert_eq!(g("psn_part_amt"), g("acct_pay") + g("psn_cash_pay"), "{s}");
    assert_eq!(
        g("fund_pay_sumamt"),
        g("hifp_pay") + g("hifob_pay") + g("hifmi_pay"),
        "{s}"
    );
}

/// The person's figures of 2026: (deductible used for 11, pooled fund, second tier, balance).
async fn figures(store: &Store, id: &ResidentId) -> (Money, Money, Money, Money) {
    let r = store.insurance_record(&ctx(), id).await.unwrap();
    let year = r
        .years
        .iter()
        .find(|y| y.year == 2026 && y.insutype == "310");
    let used = year
        .and_then(|y| y.deductible_used.iter().find(|(t, _)| t == "11"))
        .map_or(Money::ZERO, |(_, u)| *u);
    (
        used,
        year.map_or(Money::ZERO, |y| y.pool_paid),
        year.map_or(Money::ZERO, |y| y.tier_paid),
        r.accounts[0].balance,
    )
}

contract!(fifty_settlements_of_one_person_at_once, |db| {
    let store = &db.store;
    let (id, _) = setup(store, "200.00").await;
    let mut his = His::new(store).await;
    let psn_no = his.psn_no(&id).await;
    let mut messages = Vec::new();
    for _ in 0..50 {
        let (mdtrt_id, total) = his.visit(&psn_no, &[("A", f("25"), f("2"))]).await;
        messages.push(his.message("2207", His::settle_input(&psn_no, &mdtrt_id, total, true)));
    }
    let answers =
        futures::future::join_all(messages.into_iter().map(|msg| store.interface_call(msg))).await;
    let (mut dedc, mut acct, mut hifp) = (Money::ZERO, Money::ZERO, Money::ZERO);
    for a in answers {
        let out = a.unwrap().outcome.unwrap();
        let s = &out["setlinfo"];
        check_invariants(s);
        assert!(money(&s["balc"]) >= Money::ZERO);
        dedc += money(&s["act_pay_dedc"]);
        acct += money(&s["acct_pay"]);
        hifp += money(&s["hifp_pay"]);
    }
    let (used, pool, _, balance) = figures(store, &id).await;
    // The deductible counted once in all, the account emptied exactly, never below zero.
    assert_eq!(dedc, m("100.00"));
    assert_eq!(used, m("100.00"));
    assert_eq!(acct, m("200.00"));
    assert_eq!(balance, Money::ZERO);
    assert_eq!(pool, hifp);
    // 48 visits after the deductible: 50.00 × 0.85 each, within the 500.00 cap until it is
    // reached (588 wanted), so the cap binds too.
    assert_eq!(pool, m("500.00"));
});

/// One step of a random sequence.
#[derive(Debug, Clone)]
enum Op {
    /// A visit with lines (item 0 A / 1 B / 2 C / 3 not in the catalogue, price in cents,
    /// count), settled with or without the account.
    Visit(Vec<(u8, i64, i64)>, bool),
    /// Cancel the n-th settlement still in force (modulo their number).
    Cancel(usize),
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        3 => (prop::collection::vec((0u8..4, 1i64..20_000, 1i64..4), 1..4), any::<bool>())
            .prop_map(|(lines, acct)| Op::Visit(lines, acct)),
        1 => (0usize..8).prop_map(Op::Cancel),
    ]
}

contract!(random_visits_keep_the_books, |db| {
    use proptest::test_runner::{Config, TestRunner};
    let store = db.store.clone();
    setup(&store, "0.00").await;
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = proptest::collection::vec(op(), 1..10);
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |ops| {
            handle.block_on(run_ops(&store, &ops));
            Ok(())
        })
    });
    result.unwrap();
});

/// A settlement in force: (`setl_id`, `mdtrt_id`, `act_pay_dedc`, `hifp_pay`, tier, `acct_pay`).
type Live = (String, String, Money, Money, Money, Money);

async fn run_ops(store: &Store, ops: &[Op]) {
    let (id, _) = card_in_use(store).await;
    enrol(store, id, "300.00").await;
    let mut his = His::new(store).await;
    let psn_no = his.psn_no(&id).await;
    // Settlements in force: (setl_id, mdtrt_id, act_pay_dedc, hifp, tier, acct).
    let mut live: Vec<Live> = Vec::new();
    for op in ops {
        match op {
            Op::Visit(lines, acct) => {
                let codes = ["A", "B", "C", "X"];
                let lines: Vec<(&str, Fixed4, Fixed4)> = lines
                    .iter()
                    .map(|(c, p, n)| {
                        (
                            codes[usize::from(*c)],
                            Fixed4::from_units(p * 100),
                            Fixed4::from_units(n * 10_000),
                        )
                    })
                    .collect();
                let (mdtrt_id, total) = his.visit(&psn_no, &lines).await;
                let out = his
                    .ok("2207", His::settle_input(&psn_no, &mdtrt_id, total, *acct))
                    .await;
                let s = &out["setlinfo"];
                check_invariants(s);
                live.push((
                    s["setl_id"].as_str().unwrap().to_owned(),
                    mdtrt_id,
                    money(&s["act_pay_dedc"]),
                    money(&s["hifp_pay"]),
                    money(&s["hifob_pay"]),
                    money(&s["acct_pay"]),
                ));
            }
            Op::Cancel(n) if !live.is_empty() => {
                let (setl_id, mdtrt_id, ..) = live.remove(n % live.len());
                let out = his
                    .ok(
                        "2208",
                        Input::CancelSettlement {
                            setl_id,
                            mdtrt_id,
                            psn_no: psn_no.clone(),
                        },
                    )
                    .await;
                check_invariants(&out["setlinfo"]);
            }
            Op::Cancel(_) => {}
        }
        let (used, pool, tier, balance) = figures(store, &id).await;
        let sum = |i: fn(&Live) -> Money| live.iter().map(i).sum::<Money>();
        assert_eq!(used, sum(|l| l.2), "deductible used");
        assert!(used <= m("100.00"));
        assert_eq!(pool, sum(|l| l.3), "pooled fund");
        assert!(pool <= m("500.00"));
        assert_eq!(tier, sum(|l| l.4), "second tier");
        assert!(tier <= m("300.00"));
        assert_eq!(balance, m("300.00") - sum(|l| l.5), "account");
        assert!(balance >= Money::ZERO);
    }
}

contract!(
    a_transfer_to_suzhou_keeps_the_card_and_moves_the_balance,
    |db| {
        use sscard_store::insurance::TransferInput;
        let store = &db.store;
        let (id, card) = setup(store, "800.00").await;
        // Suzhou: its own (example) policy, its catalogue, a level-2 hospital.
        let suzhou = Policy {
            deductible: m("50.00"),
            ratio_by_level: [f("0.95"), f("0.92"), f("0.88")],
            ratio_pharmacy: f("0.90"),
            pool_cap: m("500.00"),
            second_tier_ratio: f("0.80"),
            second_tier_cap: m("300.00"),
            unfiled_reduction: f("0.20"),
            account: true,
        };
        let row = PolicyRow {
            region: "320500".into(),
            year: 2026,
            insutype: "310".into(),
            med_type: "11".into(),
            policy: suzhou,
        };
        store.load_policies(&ctx(), &[row]).await.unwrap();
        let item = CatalogueRow {
            region: "320500".into(),
            code: "A".into(),
            name: "A".into(),
            item: CatalogueItem {
                class: ItemClass::A,
                selfpay_prop: f("0"),
                price_cap: None,
            },
        };
        store.load_catalogue(&ctx(), &[item]).await.unwrap();
        let code = InstitutionCode::parse("H32050800001").unwrap();
        store
            .register_institutions(
                &ctx(),
                &[InstitutionInput {
                    region: code.region(),
                    level: Some(2),
                    code,
                    name: "苏州市立医院".into(),
                    networked: true,
                }],
            )
            .await
            .unwrap();
        let holder = store.card_holder(&card).await.unwrap();
        let moved = store
            .transfer_insurance(
                &ctx(),
                &TransferInput {
                    id,
                    insutype: "310".into(),
                    to: "320500".into(),
                    employer: None,
                    date: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (moved.from.as_str(), moved.to.as_str()),
            ("321200", "320500")
        );
        assert_eq!(moved.balance_moved, m("800.00"));
        assert_eq!(moved.contribution_months, 81, "2020-01-01 to 2026-10-01");
        // The same card, the whole history, the balance still there.
        assert_eq!(store.card_holder(&card).await.unwrap(), holder);
        assert_eq!(holder.0, id);
        let record = store.insurance_record(&ctx(), &id).await.unwrap();
        assert_eq!(record.enrolments.len(), 2);
        assert_eq!(record.enrolments[0].status, "ended");
        assert_eq!(
            record.enrolments[0].end_date,
            chrono::NaiveDate::from_ymd_opt(2026, 9, 30)
        );
        assert_eq!(record.enrolments[1].region, "320500");
        assert_eq!(record.transfers.len(), 1);
        assert_eq!(record.accounts[0].balance, m("800.00"));
        // In Suzhou: Suzhou's policy, local (no reduction).
        let mut sz = His::at(store, "H32050800001").await;
        let psn_no = sz.psn_no(&id).await;
        let (visit, total) = sz.visit(&psn_no, &[("A", f("100"), f("1"))]).await;
        let out = sz
            .ok("2207", His::settle_input(&psn_no, &visit, total, true))
            .await;
        let s = &out["setlinfo"];
        assert_eq!(s["insuplc_admdvs"], "320500");
        assert_eq!(s["mdtrtarea_admvs"], "320500");
        assert_eq!(s["act_pay_dedc"], "50.00");
        assert_eq!(s["pool_prop_selfpay"], "0.92");
        assert_eq!(s["hifp_pay"], "46.00");
        // Back in Taizhou: cross-region under Suzhou's policy, reduced for want of a filing.
        let mut tz = His::new(store).await;
        let (visit, total) = tz.visit(&psn_no, &[("A", f("100"), f("1"))]).await;
        let out = tz
            .ok("2207", His::settle_input(&psn_no, &visit, total, true))
            .await;
        let s = &out["setlinfo"];
        assert_eq!(s["insuplc_admdvs"], "320500");
        assert_eq!(s["mdtrtarea_admvs"], "321200");
        assert_eq!(s["pool_prop_selfpay"], "0.72");
        assert_eq!(s["act_pay_dedc"], "0.00");
        assert_eq!(s["hifp_pay"], "72.00");
        // A second move to where the person already is, is refused.
        let again = store
            .transfer_insurance(
                &ctx(),
                &TransferInput {
                    id,
                    insutype: "310".into(),
                    to: "320500".into(),
                    employer: None,
                    date: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(
            again,
            sscard_store::StoreError::Refused {
                code: "insurance.same_region",
                ..
            }
        ));
    }
);
