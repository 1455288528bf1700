//! The NHSA interface's messages: the interface writer's batch (group commit — every message
//! waiting is decided in one transaction, each in a savepoint of its own, so one message's
//! refusal or failure never touches another's), the nonce each request may use once, the
//! record of every message and its answer (a repeated msgid is answered from it), sign-in,
//! the 2601 reversal, and the institutions' gateway credentials.

use super::settle::{self as s, Institution, refuse};
use super::*;
use crate::fsi::{Answer, Credentials, GatewayKey, Input, Message, Refusal};
use sqlx::Acquire;
use sscard_ids::Bilingual;

/// How long a sign-in (9001) lasts.
const SIGN_IN_HOURS: i64 = 24;

/// How long a nonce is kept: beyond the gateway's timestamp window, a request is stale anyway.
const NONCE_KEEP_SECS: i64 = 900;

/// Decides a batch of messages in one transaction. Should the transaction itself fail (the
/// commit, say), each message is decided again alone.
pub(crate) async fn interface_batch(
    pool: &Pool,
    cfg: &Config,
    msgs: &[Message],
) -> Vec<Result<Answer, StoreError>> {
    match interface_batch_once(pool, cfg, msgs).await {
        Ok(results) => results,
        Err(e) if msgs.len() == 1 && !e.is_retryable() => vec![Err(e)],
        Err(_) => {
            let mut out = Vec::with_capacity(msgs.len());
            for m in msgs {
                let mut retry = crate::retry::Policy::start();
                let result = loop {
                    match interface_batch_once(pool, cfg, std::slice::from_ref(m)).await {
                        Ok(mut r) => break r.pop().unwrap_or(Err(StoreError::Retry)),
                        Err(e) if e.is_retryable() => {
                            if let Err(busy) = retry.again().await {
                                break Err(busy);
                            }
                        }
                        Err(e) => break Err(e),
                    }
                };
                out.push(result);
            }
            out
        }
    }
}

async fn interface_batch_once(
    pool: &Pool,
    cfg: &Config,
    msgs: &[Message],
) -> Result<Vec<Result<Answer, StoreError>>, StoreError> {
    let _ = cfg;
    let ctxs: Vec<Ctx> = msgs
        .iter()
        .map(|m| Ctx {
            actor: sscard_core::Actor::institution(&m.institution),
            at: m.at,
            reason: String::new(),
        })
        .collect();
    let mut tx = pool.begin().await?;
    prune_nonces(&mut tx, msgs.first().map(|m| m.at)).await?;
    let mut state = Batch::read(&mut tx, msgs).await?;
    let mut results = Vec::with_capacity(msgs.len());
    let mut audits = Vec::with_capacity(msgs.len());
    for (i, (m, ctx)) in msgs.iter().zip(&ctxs).enumerate() {
        let mut audit = Audit::default();
        match call(&mut tx, &mut state, ctx, i, m, &mut audit).await {
            Ok(answer) => {
                audits.push((ctx, audit));
                results.push(Ok(answer));
            }
            Err(e) if e.is_refusal() => results.push(Err(e)),
            // A failure of the database: the batch again, or each message alone.
            Err(e) => return Err(e),
        }
    }
    state.flush(&mut tx).await?;
    flush_audits(&mut tx, audits).await?;
    tx.commit().await?;
    Ok(results)
}

/// What a batch reads once for all its messages: which nonces are new (inserted in one
/// statement), the institutions, their sign-ins, the answers already given to the msgids;
/// and, as the batch goes, the answers it gives and the policies it has read.
pub(super) struct Batch {
    fresh: Vec<bool>,
    institutions: HashMap<String, Institution>,
    sign_ins: HashMap<String, (Uuid, DateTime<Utc>)>,
    answered: HashMap<(Uuid, String), Answer>,
    /// The messages of this batch, recorded at its end in one statement.
    pending: Vec<Pending>,
    pending_at: HashMap<(Uuid, String), usize>,
    pub(super) policies: HashMap<(String, i32, String, String), sscard_core::settlement::Policy>,
}

use std::collections::HashMap;

impl Batch {
    async fn read(tx: &mut Tx<'_>, msgs: &[Message]) -> Result<Batch, StoreError> {
        // Nonces: one insert; a nonce twice in the batch is fresh the first time only.
        let mut insert =
            sqlx::QueryBuilder::<DB>::new("INSERT INTO gateway_nonces (paasid, nonce, seen_at) ");
        insert.push_values(msgs, |mut b, m| {
            b.push_bind(&m.paasid).push_bind(&m.nonce).push_bind(m.at);
        });
        insert.push(" ON CONFLICT (paasid, nonce) DO NOTHING RETURNING paasid, nonce");
        let rows = insert.build().fetch_all(&mut **tx).await?;
        let mut new: std::collections::HashSet<(String, String)> = rows
            .iter()
            .map(|r| Ok((r.try_get("paasid")?, r.try_get("nonce")?)))
            .collect::<Result<_, StoreError>>()?;
        let fresh = msgs
            .iter()
            .map(|m| new.remove(&(m.paasid.clone(), m.nonce.clone())))
            .collect();
        let codes: std::collections::BTreeSet<&str> =
            msgs.iter().map(|m| m.institution.as_str()).collect();
        let institutions = s::institutions_for_calls(tx, &codes).await?;
        let mut sign_ins = HashMap::new();
        let signs: std::collections::BTreeSet<&str> = msgs
            .iter()
            .map(|m| m.sign_no.as_str())
            .filter(|s| !s.is_empty())
            .collect();
        if !signs.is_empty() {
            let mut q = sqlx::QueryBuilder::<DB>::new(
                "SELECT sign_no, institution_id, signed_at FROM interface_sign_ins WHERE sign_no IN (",
            );
            let mut sep = q.separated(", ");
            for s in &signs {
                sep.push_bind(*s);
            }
            q.push(")");
            for r in q.build().fetch_all(&mut **tx).await? {
                sign_ins.insert(
                    r.try_get("sign_no")?,
                    (r.try_get("institution_id")?, r.try_get("signed_at")?),
                );
            }
        }
        let mut answered = HashMap::new();
        // By the primary key (institution, msgid), as row values.
        let mut q = sqlx::QueryBuilder::<DB>::new(
            "SELECT institution_id, msgid, refmsgid, answer FROM interface_messages \
             WHERE (institution_id, msgid) IN (",
        );
        let keys: Vec<(Uuid, &str)> = msgs
            .iter()
            .filter_map(|m| {
                institutions
                    .get(&m.institution)
                    .map(|i| (i.id, m.msgid.as_str()))
            })
            .collect();
        let mut sep = q.separated(", ");
        for (id, msgid) in &keys {
            sep.push("(");
            sep.push_bind_unseparated(*id);
            sep.push_unseparated(", ");
            sep.push_bind_unseparated(*msgid);
            sep.push_unseparated(")");
        }
        q.push(")");
        let found = if keys.is_empty() {
            Vec::new()
        } else {
            q.build().fetch_all(&mut **tx).await?
        };
        for r in found {
            let key = (r.try_get("institution_id")?, r.try_get("msgid")?);
            let answer = stored_answer(r.try_get("refmsgid")?, &r.try_get::<String, _>("answer")?)?;
            answered.insert(key, answer);
        }
        Ok(Batch {
            fresh,
            institutions,
            sign_ins,
            answered,
            pending: Vec::new(),
            pending_at: HashMap::new(),
            policies: HashMap::new(),
        })
    }

    fn record(&mut self, p: Pending) {
        self.pending_at
            .insert((p.institution_id, p.msgid.clone()), self.pending.len());
        self.pending.push(p);
    }

    /// Writes the batch's messages.
    async fn flush(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        // 9 binds a message; 500 stay below every backend's bind limit.
        for chunk in self.pending.chunks(500) {
            let mut insert = sqlx::QueryBuilder::<DB>::new(
                "INSERT INTO interface_messages (institution_id, msgid, infno, refmsgid, infcode, \
                 answer, effect, reversed_by, received_at) ",
            );
            insert.push_values(chunk, |mut b, p| {
                b.push_bind(p.institution_id)
                    .push_bind(&p.msgid)
                    .push_bind(&p.infno)
                    .push_bind(&p.refmsgid)
                    .push_bind(p.infcode)
                    .push_bind(&p.answer)
                    .push_bind(&p.effect)
                    .push_bind(&p.reversed_by)
                    .push_bind(p.at);
            });
            insert.build().execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// A message's record, until the batch writes it.
struct Pending {
    institution_id: Uuid,
    msgid: String,
    infno: String,
    refmsgid: String,
    infcode: i32,
    answer: String,
    effect: Option<String>,
    reversed_by: Option<String>,
    at: DateTime<Utc>,
}

/// Deletes nonces older than [`NONCE_KEEP_SECS`], at most once a minute per process.
async fn prune_nonces(tx: &mut Tx<'_>, now: Option<DateTime<Utc>>) -> Result<(), StoreError> {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let Some(now) = now else { return Ok(()) };
    let last = LAST.load(Ordering::Relaxed);
    if now.timestamp() - last < 60 {
        return Ok(());
    }
    LAST.store(now.timestamp(), Ordering::Relaxed);
    sqlx::query("DELETE FROM gateway_nonces WHERE seen_at < $1")
        .bind(now - chrono::Duration::seconds(NONCE_KEEP_SECS))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One message (the `i`-th of the batch): its nonce, then the answer already given to its
/// msgid, or the transaction in a savepoint of its own (a refusal rolls back what it began)
/// and the answer recorded. `Err` is for the gateway (a reused nonce, an unknown institution)
/// and for failures; a business refusal is an answer.
async fn call(
    tx: &mut Tx<'_>,
    state: &mut Batch,
    ctx: &Ctx,
    i: usize,
    m: &Message,
    audit: &mut Audit,
) -> Result<Answer, StoreError> {
    if !state.fresh[i] {
        return Err(refuse(
            "gateway.nonce_reused",
            "x-tif-nonce 已使用过：每次请求须使用新的随机数".into(),
            "x-tif-nonce was used before: every request needs a new nonce".into(),
        ));
    }
    let inst = state
        .institutions
        .get(&m.institution)
        .cloned()
        .ok_or_else(|| StoreError::NotFound {
            what: "institution",
            key: m.institution.clone(),
        })?;
    s::check_active(&inst)?;
    if let Some(answer) = state.answered.get(&(inst.id, m.msgid.clone())) {
        let mut again = answer.clone();
        again.replayed = true;
        return Ok(again);
    }
    let refmsgid = s::platform_number(&inst.city(), m.at, 10);
    let mut own = Audit::default();
    // A transaction that writes after a check may refuse runs in a savepoint; the others read,
    // or write once after every check, so a refusal leaves nothing behind without one.
    let performed = if let Err(e) = signed_in(state, &inst, m) {
        Err(e)
    } else if in_savepoint(&m.input) {
        let mut sp = tx.begin().await?;
        let r = perform(&mut sp, state, ctx, &inst, m, &mut own).await;
        match &r {
            Ok(_) => sp.commit().await?,
            Err(_) => sp.rollback().await?,
        }
        r
    } else {
        perform(tx, state, ctx, &inst, m, &mut own).await
    };
    let (outcome, effect) = match performed {
        Ok((output, effect)) => {
            audit.0.append(&mut own.0);
            (Ok(output), effect)
        }
        Err(e) if e.is_refusal() => {
            if let StoreError::OutOfScope(r) = &e {
                audit.push(
                    "auth.out_of_scope",
                    r.object_label(),
                    json!({
                        "role": ctx.actor.role().as_str(),
                        "scope": ctx.actor.scope().label(),
                        "infno": m.infno,
                    }),
                );
            }
            (
                Err(Refusal {
                    code: e.code().to_owned(),
                    zh: e.zh(),
                    en: e.en(),
                }),
                None,
            )
        }
        Err(e) => return Err(e),
    };
    let answer_json = match &outcome {
        Ok(output) => json!({ "output": output }),
        Err(r) => json!({ "refusal": r }),
    };
    state.record(Pending {
        institution_id: inst.id,
        msgid: m.msgid.clone(),
        infno: m.infno.clone(),
        refmsgid: refmsgid.clone(),
        infcode: if outcome.is_ok() { 0 } else { -1 },
        answer: answer_json.to_string(),
        effect: effect.map(|e| e.to_string()),
        reversed_by: None,
        at: m.at,
    });
    let answer = Answer {
        refmsgid,
        outcome,
        replayed: false,
    };
    state
        .answered
        .insert((inst.id, m.msgid.clone()), answer.clone());
    Ok(answer)
}

/// Whether a transaction needs a savepoint of its own: it writes more than once, or may refuse
/// after a write. Reads (1101's first use issues a `psn_no`, after every check), sign-in,
/// registration, 2203 and discharge write once, last; fee lines go in one statement after
/// every check; a settlement writes after every check, and a refusal by the database there is
/// a failure of the batch (see `Writes::run`).
fn in_savepoint(input: &Input) -> bool {
    !matches!(
        input,
        Input::SignIn { .. }
            | Input::PersonInfo(_)
            | Input::Register(_)
            | Input::VisitInfo(_)
            | Input::Discharge { .. }
            | Input::Fees(_)
            | Input::Settle { .. }
            | Input::Totals(_)
            | Input::Detail(_)
            | Input::Cumulative { .. }
    )
}

/// An answer as recorded.
fn stored_answer(refmsgid: String, text: &str) -> Result<Answer, StoreError> {
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| StoreError::Database {
            detail: format!("interface_messages.answer: {e}"),
        })?;
    let outcome =
        match value.get_mut("refusal") {
            Some(r) => Err(serde_json::from_value::<Refusal>(r.take()).map_err(|e| {
                StoreError::Database {
                    detail: format!("interface_messages.answer: {e}"),
                }
            })?),
            None => Ok(value
                .get_mut("output")
                .map(serde_json::Value::take)
                .unwrap_or_default()),
        };
    Ok(Answer {
        refmsgid,
        outcome,
        replayed: true,
    })
}

type Performed = (serde_json::Value, Option<serde_json::Value>);

/// The transaction itself: its output and what it changed (for a later 2601).
async fn perform(
    tx: &mut Tx<'_>,
    state: &mut Batch,
    ctx: &Ctx,
    inst: &Institution,
    m: &Message,
    audit: &mut Audit,
) -> Result<Performed, StoreError> {
    let inpatient = m.infno.starts_with("23") || m.infno.starts_with("24");
    let plain = |v: serde_json::Value| -> Result<Performed, StoreError> { Ok((v, None)) };
    let with = |(v, e): (serde_json::Value, serde_json::Value)| -> Result<Performed, StoreError> {
        Ok((v, Some(e)))
    };
    match &m.input {
        Input::SignIn { opter_no, mac, ip } => {
            plain(sign_in(tx, ctx, inst, opter_no, mac, ip, audit).await?)
        }
        Input::PersonInfo(cert) => plain(s::person_info(tx, ctx, inst, cert).await?),
        Input::Register(r) => with(s::register(tx, ctx, inst, r, m.infno == "2401").await?),
        Input::CancelVisit { mdtrt_id, psn_no } => {
            plain(s::cancel_visit(tx, ctx, inst, mdtrt_id, psn_no).await?)
        }
        Input::VisitInfo(info) => plain(s::visit_info(tx, ctx, inst, info).await?),
        Input::Fees(lines) => with(s::upload_fees(tx, ctx, inst, lines, inpatient).await?),
        Input::CancelFees {
            mdtrt_id,
            psn_no,
            chrg_bchno,
            feedetl_sn,
        } => plain(
            s::cancel_fees(
                tx,
                ctx,
                inst,
                mdtrt_id,
                psn_no,
                chrg_bchno.as_deref(),
                feedetl_sn,
            )
            .await?,
        ),
        Input::Settle { input, commit } => {
            Ok(s::settle(tx, state, ctx, inst, input, &m.msgid, *commit, audit).await?)
        }
        Input::CancelSettlement {
            setl_id,
            mdtrt_id,
            psn_no,
        } => plain(
            s::cancel_settlement(tx, ctx, inst, setl_id, mdtrt_id, psn_no, &m.msgid, audit).await?,
        ),
        Input::Discharge {
            mdtrt_id,
            psn_no,
            endtime,
        } => plain(s::discharge(tx, ctx, inst, mdtrt_id, psn_no, *endtime).await?),
        Input::Referral(r) => with(s::referral(tx, ctx, inst, r, audit).await?),
        Input::CancelReferral {
            serial,
            psn_no,
            memo,
        } => plain(s::cancel_referral(tx, ctx, serial, psn_no, memo, audit).await?),
        Input::Reverse {
            psn_no,
            omsgid,
            oinfno,
        } => plain(reverse(tx, state, ctx, inst, m, (psn_no, omsgid, oinfno), audit).await?),
        Input::Totals(t) => plain(s::totals(tx, inst, t).await?),
        Input::Detail(d) => plain(s::detail(tx, inst, d).await?),
        Input::ClearingApplication(a) => {
            plain(s::clearing_application(tx, ctx, inst, a, audit).await?)
        }
        Input::Cumulative { psn_no, year } => plain(s::cumulative(tx, ctx, psn_no, *year).await?),
    }
}

/// Every transaction but 9001 carries a `sign_no` the institution signed in with, within
/// [`SIGN_IN_HOURS`].
fn signed_in(state: &Batch, inst: &Institution, m: &Message) -> Result<(), StoreError> {
    if matches!(m.input, Input::SignIn { .. }) {
        return Ok(());
    }
    match state.sign_ins.get(&m.sign_no) {
        Some((id, t)) if *id == inst.id && m.at - *t < chrono::Duration::hours(SIGN_IN_HOURS) => {
            Ok(())
        }
        _ => Err(refuse(
            "interface.not_signed_in",
            format!("签到流水号“{}”无效或已过期：请先签到（9001）", m.sign_no),
            format!(
                "sign_no \"{}\" is unknown or expired: sign in first (9001)",
                m.sign_no
            ),
        )),
    }
}

/// 9001: issues a `sign_no` for the operator.
async fn sign_in(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    inst: &Institution,
    opter_no: &str,
    mac: &str,
    ip: &str,
    audit: &mut Audit,
) -> Result<serde_json::Value, StoreError> {
    let sign_no = s::platform_number(&inst.city(), ctx.at, 10);
    sqlx::query(
        "INSERT INTO interface_sign_ins (sign_no, institution_id, opter, signed_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&sign_no)
    .bind(inst.id)
    .bind(opter_no)
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    audit.push(
        "interface.sign_in",
        inst.code.as_str(),
        json!({ "opter": opter_no, "mac": mac, "ip": ip }),
    );
    Ok(json!({
        "signinoutb": {
            "sign_time": s::local(ctx.at).format("%Y-%m-%d %H:%M:%S").to_string(),
            "sign_no": sign_no,
        }
    }))
}

/// 2601: undoes what the message `omsgid` changed (a visit, fee lines, a settlement, a
/// referral filing). A message that never arrived is marked reversed, so that should it
/// arrive late it is refused instead of done.
async fn reverse(
    tx: &mut Tx<'_>,
    state: &mut Batch,
    ctx: &Ctx,
    inst: &Institution,
    m: &Message,
    (psn_no, omsgid, oinfno): (&str, &str, &str),
    audit: &mut Audit,
) -> Result<serde_json::Value, StoreError> {
    let key = (inst.id, omsgid.to_owned());
    let original: Option<(String, Option<String>, Option<String>)> =
        if let Some(&i) = state.pending_at.get(&key) {
            let p = &state.pending[i];
            Some((p.infno.clone(), p.effect.clone(), p.reversed_by.clone()))
        } else {
            let r = sqlx::query(&format!(
                "SELECT infno, effect, reversed_by FROM interface_messages \
                 WHERE institution_id = $1 AND msgid = $2{FOR_UPDATE}"
            ))
            .bind(inst.id)
            .bind(omsgid)
            .fetch_optional(&mut **tx)
            .await?;
            r.map(|r| -> Result<_, StoreError> {
                Ok((
                    r.try_get("infno")?,
                    r.try_get("effect")?,
                    r.try_get("reversed_by")?,
                ))
            })
            .transpose()?
        };
    let Some((infno, effect, reversed_by)) = original else {
        return Ok(tombstone(state, ctx, inst, m, (omsgid, oinfno), audit));
    };
    if let Some(by) = reversed_by {
        return Err(refuse(
            "interface.already_reversed",
            format!("报文 {omsgid} 已由 {by} 冲正"),
            format!("message {omsgid} was already reversed by {by}"),
        ));
    }
    if infno != oinfno {
        return Err(refuse(
            "interface.oinfno",
            format!("报文 {omsgid} 的交易号是 {infno}，不是 {oinfno}"),
            format!("message {omsgid} was transaction {infno}, not {oinfno}"),
        ));
    }
    let effect: serde_json::Value = effect
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| StoreError::Database {
            detail: format!("interface_messages.effect: {e}"),
        })?
        .unwrap_or_default();
    let undone = undo(tx, state, ctx, inst, m, psn_no, &effect, audit).await?;
    if let Some(&i) = state.pending_at.get(&key) {
        state.pending[i].reversed_by = Some(m.msgid.clone());
    } else {
        sqlx::query(
            "UPDATE interface_messages SET reversed_by = $1 WHERE institution_id = $2 AND msgid = $3",
        )
        .bind(&m.msgid)
        .bind(inst.id)
        .bind(omsgid)
        .execute(&mut **tx)
        .await?;
    }
    audit.push(
        "interface.reverse",
        omsgid,
        json!({ "oinfno": oinfno, "undone": undone }),
    );
    Ok(json!({ "data": { "omsgid": omsgid, "oinfno": oinfno, "undone": undone } }))
}

/// A reversal of a message that never arrived: recorded as reversed, answered as such should
/// it arrive late (in this batch or after).
fn tombstone(
    state: &mut Batch,
    ctx: &Ctx,
    inst: &Institution,
    m: &Message,
    (omsgid, oinfno): (&str, &str),
    audit: &mut Audit,
) -> serde_json::Value {
    let key = (inst.id, omsgid.to_owned());
    let refusal = Refusal {
        code: "interface.reversed".into(),
        zh: format!("报文 {omsgid} 已被冲正（{}），不再办理", m.msgid),
        en: format!(
            "message {omsgid} was reversed ({}); it is not carried out",
            m.msgid
        ),
    };
    state.record(Pending {
        institution_id: inst.id,
        msgid: omsgid.to_owned(),
        infno: oinfno.to_owned(),
        refmsgid: s::platform_number(&inst.city(), ctx.at, 10),
        infcode: -1,
        answer: json!({ "refusal": refusal }).to_string(),
        effect: None,
        reversed_by: Some(m.msgid.clone()),
        at: ctx.at,
    });
    // Should the message still arrive in this batch, it is answered as reversed too.
    state.answered.insert(
        key,
        Answer {
            refmsgid: String::new(),
            outcome: Err(refusal),
            replayed: true,
        },
    );
    audit.push(
        "interface.reverse",
        omsgid,
        json!({ "oinfno": oinfno, "undone": "nothing (never received)" }),
    );
    json!({ "data": { "omsgid": omsgid, "oinfno": oinfno, "undone": "none" } })
}

#[allow(clippy::too_many_arguments)]
async fn undo(
    tx: &mut Tx<'_>,
    state: &mut Batch,
    ctx: &Ctx,
    inst: &Institution,
    m: &Message,
    psn_no: &str,
    effect: &serde_json::Value,
    audit: &mut Audit,
) -> Result<&'static str, StoreError> {
    if let Some(mdtrt_id) = effect.get("visit").and_then(|v| v.as_str()) {
        s::cancel_visit(tx, ctx, inst, mdtrt_id, psn_no).await?;
        return Ok("visit");
    }
    if let Some(fees) = effect.get("fees") {
        let mdtrt_id = fees.get("mdtrt_id").and_then(|v| v.as_str()).unwrap_or("");
        let sns: Vec<String> = fees
            .get("feedetl_sn")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        s::cancel_lines(tx, mdtrt_id, &sns).await?;
        return Ok("fees");
    }
    if let Some(setl_id) = effect.get("settlement").and_then(|v| v.as_str()) {
        let Some((mdtrt_id, psn)) = s::settlement_visit(tx, setl_id).await? else {
            return Ok("none");
        };
        let _ = state;
        s::cancel_settlement(tx, ctx, inst, setl_id, &mdtrt_id, &psn, &m.msgid, audit).await?;
        return Ok("settlement");
    }
    if let Some(serial) = effect.get("filing").and_then(|v| v.as_str()) {
        s::cancel_referral(tx, ctx, serial, psn_no, "2601 冲正 / reversal", audit).await?;
        return Ok("filing");
    }
    // A read (1101, 2206, 5206, …) or a refused message changed nothing.
    Ok("none")
}

// ---------------------------------------------------------------------------------------------
// Credentials

/// Issues (or reissues, replacing the old) an institution's gateway credentials. The token is
/// returned this once.
pub(crate) async fn issue_credentials(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    code: &str,
) -> Result<Credentials, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_centre("接口凭据 / interface credentials")?;
        let id: Uuid = sqlx::query_scalar("SELECT id FROM institutions WHERE code = $1")
            .bind(code)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "institution",
                key: code.to_owned(),
            })?;
        let paasid = format!("{code}_{}", hex::encode(rand::random::<[u8; 4]>()));
        let token = hex::encode(rand::random::<[u8; 32]>());
        sqlx::query("DELETE FROM institution_credentials WHERE institution_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO institution_credentials (institution_id, paasid, token, issued_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(&paasid)
        .bind(&token)
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;
        audit.push("institution.credentials", code, json!({ "paasid": paasid }));
        Credentials {
            institution: code.to_owned(),
            paasid,
            token,
        }
    })
}

/// What the gateway verifies a paasid's requests with.
pub(crate) async fn gateway_key(
    pool: &Pool,
    _cfg: &Config,
    paasid: &str,
) -> Result<Option<GatewayKey>, StoreError> {
    let r = sqlx::query(
        "SELECT i.code, i.name, i.region, c.token FROM institution_credentials c \
         JOIN institutions i ON i.id = c.institution_id WHERE c.paasid = $1",
    )
    .bind(paasid)
    .fetch_optional(pool)
    .await?;
    r.map(|r| {
        Ok(GatewayKey {
            institution: r.try_get("code")?,
            name: r.try_get("name")?,
            region: r.try_get("region")?,
            token: r.try_get("token")?,
        })
    })
    .transpose()
}
