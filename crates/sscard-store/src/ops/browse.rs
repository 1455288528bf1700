//! The console's lists and the dashboards' counts (types in [`crate::browse`]). Each list
//! builds one WHERE clause from its filters and the caller's scope, and runs it twice in one
//! snapshot: the page, and the count of the whole list.

use sqlx::QueryBuilder;

use super::*;
use crate::browse::{
    CardCount, CardRow, InstitutionRow, ListPage, ListQuery, PersonRow, PointPickups,
    ProductionQueue, SettlementRow, TerminalRow,
};

/// What the caller's scope cuts a list to.
enum Cut<'a> {
    /// Everything.
    All,
    /// One employer's people (by credit code).
    Employer(&'a str),
    /// One bank's cards.
    Bank(&'a str),
    /// One point.
    Outlet(&'a str),
    /// One institution.
    Institution(&'a str),
    /// Nothing at all.
    Nothing,
}

fn cut(ctx: &Ctx) -> Cut<'_> {
    match ctx.actor.scope() {
        sscard_core::Scope::All => Cut::All,
        sscard_core::Scope::Employer(c) => Cut::Employer(c.as_str()),
        sscard_core::Scope::Bank(b) => Cut::Bank(b),
        sscard_core::Scope::Outlet(o) => Cut::Outlet(o),
        sscard_core::Scope::Institution(i) => Cut::Institution(i),
        sscard_core::Scope::Holder(_) | sscard_core::Scope::Nothing => Cut::Nothing,
    }
}

fn count(r: &DbRow, c: &str) -> Result<u64, StoreError> {
    Ok(u64::try_from(r.try_get::<i64, _>(c)?).unwrap_or(0))
}

fn empty<T>(q: &ListQuery) -> ListPage<T> {
    ListPage {
        rows: Vec::new(),
        total: 0,
        page: q.page.max(1),
        per_page: q.limit(),
    }
}

/// `LIKE` patterns match these literally once escaped.
fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Runs `select … FROM … WHERE …` for the page and `SELECT COUNT(*) FROM … WHERE …` for the
/// total, in one snapshot; `filters` appends the WHERE conditions (after `WHERE 1 = 1`).
async fn paged<T>(
    pool: &Pool,
    q: &ListQuery,
    select: &str,
    from: &str,
    order: &str,
    filters: impl Fn(&mut QueryBuilder<'_, DB>),
    row: impl Fn(&DbRow) -> Result<T, StoreError>,
) -> Result<ListPage<T>, StoreError> {
    let mut tx = snapshot(pool).await?;
    let mut page = QueryBuilder::<DB>::new(format!("{select} FROM {from} WHERE 1 = 1"));
    filters(&mut page);
    page.push(format!(" ORDER BY {order} LIMIT "));
    page.push_bind(i64::from(q.limit()));
    page.push(" OFFSET ");
    page.push_bind(i64::try_from(q.offset()).unwrap_or(i64::MAX));
    let rows = page.build().fetch_all(&mut *tx).await?;
    let mut total = QueryBuilder::<DB>::new(format!("SELECT COUNT(*) FROM {from} WHERE 1 = 1"));
    filters(&mut total);
    let n: i64 = total.build_query_scalar().fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(ListPage {
        rows: rows.iter().map(row).collect::<Result<_, _>>()?,
        total: u64::try_from(n).unwrap_or(0),
        page: q.page.max(1),
        per_page: q.limit(),
    })
}

/// Persons, by ID number; searched by a whole ID number, its last digits or the name's
/// beginning; filtered by household district and employer. An employer agent sees its own
/// employer's people only.
pub(crate) async fn list_persons(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    q: &ListQuery,
) -> Result<ListPage<PersonRow>, StoreError> {
    let employer = match cut(ctx) {
        Cut::Employer(e) => Some(e.to_owned()),
        Cut::Nothing | Cut::Institution(_) => return Ok(empty(q)),
        _ => q.employer.clone().filter(|e| !e.is_empty()),
    };
    let text = q.text().map(str::to_owned);
    let district = q.district.clone().filter(|d| !d.is_empty());
    paged(
        pool,
        q,
        "SELECT p.id, p.ssn, p.name, p.sex, p.birth_date, p.household_region, \
         e.name AS employer_name, (SELECT c.card_number FROM cards c WHERE c.person_id = p.id \
         AND c.ss_status IN (0, 1, 3, 4) AND c.superseded_by IS NULL \
         ORDER BY c.created_at DESC LIMIT 1) AS live_card",
        "persons p LEFT JOIN employers e ON e.id = p.employer_id",
        "p.ssn",
        |b| {
            if let Some(e) = &employer {
                b.push(" AND e.credit_code = ").push_bind(e.clone());
            }
            if let Some(d) = &district {
                b.push(" AND p.household_region = ").push_bind(d.clone());
            }
            if let Some(t) = &text {
                let upper = t.to_ascii_uppercase();
                if upper.len() == 18 {
                    b.push(" AND p.ssn = ").push_bind(upper);
                } else if upper.len() <= 8 && upper.chars().all(|c| c.is_ascii_digit() || c == 'X')
                {
                    b.push(" AND p.ssn LIKE ")
                        .push_bind(format!("%{}", like_escaped(&upper)))
                        .push(" ESCAPE '\\'");
                } else {
                    b.push(" AND p.name LIKE ")
                        .push_bind(format!("{}%", like_escaped(t)))
                        .push(" ESCAPE '\\'");
                }
            }
        },
        |r| {
            let ssn: String = r.try_get("ssn")?;
            let name: String = r.try_get("name")?;
            let sex: i16 = r.try_get("sex")?;
            Ok(PersonRow {
                id: r.try_get("id")?,
                id_masked: mask_middle(&ssn, 4, 4),
                name_masked: mask_name(&name),
                sex: if sex == 1 { "male" } else { "female" }.into(),
                birth_date: r.try_get("birth_date")?,
                household_region: r.try_get("household_region")?,
                employer_name: r.try_get("employer_name")?,
                live_card: r.try_get("live_card")?,
            })
        },
    )
    .await
}

/// Cards, by card number; searched by the number's beginning or the holder's name's
/// beginning; filtered by social-security status, generation, bank, district and the point a card waits
/// at for pickup. A bank sees
/// its own cards only, an employer agent its own employer's people's.
pub(crate) async fn list_cards(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    q: &ListQuery,
) -> Result<ListPage<CardRow>, StoreError> {
    let (bank, employer) = match cut(ctx) {
        Cut::Bank(b) => (Some(b.to_owned()), None),
        Cut::Employer(e) => (None, Some(e.to_owned())),
        Cut::Nothing | Cut::Institution(_) => return Ok(empty(q)),
        _ => (q.bank.clone().filter(|b| !b.is_empty()), None),
    };
    // A bank asking for another bank's cards gets none.
    if let (Cut::Bank(own), Some(asked)) = (cut(ctx), q.bank.as_deref())
        && !asked.is_empty()
        && asked != own
    {
        return Ok(empty(q));
    }
    let status: Option<i32> = q.status.as_deref().and_then(|s| s.parse().ok());
    let generation = q.kind.clone().filter(|k| !k.is_empty());
    let district = q.district.clone().filter(|d| !d.is_empty());
    let point = q.point.clone().filter(|p| !p.is_empty());
    let text = q.text().map(str::to_owned);
    let from = if employer.is_some() {
        "cards c JOIN persons p ON p.id = c.person_id JOIN employers e ON e.id = p.employer_id"
    } else {
        "cards c JOIN persons p ON p.id = c.person_id"
    };
    paged(
        pool,
        q,
        "SELECT c.card_number, c.person_id, p.name, c.generation, c.ss_status, \
         c.financial_status, c.bank_code, c.handed_over, c.issue_date, c.superseded_by",
        from,
        "c.card_number",
        |b| {
            if let Some(e) = &employer {
                b.push(" AND e.credit_code = ").push_bind(e.clone());
            }
            if let Some(bank) = &bank {
                b.push(" AND c.bank_code = ").push_bind(bank.clone());
            }
            if let Some(s) = status {
                b.push(" AND c.ss_status = ").push_bind(s);
            }
            if let Some(g) = &generation {
                b.push(" AND c.generation = ").push_bind(g.clone());
            }
            if let Some(d) = &district {
                b.push(" AND c.district = ").push_bind(d.clone());
            }
            if let Some(p) = &point {
                b.push(" AND ");
                waiting_at(b, |b| {
                    b.push_bind(p.clone());
                });
            }
            if let Some(t) = &text {
                if t.chars().all(|c| c.is_ascii_alphanumeric()) {
                    b.push(" AND c.card_number LIKE ")
                        .push_bind(format!("{}%", like_escaped(&t.to_ascii_uppercase())))
                        .push(" ESCAPE '\\'");
                } else {
                    b.push(" AND p.name LIKE ")
                        .push_bind(format!("{}%", like_escaped(t)))
                        .push(" ESCAPE '\\'");
                }
            }
        },
        |r| {
            let name: String = r.try_get("name")?;
            Ok(CardRow {
                card_number: r.try_get("card_number")?,
                person_id: r.try_get("person_id")?,
                holder_masked: mask_name(&name),
                generation: r.try_get("generation")?,
                ss_status: r.try_get("ss_status")?,
                financial_status: r.try_get("financial_status")?,
                bank_code: r.try_get("bank_code")?,
                handed_over: r.try_get("handed_over")?,
                issue_date: r.try_get("issue_date")?,
                superseded_by: r.try_get("superseded_by")?,
            })
        },
    )
    .await
}

/// Institutions, by code; searched by code or name part; filtered by district and kind. An
/// institution's own account sees itself only; outlets, employers and banks see none.
pub(crate) async fn list_institutions(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    q: &ListQuery,
) -> Result<ListPage<InstitutionRow>, StoreError> {
    let own = match cut(ctx) {
        Cut::All => None,
        Cut::Institution(i) => Some(i.to_owned()),
        _ => return Ok(empty(q)),
    };
    let kind: Option<i32> = match q.kind.as_deref() {
        Some("hospital") => Some(1),
        Some("pharmacy") => Some(2),
        _ => None,
    };
    let district = q.district.clone().filter(|d| !d.is_empty());
    let text = q.text().map(str::to_owned);
    paged(
        pool,
        q,
        "SELECT i.code, i.name, i.kind, i.level, i.region, i.networked, \
         (SELECT COUNT(*) FROM terminals t WHERE t.institution_id = i.id) AS terminals_n, \
         (SELECT COUNT(*) FROM terminals t WHERE t.institution_id = i.id AND t.state = 20) AS ready_n",
        "institutions i",
        "i.code",
        |b| {
            if let Some(o) = &own {
                b.push(" AND i.code = ").push_bind(o.clone());
            }
            if let Some(k) = kind {
                b.push(" AND i.kind = ").push_bind(k);
            }
            if let Some(d) = &district {
                b.push(" AND i.region = ").push_bind(d.clone());
            }
            if let Some(t) = &text {
                let pattern = format!("%{}%", like_escaped(t));
                b.push(" AND (i.code LIKE ")
                    .push_bind(pattern.clone())
                    .push(" ESCAPE '\\' OR i.name LIKE ")
                    .push_bind(pattern)
                    .push(" ESCAPE '\\')");
            }
        },
        |r| {
            Ok(InstitutionRow {
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                kind: if r.try_get::<i32, _>("kind")? == 1 {
                    "hospital"
                } else {
                    "pharmacy"
                }
                .into(),
                level: r.try_get("level")?,
                region: r.try_get("region")?,
                networked: r.try_get("networked")?,
                terminals: count(r, "terminals_n")?,
                ready: count(r, "ready_n")?,
            })
        },
    )
    .await
}

/// Terminals, by number; searched by terminal number or institution code/name part;
/// filtered by state, district and institution.
pub(crate) async fn list_terminals(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    q: &ListQuery,
) -> Result<ListPage<TerminalRow>, StoreError> {
    let own = match cut(ctx) {
        Cut::All => None,
        Cut::Institution(i) => Some(i.to_owned()),
        _ => return Ok(empty(q)),
    };
    let state: Option<i32> = q.status.as_deref().and_then(|s| s.parse().ok());
    let district = q.district.clone().filter(|d| !d.is_empty());
    let institution = q.institution.clone().filter(|i| !i.is_empty());
    let text = q.text().map(str::to_owned);
    paged(
        pool,
        q,
        "SELECT t.number, i.code, i.name, i.region, t.state, t.alg, t.ready_at, \
         (SELECT COUNT(*) FROM terminal_problems p WHERE p.terminal_id = t.id \
          AND p.resolved_at IS NULL) AS open_n",
        "terminals t JOIN institutions i ON i.id = t.institution_id",
        "t.number",
        |b| {
            if let Some(o) = &own {
                b.push(" AND i.code = ").push_bind(o.clone());
            }
            if let Some(s) = state {
                b.push(" AND t.state = ").push_bind(s);
            }
            if let Some(d) = &district {
                b.push(" AND i.region = ").push_bind(d.clone());
            }
            if let Some(i) = &institution {
                b.push(" AND i.code = ").push_bind(i.clone());
            }
            if let Some(t) = &text {
                let pattern = format!("%{}%", like_escaped(t));
                b.push(" AND (t.number LIKE ")
                    .push_bind(pattern.clone())
                    .push(" ESCAPE '\\' OR i.code LIKE ")
                    .push_bind(pattern.clone())
                    .push(" ESCAPE '\\' OR i.name LIKE ")
                    .push_bind(pattern)
                    .push(" ESCAPE '\\')");
            }
        },
        |r| {
            Ok(TerminalRow {
                number: r.try_get("number")?,
                institution_code: r.try_get("code")?,
                institution_name: r.try_get("name")?,
                region: r.try_get("region")?,
                state: r.try_get("state")?,
                alg: r.try_get("alg")?,
                ready_at: r.try_get("ready_at")?,
                open_problems: count(r, "open_n")?,
            })
        },
    )
    .await
}

/// Settlements, newest first; searched by `setl_id`; filtered by month, day, kind (`local`,
/// `cross`), status, treatment district and institution. An institution sees its own only.
pub(crate) async fn list_settlements(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    q: &ListQuery,
) -> Result<ListPage<SettlementRow>, StoreError> {
    let own = match cut(ctx) {
        Cut::All => None,
        Cut::Institution(i) => Some(i.to_owned()),
        _ => return Ok(empty(q)),
    };
    let month = q.month.clone().filter(|m| !m.is_empty());
    let day = q.day;
    let kind = q.kind.clone();
    let status = q.status.clone().filter(|s| !s.is_empty());
    let district = q.district.clone().filter(|d| !d.is_empty());
    let institution = q.institution.clone().filter(|i| !i.is_empty());
    let text = q.text().map(str::to_owned);
    paged(
        pool,
        q,
        "SELECT s.setl_id, s.setl_time, i.code, i.name AS institution_name, p.name, s.insutype, \
         s.med_type, s.insured_region, s.treatment_region, s.medfee_cents, s.fund_cents, \
         s.acct_cents, s.cash_cents, s.status",
        "settlements s JOIN institutions i ON i.id = s.institution_id \
         JOIN persons p ON p.id = s.person_id",
        "s.setl_time DESC, s.setl_id DESC",
        |b| {
            if let Some(o) = &own {
                b.push(" AND i.code = ").push_bind(o.clone());
            }
            if let Some(m) = &month {
                b.push(" AND s.setl_month = ").push_bind(m.clone());
            }
            if let Some(d) = day {
                let start = d.and_time(chrono::NaiveTime::MIN);
                b.push(" AND s.setl_time >= ").push_bind(start);
                b.push(" AND s.setl_time < ")
                    .push_bind(start + chrono::Duration::days(1));
            }
            match kind.as_deref() {
                Some("local") => {
                    b.push(" AND s.insured_region = s.treatment_region");
                }
                Some("cross") => {
                    b.push(" AND s.insured_region <> s.treatment_region");
                }
                _ => {}
            }
            if let Some(s) = &status {
                b.push(" AND s.status = ").push_bind(s.clone());
            }
            if let Some(d) = &district {
                b.push(" AND s.treatment_region = ").push_bind(d.clone());
            }
            if let Some(i) = &institution {
                b.push(" AND i.code = ").push_bind(i.clone());
            }
            if let Some(t) = &text {
                b.push(" AND s.setl_id = ").push_bind(t.clone());
            }
        },
        |r| {
            let name: String = r.try_get("name")?;
            Ok(SettlementRow {
                setl_id: r.try_get("setl_id")?,
                setl_time: r.try_get("setl_time")?,
                institution_code: r.try_get("code")?,
                institution_name: r.try_get("institution_name")?,
                person_masked: mask_name(&name),
                insutype: r.try_get("insutype")?,
                med_type: r.try_get("med_type")?,
                insured_region: r.try_get("insured_region")?,
                treatment_region: r.try_get("treatment_region")?,
                medfee_cents: r.try_get("medfee_cents")?,
                fund_cents: r.try_get("fund_cents")?,
                acct_cents: r.try_get("acct_cents")?,
                cash_cents: r.try_get("cash_cents")?,
                status: r.try_get("status")?,
            })
        },
    )
    .await
}

/// Exchange bookings, by day (newest first), half and time booked; searched by confirmation
/// code; filtered by point, day and status. A counter sees its own point's only.
pub(crate) async fn list_bookings(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    q: &ListQuery,
) -> Result<ListPage<crate::appointments::Appointment>, StoreError> {
    let point = match cut(ctx) {
        Cut::All => q.point.clone().filter(|p| !p.is_empty()),
        Cut::Outlet(o) => {
            if q.point.as_deref().is_some_and(|p| !p.is_empty() && p != o) {
                return Ok(empty(q));
            }
            Some(o.to_owned())
        }
        _ => return Ok(empty(q)),
    };
    let day = q.day;
    let status = q.status.clone().filter(|s| !s.is_empty());
    let text = q.text().map(str::to_ascii_uppercase);
    paged(
        pool,
        q,
        "SELECT a.code, a.point, a.day, a.half, a.status, a.phone, a.channel, a.created_at, \
         p.ssn, p.name, o.name_zh AS point_name",
        "appointments a JOIN persons p ON p.id = a.person_id JOIN outlets o ON o.code = a.point",
        "a.day DESC, a.half, a.created_at, a.code",
        |b| {
            if let Some(p) = &point {
                b.push(" AND a.point = ").push_bind(p.clone());
            }
            if let Some(d) = day {
                b.push(" AND a.day = ").push_bind(d);
            }
            if let Some(s) = &status {
                b.push(" AND a.status = ").push_bind(s.clone());
            }
            if let Some(t) = &text {
                b.push(" AND a.code = ").push_bind(t.clone());
            }
        },
        appointment_of,
    )
    .await
}

/// Cards by generation and social-security status, cut to the caller's scope as the cards
/// list is (a bank: its own).
pub(crate) async fn card_counts(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
) -> Result<Vec<CardCount>, StoreError> {
    let bank = match cut(ctx) {
        Cut::All | Cut::Outlet(_) => None,
        Cut::Bank(b) => Some(b.to_owned()),
        _ => return Ok(Vec::new()),
    };
    let rows = sqlx::query(
        "SELECT generation, ss_status, COUNT(*) AS n FROM cards \
         WHERE ($1 IS NULL OR bank_code = $1) GROUP BY generation, ss_status \
         ORDER BY generation, ss_status",
    )
    .bind(bank)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CardCount {
                generation: r.try_get("generation")?,
                ss_status: r.try_get("ss_status")?,
                cards: count(r, "n")?,
            })
        })
        .collect()
}

/// Settlements (kind 1, not cancellations) per hour of `day` (China time), `[hour, n]` for
/// 0–23, and the day counted: `None` asks for the latest day with a settlement (`today` when
/// there is none). An institution counts its own.
pub(crate) async fn settlements_by_hour(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    day: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(NaiveDate, Vec<(u32, u64)>), StoreError> {
    let own = match cut(ctx) {
        Cut::All => None,
        Cut::Institution(i) => Some(i.to_owned()),
        _ => return Ok((day.unwrap_or(today), Vec::new())),
    };
    let day = if let Some(d) = day {
        d
    } else {
        let latest: Option<chrono::NaiveDateTime> = sqlx::query_scalar(
            "SELECT MAX(s.setl_time) FROM settlements s \
             JOIN institutions i ON i.id = s.institution_id \
             WHERE s.kind = 1 AND ($1 IS NULL OR i.code = $1)",
        )
        .bind(own.clone())
        .fetch_one(pool)
        .await?;
        latest.map_or(today, |t| t.date())
    };
    let start = day.and_time(chrono::NaiveTime::MIN);
    let times: Vec<(chrono::NaiveDateTime,)> = sqlx::query_as(
        "SELECT s.setl_time FROM settlements s JOIN institutions i ON i.id = s.institution_id \
         WHERE s.kind = 1 AND s.setl_time >= $1 AND s.setl_time < $2 \
         AND ($3 IS NULL OR i.code = $3)",
    )
    .bind(start)
    .bind(start + chrono::Duration::days(1))
    .bind(own)
    .fetch_all(pool)
    .await?;
    let mut hours = [0u64; 24];
    for (t,) in times {
        hours[chrono::Timelike::hour(&t) as usize] += 1;
    }
    Ok((day, (0u32..).zip(hours).collect()))
}

/// Production rows waiting at each step, by partner bank (rows received at the outlet are
/// done and not counted). An employer agent counts its own batches'.
pub(crate) async fn production_queue(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
) -> Result<Vec<ProductionQueue>, StoreError> {
    let employer = match cut(ctx) {
        Cut::All => None,
        Cut::Employer(e) => Some(e.to_owned()),
        _ => return Ok(Vec::new()),
    };
    let rows = sqlx::query(
        "SELECT r.bank_code, r.step, COUNT(*) AS n, COUNT(DISTINCT r.batch_id) AS batches_n \
         FROM batch_rows r JOIN batches b ON b.id = r.batch_id \
         JOIN employers e ON e.id = b.employer_id \
         WHERE r.step <> 'received' AND ($1 IS NULL OR e.credit_code = $1) \
         GROUP BY r.bank_code, r.step ORDER BY r.bank_code, r.step",
    )
    .bind(employer)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ProductionQueue {
                bank_code: r.try_get("bank_code")?,
                step: r.try_get("step")?,
                rows: count(r, "n")?,
                batches: count(r, "batches_n")?,
            })
        })
        .collect()
}

/// The condition "card `c` waits for pickup at point `point`" (an SQL expression): made for
/// an application of that point, ready there (application status 02), not reported missing.
fn waiting_at(b: &mut QueryBuilder<'_, DB>, point: impl FnOnce(&mut QueryBuilder<'_, DB>)) {
    b.push("c.application_id IN (SELECT a.id FROM applications a WHERE a.outlet = ");
    point(b);
    b.push(
        " AND a.status = '02') AND NOT EXISTS (SELECT 1 FROM distribution_slots s \
         WHERE s.card_id = c.id AND s.missing_at IS NOT NULL)",
    );
}

/// Per point: cards handed over on `day` (China time) and cards waiting there (received, not
/// handed over, not missing). A counter sees its own point only.
pub(crate) async fn pickups_on(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    day: NaiveDate,
) -> Result<Vec<PointPickups>, StoreError> {
    let point = match cut(ctx) {
        Cut::All => None,
        Cut::Outlet(o) => Some(o.to_owned()),
        _ => return Ok(Vec::new()),
    };
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    let start = (DateTime::<Utc>::from_naive_utc_and_offset(midnight, Utc)
        - chrono::Duration::hours(8))
    .timestamp_micros();
    let end = start + 86_400_000_000;
    let mut query = QueryBuilder::<DB>::new(
        "SELECT o.code, o.name_zh, (SELECT COUNT(*) FROM pickups k WHERE k.outlet = o.code \
         AND k.at_us >= ",
    );
    query
        .push_bind(start)
        .push(" AND k.at_us < ")
        .push_bind(end);
    query.push(") AS handed_n, (SELECT COUNT(*) FROM cards c WHERE ");
    waiting_at(&mut query, |b| {
        b.push("o.code");
    });
    query.push(") AS waiting_n FROM outlets o");
    if let Some(p) = point {
        query.push(" WHERE o.code = ").push_bind(p);
    }
    query.push(" ORDER BY o.code");
    let rows = query.build().fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(PointPickups {
                point: r.try_get("code")?,
                name: r.try_get("name_zh")?,
                handed_over: count(r, "handed_n")?,
                waiting: count(r, "waiting_n")?,
            })
        })
        .collect()
}
