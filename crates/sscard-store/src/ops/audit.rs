//! The audit trail inside the operations: events gathered during a unit of work and appended at
//! its end, the sealer that chains appended events, the streaming verification, checkpoints and
//! the most recent events.
//!
//! Where events are chained differs per backend ([`AUDIT_INLINE`]): SQLite's one writer already
//! serialises every write, so a unit of work chains its events onto the head itself; on
//! PostgreSQL a unit of work only appends them to `audit_pending` (no shared row, so concurrent
//! writers do not wait for each other) and [`seal_audit`] chains them in order.

use futures::TryStreamExt;

use super::*;
use crate::audit::{Anchor, Verifier};

/// Audit entries gathered during a unit of work and appended in one go at its end.
#[derive(Default)]
pub(super) struct Audit(pub(super) Vec<(String, String, serde_json::Value)>);

impl Audit {
    pub(super) fn push(
        &mut self,
        action: impl Into<String>,
        subject: impl Into<String>,
        payload: serde_json::Value,
    ) {
        self.0.push((action.into(), subject.into(), payload));
    }
}

/// An event before it is chained.
struct Unchained {
    id: Uuid,
    at_us: i64,
    actor: String,
    action: String,
    subject: String,
    reason: String,
    payload: String,
}

/// Appends a unit of work's events in its transaction: chained at once on SQLite, unchained for
/// the sealer on PostgreSQL.
pub(super) async fn flush_audit(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    audit: Audit,
) -> Result<(), StoreError> {
    flush_audits(tx, vec![(ctx, audit)]).await
}

/// Appends the events of several actors' units of work in one go (a batch of checks), each
/// with its own actor, time and reason, in this order.
pub(super) async fn flush_audits(
    tx: &mut Tx<'_>,
    units: Vec<(&Ctx, Audit)>,
) -> Result<(), StoreError> {
    let events: Vec<Unchained> = units
        .into_iter()
        .flat_map(|(ctx, audit)| {
            audit
                .0
                .into_iter()
                .map(move |(action, subject, payload)| Unchained {
                    id: Uuid::now_v7(),
                    at_us: ctx.at.timestamp_micros(),
                    actor: ctx.actor.name().to_owned(),
                    action,
                    subject,
                    reason: ctx.reason.clone(),
                    payload: payload.to_string(),
                })
        })
        .collect();
    if events.is_empty() {
        return Ok(());
    }
    if AUDIT_INLINE {
        return chain_onto_head(tx, events).await;
    }
    let mut insert = sqlx::QueryBuilder::<DB>::new(
        "INSERT INTO audit_pending (id, at_us, actor, action, subject, reason, payload) ",
    );
    insert.push_values(&events, |mut b, e| {
        b.push_bind(e.id)
            .push_bind(e.at_us)
            .push_bind(&e.actor)
            .push_bind(&e.action)
            .push_bind(&e.subject)
            .push_bind(&e.reason)
            .push_bind(&e.payload);
    });
    insert.build().execute(&mut **tx).await?;
    Ok(())
}

/// Chains `events` (in this order) onto the head and moves the head. The head is read with
/// [`FOR_UPDATE`], so a concurrent chainer waits instead of forking the chain; the head's
/// compare-and-set is the second guard.
async fn chain_onto_head(tx: &mut Tx<'_>, events: Vec<Unchained>) -> Result<(), StoreError> {
    let head = sqlx::query(&format!(
        "SELECT seq, hash FROM audit_head WHERE id = 1{FOR_UPDATE}"
    ))
    .fetch_one(&mut **tx)
    .await?;
    let head_seq: i64 = head.try_get("seq")?;
    let mut prev: String = head.try_get("hash")?;
    let mut chained = Vec::with_capacity(events.len());
    for (i, u) in events.into_iter().enumerate() {
        let mut e = AuditEvent {
            seq: head_seq + 1 + i as i64,
            id: u.id,
            at_us: u.at_us,
            actor: u.actor,
            action: u.action,
            subject: u.subject,
            reason: u.reason,
            payload: u.payload,
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        e.hash = chain_hash(&e.prev_hash, &e).ok_or_else(|| corrupt("audit_head.hash"))?;
        prev.clone_from(&e.hash);
        chained.push(e);
    }
    let Some(last) = chained.last() else {
        return Ok(());
    };
    let moved = sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3")
        .bind(last.seq)
        .bind(&last.hash)
        .bind(head_seq)
        .execute(&mut **tx)
        .await?;
    if moved.rows_affected() != 1 {
        return Err(StoreError::Retry);
    }
    // 10 binds a row; 1,000 rows stay below every backend's bind limit.
    for chunk in chained.chunks(1000) {
        let mut insert = sqlx::QueryBuilder::<DB>::new(
            "INSERT INTO audit_events (seq, id, at_us, actor, action, subject, reason, payload, prev_hash, hash) ",
        );
        insert.push_values(chunk, |mut b, e| {
            b.push_bind(e.seq)
                .push_bind(e.id)
                .push_bind(e.at_us)
                .push_bind(&e.actor)
                .push_bind(&e.action)
                .push_bind(&e.subject)
                .push_bind(&e.reason)
                .push_bind(&e.payload)
                .push_bind(&e.prev_hash)
                .push_bind(&e.hash);
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Chains every committed pending event onto the head, oldest first, in transactions of up to
/// 2,000 events; returns how many were chained. One sealer at a time: each holds the head's row
/// lock. On SQLite nothing is ever pending.
pub(crate) async fn seal_audit(pool: &Pool, _cfg: &Config) -> Result<u64, StoreError> {
    if AUDIT_INLINE {
        return Ok(0);
    }
    let mut sealed = 0;
    loop {
        let mut tx = pool.begin().await?;
        // Lock the head first: a second sealer waits here, then sees what this one left.
        sqlx::query(&format!(
            "SELECT seq FROM audit_head WHERE id = 1{FOR_UPDATE}"
        ))
        .fetch_one(&mut *tx)
        .await?;
        let rows = sqlx::query(
            "DELETE FROM audit_pending WHERE id IN \
             (SELECT id FROM audit_pending ORDER BY at_us, id LIMIT 2000) \
             RETURNING id, at_us, actor, action, subject, reason, payload",
        )
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(sealed);
        }
        let mut events = rows
            .iter()
            .map(|r| {
                Ok(Unchained {
                    id: r.try_get("id")?,
                    at_us: r.try_get("at_us")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    subject: r.try_get("subject")?,
                    reason: r.try_get("reason")?,
                    payload: r.try_get("payload")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        events.sort_by_key(|e| (e.at_us, e.id));
        sealed += events.len() as u64;
        chain_onto_head(&mut tx, events).await?;
        tx.commit().await?;
    }
}

/// Events appended but not chained yet.
pub(crate) async fn audit_pending(pool: &Pool, _cfg: &Config) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_pending")
        .fetch_one(pool)
        .await?)
}

pub(super) fn audit_from_row(row: &DbRow) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        at_us: row.try_get("at_us")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        subject: row.try_get("subject")?,
        reason: row.try_get("reason")?,
        payload: row.try_get("payload")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

pub(super) const AUDIT_COLUMNS: &str =
    "seq, id, at_us, actor, action, subject, reason, payload, prev_hash, hash";

/// The chain's head: the last chained event's sequence number and hash.
pub(crate) async fn audit_head(pool: &Pool, _cfg: &Config) -> Result<(i64, String), StoreError> {
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    Ok((head.try_get("seq")?, head.try_get("hash")?))
}

/// The latest checkpoint, if any.
pub(crate) async fn audit_checkpoint(
    pool: &Pool,
    _cfg: &Config,
) -> Result<Option<(i64, String)>, StoreError> {
    let row = sqlx::query("SELECT seq, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
        .fetch_optional(pool)
        .await?;
    row.map(|r| Ok((r.try_get("seq")?, r.try_get("hash")?)))
        .transpose()
}

/// Records that the chain was found intact up to `(seq, hash)`.
pub(crate) async fn save_audit_checkpoint(
    pool: &Pool,
    _cfg: &Config,
    seq: i64,
    hash: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_checkpoints (seq, hash, verified_at_us) VALUES ($1, $2, $3) \
         ON CONFLICT (seq) DO UPDATE SET verified_at_us = $3",
    )
    .bind(seq)
    .bind(hash)
    .bind(at.timestamp_micros())
    .execute(pool)
    .await?;
    Ok(())
}

/// Walks the chain after `from` in constant memory (the events stream from the database one at
/// a time) and compares the end with the head, and with `anchor` when given.
pub(crate) async fn verify_audit(
    pool: &Pool,
    _cfg: &Config,
    from: (i64, String),
    anchor: Option<&Anchor>,
) -> Result<AuditReport, StoreError> {
    let mut conn = pool.acquire().await?;
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let head_seq: i64 = head.try_get("seq")?;
    let head_hash: String = head.try_get("hash")?;
    let mut verifier = Verifier::after(from.0, &from.1).with_anchor(anchor);
    let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq");
    let mut rows = sqlx::query(&sql).bind(from.0).fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        if !verifier.feed(&audit_from_row(&row)?) {
            break;
        }
    }
    Ok(verifier.finish((head_seq, &head_hash)))
}

pub(crate) async fn audit_tail(
    pool: &Pool,
    _cfg: &Config,
    limit: i64,
) -> Result<Vec<AuditEvent>, StoreError> {
    let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_events ORDER BY seq DESC LIMIT $1");
    let rows = sqlx::query(&sql).bind(limit).fetch_all(pool).await?;
    rows.iter().map(audit_from_row).collect()
}

pub(crate) async fn record_audit(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    action: &str,
    subject: &str,
    payload: serde_json::Value,
) -> Result<(), StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        audit.push(action, subject, payload.clone());
    })
}

/// Appends many events that record actions in one unit of work (imports of history, the
/// audit benchmark).
pub(crate) async fn record_audit_many(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    events: &[(String, String, serde_json::Value)],
) -> Result<(), StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        for (action, subject, payload) in events {
            audit.push(action.clone(), subject.clone(), payload.clone());
        }
    })
}

/// Records a scope refusal on its own, after the refused unit of work rolled back. Best effort:
/// the refusal itself has already been answered, and a database that fails here fails the next
/// operation too.
pub(crate) async fn record_refusal(pool: &Pool, ctx: &Ctx, refusal: &sscard_core::ScopeError) {
    let once = async {
        let mut tx = pool.begin().await?;
        let mut audit = Audit::default();
        audit.push(
            "auth.out_of_scope",
            refusal.object_label(),
            json!({ "role": ctx.actor.role().as_str(), "scope": ctx.actor.scope().label() }),
        );
        flush_audit(&mut tx, ctx, audit).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(())
    };
    let _ = once.await;
}

/// [`record_refusal`] in the shape of an operation, for refusals met by reads.
pub(crate) async fn record_refusal_op(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    refusal: &sscard_core::ScopeError,
) {
    record_refusal(pool, ctx, refusal).await;
}
