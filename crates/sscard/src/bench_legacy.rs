//! `sscard bench legacy`: the city's legacy card file taken over — `--rows` generated rows
//! (`sscard legacy generate`: Taizhou's districts, 15-digit numbers, people with two cards,
//! bad rows) read, checked and imported into a fresh database, as `sscard legacy import` does.
//!
//! The peer is the raw load of the same file into a plain table of eight text columns in the
//! same run: `sqlite3`'s `.import` on SQLite and `psql`'s `\copy` on PostgreSQL — no checks,
//! no people, no accounts, no supersession, no audit. The target is half the raw load's rows/s.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use sscard_import::legacy::{KnownBank, parse_legacy_file};
use sscard_store::{Ctx, Store, StoreOptions};

use crate::store_cmds::Global;

#[derive(Debug, Args)]
pub(crate) struct LegacyBench {
    /// Rows of the generated file.
    #[arg(long, default_value_t = 1_350_000)]
    rows: usize,
    /// A PostgreSQL server (a fresh database is created on it and dropped); without it a
    /// throw-away cluster is started from the local PostgreSQL binaries.
    #[arg(long, env = "SSCARD_BENCH_PG_URL")]
    pg: Option<String>,
    /// SQLite only.
    #[arg(long)]
    no_pg: bool,
    /// Keep the databases and the file in this directory (default: a temporary one, removed).
    #[arg(long)]
    keep: Option<std::path::PathBuf>,
}

#[derive(Debug, serde::Serialize)]
struct Run {
    backend: String,
    rows: usize,
    accepted: usize,
    rejected: usize,
    read_s: f64,
    store_s: f64,
    total_s: f64,
    rows_per_second: f64,
    peer: Option<Peer>,
    /// The same rows put into sscard's own tables by the database's shell alone.
    floor: Option<Peer>,
}

#[derive(Debug, serde::Serialize)]
struct Peer {
    name: &'static str,
    seconds: f64,
    rows_per_second: f64,
}

async fn ours(label: &str, url: &str, bytes: &[u8], rows: usize) -> anyhow::Result<Run> {
    let store = Store::open(url, &StoreOptions::default()).await?;
    let banks: Vec<KnownBank> = store
        .banks()
        .await?
        .into_iter()
        .map(|b| KnownBank {
            code: b.code,
            short_name: b.short_name,
            name_zh: b.name_zh,
        })
        .collect();
    let ctx = Ctx::system("system:bench");
    let t = Instant::now();
    let parsed = parse_legacy_file(bytes, &banks, "3212")
        .map_err(|p| anyhow::anyhow!("{}: {}", p.code, p.message_en))?;
    let read_s = t.elapsed().as_secs_f64();
    eprintln!("… {label}: file read and checked in {read_s:.2} s");
    let cards: Vec<_> = parsed.lines.iter().map(|l| l.card.clone()).collect();
    let t = Instant::now();
    let out = store.import_legacy_cards(&ctx, &cards).await?;
    let store_s = t.elapsed().as_secs_f64();
    eprintln!("… {label}: imported in {store_s:.2} s");
    store.close().await;
    let total_s = read_s + store_s;
    Ok(Run {
        backend: label.to_owned(),
        rows,
        accepted: out.accepted,
        rejected: parsed.rejected.len(),
        read_s,
        store_s,
        total_s,
        #[allow(clippy::cast_precision_loss)]
        rows_per_second: rows as f64 / total_s,
        peer: None,
        floor: None,
    })
}

const PLAIN_TABLE: &str = "CREATE TABLE legacy_in (card_number TEXT, ssn TEXT, name TEXT, \
     issue_date TEXT, status TEXT, bank TEXT, account TEXT, district TEXT)";

#[allow(clippy::cast_precision_loss)]
fn peer(name: &'static str, seconds: f64, rows: usize) -> Peer {
    Peer {
        name,
        seconds,
        rows_per_second: rows as f64 / seconds,
    }
}

/// `sqlite3 .import` of the file into a plain table of a fresh database.
fn sqlite3_import(db: &Path, csv: &Path, rows: usize) -> anyhow::Result<Peer> {
    let script = format!(
        "PRAGMA journal_mode = WAL;\n{PLAIN_TABLE};\n.mode csv\n.import --skip 1 '{}' legacy_in\n",
        csv.display()
    );
    let took = crate::bench::sqlite3_script(db, &[], &script)?;
    Ok(peer("sqlite3 .import", took, rows))
}

/// The floor under any import into sscard's schema: the file loaded by the shell, then people
/// and cards put into sscard's own tables (their keys, unique and partial indexes, foreign keys
/// and checks) by two `INSERT … SELECT` — no validation of numbers, no 15-digit upgrade, no
/// supersession, no audit; 18-digit rows only.
const INTO_SCHEMA_SQLITE: &str = "\
.timeout 30000
PRAGMA foreign_keys = ON;
PRAGMA cache_size = -262144;
CREATE TEMP TABLE legacy_in (card_number TEXT, ssn TEXT, name TEXT, issue_date TEXT, status TEXT, bank TEXT, account TEXT, district TEXT);
.mode csv
.import --skip 1 '{CSV}' legacy_in
BEGIN;
INSERT INTO persons (id, ssn, name, sex, birth_date, household_region, created_at, updated_at)
 SELECT CAST(printf('%016x', rowid) AS BLOB), ssn, name, 2 - (CAST(substr(ssn, 17, 1) AS INTEGER) % 2),
   substr(ssn, 7, 4) || '-' || substr(ssn, 11, 2) || '-' || substr(ssn, 13, 2), substr(ssn, 1, 6),
   '2026-12-03T00:00:00Z', '2026-12-03T00:00:00Z'
 FROM temp.legacy_in WHERE length(ssn) = 18 ORDER BY rowid ON CONFLICT (ssn) DO NOTHING;
INSERT INTO cards (id, card_number, person_id, bank_code, generation, issue_date, expiry_date, ss_status, financial_status, handed_over, first_used, account_number, district, created_at, updated_at)
 SELECT CAST(printf('%016x', l.rowid) AS BLOB), l.card_number, p.id,
   b.code, 'legacy', l.issue_date, l.issue_date, 1, 'active', 1, 1, l.account, l.district, '2026-12-03T00:00:00Z', '2026-12-03T00:00:00Z'
 FROM temp.legacy_in l JOIN persons p ON p.ssn = l.ssn
 JOIN banks b ON b.code = l.bank OR b.name_zh = l.bank OR b.short_name = l.bank
 WHERE l.card_number <> '' AND date(l.issue_date) IS NOT NULL ON CONFLICT DO NOTHING;
COMMIT;
";

const INTO_SCHEMA_PG: &str = "\
CREATE TEMP TABLE legacy_in (card_number TEXT, ssn TEXT, name TEXT, issue_date TEXT, status TEXT, bank TEXT, account TEXT, district TEXT);
\\copy legacy_in FROM '{CSV}' WITH (FORMAT csv, HEADER true)
BEGIN;
INSERT INTO persons (id, ssn, name, sex, birth_date, household_region, created_at, updated_at)
 SELECT gen_random_uuid(), ssn, name, 2 - (substr(ssn, 17, 1)::int % 2), to_date(substr(ssn, 7, 8), 'YYYYMMDD'),
   substr(ssn, 1, 6), now(), now()
 FROM legacy_in WHERE length(ssn) = 18 AND name IS NOT NULL ON CONFLICT (ssn) DO NOTHING;
INSERT INTO cards (id, card_number, person_id, bank_code, generation, issue_date, expiry_date, ss_status, financial_status, handed_over, first_used, account_number, district, created_at, updated_at)
 SELECT gen_random_uuid(), l.card_number, p.id,
   b.code, 'legacy', l.issue_date::date, l.issue_date::date, 1, 'active', TRUE, TRUE, l.account, l.district, now(), now()
 FROM legacy_in l JOIN persons p ON p.ssn = l.ssn
 JOIN banks b ON b.code = l.bank OR b.name_zh = l.bank OR b.short_name = l.bank
 WHERE l.card_number IS NOT NULL AND l.issue_date ~ '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$' ON CONFLICT DO NOTHING;
COMMIT;
";

/// [`INTO_SCHEMA_SQLITE`] in the `sqlite3` shell on a fresh sscard database.
async fn sqlite3_into_schema(db: &Path, csv: &Path, rows: usize) -> anyhow::Result<Peer> {
    Store::open(
        &format!("sqlite://{}", db.display()),
        &StoreOptions::default(),
    )
    .await?
    .close()
    .await;
    let script = INTO_SCHEMA_SQLITE.replace("{CSV}", &csv.display().to_string());
    let took = crate::bench::sqlite3_script(db, &["-bail"], &script)?;
    Ok(peer("sqlite3 → schema", took, rows))
}

/// [`INTO_SCHEMA_PG`] in `psql` on a fresh sscard database.
async fn psql_into_schema(base: &str, csv: &Path, rows: usize) -> anyhow::Result<Peer> {
    let psql = crate::pg_cluster::binary("psql")
        .or_else(|| crate::bench::on_path("psql"))
        .ok_or_else(|| anyhow::anyhow!("psql is not installed"))?;
    let (url, name) = crate::bench::fresh_pg_database(base).await?;
    Store::open(&url, &StoreOptions::default())
        .await?
        .close()
        .await;
    let script = INTO_SCHEMA_PG.replace("{CSV}", &csv.display().to_string());
    let t = Instant::now();
    let child = std::process::Command::new(psql)
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-d", &url])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let out = match child {
        Ok(mut child) => {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().expect("piped");
            stdin.write_all(script.as_bytes())?;
            drop(stdin);
            child.wait_with_output()
        }
        Err(e) => Err(e),
    };
    let took = t.elapsed().as_secs_f64();
    crate::bench::drop_pg_database(base, &name).await;
    let out = out?;
    anyhow::ensure!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(peer("psql → schema", took, rows))
}

/// `psql \copy` of the file into a plain table of a fresh database.
async fn psql_copy(base: &str, csv: &Path, rows: usize) -> anyhow::Result<Peer> {
    let psql = crate::pg_cluster::binary("psql")
        .or_else(|| crate::bench::on_path("psql"))
        .ok_or_else(|| anyhow::anyhow!("psql is not installed"))?;
    let (url, name) = crate::bench::fresh_pg_database(base).await?;
    let copy = format!(
        "\\copy legacy_in FROM '{}' WITH (FORMAT csv, HEADER true)",
        csv.display()
    );
    let create = format!("{PLAIN_TABLE};");
    let t = Instant::now();
    let out = std::process::Command::new(psql)
        .args([
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &url,
            "-c",
            &create,
            "-c",
            &copy,
        ])
        .stdout(std::process::Stdio::null())
        .output();
    let took = t.elapsed().as_secs_f64();
    crate::bench::drop_pg_database(base, &name).await;
    let out = out?;
    anyhow::ensure!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(peer("psql \\copy", took, rows))
}

pub(crate) async fn run(g: &Global, b: &LegacyBench) -> anyhow::Result<ExitCode> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let temp = tempfile::tempdir()?;
    let dir = match &b.keep {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.as_path()
        }
        None => temp.path(),
    };
    let csv_path = dir.join("legacy.csv");
    let bytes = crate::legacy_cmds::generate(b.rows, 2015).into_bytes();
    std::fs::write(&csv_path, &bytes)?;
    let mut runs = Vec::new();
    let db = dir.join("bench.db");
    let mut sqlite = ours(
        "sqlite",
        &format!("sqlite://{}", db.display()),
        &bytes,
        b.rows,
    )
    .await?;
    sqlite.peer = match sqlite3_import(&dir.join("peer.db"), &csv_path, b.rows) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("⚠ no sqlite3 figure: {e}");
            None
        }
    };
    sqlite.floor = match sqlite3_into_schema(&dir.join("floor.db"), &csv_path, b.rows).await {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("⚠ no sqlite3-into-schema figure: {e}");
            None
        }
    };
    runs.push(sqlite);
    let (_cluster, base) = crate::pg_cluster::Cluster::for_peer(b.pg.as_deref(), b.no_pg);
    if let Some(base) = &base {
        let (db_url, name) = crate::bench::fresh_pg_database(base).await?;
        let r = ours("postgres", &db_url, &bytes, b.rows).await;
        crate::bench::drop_pg_database(base, &name).await;
        let mut r = r?;
        r.peer = match psql_copy(base, &csv_path, b.rows).await {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("⚠ no psql figure: {e}");
                None
            }
        };
        r.floor = match psql_into_schema(base, &csv_path, b.rows).await {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("⚠ no psql-into-schema figure: {e}");
                None
            }
        };
        runs.push(r);
    }
    if g.json {
        crate::output::json_line(&json!({ "cores": cores, "runs": runs, "target_ratio": 0.5 }));
        return Ok(ExitCode::SUCCESS);
    }
    print_table(&runs, b.rows, cores);
    Ok(ExitCode::SUCCESS)
}

/// The human table: ours beside the raw load and the floor.
fn print_table(runs: &[Run], rows: usize, cores: usize) {
    println!("sscard bench legacy — {rows} 行存量卡文件（legacy card rows）, {cores} 核（cores）");
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>11} {:>11}  {:<16} {:>11} {:>7}",
        "backend", "read", "import", "total", "rows/s", "accepted", "peer", "peer rows/s", "ratio"
    );
    for r in runs {
        let (name, rate) = r
            .peer
            .as_ref()
            .map_or(("-", 0.0), |p| (p.name, p.rows_per_second));
        let ratio = if rate > 0.0 {
            format!("{:.2}×", r.rows_per_second / rate)
        } else {
            "-".into()
        };
        println!(
            "{:<10} {:>8.2}s {:>8.2}s {:>8.2}s {:>11.0} {:>11}  {:<16} {:>11.0} {:>7}",
            r.backend,
            r.read_s,
            r.store_s,
            r.total_s,
            r.rows_per_second,
            r.accepted,
            name,
            rate,
            ratio
        );
    }
    for r in runs {
        if let Some(f) = &r.floor {
            println!(
                "{:<10} 同一文件由数据库自带工具直接写入 sscard 的表（the same file put into sscard's \
                 own tables by the shell alone, no checks）: {} {:.2}s = {:.0} rows/s; sscard = {:.2}× of it",
                r.backend,
                f.name,
                f.seconds,
                f.rows_per_second,
                r.rows_per_second / f.rows_per_second
            );
        }
    }
    println!("目标（target）: ≥ 0.5× the raw load's rows/s");
}
