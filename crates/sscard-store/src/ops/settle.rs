//! Medical settlement through the NHSA interface: the person's information (1101), visits
//! (2201 / 2401 and their cancellation, 2203, 2402), fee lines classified by the treatment
//! place's catalogue (2204 / 2301, cancelled by 2205 / 2302), pre-settlement and settlement
//! under the insured place's policy with the accumulators and the account moved in the same
//! transaction (2206 / 2207 / 2303 / 2304), cancellation (2208 / 2305), referral filings
//! (2501 / 2502), the cumulative figures (5206) and the reconciliations (3201 / 3202).
//!
//! Every function here runs inside the interface writer's transaction for one message
//! (`ops/interface.rs`) and returns the transaction's `output` as the interface's JSON.

use super::*;
use crate::fsi::{
    Certificate, DetailInput, FeeInput, ReferralInput, Registration, SettleInput, TotalsInput,
    VisitInfo,
};
use sscard_core::money::{Fixed4, Money};
use sscard_core::settlement::{
    Accumulators, CatalogueItem, FeeLine, ItemClass, LineResult, Settlement, Venue, Visit,
    classify_line, settle as settle_visit,
};
use sscard_ids::Bilingual;

pub(super) fn refuse(code: &'static str, zh: String, en: String) -> StoreError {
    StoreError::Refused { code, zh, en }
}

/// The calling institution, as settlement needs it.
#[derive(Clone)]
pub(super) struct Institution {
    pub(super) id: Uuid,
    pub(super) code: String,
    /// Its district.
    pub(super) region: String,
    kind: i32,
    level: Option<i32>,
    status: i32,
}

impl Institution {
    /// The treatment place: the institution's city.
    pub(super) fn city(&self) -> String {
        format!("{}00", &self.region[..4.min(self.region.len())])
    }

    fn venue(&self) -> Venue {
        if self.kind == 2 {
            Venue::Pharmacy
        } else {
            Venue::Hospital(u8::try_from(self.level.unwrap_or(1)).unwrap_or(1))
        }
    }
}

/// The institutions of a batch's messages, by code.
pub(super) async fn institutions_for_calls(
    tx: &mut Tx<'_>,
    codes: &std::collections::BTreeSet<&str>,
) -> Result<std::collections::HashMap<String, Institution>, StoreError> {
    let mut q = sqlx::QueryBuilder::<DB>::new(
        "SELECT id, code, region, kind, level, status FROM institutions WHERE code IN (",
    );
    let mut sep = q.separated(", ");
    for c in codes {
        sep.push_bind(*c);
    }
    q.push(")");
    let mut out = std::collections::HashMap::new();
    for r in q.build().fetch_all(&mut **tx).await? {
        let inst = Institution {
            id: r.try_get("id")?,
            code: r.try_get("code")?,
            region: r.try_get("region")?,
            kind: r.try_get("kind")?,
            level: r.try_get("level")?,
            status: r.try_get("status")?,
        };
        out.insert(inst.code.clone(), inst);
    }
    Ok(out)
}

/// A suspended or closed institution settles nothing.
pub(super) fn check_active(inst: &Institution) -> Result<(), StoreError> {
    if inst.status != 10 {
        return Err(refuse(
            "institution.not_active",
            format!("定点机构 {} 已暂停或关闭，不能办理结算", inst.code),
            format!(
                "institution {} is suspended or closed; it cannot settle",
                inst.code
            ),
        ));
    }
    Ok(())
}

/// The person a `psn_no` names.
async fn person_by_psn_no(tx: &mut Tx<'_>, psn_no: &str) -> Result<PersonRow, StoreError> {
    let row = sqlx::query(&format!(
        "{PERSON_SELECT} JOIN insured_persons ip ON ip.person_id = p.id WHERE ip.psn_no = $1"
    ))
    .bind(psn_no)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound {
        what: "psn_no",
        key: psn_no.to_owned(),
    })?;
    person_from_row(&row)
}

/// The person a `psn_no` names and their active enrolment in `insutype` — one statement.
async fn insured_by_psn_no(
    tx: &mut Tx<'_>,
    psn_no: &str,
    insutype: &str,
) -> Result<(PersonRow, Enrolled), StoreError> {
    let row = sqlx::query(&format!(
        "{} , (SELECT en.region FROM insurance_enrolments en WHERE en.person_id = p.id \
         AND en.insutype = $2 AND en.status = 'active') AS insured_region {} \
         JOIN insured_persons ip ON ip.person_id = p.id WHERE ip.psn_no = $1",
        PERSON_SELECT.split(" FROM ").next().unwrap_or_default(),
        PERSON_SELECT
            .find(" FROM ")
            .map_or("", |i| &PERSON_SELECT[i..]),
    ))
    .bind(psn_no)
    .bind(insutype)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound {
        what: "psn_no",
        key: psn_no.to_owned(),
    })?;
    let region: Option<String> = row.try_get("insured_region")?;
    let region = region.ok_or_else(|| not_enrolled(insutype))?;
    Ok((person_from_row(&row)?, Enrolled { region }))
}

/// The person's `psn_no`, issued at enrolment (or, for a person enrolled before, at the first
/// call that needs one).
pub(super) async fn psn_no_of(
    tx: &mut Tx<'_>,
    person_id: Uuid,
    at: DateTime<Utc>,
) -> Result<String, StoreError> {
    let known: Option<String> =
        sqlx::query_scalar("SELECT psn_no FROM insured_persons WHERE person_id = $1")
            .bind(person_id)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(p) = known {
        return Ok(p);
    }
    let n: i64 = sqlx::query_scalar(
        "INSERT INTO counters (name, value) VALUES ('psn_no', 1) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
    )
    .fetch_one(&mut **tx)
    .await?;
    let psn_no = format!("32{n:018}");
    sqlx::query("INSERT INTO insured_persons (person_id, psn_no, created_at) VALUES ($1, $2, $3)")
        .bind(person_id)
        .bind(&psn_no)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(psn_no)
}

fn not_enrolled(insutype: &str) -> StoreError {
    refuse(
        "insurance.not_enrolled",
        format!("该人员未参加险种 {insutype}（或已停保）"),
        format!("this person is not (or no longer) enrolled in insutype {insutype}"),
    )
}

/// An active enrolment.
struct Enrolled {
    region: String,
}

async fn enrolled(
    tx: &mut Tx<'_>,
    person_id: Uuid,
    insutype: &str,
) -> Result<Enrolled, StoreError> {
    let r = sqlx::query(
        "SELECT region FROM insurance_enrolments \
         WHERE person_id = $1 AND insutype = $2 AND status = 'active'",
    )
    .bind(person_id)
    .bind(insutype)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| not_enrolled(insutype))?;
    Ok(Enrolled {
        region: r.try_get("region")?,
    })
}

/// Local time at the treatment place (China Standard Time, no daylight saving).
pub(super) fn local(at: DateTime<Utc>) -> NaiveDateTime {
    (at + chrono::Duration::hours(8)).naive_utc()
}

use chrono::NaiveDateTime;

/// `yyyy-MM-dd HH:mm:ss`.
fn dt(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A number the platform issues (`mdtrt_id`, `setl_id`, `inf_refmsgid`): the region, the
/// local time to the second and a sequence of this process, started at a random value so two
/// processes rarely meet (the unique columns refuse it when they do).
pub(super) fn platform_number(region: &str, at: DateTime<Utc>, digits: u32) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: std::sync::OnceLock<AtomicU64> = std::sync::OnceLock::new();
    let seq = SEQ
        .get_or_init(|| AtomicU64::new(rand::random::<u64>() % 1_000_000_000))
        .fetch_add(1, Ordering::Relaxed);
    let modulus = 10u64.pow(digits);
    format!(
        "{region}{}{:0width$}",
        local(at).format("%Y%m%d%H%M%S"),
        seq % modulus,
        width = digits as usize
    )
}

// ---------------------------------------------------------------------------------------------
// 1101

/// 1101: who the person is and their insurance, by ID number or by a card checked online at
/// one of the institution's terminals in the last 30 minutes.
pub(super) async fn person_info(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    cert: &Certificate,
) -> Result<serde_json::Value, StoreError> {
    // The person and their active enrolments in one statement (one row per enrolment, or
    // one row without any).
    let enrolments = |by: &str| {
        format!(
            "{}, en.insutype, en.psn_type, en.region AS insured_region, en.begin_date, \
             en.employer AS enrolled_employer, acc.balance_cents, ip.psn_no {} \
             LEFT JOIN insurance_enrolments en ON en.person_id = p.id AND en.status = 'active' \
             LEFT JOIN insurance_accounts acc ON acc.person_id = p.id AND acc.insutype = en.insutype \
             LEFT JOIN insured_persons ip ON ip.person_id = p.id WHERE {by} ORDER BY en.insutype",
            PERSON_SELECT.split(" FROM ").next().unwrap_or_default(),
            PERSON_SELECT
                .find(" FROM ")
                .map_or("", |i| &PERSON_SELECT[i..]),
        )
    };
    let all = match cert {
        Certificate::IdNumber(id) => {
            sqlx::query(&enrolments("p.ssn = $1"))
                .bind(id.expose())
                .fetch_all(&mut **tx)
                .await?
        }
        Certificate::Card {
            number,
            card_sn,
            check_token,
        } => {
            let holder = card_holder(tx, ctx, inst, number, card_sn, check_token).await?;
            sqlx::query(&enrolments("p.id = $1"))
                .bind(holder)
                .fetch_all(&mut **tx)
                .await?
        }
    };
    let Some(first) = all.first() else {
        let key = match cert {
            Certificate::IdNumber(id) => id.masked(),
            Certificate::Card { number, .. } => mask_middle(number, 2, 2),
        };
        return Err(StoreError::NotFound {
            what: "person",
            key,
        });
    };
    let person = person_from_row(first)?;
    let rows: Vec<&DbRow> = all
        .iter()
        .filter(|r| {
            r.try_get::<Option<String>, _>("insutype")
                .ok()
                .flatten()
                .is_some()
        })
        .collect();
    if rows.is_empty() {
        return Err(refuse(
            "insurance.not_enrolled",
            "该人员没有有效的医保参保记录".into(),
            "this person has no active medical-insurance enrolment".into(),
        ));
    }
    let psn_no = match rows[0].try_get::<Option<String>, _>("psn_no")? {
        Some(p) => p,
        None => psn_no_of(tx, person.id, ctx.at).await?,
    };
    let mut insuinfo = Vec::new();
    for r in rows {
        insuinfo.push(json!({
            "balc": Money::from_cents(r.try_get::<Option<i64>, _>("balance_cents")?.unwrap_or(0)),
            "insutype": r.try_get::<String, _>("insutype")?,
            "psn_type": r.try_get::<String, _>("psn_type")?,
            "psn_insu_stas": "1",
            "psn_insu_date": r.try_get::<NaiveDate, _>("begin_date")?,
            "paus_insu_date": null,
            "cvlserv_flag": "0",
            "insuplc_admdvs": r.try_get::<String, _>("insured_region")?,
            "emp_name": r.try_get::<Option<String>, _>("enrolled_employer")?,
        }));
    }
    let today = local(ctx.at).date();
    let age = today.years_since(person.birth_date).unwrap_or(0);
    Ok(json!({
        "baseinfo": {
            "psn_no": psn_no,
            "psn_cert_type": "01",
            "certno": person.ssn,
            "psn_name": person.name,
            "gend": person.sex.to_string(),
            "brdy": person.birth_date,
            "age": age,
        },
        "insuinfo": insuinfo,
        "idetinfo": [],
    }))
}

/// The holder of a card shown at the institution: the card must be the person's live card
/// (normal, not superseded) with the identification code given, and checked online at one of
/// the institution's terminals within the token's 30 minutes.
async fn card_holder(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    number: &str,
    card_sn: &str,
    check_token: &str,
) -> Result<Uuid, StoreError> {
    let masked = mask_middle(number, 2, 2);
    let check = sqlx::query(
        "SELECT c.valid_until, t.institution_id FROM terminal_checks c \
         JOIN terminals t ON t.id = c.terminal_id \
         WHERE c.token_hash = $1 AND c.card_number = $2",
    )
    .bind(token_digest(check_token))
    .bind(number)
    .fetch_optional(&mut **tx)
    .await?;
    let fresh = match &check {
        Some(r) => {
            let until: Option<DateTime<Utc>> = r.try_get("valid_until")?;
            let at: Uuid = r.try_get("institution_id")?;
            at == inst.id && until.is_some_and(|u| u > ctx.at)
        }
        None => false,
    };
    if !fresh {
        return Err(refuse(
            "card.not_checked",
            format!("卡 {masked} 未在本机构终端联机验卡，或验卡已超过 30 分钟：请重新读卡"),
            format!(
                "card {masked} was not checked online at this institution's terminal in the last 30 minutes: read it again"
            ),
        ));
    }
    let card = sqlx::query(
        "SELECT person_id, card_id_code, ss_status, superseded_by FROM cards WHERE card_number = $1",
    )
    .bind(number)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound {
        what: "card",
        key: masked.clone(),
    })?;
    let code: Option<String> = card.try_get("card_id_code")?;
    if code.as_deref() != Some(card_sn) {
        return Err(refuse(
            "card.sn_mismatch",
            format!("卡识别码与卡 {masked} 不符"),
            format!("the card identification code does not match card {masked}"),
        ));
    }
    let status: i16 = card.try_get("ss_status")?;
    let superseded: Option<String> = card.try_get("superseded_by")?;
    let refusal = match (status, superseded.is_some()) {
        (_, true) => Some((
            "card.superseded",
            "已被新卡替代",
            "has been superseded by a newer card",
        )),
        (1, false) => None,
        (2 | 4, false) => Some(("card.lost", "已挂失", "is reported lost")),
        (9, false) => Some(("card.cancelled", "已注销", "is cancelled")),
        (3, false) => Some(("card.locked", "已锁定", "is locked")),
        _ => Some(("card.not_enabled", "尚未启用", "is not enabled yet")),
    };
    if let Some((code, zh, en)) = refusal {
        return Err(refuse(
            code,
            format!("卡 {masked} {zh}，不能用于医保结算"),
            format!("card {masked} {en}; it cannot be used for settlement"),
        ));
    }
    Ok(card.try_get("person_id")?)
}

// ---------------------------------------------------------------------------------------------
// Visits

/// A visit as settlement reads it.
struct VisitRow {
    id: Uuid,
    mdtrt_id: String,
    institution_id: Uuid,
    person_id: Uuid,
    insutype: String,
    kind: i32,
    med_type: String,
    insured_region: String,
    treatment_region: String,
    emergency: bool,
    begntime: NaiveDateTime,
    status: String,
}

/// The visit `mdtrt_id` of the person `psn_no`, locked, if the institution may see it.
async fn visit_for(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    mdtrt_id: &str,
    psn_no: &str,
) -> Result<VisitRow, StoreError> {
    let _ = inst;
    Ok(visit_row(tx, ctx, mdtrt_id, psn_no, None).await?.0)
}

/// The sums of a visit's unsettled lines, the person's `psn_type` and the year's figures, as
/// columns beside the visit's (`$2` the year, `$3` the deductible's `med_type`, none: the
/// visit's).
const SUMS_AND_FIGURES: &str = ", \
    (SELECT COUNT(*) FROM fee_lines f WHERE f.visit_id = v.id AND f.status = 'active' \
     AND f.settlement_id IS NULL) AS n, \
    (SELECT CAST(COALESCE(SUM(f.amount_cents), 0) AS BIGINT) FROM fee_lines f \
     WHERE f.visit_id = v.id AND f.status = 'active' AND f.settlement_id IS NULL) AS amount, \
    (SELECT CAST(COALESCE(SUM(f.fulamt_ownpay_cents), 0) AS BIGINT) FROM fee_lines f \
     WHERE f.visit_id = v.id AND f.status = 'active' AND f.settlement_id IS NULL) AS fulamt, \
    (SELECT CAST(COALESCE(SUM(f.overlmt_cents), 0) AS BIGINT) FROM fee_lines f \
     WHERE f.visit_id = v.id AND f.status = 'active' AND f.settlement_id IS NULL) AS overlmt, \
    (SELECT CAST(COALESCE(SUM(f.preselfpay_cents), 0) AS BIGINT) FROM fee_lines f \
     WHERE f.visit_id = v.id AND f.status = 'active' AND f.settlement_id IS NULL) AS preselfpay, \
    (SELECT CAST(COALESCE(SUM(f.inscp_cents), 0) AS BIGINT) FROM fee_lines f \
     WHERE f.visit_id = v.id AND f.status = 'active' AND f.settlement_id IS NULL) AS inscp, \
    (SELECT e.psn_type FROM insurance_enrolments e WHERE e.person_id = v.person_id \
     AND e.insutype = v.insutype AND e.status = 'active') AS psn_type, \
    (SELECT y.pool_paid_cents FROM insurance_years y WHERE y.person_id = v.person_id \
     AND y.insutype = v.insutype AND y.year = $2) AS pool, \
    (SELECT y.tier_paid_cents FROM insurance_years y WHERE y.person_id = v.person_id \
     AND y.insutype = v.insutype AND y.year = $2) AS tier, \
    (SELECT d.used_cents FROM insurance_deductibles d WHERE d.person_id = v.person_id \
     AND d.insutype = v.insutype AND d.year = $2 AND d.med_type = COALESCE($3, v.med_type)) AS used, \
    (SELECT a.balance_cents FROM insurance_accounts a WHERE a.person_id = v.person_id \
     AND a.insutype = v.insutype) AS balance";

/// The visit `mdtrt_id` of the person `psn_no` (locked), if the actor may see it; with
/// `sums` (the year, the deductible's `med_type`) also the columns of [`SUMS_AND_FIGURES`] in
/// the same statement.
async fn visit_row(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    mdtrt_id: &str,
    psn_no: &str,
    sums: Option<(i32, Option<&str>)>,
) -> Result<(VisitRow, DbRow), StoreError> {
    let extra = if sums.is_some() { SUMS_AND_FIGURES } else { "" };
    let sql = format!(
        "SELECT v.id, v.mdtrt_id, v.institution_id, v.person_id, v.insutype, v.kind, v.med_type, \
         v.insured_region, v.treatment_region, v.emergency, v.begntime, v.status, ip.psn_no, \
         i.code AS institution_code{extra} \
         FROM medical_visits v JOIN institutions i ON i.id = v.institution_id \
         JOIN insured_persons ip ON ip.person_id = v.person_id \
         WHERE v.mdtrt_id = $1{FOR_UPDATE}"
    );
    let mut q = sqlx::query(&sql).bind(mdtrt_id);
    if let Some((year, med_type)) = sums {
        q = q.bind(year).bind(med_type);
    }
    let r = q
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "mdtrt_id",
            key: mdtrt_id.to_owned(),
        })?;
    let owner: String = r.try_get("institution_code")?;
    ctx.actor.check_at_institution(&owner)?;
    let its: Option<String> = r.try_get("psn_no")?;
    if its.as_deref() != Some(psn_no) {
        return Err(refuse(
            "visit.psn_mismatch",
            format!("就诊 {mdtrt_id} 不属于人员编号 {psn_no}"),
            format!("visit {mdtrt_id} does not belong to psn_no {psn_no}"),
        ));
    }
    let v = VisitRow {
        id: r.try_get("id")?,
        mdtrt_id: r.try_get("mdtrt_id")?,
        institution_id: r.try_get("institution_id")?,
        person_id: r.try_get("person_id")?,
        insutype: r.try_get("insutype")?,
        kind: r.try_get("kind")?,
        med_type: r.try_get("med_type")?,
        insured_region: r.try_get("insured_region")?,
        treatment_region: r.try_get("treatment_region")?,
        emergency: r.try_get("emergency")?,
        begntime: r.try_get("begntime")?,
        status: r.try_get("status")?,
    };
    Ok((v, r))
}

/// A visit's unsettled lines summed (as one line), their number, the person's `psn_type` in
/// the visit's insutype, and the year's figures with whether the year's row exists.
type Sums = (LineResult, i64, Option<String>, (Accumulators, bool));

/// The sums, `psn_type` and figures read by [`visit_row`] with `sums`.
fn sums_of(r: &DbRow) -> Result<Sums, StoreError> {
    let c = |k: &str| -> Result<Money, StoreError> { Ok(Money::from_cents(r.try_get(k)?)) };
    let o = |k: &str| -> Result<Option<i64>, StoreError> { Ok(r.try_get(k)?) };
    let pool = o("pool")?;
    let acc = Accumulators {
        deductible_used: Money::from_cents(o("used")?.unwrap_or(0)),
        pool_paid: Money::from_cents(pool.unwrap_or(0)),
        tier_paid: Money::from_cents(o("tier")?.unwrap_or(0)),
        balance: Money::from_cents(o("balance")?.unwrap_or(0)),
    };
    Ok((
        LineResult {
            det_item_fee_sumamt: c("amount")?,
            fulamt_ownpay_amt: c("fulamt")?,
            overlmt_amt: c("overlmt")?,
            preselfpay_amt: c("preselfpay")?,
            inscp_scp_amt: c("inscp")?,
        },
        r.try_get("n")?,
        r.try_get("psn_type")?,
        (acc, pool.is_some()),
    ))
}

fn visit_closed(v: &VisitRow) -> StoreError {
    refuse(
        "visit.closed",
        format!("就诊 {} 已{}", v.mdtrt_id, status_zh(&v.status)),
        format!("visit {} is {}", v.mdtrt_id, v.status),
    )
}

fn status_zh(s: &str) -> &'static str {
    match s {
        "settled" => "结算",
        "cancelled" => "撤销",
        "discharged" => "出院",
        _ => "登记",
    }
}

/// Whether `med_type` is an emergency (急诊 13, 急诊转住院 24).
fn is_emergency(med_type: &str) -> bool {
    matches!(med_type, "13" | "24")
}

/// 2201 / 2401: opens a visit for an enrolled person.
pub(super) async fn register(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    r: &Registration,
    inpatient: bool,
) -> Result<(serde_json::Value, serde_json::Value), StoreError> {
    let med_type = r.med_type.clone().unwrap_or_else(|| {
        if inpatient {
            "21".into()
        } else if inst.kind == 2 {
            "41".into()
        } else {
            "11".into()
        }
    });
    let card_number = (r.cert_type == "03").then(|| r.cert_no.clone());
    let mdtrt_id = platform_number(&inst.city(), ctx.at, 8);
    // One statement: the person by `psn_no` and their active enrolment in the insutype, or
    // nothing inserted (then the reason is looked up).
    let inserted = sqlx::query(
        "INSERT INTO medical_visits (id, mdtrt_id, institution_id, person_id, insutype, kind, \
         med_type, insured_region, treatment_region, ipt_otp_no, cert_type, card_number, \
         emergency, dise_codg, dise_name, begntime, endtime, status, created_at, updated_at) \
         SELECT $1, $2, $3, ip.person_id, $4, $5, $6, en.region, $7, $8, $9, $10, $11, $12, $13, \
         $14, NULL, 'open', $15, $15 FROM insured_persons ip \
         JOIN insurance_enrolments en ON en.person_id = ip.person_id AND en.insutype = $4 \
         AND en.status = 'active' WHERE ip.psn_no = $16",
    )
    .bind(Uuid::now_v7())
    .bind(&mdtrt_id)
    .bind(inst.id)
    .bind(&r.insutype)
    .bind(if inpatient { 2_i32 } else { 1 })
    .bind(&med_type)
    .bind(inst.city())
    .bind(&r.ipt_otp_no)
    .bind(&r.cert_type)
    .bind(&card_number)
    .bind(r.emergency || is_emergency(&med_type))
    .bind(&r.dise_codg)
    .bind(&r.dise_name)
    .bind(r.begntime)
    .bind(ctx.at)
    .bind(&r.psn_no)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // Unknown psn_no, or not enrolled: the lookup says which.
        insured_by_psn_no(tx, &r.psn_no, &r.insutype).await?;
        return Err(not_enrolled(&r.insutype));
    }
    let node = if inpatient { "result" } else { "data" };
    Ok((
        json!({ node: { "mdtrt_id": mdtrt_id, "psn_no": r.psn_no, "ipt_otp_no": r.ipt_otp_no } }),
        json!({ "visit": mdtrt_id }),
    ))
}

/// 2202 / 2404: cancels a visit on which nothing is settled; its lines go with it.
pub(super) async fn cancel_visit(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    mdtrt_id: &str,
    psn_no: &str,
) -> Result<serde_json::Value, StoreError> {
    let v = visit_for(tx, ctx, inst, mdtrt_id, psn_no).await?;
    if v.status == "settled" || v.status == "cancelled" {
        return Err(if v.status == "settled" {
            refuse(
                "visit.settled",
                format!("就诊 {mdtrt_id} 已结算：请先撤销结算"),
                format!("visit {mdtrt_id} is settled: cancel the settlement first"),
            )
        } else {
            visit_closed(&v)
        });
    }
    sqlx::query("UPDATE fee_lines SET status = 'cancelled' WHERE visit_id = $1")
        .bind(v.id)
        .execute(&mut **tx)
        .await?;
    set_visit_status(tx, v.id, "cancelled", ctx.at).await?;
    Ok(json!({}))
}

async fn set_visit_status(
    tx: &mut Tx<'_>,
    id: Uuid,
    status: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE medical_visits SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status)
        .bind(at)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// 2203: the visit's `med_type` and diagnosis.
pub(super) async fn visit_info(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    info: &VisitInfo,
) -> Result<serde_json::Value, StoreError> {
    let v = visit_for(tx, ctx, inst, &info.mdtrt_id, &info.psn_no).await?;
    if v.status != "open" {
        return Err(visit_closed(&v));
    }
    sqlx::query(
        "UPDATE medical_visits SET med_type = $1, dise_codg = $2, dise_name = $3, \
         emergency = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(&info.med_type)
    .bind(&info.dise_codg)
    .bind(&info.dise_name)
    .bind(v.emergency || is_emergency(&info.med_type))
    .bind(ctx.at)
    .bind(v.id)
    .execute(&mut **tx)
    .await?;
    Ok(json!({}))
}

/// 2402: discharge; the stay can then be settled.
pub(super) async fn discharge(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    mdtrt_id: &str,
    psn_no: &str,
    endtime: NaiveDateTime,
) -> Result<serde_json::Value, StoreError> {
    let v = visit_for(tx, ctx, inst, mdtrt_id, psn_no).await?;
    if v.kind != 2 {
        return Err(refuse(
            "visit.not_inpatient",
            format!("就诊 {mdtrt_id} 不是住院"),
            format!("visit {mdtrt_id} is not an inpatient stay"),
        ));
    }
    if v.status != "open" {
        return Err(visit_closed(&v));
    }
    if endtime < v.begntime {
        return Err(refuse(
            "visit.endtime",
            format!("出院时间 {} 早于入院时间 {}", dt(endtime), dt(v.begntime)),
            format!(
                "discharge {} is before admission {}",
                dt(endtime),
                dt(v.begntime)
            ),
        ));
    }
    sqlx::query(
        "UPDATE medical_visits SET endtime = $1, status = 'discharged', updated_at = $2 WHERE id = $3",
    )
    .bind(endtime)
    .bind(ctx.at)
    .bind(v.id)
    .execute(&mut **tx)
    .await?;
    Ok(json!({}))
}

// ---------------------------------------------------------------------------------------------
// Fee lines

/// 2204 / 2301: records and classifies the lines by the treatment place's catalogue; answers
/// each line's classification. Every line belongs to one open visit of the institution.
pub(super) async fn upload_fees(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    lines: &[FeeInput],
    inpatient: bool,
) -> Result<(serde_json::Value, serde_json::Value), StoreError> {
    let Some(first) = lines.first() else {
        return Err(refuse(
            "fees.empty",
            "费用明细为空".into(),
            "no fee lines were sent".into(),
        ));
    };
    let v = visit_for(tx, ctx, inst, &first.mdtrt_id, &first.psn_no).await?;
    if (v.kind == 2) != inpatient {
        let (zh, en) = if inpatient {
            (
                "门诊就诊请用 2204 上传费用",
                "an outpatient visit's fees go by 2204",
            )
        } else {
            (
                "住院就诊请用 2301 上传费用",
                "an inpatient stay's fees go by 2301",
            )
        };
        return Err(refuse("fees.wrong_transaction", zh.into(), en.into()));
    }
    if v.status != "open" {
        return Err(visit_closed(&v));
    }
    for (i, l) in lines.iter().enumerate() {
        if l.mdtrt_id != v.mdtrt_id {
            return Err(refuse(
                "fees.mixed_visits",
                format!("第 {} 条明细属于另一次就诊 {}", i + 1, l.mdtrt_id),
                format!("line {} belongs to another visit {}", i + 1, l.mdtrt_id),
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(l) = lines.iter().find(|l| !seen.insert(l.feedetl_sn.as_str())) {
        return Err(duplicate_line(&l.feedetl_sn));
    }
    let codes: Vec<&str> = lines.iter().map(|l| l.med_list_codg.as_str()).collect();
    let sns: Vec<&str> = lines.iter().map(|l| l.feedetl_sn.as_str()).collect();
    let (catalogue, uploaded) =
        catalogue_items(tx, &v.treatment_region, &codes, v.id, &sns).await?;
    if let Some(sn) = uploaded.first() {
        return Err(duplicate_line(sn));
    }
    let mut out = Vec::with_capacity(lines.len());
    let mut sns = Vec::with_capacity(lines.len());
    let mut classified = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let item = catalogue.get(&l.med_list_codg).cloned();
        let line = FeeLine {
            pric: l.pric,
            cnt: l.cnt,
            amount: l.amount,
        };
        let r = classify_line(&line, item.as_ref()).map_err(|e| {
            refuse(
                e.code(),
                format!("第 {} 条明细（{}）：{}", i + 1, l.feedetl_sn, e.zh()),
                format!("line {} ({}): {}", i + 1, l.feedetl_sn, e.en()),
            )
        })?;
        sns.push(l.feedetl_sn.clone());
        out.push(line_output(&l.feedetl_sn, l, item.as_ref(), &r));
        classified.push((l, item, r));
    }
    insert_lines(tx, v.id, &classified, ctx.at).await?;
    Ok((
        json!({ "result": out }),
        json!({ "fees": { "mdtrt_id": v.mdtrt_id, "feedetl_sn": sns } }),
    ))
}

/// The classified lines, in one statement (per 500), after every check: atomic without a
/// savepoint.
async fn insert_lines(
    tx: &mut Tx<'_>,
    visit_id: Uuid,
    classified: &[(&FeeInput, Option<CatalogueItem>, LineResult)],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    // 19 binds a line; 500 lines stay below every backend's bind limit.
    for chunk in classified.chunks(500) {
        let mut insert = sqlx::QueryBuilder::<DB>::new(
            "INSERT INTO fee_lines (visit_id, feedetl_sn, chrg_bchno, med_list_codg, \
             medins_list_codg, fee_ocur_time, pric_units, cnt_units, amount_cents, class, \
             selfpay_prop, price_cap_cents, fulamt_ownpay_cents, overlmt_cents, \
             preselfpay_cents, inscp_cents, status, settlement_id, created_at) ",
        );
        insert.push_values(chunk, |mut b, (l, item, r)| {
            b.push_bind(visit_id)
                .push_bind(&l.feedetl_sn)
                .push_bind(&l.chrg_bchno)
                .push_bind(&l.med_list_codg)
                .push_bind(&l.medins_list_codg)
                .push_bind(l.fee_ocur_time)
                .push_bind(l.pric.units())
                .push_bind(l.cnt.units())
                .push_bind(l.amount.cents())
                .push_bind(item.as_ref().map(|i| i.class.code()))
                .push_bind(item.as_ref().map_or(0, |i| i.selfpay_prop.units()) as i32)
                .push_bind(item.as_ref().and_then(|i| i.price_cap).map(Money::cents))
                .push_bind(r.fulamt_ownpay_amt.cents())
                .push_bind(r.overlmt_amt.cents())
                .push_bind(r.preselfpay_amt.cents())
                .push_bind(r.inscp_scp_amt.cents())
                .push_bind("active")
                .push_bind(None::<Uuid>)
                .push_bind(at);
        });
        // One statement, after every check: atomic without a savepoint.
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

fn duplicate_line(sn: &str) -> StoreError {
    refuse(
        "fees.duplicate_sn",
        format!("明细流水号 {sn} 重复或已在本次就诊中上传：每条明细的 feedetl_sn 须唯一"),
        format!(
            "fee line {sn} repeats or was already uploaded for this visit: each feedetl_sn must be unique"
        ),
    )
}

fn line_output(
    sn: &str,
    l: &FeeInput,
    item: Option<&CatalogueItem>,
    r: &LineResult,
) -> serde_json::Value {
    json!({
        "feedetl_sn": sn,
        "det_item_fee_sumamt": r.det_item_fee_sumamt,
        "cnt": l.cnt.to_string(),
        "pric": l.pric.to_string(),
        "pric_uplmt_amt": item.and_then(|i| i.price_cap),
        "selfpay_prop": item.map_or(Fixed4::ONE, |i| match i.class {
            ItemClass::C => Fixed4::ONE,
            _ => i.selfpay_prop,
        }).to_string(),
        "fulamt_ownpay_amt": r.fulamt_ownpay_amt,
        "overlmt_amt": r.overlmt_amt,
        "preselfpay_amt": r.preselfpay_amt,
        "inscp_scp_amt": r.inscp_scp_amt,
        "chrgitm_lv": item.map(|i| i.class.code()),
        "lmt_used_flag": if item.and_then(|i| i.price_cap).is_some() { "1" } else { "0" },
        "memo": if item.is_none() { "目录外项目，全自费 / not in the catalogue: paid in full by the person" } else { "" },
    })
}

/// The catalogue's entries for the codes, and which of the `feedetl_sn`s the visit already
/// has — one statement.
async fn catalogue_items(
    tx: &mut Tx<'_>,
    region: &str,
    codes: &[&str],
    visit_id: Uuid,
    sns: &[&str],
) -> Result<
    (
        std::collections::HashMap<String, CatalogueItem>,
        Vec<String>,
    ),
    StoreError,
> {
    let mut q = sqlx::QueryBuilder::<DB>::new(
        "SELECT 'item' AS kind, code, class, selfpay_prop, price_cap_cents FROM catalogue_items \
         WHERE region = ",
    );
    q.push_bind(region).push(" AND code IN (");
    let mut sep = q.separated(", ");
    for c in codes {
        sep.push_bind(*c);
    }
    q.push(") UNION ALL SELECT 'line', feedetl_sn, NULL, 0, NULL FROM fee_lines WHERE visit_id = ");
    q.push_bind(visit_id).push(" AND feedetl_sn IN (");
    let mut sep = q.separated(", ");
    for s in sns {
        sep.push_bind(*s);
    }
    q.push(")");
    let mut items = std::collections::HashMap::new();
    let mut uploaded = Vec::new();
    for r in q.build().fetch_all(&mut **tx).await? {
        let kind: String = r.try_get("kind")?;
        if kind == "line" {
            uploaded.push(r.try_get("code")?);
            continue;
        }
        let class: Option<String> = r.try_get("class")?;
        items.insert(
            r.try_get("code")?,
            CatalogueItem {
                class: class
                    .as_deref()
                    .and_then(ItemClass::from_code)
                    .unwrap_or(ItemClass::C),
                selfpay_prop: Fixed4::from_units(i64::from(r.try_get::<i32, _>("selfpay_prop")?)),
                price_cap: r
                    .try_get::<Option<i64>, _>("price_cap_cents")?
                    .map(Money::from_cents),
            },
        );
    }
    Ok((items, uploaded))
}

/// 2205 / 2302: cancels a visit's unsettled lines: all (`feedetl_sn` `0000` or nothing
/// given), one charge batch, or one line.
pub(super) async fn cancel_fees(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    mdtrt_id: &str,
    psn_no: &str,
    chrg_bchno: Option<&str>,
    feedetl_sn: &[String],
) -> Result<serde_json::Value, StoreError> {
    let v = visit_for(tx, ctx, inst, mdtrt_id, psn_no).await?;
    if v.status != "open" && v.status != "discharged" {
        return Err(visit_closed(&v));
    }
    let n = if feedetl_sn.is_empty() || feedetl_sn.iter().any(|s| s == "0000") {
        sqlx::query(
            "UPDATE fee_lines SET status = 'cancelled' WHERE visit_id = $1 AND status = 'active' \
             AND settlement_id IS NULL AND ($2 IS NULL OR chrg_bchno = $2)",
        )
        .bind(v.id)
        .bind(chrg_bchno)
        .execute(&mut **tx)
        .await?
        .rows_affected()
    } else {
        cancel_lines(tx, mdtrt_id, feedetl_sn).await?
    };
    Ok(json!({ "result": { "cancelled_lines": n } }))
}

// ---------------------------------------------------------------------------------------------
// Settlement

/// The policy for `med_type`, or its family's when it has none of its own (13 → 11, 24 → 21).
async fn policy_of(
    tx: &mut Tx<'_>,
    region: &str,
    year: i32,
    insutype: &str,
    med_type: &str,
) -> Result<sscard_core::settlement::Policy, StoreError> {
    let family = format!("{}1", &med_type[..1.min(med_type.len())]);
    for m in [med_type, family.as_str()] {
        let r = sqlx::query(&format!(
            "SELECT {} FROM settlement_policies \
             WHERE region = $1 AND year = $2 AND insutype = $3 AND med_type = $4",
            super::insurance::POLICY_COLUMNS
        ))
        .bind(region)
        .bind(year)
        .bind(insutype)
        .bind(m)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(r) = r {
            return super::insurance::policy_from_row(&r);
        }
    }
    Err(refuse(
        "settlement.no_policy",
        format!("参保地 {region} 没有 {year} 年险种 {insutype} 医疗类别 {med_type} 的结算政策"),
        format!(
            "the insured place {region} has no {year} policy for insutype {insutype}, med_type {med_type}"
        ),
    ))
}

/// The accumulators of the person's year, locked for the settlement (rows created at zero).
async fn accumulators(
    tx: &mut Tx<'_>,
    person_id: Uuid,
    insutype: &str,
    year: i32,
    med_type: &str,
    lock: bool,
) -> Result<Accumulators, StoreError> {
    // One statement: the year's row (locked: it serialises the person's settlements of the
    // year), the deductible used and the balance beside it.
    let lock_sql = if lock { FOR_UPDATE } else { "" };
    let row = sqlx::query(&format!(
        "SELECT y.pool_paid_cents, y.tier_paid_cents, \
         (SELECT d.used_cents FROM insurance_deductibles d WHERE d.person_id = y.person_id \
          AND d.insutype = y.insutype AND d.year = y.year AND d.med_type = $4) AS used_cents, \
         (SELECT a.balance_cents FROM insurance_accounts a WHERE a.person_id = y.person_id \
          AND a.insutype = y.insutype) AS balance_cents \
         FROM insurance_years y WHERE y.person_id = $1 AND y.insutype = $2 AND y.year = $3{lock_sql}"
    ))
    .bind(person_id)
    .bind(insutype)
    .bind(year)
    .bind(med_type)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(r) = row {
        return Ok(Accumulators {
            deductible_used: Money::from_cents(
                r.try_get::<Option<i64>, _>("used_cents")?.unwrap_or(0),
            ),
            pool_paid: Money::from_cents(r.try_get("pool_paid_cents")?),
            tier_paid: Money::from_cents(r.try_get("tier_paid_cents")?),
            balance: Money::from_cents(r.try_get::<Option<i64>, _>("balance_cents")?.unwrap_or(0)),
        });
    }
    // Nothing paid this year yet: a settlement creates the year's row (and holds it); a
    // pre-settlement writes nothing.
    if lock {
        sqlx::query(
            "INSERT INTO insurance_years (person_id, insutype, year) VALUES ($1, $2, $3) \
             ON CONFLICT (person_id, insutype, year) DO NOTHING",
        )
        .bind(person_id)
        .bind(insutype)
        .bind(year)
        .execute(&mut **tx)
        .await?;
    }
    let used: Option<i64> = sqlx::query_scalar(
        "SELECT used_cents FROM insurance_deductibles \
         WHERE person_id = $1 AND insutype = $2 AND year = $3 AND med_type = $4",
    )
    .bind(person_id)
    .bind(insutype)
    .bind(year)
    .bind(med_type)
    .fetch_optional(&mut **tx)
    .await?;
    let balance: Option<i64> = sqlx::query_scalar(
        "SELECT balance_cents FROM insurance_accounts WHERE person_id = $1 AND insutype = $2",
    )
    .bind(person_id)
    .bind(insutype)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(Accumulators {
        balance: Money::from_cents(balance.unwrap_or(0)),
        deductible_used: Money::from_cents(used.unwrap_or(0)),
        ..Accumulators::default()
    })
}

/// Writes that go together: on SQLite one call to the connection (several statements, their
/// arguments in order), on PostgreSQL one statement each.
struct Writes {
    parts: Vec<sqlx::QueryBuilder<'static, DB>>,
}

impl Writes {
    fn new() -> Writes {
        Writes { parts: Vec::new() }
    }

    /// Starts the next statement with `sql`; binds and SQL pushed after it belong to it.
    fn stmt(&mut self, sql: &str) -> &mut sqlx::QueryBuilder<'static, DB> {
        if MULTI_STATEMENT && !self.parts.is_empty() {
            let last = self.parts.len() - 1;
            let q = &mut self.parts[last];
            q.push("; ");
            q.push(sql);
            return q;
        }
        self.parts.push(sqlx::QueryBuilder::new(sql));
        let last = self.parts.len() - 1;
        &mut self.parts[last]
    }

    /// Runs the writes. They come after every check, so a database refusal here (a constraint)
    /// is a failure, not an answer: the batch's transaction rolls back and nothing is half
    /// written, without a savepoint per message.
    async fn run(mut self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        for q in &mut self.parts {
            q.build()
                .execute(&mut **tx)
                .await
                .map_err(StoreError::from)
                .map_err(|e| {
                    if e.is_refusal() {
                        StoreError::Database {
                            detail: format!("settlement writes refused: {e:?}"),
                        }
                    } else {
                        e
                    }
                })?;
        }
        Ok(())
    }
}

/// Moves the accumulators and the account by a settlement (or, negated, its cancellation).
fn push_accumulators(
    w: &mut Writes,
    person_id: Uuid,
    insutype: &str,
    year: i32,
    med_type: &str,
    s: &Settlement,
    at: DateTime<Utc>,
) {
    w.stmt("UPDATE insurance_years SET pool_paid_cents = pool_paid_cents + ")
        .push_bind(s.hifp_pay.cents())
        .push(", tier_paid_cents = tier_paid_cents + ")
        .push_bind(s.tier().cents())
        .push(", version = version + 1 WHERE person_id = ")
        .push_bind(person_id)
        .push(" AND insutype = ")
        .push_bind(insutype.to_owned())
        .push(" AND year = ")
        .push_bind(year);
    if s.act_pay_dedc != Money::ZERO {
        w.stmt(
            "INSERT INTO insurance_deductibles (person_id, insutype, year, med_type, used_cents) VALUES (",
        )
        .push_bind(person_id)
        .push(", ")
        .push_bind(insutype.to_owned())
        .push(", ")
        .push_bind(year)
        .push(", ")
        .push_bind(med_type.to_owned())
        .push(", ")
        .push_bind(s.act_pay_dedc.cents())
        .push(
            ") ON CONFLICT (person_id, insutype, year, med_type) \
             DO UPDATE SET used_cents = insurance_deductibles.used_cents + excluded.used_cents",
        );
    }
    if s.acct_pay != Money::ZERO {
        w.stmt("UPDATE insurance_accounts SET balance_cents = balance_cents - ")
            .push_bind(s.acct_pay.cents())
            .push(", updated_at = ")
            .push_bind(at)
            .push(", version = version + 1 WHERE person_id = ")
            .push_bind(person_id)
            .push(" AND insutype = ")
            .push_bind(insutype.to_owned());
    }
}

fn push_visit_status(w: &mut Writes, id: Uuid, status: &str, at: DateTime<Utc>) {
    w.stmt("UPDATE medical_visits SET status = ")
        .push_bind(status.to_owned())
        .push(", updated_at = ")
        .push_bind(at)
        .push(" WHERE id = ")
        .push_bind(id);
}

/// The policy's deductible key: the visit's `med_type`, or its family's when the policy has
/// no table of its own for it. The deductible used is kept under the visit's own `med_type`.
fn clr_type(med_type: &str, pharmacy: bool) -> &'static str {
    if pharmacy || med_type.starts_with('4') {
        "41"
    } else if med_type.starts_with('2') {
        "21"
    } else {
        "11"
    }
}

/// Whether the visit may be settled now: an open outpatient visit, a discharged stay (or an
/// open one for an interim settlement), of the insutype asked.
fn ready_to_settle(v: &VisitRow, input: &SettleInput) -> Result<(), StoreError> {
    let ready = match (v.kind, v.status.as_str()) {
        (1, "open") | (2, "discharged") => true,
        (2, "open") => input.interim,
        _ => false,
    };
    if !ready {
        return Err(if v.kind == 2 && v.status == "open" {
            refuse(
                "visit.not_discharged",
                format!(
                    "住院 {} 尚未办理出院（2402）：中途结算请传 mid_setl_flag=1",
                    v.mdtrt_id
                ),
                format!(
                    "stay {} is not discharged (2402); for an interim settlement send mid_setl_flag=1",
                    v.mdtrt_id
                ),
            )
        } else {
            visit_closed(v)
        });
    }
    if input.insutype != v.insutype {
        return Err(refuse(
            "settlement.insutype",
            format!("险种 {} 与就诊登记的 {} 不符", input.insutype, v.insutype),
            format!(
                "insutype {} is not the visit's {}",
                input.insutype, v.insutype
            ),
        ));
    }
    Ok(())
}

/// What a settlement reads: the visit (locked) and its sums and the person's figures — in one
/// statement with SQLite's one writer; with PostgreSQL's row locks, the year's row locked first.
async fn read_for_settlement(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    input: &SettleInput,
    year: i32,
    commit: bool,
) -> Result<(VisitRow, Sums), StoreError> {
    if FOR_UPDATE.is_empty() {
        // One writer (SQLite): the visit, its lines' sums and the person's figures in one
        // statement.
        let (v, row) = visit_row(
            tx,
            ctx,
            &input.mdtrt_id,
            &input.psn_no,
            Some((year, input.med_type.as_deref())),
        )
        .await?;
        Ok((v, sums_of(&row)?))
    } else {
        let v = visit_for(tx, ctx, inst, &input.mdtrt_id, &input.psn_no).await?;
        if commit {
            // Row locks (PostgreSQL): the year's row, first, serialises the person's
            // settlements.
            lock_year(tx, v.person_id, &v.insutype, year).await?;
        }
        let med_type = input.med_type.clone().unwrap_or_else(|| v.med_type.clone());
        let sums = unsettled_sum(tx, &v, year, &med_type).await?;
        Ok((v, sums))
    }
}

/// 2206 / 2303 (`commit` false: computes, changes nothing) and 2207 / 2304 (settles: the
/// settlement recorded, the lines marked, the accumulators and the account moved, all in this
/// transaction).
#[allow(clippy::too_many_arguments)]
pub(super) async fn settle(
    tx: &mut Tx<'_>,
    state: &mut super::interface::Batch,
    ctx: &Ctx,
    inst: &Institution,
    input: &SettleInput,
    msgid: &str,
    commit: bool,
    audit: &mut Audit,
) -> Result<(serde_json::Value, Option<serde_json::Value>), StoreError> {
    let setl_local = local(ctx.at);
    let year = setl_local.year();
    let (v, (lines, count, psn_type, acc)) =
        read_for_settlement(tx, ctx, inst, input, year, commit).await?;
    ready_to_settle(&v, input)?;
    let med_type = input.med_type.clone().unwrap_or_else(|| v.med_type.clone());
    let medfee = lines.det_item_fee_sumamt;
    if count == 0 || medfee != input.medfee_sumamt {
        return Err(refuse(
            "settlement.sum_mismatch",
            format!(
                "医疗费总额 {} 与已上传未结算明细合计 {}（{} 条）不符",
                input.medfee_sumamt, medfee, count
            ),
            format!(
                "medfee_sumamt {} is not the sum {} of the {} unsettled lines uploaded",
                input.medfee_sumamt, medfee, count
            ),
        ));
    }
    let Some(psn_type) = psn_type else {
        return Err(not_enrolled(&v.insutype));
    };
    let lines = [lines];
    let key = (
        v.insured_region.clone(),
        year,
        v.insutype.clone(),
        med_type.clone(),
    );
    let policy = if let Some(p) = state.policies.get(&key) {
        p.clone()
    } else {
        let p = policy_of(tx, &v.insured_region, year, &v.insutype, &med_type).await?;
        state.policies.insert(key, p.clone());
        p
    };
    let cross = v.treatment_region != v.insured_region;
    let filed = v.emergency
        || (cross
            && filed_for(
                tx,
                v.person_id,
                &v.insutype,
                &v.treatment_region,
                setl_local.date(),
            )
            .await?);
    let visit = Visit {
        venue: inst.venue(),
        cross_region_unfiled: cross && !filed,
        use_account: input.use_account,
        residents: v.insutype == "390",
    };
    let (acc, year_exists) = acc;
    let s = settle_visit(&lines, &policy, &visit, &acc);
    let ratio = sscard_core::settlement::ratio(&policy, &visit);
    let clr = clr_type(&med_type, inst.kind == 2);
    let setl_id = if commit {
        platform_number(&v.treatment_region, ctx.at, 8)
    } else {
        String::new()
    };
    let facts = SettlementFacts {
        setl_id: &setl_id,
        v: &v,
        med_type: &med_type,
        psn_type: &psn_type,
        year,
        setl_time: setl_local,
        clr_type: clr,
        msgid,
        pool_prop: ratio,
    };
    if commit {
        record_settlement(tx, ctx, &facts, &s, year_exists, input.interim).await?;
        audit.push(
            "settlement.settle",
            setl_id.as_str(),
            json!({
                "mdtrt_id": v.mdtrt_id, "institution": inst.code,
                "insured_region": v.insured_region, "treatment_region": v.treatment_region,
                "medfee_sumamt": s.medfee_sumamt, "fund_pay_sumamt": s.fund_pay_sumamt,
                "acct_pay": s.acct_pay, "psn_cash_pay": s.psn_cash_pay,
            }),
        );
    }
    let output = settlement_output(&facts, &input.psn_no, &s);
    let effect = commit.then(|| json!({ "settlement": setl_id }));
    Ok((output, effect))
}

/// A settlement's writes, in one call on SQLite: the year's row if it is the first, the
/// settlement, its lines marked, the accumulators and the account, the visit settled (an
/// interim settlement of a stay leaves it open).
async fn record_settlement(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    facts: &SettlementFacts<'_>,
    s: &Settlement,
    year_exists: bool,
    interim: bool,
) -> Result<(), StoreError> {
    let v = facts.v;
    let mut w = Writes::new();
    if !year_exists {
        w.stmt("INSERT INTO insurance_years (person_id, insutype, year) VALUES (")
            .push_bind(v.person_id)
            .push(", ")
            .push_bind(v.insutype.clone())
            .push(", ")
            .push_bind(facts.year)
            .push(") ON CONFLICT (person_id, insutype, year) DO NOTHING");
    }
    let id = push_settlement(&mut w, ctx, facts, 1, None, s);
    w.stmt("UPDATE fee_lines SET settlement_id = ")
        .push_bind(id)
        .push(" WHERE visit_id = ")
        .push_bind(v.id)
        .push(" AND status = 'active' AND settlement_id IS NULL");
    push_accumulators(
        &mut w,
        v.person_id,
        &v.insutype,
        facts.year,
        facts.med_type,
        s,
        ctx.at,
    );
    if !interim || v.kind == 1 {
        push_visit_status(&mut w, v.id, "settled", ctx.at);
    }
    w.run(tx).await
}

/// Whether a filing covers care in `region` on `date`.
async fn filed_for(
    tx: &mut Tx<'_>,
    person_id: Uuid,
    insutype: &str,
    region: &str,
    date: NaiveDate,
) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM insurance_filings WHERE person_id = $1 AND insutype = $2 \
         AND region = $3 AND status = 'active' AND begin_date <= $4 AND end_date >= $4",
    )
    .bind(person_id)
    .bind(insutype)
    .bind(region)
    .bind(date)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// The sums of the visit's unsettled lines (as one line), their number, the person's
/// `psn_type` in the visit's insutype (none: not enrolled now), and the person's figures of
/// the year with whether the year's row exists — one statement.
async fn unsettled_sum(
    tx: &mut Tx<'_>,
    v: &VisitRow,
    year: i32,
    med_type: &str,
) -> Result<Sums, StoreError> {
    let r = sqlx::query(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) AS amount, \
         CAST(COALESCE(SUM(fulamt_ownpay_cents), 0) AS BIGINT) AS fulamt, \
         CAST(COALESCE(SUM(overlmt_cents), 0) AS BIGINT) AS overlmt, \
         CAST(COALESCE(SUM(preselfpay_cents), 0) AS BIGINT) AS preselfpay, \
         CAST(COALESCE(SUM(inscp_cents), 0) AS BIGINT) AS inscp, \
         (SELECT e.psn_type FROM insurance_enrolments e WHERE e.person_id = $2 \
          AND e.insutype = $3 AND e.status = 'active') AS psn_type, \
         (SELECT y.pool_paid_cents FROM insurance_years y WHERE y.person_id = $2 \
          AND y.insutype = $3 AND y.year = $4) AS pool, \
         (SELECT y.tier_paid_cents FROM insurance_years y WHERE y.person_id = $2 \
          AND y.insutype = $3 AND y.year = $4) AS tier, \
         (SELECT d.used_cents FROM insurance_deductibles d WHERE d.person_id = $2 \
          AND d.insutype = $3 AND d.year = $4 AND d.med_type = $5) AS used, \
         (SELECT a.balance_cents FROM insurance_accounts a WHERE a.person_id = $2 \
          AND a.insutype = $3) AS balance \
         FROM fee_lines WHERE visit_id = $1 AND status = 'active' AND settlement_id IS NULL",
    )
    .bind(v.id)
    .bind(v.person_id)
    .bind(&v.insutype)
    .bind(year)
    .bind(med_type)
    .fetch_one(&mut **tx)
    .await?;
    sums_of(&r)
}

/// Locks the person's year row (created at zero if missing), as a settlement's first write.
async fn lock_year(
    tx: &mut Tx<'_>,
    person_id: Uuid,
    insutype: &str,
    year: i32,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO insurance_years (person_id, insutype, year) VALUES ($1, $2, $3) \
         ON CONFLICT (person_id, insutype, year) DO NOTHING",
    )
    .bind(person_id)
    .bind(insutype)
    .bind(year)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "SELECT year FROM insurance_years WHERE person_id = $1 AND insutype = $2 AND year = $3{FOR_UPDATE}"
    ))
    .bind(person_id)
    .bind(insutype)
    .bind(year)
    .fetch_one(&mut **tx)
    .await?;
    Ok(())
}

/// What a settlement row says besides its amounts.
struct SettlementFacts<'a> {
    setl_id: &'a str,
    v: &'a VisitRow,
    med_type: &'a str,
    psn_type: &'a str,
    year: i32,
    setl_time: NaiveDateTime,
    clr_type: &'a str,
    msgid: &'a str,
    pool_prop: Fixed4,
}

#[allow(clippy::many_single_char_names)]
fn push_settlement(
    w: &mut Writes,
    ctx: &Ctx,
    f: &SettlementFacts<'_>,
    kind: i32,
    cancels: Option<Uuid>,
    s: &Settlement,
) -> Uuid {
    let id = Uuid::now_v7();
    let q = w.stmt(
        "INSERT INTO settlements (id, setl_id, kind, cancels, visit_id, institution_id, \
         person_id, insutype, med_type, psn_type, insured_region, treatment_region, year, \
         setl_month, setl_time, clr_type, msgid, pool_prop, medfee_cents, fulamt_ownpay_cents, \
         overlmt_cents, preselfpay_cents, inscp_cents, act_pay_dedc_cents, hifp_cents, \
         hifob_cents, hifmi_cents, fund_cents, psn_part_cents, acct_cents, cash_cents, \
         hosp_part_cents, balc_cents, status, created_at) VALUES (",
    );
    let mut v = q.separated(", ");
    v.push_bind(id)
        .push_bind(f.setl_id.to_owned())
        .push_bind(kind)
        .push_bind(cancels)
        .push_bind(f.v.id)
        .push_bind(f.v.institution_id)
        .push_bind(f.v.person_id)
        .push_bind(f.v.insutype.clone())
        .push_bind(f.med_type.to_owned())
        .push_bind(f.psn_type.to_owned())
        .push_bind(f.v.insured_region.clone())
        .push_bind(f.v.treatment_region.clone())
        .push_bind(f.year)
        .push_bind(f.setl_time.format("%Y-%m").to_string())
        .push_bind(f.setl_time)
        .push_bind(f.clr_type.to_owned())
        .push_bind(f.msgid.to_owned())
        .push_bind(f.pool_prop.units() as i32);
    for m in [
        s.medfee_sumamt,
        s.fulamt_ownpay_amt,
        s.overlmt_selfpay,
        s.preselfpay_amt,
        s.inscp_scp_amt,
        s.act_pay_dedc,
        s.hifp_pay,
        s.hifob_pay,
        s.hifmi_pay,
        s.fund_pay_sumamt,
        s.psn_part_amt,
        s.acct_pay,
        s.psn_cash_pay,
        s.hosp_part_amt,
        s.balc,
    ] {
        v.push_bind(m.cents());
    }
    v.push_bind(if kind == 1 { "settled" } else { "cancellation" })
        .push_bind(ctx.at);
    q.push(")");
    id
}

/// `setlinfo` with every amount of the rules file, and `setldetail` by fund.
fn settlement_output(f: &SettlementFacts<'_>, psn_no: &str, s: &Settlement) -> serde_json::Value {
    let mut setlinfo = serde_json::to_value(s).unwrap_or_default();
    if let Some(o) = setlinfo.as_object_mut() {
        for (k, val) in [
            ("setl_id", json!(f.setl_id)),
            ("mdtrt_id", json!(f.v.mdtrt_id)),
            ("psn_no", json!(psn_no)),
            ("insutype", json!(f.v.insutype)),
            ("psn_type", json!(f.psn_type)),
            ("med_type", json!(f.med_type)),
            ("setl_time", json!(dt(f.setl_time))),
            ("insuplc_admdvs", json!(f.v.insured_region)),
            ("mdtrtarea_admvs", json!(f.v.treatment_region)),
            ("pool_prop_selfpay", json!(f.pool_prop.to_string())),
            ("cvlserv_pay", json!(Money::ZERO)),
            ("hifes_pay", json!(Money::ZERO)),
            ("maf_pay", json!(Money::ZERO)),
            ("oth_pay", json!(Money::ZERO)),
            ("acct_mulaid_pay", json!(Money::ZERO)),
            ("medins_setl_id", json!(f.msgid)),
            ("clr_optins", json!(f.v.insured_region)),
            ("clr_way", json!("1")),
            ("clr_type", json!(f.clr_type)),
        ] {
            o.insert(k.to_owned(), val);
        }
    }
    let (pool_type, tier_type, account_type) = if f.v.insutype == "390" {
        ("390100", "390200", None)
    } else {
        ("310100", "330100", Some("310200"))
    };
    let mut detail = vec![json!({
        "fund_pay_type": pool_type, "fund_pay_type_name": fund_name(pool_type),
        "inscp_scp_amt": s.inscp_scp_amt - s.act_pay_dedc, "fund_payamt": s.hifp_pay,
        "crt_payb_lmt_amt": s.hifp_pay, "setl_proc_info": "",
    })];
    if s.tier() != Money::ZERO {
        detail.push(json!({
            "fund_pay_type": tier_type, "fund_pay_type_name": fund_name(tier_type),
            "inscp_scp_amt": s.inscp_scp_amt - s.act_pay_dedc, "fund_payamt": s.tier(),
            "crt_payb_lmt_amt": s.tier(), "setl_proc_info": "",
        }));
    }
    if let Some(t) = account_type
        && s.acct_pay != Money::ZERO
    {
        detail.push(json!({
            "fund_pay_type": t, "fund_pay_type_name": fund_name(t),
            "inscp_scp_amt": s.psn_part_amt, "fund_payamt": s.acct_pay,
            "crt_payb_lmt_amt": s.acct_pay, "setl_proc_info": "",
        }));
    }
    json!({ "setlinfo": setlinfo, "setldetail": detail })
}

fn fund_name(t: &str) -> &'static str {
    match t {
        "310100" => "职工基本医疗保险统筹基金",
        "310200" => "职工基本医疗保险个人账户",
        "330100" => "职工大额医疗费用补助",
        "390100" => "城乡居民基本医疗保险基金",
        "390200" => "城乡居民大病医疗保险",
        _ => "",
    }
}

#[allow(clippy::too_many_arguments, clippy::many_single_char_names)]
/// 2208 / 2305: cancels a settlement once; every accumulator and the balance move back
/// exactly; the lines are free to settle again.
pub(super) async fn cancel_settlement(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    setl_id: &str,
    mdtrt_id: &str,
    psn_no: &str,
    msgid: &str,
    audit: &mut Audit,
) -> Result<serde_json::Value, StoreError> {
    let v = visit_for(tx, ctx, inst, mdtrt_id, psn_no).await?;
    let r = sqlx::query(&format!(
        "SELECT id, kind, status, med_type, psn_type, year, clr_type, pool_prop, medfee_cents, \
         fulamt_ownpay_cents, overlmt_cents, preselfpay_cents, inscp_cents, act_pay_dedc_cents, \
         hifp_cents, hifob_cents, hifmi_cents, fund_cents, psn_part_cents, acct_cents, \
         cash_cents, hosp_part_cents, balc_cents FROM settlements \
         WHERE setl_id = $1 AND visit_id = $2{FOR_UPDATE}"
    ))
    .bind(setl_id)
    .bind(v.id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound {
        what: "setl_id",
        key: setl_id.to_owned(),
    })?;
    let status: String = r.try_get("status")?;
    if status != "settled" {
        return Err(refuse(
            "settlement.cancelled",
            format!("结算 {setl_id} 已撤销（或本身是撤销记录）"),
            format!("settlement {setl_id} is already cancelled (or is itself a cancellation)"),
        ));
    }
    let m = |c: &str| -> Result<Money, StoreError> { Ok(Money::from_cents(r.try_get(c)?)) };
    let original = Settlement {
        medfee_sumamt: m("medfee_cents")?,
        fulamt_ownpay_amt: m("fulamt_ownpay_cents")?,
        overlmt_selfpay: m("overlmt_cents")?,
        preselfpay_amt: m("preselfpay_cents")?,
        inscp_scp_amt: m("inscp_cents")?,
        act_pay_dedc: m("act_pay_dedc_cents")?,
        hifp_pay: m("hifp_cents")?,
        hifob_pay: m("hifob_cents")?,
        hifmi_pay: m("hifmi_cents")?,
        fund_pay_sumamt: m("fund_cents")?,
        psn_part_amt: m("psn_part_cents")?,
        acct_pay: m("acct_cents")?,
        psn_cash_pay: m("cash_cents")?,
        hosp_part_amt: m("hosp_part_cents")?,
        balc: m("balc_cents")?,
    };
    let original_id: Uuid = r.try_get("id")?;
    let med_type: String = r.try_get("med_type")?;
    let psn_type: String = r.try_get("psn_type")?;
    let year: i32 = r.try_get("year")?;
    let clr: String = r.try_get("clr_type")?;
    let acc = accumulators(tx, v.person_id, &v.insutype, year, &med_type, true).await?;
    let c = original.cancellation(&acc);
    let cancel_id = platform_number(&v.treatment_region, ctx.at, 8);
    let facts = SettlementFacts {
        setl_id: &cancel_id,
        v: &v,
        med_type: &med_type,
        psn_type: &psn_type,
        year,
        setl_time: local(ctx.at),
        clr_type: &clr,
        msgid,
        pool_prop: Fixed4::from_units(i64::from(r.try_get::<i32, _>("pool_prop")?)),
    };
    let mut w = Writes::new();
    push_settlement(&mut w, ctx, &facts, 2, Some(original_id), &c);
    w.stmt("UPDATE settlements SET status = 'cancelled' WHERE id = ")
        .push_bind(original_id);
    w.stmt("UPDATE fee_lines SET settlement_id = NULL WHERE settlement_id = ")
        .push_bind(original_id);
    push_accumulators(
        &mut w,
        v.person_id,
        &v.insutype,
        year,
        &med_type,
        &c,
        ctx.at,
    );
    let reopened = if v.kind == 2 && v.status == "settled" {
        "discharged"
    } else {
        "open"
    };
    push_visit_status(&mut w, v.id, reopened, ctx.at);
    w.run(tx).await?;
    audit.push(
        "settlement.cancel",
        setl_id,
        json!({
            "cancellation": cancel_id, "mdtrt_id": v.mdtrt_id, "institution": inst.code,
            "medfee_sumamt": c.medfee_sumamt, "fund_pay_sumamt": c.fund_pay_sumamt,
            "acct_pay": c.acct_pay,
        }),
    );
    let mut out = settlement_output(&facts, psn_no, &c);
    if let Some(info) = out.get_mut("setlinfo").and_then(|i| i.as_object_mut()) {
        info.insert("setl_id".into(), json!(cancel_id));
        info.insert("init_setl_id".into(), json!(setl_id));
    }
    Ok(out)
}

/// Whether a settlement is still in force (a 2601 of a 2207 needs its visit and person).
pub(super) async fn settlement_visit(
    tx: &mut Tx<'_>,
    setl_id: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let r = sqlx::query(
        "SELECT v.mdtrt_id, ip.psn_no FROM settlements s JOIN medical_visits v ON v.id = s.visit_id \
         JOIN insured_persons ip ON ip.person_id = s.person_id WHERE s.setl_id = $1",
    )
    .bind(setl_id)
    .fetch_optional(&mut **tx)
    .await?;
    r.map(|r| Ok((r.try_get("mdtrt_id")?, r.try_get("psn_no")?)))
        .transpose()
}

/// Cancels the named unsettled lines of a visit (a 2601 of a 2204 / 2301).
pub(super) async fn cancel_lines(
    tx: &mut Tx<'_>,
    mdtrt_id: &str,
    sns: &[String],
) -> Result<u64, StoreError> {
    let settled: i64 = {
        let mut q = sqlx::QueryBuilder::<DB>::new(
            "SELECT COUNT(*) FROM fee_lines f JOIN medical_visits v ON v.id = f.visit_id \
             WHERE v.mdtrt_id = ",
        );
        q.push_bind(mdtrt_id)
            .push(" AND f.settlement_id IS NOT NULL AND f.feedetl_sn IN (");
        let mut sep = q.separated(", ");
        for s in sns {
            sep.push_bind(s);
        }
        q.push(")");
        q.build_query_scalar().fetch_one(&mut **tx).await?
    };
    if settled > 0 {
        return Err(refuse(
            "fees.settled",
            format!("就诊 {mdtrt_id} 的这些明细已结算：请先撤销结算"),
            format!("these lines of visit {mdtrt_id} are settled: cancel the settlement first"),
        ));
    }
    let mut q = sqlx::QueryBuilder::<DB>::new(
        "UPDATE fee_lines SET status = 'cancelled' WHERE visit_id = \
         (SELECT id FROM medical_visits WHERE mdtrt_id = ",
    );
    q.push_bind(mdtrt_id).push(") AND feedetl_sn IN (");
    let mut sep = q.separated(", ");
    for s in sns {
        sep.push_bind(s);
    }
    q.push(")");
    Ok(q.build().execute(&mut **tx).await?.rows_affected())
}

// ---------------------------------------------------------------------------------------------
// Filings from the hospital (2501 / 2502)

/// 2501: a referral filing to another city, made by the referring hospital.
pub(super) async fn referral(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    r: &ReferralInput,
    audit: &mut Audit,
) -> Result<(serde_json::Value, serde_json::Value), StoreError> {
    let person = person_by_psn_no(tx, &r.psn_no).await?;
    let enrolment = enrolled(tx, person.id, &r.insutype).await?;
    if !sscard_core::settlement::is_city_code(&r.region) || r.region == enrolment.region {
        return Err(refuse(
            "filing.region",
            format!("转往地 {} 应为参保地以外的城市代码", r.region),
            format!(
                "the city referred to ({}) must be a city code other than the insured place",
                r.region
            ),
        ));
    }
    if r.to < r.from {
        return Err(refuse(
            "filing.period",
            format!("备案截止日 {} 早于开始日 {}", r.to, r.from),
            format!("the filing ends ({}) before it begins ({})", r.to, r.from),
        ));
    }
    let serial = insert_filing(
        tx,
        ctx,
        person.id,
        &enrolment.region,
        &r.insutype,
        &r.region,
        "referral",
        (r.from, r.to),
    )
    .await?;
    audit.push(
        "insurance.filing",
        serial.as_str(),
        json!({
            "person": mask_middle(&person.ssn, 4, 4), "insutype": r.insutype, "region": r.region,
            "kind": "referral", "from": r.from, "to": r.to, "by": inst.code,
            "to_institution": r.to_institution, "diag_code": r.diag_code,
        }),
    );
    Ok((
        json!({ "result": { "trt_dcla_detl_sn": serial } }),
        json!({ "filing": serial }),
    ))
}

/// Inserts an active filing and returns its serial (`BA` + insured place + a serial).
#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_filing(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    person_id: Uuid,
    insured: &str,
    insutype: &str,
    region: &str,
    kind: &str,
    (from, to): (NaiveDate, NaiveDate),
) -> Result<String, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "INSERT INTO counters (name, value) VALUES ('filing', 1) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
    )
    .fetch_one(&mut **tx)
    .await?;
    let serial = format!("BA{insured}{n:010}");
    sqlx::query(
        "INSERT INTO insurance_filings (id, serial, person_id, insutype, region, kind, \
         begin_date, end_date, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9)",
    )
    .bind(Uuid::now_v7())
    .bind(&serial)
    .bind(person_id)
    .bind(insutype)
    .bind(region)
    .bind(kind)
    .bind(from)
    .bind(to)
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    Ok(serial)
}

/// 2502 (and a 2601 of a 2501): cancels a referral filing of the person.
pub(super) async fn cancel_referral(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    serial: &str,
    psn_no: &str,
    memo: &str,
    audit: &mut Audit,
) -> Result<serde_json::Value, StoreError> {
    let person = person_by_psn_no(tx, psn_no).await?;
    let n = sqlx::query(
        "UPDATE insurance_filings SET status = 'cancelled', cancelled_at = $1, \
         cancel_reason = $2 WHERE serial = $3 AND person_id = $4 AND status = 'active' \
         AND kind = 'referral'",
    )
    .bind(ctx.at)
    .bind(memo)
    .bind(serial)
    .bind(person.id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(refuse(
            "filing.not_cancellable",
            format!("没有该人员有效的转诊备案 {serial}"),
            format!("there is no active referral filing {serial} of this person"),
        ));
    }
    audit.push("insurance.filing_cancel", serial, json!({ "reason": memo }));
    Ok(json!({}))
}

// ---------------------------------------------------------------------------------------------
// Queries and reconciliation

/// 5206: the person's figures of a year: the pooled fund and second tier paid, the deductible
/// used by `med_type`, the account's balance.
pub(super) async fn cumulative(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    psn_no: &str,
    year: Option<i32>,
) -> Result<serde_json::Value, StoreError> {
    let person = person_by_psn_no(tx, psn_no).await?;
    let year = year.unwrap_or_else(|| local(ctx.at).year());
    let mut cuminfo = Vec::new();
    let rows = sqlx::query(
        "SELECT insutype, pool_paid_cents, tier_paid_cents FROM insurance_years \
         WHERE person_id = $1 AND year = $2 ORDER BY insutype",
    )
    .bind(person.id)
    .bind(year)
    .fetch_all(&mut **tx)
    .await?;
    for r in &rows {
        let insutype: String = r.try_get("insutype")?;
        let tier_name = if insutype == "390" {
            "大病保险累计支付 / serious-illness insurance paid"
        } else {
            "大额补助累计支付 / large-amount subsidy paid"
        };
        cuminfo.push(
            json!({ "year": year, "insutype": insutype, "cum_type_code": "pool_paid",
            "cum_type_name": "统筹基金累计支付 / pooled fund paid",
            "cum": Money::from_cents(r.try_get("pool_paid_cents")?) }),
        );
        cuminfo.push(
            json!({ "year": year, "insutype": insutype, "cum_type_code": "tier_paid",
            "cum_type_name": tier_name,
            "cum": Money::from_cents(r.try_get("tier_paid_cents")?) }),
        );
    }
    let rows = sqlx::query(
        "SELECT insutype, med_type, used_cents FROM insurance_deductibles \
         WHERE person_id = $1 AND year = $2 ORDER BY insutype, med_type",
    )
    .bind(person.id)
    .bind(year)
    .fetch_all(&mut **tx)
    .await?;
    for r in &rows {
        let med_type: String = r.try_get("med_type")?;
        cuminfo.push(json!({ "year": year, "insutype": r.try_get::<String, _>("insutype")?,
            "cum_type_code": format!("deductible_{med_type}"),
            "cum_type_name": format!("起付线累计（医疗类别 {med_type}）/ deductible used (med_type {med_type})"),
            "cum": Money::from_cents(r.try_get("used_cents")?) }));
    }
    let balances = sqlx::query(
        "SELECT insutype, balance_cents FROM insurance_accounts WHERE person_id = $1 ORDER BY insutype",
    )
    .bind(person.id)
    .fetch_all(&mut **tx)
    .await?;
    let mut accounts = Vec::new();
    for r in &balances {
        accounts.push(json!({ "insutype": r.try_get::<String, _>("insutype")?,
            "balc": Money::from_cents(r.try_get("balance_cents")?) }));
    }
    Ok(json!({ "cuminfo": cuminfo, "acctinfo": accounts }))
}

/// The platform's side of a reconciliation: every settlement row (settlements and
/// cancellations) of the institution in the period for an insutype and clearing type.
struct PlatformRow {
    setl_id: String,
    mdtrt_id: String,
    psn_no: Option<String>,
    msgid: String,
    kind: i32,
    medfee: Money,
    fund: Money,
    acct: Money,
}

async fn platform_rows(
    tx: &mut Tx<'_>,
    inst: &Institution,
    t: &TotalsInput,
) -> Result<Vec<PlatformRow>, StoreError> {
    let from = t.from.and_hms_opt(0, 0, 0).unwrap_or_default();
    let to = (t.to + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default();
    let rows = sqlx::query(
        "SELECT s.setl_id, v.mdtrt_id, ip.psn_no, s.msgid, s.kind, s.medfee_cents, s.fund_cents, \
         s.acct_cents FROM settlements s JOIN medical_visits v ON v.id = s.visit_id \
         LEFT JOIN insured_persons ip ON ip.person_id = s.person_id \
         WHERE s.institution_id = $1 AND s.insutype = $2 AND s.clr_type = $3 \
         AND s.setl_time >= $4 AND s.setl_time < $5 ORDER BY s.setl_time, s.setl_id",
    )
    .bind(inst.id)
    .bind(&t.insutype)
    .bind(&t.clr_type)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PlatformRow {
                setl_id: r.try_get("setl_id")?,
                mdtrt_id: r.try_get("mdtrt_id")?,
                psn_no: r.try_get("psn_no")?,
                msgid: r.try_get("msgid")?,
                kind: r.try_get("kind")?,
                medfee: Money::from_cents(r.try_get("medfee_cents")?),
                fund: Money::from_cents(r.try_get("fund_cents")?),
                acct: Money::from_cents(r.try_get("acct_cents")?),
            })
        })
        .collect()
}

/// 3201: the institution's totals against the platform's (`stmt_rslt` 0 agree, 1 differ).
pub(super) async fn totals(
    tx: &mut Tx<'_>,
    inst: &Institution,
    t: &TotalsInput,
) -> Result<serde_json::Value, StoreError> {
    let rows = platform_rows(tx, inst, t).await?;
    let ours = (
        rows.iter().map(|r| r.medfee).sum::<Money>(),
        rows.iter().map(|r| r.fund).sum::<Money>(),
        rows.iter().map(|r| r.acct).sum::<Money>(),
        rows.len() as i64,
    );
    let agree = ours == (t.medfee_sumamt, t.fund_pay_sumamt, t.acct_pay, t.count);
    let (zh, en) = if agree {
        ("对账一致".to_owned(), "the totals agree".to_owned())
    } else {
        (
            format!(
                "对账不平：平台 {} 笔，医疗费 {}，基金 {}，账户 {}",
                ours.3, ours.0, ours.1, ours.2
            ),
            format!(
                "the totals differ: platform {} settlements, fees {}, funds {}, account {}",
                ours.3, ours.0, ours.1, ours.2
            ),
        )
    };
    Ok(json!({
        "stmtinfo": {
            "setl_optins": inst.city(),
            "stmt_rslt": if agree { "0" } else { "1" },
            "stmt_rslt_dscr": format!("{zh} / {en}"),
            "medfee_sumamt": ours.0, "fund_pay_sumamt": ours.1, "acct_pay": ours.2,
            "fixmedins_setl_cnt": ours.3,
        }
    }))
}

/// 3202: the institution's detail against the platform's; answers the rows that differ
/// (`stmt_rslt` 1 only on the platform, 2 only at the institution, 3 amounts differ).
pub(super) async fn detail(
    tx: &mut Tx<'_>,
    inst: &Institution,
    d: &DetailInput,
) -> Result<serde_json::Value, StoreError> {
    use std::collections::BTreeMap;
    let rows = platform_rows(tx, inst, &d.totals).await?;
    let theirs: BTreeMap<&str, &crate::fsi::DetailLine> =
        d.lines.iter().map(|l| (l.setl_id.as_str(), l)).collect();
    let mut differ = Vec::new();
    for r in &rows {
        let (rslt, memo) = match theirs.get(r.setl_id.as_str()) {
            None => ("1", "机构无此结算 / not in the institution's detail"),
            Some(l)
                if (l.medfee_sumamt, l.fund_pay_sumamt, l.acct_pay)
                    != (r.medfee, r.fund, r.acct) =>
            {
                ("3", "金额不一致 / amounts differ")
            }
            Some(_) => continue,
        };
        differ.push(json!({
            "psn_no": r.psn_no, "mdtrt_id": r.mdtrt_id, "setl_id": r.setl_id, "msgid": r.msgid,
            "stmt_rslt": rslt, "refd_setl_flag": if r.kind == 2 { "1" } else { "0" }, "memo": memo,
            "medfee_sumamt": r.medfee, "fund_pay_sumamt": r.fund, "acct_pay": r.acct,
        }));
    }
    let known: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.setl_id.as_str()).collect();
    for l in &d.lines {
        if !known.contains(l.setl_id.as_str()) {
            differ.push(json!({
                "setl_id": l.setl_id, "stmt_rslt": "2",
                "memo": "平台无此结算 / not on the platform",
                "medfee_sumamt": l.medfee_sumamt, "fund_pay_sumamt": l.fund_pay_sumamt,
                "acct_pay": l.acct_pay,
            }));
        }
    }
    Ok(json!({
        "stmtinfo": {
            "setl_optins": inst.city(),
            "stmt_rslt": if differ.is_empty() { "0" } else { "1" },
            "stmt_rslt_dscr": if differ.is_empty() { "明细一致 / the detail agrees" } else { "明细不一致 / the detail differs" },
            "platform_cnt": rows.len(), "institution_cnt": d.lines.len(),
        },
        "detail": differ,
    }))
}

// ---------------------------------------------------------------------------------------------
// Clearing

/// 3203: the institution applies for the month's clearing of a type; accepted when its
/// figures are the platform's (settlements in force, fees, funds, accounts), once.
pub(super) async fn clearing_application(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    a: &crate::fsi::ClearingApplication,
    audit: &mut Audit,
) -> Result<serde_json::Value, StoreError> {
    let month = match (a.setlym.get(..4), a.setlym.get(4..6)) {
        (Some(y), Some(m))
            if a.setlym.len() == 6 && a.setlym.bytes().all(|b| b.is_ascii_digit()) =>
        {
            format!("{y}-{m}")
        }
        _ => {
            return Err(refuse(
                "clearing.setlym",
                format!("清算年月 {} 应为 YYYYMM", a.setlym),
                format!("setlym {} must be YYYYMM", a.setlym),
            ));
        }
    };
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 1 THEN 1 ELSE -1 END), 0) AS BIGINT) AS n, \
         CAST(COALESCE(SUM(medfee_cents), 0) AS BIGINT) AS medfee, \
         CAST(COALESCE(SUM(fund_cents), 0) AS BIGINT) AS fund, \
         CAST(COALESCE(SUM(acct_cents), 0) AS BIGINT) AS acct, \
         CAST(COALESCE(SUM(cash_cents), 0) AS BIGINT) AS cash \
         FROM settlements WHERE institution_id = $1 AND setl_month = $2 AND clr_type = $3",
    )
    .bind(inst.id)
    .bind(&month)
    .bind(&a.clr_type)
    .fetch_one(&mut **tx)
    .await?;
    let m = |k: &str| -> Result<Money, StoreError> { Ok(Money::from_cents(r.try_get(k)?)) };
    let ours = (
        r.try_get::<i64, _>("n")?,
        m("medfee")?,
        m("fund")?,
        m("acct")?,
        m("cash")?,
    );
    let theirs = (
        a.psntime,
        a.medfee_sumamt,
        a.fund_appy_sum,
        a.acct_pay,
        a.cash_payamt,
    );
    if ours != theirs {
        return Err(refuse(
            "clearing.figures_differ",
            format!(
                "申请数与平台结算不符：平台 {month} 清算类别 {} 共 {} 人次，医疗费 {}，基金 {}，账户 {}，现金 {}；请先对账（3201/3202）",
                a.clr_type, ours.0, ours.1, ours.2, ours.3, ours.4
            ),
            format!(
                "the application differs from the platform's settlements: {month}, clr_type {}: {} settlements, fees {}, funds {}, accounts {}, cash {}; reconcile first (3201/3202)",
                a.clr_type, ours.0, ours.1, ours.2, ours.3, ours.4
            ),
        ));
    }
    let event_id = platform_number(&inst.city(), ctx.at, 8);
    let inserted = sqlx::query(
        "INSERT INTO clearing_applications (id, event_id, institution_id, setlym, clr_type, \
         clr_way, psntime, medfee_cents, fund_cents, acct_cents, cash_cents, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (institution_id, setlym, clr_type) DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(&event_id)
    .bind(inst.id)
    .bind(&a.setlym)
    .bind(&a.clr_type)
    .bind(&a.clr_way)
    .bind(a.psntime)
    .bind(a.medfee_sumamt.cents())
    .bind(a.fund_appy_sum.cents())
    .bind(a.acct_pay.cents())
    .bind(a.cash_payamt.cents())
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(refuse(
            "clearing.already_applied",
            format!("{month} 清算类别 {} 已申请过清算", a.clr_type),
            format!(
                "the clearing of {month}, clr_type {} was already applied for",
                a.clr_type
            ),
        ));
    }
    audit.push(
        "settlement.clearing_application",
        event_id.as_str(),
        json!({ "institution": inst.code, "setlym": a.setlym, "clr_type": a.clr_type,
            "psntime": a.psntime, "fund_appy_sum": a.fund_appy_sum }),
    );
    Ok(json!({ "result": { "clr_appy_evt_id": event_id } }))
}

/// The month's clearing between the cities: every settlement where the treatment city is
/// not the insured city, summed per (insured city, treatment city); each city's position.
pub(crate) async fn clearing(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    month: &str,
) -> Result<crate::fsi::Clearing, StoreError> {
    use crate::fsi::{CityPosition, ClearingEntry};
    use std::collections::BTreeMap;
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_centre("异地清算 / clearing")?;
        let rows = sqlx::query(
            "SELECT insured_region, treatment_region, \
             CAST(SUM(CASE WHEN kind = 1 THEN 1 ELSE -1 END) AS BIGINT) AS n, \
             CAST(SUM(fund_cents) AS BIGINT) AS fund, CAST(SUM(acct_cents) AS BIGINT) AS acct \
             FROM settlements WHERE setl_month = $1 AND insured_region <> treatment_region \
             GROUP BY insured_region, treatment_region ORDER BY insured_region, treatment_region",
        )
        .bind(month)
        .fetch_all(&mut *tx)
        .await?;
        let mut entries = Vec::with_capacity(rows.len());
        let mut positions: BTreeMap<String, (Money, Money)> = BTreeMap::new();
        for r in &rows {
            let e = ClearingEntry {
                insured_region: r.try_get("insured_region")?,
                treatment_region: r.try_get("treatment_region")?,
                settlements: r.try_get("n")?,
                fund_pay_sumamt: Money::from_cents(r.try_get("fund")?),
                acct_pay: Money::from_cents(r.try_get("acct")?),
            };
            let debt = e.fund_pay_sumamt + e.acct_pay;
            positions.entry(e.treatment_region.clone()).or_default().0 += debt;
            positions.entry(e.insured_region.clone()).or_default().1 += debt;
            entries.push(e);
        }
        let positions: Vec<CityPosition> = positions
            .into_iter()
            .map(|(region, (owed, owes))| CityPosition {
                region,
                owed,
                owes,
                net: owed - owes,
            })
            .collect();
        let total: Money = entries.iter().map(|e| e.fund_pay_sumamt + e.acct_pay).sum();
        audit.push(
            "settlement.clearing",
            month,
            json!({ "pairs": entries.len(), "total": total }),
        );
        crate::fsi::Clearing {
            month: month.to_owned(),
            entries,
            positions,
        }
    })
}
