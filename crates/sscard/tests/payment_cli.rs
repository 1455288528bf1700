//! `sscard payment create|send|result|show`, `sscard sim bank-payments|bank-status` and
//! `sscard bank export|import` on a fresh SQLite database: a small subsidy batch with a bad
//! row, a frozen account, a result applied twice, and the status exchange both ways.

mod common;

use common::Cli;

const PEOPLE: [(&str, &str); 3] = [
    ("321202198808081014", "张三"),
    ("320102199003071116", "李四"),
    ("321204197506152022", "王芳"),
];

#[test]
#[allow(clippy::too_many_lines)] // one payment run, told in order
fn a_subsidy_batch_and_the_status_exchange_from_the_command_line() {
    let cli = Cli::new();
    assert!(cli.run(&["init"]).status.success());
    let dir = cli.dir.path();
    let mut cards = Vec::new();
    for (id, name) in PEOPLE {
        let (rc, r) = cli.json(&[
            "apply",
            "--id",
            id,
            "--name",
            name,
            "--bank",
            "CCB",
            "--instant",
        ]);
        assert_eq!(rc, 0, "{r}");
        cards.push(r["card_number"].as_str().unwrap().to_owned());
    }
    // CCB reports the accounts opened (its own signed status file).
    let accounts = [
        "6217000000000000012",
        "6217000000000000020",
        "6217000000000000038",
    ];
    let status = dir.join("ccb-status.txt");
    let mut args = vec![
        "sim",
        "bank-status",
        "--bank",
        "105",
        "--out",
        status.to_str().unwrap(),
    ];
    let events: Vec<String> = cards
        .iter()
        .zip(accounts)
        .map(|(c, a)| format!("{c}=opened:{a}"))
        .collect();
    for e in &events {
        args.extend(["--event", e.as_str()]);
    }
    let out = cli.run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (rc, r) = cli.json(&["bank", "import", status.to_str().unwrap()]);
    assert_eq!((rc, r["applied"].as_u64()), (0, Some(3)), "{r}");

    // The subsidy file: three payees and one bad amount.
    let file = dir.join("subsidy.csv");
    std::fs::write(
        &file,
        format!(
            "id_number,amount\n{},1200.00\n{},800.50\n{},300\n{},12.345\n",
            PEOPLE[0].0, PEOPLE[1].0, PEOPLE[2].0, PEOPLE[0].0
        ),
    )
    .unwrap();
    let (rc, r) = cli.json(&[
        "payment",
        "create",
        "--kind",
        "subsidy",
        "--period",
        "2026-11",
        file.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{r}");
    assert_eq!(
        (r["rows"].as_u64(), r["accepted"].as_u64()),
        (Some(4), Some(3)),
        "{r}"
    );
    assert_eq!(r["total"], "2300.50");
    assert_eq!(r["rejected"][0]["row"], 5);
    assert_eq!(r["rejected"][0]["column"], "amount");
    assert!(
        r["rejected"][0]["message_en"]
            .as_str()
            .unwrap()
            .contains("12.345")
    );
    let batch = r["batch_id"].as_i64().unwrap().to_string();
    let (rc, r) = cli.json(&[
        "payment",
        "create",
        "--kind",
        "bonus",
        "--period",
        "2026-11",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        (rc, r["error"]["code"].as_str()),
        (2, Some("payment.kind")),
        "{r}"
    );

    // Send: one file for CCB; CCB answers with the second account frozen.
    let out_dir = dir.join("out");
    let (rc, r) = cli.json(&[
        "payment",
        "send",
        &batch,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{r}");
    let order = r["written"][0].as_str().unwrap().to_owned();
    let text = std::fs::read_to_string(&order).unwrap();
    assert!(
        text.starts_with("#SSCARD-EXCHANGE|1|PAYMENT-ORDER|batch=1|partner=105|rows=3|"),
        "{text}"
    );
    let result = dir.join("result.txt");
    let out = cli.run(&[
        "sim",
        "bank-payments",
        &order,
        "--out",
        result.to_str().unwrap(),
        "--fail",
        "3=account_frozen",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (rc, r) = cli.json(&["payment", "result", &batch, result.to_str().unwrap()]);
    assert_eq!(rc, 0, "{r}");
    assert_eq!(
        (
            r[0]["file"]["paid_rows"].as_i64(),
            r[0]["file"]["failed"].as_str()
        ),
        (Some(2), Some("800.50")),
        "{r}"
    );
    // Applied again: nothing changes.
    let (rc, r) = cli.json(&["payment", "result", &batch, result.to_str().unwrap()]);
    assert_eq!(
        (rc, r[0]["already_applied"].as_bool()),
        (0, Some(true)),
        "{r}"
    );
    let (rc, r) = cli.json(&["payment", "show", &batch]);
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["reconciled"], true, "{r}");
    assert_eq!(
        r["by_status"][0],
        serde_json::json!(["paid", { "rows": 2, "amount": "1500.00" }])
    );
    assert_eq!(
        r["by_status"][2],
        serde_json::json!(["failed", { "rows": 1, "amount": "800.50" }])
    );
    assert_eq!(r["unpaid"][0]["code"], "payment.account_frozen");
    // Sent again while the account is still frozen at the bank: held with the reason.
    let (rc, r) = cli.json(&[
        "payment",
        "send",
        &batch,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{r}");
    assert_eq!(
        r["held"][0],
        serde_json::json!({ "reason": "account_frozen", "rows": 1 }),
        "{r}"
    );
    let text = String::from_utf8_lossy(&cli.run(&["payment", "show", &batch]).stdout).into_owned();
    assert!(
        text.contains("银行账户已冻结") && text.contains("account is frozen"),
        "{text}"
    );

    // The centre's formal loss goes to CCB in the next export; CCB's own loss comes back.
    assert!(cli.run(&["card", "hand-over", &cards[0]]).status.success());
    let out = cli.run(&["card", "loss", &cards[0], "--formal"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let export = dir.join("export.txt");
    let (rc, r) = cli.json(&[
        "bank",
        "export",
        "--bank",
        "105",
        "--out",
        export.to_str().unwrap(),
    ]);
    assert_eq!((rc, r["events"].as_u64()), (0, Some(1)), "{r}");
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(
        text.contains(&format!("|{}|{}|formal_loss|", cards[0], accounts[0])),
        "{text}"
    );
    let tampered = dir.join("tampered.txt");
    std::fs::write(
        &tampered,
        std::fs::read_to_string(&status)
            .unwrap()
            .replace("opened", "closed"),
    )
    .unwrap();
    let (rc, r) = cli.json(&["bank", "import", tampered.to_str().unwrap()]);
    assert_eq!(
        (rc, r["error"]["code"].as_str()),
        (1, Some("exchange.bad_signature")),
        "{r}"
    );
}
