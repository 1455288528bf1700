//! The bank side of the card as the store keeps it: the status exchange with each partner
//! bank (events both ways), cards taken over from the old city system with their accounts,
//! and benefit payment batches (代发) with their files, outcomes and holds. Money is exact
//! ([`Money`], cents).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sscard_core::money::Money;
use sscard_core::{BankReport, PaymentKind};
use sscard_ids::{CardNumber, PersonName, ResidentId};

/// One event of the status exchange, centre → bank, as the bank's export carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeLine {
    /// The event's sequence number (increasing, per centre).
    pub seq: i64,
    /// The card.
    pub card_number: String,
    /// The card's account, when it has one.
    pub account: Option<String>,
    /// `formal_loss`, `loss_lifted`, `cancelled`, `new_card`, `superseded`.
    pub event: String,
    /// `new_card`: the card it replaces; `superseded`: the new card.
    pub detail: Option<String>,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// One export for one bank: every event not exported before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankExport {
    /// The bank.
    pub bank: String,
    /// The export's number for that bank (1, 2, …).
    pub export_no: i64,
    /// The events, in order.
    pub events: Vec<NoticeLine>,
}

/// Bank → centre: one financial status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankReportInput {
    /// The bank's own reference: a report applied once per bank and reference.
    pub reference: String,
    /// The card.
    pub card: CardNumber,
    /// What happened.
    pub report: BankReport,
    /// The account number (`opened`).
    pub account: Option<String>,
    /// When it happened at the bank.
    pub at: DateTime<Utc>,
}

/// A report that was not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRefusal {
    /// The bank's reference.
    pub reference: String,
    /// The card.
    pub card_number: String,
    /// Stable code.
    pub code: String,
    /// zh-CN.
    pub message: String,
    /// English.
    pub message_en: String,
}

/// What a bank's reports did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ReportOutcome {
    /// Applied now.
    pub applied: usize,
    /// Applied before (same reference): nothing changed.
    pub already: usize,
    /// Refused, each with the reason.
    pub refused: Vec<ReportRefusal>,
}

/// An event of the exchange, either way, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankEventView {
    /// Sequence number.
    pub seq: i64,
    /// The bank.
    pub bank: String,
    /// `to_bank` or `from_bank`.
    pub direction: String,
    /// The card.
    pub card_number: String,
    /// The event's code.
    pub event: String,
    /// Its detail (the other card, an account number masked).
    pub detail: Option<String>,
    /// From the bank: `applied` or the refusal's code.
    pub outcome: Option<String>,
    /// The export that carried it (to the bank).
    pub export_no: Option<i64>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A card of the old city system, taken over with its bank account (the migration's import;
/// also how benefit payees on old cards reach the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyCardInput {
    /// The holder.
    pub id: ResidentId,
    /// The holder's name.
    pub name: PersonName,
    /// The old card's number.
    pub card: CardNumber,
    /// Its bank.
    pub bank: String,
    /// Its account number.
    pub account: String,
    /// When it was issued.
    pub issue_date: NaiveDate,
    /// `normal`, `lost` (formally) or `cancelled`.
    pub status: LegacyStatus,
    /// The district it belongs to in the old system (所属区县).
    pub district: Option<String>,
    /// The card identification code it was issued with (卡识别码), when the old system gives
    /// it: terminals check the card against it.
    pub card_id_code: Option<String>,
}

/// A legacy card's status in the old system (正常/挂失/注销).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegacyStatus {
    /// 正常.
    Normal,
    /// 挂失.
    Lost,
    /// 注销.
    Cancelled,
}

/// What a legacy import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct LegacyImportOutcome {
    /// Cards taken over now.
    pub accepted: usize,
    /// Cards already in the store (by card number): unchanged.
    pub already: usize,
    /// Of the accepted: cards imported as superseded (by the person's live card, or by a
    /// later legacy card of the same person in the file), each with a note.
    pub superseded: usize,
    /// What was done with cards that did not become the live one.
    pub notes: Vec<LegacyNote>,
}

/// Why an imported legacy card is not its holder's live card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegacyNote {
    /// The card.
    pub card_number: String,
    /// `legacy.replaced` (a later legacy card of the same person) or `legacy.superseded` (the
    /// person's live card, e.g. a new provincial one).
    pub code: String,
    /// The card that holds the function.
    pub by: String,
    /// zh-CN.
    pub message: String,
    /// English.
    pub message_en: String,
}

/// A payment file read, for one batch.
#[derive(Debug, Clone)]
pub struct PaymentBatchInput {
    /// What it pays.
    pub kind: PaymentKind,
    /// `YYYY-MM`.
    pub period: String,
    /// SHA-256 of the file's bytes (the same file is not taken twice for a kind and period).
    pub file_sha256: String,
    /// Rows read.
    pub rows_read: usize,
    /// The good rows: (row, who, how much).
    pub lines: Vec<(usize, ResidentId, Money)>,
    /// The bad rows found in the file, with the amount where one could be read.
    pub rejected: Vec<(PaymentRejection, Option<Money>)>,
}

/// A refused row of a payment file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentRejection {
    /// Row in the file (header = 1).
    pub row: usize,
    /// The column.
    pub column: String,
    /// Stable code.
    pub code: String,
    /// zh-CN.
    pub message: String,
    /// English.
    pub message_en: String,
}

/// A batch created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentBatchCreated {
    /// Its number.
    pub batch_id: i64,
    /// Rows read.
    pub rows: usize,
    /// Rows accepted.
    pub accepted: usize,
    /// Their total.
    pub total: Money,
    /// The refused rows.
    pub rejected: Vec<PaymentRejection>,
}

/// One file of a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentFileSummary {
    /// The send it belongs to.
    pub send_no: i64,
    /// The bank.
    pub bank: String,
    /// Rows in it.
    pub rows: i64,
    /// Their total.
    pub total: Money,
    /// When the bank's result was applied.
    pub result_at: Option<DateTime<Utc>>,
    /// Rows paid (once the result is applied).
    pub paid_rows: i64,
    /// Amount paid.
    pub paid: Money,
    /// Rows failed.
    pub failed_rows: i64,
    /// Amount failed.
    pub failed: Money,
}

/// What one send did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendOutcome {
    /// The batch.
    pub batch_id: i64,
    /// This send's number.
    pub send_no: i64,
    /// One file per bank.
    pub files: Vec<PaymentFileSummary>,
    /// Rows held back now, by reason code.
    pub held: Vec<(String, i64)>,
}

/// One row of a payment order file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOrderRow {
    /// Row of the batch.
    pub row: i64,
    /// Attempt (1, 2, …).
    pub attempt: i64,
    /// The payee's ID number.
    pub ssn: String,
    /// The payee's name.
    pub name: String,
    /// The account paid into.
    pub account: String,
    /// How much.
    pub amount: Money,
}

/// The records of one payment order file, already written one a line (`row|attempt|send|ssn|
/// name|account|amount|kind|period`, each ending in LF): a million rows come out of the
/// database as one value instead of a million.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOrderText {
    /// How many records.
    pub rows: usize,
    /// The records.
    pub body: String,
}

/// One row of a bank's result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentResultRow {
    /// Row of the batch.
    pub row: i64,
    /// Attempt it answers.
    pub attempt: i64,
    /// The account it answers for.
    pub account: String,
    /// The amount it answers for.
    pub amount: Money,
    /// The outcome's code (`paid`, `account_frozen`, `account_closed`, `name_mismatch`).
    pub outcome: String,
}

/// What applying a result did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultOutcome {
    /// The file it answers.
    pub file: PaymentFileSummary,
    /// Applied before: nothing changed now.
    pub already_applied: bool,
}

/// Rows and amount of one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Rows.
    pub rows: i64,
    /// Amount.
    pub amount: Money,
}

/// A batch's figures for one bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankTally {
    /// The bank.
    pub bank: String,
    /// Everything sent to it (every attempt).
    pub sent: Tally,
    /// Paid.
    pub paid: Tally,
    /// Failed attempts.
    pub failed: Tally,
    /// In files without a result yet.
    pub awaiting: Tally,
}

/// A row not paid, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldRow {
    /// Row of the batch.
    pub row: i64,
    /// The payee, masked.
    pub id_masked: String,
    /// The payee's name, masked.
    pub name_masked: String,
    /// How much.
    pub amount: Money,
    /// `held` or `failed`.
    pub status: String,
    /// The reason's code.
    pub code: String,
    /// zh-CN.
    pub reason: String,
    /// English.
    pub reason_en: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// A batch with its reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentBatchReport {
    /// Its number.
    pub batch_id: i64,
    /// What it pays.
    pub kind: PaymentKind,
    /// `YYYY-MM`.
    pub period: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Rows read from the file.
    pub rows_read: i64,
    /// Accepted rows and their total.
    pub accepted: Tally,
    /// Refused rows and the total of those with a readable amount.
    pub rejected: Tally,
    /// By status: `paid`, `sent`, `failed`, `held`, `pending`.
    pub by_status: Vec<(String, Tally)>,
    /// By bank.
    pub by_bank: Vec<BankTally>,
    /// Every file.
    pub files: Vec<PaymentFileSummary>,
    /// Rows failed or held, with the reason (the first 500).
    pub unpaid: Vec<HeldRow>,
    /// Rows refused in the file.
    pub rejections: Vec<PaymentRejection>,
    /// The statuses add up to the accepted total, and each file's result to its total.
    pub reconciled: bool,
}

/// A batch in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentBatchSummary {
    /// Its number.
    pub batch_id: i64,
    /// What it pays.
    pub kind: PaymentKind,
    /// `YYYY-MM`.
    pub period: String,
    /// Accepted rows and total.
    pub accepted: Tally,
    /// Paid so far.
    pub paid: Tally,
    /// Sends so far.
    pub sends: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// One card as its bank sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankCardLine {
    /// The card.
    pub card_number: String,
    /// `legacy`, `second`, `third`.
    pub generation: String,
    /// The holder's ID number, masked.
    pub holder_masked: String,
    /// The holder's name, masked.
    pub name_masked: String,
    /// Social-security status.
    pub ss_status: sscard_core::SsStatus,
    /// Financial status.
    pub financial_status: sscard_core::FinancialStatus,
    /// The account, masked.
    pub account_masked: Option<String>,
    /// The newer card that took over the social-security function.
    pub superseded_by: Option<String>,
}

/// One bank's cards: counts by financial status and one page of cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankCards {
    /// The bank.
    pub bank: String,
    /// Cards by financial status.
    pub by_status: Vec<(String, i64)>,
    /// The cards of the page, newest first.
    pub cards: Vec<BankCardLine>,
    /// Cards matching the filter.
    pub total: i64,
}

/// A rollout phase of the migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolloutPhase {
    /// Its name (`海陵区、医药高新区首批`).
    pub name: String,
    /// The day the exchange opens.
    pub from: NaiveDate,
    /// The districts it opens (empty: every district).
    pub districts: Vec<String>,
    /// The groups it names (`new`, `reissue`, `cross_region`; never held back anyway).
    pub groups: Vec<String>,
}

/// Whether a person may exchange a legacy card now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eligibility {
    /// May apply now.
    pub eligible: bool,
    /// The phase that opens (or opened) it.
    pub phase: Option<String>,
    /// The day it opens (or opened).
    pub from: Option<NaiveDate>,
    /// Why, in Chinese.
    pub reason: String,
    /// Why, in English.
    pub reason_en: String,
}
