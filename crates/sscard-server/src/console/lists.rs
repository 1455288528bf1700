//! The lists: persons, cards, batches, institutions, terminals, settlements, payment batches
//! and bookings, each with a search box, filters and pages. The query string is the whole
//! state (`?q=…&status=…&page=2`), so a list can be bookmarked, linked from a dashboard figure
//! and walked with the keyboard: the search box has the focus, `Enter` searches, and the pages
//! are links with `rel=prev`/`rel=next` (Alt+←/→ in the browser's own history).
//!
//! What a list holds is cut to the caller's scope by the store (`Store::list_*`).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use sscard_core::Permission;
use sscard_core::migration::district_name;
use sscard_ids::ResidentId;
use sscard_store::browse::{ListPage, ListQuery};

use super::extract::{ConsoleUser, need};
use super::{Page, error_page, layout};
use crate::AppState;
use crate::error::ApiError;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/persons", get(persons))
        .route("/console/cards", get(cards))
        .route("/console/institutions", get(institutions))
        .route("/console/terminals", get(terminals))
        .route("/console/settlements", get(settlements))
        .route("/console/bookings", get(bookings))
}

/// The query string of every list: search text, filters, page. Empty values mean "any".
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(super) struct ListParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
}

fn some(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl ListParams {
    /// The store's query, or the field that is not understood.
    pub(super) fn query(&self) -> Result<ListQuery, ApiError> {
        let day = match some(self.day.as_ref()) {
            None => None,
            Some(d) => Some(
                chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "list.day",
                        format!("日期“{d}”无法识别：请写成 YYYY-MM-DD，例如 2026-12-03"),
                        format!("day \"{d}\" not understood: write YYYY-MM-DD, e.g. 2026-12-03"),
                    )
                })?,
            ),
        };
        if let Some(m) = some(self.month.as_ref())
            && chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_err()
        {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "list.month",
                format!("月份“{m}”无法识别：请写成 YYYY-MM，例如 2026-11"),
                format!("month \"{m}\" not understood: write YYYY-MM, e.g. 2026-11"),
            ));
        }
        let page = match some(self.page.as_ref()) {
            None => 1,
            Some(p) => p.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "list.page",
                    format!("页码“{p}”无效：请填 1 或更大的整数"),
                    format!("page \"{p}\" is not valid: give a whole number from 1"),
                )
            })?,
        };
        Ok(ListQuery {
            q: some(self.q.as_ref()),
            status: some(self.status.as_ref()),
            district: some(self.district.as_ref()),
            kind: some(self.kind.as_ref()),
            bank: some(self.bank.as_ref()),
            employer: some(self.employer.as_ref()),
            institution: some(self.institution.as_ref()),
            month: some(self.month.as_ref()),
            day,
            point: some(self.point.as_ref()),
            page,
            per_page: 50,
        })
    }

    /// The address of page `n` of the same list.
    fn page_href(&self, path: &str, n: u64) -> String {
        let mut at = self.clone();
        at.page = Some(n.to_string());
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&at).unwrap_or_default()
        )
    }

    fn value(&self, name: &str) -> String {
        match name {
            "q" => &self.q,
            "status" => &self.status,
            "district" => &self.district,
            "kind" => &self.kind,
            "bank" => &self.bank,
            "employer" => &self.employer,
            "institution" => &self.institution,
            "month" => &self.month,
            "day" => &self.day,
            "point" => &self.point,
            _ => &None,
        }
        .clone()
        .unwrap_or_default()
    }
}

/// A filter of a list's form: a text field, or a choice of (value, zh, en).
pub(super) enum Filter {
    Text {
        name: &'static str,
        zh: &'static str,
        en: &'static str,
        hint: &'static str,
    },
    Choice {
        name: &'static str,
        zh: &'static str,
        en: &'static str,
        options: Vec<(String, String, String)>,
    },
}

/// The search form: a labelled search box (focused, so typing searches at once) and the
/// list's filters, every field labelled.
pub(super) fn search_form(
    p: &Page,
    path: &str,
    params: &ListParams,
    search_hint: (&str, &str),
    filters: &[Filter],
) -> Markup {
    html! {
        form.list-search #list-search method="get" action=(path) role="search" {
            label for="q" { (p.t("查找", "Search")) }
            input #q name="q" type="search" value=(params.value("q")) autofocus
                placeholder=(p.t(search_hint.0, search_hint.1)) accesskey="s";
            @for f in filters {
                @match f {
                    Filter::Text { name, zh, en, hint } => {
                        label for=(format!("f-{name}")) { (p.t(zh, en)) }
                        input id=(format!("f-{name}")) name=(*name) value=(params.value(name)) placeholder=(*hint) size="10";
                    }
                    Filter::Choice { name, zh, en, options } => {
                        label for=(format!("f-{name}")) { (p.t(zh, en)) }
                        select id=(format!("f-{name}")) name=(*name) {
                            option value="" { (p.t("全部", "any")) }
                            @for (v, ozh, oen) in options {
                                option value=(v) selected[params.value(name) == *v] { (p.t(ozh, oen)) }
                            }
                        }
                    }
                }
            }
            button #list-submit type="submit" { (p.t("查找", "Search")) }
            " "
            a #list-clear href=(path) { (p.t("清除条件", "Clear")) }
        }
    }
}

/// The count and the page links under a list. `#list-total` carries the whole list's count
/// in `data-total` (what a dashboard figure linking here shows).
pub(super) fn pager<T>(p: &Page, path: &str, params: &ListParams, list: &ListPage<T>) -> Markup {
    let from = if list.total == 0 {
        0
    } else {
        (u64::from(list.page) - 1) * u64::from(list.per_page) + 1
    };
    let to = (from + list.rows.len() as u64).saturating_sub(1).max(from);
    let page = u64::from(list.page);
    html! {
        nav.pager aria-label=(p.t("分页", "Pages")) {
            span #list-total data-total=(list.total) {
                (p.t(&format!("共 {} 条", list.total), &format!("{} in all", list.total)))
                @if list.total > 0 {
                    " · " (p.t(&format!("第 {from}–{to} 条"), &format!("showing {from}–{to}")))
                }
            }
            @if page > 1 {
                " " a #page-prev rel="prev" href=(params.page_href(path, page - 1)) { "← " (p.t("上一页", "Previous")) }
            }
            " " span #page-at { (p.t(&format!("第 {page}/{} 页", list.pages()), &format!("page {page} of {}", list.pages()))) }
            @if page < list.pages() {
                " " a #page-next rel="next" href=(params.page_href(path, page + 1)) { (p.t("下一页", "Next")) " →" }
            }
        }
    }
}

fn bad(p: &Page, e: &ApiError) -> Response {
    error_page(p, e)
}

fn yuan(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

fn ss_status_label(p: &Page, code: i16) -> String {
    let (zh, en) = match code {
        0 => ("封存", "sealed"),
        1 => ("正常", "normal"),
        2 => ("正式挂失", "formal loss"),
        3 => ("应用锁定", "locked"),
        4 => ("临时挂失", "temporary loss"),
        9 => ("注销", "cancelled"),
        _ => ("未知", "unknown"),
    };
    format!("{} ({code})", p.t(zh, en))
}

/// Social-security statuses in the order the dashboards draw them.
pub(super) const SS_STATUSES: [i16; 6] = [1, 0, 4, 2, 3, 9];

pub(super) fn ss_status_name(code: i16) -> (&'static str, &'static str) {
    match code {
        0 => ("封存", "sealed"),
        1 => ("正常", "normal"),
        2 => ("正式挂失", "formal loss"),
        3 => ("应用锁定", "locked"),
        4 => ("临时挂失", "temporary loss"),
        9 => ("注销", "cancelled"),
        _ => ("未知", "unknown"),
    }
}

pub(super) fn generation_name(g: &str) -> (&'static str, &'static str) {
    match g {
        "legacy" => ("旧卡", "legacy"),
        "second" => ("第二代", "second generation"),
        _ => ("第三代", "third generation"),
    }
}

/// A region code with its name where sscard knows it: a Taizhou district (`海陵区 321202`),
/// else the Jiangsu city it belongs to (`南京市 Nanjing · 320102`), else the code.
pub(super) fn region_label(code: &str) -> String {
    let name = district_name(code);
    if name != code {
        return format!("{name} {code}");
    }
    let city = format!("{}00", code.get(..4).unwrap_or(code));
    match sscard_print::city_label(&city) {
        label if label != city && city == code => label,
        label if label != city => format!("{label} · {code}"),
        _ => code.to_owned(),
    }
}

fn choice(v: &str, zh: &str, en: &str) -> (String, String, String) {
    (v.to_owned(), zh.to_owned(), en.to_owned())
}

// ---- persons ----

async fn persons(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::ReadPersons>,
    Query(params): Query<ListParams>,
) -> Response {
    let q = match params.query() {
        Ok(q) => q,
        Err(e) => return bad(&p, &e),
    };
    if q.text()
        .is_some_and(|t| t.len() == 18 && ResidentId::parse(t).is_ok())
    {
        return bad(
            &p,
            &ApiError::new(
                StatusCode::BAD_REQUEST,
                "list.whole_id_in_address",
                "完整身份证号码请在工作台“按身份证号码查找”中输入（号码不进入网址和日志）；此处可按姓名开头或号码末几位查找",
                "give a whole ID number in the desk's \"Find by ID number\" box (it stays out of addresses and logs); here, search by a name's beginning or an ID number's last digits",
            ),
        );
    }
    let list = match st.store.list_persons(&p.ctx(), &q).await {
        Ok(l) => l,
        Err(e) => return error_page(&p, &e.into()),
    };
    let path = "/console/persons";
    let title = p.t("人员", "Persons");
    let body = html! {
        h1 { (title) }
        (search_form(&p, path, &params, ("姓名开头或身份证号码末几位", "name's beginning or an ID number's last digits"), &[
            Filter::Text { name: "district", zh: "户籍地", en: "Household region", hint: "321202" },
        ]))
        div.scroll { table #list-rows {
            tr { th { (p.t("姓名", "Name")) } th { (p.t("身份证号码", "ID number")) } th { (p.t("性别", "Sex")) }
                 th { (p.t("出生日期", "Birth date")) } th { (p.t("户籍地", "Household")) } th { (p.t("单位", "Employer")) } th { (p.t("在用卡", "Card in use")) } }
            @for r in &list.rows {
                tr {
                    td { a.row-link href=(format!("/console/persons/{}", r.id)) { (r.name_masked) } }
                    td { (r.id_masked) }
                    td { (if r.sex == "male" { p.t("男", "male") } else { p.t("女", "female") }) }
                    td { (r.birth_date) }
                    td { (region_label(&r.household_region)) }
                    td { (r.employer_name.clone().unwrap_or_default()) }
                    td { @if let Some(c) = &r.live_card {
                        @if p.can(Permission::ReadCards) { a href=(format!("/console/cards/{c}")) { (c) } } @else { (c) }
                    } }
                }
            }
        } }
        (pager(&p, path, &params, &list))
    };
    layout(&p, title, &body).into_response()
}

// ---- cards ----

async fn cards(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::ReadCards>,
    Query(params): Query<ListParams>,
) -> Response {
    let q = match params.query() {
        Ok(q) => q,
        Err(e) => return bad(&p, &e),
    };
    let list = match st.store.list_cards(&p.ctx(), &q).await {
        Ok(l) => l,
        Err(e) => return error_page(&p, &e.into()),
    };
    let banks = st.store.banks().await.unwrap_or_default();
    let path = "/console/cards";
    let title = p.t("社会保障卡", "Cards");
    let statuses = SS_STATUSES
        .iter()
        .map(|c| {
            let (zh, en) = ss_status_name(*c);
            choice(&c.to_string(), zh, en)
        })
        .collect();
    let generations = ["third", "second", "legacy"]
        .iter()
        .map(|g| {
            let (zh, en) = generation_name(g);
            choice(g, zh, en)
        })
        .collect();
    let bank_choices = banks
        .iter()
        .map(|b| choice(&b.code, &b.name_zh, &b.name_en))
        .collect();
    let body = html! {
        h1 { (title) }
        (search_form(&p, path, &params, ("卡号开头或持卡人姓名开头", "card number's or holder's name's beginning"), &[
            Filter::Choice { name: "status", zh: "社保状态", en: "SS status", options: statuses },
            Filter::Choice { name: "kind", zh: "卡代际", en: "Generation", options: generations },
            Filter::Choice { name: "bank", zh: "合作银行", en: "Bank", options: bank_choices },
            Filter::Text { name: "district", zh: "区县", en: "District", hint: "321202" },
            Filter::Text { name: "point", zh: "待领网点", en: "Waiting at point", hint: "TZ-HL-01" },
        ]))
        div.scroll { table #list-rows {
            tr { th { (p.t("卡号", "Card number")) } th { (p.t("持卡人", "Holder")) } th { (p.t("代际", "Generation")) }
                 th { (p.t("社保状态", "SS status")) } th { (p.t("金融状态", "Financial")) } th { (p.t("银行", "Bank")) }
                 th { (p.t("已发放", "Handed over")) } th { (p.t("发卡日期", "Issued")) } }
            @for r in &list.rows {
                tr {
                    td { a.row-link href=(format!("/console/cards/{}", r.card_number)) { (r.card_number) } }
                    td { @if p.can(Permission::ReadPersons) { a href=(format!("/console/persons/{}", r.person_id)) { (r.holder_masked) } } @else { (r.holder_masked) } }
                    td { (p.t(generation_name(&r.generation).0, generation_name(&r.generation).1)) }
                    td { (ss_status_label(&p, r.ss_status)) @if let Some(by) = &r.superseded_by { " → " (by) } }
                    td { (r.financial_status) }
                    td { (r.bank_code) }
                    td { (if r.handed_over { p.t("是", "yes") } else { p.t("否", "no") }) }
                    td { (r.issue_date) }
                }
            }
        } }
        (pager(&p, path, &params, &list))
    };
    layout(&p, title, &body).into_response()
}

// ---- institutions and terminals ----

async fn institutions(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::ReadTerminals>,
    Query(params): Query<ListParams>,
) -> Response {
    let q = match params.query() {
        Ok(q) => q,
        Err(e) => return bad(&p, &e),
    };
    let list = match st.store.list_institutions(&p.ctx(), &q).await {
        Ok(l) => l,
        Err(e) => return error_page(&p, &e.into()),
    };
    let path = "/console/institutions";
    let title = p.t("定点医药机构", "Designated institutions");
    let body = html! {
        h1 { (title) }
        (search_form(&p, path, &params, ("机构编码或名称", "code or name"), &[
            Filter::Choice { name: "kind", zh: "类别", en: "Kind", options: vec![choice("hospital", "医疗机构", "hospital"), choice("pharmacy", "药店", "pharmacy")] },
            Filter::Text { name: "district", zh: "区县", en: "District", hint: "321202" },
        ]))
        div.scroll { table #list-rows {
            tr { th { (p.t("编码", "Code")) } th { (p.t("名称", "Name")) } th { (p.t("类别", "Kind")) } th { (p.t("等级", "Level")) }
                 th { (p.t("区县", "District")) } th { (p.t("异地联网", "Networked")) } th { (p.t("终端", "Terminals")) } th { (p.t("已就绪", "Ready")) } }
            @for r in &list.rows {
                tr {
                    td { a.row-link href=(format!("/console/terminals?institution={}", r.code)) { (r.code) } }
                    td { (r.name) }
                    td { (if r.kind == "hospital" { p.t("医疗机构", "hospital") } else { p.t("药店", "pharmacy") }) }
                    td { (r.level.map(|l| l.to_string()).unwrap_or_default()) }
                    td { (region_label(&r.region)) }
                    td { (if r.networked { p.t("是", "yes") } else { p.t("否", "no") }) }
                    td { (r.terminals) } td { (r.ready) }
                }
            }
        } }
        (pager(&p, path, &params, &list))
    };
    layout(&p, title, &body).into_response()
}

async fn terminals(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::ReadTerminals>,
    Query(params): Query<ListParams>,
) -> Response {
    let q = match params.query() {
        Ok(q) => q,
        Err(e) => return bad(&p, &e),
    };
    let list = match st.store.list_terminals(&p.ctx(), &q).await {
        Ok(l) => l,
        Err(e) => return error_page(&p, &e.into()),
    };
    let path = "/console/terminals";
    let title = p.t("终端", "Terminals");
    let body = html! {
        h1 { (title) }
        (search_form(&p, path, &params, ("终端号、机构编码或名称", "terminal number, institution code or name"), &[
            Filter::Choice { name: "status", zh: "状态", en: "State", options: vec![
                choice("10", "已登记", "enrolled"), choice("20", "已就绪", "ready"), choice("30", "已停用", "suspended")] },
            Filter::Text { name: "district", zh: "区县", en: "District", hint: "321202" },
            Filter::Text { name: "institution", zh: "机构编码", en: "Institution", hint: "H32120200001" },
        ]))
        div.scroll { table #list-rows {
            tr { th { (p.t("终端号", "Terminal")) } th { (p.t("机构", "Institution")) } th { (p.t("区县", "District")) }
                 th { (p.t("状态", "State")) } th { (p.t("算法", "Algorithm")) } th { (p.t("就绪时间", "Ready since")) } th { (p.t("未解决问题", "Open problems")) } }
            @for r in &list.rows {
                tr {
                    td { (r.number) }
                    td { (r.institution_name) " " small { (r.institution_code) } }
                    td { (region_label(&r.region)) }
                    td { (match r.state { 20 => p.t("已就绪", "ready"), 30 => p.t("已停用", "suspended"), _ => p.t("已登记", "enrolled") }) }
                    td { (r.alg) }
                    td { (r.ready_at.map(|t| (t + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()) }
                    td { (r.open_problems) }
                }
            }
        } }
        (pager(&p, path, &params, &list))
    };
    layout(&p, title, &body).into_response()
}

// ---- settlements ----

async fn settlements(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::ReadSettlements>,
    Query(params): Query<ListParams>,
) -> Response {
    let q = match params.query() {
        Ok(q) => q,
        Err(e) => return bad(&p, &e),
    };
    let list = match st.store.list_settlements(&p.ctx(), &q).await {
        Ok(l) => l,
        Err(e) => return error_page(&p, &e.into()),
    };
    let path = "/console/settlements";
    let title = p.t("医保结算", "Settlements");
    let body = html! {
        h1 { (title) }
        (search_form(&p, path, &params, ("结算编号 setl_id", "settlement id (setl_id)"), &[
            Filter::Choice { name: "kind", zh: "就医地", en: "Where", options: vec![choice("local", "本地", "local"), choice("cross", "异地", "cross-region")] },
            Filter::Choice { name: "status", zh: "状态", en: "Status", options: vec![
                choice("settled", "已结算", "settled"), choice("cancelled", "已冲销", "cancelled"), choice("cancellation", "冲销记录", "cancellation")] },
            Filter::Text { name: "month", zh: "月份", en: "Month", hint: "2026-11" },
            Filter::Text { name: "day", zh: "日期", en: "Day", hint: "2026-12-03" },
            Filter::Text { name: "district", zh: "就医地区划", en: "Treatment region", hint: "320100" },
            Filter::Text { name: "institution", zh: "机构编码", en: "Institution", hint: "H32120200001" },
        ]))
        div.scroll { table #list-rows {
            tr { th { (p.t("结算编号", "setl_id")) } th { (p.t("时间", "Time")) } th { (p.t("机构", "Institution")) } th { (p.t("参保人", "Insured")) }
                 th { (p.t("参保地 → 就医地", "Insured → treated")) } th.num { (p.t("总费用", "Fees")) } th.num { (p.t("基金", "Funds")) }
                 th.num { (p.t("个人账户", "Account")) } th.num { (p.t("现金", "Cash")) } th { (p.t("状态", "Status")) } }
            @for r in &list.rows {
                tr {
                    td { code { (r.setl_id) } }
                    td { (r.setl_time.format("%Y-%m-%d %H:%M")) }
                    td { (r.institution_name) }
                    td { (r.person_masked) }
                    td { (sscard_print::city_label(&r.insured_region)) " → " (sscard_print::city_label(&r.treatment_region)) }
                    td.num { (yuan(r.medfee_cents)) } td.num { (yuan(r.fund_cents)) }
                    td.num { (yuan(r.acct_cents)) } td.num { (yuan(r.cash_cents)) }
                    td { (match r.status.as_str() { "settled" => p.t("已结算", "settled"), "cancelled" => p.t("已冲销", "cancelled"), _ => p.t("冲销记录", "cancellation") }) }
                }
            }
        } }
        (pager(&p, path, &params, &list))
        @if p.can(Permission::ReadSettlements) {
            p { a href="/console/clearing" { (p.t("本月异地清算", "This month's clearing")) } }
        }
    };
    layout(&p, title, &body).into_response()
}

// ---- bookings ----

async fn bookings(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::Appointments>,
    Query(params): Query<ListParams>,
) -> Response {
    let q = match params.query() {
        Ok(q) => q,
        Err(e) => return bad(&p, &e),
    };
    let list = match st.store.list_bookings(&p.ctx(), &q).await {
        Ok(l) => l,
        Err(e) => return error_page(&p, &e.into()),
    };
    let path = "/console/bookings";
    let title = p.t("换卡预约", "Exchange bookings");
    let body = html! {
        h1 { (title) }
        (search_form(&p, path, &params, ("预约码", "confirmation code"), &[
            Filter::Choice { name: "status", zh: "状态", en: "Status", options: vec![
                choice("booked", "已预约", "booked"), choice("checked_in", "已到场", "checked in"),
                choice("cancelled", "已取消", "cancelled"), choice("no_show", "未到场", "no-show")] },
            Filter::Text { name: "day", zh: "日期", en: "Day", hint: "2026-12-03" },
            Filter::Text { name: "point", zh: "网点", en: "Point", hint: "TZ-HL-01" },
        ]))
        div.scroll { table #list-rows {
            tr { th { (p.t("预约码", "Code")) } th { (p.t("日期", "Day")) } th { (p.t("时段", "Half-day")) } th { (p.t("网点", "Point")) }
                 th { (p.t("姓名", "Name")) } th { (p.t("身份证号码", "ID number")) } th { (p.t("状态", "Status")) } th { (p.t("渠道", "Channel")) } }
            @for a in &list.rows {
                tr {
                    td { code { (a.code) } }
                    td { (a.day) }
                    td { (match a.half { sscard_core::migration::Half::Am => p.t("上午", "morning"), sscard_core::migration::Half::Pm => p.t("下午", "afternoon") }) }
                    td { (a.point_name) }
                    td { (a.name_masked) } td { (a.id_masked) }
                    td { (match a.status.as_str() { "booked" => p.t("已预约", "booked"), "checked_in" => p.t("已到场", "checked in"), "cancelled" => p.t("已取消", "cancelled"), _ => p.t("未到场", "no-show") }) }
                    td { (a.channel) }
                }
            }
        } }
        (pager(&p, path, &params, &list))
        p { a href="/console/appointments" { (p.t("今日到场登记", "Today's check-in desk")) } }
    };
    layout(&p, title, &body).into_response()
}
