//! Persons and employers: registration (one or many), the person view, the full ID number
//! for an audited reveal, the holder of a card.

use super::*;

/// Inserts the person if new (a concurrent insert of the same person is waited for and then
/// read), or updates the given fields if known. Returns the person's id.
pub(super) async fn upsert_person(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    p: &PersonInput,
    audit: &mut Audit,
) -> Result<Uuid, StoreError> {
    Ok(upsert_person_tracked(tx, ctx, p, audit).await?.0)
}

/// [`upsert_person`], also saying whether the person was registered just now (then they can
/// have no card and no application yet).
pub(super) async fn upsert_person_tracked(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    p: &PersonInput,
    audit: &mut Audit,
) -> Result<(Uuid, bool), StoreError> {
    // An employer agent registers people for its own employer only, and touches no one else's.
    ctx.actor
        .check_employer(p.employer.as_ref().map(CreditCode::as_str))?;
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
        ctx.actor.check_employer(existing.employer.as_deref())?;
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

pub(crate) async fn register_person(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    person: &PersonInput,
) -> Result<Uuid, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        upsert_person(&mut tx, ctx, person, &mut audit).await?
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
    unit_of_work!(pool, ctx, |tx, audit| {
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
        Employer {
            id,
            credit_code: credit_code.to_string(),
            name: name.to_owned(),
            region: region.to_string(),
        }
    })
}

/// One person with cards and applications, read in one snapshot (so a concurrent write cannot
/// tear the view); the actor's scope is checked on the person's employer.
pub(crate) async fn person_view(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    id: &ResidentId,
) -> Result<PersonView, StoreError> {
    let mut tx = snapshot(pool).await?;
    let person =
        person_by_ssn(&mut *tx, id.expose())
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "person",
                key: id.masked(),
            })?;
    ctx.actor.check_employer(person.employer.as_deref())?;
    let cards = cards_of(&mut *tx, person.id).await?;
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
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
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

pub(crate) async fn register_people(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    people: &[PersonInput],
) -> Result<usize, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        for p in people {
            upsert_person(&mut tx, ctx, p, &mut audit).await?;
        }
        people.len()
    })
}

pub(crate) async fn person_view_by_id(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    id: Uuid,
) -> Result<PersonView, StoreError> {
    let ssn = ssn_of(pool, id).await?;
    person_view(pool, cfg, ctx, &ssn).await
}

async fn ssn_of<'e, E>(exec: E, id: Uuid) -> Result<ResidentId, StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
{
    let ssn: Option<String> = sqlx::query_scalar("SELECT ssn FROM persons WHERE id = $1")
        .bind(id)
        .fetch_optional(exec)
        .await?;
    let ssn = ssn.ok_or_else(|| StoreError::NotFound {
        what: "person",
        key: id.to_string(),
    })?;
    ResidentId::parse_on(&ssn, NaiveDate::MAX).map_err(|_| corrupt("ssn"))
}

/// 查看完整证件号码: the full ID number of a person, for an actor whose scope covers the person;
/// the reveal is audited in the same transaction.
pub(crate) async fn reveal_ssn(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    id: Uuid,
) -> Result<ResidentId, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let ssn = ssn_of(&mut *tx, id).await?;
        let person = person_by_ssn(&mut *tx, ssn.expose())
            .await?
            .ok_or_else(|| corrupt("person"))?;
        ctx.actor.check_employer(person.employer.as_deref())?;
        audit.push(
            "person.reveal_id",
            ssn.masked(),
            json!({ "person": id.to_string() }),
        );
        ssn
    })
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
