//! The old city system's cards taken over, on both backends: UTF-8 and GBK, a 15-digit ID
//! number, two cards of one person (the later one live, the other recorded as replaced), a
//! person who already uses a provincial card (the old one superseded, its bank function kept),
//! bad rows of every kind reported and skipped, and a re-import that changes nothing.

use sscard_core::{ApplicationSource, BusinessType, FinancialStatus, SsStatus};
use sscard_ids::{BankCardNumber, CardNumber, PersonName, ResidentId};
use sscard_import::legacy::{KnownBank, parse_legacy_file};
use sscard_store::testing::TestDb;
use sscard_store::{ApplyRequest, Ctx, PersonInput};

fn banks() -> Vec<KnownBank> {
    vec![KnownBank {
        code: "403".into(),
        short_name: "PSBC".into(),
        name_zh: "中国邮政储蓄银行".into(),
    }]
}

fn card(n: u32) -> CardNumber {
    CardNumber::from_body(&format!("L{n:07}")).unwrap()
}

fn account(n: u32) -> String {
    BankCardNumber::from_payload(&format!("621799{n:012}"))
        .unwrap()
        .expose()
        .to_owned()
}

#[allow(clippy::too_many_lines)] // one take-over, told in order
async fn take_over(db: TestDb) {
    let store = &db.store;
    let ctx = Ctx::system("operator:test");
    // Someone who already uses a provincial card.
    let newcomer = ResidentId::parse("321204197506152022").unwrap();
    let req = ApplyRequest {
        person: PersonInput::new(newcomer, PersonName::parse("王芳").unwrap()),
        bank: "CCB".into(),
        kind: BusinessType::New,
        source: ApplicationSource::Individual,
        instant: true,
        outlet: None,
    };
    let provincial = store.apply(&ctx, &req).await.unwrap().card_number.unwrap();
    store.hand_over(&ctx, &provincial).await.unwrap();
    store.activate_ss(&ctx, &provincial).await.unwrap();
    let (a1, a2, a3, a4, a5) = (account(1), account(2), account(3), account(4), account(5));
    let text = format!(
        "卡号,社会保障号码,姓名,发卡日期,卡状态,开户银行,银行账号,所属区县\n\
         {},321202198808081014,张三,2009-05-01,正常,403,{a1},321202\n\
         {},321202198808081014,张三,2014-08-01,正常,PSBC,{a2},321202\n\
         {},321204800101123,李四,2010-05-01,挂失,中国邮政储蓄银行,{a3},321204\n\
         {},321204197506152022,王芳,2011-01-01,正常,403,{a4},321204\n\
         {},320102199003071116,赵六,2012-03-01,正常,403,{a5},321281\n\
         L0000009Z,320102199003071116,赵六,2012-03-01,正常,403,{a5},321281\n\
         {},320102199003071117,赵六,2012-03-01,正常,403,{a5},321281\n\
         {},320102199003071116,赵六,2012-03-01,正常,ICBC,{a5},321281\n\
         {},320102199003071116,赵六,2012-03-01,正常,403,{a5},320102\n\
         {},320102199003071116,赵六,2012-03-01,正常,403,{a5},321281\n",
        card(1),
        card(2),
        card(3),
        card(4),
        card(5),
        card(7),
        card(8),
        card(10),
        card(5),
    );
    let file = parse_legacy_file(text.as_bytes(), &banks(), "3212").unwrap();
    assert_eq!(file.rows, 10);
    let codes: Vec<(usize, &str)> = file
        .rejected
        .iter()
        .map(|p| (p.row, p.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            (7, "card_number.character"),
            (8, "resident_id.check_character"),
            (9, "legacy.bank"),
            (10, "legacy.district"),
            (11, "row.duplicate"),
        ],
        "{:?}",
        file.rejected
    );
    assert!(file.lines[2].upgraded, "the 15-digit number of row 4");
    let cards: Vec<_> = file.lines.iter().map(|l| l.card.clone()).collect();
    let out = store.import_legacy_cards(&ctx, &cards).await.unwrap();
    assert_eq!(
        (out.accepted, out.already, out.superseded),
        (5, 0, 2),
        "{out:?}"
    );
    let notes: Vec<(&str, &str, &str)> = out
        .notes
        .iter()
        .map(|n| (n.card_number.as_str(), n.code.as_str(), n.by.as_str()))
        .collect();
    assert_eq!(
        notes,
        [
            (card(1).as_str(), "legacy.replaced", card(2).as_str()),
            (card(4).as_str(), "legacy.superseded", provincial.as_str()),
        ]
    );
    // The later card is the live one; the replaced and the superseded keep their bank function.
    let live = store.card(&ctx, &card(2)).await.unwrap();
    assert_eq!(
        (live.ss_status, live.superseded_by),
        (SsStatus::Normal, None)
    );
    let replaced = store.card(&ctx, &card(1)).await.unwrap();
    assert_eq!(replaced.superseded_by, Some(card(2)));
    assert_eq!(replaced.financial_status, FinancialStatus::Active);
    let old = store.card(&ctx, &card(4)).await.unwrap();
    assert_eq!(
        (old.superseded_by, old.financial_status),
        (Some(provincial), FinancialStatus::Active)
    );
    let lost = store.card(&ctx, &card(3)).await.unwrap();
    assert_eq!(
        (lost.ss_status, lost.financial_status),
        (SsStatus::FormalLoss, FinancialStatus::Frozen)
    );
    // The rollout: Hailing first (from 25 August), the rest of the city later.
    let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    for (name, from, districts) in [
        ("海陵区首批", "2026-08-25", vec!["321202".to_owned()]),
        ("全市", "2027-03-01", vec![]),
    ] {
        let phase = sscard_store::bank::RolloutPhase {
            name: name.into(),
            from: day(from),
            districts,
            groups: Vec::new(),
        };
        store.add_rollout_phase(&ctx, &phase).await.unwrap();
    }
    let in_september = Ctx::at(
        sscard_core::Actor::system("clerk:test"),
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 9, 1, 2, 0, 0).unwrap(),
    );
    let hailing = store
        .rollout_eligible(
            &in_september,
            &ResidentId::parse("321202198808081014").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        (hailing.eligible, hailing.phase.as_deref()),
        (true, Some("海陵区首批"))
    );
    let xinghua = store
        .rollout_eligible(
            &in_september,
            &ResidentId::parse("320102199003071116").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        (xinghua.eligible, xinghua.from),
        (false, Some(day("2027-03-01")))
    );
    assert!(xinghua.reason_en.contains("no need to rush"), "{xinghua:?}");
    let lost = store
        .rollout_eligible(&in_september, &file.lines[2].card.id)
        .await
        .unwrap();
    assert!(lost.eligible, "a reissue is never held back: {lost:?}");
    let newcomer_id = ResidentId::parse("321202199003071112").unwrap();
    assert!(
        store
            .rollout_eligible(&in_september, &newcomer_id)
            .await
            .unwrap()
            .eligible
    );
    // An exchange before the phase opens is refused with the date; in an open district it goes.
    let early = store.exchange(&in_september, &card(5)).await;
    match early {
        Err(sscard_store::StoreError::Refused { code, en, .. }) => {
            assert_eq!(code, "rollout.not_open");
            assert!(en.contains("2027-03-01"), "{en}");
        }
        other => panic!("{other:?}"),
    }
    store.exchange(&in_september, &card(2)).await.unwrap();
    // The same file again, now in GBK: nothing changes.
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let again = parse_legacy_file(&gbk, &banks(), "3212").unwrap();
    assert_eq!(again.lines, file.lines);
    let cards: Vec<_> = again.lines.iter().map(|l| l.card.clone()).collect();
    let out = store.import_legacy_cards(&ctx, &cards).await.unwrap();
    assert_eq!((out.accepted, out.already, out.notes.len()), (0, 5, 0));
    db.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn legacy_cards_taken_over_sqlite() {
    take_over(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn legacy_cards_taken_over_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    take_over(db).await;
}
