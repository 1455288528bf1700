//! `sscard legacy generate | import` on a fresh SQLite database: a generated GBK file with
//! 15-digit numbers, people with two cards and broken rows is taken over; every bad row is
//! named; a second import changes nothing.

mod common;

use common::Cli;

#[test]
fn a_generated_legacy_file_is_taken_over_once() {
    let cli = Cli::new();
    assert!(cli.run(&["init"]).status.success());
    let file = cli.dir.path().join("legacy.csv");
    let path = file.to_str().unwrap();
    let (rc, r) = cli.json(&["legacy", "generate", "--n", "3000", "--out", path, "--gbk"]);
    assert_eq!((rc, r["rows"].as_u64()), (0, Some(3000)), "{r}");
    let (rc, r) = cli.json(&["legacy", "import", path]);
    assert_eq!(rc, 0, "{r}");
    let (accepted, rejected) = (
        r["accepted"].as_u64().unwrap(),
        r["rejected"].as_array().unwrap(),
    );
    assert_eq!(r["rows"], 3000);
    assert_eq!(accepted + rejected.len() as u64, 3000, "{r}");
    assert!(
        !rejected.is_empty() && rejected.len() < 60,
        "about 0.5 % broken: {}",
        rejected.len()
    );
    assert!(
        rejected
            .iter()
            .all(|p| p["row"].as_u64().unwrap() >= 2
                && !p["message_en"].as_str().unwrap().is_empty())
    );
    assert!(
        r["upgraded"].as_u64().unwrap() > 0,
        "some 15-digit numbers: {r}"
    );
    let notes = r["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n["code"] == "legacy.replaced"),
        "a person with two cards: {r}"
    );
    let longest_digits = |t: &str| {
        t.split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0)
    };
    for p in rejected.iter().chain(notes) {
        let text = p["message"].as_str().unwrap().to_owned() + p["message_en"].as_str().unwrap();
        assert!(
            longest_digits(&text) < 15,
            "no ID or account numbers in messages: {text}"
        );
    }
    let (rc, again) = cli.json(&["legacy", "import", path]);
    assert_eq!(rc, 0);
    assert_eq!(
        (again["accepted"].as_u64(), again["already"].as_u64()),
        (Some(0), Some(accepted)),
        "{again}"
    );
    // Phases: Hailing first; someone of another district waits, told the date.
    for (name, from, districts) in [
        ("海陵区首批", "2026-08-25", Some("321202")),
        ("全市", "2099-03-01", None),
    ] {
        let mut args = vec!["rollout", "phase", "add", "--name", name, "--from", from];
        if let Some(d) = districts {
            args.extend(["--districts", d]);
        }
        let (rc, r) = cli.json(&args);
        assert_eq!(rc, 0, "{r}");
    }
    let text = std::fs::read(&file).unwrap();
    let (text, _, _) = encoding_rs::GBK.decode(&text);
    let elsewhere = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|c| c[7] != "321202" && c[4] == "正常" && c[1].len() == 18)
        .unwrap();
    let (rc, e) = cli.json(&["rollout", "eligible", elsewhere[1]]);
    assert_eq!(rc, 0, "{e}");
    assert_eq!(
        (e["eligible"].as_bool(), e["from"].as_str()),
        (Some(false), Some("2099-03-01")),
        "{e}"
    );
}
