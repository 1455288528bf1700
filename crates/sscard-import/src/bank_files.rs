//! The signed files of the bank side (formats in `docs/exchange-formats.md`): benefit payment
//! orders and the banks' results, and the daily status exchange both ways. Each file is
//! verified with its partner's key before anything in it is looked at.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sscard_core::money::Money;
use sscard_core::{BankReport, PaymentKind};
use sscard_exchange::{Envelope, ExchangeError, Kind};
use sscard_ids::CardNumber;
use sscard_store::bank::{
    BankExport, BankReportInput, PaymentBatchCreated, PaymentBatchInput, PaymentRejection,
    PaymentResultRow, ReportOutcome, ResultOutcome, SendOutcome,
};
use sscard_store::{Ctx, Store, StoreError};

use crate::payments::PaymentFile;
use crate::production::{ExchangeKeys, ProductionError};

fn now_text(ctx: &Ctx) -> String {
    ctx.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn bad_row(line: usize, detail: impl Into<String>) -> ProductionError {
    ProductionError::Exchange(ExchangeError::BadRow {
        line,
        detail: detail.into(),
    })
}

/// The batch input of a payment file read (`bytes` for its digest).
pub fn payment_input(
    kind: PaymentKind,
    period: &str,
    bytes: &[u8],
    file: PaymentFile,
) -> PaymentBatchInput {
    PaymentBatchInput {
        kind,
        period: period.to_owned(),
        file_sha256: hex::encode(Sha256::digest(bytes)),
        rows_read: file.rows,
        lines: file
            .lines
            .into_iter()
            .map(|l| (l.row, l.id, l.amount))
            .collect(),
        rejected: file
            .rejected
            .into_iter()
            .map(|p| {
                (
                    PaymentRejection {
                        row: p.row,
                        column: p.column,
                        code: p.code,
                        message: p.message,
                        message_en: p.message_en,
                    },
                    None,
                )
            })
            .collect(),
    }
}

/// Creates a batch from a payment file's bytes: every bad row reported, the good ones in one
/// batch. A file that cannot be read at all is refused whole (`Err(problem)`).
pub async fn create_payment_batch(
    store: &Store,
    ctx: &Ctx,
    kind: PaymentKind,
    period: &str,
    bytes: &[u8],
) -> Result<Result<PaymentBatchCreated, StoreError>, crate::RowProblem> {
    let file = crate::payments::parse_payment_file(bytes)?;
    let input = payment_input(kind, period, bytes, file);
    Ok(store.create_payment_batch(ctx, &input).await)
}

/// The file name of one payment order.
pub fn payment_file_name(batch: i64, send_no: i64, bank: &str) -> String {
    format!("P{batch:06}-S{send_no:02}-{bank}-PAYMENT-ORDER.txt")
}

/// Writes the files of one send (one per bank), signed with each bank's key; the batch's kind
/// and period go on every row.
pub async fn write_payment_files(
    store: &Store,
    ctx: &Ctx,
    keys: &ExchangeKeys,
    send: &SendOutcome,
    out: &Path,
) -> Result<Vec<PathBuf>, ProductionError> {
    std::fs::create_dir_all(out)?;
    // The banks' records are read side by side (the reader pool), then signed side by side.
    let texts = futures::future::try_join_all(
        send.files
            .iter()
            .map(|f| store.payment_order_text(ctx, send.batch_id, f.send_no, &f.bank)),
    )
    .await?;
    let created = now_text(ctx);
    let signed: Vec<Result<Vec<u8>, ExchangeError>> = std::thread::scope(|scope| {
        let jobs: Vec<_> = send
            .files
            .iter()
            .zip(&texts)
            .map(|(f, text)| {
                let (key, created) = (keys.partner(&f.bank), &created);
                scope.spawn(move || {
                    sscard_exchange::sign_lines(
                        Kind::PaymentOrder,
                        send.batch_id,
                        &f.bank,
                        created,
                        text.rows,
                        &text.body,
                        &key,
                    )
                })
            })
            .collect();
        jobs.into_iter()
            .map(|j| j.join().expect("signing does not panic"))
            .collect()
    });
    let mut written = Vec::new();
    for (f, bytes) in send.files.iter().zip(signed) {
        let path = out.join(payment_file_name(send.batch_id, f.send_no, &f.bank));
        std::fs::write(&path, bytes?)?;
        written.push(path);
    }
    Ok(written)
}

/// A bank's result file, verified and read: the bank, the send it answers, its rows.
#[derive(Debug, Clone)]
pub struct PaymentResultFile {
    /// The bank whose key verified it.
    pub bank: String,
    /// The send it answers.
    pub send_no: i64,
    /// Its rows.
    pub rows: Vec<PaymentResultRow>,
}

/// Verifies a bank's signed result file for batch `batch` (with the key of the bank its
/// header names) and reads its rows.
pub fn read_payment_result(
    keys: &ExchangeKeys,
    batch: i64,
    file: &[u8],
) -> Result<PaymentResultFile, ProductionError> {
    let bank = sscard_exchange::partner_of(file)?;
    let e = Envelope::parse(file, &keys.partner(&bank))?;
    e.expect(Kind::PaymentResult, batch, &bank)?;
    let mut send_no = None;
    let mut rows = Vec::with_capacity(e.rows.len());
    for (i, mut r) in e.rows.into_iter().enumerate() {
        let line = i + 2;
        let number = |s: &str, what: &str| {
            s.parse::<i64>()
                .map_err(|_| bad_row(line, format!("{what} “{s}”")))
        };
        let send = number(&r[2], "send")?;
        if *send_no.get_or_insert(send) != send {
            return Err(bad_row(line, "rows of two sends in one file"));
        }
        rows.push(PaymentResultRow {
            row: number(&r[0], "seq")?,
            attempt: number(&r[1], "attempt")?,
            amount: Money::parse(&r[4]).map_err(|_| bad_row(line, format!("amount “{}”", r[4])))?,
            account: std::mem::take(&mut r[3]),
            outcome: std::mem::take(&mut r[5]),
        });
    }
    let send_no = send_no.ok_or_else(|| bad_row(1, "no rows"))?;
    Ok(PaymentResultFile {
        bank,
        send_no,
        rows,
    })
}

/// Applies a bank's signed result file for batch `batch` (verified with the bank's key named
/// in its header). Applying the same file again changes nothing.
pub async fn apply_payment_result_file(
    store: &Store,
    ctx: &Ctx,
    keys: &ExchangeKeys,
    batch: i64,
    file: &[u8],
) -> Result<ResultOutcome, ProductionError> {
    let r = read_payment_result(keys, batch, file)?;
    Ok(store
        .apply_payment_result(ctx, batch, r.send_no, &r.bank, &r.rows)
        .await?)
}

/// [`apply_payment_result_file`] for several files: verified and read side by side, applied
/// one after the other, each with its own outcome.
pub async fn apply_payment_result_files(
    store: &Store,
    ctx: &Ctx,
    keys: &ExchangeKeys,
    batch: i64,
    files: &[Vec<u8>],
) -> Vec<Result<ResultOutcome, ProductionError>> {
    let read: Vec<Result<PaymentResultFile, ProductionError>> = std::thread::scope(|scope| {
        let jobs: Vec<_> = files
            .iter()
            .map(|f| scope.spawn(move || read_payment_result(keys, batch, f)))
            .collect();
        jobs.into_iter()
            .map(|j| j.join().expect("reading does not panic"))
            .collect()
    });
    let mut out = Vec::with_capacity(read.len());
    for r in read {
        out.push(match r {
            Ok(r) => store
                .apply_payment_result(ctx, batch, r.send_no, &r.bank, &r.rows)
                .await
                .map_err(ProductionError::from),
            Err(e) => Err(e),
        });
    }
    out
}

/// The file name of one status export.
pub fn status_file_name(bank: &str, export_no: i64) -> String {
    format!("STATUS-{bank}-{export_no:06}-TO-BANK.txt")
}

/// The signed bytes of a status export.
pub fn status_export_bytes(
    keys: &ExchangeKeys,
    ctx: &Ctx,
    export: &BankExport,
) -> Result<Vec<u8>, ExchangeError> {
    let mut e = Envelope::new(
        Kind::StatusToBank,
        export.export_no,
        &export.bank,
        &now_text(ctx),
    );
    e.rows = export
        .events
        .iter()
        .map(|n| {
            vec![
                n.seq.to_string(),
                n.card_number.clone(),
                n.account.clone().unwrap_or_default(),
                n.event.clone(),
                n.detail.clone().unwrap_or_default(),
                n.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ]
        })
        .collect();
    e.to_bytes(&keys.partner(&export.bank))
}

/// One report of a bank's status file, as the bank writes it.
#[derive(Debug, Clone)]
pub struct StatusLine {
    /// The bank's reference.
    pub reference: String,
    /// The card.
    pub card: CardNumber,
    /// What happened.
    pub report: BankReport,
    /// The account (for `opened`).
    pub account: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A bank's status file (what `sscard sim bank-status` writes for a bank), signed with the
/// bank's key; `file_no` is the bank's own numbering.
pub fn bank_status_bytes(
    keys: &ExchangeKeys,
    bank: &str,
    file_no: i64,
    now: &str,
    lines: &[StatusLine],
) -> Result<Vec<u8>, ExchangeError> {
    let mut e = Envelope::new(Kind::StatusFromBank, file_no, bank, now);
    e.rows = lines
        .iter()
        .map(|l| {
            vec![
                l.reference.clone(),
                l.card.as_str().to_owned(),
                l.report.as_str().to_owned(),
                l.account.clone().unwrap_or_default(),
                l.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ]
        })
        .collect();
    e.to_bytes(&keys.partner(bank))
}

/// Applies a bank's signed status file (verified with the key of the bank its header names);
/// each report once, a report on another bank's card refused.
pub async fn import_bank_status(
    store: &Store,
    ctx: &Ctx,
    keys: &ExchangeKeys,
    file: &[u8],
) -> Result<(String, ReportOutcome), ProductionError> {
    let bank = sscard_exchange::partner_of(file)?;
    let e = Envelope::parse(file, &keys.partner(&bank))?;
    if e.kind != Kind::StatusFromBank {
        return Err(ExchangeError::Unexpected {
            expected: Kind::StatusFromBank.as_str().into(),
            found: e.kind.as_str().into(),
        }
        .into());
    }
    let mut reports = Vec::with_capacity(e.rows.len());
    for (i, r) in e.rows.iter().enumerate() {
        let line = i + 2;
        let card =
            CardNumber::parse(&r[1]).map_err(|_| bad_row(line, format!("card “{}”", r[1])))?;
        let report = BankReport::from_name(&r[2])
            .ok_or_else(|| bad_row(line, format!("event “{}”", r[2])))?;
        let at = DateTime::parse_from_rfc3339(&r[4])
            .map_err(|_| bad_row(line, format!("at “{}”", r[4])))?
            .with_timezone(&Utc);
        reports.push(BankReportInput {
            reference: format!("{}/{}", e.batch, r[0]),
            card,
            report,
            account: (!r[3].is_empty()).then(|| r[3].clone()),
            at,
        });
    }
    let outcome = store.bank_reports(ctx, &bank, &reports).await?;
    Ok((bank, outcome))
}
