//! The home page: each role's dashboard, with the figures it acts on. Every figure is a link
//! to the list behind it (`data-list` marks those whose value is that list's count, shown on
//! the list as `#list-total`), and only when the role may open that list; pictures are PNGs
//! drawn here with Chinese labels (`/console/home/{chart}.png`).
//!
//! - the centre: cards by status and generation, batches by production step, pickups today,
//!   terminal readiness by district, settlements per hour and the month's clearing, the
//!   migration by district;
//! - a counter clerk: its point's queue, bookings today, cards waiting for pickup;
//! - an employer agent: its batches and their refused rows;
//! - a production operator: the rows waiting on each partner;
//! - a bank: its cards and their events, its payment batches;
//! - an auditor: the audit chain and the latest events.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use sscard_core::{Permission, Role};
use sscard_ids::china_today;
use sscard_print::Bars;
use sscard_store::browse::{CardCount, ListQuery, ProductionQueue};

use super::extract::{ConsoleUser, need};
use super::lists::{SS_STATUSES, generation_name, ss_status_name};
use super::migration::draw;
use super::{Page, error_page, layout};
use crate::AppState;
use crate::error::ApiError;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(home))
        .route("/console/home/{chart}", get(chart))
}

/// Which permission opens a console address (longest prefix first). Navigation and every
/// figure's link go through it, so a role is never shown a link it would get 403 for.
const ROUTES: &[(&str, Permission)] = &[
    ("/console/pickup/figures", Permission::ReadDistribution),
    ("/console/pickup", Permission::Distribute),
    ("/console/persons", Permission::ReadPersons),
    ("/console/cards", Permission::ReadCards),
    ("/console/batches", Permission::ReadBatches),
    ("/console/institutions", Permission::ReadTerminals),
    ("/console/terminals", Permission::ReadTerminals),
    ("/console/readiness", Permission::ReadTerminals),
    ("/console/settlements", Permission::ReadSettlements),
    ("/console/clearing", Permission::ReadSettlements),
    ("/console/payments", Permission::ReadPayments),
    ("/console/bank", Permission::ReadPayments),
    ("/console/bookings", Permission::Appointments),
    ("/console/appointments", Permission::Appointments),
    ("/console/migration", Permission::ReadMigration),
    ("/console/audit", Permission::ReadAudit),
];

/// Whether the signed-in role may open `href`.
pub(super) fn may_open(p: &Page, href: &str) -> bool {
    let path = href.split('?').next().unwrap_or(href);
    ROUTES
        .iter()
        .find(|(prefix, _)| path == *prefix || path.starts_with(&format!("{prefix}/")))
        .is_none_or(|(_, need)| p.can(*need))
}

/// One figure: its value in large type, its label, a link to the list behind it when the
/// role may open it. `listed`: the value is the linked list's count.
fn figure(
    p: &Page,
    id: &str,
    label: (&str, &str),
    value: &str,
    href: &str,
    listed: bool,
) -> Markup {
    let inner = html! {
        span.value { (value) }
        span.label { (p.t(label.0, label.1)) }
    };
    html! {
        @if may_open(p, href) {
            a.figure id=(format!("fig-{id}")) href=(href) data-value=(value) data-list=[listed.then_some("1")] { (inner) }
        } @else {
            div.figure id=(format!("fig-{id}")) data-value=(value) { (inner) }
        }
    }
}

fn chart_img(p: &Page, name: &str, alt: (&str, &str)) -> Markup {
    html! {
        img.chart id=(format!("chart-{name}")) alt=(p.t(alt.0, alt.1)) src=(format!("/console/home/{name}.png"));
    }
}

#[derive(Deserialize)]
struct HomeQuery {
    #[serde(default)]
    notfound: Option<String>,
}

async fn home(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser,
    Query(q): Query<HomeQuery>,
) -> Response {
    let role = caller.staff.role;
    let board = match role {
        Role::Admin => centre(&st, &p).await,
        Role::Clerk => clerk(&st, &p, caller.staff.outlet.as_deref()).await,
        Role::EmployerAgent => employer(&st, &p).await,
        Role::ProductionOperator => production(&st, &p).await,
        Role::Bank => bank(&st, &p, caller.staff.bank_code.as_deref()).await,
        Role::Auditor => auditor(&st, &p).await,
        Role::Terminal | Role::Holder => Ok(html! {}),
    };
    let board = match board {
        Ok(b) => b,
        Err(e) => return error_page(&p, &e),
    };
    let body = html! {
        h1 { (p.t("工作台", "Desk")) }
        p { (p.t("您好，", "Hello, ")) (caller.staff.display_name) " (" (p.t(role.zh(), role.as_str())) ")" }
        @if q.notfound.is_some() {
            p.error #search-error { (p.t("未找到该身份证号码对应的人员", "No person with that ID number")) }
        }
        @if p.can(Permission::ReadPersons) {
            // A whole ID number is posted (it never enters an address or a log line); names
            // and last digits search the persons list.
            form.list-search method="post" action="/console/search" {
                input type="hidden" name="csrf" value=(p.csrf());
                label for="search-id" { (p.t("按身份证号码查找", "Find by ID number")) }
                input #search-id name="id_number" size="22" autofocus accesskey="s" autocomplete="off" placeholder=(p.t("18 位身份证号码", "18-character ID number"));
                button #search-submit type="submit" { (p.t("查找", "Find")) }
            }
            form.list-search method="get" action="/console/persons" role="search" {
                label for="home-q" { (p.t("按姓名查找", "Find by name")) }
                input #home-q name="q" type="search" placeholder=(p.t("姓名开头或身份证号码末几位", "name's beginning or an ID number's last digits"));
                button #home-q-submit type="submit" { (p.t("查找", "Find")) }
            }
        }
        (board)
    };
    layout(&p, p.t("工作台", "Desk"), &body).into_response()
}

fn today() -> chrono::NaiveDate {
    china_today()
}

fn sum_by_status(counts: &[CardCount], status: i16) -> u64 {
    counts
        .iter()
        .filter(|c| c.ss_status == status)
        .map(|c| c.cards)
        .sum()
}

fn card_figures(p: &Page, counts: &[CardCount]) -> Markup {
    let total: u64 = counts.iter().map(|c| c.cards).sum();
    html! {
        div.figures #figures-cards {
            (figure(p, "cards", ("社会保障卡", "cards"), &total.to_string(), "/console/cards", true))
            @for s in SS_STATUSES {
                @let n = sum_by_status(counts, s);
                @if n > 0 {
                    (figure(p, &format!("cards-{s}"), ss_status_name(s), &n.to_string(), &format!("/console/cards?status={s}"), true))
                }
            }
        }
    }
}

fn batch_figures(p: &Page, batches: &[sscard_store::BatchSummary]) -> Markup {
    let mut by: std::collections::BTreeMap<u8, u64> = std::collections::BTreeMap::new();
    for b in batches {
        *by.entry(b.status).or_default() += 1;
    }
    html! {
        div.figures #figures-batches {
            (figure(p, "batches", ("制卡批次", "batches"), &batches.len().to_string(), "/console/batches", true))
            @for (status, n) in &by {
                @if let Some(s) = sscard_core::BatchStatus::from_code(*status) {
                    (figure(p, &format!("batches-{status}"), (&s.zh(), &s.en()), &n.to_string(), &format!("/console/batches?status={status}"), true))
                }
            }
        }
    }
}

async fn centre(st: &AppState, p: &Page) -> Result<Markup, ApiError> {
    let ctx = p.ctx();
    let counts = st.store.card_counts(&ctx).await?;
    let batches = st.store.batches(&ctx).await?;
    let pickups = st.store.pickups_on(&ctx, today()).await?;
    let readiness = st.store.readiness(&ctx).await?;
    let (setl_day, hours) = st.store.settlements_by_hour(&ctx, None).await?;
    let month = super::clearing::last_month();
    let clearing = st.store.clearing(&ctx, &month).await?;
    let migration = st.store.migration_figures(&ctx).await?;
    let institutions: u32 = readiness.iter().map(|l| l.institutions).sum();
    let terminals: u32 = readiness.iter().map(|l| l.terminals).sum();
    let ready: u32 = readiness.iter().map(|l| l.ready).sum();
    let suspended: u32 = readiness.iter().map(|l| l.suspended).sum();
    let handed: u64 = pickups.iter().map(|x| x.handed_over).sum();
    let waiting: u64 = pickups.iter().map(|x| x.waiting).sum();
    let settled_today: u64 = hours.iter().map(|h| h.1).sum();
    let cross: i64 = clearing.entries.iter().map(|e| e.settlements).sum();
    let to_clear: sscard_core::money::Money = clearing
        .entries
        .iter()
        .map(|e| e.fund_pay_sumamt + e.acct_pay)
        .sum();
    let legacy: u64 = migration.districts.iter().map(|d| d.legacy).sum();
    let exchanged: u64 = migration
        .districts
        .iter()
        .map(|d| d.superseded + d.exchanged)
        .sum();
    Ok(html! {
        section.board #board-centre {
            h2 { (p.t("卡片", "Cards")) }
            (card_figures(p, &counts))
            (chart_img(p, "cards", ("各代际社保卡按状态", "Cards by generation and status")))
            h2 { (p.t("制卡", "Production")) }
            (batch_figures(p, &batches))
            (chart_img(p, "batches", ("制卡批次按环节", "Batches by production step")))
            h2 { (p.t("发放", "Pickup")) }
            div.figures {
                (figure(p, "pickups-today", ("今日已发放", "handed over today"), &handed.to_string(), "/console/pickup/figures", false))
                (figure(p, "pickups-waiting", ("待领取", "waiting for pickup"), &waiting.to_string(), "/console/pickup/figures", false))
            }
            h2 { (p.t("终端改造", "Terminals")) }
            div.figures {
                (figure(p, "institutions", ("定点医药机构", "institutions"), &institutions.to_string(), "/console/institutions", true))
                (figure(p, "terminals", ("终端", "terminals"), &terminals.to_string(), "/console/terminals", true))
                (figure(p, "terminals-ready", ("已就绪", "ready"), &ready.to_string(), "/console/terminals?status=20", true))
                (figure(p, "terminals-suspended", ("已停用", "suspended"), &suspended.to_string(), "/console/terminals?status=30", true))
            }
            (chart_img(p, "readiness", ("各区县终端就绪情况", "Terminal readiness by district")))
            h2 { (p.t("医保结算", "Settlement")) }
            div.figures {
                (figure(p, "settlements-day", (&format!("{setl_day} 结算"), &format!("settled on {setl_day}")), &settled_today.to_string(), &format!("/console/settlements?day={setl_day}"), false))
                (figure(p, "clearing-settlements", (&format!("{month} 异地结算"), &format!("cross-region in {month}")), &cross.to_string(), &format!("/console/clearing?month={month}"), false))
                (figure(p, "clearing-amount", (&format!("{month} 应清算（元）"), &format!("to clear for {month} (yuan)")), &to_clear.to_string(), &format!("/console/clearing?month={month}"), false))
            }
            (chart_img(p, "settlements", ("每小时结算笔数", "Settlements per hour")))
            h2 { (p.t("换卡", "Migration")) }
            div.figures {
                (figure(p, "legacy", ("旧卡", "legacy cards"), &legacy.to_string(), "/console/migration", false))
                (figure(p, "exchanged", ("已换", "exchanged"), &exchanged.to_string(), "/console/migration", false))
                (figure(p, "unexchanged", ("未换", "not exchanged"), &migration.unexchanged.to_string(), "/console/migration", false))
            }
            @if may_open(p, "/console/migration") {
                a href="/console/migration" { img.chart #chart-migration alt=(p.t("各区县换卡进度", "Migration by district")) src="/console/migration/districts.png"; }
            }
        }
    })
}

async fn clerk(st: &AppState, p: &Page, outlet: Option<&str>) -> Result<Markup, ApiError> {
    let Some(point) = outlet else {
        return Ok(html! { p { (p.t("本账号未绑定网点。", "This account has no outlet.")) } });
    };
    let ctx = p.ctx();
    let f = st
        .store
        .pickup_figures(&ctx, point, chrono::Utc::now())
        .await?;
    let at = st.store.pickups_on(&ctx, today()).await?;
    let waiting = at
        .iter()
        .find(|x| x.point == point)
        .map_or(0, |x| x.waiting);
    let day = today();
    let booked = |status: Option<&str>| ListQuery {
        day: Some(day),
        point: Some(point.to_owned()),
        status: status.map(str::to_owned),
        per_page: 1,
        ..ListQuery::default()
    };
    let bookings = st.store.list_bookings(&ctx, &booked(None)).await?.total;
    let to_come = st
        .store
        .list_bookings(&ctx, &booked(Some("booked")))
        .await?
        .total;
    let arrived = st
        .store
        .list_bookings(&ctx, &booked(Some("checked_in")))
        .await?
        .total;
    let queue = f.queue.map_or_else(|| "—".to_owned(), |q| q.to_string());
    Ok(html! {
        section.board #board-clerk {
            h2 { (f.point_name) " · " (f.date) }
            div.figures {
                (figure(p, "queue", ("排队人数", "people queueing"), &queue, "/console/pickup", false))
                (figure(p, "handed-today", ("今日已发放", "handed over today"), &f.handed_over_today.to_string(), &format!("/console/pickup/figures?point={point}"), false))
                (figure(p, "waiting", ("待领取的卡", "cards waiting for pickup"), &waiting.to_string(), &format!("/console/cards?point={point}"), true))
            }
            h2 { (p.t("今日换卡预约", "Exchange bookings today")) }
            div.figures {
                (figure(p, "bookings-today", ("今日预约", "booked for today"), &bookings.to_string(), &format!("/console/bookings?day={day}"), true))
                (figure(p, "bookings-to-come", ("尚未到场", "still to come"), &to_come.to_string(), &format!("/console/bookings?day={day}&status=booked"), true))
                (figure(p, "bookings-arrived", ("已到场", "checked in"), &arrived.to_string(), &format!("/console/bookings?day={day}&status=checked_in"), true))
            }
            @if may_open(p, "/console/pickup/figures") {
                img.chart #chart-pickups alt=(p.t("每小时发放量", "Hand-overs per hour"))
                    src=(format!("/console/pickup/chart.png?point={point}&n={}", f.handed_over_today));
            }
        }
    })
}

async fn employer(st: &AppState, p: &Page) -> Result<Markup, ApiError> {
    let ctx = p.ctx();
    let batches = st.store.batches(&ctx).await?;
    let mut refused_by = Vec::with_capacity(batches.len());
    for b in &batches {
        let d = st.store.batch(&ctx, b.id).await?;
        let refused: usize = d.uploads.iter().map(|u| u.rejected).sum();
        refused_by.push((b, refused));
    }
    let people: usize = batches.iter().map(|b| b.rows).sum();
    let cards: usize = batches.iter().map(|b| b.cards).sum();
    let refused: usize = refused_by.iter().map(|x| x.1).sum();
    Ok(html! {
        section.board #board-employer {
            div.figures {
                (figure(p, "batches", ("本单位批次", "our batches"), &batches.len().to_string(), "/console/batches", true))
                (figure(p, "people", ("申领人数", "people applied for"), &people.to_string(), "/console/batches", false))
                (figure(p, "cards-made", ("已制卡", "cards made"), &cards.to_string(), "/console/batches", false))
                (figure(p, "refused", ("被拒的行", "rows refused"), &refused.to_string(), "#refused", false))
            }
            (chart_img(p, "production", ("本单位各环节的行数", "Our rows at each production step")))
            h2 #refused { (p.t("各批次被拒的行", "Rows refused, by batch")) }
            div.scroll { table #refused-rows {
                tr { th { (p.t("批次", "Batch")) } th { (p.t("状态", "Status")) } th { (p.t("人数", "People")) } th { (p.t("被拒", "Refused")) } }
                @for (b, n) in &refused_by {
                    tr {
                        td { a href=(format!("/console/batches/{}", b.id)) { (b.id) } }
                        td { (b.status_zh) } td { (b.rows) }
                        td { @if *n > 0 { a.refused-link href=(format!("/console/batches/{}#uploads", b.id)) { (n) } } @else { "0" } }
                    }
                }
            } }
        }
    })
}

async fn production(st: &AppState, p: &Page) -> Result<Markup, ApiError> {
    let ctx = p.ctx();
    let batches = st.store.batches(&ctx).await?;
    let queue = st.store.production_queue(&ctx).await?;
    let at = |steps: &[&str]| -> u64 {
        queue
            .iter()
            .filter(|q| steps.contains(&q.step.as_str()))
            .map(|q| q.rows)
            .sum()
    };
    Ok(html! {
        section.board #board-production {
            h2 { (p.t("等待各合作方的行", "Rows waiting on each partner")) }
            div.figures {
                (figure(p, "to-bank", ("待送银行", "to send to the bank"), &at(&["applied", "bank_failed"]).to_string(), "/console/batches?status=10", false))
                (figure(p, "at-bank", ("银行处理中", "at the bank"), &at(&["bank_sent"]).to_string(), "/console/batches?status=20", false))
                (figure(p, "to-factory", ("待送卡厂", "to send to the factory"), &at(&["bank_ok", "factory_failed"]).to_string(), "/console/batches?status=21", false))
                (figure(p, "at-factory", ("卡厂制卡中", "at the factory"), &at(&["factory_sent"]).to_string(), "/console/batches?status=30", false))
                (figure(p, "to-personalise", ("待个人化", "to personalise"), &at(&["made"]).to_string(), "/console/batches?status=31", false))
                (figure(p, "to-receive", ("待网点接收", "to receive at outlets"), &at(&["personalised"]).to_string(), "/console/batches?status=41", false))
            }
            (chart_img(p, "production", ("各合作银行各环节的行数", "Rows at each step, by partner bank")))
            h2 { (p.t("批次", "Batches")) }
            (batch_figures(p, &batches))
        }
    })
}

async fn bank(st: &AppState, p: &Page, code: Option<&str>) -> Result<Markup, ApiError> {
    let Some(code) = code else {
        return Ok(html! { p { (p.t("本账号未绑定银行。", "This account has no bank.")) } });
    };
    let ctx = p.ctx();
    let counts = st.store.card_counts(&ctx).await?;
    let accounts = st.store.bank_cards(&ctx, code, None, (1, 0)).await?;
    let events = st.store.bank_events(&ctx, Some(code), 10).await?;
    let payments = st.store.payment_batches(&ctx).await?;
    Ok(html! {
        section.board #board-bank {
            h2 { (p.t("本行的卡", "Our cards")) }
            (card_figures(p, &counts))
            div.figures #figures-financial {
                @for (status, n) in &accounts.by_status {
                    (figure(p, &format!("financial-{status}"), (status, status), &n.to_string(), &format!("/console/bank?financial={status}"), false))
                }
            }
            (chart_img(p, "cards", ("本行社保卡按代际和状态", "Our cards by generation and status")))
            h2 { (p.t("代发", "Benefit payments")) }
            div.figures {
                (figure(p, "payment-batches", ("代发批次", "payment batches"), &payments.len().to_string(), "/console/payments", true))
            }
            h2 { (p.t("最近的卡片事件", "Latest card events")) }
            div.scroll { table #bank-events {
                tr { th { "#" } th { (p.t("卡号", "Card")) } th { (p.t("事件", "Event")) } th { (p.t("时间", "When")) } }
                @for e in &events {
                    tr { td { (e.seq) } td { (e.card_number) } td { code { (e.event) } " " (e.direction) } td { ((e.at + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M")) } }
                }
            } }
        }
    })
}

async fn auditor(st: &AppState, p: &Page) -> Result<Markup, ApiError> {
    let ctx = p.ctx();
    let report = st
        .store
        .verify_audit_with(sscard_store::VerifyFrom::Checkpoint, None)
        .await?;
    let pending = st.store.audit_pending().await?;
    let events = st.store.audit_tail(10).await?;
    let counts = st.store.card_counts(&ctx).await?;
    let persons = st
        .store
        .list_persons(
            &ctx,
            &ListQuery {
                per_page: 1,
                ..ListQuery::default()
            },
        )
        .await?
        .total;
    let (zh, en) = report.message();
    Ok(html! {
        section.board #board-auditor {
            h2 { (p.t("审计链", "Audit chain")) }
            p #audit-status class=(if report.ok() { "flash" } else { "error" }) { (p.t(&zh, &en)) }
            div.figures {
                (figure(p, "audit-checked", ("本次核对的事件", "events checked"), &report.events.to_string(), "/console/audit", false))
                (figure(p, "audit-pending", ("待入链的事件", "events waiting to be chained"), &pending.to_string(), "/console/audit", false))
                (figure(p, "persons", ("人员", "persons"), &persons.to_string(), "/console/persons", true))
            }
            (card_figures(p, &counts))
            h2 { (p.t("最近的事件", "Latest events")) }
            div.scroll { table #recent-events {
                tr { th { "#" } th { (p.t("时间", "Time")) } th { (p.t("操作人", "Actor")) } th { (p.t("操作", "Action")) } th { (p.t("对象", "Subject")) } }
                @for e in &events {
                    tr {
                        td { (e.seq) }
                        td { ((chrono::DateTime::from_timestamp_micros(e.at_us).unwrap_or_default() + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M:%S")) }
                        td { (e.actor) } td { code { (e.action) } } td { (e.subject) }
                    }
                }
            } }
            p { a href="/console/audit" { (p.t("完整审计记录", "The whole audit trail")) } }
        }
    })
}

// ---- pictures ----

fn card_bars(counts: &[CardCount], title: &str) -> Bars {
    let mut rows = Vec::new();
    for g in ["third", "second", "legacy"] {
        let values: Vec<u64> = SS_STATUSES
            .iter()
            .map(|s| {
                counts
                    .iter()
                    .filter(|c| c.generation == g && c.ss_status == *s)
                    .map(|c| c.cards)
                    .sum()
            })
            .collect();
        if values.iter().any(|v| *v > 0) {
            let (zh, en) = generation_name(g);
            rows.push((format!("{zh} {en}"), values));
        }
    }
    let total: u64 = counts.iter().map(|c| c.cards).sum();
    Bars {
        title: title.into(),
        subtitle: format!("共 {total} 张 (cards by generation and social-security status)"),
        parts: SS_STATUSES
            .iter()
            .map(|s| {
                let (zh, en) = ss_status_name(*s);
                format!("{zh} {en}")
            })
            .collect(),
        rows,
    }
}

const STEP_NAMES: [(&str, &str); 8] = [
    ("applied", "待送银行"),
    ("bank_failed", "银行失败"),
    ("bank_sent", "银行处理中"),
    ("bank_ok", "待送卡厂"),
    ("factory_failed", "卡厂失败"),
    ("factory_sent", "卡厂制卡中"),
    ("made", "待个人化"),
    ("personalised", "待接收"),
];

fn production_bars(queue: &[ProductionQueue], title: &str) -> Bars {
    let mut banks: Vec<&str> = queue.iter().map(|q| q.bank_code.as_str()).collect();
    banks.dedup();
    let rows = banks
        .iter()
        .map(|b| {
            let values = STEP_NAMES
                .iter()
                .map(|(step, _)| {
                    queue
                        .iter()
                        .filter(|q| q.bank_code == *b && q.step == *step)
                        .map(|q| q.rows)
                        .sum()
                })
                .collect();
            (format!("银行 {b}"), values)
        })
        .collect();
    let total: u64 = queue.iter().map(|q| q.rows).sum();
    Bars {
        title: title.into(),
        subtitle: format!("在途 {total} 行 (rows waiting at each step, by partner bank)"),
        parts: STEP_NAMES.iter().map(|(_, zh)| (*zh).to_owned()).collect(),
        rows,
    }
}

/// The pictures on the dashboards, each behind the permission of the list it summarises.
#[derive(Clone, Copy)]
enum Chart {
    Cards,
    Batches,
    Production,
    Readiness,
    Settlements,
}

impl Chart {
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "cards.png" => Self::Cards,
            "batches.png" => Self::Batches,
            "production.png" => Self::Production,
            "readiness.png" => Self::Readiness,
            "settlements.png" => Self::Settlements,
            _ => return None,
        })
    }

    const fn permission(self) -> Permission {
        match self {
            Self::Cards => Permission::ReadCards,
            Self::Batches | Self::Production => Permission::ReadBatches,
            Self::Readiness => Permission::ReadTerminals,
            Self::Settlements => Permission::ReadSettlements,
        }
    }
}

async fn chart(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::SignedIn>,
    Path(name): Path<String>,
) -> Response {
    let Some(chart) = Chart::named(&name) else {
        return error_page(
            &p,
            &ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found.chart",
                "没有这张图",
                "no such picture",
            ),
        );
    };
    if !p.can(chart.permission()) {
        return super::forbidden(&p, p.t("查看此图", "see this picture"));
    }
    let ctx = p.ctx();
    let made: Result<Bars, ApiError> = match chart {
        Chart::Cards => st
            .store
            .card_counts(&ctx)
            .await
            .map(|c| card_bars(&c, "社会保障卡 · 按代际和状态"))
            .map_err(Into::into),
        Chart::Batches => st
            .store
            .batches(&ctx)
            .await
            .map(|b| batch_bars(&b))
            .map_err(Into::into),
        Chart::Production => st
            .store
            .production_queue(&ctx)
            .await
            .map(|q| production_bars(&q, "制卡在途 · 各合作方"))
            .map_err(Into::into),
        Chart::Readiness => st
            .store
            .readiness(&ctx)
            .await
            .map(|lines| readiness_bars(&lines))
            .map_err(Into::into),
        Chart::Settlements => {
            return match st.store.settlements_by_hour(&ctx, None).await {
                Ok((day, hours)) => {
                    let total: u64 = hours.iter().map(|h| h.1).sum();
                    let cols: Vec<(String, u64)> =
                        hours.iter().map(|(h, n)| (format!("{h:02}"), *n)).collect();
                    let subtitle = format!("{day} · 共 {total} 笔 (settlements per hour)");
                    draw(&p, move |font| {
                        sscard_print::columns_png("每小时结算笔数", &subtitle, &cols, font)
                    })
                    .await
                }
                Err(e) => error_page(&p, &e.into()),
            };
        }
    };
    match made {
        Ok(bars) => draw(&p, move |font| sscard_print::bars_png(&bars, font)).await,
        Err(e) => error_page(&p, &e),
    }
}

fn batch_bars(batches: &[sscard_store::BatchSummary]) -> Bars {
    let mut by: std::collections::BTreeMap<u8, u64> = std::collections::BTreeMap::new();
    for x in batches {
        *by.entry(x.status).or_default() += 1;
    }
    Bars {
        title: "制卡批次 · 按环节".into(),
        subtitle: format!("共 {} 批 (batches by production step)", batches.len()),
        parts: vec!["批次 batches".into()],
        rows: by
            .into_iter()
            .map(|(code, n)| {
                let label = sscard_core::BatchStatus::from_code(code)
                    .map_or_else(|| code.to_string(), sscard_core::BatchStatus::zh);
                (format!("{code} {label}"), vec![n])
            })
            .collect(),
    }
}

fn readiness_bars(lines: &[sscard_store::terminals::ReadinessLine]) -> Bars {
    let mut by: std::collections::BTreeMap<String, [u64; 3]> = std::collections::BTreeMap::new();
    for l in lines {
        let e = by.entry(l.region.clone()).or_default();
        e[0] += u64::from(l.ready);
        e[1] += u64::from(l.terminals - l.ready - l.suspended);
        e[2] += u64::from(l.suspended);
    }
    let ready: u64 = by.values().map(|v| v[0]).sum();
    let all: u64 = by.values().map(|v| v.iter().sum::<u64>()).sum();
    Bars {
        title: "终端改造 · 各区县".into(),
        subtitle: format!("终端 {all} 台，已就绪 {ready} 台 (terminals by district)"),
        parts: vec![
            "已就绪 ready".into(),
            "待改造 enrolled".into(),
            "已停用 suspended".into(),
        ],
        rows: by
            .into_iter()
            .filter(|(_, v)| v.iter().any(|n| *n > 0))
            .map(|(region, v)| (super::lists::region_label(&region), v.to_vec()))
            .collect(),
    }
}
