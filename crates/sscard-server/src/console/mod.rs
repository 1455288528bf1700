//! The console: server-rendered pages (maud) with vendored htmx, zh-CN first with an English
//! switch. Forms post back with a per-session CSRF token; every action is authorised against
//! the same role table as the API and shown only to roles allowed to do it.

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use sscard_core::{CardAction, Permission};
use sscard_ids::{CardNumber, ResidentId};
use sscard_store::{CardView, Ctx, PersonView};

use crate::AppState;
use crate::auth::{self, Caller, SESSION_COOKIE, Via};
use crate::error::ApiError;
use crate::i18n::Lang;

mod batches;
mod clearing;
mod extract;
mod home;
mod lists;
mod migration;
mod payments;
mod pickup;
mod readiness;

use extract::{ActionUser, AnyPage, ConsoleUser, CsrfForm, need};

static HTMX: &str = include_str!("../../assets/htmx.min.js");

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(batches::router())
        .merge(pickup::router())
        .merge(readiness::router())
        .merge(clearing::router())
        .merge(payments::router())
        .merge(migration::router())
        .merge(home::router())
        .merge(lists::router())
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/search", post(search))
        .route("/console/persons/{id}", get(person_page))
        .route("/console/persons/{id}/reveal", post(reveal))
        .route("/console/cards/{number}", get(card_page))
        .route(
            "/console/cards/{number}/{action}",
            get(confirm_page).post(card_action),
        )
        .route("/console/audit", get(audit_page))
        .route("/console/lang/{lang}", get(switch_lang))
        .route(
            "/assets/htmx.min.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript"),
                        (header::CACHE_CONTROL, "max-age=86400"),
                    ],
                    HTMX,
                )
            }),
        )
}

/// A page's context: language and, when logged in, the caller.
#[derive(Clone)]
pub(crate) struct Page {
    lang: Lang,
    caller: Option<Caller>,
}

impl Page {
    /// The context the store checks: the signed-in caller's actor (nobody's scope without one).
    fn ctx(&self) -> Ctx {
        Ctx::now(self.caller.as_ref().map_or_else(
            || {
                sscard_core::Actor::new(
                    "console:anonymous",
                    sscard_core::Role::Auditor,
                    sscard_core::Scope::Nothing,
                )
            },
            Caller::actor,
        ))
    }

    fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        self.lang.t(zh, en)
    }

    fn csrf(&self) -> &str {
        match self.caller.as_ref().map(|c| &c.via) {
            Some(Via::Session { csrf, .. }) => csrf,
            _ => "",
        }
    }

    fn can(&self, p: Permission) -> bool {
        self.caller.as_ref().is_some_and(|c| c.staff.role.can(p))
    }
}

async fn page(st: &AppState, headers: &HeaderMap) -> Page {
    let caller = match auth::authenticate(&st.store, headers).await {
        Ok(Some(c)) if matches!(c.via, Via::Session { .. }) => Some(c),
        _ => None,
    };
    Page {
        lang: Lang::for_console(headers),
        caller,
    }
}

fn layout(p: &Page, title: &str, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(p.lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (p.t("社会保障卡平台", "Social Security Card Platform")) }
                script src="/assets/htmx.min.js" {}
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    a.brand href="/console" { (p.t("社会保障卡平台", "Social Security Card Platform")) }
                    nav {
                        @if let Some(c) = &p.caller {
                            span #whoami { (c.staff.display_name) " · " (p.t(c.staff.role.zh(), c.staff.role.as_str())) }
                            @for (id, href, zh, en) in NAV {
                                @if home::may_open(p, href) && !(*id == "nav-pickup-figures" && p.can(Permission::Distribute)) {
                                    a id=(id) href=(href) { (p.t(zh, en)) }
                                }
                            }
                            form.inline method="post" action="/console/logout" {
                                input type="hidden" name="csrf" value=(p.csrf());
                                button #logout type="submit" { (p.t("退出", "Log out")) }
                            }
                        }
                        @if p.lang == Lang::Zh {
                            a #lang-en href="/console/lang/en" { "English" }
                        } @else {
                            a #lang-zh href="/console/lang/zh" { "中文" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The navigation: every list and desk, each shown only to the roles that may open it
/// ([`home::may_open`]); the pickup figures only to those without the desk itself.
const NAV: &[(&str, &str, &str, &str)] = &[
    ("nav-persons", "/console/persons", "人员", "Persons"),
    ("nav-cards", "/console/cards", "卡片", "Cards"),
    ("nav-batches", "/console/batches", "制卡批次", "Batches"),
    ("nav-pickup", "/console/pickup", "发放台", "Pickup desk"),
    (
        "nav-pickup-figures",
        "/console/pickup/figures",
        "发放数据",
        "Pickup figures",
    ),
    (
        "nav-institutions",
        "/console/institutions",
        "医药机构",
        "Institutions",
    ),
    ("nav-terminals", "/console/terminals", "终端", "Terminals"),
    (
        "nav-readiness",
        "/console/readiness",
        "终端改造",
        "Readiness",
    ),
    (
        "nav-settlements",
        "/console/settlements",
        "结算",
        "Settlements",
    ),
    ("nav-clearing", "/console/clearing", "异地清算", "Clearing"),
    ("nav-payments", "/console/payments", "代发", "Payments"),
    ("nav-bank", "/console/bank", "银行端", "Bank side"),
    (
        "nav-migration",
        "/console/migration",
        "换卡进度",
        "Migration",
    ),
    ("nav-bookings", "/console/bookings", "预约列表", "Bookings"),
    (
        "nav-appointments",
        "/console/appointments",
        "换卡预约",
        "Appointments",
    ),
    ("nav-audit", "/console/audit", "审计", "Audit"),
];

const CSS: &str = "body{font-family:'WenQuanYi Micro Hei','Noto Sans CJK SC',sans-serif;margin:0;color:#222}\
header{display:flex;justify-content:space-between;align-items:center;background:#0b5394;color:#fff;padding:.6em 1.2em}\
header a,header button{color:#fff;margin-left:1em}.brand{font-weight:bold;margin:0}\
header button{background:none;border:1px solid #fff;border-radius:3px;cursor:pointer}\
main{padding:1.2em;max-width:60em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}\
.inline{display:inline}.flash{background:#e6f4ea;border:1px solid #34a853;padding:.6em}.error{background:#fce8e6;border:1px solid #d93025;padding:.8em}\
.actions form{display:inline-block;margin:.2em}button.danger{background:#d93025;color:#fff}code{background:#f1f3f4;padding:0 .3em}\
header{flex-wrap:wrap}header nav{display:flex;flex-wrap:wrap;align-items:center;gap:.2em 0}\
a:focus,button:focus,input:focus,select:focus{outline:3px solid #f9ab00;outline-offset:1px}\
.figures{display:flex;flex-wrap:wrap;gap:.6em;margin:.6em 0 1em}\
.figure{display:flex;flex-direction:column;min-width:8.5em;padding:.6em .9em;border:1px solid #c6d4e6;border-radius:6px;background:#f5f8fc;color:#0b2e59;text-decoration:none}\
a.figure:hover{background:#e3ecf7}.figure .value{font-size:1.7em;font-weight:bold}.figure .label{font-size:.9em;color:#445}\
img.chart{display:block;max-width:100%;height:auto;margin:.4em 0 1em;border:1px solid #e0e4ea}\
.list-search{display:flex;flex-wrap:wrap;align-items:center;gap:.4em .6em;margin:.6em 0}.list-search input,.list-search select,.list-search button{font-size:1em;padding:.35em .5em}\
.scroll{overflow-x:auto}.pager{margin:.8em 0}.pager a{margin:0 .4em}td.num,th.num{text-align:right}\
@media (max-width:1100px){body{font-size:18px}main{padding:.8em}td,th{padding:.45em .6em}header a{padding:.3em 0}}";

fn error_page(p: &Page, e: &ApiError) -> Response {
    let title = p.t("出错了", "Something went wrong");
    let body = html! {
        div.error #error {
            h1 { (title) }
            p #error-message { (p.t(&e.zh, &e.en)) }
            p { small { (p.t("错误代码", "Error code")) ": " code #error-code { (e.code) } " · HTTP " (e.status.as_u16()) } }
        }
        p { a href="/console" { (p.t("返回首页", "Back to the start page")) } }
    };
    (e.status, layout(p, title, &body)).into_response()
}

fn forbidden(p: &Page, what: &str) -> Response {
    error_page(p, &ApiError::forbidden(what))
}

fn csrf_ok(p: &Page, sent: &str) -> bool {
    let expected = p.csrf();
    !expected.is_empty() && expected == sent
}

fn csrf_failed(p: &Page) -> Response {
    error_page(
        p,
        &ApiError::new(
            StatusCode::FORBIDDEN,
            "auth.csrf",
            "表单已过期或来源不明，请刷新页面后重试",
            "the form expired or did not come from this site; reload the page and try again",
        ),
    )
}

// ---- login ----

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login_page(AnyPage(p): AnyPage) -> Markup {
    login_form(&p, None)
}

fn login_form(p: &Page, error: Option<&str>) -> Markup {
    let body = html! {
        h1 { (p.t("工作人员登录", "Staff login")) }
        @if let Some(e) = error { p.error #login-error { (e) } }
        form method="post" action="/console/login" {
            p { label { (p.t("用户名", "User name")) br; input #username name="username" autocomplete="username" required; } }
            p { label { (p.t("密码", "Password")) br; input #password name="password" type="password" autocomplete="current-password" required; } }
            button #login type="submit" { (p.t("登录", "Log in")) }
        }
    };
    layout(p, p.t("登录", "Log in"), &body)
}

async fn login(
    State(st): State<AppState>,
    AnyPage(p): AnyPage,
    Form(form): Form<LoginForm>,
) -> Response {
    let key = format!("user:{}", form.username);
    if !st.limiter.allowed(&key) {
        let msg = p.t(
            "登录失败次数过多，请 5 分钟后再试",
            "Too many failed logins; try again in 5 minutes",
        );
        return (StatusCode::TOO_MANY_REQUESTS, login_form(&p, Some(msg))).into_response();
    }
    let account = match st.store.staff_for_login(&form.username).await {
        Ok(a) => a,
        Err(e) => return error_page(&p, &ApiError::from(e)),
    };
    // Argon2 takes tens of milliseconds: off the async workers.
    let staff = match account {
        Some((staff, hash)) => {
            let password = form.password.clone();
            tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
                .await
                .unwrap_or(false)
                .then_some(staff)
        }
        None => None,
    };
    let Some(staff) = staff else {
        st.limiter.failed(&key);
        let ctx = Ctx::now(sscard_core::Actor::new(
            "console:login",
            sscard_core::Role::Auditor,
            sscard_core::Scope::Nothing,
        ));
        let _ = st
            .store
            .record_audit(
                &ctx,
                "auth.login_failed",
                &form.username,
                serde_json::json!({}),
            )
            .await;
        let msg = p.t("用户名或密码错误", "Wrong user name or password");
        return (StatusCode::UNAUTHORIZED, login_form(&p, Some(msg))).into_response();
    };
    st.limiter.succeeded(&key);
    let token = auth::new_token();
    let csrf = auth::new_token();
    let ctx = Ctx::now(staff.actor());
    let expires = chrono::Utc::now() + chrono::Duration::hours(st.config.session_hours);
    if let Err(e) = st
        .store
        .create_session(&ctx, &staff, &auth::token_hash(&token), &csrf, expires)
        .await
    {
        return error_page(&p, &ApiError::from(e));
    }
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        st.config.session_hours * 3600
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/console")).into_response()
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
struct NoFields {}

async fn logout(
    State(st): State<AppState>,
    AnyPage(p): AnyPage,
    form: Result<CsrfForm<NoFields>, Response>,
) -> Response {
    if let Some(Caller {
        via: Via::Session { token_hash, .. },
        staff,
    }) = &p.caller
    {
        if let Err(r) = form {
            return r;
        }
        let ctx = Ctx::now(staff.actor());
        let _ = st.store.end_session(&ctx, token_hash).await;
    }
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    (
        [(header::SET_COOKIE, clear)],
        Redirect::to("/console/login"),
    )
        .into_response()
}

async fn switch_lang(Path(lang): Path<String>, headers: HeaderMap) -> Response {
    let value = if lang == "en" { "en" } else { "zh" };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("/console").map(|i| r[i..].to_owned()))
        .unwrap_or_else(|| "/console".into());
    let cookie = format!("lang={value}; SameSite=Lax; Path=/; Max-Age=31536000");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

// ---- start page and search ----

#[derive(Deserialize)]
struct SearchForm {
    id_number: String,
}

async fn search(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::ReadPersons>,
    CsrfForm(form): CsrfForm<SearchForm>,
) -> Response {
    let id = match ResidentId::parse(&form.id_number) {
        Ok(id) => id,
        Err(e) => return error_page(&p, &ApiError::invalid("id_number", &e)),
    };
    match st.store.person(&Ctx::now(caller.actor()), &id).await {
        Ok(view) => Redirect::to(&format!("/console/persons/{}", view.id)).into_response(),
        Err(sscard_store::StoreError::NotFound { .. }) => {
            Redirect::to("/console?notfound=1").into_response()
        }
        Err(e) => error_page(&p, &ApiError::from(e)),
    }
}

// ---- person ----

fn status_cell(p: &Page, c: &CardView) -> Markup {
    html! {
        (p.t(c.ss_status.zh(), c.ss_status.as_str())) " (" (c.ss_status_code) ")"
        @if let Some(by) = c.superseded_by { " → " (by) }
    }
}

async fn person_page(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::ReadPersons>,
    Path(id): Path<String>,
) -> Response {
    let Ok(uuid) = uuid::Uuid::parse_str(&id) else {
        return error_page(
            &p,
            &ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found.person",
                "未找到该人员",
                "no such person",
            ),
        );
    };
    let view: PersonView = match st.store.person_by_id(&Ctx::now(caller.actor()), uuid).await {
        Ok(v) => v,
        Err(e) => return error_page(&p, &ApiError::from(e)),
    };
    let body = html! {
        h1 { (p.t("人员", "Person")) " " span #person-name { (view.name) } }
        table {
            tr { th { (p.t("身份证号码", "ID number")) } td {
                span #person-id { (view.ssn) }
                @if p.can(Permission::RevealId) {
                    " "
                    form.inline hx-post=(format!("/console/persons/{}/reveal", view.id)) hx-target="#person-id" hx-swap="innerHTML" method="post" action=(format!("/console/persons/{}/reveal", view.id)) {
                        input type="hidden" name="csrf" value=(p.csrf());
                        button #reveal type="submit" { (p.t("显示完整号码（留痕）", "Show in full (audited)")) }
                    }
                }
            } }
            tr { th { (p.t("性别", "Sex")) } td { (if view.sex == "male" { p.t("男", "male") } else { p.t("女", "female") }) } }
            tr { th { (p.t("出生日期", "Birth date")) } td { (view.birth_date) } }
            tr { th { (p.t("户籍地", "Household region")) } td { (view.household_region) } }
            @if let Some(w) = &view.workshop { tr { th { (p.t("车间", "Workshop")) } td { (w) } } }
            @if let Some(d) = &view.department { tr { th { (p.t("部门", "Department")) } td { (d) } } }
        }
        h2 { (p.t("社会保障卡", "Cards")) }
        @if view.cards.is_empty() { p { (p.t("暂无卡片", "No cards yet")) } }
        table #cards {
            @for c in &view.cards {
                tr {
                    td { a.card-link href=(format!("/console/cards/{}", c.card_number)) { (c.card_number) } }
                    td.card-status { (status_cell(&p, c)) }
                    td { (p.t(c.financial_status.zh(), c.financial_status.as_str())) }
                }
            }
        }
    };
    layout(&p, p.t("人员", "Person"), &body).into_response()
}

async fn reveal(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::RevealId>,
    Path(id): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Response {
    let Ok(uuid) = uuid::Uuid::parse_str(&id) else {
        return error_page(
            &p,
            &ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found.person",
                "未找到该人员",
                "no such person",
            ),
        );
    };
    match crate::reveal(&st, &caller, uuid, Some("console")).await {
        // htmx swaps this fragment into the page; without JavaScript it is the whole answer.
        Ok(ssn) => html! { span #revealed { (ssn.expose()) } }.into_response(),
        Err(e) => error_page(&p, &e),
    }
}

// ---- card ----

fn find_action(slug: &str) -> Option<CardAction> {
    CardAction::parse(slug)
}

#[derive(Deserialize)]
struct CardQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    new: Option<String>,
}

async fn load_card(st: &AppState, p: &Page, number: &str) -> Result<CardView, Response> {
    let number = CardNumber::parse(number)
        .map_err(|e| error_page(p, &ApiError::invalid("card_number", &e)))?;
    st.store
        .card(&p.ctx(), &number)
        .await
        .map_err(|e| error_page(p, &ApiError::from(e)))
}

async fn card_page(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::ReadCards>,
    Path(number): Path<String>,
    Query(q): Query<CardQuery>,
) -> Response {
    let card = match load_card(&st, &p, &number).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let done = q.done.as_deref().and_then(find_action);
    let body = html! {
        h1 { (p.t("社会保障卡", "Card")) " " span #card-number { (card.card_number) } }
        @if let Some(a) = done {
            p.flash #flash { (p.t("已办理：", "Done: ")) (p.t(a.zh(), a.en()))
                @if let Some(n) = &q.new { " · " (p.t("新卡号 ", "new card ")) a #new-card href=(format!("/console/cards/{n}")) { (n) } }
            }
        }
        table {
            tr { th { (p.t("持卡人", "Holder")) } td { (card.holder_id) " " (card.holder_name) } }
            tr { th { (p.t("社保状态", "SS status")) } td #ss-status { (status_cell(&p, &card)) } }
            tr { th { (p.t("金融状态", "Financial status")) } td #fin-status { (p.t(card.financial_status.zh(), card.financial_status.as_str())) } }
            tr { th { (p.t("已发放", "Handed over")) } td { (if card.handed_over { p.t("是", "yes") } else { p.t("否", "no") }) } }
            tr { th { (p.t("合作银行", "Bank")) } td { (card.bank_code) } }
            tr { th { (p.t("有效期", "Valid")) } td { (card.issue_date) " – " (card.expiry_date) } }
            @if let Some(at) = card.temporary_loss_lapses_at {
                tr { th { (p.t("临时挂失到期", "Temporary loss lapses")) } td { (at.format("%Y-%m-%d %H:%M UTC")) } }
            }
            @if let Some(code) = &card.card_id_code { tr { th { (p.t("卡识别码", "Card id code")) } td { code { (code) } } } }
        }
        div.actions #actions {
            // The card's own list of what its lifecycle allows now, as the store computed it.
            @for a in card.allowed.iter().filter(|a| p.can(a.permission())) {
                a #(format!("action-{}", a.slug())) href=(format!("/console/cards/{}/{}", card.card_number, a.slug())) {
                    button type="button" class=[a.danger().then_some("danger")] { (p.t(a.zh(), a.en())) }
                }
            }
        }
    };
    layout(&p, p.t("社会保障卡", "Card"), &body).into_response()
}

async fn confirm_page(
    State(st): State<AppState>,
    ActionUser {
        p, number, action, ..
    }: ActionUser,
) -> Response {
    let card = match load_card(&st, &p, &number).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = html! {
        h1 { (p.t("请确认", "Please confirm")) }
        p #confirm-text {
            (p.t("对卡 ", "Card ")) strong { (card.card_number) } " (" (card.holder_name) ") "
            (p.t("办理：", "— ")) strong { (p.t(action.zh(), action.en())) }
        }
        form method="post" action=(format!("/console/cards/{}/{}", card.card_number, action.slug())) {
            input type="hidden" name="csrf" value=(p.csrf());
            p { label { (p.t("原因（记入审计）", "Reason (audited)")) br; input #reason name="reason" size="40"; } }
            button #confirm type="submit" class=[action.danger().then_some("danger")] { (p.t("确认办理", "Confirm")) }
            " "
            a #cancel-confirm href=(format!("/console/cards/{}", card.card_number)) { (p.t("取消", "Cancel")) }
        }
    };
    layout(&p, p.t("请确认", "Please confirm"), &body).into_response()
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    reason: String,
}

async fn card_action(
    State(st): State<AppState>,
    // Authorisation comes first (a role without the permission gets 403 whatever it sends),
    // then the form's CSRF token.
    ActionUser {
        p,
        caller,
        number,
        action,
    }: ActionUser,
    CsrfForm(form): CsrfForm<ActionForm>,
) -> Response {
    let number = match CardNumber::parse(&number) {
        Ok(n) => n,
        Err(e) => return error_page(&p, &ApiError::invalid("card_number", &e)),
    };
    let ctx = Ctx::now(caller.actor()).because(form.reason);
    let result = st
        .store
        .card_action(&ctx, &number, action)
        .await
        .map(|o| o.replacement.and_then(|r| r.card_number));
    match result {
        Ok(new) => {
            let extra = new.map(|n| format!("&new={n}")).unwrap_or_default();
            Redirect::to(&format!(
                "/console/cards/{number}?done={}{extra}",
                action.slug()
            ))
            .into_response()
        }
        Err(e) => error_page(&p, &ApiError::from(e)),
    }
}

// ---- audit ----

async fn audit_page(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::ReadAudit>,
) -> Response {
    // Only the events since the last verified checkpoint: a page view must not walk millions
    // of events. The full walk is `sscard audit verify` (or the API with `?from=genesis`).
    let report = match st
        .store
        .verify_audit_with(sscard_store::VerifyFrom::Checkpoint, None)
        .await
    {
        Ok(r) => r,
        Err(e) => return error_page(&p, &ApiError::from(e)),
    };
    let events = match st.store.audit_tail(100).await {
        Ok(e) => e,
        Err(e) => return error_page(&p, &ApiError::from(e)),
    };
    let (zh, en) = report.message();
    let body = html! {
        h1 { (p.t("审计记录", "Audit trail")) }
        p #audit-status class=(if report.ok() { "flash" } else { "error" }) { (p.t(&zh, &en)) }
        @if report.from_seq > 0 {
            p #audit-scope { small { (p.t(
                &format!("本次核对自检查点 #{} 起的新事件；完整核对请运行 sscard audit verify", report.from_seq),
                &format!("checked the events after checkpoint #{}; run sscard audit verify for the full walk", report.from_seq),
            )) } }
        }
        table #audit-events {
            tr { th { "#" } th { (p.t("时间", "Time")) } th { (p.t("操作人", "Actor")) } th { (p.t("操作", "Action")) } th { (p.t("对象", "Subject")) } th { (p.t("原因", "Reason")) } }
            @for e in &events {
                tr {
                    td { (e.seq) }
                    td { (chrono::DateTime::from_timestamp_micros(e.at_us).unwrap_or_default().format("%Y-%m-%d %H:%M:%S")) }
                    td { (e.actor) } td { code { (e.action) } } td { (e.subject) } td { (e.reason) }
                }
            }
        }
    };
    layout(&p, p.t("审计记录", "Audit trail"), &body).into_response()
}
