//! `sscard demo` end to end: it seeds a fresh database, serves it, and the printed logins work.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn demo_seeds_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sscard"))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--people",
            "600",
            "--cards",
            "60",
            "--demo-db",
        ])
        .arg(&db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut url = None;
    let mut banner = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if let Some(rest) = line.trim().strip_prefix("控制台（console）") {
            url = Some(rest.trim().trim_end_matches("/console").to_owned());
        }
        if line.contains("Ctrl-C") {
            break;
        }
    }
    let url = url.unwrap_or_else(|| panic!("no URL in the banner:\n{banner}"));
    assert!(
        banner.contains("600 名职工") && banner.contains("clerk-demo"),
        "{banner}"
    );
    // The cards were used at terminals: online (in use, lost, superseded) and offline, one
    // pharmacy's journal reconciled with the uses of lost cards flagged.
    assert!(
        banner.contains("联网验卡（online checks） 28（通过 ok 21）")
            && banner.contains("（offline uses uploaded） 8（待核查 flagged 2）"),
        "{banner}"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let health: serde_json::Value = client
            .get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok");
        let login = client
            .post(format!("{url}/console/login"))
            .form(&[("username", "clerk"), ("password", "clerk-demo")])
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 303, "the printed demo login works");
    });
    child.kill().unwrap();
    child.wait().unwrap();
}
