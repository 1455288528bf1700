//! Sorted distribution and the pickup desk from the command line (`sscard distribution …`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::Subcommand;
use sscard_ids::{CardNumber, ResidentId};
use sscard_store::{PickupOutcome, ProxyInput};

use crate::output::{invalid_argument, json_line};
use crate::store_cmds::{Global, try_open, try_store};

#[derive(Debug, Subcommand)]
pub(crate) enum DistributionCommand {
    /// 发放点列表 / list distribution points (outlets and on-site points at employers).
    Points,
    /// 开放日 / set the days an on-site point is open (none: every working day).
    OpeningDays {
        /// Point code.
        #[arg(long)]
        point: String,
        /// Days, `2026-12-01` or ranges `2026-12-01..2026-12-07`.
        days: Vec<String>,
    },
    /// 分箱计划 / order a received batch for pickup, box it, print the list and labels.
    Plan {
        /// Batch number.
        batch: i64,
        /// The distribution point (must be where the batch was received).
        #[arg(long)]
        point: String,
        /// Cards a box.
        #[arg(long, default_value_t = 200)]
        box_size: u32,
        /// Write the list and box labels as PDF here.
        #[arg(long)]
        pdf: Option<PathBuf>,
        /// Write the list as .xlsx here.
        #[arg(long)]
        xlsx: Option<PathBuf>,
    },
    /// 发放 / hand a card over at a point (scan the holder's ID number).
    HandOver {
        /// The distribution point.
        #[arg(long)]
        point: String,
        /// The holder's resident ID number.
        id_number: String,
        /// 代领: the proxy's resident ID number.
        #[arg(long, requires = "proxy_name")]
        proxy_id: Option<String>,
        /// 代领: the proxy's name.
        #[arg(long, requires = "proxy_id")]
        proxy_name: Option<String>,
        /// Only look up (box and slot), hand nothing over.
        #[arg(long)]
        lookup: bool,
    },
    /// 卡片丢失登记 / mark a card missing from its box (or `--found` again).
    Missing {
        /// The distribution point.
        #[arg(long)]
        point: String,
        /// Card number.
        card: String,
        /// The card was found again.
        #[arg(long)]
        found: bool,
    },
    /// 现场数据 / a point's live figures today; `--chart` writes the hourly chart (PNG).
    Figures {
        /// The distribution point.
        #[arg(long)]
        point: String,
        /// Write the hourly chart here.
        #[arg(long)]
        chart: Option<PathBuf>,
        /// Record the queue counted now before showing the figures.
        #[arg(long)]
        queue: Option<u32>,
    },
}

/// `2026-12-01` or `2026-12-01..2026-12-07`.
fn parse_days(items: &[String]) -> Result<Vec<NaiveDate>, String> {
    let mut days = Vec::new();
    for item in items {
        let parse = |s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                format!("日期“{s}”无效：请写 YYYY-MM-DD（date \"{s}\" not understood: write YYYY-MM-DD）")
            })
        };
        match item.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (parse(a)?, parse(b)?);
                if b < a || (b - a).num_days() > 366 {
                    return Err(format!(
                        "日期范围“{item}”无效（date range \"{item}\" not valid: end before start, or over a year）"
                    ));
                }
                days.extend(a.iter_days().take_while(|d| *d <= b));
            }
            None => days.push(parse(item)?),
        }
    }
    Ok(days)
}

pub(crate) async fn run(g: &Global, c: DistributionCommand) -> anyhow::Result<ExitCode> {
    match c {
        DistributionCommand::Points => points(g).await,
        DistributionCommand::OpeningDays { point, days } => {
            let days = match parse_days(&days) {
                Ok(d) => d,
                Err(msg) => {
                    eprintln!("✗ {msg}");
                    return Ok(ExitCode::from(1));
                }
            };
            let store = try_open!(g);
            try_store!(g, store.set_opening_days(&g.ctx(), &point, &days).await);
            if g.json {
                json_line(&serde_json::json!({ "point": point, "opening_days": days }));
            } else {
                println!(
                    "✓ {point} 开放日已设置（opening days set）: {} 天",
                    days.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        DistributionCommand::Plan {
            batch,
            point,
            box_size,
            pdf,
            xlsx,
        } => plan(g, batch, &point, box_size, pdf, xlsx).await,
        DistributionCommand::HandOver {
            point,
            id_number,
            proxy_id,
            proxy_name,
            lookup,
        } => hand_over(g, &point, &id_number, proxy_id.zip(proxy_name), lookup).await,
        DistributionCommand::Missing { point, card, found } => {
            let card = match CardNumber::parse(&card) {
                Ok(c) => c,
                Err(e) => return Ok(invalid_argument("CARD", &e, g.json)),
            };
            let store = try_open!(g);
            try_store!(
                g,
                store
                    .mark_card_missing(&g.ctx(), &point, &card, !found)
                    .await
            );
            if g.json {
                json_line(&serde_json::json!({ "card": card, "missing": !found }));
            } else if found {
                println!("✓ 卡 {card} 已找回（found again）");
            } else {
                println!("✓ 卡 {card} 已登记丢失（marked missing）");
            }
            Ok(ExitCode::SUCCESS)
        }
        DistributionCommand::Figures {
            point,
            chart,
            queue,
        } => figures(g, &point, chart, queue).await,
    }
}

async fn points(g: &Global) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    let points = try_store!(g, store.distribution_points().await);
    if g.json {
        println!("{}", serde_json::to_string(&points)?);
        return Ok(ExitCode::SUCCESS);
    }
    for p in &points {
        let kind = if p.kind == "employer_site" {
            "单位现场发卡点 on-site"
        } else {
            "服务网点 outlet"
        };
        println!(
            "{:<14} {} · {kind}{}{}",
            p.id,
            p.name,
            p.employer
                .as_ref()
                .map(|e| format!(" · {e}"))
                .unwrap_or_default(),
            match (p.opening_days.first(), p.opening_days.last()) {
                (Some(a), Some(b)) => format!(" · 开放 {a}—{b}（{} 天）", p.opening_days.len()),
                _ => String::new(),
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn plan(
    g: &Global,
    batch: i64,
    point: &str,
    box_size: u32,
    pdf: Option<PathBuf>,
    xlsx: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    // Find the font before changing anything: a PDF that cannot be printed is refused first.
    let font = match &pdf {
        Some(_) => match sscard_print::PrintFont::find() {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("✗ {e}");
                return Ok(ExitCode::from(1));
            }
        },
        None => None,
    };
    let store = try_open!(g);
    let plan = try_store!(
        g,
        store
            .plan_distribution(&g.ctx(), batch, point, box_size)
            .await
    );
    if let (Some(path), Some(font)) = (&pdf, &font) {
        let bytes = sscard_print::plan_pdf(&plan, font)?;
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &xlsx {
        let bytes = sscard_print::plan_xlsx(&plan)?;
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    if g.json {
        println!("{}", serde_json::to_string(&plan.entries)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "✓ 批次 {batch} 分箱完成（boxes planned）: {} · {} 张 {} 箱，每箱 {} 张",
        plan.point.name,
        plan.entries.len(),
        plan.boxes.len(),
        plan.box_size
    );
    for b in &plan.boxes {
        println!("  {}", b.label);
    }
    for (what, path) in [("PDF", &pdf), ("xlsx", &xlsx)] {
        if let Some(p) = path {
            println!("  {what}: {}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn hand_over(
    g: &Global,
    point: &str,
    id_number: &str,
    proxy: Option<(String, String)>,
    lookup: bool,
) -> anyhow::Result<ExitCode> {
    let id = match ResidentId::parse(id_number) {
        Ok(id) => id,
        Err(e) => return Ok(invalid_argument("ID_NUMBER", &e, g.json)),
    };
    let proxy = match proxy {
        Some((pid, name)) => match ResidentId::parse(&pid) {
            Ok(pid) => Some(ProxyInput { id: pid, name }),
            Err(e) => return Ok(invalid_argument("--proxy-id", &e, g.json)),
        },
        None => None,
    };
    let store = try_open!(g);
    let outcome = if lookup {
        try_store!(g, store.pickup_lookup(&g.ctx(), point, &id).await)
    } else {
        try_store!(
            g,
            store
                .pickup_hand_over(&g.ctx(), point, &id, proxy.as_ref(), None)
                .await
        )
    };
    let good = matches!(
        outcome,
        PickupOutcome::HandedOver { .. } | PickupOutcome::Ready { .. }
    );
    if g.json {
        json_line(&outcome);
    } else {
        let card = match &outcome {
            PickupOutcome::Ready { card } | PickupOutcome::HandedOver { card, .. } => format!(
                " · {} {} · 卡号 {}{}",
                card.name_masked,
                card.id_masked,
                card.card_number,
                match (card.r#box, card.slot) {
                    (Some(b), Some(s)) => format!(" · 第 {b} 箱第 {s} 张 (box {b}, slot {s})"),
                    _ => String::new(),
                }
            ),
            _ => String::new(),
        };
        let mark = if good { "✓" } else { "✗" };
        println!("{mark} {}（{}）{card}", outcome.zh(), outcome.en());
    }
    Ok(if good {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn figures(
    g: &Global,
    point: &str,
    chart: Option<PathBuf>,
    queue: Option<u32>,
) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    if let Some(q) = queue {
        try_store!(g, store.report_queue(&g.ctx(), point, q).await);
    }
    let f = try_store!(
        g,
        store
            .pickup_figures(&g.ctx(), point, chrono::Utc::now())
            .await
    );
    if let Some(path) = &chart {
        let font = match sscard_print::PrintFont::find() {
            Ok(f) => f,
            Err(e) => {
                eprintln!("✗ {e}");
                return Ok(ExitCode::from(1));
            }
        };
        std::fs::write(path, sscard_print::hourly_chart_png(&f, &font))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if g.json {
        json_line(&f);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} · {}{}",
        f.point_name,
        f.date,
        if f.open {
            ""
        } else {
            " · 今日不开放 (closed today)"
        }
    );
    println!("  今日已发放 handed over today: {}", f.handed_over_today);
    println!("  近一小时 last hour: {}", f.last_hour);
    println!(
        "  待领取 remaining: {} · 丢失 missing: {}",
        f.remaining, f.missing
    );
    if let Some(avg) = f.avg_handling_seconds {
        println!(
            "  平均办理 avg handling: {avg:.0} s · 在岗窗口 active desks: {}",
            f.active_desks
        );
    }
    match (f.queue, f.estimated_wait_minutes) {
        (Some(q), Some(w)) => println!("  排队 queue: {q} · 预计等待 estimated wait: {w:.1} min"),
        (Some(q), None) => println!("  排队 queue: {q}"),
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}
