//! `sscard insurance enrol | show`, `sscard policy load`, `sscard catalogue load` on a fresh
//! SQLite database: exact money, files refused whole with line and field, reloads replacing.

mod common;

use common::Cli;

const POLICY: &str = include_str!("../../../docs/examples/policy-321200-2026.toml");

#[test]
#[allow(clippy::too_many_lines)] // one centre's morning, told in order
fn insurance_and_the_settlement_configuration_from_the_command_line() {
    let cli = Cli::new();
    assert!(cli.run(&["init"]).status.success());
    let (rc, r) = cli.json(&[
        "apply",
        "--id",
        "321202198808081014",
        "--name",
        "张三",
        "--bank",
        "CCB",
    ]);
    assert_eq!(rc, 0, "{r}");
    let enrol = |balance: &str| {
        cli.json(&[
            "insurance",
            "enrol",
            "--id",
            "321202198808081014",
            "--insutype",
            "310",
            "--psn-type",
            "1101",
            "--region",
            "321200",
            "--from",
            "2026-01-01",
            "--balance",
            balance,
        ])
    };
    let (rc, r) = enrol("1000.5");
    assert_eq!((rc, r["status"].as_str()), (0, Some("active")), "{r}");
    let (rc, r) = enrol("1000.50");
    assert_eq!(
        (rc, r["error"]["code"].as_str()),
        (1, Some("insurance.already_enrolled")),
        "{r}"
    );
    let (rc, r) = enrol("10.005");
    assert_eq!(
        (rc, r["error"]["code"].as_str()),
        (1, Some("decimal.invalid")),
        "{r}"
    );
    let (rc, r) = cli.json(&["insurance", "show", "321202198808081014"]);
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["accounts"][0]["balance"], "1000.50");
    assert_eq!(r["enrolments"][0]["region"], "321200");
    assert!(
        !r.to_string().contains("321202198808081014"),
        "the ID is masked: {r}"
    );

    // A filing for care in Nanjing, listed on the person, then cancelled.
    let (rc, f) = cli.json(&[
        "filing",
        "add",
        "--id",
        "321202198808081014",
        "--insutype",
        "310",
        "--region",
        "320100",
        "--from",
        "2026-03-01",
        "--to",
        "2026-08-31",
        "--kind",
        "long-term",
    ]);
    assert_eq!((rc, f["status"].as_str()), (0, Some("active")), "{f}");
    let serial = f["serial"].as_str().unwrap().to_owned();
    let (_, r) = cli.json(&["insurance", "show", "321202198808081014"]);
    assert_eq!(r["filings"][0]["serial"], serial.as_str());
    let (rc, f) = cli.json(&["filing", "cancel", &serial, "--note", "已返回泰州"]);
    assert_eq!((rc, f["status"].as_str()), (0, Some("cancelled")), "{f}");
    let (rc, f) = cli.json(&["filing", "cancel", &serial]);
    assert_eq!(
        (rc, f["error"]["code"].as_str()),
        (1, Some("filing.cancelled")),
        "{f}"
    );

    let dir = cli.dir.path();
    std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
    let (rc, r) = cli.json(&["policy", "load", dir.join("policy.toml").to_str().unwrap()]);
    assert_eq!((rc, r["rows"].as_u64()), (0, Some(2)), "{r}");
    let (rc, r) = cli.json(&["policy", "load", dir.join("policy.toml").to_str().unwrap()]);
    assert_eq!(
        (rc, r["replaced"].as_u64()),
        (0, Some(2)),
        "a reload replaces: {r}"
    );
    std::fs::write(
        dir.join("bad.toml"),
        POLICY.replace("\"0.85\", \"3\"", "\"0\", \"3\""),
    )
    .unwrap();
    let (rc, r) = cli.json(&["policy", "load", dir.join("bad.toml").to_str().unwrap()]);
    assert_eq!(rc, 1, "{r}");
    assert_eq!(r["rejected"][0]["column"], "ratio.2");
    assert!(r["rejected"][0]["row"].as_u64().unwrap() >= 1);

    let catalogue = "region,code,name,class,selfpay_prop,price_cap\n\
                     321200,XB01AAA001,阿莫西林胶囊,01,0,\n\
                     321200,XB02BBB002,头孢克肟片,02,0.10,30.00\n";
    std::fs::write(dir.join("cat.csv"), encoding_rs::GBK.encode(catalogue).0).unwrap();
    let (rc, r) = cli.json(&["catalogue", "load", dir.join("cat.csv").to_str().unwrap()]);
    assert_eq!((rc, r["rows"].as_u64()), (0, Some(2)), "{r}");
    std::fs::write(
        dir.join("bad.csv"),
        format!("{catalogue}321200,X3,名称,02,,\n"),
    )
    .unwrap();
    let (rc, r) = cli.json(&["catalogue", "load", dir.join("bad.csv").to_str().unwrap()]);
    assert_eq!(rc, 1, "{r}");
    assert_eq!(
        (
            r["rejected"][0]["row"].as_u64(),
            r["rejected"][0]["column"].as_str()
        ),
        (Some(4), Some("selfpay_prop"))
    );
}

#[test]
fn a_transfer_and_the_clearing_from_the_command_line() {
    let cli = Cli::new();
    assert!(cli.run(&["init"]).status.success());
    let id = "320102199003071116";
    let (rc, r) = cli.json(&["apply", "--id", id, "--name", "李四", "--bank", "CCB"]);
    assert_eq!(rc, 0, "{r}");
    let (rc, r) = cli.json(&[
        "insurance",
        "enrol",
        "--id",
        id,
        "--insutype",
        "310",
        "--psn-type",
        "1101",
        "--region",
        "321200",
        "--from",
        "2024-03-15",
        "--balance",
        "1200.00",
    ]);
    assert_eq!(rc, 0, "{r}");
    let (rc, t) = cli.json(&[
        "insurance",
        "transfer",
        "--id",
        id,
        "--insutype",
        "310",
        "--to",
        "320500",
        "--date",
        "2026-09-01",
    ]);
    assert_eq!(rc, 0, "{t}");
    assert_eq!(t["from"], "321200");
    assert_eq!(t["to"], "320500");
    assert_eq!(t["balance_moved"], "1200.00");
    assert_eq!(t["contribution_months"], 29);
    let (_, record) = cli.json(&["insurance", "show", id]);
    assert_eq!(record["enrolments"].as_array().unwrap().len(), 2);
    assert_eq!(record["enrolments"][0]["end_date"], "2026-08-31");
    assert_eq!(record["transfers"][0]["serial"], t["serial"]);
    // Moving to where the person already is, is refused with its code.
    let (rc, e) = cli.json(&[
        "insurance",
        "transfer",
        "--id",
        id,
        "--insutype",
        "310",
        "--to",
        "320500",
        "--date",
        "2026-10-01",
    ]);
    assert_ne!(rc, 0);
    assert_eq!(e["error"]["code"], "insurance.same_region", "{e}");
    // The clearing of a month without cross-region settlements, and a bad month.
    let (rc, c) = cli.json(&["clearing", "run", "--month", "2026-11"]);
    assert_eq!(rc, 0, "{c}");
    assert_eq!(c["entries"].as_array().unwrap().len(), 0);
    let (rc, e) = cli.json(&["clearing", "run", "--month", "2026-13"]);
    assert_ne!(rc, 0);
    assert_eq!(e["error"]["code"], "clearing.month", "{e}");
}

#[test]
fn a_pensioner_certified_at_a_counter_may_be_paid() {
    let cli = Cli::new();
    assert!(cli.run(&["init"]).status.success());
    let id = "321204197506152022";
    let (rc, r) = cli.json(&["apply", "--id", id, "--name", "王五", "--bank", "CCB"]);
    assert_eq!(rc, 0, "{r}");
    let (rc, r) = cli.json(&[
        "insurance",
        "enrol",
        "--id",
        id,
        "--insutype",
        "310",
        "--psn-type",
        "1201",
        "--region",
        "321200",
        "--from",
        "2015-01-01",
    ]);
    assert_eq!(rc, 0, "{r}");
    let (rc, s) = cli.json(&["pension", "status", id]);
    assert_eq!(rc, 0, "{s}");
    assert_eq!(s["held"], true);
    assert!(s["reason_en"].as_str().unwrap().contains("never certified"));
    // At a counter in Nanjing: any city's outlet will do.
    let (rc, o) = cli.json(&[
        "outlet",
        "add",
        "--code",
        "NJ-XW-01",
        "--name",
        "玄武区社保服务中心",
        "--region",
        "320102",
    ]);
    assert_eq!(rc, 0, "{o}");
    let (rc, c) = cli.json(&["pension", "certify", "--id", id, "--outlet", "NJ-XW-01"]);
    assert_eq!(rc, 0, "{c}");
    assert_eq!(c["channel"], "outlet");
    assert_eq!(c["region"], "320100");
    let (_, s) = cli.json(&["pension", "status", id]);
    assert_eq!(s["held"], false, "{s}");
}
