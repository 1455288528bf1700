//! Exchange files: round trips, tampering, truncation, wrong keys, and the simulators.

use sscard_exchange::{
    DEMO_SECRET, Envelope, ExchangeError, ExchangeKey, FailPlan, Kind, open_card_order,
    pack_card_order, sim_bank, sim_factory,
};
use sscard_ids::BankCardNumber;

const NOW: &str = "2026-11-28T09:00:00Z";

fn centre() -> ExchangeKey {
    ExchangeKey::derive(DEMO_SECRET, "centre")
}

fn bank() -> ExchangeKey {
    ExchangeKey::derive(DEMO_SECRET, "105")
}

fn open_file(rows: usize) -> Vec<u8> {
    let mut e = Envelope::new(Kind::AccountOpen, 7, "105", NOW);
    for i in 1..=rows {
        e.rows.push(vec![
            i.to_string(),
            format!("3212021988080810{:02}", i),
            "张三".into(),
            "1".into(),
            "19880808".into(),
            "13812345678".into(),
            "91321200MA1MXK8P05".into(),
            "泰州示例制药有限公司".into(),
        ]);
    }
    e.to_bytes(&centre()).unwrap()
}

#[test]
fn round_trip_and_header() {
    let bytes = open_file(3);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with(
        "#SSCARD-EXCHANGE|1|ACCOUNT-OPEN|batch=7|partner=105|rows=3|created=2026-11-28T09:00:00Z\n"
    ));
    assert!(text.lines().last().unwrap().starts_with("#SIG|HMAC-SM3|"));
    let e = Envelope::parse(&bytes, &centre()).unwrap();
    assert_eq!(e.rows.len(), 3);
    assert_eq!(e.rows[2][2], "张三");
    e.expect(Kind::AccountOpen, 7, "105").unwrap();
    assert!(matches!(
        e.expect(Kind::AccountOpen, 8, "105"),
        Err(ExchangeError::Unexpected { .. })
    ));
}

#[test]
fn any_change_breaks_the_signature() {
    let bytes = open_file(3);
    // Change one character of a name, a digit, drop a line, or sign with another key.
    let text = String::from_utf8(bytes.clone()).unwrap();
    for altered in [
        text.replacen("张三", "李四", 1),
        text.replacen("19880808", "19880809", 1),
        text.replacen("rows=3", "rows=2", 1),
    ] {
        assert_eq!(
            Envelope::parse(altered.as_bytes(), &centre()).unwrap_err(),
            ExchangeError::BadSignature
        );
    }
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(2);
    let dropped = lines.join("\n") + "\n";
    assert_eq!(
        Envelope::parse(dropped.as_bytes(), &centre()).unwrap_err(),
        ExchangeError::BadSignature
    );
    assert_eq!(
        Envelope::parse(&bytes, &bank()).unwrap_err(),
        ExchangeError::BadSignature
    );
    let unsigned = text[..text.find("#SIG").unwrap()].to_owned();
    assert_eq!(
        Envelope::parse(unsigned.as_bytes(), &centre()).unwrap_err(),
        ExchangeError::BadSignature
    );
    assert_eq!(
        Envelope::parse(b"name,id\n", &centre()).unwrap_err(),
        ExchangeError::NotExchangeFile
    );
}

#[test]
fn separators_cannot_be_smuggled_into_a_field() {
    let mut e = Envelope::new(Kind::AccountOpen, 1, "105", NOW);
    e.rows.push(vec![
        "1".into(),
        "x".into(),
        "张|三".into(),
        "1".into(),
        "d".into(),
        "p".into(),
        "c".into(),
        "n".into(),
    ]);
    assert!(
        matches!(e.to_bytes(&centre()), Err(ExchangeError::UnwritableField { field }) if field == "name")
    );
    e.rows[0][2] = "张\n1|x".into();
    assert!(e.to_bytes(&centre()).is_err());
}

#[test]
fn the_bank_answers_with_valid_accounts_and_planned_failures() {
    let plan = FailPlan {
        seqs: vec!["2".into()],
        rate: 0.0,
    };
    let result = sim_bank(&open_file(4), &centre(), &bank(), &plan, NOW).unwrap();
    let e = Envelope::parse(&result, &bank()).unwrap();
    e.expect(Kind::AccountResult, 7, "105").unwrap();
    assert_eq!(e.rows.len(), 4);
    assert_eq!(e.rows[1][2], "FAIL");
    for r in [&e.rows[0], &e.rows[2], &e.rows[3]] {
        assert_eq!(r[2], "OK");
        let account = BankCardNumber::parse(&r[3]).expect("Luhn-valid account number");
        assert!(account.expose().starts_with("621700"));
    }
    // The same file gives the same answer; a file with a bad signature gets none.
    assert_eq!(
        sim_bank(&open_file(4), &centre(), &bank(), &plan, NOW).unwrap(),
        result
    );
    assert_eq!(
        sim_bank(&open_file(4), &bank(), &bank(), &plan, NOW).unwrap_err(),
        ExchangeError::BadSignature
    );
    // A rate fails about that share.
    let many = sim_bank(
        &open_file(99),
        &centre(),
        &bank(),
        &FailPlan {
            seqs: vec![],
            rate: 0.2,
        },
        NOW,
    )
    .unwrap();
    let failed = Envelope::parse(&many, &bank())
        .unwrap()
        .rows
        .iter()
        .filter(|r| r[2] == "FAIL")
        .count();
    assert!((5..=40).contains(&failed), "{failed}");
}

#[test]
fn the_factory_checks_photos_against_the_order() {
    use sha2::Digest;
    let factory = ExchangeKey::derive(DEMO_SECRET, "FAC01");
    let photo = b"\xFF\xD8 a jpeg".to_vec();
    let mut order = Envelope::new(Kind::CardOrder, 7, "FAC01", NOW);
    for seq in ["1", "2", "3"] {
        order.rows.push(vec![
            seq.into(),
            "321202198808081014".into(),
            "张三".into(),
            "1".into(),
            "19880808".into(),
            format!("T0000000{seq}"),
            "105".into(),
            "6217001234567890123".into(),
            "20261128".into(),
            "20361127".into(),
            hex::encode(sha2::Sha256::digest(&photo)),
        ]);
    }
    let signed = order.to_bytes(&centre()).unwrap();
    // Photo 2 is another picture, photo 3 is missing.
    let package = pack_card_order(
        &signed,
        &[("1".into(), photo.clone()), ("2".into(), b"other".to_vec())],
    );
    let (opened, photos) = open_card_order(&package, &centre()).unwrap();
    assert_eq!(opened.rows.len(), 3);
    assert_eq!(
        photos.iter().map(Option::is_some).collect::<Vec<_>>(),
        vec![true, false, false]
    );
    let result = sim_factory(&package, &centre(), &factory, &FailPlan::default(), NOW).unwrap();
    let e = Envelope::parse(&result, &factory).unwrap();
    assert_eq!(
        e.rows.iter().map(|r| r[2].as_str()).collect::<Vec<_>>(),
        vec!["OK", "FAIL", "FAIL"]
    );
    assert_eq!(e.rows[0][3].len(), 16);
    assert!(sim_factory(b"not a zip", &centre(), &factory, &FailPlan::default(), NOW).is_err());
}
