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
    Ok(RowOutcome::Accepted)
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
    let row = sqlx::query(&format!("{BATCH_SELECT} WHERE b.number = $1"))
        .bind(number)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "batch",
            key: number.to_string(),
        })?;
    let summary = batch_from_row(&row)?;
    ctx.actor.check_employer(Some(&summary.employer))?;
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
