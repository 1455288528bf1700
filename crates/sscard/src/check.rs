//! `sscard check id|card-number|credit-code VALUE...`: validate identifiers one by one.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use sscard_ids::{Bilingual, CardNumber, CreditCode, ResidentId};

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(subcommand)]
    kind: Kind,
}

#[derive(Debug, Subcommand)]
enum Kind {
    /// 公民身份号码（社会保障号码）/ resident ID number (18 characters, or 15-digit legacy).
    Id(Values),
    /// 社会保障卡卡号 / social security card number (9 characters).
    CardNumber(Values),
    /// 统一社会信用代码 / unified social credit code (18 characters).
    CreditCode(Values),
}

#[derive(Debug, Args)]
struct Values {
    /// Values to check; `-` reads values from standard input, one per line.
    #[arg(required = true, value_name = "VALUE")]
    values: Vec<String>,
    /// Show resident ID numbers in full in human output (they are masked by default).
    #[arg(long)]
    reveal: bool,
}

/// The outcome of checking one value.
struct Outcome {
    input: String,
    /// `Ok(fields)` for a valid value: `normalized` plus kind-specific fields.
    result: Result<Map<String, Value>, (String, String, String)>,
    /// What to print for the value in human output.
    shown: String,
    /// Extra human-readable description of a valid value.
    detail: String,
}

pub(crate) fn run(args: &CheckArgs, json_out: bool) -> anyhow::Result<ExitCode> {
    let (values, reveal) = match &args.kind {
        Kind::Id(v) | Kind::CardNumber(v) | Kind::CreditCode(v) => (expand(&v.values)?, v.reveal),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut all_valid = true;
    for input in values {
        let outcome = match &args.kind {
            Kind::Id(_) => check_id(&input, reveal),
            Kind::CardNumber(_) => check_card_number(&input),
            Kind::CreditCode(_) => check_credit_code(&input),
        };
        all_valid &= outcome.result.is_ok();
        if json_out {
            writeln!(out, "{}", to_json(&outcome))?;
        } else {
            writeln!(out, "{}", to_human(&outcome))?;
        }
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Replaces each `-` by the non-empty lines of standard input.
fn expand(values: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::with_capacity(values.len());
    let mut stdin_used = false;
    for v in values {
        if v == "-" {
            anyhow::ensure!(
                !stdin_used,
                "标准输入只能读取一次（`-` given more than once）"
            );
            stdin_used = true;
            for line in std::io::stdin().lock().lines() {
                let line = line.context("读取标准输入失败（reading standard input failed）")?;
                let line = line.trim();
                if !line.is_empty() {
                    out.push(line.to_owned());
                }
            }
        } else {
            out.push(v.clone());
        }
    }
    Ok(out)
}

fn failure(input: &str, shown: String, e: &impl Bilingual) -> Outcome {
    Outcome {
        input: input.to_owned(),
        result: Err((e.code().to_owned(), e.zh(), e.en())),
        shown,
        detail: String::new(),
    }
}

fn check_id(input: &str, reveal: bool) -> Outcome {
    // An invalid value is shown masked as well: it is still somebody's number, give or take a digit.
    let masked_input = || {
        if reveal {
            input.trim().to_owned()
        } else {
            sscard_ids::mask_middle(input.trim(), 4, 4)
        }
    };
    match ResidentId::parse(input) {
        Ok(id) => {
            let region = id.region();
            let mut m = Map::new();
            m.insert("normalized".into(), json!(id.expose()));
            m.insert("region".into(), json!(region.to_string()));
            m.insert("region_name".into(), json!(region.name_zh()));
            m.insert(
                "birth_date".into(),
                json!(id.birth_date().format("%Y-%m-%d").to_string()),
            );
            m.insert("sex".into(), json!(id.sex().as_str()));
            m.insert("upgraded_from_15".into(), json!(id.upgraded_from_15()));
            let shown = if reveal {
                id.expose().to_owned()
            } else {
                id.masked()
            };
            let upgraded = if id.upgraded_from_15() {
                " · 15 位升 18 位（upgraded from 15）"
            } else {
                ""
            };
            Outcome {
                input: input.to_owned(),
                detail: format!(
                    "{}（{}） · {} · {}（{}）{upgraded}",
                    region.name_zh(),
                    region.name_en(),
                    id.birth_date().format("%Y-%m-%d"),
                    id.sex().zh(),
                    id.sex().as_str(),
                ),
                result: Ok(m),
                shown,
            }
        }
        Err(e) => failure(input, masked_input(), &e),
    }
}

fn check_card_number(input: &str) -> Outcome {
    match CardNumber::parse(input) {
        Ok(n) => {
            let mut m = Map::new();
            m.insert("normalized".into(), json!(n.as_str()));
            Outcome {
                input: input.to_owned(),
                result: Ok(m),
                shown: n.to_string(),
                detail: String::new(),
            }
        }
        Err(e) => failure(input, input.trim().to_owned(), &e),
    }
}

fn check_credit_code(input: &str) -> Outcome {
    match CreditCode::parse(input) {
        Ok(c) => {
            let mut m = Map::new();
            m.insert("normalized".into(), json!(c.as_str()));
            m.insert("organization_code".into(), json!(c.organization_code()));
            Outcome {
                input: input.to_owned(),
                detail: format!(
                    "登记管理机关行政区划码（region digits） {}",
                    c.region_digits()
                ),
                result: Ok(m),
                shown: c.to_string(),
            }
        }
        Err(e) => failure(input, input.trim().to_owned(), &e),
    }
}

fn to_json(o: &Outcome) -> Value {
    let mut m = Map::new();
    m.insert("input".into(), json!(o.input));
    match &o.result {
        Ok(fields) => {
            m.insert("valid".into(), json!(true));
            m.extend(fields.clone());
        }
        Err((code, zh, en)) => {
            m.insert("valid".into(), json!(false));
            m.insert("normalized".into(), Value::Null);
            m.insert(
                "error".into(),
                json!({ "code": code, "message": zh, "message_en": en }),
            );
        }
    }
    Value::Object(m)
}

fn to_human(o: &Outcome) -> String {
    match &o.result {
        Ok(_) if o.detail.is_empty() => format!("✓ {}  有效（valid）", o.shown),
        Ok(_) => format!("✓ {}  有效（valid） · {}", o.shown, o.detail),
        Err((code, zh, en)) => format!("✗ {}  {zh}（{en}） [{code}]", o.shown),
    }
}
