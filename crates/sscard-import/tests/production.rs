//! The production chain end to end on both backends: upload → banks (one failure, retried) →
//! factory (one failure, retried) → key personalisation → card images a terminal reads →
//! received at the outlet. Tampered and misdirected result files change nothing.

use std::fmt::Write as _;

use chrono::NaiveDate;
use sscard_chip::card::SoftCard;
use sscard_chip::crypto::Algorithm;
use sscard_chip::keys::test_province_keys;
use sscard_chip::terminal::{InProcess, Psam, Terminal};
use sscard_exchange::{Envelope, ExchangeError, FailPlan, Kind, sim_bank, sim_factory};
use sscard_ids::{Bilingual, CreditCode, RegionCode, ResidentId};
use sscard_import::pipeline::import_upload;
use sscard_import::production::{self, ExchangeKeys, ProductionError};
use sscard_photo::Profile;
use sscard_photo::synth::{Source, Variation};
use sscard_store::testing::TestDb;
use sscard_store::{Ctx, Outlet};

const NOW: &str = "2026-11-28T09:00:00Z";

fn id(n: u16) -> ResidentId {
    let birth =
        NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Duration::days(i64::from(n) * 97);
    ResidentId::from_parts(RegionCode::parse("321202").unwrap(), birth, n).unwrap()
}

fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut out);
        for (name, data) in entries {
            w.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap();
    }
    out.into_inner()
}

fn status_of(e: &ProductionError) -> String {
    e.to_string()
}

#[allow(clippy::too_many_lines)] // one story, told in order
async fn chain(db: TestDb) {
    let store = &db.store;
    let ctx = Ctx::system("operator:test");
    let employer = CreditCode::from_body("91321200MA1MXK8P0").unwrap();
    store
        .register_employer(
            &ctx,
            &employer,
            "泰州示例制药有限公司",
            RegionCode::parse("321200").unwrap(),
        )
        .await
        .unwrap();
    store
        .upsert_outlet(
            &ctx,
            &Outlet {
                code: "TZ-SITE-01".into(),
                name_zh: "示例制药厂区发卡点".into(),
                name_en: "Pharma site point".into(),
                region: "321203".into(),
                kind: "employer_site".into(),
                employer_id: Some(store.employer(&employer).await.unwrap().id),
            },
        )
        .await
        .unwrap();
    let names = ["张一", "李二", "王三", "刘四", "陈五"];
    let banks = ["CCB", "CCB", "ABC", "CCB", "ABC"];
    let mut csv = "姓名,身份证号码,合作银行\n".to_owned();
    let mut photos = Vec::new();
    for (i, (name, bank)) in names.iter().zip(banks).enumerate() {
        let n = i as u16 + 1;
        writeln!(csv, "{name},{},{bank}", id(n).expose()).unwrap();
        photos.push((
            format!("{}.jpg", id(n).expose()),
            Variation::badge(Source::ALL[i % 2]).jpeg(),
        ));
    }
    let up = import_upload(
        store,
        &ctx,
        &employer,
        "list.csv",
        csv.into_bytes(),
        Some(zip_of(&photos)),
        &Profile::jiangsu(),
    )
    .await
    .unwrap();
    assert_eq!(up.outcome.accepted, 5, "{:?}", up.outcome.rejected);
    let batch = up.outcome.batch_id;
    let keys = ExchangeKeys::demo();
    let dir = tempfile::tempdir().unwrap();

    // Banks: one file per bank; CCB fails its second row.
    let files = production::send_to_banks(store, &ctx, batch, &keys, dir.path())
        .await
        .unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(
        store
            .batch(&sscard_store::Ctx::system("system:test"), batch)
            .await
            .unwrap()
            .summary
            .status,
        20
    );
    let mut results = Vec::new();
    for f in &files {
        let bank = if f.to_string_lossy().contains("-105-") {
            "105"
        } else {
            "103"
        };
        let plan = FailPlan {
            seqs: if bank == "105" {
                vec!["2".into()]
            } else {
                vec![]
            },
            rate: 0.0,
        };
        let k = keys.partner(bank);
        results.push(sim_bank(&std::fs::read(f).unwrap(), &k, &k, &plan, NOW).unwrap());
    }
    // A result altered in transit is refused whole; one for another batch too.
    let mut tampered = results[0].clone();
    let at = tampered.windows(4).position(|w| w == b"|OK|").unwrap() + 4;
    tampered[at] = if tampered[at] == b'6' { b'5' } else { b'6' };
    let err = production::record_bank_file(store, &ctx, batch, &keys, &tampered)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProductionError::Exchange(ExchangeError::BadSignature)),
        "{}",
        status_of(&err)
    );
    let err = production::record_bank_file(store, &ctx, batch + 1, &keys, &results[0])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ProductionError::Exchange(ExchangeError::Unexpected { .. })
    ));
    assert_eq!(
        store
            .batch(&sscard_store::Ctx::system("system:test"), batch)
            .await
            .unwrap()
            .steps,
        vec![("bank_sent".to_owned(), 5)]
    );
    let mut failed = 0;
    for r in &results {
        let report = production::record_bank_file(store, &ctx, batch, &keys, r)
            .await
            .unwrap();
        failed += report.failed;
    }
    assert_eq!(failed, 1);
    // The same result again changes nothing.
    let again = production::record_bank_file(store, &ctx, batch, &keys, &results[0])
        .await
        .unwrap();
    assert_eq!((again.done, again.failed), (0, 0));
    let d = store
        .batch(&sscard_store::Ctx::system("system:test"), batch)
        .await
        .unwrap();
    assert_eq!(d.summary.status, 21);
    assert_eq!(
        d.steps,
        vec![("bank_ok".to_owned(), 4), ("bank_failed".to_owned(), 1)]
    );
    // Retry: only the failed row goes again, and this time the bank opens the account.
    let retry = production::send_to_banks(store, &ctx, batch, &keys, &dir.path().join("retry"))
        .await
        .unwrap();
    assert_eq!(retry.len(), 1);
    let k = keys.partner("105");
    let text = std::fs::read(&retry[0]).unwrap();
    assert_eq!(Envelope::parse(&text, &k).unwrap().rows.len(), 1);
    let answer = sim_bank(&text, &k, &k, &FailPlan::default(), NOW).unwrap();
    assert_eq!(
        production::record_bank_file(store, &ctx, batch, &keys, &answer)
            .await
            .unwrap()
            .done,
        1
    );
    assert_eq!(
        store
            .batch(&sscard_store::Ctx::system("system:test"), batch)
            .await
            .unwrap()
            .steps,
        vec![("bank_ok".to_owned(), 5)]
    );

    // Factory: one order with photos; the first card fails inspection and is made again.
    let factory = production::DEFAULT_FACTORY;
    let fk = keys.partner(factory);
    let order = production::send_to_factory(store, &ctx, batch, &keys, factory, dir.path())
        .await
        .unwrap();
    assert_eq!(
        store
            .batch(&sscard_store::Ctx::system("system:test"), batch)
            .await
            .unwrap()
            .summary
            .status,
        30
    );
    let package = std::fs::read(&order).unwrap();
    let result = sim_factory(
        &package,
        &fk,
        &fk,
        &FailPlan {
            seqs: vec!["1".into()],
            rate: 0.0,
        },
        NOW,
    )
    .unwrap();
    let report = production::record_factory_file(store, &ctx, batch, &keys, &result)
        .await
        .unwrap();
    assert_eq!((report.done, report.failed, report.status), (4, 1, 31));
    let order2 = production::send_to_factory(
        store,
        &ctx,
        batch,
        &keys,
        factory,
        &dir.path().join("retry"),
    )
    .await
    .unwrap();
    let package2 = std::fs::read(&order2).unwrap();
    let (reorder, _) = sscard_exchange::open_card_order(&package2, &fk).unwrap();
    assert_eq!(
        reorder.rows.len(),
        1,
        "only the failed card is ordered again"
    );
    let first = Envelope::parse(
        &sscard_exchange::open_card_order(&package, &fk)
            .unwrap()
            .0
            .to_bytes(&fk)
            .unwrap(),
        &fk,
    )
    .unwrap();
    assert_eq!(
        reorder.rows[0][5], first.rows[0][5],
        "with the same card number"
    );
    let remade = sim_factory(&package2, &fk, &fk, &FailPlan::default(), NOW).unwrap();
    assert_eq!(
        production::record_factory_file(store, &ctx, batch, &keys, &remade)
            .await
            .unwrap()
            .done,
        1
    );
    let d = store
        .batch(&sscard_store::Ctx::system("system:test"), batch)
        .await
        .unwrap();
    assert_eq!(d.summary.cards, 5);
    assert_eq!(d.steps, vec![("made".to_owned(), 5)]);
    assert_eq!(
        Envelope::parse(&remade, &fk).unwrap().kind,
        Kind::CardResult
    );

    // Key personalisation: one card image per card, read by a terminal holding the province keys.
    let province = test_province_keys(Algorithm::Sm4);
    let (report, images) = production::personalise(
        store,
        &ctx,
        batch,
        &province,
        true,
        &dir.path().join("images"),
    )
    .await
    .unwrap();
    assert_eq!((report.done, report.status), (5, 41));
    assert_eq!(images.len(), 5);
    let made = store
        .production_rows(batch, &["personalised"])
        .await
        .unwrap();
    for path in &images {
        let image = sscard_chip::file::image_from_json(&std::fs::read_to_string(path).unwrap())
            .unwrap()
            .0;
        let psam = Psam {
            terminal_id: "321200000001".into(),
            device_id: "TEST".into(),
            keys: province.clone(),
            counter: 0,
        };
        let mut t = Terminal::new(InProcess::new(SoftCard::new(image)), psam);
        let basics = t.read_basics().unwrap();
        t.internal_authenticate().expect("a genuine card");
        t.external_authenticate().expect("a genuine terminal");
        let photo = t.read_photo().unwrap();
        let row = made
            .iter()
            .find(|r| r.card_number.as_deref() == Some(basics.card_number.as_str()))
            .unwrap();
        assert_eq!(basics.ssn, row.ssn);
        assert_eq!(
            photo,
            row.chip_photo.clone().unwrap(),
            "EF08 holds the chip photo"
        );
        assert!(t.read_card_bas().unwrap().contains(&basics.card_number));
    }

    // Received at the employer's site point: applications await pickup there.
    let report = store
        .receive_batch(&ctx, batch, "TZ-SITE-01")
        .await
        .unwrap();
    assert_eq!((report.done, report.status), (5, 60));
    let person = store
        .person(&sscard_store::Ctx::system("system:test"), &id(3))
        .await
        .unwrap();
    assert_eq!(
        person.applications[0].status.code(),
        "02",
        "{:?}",
        person.applications
    );
    let err = store
        .receive_batch(&ctx, batch, "TZ-SITE-01")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "batch.transition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_chain_sqlite() {
    chain(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_chain_postgres() {
    if let Some(db) = TestDb::postgres().await {
        chain(db).await;
    }
}
