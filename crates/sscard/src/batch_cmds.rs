//! Employer bulk applications (`sscard batch …`) and photo normalisation (`sscard photo …`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use sscard_ids::{Bilingual, CreditCode};
use sscard_import::pipeline::ImportError;
use sscard_photo::{Options, Profile};

use crate::output::{invalid_argument, json_line, store_error};
use crate::store_cmds::{Global, try_open, try_store};

#[derive(Debug, Subcommand)]
pub(crate) enum BatchCommand {
    /// 下载模板 / write the employee-list template (.xlsx).
    Template {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// 导入名单 / import an employer's list (.xlsx or CSV) and photo ZIP into its open batch.
    Import {
        /// The employer's unified social credit code.
        #[arg(long)]
        employer: String,
        /// The list: .xlsx, or CSV in UTF-8 or GBK/GB18030.
        file: PathBuf,
        /// A ZIP of photos named by ID number (or by the photo column).
        #[arg(long)]
        photos: Option<PathBuf>,
        /// Photo profile (`jiangsu`, `compact`).
        #[arg(long, default_value = "jiangsu")]
        profile: String,
        /// Also write the error workbook (.xlsx) here when rows were refused.
        #[arg(long)]
        errors: Option<PathBuf>,
    },
    /// 批次列表 / list batches.
    List {
        /// Only this employer's batches.
        #[arg(long)]
        employer: Option<String>,
    },
    /// 批次详情 / one batch: rows per production step, uploads.
    Show {
        /// Batch number.
        id: i64,
    },
    /// The production chain (send-bank, bank-result, send-factory, factory-result,
    /// personalise, receive, advance, report).
    #[command(flatten)]
    Chain(crate::production_cmds::ChainCommand),
    /// 照片核对表 / a batch's contact sheet: every photo with its row and masked name, refused
    /// ones with the source and the reason (PDF, or JSON without the images).
    Photos {
        /// Batch number.
        batch: i64,
        /// Write the sheet as PDF here.
        #[arg(long)]
        pdf: Option<PathBuf>,
    },
    /// 更换照片 / give one row of a batch a new photo: it runs through the same checks, and a
    /// row held for its photo goes on.
    Photo {
        /// Batch number.
        batch: i64,
        /// The row in the employer's file (as the error workbook and the contact sheet name it).
        #[arg(long)]
        row: usize,
        /// The photo (JPEG or PNG).
        file: PathBuf,
        /// Photo profile (`jiangsu`, `compact`).
        #[arg(long, default_value = "jiangsu")]
        profile: String,
    },
    /// 错误清单 / write the error workbook of an upload.
    Errors {
        /// Upload id (from `batch import` or `batch show`).
        upload: uuid::Uuid,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
}

fn parse_employer(text: &str, json: bool) -> Result<CreditCode, ExitCode> {
    CreditCode::parse(text).map_err(|e| invalid_argument("--employer", &e, json))
}

fn profile_named(name: &str, json: bool) -> Result<Profile, ExitCode> {
    Profile::by_name(name).ok_or_else(|| {
        let names: Vec<String> = Profile::builtin().into_iter().map(|p| p.name).collect();
        if json {
            json_line(&serde_json::json!({ "error": { "code": "photo.unknown_profile", "field": "--profile",
                "message": format!("没有名为 {name} 的照片规格，可选：{}", names.join("、")),
                "message_en": format!("no photo profile named {name}; choose one of {}", names.join(", ")) } }));
        } else {
            eprintln!("✗ --profile: 没有名为 {name} 的照片规格，可选：{}（no photo profile named {name}; choose one of {}）", names.join("、"), names.join(", "));
        }
        ExitCode::from(1)
    })
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("无法读取（cannot read） {}", path.display()))
}

pub(crate) async fn run(g: &Global, c: BatchCommand) -> anyhow::Result<ExitCode> {
    match c {
        BatchCommand::Template { out } => {
            let store = try_open!(g);
            let banks = try_store!(g, store.banks().await);
            let bytes = sscard_import::workbook::template(&banks)?;
            std::fs::write(&out, bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            if g.json {
                json_line(&serde_json::json!({ "template": out }));
            } else {
                println!("✓ 模板已写入（template written）: {}", out.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        BatchCommand::Import {
            employer,
            file,
            photos,
            profile,
            errors,
        } => {
            import(
                g,
                &employer,
                &file,
                photos.as_deref(),
                &profile,
                errors.as_deref(),
            )
            .await
        }
        BatchCommand::List { employer } => {
            let employer = match employer
                .as_deref()
                .map(|e| parse_employer(e, g.json))
                .transpose()
            {
                Ok(e) => e,
                Err(code) => return Ok(code),
            };
            let store = try_open!(g);
            // `--employer`: the list as that employer's agent sees it.
            let ctx = match employer {
                Some(code) => sscard_store::Ctx::now(sscard_core::Actor::new(
                    g.actor.clone(),
                    sscard_core::Role::EmployerAgent,
                    sscard_core::Scope::Employer(code),
                )),
                None => sscard_store::Ctx::system(g.actor.clone()),
            };
            let list = try_store!(g, store.batches(&ctx).await);
            if g.json {
                json_line(&list);
            } else if list.is_empty() {
                println!("（没有批次 / no batches）");
            } else {
                println!("批次  单位                  状态            人数    已制卡");
                for b in &list {
                    println!(
                        "{:<5} {:<20} {:<3} {:<10} {:>6} {:>8}  {}",
                        b.id, b.employer, b.status, b.status_zh, b.rows, b.cards, b.employer_name
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BatchCommand::Show { id } => show(g, id).await,
        BatchCommand::Photos { batch, pdf } => photos_sheet(g, batch, pdf.as_deref()).await,
        BatchCommand::Photo {
            batch,
            row,
            file,
            profile,
        } => replace_photo(g, batch, row, &file, &profile).await,
        BatchCommand::Chain(c) => crate::production_cmds::run(g, c).await,
        BatchCommand::Errors { upload, out } => {
            let store = try_open!(g);
            let (batch, problems) = try_store!(g, store.upload_problems(&g.ctx(), upload).await);
            std::fs::write(
                &out,
                sscard_import::workbook::error_workbook(batch, &problems)?,
            )
            .with_context(|| format!("cannot write {}", out.display()))?;
            if g.json {
                json_line(
                    &serde_json::json!({ "batch_id": batch, "problems": problems.len(), "out": out }),
                );
            } else {
                println!(
                    "✓ 错误清单已写入（error workbook written）: {} · {} 处问题（problems）",
                    out.display(),
                    problems.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn import(
    g: &Global,
    employer: &str,
    file: &Path,
    photos: Option<&Path>,
    profile: &str,
    errors: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let employer = match parse_employer(employer, g.json) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let profile = match profile_named(profile, g.json) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let bytes = read_file(file)?;
    let zip = photos.map(read_file).transpose()?;
    let store = try_open!(g);
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let progress = std::sync::Arc::new(sscard_import::pipeline::Progress::default());
    let ticker = (!g.json && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let progress = progress.clone();
        tokio::spawn(async move {
            use std::sync::atomic::Ordering::Relaxed;
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                let (done, total) = (progress.done.load(Relaxed), progress.total.load(Relaxed));
                if let Some(width) = (30 * done.min(total)).checked_div(total) {
                    eprint!(
                        "\r照片（photos） [{}{}] {done}/{total}",
                        "#".repeat(width),
                        " ".repeat(30 - width)
                    );
                }
            }
        })
    });
    let result = sscard_import::pipeline::import_upload_with_progress(
        &store,
        &g.ctx(),
        (&employer, &name),
        bytes,
        zip,
        &profile,
        progress.clone(),
    )
    .await;
    if let Some(t) = ticker {
        t.abort();
        if progress.total.load(std::sync::atomic::Ordering::Relaxed) > 0 {
            eprintln!();
        }
    }
    let report = match result {
        Ok(r) => r,
        Err(ImportError::Store(e)) => return Ok(store_error(&e, g.json)),
        Err(ImportError::File(e)) => return Ok(refused(file, &e, g.json)),
        Err(ImportError::Archive(e)) => {
            return Ok(refused(photos.unwrap_or(file), &e, g.json));
        }
    };
    if let (Some(path), false) = (&errors, report.outcome.rejected.is_empty()) {
        let book = sscard_import::workbook::error_workbook(
            report.outcome.batch_id,
            &report.outcome.rejected,
        )?;
        std::fs::write(path, book).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if g.json {
        json_line(&report);
    } else {
        let o = &report.outcome;
        println!(
            "✓ 批次 {}：{} 行，受理 {}，此前已受理 {}，未通过 {}（batch {}: {} rows, {} accepted, {} already, {} rejected）",
            o.batch_id,
            report.rows,
            o.accepted,
            o.already,
            o.rejected.len(),
            o.batch_id,
            report.rows,
            o.accepted,
            o.already,
            o.rejected.len()
        );
        for p in &o.rejected {
            println!(
                "  第 {} 行 · {} · {}（{}） [{}]",
                p.row, p.column, p.message, p.message_en, p.code
            );
        }
        for e in &report.ignored_entries {
            println!("  压缩包中未使用（ZIP entry not used）: {e}");
        }
        if let Some(path) = errors.filter(|_| !o.rejected.is_empty()) {
            println!("  错误清单（error workbook）: {}", path.display());
        }
        println!("  上传编号（upload id）: {}", o.upload_id);
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(g: &Global, id: i64) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    let b = try_store!(g, store.batch(&g.ctx(), id).await);
    if g.json {
        json_line(&b);
    } else {
        let s = &b.summary;
        println!(
            "批次（batch） {} · {} {} · {} {}",
            s.id, s.employer, s.employer_name, s.status, s.status_zh
        );
        println!(
            "  人数（rows） {} · 照片（photos） {} · 已制卡（cards） {}",
            s.rows, b.photos, s.cards
        );
        for (step, n) in &b.steps {
            println!("  {step:<15} {n:>6}");
        }
        for u in &b.uploads {
            println!(
                "  上传（upload） {} · {} · {} 行 · 受理 {} · 已受理 {} · 未通过 {} · {} · {}",
                u.id,
                u.file_name,
                u.rows_total,
                u.accepted,
                u.already,
                u.rejected,
                u.actor,
                u.created_at.format("%Y-%m-%d %H:%M")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn photos_sheet(g: &Global, batch: i64, pdf: Option<&Path>) -> anyhow::Result<ExitCode> {
    use sscard_store::SheetPhoto;
    let store = try_open!(g);
    let sheet = try_store!(g, store.batch_sheet(&g.ctx(), batch).await);
    let entries = &sheet.entries;
    if let Some(out) = pdf {
        let font = sscard_print::PrintFont::find()?;
        let header =
            sscard_print::SheetHeader::at(batch, &sheet.summary.employer_name, chrono::Utc::now());
        let bytes = sscard_print::contact_sheet_pdf(&header, entries, &font)?;
        std::fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
    }
    let refused = entries
        .iter()
        .filter(|e| matches!(e.photo, SheetPhoto::Refused { .. }))
        .count();
    if g.json {
        json_line(
            &serde_json::json!({ "batch": batch, "rows": entries.len(), "refused": refused,
            "pdf": pdf, "entries": entries }),
        );
    } else {
        for e in entries {
            let what = match &e.photo {
                SheetPhoto::Accepted { jpeg } => format!("✓ {} KB", jpeg.len() / 1024),
                SheetPhoto::Refused {
                    code,
                    message,
                    message_en,
                    ..
                } => {
                    format!("✗ {message}（{message_en}） [{code}]")
                }
                SheetPhoto::Missing => "— 无照片（no photo）".into(),
            };
            println!(
                "第 {:>4} 行（row）  {:<6} {}  {what}",
                e.row, e.name, e.id_number
            );
        }
        println!(
            "批次（batch） {batch}: {} 行（rows） · 照片未通过 {refused}（refused）{}",
            entries.len(),
            pdf.map(|p| format!(" · 核对表（sheet） {}", p.display()))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn replace_photo(
    g: &Global,
    batch: i64,
    row: usize,
    file: &Path,
    profile: &str,
) -> anyhow::Result<ExitCode> {
    use sscard_import::pipeline::ReplaceError;
    let profile = match profile_named(profile, g.json) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let bytes = read_file(file)?;
    let store = try_open!(g);
    match sscard_import::pipeline::replace_photo(&store, &g.ctx(), (batch, row), bytes, &profile)
        .await
    {
        Ok(outcome) => {
            if g.json {
                json_line(&serde_json::json!({ "batch": batch, "row": row, "result": outcome }));
            } else {
                match outcome {
                    sscard_store::PhotoReplaced::Applied { batch: into } => println!(
                        "✓ 第 {row} 行照片已通过，已申领（photo accepted, row applied）: 批次（batch） {into}"
                    ),
                    sscard_store::PhotoReplaced::Updated => {
                        println!(
                            "✓ 第 {row} 行照片已更换（photo replaced）: 批次（batch） {batch}"
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(ReplaceError::Photo(e)) => {
            if g.json {
                json_line(
                    &serde_json::json!({ "error": { "code": e.code(), "message": e.zh(),
                    "message_en": e.en(), "file": file, "row": row } }),
                );
            } else {
                eprintln!(
                    "✗ {}: {}（{}） [{}]",
                    file.display(),
                    e.zh(),
                    e.en(),
                    e.code()
                );
                eprintln!("  第 {row} 行未改动（row {row} unchanged）");
            }
            Ok(ExitCode::from(1))
        }
        Err(ReplaceError::Store(e)) => Ok(store_error(&e, g.json)),
    }
}

fn refused(path: &Path, e: &impl Bilingual, json: bool) -> ExitCode {
    if json {
        json_line(
            &serde_json::json!({ "error": { "code": e.code(), "message": e.zh(), "message_en": e.en(), "file": path } }),
        );
    } else {
        eprintln!(
            "✗ {}: {}（{}） [{}]",
            path.display(),
            e.zh(),
            e.en(),
            e.code()
        );
        eprintln!(
            "  整个文件未导入，数据库未改动（the whole file was refused; nothing was changed）"
        );
    }
    ExitCode::from(1)
}

#[derive(Debug, Subcommand)]
pub(crate) enum PhotoCommand {
    /// 照片规范化 / normalise photos: `DIR/STEM.jpg` (card) and `DIR/STEM.chip.jpg` (chip).
    Normalize {
        /// JPEG or PNG files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output directory (created).
        #[arg(long)]
        out: PathBuf,
        /// Photo profile (`jiangsu`, `compact`).
        #[arg(long, default_value = "jiangsu")]
        profile: String,
        /// Skip the face check: centre-crop photos already framed by hand.
        #[arg(long)]
        no_face_check: bool,
    },
}

pub(crate) fn photo(g: &Global, c: PhotoCommand) -> anyhow::Result<ExitCode> {
    let PhotoCommand::Normalize {
        files,
        out,
        profile,
        no_face_check,
    } = c;
    let profile = match profile_named(&profile, g.json) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let inputs: Vec<Result<Vec<u8>, String>> = files
        .iter()
        .map(|f| std::fs::read(f).map_err(|e| e.to_string()))
        .collect();
    let readable: Vec<&[u8]> = inputs.iter().map(|r| r.as_deref().unwrap_or(&[])).collect();
    let results = sscard_photo::normalize_all(
        &readable,
        &profile,
        Options {
            face_check: !no_face_check,
        },
    );
    let mut all_ok = true;
    for ((path, input), result) in files.iter().zip(&inputs).zip(results) {
        let stem = path
            .file_stem()
            .map_or_else(|| "photo".to_owned(), |s| s.to_string_lossy().into_owned());
        let line = match (input, result) {
            (Err(e), _) => {
                all_ok = false;
                serde_json::json!({ "input": path, "ok": false, "output": null, "chip_output": null, "reason": "file.unreadable",
                    "message": format!("无法读取文件：{e}"), "message_en": format!("cannot read the file: {e}") })
            }
            (Ok(_), Err(r)) => {
                all_ok = false;
                serde_json::json!({ "input": path, "ok": false, "output": null, "chip_output": null, "reason": r.code(),
                    "message": r.zh(), "message_en": r.en() })
            }
            (Ok(_), Ok(n)) => {
                let card = out.join(format!("{stem}.jpg"));
                let chip = out.join(format!("{stem}.chip.jpg"));
                std::fs::write(&card, &n.jpeg)
                    .with_context(|| format!("cannot write {}", card.display()))?;
                std::fs::write(&chip, &n.chip_jpeg)
                    .with_context(|| format!("cannot write {}", chip.display()))?;
                serde_json::json!({ "input": path, "ok": true, "output": card, "chip_output": chip, "reason": null,
                    "bytes": n.jpeg.len(), "quality": n.quality, "chip_bytes": n.chip_jpeg.len() })
            }
        };
        if g.json {
            json_line(&line);
        } else if line["ok"] == true {
            println!(
                "✓ {} → {} ({} KB, q{}) · {} ({} B)",
                path.display(),
                line["output"].as_str().unwrap_or(""),
                line["bytes"].as_u64().unwrap_or(0) / 1024,
                line["quality"],
                line["chip_output"].as_str().unwrap_or(""),
                line["chip_bytes"]
            );
        } else {
            println!(
                "✗ {}: {}（{}） [{}]",
                path.display(),
                line["message"].as_str().unwrap_or(""),
                line["message_en"].as_str().unwrap_or(""),
                line["reason"].as_str().unwrap_or("")
            );
        }
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `sscard card face CARD --out FILE`: the back of the card as a PNG.
pub(crate) async fn card_face(g: &Global, number: &str, out: &Path) -> anyhow::Result<ExitCode> {
    let number = match sscard_ids::CardNumber::parse(number) {
        Ok(n) => n,
        Err(e) => return Ok(invalid_argument("CARD", &e, g.json)),
    };
    let store = try_open!(g);
    let card = try_store!(g, store.card(&g.ctx(), &number).await);
    let (id, name) = try_store!(g, store.card_holder(&number).await);
    let (generation, photo) = try_store!(g, store.card_face_data(&number).await);
    let banks = try_store!(g, store.banks().await);
    let bank = banks
        .iter()
        .find(|b| b.code == card.bank_code)
        .map_or_else(|| card.bank_code.clone(), |b| b.name_zh.clone());
    let face = sscard_photo::card_face::CardFace {
        issuer: if generation == "legacy" {
            sscard_photo::card_face::Issuer::TaizhouCity
        } else {
            sscard_photo::card_face::Issuer::JiangsuProvince
        },
        name: name.expose().to_owned(),
        ssn: id.expose().to_owned(),
        card_number: number.as_str().to_owned(),
        issue_date: card.issue_date.format("%Y年%m月").to_string(),
        bank,
        photo,
    };
    let font = sscard_photo::card_face::find_cjk_font();
    let drawn = font
        .load()
        .and_then(|(_, f)| sscard_photo::card_face::render_with_font(&face, &f));
    match drawn {
        Ok(png) => {
            std::fs::write(out, png).with_context(|| format!("cannot write {}", out.display()))?;
            if g.json {
                json_line(&serde_json::json!({
                    "out": out,
                    "card_number": number.as_str(),
                    "font": font.to_string(),
                }));
            } else {
                println!(
                    "✓ 卡面已写入（card face written）: {} · {} · 字体（font）: {font}",
                    out.display(),
                    number
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("✗ {e}");
            Ok(ExitCode::from(3))
        }
    }
}
