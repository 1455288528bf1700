//! The city's migration at the command line: exchange points, appointments, the notices
//! outbox, the simulation and the forecast, the dashboard's figures.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Subcommand;
use serde::Deserialize;
use sscard_core::Half;
use sscard_core::migration::{
    Arrival, SimGroup, SimInput, SimOutcome, TAIZHOU_DISTRICTS, district_name, simulate,
};
use sscard_ids::{Bilingual, ResidentId, china_today};
use sscard_store::appointments::{BookRequest, Channel, ExchangePointInput};

use crate::output::{invalid_argument, json_line};
use crate::store_cmds::{Global, try_open, try_store};

/// A message of the command line's own (a file or an argument it could not take).
struct Problem {
    code: &'static str,
    zh: String,
    en: String,
}

impl Bilingual for Problem {
    fn code(&self) -> &'static str {
        self.code
    }
    fn zh(&self) -> String {
        self.zh.clone()
    }
    fn en(&self) -> String {
        self.en.clone()
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum ExchangePointCommand {
    /// 添加换卡网点 / add an exchange point (or change its name and capacity).
    Add {
        /// Its code (also its outlet's).
        #[arg(long)]
        code: String,
        /// Its name in Chinese.
        #[arg(long)]
        name: String,
        /// Its name in English.
        #[arg(long)]
        name_en: Option<String>,
        /// The district it serves (6-digit code).
        #[arg(long)]
        district: String,
        /// Photo captures per working day, split into a morning and an afternoon slot.
        #[arg(long, default_value_t = 200)]
        capacity: u32,
    },
    /// Every exchange point.
    List,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AppointmentCommand {
    /// 预约换卡 / book an exchange appointment at the counter.
    Book {
        /// The holder's ID number.
        #[arg(long)]
        id: String,
        /// The exchange point's code.
        #[arg(long)]
        point: String,
        /// The day (YYYY-MM-DD).
        #[arg(long)]
        date: NaiveDate,
        /// `am` or `pm`.
        #[arg(long)]
        slot: String,
        /// A mobile number for the confirmation and the reminder.
        #[arg(long)]
        phone: Option<String>,
    },
    /// 取消预约 / cancel a booking (its place is free again).
    Cancel {
        /// The confirmation code.
        code: String,
    },
    /// 预约签到 / check a booking in at the point, on its day.
    CheckIn {
        /// The confirmation code.
        code: String,
    },
    /// One booking.
    Show {
        /// The confirmation code.
        code: String,
    },
    /// Bookings of a point and/or day and/or status.
    List {
        /// The point.
        #[arg(long)]
        point: Option<String>,
        /// The day.
        #[arg(long)]
        date: Option<NaiveDate>,
        /// `booked`, `checked_in`, `cancelled`, `no_show`.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(short = 'n', long, default_value_t = 50)]
        limit: i64,
    },
    /// 释放爽约名额 / free the places of bookings not checked in 30 minutes into their
    /// half-day.
    NoShows {
        /// One point (default: every point).
        #[arg(long)]
        point: Option<String>,
    },
    /// 可约时段 / the half-days ahead with the places left.
    Slots {
        /// From (default: today).
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Working days.
        #[arg(long, default_value_t = 10)]
        days: u32,
        /// One district's points.
        #[arg(long)]
        district: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum NoticesCommand {
    /// The outbox, newest first.
    List {
        /// `booking_confirmed`, `booking_reminder`, `phase_open`, `card_ready`.
        #[arg(long)]
        kind: Option<String>,
        /// `pending`, `withdrawn`, `exported`.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(short = 'n', long, default_value_t = 50)]
        limit: i64,
    },
    /// 导出短信 / take the notices due now as a CSV for the SMS gateway (each once).
    Export {
        /// Where (UTF-8 CSV: `id,kind,phone,due_at,text`).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MigrationCommand {
    /// 换卡模拟 / simulate a migration plan day by day.
    Simulate {
        /// People with a legacy card.
        #[arg(long)]
        people: u64,
        /// Exchange points.
        #[arg(long)]
        points: u64,
        /// Places per point and working day.
        #[arg(long, default_value_t = 200)]
        capacity: u64,
        /// The phases (TOML: `[[phase]]` with `name`, `from`, `districts`); people are split
        /// by Taizhou's districts.
        #[arg(long)]
        phases: PathBuf,
        /// When people decide to come: `front`, `even`, `late`.
        #[arg(long, default_value = "front")]
        arrival: String,
        /// The window, in working days after a phase opens, within which its people come.
        #[arg(long, default_value_t = 120)]
        window: u32,
        /// The first day simulated (default: the first phase's opening, less a day).
        #[arg(long)]
        start: Option<NaiveDate>,
        /// Seed of the arrival draw.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Write the chart (PNG) here.
        #[arg(long)]
        chart: Option<PathBuf>,
    },
    /// 换卡预测 / the same from the real data: legacy cards still to come, phases, points,
    /// bookings.
    Forecast {
        /// When people decide to come: `front`, `even`, `late`.
        #[arg(long, default_value = "front")]
        arrival: String,
        /// The window, in working days after a phase opens.
        #[arg(long, default_value_t = 120)]
        window: u32,
        /// Seed of the arrival draw.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Write the chart (PNG) here.
        #[arg(long)]
        chart: Option<PathBuf>,
    },
    /// 换卡进度 / legacy cards by district: superseded, exchanged, booked, pending.
    Status {
        /// Write the district chart (PNG) here.
        #[arg(long)]
        chart: Option<PathBuf>,
    },
}

fn bad_slot(s: &str) -> Problem {
    Problem {
        code: "appointment.slot",
        zh: format!("时段“{s}”应为 am（上午）或 pm（下午）"),
        en: format!("the slot \"{s}\" must be am or pm"),
    }
}

pub(crate) async fn exchange_point(
    g: &Global,
    c: ExchangePointCommand,
) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    match c {
        ExchangePointCommand::Add {
            code,
            name,
            name_en,
            district,
            capacity,
        } => {
            if let Err(e) = sscard_ids::RegionCode::parse(&district) {
                return Ok(invalid_argument("--district", &e, g.json));
            }
            let point = ExchangePointInput {
                name_en: name_en.unwrap_or_else(|| name.clone()),
                code,
                name_zh: name,
                district,
                capacity,
            };
            try_store!(g, store.add_exchange_point(&g.ctx(), &point).await);
            if g.json {
                json_line(&serde_json::json!({
                    "code": point.code, "district": point.district, "capacity": point.capacity
                }));
            } else {
                println!(
                    "✓ 换卡网点（exchange point）{} {} · {} · 每日 {} 人（上午 {}，下午 {}）",
                    point.code,
                    point.name_zh,
                    district_name(&point.district),
                    point.capacity,
                    Half::Am.places(point.capacity),
                    Half::Pm.places(point.capacity)
                );
            }
        }
        ExchangePointCommand::List => {
            let points = try_store!(g, store.exchange_points().await);
            if g.json {
                json_line(&points);
            } else {
                for p in points {
                    println!(
                        "{:<14} {} · {} · 每日 {} 人",
                        p.code,
                        p.name_zh,
                        district_name(&p.district),
                        p.capacity
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_appointment(a: &sscard_store::appointments::Appointment, json: bool, what: &str) {
    if json {
        json_line(a);
    } else {
        println!(
            "✓ {what}: 预约码 {} · {} {} · {} {} · {} · {}",
            a.code,
            a.name_masked,
            a.id_masked,
            a.day,
            a.half.zh(),
            a.point_name,
            a.status
        );
    }
}

pub(crate) async fn appointment(g: &Global, c: AppointmentCommand) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    let ctx = g.ctx();
    match c {
        AppointmentCommand::Book {
            id,
            point,
            date,
            slot,
            phone,
        } => return book(g, &store, &id, point, date, &slot, phone).await,
        AppointmentCommand::Cancel { code } => {
            let a = try_store!(g, store.cancel_appointment(&ctx, &code).await);
            print_appointment(&a, g.json, "已取消（cancelled）");
        }
        AppointmentCommand::CheckIn { code } => {
            let a = try_store!(g, store.check_in_appointment(&ctx, &code).await);
            print_appointment(&a, g.json, "已签到（checked in）");
            if !g.json {
                println!(
                    "  下一步：受理换卡申请（业务类型 06）并采集照片 · next: take the exchange application (06) with the photo"
                );
            }
        }
        AppointmentCommand::Show { code } => {
            let a = try_store!(g, store.appointment(&ctx, &code).await);
            print_appointment(&a, g.json, "预约（booking）");
        }
        AppointmentCommand::List {
            point,
            date,
            status,
            limit,
        } => {
            let list = try_store!(
                g,
                store
                    .appointments(&ctx, point.as_deref(), date, status.as_deref(), limit)
                    .await
            );
            if g.json {
                json_line(&list);
            } else {
                for a in list {
                    println!(
                        "{}  {} {}  {:<10} {} {} · {}",
                        a.code,
                        a.day,
                        a.half.zh(),
                        a.status,
                        a.name_masked,
                        a.id_masked,
                        a.point_name
                    );
                }
            }
        }
        AppointmentCommand::NoShows { point } => {
            let n = try_store!(g, store.release_no_shows(&ctx, point.as_deref()).await);
            if g.json {
                json_line(&serde_json::json!({ "released": n }));
            } else {
                println!("✓ 释放爽约名额 {n} 个（places of no-shows freed）");
            }
        }
        AppointmentCommand::Slots {
            from,
            days,
            district,
        } => {
            let from = from.unwrap_or_else(china_today);
            let slots = try_store!(g, store.free_slots(from, days, district.as_deref()).await);
            if g.json {
                json_line(&slots);
            } else {
                for s in slots {
                    println!(
                        "{} {}  {:<14} 剩余 {:>4} / {}  {}",
                        s.day,
                        s.half.zh(),
                        s.point,
                        s.left,
                        s.capacity,
                        s.point_name
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One CSV field, quoted when it must be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub(crate) async fn notices(g: &Global, c: NoticesCommand) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    let ctx = g.ctx();
    match c {
        NoticesCommand::List {
            kind,
            status,
            limit,
        } => {
            let list = try_store!(
                g,
                store
                    .notices(&ctx, kind.as_deref(), status.as_deref(), limit)
                    .await
            );
            if g.json {
                json_line(&list);
            } else {
                for n in list {
                    println!(
                        "#{:<6} {:<18} {:<9} {} {}  {}",
                        n.id,
                        n.kind,
                        n.status,
                        n.phone_masked,
                        (n.due_at + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M"),
                        n.text
                    );
                }
            }
        }
        NoticesCommand::Export { out } => {
            let export = try_store!(g, store.export_notices(&ctx).await);
            let mut text = String::from("id,kind,phone,due_at,text\n");
            for (n, phone) in &export.notices {
                let _ = writeln!(
                    text,
                    "{},{},{},{},{}",
                    n.id,
                    n.kind,
                    phone,
                    n.due_at.to_rfc3339(),
                    csv_field(&n.text)
                );
            }
            std::fs::write(&out, text)?;
            if g.json {
                json_line(&serde_json::json!({ "out": out, "notices": export.notices.len() }));
            } else {
                println!(
                    "✓ 导出短信 {} 条 → {}（notices exported; nothing is sent from sscard）",
                    export.notices.len(),
                    out.display()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Deserialize)]
struct PhasesFile {
    phase: Vec<PlannedPhase>,
}

#[derive(Debug, Deserialize)]
struct PlannedPhase {
    name: String,
    /// A TOML date (`from = 2026-08-25`).
    from: toml::value::Datetime,
    #[serde(default)]
    districts: Vec<String>,
}

/// The people of a plan by phase: `people` split by Taizhou's districts, each district in the
/// first phase that opens it (a phase without districts opens all that remain).
fn plan_groups(text: &str, people: u64) -> Result<Vec<SimGroup>, Problem> {
    let file: PhasesFile = toml::from_str(text).map_err(|e| Problem {
        code: "migration.phases_file",
        zh: format!("换卡批次文件无法读取：{}", e.message()),
        en: format!("the phases file cannot be read: {e}"),
    })?;
    if file.phase.is_empty() {
        return Err(Problem {
            code: "migration.phases_file",
            zh: "换卡批次文件没有 [[phase]]".into(),
            en: "the phases file has no [[phase]]".into(),
        });
    }
    let mut groups = Vec::new();
    for p in &file.phase {
        let from =
            NaiveDate::parse_from_str(&p.from.to_string(), "%Y-%m-%d").map_err(|_| Problem {
                code: "migration.phases_file",
                zh: format!("批次“{}”的 from 应为日期（YYYY-MM-DD）", p.name),
                en: format!("phase \"{}\": from must be a date (YYYY-MM-DD)", p.name),
            })?;
        groups.push(SimGroup {
            name: p.name.clone(),
            from,
            people: 0,
        });
    }
    let mut given = 0u64;
    for (i, (code, _, _, share)) in TAIZHOU_DISTRICTS.iter().enumerate() {
        let n = if i + 1 == TAIZHOU_DISTRICTS.len() {
            people - given
        } else {
            people * u64::from(*share) / 1000
        };
        given += n;
        let code = code.to_string();
        let phase = file
            .phase
            .iter()
            .position(|p| p.districts.is_empty() || p.districts.contains(&code));
        if let Some(k) = phase {
            groups[k].people += n;
        }
    }
    Ok(groups)
}

fn arrival_of(s: &str) -> Result<Arrival, Problem> {
    Arrival::parse(s).ok_or_else(|| Problem {
        code: "migration.arrival",
        zh: format!("到来方式“{s}”应为 front、even 或 late"),
        en: format!("the arrival \"{s}\" must be front, even or late"),
    })
}

fn report(out: &SimOutcome, input: &SimInput, json: bool, elapsed: std::time::Duration) {
    if json {
        json_line(&serde_json::json!({
            "people": out.people,
            "daily_capacity": input.daily_capacity,
            "completion": out.completion,
            "peak_backlog": out.peak_backlog,
            "peak_wait_days": out.peak_wait_days,
            "groups": input.groups,
            "days": out.days,
            "elapsed_ms": elapsed.as_millis(),
        }));
        return;
    }
    println!(
        "换卡模拟（simulation）: {} 人 · 每个工作日 {} 个名额 · 用时 {:.2} s",
        out.people,
        input.daily_capacity,
        elapsed.as_secs_f64()
    );
    for g in &input.groups {
        println!("  {} · 自 {} 起 · {} 人", g.name, g.from, g.people);
    }
    println!(
        "  完成日期（completion）: {} · 最多等待 {} 人（peak backlog）· 最长等待 {} 天（peak wait）",
        out.completion
            .map_or_else(|| "无法完成（never）".to_owned(), |d| d.to_string()),
        out.peak_backlog,
        out.peak_wait_days
    );
    println!("  周        决定来换  已换卡    等待人数  下一空位（天）");
    for week in out.days.chunks(7) {
        let Some(first) = week.first() else { continue };
        let last = week.last().unwrap_or(first);
        println!(
            "  {}  {:>8}  {:>8}  {:>8}  {:>4}",
            first.date,
            week.iter().map(|d| d.arrivals).sum::<u64>(),
            week.iter().map(|d| d.exchanged).sum::<u64>(),
            last.backlog,
            last.wait_days
        );
    }
}

fn write_chart(path: &Path, out: &SimOutcome, title: &str) -> anyhow::Result<()> {
    let font = sscard_print::PrintFont::find()?;
    std::fs::write(path, sscard_print::forecast_chart_png(out, title, &font))?;
    Ok(())
}

pub(crate) async fn migration(g: &Global, c: MigrationCommand) -> anyhow::Result<ExitCode> {
    match c {
        MigrationCommand::Simulate {
            people,
            points,
            capacity,
            phases,
            arrival,
            window,
            start,
            seed,
            chart,
        } => {
            let text = std::fs::read_to_string(&phases)?;
            let groups = match plan_groups(&text, people) {
                Ok(g) => g,
                Err(e) => return Ok(invalid_argument("--phases", &e, g.json)),
            };
            let arrival = match arrival_of(&arrival) {
                Ok(a) => a,
                Err(e) => return Ok(invalid_argument("--arrival", &e, g.json)),
            };
            let first = groups
                .iter()
                .map(|g| g.from)
                .min()
                .unwrap_or_else(china_today);
            let input = SimInput {
                start: start.unwrap_or(first - chrono::Duration::days(1)),
                groups,
                daily_capacity: points * capacity,
                arrival,
                window_days: window,
                booked: Vec::new(),
                seed,
            };
            let began = std::time::Instant::now();
            let out = simulate(&input);
            report(&out, &input, g.json, began.elapsed());
            if let Some(path) = chart {
                write_chart(&path, &out, "换卡模拟：等待人数与每日换卡")?;
            }
        }
        MigrationCommand::Forecast {
            arrival,
            window,
            seed,
            chart,
        } => {
            let store = try_open!(g);
            let arrival = match arrival_of(&arrival) {
                Ok(a) => a,
                Err(e) => return Ok(invalid_argument("--arrival", &e, g.json)),
            };
            let data = try_store!(g, store.forecast_data(&g.ctx()).await);
            let input = SimInput {
                start: china_today(),
                groups: data.groups,
                daily_capacity: data.daily_capacity,
                arrival,
                window_days: window,
                booked: data.booked,
                seed,
            };
            let began = std::time::Instant::now();
            let out = simulate(&input);
            report(&out, &input, g.json, began.elapsed());
            if data.unphased > 0 && !g.json {
                println!(
                    "  另有 {} 人所属区县尚未安排批次（not in any phase yet）",
                    data.unphased
                );
            }
            if let Some(path) = chart {
                write_chart(&path, &out, "换卡预测：等待人数与每日换卡")?;
            }
        }
        MigrationCommand::Status { chart } => return status(g, chart.as_deref()).await,
    }
    Ok(ExitCode::SUCCESS)
}

async fn status(g: &Global, chart: Option<&Path>) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    let f = try_store!(g, store.migration_figures(&g.ctx()).await);
    if g.json {
        json_line(&f);
    } else {
        println!("区县            旧卡     已启用新卡  已申领   已预约   未换");
        for d in &f.districts {
            println!(
                "{:<14} {:>8} {:>10} {:>8} {:>8} {:>8}",
                d.name, d.legacy, d.superseded, d.exchanged, d.booked, d.pending
            );
        }
        println!("未换卡（unexchanged）: {}", f.unexchanged);
        if let Some(c) = f.cutover {
            println!(
                "旧卡停用日（cut-over）: {c} · 已过停用日仍未换卡 {} 张",
                f.retired_unexchanged
            );
        }
    }
    if let Some(path) = chart {
        let font = sscard_print::PrintFont::find()?;
        std::fs::write(path, sscard_print::district_progress_png(&f, &font))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn book(
    g: &Global,
    store: &sscard_store::Store,
    id: &str,
    point: String,
    day: NaiveDate,
    slot: &str,
    phone: Option<String>,
) -> anyhow::Result<ExitCode> {
    let id = match ResidentId::parse(id) {
        Ok(id) => id,
        Err(e) => return Ok(invalid_argument("--id", &e, g.json)),
    };
    let Some(half) = Half::parse(slot) else {
        return Ok(invalid_argument("--slot", &bad_slot(slot), g.json));
    };
    let req = BookRequest {
        id,
        name: None,
        point,
        day,
        half,
        phone,
        channel: Channel::Counter,
    };
    let a = try_store!(g, store.book_appointment(&g.ctx(), &req).await);
    print_appointment(&a, g.json, "已预约（booked）");
    Ok(ExitCode::SUCCESS)
}
