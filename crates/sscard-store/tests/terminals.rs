//! Terminals on both backends: enrolment, the self-test, the online check with real card
//! cryptography (genuine, clone, replay, forged MAC, each card status, supersession), the
//! readiness programme, and checks decided together in one batch.

mod common;

use common::{card_in_use, ctx, t0};
use sscard_chip::card::{CardImage, SoftCard};
use sscard_chip::crypto::Algorithm;
use sscard_chip::issue::IssueData;
use sscard_chip::online::{CheckBody, KeyService, read_for_check, sign_check};
use sscard_chip::terminal::{Psam, in_process};
use sscard_core::{Actor, CheckResult, TerminalState};
use sscard_ids::{CardIdCode, CardNumber, InstitutionCode};
use sscard_store::terminals::CheckKind;
use sscard_store::{Ctx, InstitutionInput, Store, StoreError};

fn institution(code: &str, name: &str) -> InstitutionInput {
    let code = InstitutionCode::parse(code).unwrap();
    InstitutionInput {
        region: code.region(),
        level: Some(2),
        code,
        name: name.into(),
        networked: true,
    }
}

/// A card image of a database card on the service's keys (or another key set: a clone).
async fn image_of(store: &Store, number: &CardNumber, keys: &KeyService) -> CardImage {
    let view = store.card(&ctx(), number).await.unwrap();
    let mut data = IssueData::demo();
    data.card_number = *number;
    data.card_id_code = CardIdCode::parse(view.card_id_code.as_deref().unwrap()).unwrap();
    CardImage::issue(&data, keys.province_keys(Algorithm::Sm4))
}

struct Term {
    number: String,
    institution: String,
    psam: Psam,
    counter: u64,
}

impl Term {
    fn body(&mut self, keys: &KeyService, image: CardImage) -> CheckBody {
        self.counter += 1;
        let mut t = in_process(SoftCard::new(image), self.psam.clone());
        let time = t0().timestamp();
        let read = read_for_check(&mut t, &self.number, self.counter, time).unwrap();
        let mut body = sign_check(
            &keys.terminal_key(&self.number),
            &self.number,
            &self.institution,
            self.counter,
            time,
            &read,
        );
        body.psam_answer = read.psam_answer.map(hex::encode_upper);
        body
    }
}

fn as_terminal(term: &Term) -> Ctx {
    Ctx::at(Actor::terminal(&term.number, &term.institution), t0())
}

async fn check(store: &Store, keys: &KeyService, term: &Term, body: &CheckBody) -> CheckResult {
    store
        .terminal_check(&as_terminal(term), body, keys, CheckKind::Online)
        .await
        .unwrap()
        .result
}

async fn ready_terminal(store: &Store, keys: &KeyService) -> Term {
    let term = ready_terminal_at(store, keys, "H32120200001").await;
    assert!(term.number.starts_with("321202"));
    term
}

async fn ready_terminal_at(store: &Store, keys: &KeyService, code: &str) -> Term {
    ready_terminal_with(store, keys, code, Algorithm::Sm4).await
}

/// A terminal enrolled and self-tested (with its SM4 PSAM and the platform's test card) that
/// then reads cards with the PSAM of `alg`: SM4 for third-generation cards, 3DES in the second
/// PSAM slot for second-generation (legacy) cards.
async fn ready_terminal_with(store: &Store, keys: &KeyService, code: &str, alg: Algorithm) -> Term {
    let enrolled = store.enrol_terminal(&ctx(), code, "sm4", "").await.unwrap();
    assert_eq!(enrolled.state, TerminalState::Enrolled);
    let mut term = Term {
        psam: keys.psam(Algorithm::Sm4, &enrolled.number, &enrolled.device),
        number: enrolled.number,
        institution: code.into(),
        counter: 0,
    };
    let body = term.body(keys, keys.test_card());
    let out = store
        .terminal_check(&as_terminal(&term), &body, keys, CheckKind::Selftest)
        .await
        .unwrap();
    assert_eq!(out.result, CheckResult::Ok);
    term.psam = keys.psam(alg, &term.number, &enrolled.device);
    term
}

contract!(online_check, |db| {
    let store = &db.store;
    let keys = KeyService::test();
    store
        .register_institutions(&ctx(), &[institution("H32120200001", "泰州市人民医院")])
        .await
        .unwrap();
    let mut term = ready_terminal(store, &keys).await;
    let (_, card) = card_in_use(store).await;

    // A genuine card.
    let body = term.body(&keys, image_of(store, &card, &keys).await);
    let out = store
        .terminal_check(&as_terminal(&term), &body, &keys, CheckKind::Online)
        .await
        .unwrap();
    assert_eq!(out.result, CheckResult::Ok);
    assert_eq!(out.card_number.as_deref(), Some(card.as_str()));
    assert_eq!(out.insured_city.as_deref(), Some("321200"));
    assert!(out.check_token.as_deref().is_some_and(|t| t.len() == 64));
    assert_eq!(out.generation.as_deref(), Some("third"));
    // The same request again.
    assert_eq!(
        check(store, &keys, &term, &body).await,
        CheckResult::TerminalReplay
    );
    // One hex digit of the MAC, or of the card number, changed.
    let mut forged = term.body(&keys, image_of(store, &card, &keys).await);
    forged.mac.replace_range(
        0..1,
        if forged.mac.starts_with('0') {
            "1"
        } else {
            "0"
        },
    );
    assert_eq!(
        check(store, &keys, &term, &forged).await,
        CheckResult::TerminalBadMac
    );
    let mut forged = term.body(&keys, image_of(store, &card, &keys).await);
    forged.card_number.replace_range(8..9, "0");
    assert_eq!(
        check(store, &keys, &term, &forged).await,
        CheckResult::TerminalBadMac
    );
    // A clone: the same files on a card with other keys.
    let clone = image_of(store, &card, &KeyService::generate(32)).await;
    let body = term.body(&keys, clone);
    assert_eq!(
        check(store, &keys, &term, &body).await,
        CheckResult::CardNotGenuine
    );
    // A clock far off.
    let mut late = term.body(&keys, image_of(store, &card, &keys).await);
    late.time -= 3600;
    late.mac = hex::encode_upper(sscard_chip::online::request_mac(
        &keys.terminal_key(&term.number),
        &late.mac_text(),
    ));
    assert_eq!(
        check(store, &keys, &term, &late).await,
        CheckResult::RequestStale
    );
    // An unknown card number (validly signed).
    let mut unknown = term.body(&keys, image_of(store, &card, &keys).await);
    unknown.card_number = "T9999999X".into();
    unknown.mac = hex::encode_upper(sscard_chip::online::request_mac(
        &keys.terminal_key(&term.number),
        &unknown.mac_text(),
    ));
    assert_eq!(
        check(store, &keys, &term, &unknown).await,
        CheckResult::CardUnknown
    );

    // Each status gets its code.
    let (_, lost) = card_in_use(store).await;
    store.report_temporary_loss(&ctx(), &lost).await.unwrap();
    let body = term.body(&keys, image_of(store, &lost, &keys).await);
    assert_eq!(
        check(store, &keys, &term, &body).await,
        CheckResult::CardTemporaryLoss
    );
    store.report_formal_loss(&ctx(), &lost).await.unwrap();
    let body = term.body(&keys, image_of(store, &lost, &keys).await);
    assert_eq!(
        check(store, &keys, &term, &body).await,
        CheckResult::CardFormalLoss
    );
    let (_, gone) = card_in_use(store).await;
    store.cancel_card(&ctx(), &gone).await.unwrap();
    let body = term.body(&keys, image_of(store, &gone, &keys).await);
    assert_eq!(
        check(store, &keys, &term, &body).await,
        CheckResult::CardCancelled
    );
    let (_, old) = card_in_use(store).await;
    db.raw(&format!(
        "UPDATE cards SET expiry_date = '2020-01-01' WHERE card_number = '{}'",
        old.as_str()
    ))
    .await
    .unwrap();
    let body = term.body(&keys, image_of(store, &old, &keys).await);
    assert_eq!(
        check(store, &keys, &term, &body).await,
        CheckResult::CardExpired
    );

    // First use of a new card supersedes the old one; the old card is then refused.
    let (_, first) = card_in_use(store).await;
    let body = term.body(&keys, image_of(store, &first, &keys).await);
    assert_eq!(check(store, &keys, &term, &body).await, CheckResult::Ok);
    let new = store
        .exchange(&ctx(), &first)
        .await
        .unwrap()
        .card_number
        .unwrap();
    let body = term.body(&keys, image_of(store, &new, &keys).await);
    assert_eq!(
        check(store, &keys, &term, &body).await,
        CheckResult::CardNotIssued
    );
    let body = term.body(&keys, image_of(store, &first, &keys).await);
    assert_eq!(
        check(store, &keys, &term, &body).await,
        CheckResult::Ok,
        "the old card works until the new one is used"
    );
    store.hand_over(&ctx(), &new).await.unwrap();
    let body = term.body(&keys, image_of(store, &new, &keys).await);
    let out = store
        .terminal_check(&as_terminal(&term), &body, &keys, CheckKind::Online)
        .await
        .unwrap();
    assert_eq!(out.result, CheckResult::Ok);
    assert_eq!(out.superseded, vec![first.as_str().to_owned()]);
    let body = term.body(&keys, image_of(store, &first, &keys).await);
    assert_eq!(
        check(store, &keys, &term, &body).await,
        CheckResult::CardSuperseded
    );
    let old_view = store.card(&ctx(), &first).await.unwrap();
    assert_eq!(old_view.superseded_by, Some(new));
    assert_eq!(
        old_view.financial_status,
        store.card(&ctx(), &first).await.unwrap().financial_status
    );

    // A suspended terminal, then back in service.
    store
        .set_terminal_suspended(&ctx(), &term.number, true)
        .await
        .unwrap();
    let body = term.body(&keys, image_of(store, &new, &keys).await);
    assert_eq!(
        check(store, &keys, &term, &body).await,
        CheckResult::TerminalSuspended
    );
    let state = store
        .set_terminal_suspended(&ctx(), &term.number, false)
        .await
        .unwrap();
    assert_eq!(state, TerminalState::Ready);

    // Every check was recorded; the audit trail has no ID number.
    let registry = store.terminals(&ctx(), Some("H32120200001")).await.unwrap();
    assert!(registry[0].checks >= 18, "{}", registry[0].checks);
    let audit = store.audit_tail(200).await.unwrap();
    let text = format!("{audit:?}");
    assert!(text.contains("terminal.check"));
    assert!(
        !text.contains("32120219"),
        "no ID numbers in the audit trail"
    );
});

contract!(terminal_not_ready_or_foreign, |db| {
    let store = &db.store;
    let keys = KeyService::test();
    store
        .register_institutions(&ctx(), &[institution("H32120200001", "泰州市人民医院")])
        .await
        .unwrap();
    let enrolled = store
        .enrol_terminal(&ctx(), "H32120200001", "sm4", "")
        .await
        .unwrap();
    // A PSAM loaded with another province's keys (Zhejiang, 33).
    let foreign = KeyService::generate(33);
    let mut term = Term {
        psam: foreign.psam(Algorithm::Sm4, &enrolled.number, "X"),
        number: enrolled.number.clone(),
        institution: "H32120200001".into(),
        counter: 0,
    };
    let (_, card) = card_in_use(store).await;
    let body = term.body(&keys, image_of(store, &card, &keys).await);
    assert_eq!(
        check(store, &keys, &term, &body).await,
        CheckResult::TerminalNotReady
    );
    let body = term.body(&keys, keys.test_card());
    let out = store
        .terminal_check(&as_terminal(&term), &body, &keys, CheckKind::Selftest)
        .await
        .unwrap();
    assert_eq!(out.result, CheckResult::TerminalPsamForeign);
    let list = store.terminals(&ctx(), None).await.unwrap();
    assert_eq!(list[0].state, TerminalState::Enrolled);
    // A terminal that says it belongs to another institution is out of scope.
    let other = Ctx::at(Actor::terminal(&enrolled.number, "H32120200002"), t0());
    let body = term.body(&keys, keys.test_card());
    let err = store
        .terminal_check(&other, &body, &keys, CheckKind::Online)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OutOfScope(_)), "{err:?}");
});

contract!(readiness_programme, |db| {
    let store = &db.store;
    let keys = KeyService::test();
    store
        .register_institutions(
            &ctx(),
            &[
                institution("H32120200001", "泰州市人民医院"),
                institution("P32120400017", "海陵大药房"),
            ],
        )
        .await
        .unwrap();
    let _ready = ready_terminal(store, &keys).await;
    let second = store
        .enrol_terminal(&ctx(), "H32120200001", "sm4", "")
        .await
        .unwrap();
    let pharmacy = store
        .enrol_terminal(&ctx(), "P32120400017", "sm4", "")
        .await
        .unwrap();
    assert_ne!(second.number, pharmacy.number);
    let p = store
        .open_problem(&ctx(), &second.number, "reader", "读卡器驱动不支持三代卡")
        .await
        .unwrap();
    store
        .open_problem(&ctx(), &pharmacy.number, "his", "HIS 未上传 card_sn")
        .await
        .unwrap();
    let err = store
        .open_problem(&ctx(), &second.number, "printer", "x")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Refused {
            code: "problem.category",
            ..
        }
    ));
    let lines = store.readiness(&ctx()).await.unwrap();
    let hospitals = lines.iter().find(|l| l.region == "321202").unwrap();
    assert_eq!(
        (
            hospitals.institutions,
            hospitals.terminals,
            hospitals.ready,
            hospitals.open_problems
        ),
        (1, 2, 1, 1)
    );
    assert_eq!(hospitals.ready_permille, 500);
    store
        .resolve_problem(&ctx(), p.number, "换装新驱动")
        .await
        .unwrap();
    let err = store
        .resolve_problem(&ctx(), p.number, "again")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Refused {
            code: "problem.resolved",
            ..
        }
    ));
    assert_eq!(store.problems(&ctx(), true).await.unwrap().len(), 1);
    assert_eq!(store.problems(&ctx(), false).await.unwrap().len(), 2);
});

contract!(old_and_new_card_checked_at_once, |db| {
    let store = &db.store;
    let keys = KeyService::test();
    store
        .register_institutions(&ctx(), &[institution("H32120200001", "泰州市人民医院")])
        .await
        .unwrap();
    let mut a = ready_terminal(store, &keys).await;
    let mut b = ready_terminal(store, &keys).await;
    for _ in 0..4 {
        let (_, old) = card_in_use(store).await;
        let new = store
            .exchange(&ctx(), &old)
            .await
            .unwrap()
            .card_number
            .unwrap();
        store.hand_over(&ctx(), &new).await.unwrap();
        let old_body = a.body(&keys, image_of(store, &old, &keys).await);
        let new_body = b.body(&keys, image_of(store, &new, &keys).await);
        let (old_result, new_result) = tokio::join!(
            check(store, &keys, &a, &old_body),
            check(store, &keys, &b, &new_body)
        );
        // The new card is always accepted; the old one only if it came first.
        assert_eq!(new_result, CheckResult::Ok);
        assert!(
            matches!(old_result, CheckResult::Ok | CheckResult::CardSuperseded),
            "{old_result:?}"
        );
        // One live social-security card: the new one.
        let old_view = store.card(&ctx(), &old).await.unwrap();
        let new_view = store.card(&ctx(), &new).await.unwrap();
        assert_eq!(old_view.superseded_by, Some(new));
        assert_eq!(new_view.superseded_by, None);
        let again = a.body(&keys, image_of(store, &old, &keys).await);
        assert_eq!(
            check(store, &keys, &a, &again).await,
            CheckResult::CardSuperseded
        );
    }
});

contract!(a_batch_decides_each_check_as_alone, |db| {
    let store = &db.store;
    let keys = KeyService::test();
    store
        .register_institutions(
            &ctx(),
            &[
                institution("H32120200001", "泰州市人民医院"),
                institution("H32120200002", "泰州市中医院"),
            ],
        )
        .await
        .unwrap();
    let mut a = ready_terminal(store, &keys).await;
    let mut b = ready_terminal(store, &keys).await;
    let (_, used) = card_in_use(store).await;
    let first = a.body(&keys, image_of(store, &used, &keys).await);
    assert_eq!(check(store, &keys, &a, &first).await, CheckResult::Ok);
    let (_, old) = card_in_use(store).await;
    let new = store
        .exchange(&ctx(), &old)
        .await
        .unwrap()
        .card_number
        .unwrap();
    store.hand_over(&ctx(), &new).await.unwrap();
    let before = store.terminals(&ctx(), None).await.unwrap();

    // Sent at once, in this order: they are queued together and decided in arrival order.
    let ok = a.body(&keys, image_of(store, &used, &keys).await);
    let replayed = ok.clone();
    let first_use = b.body(&keys, image_of(store, &new, &keys).await);
    let old_after = b.body(&keys, image_of(store, &old, &keys).await);
    let mut forged = a.body(&keys, image_of(store, &used, &keys).await);
    forged.mac = format!(
        "{}{}",
        if forged.mac.starts_with('0') {
            "1"
        } else {
            "0"
        },
        &forged.mac[1..]
    );
    let foreign = a.body(&keys, image_of(store, &used, &keys).await);
    let elsewhere = Ctx::at(Actor::terminal(&a.number, "H32120200002"), t0());
    let (ctx_a, ctx_b) = (as_terminal(&a), as_terminal(&b));
    let online = CheckKind::Online;
    let (r1, r2, r3, r4, r5, r6) = tokio::join!(
        store.terminal_check(&ctx_a, &ok, &keys, online),
        store.terminal_check(&ctx_a, &replayed, &keys, online),
        store.terminal_check(&ctx_b, &first_use, &keys, online),
        store.terminal_check(&ctx_b, &old_after, &keys, online),
        store.terminal_check(&ctx_a, &forged, &keys, online),
        store.terminal_check(&elsewhere, &foreign, &keys, online),
    );
    let (r1, r2, r3, r4, r5) = (
        r1.unwrap(),
        r2.unwrap(),
        r3.unwrap(),
        r4.unwrap(),
        r5.unwrap(),
    );
    assert_eq!(r1.result, CheckResult::Ok);
    assert!(r1.check_token.is_some());
    assert_eq!(r2.result, CheckResult::TerminalReplay);
    assert!(r2.check_token.is_none());
    assert_eq!(r3.result, CheckResult::Ok);
    assert_eq!(r3.superseded, vec![old.as_str().to_owned()]);
    assert_eq!(r4.result, CheckResult::CardSuperseded);
    assert_eq!(r5.result, CheckResult::TerminalBadMac);
    assert!(
        matches!(r6, Err(StoreError::OutOfScope(_))),
        "a terminal naming another institution: {r6:?}"
    );
    // Each decided check recorded once (the out-of-scope one is not a check), the last
    // counters kept, the audit chain whole.
    let after = store.terminals(&ctx(), None).await.unwrap();
    let checks = |list: &[sscard_store::terminals::TerminalView]| -> u32 {
        list.iter().map(|t| t.checks).sum()
    };
    assert_eq!(checks(&after) - checks(&before), 5);
    let again = a.body(&keys, image_of(store, &used, &keys).await);
    assert_eq!(check(store, &keys, &a, &again).await, CheckResult::Ok);
    let lowered = CheckBody {
        counter: foreign.counter - 1,
        ..foreign.clone()
    };
    assert_eq!(
        check(store, &keys, &a, &lowered).await,
        CheckResult::TerminalBadMac,
        "the counter is under the MAC"
    );
    let report = store.verify_audit().await.unwrap();
    assert!(report.ok(), "{report:?}");
});

contract!(a_card_checked_online_identifies_its_holder_at_1101, |db| {
    use sscard_store::fsi::{Certificate, Input, Message};
    let store = &db.store;
    let keys = KeyService::test();
    store
        .register_institutions(
            &ctx(),
            &[
                institution("H32120200001", "泰州市人民医院"),
                institution("H32120200002", "海陵区人民医院"),
            ],
        )
        .await
        .unwrap();
    let mut term = ready_terminal(store, &keys).await;
    let (id, card) = card_in_use(store).await;
    store
        .enrol_insurance(
            &ctx(),
            &sscard_store::insurance::EnrolInput {
                id,
                insutype: "310".into(),
                psn_type: "1101".into(),
                region: "321200".into(),
                from: chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
                balance: None,
                employer: None,
            },
        )
        .await
        .unwrap();
    let body = term.body(&keys, image_of(store, &card, &keys).await);
    let out = store
        .terminal_check(&as_terminal(&term), &body, &keys, CheckKind::Online)
        .await
        .unwrap();
    let token = out.check_token.unwrap();
    let card_sn = store
        .card(&ctx(), &card)
        .await
        .unwrap()
        .card_id_code
        .unwrap();
    let mut seq = 0;
    let mut call = async |institution: &str, minutes: i64, input: Input| {
        seq += 1;
        let paasid = store
            .issue_credentials(&ctx(), institution)
            .await
            .unwrap()
            .paasid;
        let msg = |infno: &str, n: u32, input: Input, sign_no: String| Message {
            institution: institution.into(),
            paasid: paasid.clone(),
            nonce: format!("{seq}-{n}"),
            msgid: format!("{institution}{seq:08}{n:010}"),
            infno: infno.into(),
            sign_no,
            opter: "t".into(),
            at: t0() + chrono::Duration::minutes(minutes),
            input,
        };
        let signed = store
            .interface_call(msg(
                "9001",
                1,
                Input::SignIn {
                    opter_no: "t".into(),
                    mac: String::new(),
                    ip: String::new(),
                },
                String::new(),
            ))
            .await
            .unwrap()
            .outcome
            .unwrap();
        let sign_no = signed["signinoutb"]["sign_no"].as_str().unwrap().to_owned();
        store
            .interface_call(msg("1101", 2, input, sign_no))
            .await
            .unwrap()
            .outcome
    };
    let shown = |sn: &str, token: &str| {
        Input::PersonInfo(Certificate::Card {
            number: card.as_str().into(),
            card_sn: sn.into(),
            check_token: token.into(),
        })
    };
    let info = call("H32120200001", 5, shown(&card_sn, &token))
        .await
        .unwrap();
    assert_eq!(info["baseinfo"]["certno"], id.expose());
    assert_eq!(info["insuinfo"][0]["insuplc_admdvs"], "321200");
    let code = |r: Result<serde_json::Value, sscard_store::fsi::Refusal>| r.unwrap_err().code;
    assert_eq!(
        code(call("H32120200001", 5, shown("0000000000000000", &token)).await),
        "card.sn_mismatch"
    );
    // After the token's 30 minutes, at another institution, or with a made-up token.
    for (institution, minutes, token) in [
        ("H32120200001", 31, token.as_str()),
        ("H32120200002", 5, token.as_str()),
        ("H32120200001", 5, "00"),
    ] {
        assert_eq!(
            code(call(institution, minutes, shown(&card_sn, token)).await),
            "card.not_checked"
        );
    }
    // A card reported lost after the check.
    store.report_temporary_loss(&ctx(), &card).await.unwrap();
    assert_eq!(
        code(call("H32120200001", 6, shown(&card_sn, &token)).await),
        "card.lost"
    );
});

contract!(a_pensioner_certifies_anywhere_in_the_province, |db| {
    use sscard_store::insurance::{CertifyAt, EnrolInput};
    let store = &db.store;
    let keys = KeyService::test();
    store
        .register_institutions(&ctx(), &[institution("H32010200001", "南京鼓楼医院")])
        .await
        .unwrap();
    let mut term = ready_terminal_at(store, &keys, "H32010200001").await;
    let retire = |id| EnrolInput {
        id,
        insutype: "310".into(),
        psn_type: "1201".into(),
        region: "321200".into(),
        from: chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap(),
        balance: None,
        employer: None,
    };
    // A Taizhou pensioner with the card in Nanjing: checked online, then certified there.
    let (a, card) = card_in_use(store).await;
    store.enrol_insurance(&ctx(), &retire(a)).await.unwrap();
    let body = term.body(&keys, image_of(store, &card, &keys).await);
    let out = store
        .terminal_check(&as_terminal(&term), &body, &keys, CheckKind::Online)
        .await
        .unwrap();
    let at_terminal = CertifyAt::Terminal {
        card_number: card.as_str().into(),
        check_token: out.check_token.unwrap(),
    };
    let done = store
        .certify_pension(&as_terminal(&term), None, &at_terminal)
        .await
        .unwrap();
    assert_eq!(
        (done.region.as_str(), done.channel.as_str()),
        ("320100", "terminal")
    );
    let status = store.pension_status(&ctx(), &a).await.unwrap();
    assert!(!status.held, "{status:?}");
    // Another institution's terminal cannot use that token.
    let elsewhere = Ctx::at(Actor::terminal("320102000099", "H32120200001"), t0());
    let refused = store.certify_pension(&elsewhere, None, &at_terminal).await;
    assert!(
        matches!(refused, Err(StoreError::OutOfScope(_))),
        "{refused:?}"
    );
    // One certified at a counter 13 months ago is held, with the reason.
    let (b, b_card) = card_in_use(store).await;
    store.enrol_insurance(&ctx(), &retire(b)).await.unwrap();
    store
        .upsert_outlet(
            &ctx(),
            &sscard_store::Outlet {
                code: "SZ-GS-01".into(),
                name_zh: "姑苏区社保服务中心".into(),
                name_en: "Gusu".into(),
                region: "320508".into(),
                kind: "outlet".into(),
                employer_id: None,
            },
        )
        .await
        .unwrap();
    let long_ago = Ctx::at(
        Actor::system("clerk:sz"),
        t0() - chrono::Duration::days(396),
    );
    store
        .certify_pension(&long_ago, Some(&b), &CertifyAt::Outlet("SZ-GS-01".into()))
        .await
        .unwrap();
    let status = store.pension_status(&ctx(), &b).await.unwrap();
    assert!(status.held);
    assert!(status.reason_en.unwrap().contains("more than 12 months"));
    // The month's pension batch: the one certified in Nanjing is paid into the card's account,
    // the one certified 13 months ago is held with the reason.
    let bank = Ctx::at(
        Actor::new(
            "bank:ccb",
            sscard_core::Role::Bank,
            sscard_core::Scope::Bank("105".into()),
        ),
        t0(),
    );
    let account = |n: u32| {
        sscard_ids::BankCardNumber::from_payload(&format!("621700{n:012}"))
            .unwrap()
            .expose()
            .to_owned()
    };
    let opened = |n: u32, card: sscard_ids::CardNumber| sscard_store::bank::BankReportInput {
        reference: format!("open-{n}"),
        card,
        report: sscard_core::BankReport::Opened,
        account: Some(account(n)),
        at: t0(),
    };
    let reports = [opened(1, card), opened(2, b_card)];
    let done = store.bank_reports(&bank, "105", &reports).await.unwrap();
    assert_eq!(done.applied, 2, "{done:?}");
    let input = sscard_store::bank::PaymentBatchInput {
        kind: sscard_core::PaymentKind::Pension,
        period: "2026-11".into(),
        file_sha256: "pension-2026-11".into(),
        rows_read: 2,
        lines: vec![
            (2, a, sscard_core::money::Money::parse("3456.78").unwrap()),
            (3, b, sscard_core::money::Money::parse("2100.00").unwrap()),
        ],
        rejected: Vec::new(),
    };
    let batch = store.create_payment_batch(&ctx(), &input).await.unwrap();
    let sent = store.send_payments(&ctx(), batch.batch_id).await.unwrap();
    assert_eq!(sent.files.len(), 1);
    assert_eq!(
        (sent.files[0].rows, sent.files[0].total.to_string().as_str()),
        (1, "3456.78")
    );
    assert_eq!(sent.held, [("not_certified".to_owned(), 1)]);
    let rows = store
        .payment_order_rows(&ctx(), batch.batch_id, sent.send_no, "105")
        .await
        .unwrap();
    assert_eq!(rows[0].account, account(1));
    let paid = sscard_store::bank::PaymentResultRow {
        row: 2,
        attempt: 1,
        account: account(1),
        amount: sscard_core::money::Money::parse("3456.78").unwrap(),
        outcome: "paid".into(),
    };
    let out = store
        .apply_payment_result(&bank, batch.batch_id, sent.send_no, "105", &[paid])
        .await
        .unwrap();
    assert_eq!(out.file.paid.to_string(), "3456.78");
    let report = store.payment_report(&ctx(), batch.batch_id).await.unwrap();
    assert_eq!(
        report.by_status[0].1.rows, 1,
        "the one certified in Nanjing is paid"
    );
    assert_eq!(report.unpaid[0].code, "payment.not_certified");
    assert!(report.unpaid[0].reason.contains("12 个月"));
    assert!(report.reconciled, "{report:?}");
    // Not a pensioner: nothing to certify.
    let (c, _) = card_in_use(store).await;
    let r = store
        .certify_pension(&ctx(), Some(&c), &CertifyAt::Outlet("SZ-GS-01".into()))
        .await;
    assert!(
        matches!(
            r,
            Err(StoreError::Refused {
                code: "pension.not_pensioner",
                ..
            })
        ),
        "{r:?}"
    );
});

/// A legacy card of the old city system, with the identification code it was issued with, and
/// its image on the province's second-generation (3DES) keys.
async fn legacy_card(
    store: &Store,
    keys: &KeyService,
    seq: u16,
) -> (sscard_ids::ResidentId, CardNumber, CardImage) {
    use sscard_store::bank::{LegacyCardInput, LegacyStatus};
    let id = sscard_ids::ResidentId::from_parts(
        sscard_ids::RegionCode::parse("321202").unwrap(),
        chrono::NaiveDate::from_ymd_opt(1961, 4, 9).unwrap(),
        seq,
    )
    .unwrap();
    let number = CardNumber::from_body(&format!("L{:07}", 5000 + u32::from(seq))).unwrap();
    let code = CardIdCode::new(
        sscard_ids::RegionCode::parse("321200").unwrap(),
        [
            0x00,
            0x4C,
            0x45,
            0x47,
            0x41,
            0x43,
            0x59,
            u8::try_from(seq % 256).unwrap(),
        ],
    );
    store
        .import_legacy_cards(
            &ctx(),
            &[LegacyCardInput {
                id,
                name: sscard_ids::PersonName::parse("吴国华").unwrap(),
                card: number,
                bank: "403".into(),
                account: sscard_ids::BankCardNumber::from_payload(&format!("621799{seq:012}"))
                    .unwrap()
                    .expose()
                    .to_owned(),
                issue_date: chrono::NaiveDate::from_ymd_opt(2018, 6, 1).unwrap(),
                status: LegacyStatus::Normal,
                district: Some("321202".into()),
                card_id_code: Some(code.as_str().to_owned()),
            }],
        )
        .await
        .unwrap();
    let mut data = IssueData::demo();
    data.card_number = number;
    data.card_id_code = code;
    (
        id,
        number,
        CardImage::issue(&data, keys.province_keys(Algorithm::Tdes)),
    )
}

// The migration end to end: a legacy card in use → a booking → check-in at the point → the
// exchange application, the new card made at the point → its first use at a hospital terminal
// → the legacy card is `card.superseded` at its next check while the bank still has its account
// open (and is told); after the cut-over an unexchanged legacy card is `card.legacy_retired`.
contract!(a_legacy_card_is_exchanged_and_superseded, |db| {
    use sscard_core::{FinancialStatus, Half};
    use sscard_store::appointments::{BookRequest, Channel, ExchangePointInput};
    let store = &db.store;
    let keys = KeyService::test();
    store
        .register_institutions(&ctx(), &[institution("H32120200001", "泰州市人民医院")])
        .await
        .unwrap();
    let mut term = ready_terminal(store, &keys).await;
    // The hospital's second reader, for second-generation cards (3DES).
    let mut old_reader = ready_terminal_with(store, &keys, "H32120200001", Algorithm::Tdes).await;
    let (id, legacy, image) = legacy_card(store, &keys, 7).await;
    let body = old_reader.body(&keys, image.clone());
    assert_eq!(
        check(store, &keys, &old_reader, &body).await,
        CheckResult::Ok
    );

    store
        .add_rollout_phase(
            &ctx(),
            &sscard_store::bank::RolloutPhase {
                name: "一期 海陵区".into(),
                from: chrono::NaiveDate::from_ymd_opt(2026, 8, 25).unwrap(),
                districts: vec!["321202".into()],
                groups: vec![],
            },
        )
        .await
        .unwrap();
    store
        .add_exchange_point(
            &ctx(),
            &ExchangePointInput {
                code: "TZ-HL-01".into(),
                name_zh: "海陵区社会保障卡服务中心".into(),
                name_en: "Hailing service centre".into(),
                district: "321202".into(),
                capacity: 200,
            },
        )
        .await
        .unwrap();
    // Booked on the Friday before for Monday morning (t0 is Monday 09:30 in Taizhou).
    let friday = Ctx::at(
        Actor::system("clerk:test"),
        t0() - chrono::Duration::days(3),
    );
    let booking = store
        .book_appointment(
            &friday,
            &BookRequest {
                id,
                name: None,
                point: "TZ-HL-01".into(),
                day: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
                half: Half::Am,
                phone: Some("13812345678".into()),
                channel: Channel::Counter,
            },
        )
        .await
        .unwrap();
    let clerk = Ctx::at(
        Actor::new(
            "clerk:hl",
            sscard_core::Role::Clerk,
            sscard_core::Scope::Outlet("TZ-HL-01".into()),
        ),
        t0(),
    );
    store
        .check_in_appointment(&clerk, &booking.code)
        .await
        .unwrap();
    // The exchange application (06), the card made at the point and handed over.
    let new = store
        .exchange(&clerk, &legacy)
        .await
        .unwrap()
        .card_number
        .unwrap();
    store.hand_over(&clerk, &new).await.unwrap();
    // The old card still works until the new one is used.
    let body = old_reader.body(&keys, image.clone());
    assert_eq!(
        check(store, &keys, &old_reader, &body).await,
        CheckResult::Ok
    );
    // The new card's first use takes over the social-security function.
    let body = term.body(&keys, image_of(store, &new, &keys).await);
    let out = store
        .terminal_check(&as_terminal(&term), &body, &keys, CheckKind::Online)
        .await
        .unwrap();
    assert_eq!(out.result, CheckResult::Ok);
    assert_eq!(out.superseded, vec![legacy.as_str().to_owned()]);
    let body = old_reader.body(&keys, image.clone());
    assert_eq!(
        check(store, &keys, &old_reader, &body).await,
        CheckResult::CardSuperseded
    );
    // The bank: the old card's account stays open, and the bank is told of the new card.
    let old = store.card(&ctx(), &legacy).await.unwrap();
    assert_eq!(old.financial_status, FinancialStatus::Active);
    assert_eq!(old.superseded_by, Some(new));
    let export = store.bank_export(&ctx(), "403", None).await.unwrap();
    let told = serde_json::to_value(&export).unwrap();
    assert!(
        told.to_string().contains("superseded"),
        "the bank is told: {told}"
    );
    let f = store.migration_figures(&ctx()).await.unwrap();
    let hailing = f.districts.iter().find(|d| d.district == "321202").unwrap();
    assert_eq!((hailing.superseded, hailing.pending), (1, 0));

    // After the cut-over a legacy card never exchanged is refused; its bank function stays.
    let (_, late, late_image) = legacy_card(store, &keys, 8).await;
    store
        .set_cutover(
            &ctx(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        )
        .await
        .unwrap();
    let body = old_reader.body(&keys, late_image);
    assert_eq!(
        check(store, &keys, &old_reader, &body).await,
        CheckResult::CardLegacyRetired
    );
    assert_eq!(
        store.card(&ctx(), &late).await.unwrap().financial_status,
        FinancialStatus::Active
    );
    let f = store.migration_figures(&ctx()).await.unwrap();
    assert_eq!((f.unexchanged, f.retired_unexchanged), (1, 1));
});
