//! The status exchange with the partner banks: the centre's notices of social-security events
//! that concern a card's account (written with the event, exported per bank), the banks'
//! reports of financial status changes (applied as card events, once per reference), and the
//! take-over of legacy cards with their accounts.

use super::*;
use crate::bank::{
    BankEventView, BankExport, BankReportInput, LegacyCardInput, LegacyImportOutcome, LegacyStatus,
    NoticeLine, ReportOutcome, ReportRefusal,
};
use sscard_core::{CentreNotice, Role};
use sscard_ids::Bilingual;

/// Records a notice for the card's bank, unless the bank itself caused the event (a bank is
/// not told what it reported).
pub(super) async fn notify_bank(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    card: &CardNumber,
    bank: &str,
    notice: CentreNotice,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    if ctx.actor.role() == Role::Bank {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO bank_events (bank_code, direction, card_number, kind, detail, at) \
         VALUES ($1, 'to_bank', $2, $3, $4, $5)",
    )
    .bind(bank)
    .bind(card.as_str())
    .bind(notice.as_str())
    .bind(detail)
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The notice a card's change means for its bank, if any: only cards with an account concern
/// the bank.
pub(super) fn notice_for(
    event: &str,
    before: &CardState,
    after: &CardState,
) -> Option<CentreNotice> {
    if before.financial == FinancialStatus::NotOpened {
        return None;
    }
    match event {
        "formal_loss" => Some(CentreNotice::FormalLoss),
        "unfreeze" if before.ss == SsStatus::FormalLoss => Some(CentreNotice::LossLifted),
        "cancel" | "reissue" if after.ss == SsStatus::Cancelled => Some(CentreNotice::Cancelled),
        _ => None,
    }
}

pub(super) async fn next_counter(tx: &mut Tx<'_>, name: &str) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO counters (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
    )
    .bind(name)
    .fetch_one(&mut **tx)
    .await?)
}

/// The bank's export: every notice not exported before gets the next export number
/// (`again`: the events of an earlier export, unchanged).
pub(crate) async fn bank_export(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    bank: &str,
    again: Option<i64>,
) -> Result<BankExport, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_bank(bank)?;
        let bank = find_bank(&mut tx, bank).await?.code;
        let export_no = if let Some(n) = again {
            let known: Option<i64> = sqlx::query_scalar(
                "SELECT export_no FROM bank_exports WHERE bank_code = $1 AND export_no = $2",
            )
            .bind(&bank)
            .bind(n)
            .fetch_optional(&mut *tx)
            .await?;
            known.ok_or_else(|| StoreError::NotFound {
                what: "bank export",
                key: format!("{bank}/{n}"),
            })?
        } else {
            let n = next_counter(&mut tx, &format!("bank_export/{bank}")).await?;
            let moved = sqlx::query(
                "UPDATE bank_events SET export_no = $1 WHERE bank_code = $2 \
                 AND direction = 'to_bank' AND export_no IS NULL",
            )
            .bind(n)
            .bind(&bank)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "INSERT INTO bank_exports (bank_code, export_no, events, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&bank)
            .bind(n)
            .bind(i64::try_from(moved).unwrap_or(i64::MAX))
            .bind(ctx.at)
            .execute(&mut *tx)
            .await?;
            audit.push(
                "bank.export",
                format!("{bank}/{n}"),
                json!({ "events": moved }),
            );
            n
        };
        let rows = sqlx::query(
            "SELECT e.id, e.card_number, c.account_number, e.kind, e.detail, e.at \
             FROM bank_events e LEFT JOIN cards c ON c.card_number = e.card_number \
             WHERE e.bank_code = $1 AND e.direction = 'to_bank' AND e.export_no = $2 ORDER BY e.id",
        )
        .bind(&bank)
        .bind(export_no)
        .fetch_all(&mut *tx)
        .await?;
        let events = rows
            .iter()
            .map(|r| {
                Ok(NoticeLine {
                    seq: r.try_get("id")?,
                    card_number: r.try_get("card_number")?,
                    account: r.try_get("account_number")?,
                    event: r.try_get("kind")?,
                    detail: r.try_get("detail")?,
                    at: r.try_get("at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        BankExport {
            bank,
            export_no,
            events,
        }
    })
}

/// Applies a bank's reports, each once (by the bank's reference). The actor is the bank (a
/// verified file of the bank, or the bank's own API account): a report on another bank's card
/// is refused like any rule, and the others still apply.
pub(crate) async fn bank_reports(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    bank: &str,
    reports: &[BankReportInput],
) -> Result<ReportOutcome, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_bank(bank)?;
        let mut out = ReportOutcome::default();
        for r in reports {
            let known: Option<String> = sqlx::query_scalar(
                "SELECT card_number FROM bank_events WHERE bank_code = $1 AND ref = $2",
            )
            .bind(bank)
            .bind(&r.reference)
            .fetch_optional(&mut *tx)
            .await?;
            if known.is_some() {
                out.already += 1;
                continue;
            }
            let result = apply_report(&mut tx, cfg, ctx, bank, r, &mut audit).await;
            let outcome = match result {
                Ok(()) => {
                    out.applied += 1;
                    "applied".to_owned()
                }
                Err(e) => {
                    let (code, zh, en) = match &e {
                        StoreError::Refused { code, zh, en } => {
                            ((*code).to_owned(), zh.clone(), en.clone())
                        }
                        StoreError::OutOfScope(s) => (s.code().to_owned(), s.zh(), s.en()),
                        StoreError::NotFound { what, key } => (
                            "card.not_found".to_owned(),
                            format!("没有卡号为 {key} 的{what}"),
                            format!("no {what} {key}"),
                        ),
                        _ => return Err(e),
                    };
                    out.refused.push(ReportRefusal {
                        reference: r.reference.clone(),
                        card_number: r.card.as_str().to_owned(),
                        code: code.clone(),
                        message: zh,
                        message_en: en,
                    });
                    code
                }
            };
            let detail = r.account.as_deref().map(|a| mask_middle(a, 6, 4));
            sqlx::query(
                "INSERT INTO bank_events (bank_code, direction, card_number, kind, detail, ref, \
                 outcome, at) VALUES ($1, 'from_bank', $2, $3, $4, $5, $6, $7)",
            )
            .bind(bank)
            .bind(r.card.as_str())
            .bind(r.report.as_str())
            .bind(detail)
            .bind(&r.reference)
            .bind(outcome)
            .bind(r.at)
            .execute(&mut *tx)
            .await?;
        }
        audit.push(
            "bank.reports",
            bank.to_owned(),
            json!({ "applied": out.applied, "already": out.already, "refused": out.refused.len() }),
        );
        out
    })
}

/// One report: the card event, and the account number when the account is opened. Refusals
/// come before any write.
async fn apply_report(
    tx: &mut Tx<'_>,
    cfg: &Config,
    ctx: &Ctx,
    bank: &str,
    r: &BankReportInput,
    audit: &mut Audit,
) -> Result<(), StoreError> {
    let card = card_by_number(&mut **tx, &r.card).await?;
    // The bank acts (its file, or its own account): each card must be that bank's, and the
    // bank is not told what it reported.
    let as_bank = Ctx {
        actor: sscard_core::Actor::new(
            ctx.actor.name(),
            Role::Bank,
            sscard_core::Scope::Bank(bank.to_owned()),
        ),
        at: ctx.at,
        reason: ctx.reason.clone(),
    };
    as_bank.actor.check_bank(&card.bank_code)?;
    let event = r.report.card_event();
    if r.report == sscard_core::BankReport::Opened {
        let account = r.account.as_deref().unwrap_or_default();
        if sscard_ids::BankCardNumber::parse(account).is_err() {
            return Err(refused(
                "bank.account_number",
                format!(
                    "开户报告的账号“{}”不是有效的银行卡号",
                    mask_middle(account, 6, 4)
                ),
                format!(
                    "the opening report's account \"{}\" is not a valid card account number",
                    mask_middle(account, 6, 4)
                ),
            ));
        }
    }
    apply_card_event_on(tx, cfg, &as_bank, card, &event, audit).await?;
    if let Some(account) = r
        .account
        .as_deref()
        .filter(|_| r.report == sscard_core::BankReport::Opened)
    {
        sqlx::query("UPDATE cards SET account_number = $1 WHERE card_number = $2")
            .bind(account)
            .bind(r.card.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The exchange's events, newest first: one bank's (a bank sees its own only) or all.
pub(crate) async fn bank_events(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    bank: Option<&str>,
    limit: i64,
) -> Result<Vec<BankEventView>, StoreError> {
    let bank = match ctx.actor.scope() {
        sscard_core::Scope::Bank(own) => Some(own.as_str()),
        _ => bank,
    };
    if let Some(b) = bank {
        ctx.actor.check_bank(b)?;
    }
    let rows = sqlx::query(
        "SELECT id, bank_code, direction, card_number, kind, detail, outcome, export_no, at \
         FROM bank_events WHERE ($1 IS NULL OR bank_code = $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(bank)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(BankEventView {
                seq: r.try_get("id")?,
                bank: r.try_get("bank_code")?,
                direction: r.try_get("direction")?,
                card_number: r.try_get("card_number")?,
                event: r.try_get("kind")?,
                detail: r.try_get("detail")?,
                outcome: r.try_get("outcome")?,
                export_no: r.try_get("export_no")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

/// How many rows go into one multi-row statement (under both backends' parameter limits).
pub(super) const BULK_ROWS: usize = 2_000;

/// Takes over legacy cards with their accounts, in one transaction: people registered when
/// new, each card inserted as a legacy card (in the holder's hand and used; lost cards frozen
/// at the bank too, cancelled cards closed). A card already stored is left as it is; the card
/// of someone who already holds a provincial card is imported as superseded by it.
pub(crate) async fn import_legacy_cards(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    cards: &[LegacyCardInput],
) -> Result<LegacyImportOutcome, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor
            .check_centre("存量卡导入 / the legacy card import")?;
        let mut out = LegacyImportOutcome::default();
        let mut latest: std::collections::HashMap<&str, (String, NaiveDate)> =
            std::collections::HashMap::new();
        for c in cards.iter().filter(|c| c.status == LegacyStatus::Normal) {
            let e = latest
                .entry(c.id.expose())
                .or_insert_with(|| (c.card.as_str().to_owned(), c.issue_date));
            if c.issue_date > e.1 {
                *e = (c.card.as_str().to_owned(), c.issue_date);
            }
        }
        for chunk in cards.chunks(JSON_CHUNK) {
            insert_people(&mut tx, ctx, chunk).await?;
            let ids = person_ids(&mut tx, chunk.iter().map(|c| c.id.expose())).await?;
            let numbers: Vec<&str> = chunk.iter().map(|c| c.card.as_str()).collect();
            let known = existing_cards(&mut tx, &numbers).await?;
            let current = current_cards(&mut tx, ids.values().copied()).await?;
            let mut values = Vec::new();
            for c in chunk {
                if known.contains(c.card.as_str()) {
                    out.already += 1;
                    continue;
                }
                let person_id = *ids.get(c.id.expose()).ok_or_else(|| corrupt("person"))?;
                // Someone's current card keeps the function; among a person's normal legacy
                // cards in the file, the latest issued is the live one.
                let live = current.get(&person_id).cloned();
                let later = (c.status == LegacyStatus::Normal)
                    .then(|| latest.get(c.id.expose()))
                    .flatten()
                    .filter(|(n, _)| n.as_str() != c.card.as_str())
                    .map(|(n, _)| n.clone());
                let superseded = live.clone().or_else(|| later.clone());
                if let Some(by) = &superseded {
                    out.superseded += 1;
                    out.notes.push(legacy_note(&c.card, by, live.is_some()));
                }
                out.accepted += 1;
                values.push((c, person_id, superseded));
            }
            if values.is_empty() {
                continue;
            }
            insert_legacy(&mut tx, ctx, &values).await?;
        }
        audit.push(
            "legacy.import",
            format!("{} cards", cards.len()),
            json!({ "accepted": out.accepted, "already": out.already, "superseded": out.superseded }),
        );
        out
    })
}

/// Why an imported card is not the live one.
fn legacy_note(card: &CardNumber, by: &str, live: bool) -> crate::bank::LegacyNote {
    let (code, zh, en) = if live {
        (
            "legacy.superseded",
            format!("{card} 的持卡人已有在用的卡 {by}：旧卡按已被取代导入，金融功能保留"),
            format!(
                "the holder of {card} already uses card {by}: imported as superseded, its bank \
                 function kept"
            ),
        )
    } else {
        (
            "legacy.replaced",
            format!("{card} 的持卡人有更晚发的卡 {by}：以较晚的卡为在用卡，此卡记为已换"),
            format!(
                "the holder of {card} has a later card {by}: the later one is live, this one is \
                 recorded as replaced"
            ),
        )
    };
    crate::bank::LegacyNote {
        card_number: card.as_str().to_owned(),
        code: code.to_owned(),
        by: by.to_owned(),
        message: zh,
        message_en: en,
    }
}

/// The legacy cards of one chunk, in one statement: (card, its holder, the card superseding it).
async fn insert_legacy(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    values: &[(&LegacyCardInput, Uuid, Option<String>)],
) -> Result<(), StoreError> {
    let rows = json_rows(values.iter().map(|(c, person_id, superseded)| {
        let (ss, financial) = match c.status {
            LegacyStatus::Normal => (SsStatus::Normal, FinancialStatus::Active),
            LegacyStatus::Lost => (SsStatus::FormalLoss, FinancialStatus::Frozen),
            LegacyStatus::Cancelled => (SsStatus::Cancelled, FinancialStatus::Closed),
        };
        let expiry = c
            .issue_date
            .with_year(c.issue_date.year() + 10)
            .unwrap_or(c.issue_date);
        json!([
            Uuid::now_v7().simple().to_string(),
            c.card.as_str(),
            person_id.simple().to_string(),
            c.bank,
            c.issue_date.to_string(),
            expiry.to_string(),
            ss.code(),
            financial.as_str(),
            superseded,
            c.account,
            c.district,
            c.card_id_code
        ])
    }));
    let sql = format!(
        "INSERT INTO cards (id, card_number, person_id, bank_code, generation, issue_date, \
         expiry_date, ss_status, financial_status, handed_over, first_used, superseded_by, \
         account_number, district, card_id_code, created_at, updated_at) \
         SELECT {}, value->>1, {}, value->>3, 'legacy', {}, {}, {}, value->>7, TRUE, TRUE, \
         value->>8, value->>9, value->>10, value->>11, $2, $2 FROM {JSON_ROWS}",
        uuid_of("value->>0"),
        uuid_of("value->>2"),
        date_of("value->>4"),
        date_of("value->>5"),
        int_of("value->>6"),
    );
    sqlx::query(&sql)
        .bind(rows)
        .bind(ctx.at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_people(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    chunk: &[LegacyCardInput],
) -> Result<(), StoreError> {
    let mut seen = std::collections::HashSet::new();
    let rows = json_rows(
        chunk
            .iter()
            .filter(|c| seen.insert(c.id.expose()))
            .map(|c| {
                let sex = if c.id.sex() == sscard_ids::Sex::Male {
                    1
                } else {
                    2
                };
                json!([
                    Uuid::now_v7().simple().to_string(),
                    c.id.expose(),
                    c.name.expose(),
                    sex,
                    c.id.birth_date().to_string(),
                    c.id.region().to_string()
                ])
            }),
    );
    // `WHERE TRUE`: SQLite would read `ON CONFLICT` after a bare `SELECT … FROM` as a join's.
    let sql = format!(
        "INSERT INTO persons (id, ssn, name, sex, birth_date, household_region, created_at, \
         updated_at) SELECT {}, value->>1, value->>2, {}, {}, value->>5, $2, $2 \
         FROM {JSON_ROWS} WHERE TRUE ON CONFLICT (ssn) DO NOTHING",
        uuid_of("value->>0"),
        int_of("value->>3"),
        date_of("value->>4"),
    );
    sqlx::query(&sql)
        .bind(rows)
        .bind(ctx.at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Placeholders for a statement whose values are bound in the order they appear: `$1, $2, …`
/// on PostgreSQL, anonymous `?` on SQLite (see [`NUMBERED_PARAMS`]). A value used twice is
/// bound twice.
pub(super) struct Ph(usize);

impl Ph {
    pub(super) fn new() -> Ph {
        Ph(0)
    }

    /// The next placeholder.
    pub(super) fn next(&mut self) -> String {
        self.0 += 1;
        if NUMBERED_PARAMS {
            format!("${}", self.0)
        } else {
            "?".to_owned()
        }
    }

    /// `n` placeholders, comma-separated.
    pub(super) fn list(&mut self, n: usize) -> String {
        (0..n).map(|_| self.next()).collect::<Vec<_>>().join(", ")
    }

    /// `rows` tuples of `width` placeholders: `(…), (…)`.
    pub(super) fn tuples(&mut self, rows: usize, width: usize) -> String {
        (0..rows)
            .map(|_| format!("({})", self.list(width)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Person ids by ID number, for the ID numbers given (those known).
pub(super) async fn person_ids<'a>(
    tx: &mut Tx<'_>,
    ssns: impl Iterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, Uuid>, StoreError> {
    let ssns: Vec<&str> = ssns.collect();
    let mut out = std::collections::HashMap::with_capacity(ssns.len());
    let sql = format!(
        "SELECT p.id, p.ssn FROM persons p WHERE p.ssn IN (SELECT value->>0 FROM {JSON_ROWS})"
    );
    for chunk in ssns.chunks(JSON_CHUNK) {
        let rows = json_rows(chunk.iter().map(|s| json!([s])));
        for r in sqlx::query(&sql).bind(rows).fetch_all(&mut **tx).await? {
            out.insert(r.try_get("ssn")?, r.try_get("id")?);
        }
    }
    Ok(out)
}

/// Rows per statement when they travel as one JSON value ([`JSON_ROWS`]).
pub(super) const JSON_CHUNK: usize = 20_000;

/// One JSON array of the rows given.
pub(super) fn json_rows(rows: impl Iterator<Item = serde_json::Value>) -> String {
    serde_json::Value::Array(rows.collect()).to_string()
}

/// `expr` as a UUID (the backend's cast of a [`JSON_ROWS`] value).
pub(super) fn uuid_of(expr: &str) -> String {
    format!("{}{expr}{}", UUID_OF_HEX[0], UUID_OF_HEX[1])
}

/// `expr` as a date.
pub(super) fn date_of(expr: &str) -> String {
    format!("{}{expr}{}", DATE_OF_TEXT[0], DATE_OF_TEXT[1])
}

/// `expr` as a small integer.
pub(super) fn int_of(expr: &str) -> String {
    format!("{}{expr}{}", INT_OF_JSON[0], INT_OF_JSON[1])
}

async fn existing_cards(
    tx: &mut Tx<'_>,
    numbers: &[&str],
) -> Result<std::collections::HashSet<String>, StoreError> {
    let sql = format!(
        "SELECT card_number FROM cards WHERE card_number IN (SELECT value->>0 FROM {JSON_ROWS})"
    );
    let mut out = std::collections::HashSet::new();
    for chunk in numbers.chunks(JSON_CHUNK) {
        let rows = json_rows(chunk.iter().map(|n| json!([n])));
        out.extend(
            sqlx::query_scalar::<_, String>(&sql)
                .bind(rows)
                .fetch_all(&mut **tx)
                .await?,
        );
    }
    Ok(out)
}

/// Each person's live card (its social-security function in use), if any.
async fn current_cards(
    tx: &mut Tx<'_>,
    people: impl Iterator<Item = Uuid>,
) -> Result<std::collections::HashMap<Uuid, String>, StoreError> {
    let people: Vec<Uuid> = people.collect();
    let mut out = std::collections::HashMap::new();
    let sql = format!(
        "SELECT person_id, card_number FROM cards WHERE ss_status IN (1, 3, 4) \
         AND superseded_by IS NULL AND person_id IN (SELECT {} FROM {JSON_ROWS})",
        uuid_of("value->>0")
    );
    for chunk in people.chunks(JSON_CHUNK) {
        let rows = json_rows(chunk.iter().map(|p| json!([p.simple().to_string()])));
        for r in sqlx::query(&sql).bind(rows).fetch_all(&mut **tx).await? {
            out.insert(r.try_get("person_id")?, r.try_get("card_number")?);
        }
    }
    Ok(out)
}

/// Certifications taken over in bulk (the old city system's records, done at its outlets),
/// in one transaction: `(who, when, outlet)`. People not registered are counted, not added.
pub(crate) async fn import_certifications(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    region: &str,
    rows: &[(ResidentId, DateTime<Utc>, String)],
) -> Result<(usize, usize), StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor
            .check_centre("领取资格认证记录 / certification records")?;
        let (mut taken, mut unknown) = (0, 0);
        for chunk in rows.chunks(BULK_ROWS) {
            let ids = person_ids(&mut tx, chunk.iter().map(|(id, _, _)| id.expose())).await?;
            let known: Vec<(Uuid, &DateTime<Utc>, &String)> = chunk
                .iter()
                .filter_map(|(id, at, outlet)| ids.get(id.expose()).map(|p| (*p, at, outlet)))
                .collect();
            unknown += chunk.len() - known.len();
            taken += known.len();
            if known.is_empty() {
                continue;
            }
            let mut sql = String::from(
                "INSERT INTO pension_certifications (id, person_id, certified_at, region, channel, \
                 outlet_code, created_at) VALUES ",
            );
            let mut ph = Ph::new();
            let tuples: Vec<String> = (0..known.len())
                .map(|_| {
                    let (a, b) = (ph.list(4), ph.list(2));
                    format!("({a}, 'outlet', {b})")
                })
                .collect();
            sql.push_str(&tuples.join(", "));
            let mut q = sqlx::query(&sql);
            for (person, at, outlet) in known {
                q = q
                    .bind(Uuid::now_v7())
                    .bind(person)
                    .bind(*at)
                    .bind(region)
                    .bind(outlet.as_str())
                    .bind(ctx.at);
            }
            q.execute(&mut *tx).await?;
        }
        audit.push(
            "pension.import_certifications",
            region.to_owned(),
            json!({ "taken": taken, "unknown": unknown }),
        );
        (taken, unknown)
    })
}

/// One bank's cards (a bank: its own): counts by financial status and a page of cards, newest
/// first, optionally of one financial status.
pub(crate) async fn bank_cards(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    bank: &str,
    financial: Option<&str>,
    page: (i64, i64),
) -> Result<crate::bank::BankCards, StoreError> {
    ctx.actor.check_bank(bank)?;
    let mut tx = snapshot(pool).await?;
    let by_status = sqlx::query(
        "SELECT financial_status, COUNT(*) AS n FROM cards WHERE bank_code = $1 \
         GROUP BY financial_status ORDER BY financial_status",
    )
    .bind(bank)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("financial_status")?, r.try_get("n")?)))
    .collect::<Result<Vec<(String, i64)>, StoreError>>()?;
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cards WHERE bank_code = $1 AND ($2 IS NULL OR financial_status = $2)",
    )
    .bind(bank)
    .bind(financial)
    .fetch_one(&mut *tx)
    .await?;
    let rows = sqlx::query(
        "SELECT c.card_number, c.generation, c.ss_status, c.financial_status, c.account_number, \
         c.superseded_by, p.ssn, p.name FROM cards c JOIN persons p ON p.id = c.person_id \
         WHERE c.bank_code = $1 AND ($2 IS NULL OR c.financial_status = $2) \
         ORDER BY c.created_at DESC, c.card_number LIMIT $3 OFFSET $4",
    )
    .bind(bank)
    .bind(financial)
    .bind(page.0)
    .bind(page.1)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let cards = rows
        .iter()
        .map(|r| {
            let ssn: String = r.try_get("ssn")?;
            let name: String = r.try_get("name")?;
            let account: Option<String> = r.try_get("account_number")?;
            let financial: String = r.try_get("financial_status")?;
            Ok(crate::bank::BankCardLine {
                card_number: r.try_get("card_number")?,
                generation: r.try_get("generation")?,
                holder_masked: mask_middle(&ssn, 4, 4),
                name_masked: mask_name(&name),
                ss_status: ss_from_code(r.try_get("ss_status")?)?,
                financial_status: FinancialStatus::from_name(&financial)
                    .ok_or_else(|| corrupt("financial_status"))?,
                account_masked: account.map(|a| mask_middle(&a, 6, 4)),
                superseded_by: r.try_get("superseded_by")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(crate::bank::BankCards {
        bank: bank.to_owned(),
        by_status,
        cards,
        total,
    })
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Adds a rollout phase (the centre only).
pub(crate) async fn add_rollout_phase(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    phase: &crate::bank::RolloutPhase,
) -> Result<(), StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_centre("换卡批次 / rollout phases")?;
        for g in &phase.groups {
            if !matches!(g.as_str(), "new" | "reissue" | "cross_region") {
                return Err(refused(
                    "rollout.group",
                    format!("群体“{g}”应为 new、reissue 或 cross_region"),
                    format!("the group \"{g}\" must be new, reissue or cross_region"),
                ));
            }
        }
        let done = sqlx::query(
            "INSERT INTO rollout_phases (name, from_date, districts, for_groups, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&phase.name)
        .bind(phase.from)
        .bind(phase.districts.join(","))
        .bind(phase.groups.join(","))
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(refused(
                "rollout.phase_exists",
                format!("已有名为“{}”的换卡批次", phase.name),
                format!("a phase named \"{}\" exists already", phase.name),
            ));
        }
        let notices = phase_notices(&mut tx, ctx, phase).await?;
        audit.push(
            "rollout.phase_add",
            phase.name.clone(),
            json!({ "from": phase.from, "districts": phase.districts, "groups": phase.groups,
                    "notices": notices }),
        );
    })
}

/// Every rollout phase, by opening date.
pub(crate) async fn rollout_phases(
    pool: &Pool,
    _cfg: &Config,
) -> Result<Vec<crate::bank::RolloutPhase>, StoreError> {
    let mut tx = snapshot(pool).await?;
    let phases = phases_in(&mut tx).await?;
    tx.commit().await?;
    Ok(phases)
}

pub(super) async fn phases_in(
    tx: &mut Tx<'_>,
) -> Result<Vec<crate::bank::RolloutPhase>, StoreError> {
    sqlx::query(
        "SELECT name, from_date, districts, for_groups FROM rollout_phases ORDER BY from_date, id",
    )
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        Ok(crate::bank::RolloutPhase {
            name: r.try_get("name")?,
            from: r.try_get("from_date")?,
            districts: split_list(&r.try_get::<String, _>("districts")?),
            groups: split_list(&r.try_get::<String, _>("for_groups")?),
        })
    })
    .collect()
}

/// Whether the person may exchange a legacy card on `ctx.at`'s day: new applicants (no legacy
/// card), reissues (a lost card) and people with a filing for care elsewhere are never held
/// back; once phases are set, a legacy card's holder waits for the first phase that opens its
/// district (without phases the exchange is open to everyone).
pub(crate) async fn eligibility_in(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    person_id: Uuid,
) -> Result<crate::bank::Eligibility, StoreError> {
    eligibility_on(tx, person_id, china_date(ctx.at)).await
}

/// [`eligibility_in`] on a given day (a booking: the day booked).
pub(super) async fn eligibility_on(
    tx: &mut Tx<'_>,
    person_id: Uuid,
    today: NaiveDate,
) -> Result<crate::bank::Eligibility, StoreError> {
    use crate::bank::Eligibility;
    let open = |phase: Option<String>, from: Option<NaiveDate>, zh: &str, en: &str| Eligibility {
        eligible: true,
        phase,
        from,
        reason: zh.to_owned(),
        reason_en: en.to_owned(),
    };
    let legacy = sqlx::query(
        "SELECT district, ss_status FROM cards WHERE person_id = $1 AND generation = 'legacy' \
         AND ss_status <> 9 AND superseded_by IS NULL ORDER BY issue_date DESC LIMIT 1",
    )
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(legacy) = legacy else {
        return Ok(open(
            None,
            None,
            "没有在用的旧卡：新申领不受批次限制",
            "no legacy card in use: a new application is never held back",
        ));
    };
    if ss_from_code(legacy.try_get("ss_status")?)? == SsStatus::FormalLoss {
        return Ok(open(
            None,
            None,
            "旧卡已正式挂失：补卡不受批次限制",
            "the legacy card is formally lost: a reissue is never held back",
        ));
    }
    let filed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM insurance_filings WHERE person_id = $1 AND status = 'active' \
         AND end_date >= $2",
    )
    .bind(person_id)
    .bind(today)
    .fetch_one(&mut **tx)
    .await?;
    if filed > 0 {
        return Ok(open(
            None,
            None,
            "已办理异地就医备案：优先换发新卡",
            "filed for care in another city: the new card comes first",
        ));
    }
    let district: Option<String> = legacy.try_get("district")?;
    let phases = phases_in(tx).await?;
    if phases.is_empty() {
        return Ok(open(
            None,
            None,
            "未设换卡批次：换卡不受限制",
            "no rollout phases are set: the exchange is open to everyone",
        ));
    }
    let phase = phases.iter().find(|p| {
        p.districts.is_empty() || district.as_ref().is_some_and(|d| p.districts.contains(d))
    });
    Ok(match phase {
        Some(p) if p.from <= today => open(
            Some(p.name.clone()),
            Some(p.from),
            &format!("所属区县已于 {} 开始换卡（{}）", p.from, p.name),
            &format!(
                "the exchange opened for the district on {} ({})",
                p.from, p.name
            ),
        ),
        Some(p) => Eligibility {
            eligible: false,
            phase: Some(p.name.clone()),
            from: Some(p.from),
            reason: format!(
                "所属区县将于 {} 开始换卡（{}）；旧卡照常使用，无需着急",
                p.from, p.name
            ),
            reason_en: format!(
                "the exchange opens for the district on {} ({}); the old card keeps working, \
                 there is no need to rush",
                p.from, p.name
            ),
        },
        None => Eligibility {
            eligible: false,
            phase: None,
            from: None,
            reason: "所属区县尚未安排换卡批次；旧卡照常使用".into(),
            reason_en: "no phase opens the district yet; the old card keeps working".into(),
        },
    })
}

/// [`eligibility_in`] for a person by ID number.
pub(crate) async fn rollout_eligible(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    id: &ResidentId,
) -> Result<crate::bank::Eligibility, StoreError> {
    let mut tx = snapshot(pool).await?;
    let person_id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM persons WHERE ssn = $1")
        .bind(id.expose())
        .fetch_optional(&mut *tx)
        .await?;
    let out = match person_id {
        Some(p) => eligibility_in(&mut tx, ctx, p).await?,
        None => crate::bank::Eligibility {
            eligible: true,
            phase: None,
            from: None,
            reason: "没有在用的旧卡：新申领不受批次限制".into(),
            reason_en: "no legacy card in use: a new application is never held back".into(),
        },
    };
    tx.commit().await?;
    Ok(out)
}

/// Refuses the exchange of a legacy card before its holder's phase opens.
pub(super) async fn check_rollout(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    person_id: Uuid,
    replaces: &CardNumber,
) -> Result<(), StoreError> {
    let generation: Option<String> =
        sqlx::query_scalar("SELECT generation FROM cards WHERE card_number = $1")
            .bind(replaces.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    if generation.as_deref() != Some("legacy") {
        return Ok(());
    }
    let e = eligibility_in(tx, ctx, person_id).await?;
    if e.eligible {
        return Ok(());
    }
    Err(StoreError::Refused {
        code: "rollout.not_open",
        zh: e.reason,
        en: e.reason_en,
    })
}
