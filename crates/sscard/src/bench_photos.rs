//! `sscard bench photos` (beside Pillow) and `sscard bench batch` (an employer upload end to end).

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sscard_photo::{Options, Profile, synth};
use sscard_store::{Ctx, Store, StoreOptions};

use crate::store_cmds::Global;

/// The peer: Pillow doing the same decode-resize-encode work in one process.
const PILLOW_SCRIPT: &str = include_str!("../../../tools/bench_pillow.py");

#[derive(Debug, Args)]
pub(crate) struct PhotoBench {
    /// Photos in the corpus (synthetic variations of the two real test faces).
    #[arg(long, default_value_t = 300)]
    n: usize,
    /// The Python with Pillow for the peer figure.
    #[arg(long, default_value = "python3")]
    python: String,
}

#[derive(Debug, serde::Serialize)]
struct PhotoFigure {
    what: String,
    threads: usize,
    photos: usize,
    seconds: f64,
    photos_per_second: f64,
}

fn time_ours(corpus: &[Vec<u8>], face_check: bool, threads: usize) -> anyhow::Result<PhotoFigure> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let profile = Profile::jiangsu();
    let start = Instant::now();
    let results =
        pool.install(|| sscard_photo::normalize_all(corpus, &profile, Options { face_check }));
    let seconds = start.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| r.is_err()).count();
    anyhow::ensure!(failed == 0, "{failed} corpus photos were refused");
    Ok(PhotoFigure {
        what: format!(
            "sscard ({})",
            if face_check {
                "face check"
            } else {
                "no face check"
            }
        ),
        threads,
        photos: corpus.len(),
        seconds,
        photos_per_second: corpus.len() as f64 / seconds,
    })
}

pub(crate) fn photos(g: &Global, b: &PhotoBench) -> anyhow::Result<ExitCode> {
    eprintln!("… making {} badge photos from the two test faces", b.n);
    let corpus = synth::corpus(b.n);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    // Warm up (model parse, thread pools) outside the timings.
    sscard_photo::normalize_all(
        &corpus[..corpus.len().min(8)],
        &Profile::jiangsu(),
        Options::default(),
    );
    let mut figures = vec![
        time_ours(&corpus, false, cores)?,
        time_ours(&corpus, false, 1)?,
        time_ours(&corpus, true, cores)?,
        time_ours(&corpus, true, 1)?,
    ];
    let dir = tempfile::tempdir()?;
    let photos_dir = dir.path().join("photos");
    std::fs::create_dir(&photos_dir)?;
    for (i, jpeg) in corpus.iter().enumerate() {
        std::fs::write(photos_dir.join(format!("{i:05}.jpg")), jpeg)?;
    }
    let script = dir.path().join("bench_pillow.py");
    std::fs::write(&script, PILLOW_SCRIPT)?;
    // The peer as it is deployed for a batch: one process per core, as many as our threads;
    // and one process, for the figure per core.
    let mut peers = Vec::new();
    for processes in [cores, 1] {
        match pillow(&b.python, &script, &photos_dir, processes) {
            Ok(p) => peers.push(p),
            Err(why) => {
                eprintln!(
                    "Pillow peer not run（未运行对照）: {why} — install it with `pip install pillow`"
                );
                break;
            }
        }
    }
    // Per core: photos/s divided by the threads (or processes) that made them.
    let peer_per_core = peers
        .iter()
        .find(|p| p.threads == cores)
        .map(|p| p.photos_per_second / p.threads as f64);
    figures.extend(peers);
    if g.json {
        let rows: Vec<serde_json::Value> = figures
            .iter()
            .map(|f| {
                let per_core = f.photos_per_second / f.threads as f64;
                serde_json::json!({
                    "what": f.what, "threads": f.threads, "photos": f.photos, "seconds": f.seconds,
                    "photos_per_second": f.photos_per_second, "per_core": per_core,
                    "per_core_vs_pillow": peer_per_core.map(|p| per_core / p),
                })
            })
            .collect();
        println!("{}", serde_json::to_string(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "sscard bench photos — decode → (face check) → crop/resize 358×441 → 350 dpi JPEG in 15–100 KB + chip photo"
    );
    println!(
        "Pillow runs {cores} process(es), one per core, as sscard runs {cores} thread(s); × Pillow is per core (photos/s ÷ threads or processes)"
    );
    println!(
        "{:<28} {:>7} {:>7} {:>9} {:>10} {:>10} {:>10}",
        "", "threads", "photos", "seconds", "photos/s", "per core", "× Pillow"
    );
    for f in &figures {
        let per_core = f.photos_per_second / f.threads as f64;
        let ratio =
            peer_per_core.map_or_else(|| "-".to_owned(), |p| format!("{:.2}", per_core / p));
        println!(
            "{:<28} {:>7} {:>7} {:>9.2} {:>10.1} {:>10.1} {:>10}",
            f.what, f.threads, f.photos, f.seconds, f.photos_per_second, per_core, ratio
        );
    }
    println!(
        "targets on 2 cores: face check ≥ 600 photos/s on all cores; no face check ≥ 2.5 × Pillow per core"
    );
    Ok(ExitCode::SUCCESS)
}

/// Pillow on the corpus with `processes` worker processes.
fn pillow(
    python: &str,
    script: &std::path::Path,
    photos: &std::path::Path,
    processes: usize,
) -> Result<PhotoFigure, String> {
    let o = std::process::Command::new(python)
        .arg(script)
        .arg(photos)
        .arg("1")
        .arg(processes.to_string())
        .output()
        .map_err(|e| format!("{python}: {e}"))?;
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr)
            .lines()
            .last()
            .unwrap_or("")
            .to_owned());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).map_err(|e| format!("Pillow script output: {e}"))?;
    Ok(PhotoFigure {
        what: v["peer"].as_str().unwrap_or("Pillow").to_owned(),
        threads: processes,
        photos: v["photos"].as_u64().unwrap_or(0) as usize,
        seconds: v["seconds"].as_f64().unwrap_or(0.0),
        photos_per_second: v["photos_per_second"].as_f64().unwrap_or(0.0),
    })
}

#[derive(Debug, Args)]
pub(crate) struct BatchBench {
    /// Employees in the upload.
    #[arg(long, default_value_t = 5000)]
    n: usize,
}

#[derive(Debug, serde::Serialize)]
struct BatchFigure {
    photos: bool,
    employees: usize,
    accepted: usize,
    seconds: f64,
    rows_per_second: f64,
}

async fn one_batch(
    n: usize,
    with_photos: bool,
    distinct: &[Vec<u8>],
) -> anyhow::Result<BatchFigure> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::open(&url, &StoreOptions::default()).await?;
    let ctx = Ctx::system("bench:batch");
    let employer = crate::demo::factory_code();
    store
        .register_employer(
            &ctx,
            &employer,
            "泰州示例制药有限公司",
            sscard_ids::RegionCode::parse("321200")?,
        )
        .await?;
    let mut rng = StdRng::seed_from_u64(7);
    let mut csv = String::from("姓名,身份证号码,合作银行,车间,部门\n");
    let mut zip_bytes = std::io::Cursor::new(Vec::new());
    let mut seen = std::collections::HashSet::new();
    {
        let mut zip = zip::ZipWriter::new(&mut zip_bytes);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let mut i = 0;
        while seen.len() < n {
            let p = crate::demo::employee(&mut rng, &employer);
            if !seen.insert(p.id) {
                continue;
            }
            writeln!(
                csv,
                "{},{},CCB,{},{}",
                p.name.expose(),
                p.id.expose(),
                p.workshop.unwrap_or_default(),
                p.department.unwrap_or_default()
            )?;
            if with_photos {
                zip.start_file(format!("{}.jpg", p.id.expose()), opts)?;
                zip.write_all(&distinct[i % distinct.len()])?;
            }
            i += 1;
        }
        zip.finish()?;
    }
    let zip_bytes = with_photos.then(|| zip_bytes.into_inner());
    let start = Instant::now();
    let report = sscard_import::pipeline::import_upload(
        &store,
        &ctx,
        &employer,
        "bench.csv",
        csv.into_bytes(),
        zip_bytes,
        &Profile::jiangsu(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let seconds = start.elapsed().as_secs_f64();
    store.close().await;
    Ok(BatchFigure {
        photos: with_photos,
        employees: n,
        accepted: report.outcome.accepted,
        seconds,
        rows_per_second: n as f64 / seconds,
    })
}

pub(crate) async fn batch(g: &Global, b: &BatchBench) -> anyhow::Result<ExitCode> {
    eprintln!("… making 200 distinct badge photos");
    let distinct = synth::corpus(200);
    eprintln!("… {} employees without photos", b.n);
    let without = one_batch(b.n, false, &distinct).await?;
    eprintln!("… {} employees with photos", b.n);
    let with = one_batch(b.n, true, &distinct).await?;
    let figures = [without, with];
    if g.json {
        println!("{}", serde_json::to_string(&figures)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "sscard bench batch — one employer upload end to end (parse, ZIP, photos, applications in one transaction; SQLite)"
    );
    println!(
        "{:<10} {:>10} {:>10} {:>9} {:>10}   target",
        "photos", "employees", "accepted", "seconds", "rows/s"
    );
    for f in &figures {
        println!(
            "{:<10} {:>10} {:>10} {:>9.2} {:>10.0}   {}",
            if f.photos { "yes" } else { "no" },
            f.employees,
            f.accepted,
            f.seconds,
            f.rows_per_second,
            if f.photos {
                "≤ 10 s for 5,000 on 2 cores"
            } else {
                "≤ 2 s for 5,000"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
