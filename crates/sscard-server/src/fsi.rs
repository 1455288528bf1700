//! The NHSA unified interface for hospital and pharmacy systems (HIS):
//! `POST /fsi/api/rsfComIfsService/callService` with the national envelope, behind gateway
//! authentication as provincial gateways do it (`x-tif-paasid`, `x-tif-timestamp`,
//! `x-tif-nonce`, `x-tif-signature` = lowercase hex SHA-256 of
//! `timestamp + token + nonce + timestamp`). The paasid names the institution, which is the
//! caller's scope. The body is parsed once here into [`sscard_store::fsi::Input`]; the store
//! decides the message and records its answer.
//!
//! Answers are the national response envelope: `infcode` 0 or −1, `inf_refmsgid`,
//! `refmsg_time`, `respond_time`, `err_msg` (zh-CN), `output`; on failure also `err_code` (our
//! stable code) and `err_msg_en`. Gateway refusals answer HTTP 401 in the same shape; business
//! refusals answer 200 with `infcode` −1, as HIS systems expect.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};
use sha2::Digest;
use sscard_core::money::{Fixed4, Money};
use sscard_ids::{Bilingual, ResidentId};
use sscard_store::StoreError;
use sscard_store::fsi::{
    Certificate, ClearingApplication, DetailInput, DetailLine, FeeInput, GatewayKey, Input,
    Message, ReferralInput, Registration, SettleInput, TotalsInput, VisitInfo,
};

use crate::AppState;

/// The interface's path.
pub const CALL_SERVICE: &str = "/fsi/api/rsfComIfsService/callService";

/// How far `x-tif-timestamp` may be from the platform's clock.
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;

/// How long a paasid's key is kept in memory; a reissued token takes over within this.
const KEY_CACHE: Duration = Duration::from_secs(30);

/// The interface's router.
pub fn router() -> Router<AppState> {
    Router::new().route(CALL_SERVICE, post(call_service))
}

/// The gateway's keys by paasid, read from the store and kept for 30 seconds.
#[derive(Default)]
pub struct KeyCache(Mutex<HashMap<String, (GatewayKey, Instant)>>);

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyCache")
    }
}

impl KeyCache {
    async fn get(
        &self,
        st: &AppState,
        paasid: &str,
        fresh: bool,
    ) -> Result<Option<GatewayKey>, StoreError> {
        if !fresh
            && let Some((key, at)) = self.0.lock().expect("not poisoned").get(paasid)
            && at.elapsed() < KEY_CACHE
        {
            return Ok(Some(key.clone()));
        }
        let key = st.store.gateway_key(paasid).await?;
        let mut map = self.0.lock().expect("not poisoned");
        match &key {
            Some(k) => {
                map.insert(paasid.to_owned(), (k.clone(), Instant::now()));
            }
            None => {
                map.remove(paasid);
            }
        }
        Ok(key)
    }
}

/// The signature a request must carry: lowercase hex SHA-256 of
/// `timestamp + token + nonce + timestamp`.
pub fn signature(timestamp: &str, token: &str, nonce: &str) -> String {
    let mut h = sha2::Sha256::new();
    for part in [timestamp, token, nonce, timestamp] {
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// A refusal in the interface's shape.
#[derive(Debug)]
struct Refused {
    status: StatusCode,
    code: String,
    zh: String,
    en: String,
}

impl Refused {
    fn gateway(code: &str, zh: impl Into<String>, en: impl Into<String>) -> Refused {
        Refused {
            status: StatusCode::UNAUTHORIZED,
            code: code.to_owned(),
            zh: zh.into(),
            en: en.into(),
        }
    }

    fn input(field: &str, zh: impl std::fmt::Display, en: impl std::fmt::Display) -> Refused {
        Refused {
            status: StatusCode::OK,
            code: "interface.input".into(),
            zh: format!("字段 {field}：{zh}"),
            en: format!("field {field}: {en}"),
        }
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Refused {
        let status = match &e {
            e if e.code().starts_with("gateway.") => StatusCode::UNAUTHORIZED,
            e if e.is_refusal() => StatusCode::OK,
            StoreError::Busy { .. } | StoreError::Retry => StatusCode::SERVICE_UNAVAILABLE,
            _ => {
                tracing::error!(error = ?e, "interface call failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let (zh, en) = if status == StatusCode::INTERNAL_SERVER_ERROR {
            (
                "平台内部错误，请稍后重试（同一 msgid 重发不会重复办理）".to_owned(),
                "internal error; try again later (the same msgid is never carried out twice)"
                    .to_owned(),
            )
        } else {
            (e.zh(), e.en())
        };
        Refused {
            status,
            code: e.code().to_owned(),
            zh,
            en,
        }
    }
}

/// `yyyyMMddHHmmssSSS`, local (China Standard Time).
fn stamp(at: DateTime<Utc>) -> String {
    (at + chrono::Duration::hours(8))
        .format("%Y%m%d%H%M%S%3f")
        .to_string()
}

fn envelope(received: DateTime<Utc>, refmsgid: &str, outcome: Result<Value, &Refused>) -> Value {
    let mut body = json!({
        "infcode": if outcome.is_ok() { 0 } else { -1 },
        "inf_refmsgid": refmsgid,
        "refmsg_time": stamp(received),
        "respond_time": stamp(Utc::now()),
        "enctype": null,
        "signtype": null,
        "cainfo": null,
        "warn_msg": null,
    });
    let o = body.as_object_mut().expect("an object");
    match outcome {
        Ok(output) => {
            o.insert("err_msg".into(), Value::Null);
            o.insert("output".into(), output);
        }
        Err(r) => {
            o.insert("err_msg".into(), json!(r.zh));
            o.insert("err_msg_en".into(), json!(r.en));
            o.insert("err_code".into(), json!(r.code));
            o.insert("output".into(), Value::Null);
        }
    }
    body
}

fn respond(received: DateTime<Utc>, refmsgid: &str, outcome: Result<Value, Refused>) -> Response {
    match outcome {
        Ok(v) => (StatusCode::OK, Json(envelope(received, refmsgid, Ok(v)))).into_response(),
        Err(r) => (r.status, Json(envelope(received, refmsgid, Err(&r)))).into_response(),
    }
}

async fn call_service(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let received = Utc::now();
    let key = match authenticate(&st, &headers, received).await {
        Ok(k) => k,
        Err(r) => return respond(received, "", Err(r)),
    };
    let message = match parse_message(&key, &headers, &body, received) {
        Ok(m) => m,
        Err(r) => return respond(received, "", Err(r)),
    };
    match st.store.interface_call(message).await {
        Ok(answer) => {
            let outcome = answer.outcome.map_err(|r| Refused {
                status: StatusCode::OK,
                code: r.code,
                zh: r.zh,
                en: r.en,
            });
            respond(received, &answer.refmsgid, outcome)
        }
        Err(e) => respond(received, "", Err(e.into())),
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, Refused> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Refused::gateway(
                "gateway.header",
                format!("缺少请求头 {name}"),
                format!("the header {name} is missing"),
            )
        })
}

/// The gateway's checks: a known paasid, a timestamp within the window, the signature. The
/// nonce is checked once, with the message, in the store.
async fn authenticate(
    st: &AppState,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<GatewayKey, Refused> {
    let paasid = header(headers, "x-tif-paasid")?;
    let timestamp = header(headers, "x-tif-timestamp")?;
    let nonce = header(headers, "x-tif-nonce")?;
    let given = header(headers, "x-tif-signature")?;
    let secs: i64 = timestamp.parse().map_err(|_| {
        Refused::gateway(
            "gateway.timestamp",
            "x-tif-timestamp 应为 Unix 秒数",
            "x-tif-timestamp must be Unix seconds",
        )
    })?;
    if (now.timestamp() - secs).abs() > TIMESTAMP_WINDOW_SECS {
        return Err(Refused::gateway(
            "gateway.timestamp",
            format!("x-tif-timestamp 与平台时间相差超过 {TIMESTAMP_WINDOW_SECS} 秒：请校准时钟"),
            format!(
                "x-tif-timestamp is more than {TIMESTAMP_WINDOW_SECS} s from the platform's clock: set the clock right"
            ),
        ));
    }
    if nonce.len() > 64 {
        return Err(Refused::gateway(
            "gateway.nonce",
            "x-tif-nonce 过长（最多 64 个字符）",
            "x-tif-nonce is too long (at most 64 characters)",
        ));
    }
    let unknown = || {
        Refused::gateway(
            "gateway.paasid",
            "x-tif-paasid 未知：请向中心申请接口凭据",
            "x-tif-paasid is unknown: ask the centre for interface credentials",
        )
    };
    for fresh in [false, true] {
        let key = st
            .gateway
            .get(st, paasid, fresh)
            .await?
            .ok_or_else(unknown)?;
        let expected = signature(timestamp, &key.token, nonce);
        if subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), given.as_bytes()).into() {
            return Ok(key);
        }
    }
    Err(Refused::gateway(
        "gateway.signature",
        "x-tif-signature 不正确：应为 SHA-256(timestamp + token + nonce + timestamp) 的小写十六进制",
        "x-tif-signature is wrong: it is the lowercase hex SHA-256 of timestamp + token + nonce + timestamp",
    ))
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// A JSON node and where it is, for errors that name the field.
#[derive(Clone, Copy)]
struct Node<'a> {
    v: &'a Value,
    path: &'a str,
}

struct Field<'a> {
    v: Option<&'a Value>,
    path: String,
}

impl<'a> Node<'a> {
    fn field(&self, name: &str) -> Field<'a> {
        Field {
            v: self.v.get(name).filter(|v| !v.is_null()),
            path: format!("{}.{name}", self.path),
        }
    }
}

impl Field<'_> {
    fn missing(&self) -> Refused {
        Refused::input(&self.path, "缺少或为空", "is missing or empty")
    }

    fn text(&self) -> Option<String> {
        match self.v? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn str(&self) -> Result<String, Refused> {
        self.text().ok_or_else(|| self.missing())
    }

    fn opt(&self) -> Option<String> {
        self.text()
    }

    fn money(&self) -> Result<Money, Refused> {
        let t = self.str()?;
        Money::parse(&t).map_err(|e| Refused::input(&self.path, e.zh(), e.en()))
    }

    fn opt_money(&self) -> Result<Option<Money>, Refused> {
        if self.text().is_none() {
            return Ok(None);
        }
        self.money().map(Some)
    }

    /// A decimal of up to four places (trailing zeros beyond them are accepted: `pric` is
    /// N16,6 in the interface).
    fn fixed4(&self) -> Result<Fixed4, Refused> {
        let t = self.str()?;
        let trimmed = match t.split_once('.') {
            Some((w, f)) if f.len() > 4 && f[4..].bytes().all(|b| b == b'0') => {
                format!("{w}.{}", &f[..4])
            }
            _ => t.clone(),
        };
        Fixed4::parse(&trimmed).map_err(|e| Refused::input(&self.path, e.zh(), e.en()))
    }

    fn datetime(&self) -> Result<NaiveDateTime, Refused> {
        let t = self.str()?;
        NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S")
            .or_else(|_| {
                NaiveDate::parse_from_str(&t, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
            })
            .map_err(|_| {
                Refused::input(
                    &self.path,
                    format!("“{t}”不是 yyyy-MM-dd HH:mm:ss 格式的时间"),
                    format!("\"{t}\" is not a time as yyyy-MM-dd HH:mm:ss"),
                )
            })
    }

    fn date(&self) -> Result<NaiveDate, Refused> {
        let t = self.str()?;
        NaiveDate::parse_from_str(&t[..t.len().min(10)], "%Y-%m-%d").map_err(|_| {
            Refused::input(
                &self.path,
                format!("“{t}”不是 yyyy-MM-dd 格式的日期"),
                format!("\"{t}\" is not a date as yyyy-MM-dd"),
            )
        })
    }

    fn flag(&self) -> bool {
        self.text().as_deref() == Some("1")
    }

    fn code(&self, allowed: &[&str]) -> Result<String, Refused> {
        let t = self.str()?;
        if allowed.contains(&t.as_str()) {
            Ok(t)
        } else {
            Err(Refused::input(
                &self.path,
                format!("“{t}”无效，应为 {}", allowed.join("、")),
                format!("\"{t}\" is not one of {}", allowed.join(", ")),
            ))
        }
    }
}

fn node<'a>(input: &'a Value, name: &'a str) -> Result<Node<'a>, Refused> {
    match input.get(name) {
        Some(v) if v.is_object() => Ok(Node { v, path: name }),
        // Some HIS send a one-element array where an object is expected.
        Some(Value::Array(a)) if a.len() == 1 && a[0].is_object() => Ok(Node {
            v: &a[0],
            path: name,
        }),
        _ => Err(Refused::input(
            &format!("input.{name}"),
            "缺少该节点",
            "the node is missing",
        )),
    }
}

const INSUTYPES: &[&str] = &["310", "390"];

/// Reads the envelope and the transaction's input.
fn parse_message(
    key: &GatewayKey,
    headers: &HeaderMap,
    body: &[u8],
    at: DateTime<Utc>,
) -> Result<Message, Refused> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        Refused::input(
            "(body)",
            format!("不是有效的 JSON：{e}"),
            format!("not valid JSON: {e}"),
        )
    })?;
    let env = Node { v: &v, path: "" };
    let field = |name: &str| env.field(name).str();
    let infno = field("infno")?;
    let msgid = field("msgid")?;
    if msgid.len() > 30 {
        return Err(Refused::input(
            "msgid",
            "超过 30 个字符",
            "is longer than 30 characters",
        ));
    }
    let code = field("fixmedins_code")?;
    if code != key.institution {
        return Err(Refused::gateway(
            "gateway.institution",
            format!(
                "fixmedins_code {code} 不是该 paasid 所属机构 {}",
                key.institution
            ),
            format!(
                "fixmedins_code {code} is not the paasid's institution {}",
                key.institution
            ),
        ));
    }
    let city = format!("{}00", &key.region[..4.min(key.region.len())]);
    if let Some(area) = env.field("mdtrtarea_admvs").opt()
        && area != city
    {
        return Err(Refused::input(
            "mdtrtarea_admvs",
            format!("就医地 {area} 不是本机构所在城市 {city}"),
            format!("treatment place {area} is not the institution's city {city}"),
        ));
    }
    let input_value = v.get("input").cloned().unwrap_or(Value::Null);
    let check_token = check_token(env.field("dev_safe_info").opt().as_deref());
    let input = parse_input(&infno, &input_value, check_token)?;
    Ok(Message {
        institution: key.institution.clone(),
        paasid: header(headers, "x-tif-paasid")?.to_owned(),
        nonce: header(headers, "x-tif-nonce")?.to_owned(),
        msgid,
        infno,
        sign_no: env.field("sign_no").opt().unwrap_or_default(),
        opter: env.field("opter").opt().unwrap_or_default(),
        at,
        input,
    })
}

/// The check token in `dev_safe_info`: `{"check_token": "…"}` or the token alone.
fn check_token(dev_safe_info: Option<&str>) -> Option<String> {
    let text = dev_safe_info?;
    match serde_json::from_str::<Value>(text) {
        Ok(v) => v
            .get("check_token")
            .and_then(Value::as_str)
            .map(str::to_owned),
        Err(_) => Some(text.trim().to_owned()),
    }
}

fn parse_input(infno: &str, input: &Value, check_token: Option<String>) -> Result<Input, Refused> {
    Ok(match infno {
        "9001" => {
            let n = node(input, "signIn")?;
            Input::SignIn {
                opter_no: n.field("opter_no").str()?,
                mac: n.field("mac").opt().unwrap_or_default(),
                ip: n.field("ip").opt().unwrap_or_default(),
            }
        }
        "1101" => Input::PersonInfo(certificate(node(input, "data")?, check_token)?),
        "2201" => Input::Register(registration(node(input, "data")?, false)?),
        "2401" => Input::Register(registration(node(input, "mdtrtinfo")?, true)?),
        "2202" | "2404" => {
            let n = node(input, "data")?;
            Input::CancelVisit {
                mdtrt_id: n.field("mdtrt_id").str()?,
                psn_no: n.field("psn_no").str()?,
            }
        }
        "2203" | "2203A" => {
            let n = node(input, "mdtrtinfo")?;
            Input::VisitInfo(VisitInfo {
                mdtrt_id: n.field("mdtrt_id").str()?,
                psn_no: n.field("psn_no").str()?,
                med_type: n.field("med_type").str()?,
                dise_codg: n.field("dise_codg").opt(),
                dise_name: n.field("dise_name").opt(),
            })
        }
        "2204" | "2301" => Input::Fees(fee_lines(input)?),
        "2205" | "2302" => cancel_fees(input)?,
        "2206" | "2207" | "2303" | "2304" => Input::Settle {
            input: settle_input(node(input, "data")?)?,
            commit: infno == "2207" || infno == "2304",
        },
        "2208" | "2305" => {
            let n = node(input, "data")?;
            Input::CancelSettlement {
                setl_id: n.field("setl_id").str()?,
                mdtrt_id: n.field("mdtrt_id").str()?,
                psn_no: n.field("psn_no").str()?,
            }
        }
        "2402" => {
            let n = node(input, "dscginfo")?;
            Input::Discharge {
                mdtrt_id: n.field("mdtrt_id").str()?,
                psn_no: n.field("psn_no").str()?,
                endtime: n.field("endtime").datetime()?,
            }
        }
        other => return parse_more(other, input),
    })
}

/// Filings, reversal, reconciliation and queries.
fn parse_more(infno: &str, input: &Value) -> Result<Input, Refused> {
    Ok(match infno {
        "2501" => {
            let n = node(input, "refmedin")?;
            Input::Referral(ReferralInput {
                psn_no: n.field("psn_no").str()?,
                insutype: n.field("insutype").code(INSUTYPES)?,
                region: n.field("mdtrtarea_admdvs").str()?,
                to_institution: n.field("reflin_medins_no").opt().unwrap_or_default(),
                diag_code: n.field("diag_code").opt().unwrap_or_default(),
                from: n.field("begndate").date()?,
                to: n.field("enddate").date()?,
            })
        }
        "2502" => {
            let n = node(input, "data")?;
            Input::CancelReferral {
                serial: n.field("trt_dcla_detl_sn").str()?,
                psn_no: n.field("psn_no").str()?,
                memo: n.field("memo").opt().unwrap_or_default(),
            }
        }
        "2601" => {
            let n = node(input, "data")?;
            Input::Reverse {
                psn_no: n.field("psn_no").str()?,
                omsgid: n.field("omsgid").str()?,
                oinfno: n.field("oinfno").str()?,
            }
        }
        "3201" => Input::Totals(totals(node(input, "data")?)?),
        "3202" => {
            let n = node(input, "data")?;
            let mut lines = Vec::new();
            if let Some(Value::Array(items)) = n.v.get("detail") {
                for (i, item) in items.iter().enumerate() {
                    let path = format!("data.detail[{i}]");
                    let d = Node {
                        v: item,
                        path: &path,
                    };
                    lines.push(DetailLine {
                        setl_id: d.field("setl_id").str()?,
                        medfee_sumamt: d.field("medfee_sumamt").money()?,
                        fund_pay_sumamt: d.field("fund_pay_sumamt").money()?,
                        acct_pay: d.field("acct_pay").money()?,
                    });
                }
            }
            Input::Detail(DetailInput {
                totals: totals(n)?,
                lines,
            })
        }
        "3203" => {
            let n = node(input, "data")?;
            let money = |k: &str| n.field(k).opt_money().map(Option::unwrap_or_default);
            Input::ClearingApplication(ClearingApplication {
                clr_type: n.field("clr_type").code(&["11", "21", "41"])?,
                clr_way: n.field("clr_way").opt().unwrap_or_else(|| "1".into()),
                setlym: n.field("setlym").str()?,
                psntime: n.field("psntime").str()?.parse().map_err(|_| {
                    Refused::input("data.psntime", "应为整数", "must be a whole number")
                })?,
                medfee_sumamt: money("medfee_sumamt")?,
                fund_appy_sum: money("fund_appy_sum")?,
                acct_pay: money("acct_pay")?,
                cash_payamt: money("cash_payamt")?,
            })
        }
        "5206" => {
            let n = node(input, "data")?;
            let year = match n.field("cum_ym").opt() {
                Some(ym) => Some(ym.get(..4).and_then(|y| y.parse().ok()).ok_or_else(|| {
                    Refused::input("data.cum_ym", "应为 YYYYMM", "must be YYYYMM")
                })?),
                None => None,
            };
            Input::Cumulative {
                psn_no: n.field("psn_no").str()?,
                year,
            }
        }
        other => {
            return Err(Refused {
                status: StatusCode::OK,
                code: "interface.infno".into(),
                zh: format!(
                    "交易 {other} 未开通：本平台办理 9001、1101、2201–2208、2301–2305、2401、2402、2404、2501、2502、2601、3201、3202、3203、5206"
                ),
                en: format!(
                    "transaction {other} is not offered: this platform answers 9001, 1101, 2201–2208, 2301–2305, 2401, 2402, 2404, 2501, 2502, 2601, 3201, 3202, 3203, 5206"
                ),
            });
        }
    })
}

fn certificate(n: Node<'_>, check_token: Option<String>) -> Result<Certificate, Refused> {
    let kind = n.field("mdtrt_cert_type").code(&["02", "03"])?;
    let no = n.field("mdtrt_cert_no").str()?;
    if kind == "02" {
        return ResidentId::parse(&no)
            .map(Certificate::IdNumber)
            .map_err(|e| Refused::input("data.mdtrt_cert_no", e.zh(), e.en()));
    }
    let card_sn = n.field("card_sn").str()?;
    let check_token = check_token.ok_or_else(|| {
        Refused::input(
            "dev_safe_info",
            "读卡（03）须带终端联机验卡返回的 check_token",
            "a card (03) needs the check_token of the terminal's online check",
        )
    })?;
    Ok(Certificate::Card {
        number: no,
        card_sn,
        check_token,
    })
}

fn registration(n: Node<'_>, inpatient: bool) -> Result<Registration, Refused> {
    let med_type = n.field("med_type").opt();
    let number = if inpatient { "ipt_no" } else { "ipt_otp_no" };
    Ok(Registration {
        psn_no: n.field("psn_no").str()?,
        insutype: n.field("insutype").code(INSUTYPES)?,
        emergency: n.field("emergency_flag").flag(),
        med_type: if inpatient {
            Some(med_type.unwrap_or_else(|| "21".into()))
        } else {
            med_type
        },
        begntime: n.field("begntime").datetime()?,
        cert_type: n.field("mdtrt_cert_type").code(&["01", "02", "03"])?,
        cert_no: n.field("mdtrt_cert_no").str()?,
        ipt_otp_no: n.field(number).str()?,
        dise_codg: n.field("dise_codg").opt(),
        dise_name: n.field("dise_name").opt(),
    })
}

fn fee_lines(input: &Value) -> Result<Vec<FeeInput>, Refused> {
    let Some(Value::Array(items)) = input.get("feedetail") else {
        return Err(Refused::input(
            "input.feedetail",
            "缺少费用明细数组",
            "the array of fee lines is missing",
        ));
    };
    let mut lines = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("feedetail[{i}]");
        let n = Node {
            v: item,
            path: &path,
        };
        lines.push(FeeInput {
            feedetl_sn: n.field("feedetl_sn").str()?,
            mdtrt_id: n.field("mdtrt_id").str()?,
            psn_no: n.field("psn_no").str()?,
            chrg_bchno: n.field("chrg_bchno").opt().unwrap_or_default(),
            med_list_codg: n.field("med_list_codg").str()?,
            medins_list_codg: n.field("medins_list_codg").opt().unwrap_or_default(),
            fee_ocur_time: n.field("fee_ocur_time").datetime()?,
            pric: n.field("pric").fixed4()?,
            cnt: n.field("cnt").fixed4()?,
            amount: n.field("det_item_fee_sumamt").money()?,
        });
    }
    Ok(lines)
}

fn cancel_fees(input: &Value) -> Result<Input, Refused> {
    let items: Vec<&Value> = match input.get("data") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => {
            return Err(Refused::input(
                "input.data",
                "缺少该节点",
                "the node is missing",
            ));
        }
    };
    let first = items
        .first()
        .ok_or_else(|| Refused::input("input.data", "为空", "is empty"))?;
    let n = Node {
        v: first,
        path: "data",
    };
    let feedetl_sn = items
        .iter()
        .filter_map(|v| {
            v.get("feedetl_sn")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    Ok(Input::CancelFees {
        mdtrt_id: n.field("mdtrt_id").str()?,
        psn_no: n.field("psn_no").str()?,
        chrg_bchno: n.field("chrg_bchno").opt(),
        feedetl_sn,
    })
}

fn settle_input(n: Node<'_>) -> Result<SettleInput, Refused> {
    Ok(SettleInput {
        mdtrt_id: n.field("mdtrt_id").str()?,
        psn_no: n.field("psn_no").str()?,
        insutype: n.field("insutype").code(INSUTYPES)?,
        med_type: n.field("med_type").opt(),
        medfee_sumamt: n.field("medfee_sumamt").money()?,
        use_account: n.field("acct_used_flag").flag(),
        interim: n.field("mid_setl_flag").flag(),
    })
}

fn totals(n: Node<'_>) -> Result<TotalsInput, Refused> {
    Ok(TotalsInput {
        insutype: n.field("insutype").code(INSUTYPES)?,
        clr_type: n.field("clr_type").code(&["11", "21", "41"])?,
        from: n.field("stmt_begndate").date()?,
        to: n.field("stmt_enddate").date()?,
        medfee_sumamt: n.field("medfee_sumamt").opt_money()?.unwrap_or(Money::ZERO),
        fund_pay_sumamt: n
            .field("fund_pay_sumamt")
            .opt_money()?
            .unwrap_or(Money::ZERO),
        acct_pay: n.field("acct_pay").opt_money()?.unwrap_or(Money::ZERO),
        count: n
            .field("fixmedins_setl_cnt")
            .opt()
            .map_or(Ok(0), |c| c.parse())
            .map_err(|_| {
                Refused::input(
                    "data.fixmedins_setl_cnt",
                    "应为整数",
                    "must be a whole number",
                )
            })?,
    })
}

/// What a HIS sends: the gateway headers and the envelope, for clients of the interface
/// (tests, the benchmark, an integration team's first call).
pub mod client {
    use serde_json::{Value, json};

    /// The four gateway headers for a request at `timestamp` (Unix seconds) with `nonce`.
    pub fn headers(
        paasid: &str,
        token: &str,
        timestamp: i64,
        nonce: &str,
    ) -> [(&'static str, String); 4] {
        let ts = timestamp.to_string();
        let sig = super::signature(&ts, token, nonce);
        [
            ("x-tif-paasid", paasid.to_owned()),
            ("x-tif-timestamp", ts),
            ("x-tif-nonce", nonce.to_owned()),
            ("x-tif-signature", sig),
        ]
    }

    /// A msgid as the spec shapes it: the institution's code, the local time to the second, a
    /// four-digit sequence.
    pub fn msgid(institution: &str, at: chrono::DateTime<chrono::Utc>, seq: u32) -> String {
        format!(
            "{institution}{}{:04}",
            (at + chrono::Duration::hours(8)).format("%Y%m%d%H%M%S"),
            seq % 10_000
        )
    }

    /// The request envelope.
    pub fn envelope(
        infno: &str,
        msgid: &str,
        institution: &str,
        treatment_region: &str,
        sign_no: &str,
        input: &Value,
    ) -> Value {
        json!({
            "infno": infno,
            "msgid": msgid,
            "mdtrtarea_admvs": treatment_region,
            "insuplc_admdvs": "",
            "recer_sys_code": "YBXT",
            "dev_no": "",
            "dev_safe_info": "",
            "cainfo": "",
            "signtype": "",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "his-001",
            "opter_name": "收费员",
            "inf_time": (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M:%S").to_string(),
            "fixmedins_code": institution,
            "fixmedins_name": "",
            "sign_no": sign_no,
            "input": input,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_sha256_of_timestamp_token_nonce_timestamp() {
        // Known answer, computed independently (Python hashlib).
        assert_eq!(
            signature("1700000000", "9b1d", "c0ffee"),
            "df8263d824be21a5f706af56d2b545f10edce082d78f975dad87ed5d83c0f2c3"
        );
    }

    #[test]
    fn the_check_token_comes_from_dev_safe_info() {
        assert_eq!(
            check_token(Some(r#"{"check_token":"ab12"}"#)).as_deref(),
            Some("ab12")
        );
        assert_eq!(check_token(Some(" ab12 ")).as_deref(), Some("ab12"));
        assert_eq!(check_token(Some(r#"{"other":1}"#)), None);
        assert_eq!(check_token(None), None);
    }

    #[test]
    fn amounts_and_prices_read_exactly() {
        let v = json!({"a": 25.1, "b": "270.00", "p": "35.000000", "q": "1.23456"});
        let n = Node {
            v: &v,
            path: "data",
        };
        assert_eq!(n.field("a").money().unwrap().cents(), 2510);
        assert_eq!(n.field("b").money().unwrap().cents(), 27000);
        assert_eq!(n.field("p").fixed4().unwrap().units(), 350_000);
        let e = n.field("q").fixed4().unwrap_err();
        assert!(e.en.contains("data.q"), "{e:?}");
    }
}
