//! A terminal's life through the binary and a live server over HTTP: enrolment, a check before
//! the self-test, the self-test, genuine / clone / replayed / forged requests, statuses, first
//! use superseding the old card, a PSAM of another province, problems and the readiness
//! report. On SQLite, and on PostgreSQL when `SSCARD_TEST_PG_URL` is set (required in CI).

mod common;

use std::path::Path;

use common::live::{Env, flip_first_hex, free_port, http, other_keys, wait_for_port};
use serde_json::Value;

#[allow(clippy::too_many_lines)] // one terminal's life, told in order
fn terminal_life(db: String) {
    let env = Env::start(db);
    let server = env.server();
    env.ok(&[
        "institution",
        "add",
        "--code",
        "H32120200001",
        "--name",
        "泰州市人民医院",
        "--kind",
        "hospital",
        "--level",
        "3",
        "--region",
        "321202",
        "--networked",
    ]);
    let (code, enrolled) = env.json(&[
        "terminal",
        "enrol",
        "--institution",
        "H32120200001",
        "--server",
        &server,
        "--out",
        "terminal.json",
    ]);
    assert_eq!(code, 0, "{enrolled}");
    assert_eq!(enrolled["state"], "enrolled");
    assert_eq!(enrolled["terminal"], "321202000001");
    let (card, image) = env.card("321202198808081014", "张三");

    // Not ready before the self-test.
    assert_eq!(env.check("terminal.json", &image), "terminal.not_ready");
    let (code, selftest) = env.json(&["terminal", "selftest", "--config", "terminal.json"]);
    assert_eq!(
        (code, &selftest["result"]),
        (0, &Value::from("ok")),
        "{selftest}"
    );
    assert_eq!(selftest["ready"], true);

    // A genuine card, with the holder's PIN, and the request dumped.
    let (code, answer) = env.json(&[
        "terminal",
        "check",
        "--config",
        "terminal.json",
        "--image",
        &image,
        "--pin",
        "123456",
        "--dump-request",
        "request.json",
    ]);
    assert_eq!(code, 0, "{answer}");
    assert_eq!(answer["result"], "ok");
    assert_eq!(answer["card_number"], card.as_str());
    assert_eq!(answer["holder_masked"], "张*");
    assert_eq!(answer["insured_city"], "321200");
    assert_eq!(answer["generation"], "third");
    assert_eq!(answer["check_token"].as_str().unwrap().len(), 64);
    assert!(answer["valid_until"].as_str().is_some());
    // The holder draws a pension: certified here with the card, then may be paid.
    env.ok(&[
        "insurance",
        "enrol",
        "--id",
        "321202198808081014",
        "--insutype",
        "310",
        "--psn-type",
        "1201",
        "--region",
        "321200",
        "--from",
        "2015-01-01",
    ]);
    let token = answer["check_token"].as_str().unwrap().to_owned();
    let (code, certified) = env.json(&[
        "terminal",
        "certify-pension",
        "--config",
        "terminal.json",
        "--card",
        card.as_str(),
        "--token",
        &token,
    ]);
    assert_eq!(code, 0, "{certified}");
    assert_eq!(certified["certification"]["channel"], "terminal");
    assert_eq!(certified["certification"]["region"], "321200");
    let (_, status) = env.json(&["pension", "status", "321202198808081014"]);
    assert_eq!(status["held"], false, "{status}");
    // A made-up token is refused.
    let (code, refused) = env.json(&[
        "terminal",
        "certify-pension",
        "--config",
        "terminal.json",
        "--card",
        card.as_str(),
        "--token",
        "00",
    ]);
    assert_ne!(code, 0);
    assert_eq!(refused["code"], "card.not_checked", "{refused}");
    for field in ["message", "message_en", "ss_status"] {
        assert!(answer[field].is_string(), "{field}: {answer}");
    }

    // The dumped request sent again: a replay. One hex digit changed: a bad MAC.
    let dumped = env.read("request.json");
    assert_eq!(dumped["method"], "POST");
    assert_eq!(dumped["path"], "/api/v1/terminal/checks");
    assert!(dumped["body"]["card_cryptogram"].as_str().unwrap().len() == 16);
    let path = dumped["path"].as_str().unwrap();
    let (status, v) = env.post(path, &dumped["body"]);
    assert_eq!(
        (status, v["result"].as_str().unwrap()),
        (401, "terminal.replay")
    );
    for field in ["mac", "card_number"] {
        let mut forged = dumped["body"].clone();
        forged[field] = Value::String(flip_first_hex(forged[field].as_str().unwrap()));
        forged["counter"] = Value::from(1000);
        let (status, v) = env.post(path, &forged);
        assert_eq!(
            (status, v["result"].as_str().unwrap()),
            (401, "terminal.bad_mac"),
            "{field}"
        );
    }

    // A clone: the same files on a card with other keys.
    let mut clone = env.read(&image);
    other_keys(&mut clone["keys"]);
    env.write("clone.json", &clone);
    assert_eq!(env.check("terminal.json", "clone.json"), "card.not_genuine");

    // Statuses.
    let (lost, lost_image) = env.card("320102199003071116", "李四");
    env.ok(&["card", "activate", &lost]);
    env.ok(&["card", "loss", &lost, "--temporary"]);
    assert_eq!(
        env.check("terminal.json", &lost_image),
        "card.temporary_loss"
    );
    env.ok(&["card", "loss", &lost, "--formal"]);
    assert_eq!(env.check("terminal.json", &lost_image), "card.formal_loss");

    // The first use of the new card supersedes the old one; the old card is then refused.
    let (code, exchanged) = env.json(&["card", "exchange", &card]);
    assert_eq!(code, 0, "{exchanged}");
    let new = exchanged["card_number"].as_str().unwrap().to_owned();
    let new_image = env.image(&new);
    assert_eq!(env.check("terminal.json", &new_image), "card.not_issued");
    assert_eq!(
        env.check("terminal.json", &image),
        "ok",
        "the old card works until the new one is used"
    );
    env.ok(&["card", "hand-over", &new]);
    let (_, first) = env.json(&[
        "terminal",
        "check",
        "--config",
        "terminal.json",
        "--image",
        &new_image,
    ]);
    assert_eq!(first["result"], "ok");
    assert_eq!(first["superseded"], serde_json::json!([card]));
    assert_eq!(env.check("terminal.json", &image), "card.superseded");

    // Suspended, then back.
    env.ok(&["terminal", "suspend", "321202000001"]);
    assert_eq!(env.check("terminal.json", &new_image), "terminal.suspended");
    env.ok(&["terminal", "resume", "321202000001"]);
    assert_eq!(env.check("terminal.json", &new_image), "ok");

    // A terminal whose PSAM holds another province's keys never becomes ready.
    env.ok(&[
        "terminal",
        "enrol",
        "--institution",
        "H32120200001",
        "--server",
        &server,
        "--out",
        "foreign.json",
    ]);
    let mut foreign = env.read("foreign.json");
    other_keys(&mut foreign["psam"]["keys"]);
    env.write("foreign.json", &foreign);
    let (code, v) = env.json(&["terminal", "selftest", "--config", "foreign.json"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["ready"], false);
    assert_eq!(env.check("foreign.json", &new_image), "terminal.not_ready");

    // Problems and the readiness report.
    env.ok(&[
        "terminal",
        "problem",
        "open",
        "--terminal",
        "321202000002",
        "--category",
        "psam",
        "--note",
        "PSAM 不是本省密钥",
    ]);
    let (_, report) = env.json(&["readiness"]);
    assert_eq!(report["terminals"], 2);
    assert_eq!(report["ready"], 1);
    assert_eq!(report["ready_permille"], 500);
    assert_eq!(report["open_problems"].as_array().unwrap().len(), 1);
    let (_, terminals) = env.json(&["terminal", "list"]);
    assert_eq!(terminals[0]["state"], "ready");
    assert_eq!(terminals[1]["state"], "enrolled");
    assert_eq!(terminals[1]["open_problems"], 1);

    // Offline: the deny list synced, then the platform out of reach.
    let (code, synced) = env.json(&["terminal", "sync", "--config", "terminal.json"]);
    assert_eq!(code, 0, "{synced}");
    assert!(synced["denied"].as_u64().unwrap() >= 2, "{synced}");
    let mut offline = env.read("terminal.json");
    offline["server"] = Value::from("http://127.0.0.1:9");
    env.write("offline.json", &offline);
    std::fs::copy(
        env.dir.path().join("terminal.state.json"),
        env.dir.path().join("offline.state.json"),
    )
    .unwrap();
    assert_eq!(env.check("offline.json", &new_image), "ok_offline");
    assert_eq!(env.check("offline.json", &lost_image), "card.formal_loss");
    assert_eq!(env.check("offline.json", &image), "card.superseded");
    assert_eq!(env.check("offline.json", "clone.json"), "card.not_genuine");
    // The new card is reported lost after the last sync: the terminal cannot know, accepts it
    // offline, and the reconciliation flags that use.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    env.ok(&["card", "loss", &new, "--temporary"]);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(env.check("offline.json", &new_image), "ok_offline");
    offline["server"] = Value::from(server.as_str());
    env.write("offline.json", &offline);
    let (code, uploaded) = env.json(&["terminal", "upload", "--config", "offline.json"]);
    assert_eq!(code, 0, "{uploaded}");
    let outcomes: Vec<(String, String)> = uploaded["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["outcome"].as_str().unwrap().to_owned(),
                o["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("accepted".to_owned(), String::new()),
            ("flagged".to_owned(), "card.temporary_loss".to_owned())
        ]
    );
    let (_, again) = env.json(&["terminal", "upload", "--config", "offline.json"]);
    assert_eq!(
        again["outcomes"],
        serde_json::json!([]),
        "the journal was emptied"
    );
    let (_, flagged) = env.json(&["terminal", "offline-report", "--flagged"]);
    assert_eq!(flagged.as_array().unwrap().len(), 1);
    assert_eq!(flagged[0]["reason"], "card.temporary_loss");
    assert_eq!(flagged[0]["card_number"], new.as_str());
    // Past the grace period the terminal refuses offline.
    offline["server"] = Value::from("http://127.0.0.1:9");
    offline["grace_hours"] = Value::from(0);
    env.write("offline.json", &offline);
    assert_eq!(
        env.check("offline.json", &new_image),
        "terminal.deny_list_stale"
    );

    reader_agent(&env);

    // The audit trail saw the checks, without the holders' ID numbers.
    let audit = env.ok(&["audit", "tail", "-n", "200"]);
    assert!(audit.contains("terminal.check"), "{audit}");
    assert!(!audit.contains("321202198808081014"));
    // The terminal's file is the owner's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(Path::new(env.dir.path()).join("terminal.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }
}

/// The local reader service a browser-based HIS calls: the `iReadCardBas` string, the online
/// check, origins and hosts it refuses, a clone.
#[allow(clippy::too_many_lines)] // one session at the agent, told in order
fn reader_agent(env: &Env) {
    let (card, image) = env.card("321204197506152022", "王五");
    std::fs::copy(
        env.dir.path().join(&image),
        env.dir.path().join("slot.json"),
    )
    .unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let _agent = env.spawn(&[
        "terminal",
        "agent",
        "--config",
        "terminal.json",
        "--image",
        "slot.json",
        "--listen",
        &listen,
        "--allow-origin",
        "http://his.example",
    ]);
    wait_for_port(port);
    let json = |body: &str| -> Value { serde_json::from_str(body).unwrap() };

    let (status, _, body) = http(port, "GET", "/card", &[], "");
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    assert_eq!(v["code"], 0);
    let fields: Vec<&str> = v["info"].as_str().unwrap().split('|').collect();
    assert_eq!(
        fields.len(),
        12,
        "eleven fields, each ended by |: {fields:?}"
    );
    assert_eq!(fields[0], "321200");
    assert_eq!(fields[1], "321204197506152022");
    assert_eq!(fields[2], card);
    assert_eq!(fields[3], v["card_sn"].as_str().unwrap());
    assert_eq!(fields[4], "王五");
    assert_eq!(fields[11], "");

    let (status, _, body) = http(
        port,
        "POST",
        "/check",
        &[("Content-Type", "application/json")],
        r#"{"pin":"123456"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    assert_eq!(
        (v["result"].as_str(), v["card_number"].as_str()),
        (Some("ok"), Some(card.as_str())),
        "{v}"
    );
    assert_eq!(v["check_token"].as_str().unwrap().len(), 64);
    let (status, _, body) = http(port, "POST", "/check", &[], "");
    assert_eq!((status, json(&body)["result"].as_str()), (200, Some("ok")));

    // A browser page of an allowed origin gets the CORS answer; others and foreign hosts not.
    let his = [("Origin", "http://his.example")];
    let (status, head, _) = http(port, "GET", "/card", &his, "");
    assert_eq!(status, 200);
    assert!(
        head.contains("access-control-allow-origin: http://his.example"),
        "{head}"
    );
    let (status, head, _) = http(
        port,
        "OPTIONS",
        "/check",
        &[
            ("Origin", "http://his.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        "",
    );
    assert_eq!(status, 204);
    assert!(
        head.contains("access-control-allow-methods: get, post"),
        "{head}"
    );
    let (status, _, body) = http(
        port,
        "POST",
        "/check",
        &[("Origin", "http://evil.example")],
        "",
    );
    assert_eq!(
        (status, json(&body)["error"].as_str()),
        (403, Some("agent.origin"))
    );
    let host = format!("rebound.example:{port}");
    let (status, _, body) = http(port, "GET", "/card", &[("Host", host.as_str())], "");
    assert_eq!(
        (status, json(&body)["error"].as_str()),
        (403, Some("agent.host"))
    );
    let (status, _, body) = http(port, "POST", "/check", &[], "not json");
    assert_eq!(
        (status, json(&body)["error"].as_str()),
        (400, Some("request.body"))
    );

    // A clone in the slot: the PSAM refuses it locally, and so does the platform.
    std::fs::copy(
        env.dir.path().join("clone.json"),
        env.dir.path().join("slot.json"),
    )
    .unwrap();
    let (status, _, body) = http(port, "GET", "/card", &[], "");
    assert_eq!(
        (status, json(&body)["error"].as_str()),
        (422, Some("card.not_genuine")),
        "{body}"
    );
    let (status, _, body) = http(port, "POST", "/check", &[], "");
    assert_eq!(
        (status, json(&body)["result"].as_str()),
        (200, Some("card.not_genuine"))
    );
    // No card at all.
    std::fs::remove_file(env.dir.path().join("slot.json")).unwrap();
    let (status, _, body) = http(port, "GET", "/card", &[], "");
    assert_eq!(
        (status, json(&body)["error"].as_str()),
        (503, Some("card.read_failed"))
    );
}

#[test]
fn a_terminal_from_enrolment_to_use_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    terminal_life(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_from_enrolment_to_use_on_postgres() {
    let Some(url) = sscard_store::testing::fresh_postgres_url().await else {
        return;
    };
    tokio::task::spawn_blocking(move || terminal_life(url))
        .await
        .unwrap();
}
