//! Online checks in batches (group commit). Terminals send checks concurrently; the store's
//! check writer takes the ones waiting and decides them together in one transaction: the
//! terminals and the cards they name are read in one query each, the counters and the check
//! records written in one statement each, the audit events chained once — a handful of
//! statements for the whole batch instead of a dozen per check. Each check is decided exactly
//! as [`terminal_check`] decides it alone, in the order the checks arrived; a card whose first
//! use is still to be recorded (and every later check of that holder in the batch) goes the
//! single check's way inside the same transaction.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::terminals::{BatchedCheck, CheckKind, CheckOutcome};
use sscard_core::{CheckResult, TerminalState};

/// Decides a batch, retried as a whole when it met a concurrent change; when it still fails,
/// each check runs alone, so one bad check never fails the others. Scope refusals are recorded
/// as the unit of work records them.
pub(crate) async fn check_batch(
    pool: &Pool,
    cfg: &Config,
    checks: &[BatchedCheck],
) -> Vec<Result<CheckOutcome, StoreError>> {
    let mut retry = crate::retry::Policy::start();
    let results = loop {
        match decide_batch(pool, cfg, checks).await {
            Err(e) if e.is_retryable() => {
                if retry.again().await.is_err() {
                    break None;
                }
            }
            Err(_) => break None,
            Ok(results) => break Some(results),
        }
    };
    let Some(results) = results else {
        let mut alone = Vec::with_capacity(checks.len());
        for c in checks {
            alone.push(
                terminal_check(pool, cfg, &c.ctx, &c.req, &c.crypto, CheckKind::Online).await,
            );
        }
        return alone;
    };
    for (c, r) in checks.iter().zip(&results) {
        if let Err(StoreError::OutOfScope(refusal)) = r {
            record_refusal(pool, &c.ctx, refusal).await;
        }
    }
    results
}

type CardEntry = (CardRow, String, String);

async fn decide_batch(
    pool: &Pool,
    cfg: &Config,
    checks: &[BatchedCheck],
) -> Result<Vec<Result<CheckOutcome, StoreError>>, StoreError> {
    let mut tx = pool.begin().await?;
    let mut terminals = load_terminals(&mut tx, checks).await?;
    let cards = load_cards(&mut tx, checks).await?;
    let cutover = cutover_in(&mut *tx).await?;
    // Holders whose cards changed in this batch: later checks of theirs read them again.
    let mut changed: HashSet<Uuid> = HashSet::new();
    let mut counters: HashMap<Uuid, i64> = HashMap::new();
    let mut records = Vec::with_capacity(checks.len());
    let mut audits = Vec::with_capacity(checks.len());
    let mut results = Vec::with_capacity(checks.len());
    for c in checks {
        let (ctx, req) = (&c.ctx, &c.req);
        let terminal = terminals.get(&req.terminal).cloned();
        if let Some(t) = &terminal
            && let Err(e) = ctx.actor.check_at_institution(&t.institution)
        {
            results.push(Err(e.into()));
            continue;
        }
        let mut out = outcome(CheckResult::Ok, ctx.at);
        let mut audit = Audit::default();
        let refusal =
            terminal_refusal(terminal.as_ref(), req, &c.crypto, CheckKind::Online, ctx.at);
        if let (true, Some(t)) = (authentic(refusal), &terminal) {
            let counter = i64::try_from(req.counter).unwrap_or(i64::MAX);
            counters.insert(t.id, counter);
            if let Some(kept) = terminals.get_mut(&req.terminal) {
                kept.last_counter = counter;
            }
        }
        if let Some(r) = refusal {
            out.result = r;
        } else {
            match cards.get(&req.card_number) {
                None => out.result = CheckResult::CardUnknown,
                Some((card, generation, holder)) if !changed.contains(&card.person_id) => {
                    let day = CheckDay {
                        today: ctx.at.date_naive(),
                        cutover,
                    };
                    if decide_card(card, generation, holder, req, &c.crypto, day, &mut out) {
                        // Its first use, recorded on the row read above (its version guards
                        // the write); later checks of this holder in the batch read again.
                        changed.insert(card.person_id);
                        first_use(&mut tx, cfg, ctx, card.clone(), &mut out, &mut audit).await?;
                    }
                }
                Some(_) => {
                    check_card(&mut tx, cfg, ctx, req, &c.crypto, &mut out, &mut audit).await?;
                }
            }
        }
        issue_token(&mut out, ctx.at);
        records.push(CheckRecord::new(
            terminal.as_ref().map(|t| t.id),
            req,
            &out,
            CheckKind::Online,
            ctx.at,
        ));
        push_check_audit(&mut audit, req, &out, CheckKind::Online);
        audits.push((ctx, audit));
        results.push(Ok(out));
    }
    let latest = checks
        .iter()
        .map(|c| c.ctx.at)
        .max()
        .unwrap_or_else(Utc::now);
    save_counters(&mut tx, &counters, latest).await?;
    insert_checks(&mut tx, &records).await?;
    flush_audits(&mut tx, audits).await?;
    tx.commit().await?;
    Ok(results)
}

/// The terminals the batch names, locked (PostgreSQL), by number.
async fn load_terminals(
    tx: &mut Tx<'_>,
    checks: &[BatchedCheck],
) -> Result<HashMap<String, TerminalRow>, StoreError> {
    let numbers: HashSet<&str> = checks.iter().map(|c| c.req.terminal.as_str()).collect();
    let mut q = sqlx::QueryBuilder::<DB>::new(
        "SELECT t.id, t.number, t.state, t.last_counter, \
         (SELECT i.code FROM institutions i WHERE i.id = t.institution_id) AS code \
         FROM terminals t WHERE t.number IN (",
    );
    let mut list = q.separated(", ");
    for n in &numbers {
        list.push_bind(*n);
    }
    q.push(")");
    q.push(FOR_UPDATE);
    let rows = q.build().fetch_all(&mut **tx).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        out.insert(
            r.try_get("number")?,
            TerminalRow {
                id: r.try_get("id")?,
                institution: r.try_get("code")?,
                state: TerminalState::from_code(r.try_get("state")?)
                    .ok_or_else(|| corrupt("terminals.state"))?,
                last_counter: r.try_get("last_counter")?,
            },
        );
    }
    Ok(out)
}

/// The cards the batch names (with generation and holder), by number.
async fn load_cards(
    tx: &mut Tx<'_>,
    checks: &[BatchedCheck],
) -> Result<HashMap<String, CardEntry>, StoreError> {
    let numbers: HashSet<&str> = checks
        .iter()
        .map(|c| c.req.card_number.as_str())
        .filter(|n| CardNumber::parse(n).is_ok())
        .collect();
    if numbers.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = sqlx::QueryBuilder::<DB>::new(card_for_check("WHERE card_number IN ("));
    let mut list = q.separated(", ");
    for n in &numbers {
        list.push_bind(*n);
    }
    q.push(")");
    let rows = q.build().fetch_all(&mut **tx).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let card = card_from_row(&r)?;
        let generation: String = r.try_get("generation")?;
        let holder: String = r.try_get("holder")?;
        out.insert(card.number.as_str().to_owned(), (card, generation, holder));
    }
    Ok(out)
}

/// Each authenticated terminal's last counter, in one statement.
async fn save_counters(
    tx: &mut Tx<'_>,
    counters: &HashMap<Uuid, i64>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if counters.is_empty() {
        return Ok(());
    }
    let mut q = sqlx::QueryBuilder::<DB>::new("UPDATE terminals SET last_counter = CASE id");
    for (id, counter) in counters {
        q.push(" WHEN ")
            .push_bind(*id)
            .push(" THEN ")
            .push_bind(*counter);
    }
    q.push(" ELSE last_counter END, updated_at = ")
        .push_bind(at);
    q.push(" WHERE id IN (");
    let mut list = q.separated(", ");
    for id in counters.keys() {
        list.push_bind(*id);
    }
    q.push(")");
    q.build().execute(&mut **tx).await?;
    Ok(())
}
