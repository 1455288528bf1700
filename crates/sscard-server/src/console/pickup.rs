//! The pickup desk (发放台) and a point's live figures.
//!
//! Built for speed: the cursor sits in one field; an ID card reader acting as a keyboard types
//! the 18-digit number and Enter, and the page at once shows the photo, masked name, card
//! number, box and slot (one small request, no reload). Enter on the empty field — or the
//! button — confirms the hand-over. Every outcome has its own message; a proxy pickup (代领)
//! records the agent's ID number. The figures (today, per hour, remaining, average handling
//! time, estimated wait) come with a chart drawn on the server.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;
use sscard_ids::{CardNumber, ResidentId};
use sscard_store::{Ctx, PickupFigures, PickupOutcome};

use super::extract::{ConsoleUser, CsrfForm, need};
use super::{Page, error_page, layout};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/pickup", get(desk))
        .route("/console/pickup/lookup", post(lookup))
        .route("/console/pickup/hand-over", post(hand_over))
        .route("/console/pickup/missing", post(missing))
        .route("/console/pickup/queue", post(queue))
        .route("/console/pickup/figures", get(figures_page))
        .route("/console/pickup/figures-panel", get(figures_panel))
        .route("/console/pickup/chart.png", get(chart))
        .route("/console/pickup/photo", get(photo))
}

#[derive(Deserialize, Default)]
struct PointQuery {
    #[serde(default)]
    point: Option<String>,
    #[serde(default)]
    card: Option<String>,
}

/// The point a desk asks for, or else the caller's own outlet. Whether the caller may work
/// there is the store's to decide (a clerk: its own outlet's points only).
fn point_of(caller: &Caller, asked: Option<&str>) -> Option<String> {
    match (asked, &caller.staff.outlet) {
        (Some(a), _) if !a.trim().is_empty() => Some(a.trim().to_owned()),
        (_, Some(own)) => Some(own.clone()),
        _ => None,
    }
}

fn no_point(p: &Page) -> Response {
    error_page(
        p,
        &ApiError::new(
            StatusCode::BAD_REQUEST,
            "pickup.point",
            "请选择发放点（本账号未绑定网点）：在地址后加 ?point=网点代码",
            "choose a distribution point (this account has no outlet): add ?point=CODE to the address",
        ),
    )
}

/// A signed-in caller allowed to work a pickup desk.
type DeskClerk = ConsoleUser<need::Distribute>;

async fn desk(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: DeskClerk,
    Query(q): Query<PointQuery>,
) -> Response {
    let Some(code) = point_of(&caller, q.point.as_deref()) else {
        return points_page(&st, &p).await;
    };
    let point = match st.store.distribution_point(&code).await {
        Ok(pt) => pt,
        Err(e) => return error_page(&p, &e.into()),
    };
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let title = p.t("发放台", "Pickup desk");
    let body = html! {
        h1 { (title) " · " span #point-name { (point.name) } }
        @if !point.open_on(today) {
            p.error #closed { (p.t("本现场发卡点今天不开放（见开放日）", "This on-site point is not open today (see its opening days)")) }
        }
        div.desk {
            div.scan {
                form #scan-form autocomplete="off" {
                    input type="hidden" #csrf name="csrf" value=(p.csrf());
                    input type="hidden" #point name="point" value=(point.id);
                    label for="scan" { (p.t("扫描或输入身份证号码，回车", "Scan or type the ID number, then Enter")) }
                    input #scan name="id" inputmode="numeric" maxlength="18" autofocus
                        placeholder=(p.t("身份证号码", "ID number"));
                    p.hint { (p.t("显示卡片后，在空白输入框按回车即确认发放", "When the card shows, Enter on the empty field confirms the hand-over")) }
                    label.proxy { input #proxy-on type="checkbox"; " " (p.t("代领", "Proxy pickup")) }
                    div #proxy-fields hidden {
                        input #proxy-id name="proxy_id" maxlength="18" placeholder=(p.t("代领人身份证号码", "Proxy's ID number"));
                        input #proxy-name name="proxy_name" placeholder=(p.t("代领人姓名", "Proxy's name"));
                    }
                }
                div #result aria-live="polite" {}
            }
            aside #figures hx-get=(format!("/console/pickup/figures-panel?point={}", point.id)) hx-trigger="load, every 30s, refresh from:body" {}
        }
        script { (PreEscaped(DESK_JS)) }
    };
    layout(
        &p,
        title,
        &html! { style { (PreEscaped(DESK_CSS)) } (body) },
    )
    .into_response()
}

async fn points_page(st: &AppState, p: &Page) -> Response {
    let points = match st.store.distribution_points().await {
        Ok(x) => x,
        Err(e) => return error_page(p, &e.into()),
    };
    let title = p.t("选择发放点", "Choose a distribution point");
    let body = html! {
        h1 { (title) }
        table #points {
            tr { th { (p.t("代码", "Code")) } th { (p.t("名称", "Name")) } th { (p.t("类型", "Kind")) } th {} }
            @for pt in &points {
                tr {
                    td { code { (pt.id) } }
                    td { (p.t(&pt.name, &pt.name_en)) }
                    td { @if pt.kind == "employer_site" { (p.t("单位现场发卡点", "On-site point")) " · " (pt.employer.clone().unwrap_or_default()) } @else { (p.t("服务网点", "Outlet")) } }
                    td {
                        a href=(format!("/console/pickup?point={}", pt.id)) { (p.t("发放台", "Desk")) } " · "
                        a href=(format!("/console/pickup/figures?point={}", pt.id)) { (p.t("实时数据", "Figures")) }
                    }
                }
            }
        }
    };
    layout(p, title, &body).into_response()
}

#[derive(Deserialize)]
struct ScanForm {
    point: String,
    id: String,
    #[serde(default)]
    proxy_id: Option<String>,
    #[serde(default)]
    proxy_name: Option<String>,
    #[serde(default)]
    handling_ms: Option<u32>,
}

/// A fragment for the result area.
fn fragment(status: StatusCode, m: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        m.into_string(),
    )
        .into_response()
}

fn problem(p: &Page, e: &ApiError) -> Response {
    fragment(
        e.status,
        html! { div.outcome.bad #outcome data-outcome="error" { p #outcome-message { (p.t(&e.zh, &e.en)) } small { code { (e.code) } } } },
    )
}

async fn lookup(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: DeskClerk,
    CsrfForm(f): CsrfForm<ScanForm>,
) -> Response {
    let Some(point) = point_of(&caller, Some(&f.point)) else {
        return no_point(&p);
    };
    let id = match ResidentId::parse(f.id.trim()) {
        Ok(id) => id,
        Err(e) => return problem(&p, &ApiError::invalid("id_number", &e)),
    };
    match st.store.pickup_lookup(&p.ctx(), &point, &id).await {
        Ok(o) => fragment(StatusCode::OK, outcome_view(&p, &point, &o)),
        Err(e) => problem(&p, &e.into()),
    }
}

async fn hand_over(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: DeskClerk,
    CsrfForm(f): CsrfForm<ScanForm>,
) -> Response {
    let Some(point) = point_of(&caller, Some(&f.point)) else {
        return no_point(&p);
    };
    let id = match ResidentId::parse(f.id.trim()) {
        Ok(id) => id,
        Err(e) => return problem(&p, &ApiError::invalid("id_number", &e)),
    };
    let proxy = match crate::api::proxy_of(f.proxy_id.as_deref(), f.proxy_name.as_deref()) {
        Ok(x) => x,
        Err(e) => return problem(&p, &e),
    };
    let ctx = Ctx::now(caller.actor());
    match st
        .store
        .pickup_hand_over(&ctx, &point, &id, proxy.as_ref(), f.handling_ms)
        .await
    {
        Ok(o) => fragment(StatusCode::OK, outcome_view(&p, &point, &o)),
        Err(e) => problem(&p, &e.into()),
    }
}

fn outcome_view(p: &Page, point: &str, o: &PickupOutcome) -> Markup {
    let good = matches!(
        o,
        PickupOutcome::Ready { .. } | PickupOutcome::HandedOver { .. }
    );
    html! {
        div.outcome.(if good { "good" } else { "bad" }) #outcome data-outcome=(o.code()) {
            p #outcome-message { (p.t(&o.zh(), &o.en())) }
            @match o {
                PickupOutcome::Ready { card } | PickupOutcome::HandedOver { card, .. } => {
                    div.card {
                        img #photo alt=(p.t("照片", "Photo")) width="143" height="176"
                            src=(format!("/console/pickup/photo?point={point}&card={}", card.card_number));
                        dl {
                            dt { (p.t("姓名", "Name")) } dd #name { (card.name_masked) }
                            dt { (p.t("身份证号码", "ID number")) } dd { (card.id_masked) }
                            dt { (p.t("卡号", "Card number")) } dd #card-number { (card.card_number) }
                            dt { (p.t("车间 / 部门", "Workshop / department")) } dd { (card.workshop) " " (card.department) }
                        }
                        div.place {
                            @if let (Some(b), Some(s)) = (card.r#box, card.slot) {
                                span.big #box { (b) } span { (p.t(" 箱 ", " box ")) }
                                span.big #slot { (s) } span { (p.t(" 位", " slot")) }
                            } @else {
                                span #box { "—" }
                            }
                        }
                    }
                    @if matches!(o, PickupOutcome::Ready { .. }) {
                        button #confirm type="button" { (p.t("确认发放（回车）", "Confirm hand-over (Enter)")) }
                        button #mark-missing type="button" data-card=(card.card_number) { (p.t("卡片找不到：登记丢失", "Card not in its slot: mark missing")) }
                    }
                }
                _ => {}
            }
        }
    }
}

#[derive(Deserialize)]
struct MissingForm {
    point: String,
    card: String,
}

async fn missing(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: DeskClerk,
    CsrfForm(f): CsrfForm<MissingForm>,
) -> Response {
    let Some(point) = point_of(&caller, Some(&f.point)) else {
        return no_point(&p);
    };
    let card = match CardNumber::parse(&f.card) {
        Ok(c) => c,
        Err(e) => return problem(&p, &ApiError::invalid("card", &e)),
    };
    match st
        .store
        .mark_card_missing(&Ctx::now(caller.actor()), &point, &card, true)
        .await
    {
        Ok(()) => fragment(
            StatusCode::OK,
            html! { div.outcome.bad #outcome data-outcome="marked_missing" { p #outcome-message { (p.t("已登记丢失：请引导持卡人到柜台办理补卡", "Marked missing: send the person to the counter for a replacement")) } } },
        ),
        Err(e) => problem(&p, &e.into()),
    }
}

#[derive(Deserialize)]
struct QueueForm {
    point: String,
    waiting: String,
}

async fn queue(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: DeskClerk,
    CsrfForm(f): CsrfForm<QueueForm>,
) -> Response {
    let Some(point) = point_of(&caller, Some(&f.point)) else {
        return no_point(&p);
    };
    let Ok(waiting) = f.waiting.trim().parse::<u32>() else {
        return problem(
            &p,
            &ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "pickup.queue",
                "排队人数须为 0 或正整数",
                "the queue must be a whole number, 0 or more",
            ),
        );
    };
    if let Err(e) = st
        .store
        .report_queue(&Ctx::now(caller.actor()), &point, waiting)
        .await
    {
        return problem(&p, &e.into());
    }
    panel(&st, &p, &point).await
}

/// A signed-in caller allowed to read a point's figures.
type FiguresReader = ConsoleUser<need::ReadDistribution>;

/// The point a figures page is about: the caller's own or the one asked for (the store decides
/// whether the caller may see it); without either, the list of points to choose from.
async fn point_asked(
    st: &AppState,
    user: FiguresReader,
    q: &PointQuery,
) -> Result<(Page, String), Response> {
    match point_of(&user.caller, q.point.as_deref()) {
        Some(point) => Ok((user.p, point)),
        None => Err(points_page(st, &user.p).await),
    }
}

async fn figures_panel(
    State(st): State<AppState>,
    user: FiguresReader,
    Query(q): Query<PointQuery>,
) -> Response {
    match point_asked(&st, user, &q).await {
        Ok((p, point)) => panel(&st, &p, &point).await,
        Err(r) => r,
    }
}

async fn panel(st: &AppState, p: &Page, point: &str) -> Response {
    match st
        .store
        .pickup_figures(&p.ctx(), point, chrono::Utc::now())
        .await
    {
        Ok(f) => fragment(StatusCode::OK, figures_view(p, &f)),
        Err(e) => problem(p, &e.into()),
    }
}

fn figures_view(p: &Page, f: &PickupFigures) -> Markup {
    html! {
        div #live-figures data-today=(f.handed_over_today) {
            h2 { (p.t("今日发放", "Today")) }
            table {
                tr { th { (p.t("今日已发放", "Handed over today")) } td #fig-today { (f.handed_over_today) } }
                tr { th { (p.t("近一小时", "Last hour")) } td #fig-hour { (f.last_hour) } }
                tr { th { (p.t("待领取", "Remaining")) } td #fig-remaining { (f.remaining) } }
                tr { th { (p.t("已登记丢失", "Missing")) } td #fig-missing { (f.missing) } }
                tr { th { (p.t("平均办理时间", "Average handling")) } td #fig-avg { @if let Some(a) = f.avg_handling_seconds { (format!("{a:.0} s")) } @else { "—" } } }
                tr { th { (p.t("在岗窗口", "Active desks")) } td #fig-desks { (f.active_desks) } }
                tr { th { (p.t("排队人数", "Queue")) } td #fig-queue { @if let Some(q) = f.queue { (q) } @else { "—" } } }
                tr { th { (p.t("预计等待", "Estimated wait")) } td #fig-wait { @if let Some(w) = f.estimated_wait_minutes { (format!("{w:.1} min")) } @else { (p.t("— （请登记排队人数）", "— (count the queue)")) } } }
            }
            form #queue-form {
                input #queue-waiting name="waiting" inputmode="numeric" size="4" placeholder=(p.t("排队人数", "Queue"));
                button type="submit" { (p.t("登记排队", "Record queue")) }
            }
            img #chart alt=(p.t("每小时发放量", "Hand-overs per hour")) width="380"
                src=(format!("/console/pickup/chart.png?point={}&n={}", f.point, f.handed_over_today));
            p { a href=(format!("/console/pickup/figures?point={}", f.point)) { (p.t("详细数据", "Full figures")) } " · "
                a href=(format!("/api/v1/points/{}/figures", f.point)) { "JSON" } }
        }
    }
}

async fn figures_page(
    State(st): State<AppState>,
    user: FiguresReader,
    Query(q): Query<PointQuery>,
) -> Response {
    let (p, point) = match point_asked(&st, user, &q).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = match st
        .store
        .pickup_figures(&p.ctx(), &point, chrono::Utc::now())
        .await
    {
        Ok(f) => f,
        Err(e) => return error_page(&p, &e.into()),
    };
    let title = p.t("发放点实时数据", "Live figures");
    let body = html! {
        h1 { (title) " · " (f.point_name) " · " (f.date) }
        (figures_view(&p, &f))
        img #chart-large width="760" height="320" alt=(p.t("每小时发放量", "Hand-overs per hour"))
            src=(format!("/console/pickup/chart.png?point={}&n={}", f.point, f.handed_over_today));
    };
    layout(&p, title, &body).into_response()
}

async fn chart(
    State(st): State<AppState>,
    user: FiguresReader,
    Query(q): Query<PointQuery>,
) -> Response {
    let (p, point) = match point_asked(&st, user, &q).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = match st
        .store
        .pickup_figures(&p.ctx(), &point, chrono::Utc::now())
        .await
    {
        Ok(f) => f,
        Err(e) => return error_page(&p, &e.into()),
    };
    let font = match sscard_print::PrintFont::find() {
        Ok(font) => font,
        Err(e) => {
            return error_page(&p, &ApiError::print(&e));
        }
    };
    let png = tokio::task::spawn_blocking(move || sscard_print::hourly_chart_png(&f, &font))
        .await
        .unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        png,
    )
        .into_response()
}

async fn photo(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: DeskClerk,
    Query(q): Query<PointQuery>,
) -> Response {
    let card = match CardNumber::parse(q.card.as_deref().unwrap_or_default()) {
        Ok(c) => c,
        Err(e) => return error_page(&p, &ApiError::invalid("card", &e)),
    };
    match st.store.card_face_data(&card).await {
        Ok((_, Some(jpeg))) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "private, max-age=600"),
            ],
            jpeg,
        )
            .into_response(),
        Ok((_, None)) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            (e.status, e.code).into_response()
        }
    }
}

const DESK_CSS: &str = ".desk{display:flex;gap:2em;align-items:flex-start}.scan{flex:1}\
#scan{font-size:1.8em;width:14em;padding:.2em;letter-spacing:.05em}.hint{color:#666;font-size:.9em}\
.outcome{margin-top:1em;padding:1em;border-radius:4px}.outcome.good{background:#e6f4ea;border:2px solid #34a853}\
.outcome.bad{background:#fce8e6;border:2px solid #d93025}#outcome-message{font-size:1.4em;font-weight:bold;margin:0 0 .5em}\
.card{display:flex;gap:1.2em;align-items:center}.card dl{margin:0}.card dt{color:#555;font-size:.85em}.card dd{margin:0 0 .3em;font-size:1.1em}\
.place .big{font-size:3.2em;font-weight:bold;color:#0b5394}#confirm{font-size:1.2em;margin-top:.8em;padding:.4em 1em}\
#figures{width:24em}#figures table{width:100%}";

/// The desk's behaviour: the ID field keeps the focus; Enter with a number looks it up; Enter
/// on the empty field (or the button) confirms the card shown; the figures refresh after each
/// hand-over. The handling time runs from the scan to the confirmation.
const DESK_JS: &str = r"
(function () {
  const scan = document.getElementById('scan');
  const form = document.getElementById('scan-form');
  const result = document.getElementById('result');
  const csrf = document.getElementById('csrf').value;
  const point = document.getElementById('point').value;
  const proxyOn = document.getElementById('proxy-on');
  const proxyFields = document.getElementById('proxy-fields');
  let pending = null;
  let scannedAt = 0;
  function post(url, data) {
    const body = new URLSearchParams(Object.assign({ csrf: csrf, point: point }, data));
    return fetch(url, { method: 'POST', body: body, credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })
      .then(function (r) { return r.text(); })
      .then(function (html) { result.innerHTML = html; wire(); scan.focus(); });
  }
  function wire() {
    const out = document.getElementById('outcome');
    pending = out && out.dataset.outcome === 'ready' ? pending : null;
    const confirm = document.getElementById('confirm');
    if (confirm) confirm.addEventListener('click', handOver);
    const lost = document.getElementById('mark-missing');
    if (lost) lost.addEventListener('click', function () {
      post('/console/pickup/missing', { card: lost.dataset.card }).then(refresh);
      pending = null;
    });
  }
  function refresh() { document.body.dispatchEvent(new Event('refresh')); }
  function handOver() {
    if (!pending) return;
    const data = { id: pending, handling_ms: String(Date.now() - scannedAt) };
    if (proxyOn.checked) {
      data.proxy_id = document.getElementById('proxy-id').value.trim();
      data.proxy_name = document.getElementById('proxy-name').value.trim();
    }
    pending = null;
    post('/console/pickup/hand-over', data).then(function () {
      proxyOn.checked = false; proxyFields.hidden = true;
      document.getElementById('proxy-id').value = '';
      document.getElementById('proxy-name').value = '';
      refresh();
    });
  }
  proxyOn.addEventListener('change', function () { proxyFields.hidden = !proxyOn.checked; });
  // Enter in the ID field (a reader sends it after the number): look up, or confirm.
  scan.addEventListener('keydown', function (e) {
    if (e.key === 'Enter') { e.preventDefault(); go(); }
  });
  form.addEventListener('submit', function (e) { e.preventDefault(); go(); });
  function go() {
    const id = scan.value.trim().toUpperCase();
    scan.value = '';
    if (id === '') { handOver(); return; }
    pending = id;
    scannedAt = Date.now();
    post('/console/pickup/lookup', { id: id });
  }
  document.addEventListener('submit', function (e) {
    if (e.target && e.target.id === 'queue-form') {
      e.preventDefault();
      const body = new URLSearchParams({ csrf: csrf, point: point,
        waiting: document.getElementById('queue-waiting').value });
      fetch('/console/pickup/queue', { method: 'POST', body: body, credentials: 'same-origin' })
        .then(function (r) { return r.text(); })
        .then(function (html) { document.getElementById('figures').innerHTML = html; scan.focus(); });
    }
  });
  document.addEventListener('keydown', function (e) {
    const t = e.target;
    const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA');
    if (!typing && /^[0-9Xx]$/.test(e.key)) scan.focus();
  });
  scan.focus();
})();
";
