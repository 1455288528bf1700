//! Interop through the real PC/SC stack: the software card served into `pcscd` by
//! `sscard chip vpcd` (vsmartcard's vpcd driver), read by a foreign client (`scriptor` from
//! pcsc-tools) and by `sscard chip read --reader`. Built only with `--features pcsc`; skips with
//! a reason where pcscd, vpcd or scriptor are missing, and fails in CI.

#![cfg(feature = "pcsc")]

mod common;

use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// vpcd holds one card at a time: the tests take turns.
static READER: Mutex<()> = Mutex::new(());

/// A card in vpcd's reader; taken out (the bridge stopped) when dropped, even on a failure.
struct Inserted(std::process::Child);

impl Drop for Inserted {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves `image` into vpcd's reader and waits until the card answers there.
///
/// Right after a card was pulled (its bridge killed), vpcd sometimes keeps the next bridge's
/// connection waiting and reports an empty reader; as a person would, the card is then taken
/// out and put in again (at most three times, 8 s each).
fn insert(image: &std::path::Path) -> Inserted {
    let log = image.with_extension("vpcd.log");
    let mut last = String::new();
    for _attempt in 0..3 {
        let vpcd = Inserted(
            Command::new(env!("CARGO_BIN_EXE_sscard"))
                .args(["chip", "vpcd", image.to_str().unwrap()])
                .args(["--port", &vpcd_port().to_string()])
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap(),
        );
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(8) {
            let probe = sscard(&[
                "chip",
                "apdu",
                "--reader",
                "Virtual PCD",
                "00A404000F7378312E73682EC9E7BBE1B1A3D5CF",
            ]);
            if probe.status.success() && String::from_utf8_lossy(&probe.stdout).contains("< 611B") {
                return vpcd;
            }
            last = format!(
                "{} {}",
                String::from_utf8_lossy(&probe.stdout),
                String::from_utf8_lossy(&probe.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!("the card did not appear in 8 s; inserting it again ({last})");
    }
    panic!(
        "the card never appeared in the reader: {last}; the bridge said: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// vpcd's port: `SSCARD_VPCD_PORT` (CI runs a private pcscd on a free port), else vpcd's
/// default 35963.
fn vpcd_port() -> u16 {
    std::env::var("SSCARD_VPCD_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(35963)
}

fn skip_if_missing() -> bool {
    let missing = missing_parts();
    if missing.is_empty() {
        return false;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but PC/SC parts are missing: {missing:?}"
    );
    eprintln!(
        "skipping PC/SC test: missing {missing:?} (apt-get install pcscd vsmartcard-vpcd pcsc-tools; start pcscd)"
    );
    true
}

/// A hospital terminal checks cards through the real PC/SC stack: a genuine card is `ok`, a
/// clone in the same reader is `card.not_genuine`.
#[test]
fn a_terminal_checks_cards_through_pcscd() {
    if skip_if_missing() {
        return;
    }
    let _turn = READER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let db_dir = tempfile::tempdir().unwrap();
    let env =
        common::live::Env::start(format!("sqlite://{}", db_dir.path().join("t.db").display()));
    env.ok(&[
        "institution",
        "add",
        "--code",
        "P32120400017",
        "--name",
        "海陵大药房",
        "--kind",
        "pharmacy",
        "--region",
        "321204",
    ]);
    env.ok(&[
        "terminal",
        "enrol",
        "--institution",
        "P32120400017",
        "--server",
        &env.server(),
        "--out",
        "terminal.json",
    ]);
    env.ok(&["terminal", "selftest", "--config", "terminal.json"]);
    let (card, image) = env.card("321202198808081014", "张三");
    let vpcd = insert(&env.dir.path().join(&image));
    let (code, v) = env.json(&[
        "terminal",
        "check",
        "--config",
        "terminal.json",
        "--reader",
        "Virtual PCD",
        "--pin",
        "123456",
        "--dump-request",
        "request.json",
    ]);
    assert_eq!((code, v["result"].as_str().unwrap()), (0, "ok"), "{v}");
    assert_eq!(v["card_number"], card.as_str());
    agent_through_the_reader(&env, &card);
    // A status through the reader (the first use above enabled the card), and the dumped
    // request sent again.
    env.ok(&["card", "loss", &card, "--temporary"]);
    let (code, v) = env.json(&[
        "terminal",
        "check",
        "--config",
        "terminal.json",
        "--reader",
        "Virtual PCD",
    ]);
    drop(vpcd);
    assert_eq!(
        (code, v["result"].as_str().unwrap()),
        (1, "card.temporary_loss"),
        "{v}"
    );
    let dumped = env.read("request.json");
    let (status, v) = env.post(dumped["path"].as_str().unwrap(), &dumped["body"]);
    assert_eq!(
        (status, v["result"].as_str().unwrap()),
        (401, "terminal.replay")
    );
    let mut clone = env.read(&image);
    common::live::other_keys(&mut clone["keys"]);
    env.write("clone.json", &clone);
    let vpcd = insert(&env.dir.path().join("clone.json"));
    let (code, v) = env.json(&[
        "terminal",
        "check",
        "--config",
        "terminal.json",
        "--reader",
        "Virtual PCD",
    ]);
    drop(vpcd);
    assert_eq!(
        (code, v["result"].as_str().unwrap()),
        (1, "card.not_genuine"),
        "{v}"
    );
}

/// The reader agent a browser-based HIS calls, on the reader holding `card`.
fn agent_through_the_reader(env: &common::live::Env, card: &str) {
    let port = common::live::free_port();
    let listen = format!("127.0.0.1:{port}");
    let agent = env.spawn(&[
        "terminal",
        "agent",
        "--config",
        "terminal.json",
        "--reader",
        "Virtual PCD",
        "--listen",
        &listen,
    ]);
    common::live::wait_for_port(port);
    let (status, _, body) = common::live::http(port, "GET", "/card", &[], "");
    assert_eq!(status, 200, "{body}");
    let fields: Vec<String> = serde_json::from_str::<serde_json::Value>(&body).unwrap()["info"]
        .as_str()
        .unwrap()
        .split('|')
        .map(str::to_owned)
        .collect();
    assert_eq!((fields.len(), fields[2].as_str()), (12, card));
    let (status, _, body) = common::live::http(port, "POST", "/check", &[], "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["result"],
        "ok"
    );
    drop(agent);
}

fn sscard(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sscard"))
        .args(args)
        .output()
        .unwrap()
}

fn missing_parts() -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !std::path::Path::new("/usr/lib/pcsc/drivers/serial/libifdvpcd.so").exists() {
        missing.push("vsmartcard-vpcd");
    }
    if Command::new("scriptor")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        missing.push("pcsc-tools (scriptor)");
    }
    if std::net::TcpStream::connect(("127.0.0.1", vpcd_port())).is_err() {
        missing
            .push("a running pcscd with vpcd on 127.0.0.1 (port SSCARD_VPCD_PORT, default 35963)");
    }
    missing
}

#[test]
fn foreign_client_and_sscard_read_through_pcscd() {
    if skip_if_missing() {
        return;
    }
    let _turn = READER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("card.json");
    let psam = dir.path().join("psam.json");
    assert!(
        sscard(&["chip", "image", "--demo", "--out", image.to_str().unwrap()])
            .status
            .success()
    );
    assert!(
        sscard(&["chip", "psam", "--demo", "--out", psam.to_str().unwrap()])
            .status
            .success()
    );
    let vpcd = insert(&image);

    // (a) A foreign PC/SC client selects the SSSE and reads EF05/EF06 with the expected bytes.
    let script = dir.path().join("script.txt");
    std::fs::write(
        &script,
        "00 A4 04 00 0F 73 78 31 2E 73 68 2E C9 E7 BB E1 B1 A3 D5 CF\n00 C0 00 00 1B\n00 B2 07 2C 0B\n00 B2 01 34 14\n",
    )
    .unwrap();
    let out = Command::new("scriptor")
        .arg("-r")
        .arg("Virtual PCD 00 00")
        .arg(&script)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
    assert!(text.contains("< 61 1B"), "{text}");
    assert!(text.contains("6F 19 84 0F 73 78 31 2E 73 68 2E C9 E7 BB E1 B1  A3 D5 CF A5 06 9F 0C 03 86 01 03 90 00"), "{text}");
    assert!(
        text.contains("< 07 09 58 30 30 30 30 30 30 31 39 90 00"),
        "EF05 card number: {text}"
    );
    assert!(
        text.contains("< 08 12 33 32 31 32 30 32 31 39 38 38 30 38 30 38  31 30 31 34 90 00"),
        "EF06 SSN: {text}"
    );

    // (b) sscard's own terminal completes the whole session through PC/SC.
    let read = sscard(&[
        "chip",
        "read",
        "--reader",
        "Virtual PCD",
        "--psam",
        psam.to_str().unwrap(),
        "--pin",
        "123456",
    ]);
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&read.stdout).trim(),
        "321202|321202198808081014|X00000019|321202D15600000500BF7C7A48FB4966|张三|0087BF10028649321200BF7C7A|3.00|20261128|20361127|321200000001|SSCARD-DEMO-0001|"
    );
    drop(vpcd);
}
