//! `sscard chip` end to end: images and PSAMs as files, reading in-process, raw APDUs, and a
//! card image personalised for a card of the database.

use std::process::Command;

fn sscard(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sscard"))
        .args(args)
        .env("SSCARD_DB", db)
        .env("SSCARD_DEMO_KEYS", "true")
        .output()
        .unwrap()
}

#[test]
#[allow(clippy::too_many_lines)] // one scripted session, step by step
fn demo_card_and_a_card_of_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("chip.db").display());
    let card = dir.path().join("card.json");
    let psam = dir.path().join("psam.json");
    let (card_s, psam_s) = (card.to_str().unwrap(), psam.to_str().unwrap());

    let out = sscard(&db, &["chip", "image", "--demo", "--out", card_s]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("TEST KEY SET"),
        "test keys are announced"
    );
    assert!(
        std::fs::read_to_string(&card)
            .unwrap()
            .contains("\"test_keys\": true")
    );
    assert!(
        sscard(&db, &["chip", "psam", "--demo", "--out", psam_s])
            .status
            .success()
    );

    let read = sscard(
        &db,
        &[
            "chip", "read", "--image", card_s, "--psam", psam_s, "--pin", "123456",
        ],
    );
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let line = String::from_utf8_lossy(&read.stdout).trim().to_owned();
    assert_eq!(line.matches('|').count(), 11);
    assert!(
        line.starts_with(
            "321202|321202198808081014|X00000019|321202D15600000500BF7C7A48FB4966|张三|"
        ),
        "{line}"
    );

    let wrong_pin = sscard(
        &db,
        &[
            "chip", "read", "--image", card_s, "--psam", psam_s, "--pin", "000000",
        ],
    );
    assert_eq!(wrong_pin.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&wrong_pin.stderr).contains('2'),
        "tries left are reported"
    );

    let apdu = sscard(
        &db,
        &[
            "chip",
            "apdu",
            "--image",
            card_s,
            "00A404000F7378312E73682EC9E7BBE1B1A3D5CF",
            "00C000001B",
        ],
    );
    let text = String::from_utf8_lossy(&apdu.stdout);
    assert!(
        text.contains("< 611B") && text.contains("< 6F19840F"),
        "{text}"
    );

    // A card of the database, personalised with the PSAM's province keys.
    let applied = sscard(
        &db,
        &[
            "--json",
            "apply",
            "--id",
            "321202199003071235",
            "--name",
            "王小明",
            "--bank",
            "CCB",
            "--instant",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&applied.stdout).unwrap();
    let number = v["card_number"].as_str().unwrap().to_owned();
    let mine = dir.path().join("mine.json");
    let made = sscard(
        &db,
        &[
            "chip",
            "image",
            "--card",
            &number,
            "--keys",
            psam_s,
            "--out",
            mine.to_str().unwrap(),
        ],
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let read = sscard(
        &db,
        &[
            "--json",
            "chip",
            "read",
            "--image",
            mine.to_str().unwrap(),
            "--psam",
            psam_s,
        ],
    );
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(v["card_number"], number.as_str());
    assert_eq!(v["ssn"], "321202199003071235");
    assert_eq!(v["name"], "王小明");
    assert_eq!(v["internal_auth"], "ok");
    assert!(
        v["card_id_code"]
            .as_str()
            .unwrap()
            .starts_with("321200D156000005")
    );
}
