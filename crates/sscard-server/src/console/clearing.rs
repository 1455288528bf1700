//! 异地清算: the month's clearing between Jiangsu's 13 cities — the 13×13 matrix (insured city
//! by treatment city) as a heat map drawn on the server, each city's net position, and each
//! city's statement as PDF and as a workbook.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use sscard_ids::JIANGSU_CITIES;
use sscard_store::fsi::Clearing;

use super::batches::{XLSX, attachment};
use super::extract::{ConsoleUser, need};
use super::{Page, error_page, layout};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/clearing", get(clearing_page))
        .route("/console/clearing/{month}/{file}", get(statement))
}

#[derive(Debug, serde::Deserialize)]
struct MonthQuery {
    month: Option<String>,
}

/// The month before this one (China Standard Time): the latest whole month.
pub(super) fn last_month() -> String {
    use chrono::Datelike;
    let now = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let first = now.with_day(1).unwrap_or(now);
    (first - chrono::Duration::days(1))
        .format("%Y-%m")
        .to_string()
}

fn valid_month(m: &str) -> bool {
    m.len() == 7 && chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_ok()
}

fn bad_month(m: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "clearing.month",
        format!("月份“{m}”应为 YYYY-MM，如 2026-11"),
        format!("month \"{m}\" must be YYYY-MM, e.g. 2026-11"),
    )
}

async fn clearing_of(st: &AppState, caller: &Caller, month: &str) -> Result<Clearing, ApiError> {
    if !valid_month(month) {
        return Err(bad_month(month));
    }
    let ctx = sscard_store::Ctx::now(caller.actor());
    Ok(st.store.clearing(&ctx, month).await?)
}

fn short(zh: &str) -> &str {
    zh.trim_end_matches('市')
}

/// The 13×13 matrix: a row per insured city (it pays), a column per treatment city (it is
/// paid); the colour deepens with what is owed (funds + accounts).
#[allow(clippy::many_single_char_names)]
fn heat_map(p: &Page, c: &Clearing) -> Markup {
    let amount = |insured: u32, treated: u32| {
        c.entries.iter().find(|e| {
            e.insured_region == insured.to_string() && e.treatment_region == treated.to_string()
        })
    };
    let max = c
        .entries
        .iter()
        .map(|e| (e.fund_pay_sumamt + e.acct_pay).cents())
        .max()
        .unwrap_or(1)
        .max(1);
    let (label, cell_w, cell_h) = (70u32, 46u32, 30u32);
    let width = label + cell_w * 13 + 10;
    let height = 40 + cell_h * 13 + 10;
    html! {
        svg #clearing-heatmap xmlns="http://www.w3.org/2000/svg" role="img" width="100%"
            viewBox=(format!("0 0 {width} {height}"))
            aria-label=(p.t("参保地（行）对就医地（列）的应付金额", "Owed by insured city (rows) to treatment city (columns)")) {
            @for (j, (code, zh, en)) in JIANGSU_CITIES.iter().enumerate() {
                @let x = label + u32::try_from(j).unwrap_or(0) * cell_w + cell_w / 2;
                text x=(x) y="28" font-size="11" text-anchor="middle" { (p.t(short(zh), en)) }
                title { (code) }
            }
            @for (i, (insured, zh, en)) in JIANGSU_CITIES.iter().enumerate() {
                @let y = 40 + u32::try_from(i).unwrap_or(0) * cell_h;
                text x="0" y=(y + 19) font-size="11" { (p.t(short(zh), en)) }
                @for (j, (treated, _, _)) in JIANGSU_CITIES.iter().enumerate() {
                    @let x = label + u32::try_from(j).unwrap_or(0) * cell_w;
                    @if insured == treated {
                        rect.cell x=(x) y=(y) width=(cell_w - 2) height=(cell_h - 2) fill="#eeeeee" {}
                    } @else {
                        @let e = amount(*insured, *treated);
                        @let cents = e.map_or(0, |e| (e.fund_pay_sumamt + e.acct_pay).cents());
                        // Integer shades: 255 (nothing) down to 40 (the largest cell).
                        @let shade = 255 - i64::from(cents > 0) * (40 + cents * 175 / max);
                        rect.cell x=(x) y=(y) width=(cell_w - 2) height=(cell_h - 2)
                            fill=(format!("rgb(255,{shade},{shade})")) stroke="#dddddd"
                            data-insured=(insured) data-treated=(treated) data-cents=(cents) {
                            title {
                                (insured) " → " (treated) ": "
                                @if let Some(e) = e {
                                    (e.settlements) " " (p.t("笔", "settlements")) ", "
                                    (p.t("基金", "funds")) " " (e.fund_pay_sumamt) ", "
                                    (p.t("账户", "accounts")) " " (e.acct_pay)
                                } @else { "0" }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn clearing_page(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::ReadSettlements>,
    Query(q): Query<MonthQuery>,
) -> Response {
    let month = q.month.filter(|m| !m.is_empty()).unwrap_or_else(last_month);
    let c = match clearing_of(&st, &caller, &month).await {
        Ok(c) => c,
        Err(e) => return error_page(&p, &e),
    };
    let title = p.t("异地就医清算", "Cross-region clearing");
    let total: sscard_core::money::Money = c
        .entries
        .iter()
        .map(|e| e.fund_pay_sumamt + e.acct_pay)
        .sum();
    let settlements: i64 = c.entries.iter().map(|e| e.settlements).sum();
    let body = html! {
        h1 { (title) " " (c.month) }
        form method="get" action="/console/clearing" {
            label for="month" { (p.t("月份", "Month")) }
            " " input #month type="month" name="month" value=(c.month);
            " " button type="submit" { (p.t("查看", "Show")) }
        }
        p #clearing-figures {
            (p.t("异地结算", "Cross-region settlements")) " " strong #f-settlements { (settlements) } " · "
            (p.t("应清算金额（基金 + 个人账户）", "to clear (funds + accounts)")) " " strong #f-total { (total) }
        }
        p { (p.t("行：参保地（付款）；列：就医地（收款）。颜色越深金额越大。", "Rows: insured city (pays); columns: treatment city (is paid). Deeper colour, larger amount.")) }
        (heat_map(&p, &c))
        h2 { (p.t("各市净额与对账单", "Each city's position and statement")) }
        table #clearing-positions {
            tr {
                th { (p.t("城市", "City")) } th { (p.t("应收", "Owed")) } th { (p.t("应付", "Owes")) }
                th { (p.t("净额", "Net")) } th { (p.t("对账单", "Statement")) }
            }
            @for pos in &c.positions {
                tr {
                    td { (sscard_print::city_label(&pos.region)) " " code { (pos.region) } }
                    td { (pos.owed) } td { (pos.owes) } td { (pos.net) }
                    td {
                        a href=(format!("/console/clearing/{}/{}.pdf", c.month, pos.region)) { "PDF" }
                        " · "
                        a href=(format!("/console/clearing/{}/{}.xlsx", c.month, pos.region)) { "xlsx" }
                    }
                }
            }
        }
        @if c.positions.is_empty() {
            p #clearing-empty { (p.t("本月没有异地结算。", "No cross-region settlements this month.")) }
        }
    };
    layout(&p, title, &body).into_response()
}

async fn statement(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::ReadSettlements>,
    Path((month, file)): Path<(String, String)>,
) -> Response {
    let (city, kind) = file.rsplit_once('.').unwrap_or((file.as_str(), ""));
    let known = JIANGSU_CITIES.iter().any(|(c, _, _)| c.to_string() == city);
    if !known || !matches!(kind, "pdf" | "xlsx") {
        return error_page(
            &p,
            &ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "clearing.statement",
                format!("没有对账单 {file}：应为 城市代码.pdf 或 城市代码.xlsx"),
                format!("no statement {file}: it is CITY.pdf or CITY.xlsx"),
            ),
        );
    }
    let c = match clearing_of(&st, &caller, &month).await {
        Ok(c) => c,
        Err(e) => return error_page(&p, &e),
    };
    let name = format!("clearing-{month}-{city}.{kind}");
    if kind == "xlsx" {
        return match sscard_print::clearing_statement_xlsx(&c, city) {
            Ok(bytes) => attachment(XLSX, &name, bytes),
            Err(e) => error_page(&p, &ApiError::print(&e)),
        };
    }
    let font = match sscard_print::PrintFont::find() {
        Ok(f) => f,
        Err(e) => return error_page(&p, &ApiError::print(&e)),
    };
    let city = city.to_owned();
    match tokio::task::spawn_blocking(move || {
        sscard_print::clearing_statement_pdf(&c, &city, &font)
    })
    .await
    {
        Ok(Ok(bytes)) => attachment("application/pdf", &name, bytes),
        Ok(Err(e)) => error_page(&p, &ApiError::print(&e)),
        Err(e) => error_page(&p, &ApiError::internal(e)),
    }
}
