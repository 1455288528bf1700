//! Black-box tests of `sscard check`: the binary as a user runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn sscard(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sscard"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sscard");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn the_standard_examples_are_valid() {
    let out = sscard(
        &["check", "id", "11010519491231002X", "440524188001010014"],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 2);
    // Human output masks the numbers.
    assert!(text.contains("1101**********002X"), "{text}");
    assert!(!text.contains("11010519491231002X"), "{text}");
}

#[test]
fn json_for_a_resident_id() {
    let out = sscard(&["check", "id", "--json", "11010519491231002x"], None);
    assert_eq!(out.status.code(), Some(0));
    let v = &json_lines(&out)[0];
    assert_eq!(v["input"], "11010519491231002x");
    assert_eq!(v["valid"], true);
    assert_eq!(v["normalized"], "11010519491231002X");
    assert_eq!(v["region"], "110105");
    assert_eq!(v["birth_date"], "1949-12-31");
    assert_eq!(v["sex"], "female");
    assert_eq!(v["upgraded_from_15"], false);
}

#[test]
fn fifteen_digits_upgrade() {
    let out = sscard(&["--json", "check", "id", "110105491231002"], None);
    assert_eq!(out.status.code(), Some(0));
    let v = &json_lines(&out)[0];
    assert_eq!(v["normalized"], "11010519491231002X");
    assert_eq!(v["upgraded_from_15"], true);
}

#[test]
fn each_refusal_has_its_own_code_and_exit_one() {
    let cases = [
        ("110105194912310021", "resident_id.check_character"),
        ("110105199902290021", "resident_id.invalid_birth_date"),
        ("110105209901010021", "resident_id.future_birth_date"),
        ("990105194912310021", "resident_id.unknown_province"),
        ("1101051949123100", "resident_id.length"),
    ];
    let args: Vec<&str> = ["check", "id", "--json"]
        .into_iter()
        .chain(cases.iter().map(|c| c.0))
        .collect();
    let out = sscard(&args, None);
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), cases.len());
    for (v, (input, code)) in lines.iter().zip(cases) {
        assert_eq!(v["input"], input);
        assert_eq!(v["valid"], false);
        assert_eq!(v["normalized"], Value::Null);
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    // The wrong check character says which one was expected.
    assert!(lines[0]["error"]["message"].as_str().unwrap().contains('X'));
    assert!(
        lines[0]["error"]["message_en"]
            .as_str()
            .unwrap()
            .contains("must be X")
    );
}

#[test]
fn one_invalid_value_makes_the_exit_status_one() {
    let out = sscard(
        &["check", "id", "11010519491231002X", "110105194912310021"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("✓") && text.contains("✗"), "{text}");
}

#[test]
fn values_from_standard_input() {
    let out = sscard(
        &["check", "card-number", "--json", "-"],
        Some("X00000019\n\n x00000019 \nX00000018\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "blank lines are skipped");
    assert_eq!(lines[0]["normalized"], "X00000019");
    assert_eq!(lines[1]["normalized"], "X00000019");
    assert_eq!(lines[2]["error"]["code"], "card_number.check_character");
}

#[test]
fn credit_codes() {
    let out = sscard(
        &[
            "check",
            "credit-code",
            "--json",
            "91350100M000100Y43",
            "91350100M000100Y44",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[1]["error"]["code"], "credit_code.check_character");
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(sscard(&["check"], None).status.code(), Some(2));
    assert_eq!(sscard(&["check", "id"], None).status.code(), Some(2));
    assert_eq!(
        sscard(&["check", "passport", "x"], None).status.code(),
        Some(2)
    );
    assert_eq!(sscard(&["frobnicate"], None).status.code(), Some(2));
}
