//! The production chain: bank → factory → personalisation → outlet, row by row.

use super::*;

/// A batch's id and status by number, locked for the transaction's writes.
pub(super) async fn batch_head(
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
pub(super) async fn move_batch(
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

pub(super) async fn step_application(
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
pub(super) const PRODUCTION_SELECT: &str = "SELECT r.id, r.step, r.failure, r.account_number, r.card_number, r.chip_serial, \
     r.bank_code, r.application_id, r.person_id, p.ssn, p.name, p.sex, p.birth_date, p.phone, p.workshop, \
     p.department, e.credit_code, e.name AS employer_name, c.card_id_code, c.issue_date, c.expiry_date, {photos} \
     FROM batch_rows r JOIN batches b ON b.id = r.batch_id JOIN persons p ON p.id = r.person_id \
     JOIN employers e ON e.id = b.employer_id LEFT JOIN cards c ON c.card_number = r.card_number {join} \
     WHERE b.number = $1 AND r.step IN ({steps}) ORDER BY r.bank_code, p.ssn";

pub(super) fn production_row(row: &DbRow) -> Result<crate::ProductionRow, StoreError> {
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

pub(super) async fn rows_at<'e, E>(
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
pub(super) async fn rows_with<'e, E>(
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

pub(super) async fn set_step(
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

pub(super) async fn report(
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
    unit_of_work!(pool, ctx, |tx, audit| {
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
    unit_of_work!(pool, ctx, |tx, audit| {
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
        close_results(&mut tx, ctx, number, Stage::Bank, &mut audit, counts).await?
    })
}

/// After a partner's results: once no row waits at `stage` any more, the batch comes back from
/// it; then the audit is written and the step reported.
pub(super) async fn close_results(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    number: i64,
    stage: sscard_core::Stage,
    audit: &mut Audit,
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
        move_batch(tx, ctx, number, &[BatchEvent::ImportResult(stage)], audit).await?;
    }
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
    unit_of_work!(pool, ctx, |tx, audit| {
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
    unit_of_work!(pool, ctx, |tx, audit| {
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
        close_results(&mut tx, ctx, number, Stage::Factory, &mut audit, counts).await?
    })
}

pub(super) async fn make_card(
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
    sqlx::query("UPDATE cards SET card_id_code = $1, account_number = $2 WHERE card_number = $3")
        .bind(code.as_str())
        .bind(r.account_number.as_deref())
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
    unit_of_work!(pool, ctx, |tx, audit| {
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
    unit_of_work!(pool, ctx, |tx, audit| {
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
        let apps: Vec<Uuid> = ready.iter().map(|r| r.application_id).collect();
        card_ready_notices(&mut tx, ctx, &apps).await?;
        audit.push(
            "batch.receive",
            number.to_string(),
            json!({ "outlet": outlet, "cards": ready.len() }),
        );
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
