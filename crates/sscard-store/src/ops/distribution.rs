//! Service points and sorted distribution: outlets and on-site points, opening days, the plan
//! of a batch (box and slot of every card).

use super::*;

pub(crate) async fn upsert_outlet(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    o: &crate::Outlet,
) -> Result<(), StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
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

pub(super) const POINT_SELECT: &str = "SELECT o.code, o.name_zh, o.name_en, o.kind, o.opening_days, \
     e.name AS employer_name, e.credit_code FROM outlets o LEFT JOIN employers e ON e.id = o.employer_id";

pub(super) fn point_from_row(row: &DbRow) -> Result<DistributionPoint, StoreError> {
    let days: Option<String> = row.try_get("opening_days")?;
    let opening_days = match days {
        Some(text) => serde_json::from_str(&text).map_err(|_| corrupt("opening_days"))?,
        None => Vec::new(),
    };
    Ok(DistributionPoint {
        id: row.try_get("code")?,
        name: row.try_get("name_zh")?,
        name_en: row.try_get("name_en")?,
        kind: row.try_get("kind")?,
        employer: row.try_get("employer_name")?,
        employer_code: row.try_get("credit_code")?,
        opening_days,
    })
}

pub(super) async fn point_by_code<'e, E>(
    exec: E,
    code: &str,
) -> Result<DistributionPoint, StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
{
    let sql = format!("{POINT_SELECT} WHERE o.code = $1");
    let row = sqlx::query(&sql).bind(code).fetch_optional(exec).await?;
    match row {
        Some(row) => point_from_row(&row),
        None => Err(StoreError::NotFound {
            what: "outlet",
            key: code.to_owned(),
        }),
    }
}

pub(crate) async fn distribution_points(
    pool: &Pool,
    _cfg: &Config,
) -> Result<Vec<DistributionPoint>, StoreError> {
    let sql = format!("{POINT_SELECT} ORDER BY o.code");
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    rows.iter().map(point_from_row).collect()
}

pub(crate) async fn distribution_point(
    pool: &Pool,
    _cfg: &Config,
    code: &str,
) -> Result<DistributionPoint, StoreError> {
    point_by_code(pool, code).await
}

pub(crate) async fn set_opening_days(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    code: &str,
    days: &[NaiveDate],
) -> Result<(), StoreError> {
    let mut days = days.to_vec();
    days.sort_unstable();
    days.dedup();
    let text = (!days.is_empty()).then(|| json!(days).to_string());
    unit_of_work!(pool, ctx, |tx, audit| {
        let updated = sqlx::query("UPDATE outlets SET opening_days = $1 WHERE code = $2")
            .bind(&text)
            .bind(code)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::NotFound {
                what: "outlet",
                key: code.to_owned(),
            });
        }
        audit.push("outlet.opening_days", code, json!({ "days": days }));
    })
}

pub(super) fn refused(code: &'static str, zh: String, en: String) -> StoreError {
    StoreError::Refused { code, zh, en }
}

/// A card of a batch that reached its outlet, with what the plan orders by.
pub(super) struct ReceivedCard {
    pub(super) card_id: Uuid,
    pub(super) person_id: Uuid,
    pub(super) outlet: Option<String>,
}

pub(crate) async fn plan_distribution(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    number: i64,
    point: &str,
    box_size: u32,
) -> Result<DistributionPlan, StoreError> {
    if !(1..=10_000).contains(&box_size) {
        return Err(refused(
            "distribution.box_size",
            format!("每箱张数 {box_size} 无效：请给 1 到 10000 之间的数"),
            format!("box size {box_size} is not valid: give a number from 1 to 10000"),
        ));
    }
    unit_of_work!(pool, ctx, |tx, audit| {
        let (batch_id, _, _) = batch_head(&mut tx, number).await?;
        let the_point = point_by_code(&mut *tx, point).await?;
        let entries = received_cards(&mut tx, number).await?;
        check_plannable(number, &the_point, &entries)?;
        clear_old_plan(&mut tx, number, batch_id).await?;
        let (placed, labels) = sscard_core::distribution::plan(entries, box_size as usize);
        let plan_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO distribution_plans (id, batch_id, outlet, box_size, cards, created_at, actor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(plan_id)
        .bind(batch_id)
        .bind(point)
        .bind(box_size as i32)
        .bind(placed.len() as i32)
        .bind(ctx.at)
        .bind(ctx.actor.name())
        .execute(&mut *tx)
        .await?;
        for label in &labels {
            sqlx::query(
                "INSERT INTO distribution_boxes (plan_id, box, cards, label) VALUES ($1, $2, $3, $4)",
            )
            .bind(plan_id)
            .bind(label.number as i32)
            .bind(label.cards as i32)
            .bind(label.text())
            .execute(&mut *tx)
            .await?;
        }
        for (i, chunk) in placed.chunks(500).enumerate() {
            let mut insert = sqlx::QueryBuilder::<DB>::new(
                "INSERT INTO distribution_slots (card_id, plan_id, person_id, box, slot, position) ",
            );
            insert.push_values(chunk.iter().enumerate(), |mut b, (j, (e, place))| {
                b.push_bind(e.item.card_id)
                    .push_bind(plan_id)
                    .push_bind(e.item.person_id)
                    .push_bind(place.r#box as i32)
                    .push_bind(place.slot as i32)
                    .push_bind((i * 500 + j + 1) as i32);
            });
            insert.build().execute(&mut *tx).await?;
        }
        audit.push(
            "distribution.plan",
            number.to_string(),
            json!({ "point": point, "cards": placed.len(), "boxes": labels.len(), "box_size": box_size }),
        );
        read_plan(&mut tx, cfg, number).await?
    })
}

/// The batch's cards that reached an outlet, as entries to order.
pub(super) async fn received_cards(
    tx: &mut Tx<'_>,
    number: i64,
) -> Result<Vec<sscard_core::distribution::Entry<ReceivedCard>>, StoreError> {
    let rows = sqlx::query(
        "SELECT c.id AS card_id, p.id AS person_id, p.name, p.workshop, p.department, a.outlet \
         FROM batch_rows r JOIN batches b ON b.id = r.batch_id JOIN persons p ON p.id = r.person_id \
         JOIN cards c ON c.card_number = r.card_number JOIN applications a ON a.id = r.application_id \
         WHERE b.number = $1 AND r.step = 'received'",
    )
    .bind(number)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(sscard_core::distribution::Entry {
                workshop: r
                    .try_get::<Option<String>, _>("workshop")?
                    .unwrap_or_default(),
                department: r
                    .try_get::<Option<String>, _>("department")?
                    .unwrap_or_default(),
                name: r.try_get("name")?,
                item: ReceivedCard {
                    card_id: r.try_get("card_id")?,
                    person_id: r.try_get("person_id")?,
                    outlet: r.try_get("outlet")?,
                },
            })
        })
        .collect()
}

pub(super) fn check_plannable(
    number: i64,
    point: &DistributionPoint,
    entries: &[sscard_core::distribution::Entry<ReceivedCard>],
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Err(refused(
            "distribution.nothing_received",
            format!(
                "批次 {number} 还没有卡到达网点：请先接收（sscard batch receive {number} --outlet {}）",
                point.id
            ),
            format!(
                "no card of batch {number} has reached an outlet yet: receive it first (sscard batch receive {number} --outlet {})",
                point.id
            ),
        ));
    }
    if let Some(other) = entries
        .iter()
        .filter_map(|e| e.item.outlet.as_deref())
        .find(|o| *o != point.id)
    {
        return Err(refused(
            "distribution.other_point",
            format!(
                "批次 {number} 的卡在 {other} 接收，不在 {}：请按接收网点制定发放计划",
                point.id
            ),
            format!(
                "batch {number} was received at {other}, not at {}: plan its distribution at the point that received it",
                point.id
            ),
        ));
    }
    Ok(())
}

/// Removes a batch's earlier plan, unless cards of it were handed over already.
pub(super) async fn clear_old_plan(
    tx: &mut Tx<'_>,
    number: i64,
    batch_id: Uuid,
) -> Result<(), StoreError> {
    let old: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM distribution_plans WHERE batch_id = $1")
            .bind(batch_id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(old) = old else {
        return Ok(());
    };
    let started: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pickups pk JOIN distribution_slots s ON s.card_id = pk.card_id \
         WHERE s.plan_id = $1",
    )
    .bind(old)
    .fetch_one(&mut **tx)
    .await?;
    if started > 0 {
        return Err(refused(
            "distribution.started",
            format!("批次 {number} 已发放 {started} 张卡：发放开始后不能重新分箱"),
            format!(
                "{started} cards of batch {number} have been handed over: the boxes cannot be re-planned once pickup has started"
            ),
        ));
    }
    for sql in [
        "DELETE FROM distribution_slots WHERE plan_id = $1",
        "DELETE FROM distribution_boxes WHERE plan_id = $1",
        "DELETE FROM distribution_plans WHERE id = $1",
    ] {
        sqlx::query(sql).bind(old).execute(&mut **tx).await?;
    }
    Ok(())
}

pub(crate) async fn distribution_plan(
    pool: &Pool,
    cfg: &Config,
    number: i64,
) -> Result<DistributionPlan, StoreError> {
    let mut conn = pool.acquire().await?;
    read_plan(&mut conn, cfg, number).await
}

pub(super) async fn read_plan(
    conn: &mut <DB as sqlx::Database>::Connection,
    _cfg: &Config,
    number: i64,
) -> Result<DistributionPlan, StoreError> {
    let head = sqlx::query(
        "SELECT dp.id, dp.outlet, dp.box_size, dp.created_at, e.name AS employer FROM distribution_plans dp \
         JOIN batches b ON b.id = dp.batch_id JOIN employers e ON e.id = b.employer_id WHERE b.number = $1",
    )
    .bind(number)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound {
        what: "distribution plan",
        key: number.to_string(),
    })?;
    let plan_id: Uuid = head.try_get("id")?;
    let outlet: String = head.try_get("outlet")?;
    let point = point_by_code(&mut *conn, &outlet).await?;
    let rows = sqlx::query(
        "SELECT s.box, s.slot, s.position, c.card_number, c.handed_over, p.name, p.ssn, p.workshop, p.department \
         FROM distribution_slots s JOIN cards c ON c.id = s.card_id JOIN persons p ON p.id = s.person_id \
         WHERE s.plan_id = $1 ORDER BY s.position",
    )
    .bind(plan_id)
    .fetch_all(&mut *conn)
    .await?;
    let entries = rows
        .iter()
        .map(|r| {
            let ssn: String = r.try_get("ssn")?;
            Ok(PlanEntry {
                position: r.try_get::<i32, _>("position")? as u32,
                workshop: r
                    .try_get::<Option<String>, _>("workshop")?
                    .unwrap_or_default(),
                department: r
                    .try_get::<Option<String>, _>("department")?
                    .unwrap_or_default(),
                name: r.try_get("name")?,
                id_masked: mask_middle(&ssn, 4, 4),
                card_number: r.try_get("card_number")?,
                r#box: r.try_get::<i32, _>("box")? as u32,
                slot: r.try_get::<i32, _>("slot")? as u32,
                handed_over: r.try_get("handed_over")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let boxes = sqlx::query(
        "SELECT box, cards, label FROM distribution_boxes WHERE plan_id = $1 ORDER BY box",
    )
    .bind(plan_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(PlanBox {
            number: r.try_get::<i32, _>("box")? as u32,
            cards: r.try_get::<i32, _>("cards")? as u32,
            label: r.try_get("label")?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(DistributionPlan {
        batch: number,
        employer: head.try_get("employer")?,
        point,
        box_size: head.try_get::<i32, _>("box_size")? as u32,
        created_at: head.try_get("created_at")?,
        entries,
        boxes,
    })
}
