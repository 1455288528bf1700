//! `/self`: the cardholder's own exchange page, mobile-first, zh-CN with English. The holder
//! types their ID number, name and mobile number and sees whether they may exchange now (and
//! when their district opens if not), the next free half-days with the places left and the
//! quieter days, books one, and may cancel it. Acting as [`sscard_core::Actor::holder`], the
//! store lets them see and change their own booking only; an unknown number and a wrong name
//! get the same answer, so the page reveals nothing about who is registered. Every POST counts
//! against a per-address and a per-ID-number limit.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Form, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use sscard_core::migration::district_name;
use sscard_core::{Actor, Half};
use sscard_ids::{PersonName, ResidentId, china_today};
use sscard_store::appointments::{BookRequest, Channel, HolderStatus, SlotView};
use sscard_store::{Ctx, StoreError};

use crate::AppState;
use crate::error::ApiError;
use crate::i18n::Lang;

pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/self", get(start).post(act))
        .route_layer(middleware::from_fn_with_state(state, limit))
}

/// How many working days of slots the page offers.
const DAYS_SHOWN: u32 = 10;

#[derive(Deserialize, Default)]
struct LangQuery {
    lang: Option<String>,
}

fn lang_of(tag: Option<&str>, headers: &HeaderMap) -> Lang {
    match tag {
        Some("en") => Lang::En,
        Some("zh") => Lang::Zh,
        _ => Lang::from_headers(headers),
    }
}

/// The form every step posts: who (always), and what.
#[derive(Deserialize, Default, Clone)]
struct SelfForm {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    /// `check`, `book`, `cancel`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    point: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    half: String,
    #[serde(default)]
    code: String,
}

/// Counts each POST against the caller's address and, when the form names one, the ID number;
/// over the limit the answer is 429 with the page's own words.
async fn limit(State(st): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != axum::http::Method::POST {
        return next.run(request).await;
    }
    let lang = lang_of(None, request.headers());
    // Behind the centre's reverse proxy the first X-Forwarded-For hop is the phone's address.
    let address = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned())
        .or_else(|| {
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        })
        .unwrap_or_else(|| "local".into());
    let key = format!("self-ip:{address}");
    let limiter = &st.self_limiter;
    if !limiter.allowed(&key) {
        return too_many(lang);
    }
    limiter.failed(&key);
    next.run(request).await
}

fn too_many(lang: Lang) -> Response {
    let body = html! {
        div.error #error {
            p #error-message { (lang.t("操作太频繁，请稍后再试（为保护您的信息，每个网络地址和身份证号码在一段时间内只能查询有限次数）。",
                "Too many tries: please wait a while (to protect your data, each address and ID number may look up only so many times).")) }
            p { small { code #error-code { "self.rate_limited" } } }
        }
    };
    (StatusCode::TOO_MANY_REQUESTS, shell(lang, &body)).into_response()
}

fn shell(lang: Lang, body: &Markup) -> Markup {
    let other = if lang == Lang::Zh {
        ("en", "English")
    } else {
        ("zh", "中文")
    };
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (lang.t("社保卡换卡预约", "Social security card exchange")) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    strong { (lang.t("社保卡换卡预约", "Card exchange booking")) }
                    a #lang-switch href=(format!("/self?lang={}", other.0)) { (other.1) }
                }
                main { (body) }
            }
        }
    }
}

const CSS: &str = "body{font-family:'WenQuanYi Micro Hei','Noto Sans CJK SC',sans-serif;margin:0;color:#222;font-size:17px}\
header{display:flex;justify-content:space-between;align-items:center;background:#0b5394;color:#fff;padding:.8em 1em}\
header a{color:#fff}main{padding:1em;max-width:34em;margin:auto}\
label{display:block;margin:.8em 0 .2em}input{width:100%;box-sizing:border-box;font-size:1.1em;padding:.5em}\
button{font-size:1.05em;padding:.6em 1em;margin:.4em 0;border:0;border-radius:4px;background:#0b5394;color:#fff}\
button.secondary{background:#5f6368}.slot{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #ddd;padding:.3em 0}\
.slot form{margin:0}.full{color:#999}.quiet{background:#e6f4ea;font-size:.85em;padding:0 .3em;border-radius:3px}\
.note{background:#fef7e0;border:1px solid #f9ab00;padding:.7em}.ok{background:#e6f4ea;border:1px solid #34a853;padding:.7em}\
.error{background:#fce8e6;border:1px solid #d93025;padding:.7em}code{font-size:1.3em;letter-spacing:.1em}";

/// The fields that carry who the holder is from one step to the next.
fn who(f: &SelfForm) -> Markup {
    html! {
        input type="hidden" name="lang" value=(f.lang);
        input type="hidden" name="id_number" value=(f.id_number);
        input type="hidden" name="name" value=(f.name);
        input type="hidden" name="phone" value=(f.phone);
    }
}

fn start_form(lang: Lang, f: &SelfForm, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { p.error #self-error { (e) } }
        p { (lang.t("请填写身份证号码、姓名和手机号码，查看能否换卡和可预约的时段。",
                    "Type your ID number, name and mobile number to see whether you may exchange your card and which half-days are free.")) }
        form #self-form method="post" action="/self" {
            input type="hidden" name="lang" value=(if lang == Lang::En { "en" } else { "zh" });
            input type="hidden" name="action" value="check";
            label for="id_number" { (lang.t("身份证号码", "ID number")) }
            input #id_number name="id_number" required autocomplete="off" inputmode="text" value=(f.id_number);
            label for="name" { (lang.t("姓名", "Name")) }
            input #name name="name" required autocomplete="name" value=(f.name);
            label for="phone" { (lang.t("手机号码（接收预约短信）", "Mobile number (for the booking SMS)")) }
            input #phone name="phone" required inputmode="tel" autocomplete="tel" value=(f.phone);
            button #self-check type="submit" { (lang.t("查询", "Look up")) }
        }
        p { small { (lang.t("新申领、补卡、办理异地就医备案的人员不受换卡批次限制，可直接到任一网点办理。",
                            "New applications, reissues and people filed for care in another city are never held back: go to any outlet.")) } }
    }
}

async fn start(Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let lang = lang_of(q.lang.as_deref(), &headers);
    let f = SelfForm {
        lang: if lang == Lang::En {
            "en".into()
        } else {
            "zh".into()
        },
        ..SelfForm::default()
    };
    shell(lang, &start_form(lang, &f, None)).into_response()
}

fn refused_text(lang: Lang, e: StoreError) -> String {
    let api = ApiError::from(e);
    lang.t(&api.zh, &api.en).to_owned()
}

/// The ID number, name and mobile number typed, or what is wrong with them.
fn typed(lang: Lang, f: &SelfForm) -> Result<(ResidentId, PersonName, String), String> {
    let id = ResidentId::parse(f.id_number.trim()).map_err(|e| {
        let e = ApiError::invalid("id_number", &e);
        lang.t(&e.zh, &e.en).to_owned()
    })?;
    let name = PersonName::parse(f.name.trim()).map_err(|e| {
        let e = ApiError::invalid("name", &e);
        lang.t(&e.zh, &e.en).to_owned()
    })?;
    let phone = f.phone.trim();
    if !(phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit())) {
        return Err(lang
            .t(
                "手机号码应为 11 位数字，以 1 开头",
                "The mobile number must be 11 digits starting with 1",
            )
            .to_owned());
    }
    Ok((id, name, phone.to_owned()))
}

async fn act(State(st): State<AppState>, headers: HeaderMap, Form(f): Form<SelfForm>) -> Response {
    let lang = lang_of(Some(f.lang.as_str()), &headers);
    let (id, name, phone) = match typed(lang, &f) {
        Ok(who) => who,
        Err(msg) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                shell(lang, &start_form(lang, &f, Some(&msg))),
            )
                .into_response();
        }
    };
    let phone = phone.as_str();
    let ctx = Ctx::now(Actor::holder(id.expose()));
    let mut flash: Option<Markup> = None;
    match f.action.as_str() {
        "book" => {
            let (Some(half), Ok(day)) = (
                Half::parse(&f.half),
                chrono::NaiveDate::parse_from_str(&f.day, "%Y-%m-%d"),
            ) else {
                return shell(
                    lang,
                    &start_form(lang, &f, Some(lang.t("请选择时段", "Choose a half-day"))),
                )
                .into_response();
            };
            let req = BookRequest {
                id,
                name: Some(name.clone()),
                point: f.point.clone(),
                day,
                half,
                phone: Some(phone.to_owned()),
                channel: Channel::SelfService,
            };
            match st.store.book_appointment(&ctx, &req).await {
                Ok(a) => {
                    flash = Some(html! {
                        div.ok #booked {
                            p { (lang.t("预约成功。预约码：", "Booked. Your code: ")) code #confirmation-code { (a.code) } }
                            p { (a.day) " " (lang.t(a.half.zh(), a.half.as_str())) " · " (a.point_name) }
                            p { small { (lang.t("请携带身份证和旧社保卡按时前往；确认短信已发送到您的手机。", "Bring your ID card and old card; an SMS confirms it.")) } }
                        }
                    });
                }
                Err(e) => flash = Some(html! { p.error #self-error { (refused_text(lang, e)) } }),
            }
        }
        "cancel" => match st.store.cancel_appointment(&ctx, &f.code).await {
            Ok(a) => {
                flash = Some(
                    html! { p.ok #cancelled { (lang.t("已取消预约 ", "Cancelled booking ")) (a.code) } },
                );
            }
            Err(e) => flash = Some(html! { p.error #self-error { (refused_text(lang, e)) } }),
        },
        _ => {}
    }
    let status = match st.store.holder_status(&ctx, &id, &name).await {
        Ok(s) => s,
        Err(e) => {
            let msg = refused_text(lang, e);
            return shell(lang, &start_form(lang, &f, Some(&msg))).into_response();
        }
    };
    let slots = if status.booking.is_none() {
        offered_slots(&st, &status).await
    } else {
        Vec::new()
    };
    shell(
        lang,
        &status_page(lang, &f, &status, &slots, flash.as_ref()),
    )
    .into_response()
}

/// The half-days offered: from the first day the holder may come (tomorrow, or the day their
/// district opens if later), their district's points first.
async fn offered_slots(st: &AppState, status: &HolderStatus) -> Vec<SlotView> {
    let tomorrow = china_today() + chrono::Duration::days(1);
    let from = status
        .eligibility
        .from
        .filter(|d| *d > tomorrow)
        .unwrap_or(tomorrow);
    if (from - china_today()).num_days() > sscard_store::appointments::BOOKING_HORIZON_DAYS {
        return Vec::new();
    }
    let mut slots = st
        .store
        .free_slots(from, DAYS_SHOWN, None)
        .await
        .unwrap_or_default();
    slots.retain(|s| {
        (s.day - china_today()).num_days() <= sscard_store::appointments::BOOKING_HORIZON_DAYS
    });
    let own = status.district.clone().unwrap_or_default();
    slots.sort_by_key(|s| (s.district != own, s.point.clone(), s.day, s.half));
    slots
}

fn status_page(
    lang: Lang,
    f: &SelfForm,
    status: &HolderStatus,
    slots: &[SlotView],
    flash: Option<&Markup>,
) -> Markup {
    let e = &status.eligibility;
    // The three days with the most places left are the quieter ones.
    let mut by_day: Vec<(chrono::NaiveDate, u32)> = Vec::new();
    for s in slots {
        match by_day.iter_mut().find(|d| d.0 == s.day) {
            Some(d) => d.1 += s.left,
            None => by_day.push((s.day, s.left)),
        }
    }
    by_day.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let quiet: Vec<chrono::NaiveDate> = by_day.iter().take(3).map(|d| d.0).collect();
    html! {
        @if let Some(m) = flash { (m) }
        @if e.eligible {
            p.ok #eligibility data-eligible="true" { (lang.t(&e.reason, &e.reason_en)) }
        } @else {
            p.note #eligibility data-eligible="false" { (lang.t(&e.reason, &e.reason_en)) }
        }
        @if let Some(d) = &status.district {
            p { small { (lang.t("所属区县：", "District: ")) (district_name(d)) } }
        }
        p.note #no-rush { (lang.t("新卡启用前旧卡照常使用。不去外地就医的人员可以错峰办理，无需着急。",
                                  "Your old card keeps working until the new one is in use. If you do not use the card in other cities, you can wait for a quieter time; there is no need to rush.")) }
        @if let Some(a) = &status.booking {
            div.ok #my-booking {
                p { (lang.t("您的预约：", "Your booking: ")) code #booking-code { (a.code) } }
                p { (a.day) " " (lang.t(a.half.zh(), a.half.as_str())) " · " (a.point_name) " · " span #booking-status { (a.status) } }
                @if a.status == "booked" {
                    form method="post" action="/self" {
                        (who(f))
                        input type="hidden" name="action" value="cancel";
                        input type="hidden" name="code" value=(a.code);
                        button.secondary #cancel type="submit" { (lang.t("取消预约", "Cancel the booking")) }
                    }
                }
            }
        } @else if slots.is_empty() {
            p #no-slots { (lang.t("近期没有可预约的时段（或所属区县尚未开放）；开放前会短信通知您。", "No half-day can be booked yet (or your district has not opened); we will send an SMS when it does.")) }
        } @else {
            h2 { (lang.t("可预约时段", "Half-days you can book")) }
            div #slots {
                @for s in slots {
                    div.slot data-day=(s.day) data-half=(s.half.as_str()) data-point=(s.point) data-left=(s.left) {
                        span {
                            (s.day) " " (lang.t(s.half.zh(), s.half.as_str())) " · " (s.point_name)
                            " · " (lang.t("剩余 ", "left ")) (s.left)
                            @if quiet.contains(&s.day) && s.left > 0 { " " span.quiet { (lang.t("较空闲", "quieter")) } }
                        }
                        @if s.left > 0 {
                            form method="post" action="/self" {
                                (who(f))
                                input type="hidden" name="action" value="book";
                                input type="hidden" name="point" value=(s.point);
                                input type="hidden" name="day" value=(s.day);
                                input type="hidden" name="half" value=(s.half.as_str());
                                button.book type="submit" { (lang.t("预约", "Book")) }
                            }
                        } @else {
                            span.full { (lang.t("已约满", "full")) }
                        }
                    }
                }
            }
        }
    }
}
