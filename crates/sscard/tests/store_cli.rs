//! Black-box tests of the database commands on a temporary SQLite file.

mod common;

use common::Cli;
use serde_json::Value;

const ID: &str = "321202199003071235";

#[test]
fn init_is_idempotent() {
    let cli = Cli::new();
    let (code, first) = cli.json(&["init"]);
    assert_eq!(code, 0);
    assert!(
        first["migrations_applied"].as_u64().unwrap() >= 2,
        "{first}"
    );
    assert_eq!(first["banks"], 5);
    let (code, second) = cli.json(&["init"]);
    assert_eq!(code, 0);
    assert_eq!(second["migrations_applied"], 0);
}

#[test]
fn a_card_from_application_to_reissue() {
    let cli = Cli::new();
    let (code, applied) = cli.json(&[
        "apply",
        "--id",
        ID,
        "--name",
        "王小明",
        "--bank",
        "CCB",
        "--instant",
    ]);
    assert_eq!(code, 0, "{applied}");
    assert!(applied["application_id"].as_str().unwrap().len() == 36);
    let card = applied["card_number"].as_str().unwrap().to_owned();

    let (code, shown) = cli.json(&["card", "show", &card]);
    assert_eq!(code, 0);
    assert_eq!(shown["card_number"], card.as_str());
    assert_eq!(shown["holder_id"], "3212**********1235");
    assert_eq!(shown["ss_status"], "sealed");
    assert_eq!(shown["ss_status_code"], 0);
    assert_eq!(shown["financial_status"], "not_opened");
    assert_eq!(shown["superseded_by"], Value::Null);

    // One person, one card: the second application names the card, masked, in both languages.
    let out = cli.run(&[
        "apply",
        "--id",
        ID,
        "--name",
        "王小明",
        "--bank",
        "CCB",
        "--instant",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let masked = format!("{}*****{}", &card[..2], &card[7..]);
    assert!(
        err.contains(&masked) && err.contains("一人一卡") && err.contains("one person, one card"),
        "{err}"
    );
    assert!(!err.contains(&card), "{err}");

    assert_eq!(cli.json(&["card", "hand-over", &card]).0, 0);
    let (_, active) = cli.json(&["card", "activate", &card]);
    assert_eq!(active["ss_status"], "normal");
    let (_, temp) = cli.json(&["card", "loss", "--temporary", &card]);
    assert_eq!(
        (temp["ss_status"].as_str(), temp["ss_status_code"].as_u64()),
        (Some("temporary_loss"), Some(4))
    );
    let (_, back) = cli.json(&["card", "unfreeze", &card]);
    assert_eq!(back["ss_status"], "normal");
    // Reissue needs a formal loss first: refused by a rule, exit 1.
    let (code, refused) = cli.json(&["card", "reissue", &card]);
    assert_eq!(code, 1);
    assert_eq!(refused["error"]["code"], "holder.no_lost_card");
    let (_, lost) = cli.json(&["card", "loss", "--formal", &card]);
    assert_eq!(lost["ss_status"], "formal_loss");
    let (code, reissued) = cli.json(&["card", "reissue", &card]);
    assert_eq!(code, 0);
    let new = reissued["card_number"].as_str().unwrap();
    assert_ne!(new, card);
    assert_eq!(
        cli.json(&["card", "show", &card]).1["ss_status"],
        "cancelled"
    );

    let (code, person) = cli.json(&["person", "show", ID]);
    assert_eq!(code, 0);
    assert_eq!(person["ssn"], "3212**********1235");
    assert_eq!(person["cards"].as_array().unwrap().len(), 2);

    let (code, verified) = cli.json(&["audit", "verify"]);
    assert_eq!(code, 0);
    assert_eq!(verified["ok"], true);
    assert!(verified["events"].as_i64().unwrap() >= 10);
}

#[test]
fn banks_are_seeded() {
    let cli = Cli::new();
    let (code, banks) = cli.json(&["bank", "list"]);
    assert_eq!(code, 0);
    let names: Vec<&str> = banks
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["short_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ABC", "CCB", "BOCOM", "TZRCB", "PSBC"]);
}

#[test]
fn refusals_and_usage_errors() {
    let cli = Cli::new();
    // Bad input is refused before anything is written.
    let (code, bad) = cli.json(&[
        "apply",
        "--id",
        "321202199003071230",
        "--name",
        "王小明",
        "--bank",
        "CCB",
    ]);
    assert_eq!(code, 1);
    assert_eq!(bad["error"]["code"], "resident_id.check_character");
    assert_eq!(bad["error"]["field"], "--id");
    let (code, missing) = cli.json(&["card", "show", "X00000019"]);
    assert_eq!(code, 1);
    assert_eq!(missing["error"]["code"], "not_found.card");
    let (code, legacy) = cli.json(&["apply", "--id", ID, "--name", "王小明", "--bank", "PSBC"]);
    assert_eq!(code, 1);
    assert_eq!(legacy["error"]["code"], "bank.legacy");
    assert_eq!(
        cli.run(&["card", "loss", "X00000019"]).status.code(),
        Some(2)
    );
    assert_eq!(cli.run(&["apply", "--id", ID]).status.code(), Some(2));
    assert_eq!(
        cli.run(&["card", "frobnicate", "X00000019"]).status.code(),
        Some(2)
    );
}

/// Runs raw SQL on the test database, as someone with direct database access would.
fn tamper(db: &str, sql: &str) {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = sqlx::SqliteConnection::connect(db).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    });
}

#[test]
fn audit_verify_names_the_tampered_event() {
    let cli = Cli::new();
    let (_, applied) = cli.json(&[
        "apply",
        "--id",
        ID,
        "--name",
        "王小明",
        "--bank",
        "CCB",
        "--instant",
    ]);
    let card = applied["card_number"].as_str().unwrap().to_owned();
    for step in [
        &["card", "hand-over"][..],
        &["card", "activate"],
        &["card", "use"],
    ] {
        let mut args = step.to_vec();
        args.push(&card);
        assert_eq!(cli.run(&args).status.code(), Some(0));
    }
    let verify = |cli: &Cli| {
        let out = cli.run(&["audit", "verify"]);
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(verify(&cli).0, 0);

    tamper(
        &cli.db,
        "UPDATE audit_events SET actor = 'nobody' WHERE seq = 4",
    );
    let (code, text) = verify(&cli);
    assert_eq!(code, 1);
    assert!(
        text.contains("#4") && text.contains("altered") && text.contains("改动"),
        "{text}"
    );
    tamper(
        &cli.db,
        "UPDATE audit_events SET actor = 'clerk:cli-test' WHERE seq = 4",
    );
    assert_eq!(verify(&cli).0, 0);

    tamper(&cli.db, "UPDATE audit_events SET seq = -5 WHERE seq = 5");
    tamper(&cli.db, "UPDATE audit_events SET seq = 5 WHERE seq = 6");
    tamper(&cli.db, "UPDATE audit_events SET seq = 6 WHERE seq = -5");
    let (code, text) = verify(&cli);
    assert_eq!(code, 1);
    assert!(
        text.contains("#5") && text.contains("out of order"),
        "{text}"
    );
    tamper(&cli.db, "UPDATE audit_events SET seq = -5 WHERE seq = 5");
    tamper(&cli.db, "UPDATE audit_events SET seq = 5 WHERE seq = 6");
    tamper(&cli.db, "UPDATE audit_events SET seq = 6 WHERE seq = -5");
    assert_eq!(verify(&cli).0, 0);

    tamper(&cli.db, "DELETE FROM audit_events WHERE seq = 2");
    let (code, text) = verify(&cli);
    assert_eq!(code, 1);
    assert!(
        text.contains("#2") && text.contains("deleted") && text.contains("删除"),
        "{text}"
    );
}

#[test]
fn employers_and_outlets() {
    let cli = Cli::new();
    let (code, e) = cli.json(&[
        "employer",
        "add",
        "--code",
        "91321200MA1MXK8P05",
        "--name",
        "测试厂",
    ]);
    assert_eq!(code, 0, "{e}");
    assert_eq!(e["region"], "321200");
    let (code, bad) = cli.json(&[
        "employer",
        "add",
        "--code",
        "91321200MA1MXK8P0L",
        "--name",
        "x",
    ]);
    assert_eq!(code, 1);
    assert_eq!(bad["error"]["code"], "credit_code.check_character");
    assert_eq!(
        cli.json(&[
            "outlet",
            "add",
            "--code",
            "TZ-HL-01",
            "--name",
            "海陵区服务中心",
            "--region",
            "321202"
        ])
        .0,
        0
    );
    let (code, site) = cli.json(&[
        "outlet",
        "add",
        "--code",
        "ONSITE",
        "--name",
        "厂区发卡点",
        "--region",
        "321203",
        "--employer",
        "91321200MA1MXK8P05",
    ]);
    assert_eq!(code, 0);
    assert_eq!(site["kind"], "employer_site");
    let (code, unknown) = cli.json(&[
        "outlet",
        "add",
        "--code",
        "X",
        "--name",
        "y",
        "--region",
        "321203",
        "--employer",
        "91350100M000100Y43",
    ]);
    assert_eq!(code, 1);
    assert_eq!(unknown["error"]["code"], "not_found.employer");
    let (_, list) = cli.json(&["outlet", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
}

/// `sscard serve` resolves its secrets before it listens: without `SSCARD_EXCHANGE_SECRET` (and
/// without `--demo-keys`), or with a malformed one, it refuses to start and says how to set it.
#[test]
fn serve_refuses_to_start_without_a_good_exchange_secret() {
    let cli = common::Cli::new();
    let serve = |secret: Option<&str>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sscard"));
        c.args(["serve", "--listen", "127.0.0.1:0"])
            .env("SSCARD_DB", &cli.db)
            .env_remove("SSCARD_DEMO_KEYS")
            .env_remove("SSCARD_EXCHANGE_SECRET");
        if let Some(s) = secret {
            c.env("SSCARD_EXCHANGE_SECRET", s);
        }
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = serve(None);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("SSCARD_EXCHANGE_SECRET")
            && err.contains("未设置")
            && err.contains("is not set"),
        "{err}"
    );
    assert!(err.contains("--demo-keys"), "{err}");
    let (code, err) = serve(Some("not-hex-at-all"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("is not hex"), "{err}");
    assert!(
        !err.contains("not-hex-at-all"),
        "the value itself is never printed: {err}"
    );
    let (code, err) = serve(Some("abcd"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("shorter than 16 bytes"), "{err}");
}
