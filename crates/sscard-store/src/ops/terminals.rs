//! Terminals: enrolment and states, the online card check (with first use superseding the
//! older card in the same transaction), the readiness programme's problems and report.

use super::*;
use crate::terminals::{
    CheckCrypto, CheckKind, CheckOutcome, CheckRequest, DenyChange, DenyList, OfflineOutcome,
    OfflineUse, PROBLEM_CATEGORIES, ReadinessLine, TerminalEnrolment, TerminalProblem,
    TerminalView,
};
use sscard_core::{CheckResult, TerminalState};

/// How far a terminal's clock may be from the platform's.
pub(crate) const CLOCK_WINDOW_SECS: i64 = 300;

/// How long a check token proves the card was present.
pub(crate) const CHECK_TOKEN_MINUTES: i64 = 30;

fn not_found(what: &'static str, zh: &str, en: &str) -> StoreError {
    StoreError::Refused {
        code: what,
        zh: zh.to_owned(),
        en: en.to_owned(),
    }
}

struct InstitutionRow {
    id: Uuid,
    code: String,
    name: String,
    region: String,
}

async fn institution_by_code(tx: &mut Tx<'_>, code: &str) -> Result<InstitutionRow, StoreError> {
    let row = sqlx::query("SELECT id, code, name, region FROM institutions WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            not_found(
                "institution.unknown",
                &format!("没有登记代码为 {code} 的定点医药机构：请先 sscard institution add"),
                &format!(
                    "no institution {code} is registered: add it first (sscard institution add)"
                ),
            )
        })?;
    Ok(InstitutionRow {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        region: row.try_get("region")?,
    })
}

/// Enrols terminals at institutions, all in one transaction: each number is the institution's
/// district and the next serial of that district. The centre's work. Inputs are
/// `(institution, alg, device)`; an empty device becomes `SSCARD-<number>`.
pub(crate) async fn enrol_terminals(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    inputs: &[(String, String, String)],
) -> Result<Vec<TerminalEnrolment>, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let mut done = Vec::with_capacity(inputs.len());
        for (institution, alg, device) in inputs {
            ctx.actor.check_institution(institution)?;
            let inst = institution_by_code(&mut tx, institution).await?;
            let counter = format!("terminal:{}", inst.region);
            let serial: i64 = sqlx::query_scalar(
                "INSERT INTO counters (name, value) VALUES ($1, 1) \
                 ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
            )
            .bind(&counter)
            .fetch_one(&mut *tx)
            .await?;
            if serial > 999_999 {
                return Err(not_found(
                    "terminal.numbers_exhausted",
                    &format!("区县 {} 的终端编号已用完", inst.region),
                    &format!("district {} has no terminal numbers left", inst.region),
                ));
            }
            let number = format!("{}{serial:06}", inst.region);
            let device = if device.is_empty() {
                format!("SSCARD-{number}")
            } else {
                device.clone()
            };
            sqlx::query(
                "INSERT INTO terminals (id, number, institution_id, state, alg, device, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(Uuid::now_v7())
            .bind(&number)
            .bind(inst.id)
            .bind(TerminalState::Enrolled.code())
            .bind(alg)
            .bind(&device)
            .bind(ctx.at)
            .execute(&mut *tx)
            .await?;
            audit.push(
                "terminal.enrol",
                number.as_str(),
                json!({ "institution": inst.code, "alg": alg }),
            );
            done.push(TerminalEnrolment {
                number,
                institution: inst.code,
                institution_name: inst.name,
                alg: alg.clone(),
                device,
                state: TerminalState::Enrolled,
            });
        }
        done
    })
}

/// Suspends a terminal, or puts it back (ready again if it had passed the self-test).
pub(crate) async fn set_terminal_suspended(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    number: &str,
    suspended: bool,
) -> Result<TerminalState, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let row = sqlx::query(
            "SELECT t.state, t.ready_at, i.code FROM terminals t \
             JOIN institutions i ON i.id = t.institution_id WHERE t.number = $1",
        )
        .bind(number)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| unknown_terminal(number))?;
        let code: String = row.try_get("code")?;
        ctx.actor.check_institution(&code)?;
        let ready_at: Option<DateTime<Utc>> = row.try_get("ready_at")?;
        let next = if suspended {
            TerminalState::Suspended
        } else if ready_at.is_some() {
            TerminalState::Ready
        } else {
            TerminalState::Enrolled
        };
        sqlx::query("UPDATE terminals SET state = $1, updated_at = $2 WHERE number = $3")
            .bind(next.code())
            .bind(ctx.at)
            .bind(number)
            .execute(&mut *tx)
            .await?;
        audit.push(
            if suspended {
                "terminal.suspend"
            } else {
                "terminal.resume"
            },
            number,
            json!({ "state": next.as_str() }),
        );
        next
    })
}

fn unknown_terminal(number: &str) -> StoreError {
    not_found(
        "terminal.unknown",
        &format!("没有编号为 {number} 的终端"),
        &format!("no terminal {number}"),
    )
}

/// The terminals, of one institution or all.
pub(crate) async fn terminals(
    pool: &Pool,
    _cfg: &Config,
    _ctx: &Ctx,
    institution: Option<&str>,
) -> Result<Vec<TerminalView>, StoreError> {
    let rows = sqlx::query(
        "SELECT t.number, t.state, t.ready_at, i.code, i.name, i.region, \
         (SELECT COUNT(*) FROM terminal_problems p WHERE p.terminal_id = t.id \
          AND p.resolved_at IS NULL) AS open_problems, \
         (SELECT COUNT(*) FROM terminal_checks c WHERE c.terminal_id = t.id) AS checks \
         FROM terminals t JOIN institutions i ON i.id = t.institution_id \
         WHERE ($1 IS NULL OR i.code = $1) ORDER BY t.number",
    )
    .bind(institution)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TerminalView {
                number: r.try_get("number")?,
                institution: r.try_get("code")?,
                institution_name: r.try_get("name")?,
                region: r.try_get("region")?,
                state: TerminalState::from_code(r.try_get("state")?)
                    .ok_or_else(|| corrupt("terminals.state"))?,
                ready_at: r.try_get("ready_at")?,
                open_problems: u32::try_from(r.try_get::<i64, _>("open_problems")?)
                    .unwrap_or_default(),
                checks: u32::try_from(r.try_get::<i64, _>("checks")?).unwrap_or_default(),
            })
        })
        .collect()
}

#[derive(Clone)]
pub(super) struct TerminalRow {
    pub(super) id: Uuid,
    pub(super) institution: String,
    pub(super) state: TerminalState,
    pub(super) last_counter: i64,
}

pub(super) fn outcome(result: CheckResult, at: DateTime<Utc>) -> CheckOutcome {
    CheckOutcome {
        result,
        card_number: None,
        generation: None,
        ss_status: None,
        holder_masked: None,
        insured_city: None,
        check_token: None,
        valid_until: None,
        superseded: Vec::new(),
        checked_at: at,
    }
}

/// The decisions about the terminal and the request, in order: known, MAC, clock, counter,
/// state. `None` when the terminal may go on.
pub(super) fn terminal_refusal(
    terminal: Option<&TerminalRow>,
    req: &CheckRequest,
    crypto: &dyn CheckCrypto,
    kind: CheckKind,
    at: DateTime<Utc>,
) -> Option<CheckResult> {
    let Some(t) = terminal else {
        return Some(CheckResult::TerminalUnknown);
    };
    if !crypto.mac_ok(req) {
        return Some(CheckResult::TerminalBadMac);
    }
    if (at.timestamp() - req.time).abs() > CLOCK_WINDOW_SECS {
        return Some(CheckResult::RequestStale);
    }
    if i64::try_from(req.counter).unwrap_or(i64::MAX) <= t.last_counter {
        return Some(CheckResult::TerminalReplay);
    }
    match (t.state, kind) {
        (TerminalState::Suspended, _) => Some(CheckResult::TerminalSuspended),
        (TerminalState::Enrolled, CheckKind::Online) => Some(CheckResult::TerminalNotReady),
        _ => None,
    }
}

/// Whether a request authenticated (its counter is then kept): anything but an unknown
/// terminal, a bad MAC, a stale clock or a replay.
pub(super) fn authentic(refusal: Option<CheckResult>) -> bool {
    !matches!(
        refusal,
        Some(
            CheckResult::TerminalUnknown
                | CheckResult::TerminalBadMac
                | CheckResult::RequestStale
                | CheckResult::TerminalReplay
        )
    )
}

/// What the card's state says, before any use is recorded.
fn card_refusal(
    card: &CardRow,
    generation: &str,
    cutover: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<CheckResult> {
    if let Some(blocked) = CheckResult::blocking(&card.state) {
        return Some(blocked);
    }
    if generation == "legacy" && cutover.is_some_and(|c| today > c) {
        return Some(CheckResult::CardLegacyRetired);
    }
    if !card.state.handed_over {
        return Some(CheckResult::CardNotIssued);
    }
    if card.expiry_date < today {
        return Some(CheckResult::CardExpired);
    }
    None
}

/// Records a change of a card's blocked status for the terminals' deny lists. The version
/// comes from a counter row, whose lock orders the writers: versions commit in order, so a
/// terminal syncing "since V" never misses a change.
pub(super) async fn record_deny_change(
    tx: &mut Tx<'_>,
    card: &CardNumber,
    reason: Option<CheckResult>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let version: i64 = sqlx::query_scalar(
        "UPDATE counters SET value = value + 1 WHERE name = 'deny_list' RETURNING value",
    )
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO deny_list_changes (version, card_number, reason, changed_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(version)
    .bind(card.as_str())
    .bind(reason.map(CheckResult::code))
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One card check by a terminal, decided and recorded in one transaction: the terminal
/// (known, its MAC, its clock, its counter, its state), then the card (known, genuine, its
/// status). The first `ok` of a new card supersedes the holder's older card in the same
/// transaction. Every check is recorded, whatever its result; an accepted request's counter
/// is kept so the same request cannot be used twice.
#[allow(clippy::too_many_lines)]
pub(crate) async fn terminal_check(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    req: &CheckRequest,
    crypto: &dyn CheckCrypto,
    kind: CheckKind,
) -> Result<CheckOutcome, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let at = ctx.at;
        let row = sqlx::query(&format!(
            "SELECT t.id, t.state, t.last_counter, \
             (SELECT i.code FROM institutions i WHERE i.id = t.institution_id) AS code \
             FROM terminals t WHERE t.number = $1{FOR_UPDATE}"
        ))
        .bind(&req.terminal)
        .fetch_optional(&mut *tx)
        .await?;
        let terminal = match row {
            Some(r) => Some(TerminalRow {
                id: r.try_get("id")?,
                institution: r.try_get("code")?,
                state: TerminalState::from_code(r.try_get("state")?)
                    .ok_or_else(|| corrupt("terminals.state"))?,
                last_counter: r.try_get("last_counter")?,
            }),
            None => None,
        };
        // A terminal acts for its own institution only; the one it names must be its own.
        if let Some(t) = &terminal {
            ctx.actor.check_at_institution(&t.institution)?;
        }
        let mut out = outcome(CheckResult::Ok, at);
        let refusal = terminal_refusal(terminal.as_ref(), req, crypto, kind, at);
        let authentic = authentic(refusal);
        if let (true, Some(t)) = (authentic, &terminal) {
            sqlx::query("UPDATE terminals SET last_counter = $1, updated_at = $2 WHERE id = $3")
                .bind(i64::try_from(req.counter).unwrap_or(i64::MAX))
                .bind(at)
                .bind(t.id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(r) = refusal {
            out.result = r;
        } else if kind == CheckKind::Selftest {
            out.result = if !crypto.is_test_card(req) || !crypto.card_ok(req, true) {
                CheckResult::CardNotGenuine
            } else if !crypto.psam_ok(req) {
                CheckResult::TerminalPsamForeign
            } else {
                CheckResult::Ok
            };
            out.card_number = Some(req.card_number.clone());
            if out.result == CheckResult::Ok {
                let t = terminal.as_ref().expect("known");
                sqlx::query(
                    "UPDATE terminals SET state = $1, ready_at = $2, updated_at = $2 WHERE id = $3",
                )
                .bind(TerminalState::Ready.code())
                .bind(at)
                .bind(t.id)
                .execute(&mut *tx)
                .await?;
                audit.push("terminal.ready", req.terminal.as_str(), json!({}));
            }
        } else {
            check_card(&mut tx, cfg, ctx, req, crypto, &mut out, &mut audit).await?;
        }
        if kind == CheckKind::Online {
            issue_token(&mut out, at);
        }
        let record = CheckRecord::new(terminal.as_ref().map(|t| t.id), req, &out, kind, at);
        insert_checks(&mut tx, &[record]).await?;
        push_check_audit(&mut audit, req, &out, kind);
        out
    })
}

/// An accepted online check's token: random, valid for [`CHECK_TOKEN_MINUTES`].
pub(super) fn issue_token(out: &mut CheckOutcome, at: DateTime<Utc>) {
    if out.result == CheckResult::Ok {
        out.check_token = Some(hex::encode(rand::random::<[u8; 32]>()));
        out.valid_until = Some(at + chrono::Duration::minutes(CHECK_TOKEN_MINUTES));
    }
}

/// One row of `terminal_checks`.
pub(super) struct CheckRecord {
    terminal_id: Option<Uuid>,
    terminal: String,
    card_number: Option<String>,
    result: &'static str,
    counter: i64,
    terminal_time: DateTime<Utc>,
    checked_at: DateTime<Utc>,
    kind: i32,
    token_hash: Option<String>,
    valid_until: Option<DateTime<Utc>>,
}

impl CheckRecord {
    pub(super) fn new(
        terminal_id: Option<Uuid>,
        req: &CheckRequest,
        out: &CheckOutcome,
        kind: CheckKind,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            terminal_id,
            terminal: req.terminal.clone(),
            card_number: out
                .card_number
                .clone()
                .or_else(|| Some(req.card_number.clone()))
                .filter(|n| n.len() <= 20),
            result: out.result.code(),
            counter: i64::try_from(req.counter).unwrap_or(i64::MAX),
            terminal_time: DateTime::<Utc>::from_timestamp(req.time, 0).unwrap_or(at),
            checked_at: at,
            kind: kind.code(),
            token_hash: out.check_token.as_deref().map(token_digest),
            valid_until: out.valid_until,
        }
    }
}

/// Records checks, many rows per statement.
pub(super) async fn insert_checks(
    tx: &mut Tx<'_>,
    records: &[CheckRecord],
) -> Result<(), StoreError> {
    // 11 binds a row; 500 rows stay below every backend's bind limit.
    for chunk in records.chunks(500) {
        let mut insert = sqlx::QueryBuilder::<DB>::new(
            "INSERT INTO terminal_checks (id, terminal_id, terminal_number, card_number, result, \
             counter, terminal_time, checked_at, kind, token_hash, valid_until) ",
        );
        insert.push_values(chunk, |mut b, r| {
            b.push_bind(Uuid::now_v7())
                .push_bind(r.terminal_id)
                .push_bind(&r.terminal)
                .push_bind(&r.card_number)
                .push_bind(r.result)
                .push_bind(r.counter)
                .push_bind(r.terminal_time)
                .push_bind(r.checked_at)
                .push_bind(r.kind)
                .push_bind(&r.token_hash)
                .push_bind(r.valid_until);
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// The audit event of a check, without ID numbers and with the card number masked.
pub(super) fn push_check_audit(
    audit: &mut Audit,
    req: &CheckRequest,
    out: &CheckOutcome,
    kind: CheckKind,
) {
    audit.push(
        if kind == CheckKind::Selftest {
            "terminal.selftest"
        } else {
            "terminal.check"
        },
        req.terminal.as_str(),
        json!({
            "card": out.card_number.as_deref().map(mask_card),
            "result": out.result.code(),
            "counter": req.counter,
            "superseded": out.superseded,
        }),
    );
}

fn mask_card(number: &str) -> String {
    mask_middle(number, 3, 2)
}

/// The SM3 digest (hex) a check token is stored as.
pub(crate) fn token_digest(token: &str) -> String {
    use sm3::Digest as _;
    hex::encode(sm3::Sm3::digest(token.as_bytes()))
}

/// A card row with what a check answers about it (its generation, its holder's name), for the
/// cards `filter` selects.
pub(super) fn card_for_check(filter: &str) -> String {
    format!(
        "SELECT {CARD_COLUMNS}, generation, \
         (SELECT p.name FROM persons p WHERE p.id = cards.person_id) AS holder FROM cards {filter}"
    )
}

/// What the card says, from its row: genuine (its identification code and its cryptogram),
/// then its status. `true` when it is fit for use and its first use is still to be recorded.
/// The day of a check and the city's cut-over (legacy cards are refused after it).
#[derive(Clone, Copy)]
pub(super) struct CheckDay {
    pub(super) today: NaiveDate,
    pub(super) cutover: Option<NaiveDate>,
}

pub(super) fn decide_card(
    card: &CardRow,
    generation: &str,
    holder: &str,
    req: &CheckRequest,
    crypto: &dyn CheckCrypto,
    day: CheckDay,
    out: &mut CheckOutcome,
) -> bool {
    out.card_number = Some(card.number.as_str().to_owned());
    let code_matches = card
        .card_id_code
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case(&req.card_id_code));
    if !code_matches || !crypto.card_ok(req, generation == "third") {
        out.result = CheckResult::CardNotGenuine;
        return false;
    }
    out.generation = Some(generation.to_owned());
    out.insured_city = card
        .card_id_code
        .as_deref()
        .and_then(|c| c.get(..4))
        .map(|p| format!("{p}00"));
    out.holder_masked = Some(mask_name(holder));
    out.ss_status = Some(card.state.ss);
    if let Some(refused) = card_refusal(card, generation, day.cutover, day.today) {
        out.result = refused;
        return false;
    }
    // In use already: its first use superseded the holder's older cards then.
    !(card.state.first_used && card.state.ss == sscard_core::SsStatus::Normal)
}

pub(super) async fn check_card(
    tx: &mut Tx<'_>,
    cfg: &Config,
    ctx: &Ctx,
    req: &CheckRequest,
    crypto: &dyn CheckCrypto,
    out: &mut CheckOutcome,
    audit: &mut Audit,
) -> Result<(), StoreError> {
    let Ok(number) = CardNumber::parse(&req.card_number) else {
        out.result = CheckResult::CardUnknown;
        return Ok(());
    };
    // The holder's cards are locked before they are read, so two terminals checking the old
    // and the new card at once decide one after the other (PostgreSQL; SQLite has one writer).
    if !FOR_UPDATE.is_empty() {
        sqlx::query(&format!(
            "SELECT id FROM cards WHERE person_id = \
             (SELECT person_id FROM cards WHERE card_number = $1) ORDER BY id{FOR_UPDATE}"
        ))
        .bind(number.as_str())
        .fetch_all(&mut **tx)
        .await?;
    }
    let row = sqlx::query(&card_for_check("WHERE card_number = $1"))
        .bind(number.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else {
        out.result = CheckResult::CardUnknown;
        return Ok(());
    };
    let card = card_from_row(&row)?;
    let generation: String = row.try_get("generation")?;
    let holder: String = row.try_get("holder")?;
    if !decide_card(
        &card,
        &generation,
        &holder,
        req,
        crypto,
        CheckDay {
            today: ctx.at.date_naive(),
            cutover: cutover_in(&mut **tx).await?,
        },
        out,
    ) {
        return Ok(());
    }
    first_use(tx, cfg, ctx, card, out, audit).await
}

/// Records a card's first use: it enables the card and supersedes the holder's older card.
pub(super) async fn first_use(
    tx: &mut Tx<'_>,
    cfg: &Config,
    ctx: &Ctx,
    card: CardRow,
    out: &mut CheckOutcome,
    audit: &mut Audit,
) -> Result<(), StoreError> {
    let number = card.number;
    let (after, effects) =
        apply_card_event_on(tx, cfg, ctx, card, &CardEvent::FirstUse, audit).await?;
    out.superseded = effects
        .iter()
        .filter_map(|e| match e {
            sscard_core::Effect::Superseded { card, .. } => Some(card.as_str().to_owned()),
            _ => None,
        })
        .collect();
    out.ss_status = after.card(&number).map(|c| c.ss);
    Ok(())
}

/// Opens a readiness problem on a terminal.
pub(crate) async fn open_problem(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    terminal: &str,
    category: &str,
    note: &str,
) -> Result<TerminalProblem, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        if !PROBLEM_CATEGORIES.contains(&category) {
            return Err(not_found(
                "problem.category",
                &format!(
                    "问题类别 {category} 无效：应为 {}",
                    PROBLEM_CATEGORIES.join("、")
                ),
                &format!(
                    "problem category {category} is not one of {}",
                    PROBLEM_CATEGORIES.join(", ")
                ),
            ));
        }
        if note.trim().is_empty() {
            return Err(not_found(
                "problem.note",
                "请写明问题（--note）",
                "describe the problem (--note)",
            ));
        }
        let row = sqlx::query(
            "SELECT t.id, i.code FROM terminals t JOIN institutions i ON i.id = t.institution_id \
             WHERE t.number = $1",
        )
        .bind(terminal)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| unknown_terminal(terminal))?;
        let code: String = row.try_get("code")?;
        ctx.actor.check_at_institution(&code)?;
        let terminal_id: Uuid = row.try_get("id")?;
        let number: i64 = sqlx::query_scalar(
            "UPDATE counters SET value = value + 1 WHERE name = 'terminal_problem' RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO terminal_problems (id, number, terminal_id, category, note, opened_at, \
             opened_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7())
        .bind(number)
        .bind(terminal_id)
        .bind(category)
        .bind(note.trim())
        .bind(ctx.at)
        .bind(ctx.actor.name())
        .execute(&mut *tx)
        .await?;
        audit.push(
            "terminal.problem_open",
            terminal,
            json!({ "problem": number, "category": category }),
        );
        problem_by_number(&mut tx, number).await?
    })
}

/// Resolves a readiness problem.
pub(crate) async fn resolve_problem(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    number: i64,
    resolution: &str,
) -> Result<TerminalProblem, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let problem = problem_by_number(&mut tx, number).await?;
        ctx.actor.check_at_institution(&problem.institution)?;
        if problem.resolved_at.is_some() {
            return Err(not_found(
                "problem.resolved",
                &format!("问题 {number} 已经解决"),
                &format!("problem {number} is already resolved"),
            ));
        }
        sqlx::query(
            "UPDATE terminal_problems SET resolved_at = $1, resolved_by = $2, resolution = $3 \
             WHERE number = $4",
        )
        .bind(ctx.at)
        .bind(ctx.actor.name())
        .bind(resolution.trim())
        .bind(number)
        .execute(&mut *tx)
        .await?;
        audit.push(
            "terminal.problem_resolve",
            problem.terminal.as_str(),
            json!({ "problem": number }),
        );
        problem_by_number(&mut tx, number).await?
    })
}

const PROBLEM_SELECT: &str = "SELECT p.number, p.category, p.note, p.opened_at, p.opened_by, \
     p.resolved_at, p.resolution, t.number AS terminal, i.code, i.name, i.region \
     FROM terminal_problems p JOIN terminals t ON t.id = p.terminal_id \
     JOIN institutions i ON i.id = t.institution_id";

fn problem_from_row(r: &DbRow) -> Result<TerminalProblem, StoreError> {
    Ok(TerminalProblem {
        number: r.try_get("number")?,
        terminal: r.try_get("terminal")?,
        institution: r.try_get("code")?,
        institution_name: r.try_get("name")?,
        region: r.try_get("region")?,
        category: r.try_get("category")?,
        note: r.try_get("note")?,
        opened_at: r.try_get("opened_at")?,
        opened_by: r.try_get("opened_by")?,
        resolved_at: r.try_get("resolved_at")?,
        resolution: r.try_get("resolution")?,
    })
}

async fn problem_by_number(tx: &mut Tx<'_>, number: i64) -> Result<TerminalProblem, StoreError> {
    let row = sqlx::query(&format!("{PROBLEM_SELECT} WHERE p.number = $1"))
        .bind(number)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            not_found(
                "problem.unknown",
                &format!("没有编号为 {number} 的问题"),
                &format!("no problem {number}"),
            )
        })?;
    problem_from_row(&row)
}

/// Problems, the open ones only or all, oldest first.
pub(crate) async fn problems(
    pool: &Pool,
    _cfg: &Config,
    _ctx: &Ctx,
    open_only: bool,
) -> Result<Vec<TerminalProblem>, StoreError> {
    let rows = sqlx::query(&format!(
        "{PROBLEM_SELECT} WHERE ($1 = FALSE OR p.resolved_at IS NULL) ORDER BY p.number"
    ))
    .bind(open_only)
    .fetch_all(pool)
    .await?;
    rows.iter().map(problem_from_row).collect()
}

/// The readiness report: per district and institution kind, institutions, terminals, ready,
/// suspended and open problems.
pub(crate) async fn readiness(
    pool: &Pool,
    _cfg: &Config,
    _ctx: &Ctx,
) -> Result<Vec<ReadinessLine>, StoreError> {
    let rows = sqlx::query(
        "SELECT i.region, i.kind, COUNT(DISTINCT i.id) AS institutions, \
         COUNT(t.id) AS terminals, \
         CAST(COALESCE(SUM(CASE WHEN t.state = 20 THEN 1 ELSE 0 END), 0) AS BIGINT) AS ready, \
         CAST(COALESCE(SUM(CASE WHEN t.state = 30 THEN 1 ELSE 0 END), 0) AS BIGINT) AS suspended, \
         CAST(COALESCE(SUM(p.n_open), 0) AS BIGINT) AS open_problems \
         FROM institutions i LEFT JOIN terminals t ON t.institution_id = i.id \
         LEFT JOIN (SELECT terminal_id, COUNT(*) AS n_open FROM terminal_problems \
                    WHERE resolved_at IS NULL GROUP BY terminal_id) p ON p.terminal_id = t.id \
         GROUP BY i.region, i.kind ORDER BY i.region, i.kind",
    )
    .fetch_all(pool)
    .await?;
    let count = |r: &DbRow, c: &str| -> Result<u32, StoreError> {
        Ok(u32::try_from(r.try_get::<i64, _>(c)?).unwrap_or_default())
    };
    rows.iter()
        .map(|r| {
            let terminals = count(r, "terminals")?;
            let ready = count(r, "ready")?;
            Ok(ReadinessLine {
                region: r.try_get("region")?,
                kind: if r.try_get::<i32, _>("kind")? == 1 {
                    "hospital".into()
                } else {
                    "pharmacy".into()
                },
                institutions: count(r, "institutions")?,
                terminals,
                ready,
                suspended: count(r, "suspended")?,
                open_problems: count(r, "open_problems")?,
                ready_permille: crate::terminals::permille(ready, terminals),
            })
        })
        .collect()
}

/// The deny list's changes after version `since`.
pub(crate) async fn deny_list(
    pool: &Pool,
    _cfg: &Config,
    _ctx: &Ctx,
    since: i64,
) -> Result<DenyList, StoreError> {
    let mut conn = pool.acquire().await?;
    let version: i64 = sqlx::query_scalar("SELECT value FROM counters WHERE name = 'deny_list'")
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query(
        "SELECT version, card_number, reason FROM deny_list_changes \
         WHERE version > $1 AND version <= $2 ORDER BY version",
    )
    .bind(since)
    .bind(version)
    .fetch_all(&mut *conn)
    .await?;
    let changes = rows
        .iter()
        .map(|r| {
            Ok(DenyChange {
                version: r.try_get("version")?,
                card_number: r.try_get("card_number")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(DenyList { version, changes })
}

/// What the card was at `at`: its blocked reason then, from the deny list's history.
async fn blocked_at(
    tx: &mut Tx<'_>,
    card: &str,
    at: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let reason: Option<Option<String>> = sqlx::query_scalar(
        "SELECT reason FROM deny_list_changes WHERE card_number = $1 AND changed_at <= $2 \
         ORDER BY version DESC LIMIT 1",
    )
    .bind(card)
    .bind(at)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(reason.flatten())
}

/// Why an offline use is flagged, if it is: the card unknown, not genuine, or blocked at the
/// time of use.
async fn offline_reason(
    tx: &mut Tx<'_>,
    u: &CheckRequest,
    crypto: &dyn CheckCrypto,
    used_at: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let card = sqlx::query("SELECT card_id_code, generation FROM cards WHERE card_number = $1")
        .bind(&u.card_number)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = card else {
        return Ok(Some(CheckResult::CardUnknown.code().to_owned()));
    };
    let code: Option<String> = row.try_get("card_id_code")?;
    let generation: String = row.try_get("generation")?;
    let genuine = code
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case(&u.card_id_code))
        && crypto.card_ok(u, generation == "third");
    if genuine {
        blocked_at(tx, &u.card_number, used_at).await
    } else {
        Ok(Some(CheckResult::CardNotGenuine.code().to_owned()))
    }
}

/// Reconciles uses a terminal decided offline, in one transaction: each must carry the
/// terminal's MAC (else it is refused and nothing recorded); a use uploaded before changes
/// nothing; the others are accepted, or flagged when the card did not prove genuine or was
/// blocked at the time of use.
pub(crate) async fn upload_offline_uses(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    uses: &[CheckRequest],
    crypto: &dyn CheckCrypto,
) -> Result<Vec<OfflineOutcome>, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let mut out = Vec::with_capacity(uses.len());
        for u in uses {
            let mut outcome = OfflineOutcome {
                counter: u.counter,
                card_number: u.card_number.clone(),
                outcome: "refused".into(),
                reason: None,
            };
            let terminal = sqlx::query(
                "SELECT t.id, i.code FROM terminals t JOIN institutions i \
                 ON i.id = t.institution_id WHERE t.number = $1",
            )
            .bind(&u.terminal)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(terminal) = terminal else {
                outcome.reason = Some(CheckResult::TerminalUnknown.code().into());
                out.push(outcome);
                continue;
            };
            let terminal_id: Uuid = terminal.try_get("id")?;
            ctx.actor
                .check_at_institution(&terminal.try_get::<String, _>("code")?)?;
            if !crypto.mac_ok(u) {
                outcome.reason = Some(CheckResult::TerminalBadMac.code().into());
                out.push(outcome);
                continue;
            }
            let counter = i64::try_from(u.counter).unwrap_or(i64::MAX);
            let known: Option<i64> = sqlx::query_scalar(
                "SELECT counter FROM offline_uses WHERE terminal_id = $1 AND counter = $2",
            )
            .bind(terminal_id)
            .bind(counter)
            .fetch_optional(&mut *tx)
            .await?;
            if known.is_some() {
                outcome.outcome = "already".into();
                out.push(outcome);
                continue;
            }
            let used_at = DateTime::<Utc>::from_timestamp(u.time, 0).unwrap_or(ctx.at);
            let reason = offline_reason(&mut tx, u, crypto, used_at).await?;
            outcome.outcome = reason.as_ref().map_or("accepted", |_| "flagged").into();
            outcome.reason = reason;
            sqlx::query(
                "INSERT INTO offline_uses (id, terminal_id, counter, card_number, used_at, \
                 uploaded_at, outcome, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(Uuid::now_v7())
            .bind(terminal_id)
            .bind(counter)
            .bind(&u.card_number)
            .bind(used_at)
            .bind(ctx.at)
            .bind(&outcome.outcome)
            .bind(&outcome.reason)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO terminal_checks (id, terminal_id, terminal_number, card_number, \
                 result, counter, terminal_time, checked_at, kind) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 3)",
            )
            .bind(Uuid::now_v7())
            .bind(terminal_id)
            .bind(&u.terminal)
            .bind(&u.card_number)
            .bind(
                outcome
                    .reason
                    .as_deref()
                    .unwrap_or(CheckResult::OkOffline.code()),
            )
            .bind(counter)
            .bind(used_at)
            .bind(ctx.at)
            .execute(&mut *tx)
            .await?;
            audit.push(
                "terminal.offline_use",
                u.terminal.as_str(),
                json!({
                    "card": mask_card(&u.card_number),
                    "counter": u.counter,
                    "outcome": outcome.outcome,
                    "reason": outcome.reason,
                }),
            );
            out.push(outcome);
        }
        out
    })
}

/// The reconciled offline uses, newest first; `flagged_only` for the ones to follow up.
pub(crate) async fn offline_uses(
    pool: &Pool,
    _cfg: &Config,
    _ctx: &Ctx,
    flagged_only: bool,
) -> Result<Vec<OfflineUse>, StoreError> {
    let rows = sqlx::query(
        "SELECT t.number, i.code, o.counter, o.card_number, o.used_at, o.uploaded_at, o.outcome, \
         o.reason FROM offline_uses o JOIN terminals t ON t.id = o.terminal_id \
         JOIN institutions i ON i.id = t.institution_id \
         WHERE ($1 = FALSE OR o.outcome = 'flagged') ORDER BY o.used_at DESC, t.number",
    )
    .bind(flagged_only)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OfflineUse {
                terminal: r.try_get("number")?,
                institution: r.try_get("code")?,
                counter: r.try_get("counter")?,
                card_number: r.try_get("card_number")?,
                used_at: r.try_get("used_at")?,
                uploaded_at: r.try_get("uploaded_at")?,
                outcome: r.try_get("outcome")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect()
}
