//! `sscard bench audit`: `sscard audit verify` on chains of growing length, each walk in its own
//! process, printing the time and the peak resident memory of the walk — constant memory means
//! the same peak for 100,000 events as for 1,000,000. A figure, not a test.

use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use sscard_store::{Ctx, Store, StoreOptions};

use crate::store_cmds::Global;

#[derive(Debug, Args)]
pub(crate) struct AuditBench {
    /// Chain lengths to build and verify.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    events: Vec<usize>,
}

#[derive(Debug, serde::Serialize)]
struct Figures {
    events: usize,
    build_seconds: f64,
    verify_seconds: f64,
    events_per_second: f64,
    peak_rss_kib: u64,
    ok: bool,
}

pub(crate) async fn run(g: &Global, b: &AuditBench) -> anyhow::Result<ExitCode> {
    let mut results = Vec::new();
    for &n in &b.events {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("audit.db").display());
        eprintln!("… {n} events");
        let started = Instant::now();
        let store = Store::open(&url, &StoreOptions::default())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let ctx = Ctx::system("system:bench");
        let mut done = 0;
        while done < n {
            let chunk: Vec<(String, String, serde_json::Value)> = (done..n.min(done + 10_000))
                .map(|i| {
                    (
                        "card.first_use".to_owned(),
                        format!("T{i:08}"),
                        serde_json::json!({ "terminal": format!("H3212020{:04}", i % 1600), "n": i }),
                    )
                })
                .collect();
            done += chunk.len();
            store
                .record_audit_many(&ctx, &chunk)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        store.close().await;
        let build_seconds = started.elapsed().as_secs_f64();
        let out = std::process::Command::new(std::env::current_exe()?)
            .args(["--json", "--db", &url, "audit", "verify"])
            .output()?;
        let line = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(line.trim())
            .map_err(|_| anyhow::anyhow!("audit verify printed {line}"))?;
        let verify_seconds = v["seconds"].as_f64().unwrap_or_default();
        results.push(Figures {
            events: v["events"].as_u64().unwrap_or_default() as usize,
            build_seconds,
            verify_seconds,
            events_per_second: n as f64 / verify_seconds.max(1e-9),
            peak_rss_kib: v["peak_rss_kib"].as_u64().unwrap_or_default(),
            ok: v["ok"].as_bool().unwrap_or(false),
        });
    }
    if g.json {
        println!("{}", serde_json::to_string(&results)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("sscard bench audit — sscard audit verify, streamed (SQLite, one process per walk)");
    println!(
        "{:>10} {:>10} {:>10} {:>12} {:>14} {:>4}",
        "events", "build s", "verify s", "events/s", "peak RSS KiB", "ok"
    );
    for f in &results {
        println!(
            "{:>10} {:>10.1} {:>10.2} {:>12.0} {:>14} {:>4}",
            f.events,
            f.build_seconds,
            f.verify_seconds,
            f.events_per_second,
            f.peak_rss_kib,
            if f.ok { "✓" } else { "✗" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
