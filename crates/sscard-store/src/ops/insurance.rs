//! Insurance enrolments, accounts and accumulators; loading policies and catalogues.

use std::collections::BTreeSet;

use super::*;
use crate::insurance::{
    Account, CatalogueRow, EnrolInput, Enrolment, Filing, FilingInput, InsuranceRecord, Loaded,
    PolicyRow, Transfer, TransferInput, YearFigures,
};
use sscard_core::money::Money;

fn refused(code: &'static str, zh: String, en: String) -> StoreError {
    StoreError::Refused { code, zh, en }
}

/// The person by ID number, once the actor may keep their insurance record.
async fn insured_person(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    id: &sscard_ids::ResidentId,
) -> Result<PersonRow, StoreError> {
    let person = person_by_ssn(&mut **tx, id.expose())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "person",
            key: id.masked(),
        })?;
    ctx.actor.check_insured(person.employer.as_deref())?;
    Ok(person)
}

/// Enrols a person in an insutype at an insured place; the personal account opens with the
/// balance given (employees). One active enrolment per person and insutype.
pub(crate) async fn enrol_insurance(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    input: &EnrolInput,
) -> Result<Enrolment, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        enrol_one(&mut tx, ctx, input, &mut audit).await?
    })
}

/// Enrols many in one transaction, whole or nothing (the demo, migrations of records).
pub(crate) async fn enrol_insurance_many(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    inputs: &[EnrolInput],
) -> Result<usize, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        for input in inputs {
            enrol_one(&mut tx, ctx, input, &mut audit).await?;
        }
        inputs.len()
    })
}

/// One enrolment, inside the caller's unit of work.
async fn enrol_one(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    input: &EnrolInput,
    audit: &mut Audit,
) -> Result<Enrolment, StoreError> {
    let person = insured_person(tx, ctx, &input.id).await?;
    check_enrolment(input)?;
    let active: Option<String> = sqlx::query_scalar(
        "SELECT region FROM insurance_enrolments \
         WHERE person_id = $1 AND insutype = $2 AND status = 'active'",
    )
    .bind(person.id)
    .bind(&input.insutype)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(region) = active {
        return Err(refused(
            "insurance.already_enrolled",
            format!(
                "该人员已在 {region} 参加险种 {}：在省内换城市请办理转移接续",
                input.insutype
            ),
            format!(
                "this person is already enrolled in {} at {region}: a move within the province is a transfer",
                input.insutype
            ),
        ));
    }
    sqlx::query(
        "INSERT INTO insurance_enrolments (id, person_id, insutype, region, psn_type, status, \
         begin_date, end_date, employer, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'active', $6, NULL, $7, $8, $8)",
    )
    .bind(Uuid::now_v7())
    .bind(person.id)
    .bind(&input.insutype)
    .bind(&input.region)
    .bind(&input.psn_type)
    .bind(input.from)
    .bind(&input.employer)
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    if input.insutype == "310" {
        open_account(tx, person.id, input, ctx.at).await?;
    }
    // The person number the interface knows the person by, issued at enrolment.
    super::settle::psn_no_of(tx, person.id, ctx.at).await?;
    audit.push(
        "insurance.enrol",
        input.id.masked(),
        json!({
            "insutype": input.insutype,
            "region": input.region,
            "psn_type": input.psn_type,
            "from": input.from,
        }),
    );
    Ok(Enrolment {
        insutype: input.insutype.clone(),
        region: input.region.clone(),
        psn_type: input.psn_type.clone(),
        status: "active".into(),
        begin_date: input.from,
        end_date: None,
        employer: input.employer.clone(),
    })
}

/// What an enrolment must say: a known insutype, a city code, an account only for employees.
fn check_enrolment(input: &EnrolInput) -> Result<(), StoreError> {
    if !["310", "390"].contains(&input.insutype.as_str()) {
        return Err(refused(
            "insurance.insutype",
            format!(
                "险种 {} 无效：应为 310（职工）或 390（居民）",
                input.insutype
            ),
            format!(
                "insutype {} is not 310 (employees) or 390 (residents)",
                input.insutype
            ),
        ));
    }
    let r = &input.region;
    if !sscard_core::settlement::is_city_code(r) {
        return Err(refused(
            "insurance.region",
            format!("参保地 {r} 不是城市行政区划代码（如 321200）"),
            format!("insured place {r} is not a city code (e.g. 321200)"),
        ));
    }
    if input.balance.is_some_and(|b| b < Money::ZERO) {
        return Err(refused(
            "insurance.balance",
            "个人账户余额不能为负".into(),
            "the personal account's balance cannot be negative".into(),
        ));
    }
    if input.balance.is_some() && input.insutype == "390" {
        return Err(refused(
            "insurance.account",
            "居民医保（390）没有个人账户".into(),
            "residents' insurance (390) has no personal account".into(),
        ));
    }
    Ok(())
}

/// Opens an employee's personal account with the balance given; a returning member keeps the
/// account (the balance given is then ignored).
async fn open_account(
    tx: &mut Tx<'_>,
    person_id: Uuid,
    input: &EnrolInput,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let balance = input.balance.unwrap_or(Money::ZERO).cents();
    let known: Option<i64> = sqlx::query_scalar(
        "SELECT balance_cents FROM insurance_accounts WHERE person_id = $1 AND insutype = $2",
    )
    .bind(person_id)
    .bind(&input.insutype)
    .fetch_optional(&mut **tx)
    .await?;
    // A returning member keeps the account (the balance given is then ignored).
    if known.is_none() {
        sqlx::query(
            "INSERT INTO insurance_accounts (person_id, insutype, balance_cents, updated_at) \
         VALUES ($1, $2, $3, $4)",
        )
        .bind(person_id)
        .bind(&input.insutype)
        .bind(balance)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A person's insurance record: every enrolment, the accounts, the accumulators by year.
pub(crate) async fn insurance_record(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    id: &sscard_ids::ResidentId,
) -> Result<InsuranceRecord, StoreError> {
    let mut tx = snapshot(pool).await?;
    let person = insured_person(&mut tx, ctx, id).await?;
    let rows = sqlx::query(
        "SELECT insutype, region, psn_type, status, begin_date, end_date, employer \
         FROM insurance_enrolments WHERE person_id = $1 ORDER BY begin_date, created_at",
    )
    .bind(person.id)
    .fetch_all(&mut *tx)
    .await?;
    let mut enrolments = Vec::with_capacity(rows.len());
    for r in rows {
        enrolments.push(Enrolment {
            insutype: r.try_get("insutype")?,
            region: r.try_get("region")?,
            psn_type: r.try_get("psn_type")?,
            status: r.try_get("status")?,
            begin_date: r.try_get("begin_date")?,
            end_date: r.try_get("end_date")?,
            employer: r.try_get("employer")?,
        });
    }
    let rows = sqlx::query(
        "SELECT insutype, balance_cents FROM insurance_accounts WHERE person_id = $1 \
         ORDER BY insutype",
    )
    .bind(person.id)
    .fetch_all(&mut *tx)
    .await?;
    let mut accounts = Vec::new();
    for r in rows {
        accounts.push(Account {
            insutype: r.try_get("insutype")?,
            balance: Money::from_cents(r.try_get("balance_cents")?),
        });
    }
    let rows = sqlx::query(
        "SELECT insutype, year, pool_paid_cents, tier_paid_cents FROM insurance_years \
         WHERE person_id = $1 ORDER BY year, insutype",
    )
    .bind(person.id)
    .fetch_all(&mut *tx)
    .await?;
    let used = sqlx::query(
        "SELECT insutype, year, med_type, used_cents FROM insurance_deductibles \
         WHERE person_id = $1 ORDER BY med_type",
    )
    .bind(person.id)
    .fetch_all(&mut *tx)
    .await?;
    let mut years = Vec::new();
    for r in rows {
        let (insutype, year): (String, i32) = (r.try_get("insutype")?, r.try_get("year")?);
        let mut deductible_used = Vec::new();
        for u in &used {
            if u.try_get::<String, _>("insutype")? == insutype
                && u.try_get::<i32, _>("year")? == year
            {
                deductible_used.push((
                    u.try_get("med_type")?,
                    Money::from_cents(u.try_get("used_cents")?),
                ));
            }
        }
        years.push(YearFigures {
            pool_paid: Money::from_cents(r.try_get("pool_paid_cents")?),
            tier_paid: Money::from_cents(r.try_get("tier_paid_cents")?),
            insutype,
            year,
            deductible_used,
        });
    }
    let filings = filings_of(&mut tx, person.id).await?;
    let transfers = transfers_of(&mut tx, person.id).await?;
    Ok(InsuranceRecord {
        id_masked: id.masked(),
        enrolments,
        accounts,
        years,
        filings,
        transfers,
    })
}

const FILING_COLUMNS: &str =
    "serial, insutype, region, kind, begin_date, end_date, status FROM insurance_filings";

fn filing_from_row(r: &DbRow) -> Result<Filing, StoreError> {
    Ok(Filing {
        serial: r.try_get("serial")?,
        insutype: r.try_get("insutype")?,
        region: r.try_get("region")?,
        kind: r.try_get("kind")?,
        begin_date: r.try_get("begin_date")?,
        end_date: r.try_get("end_date")?,
        status: r.try_get("status")?,
    })
}

async fn filings_of(tx: &mut Tx<'_>, person_id: Uuid) -> Result<Vec<Filing>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {FILING_COLUMNS} WHERE person_id = $1 ORDER BY created_at DESC"
    ))
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(filing_from_row).collect()
}

/// Records a filing for care in another city: the person must be enrolled in the insutype, the
/// city must be another than the insured place, the period must not run backwards.
pub(crate) async fn add_filing(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    input: &FilingInput,
) -> Result<Filing, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let person = insured_person(&mut tx, ctx, &input.id).await?;
        check_filing(input)?;
        let insured: Option<String> = sqlx::query_scalar(
            "SELECT region FROM insurance_enrolments \
             WHERE person_id = $1 AND insutype = $2 AND status = 'active'",
        )
        .bind(person.id)
        .bind(&input.insutype)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(insured) = insured else {
            return Err(refused(
                "filing.not_enrolled",
                format!("该人员未参加险种 {}，不能备案", input.insutype),
                format!(
                    "this person is not enrolled in {}; nothing to file",
                    input.insutype
                ),
            ));
        };
        if insured == input.region {
            return Err(refused(
                "filing.same_region",
                format!("{} 是参保地，在参保地就医无需备案", input.region),
                format!(
                    "{} is the insured place; care there needs no filing",
                    input.region
                ),
            ));
        }
        let serial = super::settle::insert_filing(
            &mut tx,
            ctx,
            person.id,
            &insured,
            &input.insutype,
            &input.region,
            &input.kind,
            (input.from, input.to),
        )
        .await?;
        audit.push(
            "insurance.filing",
            serial.as_str(),
            json!({
                "person": input.id.masked(), "insutype": input.insutype, "region": input.region,
                "kind": input.kind, "from": input.from, "to": input.to,
            }),
        );
        Filing {
            serial,
            insutype: input.insutype.clone(),
            region: input.region.clone(),
            kind: input.kind.clone(),
            begin_date: input.from,
            end_date: input.to,
            status: "active".into(),
        }
    })
}

fn check_filing(input: &FilingInput) -> Result<(), StoreError> {
    if !["long_term", "temporary", "referral"].contains(&input.kind.as_str()) {
        return Err(refused(
            "filing.kind",
            format!(
                "备案类别 {} 无效：应为 long_term（异地长期居住）、temporary（临时外出）或 referral（转诊）",
                input.kind
            ),
            format!(
                "filing kind {} is not long_term, temporary or referral",
                input.kind
            ),
        ));
    }
    let r = &input.region;
    if !sscard_core::settlement::is_city_code(r) {
        return Err(refused(
            "filing.region",
            format!("就医地 {r} 不是城市行政区划代码（如 320100）"),
            format!("treatment place {r} is not a city code (e.g. 320100)"),
        ));
    }
    if input.to < input.from {
        return Err(refused(
            "filing.period",
            format!("备案截止日 {} 早于开始日 {}", input.to, input.from),
            format!(
                "the filing ends ({}) before it begins ({})",
                input.to, input.from
            ),
        ));
    }
    Ok(())
}

/// Cancels a filing by its serial (kept, marked cancelled, with the reason).
pub(crate) async fn cancel_filing(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    serial: &str,
    reason: &str,
) -> Result<Filing, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let row = sqlx::query(&format!(
            "SELECT {FILING_COLUMNS} WHERE serial = $1{FOR_UPDATE}"
        ))
        .bind(serial)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "filing",
            key: serial.to_owned(),
        })?;
        let employer: Option<String> = sqlx::query_scalar(
            "SELECT e.credit_code FROM insurance_filings f JOIN persons p ON p.id = f.person_id \
             LEFT JOIN employers e ON e.id = p.employer_id WHERE f.serial = $1",
        )
        .bind(serial)
        .fetch_one(&mut *tx)
        .await?;
        ctx.actor.check_insured(employer.as_deref())?;
        let mut filing = filing_from_row(&row)?;
        if filing.status == "cancelled" {
            return Err(refused(
                "filing.cancelled",
                format!("备案 {serial} 已撤销"),
                format!("filing {serial} is already cancelled"),
            ));
        }
        sqlx::query(
            "UPDATE insurance_filings SET status = 'cancelled', cancelled_at = $1, \
             cancel_reason = $2 WHERE serial = $3",
        )
        .bind(ctx.at)
        .bind(reason)
        .bind(serial)
        .execute(&mut *tx)
        .await?;
        audit.push(
            "insurance.filing_cancel",
            serial,
            json!({ "reason": reason }),
        );
        filing.status = "cancelled".into();
        filing
    })
}

/// Loads policy tables in one transaction; each region and year in the file replaces what was
/// loaded for it before.
pub(crate) async fn load_policies(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    rows: &[PolicyRow],
) -> Result<Loaded, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_centre("结算政策 / settlement policies")?;
        let scopes: BTreeSet<(String, i32)> =
            rows.iter().map(|r| (r.region.clone(), r.year)).collect();
        let mut replaced = 0;
        for (region, year) in &scopes {
            replaced +=
                sqlx::query("DELETE FROM settlement_policies WHERE region = $1 AND year = $2")
                    .bind(region)
                    .bind(year)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected() as usize;
        }
        for r in rows {
            let p = &r.policy;
            sqlx::query(
                "INSERT INTO settlement_policies (region, year, insutype, med_type, \
                 deductible_cents, ratio_1, ratio_2, ratio_3, ratio_pharmacy, pool_cap_cents, \
                 second_tier_ratio, second_tier_cap_cents, unfiled_reduction, account, loaded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(&r.region)
            .bind(r.year)
            .bind(&r.insutype)
            .bind(&r.med_type)
            .bind(p.deductible.cents())
            .bind(p.ratio_by_level[0].units() as i32)
            .bind(p.ratio_by_level[1].units() as i32)
            .bind(p.ratio_by_level[2].units() as i32)
            .bind(p.ratio_pharmacy.units() as i32)
            .bind(p.pool_cap.cents())
            .bind(p.second_tier_ratio.units() as i32)
            .bind(p.second_tier_cap.cents())
            .bind(p.unfiled_reduction.units() as i32)
            .bind(p.account)
            .bind(ctx.at)
            .execute(&mut *tx)
            .await?;
        }
        let scopes: Vec<String> = scopes.iter().map(|(r, y)| format!("{r}/{y}")).collect();
        audit.push(
            "settlement.policies_load",
            scopes.join(","),
            json!({ "rows": rows.len(), "replaced": replaced }),
        );
        Loaded {
            rows: rows.len(),
            replaced,
            scopes,
        }
    })
}

/// Loads catalogue lines in one transaction; each region in the file replaces its catalogue.
pub(crate) async fn load_catalogue(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    rows: &[CatalogueRow],
) -> Result<Loaded, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_centre("医保目录 / catalogues")?;
        let scopes: BTreeSet<String> = rows.iter().map(|r| r.region.clone()).collect();
        let mut replaced = 0;
        for region in &scopes {
            replaced += sqlx::query("DELETE FROM catalogue_items WHERE region = $1")
                .bind(region)
                .execute(&mut *tx)
                .await?
                .rows_affected() as usize;
        }
        // 7 binds a row; 1,000 rows stay below every backend's bind limit.
        for chunk in rows.chunks(1000) {
            let mut insert = sqlx::QueryBuilder::<DB>::new(
                "INSERT INTO catalogue_items (region, code, name, class, selfpay_prop, \
                 price_cap_cents, loaded_at) ",
            );
            insert.push_values(chunk, |mut b, r| {
                b.push_bind(&r.region)
                    .push_bind(&r.code)
                    .push_bind(&r.name)
                    .push_bind(r.item.class.code())
                    .push_bind(r.item.selfpay_prop.units() as i32)
                    .push_bind(r.item.price_cap.map(Money::cents))
                    .push_bind(ctx.at);
            });
            insert.build().execute(&mut *tx).await?;
        }
        let scopes: Vec<String> = scopes.into_iter().collect();
        audit.push(
            "settlement.catalogue_load",
            scopes.join(","),
            json!({ "rows": rows.len(), "replaced": replaced }),
        );
        Loaded {
            rows: rows.len(),
            replaced,
            scopes,
        }
    })
}

/// The policy of an insured place for a year, insutype and `med_type`, if loaded.
pub(crate) async fn policy_for(
    pool: &Pool,
    _cfg: &Config,
    region: &str,
    year: i32,
    insutype: &str,
    med_type: &str,
) -> Result<Option<sscard_core::settlement::Policy>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM settlement_policies \
         WHERE region = $1 AND year = $2 AND insutype = $3 AND med_type = $4"
    ))
    .bind(region)
    .bind(year)
    .bind(insutype)
    .bind(med_type)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(policy_from_row).transpose()
}

/// The columns of a `settlement_policies` row that [`policy_from_row`] reads.
pub(super) const POLICY_COLUMNS: &str = "deductible_cents, ratio_1, ratio_2, ratio_3, \
    ratio_pharmacy, pool_cap_cents, second_tier_ratio, second_tier_cap_cents, unfiled_reduction, \
    account";

/// A policy row's numbers.
pub(super) fn policy_from_row(r: &DbRow) -> Result<sscard_core::settlement::Policy, StoreError> {
    use sscard_core::money::Fixed4;
    let ratio = |c: &str| -> Result<Fixed4, StoreError> {
        Ok(Fixed4::from_units(i64::from(r.try_get::<i32, _>(c)?)))
    };
    Ok(sscard_core::settlement::Policy {
        deductible: Money::from_cents(r.try_get("deductible_cents")?),
        ratio_by_level: [ratio("ratio_1")?, ratio("ratio_2")?, ratio("ratio_3")?],
        ratio_pharmacy: ratio("ratio_pharmacy")?,
        pool_cap: Money::from_cents(r.try_get("pool_cap_cents")?),
        second_tier_ratio: ratio("second_tier_ratio")?,
        second_tier_cap: Money::from_cents(r.try_get("second_tier_cap_cents")?),
        unfiled_reduction: ratio("unfiled_reduction")?,
        account: r.try_get("account")?,
    })
}

async fn transfers_of(tx: &mut Tx<'_>, person_id: Uuid) -> Result<Vec<Transfer>, StoreError> {
    let rows = sqlx::query(
        "SELECT serial, insutype, from_region, to_region, transfer_date, contribution_months, \
         balance_moved_cents FROM insurance_transfers WHERE person_id = $1 \
         ORDER BY transfer_date, created_at",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Transfer {
                serial: r.try_get("serial")?,
                insutype: r.try_get("insutype")?,
                from: r.try_get("from_region")?,
                to: r.try_get("to_region")?,
                date: r.try_get("transfer_date")?,
                contribution_months: r.try_get("contribution_months")?,
                balance_moved: Money::from_cents(r.try_get("balance_moved_cents")?),
            })
        })
        .collect()
}

/// Whole months from `from` to `to` (a part month counts as none).
fn months_between(from: NaiveDate, to: NaiveDate) -> i64 {
    let m =
        i64::from(to.year() - from.year()) * 12 + i64::from(to.month()) - i64::from(from.month());
    (if to.day() < from.day() { m - 1 } else { m }).max(0)
}

/// What a transfer must say: a city code other than the current insured place, a date after
/// the current enrolment began.
fn check_transfer(input: &TransferInput, from: &str, begin: NaiveDate) -> Result<(), StoreError> {
    if !sscard_core::settlement::is_city_code(&input.to) {
        return Err(refused(
            "insurance.region",
            format!("转入地 {} 不是城市行政区划代码（如 320500）", input.to),
            format!(
                "the new insured place {} is not a city code (e.g. 320500)",
                input.to
            ),
        ));
    }
    if from == input.to {
        return Err(refused(
            "insurance.same_region",
            format!("该人员已在 {from} 参保，无需转移"),
            format!("this person is already insured at {from}; nothing to transfer"),
        ));
    }
    if input.date <= begin {
        return Err(refused(
            "insurance.transfer_date",
            format!("转移日期 {} 应晚于现参保开始日 {begin}", input.date),
            format!(
                "the transfer date {} must be after the enrolment began ({begin})",
                input.date
            ),
        ));
    }
    Ok(())
}

/// Ends the old enrolment the day before the transfer and begins the new one on it.
async fn move_enrolment(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    person_id: Uuid,
    old_id: Uuid,
    input: &TransferInput,
    psn_type: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE insurance_enrolments SET status = 'ended', end_date = $1, updated_at = $2, \
             version = version + 1 WHERE id = $3",
    )
    .bind(input.date - chrono::Duration::days(1))
    .bind(ctx.at)
    .bind(old_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO insurance_enrolments (id, person_id, insutype, region, psn_type, status, \
             begin_date, end_date, employer, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'active', $6, NULL, $7, $8, $8)",
    )
    .bind(Uuid::now_v7())
    .bind(person_id)
    .bind(&input.insutype)
    .bind(&input.to)
    .bind(psn_type)
    .bind(input.date)
    .bind(&input.employer)
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// 关系转移接续: moves a person's enrolment in an insutype to another city. The old enrolment
/// ends the day before `date`, a new one begins on it with the same `psn_type`; the card,
/// its number and the person's `psn_no` stay; the personal account follows the person (its
/// balance is recorded as moved); the months of contributions so far are carried over.
pub(crate) async fn transfer_insurance(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    input: &TransferInput,
) -> Result<Transfer, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let person = insured_person(&mut tx, ctx, &input.id).await?;
        let active = sqlx::query(&format!(
            "SELECT id, region, psn_type, begin_date, employer FROM insurance_enrolments \
             WHERE person_id = $1 AND insutype = $2 AND status = 'active'{FOR_UPDATE}"
        ))
        .bind(person.id)
        .bind(&input.insutype)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            refused(
                "insurance.not_enrolled",
                format!("该人员未参加险种 {}，无可转移的关系", input.insutype),
                format!(
                    "this person is not enrolled in {}; nothing to transfer",
                    input.insutype
                ),
            )
        })?;
        let old_id: Uuid = active.try_get("id")?;
        let from: String = active.try_get("region")?;
        let psn_type: String = active.try_get("psn_type")?;
        let begin: NaiveDate = active.try_get("begin_date")?;
        let from_employer: Option<String> = active.try_get("employer")?;
        check_transfer(input, &from, begin)?;
        let earlier: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(contribution_months), 0) AS BIGINT) FROM insurance_transfers \
             WHERE person_id = $1 AND insutype = $2",
        )
        .bind(person.id)
        .bind(&input.insutype)
        .fetch_one(&mut *tx)
        .await?;
        let months = earlier + months_between(begin, input.date);
        let balance: Option<i64> = sqlx::query_scalar(
            "SELECT balance_cents FROM insurance_accounts WHERE person_id = $1 AND insutype = $2",
        )
        .bind(person.id)
        .bind(&input.insutype)
        .fetch_optional(&mut *tx)
        .await?;
        move_enrolment(&mut tx, ctx, person.id, old_id, input, &psn_type).await?;
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO counters (name, value) VALUES ('transfer', 1) \
             ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await?;
        let serial = format!("ZY{from}{n:010}");
        let moved = Money::from_cents(balance.unwrap_or(0));
        sqlx::query(
            "INSERT INTO insurance_transfers (id, serial, person_id, insutype, from_region, \
             to_region, transfer_date, contribution_months, balance_moved_cents, from_employer, \
             to_employer, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(Uuid::now_v7())
        .bind(&serial)
        .bind(person.id)
        .bind(&input.insutype)
        .bind(&from)
        .bind(&input.to)
        .bind(input.date)
        .bind(months)
        .bind(moved.cents())
        .bind(&from_employer)
        .bind(&input.employer)
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;
        audit.push(
            "insurance.transfer",
            serial.as_str(),
            json!({
                "person": input.id.masked(), "insutype": input.insutype, "from": from,
                "to": input.to, "date": input.date, "months": months, "balance": moved,
            }),
        );
        Transfer {
            serial,
            insutype: input.insutype.clone(),
            from,
            to: input.to.clone(),
            date: input.date,
            contribution_months: months,
            balance_moved: moved,
        }
    })
}

/// Whether the person draws a pension: an active enrolment with a retired `psn_type`.
async fn pensioner(tx: &mut Tx<'_>, person_id: Uuid) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM insurance_enrolments WHERE person_id = $1 AND status = 'active' \
         AND psn_type IN ('1201', '1202', '1203', '1300')",
    )
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// The holder of a card checked online at a terminal of the actor's institution in the last
/// 30 minutes, the city of that institution, and the terminal's number.
async fn holder_at_terminal(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    card_number: &str,
    check_token: &str,
) -> Result<(PersonRow, String, String), StoreError> {
    let r = sqlx::query(
        "SELECT c.valid_until, t.number, i.code, i.region FROM terminal_checks c \
         JOIN terminals t ON t.id = c.terminal_id \
         JOIN institutions i ON i.id = t.institution_id \
         WHERE c.token_hash = $1 AND c.card_number = $2",
    )
    .bind(token_digest(check_token))
    .bind(card_number)
    .fetch_optional(&mut **tx)
    .await?;
    let masked = mask_middle(card_number, 2, 2);
    let not_checked = || {
        refused(
            "card.not_checked",
            format!("卡 {masked} 未在终端联机验卡，或验卡已超过 30 分钟：请重新读卡"),
            format!(
                "card {masked} was not checked online at a terminal in the last 30 minutes: read it again"
            ),
        )
    };
    let Some(r) = r else {
        return Err(not_checked());
    };
    let until: Option<DateTime<Utc>> = r.try_get("valid_until")?;
    let institution: String = r.try_get("code")?;
    let checked_at: String = r.try_get("number")?;
    // A terminal may use only its own check; the centre or the institution's system any of the
    // institution's terminals' checks.
    match ctx.actor.name().strip_prefix("terminal:") {
        Some(own) if own != checked_at => {
            return Err(StoreError::OutOfScope(sscard_core::ScopeError {
                scope: ctx.actor.scope().clone(),
                object: sscard_core::ScopeObject::Institution { code: institution },
            }));
        }
        Some(_) => {}
        None => ctx.actor.check_at_institution(&institution)?,
    }
    if until.is_none_or(|u| u <= ctx.at) {
        return Err(not_checked());
    }
    let district: String = r.try_get("region")?;
    let holder: Option<Uuid> = sqlx::query_scalar(
        "SELECT person_id FROM cards WHERE card_number = $1 AND ss_status = 1 \
         AND superseded_by IS NULL",
    )
    .bind(card_number)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(holder) = holder else {
        return Err(not_checked());
    };
    let row = sqlx::query(&format!("{PERSON_SELECT} WHERE p.id = $1"))
        .bind(holder)
        .fetch_one(&mut **tx)
        .await?;
    let person = person_from_row(&row)?;
    let city = format!("{}00", &district[..4.min(district.len())]);
    Ok((person, city, r.try_get("number")?))
}

/// 领取资格认证: records a pensioner's certification at an outlet (the clerk's own, or any for
/// the centre) or at a terminal that checked the card online in the last 30 minutes (the
/// terminal's institution's city).
pub(crate) async fn certify_pension(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    id: Option<&sscard_ids::ResidentId>,
    at: &crate::insurance::CertifyAt,
) -> Result<crate::insurance::Certification, StoreError> {
    use crate::insurance::CertifyAt;
    unit_of_work!(pool, ctx, |tx, audit| {
        let (person, region, place, card) = match at {
            CertifyAt::Outlet(code) => {
                ctx.actor.check_point(code)?;
                let region: String =
                    sqlx::query_scalar("SELECT region FROM outlets WHERE code = $1")
                        .bind(code)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| StoreError::NotFound {
                            what: "outlet",
                            key: code.clone(),
                        })?;
                let id = id.ok_or_else(|| {
                    refused(
                        "pension.id",
                        "柜台认证须提供身份证号码".into(),
                        "a certification at the counter needs the ID number".into(),
                    )
                })?;
                let person = insured_person(&mut tx, ctx, id).await?;
                let city = format!("{}00", &region[..4.min(region.len())]);
                (person, city, code.clone(), None)
            }
            CertifyAt::Terminal {
                card_number,
                check_token,
            } => {
                let (person, city, terminal) =
                    holder_at_terminal(&mut tx, ctx, card_number, check_token).await?;
                (person, city, terminal, Some(card_number.clone()))
            }
        };
        if !pensioner(&mut tx, person.id).await? {
            return Err(refused(
                "pension.not_pensioner",
                "该人员不是退休人员，无需领取资格认证".into(),
                "this person does not draw a pension; no certification is needed".into(),
            ));
        }
        let channel = match at {
            CertifyAt::Outlet(_) => "outlet",
            CertifyAt::Terminal { .. } => "terminal",
        };
        sqlx::query(
            "INSERT INTO pension_certifications (id, person_id, certified_at, region, channel, \
             outlet_code, terminal_number, card_number, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $3)",
        )
        .bind(Uuid::now_v7())
        .bind(person.id)
        .bind(ctx.at)
        .bind(&region)
        .bind(channel)
        .bind((channel == "outlet").then_some(place.as_str()))
        .bind((channel == "terminal").then_some(place.as_str()))
        .bind(&card)
        .execute(&mut *tx)
        .await?;
        audit.push(
            "pension.certify",
            mask_middle(&person.ssn, 4, 4),
            json!({ "region": region, "channel": channel, "place": place }),
        );
        crate::insurance::Certification {
            certified_at: ctx.at,
            region,
            channel: channel.into(),
            place,
        }
    })
}

/// Whether a pensioner may be paid at `ctx.at`: a certification in the last 12 months.
pub(crate) async fn pension_status(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    id: &sscard_ids::ResidentId,
) -> Result<crate::insurance::PensionStatus, StoreError> {
    use crate::insurance::{CERTIFICATION_MONTHS, Certification, PensionStatus};
    let mut tx = snapshot(pool).await?;
    let person = insured_person(&mut tx, ctx, id).await?;
    if !pensioner(&mut tx, person.id).await? {
        return Err(refused(
            "pension.not_pensioner",
            "该人员不是退休人员".into(),
            "this person does not draw a pension".into(),
        ));
    }
    let r = sqlx::query(
        "SELECT certified_at, region, channel, outlet_code, terminal_number \
         FROM pension_certifications WHERE person_id = $1 ORDER BY certified_at DESC LIMIT 1",
    )
    .bind(person.id)
    .fetch_optional(&mut *tx)
    .await?;
    let last = r
        .map(|r| -> Result<Certification, StoreError> {
            let outlet: Option<String> = r.try_get("outlet_code")?;
            let terminal: Option<String> = r.try_get("terminal_number")?;
            Ok(Certification {
                certified_at: r.try_get("certified_at")?,
                region: r.try_get("region")?,
                channel: r.try_get("channel")?,
                place: outlet.or(terminal).unwrap_or_default(),
            })
        })
        .transpose()?;
    let valid_until = last.as_ref().map(|c| {
        c.certified_at
            .checked_add_months(chrono::Months::new(CERTIFICATION_MONTHS))
            .unwrap_or(c.certified_at)
    });
    let held = valid_until.is_none_or(|u| u <= ctx.at);
    let (reason, reason_en) = match (&last, held) {
        (_, false) => (None, None),
        (None, true) => (
            Some("从未进行领取资格认证：请到任一城市的经办网点或带社保卡到任一终端认证".to_owned()),
            Some(
                "never certified: certify at any city's outlet or with the card at any terminal"
                    .to_owned(),
            ),
        ),
        (Some(c), true) => (
            Some(format!(
                "上次认证于 {}，已超过 12 个月：暂停发放，认证后恢复",
                (c.certified_at + chrono::Duration::hours(8)).format("%Y-%m-%d")
            )),
            Some(format!(
                "last certified on {}, more than 12 months ago: payment held until certified",
                (c.certified_at + chrono::Duration::hours(8)).format("%Y-%m-%d")
            )),
        ),
    };
    Ok(PensionStatus {
        id_masked: id.masked(),
        last,
        valid_until,
        held,
        reason,
        reason_en,
    })
}
