//! `sscard bench payments`: a city's pension batch end to end — the file read and the batch
//! created, one send written as signed files per bank, the banks' results applied, the batch
//! reconciled — on SQLite and on PostgreSQL.
//!
//! Before the clock starts, a fresh database gets `--rows` pensioners on old cards spread over
//! the five banks (taken over as the migration does) with their certifications, and the
//! pension file is written. The banks' answers (`sim bank-payments`, 0.1 % frozen) are the
//! banks' work and timed apart. The peer is the same job as a hand-written SQL script in the
//! `sqlite3` shell on a copy of the same database: `.import` the CSV, join it to the persons
//! and their card accounts, write the rows per bank and sum them — no checks, no holds, no
//! signatures, no audit.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use sscard_core::PaymentKind;
use sscard_exchange::PaymentFailPlan;
use sscard_ids::{BankCardNumber, CardNumber, PersonName, RegionCode, ResidentId};
use sscard_import::bank_files;
use sscard_import::production::ExchangeKeys;
use sscard_store::bank::{LegacyCardInput, LegacyStatus};
use sscard_store::{Ctx, Store, StoreOptions};

use crate::store_cmds::Global;

#[derive(Debug, Args)]
pub(crate) struct PaymentsBench {
    /// Pensioners in the batch.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// A PostgreSQL server (a fresh database is created on it and dropped); without it a
    /// throw-away cluster is started from the local PostgreSQL binaries.
    #[arg(long, env = "SSCARD_BENCH_PG_URL")]
    pg: Option<String>,
    /// SQLite only.
    #[arg(long)]
    no_pg: bool,
    /// Keep the databases and files in this directory (default: a temporary one, removed).
    #[arg(long)]
    keep: Option<std::path::PathBuf>,
}

#[derive(Debug, serde::Serialize)]
struct Run {
    backend: String,
    rows: usize,
    create_s: f64,
    send_s: f64,
    result_s: f64,
    report_s: f64,
    total_s: f64,
    rows_per_second: f64,
    banks_answer_s: f64,
    reconciled: bool,
    paid_rows: i64,
}

const BANKS: [(&str, &str); 5] = [
    ("105", "621700"),
    ("103", "622848"),
    ("301", "622262"),
    ("314", "623199"),
    ("403", "621799"),
];

fn pensioner(n: usize) -> ResidentId {
    let regions = [
        321_202, 321_203, 321_204, 321_281, 321_282, 321_283, 320_102, 320_505, 320_206, 320_303,
    ];
    let region = RegionCode::from_u32(regions[n % 10]).expect("valid");
    let k = n / 10;
    let birth = chrono::NaiveDate::from_ymd_opt(1940, 1, 1).expect("date")
        + chrono::Duration::days(i64::try_from(k / 1000).expect("small"));
    ResidentId::from_parts(region, birth, u16::try_from(k % 1000).expect("small")).expect("valid")
}

fn amount_cents(n: usize) -> i64 {
    180_000 + i64::try_from(n % 3_400).expect("small") * 97
}

async fn seed(store: &Store, rows: usize) -> anyhow::Result<()> {
    let ctx = Ctx::system("system:bench");
    let name = PersonName::parse("周桂英").expect("valid");
    for start in (0..rows).step_by(100_000) {
        let end = (start + 100_000).min(rows);
        let cards: Vec<LegacyCardInput> = (start..end)
            .map(|n| {
                let (bank, bin) = BANKS[n % 5];
                LegacyCardInput {
                    id: pensioner(n),
                    name: name.clone(),
                    card: CardNumber::from_body(&format!("P{n:07}")).expect("valid"),
                    bank: bank.into(),
                    account: BankCardNumber::from_payload(&format!("{bin}{n:012}"))
                        .expect("digits")
                        .expose()
                        .to_owned(),
                    issue_date: chrono::NaiveDate::from_ymd_opt(2012, 6, 1).expect("date"),
                    status: LegacyStatus::Normal,
                    district: None,
                    card_id_code: None,
                }
            })
            .collect();
        store.import_legacy_cards(&ctx, &cards).await?;
        let certified: Vec<(ResidentId, chrono::DateTime<chrono::Utc>, String)> = (start..end)
            .map(|n| {
                (
                    pensioner(n),
                    ctx.at - chrono::Duration::days(30),
                    "TZ-HL-01".to_owned(),
                )
            })
            .collect();
        store
            .import_certifications(&ctx, "321200", &certified)
            .await?;
    }
    Ok(())
}

fn pension_file(rows: usize) -> Vec<u8> {
    let mut csv = String::with_capacity(rows * 30);
    csv.push_str("id_number,amount\n");
    for n in 0..rows {
        csv.push_str(pensioner(n).expose());
        csv.push(',');
        csv.push_str(&sscard_core::money::Money::from_cents(amount_cents(n)).to_string());
        csv.push('\n');
    }
    csv.into_bytes()
}

async fn bench_backend(
    label: &str,
    url: &str,
    rows: usize,
    csv: &[u8],
    out: &Path,
) -> anyhow::Result<Run> {
    let store = Store::open(url, &StoreOptions::default()).await?;
    eprintln!("… {label}: seeding {rows} pensioners on old cards with their accounts");
    let t = Instant::now();
    seed(&store, rows).await?;
    eprintln!("… {label}: seeded in {:.1} s", t.elapsed().as_secs_f64());
    let ctx = Ctx::system("system:bench");
    let keys = ExchangeKeys::demo();
    let period = "2026-11";
    let t = Instant::now();
    let parsed = sscard_import::payments::parse_payment_file(csv)
        .map_err(|p| anyhow::anyhow!("{}: {}", p.code, p.message_en))?;
    eprintln!(
        "… {label}: file read alone in {:.2} s ({} rows)",
        t.elapsed().as_secs_f64(),
        parsed.rows
    );
    drop(parsed);
    let t = Instant::now();
    let created = bank_files::create_payment_batch(&store, &ctx, PaymentKind::Pension, period, csv)
        .await
        .map_err(|p| anyhow::anyhow!("{}: {}", p.code, p.message_en))??;
    let create_s = t.elapsed().as_secs_f64();
    eprintln!("… {label}: batch created in {create_s:.2} s");
    let t = Instant::now();
    let send = store.send_payments(&ctx, created.batch_id).await?;
    eprintln!(
        "… {label}: rows decided in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let files = bank_files::write_payment_files(&store, &ctx, &keys, &send, out)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let send_s = t.elapsed().as_secs_f64();
    eprintln!("… {label}: sent and written in {send_s:.2} s");
    let t = Instant::now();
    let plan = PaymentFailPlan {
        rate: 0.001,
        ..PaymentFailPlan::default()
    };
    let mut answers = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f)?;
        let bank = sscard_exchange::partner_of(&bytes)?;
        let key = keys.partner(&bank);
        answers.push(sscard_exchange::sim_bank_payments(
            &bytes,
            &key,
            &key,
            &plan,
            "2026-12-01T10:00:00Z",
        )?);
    }
    let banks_answer_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for r in bank_files::apply_payment_result_files(&store, &ctx, &keys, created.batch_id, &answers)
        .await
    {
        r.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let result_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let report = store.payment_report(&ctx, created.batch_id).await?;
    let report_s = t.elapsed().as_secs_f64();
    store.close().await;
    let total_s = create_s + send_s + result_s + report_s;
    let paid_rows = report
        .by_status
        .iter()
        .find(|(s, _)| s == "paid")
        .map_or(0, |(_, t)| t.rows);
    Ok(Run {
        backend: label.to_owned(),
        rows,
        create_s,
        send_s,
        result_s,
        report_s,
        total_s,
        #[allow(clippy::cast_precision_loss)]
        rows_per_second: rows as f64 / total_s,
        banks_answer_s,
        reconciled: report.reconciled,
        paid_rows,
    })
}

/// The peer: the same job as one SQL script in the `sqlite3` shell.
fn sqlite3_peer(db: &Path, csv: &Path, out: &Path) -> anyhow::Result<f64> {
    let script = format!(
        ".mode csv\n\
         CREATE TEMP TABLE pay_in (id_number TEXT, amount TEXT);\n\
         .import --skip 1 '{csv}' pay_in\n\
         CREATE TEMP TABLE pay AS SELECT i.rowid + 1 AS row_no, p.id AS person_id, p.ssn, p.name, \
           CAST(ROUND(CAST(i.amount AS REAL) * 100) AS INTEGER) AS cents \
           FROM pay_in i JOIN persons p ON p.ssn = i.id_number;\n\
         CREATE TEMP TABLE sent AS SELECT y.row_no, c.bank_code, c.account_number, y.ssn, y.name, y.cents \
           FROM pay y JOIN cards c ON c.person_id = y.person_id \
           WHERE c.account_number IS NOT NULL AND c.financial_status IN ('inactive', 'active');\n\
         .output '{out}'\n\
         SELECT * FROM sent ORDER BY bank_code, row_no;\n\
         .output stdout\n\
         SELECT bank_code, COUNT(*), SUM(cents) FROM sent GROUP BY bank_code;\n",
        csv = csv.display(),
        out = out.display()
    );
    crate::bench::sqlite3_script(db, &[], &script)
}

pub(crate) async fn run(g: &Global, b: &PaymentsBench) -> anyhow::Result<ExitCode> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let temp = tempfile::tempdir()?;
    let dir = match &b.keep {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.as_path()
        }
        None => temp.path(),
    };
    let csv = pension_file(b.rows);
    let csv_path = dir.join("pension.csv");
    std::fs::write(&csv_path, &csv)?;
    let mut runs = Vec::new();
    let db = dir.join("bench.db");
    let url = format!("sqlite://{}", db.display());
    runs.push(bench_backend("sqlite", &url, b.rows, &csv, &dir.join("sqlite")).await?);
    // The peer on a copy of the same data, before our batch's rows were added.
    let peer_db = dir.join("peer.db");
    let peer_store = Store::open(
        &format!("sqlite://{}", peer_db.display()),
        &StoreOptions::default(),
    )
    .await?;
    eprintln!("… sqlite3 peer: seeding the same {} pensioners", b.rows);
    seed(&peer_store, b.rows).await?;
    peer_store.close().await;
    let peer = match sqlite3_peer(&peer_db, &csv_path, &dir.join("peer-out.csv")) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("⚠ no peer figure: {e}");
            None
        }
    };
    let (_cluster, base) = crate::pg_cluster::Cluster::for_peer(b.pg.as_deref(), b.no_pg);
    if let Some(base) = &base {
        let (db_url, name) = crate::bench::fresh_pg_database(base).await?;
        let r = bench_backend("postgres", &db_url, b.rows, &csv, &dir.join("pg")).await;
        crate::bench::drop_pg_database(base, &name).await;
        runs.push(r?);
    }
    #[allow(clippy::cast_precision_loss)]
    let peer_rate = peer.map(|s| b.rows as f64 / s);
    if g.json {
        crate::output::json_line(&json!({
            "cores": cores, "runs": runs,
            "peer": peer.map(|s| json!({ "name": "sqlite3 shell script", "seconds": s, "rows_per_second": peer_rate })),
            "target_rows_per_second_sqlite": 100_000,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "sscard bench payments — {} 行养老金批次（pension batch rows）, {cores} 核（cores）",
        b.rows
    );
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12} {:>10}  对账",
        "backend", "create", "send", "result", "report", "total", "rows/s", "banks (s)"
    );
    for r in &runs {
        println!(
            "{:<10} {:>8.2}s {:>8.2}s {:>8.2}s {:>8.2}s {:>8.2}s {:>12.0} {:>10.2}  {}",
            r.backend,
            r.create_s,
            r.send_s,
            r.result_s,
            r.report_s,
            r.total_s,
            r.rows_per_second,
            r.banks_answer_s,
            if r.reconciled { "✓" } else { "✗" }
        );
    }
    if let (Some(s), Some(rate)) = (peer, peer_rate) {
        println!(
            "{:<10} {:>53.2}s {:>12.0}  (sqlite3 shell: import, join, write, sum — no checks)",
            "peer", s, rate
        );
    }
    println!("目标（target）: SQLite ≥ 100000 rows/s");
    Ok(ExitCode::SUCCESS)
}
