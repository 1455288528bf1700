//! `sscard bench check`: terminals doing online card checks over HTTP, beside `pgbench`.
//!
//! For each backend a fresh database gets institutions, terminals that passed the real
//! self-test, and cardholders whose cards were handed over. Each terminal then reads its cards
//! (SELECT, EF05/EF06, INTERNAL AUTHENTICATE bound to its number, counter and time — the
//! card's and the PSAM's cryptography, done before the clock starts, as a terminal's own CPU
//! would) and the terminals send their signed requests concurrently to an in-process server on
//! loopback, each in counter order. The server does all of its work: the terminal's MAC, the
//! card key derived from the key service and the cryptogram, the card's status, the first use
//! superseding nothing or an older card, the check recorded, audited and committed.
//!
//! The peer is `pgbench` (TPC-B, the same number of clients) on the same PostgreSQL, in the
//! same run: a throw-away cluster with PostgreSQL's default durability when no `--pg` is given.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use sscard_chip::card::{CardImage, SoftCard};
use sscard_chip::crypto::Algorithm;
use sscard_chip::online::{CheckBody, KeyService, read_for_check, sign_check};
use sscard_chip::terminal::in_process;
use sscard_core::{ApplicationSource, BusinessType};
use sscard_ids::{PersonName, RegionCode, ResidentId};
use sscard_store::{ApplyRequest, Ctx, InstitutionInput, PersonInput, Store, StoreOptions};

use crate::store_cmds::Global;

#[derive(Debug, Args)]
pub(crate) struct CheckBench {
    /// Terminals checking at once (HTTP clients); pgbench gets as many clients.
    #[arg(long, default_value_t = 64)]
    terminals: usize,
    /// Checks each terminal sends.
    #[arg(long, default_value_t = 400)]
    per_terminal: usize,
    /// Cardholders (each card's first check is its first use).
    #[arg(long, default_value_t = 2000)]
    cards: usize,
    /// A PostgreSQL server (a fresh database is created on it and dropped); without it a
    /// throw-away cluster is started from the local PostgreSQL binaries.
    #[arg(long, env = "SSCARD_BENCH_PG_URL")]
    pg: Option<String>,
    /// SQLite only: no PostgreSQL run and no pgbench.
    #[arg(long)]
    no_pg: bool,
    /// pgbench's scale factor (TPC-B wants at least one branch per client).
    #[arg(long, default_value_t = 64)]
    scale: u32,
    /// pgbench's duration, seconds.
    #[arg(long, default_value_t = 15)]
    seconds: u32,
}

#[derive(Debug, serde::Serialize)]
struct Run {
    backend: String,
    terminals: usize,
    checks: usize,
    seconds: f64,
    checks_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    ok: usize,
    cards: usize,
}

/// What pgbench measured.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Pgbench {
    pub(crate) clients: usize,
    pub(crate) threads: usize,
    pub(crate) scale: u32,
    pub(crate) seconds: u32,
    pub(crate) tps: f64,
    pub(crate) latency_avg_ms: f64,
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub(crate) async fn run(g: &Global, b: &CheckBench) -> anyhow::Result<ExitCode> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let keys = KeyService::test();
    let mut runs = Vec::new();
    let dir = tempfile::tempdir()?;
    for (label, durable) in [("sqlite", false), ("sqlite (fsync)", true)] {
        let url = format!(
            "sqlite://{}",
            dir.path().join(format!("{durable}.db")).display()
        );
        eprintln!(
            "… {label}: seeding {} cards, {} terminals",
            b.cards, b.terminals
        );
        runs.push(bench_backend(label, &url, durable, b, &keys).await?);
    }
    let (cluster, base) = crate::pg_cluster::Cluster::for_peer(b.pg.as_deref(), b.no_pg);
    let mut peer = None;
    if let Some(base) = &base {
        let (db_url, name) = crate::bench::fresh_pg_database(base).await?;
        eprintln!(
            "… postgres: seeding {} cards, {} terminals",
            b.cards, b.terminals
        );
        let r = bench_backend("postgres", &db_url, false, b, &keys).await;
        crate::bench::drop_pg_database(base, &name).await;
        runs.push(r?);
        let (db_url, name) = crate::bench::fresh_pg_database(base).await?;
        eprintln!(
            "… pgbench: initialising scale {} (TPC-B), {} clients for {} s",
            b.scale, b.terminals, b.seconds
        );
        let p = pgbench(
            cluster.as_ref(),
            &db_url,
            b.terminals,
            b.scale,
            b.seconds,
            cores,
        );
        crate::bench::drop_pg_database(base, &name).await;
        peer = Some(p?);
    }
    if g.json {
        crate::output::json_line(&serde_json::json!({
            "cores": cores, "runs": runs, "pgbench": peer,
            "targets": {"sqlite_vs_pgbench": 1.0, "sqlite_p99_ms": 20, "postgres_vs_pgbench": 0.5},
        }));
        return Ok(ExitCode::SUCCESS);
    }
    print_runs(b, cores, &runs, peer.as_ref());
    Ok(ExitCode::SUCCESS)
}

fn print_runs(b: &CheckBench, cores: usize, runs: &[Run], peer: Option<&Pgbench>) {
    println!(
        "sscard bench check — {} terminals, online checks over HTTP (loopback, {cores} cores), {} checks each",
        b.terminals, b.per_terminal
    );
    println!(
        "{:<16} {:>8} {:>9} {:>10} {:>8} {:>8} {:>8}",
        "backend", "checks", "seconds", "checks/s", "p50 ms", "p99 ms", "max ms"
    );
    for r in runs {
        println!(
            "{:<16} {:>8} {:>9.2} {:>10.0} {:>8.2} {:>8.2} {:>8.2}",
            r.backend, r.checks, r.seconds, r.checks_per_second, r.p50_ms, r.p99_ms, r.max_ms
        );
    }
    let Some(p) = peer else {
        println!("(no pgbench figure: give --pg URL or install PostgreSQL)");
        return;
    };
    println!(
        "{:<16} {:>8} {:>9} {:>10.0} {:>8} {:>8.2}   TPC-B, scale {}, {} clients, {} threads",
        "pgbench", "", p.seconds, p.tps, "", p.latency_avg_ms, p.scale, p.clients, p.threads
    );
    for r in runs {
        let (target, p99) = if r.backend.starts_with("sqlite") {
            (1.0, Some(20.0))
        } else {
            (0.5, None)
        };
        let ratio = r.checks_per_second / p.tps;
        let met = ratio >= target && p99.is_none_or(|l| r.p99_ms <= l);
        println!(
            "{:<16} {:.2}× pgbench (target ≥ {target:.1}×{}) {}",
            r.backend,
            ratio,
            p99.map(|l| format!(", p99 ≤ {l:.0} ms"))
                .unwrap_or_default(),
            if met { "✓" } else { "✗" }
        );
    }
}

fn person(i: usize) -> (ResidentId, PersonName) {
    let region = RegionCode::parse("321202").expect("valid");
    let birth = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).expect("valid")
        + chrono::Duration::days((i / 900) as i64);
    let id = ResidentId::from_parts(region, birth, (i % 900) as u16 + 1).expect("valid parts");
    (id, PersonName::parse("周建国").expect("valid"))
}

/// One terminal, ready, with its requests signed in counter order.
struct Prepared {
    bodies: Vec<CheckBody>,
}

async fn bench_backend(
    label: &str,
    url: &str,
    durable: bool,
    b: &CheckBench,
    keys: &KeyService,
) -> anyhow::Result<Run> {
    let options = StoreOptions {
        max_connections: b.terminals.max(2) as u32,
        sqlite_fsync_each_commit: durable,
        ..StoreOptions::default()
    };
    let store = Store::open(url, &options).await?;
    let ctx = Ctx::system("system:bench");
    let images = seed_cards(&store, &ctx, b.cards, keys).await?;
    let terminals = seed_terminals(&store, &ctx, b.terminals, keys).await?;
    let ready = sign_all(&terminals, images, b, keys).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = sscard_server::AppState::new(
        store.clone(),
        sscard_server::config::ServerConfig::default(),
    )
    .with_key_service(keys.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sscard_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let url = format!("http://{addr}/api/v1/terminal/checks");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(b.terminals)
        .build()?;
    // Terminals keep their connection open: one per terminal, opened before the clock starts.
    let health = format!("http://{addr}/healthz");
    let warm: Vec<_> = (0..b.terminals)
        .map(|_| client.get(&health).send())
        .collect();
    for r in futures::future::join_all(warm).await {
        r?;
    }
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(ready.len());
    for p in ready {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(p.bodies.len());
            let mut ok = 0usize;
            for body in &p.bodies {
                let t = Instant::now();
                let r = client.post(&url).json(body).send().await?;
                let status = r.status();
                let v: serde_json::Value = r.json().await?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                anyhow::ensure!(status.is_success(), "HTTP {status}: {v}");
                ok += usize::from(v["result"] == "ok");
            }
            anyhow::Ok((times, ok))
        }));
    }
    let (mut all, mut ok) = (Vec::new(), 0);
    for t in tasks {
        let (times, o) = t.await??;
        all.extend(times);
        ok += o;
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = server.await;
    store.close().await;
    anyhow::ensure!(ok == all.len(), "only {ok} of {} checks were ok", all.len());
    all.sort_by(f64::total_cmp);
    Ok(Run {
        backend: label.to_owned(),
        terminals: b.terminals,
        checks: all.len(),
        seconds,
        checks_per_second: all.len() as f64 / seconds,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        max_ms: all.last().copied().unwrap_or(0.0),
        ok,
        cards: b.cards,
    })
}

/// Each terminal reads its cards and signs its requests, in counter order, before the clock
/// starts.
async fn sign_all(
    terminals: &[(String, String)],
    images: Vec<CardImage>,
    b: &CheckBench,
    keys: &KeyService,
) -> anyhow::Result<Vec<Prepared>> {
    let images = Arc::new(images);
    let time = chrono::Utc::now().timestamp();
    let mut prepared = Vec::with_capacity(terminals.len());
    for (k, (number, institution)) in terminals.iter().enumerate() {
        let (number, institution, images, keys) = (
            number.clone(),
            institution.clone(),
            images.clone(),
            keys.clone(),
        );
        let per = b.per_terminal;
        let total = b.terminals;
        prepared.push(tokio::task::spawn_blocking(move || {
            let psam = keys.psam(Algorithm::Sm4, &number, "");
            let key = keys.terminal_key(&number);
            let mut bodies = Vec::with_capacity(per);
            for j in 0..per {
                let image = &images[(j * total + k) % images.len()];
                let counter = 2 + j as u64;
                let mut t = in_process(SoftCard::new(image.clone()), psam.clone());
                let read = read_for_check(&mut t, &number, counter, time)?;
                bodies.push(sign_check(
                    &key,
                    &number,
                    &institution,
                    counter,
                    time,
                    &read,
                ));
            }
            anyhow::Ok(Prepared { bodies })
        }));
    }
    let mut ready = Vec::with_capacity(prepared.len());
    for p in prepared {
        ready.push(p.await??);
    }

    Ok(ready)
}

/// Cardholders with instant cards handed over; their chips personalised on the province keys.
async fn seed_cards(
    store: &Store,
    ctx: &Ctx,
    n: usize,
    keys: &KeyService,
) -> anyhow::Result<Vec<CardImage>> {
    let province = keys.province_keys(Algorithm::Sm4);
    let mut images = Vec::with_capacity(n);
    for i in 0..n {
        let (id, name) = person(i);
        let req = ApplyRequest {
            person: PersonInput::new(id, name.clone()),
            bank: "CCB".into(),
            kind: BusinessType::New,
            source: ApplicationSource::Individual,
            instant: true,
            outlet: None,
        };
        let out = store.apply(ctx, &req).await?;
        let number = out
            .card_number
            .ok_or_else(|| anyhow::anyhow!("an instant application gave no card"))?;
        let card = store.hand_over(ctx, &number).await?;
        let data = crate::chip_cmds::issue_data(number, &card, &id, &name)?;
        images.push(CardImage::issue(&data, province));
    }
    Ok(images)
}

/// Institutions (one per eight terminals) and their terminals, through the real self-test.
async fn seed_terminals(
    store: &Store,
    ctx: &Ctx,
    n: usize,
    keys: &KeyService,
) -> anyhow::Result<Vec<(String, String)>> {
    let region = RegionCode::parse("321202").expect("valid");
    let institutions: Vec<InstitutionInput> = (0..n.div_ceil(8))
        .map(|i| InstitutionInput {
            code: sscard_ids::InstitutionCode::parse(&format!("H321202{:05}", i + 1))
                .expect("valid"),
            name: format!("海陵区第{}社区卫生服务中心", i + 1),
            level: Some(1),
            region,
            networked: true,
        })
        .collect();
    store.register_institutions(ctx, &institutions).await?;
    let wanted: Vec<(String, String, String)> = (0..n)
        .map(|i| {
            (
                institutions[i / 8].code.as_str().to_owned(),
                "sm4".to_owned(),
                String::new(),
            )
        })
        .collect();
    let enrolled = store.enrol_terminals(ctx, &wanted).await?;
    let test_card = keys.test_card();
    let mut out = Vec::with_capacity(n);
    for t in enrolled {
        let result =
            crate::demo_terminals::selftest(store, keys, &test_card, &t, chrono::Utc::now())
                .await?;
        anyhow::ensure!(
            result == sscard_core::CheckResult::Ok,
            "self-test of {}: {}",
            t.number,
            result.code()
        );
        out.push((t.number, t.institution));
    }
    Ok(out)
}

/// `pgbench -i -s SCALE` then `pgbench -c CLIENTS -j CORES -T SECONDS` (TPC-B).
pub(crate) fn pgbench(
    cluster: Option<&crate::pg_cluster::Cluster>,
    url: &str,
    clients: usize,
    scale: u32,
    seconds: u32,
    cores: usize,
) -> anyhow::Result<Pgbench> {
    let bin = cluster.map_or_else(
        || crate::pg_cluster::binary("pgbench").unwrap_or_else(|| PathBuf::from("pgbench")),
        |c| c.bin.join("pgbench"),
    );
    let run = |args: &[String]| -> anyhow::Result<String> {
        let out = Command::new(&bin)
            .args(args)
            .output()
            .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", bin.display()))?;
        anyhow::ensure!(
            out.status.success(),
            "pgbench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    };
    run(&[
        "-i".into(),
        "-q".into(),
        "-s".into(),
        scale.to_string(),
        url.to_owned(),
    ])?;
    let threads = cores.min(clients).max(1);
    let text = run(&[
        "-c".into(),
        clients.to_string(),
        "-j".into(),
        threads.to_string(),
        "-T".into(),
        seconds.to_string(),
        url.to_owned(),
    ])?;
    let number_after = |prefix: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.trim_start().starts_with(prefix))?;
        line.split('=')
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let tps =
        number_after("tps").ok_or_else(|| anyhow::anyhow!("pgbench printed no tps: {text}"))?;
    Ok(Pgbench {
        clients,
        threads,
        scale,
        seconds,
        tps,
        latency_avg_ms: number_after("latency average").unwrap_or(0.0),
    })
}
