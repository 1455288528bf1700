// The store's operations, written once and compiled per backend: `lib.rs` includes this file in
// `sqlite_ops` (with `DB = sqlx::Sqlite`) and in `postgres_ops` (with `DB = sqlx::Postgres`).
// The SQL text is shared; `$n` placeholders work on both.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::json;
use sqlx::Row;
use sscard_core::{
    ApplicationEvent, ApplicationSource, ApplicationStatus, BusinessType, CardEvent, CardState,
    Effect, FinancialStatus, Holder, HolderEvent, SsStatus,
};
use sscard_ids::{CardIdCode, CardNumber, CreditCode, RegionCode, ResidentId, mask_middle};
use uuid::Uuid;

use crate::audit::{AuditEvent, AuditReport, chain_hash};
use crate::{
    ApplicationView, ApplyOutcome, ApplyRequest, Bank, BatchDetail, BatchImportOutcome,
    BatchSummary, BatchUploadInput, CardView, Config, Ctx, Employer, PersonInput, PersonView,
    RowIssue, StoreError, UploadSummary,
};

type Pool = sqlx::Pool<DB>;
type Tx<'a> = sqlx::Transaction<'a, DB>;
type DbRow = <DB as sqlx::Database>::Row;

/// Audit entries gathered during a transaction and chained in one go at its end, so the chain
/// head is held only for the last moment of the transaction.
#[derive(Default)]
struct Audit(Vec<(String, String, serde_json::Value)>);

impl Audit {
    fn push(
        &mut self,
        action: impl Into<String>,
        subject: impl Into<String>,
        payload: serde_json::Value,
    ) {
        self.0.push((action.into(), subject.into(), payload));
    }
}

async fn flush_audit(tx: &mut Tx<'_>, ctx: &Ctx, audit: Audit) -> Result<(), StoreError> {
    if audit.0.is_empty() {
        return Ok(());
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?;
    let head_seq: i64 = head.try_get("seq")?;
    let mut prev: String = head.try_get("hash")?;
    let mut events = Vec::with_capacity(audit.0.len());
    for (i, (action, subject, payload)) in audit.0.into_iter().enumerate() {
        let mut e = AuditEvent {
            seq: head_seq + 1 + i as i64,
            id: Uuid::now_v7(),
            at_us: ctx.at.timestamp_micros(),
            actor: ctx.actor.clone(),
            action,
            subject,
            reason: ctx.reason.clone(),
            payload: payload.to_string(),
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        e.hash = chain_hash(&e.prev_hash, &e);
        prev.clone_from(&e.hash);
        events.push(e);
    }
    let last = events.last().expect("not empty");
    // Compare-and-set on the head: a concurrent append makes this touch no row, and the whole
    // transaction is retried on top of the new head.
    let moved = sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3")
        .bind(last.seq)
        .bind(&last.hash)
        .bind(head_seq)
        .execute(&mut **tx)
        .await?;
    if moved.rows_affected() != 1 {
        return Err(StoreError::Retry);
    }
    for e in &events {
        sqlx::query(
            "INSERT INTO audit_events (seq, id, at_us, actor, action, subject, reason, payload, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(e.seq)
        .bind(e.id)
        .bind(e.at_us)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.subject)
        .bind(&e.reason)
        .bind(&e.payload)
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Database {
        detail: format!("stored value not understood: {what}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Rows

struct PersonRow {
    id: Uuid,
    ssn: String,
    name: String,
    sex: i16,
    birth_date: NaiveDate,
    household_region: String,
    workshop: Option<String>,
    department: Option<String>,
    employer: Option<String>,
}

const PERSON_SELECT: &str = "SELECT p.id, p.ssn, p.name, p.sex, p.birth_date, p.household_region, \
     p.workshop, p.department, e.credit_code AS employer \
     FROM persons p LEFT JOIN employers e ON e.id = p.employer_id";

fn person_from_row(row: &DbRow) -> Result<PersonRow, StoreError> {
    Ok(PersonRow {
        id: row.try_get("id")?,
        ssn: row.try_get("ssn")?,
        name: row.try_get("name")?,
        sex: row.try_get("sex")?,
        birth_date: row.try_get("birth_date")?,
        household_region: row.try_get("household_region")?,
        workshop: row.try_get("workshop")?,
        department: row.try_get("department")?,
        employer: row.try_get("employer")?,
    })
}

async fn person_by_ssn<'e, E>(exec: E, ssn: &str) -> Result<Option<PersonRow>, StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
{
    let sql = format!("{PERSON_SELECT} WHERE p.ssn = $1");
    let row = sqlx::query(&sql).bind(ssn).fetch_optional(exec).await?;
    row.as_ref().map(person_from_row).transpose()
}

struct CardRow {
    id: Uuid,
    number: CardNumber,
    card_id_code: Option<String>,
    person_id: Uuid,
    application_id: Option<Uuid>,
    bank_code: String,
    issue_date: NaiveDate,
    expiry_date: NaiveDate,
    state: CardState,
    version: i64,
}

const CARD_COLUMNS: &str = "id, card_number, card_id_code, person_id, application_id, bank_code, \
     issue_date, expiry_date, ss_status, financial_status, handed_over, first_used, superseded_by, \
     temporary_loss_since, ss_before_loss, financial_before_loss, version";

fn ss_from_code(code: i16) -> Result<SsStatus, StoreError> {
    u8::try_from(code)
        .ok()
        .and_then(SsStatus::from_code)
        .ok_or_else(|| corrupt("ss_status"))
}

fn card_from_row(row: &DbRow) -> Result<CardRow, StoreError> {
    let number: String = row.try_get("card_number")?;
    let superseded_by: Option<String> = row.try_get("superseded_by")?;
    let financial: String = row.try_get("financial_status")?;
    let ss_before: Option<i16> = row.try_get("ss_before_loss")?;
    let fin_before: Option<String> = row.try_get("financial_before_loss")?;
    let state = CardState {
        ss: ss_from_code(row.try_get("ss_status")?)?,
        financial: FinancialStatus::from_name(&financial)
            .ok_or_else(|| corrupt("financial_status"))?,
        handed_over: row.try_get("handed_over")?,
        first_used: row.try_get("first_used")?,
        superseded_by: superseded_by
            .map(|s| CardNumber::parse(&s).map_err(|_| corrupt("superseded_by")))
            .transpose()?,
        temporary_loss_since: row.try_get("temporary_loss_since")?,
        ss_before_loss: ss_before.map(ss_from_code).transpose()?,
        financial_before_loss: fin_before
            .map(|f| FinancialStatus::from_name(&f).ok_or_else(|| corrupt("financial_before_loss")))
            .transpose()?,
    };
    Ok(CardRow {
        id: row.try_get("id")?,
        number: CardNumber::parse(&number).map_err(|_| corrupt("card_number"))?,
        card_id_code: row.try_get("card_id_code")?,
        person_id: row.try_get("person_id")?,
        application_id: row.try_get("application_id")?,
        bank_code: row.try_get("bank_code")?,
        issue_date: row.try_get("issue_date")?,
        expiry_date: row.try_get("expiry_date")?,
        state,
        version: row.try_get("version")?,
    })
}

async fn cards_of<'e, E>(exec: E, person_id: Uuid) -> Result<Vec<CardRow>, StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
{
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM cards WHERE person_id = $1 ORDER BY created_at, card_number"
    );
    let rows = sqlx::query(&sql).bind(person_id).fetch_all(exec).await?;
    rows.iter().map(card_from_row).collect()
}

async fn card_by_number<'e, E>(exec: E, number: &CardNumber) -> Result<CardRow, StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
{
    let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE card_number = $1");
    let row = sqlx::query(&sql)
        .bind(number.as_str())
        .fetch_optional(exec)
        .await?;
    match row {
        Some(row) => card_from_row(&row),
        None => Err(StoreError::NotFound {
            what: "card",
            key: number.to_string(),
        }),
    }
}

fn holder_of(cards: &[CardRow]) -> Holder {
    Holder::from_cards(cards.iter().map(|c| (c.number, c.state.clone())))
}

async fn find_bank(tx: &mut Tx<'_>, key: &str) -> Result<Bank, StoreError> {
    let row = sqlx::query(
        "SELECT code, short_name, name_zh, name_en, service_phone, legacy FROM banks \
         WHERE code = $1 OR upper(short_name) = upper($1)",
    )
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref()
        .map(bank_from_row)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound {
            what: "bank",
            key: key.to_owned(),
        })
}

fn bank_from_row(row: &DbRow) -> Result<Bank, StoreError> {
    Ok(Bank {
        code: row.try_get("code")?,
        short_name: row.try_get("short_name")?,
        name_zh: row.try_get("name_zh")?,
        name_en: row.try_get("name_en")?,
        service_phone: row.try_get("service_phone")?,
        legacy: row.try_get("legacy")?,
    })
}

// ---------------------------------------------------------------------------------------------
// Writes shared by the operations

/// Inserts the person if new (a concurrent insert of the same person is waited for and then
/// read), or updates the given fields if known. Returns the person's id.
async fn upsert_person(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    p: &PersonInput,
    audit: &mut Audit,
) -> Result<Uuid, StoreError> {
    Ok(upsert_person_tracked(tx, ctx, p, audit).await?.0)
}

/// [`upsert_person`], also saying whether the person was registered just now (then they can
/// have no card and no application yet).
async fn upsert_person_tracked(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    p: &PersonInput,
    audit: &mut Audit,
) -> Result<(Uuid, bool), StoreError> {
    let employer_id: Option<Uuid> = match &p.employer {
        Some(code) => Some(
            sqlx::query_scalar("SELECT id FROM employers WHERE credit_code = $1")
                .bind(code.as_str())
                .fetch_optional(&mut **tx)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    what: "employer",
                    key: code.to_string(),
                })?,
        ),
        None => None,
    };
    let ssn = p.id.expose();
    if let Some(existing) = person_by_ssn(&mut **tx, ssn).await? {
        let changed = existing.name != p.name.expose()
            || p.workshop.is_some() && p.workshop != existing.workshop
            || p.department.is_some() && p.department != existing.department
            || employer_id.is_some();
        if changed {
            sqlx::query(
                "UPDATE persons SET name = $1, employer_id = COALESCE($2, employer_id), \
                 workshop = COALESCE($3, workshop), department = COALESCE($4, department), \
                 phone = COALESCE($5, phone), insured_city = COALESCE($6, insured_city), \
                 updated_at = $7, version = version + 1 WHERE id = $8",
            )
            .bind(p.name.expose())
            .bind(employer_id)
            .bind(&p.workshop)
            .bind(&p.department)
            .bind(&p.phone)
            .bind(p.insured_city.map(|r| r.to_string()))
            .bind(ctx.at)
            .bind(existing.id)
            .execute(&mut **tx)
            .await?;
            audit.push(
                "person.update",
                p.id.masked(),
                json!({ "name_changed": existing.name != p.name.expose(), "name": p.name.masked() }),
            );
        }
        return Ok((existing.id, false));
    }
    let id = Uuid::now_v7();
    let inserted = sqlx::query(
        "INSERT INTO persons (id, ssn, name, sex, birth_date, household_region, employer_id, \
         workshop, department, phone, insured_city, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) ON CONFLICT (ssn) DO NOTHING",
    )
    .bind(id)
    .bind(ssn)
    .bind(p.name.expose())
    .bind(if p.id.sex() == sscard_ids::Sex::Male { 1i16 } else { 2i16 })
    .bind(p.id.birth_date())
    .bind(p.id.region().to_string())
    .bind(employer_id)
    .bind(&p.workshop)
    .bind(&p.department)
    .bind(&p.phone)
    .bind(p.insured_city.map(|r| r.to_string()))
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 0 {
        // Registered concurrently by another transaction: start over and take it from there.
        return Err(StoreError::Retry);
    }
    audit.push(
        "person.register",
        p.id.masked(),
        json!({ "name": p.name.masked(), "region": p.id.region().to_string() }),
    );
    Ok((id, true))
}

async fn allocate_card_number(tx: &mut Tx<'_>, cfg: &Config) -> Result<CardNumber, StoreError> {
    let value: i64 = sqlx::query_scalar(
        "UPDATE counters SET value = value + 1 WHERE name = 'card_number' RETURNING value",
    )
    .fetch_one(&mut **tx)
    .await?;
    cfg.card_numbers
        .number(u64::try_from(value).unwrap_or_default())
        .map_err(|e| StoreError::refused(&e))
}

/// What a new card row needs besides its state.
struct NewCard<'a> {
    person_id: Uuid,
    application_id: Option<Uuid>,
    bank_code: &'a str,
}

/// Writes the difference between the loaded cards and the holder after an event: changed cards
/// are updated under their version, produced cards inserted. `touched` cards are updated (and
/// their version bumped) even if their state did not change, so concurrent uses serialise.
#[allow(clippy::too_many_arguments)]
async fn persist(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    cfg: &Config,
    before: &[CardRow],
    after: &Holder,
    effects: &[Effect],
    touched: Option<&CardNumber>,
    new_card: &NewCard<'_>,
    audit: &mut Audit,
) -> Result<(), StoreError> {
    for (number, state) in after.cards() {
        match before.iter().find(|c| &c.number == number) {
            Some(row) if &row.state != state || touched == Some(number) => {
                let updated = sqlx::query(
                    "UPDATE cards SET ss_status = $1, financial_status = $2, handed_over = $3, \
                     first_used = $4, superseded_by = $5, temporary_loss_since = $6, \
                     ss_before_loss = $7, financial_before_loss = $8, updated_at = $9, \
                     last_used_at = CASE WHEN $10 THEN $9 ELSE last_used_at END, \
                     version = version + 1 WHERE id = $11 AND version = $12",
                )
                .bind(i16::from(state.ss.code()))
                .bind(state.financial.as_str())
                .bind(state.handed_over)
                .bind(state.first_used)
                .bind(state.superseded_by.map(|n| n.as_str().to_owned()))
                .bind(state.temporary_loss_since)
                .bind(state.ss_before_loss.map(|s| i16::from(s.code())))
                .bind(state.financial_before_loss.map(FinancialStatus::as_str))
                .bind(ctx.at)
                .bind(touched == Some(number))
                .bind(row.id)
                .bind(row.version)
                .execute(&mut **tx)
                .await?;
                if updated.rows_affected() != 1 {
                    return Err(StoreError::Retry);
                }
            }
            Some(_) => {}
            None => insert_card(tx, ctx, cfg, *number, state, new_card).await?,
        }
    }
    for effect in effects {
        match effect {
            Effect::Produced { card } => {
                audit.push(
                    "card.produce",
                    card.as_str(),
                    json!({ "bank": new_card.bank_code }),
                );
            }
            Effect::Changed { card, event } => {
                let s = after.card(card).expect("changed card exists");
                audit.push(
                    format!("card.{event}"),
                    card.as_str(),
                    json!({ "ss_status": s.ss.as_str(), "financial_status": s.financial.as_str() }),
                );
            }
            Effect::Superseded { card, by } => {
                let s = after.card(card).expect("superseded card exists");
                audit.push(
                    "card.supersede",
                    card.as_str(),
                    json!({ "by": by.as_str(), "financial_status": s.financial.as_str() }),
                );
            }
        }
    }
    Ok(())
}

async fn insert_card(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    cfg: &Config,
    number: CardNumber,
    state: &CardState,
    new_card: &NewCard<'_>,
) -> Result<(), StoreError> {
    let chip: [u8; 8] = rand::random();
    let code = CardIdCode::new(cfg.issuer_region, chip);
    let issue = china_date(ctx.at);
    // Cards are valid for ten years (issue 2021-12-03 → expiry 2031-12-02 in the field).
    let expiry = issue
        .with_year(issue.year() + 10)
        .unwrap_or(issue)
        .pred_opt()
        .unwrap_or(issue);
    sqlx::query(
        "INSERT INTO cards (id, card_number, card_id_code, person_id, application_id, bank_code, \
         generation, issue_date, expiry_date, ss_status, financial_status, handed_over, first_used, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'second', $7, $8, $9, $10, $11, $12, $13, $13)",
    )
    .bind(Uuid::now_v7())
    .bind(number.as_str())
    .bind(code.as_str())
    .bind(new_card.person_id)
    .bind(new_card.application_id)
    .bind(new_card.bank_code)
    .bind(issue)
    .bind(expiry)
    .bind(i16::from(state.ss.code()))
    .bind(state.financial.as_str())
    .bind(state.handed_over)
    .bind(state.first_used)
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn china_date(at: DateTime<Utc>) -> NaiveDate {
    (at + chrono::Duration::hours(8)).date_naive()
}

/// Moves the application that produced `card` along with the card's event.
async fn follow_application(
    tx: &mut Tx<'_>,
    application_id: Option<Uuid>,
    event: &CardEvent,
    ctx: &Ctx,
    audit: &mut Audit,
) -> Result<(), StoreError> {
    let Some(id) = application_id else {
        return Ok(());
    };
    let app_event = match event {
        CardEvent::HandOver => ApplicationEvent::HandOver,
        CardEvent::ActivateSs | CardEvent::FirstUse => ApplicationEvent::Activate,
        CardEvent::Cancel => ApplicationEvent::Cancel,
        _ => return Ok(()),
    };
    step_application(tx, id, app_event, ctx, audit).await
}

// ---------------------------------------------------------------------------------------------
// Operations

pub(crate) async fn register_person(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    person: &PersonInput,
) -> Result<Uuid, StoreError> {
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let id = upsert_person(&mut tx, ctx, person, &mut audit).await?;
        flush_audit(&mut tx, ctx, audit).await?;
        id
    })
}

pub(crate) async fn register_employer(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    credit_code: &CreditCode,
    name: &str,
    region: RegionCode,
) -> Result<Employer, StoreError> {
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let existing: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM employers WHERE credit_code = $1")
                .bind(credit_code.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let id = if let Some(id) = existing {
            sqlx::query("UPDATE employers SET name = $1, region = $2 WHERE id = $3")
                .bind(name)
                .bind(region.to_string())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit.push(
                "employer.update",
                credit_code.as_str(),
                json!({ "name": name }),
            );
            id
        } else {
            let id = Uuid::now_v7();
            sqlx::query("INSERT INTO employers (id, credit_code, name, region, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(credit_code.as_str())
                .bind(name)
                .bind(region.to_string())
                .bind(ctx.at)
                .execute(&mut *tx)
                .await?;
            audit.push(
                "employer.register",
                credit_code.as_str(),
                json!({ "name": name, "region": region.to_string() }),
            );
            id
        };
        flush_audit(&mut tx, ctx, audit).await?;
        Employer {
            id,
            credit_code: credit_code.to_string(),
            name: name.to_owned(),
            region: region.to_string(),
        }
    })
}

pub(crate) async fn apply(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    req: &ApplyRequest,
) -> Result<ApplyOutcome, StoreError> {
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let bank = find_bank(&mut tx, &req.bank).await?;
        if bank.legacy {
            return Err(StoreError::Refused {
                code: "bank.legacy",
                zh: format!(
                    "{}（{}）已不再受理新的社保卡申领，请选择其他合作银行",
                    bank.name_zh, bank.code
                ),
                en: format!(
                    "{} ({}) no longer takes new card applications; choose another partner bank",
                    bank.name_en, bank.code
                ),
            });
        }
        let person_id = upsert_person(&mut tx, ctx, &req.person, &mut audit).await?;
        let cards = cards_of(&mut *tx, person_id).await?;
        let holder = holder_of(&cards);
        let replaces = holder
            .check_application(req.kind)
            .map_err(|e| StoreError::refused(&e))?;
        let outcome = create_application(
            &mut tx, cfg, ctx, req, &bank, person_id, &cards, &holder, replaces, &mut audit,
        )
        .await?;
        flush_audit(&mut tx, ctx, audit).await?;
        outcome
    })
}

/// Records an application and, when instant, produces its card. Shared by `apply` and the
/// card-number based reissue/exchange.
#[allow(clippy::too_many_arguments)]
async fn create_application(
    tx: &mut Tx<'_>,
    cfg: &Config,
    ctx: &Ctx,
    req: &ApplyRequest,
    bank: &Bank,
    person_id: Uuid,
    cards: &[CardRow],
    holder: &Holder,
    replaces: Option<CardNumber>,
    audit: &mut Audit,
) -> Result<ApplyOutcome, StoreError> {
    let application_id = Uuid::now_v7();
    let status = if req.instant {
        ApplicationStatus::Initial
            .apply(ApplicationEvent::IssueInstantly)
            .map_err(|e| StoreError::refused(&e))?
    } else {
        ApplicationStatus::Initial
    };
    sqlx::query(
        "INSERT INTO applications (id, person_id, business_type, source, bank_code, status, \
         replaces_card, outlet, reason, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(application_id)
    .bind(person_id)
    .bind(req.kind.code())
    .bind(match req.source {
        ApplicationSource::Individual => "individual",
        ApplicationSource::Employer => "employer",
    })
    .bind(&bank.code)
    .bind(status.code())
    .bind(replaces.map(|c| c.as_str().to_owned()))
    .bind(&req.outlet)
    .bind(&ctx.reason)
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    audit.push(
        "application.create",
        application_id.to_string(),
        json!({
            "person": req.person.id.masked(),
            "business_type": req.kind.code(),
            "bank": bank.code,
            "instant": req.instant,
            "replaces": replaces.map(|c| c.as_str().to_owned()),
        }),
    );
    let mut card_number = None;
    if req.instant {
        let new = allocate_card_number(tx, cfg).await?;
        let event = match (req.kind, replaces) {
            (BusinessType::Reissue, Some(old)) => HolderEvent::Reissue { old, new },
            (BusinessType::Exchange | BusinessType::WarrantyExchange, Some(old)) => {
                HolderEvent::Exchange { old, new }
            }
            _ => HolderEvent::IssueNew { card: new },
        };
        let (after, effects) = holder.apply(&event).map_err(|e| StoreError::refused(&e))?;
        let new_card = NewCard {
            person_id,
            application_id: Some(application_id),
            bank_code: &bank.code,
        };
        persist(
            tx, ctx, cfg, cards, &after, &effects, None, &new_card, audit,
        )
        .await?;
        sqlx::query("UPDATE applications SET card_number = $1 WHERE id = $2")
            .bind(new.as_str())
            .bind(application_id)
            .execute(&mut **tx)
            .await?;
        card_number = Some(new);
    }
    Ok(ApplyOutcome {
        application_id,
        card_number,
        replaces,
    })
}

pub(crate) async fn card_event(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    number: &CardNumber,
    event: CardEvent,
) -> Result<CardView, StoreError> {
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        apply_card_event(&mut tx, cfg, ctx, number, &event, &mut audit).await?;
        flush_audit(&mut tx, ctx, audit).await?;
        let card = card_by_number(&mut *tx, number).await?;
        view_card(&mut tx, cfg, card).await?
    })
}

/// Applies one card event inside a transaction: the holder's rules, the card rows, and the
/// application that produced the card.
async fn apply_card_event(
    tx: &mut Tx<'_>,
    cfg: &Config,
    ctx: &Ctx,
    number: &CardNumber,
    event: &CardEvent,
    audit: &mut Audit,
) -> Result<(), StoreError> {
    let card = card_by_number(&mut **tx, number).await?;
    let cards = cards_of(&mut **tx, card.person_id).await?;
    let holder = holder_of(&cards);
    let (after, effects) = holder
        .apply(&HolderEvent::Card {
            card: *number,
            event: event.clone(),
        })
        .map_err(|e| StoreError::refused(&e))?;
    let touched = matches!(event, CardEvent::FirstUse).then_some(number);
    let new_card = NewCard {
        person_id: card.person_id,
        application_id: None,
        bank_code: &card.bank_code,
    };
    persist(
        tx, ctx, cfg, &cards, &after, &effects, touched, &new_card, audit,
    )
    .await?;
    follow_application(tx, card.application_id, event, ctx, audit).await
}

pub(crate) async fn replace_card(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    number: &CardNumber,
    kind: BusinessType,
) -> Result<ApplyOutcome, StoreError> {
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let card = card_by_number(&mut *tx, number).await?;
        let cards = cards_of(&mut *tx, card.person_id).await?;
        let holder = holder_of(&cards);
        let replaces = holder
            .check_application(kind)
            .map_err(|e| StoreError::refused(&e))?;
        if replaces != Some(*number) {
            return Err(StoreError::refused(&sscard_core::HolderError::Card {
                card: *number,
                error: if kind == BusinessType::Reissue {
                    sscard_core::CardRuleError::NotFormalLoss
                } else {
                    sscard_core::CardRuleError::AlreadySuperseded
                },
            }));
        }
        let person: PersonRow = sqlx::query(&format!("{PERSON_SELECT} WHERE p.id = $1"))
            .bind(card.person_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from)
            .and_then(|r| person_from_row(&r))?;
        let bank = find_bank(&mut tx, &card.bank_code).await?;
        let id = ResidentId::parse_on(&person.ssn, NaiveDate::MAX).map_err(|_| corrupt("ssn"))?;
        let name = sscard_ids::PersonName::parse(&person.name).map_err(|_| corrupt("name"))?;
        let req = ApplyRequest {
            person: PersonInput::new(id, name),
            bank: bank.code.clone(),
            kind,
            source: ApplicationSource::Individual,
            instant: true,
            outlet: None,
        };
        let outcome = create_application(
            &mut tx,
            cfg,
            ctx,
            &req,
            &bank,
            card.person_id,
            &cards,
            &holder,
            replaces,
            &mut audit,
        )
        .await?;
        flush_audit(&mut tx, ctx, audit).await?;
        outcome
    })
}

pub(crate) async fn overdue_temporary_losses(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
) -> Result<Vec<CardNumber>, StoreError> {
    // Filtered here rather than in SQL so the comparison is exact on both backends.
    let rows =
        sqlx::query("SELECT card_number, temporary_loss_since FROM cards WHERE ss_status = 4")
            .fetch_all(pool)
            .await?;
    let mut due = Vec::new();
    for row in rows {
        let since: Option<DateTime<Utc>> = row.try_get("temporary_loss_since")?;
        if since.is_some_and(|s| s + cfg.policy.temporary_loss_lapse <= ctx.at) {
            let number: String = row.try_get("card_number")?;
            due.push(CardNumber::parse(&number).map_err(|_| corrupt("card_number"))?);
        }
    }
    Ok(due)
}

// ---------------------------------------------------------------------------------------------
// Reads

async fn view_card(
    conn: &mut <DB as sqlx::Database>::Connection,
    cfg: &Config,
    card: CardRow,
) -> Result<CardView, StoreError> {
    let row = sqlx::query("SELECT ssn, name FROM persons WHERE id = $1")
        .bind(card.person_id)
        .fetch_one(&mut *conn)
        .await?;
    let ssn: String = row.try_get("ssn")?;
    let name: String = row.try_get("name")?;
    Ok(card_view_of(cfg, card, &ssn, &name))
}

fn mask_name(name: &str) -> String {
    sscard_ids::PersonName::parse(name).map_or_else(|_| mask_middle(name, 1, 0), |n| n.masked())
}

fn card_view_of(cfg: &Config, card: CardRow, ssn: &str, name: &str) -> CardView {
    CardView {
        card_number: card.number,
        card_id_code: card.card_id_code,
        holder_id: mask_middle(ssn, 4, 4),
        holder_name: mask_name(name),
        ss_status: card.state.ss,
        ss_status_code: card.state.ss.code(),
        financial_status: card.state.financial,
        superseded_by: card.state.superseded_by,
        handed_over: card.state.handed_over,
        first_used: card.state.first_used,
        bank_code: card.bank_code,
        issue_date: card.issue_date,
        expiry_date: card.expiry_date,
        temporary_loss_since: card.state.temporary_loss_since,
        temporary_loss_lapses_at: card.state.lapse_due(&cfg.policy),
        application_id: card.application_id,
    }
}

pub(crate) async fn card_view(
    pool: &Pool,
    cfg: &Config,
    number: &CardNumber,
) -> Result<CardView, StoreError> {
    let mut conn = pool.acquire().await?;
    let card = card_by_number(&mut *conn, number).await?;
    view_card(&mut conn, cfg, card).await
}

pub(crate) async fn person_view(
    pool: &Pool,
    cfg: &Config,
    id: &ResidentId,
) -> Result<PersonView, StoreError> {
    let person = person_by_ssn(pool, id.expose())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "person",
            key: id.masked(),
        })?;
    let cards = cards_of(pool, person.id).await?;
    let holder = holder_of(&cards);
    let live_card = holder.live_card().copied();
    let mut card_views: Vec<CardView> = cards
        .into_iter()
        .map(|c| card_view_of(cfg, c, &person.ssn, &person.name))
        .collect();
    card_views.reverse();
    let rows = sqlx::query(
        "SELECT id, business_type, source, status, bank_code, card_number, replaces_card, created_at \
         FROM applications WHERE person_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(person.id)
    .fetch_all(pool)
    .await?;
    let mut applications = Vec::with_capacity(rows.len());
    for row in &rows {
        let kind: String = row.try_get("business_type")?;
        let status: String = row.try_get("status")?;
        applications.push(ApplicationView {
            id: row.try_get("id")?,
            business_type: BusinessType::parse(&kind).ok_or_else(|| corrupt("business_type"))?,
            source: row.try_get("source")?,
            status: ApplicationStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
            bank_code: row.try_get("bank_code")?,
            card_number: row.try_get("card_number")?,
            replaces_card: row.try_get("replaces_card")?,
            created_at: row.try_get("created_at")?,
        });
    }
    Ok(PersonView {
        id: person.id,
        ssn: mask_middle(&person.ssn, 4, 4),
        name: mask_name(&person.name),
        sex: if person.sex == 1 {
            "male".into()
        } else {
            "female".into()
        },
        birth_date: person.birth_date,
        household_region: person.household_region,
        workshop: person.workshop,
        department: person.department,
        employer: person.employer,
        live_card,
        cards: card_views,
        applications,
    })
}

pub(crate) async fn banks(pool: &Pool, _cfg: &Config) -> Result<Vec<Bank>, StoreError> {
    let rows = sqlx::query(
        "SELECT code, short_name, name_zh, name_en, service_phone, legacy FROM banks ORDER BY legacy, code",
    )
    .fetch_all(pool)
    .await?;
    rows.iter().map(bank_from_row).collect()
}

fn audit_from_row(row: &DbRow) -> Result<AuditEvent, StoreError> {
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

const AUDIT_COLUMNS: &str =
    "seq, id, at_us, actor, action, subject, reason, payload, prev_hash, hash";

pub(crate) async fn verify_audit(pool: &Pool, _cfg: &Config) -> Result<AuditReport, StoreError> {
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    let head_seq: i64 = head.try_get("seq")?;
    let head_hash: String = head.try_get("hash")?;
    let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_events ORDER BY seq");
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    let events = rows
        .iter()
        .map(audit_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(crate::audit::verify(&events, (head_seq, &head_hash)))
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

// ---------------------------------------------------------------------------------------------
// Staff, sessions, tokens, idempotency

const STAFF_SELECT: &str = "SELECT s.id, s.username, s.display_name, s.role, s.outlet, s.employer_id, \
     s.bank_code, s.password_hash, e.credit_code AS employer_credit_code \
     FROM staff s LEFT JOIN employers e ON e.id = s.employer_id";

fn staff_from_row(row: &DbRow) -> Result<(crate::StaffAccount, String), StoreError> {
    let role: String = row.try_get("role")?;
    Ok((
        crate::StaffAccount {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            role: sscard_core::Role::parse(&role).ok_or_else(|| corrupt("role"))?,
            outlet: row.try_get("outlet")?,
            employer_id: row.try_get("employer_id")?,
            employer_credit_code: row.try_get("employer_credit_code")?,
            bank_code: row.try_get("bank_code")?,
        },
        row.try_get("password_hash")?,
    ))
}

pub(crate) async fn create_staff(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    staff: &crate::NewStaff,
) -> Result<crate::StaffAccount, StoreError> {
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let employer_id: Option<Uuid> = match &staff.employer {
            Some(code) => Some(
                sqlx::query_scalar("SELECT id FROM employers WHERE credit_code = $1")
                    .bind(code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound {
                        what: "employer",
                        key: code.to_string(),
                    })?,
            ),
            None => None,
        };
        if let Some(outlet) = &staff.outlet {
            let known: Option<String> =
                sqlx::query_scalar("SELECT code FROM outlets WHERE code = $1")
                    .bind(outlet)
                    .fetch_optional(&mut *tx)
                    .await?;
            if known.is_none() {
                return Err(StoreError::NotFound {
                    what: "outlet",
                    key: outlet.clone(),
                });
            }
        }
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO staff (id, username, display_name, role, outlet, employer_id, bank_code, \
             password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(&staff.username)
        .bind(&staff.display_name)
        .bind(staff.role.as_str())
        .bind(&staff.outlet)
        .bind(employer_id)
        .bind(&staff.bank_code)
        .bind(&staff.password_hash)
        .bind(ctx.at)
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(crate::Rule::ValidCode) => StoreError::Refused {
                code: "staff.employer_required",
                zh: "单位经办人账号必须指定所属单位".into(),
                en: "an employer agent account needs its employer".into(),
            },
            StoreError::Database { detail }
                if detail.contains("staff") && detail.contains("username") =>
            {
                StoreError::Refused {
                    code: "staff.username_taken",
                    zh: format!("用户名“{}”已被使用", staff.username),
                    en: format!("user name \"{}\" is taken", staff.username),
                }
            }
            other => other,
        })?;
        audit.push(
            "staff.create",
            staff.username.clone(),
            json!({ "role": staff.role.as_str(), "outlet": staff.outlet, "bank": staff.bank_code }),
        );
        flush_audit(&mut tx, ctx, audit).await?;
        let sql = format!("{STAFF_SELECT} WHERE s.id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_one(&mut *tx).await?;
        staff_from_row(&row)?.0
    })
}

pub(crate) async fn staff_for_login(
    pool: &Pool,
    _cfg: &Config,
    username: &str,
) -> Result<Option<(crate::StaffAccount, String)>, StoreError> {
    let sql = format!("{STAFF_SELECT} WHERE s.username = $1 AND s.active");
    let row = sqlx::query(&sql)
        .bind(username)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(staff_from_row).transpose()
}

pub(crate) async fn staff_list(
    pool: &Pool,
    _cfg: &Config,
) -> Result<Vec<crate::StaffAccount>, StoreError> {
    let sql = format!("{STAFF_SELECT} ORDER BY s.role, s.username");
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    rows.iter()
        .map(|r| staff_from_row(r).map(|(s, _)| s))
        .collect()
}

pub(crate) async fn create_session(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    staff: &crate::StaffAccount,
    token_hash: &str,
    csrf: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        sqlx::query(
            "INSERT INTO sessions (token_hash, staff_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(staff.id)
        .bind(csrf)
        .bind(ctx.at)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        audit.push(
            "auth.login",
            staff.username.clone(),
            json!({ "role": staff.role.as_str() }),
        );
        flush_audit(&mut tx, ctx, audit).await?;
    })
}

pub(crate) async fn session(
    pool: &Pool,
    _cfg: &Config,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(crate::StaffAccount, String)>, StoreError> {
    let row = sqlx::query("SELECT staff_id, csrf, expires_at FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let expires: DateTime<Utc> = row.try_get("expires_at")?;
    if expires <= now {
        return Ok(None);
    }
    let staff_id: Uuid = row.try_get("staff_id")?;
    let csrf: String = row.try_get("csrf")?;
    let sql = format!("{STAFF_SELECT} WHERE s.id = $1 AND s.active");
    let staff = sqlx::query(&sql)
        .bind(staff_id)
        .fetch_optional(pool)
        .await?;
    Ok(staff
        .as_ref()
        .map(staff_from_row)
        .transpose()?
        .map(|(s, _)| (s, csrf)))
}

pub(crate) async fn end_session(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    token_hash: &str,
) -> Result<(), StoreError> {
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let gone = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        if gone.rows_affected() > 0 {
            audit.push("auth.logout", ctx.actor.clone(), json!({}));
        }
        flush_audit(&mut tx, ctx, audit).await?;
    })
}

pub(crate) async fn create_api_token(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    username: &str,
    name: &str,
    token_hash: &str,
) -> Result<crate::StaffAccount, StoreError> {
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let sql = format!("{STAFF_SELECT} WHERE s.username = $1 AND s.active");
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
        let (staff, _) = row
            .as_ref()
            .map(staff_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound {
                what: "staff",
                key: username.to_owned(),
            })?;
        sqlx::query("INSERT INTO api_tokens (token_hash, staff_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(staff.id)
            .bind(name)
            .bind(ctx.at)
            .execute(&mut *tx)
            .await?;
        audit.push(
            "auth.token_create",
            username.to_owned(),
            json!({ "name": name }),
        );
        flush_audit(&mut tx, ctx, audit).await?;
        staff
    })
}

pub(crate) async fn token_staff(
    pool: &Pool,
    _cfg: &Config,
    token_hash: &str,
) -> Result<Option<crate::StaffAccount>, StoreError> {
    let sql = format!(
        "{STAFF_SELECT} JOIN api_tokens t ON t.staff_id = s.id WHERE t.token_hash = $1 AND NOT t.revoked AND s.active"
    );
    let row = sqlx::query(&sql)
        .bind(token_hash)
        .fetch_optional(pool)
        .await?;
    Ok(row
        .as_ref()
        .map(staff_from_row)
        .transpose()?
        .map(|(s, _)| s))
}

pub(crate) async fn idempotent_response(
    pool: &Pool,
    _cfg: &Config,
    staff: Uuid,
    key: &str,
) -> Result<Option<crate::IdempotentResponse>, StoreError> {
    let row = sqlx::query(
        "SELECT request_hash, status, body FROM idempotency_keys WHERE staff_id = $1 AND key = $2",
    )
    .bind(staff)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let status: i16 = row.try_get("status")?;
    Ok(Some(crate::IdempotentResponse {
        request_hash: row.try_get("request_hash")?,
        status: u16::try_from(status).map_err(|_| corrupt("status"))?,
        body: row.try_get("body")?,
    }))
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn save_idempotent_response(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    staff: Uuid,
    key: &str,
    method: &str,
    path: &str,
    response: &crate::IdempotentResponse,
) -> Result<(), StoreError> {
    transaction!(pool, |tx| {
        sqlx::query(
            "INSERT INTO idempotency_keys (staff_id, key, method, path, request_hash, status, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (staff_id, key) DO NOTHING",
        )
        .bind(staff)
        .bind(key)
        .bind(method)
        .bind(path)
        .bind(&response.request_hash)
        .bind(i16::try_from(response.status).unwrap_or(500))
        .bind(&response.body)
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;
    })
}

pub(crate) async fn record_audit(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    action: &str,
    subject: &str,
    payload: serde_json::Value,
) -> Result<(), StoreError> {
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        audit.push(action, subject, payload.clone());
        flush_audit(&mut tx, ctx, audit).await?;
    })
}

pub(crate) async fn upsert_outlet(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    o: &crate::Outlet,
) -> Result<(), StoreError> {
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        sqlx::query(
            "INSERT INTO outlets (code, name_zh, name_en, region, kind, employer_id) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (code) DO UPDATE SET name_zh = $2, name_en = $3, region = $4, kind = $5, employer_id = $6",
        )
        .bind(&o.code)
        .bind(&o.name_zh)
        .bind(&o.name_en)
        .bind(&o.region)
        .bind(&o.kind)
        .bind(o.employer_id)
        .execute(&mut *tx)
        .await?;
        audit.push(
            "outlet.upsert",
            o.code.clone(),
            json!({ "name": o.name_zh, "kind": o.kind }),
        );
        flush_audit(&mut tx, ctx, audit).await?;
    })
}

pub(crate) async fn outlets(pool: &Pool, _cfg: &Config) -> Result<Vec<crate::Outlet>, StoreError> {
    let rows = sqlx::query(
        "SELECT code, name_zh, name_en, region, kind, employer_id FROM outlets ORDER BY code",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(crate::Outlet {
                code: r.try_get("code")?,
                name_zh: r.try_get("name_zh")?,
                name_en: r.try_get("name_en")?,
                region: r.try_get("region")?,
                kind: r.try_get("kind")?,
                employer_id: r.try_get("employer_id")?,
            })
        })
        .collect()
}

pub(crate) async fn register_people(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    people: &[PersonInput],
) -> Result<usize, StoreError> {
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        for p in people {
            upsert_person(&mut tx, ctx, p, &mut audit).await?;
        }
        flush_audit(&mut tx, ctx, audit).await?;
        people.len()
    })
}

pub(crate) async fn person_view_by_id(
    pool: &Pool,
    cfg: &Config,
    id: Uuid,
) -> Result<PersonView, StoreError> {
    let ssn = person_ssn(pool, cfg, id).await?;
    person_view(pool, cfg, &ssn).await
}

pub(crate) async fn person_ssn(
    pool: &Pool,
    _cfg: &Config,
    id: Uuid,
) -> Result<ResidentId, StoreError> {
    let ssn: Option<String> = sqlx::query_scalar("SELECT ssn FROM persons WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let ssn = ssn.ok_or_else(|| StoreError::NotFound {
        what: "person",
        key: id.to_string(),
    })?;
    ResidentId::parse_on(&ssn, NaiveDate::MAX).map_err(|_| corrupt("ssn"))
}

pub(crate) async fn card_holder(
    pool: &Pool,
    _cfg: &Config,
    number: &CardNumber,
) -> Result<(ResidentId, sscard_ids::PersonName), StoreError> {
    let row = sqlx::query(
        "SELECT p.ssn, p.name FROM cards c JOIN persons p ON p.id = c.person_id WHERE c.card_number = $1",
    )
    .bind(number.as_str())
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| StoreError::NotFound { what: "card", key: number.to_string() })?;
    let ssn: String = row.try_get("ssn")?;
    let name: String = row.try_get("name")?;
    Ok((
        ResidentId::parse_on(&ssn, NaiveDate::MAX).map_err(|_| corrupt("ssn"))?,
        sscard_ids::PersonName::parse(&name).map_err(|_| corrupt("name"))?,
    ))
}

pub(crate) async fn employer(
    pool: &Pool,
    _cfg: &Config,
    code: &CreditCode,
) -> Result<Employer, StoreError> {
    let row =
        sqlx::query("SELECT id, credit_code, name, region FROM employers WHERE credit_code = $1")
            .bind(code.as_str())
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "employer",
                key: code.to_string(),
            })?;
    Ok(Employer {
        id: row.try_get("id")?,
        credit_code: row.try_get("credit_code")?,
        name: row.try_get("name")?,
        region: row.try_get("region")?,
    })
}

// ---------------------------------------------------------------------------------------------
// Employer bulk applications

/// The chain order of a batch row's steps.
const ROW_STEPS: [&str; 9] = [
    "applied",
    "bank_sent",
    "bank_ok",
    "bank_failed",
    "factory_sent",
    "made",
    "factory_failed",
    "personalised",
    "received",
];

fn issue(row: usize, column: &str, e: &StoreError) -> RowIssue {
    let (code, message, message_en) = match e {
        StoreError::Refused { code, zh, en } => ((*code).to_owned(), zh.clone(), en.clone()),
        other => (
            "row.refused".to_owned(),
            other.to_string(),
            other.to_string(),
        ),
    };
    RowIssue {
        row,
        column: column.to_owned(),
        code,
        message,
        message_en,
    }
}

/// The employer's batch still taking uploads, started when there is none.
async fn open_batch(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    employer: &CreditCode,
    audit: &mut Audit,
) -> Result<(Uuid, i64), StoreError> {
    let employer_id: Uuid = sqlx::query_scalar("SELECT id FROM employers WHERE credit_code = $1")
        .bind(employer.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "employer",
            key: employer.to_string(),
        })?;
    let open = sqlx::query("SELECT id, number FROM batches WHERE employer_id = $1 AND status = 10")
        .bind(employer_id)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = open {
        return Ok((row.try_get("id")?, row.try_get("number")?));
    }
    let number: i64 = sqlx::query_scalar(
        "UPDATE counters SET value = value + 1 WHERE name = 'batch' RETURNING value",
    )
    .fetch_one(&mut **tx)
    .await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO batches (id, number, employer_id, status, created_at, updated_at) \
         VALUES ($1, $2, $3, 10, $4, $4)",
    )
    .bind(id)
    .bind(number)
    .bind(employer_id)
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    audit.push(
        "batch.create",
        number.to_string(),
        json!({ "employer": employer.as_str() }),
    );
    Ok((id, number))
}

/// What became of one row of an upload.
enum RowOutcome {
    Accepted,
    Already,
    Rejected(RowIssue),
}

fn open_application_issue(r: &crate::BatchRowInput) -> RowIssue {
    RowIssue {
        row: r.row,
        column: "身份证号码".into(),
        code: "application.open".into(),
        message: format!(
            "{} 已有在办的社保卡申领，不能重复申领",
            r.person.id.masked()
        ),
        message_en: format!(
            "{} already has an application in progress; it is not applied again",
            r.person.id.masked()
        ),
    }
}

#[allow(clippy::too_many_arguments)]
async fn import_row(
    tx: &mut Tx<'_>,
    cfg: &Config,
    ctx: &Ctx,
    (batch_id, upload_id): (Uuid, Uuid),
    r: &crate::BatchRowInput,
    bank: &Bank,
    audit: &mut Audit,
) -> Result<RowOutcome, StoreError> {
    if bank.legacy {
        return Ok(RowOutcome::Rejected(RowIssue {
            row: r.row,
            column: "合作银行".into(),
            code: "bank.legacy".into(),
            message: format!(
                "{}（{}）已不再受理新的社保卡申领，请选择其他合作银行",
                bank.name_zh, bank.code
            ),
            message_en: format!(
                "{} ({}) no longer takes new card applications; choose another partner bank",
                bank.name_en, bank.code
            ),
        }));
    }
    let (person_id, new_person) = upsert_person_tracked(tx, ctx, &r.person, audit).await?;
    if new_person {
        // Registered just now: no card, no application; apply straight away.
        return apply_row(
            tx,
            cfg,
            ctx,
            (batch_id, upload_id),
            r,
            bank,
            person_id,
            &[],
            audit,
        )
        .await;
    }
    let open_app = sqlx::query(
        "SELECT br.batch_id FROM applications a LEFT JOIN batch_rows br ON br.application_id = a.id \
         WHERE a.person_id = $1 AND a.status IN ('00', '01', '02')",
    )
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await?;
    let in_batch: Option<Option<Uuid>> = match &open_app {
        Some(app) => Some(app.try_get("batch_id")?),
        None => None,
    };
    if in_batch == Some(Some(batch_id)) {
        if let Some(photo) = &r.photo {
            save_photo(tx, ctx, person_id, photo).await?;
        }
        return Ok(RowOutcome::Already);
    }
    let cards = cards_of(&mut **tx, person_id).await?;
    let holder = holder_of(&cards);
    if let Err(e) = holder.check_application(BusinessType::New) {
        return Ok(RowOutcome::Rejected(issue(
            r.row,
            "身份证号码",
            &StoreError::refused(&e),
        )));
    }
    if in_batch.is_some() {
        return Ok(RowOutcome::Rejected(open_application_issue(r)));
    }
    apply_row(
        tx,
        cfg,
        ctx,
        (batch_id, upload_id),
        r,
        bank,
        person_id,
        &cards,
        audit,
    )
    .await
}

/// Records a new application for a person who may apply, with its batch row and photo.
#[allow(clippy::too_many_arguments)]
async fn apply_row(
    tx: &mut Tx<'_>,
    cfg: &Config,
    ctx: &Ctx,
    (batch_id, upload_id): (Uuid, Uuid),
    r: &crate::BatchRowInput,
    bank: &Bank,
    person_id: Uuid,
    cards: &[CardRow],
    audit: &mut Audit,
) -> Result<RowOutcome, StoreError> {
    let req = ApplyRequest {
        person: r.person.clone(),
        bank: bank.code.clone(),
        kind: BusinessType::New,
        source: ApplicationSource::Employer,
        instant: false,
        outlet: None,
    };
    let outcome = create_application(
        tx,
        cfg,
        ctx,
        &req,
        bank,
        person_id,
        cards,
        &holder_of(cards),
        None,
        audit,
    )
    .await?;
    sqlx::query(
        "INSERT INTO batch_rows (id, batch_id, person_id, application_id, upload_id, source_row, \
         bank_code, step, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'applied', $8)",
    )
    .bind(Uuid::now_v7())
    .bind(batch_id)
    .bind(person_id)
    .bind(outcome.application_id)
    .bind(upload_id)
    .bind(r.row as i32)
    .bind(&bank.code)
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    if let Some(photo) = &r.photo {
        save_photo(tx, ctx, person_id, photo).await?;
    }
    Ok(RowOutcome::Accepted)
}

pub(crate) async fn import_batch(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    upload: &BatchUploadInput,
) -> Result<BatchImportOutcome, StoreError> {
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let (batch_id, number) = open_batch(&mut tx, ctx, &upload.employer, &mut audit).await?;
        let upload_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO batch_uploads (id, batch_id, file_name, file_sha256, rows_total, accepted, \
             already, problems, actor, created_at) VALUES ($1, $2, $3, $4, $5, 0, 0, '[]', $6, $7)",
        )
        .bind(upload_id)
        .bind(batch_id)
        .bind(&upload.file_name)
        .bind(&upload.file_sha256)
        .bind(upload.rows_total as i32)
        .bind(&ctx.actor)
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;
        let mut rejected = upload.problems.clone();
        let (mut accepted, mut already) = (0usize, 0usize);
        let mut banks: std::collections::HashMap<String, Bank> = std::collections::HashMap::new();
        for r in &upload.rows {
            if !banks.contains_key(&r.bank) {
                let b = find_bank(&mut tx, &r.bank).await?;
                banks.insert(r.bank.clone(), b);
            }
            let bank = &banks[&r.bank];
            match import_row(
                &mut tx,
                cfg,
                ctx,
                (batch_id, upload_id),
                r,
                bank,
                &mut audit,
            )
            .await?
            {
                RowOutcome::Accepted => accepted += 1,
                RowOutcome::Already => already += 1,
                RowOutcome::Rejected(issue) => rejected.push(issue),
            }
        }
        rejected.sort_by_key(|p| p.row);
        let problems = serde_json::to_string(&rejected).map_err(|e| StoreError::Database {
            detail: e.to_string(),
        })?;
        sqlx::query(
            "UPDATE batch_uploads SET accepted = $1, already = $2, problems = $3 WHERE id = $4",
        )
        .bind(accepted as i32)
        .bind(already as i32)
        .bind(problems)
        .bind(upload_id)
        .execute(&mut *tx)
        .await?;
        audit.push(
            "batch.upload",
            number.to_string(),
            json!({
                "upload": upload_id.to_string(),
                "file_sha256": upload.file_sha256,
                "rows": upload.rows_total,
                "accepted": accepted,
                "already": already,
                "rejected": rejected.len(),
            }),
        );
        flush_audit(&mut tx, ctx, audit).await?;
        BatchImportOutcome {
            batch_id: number,
            upload_id,
            accepted,
            already,
            rejected,
        }
    })
}

async fn save_photo(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    person_id: Uuid,
    photo: &crate::PhotoInput,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO photos (person_id, sha256, jpeg, chip_jpeg, quality, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (person_id) DO UPDATE SET sha256 = excluded.sha256, jpeg = excluded.jpeg, \
         chip_jpeg = excluded.chip_jpeg, quality = excluded.quality, updated_at = excluded.updated_at",
    )
    .bind(person_id)
    .bind(&photo.sha256)
    .bind(&photo.jpeg)
    .bind(&photo.chip_jpeg)
    .bind(i32::from(photo.quality))
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const BATCH_SELECT: &str = "SELECT b.id, b.number, b.status, b.created_at, e.credit_code, e.name AS employer_name, \
     (SELECT COUNT(*) FROM batch_rows r WHERE r.batch_id = b.id) AS rows_n, \
     (SELECT COUNT(*) FROM batch_rows r WHERE r.batch_id = b.id AND r.card_number IS NOT NULL) AS cards_n \
     FROM batches b JOIN employers e ON e.id = b.employer_id";

fn batch_from_row(row: &DbRow) -> Result<BatchSummary, StoreError> {
    let status: i32 = row.try_get("status")?;
    let status = u8::try_from(status).map_err(|_| corrupt("batch status"))?;
    let words =
        sscard_core::BatchStatus::from_code(status).ok_or_else(|| corrupt("batch status"))?;
    let rows: i64 = row.try_get("rows_n")?;
    let cards: i64 = row.try_get("cards_n")?;
    Ok(BatchSummary {
        id: row.try_get("number")?,
        employer: row.try_get("credit_code")?,
        employer_name: row.try_get("employer_name")?,
        status,
        status_zh: words.zh(),
        rows: rows as usize,
        cards: cards as usize,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) async fn batches(
    pool: &Pool,
    _cfg: &Config,
    employer: Option<&CreditCode>,
) -> Result<Vec<BatchSummary>, StoreError> {
    let rows = sqlx::query(&format!(
        "{BATCH_SELECT} WHERE ($1 IS NULL OR e.credit_code = $1) ORDER BY b.number DESC"
    ))
    .bind(employer.map(|c| c.as_str().to_owned()))
    .fetch_all(pool)
    .await?;
    rows.iter().map(batch_from_row).collect()
}

pub(crate) async fn batch_detail(
    pool: &Pool,
    _cfg: &Config,
    number: i64,
) -> Result<BatchDetail, StoreError> {
    let row = sqlx::query(&format!("{BATCH_SELECT} WHERE b.number = $1"))
        .bind(number)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "batch",
            key: number.to_string(),
        })?;
    let summary = batch_from_row(&row)?;
    let batch_id: Uuid = row.try_get("id")?;
    let counts =
        sqlx::query("SELECT step, COUNT(*) AS n FROM batch_rows WHERE batch_id = $1 GROUP BY step")
            .bind(batch_id)
            .fetch_all(pool)
            .await?;
    let mut steps: Vec<(String, usize)> = Vec::new();
    for name in ROW_STEPS {
        for c in &counts {
            let step: String = c.try_get("step")?;
            if step == name {
                let n: i64 = c.try_get("n")?;
                steps.push((step, n as usize));
            }
        }
    }
    let photos: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM batch_rows r JOIN photos p ON p.person_id = r.person_id WHERE r.batch_id = $1",
    )
    .bind(batch_id)
    .fetch_one(pool)
    .await?;
    let ups = sqlx::query(
        "SELECT id, file_name, rows_total, accepted, already, problems, actor, created_at FROM batch_uploads \
         WHERE batch_id = $1 ORDER BY created_at, id",
    )
    .bind(batch_id)
    .fetch_all(pool)
    .await?;
    let mut uploads = Vec::with_capacity(ups.len());
    for u in &ups {
        let problems: String = u.try_get("problems")?;
        let problems: Vec<RowIssue> =
            serde_json::from_str(&problems).map_err(|_| corrupt("upload problems"))?;
        let rows_total: i32 = u.try_get("rows_total")?;
        let accepted: i32 = u.try_get("accepted")?;
        let already: i32 = u.try_get("already")?;
        uploads.push(UploadSummary {
            id: u.try_get("id")?,
            file_name: u.try_get("file_name")?,
            rows_total: rows_total as usize,
            accepted: accepted as usize,
            already: already as usize,
            rejected: problems.len(),
            actor: u.try_get("actor")?,
            created_at: u.try_get("created_at")?,
        });
    }
    Ok(BatchDetail {
        summary,
        steps,
        photos: photos as usize,
        uploads,
    })
}

pub(crate) async fn upload_problems(
    pool: &Pool,
    _cfg: &Config,
    upload: Uuid,
) -> Result<(i64, Vec<RowIssue>), StoreError> {
    let row = sqlx::query(
        "SELECT b.number, u.problems FROM batch_uploads u JOIN batches b ON b.id = u.batch_id WHERE u.id = $1",
    )
    .bind(upload)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| StoreError::NotFound { what: "upload", key: upload.to_string() })?;
    let problems: String = row.try_get("problems")?;
    Ok((
        row.try_get("number")?,
        serde_json::from_str(&problems).map_err(|_| corrupt("upload problems"))?,
    ))
}

// ---------------------------------------------------------------------------------------------
// The production chain: bank → factory → personalisation → outlet

/// A batch's id and status by number, locked for the transaction's writes.
async fn batch_head(
    tx: &mut Tx<'_>,
    number: i64,
) -> Result<(Uuid, sscard_core::BatchStatus, i64), StoreError> {
    let row = sqlx::query("SELECT id, status, version FROM batches WHERE number = $1")
        .bind(number)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "batch",
            key: number.to_string(),
        })?;
    let status: i32 = row.try_get("status")?;
    let status = u8::try_from(status)
        .ok()
        .and_then(sscard_core::BatchStatus::from_code)
        .ok_or_else(|| corrupt("batch status"))?;
    Ok((row.try_get("id")?, status, row.try_get("version")?))
}

/// Moves a batch through `events` in order (each must be allowed), under its version.
async fn move_batch(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    number: i64,
    events: &[sscard_core::BatchEvent],
    audit: &mut Audit,
) -> Result<sscard_core::BatchStatus, StoreError> {
    let (id, mut status, version) = batch_head(tx, number).await?;
    let before = status;
    for event in events {
        status = status.apply(*event).map_err(|e| StoreError::refused(&e))?;
    }
    if status != before {
        let moved = sqlx::query("UPDATE batches SET status = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4")
            .bind(i32::from(status.code()))
            .bind(ctx.at)
            .bind(id)
            .bind(version)
            .execute(&mut **tx)
            .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Retry);
        }
        audit.push(
            "batch.status",
            number.to_string(),
            json!({ "from": before.code(), "to": status.code() }),
        );
    }
    Ok(status)
}

async fn step_application(
    tx: &mut Tx<'_>,
    id: Uuid,
    event: ApplicationEvent,
    ctx: &Ctx,
    audit: &mut Audit,
) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT status, version FROM applications WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    let status: String = row.try_get("status")?;
    let version: i64 = row.try_get("version")?;
    let status = ApplicationStatus::parse(&status).ok_or_else(|| corrupt("application status"))?;
    // An application that is already further along (or final) simply stays where it is.
    let Ok(next) = status.apply(event) else {
        return Ok(());
    };
    let updated = sqlx::query(
        "UPDATE applications SET status = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4",
    )
    .bind(next.code())
    .bind(ctx.at)
    .bind(id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(StoreError::Retry);
    }
    audit.push(
        format!("application.{}", event.as_str()),
        id.to_string(),
        json!({ "status": next.as_str() }),
    );
    Ok(())
}

/// The production columns of batch rows; `{photos}` is the photo columns or NULLs.
const PRODUCTION_SELECT: &str = "SELECT r.id, r.step, r.failure, r.account_number, r.card_number, r.chip_serial, \
     r.bank_code, r.application_id, r.person_id, p.ssn, p.name, p.sex, p.birth_date, p.phone, p.workshop, \
     p.department, e.credit_code, e.name AS employer_name, c.card_id_code, c.issue_date, c.expiry_date, {photos} \
     FROM batch_rows r JOIN batches b ON b.id = r.batch_id JOIN persons p ON p.id = r.person_id \
     JOIN employers e ON e.id = b.employer_id LEFT JOIN cards c ON c.card_number = r.card_number {join} \
     WHERE b.number = $1 AND r.step IN ({steps}) ORDER BY r.bank_code, p.ssn";

fn production_row(row: &DbRow) -> Result<crate::ProductionRow, StoreError> {
    Ok(crate::ProductionRow {
        row_id: row.try_get("id")?,
        person_id: row.try_get("person_id")?,
        application_id: row.try_get("application_id")?,
        ssn: row.try_get("ssn")?,
        name: row.try_get("name")?,
        sex: row.try_get("sex")?,
        birth_date: row.try_get("birth_date")?,
        phone: row.try_get("phone")?,
        workshop: row.try_get("workshop")?,
        department: row.try_get("department")?,
        bank_code: row.try_get("bank_code")?,
        employer_code: row.try_get("credit_code")?,
        employer_name: row.try_get("employer_name")?,
        step: row.try_get("step")?,
        failure: row.try_get("failure")?,
        account_number: row.try_get("account_number")?,
        card_number: row.try_get("card_number")?,
        chip_serial: row.try_get("chip_serial")?,
        card_id_code: row.try_get("card_id_code")?,
        issue_date: row.try_get("issue_date")?,
        expiry_date: row.try_get("expiry_date")?,
        photo: row.try_get("jpeg")?,
        chip_photo: row.try_get("chip_jpeg")?,
    })
}

async fn rows_at<'e, E>(
    exec: E,
    number: i64,
    steps: &[&str],
) -> Result<Vec<crate::ProductionRow>, StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
{
    rows_with(exec, number, steps, false).await
}

/// Rows of a batch at `steps` (names from [`ROW_STEPS`] only), with their photos if asked.
async fn rows_with<'e, E>(
    exec: E,
    number: i64,
    steps: &[&str],
    photos: bool,
) -> Result<Vec<crate::ProductionRow>, StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
{
    // Step names go into the SQL text, so only the known ones are accepted.
    let known: Vec<&str> = steps
        .iter()
        .copied()
        .filter(|s| ROW_STEPS.contains(s))
        .collect();
    if known.is_empty() {
        return Ok(Vec::new());
    }
    let list = known
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let (cols, join) = if photos {
        (
            "ph.jpeg, ph.chip_jpeg",
            "LEFT JOIN photos ph ON ph.person_id = r.person_id",
        )
    } else {
        ("NULL AS jpeg, NULL AS chip_jpeg", "")
    };
    let sql = PRODUCTION_SELECT
        .replace("{photos}", cols)
        .replace("{join}", join)
        .replace("{steps}", &list);
    let rows = sqlx::query(&sql).bind(number).fetch_all(exec).await?;
    rows.iter().map(production_row).collect()
}

pub(crate) async fn production_rows(
    pool: &Pool,
    _cfg: &Config,
    number: i64,
    steps: &[&str],
) -> Result<Vec<crate::ProductionRow>, StoreError> {
    rows_with(pool, number, steps, true).await
}

async fn set_step(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    row_id: Uuid,
    step: &str,
    failure: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE batch_rows SET step = $1, failure = $2, updated_at = $3 WHERE id = $4")
        .bind(step)
        .bind(failure)
        .bind(ctx.at)
        .bind(row_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn report(
    tx: &mut Tx<'_>,
    number: i64,
    done: usize,
    failed: usize,
    ignored: usize,
) -> Result<crate::StepReport, StoreError> {
    let (_, status, _) = batch_head(tx, number).await?;
    Ok(crate::StepReport {
        batch_id: number,
        status: status.code(),
        status_zh: status.zh(),
        done,
        failed,
        ignored,
    })
}

/// Marks the rows waiting for the bank (new, or failed before) as sent and returns every row
/// now with the bank. The batch moves 10 → 20 the first time.
pub(crate) async fn send_to_bank(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    number: i64,
) -> Result<Vec<crate::ProductionRow>, StoreError> {
    use sscard_core::{BatchEvent, BatchStatus, Stage};
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let (_, status, _) = batch_head(&mut tx, number).await?;
        let waiting = rows_at(&mut *tx, number, &["applied", "bank_failed"]).await?;
        if status == BatchStatus::Created {
            move_batch(
                &mut tx,
                ctx,
                number,
                &[BatchEvent::Export(Stage::Bank)],
                &mut audit,
            )
            .await?;
        }
        for r in &waiting {
            set_step(&mut tx, ctx, r.row_id, "bank_sent", None).await?;
            let app = r.application_id;
            step_application(
                &mut tx,
                app,
                ApplicationEvent::SubmitToProduction,
                ctx,
                &mut audit,
            )
            .await?;
        }
        audit.push(
            "batch.send_bank",
            number.to_string(),
            json!({ "rows": waiting.len() }),
        );
        flush_audit(&mut tx, ctx, audit).await?;
        rows_at(&mut *tx, number, &["bank_sent"]).await?
    })
}

/// The bank's answers: an account for each row it opened, a reason for each it did not. Only
/// rows of this bank that are with the bank are touched; the batch moves 20 → 21 once no row
/// waits for a bank.
pub(crate) async fn record_bank_results(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    number: i64,
    bank: &str,
    results: &[(String, crate::StepResult)],
) -> Result<crate::StepReport, StoreError> {
    use sscard_core::Stage;
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let sent = rows_at(&mut *tx, number, &["bank_sent"]).await?;
        let (mut done, mut failed, mut ignored) = (0, 0, 0);
        for (ssn, result) in results {
            let Some(r) = sent.iter().find(|r| &r.ssn == ssn && r.bank_code == bank) else {
                ignored += 1;
                continue;
            };
            match result {
                crate::StepResult::Ok(account) => {
                    let account = sscard_ids::BankCardNumber::parse(account)
                        .map_err(|e| StoreError::refused(&e))?;
                    sqlx::query("UPDATE batch_rows SET step = 'bank_ok', failure = NULL, account_number = $1, updated_at = $2 WHERE id = $3")
                        .bind(account.expose())
                        .bind(ctx.at)
                        .bind(r.row_id)
                        .execute(&mut *tx)
                        .await?;
                    done += 1;
                }
                crate::StepResult::Failed { code, reason } => {
                    set_step(
                        &mut tx,
                        ctx,
                        r.row_id,
                        "bank_failed",
                        Some(&format!("{code}: {reason}")),
                    )
                    .await?;
                    failed += 1;
                }
            }
        }
        let counts = (done, failed, ignored);
        audit.push(
            "batch.bank_result",
            number.to_string(),
            json!({ "bank": bank, "done": done, "failed": failed, "ignored": ignored }),
        );
        close_results(&mut tx, ctx, number, Stage::Bank, audit, counts).await?
    })
}

/// After a partner's results: once no row waits at `stage` any more, the batch comes back from
/// it; then the audit is written and the step reported.
async fn close_results(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    number: i64,
    stage: sscard_core::Stage,
    mut audit: Audit,
    (done, failed, ignored): (usize, usize, usize),
) -> Result<crate::StepReport, StoreError> {
    use sscard_core::{BatchEvent, BatchStatus, Stage, StepState};
    let waiting_step = if stage == Stage::Bank {
        "bank_sent"
    } else {
        "factory_sent"
    };
    let waiting: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM batch_rows r JOIN batches b ON b.id = r.batch_id \
         WHERE b.number = $1 AND r.step = $2",
    )
    .bind(number)
    .bind(waiting_step)
    .fetch_one(&mut **tx)
    .await?;
    let (_, status, _) = batch_head(tx, number).await?;
    if waiting == 0 && status == BatchStatus::At(stage, StepState::Sent) {
        move_batch(
            tx,
            ctx,
            number,
            &[BatchEvent::ImportResult(stage)],
            &mut audit,
        )
        .await?;
    }
    flush_audit(tx, ctx, audit).await?;
    report(tx, number, done, failed, ignored).await
}

/// Gives every row with an open account (or failed at the factory before) a card number and
/// sends it to the factory; returns every row now with the factory. The batch moves 21 → 30.
pub(crate) async fn send_to_factory(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    number: i64,
) -> Result<Vec<crate::ProductionRow>, StoreError> {
    use sscard_core::{BatchEvent, BatchStatus, Stage, StepState};
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let (_, status, _) = batch_head(&mut tx, number).await?;
        let waiting = rows_at(&mut *tx, number, &["bank_ok", "factory_failed"]).await?;
        if status == BatchStatus::At(Stage::Bank, StepState::Returned) {
            move_batch(
                &mut tx,
                ctx,
                number,
                &[BatchEvent::Export(Stage::Factory)],
                &mut audit,
            )
            .await?;
        }
        for r in &waiting {
            let number = match &r.card_number {
                Some(n) => n.clone(),
                None => allocate_card_number(&mut tx, cfg)
                    .await?
                    .as_str()
                    .to_owned(),
            };
            sqlx::query("UPDATE batch_rows SET step = 'factory_sent', failure = NULL, card_number = $1, updated_at = $2 WHERE id = $3")
                .bind(&number)
                .bind(ctx.at)
                .bind(r.row_id)
                .execute(&mut *tx)
                .await?;
        }
        audit.push(
            "batch.send_factory",
            number.to_string(),
            json!({ "rows": waiting.len() }),
        );
        flush_audit(&mut tx, ctx, audit).await?;
        rows_at(&mut *tx, number, &["factory_sent"]).await?
    })
}

/// The factory's answers: each card made (with its chip serial) becomes a sealed card of its
/// holder, with the bank account recorded; failed rows wait to be made again. The batch moves
/// 30 → 31 once no row waits for the factory.
pub(crate) async fn record_factory_results(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    number: i64,
    results: &[(String, crate::StepResult)],
) -> Result<crate::StepReport, StoreError> {
    use sscard_core::Stage;
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let sent = rows_at(&mut *tx, number, &["factory_sent"]).await?;
        let (mut done, mut failed, mut ignored) = (0, 0, 0);
        for (card, result) in results {
            let Some(r) = sent
                .iter()
                .find(|r| r.card_number.as_deref() == Some(card.as_str()))
            else {
                ignored += 1;
                continue;
            };
            match result {
                crate::StepResult::Ok(serial) => {
                    make_card(&mut tx, cfg, ctx, r, serial, &mut audit).await?;
                    done += 1;
                }
                crate::StepResult::Failed { code, reason } => {
                    set_step(
                        &mut tx,
                        ctx,
                        r.row_id,
                        "factory_failed",
                        Some(&format!("{code}: {reason}")),
                    )
                    .await?;
                    failed += 1;
                }
            }
        }
        let counts = (done, failed, ignored);
        audit.push(
            "batch.factory_result",
            number.to_string(),
            json!({ "done": done, "failed": failed, "ignored": ignored }),
        );
        close_results(&mut tx, ctx, number, Stage::Factory, audit, counts).await?
    })
}

async fn make_card(
    tx: &mut Tx<'_>,
    cfg: &Config,
    ctx: &Ctx,
    r: &crate::ProductionRow,
    serial: &str,
    audit: &mut Audit,
) -> Result<(), StoreError> {
    let number = CardNumber::parse(r.card_number.as_deref().unwrap_or_default())
        .map_err(|_| corrupt("card_number"))?;
    let chip: [u8; 8] = hex::decode(serial)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Refused {
            code: "exchange.chip_serial",
            zh: format!("卡厂返回的芯片序列号“{serial}”不是 16 位十六进制数"),
            en: format!("the factory's chip serial \"{serial}\" is not 16 hexadecimal digits"),
        })?;
    let (person_id, application_id) = (r.person_id, r.application_id);
    let new_card = NewCard {
        person_id,
        application_id: Some(application_id),
        bank_code: &r.bank_code,
    };
    for event in [
        HolderEvent::IssueNew { card: number },
        HolderEvent::Card {
            card: number,
            event: CardEvent::BankAccountOpened,
        },
    ] {
        let cards = cards_of(&mut **tx, person_id).await?;
        let holder = holder_of(&cards);
        let (after, effects) = holder.apply(&event).map_err(|e| StoreError::refused(&e))?;
        persist(
            tx, ctx, cfg, &cards, &after, &effects, None, &new_card, audit,
        )
        .await?;
    }
    let code = CardIdCode::new(cfg.issuer_region, chip);
    sqlx::query("UPDATE cards SET card_id_code = $1 WHERE card_number = $2")
        .bind(code.as_str())
        .bind(number.as_str())
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE batch_rows SET step = 'made', failure = NULL, chip_serial = $1, updated_at = $2 WHERE id = $3")
        .bind(serial)
        .bind(ctx.at)
        .bind(r.row_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records the cards personalised (keys and files written into each chip): rows move to
/// `personalised`; the batch moves 31 → 40 → 41.
pub(crate) async fn record_personalised(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    number: i64,
    cards: &[CardNumber],
) -> Result<crate::StepReport, StoreError> {
    use sscard_core::{BatchEvent, BatchStatus, Stage, StepState};
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let made = rows_at(&mut *tx, number, &["made"]).await?;
        let (mut done, mut ignored) = (0, 0);
        for card in cards {
            match made
                .iter()
                .find(|r| r.card_number.as_deref() == Some(card.as_str()))
            {
                Some(r) => {
                    set_step(&mut tx, ctx, r.row_id, "personalised", None).await?;
                    done += 1;
                }
                None => ignored += 1,
            }
        }
        let (_, status, _) = batch_head(&mut tx, number).await?;
        if status == BatchStatus::At(Stage::Factory, StepState::Returned) {
            move_batch(
                &mut tx,
                ctx,
                number,
                &[
                    BatchEvent::Export(Stage::Personalisation),
                    BatchEvent::ImportResult(Stage::Personalisation),
                ],
                &mut audit,
            )
            .await?;
        }
        audit.push(
            "batch.personalised",
            number.to_string(),
            json!({ "cards": done }),
        );
        flush_audit(&mut tx, ctx, audit).await?;
        report(&mut tx, number, done, 0, ignored).await?
    })
}

/// The outlet has the personalised cards: rows move to `received`, their applications to
/// "awaiting pickup" at that outlet; the batch moves 41 → 60.
pub(crate) async fn receive_batch(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    number: i64,
    outlet: &str,
) -> Result<crate::StepReport, StoreError> {
    use sscard_core::BatchEvent;
    transaction!(pool, |tx| {
        let mut audit = Audit::default();
        let known: Option<String> = sqlx::query_scalar("SELECT code FROM outlets WHERE code = $1")
            .bind(outlet)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound {
                what: "outlet",
                key: outlet.to_owned(),
            });
        }
        move_batch(
            &mut tx,
            ctx,
            number,
            &[BatchEvent::ReceiveAtOutlet],
            &mut audit,
        )
        .await?;
        let ready = rows_at(&mut *tx, number, &["personalised"]).await?;
        for r in &ready {
            set_step(&mut tx, ctx, r.row_id, "received", None).await?;
            let app = r.application_id;
            sqlx::query("UPDATE applications SET outlet = $1 WHERE id = $2")
                .bind(outlet)
                .bind(app)
                .execute(&mut *tx)
                .await?;
            step_application(
                &mut tx,
                app,
                ApplicationEvent::CardReceived,
                ctx,
                &mut audit,
            )
            .await?;
        }
        audit.push(
            "batch.receive",
            number.to_string(),
            json!({ "outlet": outlet, "cards": ready.len() }),
        );
        flush_audit(&mut tx, ctx, audit).await?;
        report(&mut tx, number, ready.len(), 0, 0).await?
    })
}

pub(crate) async fn card_face_data(
    pool: &Pool,
    _cfg: &Config,
    number: &CardNumber,
) -> Result<(String, Option<Vec<u8>>), StoreError> {
    let row = sqlx::query(
        "SELECT c.generation, ph.jpeg FROM cards c LEFT JOIN photos ph ON ph.person_id = c.person_id \
         WHERE c.card_number = $1",
    )
    .bind(number.as_str())
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| StoreError::NotFound { what: "card", key: number.to_string() })?;
    Ok((row.try_get("generation")?, row.try_get("jpeg")?))
}
