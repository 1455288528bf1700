//! `sscard bench …`: benchmarks that print figures side by side. Not tests: nothing here
//! asserts a time.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use sscard_core::{ApplicationSource, BusinessType};
use sscard_ids::{PersonName, RegionCode, ResidentId};
use sscard_store::{ApplyRequest, Ctx, PersonInput, Store, StoreOptions};

use crate::store_cmds::Global;

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Applications + hand-overs per second on SQLite and on PostgreSQL, side by side.
    Store(StoreBench),
    /// SM4 and 3DES throughput beside `openssl speed`, and a whole terminal session in-process.
    Chip(ChipBench),
    /// Photos per second, with and without the face check, beside a Pillow script.
    Photos(crate::bench_photos::PhotoBench),
    /// One employer upload of 5,000 employees end to end, with and without photos.
    Batch(crate::bench_photos::BatchBench),
    /// 50 pickup desks doing lookup + hand-over over HTTP on the demo data: throughput, p50/p99.
    Pickup(crate::bench_pickup::PickupBench),
    /// 64 terminals doing online card checks over HTTP on SQLite and PostgreSQL, beside pgbench.
    Check(crate::bench_check::CheckBench),
    /// 64 HIS clients settling outpatient visits through the NHSA interface over HTTP, beside pgbench.
    Settle(crate::bench_settle::SettleBench),
    /// `sscard audit verify` on 100,000 and 1,000,000 events: time and peak memory of the walk.
    Audit(crate::bench_audit::AuditBench),
    /// A 1,000,000-row pension batch created, sent as signed files, answered and reconciled,
    /// on SQLite and PostgreSQL, beside a sqlite3 shell script doing the bare job.
    Payments(crate::bench_payments::PaymentsBench),
    /// 1,350,000 legacy card rows read, checked and imported, on SQLite and PostgreSQL, beside
    /// the raw load of the same file (`sqlite3 .import`, `psql \copy`).
    Legacy(crate::bench_legacy::LegacyBench),
}

#[derive(Debug, Args)]
pub(crate) struct ChipBench {
    /// Megabytes to encrypt per cipher.
    #[arg(long, default_value_t = 64)]
    megabytes: usize,
    /// Terminal sessions to time.
    #[arg(long, default_value_t = 2000)]
    sessions: usize,
}

#[derive(Debug, Args)]
pub(crate) struct StoreBench {
    /// How many people apply (each: one instant application, one hand-over).
    #[arg(long, default_value_t = 2000)]
    n: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// A PostgreSQL server to compare with (a fresh database is created on it and dropped).
    #[arg(long, env = "SSCARD_BENCH_PG_URL")]
    pg: Option<String>,
}

/// Figures of one run.
#[derive(Debug, serde::Serialize)]
struct Figures {
    backend: String,
    pairs: usize,
    seconds: f64,
    pairs_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

pub(crate) async fn run(g: &Global, c: BenchCommand) -> anyhow::Result<ExitCode> {
    let b = match c {
        BenchCommand::Store(b) => b,
        BenchCommand::Chip(b) => return chip(g, &b),
        BenchCommand::Photos(b) => return crate::bench_photos::photos(g, &b),
        BenchCommand::Batch(b) => return crate::bench_photos::batch(g, &b).await,
        BenchCommand::Pickup(b) => return crate::bench_pickup::run(g, &b).await,
        BenchCommand::Audit(b) => return crate::bench_audit::run(g, &b).await,
        BenchCommand::Check(b) => return crate::bench_check::run(g, &b).await,
        BenchCommand::Settle(b) => return crate::bench_settle::run(g, &b).await,
        BenchCommand::Payments(b) => return crate::bench_payments::run(g, &b).await,
        BenchCommand::Legacy(b) => return crate::bench_legacy::run(g, &b).await,
    };
    let mut results = Vec::new();
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    eprintln!("… SQLite ({} people, {} clients)", b.n, b.concurrency);
    results.push(bench_store("sqlite", &url, b.n, b.concurrency).await?);
    if let Some(pg) = &b.pg {
        eprintln!("… PostgreSQL ({} people, {} clients)", b.n, b.concurrency);
        let (db_url, name) = fresh_pg_database(pg).await?;
        let figures = bench_store("postgres", &db_url, b.n, b.concurrency).await;
        drop_pg_database(pg, &name).await;
        results.push(figures?);
    }
    if g.json {
        println!("{}", serde_json::to_string(&results)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "sscard bench store — 申领+发放 / applications + hand-overs (each pair = 2 transactions)"
    );
    println!(
        "{:<10} {:>8} {:>10} {:>12} {:>9} {:>9}",
        "backend", "pairs", "seconds", "pairs/s", "p50 ms", "p99 ms"
    );
    for f in &results {
        println!(
            "{:<10} {:>8} {:>10.2} {:>12.0} {:>9.2} {:>9.2}",
            f.backend, f.pairs, f.seconds, f.pairs_per_second, f.p50_ms, f.p99_ms
        );
    }
    if b.pg.is_none() {
        println!("(PostgreSQL: give --pg URL or SSCARD_BENCH_PG_URL to compare side by side)");
    }
    Ok(ExitCode::SUCCESS)
}

fn person(i: usize) -> (ResidentId, PersonName) {
    let region = RegionCode::parse("321202").expect("valid");
    let birth = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid")
        + chrono::Duration::days((i / 1000) as i64);
    let id = ResidentId::from_parts(region, birth, (i % 1000) as u16).expect("valid parts");
    (id, PersonName::parse("李华").expect("valid"))
}

async fn bench_store(
    backend: &str,
    url: &str,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Figures> {
    let options = StoreOptions {
        max_connections: concurrency.max(2) as u32,
        ..StoreOptions::default()
    };
    let store = Store::open(url, &options)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let store = store.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let (id, name) = person(i);
                let t = Instant::now();
                let ctx = Ctx::system("bench");
                let req = ApplyRequest {
                    person: PersonInput::new(id, name),
                    bank: "CCB".into(),
                    kind: BusinessType::New,
                    source: ApplicationSource::Individual,
                    instant: true,
                    outlet: None,
                };
                let out = store.apply(&ctx, &req).await?;
                let card = out.card_number.expect("instant");
                store.hand_over(&ctx, &card).await?;
                latencies.push(t.elapsed());
            }
            Ok::<_, sscard_store::StoreError>(latencies)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(n);
    for w in workers {
        latencies.extend(w.await?.map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    let seconds = started.elapsed().as_secs_f64();
    store.close().await;
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(Figures {
        backend: backend.into(),
        pairs: latencies.len(),
        seconds,
        pairs_per_second: latencies.len() as f64 / seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    })
}

/// `name` on `PATH`.
pub(crate) fn on_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// Runs `script` in the `sqlite3` shell on `db` (with `options` before the database) and
/// answers how long it took, in seconds: the peers of the SQLite benchmarks.
pub(crate) fn sqlite3_script(
    db: &std::path::Path,
    options: &[&str],
    script: &str,
) -> anyhow::Result<f64> {
    let sqlite3 = on_path("sqlite3")
        .ok_or_else(|| anyhow::anyhow!("sqlite3 is not installed (apt install sqlite3)"))?;
    let t = Instant::now();
    let mut child = std::process::Command::new(sqlite3)
        .args(options)
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()?;
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(script.as_bytes())?;
    }
    let status = child.wait()?;
    let took = t.elapsed().as_secs_f64();
    anyhow::ensure!(status.success(), "sqlite3 failed: {status}");
    Ok(took)
}

pub(crate) async fn fresh_pg_database(base: &str) -> anyhow::Result<(String, String)> {
    use sqlx::Connection;
    let name = format!("sscard_bench_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(base).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    let (prefix, rest) = base
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("URL without a database name"))?;
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    Ok((format!("{prefix}/{name}{query}"), name))
}

pub(crate) async fn drop_pg_database(base: &str, name: &str) {
    use sqlx::Connection;
    if let Ok(mut conn) = sqlx::PgConnection::connect(base).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}

/// Our cipher's throughput in MB/s: CBC over `megabytes` of data, block by block.
fn cipher_mbps(alg: sscard_chip::crypto::Algorithm, megabytes: usize) -> f64 {
    use sscard_chip::crypto::Key16;
    let cipher = Key16::new([0x42; 16]).cipher(alg);
    let block = alg.block();
    let mut data = vec![0u8; megabytes * 1024 * 1024];
    let started = Instant::now();
    let mut prev = vec![0u8; block];
    for chunk in data.chunks_mut(block) {
        for (c, p) in chunk.iter_mut().zip(&prev) {
            *c ^= p;
        }
        cipher.encrypt_block(chunk);
        prev.copy_from_slice(chunk);
    }
    std::hint::black_box(&data);
    megabytes as f64 / started.elapsed().as_secs_f64()
}

/// OpenSSL's figure in MB/s for an EVP cipher at 16 KiB blocks, if the command is there.
fn openssl_mbps(cipher: &str) -> Option<f64> {
    let out = std::process::Command::new("openssl")
        .args(["speed", "-evp", cipher, "-seconds", "1", "-bytes", "16384"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // The last line: "<cipher>  <N>k" (thousands of bytes per second).
    let line = text.lines().rev().find(|l| {
        l.trim_start()
            .to_ascii_lowercase()
            .starts_with(&cipher.to_ascii_lowercase())
    })?;
    let k: f64 = line
        .split_whitespace()
        .last()?
        .trim_end_matches('k')
        .parse()
        .ok()?;
    Some(k * 1000.0 / 1_000_000.0)
}

fn chip(g: &Global, b: &ChipBench) -> anyhow::Result<ExitCode> {
    use sscard_chip::crypto::Algorithm;
    let sm4 = cipher_mbps(Algorithm::Sm4, b.megabytes);
    let tdes = cipher_mbps(Algorithm::Tdes, b.megabytes);
    let ossl_sm4 = openssl_mbps("sm4-cbc");
    let ossl_tdes = openssl_mbps("des-ede-cbc").or_else(|| openssl_mbps("des-ede3-cbc"));
    // Whole in-process sessions: select, read EF05/EF06, internal + external auth, PIN, DF04.
    let image = sscard_chip::card::CardImage::issue(
        &sscard_chip::issue::IssueData::demo(),
        &sscard_chip::keys::test_province_keys(Algorithm::Sm4),
    );
    let psam = sscard_chip::terminal::Psam {
        terminal_id: "321200000001".into(),
        device_id: "BENCH".into(),
        keys: sscard_chip::keys::test_province_keys(Algorithm::Sm4),
        counter: 0,
    };
    let mut times = Vec::with_capacity(b.sessions);
    for _ in 0..b.sessions {
        let started = Instant::now();
        let mut t = sscard_chip::terminal::in_process(
            sscard_chip::card::SoftCard::new(image.clone()),
            psam.clone(),
        );
        t.read_basics().map_err(|e| anyhow::anyhow!("{e}"))?;
        t.internal_authenticate()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        t.external_authenticate()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        t.verify_pin("123456").map_err(|e| anyhow::anyhow!("{e}"))?;
        t.read_medical().map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(started.elapsed());
    }
    times.sort();
    let p50 = times[times.len() / 2].as_secs_f64() * 1e6;
    let p99 = times[(times.len() * 99 / 100).min(times.len() - 1)].as_secs_f64() * 1e6;
    if g.json {
        println!(
            "{}",
            serde_json::json!({
                "sm4_mbps": sm4, "openssl_sm4_cbc_mbps": ossl_sm4, "tdes_mbps": tdes, "openssl_3des_cbc_mbps": ossl_tdes,
                "session_p50_us": p50, "session_p99_us": p99, "sessions": b.sessions,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    let fmt = |v: Option<f64>| {
        v.map_or_else(
            || "(openssl not found)".to_owned(),
            |v| format!("{v:.1} MB/s"),
        )
    };
    println!("sscard bench chip — ours beside `openssl speed -evp … -bytes 16384` on this machine");
    println!("{:<10} {:>14} {:>22}", "cipher", "sscard", "openssl");
    println!("{:<10} {:>11.1} MB/s {:>22}", "SM4-CBC", sm4, fmt(ossl_sm4));
    println!(
        "{:<10} {:>11.1} MB/s {:>22}",
        "3DES-CBC",
        tdes,
        fmt(ossl_tdes)
    );
    println!(
        "terminal session in-process (select, EF05/EF06, internal + external auth, PIN, DF04), {} runs: p50 {p50:.0} µs, p99 {p99:.0} µs",
        b.sessions
    );
    Ok(ExitCode::SUCCESS)
}
