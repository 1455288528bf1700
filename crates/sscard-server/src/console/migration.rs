//! 换卡: the migration's dashboard for the centre (legacy cards by district — superseded,
//! exchanged, booked, pending — exchanges per day, the forecast, the cut-over) and the counter's
//! appointments desk (today's bookings at the clerk's point, check-in, no-shows, the slots
//! ahead). Charts are PNGs drawn on the server.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::html;
use serde::Deserialize;
use sscard_core::Scope;
use sscard_core::migration::{Arrival, SimInput, district_name, simulate};
use sscard_ids::china_today;

use super::extract::{ConsoleUser, CsrfForm, need};
use super::{Page, error_page, layout};
use crate::AppState;
use crate::error::ApiError;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/migration", get(dashboard))
        .route("/console/migration/districts.png", get(districts_png))
        .route("/console/migration/daily.png", get(daily_png))
        .route("/console/migration/forecast.png", get(forecast_png))
        .route("/console/appointments", get(desk))
        .route("/console/appointments/check-in", post(check_in))
        .route("/console/appointments/no-shows", post(no_shows))
}

fn png(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response()
}

/// Draws a chart off the async workers with the machine's CJK font.
pub(super) async fn draw(
    p: &Page,
    f: impl FnOnce(&sscard_print::PrintFont) -> Vec<u8> + Send + 'static,
) -> Response {
    let font = match sscard_print::PrintFont::find() {
        Ok(font) => font,
        Err(e) => return error_page(p, &ApiError::print(&e)),
    };
    png(tokio::task::spawn_blocking(move || f(&font))
        .await
        .unwrap_or_default())
}

async fn dashboard(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::ReadMigration>,
) -> Response {
    let f = match st.store.migration_figures(&p.ctx()).await {
        Ok(f) => f,
        Err(e) => return error_page(&p, &e.into()),
    };
    let points = st.store.exchange_points().await.unwrap_or_default();
    let title = p.t("换卡进度", "Migration progress");
    let legacy: u64 = f.districts.iter().map(|d| d.legacy).sum();
    let done: u64 = f.districts.iter().map(|d| d.superseded + d.exchanged).sum();
    let body = html! {
        h1 { (title) }
        p { (p.t("全市旧社保卡换领新一代社保卡：按区县分批开放，预约到换卡网点采集照片；新卡首次使用后接替旧卡的社保功能，旧卡的金融功能不变。",
                 "The city's legacy cards are exchanged for the provincial card, district by district: people book a half-day at an exchange point for the photo; the new card's first use takes over the social-security function, the old card keeps its bank function.")) }
        p.figures {
            span #fig-legacy { (p.t("旧卡", "Legacy cards")) " " strong { (legacy) } }
            " · " span #fig-done { (p.t("已换", "Exchanged")) " " strong { (done) } }
            " · " span #fig-unexchanged { (p.t("未换", "Not exchanged")) " " strong { (f.unexchanged) } }
            @if let Some(c) = f.cutover {
                " · " span #fig-cutover { (p.t("旧卡停用日", "Cut-over")) " " strong { (c) } }
                " · " span #fig-retired { (p.t("停用后仍未换卡", "Never exchanged by the cut-over")) " " strong { (f.retired_unexchanged) } }
            }
        }
        img #chart-districts alt=(p.t("各区县换卡进度", "Progress by district")) src="/console/migration/districts.png";
        table #migration-districts {
            tr {
                th { (p.t("区县", "District")) } th { (p.t("旧卡", "Legacy")) }
                th { (p.t("已启用新卡", "Superseded")) } th { (p.t("已申领", "Exchanged")) }
                th { (p.t("已预约", "Booked")) } th { (p.t("未换", "Pending")) }
            }
            @for d in &f.districts {
                tr data-district=(d.district) {
                    td { (d.name) " " small { (d.district) } } td.legacy { (d.legacy) }
                    td.superseded { (d.superseded) } td.exchanged { (d.exchanged) }
                    td.booked { (d.booked) } td.pending { (d.pending) }
                }
            }
        }
        h2 { (p.t("每日换卡与预约", "Exchanges per day and bookings ahead")) }
        img #chart-daily alt=(p.t("每日换卡", "Exchanges per day")) src="/console/migration/daily.png";
        h2 { (p.t("预测", "Forecast")) }
        p { (p.t("按尚未预约的旧卡、各批次开放日期、网点容量和已有预约，逐人模拟（多数人在开放初期到来）。",
                 "From the legacy cards not yet booked, the phases' dates, the points' capacity and the bookings made, person by person (most people come early in their phase).")) }
        img #chart-forecast alt=(p.t("换卡预测", "Forecast")) src="/console/migration/forecast.png";
        h2 { (p.t("换卡网点", "Exchange points")) }
        table #exchange-points {
            tr { th { (p.t("网点", "Point")) } th { (p.t("区县", "District")) } th { (p.t("每日名额", "Places a day")) } }
            @for x in &points {
                tr { td { (p.t(&x.name_zh, &x.name_en)) " " small { (x.code) } } td { (district_name(&x.district)) } td { (x.capacity) } }
            }
        }
    };
    layout(&p, title, &body).into_response()
}

async fn districts_png(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::ReadMigration>,
) -> Response {
    match st.store.migration_figures(&p.ctx()).await {
        Ok(f) => {
            draw(&p, move |font| {
                sscard_print::district_progress_png(&f, font)
            })
            .await
        }
        Err(e) => error_page(&p, &e.into()),
    }
}

async fn daily_png(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::ReadMigration>,
) -> Response {
    let f = match st.store.migration_figures(&p.ctx()).await {
        Ok(f) => f,
        Err(e) => return error_page(&p, &e.into()),
    };
    // The last 60 days of exchange applications, then the bookings ahead (as the backlog).
    let today = china_today();
    let mut days: Vec<(chrono::NaiveDate, u64, u64)> = Vec::new();
    let mut d = today - chrono::Duration::days(60);
    let end = f.bookings_ahead.last().map_or(today, |b| b.0.max(today));
    while d <= end {
        let done = f
            .daily_exchanges
            .iter()
            .find(|x| x.0 == d)
            .map_or(0, |x| x.1);
        let ahead = f
            .bookings_ahead
            .iter()
            .find(|x| x.0 == d)
            .map_or(0, |x| x.1);
        days.push((d, done, ahead));
        d += chrono::Duration::days(1);
    }
    let total: u64 = f.daily_exchanges.iter().map(|x| x.1).sum();
    let booked: u64 = f.bookings_ahead.iter().map(|x| x.1).sum();
    let subtitle = format!(
        "近 60 天换卡申请 {total} 件 · 已预约 {booked} 人 (exchanges in the last 60 days; bookings ahead)"
    );
    draw(&p, move |font| {
        sscard_print::daily_chart_png("每日换卡与预约人数", &subtitle, &days, font)
    })
    .await
}

async fn forecast_png(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::ReadMigration>,
) -> Response {
    let data = match st.store.forecast_data(&p.ctx()).await {
        Ok(d) => d,
        Err(e) => return error_page(&p, &e.into()),
    };
    let input = SimInput {
        start: china_today(),
        groups: data.groups,
        daily_capacity: data.daily_capacity,
        arrival: Arrival::Front,
        window_days: 120,
        booked: data.booked,
        seed: 2026,
    };
    draw(&p, move |font| {
        let out = simulate(&input);
        sscard_print::forecast_chart_png(&out, "换卡预测：等待人数与每日换卡", font)
    })
    .await
}

#[derive(Deserialize)]
struct DeskQuery {
    point: Option<String>,
    done: Option<String>,
}

/// The clerk's point (its outlet), or the one asked for by the centre.
fn desk_point(p: &Page, asked: Option<String>) -> Option<String> {
    match p.caller.as_ref().map(|c| c.actor().scope().clone()) {
        Some(Scope::Outlet(own)) => Some(own),
        _ => asked,
    }
}

async fn desk(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::Appointments>,
    Query(q): Query<DeskQuery>,
) -> Response {
    let points = st.store.exchange_points().await.unwrap_or_default();
    let Some(point) = desk_point(&p, q.point).or_else(|| points.first().map(|x| x.code.clone()))
    else {
        let body = html! { p #no-points { (p.t("还没有换卡网点：sscard exchange-point add …", "No exchange points yet: sscard exchange-point add …")) } };
        return layout(&p, p.t("换卡预约", "Appointments"), &body).into_response();
    };
    let today = china_today();
    let list = match st
        .store
        .appointments(&p.ctx(), Some(&point), Some(today), None, 500)
        .await
    {
        Ok(l) => l,
        Err(e) => return error_page(&p, &e.into()),
    };
    let slots = st
        .store
        .free_slots(today, 5, None)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.point == point)
        .collect::<Vec<_>>();
    let name = points
        .iter()
        .find(|x| x.code == point)
        .map_or(point.clone(), |x| p.t(&x.name_zh, &x.name_en).to_owned());
    let title = p.t("换卡预约", "Exchange appointments");
    let body = html! {
        h1 { (title) " · " (name) }
        @if let Some(done) = &q.done { p.flash #flash { (done) } }
        form method="post" action="/console/appointments/check-in" {
            input type="hidden" name="csrf" value=(p.csrf());
            label { (p.t("预约码", "Confirmation code")) " " input #checkin-code name="code" required autofocus autocomplete="off"; }
            " " button #checkin type="submit" { (p.t("签到", "Check in")) }
        }
        p { small { (p.t("签到后受理换卡申请（业务类型 06）并采集照片。", "After check-in, take the exchange application (business type 06) with the photo.")) } }
        h2 { (p.t("今日预约", "Today's bookings")) " " (today) }
        table #today-bookings {
            tr { th { (p.t("预约码", "Code")) } th { (p.t("时段", "Half-day")) } th { (p.t("持卡人", "Holder")) } th { (p.t("状态", "Status")) } }
            @for a in &list {
                tr data-code=(a.code) { td { code { (a.code) } } td { (p.t(a.half.zh(), a.half.as_str())) } td { (a.name_masked) " " (a.id_masked) } td.status { (a.status) } }
            }
        }
        form method="post" action="/console/appointments/no-shows" {
            input type="hidden" name="csrf" value=(p.csrf());
            input type="hidden" name="code" value=(point);
            button #no-shows type="submit" { (p.t("释放爽约名额（开始 30 分钟后未签到）", "Free the places of no-shows (30 minutes into the half-day)")) }
        }
        h2 { (p.t("未来可约名额", "Places ahead")) }
        table #slots {
            tr { th { (p.t("日期", "Day")) } th { (p.t("时段", "Half-day")) } th { (p.t("剩余", "Left")) } th { (p.t("名额", "Places")) } }
            @for s in &slots {
                tr { td { (s.day) } td { (p.t(s.half.zh(), s.half.as_str())) } td { (s.left) } td { (s.capacity) } }
            }
        }
    };
    layout(&p, title, &body).into_response()
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

fn back(message: &str) -> Response {
    Redirect::to(&format!(
        "/console/appointments?done={}",
        url_escape(message)
    ))
    .into_response()
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn check_in(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::Appointments>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Response {
    match st.store.check_in_appointment(&p.ctx(), &form.code).await {
        Ok(a) => back(&format!(
            "{} {} · {}",
            a.code,
            a.name_masked,
            p.t("已签到", "checked in")
        )),
        Err(e) => error_page(&p, &e.into()),
    }
}

async fn no_shows(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::Appointments>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Response {
    match st.store.release_no_shows(&p.ctx(), Some(&form.code)).await {
        Ok(n) => back(&format!("{} {n}", p.t("释放名额", "places freed:"))),
        Err(e) => error_page(&p, &e.into()),
    }
}
