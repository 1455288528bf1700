//! `sscard bench settle`: hospital systems (HIS) settling outpatient visits through the NHSA
//! interface over HTTP, beside `pgbench`.
//!
//! For each backend a fresh database gets a policy and a catalogue for Taizhou, one hospital
//! per HIS client with its gateway credentials, and insured employees with money on their
//! accounts. Each client signs in (9001, before the clock starts) and then runs its visits one
//! after the other, as a charge desk does: 1101 (the person, by ID number) → 2201 (register) →
//! 2204 (three fee lines, classified by the catalogue) → 2207 (settle: the accumulators and the
//! account moved in the same transaction). Every call carries the gateway headers (SHA-256
//! signature, a fresh nonce) and is answered only after its transaction is committed; with
//! `--durable-sqlite` (the default) SQLite commits with an fsync each time, as PostgreSQL does.
//!
//! The peer is `pgbench` (TPC-B, the same number of clients) on the same PostgreSQL, in the
//! same run.

use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use serde_json::{Value, json};
use sscard_ids::{InstitutionCode, PersonName, RegionCode, ResidentId};
use sscard_server::fsi::{CALL_SERVICE, client};
use sscard_store::insurance::EnrolInput;
use sscard_store::{Ctx, InstitutionInput, PersonInput, Store, StoreOptions};

use crate::bench_check::{Pgbench, percentile, pgbench};
use crate::store_cmds::Global;

#[derive(Debug, Args)]
pub(crate) struct SettleBench {
    /// HIS clients calling at once (one hospital each); pgbench gets as many clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Outpatient visits each client settles (4 calls each).
    #[arg(long, default_value_t = 150)]
    visits: usize,
    /// Insured persons (visits go round them).
    #[arg(long, default_value_t = 3200)]
    persons: usize,
    /// A PostgreSQL server (a fresh database is created on it and dropped); without it a
    /// throw-away cluster is started from the local PostgreSQL binaries.
    #[arg(long, env = "SSCARD_BENCH_PG_URL")]
    pg: Option<String>,
    /// SQLite only: no PostgreSQL run and no pgbench.
    #[arg(long)]
    no_pg: bool,
    /// pgbench's scale factor.
    #[arg(long, default_value_t = 64)]
    scale: u32,
    /// pgbench's duration, seconds.
    #[arg(long, default_value_t = 15)]
    seconds: u32,
}

#[derive(Debug, serde::Serialize)]
struct Run {
    backend: String,
    durable: bool,
    clients: usize,
    calls: usize,
    settlements: usize,
    seconds: f64,
    calls_per_second: f64,
    settlements_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// p50 and p99 of each transaction (1101, 2201, 2204, 2207), milliseconds.
    per_infno: Vec<(String, f64, f64)>,
}

/// The transactions of a visit, in order.
const VISIT: [&str; 4] = ["1101", "2201", "2204", "2207"];

pub(crate) async fn run(g: &Global, b: &SettleBench) -> anyhow::Result<ExitCode> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut runs = Vec::new();
    let dir = tempfile::tempdir()?;
    for (label, durable) in [("sqlite", false), ("sqlite (fsync)", true)] {
        let url = format!(
            "sqlite://{}",
            dir.path().join(format!("{durable}.db")).display()
        );
        eprintln!(
            "… {label}: seeding {} persons, {} hospitals",
            b.persons, b.clients
        );
        runs.push(bench_backend(label, &url, durable, b).await?);
    }
    let (cluster, base) = crate::pg_cluster::Cluster::for_peer(b.pg.as_deref(), b.no_pg);
    let mut peer = None;
    if let Some(base) = &base {
        let (db_url, name) = crate::bench::fresh_pg_database(base).await?;
        eprintln!(
            "… postgres: seeding {} persons, {} hospitals",
            b.persons, b.clients
        );
        let r = bench_backend("postgres", &db_url, true, b).await;
        crate::bench::drop_pg_database(base, &name).await;
        runs.push(r?);
        let (db_url, name) = crate::bench::fresh_pg_database(base).await?;
        eprintln!(
            "… pgbench: initialising scale {} (TPC-B), {} clients for {} s",
            b.scale, b.clients, b.seconds
        );
        let p = pgbench(
            cluster.as_ref(),
            &db_url,
            b.clients,
            b.scale,
            b.seconds,
            cores,
        );
        crate::bench::drop_pg_database(base, &name).await;
        peer = Some(p?);
    }
    if g.json {
        crate::output::json_line(&json!({
            "cores": cores, "runs": runs, "pgbench": peer,
            "targets": {"sqlite_vs_pgbench": 1.0, "sqlite_p99_ms": 20, "postgres_vs_pgbench": 0.5},
        }));
        return Ok(ExitCode::SUCCESS);
    }
    print_runs(b, cores, &runs, peer.as_ref());
    Ok(ExitCode::SUCCESS)
}

fn print_runs(b: &SettleBench, cores: usize, runs: &[Run], peer: Option<&Pgbench>) {
    println!(
        "sscard bench settle — {} HIS clients, outpatient visits 1101 → 2201 → 2204 (3 lines) → 2207 over HTTP (loopback, {cores} cores), {} visits each",
        b.clients, b.visits
    );
    println!(
        "{:<16} {:>7} {:>8} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8}",
        "backend",
        "calls",
        "settled",
        "seconds",
        "calls/s",
        "settle/s",
        "p50 ms",
        "p99 ms",
        "max ms"
    );
    for r in runs {
        println!(
            "{:<16} {:>7} {:>8} {:>8.2} {:>9.0} {:>9.0} {:>8.2} {:>8.2} {:>8.2}",
            r.backend,
            r.calls,
            r.settlements,
            r.seconds,
            r.calls_per_second,
            r.settlements_per_second,
            r.p50_ms,
            r.p99_ms,
            r.max_ms
        );
    }
    for r in runs {
        let each: Vec<String> = r
            .per_infno
            .iter()
            .map(|(infno, p50, p99)| format!("{infno} {p50:.1}/{p99:.1}"))
            .collect();
        println!(
            "{:<16} p50/p99 ms by transaction: {}",
            r.backend,
            each.join(", ")
        );
    }
    let Some(p) = peer else {
        println!("(no pgbench figure: give --pg URL or install PostgreSQL)");
        return;
    };
    println!(
        "{:<16} {:>7} {:>8} {:>8} {:>9.0} {:>9} {:>8} {:>8.2}   TPC-B, scale {}, {} clients, {} threads",
        "pgbench",
        "",
        "",
        p.seconds,
        p.tps,
        "",
        "",
        p.latency_avg_ms,
        p.scale,
        p.clients,
        p.threads
    );
    for r in runs {
        let (target, p99) = if r.backend.starts_with("sqlite") {
            (1.0, Some(20.0))
        } else {
            (0.5, None)
        };
        let ratio = r.calls_per_second / p.tps;
        let met = ratio >= target && p99.is_none_or(|l| r.p99_ms <= l);
        println!(
            "{:<16} {:.2}× pgbench (target ≥ {target:.1}×{}){} {}",
            r.backend,
            ratio,
            p99.map(|l| format!(", p99 ≤ {l:.0} ms"))
                .unwrap_or_default(),
            if r.durable {
                ""
            } else {
                " — not durable (no fsync per commit)"
            },
            if met { "✓" } else { "✗" }
        );
    }
}

fn person(i: usize) -> ResidentId {
    let region = RegionCode::parse("321202").expect("valid");
    let birth = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid")
        + chrono::Duration::days((i / 900) as i64);
    ResidentId::from_parts(region, birth, (i % 900) as u16 + 1).expect("valid parts")
}

fn hospital(i: usize) -> String {
    format!("H321202{:05}", i + 1)
}

/// The policy (this year's, at the platform's clock), the catalogue, the hospitals with their
/// credentials, the insured persons; answers each hospital's (code, paasid, token).
async fn seed(store: &Store, b: &SettleBench) -> anyhow::Result<Vec<(String, String, String)>> {
    let ctx = Ctx::system("system:bench");
    let year = crate::insurance_cmds::this_year();
    let policy = format!(
        "[[policy]]\nregion = \"321200\"\nyear = {year}\ninsutype = \"310\"\nmed_type = \"11\"\n\
         deductible = \"200.00\"\nratio = {{ \"1\" = \"0.90\", \"2\" = \"0.85\", \"3\" = \"0.80\", \"pharmacy\" = \"0.85\" }}\n\
         pool_cap = \"300000.00\"\nsecond_tier_ratio = \"0.80\"\nsecond_tier_cap = \"200000.00\"\n\
         unfiled_reduction = \"0.10\"\naccount = true\n"
    );
    let rows = sscard_import::settlement_config::parse_policies(&policy)
        .map_err(|p| anyhow::anyhow!("bench policy: {p:?}"))?;
    store.load_policies(&ctx, &rows).await?;
    let catalogue = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/catalogue-321200.csv"
    ))
    .unwrap_or_else(|_| {
        b"region,code,name,class,selfpay_prop,price_cap\n\
          321200,XB01CAA001,A,01,0,\n321200,XB02BBB002,B,02,0.10,30.00\n321200,F00000002,C,03,,\n"
            .to_vec()
    });
    let items = sscard_import::settlement_config::parse_catalogue(&catalogue)
        .map_err(|p| anyhow::anyhow!("bench catalogue: {p:?}"))?;
    store.load_catalogue(&ctx, &items).await?;
    let institutions: Vec<InstitutionInput> = (0..b.clients)
        .map(|i| {
            let code = InstitutionCode::parse(&hospital(i)).expect("valid");
            InstitutionInput {
                region: code.region(),
                level: Some(2),
                code,
                name: format!("泰州市第{}人民医院", i + 1),
                networked: true,
            }
        })
        .collect();
    store.register_institutions(&ctx, &institutions).await?;
    let name = PersonName::parse("周建国").expect("valid");
    let people: Vec<PersonInput> = (0..b.persons)
        .map(|i| PersonInput::new(person(i), name.clone()))
        .collect();
    for chunk in people.chunks(500) {
        store.register_people(&ctx, chunk).await?;
    }
    for i in 0..b.persons {
        store
            .enrol_insurance(
                &ctx,
                &EnrolInput {
                    id: person(i),
                    insutype: "310".into(),
                    psn_type: "1101".into(),
                    region: "321200".into(),
                    from: chrono::NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid"),
                    balance: Some(sscard_core::money::Money::from_cents(500_000)),
                    employer: None,
                },
            )
            .await?;
    }
    let mut creds = Vec::with_capacity(b.clients);
    for i in 0..b.clients {
        let c = store.issue_credentials(&ctx, &hospital(i)).await?;
        creds.push((c.institution, c.paasid, c.token));
    }
    Ok(creds)
}

/// One HIS: its hospital, credentials, sign-in and message sequence.
struct His {
    http: reqwest::Client,
    url: String,
    code: String,
    paasid: String,
    token: String,
    sign_no: String,
    seq: u32,
}

impl His {
    /// One call; answers `output` and the call's time in milliseconds.
    async fn call(&mut self, infno: &str, input: &Value) -> anyhow::Result<(Value, f64)> {
        self.seq += 1;
        let now = chrono::Utc::now();
        let msgid = client::msgid(&self.code, now, self.seq);
        // The msgid's 4-digit sequence repeats every 10,000 calls within a second at most.
        let body = client::envelope(infno, &msgid, &self.code, "321200", &self.sign_no, input);
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let started = Instant::now();
        let mut req = self.http.post(&self.url).json(&body);
        for (k, v) in client::headers(&self.paasid, &self.token, now.timestamp(), &nonce) {
            req = req.header(k, v);
        }
        let v: Value = req.send().await?.json().await?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(v["infcode"] == 0, "{infno}: {v}");
        Ok((v["output"].clone(), ms))
    }

    /// One outpatient visit: 1101 → 2201 → 2204 (three lines) → 2207.
    async fn visit(&mut self, id: &str, times: &mut Vec<(usize, f64)>) -> anyhow::Result<()> {
        let (info, t) = self
            .call(
                "1101",
                &json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": id, "psn_cert_type": "01", "certno": id}}),
            )
            .await?;
        times.push((0, t));
        let psn_no = info["baseinfo"]["psn_no"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (reg, t) = self
            .call(
                "2201",
                &json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": "2026-12-01 09:00:00",
                    "mdtrt_cert_type": "02", "mdtrt_cert_no": id, "ipt_otp_no": format!("MZ{}", self.seq),
                    "dept_code": "A03", "dept_name": "内科"}}),
            )
            .await?;
        times.push((1, t));
        let mdtrt_id = reg["data"]["mdtrt_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let line = |sn: &str, code: &str, pric: &str, cnt: &str, amt: &str| {
            json!({"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "1",
                "med_list_codg": code, "medins_list_codg": code, "fee_ocur_time": "2026-12-01 09:10:00",
                "pric": pric, "cnt": cnt, "det_item_fee_sumamt": amt})
        };
        let (_, t) = self
            .call(
                "2204",
                &json!({"feedetail": [
                    line("1", "XB01CAA001", "12.50", "4", "50.00"),
                    line("2", "XB02BBB002", "35.00", "2", "70.00"),
                    line("3", "F00000002", "150.00", "1", "150.00"),
                ]}),
            )
            .await?;
        times.push((2, t));
        let (_, t) = self
            .call(
                "2207",
                &json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "medfee_sumamt": "270.00",
                    "acct_used_flag": "1", "insutype": "310", "psn_setlway": "01",
                    "mdtrt_cert_type": "02", "mdtrt_cert_no": id}}),
            )
            .await?;
        times.push((3, t));
        Ok(())
    }
}

async fn bench_backend(
    label: &str,
    url: &str,
    durable: bool,
    b: &SettleBench,
) -> anyhow::Result<Run> {
    let options = StoreOptions {
        max_connections: b.clients.max(2) as u32,
        sqlite_fsync_each_commit: durable && url.starts_with("sqlite"),
        ..StoreOptions::default()
    };
    let store = Store::open(url, &options).await?;
    let creds = seed(&store, b).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = sscard_server::AppState::new(
        store.clone(),
        sscard_server::config::ServerConfig::default(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sscard_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(b.clients)
        .build()?;
    let url = format!("http://{addr}{CALL_SERVICE}");
    // Sign-in (9001) before the clock starts, one connection per client.
    let mut clients = Vec::with_capacity(creds.len());
    for (code, paasid, token) in creds {
        let mut his = His {
            http: http.clone(),
            url: url.clone(),
            code,
            paasid,
            token,
            sign_no: String::new(),
            seq: 0,
        };
        let (out, _) = his
            .call(
                "9001",
                &json!({"signIn": {"opter_no": "bench", "mac": "", "ip": "127.0.0.1"}}),
            )
            .await?;
        out["signinoutb"]["sign_no"]
            .as_str()
            .unwrap_or_default()
            .clone_into(&mut his.sign_no);
        clients.push(his);
    }
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients.len());
    let (n, persons, visits) = (clients.len(), b.persons, b.visits);
    for (c, mut his) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(visits * 4);
            for v in 0..visits {
                // Each client has its own persons: a person is at one hospital at a time.
                let p = (c + v * n) % persons;
                his.visit(person(p).expose(), &mut times).await?;
            }
            anyhow::Ok(times)
        }));
    }
    let mut timed = Vec::new();
    for t in tasks {
        timed.extend(t.await??);
    }
    let mut per_infno = Vec::with_capacity(VISIT.len());
    for (k, infno) in VISIT.iter().enumerate() {
        let mut own: Vec<f64> = timed.iter().filter(|(i, _)| *i == k).map(|t| t.1).collect();
        own.sort_by(f64::total_cmp);
        per_infno.push((
            (*infno).to_owned(),
            percentile(&own, 0.50),
            percentile(&own, 0.99),
        ));
    }
    let mut all: Vec<f64> = timed.into_iter().map(|t| t.1).collect();
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = server.await;
    store.close().await;
    all.sort_by(f64::total_cmp);
    let settlements = n * visits;
    Ok(Run {
        backend: label.to_owned(),
        durable,
        clients: n,
        calls: all.len(),
        settlements,
        seconds,
        calls_per_second: all.len() as f64 / seconds,
        settlements_per_second: settlements as f64 / seconds,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        max_ms: all.last().copied().unwrap_or(0.0),
        per_infno,
    })
}
