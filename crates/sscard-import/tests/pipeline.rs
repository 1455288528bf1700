//! An employer's upload end to end on both backends: list + photo ZIP → applications in a
//! batch, every bad row reported, the error workbook, a fixed re-upload that adds only the fixed
//! rows, and refused files and hostile ZIPs that change nothing.

use std::io::Write;

use calamine::Reader;
use chrono::NaiveDate;
use sscard_core::{ApplicationSource, BusinessType};
use sscard_ids::{CreditCode, PersonName, RegionCode, ResidentId};
use sscard_import::pipeline::{ArchiveError, ImportError, import_upload, read_photo_zip};
use sscard_photo::Profile;
use sscard_photo::synth::{BLUE, Source, Variation};
use sscard_store::testing::TestDb;
use sscard_store::{ApplyRequest, Ctx, PersonInput, Store};

fn employer() -> CreditCode {
    CreditCode::from_body("91321200MA1MXK8P0").unwrap()
}

fn id(n: u16) -> ResidentId {
    let birth =
        NaiveDate::from_ymd_opt(1985, 3, 1).unwrap() + chrono::Duration::days(i64::from(n) * 41);
    ResidentId::from_parts(RegionCode::parse("321202").unwrap(), birth, n).unwrap()
}

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap();
    }
    out.into_inner()
}

fn csv(rows: &[String]) -> Vec<u8> {
    let mut text = "姓名,身份证号码,合作银行,手机号码,车间,部门\n".to_owned();
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    text.into_bytes()
}

fn row(name: &str, id: &str, bank: &str) -> String {
    format!("{name},{id},{bank},13812345678,总装车间,一班")
}

async fn batch_count(store: &Store) -> usize {
    store
        .batches(&sscard_store::Ctx::system("system:test"))
        .await
        .unwrap()
        .len()
}

// One story told in order: upload, error workbook, fix, re-upload, refusals.
#[allow(clippy::too_many_lines)]
async fn scenario(db: TestDb) {
    let store = &db.store;
    let ctx = Ctx::system("agent:test");
    store
        .register_employer(
            &ctx,
            &employer(),
            "泰州示例制药有限公司",
            RegionCode::parse("321200").unwrap(),
        )
        .await
        .unwrap();
    let profile = Profile::jiangsu();
    // Someone who already holds a card.
    let holder = id(9);
    store
        .apply(
            &ctx,
            &ApplyRequest {
                person: PersonInput::new(holder, PersonName::parse("赵持卡").unwrap()),
                bank: "CCB".into(),
                kind: BusinessType::New,
                source: ApplicationSource::Individual,
                instant: true,
                outlet: None,
            },
        )
        .await
        .unwrap();
    let good = |n: u16| Variation::badge(Source::ALL[n as usize % 2]).jpeg();
    let rows = vec![
        row("张一", id(1).expose(), "CCB"),       // 2 ok
        row("李二", id(2).expose(), "建设银行"),  // 3 ok (bank by Chinese name)
        row("王三", "32120219850301123X", "CCB"), // 4 bad ID check character
        row("刘四", id(4).expose(), "ABC"),       // 5 photo missing from the ZIP
        row("陈五", id(5).expose(), "CCB"),       // 6 photo on a blue background
        row("赵持卡", holder.expose(), "CCB"),    // 7 already holds a card
        row("孙七", id(7).expose(), "BOCOM"),     // 8 ok
        row("孙七", id(7).expose(), "BOCOM"),     // 9 duplicate of row 8
        row("周八", id(8).expose(), "XYZ"),       // 10 unknown bank
    ];
    let blue = Variation {
        background: BLUE,
        ..Variation::badge(Source::Astronaut)
    }
    .jpeg();
    let zip = zip_of(&[
        (&format!("photos/{}.jpg", id(1).expose()), good(1)),
        (&format!("{}.JPG", id(2).expose()), good(2)),
        (&format!("{}.jpg", id(5).expose()), blue),
        (&format!("{}.jpg", id(7).expose()), good(7)),
        (&format!("{}.jpg", holder.expose()), good(9)),
        ("../../etc/evil.jpg", good(3)),
        ("/abs/evil2.jpg", good(3)),
    ]);
    let report = import_upload(
        store,
        &ctx,
        &employer(),
        "名单.csv",
        csv(&rows),
        Some(zip.clone()),
        &profile,
    )
    .await
    .unwrap();
    let o = &report.outcome;
    assert_eq!(report.rows, 9);
    assert_eq!(o.accepted, 3, "{:?}", o.rejected);
    assert_eq!(o.already, 0);
    let by_row: Vec<(usize, &str)> = o
        .rejected
        .iter()
        .map(|p| (p.row, p.code.as_str()))
        .collect();
    assert_eq!(
        by_row,
        vec![
            (4, "resident_id.check_character"),
            (5, "photo.missing"),
            (6, "photo.background_not_white"),
            (7, "holder.already_holds_card"),
            (9, "row.duplicate"),
            (10, "row.unknown_bank"),
        ],
        "{:#?}",
        o.rejected
    );
    assert_eq!(
        report.ignored_entries.len(),
        2,
        "{:?}",
        report.ignored_entries
    );
    // The holder's card is named masked, never in full.
    let live = o.rejected.iter().find(|p| p.row == 7).unwrap();
    assert!(
        live.message.contains('*') && !live.message.contains(holder.expose()),
        "{}",
        live.message
    );
    for p in &o.rejected {
        assert!(
            !p.message.contains(id(4).expose()) && !p.message_en.contains(id(4).expose()),
            "{p:?}"
        );
    }

    // The error workbook holds the same rows.
    let (batch, problems) = store
        .upload_problems(&sscard_store::Ctx::system("system:test"), o.upload_id)
        .await
        .unwrap();
    assert_eq!(batch, o.batch_id);
    assert_eq!(problems, o.rejected);
    let book = sscard_import::workbook::error_workbook(batch, &problems).unwrap();
    let mut xlsx: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(book)).unwrap();
    let range = xlsx.worksheet_range_at(0).unwrap().unwrap();
    let cells: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(ToString::to_string).collect())
        .collect();
    assert_eq!(cells[0][0], "行号 Row");
    assert_eq!(cells[1][0], "4");
    assert_eq!(cells[1][2], "resident_id.check_character");
    assert!(
        cells
            .iter()
            .any(|r| r.get(2).is_some_and(|c| c == "photo.background_not_white"))
    );

    // Fix and upload the whole file again: only the fixed rows are added.
    let mut fixed = rows.clone();
    fixed[2] = row("王三", id(3).expose(), "CCB");
    fixed[8] = row("周八", id(8).expose(), "CCB");
    fixed.remove(7);
    let zip2 = zip_of(&[
        (&format!("{}.jpg", id(1).expose()), good(1)),
        (&format!("{}.jpg", id(2).expose()), good(2)),
        (&format!("{}.jpg", id(3).expose()), good(3)),
        (&format!("{}.jpg", id(4).expose()), good(4)),
        (&format!("{}.jpg", id(5).expose()), good(5)),
        (&format!("{}.jpg", id(7).expose()), good(7)),
        (&format!("{}.jpg", id(8).expose()), good(8)),
        (&format!("{}.jpg", holder.expose()), good(9)),
    ]);
    let again = import_upload(
        store,
        &ctx,
        &employer(),
        "名单-改.csv",
        csv(&fixed),
        Some(zip2),
        &profile,
    )
    .await
    .unwrap();
    assert_eq!(again.outcome.batch_id, o.batch_id, "same open batch");
    assert_eq!(again.outcome.accepted, 4, "{:?}", again.outcome.rejected);
    assert_eq!(again.outcome.already, 3);
    assert_eq!(
        again
            .outcome
            .rejected
            .iter()
            .map(|p| p.code.as_str())
            .collect::<Vec<_>>(),
        vec!["holder.already_holds_card"]
    );
    let detail = store
        .batch(&sscard_store::Ctx::system("system:test"), o.batch_id)
        .await
        .unwrap();
    assert_eq!(detail.summary.rows, 7);
    assert_eq!(detail.photos, 7);
    assert_eq!(detail.steps, vec![("applied".to_owned(), 7)]);
    assert_eq!(detail.uploads.len(), 2);
    let list = store
        .batches(&sscard_store::Ctx::now(sscard_core::Actor::new(
            "agent:test",
            sscard_core::Role::EmployerAgent,
            sscard_core::Scope::Employer(employer()),
        )))
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].status, 10);

    // A refused file and hostile archives change nothing.
    let audit_before = store.audit_tail(1).await.unwrap()[0].seq;
    let wrong = "name,phone\n张三,138\n".as_bytes().to_vec();
    let err = import_upload(store, &ctx, &employer(), "wrong.csv", wrong, None, &profile)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::File(sscard_import::FileError::MissingColumns { .. })
        ),
        "{err}"
    );
    let bomb = zip_of(&[(&format!("{}.jpg", id(20).expose()), vec![0u8; 30 << 20])]);
    let err = import_upload(
        store,
        &ctx,
        &employer(),
        "b.csv",
        csv(&[row("吴九", id(20).expose(), "CCB")]),
        Some(bomb),
        &profile,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ImportError::Archive(ArchiveError::Bomb { .. })),
        "{err}"
    );
    let err = import_upload(
        store,
        &ctx,
        &employer(),
        "c.csv",
        csv(&[row("吴九", id(20).expose(), "CCB")]),
        Some(b"not a zip".to_vec()),
        &profile,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ImportError::Archive(ArchiveError::NotZip { .. })),
        "{err}"
    );
    assert_eq!(
        store.audit_tail(1).await.unwrap()[0].seq,
        audit_before,
        "nothing written"
    );
    assert_eq!(batch_count(store).await, 1);
    assert_eq!(
        store
            .batch(&sscard_store::Ctx::system("system:test"), o.batch_id)
            .await
            .unwrap()
            .uploads
            .len(),
        2
    );
    let unknown = CreditCode::from_body("91320100MA1NKL3Q0").unwrap();
    let err = import_upload(store, &ctx, &unknown, "d.csv", csv(&fixed), None, &profile)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Store(sscard_store::StoreError::NotFound {
                what: "employer",
                ..
            })
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_fix_reupload_sqlite() {
    scenario(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_fix_reupload_postgres() {
    if let Some(db) = TestDb::postgres().await {
        scenario(db).await;
    }
}

#[test]
fn hostile_archives() {
    let jpeg = Variation::badge(Source::Astronaut).jpeg();
    // Path escapes are never used, and said so.
    let a = read_photo_zip(&zip_of(&[
        ("../x.jpg", jpeg.clone()),
        ("ok/320102199001011234.jpg", jpeg.clone()),
    ]))
    .unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a.ignored.len(), 1);
    // Two photos with one name: neither is used.
    let a = read_photo_zip(&zip_of(&[
        ("a/P1.jpg", jpeg.clone()),
        ("b/p1.png", jpeg.clone()),
    ]))
    .unwrap();
    assert!(a.is_empty());
    // A bomb: 30 MB of zeros compresses to a few KB.
    let bomb = zip_of(&[("x.jpg", vec![0u8; 30 << 20])]);
    assert!(bomb.len() < 200_000);
    assert!(matches!(
        read_photo_zip(&bomb),
        Err(ArchiveError::Bomb { .. })
    ));
    // Many small entries.
    let many: Vec<(String, Vec<u8>)> = (0..20_001)
        .map(|i| (format!("{i}.jpg"), Vec::new()))
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = many.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    assert!(matches!(
        read_photo_zip(&zip_of(&refs)),
        Err(ArchiveError::TooManyEntries { .. })
    ));
    // Garbage and a truncated archive.
    assert!(matches!(
        read_photo_zip(b"PK\x03\x04garbage"),
        Err(ArchiveError::NotZip { .. })
    ));
    let good = zip_of(&[("p.jpg", jpeg)]);
    assert!(read_photo_zip(&good[..good.len() / 2]).is_err());
}
