//! Employer bulk applications: batches, uploads and their rows, photos, problems.

use super::*;

/// The chain order of a batch row's steps.
pub(super) const ROW_STEPS: [&str; 9] = [
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

pub(super) fn issue(row: usize, column: &str, e: &StoreError) -> RowIssue {
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
pub(super) async fn open_batch(
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
pub(super) enum RowOutcome {
    Accepted,
    Already,
    Rejected(RowIssue),
}

pub(super) fn open_application_issue(r: &crate::BatchRowInput) -> RowIssue {
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
pub(super) async fn import_row(
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
            release_hold(tx, batch_id, person_id).await?;
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
pub(super) async fn apply_row(
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
    release_hold(tx, batch_id, person_id).await?;
    Ok(RowOutcome::Accepted)
}

/// Forgets a row held for its photo once the person's row is in the batch.
async fn release_hold(tx: &mut Tx<'_>, batch_id: Uuid, person_id: Uuid) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM batch_photo_holds WHERE batch_id = $1 AND person_id = $2")
        .bind(batch_id)
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Registers the person of a row whose photo was refused and holds the row in the batch, unless
/// the person's row is in the batch already (then only the problem is reported).
async fn hold_row(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    (batch_id, upload_id): (Uuid, Uuid),
    held: &crate::HeldRowInput,
    audit: &mut Audit,
) -> Result<(), StoreError> {
    let bank = find_bank(tx, &held.row.bank).await?;
    let (person_id, _) = upsert_person_tracked(tx, ctx, &held.row.person, audit).await?;
    let in_batch: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM batch_rows WHERE batch_id = $1 AND person_id = $2")
            .bind(batch_id)
            .bind(person_id)
            .fetch_optional(&mut **tx)
            .await?;
    if in_batch.is_some() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO batch_photo_holds (id, batch_id, upload_id, person_id, source_row, bank_code,          code, message, message_en, preview, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)          ON CONFLICT (batch_id, person_id) DO UPDATE SET upload_id = excluded.upload_id,          source_row = excluded.source_row, bank_code = excluded.bank_code, code = excluded.code,          message = excluded.message, message_en = excluded.message_en, preview = excluded.preview,          created_at = excluded.created_at",
    )
    .bind(Uuid::now_v7())
    .bind(batch_id)
    .bind(upload_id)
    .bind(person_id)
    .bind(held.row.row as i32)
    .bind(&bank.code)
    .bind(&held.issue.code)
    .bind(&held.issue.message)
    .bind(&held.issue.message_en)
    .bind(held.preview.as_deref())
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The batch with its internal id, checked against the actor's employer scope.
async fn scoped_batch<'e, E>(
    exec: E,
    ctx: &Ctx,
    number: i64,
) -> Result<(Uuid, BatchSummary), StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
{
    let row = sqlx::query(&format!("{BATCH_SELECT} WHERE b.number = $1"))
        .bind(number)
        .fetch_optional(exec)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "batch",
            key: number.to_string(),
        })?;
    let summary = batch_from_row(&row)?;
    ctx.actor.check_employer(Some(&summary.employer))?;
    Ok((row.try_get("id")?, summary))
}

pub(crate) async fn batch_sheet(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    number: i64,
) -> Result<crate::BatchSheet, StoreError> {
    let mut tx = snapshot(pool).await?;
    let (batch_id, summary) = scoped_batch(&mut *tx, ctx, number).await?;
    let mut out = Vec::new();
    for r in sqlx::query(
        "SELECT r.source_row, r.upload_id, u.created_at AS uploaded, p.ssn, p.name, ph.jpeg          FROM batch_rows r JOIN persons p ON p.id = r.person_id          JOIN batch_uploads u ON u.id = r.upload_id          LEFT JOIN photos ph ON ph.person_id = r.person_id WHERE r.batch_id = $1",
    )
    .bind(batch_id)
    .fetch_all(&mut *tx)
    .await?
    {
        let jpeg: Option<Vec<u8>> = r.try_get("jpeg")?;
        out.push((
            r.try_get::<DateTime<Utc>, _>("uploaded")?,
            sheet_entry(&r, jpeg.map_or(crate::SheetPhoto::Missing, |jpeg| {
                crate::SheetPhoto::Accepted { jpeg }
            }))?,
        ));
    }
    for r in sqlx::query(
        "SELECT h.source_row, h.upload_id, u.created_at AS uploaded, p.ssn, p.name, h.code,          h.message, h.message_en, h.preview FROM batch_photo_holds h          JOIN persons p ON p.id = h.person_id JOIN batch_uploads u ON u.id = h.upload_id          WHERE h.batch_id = $1",
    )
    .bind(batch_id)
    .fetch_all(&mut *tx)
    .await?
    {
        let photo = crate::SheetPhoto::Refused {
            code: r.try_get("code")?,
            message: r.try_get("message")?,
            message_en: r.try_get("message_en")?,
            preview: r.try_get("preview")?,
        };
        out.push((r.try_get("uploaded")?, sheet_entry(&r, photo)?));
    }
    tx.commit().await?;
    // Row order within each upload, uploads in the order they came.
    out.sort_by_key(|(at, e)| (*at, e.upload_id, e.row));
    Ok(crate::BatchSheet {
        summary,
        entries: out.into_iter().map(|(_, e)| e).collect(),
    })
}

fn sheet_entry(r: &DbRow, photo: crate::SheetPhoto) -> Result<crate::SheetEntry, StoreError> {
    let ssn: String = r.try_get("ssn")?;
    let name: String = r.try_get("name")?;
    let row: i32 = r.try_get("source_row")?;
    Ok(crate::SheetEntry {
        row: row as usize,
        upload_id: r.try_get("upload_id")?,
        name: PersonName::parse(&name).map_or_else(|_| "*".into(), |n| n.masked()),
        id_number: ResidentId::parse(&ssn).map_or_else(|_| "*".into(), |i| i.masked()),
        photo,
    })
}

pub(crate) async fn replace_batch_photo(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    number: i64,
    source_row: usize,
    photo: &crate::PhotoInput,
) -> Result<crate::PhotoReplaced, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let (batch_id, summary) = scoped_batch(&mut *tx, ctx, number).await?;
        // The latest upload's row of that number: a held row first, else an applied one.
        let held = sqlx::query(
            "SELECT h.person_id, h.bank_code, h.upload_id FROM batch_photo_holds h              JOIN batch_uploads u ON u.id = h.upload_id              WHERE h.batch_id = $1 AND h.source_row = $2 ORDER BY u.created_at DESC LIMIT 1",
        )
        .bind(batch_id)
        .bind(source_row as i32)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(h) = held {
            let person_id: Uuid = h.try_get("person_id")?;
            let bank_code: String = h.try_get("bank_code")?;
            let upload_id: Uuid = h.try_get("upload_id")?;
            let person = person_input_of(&mut tx, person_id).await?;
            let bank = find_bank(&mut tx, &bank_code).await?;
            // A batch that has gone on to the bank takes no more rows: the row goes into the
            // employer's batch that is still open.
            let (target_id, target_number) = if summary.status == 10 {
                (batch_id, number)
            } else {
                let employer =
                    CreditCode::parse(&summary.employer).map_err(|_| corrupt("employer"))?;
                open_batch(&mut tx, ctx, &employer, &mut audit).await?
            };
            sqlx::query("DELETE FROM batch_photo_holds WHERE batch_id = $1 AND person_id = $2")
                .bind(batch_id)
                .bind(person_id)
                .execute(&mut *tx)
                .await?;
            let input = crate::BatchRowInput {
                row: source_row,
                person,
                bank: bank_code,
                photo: Some(photo.clone()),
            };
            let outcome = import_row(
                &mut tx,
                cfg,
                ctx,
                (target_id, upload_id),
                &input,
                &bank,
                &mut audit,
            )
            .await?;
            if let RowOutcome::Rejected(issue) = outcome {
                return Err(StoreError::Refused {
                    code: "batch.row_refused",
                    zh: format!("第 {source_row} 行不能申领：{}", issue.message),
                    en: format!("row {source_row} cannot be applied: {}", issue.message_en),
                });
            }
            audit.push(
                "batch.photo_replaced",
                number.to_string(),
                json!({ "row": source_row, "applied_into": target_number }),
            );
            crate::PhotoReplaced::Applied {
                batch: target_number,
            }
        } else {
            let applied = sqlx::query(
                "SELECT r.person_id, r.step FROM batch_rows r JOIN batch_uploads u ON u.id = r.upload_id                  WHERE r.batch_id = $1 AND r.source_row = $2 ORDER BY u.created_at DESC LIMIT 1",
            )
            .bind(batch_id)
            .bind(source_row as i32)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "batch row",
                key: format!("{number}/{source_row}"),
            })?;
            let step: String = applied.try_get("step")?;
            // Until the factory has it, the photo can still change.
            if !matches!(
                step.as_str(),
                "applied" | "bank_sent" | "bank_ok" | "bank_failed"
            ) {
                return Err(StoreError::Refused {
                    code: "photo.too_late",
                    zh: format!("第 {source_row} 行的卡已交制卡厂制作，照片不能再更换"),
                    en: format!(
                        "the card of row {source_row} is already with the card factory; its photo can no longer change"
                    ),
                });
            }
            let person_id: Uuid = applied.try_get("person_id")?;
            save_photo(&mut tx, ctx, person_id, photo).await?;
            audit.push(
                "batch.photo_replaced",
                number.to_string(),
                json!({ "row": source_row }),
            );
            crate::PhotoReplaced::Updated
        }
    })
}

/// The registration of a stored person, as a row of an upload would give it.
async fn person_input_of(tx: &mut Tx<'_>, person_id: Uuid) -> Result<PersonInput, StoreError> {
    let r = sqlx::query(
        "SELECT p.ssn, p.name, p.workshop, p.department, p.phone, e.credit_code FROM persons p          LEFT JOIN employers e ON e.id = p.employer_id WHERE p.id = $1",
    )
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await?;
    let ssn: String = r.try_get("ssn")?;
    let name: String = r.try_get("name")?;
    let employer: Option<String> = r.try_get("credit_code")?;
    Ok(PersonInput {
        id: ResidentId::parse(&ssn).map_err(|_| corrupt("ssn"))?,
        name: PersonName::parse(&name).map_err(|_| corrupt("name"))?,
        employer: employer
            .as_deref()
            .map(CreditCode::parse)
            .transpose()
            .map_err(|_| corrupt("employer"))?,
        workshop: r.try_get("workshop")?,
        department: r.try_get("department")?,
        phone: r.try_get("phone")?,
        insured_city: None,
    })
}

pub(crate) async fn import_batch(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    upload: &BatchUploadInput,
) -> Result<BatchImportOutcome, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_employer(Some(upload.employer.as_str()))?;
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
        .bind(ctx.actor.name())
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
        for held in &upload.held {
            hold_row(&mut tx, ctx, (batch_id, upload_id), held, &mut audit).await?;
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
        BatchImportOutcome {
            batch_id: number,
            upload_id,
            accepted,
            already,
            rejected,
        }
    })
}

pub(super) async fn save_photo(
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

pub(super) const BATCH_SELECT: &str = "SELECT b.id, b.number, b.status, b.created_at, e.credit_code, e.name AS employer_name, \
     (SELECT COUNT(*) FROM batch_rows r WHERE r.batch_id = b.id) AS rows_n, \
     (SELECT COUNT(*) FROM batch_rows r WHERE r.batch_id = b.id AND r.card_number IS NOT NULL) AS cards_n \
     FROM batches b JOIN employers e ON e.id = b.employer_id";

pub(super) fn batch_from_row(row: &DbRow) -> Result<BatchSummary, StoreError> {
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

/// Every batch, newest first; an employer agent sees its own employer's only.
pub(crate) async fn batches(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
) -> Result<Vec<BatchSummary>, StoreError> {
    let employer = match ctx.actor.scope() {
        sscard_core::Scope::Employer(code) => Some(code),
        sscard_core::Scope::Nothing => return Ok(Vec::new()),
        _ => None,
    };
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
    ctx: &Ctx,
    number: i64,
) -> Result<BatchDetail, StoreError> {
    let (batch_id, summary) = scoped_batch(pool, ctx, number).await?;
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
    ctx: &Ctx,
    upload: Uuid,
) -> Result<(i64, Vec<RowIssue>), StoreError> {
    let row = sqlx::query(
        "SELECT b.number, u.problems, e.credit_code FROM batch_uploads u JOIN batches b ON b.id = u.batch_id \
         JOIN employers e ON e.id = b.employer_id WHERE u.id = $1",
    )
    .bind(upload)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| StoreError::NotFound { what: "upload", key: upload.to_string() })?;
    let employer: String = row.try_get("credit_code")?;
    ctx.actor.check_employer(Some(&employer))?;
    let problems: String = row.try_get("problems")?;
    Ok((
        row.try_get("number")?,
        serde_json::from_str(&problems).map_err(|_| corrupt("upload problems"))?,
    ))
}
