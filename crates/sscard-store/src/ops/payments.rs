//! Benefit payments to the card's bank account (代发): a batch from a payment file, sends
//! (one file per bank, each row to the payee's current card account, or held with the
//! reason), the banks' results (applied once, checked against what was sent), and the
//! batch's reconciliation by bank and by outcome. Written for a million rows: the rows move
//! in multi-row statements and set-wise updates, never one statement a row.

use super::*;
use crate::bank::{
    BankTally, HeldRow, PaymentBatchCreated, PaymentBatchInput, PaymentBatchReport,
    PaymentBatchSummary, PaymentFileSummary, PaymentOrderRow, PaymentRejection, PaymentResultRow,
    ResultOutcome, SendOutcome, Tally,
};
use sscard_core::money::Money;
use sscard_core::{PaymentHold, PaymentKind, PaymentOutcome};
use sscard_ids::Bilingual;
use std::fmt::Write as _;

/// Rows per multi-row insert of payment rows (3 parameters a row).
const ROWS_PER_INSERT: usize = 8_000;

fn kind_of(name: &str) -> Result<PaymentKind, StoreError> {
    PaymentKind::from_name(name).ok_or_else(|| corrupt("payment kind"))
}

fn tally(rows: i64, cents: Option<i64>) -> Tally {
    Tally {
        rows,
        amount: Money::from_cents(cents.unwrap_or(0)),
    }
}

/// The same file (by its digest) is not paid twice for a kind and period.
async fn refuse_same_file(tx: &mut Tx<'_>, input: &PaymentBatchInput) -> Result<(), StoreError> {
    let dup: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM payment_batches WHERE kind = $1 AND period = $2 AND file_sha256 = $3",
    )
    .bind(input.kind.as_str())
    .bind(&input.period)
    .bind(&input.file_sha256)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = dup {
        return Err(refused(
            "payment.duplicate_file",
            format!(
                "该文件已建立过 {} {} 的发放批次 {id}，不能重复发放",
                input.period,
                input.kind.zh()
            ),
            format!(
                "this file already made the {} batch {id} for {}; it is not paid twice",
                input.kind.as_str(),
                input.period
            ),
        ));
    }
    Ok(())
}

/// Inserts a batch's rows joined to their payee in the database; only a chunk where some
/// payee is missing is looked at again, to name them (added to `rejected`). Answers the rows
/// accepted and their total in cents.
async fn insert_rows(
    tx: &mut Tx<'_>,
    batch_id: i64,
    lines: &[(usize, sscard_ids::ResidentId, Money)],
    rejected: &mut Vec<(PaymentRejection, Option<Money>)>,
) -> Result<(usize, i64), StoreError> {
    let (mut accepted, mut total) = (0_usize, 0_i64);
    for chunk in lines.chunks(ROWS_PER_INSERT) {
        let mut ph = Ph::new();
        let tuples: Vec<String> = (0..chunk.len())
            .map(|_| format!("({})", ph.list(3)))
            .collect();
        let sql = format!(
            "WITH v (r, s, c) AS (VALUES {}) \
             INSERT INTO payment_rows (batch_id, row_no, person_id, amount_cents, status) \
             SELECT {batch_id}, v.r, p.id, v.c, 'pending' FROM v JOIN persons p ON p.ssn = v.s",
            tuples.join(",")
        );
        let mut q = sqlx::query(&sql);
        for (row, id, amount) in chunk {
            q = q.bind(*row as i64).bind(id.expose()).bind(amount.cents());
        }
        let inserted = usize::try_from(q.execute(&mut **tx).await?.rows_affected()).unwrap_or(0);
        accepted += inserted;
        total += chunk.iter().map(|(_, _, a)| a.cents()).sum::<i64>();
        if inserted == chunk.len() {
            continue;
        }
        let known = person_ids(tx, chunk.iter().map(|(_, id, _)| id.expose())).await?;
        for (row, id, amount) in chunk
            .iter()
            .filter(|(_, id, _)| !known.contains_key(id.expose()))
        {
            total -= amount.cents();
            rejected.push((
                PaymentRejection {
                    row: *row,
                    column: "id_number".into(),
                    code: "payment.unknown_person".into(),
                    message: format!(
                        "{} 不是本系统登记的人员，无法发放；请核对证件号码",
                        id.masked()
                    ),
                    message_en: format!(
                        "{} is not a person registered here; check the ID number",
                        id.masked()
                    ),
                },
                Some(*amount),
            ));
        }
    }
    Ok((accepted, total))
}

/// Creates a batch from a file's good rows; rows whose payee is not known are refused beside
/// the file's own bad rows. Whole or nothing.
pub(crate) async fn create_payment_batch(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    input: &PaymentBatchInput,
) -> Result<PaymentBatchCreated, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_centre("代发批次 / payment batches")?;
        refuse_same_file(&mut tx, input).await?;
        let batch_id: i64 = sqlx::query_scalar(
            "UPDATE counters SET value = value + 1 WHERE name = 'payment_batch' RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO payment_batches (id, kind, period, file_sha256, rows_read, accepted, \
             total_cents, rejected_cents, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(batch_id)
        .bind(input.kind.as_str())
        .bind(&input.period)
        .bind(&input.file_sha256)
        .bind(input.rows_read as i64)
        .bind(0_i64)
        .bind(0_i64)
        .bind(0_i64)
        .bind(ctx.actor.name())
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;
        let mut rejected: Vec<(PaymentRejection, Option<Money>)> = input.rejected.clone();
        let (accepted, total) = insert_rows(&mut tx, batch_id, &input.lines, &mut rejected).await?;
        rejected.sort_by_key(|(r, _)| r.row);
        let rejected_cents: i64 = rejected
            .iter()
            .filter_map(|(_, a)| a.map(Money::cents))
            .sum();
        sqlx::query(
            "UPDATE payment_batches SET accepted = $2, total_cents = $3, rejected_cents = $4 \
             WHERE id = $1",
        )
        .bind(batch_id)
        .bind(accepted as i64)
        .bind(total)
        .bind(rejected_cents)
        .execute(&mut *tx)
        .await?;
        for chunk in rejected.chunks(BULK_ROWS) {
            let sql = format!(
                "INSERT INTO payment_rejects (batch_id, row_no, column_name, code, message, \
                 message_en, amount_cents) VALUES {}",
                Ph::new().tuples(chunk.len(), 7)
            );
            let mut q = sqlx::query(&sql);
            for (r, amount) in chunk {
                q = q
                    .bind(batch_id)
                    .bind(r.row as i64)
                    .bind(&r.column)
                    .bind(&r.code)
                    .bind(&r.message)
                    .bind(&r.message_en)
                    .bind(amount.map(Money::cents));
            }
            q.execute(&mut *tx).await?;
        }
        audit.push(
            "payment.create",
            batch_id.to_string(),
            json!({
                "kind": input.kind.as_str(), "period": input.period, "rows": input.rows_read,
                "accepted": accepted, "total": Money::from_cents(total).to_string(),
                "rejected": rejected.len(),
            }),
        );
        PaymentBatchCreated {
            batch_id,
            rows: input.rows_read,
            accepted,
            total: Money::from_cents(total),
            rejected: rejected.into_iter().map(|(r, _)| r).collect(),
        }
    })
}

/// Decides, for every row that failed or was held before, whether it goes out in this send and
/// to which account, or is held and why — in one statement. The account is the payee's best
/// open card account ([`BEST_ACCOUNT`]). A row that failed goes again only when the cause is
/// gone: another account now, the account unfrozen since, or the person's record corrected
/// since.
const DECIDE_AND_SEND: &str = "WITH d AS (
  SELECT r.row_no,
    CASE
      WHEN $2 AND NOT EXISTS (SELECT 1 FROM pension_certifications pc
          WHERE pc.person_id = r.person_id AND pc.certified_at > $3) THEN 'not_certified'
      WHEN c.account_number IS NULL THEN 'no_account'
      WHEN c.financial_status = 'frozen' THEN 'account_frozen'
      WHEN r.status <> 'pending' AND r.account_number = c.account_number AND (
           r.outcome = 'account_closed'
        OR (r.outcome = 'account_frozen' AND NOT EXISTS (SELECT 1 FROM bank_events e
              WHERE e.card_number = r.card_number AND e.kind IN ('unfrozen', 'loss_lifted')
                AND (e.outcome IS NULL OR e.outcome = 'applied') AND e.at > r.outcome_at))
        OR (r.outcome = 'name_mismatch' AND NOT EXISTS (SELECT 1 FROM persons p
              WHERE p.id = r.person_id AND p.updated_at > r.outcome_at))
      ) THEN r.outcome
      ELSE 'send'
    END AS decision,
    c.bank_code AS bank_code, c.card_number AS card_number, c.account_number AS account_number
  FROM payment_rows r
  LEFT JOIN cards c ON c.id = (SELECT k.id FROM cards k WHERE k.person_id = r.person_id
    AND k.account_number IS NOT NULL AND k.financial_status IN ('inactive', 'active', 'frozen')
    ORDER BY CASE WHEN k.financial_status = 'frozen' THEN 1 ELSE 0 END,
    CASE WHEN k.ss_status <> 9 AND k.superseded_by IS NULL THEN 0 ELSE 1 END,
    k.issue_date DESC, k.created_at DESC LIMIT 1)
  WHERE r.batch_id = $1 AND r.status IN ('failed', 'held')
)
UPDATE payment_rows SET
  status = CASE WHEN d.decision = 'send' THEN 'sent' ELSE 'held' END,
  attempt = payment_rows.attempt + CASE WHEN d.decision = 'send' THEN 1 ELSE 0 END,
  send_no = CASE WHEN d.decision = 'send' THEN $4 ELSE payment_rows.send_no END,
  bank_code = CASE WHEN d.decision = 'send' THEN d.bank_code ELSE payment_rows.bank_code END,
  card_number = CASE WHEN d.decision = 'send' THEN d.card_number ELSE payment_rows.card_number END,
  account_number = CASE WHEN d.decision = 'send' THEN d.account_number
                        ELSE payment_rows.account_number END,
  outcome = CASE WHEN d.decision = 'send' THEN NULL ELSE d.decision END,
  outcome_at = CASE WHEN d.decision = 'send' OR payment_rows.outcome = d.decision
                    THEN payment_rows.outcome_at ELSE $5 END
FROM d WHERE payment_rows.batch_id = $1 AND payment_rows.row_no = d.row_no";

/// The payee's best open card account for a row of `payment_rows` (`SELECT` list and
/// `FROM`-less tail are the caller's): not frozen before frozen, the current card before a
/// superseded one, the newest first.
const BEST_ACCOUNT: &str = "SELECT k.bank_code, k.card_number, k.account_number FROM cards k
    WHERE k.person_id = payment_rows.person_id AND k.account_number IS NOT NULL
      AND k.financial_status IN ('inactive', 'active', 'frozen')
    ORDER BY CASE WHEN k.financial_status = 'frozen' THEN 1 ELSE 0 END,
             CASE WHEN k.ss_status <> 9 AND k.superseded_by IS NULL THEN 0 ELSE 1 END,
             k.issue_date DESC, k.created_at DESC
    LIMIT 1";

/// Rows never sent, the common case of a batch's first send, in three set-wise statements:
/// pensions without a certification held; every other row sent to its best account; the rows
/// without an account, or whose best one is frozen, taken back and held.
async fn send_pending(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    batch_id: i64,
    send_no: i64,
    pension_cutoff: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    if let Some(cutoff) = pension_cutoff {
        sqlx::query(
            "UPDATE payment_rows SET status = 'held', outcome = 'not_certified', outcome_at = $3 \
             WHERE batch_id = $1 AND status = 'pending' AND NOT EXISTS (SELECT 1 FROM \
             pension_certifications pc WHERE pc.person_id = payment_rows.person_id \
             AND pc.certified_at > $2)",
        )
        .bind(batch_id)
        .bind(cutoff)
        .bind(ctx.at)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(&format!(
        "UPDATE payment_rows SET status = 'sent', attempt = attempt + 1, send_no = $2, \
         (bank_code, card_number, account_number) = ({BEST_ACCOUNT}) \
         WHERE batch_id = $1 AND status = 'pending'"
    ))
    .bind(batch_id)
    .bind(send_no)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE payment_rows SET status = 'held', attempt = attempt - 1, send_no = NULL, \
         outcome = CASE WHEN account_number IS NULL THEN 'no_account' ELSE 'account_frozen' END, \
         outcome_at = $3 \
         WHERE batch_id = $1 AND send_no = $2 AND status = 'sent' AND (account_number IS NULL \
         OR card_number IN (SELECT card_number FROM cards WHERE financial_status = 'frozen'))",
    )
    .bind(batch_id)
    .bind(send_no)
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One send of a batch: the rows decided, one file per bank recorded.
pub(crate) async fn send_payments(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    batch_id: i64,
) -> Result<SendOutcome, StoreError> {
    use crate::insurance::CERTIFICATION_MONTHS;
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_centre("代发批次 / payment batches")?;
        let row = sqlx::query(
            "UPDATE payment_batches SET sends = sends + 1 WHERE id = $1 RETURNING kind, sends",
        )
        .bind(batch_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "payment batch",
            key: batch_id.to_string(),
        })?;
        let kind = kind_of(&row.try_get::<String, _>("kind")?)?;
        let send_no: i64 = row.try_get("sends")?;
        let cutoff = ctx
            .at
            .checked_sub_months(chrono::Months::new(CERTIFICATION_MONTHS))
            .unwrap_or(ctx.at);
        sqlx::query(DECIDE_AND_SEND)
            .bind(batch_id)
            .bind(kind == PaymentKind::Pension)
            .bind(cutoff)
            .bind(send_no)
            .bind(ctx.at)
            .execute(&mut *tx)
            .await?;
        let pension_cutoff = (kind == PaymentKind::Pension).then_some(cutoff);
        send_pending(&mut tx, ctx, batch_id, send_no, pension_cutoff).await?;
        sqlx::query(
            "INSERT INTO payment_files (batch_id, send_no, bank_code, rows_sent, total_cents, created_at) \
             SELECT batch_id, send_no, bank_code, COUNT(*), CAST(SUM(amount_cents) AS BIGINT), $3 \
             FROM payment_rows WHERE batch_id = $1 AND send_no = $2 AND status = 'sent' \
             GROUP BY batch_id, send_no, bank_code",
        )
        .bind(batch_id)
        .bind(send_no)
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;
        let files = files_of(&mut tx, batch_id, Some(send_no), None).await?;
        let held = sqlx::query(
            "SELECT outcome, COUNT(*) AS n FROM payment_rows WHERE batch_id = $1 AND status = 'held' \
             GROUP BY outcome ORDER BY outcome",
        )
        .bind(batch_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<Option<String>, _>("outcome")?.unwrap_or_default(), r.try_get("n")?)))
        .collect::<Result<Vec<(String, i64)>, StoreError>>()?;
        audit.push(
            "payment.send",
            format!("{batch_id}/{send_no}"),
            json!({
                "files": files.iter().map(|f| json!({ "bank": f.bank, "rows": f.rows, "total": f.total })).collect::<Vec<_>>(),
                "held": held,
            }),
        );
        SendOutcome {
            batch_id,
            send_no,
            files,
            held,
        }
    })
}

async fn files_of(
    tx: &mut Tx<'_>,
    batch_id: i64,
    send_no: Option<i64>,
    bank: Option<&str>,
) -> Result<Vec<PaymentFileSummary>, StoreError> {
    let rows = sqlx::query(
        "SELECT send_no, bank_code, rows_sent, total_cents, result_at, paid_rows, paid_cents, \
         failed_rows, failed_cents FROM payment_files WHERE batch_id = $1 \
         AND ($2 IS NULL OR send_no = $2) AND ($3 IS NULL OR bank_code = $3) \
         ORDER BY send_no, bank_code",
    )
    .bind(batch_id)
    .bind(send_no)
    .bind(bank)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PaymentFileSummary {
                send_no: r.try_get("send_no")?,
                bank: r.try_get("bank_code")?,
                rows: r.try_get("rows_sent")?,
                total: Money::from_cents(r.try_get("total_cents")?),
                result_at: r.try_get("result_at")?,
                paid_rows: r.try_get("paid_rows")?,
                paid: Money::from_cents(r.try_get("paid_cents")?),
                failed_rows: r.try_get("failed_rows")?,
                failed: Money::from_cents(r.try_get("failed_cents")?),
            })
        })
        .collect()
}

async fn one_file(
    tx: &mut Tx<'_>,
    batch_id: i64,
    send_no: i64,
    bank: &str,
) -> Result<PaymentFileSummary, StoreError> {
    files_of(tx, batch_id, Some(send_no), Some(bank))
        .await?
        .pop()
        .ok_or_else(|| StoreError::NotFound {
            what: "payment file",
            key: format!("{batch_id}/{send_no}/{bank}"),
        })
}

/// The amount of `amount_cents` as yuan with two decimals, in SQL both backends run.
const AMOUNT_TEXT: &str = "(r.amount_cents / 100) || '.' || \
     CASE WHEN r.amount_cents % 100 < 10 THEN '0' ELSE '' END || (r.amount_cents % 100)";

/// The records of one file still waiting for the bank's result, written one a line by the
/// database (the file's body: see [`crate::bank::PaymentOrderText`]).
pub(crate) async fn payment_order_text(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    batch_id: i64,
    send_no: i64,
    bank: &str,
) -> Result<crate::bank::PaymentOrderText, StoreError> {
    ctx.actor.check_bank(bank)?;
    let mut tx = snapshot(pool).await?;
    let file = one_file(&mut tx, batch_id, send_no, bank).await?;
    if file.result_at.is_some() {
        return Err(answered(batch_id, send_no, bank));
    }
    let b = sqlx::query("SELECT kind, period FROM payment_batches WHERE id = $1")
        .bind(batch_id)
        .fetch_one(&mut *tx)
        .await?;
    let (kind, period): (String, String) = (b.try_get("kind")?, b.try_get("period")?);
    let r = sqlx::query(&format!(
        "SELECT COUNT(*) AS n, string_agg(r.row_no || '|' || r.attempt || '|' || $4 || '|' || \
         p.ssn || '|' || p.name || '|' || r.account_number || '|' || {AMOUNT_TEXT} || '|' || \
         $5 || '|' || $6, $7 ORDER BY r.row_no) AS body \
         FROM payment_rows r JOIN persons p ON p.id = r.person_id \
         WHERE r.batch_id = $1 AND r.send_no = $2 AND r.bank_code = $3 AND r.status = 'sent'"
    ))
    .bind(batch_id)
    .bind(send_no)
    .bind(bank)
    .bind(send_no.to_string())
    .bind(kind)
    .bind(period)
    .bind("\n")
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut body: String = r.try_get::<Option<String>, _>("body")?.unwrap_or_default();
    if !body.is_empty() {
        body.push('\n');
    }
    Ok(crate::bank::PaymentOrderText {
        rows: usize::try_from(r.try_get::<i64, _>("n")?).unwrap_or_default(),
        body,
    })
}

fn answered(batch_id: i64, send_no: i64, bank: &str) -> StoreError {
    refused(
        "payment.file_answered",
        format!("批次 {batch_id} 第 {send_no} 次发送给 {bank} 的文件已回盘，不能再次生成"),
        format!(
            "the file of batch {batch_id}, send {send_no} to {bank} is answered already; \
             it is not written again"
        ),
    )
}

/// The rows of one file still waiting for the bank's result, to write (or write again).
pub(crate) async fn payment_order_rows(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    batch_id: i64,
    send_no: i64,
    bank: &str,
) -> Result<Vec<PaymentOrderRow>, StoreError> {
    ctx.actor.check_bank(bank)?;
    let mut tx = snapshot(pool).await?;
    let file = one_file(&mut tx, batch_id, send_no, bank).await?;
    if file.result_at.is_some() {
        return Err(answered(batch_id, send_no, bank));
    }
    let rows = sqlx::query(
        "SELECT r.row_no, r.attempt, p.ssn, p.name, r.account_number, r.amount_cents \
         FROM payment_rows r JOIN persons p ON p.id = r.person_id \
         WHERE r.batch_id = $1 AND r.send_no = $2 AND r.bank_code = $3 AND r.status = 'sent' \
         ORDER BY r.row_no",
    )
    .bind(batch_id)
    .bind(send_no)
    .bind(bank)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter()
        .map(|r| {
            Ok(PaymentOrderRow {
                row: r.try_get("row_no")?,
                attempt: r.try_get("attempt")?,
                ssn: r.try_get("ssn")?,
                name: r.try_get("name")?,
                account: r
                    .try_get::<Option<String>, _>("account_number")?
                    .unwrap_or_default(),
                amount: Money::from_cents(r.try_get("amount_cents")?),
            })
        })
        .collect()
}

fn mismatch(batch_id: i64, send_no: i64, bank: &str, row: i64, what: &str) -> StoreError {
    refused(
        "payment.result_mismatch",
        format!(
            "回盘文件与批次 {batch_id} 第 {send_no} 次发送给 {bank} 的文件不符：第 {row} 行{what}；\
             回盘未采用，请向银行核实"
        ),
        format!(
            "the result does not answer batch {batch_id}, send {send_no} to {bank}: row {row} \
             {what}; nothing was applied, check with the bank"
        ),
    )
}

/// Checks a result answers exactly the rows sent in the file — each once, for the same attempt,
/// account and amount — and splits it: the failures, the amount paid, the amount failed.
/// The database writes the file's rows as one canonical text and the result's rows are
/// written the same way; only when the two differ are the rows read one by one, to name the
/// first difference.
async fn check_result<'r>(
    tx: &mut Tx<'_>,
    batch_id: i64,
    send_no: i64,
    bank: &str,
    rows: &'r [PaymentResultRow],
) -> Result<(Vec<(&'r PaymentResultRow, PaymentOutcome)>, i64, i64), StoreError> {
    let mut sorted: Vec<&PaymentResultRow> = rows.iter().collect();
    sorted.sort_by_key(|r| r.row);
    let mut failures = Vec::new();
    let (mut paid_cents, mut failed_cents) = (0_i64, 0_i64);
    let mut canonical = String::with_capacity(rows.len() * 40);
    for (i, r) in sorted.iter().enumerate() {
        let m = |what: &str| mismatch(batch_id, send_no, bank, r.row, what);
        if i > 0 && sorted[i - 1].row == r.row {
            return Err(m("重复出现（answered twice）"));
        }
        let outcome = PaymentOutcome::from_name(&r.outcome).ok_or_else(|| {
            m(&format!(
                "结果代码 {} 不认识（unknown outcome code）",
                r.outcome
            ))
        })?;
        if outcome == PaymentOutcome::Paid {
            paid_cents += r.amount.cents();
        } else {
            failed_cents += r.amount.cents();
            failures.push((*r, outcome));
        }
        if i > 0 {
            canonical.push('\n');
        }
        let _ = write!(
            canonical,
            "{}|{}|{}|{}",
            r.row,
            r.attempt,
            r.account,
            r.amount.cents()
        );
    }
    let sent: Option<String> = sqlx::query_scalar(
        "SELECT string_agg(row_no || '|' || attempt || '|' || account_number || '|' || \
         amount_cents, $4 ORDER BY row_no) FROM payment_rows \
         WHERE batch_id = $1 AND send_no = $2 AND bank_code = $3 AND status = 'sent'",
    )
    .bind(batch_id)
    .bind(send_no)
    .bind(bank)
    .bind("\n")
    .fetch_one(&mut **tx)
    .await?;
    if sent.unwrap_or_default() == canonical {
        return Ok((failures, paid_cents, failed_cents));
    }
    Err(first_difference(tx, batch_id, send_no, bank, &sorted).await?)
}

/// The first row where a result differs from the file sent, as the refusal to answer with.
async fn first_difference(
    tx: &mut Tx<'_>,
    batch_id: i64,
    send_no: i64,
    bank: &str,
    sorted: &[&PaymentResultRow],
) -> Result<StoreError, StoreError> {
    let sent = sqlx::query(
        "SELECT row_no, attempt, account_number, amount_cents FROM payment_rows \
         WHERE batch_id = $1 AND send_no = $2 AND bank_code = $3 AND status = 'sent'",
    )
    .bind(batch_id)
    .bind(send_no)
    .bind(bank)
    .fetch_all(&mut **tx)
    .await?;
    let mut expected: std::collections::HashMap<i64, (i64, String, i64)> =
        std::collections::HashMap::with_capacity(sent.len());
    for r in &sent {
        expected.insert(
            r.try_get("row_no")?,
            (
                r.try_get("attempt")?,
                r.try_get::<Option<String>, _>("account_number")?
                    .unwrap_or_default(),
                r.try_get("amount_cents")?,
            ),
        );
    }
    for r in sorted {
        let m = |what: &str| mismatch(batch_id, send_no, bank, r.row, what);
        let Some(e) = expected.remove(&r.row) else {
            return Ok(m("不在该文件中（not in that file）"));
        };
        if e.0 != r.attempt {
            return Ok(m(&format!(
                "发送次数应为 {}（attempt should be {}）",
                e.0, e.0
            )));
        }
        if e.1 != r.account {
            return Ok(m("账号不符（account differs）"));
        }
        if e.2 != r.amount.cents() {
            let should = Money::from_cents(e.2);
            return Ok(m(&format!(
                "金额应为 {should}（amount should be {should}）"
            )));
        }
    }
    let row = expected.keys().min().copied().unwrap_or_default();
    Ok(mismatch(
        batch_id,
        send_no,
        bank,
        row,
        "没有回盘结果（has no answer）",
    ))
}

/// Applies a bank's result for one file, once: every row sent must be answered exactly once,
/// for the same attempt, account and amount. Paid rows are final; failed rows wait for the
/// next send.
#[allow(clippy::too_many_lines)]
pub(crate) async fn apply_payment_result(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    batch_id: i64,
    send_no: i64,
    bank: &str,
    rows: &[PaymentResultRow],
) -> Result<ResultOutcome, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_bank(bank)?;
        let file = one_file(&mut tx, batch_id, send_no, bank).await?;
        if file.result_at.is_some() {
            return Ok(ResultOutcome {
                file,
                already_applied: true,
            });
        }
        let (failures, paid_cents, failed_cents) =
            check_result(&mut tx, batch_id, send_no, bank, rows).await?;
        sqlx::query(
            "UPDATE payment_rows SET status = 'paid', outcome = 'paid', outcome_at = $4 \
             WHERE batch_id = $1 AND send_no = $2 AND bank_code = $3 AND status = 'sent'",
        )
        .bind(batch_id)
        .bind(send_no)
        .bind(bank)
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;
        for outcome in &PaymentOutcome::ALL[1..] {
            let of: Vec<i64> = failures
                .iter()
                .filter(|(_, o)| o == outcome)
                .map(|(r, _)| r.row)
                .collect();
            for chunk in of.chunks(BULK_ROWS * 2) {
                let mut ph = Ph::new();
                let sql = format!(
                    "UPDATE payment_rows SET status = 'failed', outcome = {}, outcome_at = {} \
                     WHERE batch_id = {} AND row_no IN ({})",
                    ph.next(),
                    ph.next(),
                    ph.next(),
                    ph.list(chunk.len())
                );
                let mut q = sqlx::query(&sql)
                    .bind(outcome.as_str())
                    .bind(ctx.at)
                    .bind(batch_id);
                for row in chunk {
                    q = q.bind(*row);
                }
                q.execute(&mut *tx).await?;
            }
        }
        for chunk in failures.chunks(BULK_ROWS) {
            let sql = format!(
                "INSERT INTO payment_failures (batch_id, send_no, bank_code, at, row_no, attempt, \
                 account_number, amount_cents, outcome) VALUES {}",
                Ph::new().tuples(chunk.len(), 9)
            );
            let mut q = sqlx::query(&sql);
            for (r, outcome) in chunk {
                q = q
                    .bind(batch_id)
                    .bind(send_no)
                    .bind(bank)
                    .bind(ctx.at)
                    .bind(r.row)
                    .bind(r.attempt)
                    .bind(&r.account)
                    .bind(r.amount.cents())
                    .bind(outcome.as_str());
            }
            q.execute(&mut *tx).await?;
        }
        let failed_rows = failures.len() as i64;
        let paid_rows = rows.len() as i64 - failed_rows;
        sqlx::query(
            "UPDATE payment_files SET result_at = $4, paid_rows = $5, paid_cents = $6, \
             failed_rows = $7, failed_cents = $8 WHERE batch_id = $1 AND send_no = $2 AND bank_code = $3",
        )
        .bind(batch_id)
        .bind(send_no)
        .bind(bank)
        .bind(ctx.at)
        .bind(paid_rows)
        .bind(paid_cents)
        .bind(failed_rows)
        .bind(failed_cents)
        .execute(&mut *tx)
        .await?;
        audit.push(
            "payment.result",
            format!("{batch_id}/{send_no}/{bank}"),
            json!({
                "paid": paid_rows, "paid_amount": Money::from_cents(paid_cents).to_string(),
                "failed": failed_rows, "failed_amount": Money::from_cents(failed_cents).to_string(),
            }),
        );
        ResultOutcome {
            file: one_file(&mut tx, batch_id, send_no, bank).await?,
            already_applied: false,
        }
    })
}

/// The bank a bank actor is bounded to, if any.
fn bank_scope(ctx: &Ctx) -> Option<&str> {
    match ctx.actor.scope() {
        sscard_core::Scope::Bank(own) => Some(own.as_str()),
        _ => None,
    }
}

/// A batch with its figures by status, by bank and by file, the rows not paid with why, and
/// whether it all adds up. A bank sees its own files and rows only.
#[allow(clippy::too_many_lines)]
pub(crate) async fn payment_report(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    batch_id: i64,
) -> Result<PaymentBatchReport, StoreError> {
    let bank = bank_scope(ctx);
    let mut tx = snapshot(pool).await?;
    let b = sqlx::query(
        "SELECT kind, period, rows_read, accepted, total_cents, rejected_cents, created_at \
         FROM payment_batches WHERE id = $1",
    )
    .bind(batch_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StoreError::NotFound {
        what: "payment batch",
        key: batch_id.to_string(),
    })?;
    let by_status = sqlx::query(
        "SELECT status, COUNT(*) AS n, CAST(SUM(amount_cents) AS BIGINT) AS cents FROM payment_rows \
         WHERE batch_id = $1 AND ($2 IS NULL OR bank_code = $2) GROUP BY status",
    )
    .bind(batch_id)
    .bind(bank)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| Ok((r.try_get::<String, _>("status")?, tally(r.try_get("n")?, r.try_get("cents")?))))
    .collect::<Result<Vec<_>, StoreError>>()?;
    let order = ["paid", "sent", "failed", "held", "pending"];
    let mut by_status: Vec<(String, Tally)> = order
        .iter()
        .map(|s| {
            by_status
                .iter()
                .find(|(k, _)| k == s)
                .cloned()
                .unwrap_or_else(|| ((*s).to_owned(), tally(0, None)))
        })
        .collect();
    if bank.is_some() {
        // Rows never sent to this bank are not its business.
        by_status.retain(|(s, _)| s != "pending" && s != "held");
    }
    let files = files_of(&mut tx, batch_id, None, bank).await?;
    let mut by_bank: Vec<BankTally> = Vec::new();
    for f in &files {
        if !by_bank.iter().any(|t| t.bank == f.bank) {
            by_bank.push(BankTally {
                bank: f.bank.clone(),
                sent: tally(0, None),
                paid: tally(0, None),
                failed: tally(0, None),
                awaiting: tally(0, None),
            });
        }
        let t = by_bank
            .iter_mut()
            .find(|t| t.bank == f.bank)
            .expect("just added");
        let add = |t: &mut Tally, rows: i64, amount: Money| {
            t.rows += rows;
            t.amount += amount;
        };
        add(&mut t.sent, f.rows, f.total);
        if f.result_at.is_some() {
            add(&mut t.paid, f.paid_rows, f.paid);
            add(&mut t.failed, f.failed_rows, f.failed);
        } else {
            add(&mut t.awaiting, f.rows, f.total);
        }
    }
    let failures: (i64, Option<i64>) = {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(SUM(amount_cents) AS BIGINT) AS cents FROM payment_failures \
             WHERE batch_id = $1 AND ($2 IS NULL OR bank_code = $2)",
        )
        .bind(batch_id)
        .bind(bank)
        .fetch_one(&mut *tx)
        .await?;
        (r.try_get("n")?, r.try_get("cents")?)
    };
    let unpaid = if bank.is_some() {
        Vec::new()
    } else {
        sqlx::query(
            "SELECT r.row_no, p.ssn, p.name, r.amount_cents, r.status, r.outcome, r.attempt \
             FROM payment_rows r JOIN persons p ON p.id = r.person_id \
             WHERE r.batch_id = $1 AND r.status IN ('held', 'failed') ORDER BY r.row_no LIMIT 500",
        )
        .bind(batch_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            let code: String = r
                .try_get::<Option<String>, _>("outcome")?
                .unwrap_or_default();
            let hold = PaymentHold::from_name(&code);
            let ssn: String = r.try_get("ssn")?;
            let name: String = r.try_get("name")?;
            Ok(HeldRow {
                row: r.try_get("row_no")?,
                id_masked: mask_middle(&ssn, 4, 4),
                name_masked: mask_name(&name),
                amount: Money::from_cents(r.try_get("amount_cents")?),
                status: r.try_get("status")?,
                code: hold.map_or(code.clone(), |h| h.code().to_owned()),
                reason: hold.map_or_else(|| code.clone(), |h| h.zh()),
                reason_en: hold.map_or_else(|| code.clone(), |h| h.en()),
                attempts: r.try_get("attempt")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?
    };
    let rejections = if bank.is_some() {
        Vec::new()
    } else {
        sqlx::query(
            "SELECT row_no, column_name, code, message, message_en FROM payment_rejects \
             WHERE batch_id = $1 ORDER BY row_no",
        )
        .bind(batch_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok(PaymentRejection {
                row: usize::try_from(r.try_get::<i64, _>("row_no")?).unwrap_or_default(),
                column: r.try_get("column_name")?,
                code: r.try_get("code")?,
                message: r.try_get("message")?,
                message_en: r.try_get("message_en")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?
    };
    tx.commit().await?;
    let accepted = tally(b.try_get("accepted")?, b.try_get("total_cents")?);
    let status = |s: &str| {
        by_status
            .iter()
            .find(|(k, _)| k == s)
            .map_or(tally(0, None), |(_, t)| t.clone())
    };
    let sum = |ts: &[Tally]| ts.iter().fold(Money::ZERO, |a, t| a + t.amount);
    let files_total = sum(&by_bank.iter().map(|t| t.sent.clone()).collect::<Vec<_>>());
    let files_paid = sum(&by_bank.iter().map(|t| t.paid.clone()).collect::<Vec<_>>());
    let files_failed = sum(&by_bank.iter().map(|t| t.failed.clone()).collect::<Vec<_>>());
    let files_awaiting = sum(&by_bank
        .iter()
        .map(|t| t.awaiting.clone())
        .collect::<Vec<_>>());
    // Every file answered adds up; what the files carried is what was paid, failed or is
    // still out; failures recorded are the files' failures; and (for the centre) the rows'
    // statuses add up to the batch.
    let files_add_up = files.iter().all(|f| {
        f.result_at.is_none()
            || (f.paid + f.failed == f.total && f.paid_rows + f.failed_rows == f.rows)
    }) && files_total == files_paid + files_failed + files_awaiting
        && status("paid").amount == files_paid
        && status("sent").amount == files_awaiting
        && Money::from_cents(failures.1.unwrap_or(0)) == files_failed
        && failures.0 == by_bank.iter().map(|t| t.failed.rows).sum::<i64>();
    let rows_add_up = bank.is_some()
        || (sum(&by_status.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>()) == accepted.amount
            && by_status.iter().map(|(_, t)| t.rows).sum::<i64>() == accepted.rows);
    Ok(PaymentBatchReport {
        batch_id,
        kind: kind_of(&b.try_get::<String, _>("kind")?)?,
        period: b.try_get("period")?,
        created_at: b.try_get("created_at")?,
        rows_read: b.try_get("rows_read")?,
        accepted,
        rejected: tally(rejections.len() as i64, b.try_get("rejected_cents")?),
        by_status,
        by_bank,
        files,
        unpaid,
        rejections,
        reconciled: files_add_up && rows_add_up,
    })
}

/// Every batch, newest first, with what is paid; a bank sees batches with files for it, with
/// its own figures.
pub(crate) async fn payment_batches(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
) -> Result<Vec<PaymentBatchSummary>, StoreError> {
    let bank = bank_scope(ctx);
    let rows = sqlx::query(
        "SELECT b.id, b.kind, b.period, b.accepted, b.total_cents, b.sends, b.created_at, \
         CAST(COALESCE(SUM(f.paid_rows), 0) AS BIGINT) AS paid_rows, \
         CAST(COALESCE(SUM(f.paid_cents), 0) AS BIGINT) AS paid_cents, \
         CAST(COALESCE(SUM(f.rows_sent), 0) AS BIGINT) AS sent_rows, \
         CAST(COALESCE(SUM(f.total_cents), 0) AS BIGINT) AS sent_cents \
         FROM payment_batches b LEFT JOIN payment_files f ON f.batch_id = b.id \
         AND ($1 IS NULL OR f.bank_code = $1) \
         GROUP BY b.id, b.kind, b.period, b.accepted, b.total_cents, b.sends, b.created_at \
         ORDER BY b.id DESC",
    )
    .bind(bank)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let sent_rows: i64 = r.try_get("sent_rows")?;
        if bank.is_some() && sent_rows == 0 {
            continue;
        }
        let accepted = if bank.is_some() {
            tally(sent_rows, r.try_get("sent_cents")?)
        } else {
            tally(r.try_get("accepted")?, r.try_get("total_cents")?)
        };
        out.push(PaymentBatchSummary {
            batch_id: r.try_get("id")?,
            kind: kind_of(&r.try_get::<String, _>("kind")?)?,
            period: r.try_get("period")?,
            accepted,
            paid: tally(r.try_get("paid_rows")?, r.try_get("paid_cents")?),
            sends: r.try_get("sends")?,
            created_at: r.try_get("created_at")?,
        });
    }
    Ok(out)
}
