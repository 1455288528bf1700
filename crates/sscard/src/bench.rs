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
    let BenchCommand::Store(b) = c;
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
                let ctx = Ctx::now("bench");
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

async fn fresh_pg_database(base: &str) -> anyhow::Result<(String, String)> {
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

async fn drop_pg_database(base: &str, name: &str) {
    use sqlx::Connection;
    if let Ok(mut conn) = sqlx::PgConnection::connect(base).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}
