//! 终端改造进度: the readiness programme's page — figures, a chart of terminals by district
//! (ready, not yet, suspended), the table by district and kind, and the open problems.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};

use super::extract::{ConsoleUser, need};
use super::{Page, error_page, layout};
use crate::AppState;
use crate::api::terminal::{ReadinessDto, readiness_report};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/console/readiness", get(readiness_page))
}

fn district(p: &Page, region: &str) -> String {
    region
        .parse::<u32>()
        .ok()
        .and_then(sscard_ids::RegionCode::from_u32)
        .map_or_else(
            || region.to_owned(),
            |r| p.t(&r.name_zh(), &r.name_en()).to_owned(),
        )
}

fn percent(permille: u32) -> String {
    format!("{}.{}%", permille / 10, permille % 10)
}

/// Per district: (name, ready, enrolled, suspended).
fn by_district(p: &Page, r: &ReadinessDto) -> Vec<(String, u32, u32, u32)> {
    let mut out: Vec<(String, String, u32, u32, u32)> = Vec::new();
    for l in &r.lines {
        let waiting = l.terminals - l.ready - l.suspended;
        match out.iter_mut().find(|d| d.0 == l.region) {
            Some(d) => {
                d.2 += l.ready;
                d.3 += waiting;
                d.4 += l.suspended;
            }
            None => out.push((
                l.region.clone(),
                district(p, &l.region),
                l.ready,
                waiting,
                l.suspended,
            )),
        }
    }
    out.into_iter()
        .map(|(_, n, a, b, c)| (n, a, b, c))
        .collect()
}

/// A horizontal stacked bar chart, drawn on the server as SVG.
fn chart(p: &Page, rows: &[(String, u32, u32, u32)]) -> Markup {
    let max = rows
        .iter()
        .map(|r| r.1 + r.2 + r.3)
        .max()
        .unwrap_or(1)
        .max(1);
    let (label_w, bar_w, row_h) = (110u32, 520u32, 30u32);
    let height = row_h * u32::try_from(rows.len()).unwrap_or(0) + 40;
    let scale = |n: u32| n * bar_w / max;
    html! {
        svg #readiness-chart xmlns="http://www.w3.org/2000/svg" role="img" width="100%"
            viewBox=(format!("0 0 {} {height}", label_w + bar_w + 60))
            aria-label=(p.t("各区县终端就绪情况", "Terminals by district")) {
            @for (i, (name, ready, waiting, suspended)) in rows.iter().enumerate() {
                @let y = u32::try_from(i).unwrap_or(0) * row_h + 4;
                text x="0" y=(y + 17) font-size="14" { (name) }
                rect x=(label_w) y=(y) width=(scale(*ready)) height="20" fill="#2e7d32" {
                    title { (p.t("已就绪", "ready")) " " (ready) }
                }
                rect x=(label_w + scale(*ready)) y=(y) width=(scale(*waiting)) height="20" fill="#f9a825" {
                    title { (p.t("未就绪", "not ready")) " " (waiting) }
                }
                rect x=(label_w + scale(*ready) + scale(*waiting)) y=(y) width=(scale(*suspended)) height="20" fill="#c62828" {
                    title { (p.t("已暂停", "suspended")) " " (suspended) }
                }
                text x=(label_w + scale(ready + waiting + suspended) + 6) y=(y + 16) font-size="12" {
                    (ready) "/" (ready + waiting + suspended)
                }
            }
            @let y = height - 14;
            rect x=(label_w) y=(y - 10) width="12" height="12" fill="#2e7d32" {}
            text x=(label_w + 16) y=(y) font-size="12" { (p.t("已就绪", "ready")) }
            rect x=(label_w + 90) y=(y - 10) width="12" height="12" fill="#f9a825" {}
            text x=(label_w + 106) y=(y) font-size="12" { (p.t("未就绪", "not ready")) }
            rect x=(label_w + 190) y=(y - 10) width="12" height="12" fill="#c62828" {}
            text x=(label_w + 206) y=(y) font-size="12" { (p.t("已暂停", "suspended")) }
        }
    }
}

async fn readiness_page(
    State(st): State<AppState>,
    user: ConsoleUser<need::ReadTerminals>,
) -> Response {
    let p = user.p;
    let report = match readiness_report(&st, &p.ctx()).await {
        Ok(r) => r,
        Err(e) => return error_page(&p, &e),
    };
    let title = p.t("终端改造进度", "Terminal readiness");
    let rows = by_district(&p, &report);
    let body = html! {
        h1 { (title) }
        p #readiness-figures {
            (p.t("定点医药机构", "Institutions")) " " strong #f-institutions { (report.institutions) } " · "
            (p.t("终端", "terminals")) " " strong #f-terminals { (report.terminals) } " · "
            (p.t("已就绪", "ready")) " " strong #f-ready { (report.ready) } " (" (percent(report.ready_permille)) ") · "
            (p.t("未解决问题", "open problems")) " " strong #f-problems { (report.open_problems.len()) }
        }
        (chart(&p, &rows))
        h2 { (p.t("按区县和类别", "By district and kind")) }
        table #readiness-table {
            tr {
                th { (p.t("区县", "District")) } th { (p.t("类别", "Kind")) } th { (p.t("机构", "Institutions")) }
                th { (p.t("终端", "Terminals")) } th { (p.t("已就绪", "Ready")) } th { (p.t("已暂停", "Suspended")) }
                th { (p.t("未解决问题", "Open problems")) } th { (p.t("就绪率", "% ready")) }
            }
            @for l in &report.lines {
                tr {
                    td { (district(&p, &l.region)) " " code { (l.region) } }
                    td { @if l.kind == "hospital" { (p.t("医院/诊所", "hospital")) } @else { (p.t("药店", "pharmacy")) } }
                    td { (l.institutions) } td { (l.terminals) } td { (l.ready) } td { (l.suspended) }
                    td { (l.open_problems) } td { (percent(l.ready_permille)) }
                }
            }
        }
        h2 { (p.t("未解决的问题", "Open problems")) " (" (report.open_problems.len()) ")" }
        table #open-problems {
            tr {
                th { "#" } th { (p.t("终端", "Terminal")) } th { (p.t("机构", "Institution")) }
                th { (p.t("类别", "Category")) } th { (p.t("问题", "Problem")) } th { (p.t("登记", "Opened")) }
            }
            @for pr in report.open_problems.iter().take(200) {
                tr {
                    td { (pr.number) } td { code { (pr.terminal) } }
                    td { (pr.institution_name) " " code { (pr.institution) } }
                    td { (pr.category) } td { (pr.note) }
                    td { (pr.opened_at.format("%Y-%m-%d")) }
                }
            }
        }
        @if report.open_problems.len() > 200 {
            p { (p.t("仅列出最早的 200 个；全部见 sscard terminal problem list", "The oldest 200 are shown; sscard terminal problem list shows all")) }
        }
    };
    layout(&p, title, &body).into_response()
}
