//! Benefit payments and the status exchange through the signed files, on both backends:
//! a batch of 10,000 rows across the five banks with bad rows, frozen and closed accounts, a
//! name mismatch and an exchanged card — files, results, retries and held rows add up to the
//! batch total to the cent, and a result applied twice changes nothing; formal loss travels
//! from either side.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sscard_core::money::Money;
use sscard_core::{Actor, BankReport, PaymentKind, Role, Scope, SsStatus};
use sscard_exchange::{Envelope, Kind, PaymentFailPlan, sim_bank_payments};
use sscard_ids::{BankCardNumber, CardNumber, PersonName, RegionCode, ResidentId};
use sscard_import::bank_files::{self, StatusLine};
use sscard_import::production::{ExchangeKeys, ProductionError};
use sscard_store::bank::{LegacyCardInput, LegacyStatus};
use sscard_store::testing::TestDb;
use sscard_store::{Ctx, PersonInput, Store};

const BANKS: [&str; 5] = ["105", "103", "301", "314", "403"];

fn t(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap() + Duration::hours(hours)
}

fn at(hours: i64) -> Ctx {
    Ctx::at(Actor::system("operator:test"), t(hours))
}

fn id(n: u32) -> ResidentId {
    let birth = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + Duration::days(i64::from(n / 900));
    let region = ["321202", "321203", "321204", "321281", "321282"][(n % 5) as usize];
    ResidentId::from_parts(RegionCode::parse(region).unwrap(), birth, (n % 900) as u16).unwrap()
}

fn account(bank: &str, n: u32) -> String {
    let bin = match bank {
        "105" => "621700",
        "103" => "622848",
        "301" => "622262",
        "314" => "623199",
        _ => "621799",
    };
    BankCardNumber::from_payload(&format!("{bin}{n:012}"))
        .unwrap()
        .expose()
        .to_owned()
}

fn legacy_card(n: u32) -> CardNumber {
    CardNumber::from_body(&format!("L{n:07}")).unwrap()
}

fn amount(n: u32) -> Money {
    Money::from_cents(150_000 + i64::from(n % 997) * 37)
}

/// 10,000 payees on old cards, spread over the five banks.
async fn seed(store: &Store) {
    let cards: Vec<LegacyCardInput> = (0..10_000)
        .map(|n| {
            let bank = BANKS[(n % 5) as usize];
            LegacyCardInput {
                id: id(n),
                name: PersonName::parse(
                    ["王小明", "李秀英", "张伟", "刘洋", "陈静"][(n % 5) as usize],
                )
                .unwrap(),
                card: legacy_card(n),
                bank: bank.into(),
                account: account(bank, n),
                issue_date: NaiveDate::from_ymd_opt(2012, 3, 1).unwrap(),
                status: LegacyStatus::Normal,
                district: None,
                card_id_code: None,
            }
        })
        .collect();
    let out = store.import_legacy_cards(&at(0), &cards).await.unwrap();
    assert_eq!((out.accepted, out.already), (10_000, 0));
    // Importing the same cards again changes nothing.
    let again = store.import_legacy_cards(&at(0), &cards).await.unwrap();
    assert_eq!((again.accepted, again.already), (0, 10_000));
}

fn status_file(
    keys: &ExchangeKeys,
    bank: &str,
    no: i64,
    lines: &[(CardNumber, BankReport, Option<String>, i64)],
) -> Vec<u8> {
    let lines: Vec<StatusLine> = lines
        .iter()
        .enumerate()
        .map(|(i, (card, report, account, hours))| StatusLine {
            reference: format!("{i}"),
            card: *card,
            report: *report,
            account: account.clone(),
            at: t(*hours),
        })
        .collect();
    bank_files::bank_status_bytes(keys, bank, no, "2026-12-01T09:00:00Z", &lines).unwrap()
}

/// Answers every file of a send as its bank would, failing the rows named.
async fn answer(
    store: &Store,
    ctx: &Ctx,
    keys: &ExchangeKeys,
    batch: i64,
    files: &[std::path::PathBuf],
    fail: &[(u32, &str)],
) -> Vec<Vec<u8>> {
    let mut answers = Vec::new();
    for path in files {
        let bytes = std::fs::read(path).unwrap();
        let bank = sscard_exchange::partner_of(&bytes).unwrap();
        let plan = PaymentFailPlan {
            rows: fail
                .iter()
                .map(|(row, o)| (row.to_string(), (*o).to_owned()))
                .collect(),
            ..PaymentFailPlan::default()
        };
        let key = keys.partner(&bank);
        let result = sim_bank_payments(&bytes, &key, &key, &plan, "2026-12-01T10:00:00Z").unwrap();
        let out = bank_files::apply_payment_result_file(store, ctx, keys, batch, &result)
            .await
            .unwrap();
        assert!(!out.already_applied);
        answers.push(result);
    }
    answers
}

#[allow(clippy::too_many_lines)] // one story, told in order
async fn ten_thousand(db: TestDb) {
    let store = &db.store;
    let keys = ExchangeKeys::demo();
    seed(store).await;
    let dir = tempfile::tempdir().unwrap();

    // One payee exchanges the old card at the counter: the new card's account is not open yet.
    let exchanged = 9_999_u32;
    let old_card = legacy_card(exchanged);
    let replacement = store.exchange(&at(1), &old_card).await.unwrap();
    let new_card = replacement.card_number.unwrap();

    // The file: 10,000 good rows (row n + 2 pays payee n) and five bad ones.
    let mut csv = String::from("id_number,amount\n");
    let mut total = Money::ZERO;
    for n in 0..10_000 {
        let _ = writeln!(csv, "{},{}", id(n).expose(), amount(n));
        total += amount(n);
    }
    let unknown = id(20_000);
    let bad_check = {
        let mut s = id(1).expose().to_owned();
        let last = if s.ends_with('0') { '1' } else { '0' };
        s.pop();
        s.push(last);
        s
    };
    let _ = write!(
        csv,
        "{bad_check},10.00\n{},-5\n{},12.345\n{},1.00\n{},88.00\n",
        id(2).expose(),
        id(3).expose(),
        id(4).expose(),
        unknown.expose()
    );
    let created = bank_files::create_payment_batch(
        store,
        &at(1),
        PaymentKind::Subsidy,
        "2026-11",
        csv.as_bytes(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((created.rows, created.accepted), (10_005, 10_000));
    assert_eq!(created.total, total);
    let codes: Vec<(usize, &str)> = created
        .rejected
        .iter()
        .map(|r| (r.row, r.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            (10_002, "resident_id.check_character"),
            (10_003, "payment.amount"),
            (10_004, "decimal.invalid"),
            (10_005, "row.duplicate"),
            (10_006, "payment.unknown_person"),
        ],
        "{:?}",
        created.rejected
    );
    // The same file is not paid twice.
    let twice = bank_files::create_payment_batch(
        store,
        &at(1),
        PaymentKind::Subsidy,
        "2026-11",
        csv.as_bytes(),
    )
    .await
    .unwrap();
    assert!(
        matches!(
            twice,
            Err(sscard_store::StoreError::Refused {
                code: "payment.duplicate_file",
                ..
            })
        ),
        "{twice:?}"
    );
    let batch = created.batch_id;

    // First send: one file per bank, every row to the payee's account.
    let send = store.send_payments(&at(2), batch).await.unwrap();
    assert_eq!(send.files.len(), 5);
    assert!(send.held.is_empty(), "{:?}", send.held);
    assert_eq!(send.files.iter().map(|f| f.rows).sum::<i64>(), 10_000);
    assert_eq!(
        send.files.iter().fold(Money::ZERO, |a, f| a + f.total),
        total
    );
    let files = bank_files::write_payment_files(store, &at(2), &keys, &send, dir.path())
        .await
        .unwrap();
    assert_eq!(files.len(), 5);
    // The exchanged payee is paid to the old card's account (the new one has none yet).
    let psbc = std::fs::read(
        files
            .iter()
            .find(|f| f.to_string_lossy().contains("-403-"))
            .unwrap(),
    )
    .unwrap();
    let order = Envelope::parse(&psbc, &keys.partner("403")).unwrap();
    let row = order
        .rows
        .iter()
        .find(|r| r[0] == (exchanged + 2).to_string())
        .unwrap();
    assert_eq!(row[5], account("403", exchanged));

    // The banks answer: two frozen (CCB), one closed (ABC), one name mismatch (BoCom), and the
    // old card's account closed after the exchange (PSBC).
    let (frozen_a, frozen_b, closed, misnamed) = (5_u32, 10_u32, 1_u32, 2_u32);
    let fail = [
        (frozen_a + 2, "account_frozen"),
        (frozen_b + 2, "account_frozen"),
        (closed + 2, "account_closed"),
        (misnamed + 2, "name_mismatch"),
        (exchanged + 2, "account_closed"),
    ];
    let answers = answer(store, &at(3), &keys, batch, &files, &fail).await;
    // A result applied twice changes nothing.
    let before = store.payment_report(&at(3), batch).await.unwrap();
    let again = bank_files::apply_payment_result_file(store, &at(3), &keys, batch, &answers[0])
        .await
        .unwrap();
    assert!(again.already_applied);
    assert_eq!(store.payment_report(&at(3), batch).await.unwrap(), before);
    // A tampered result is refused whole.
    let mut tampered = answers[1].clone();
    let at_paid = tampered.windows(4).position(|w| w == b"paid").unwrap();
    tampered[at_paid..at_paid + 4].copy_from_slice(b"PAID");
    let refused =
        bank_files::apply_payment_result_file(store, &at(3), &keys, batch, &tampered).await;
    assert!(
        matches!(refused, Err(ProductionError::Exchange(_))),
        "{refused:?}"
    );
    let failed_amount = fail
        .iter()
        .fold(Money::ZERO, |a, (row, _)| a + amount(row - 2));
    assert_eq!(
        before.by_status[0],
        (
            "paid".to_owned(),
            sscard_store::bank::Tally {
                rows: 9_995,
                amount: total - failed_amount
            }
        )
    );
    assert!(before.reconciled, "{before:?}");

    // Causes go away: CCB unfreezes one account; the exchanged payee uses the new card and
    // PSBC opens its account; the misnamed payee's record is corrected.
    let ccb = status_file(
        &keys,
        "105",
        1,
        &[
            (legacy_card(frozen_a), BankReport::Frozen, None, 3),
            (legacy_card(frozen_a), BankReport::Unfrozen, None, 4),
        ],
    );
    let (bank, applied) = bank_files::import_bank_status(store, &at(4), &keys, &ccb)
        .await
        .unwrap();
    assert_eq!((bank.as_str(), applied.applied), ("105", 2), "{applied:?}");
    store.hand_over(&at(4), &new_card).await.unwrap();
    store.record_use(&at(4), &new_card).await.unwrap();
    let new_account = account("403", 50_000);
    let psbc_status = status_file(
        &keys,
        "403",
        1,
        &[(new_card, BankReport::Opened, Some(new_account.clone()), 4)],
    );
    let (_, applied) = bank_files::import_bank_status(store, &at(4), &keys, &psbc_status)
        .await
        .unwrap();
    assert_eq!(applied.applied, 1, "{applied:?}");
    store
        .register_people(
            &at(4),
            &[PersonInput::new(
                id(misnamed),
                PersonName::parse("李秀英").unwrap(),
            )],
        )
        .await
        .unwrap();

    // Second send: the unfrozen, the corrected and the exchanged go again (the last to the new
    // card's account); the other frozen and the closed one are held with the reason.
    let send2 = store.send_payments(&at(5), batch).await.unwrap();
    assert_eq!(
        send2.files.iter().map(|f| f.rows).sum::<i64>(),
        3,
        "{send2:?}"
    );
    let mut held = send2.held.clone();
    held.sort();
    assert_eq!(
        held,
        [
            ("account_closed".to_owned(), 1),
            ("account_frozen".to_owned(), 1)
        ]
    );
    let files2 = bank_files::write_payment_files(store, &at(5), &keys, &send2, dir.path())
        .await
        .unwrap();
    let psbc2 = std::fs::read(
        files2
            .iter()
            .find(|f| f.to_string_lossy().contains("-403-"))
            .unwrap(),
    )
    .unwrap();
    let order2 = Envelope::parse(&psbc2, &keys.partner("403")).unwrap();
    assert_eq!(order2.kind, Kind::PaymentOrder);
    assert_eq!(
        (order2.rows[0][1].as_str(), order2.rows[0][5].as_str()),
        ("2", new_account.as_str())
    );
    // A result signed by the bank but for another amount is refused whole, naming the row.
    let key = keys.partner("403");
    let honest = sim_bank_payments(
        &psbc2,
        &key,
        &key,
        &PaymentFailPlan::default(),
        "2026-12-01T11:00:00Z",
    )
    .unwrap();
    let mut forged = Envelope::parse(&honest, &key).unwrap();
    forged.rows[0][4] = "1.00".into();
    let refused = bank_files::apply_payment_result_file(
        store,
        &at(6),
        &keys,
        batch,
        &forged.to_bytes(&key).unwrap(),
    )
    .await;
    match refused {
        Err(ProductionError::Store(sscard_store::StoreError::Refused { code, en, .. })) => {
            assert_eq!(code, "payment.result_mismatch");
            assert!(en.contains(&format!("row {}", exchanged + 2)), "{en}");
        }
        other => panic!("{other:?}"),
    }
    answer(store, &at(6), &keys, batch, &files2, &[]).await;

    // Everything adds up to the cent: paid + held = the batch; every file = paid + failed.
    let report = store.payment_report(&at(6), batch).await.unwrap();
    assert!(report.reconciled, "{report:?}");
    let status = |s: &str| {
        report
            .by_status
            .iter()
            .find(|(k, _)| k == s)
            .unwrap()
            .1
            .clone()
    };
    let held_amount = amount(frozen_b) + amount(closed);
    assert_eq!(status("paid").rows, 9_998);
    assert_eq!(status("paid").amount, total - held_amount);
    assert_eq!(status("held").rows, 2);
    assert_eq!(
        status("paid").amount + status("held").amount,
        report.accepted.amount
    );
    let carried: Money = report
        .by_bank
        .iter()
        .fold(Money::ZERO, |a, b| a + b.sent.amount);
    let failed: Money = report
        .by_bank
        .iter()
        .fold(Money::ZERO, |a, b| a + b.failed.amount);
    assert_eq!(
        carried,
        total + amount(frozen_a) + amount(misnamed) + amount(exchanged)
    );
    assert_eq!(carried - failed, status("paid").amount);
    assert_eq!(report.by_bank.len(), 5);
    let unpaid: Vec<(i64, &str)> = report
        .unpaid
        .iter()
        .map(|u| (u.row, u.code.as_str()))
        .collect();
    assert_eq!(
        unpaid,
        [
            (i64::from(closed) + 2, "payment.account_closed"),
            (i64::from(frozen_b) + 2, "payment.account_frozen")
        ]
    );
    assert!(
        !report.unpaid[0]
            .id_masked
            .contains(&id(closed).expose()[6..14]),
        "masked"
    );
    assert_eq!(report.rejections.len(), 5);

    // A bank sees its own files only.
    let ccb_actor = Ctx::at(
        Actor::new("bank:ccb", Role::Bank, Scope::Bank("105".into())),
        t(7),
    );
    let own = store.payment_report(&ccb_actor, batch).await.unwrap();
    assert_eq!(own.by_bank.len(), 1);
    assert!(own.unpaid.is_empty() && own.rejections.is_empty());
    let other = store.payment_order_rows(&ccb_actor, batch, 1, "103").await;
    assert!(
        matches!(other, Err(sscard_store::StoreError::OutOfScope(_))),
        "{other:?}"
    );
    db.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_rows_sqlite() {
    ten_thousand(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_rows_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    ten_thousand(db).await;
}

#[allow(clippy::too_many_lines)] // one exchange, told in order
async fn exchange_both_ways(db: TestDb) {
    let store = &db.store;
    let keys = ExchangeKeys::demo();
    seed(store).await;
    // The centre: formal loss of a CCB card, reported at a counter → CCB's next export.
    let at_centre = legacy_card(0);
    store.report_formal_loss(&at(1), &at_centre).await.unwrap();
    let export = store.bank_export(&at(2), "105", None).await.unwrap();
    assert_eq!(export.export_no, 1);
    let events: Vec<(&str, &str)> = export
        .events
        .iter()
        .map(|e| (e.card_number.as_str(), e.event.as_str()))
        .collect();
    assert_eq!(events, [(at_centre.as_str(), "formal_loss")]);
    assert_eq!(
        export.events[0].account.as_deref(),
        Some(account("105", 0).as_str())
    );
    let bytes = bank_files::status_export_bytes(&keys, &at(2), &export).unwrap();
    let parsed = Envelope::parse(&bytes, &keys.partner("105")).unwrap();
    assert_eq!(
        (parsed.kind, parsed.batch, parsed.rows.len()),
        (Kind::StatusToBank, 1, 1)
    );
    // Exported once: the next export is empty; the first can be fetched again unchanged.
    assert!(
        store
            .bank_export(&at(3), "105", None)
            .await
            .unwrap()
            .events
            .is_empty()
    );
    assert_eq!(
        store
            .bank_export(&at(3), "105", Some(1))
            .await
            .unwrap()
            .events,
        export.events
    );
    let card = store.card(&at(3), &at_centre).await.unwrap();
    assert_eq!(
        (card.ss_status, card.financial_status),
        (SsStatus::FormalLoss, sscard_core::FinancialStatus::Frozen)
    );

    // The bank: a formal loss reported at ABC freezes the social-security function too, and
    // is not echoed back to ABC; applying the file again changes nothing.
    let at_bank = legacy_card(1);
    let file = status_file(
        &keys,
        "103",
        7,
        &[(at_bank, BankReport::FormalLoss, None, 3)],
    );
    let (_, out) = bank_files::import_bank_status(store, &at(4), &keys, &file)
        .await
        .unwrap();
    assert_eq!(out.applied, 1);
    let card = store.card(&at(4), &at_bank).await.unwrap();
    assert_eq!(card.ss_status, SsStatus::FormalLoss);
    let (_, out) = bank_files::import_bank_status(store, &at(4), &keys, &file)
        .await
        .unwrap();
    assert_eq!((out.applied, out.already), (0, 1));
    assert!(
        store
            .bank_export(&at(5), "103", None)
            .await
            .unwrap()
            .events
            .is_empty()
    );
    // A bank's file naming another bank's card: that report is refused, the rest apply.
    let mixed = status_file(
        &keys,
        "103",
        8,
        &[
            (legacy_card(0), BankReport::Closed, None, 5),
            (legacy_card(6), BankReport::Frozen, None, 5),
        ],
    );
    let (_, out) = bank_files::import_bank_status(store, &at(6), &keys, &mixed)
        .await
        .unwrap();
    assert_eq!(out.applied, 1);
    assert_eq!(out.refused.len(), 1);
    assert_eq!(out.refused[0].code, "auth.out_of_scope");
    // A file signed with another bank's key is refused whole.
    let forged =
        bank_files::bank_status_bytes(&ExchangeKeys::demo(), "103", 9, "2026-12-01T09:00:00Z", &[])
            .unwrap();
    let mut forged = forged;
    let header_end = forged.iter().position(|b| *b == b'\n').unwrap();
    let header = String::from_utf8(forged[..header_end].to_vec())
        .unwrap()
        .replace("partner=103", "partner=105");
    forged.splice(..header_end, header.into_bytes());
    assert!(
        bank_files::import_bank_status(store, &at(6), &keys, &forged)
            .await
            .is_err()
    );
    // Lifting the loss at the centre tells the bank.
    store.unfreeze(&at(7), &at_centre).await.unwrap();
    let export = store.bank_export(&at(8), "105", None).await.unwrap();
    assert_eq!(
        export
            .events
            .iter()
            .map(|e| e.event.as_str())
            .collect::<Vec<_>>(),
        ["loss_lifted"]
    );
    db.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_exchange_both_ways_sqlite() {
    exchange_both_ways(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_exchange_both_ways_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    exchange_both_ways(db).await;
}
