//! The pickup desk: lookup and hand-over, missing cards, queue counts and a point's live
//! figures.

use super::*;

pub(super) fn is_lost(ss: SsStatus) -> bool {
    matches!(ss, SsStatus::TemporaryLoss | SsStatus::FormalLoss)
}

/// What a desk at `point` finds for `ssn`; the card to hand over when it is ready.
pub(super) async fn find_pickup(
    conn: &mut <DB as sqlx::Database>::Connection,
    point: &str,
    ssn: &ResidentId,
) -> Result<(PickupOutcome, Option<ReadyCard>), StoreError> {
    let point = point_by_code(&mut *conn, point).await?;
    let Some(person) = person_by_ssn(&mut *conn, ssn.expose()).await? else {
        return Ok((
            PickupOutcome::NoCard {
                reason: "unknown_person",
            },
            None,
        ));
    };
    let other_employer = point.kind == "employer_site"
        && point.employer_code.is_some()
        && person.employer != point.employer_code;
    let waiting = sqlx::query(
        "SELECT c.card_number, a.outlet, o.name_zh FROM applications a LEFT JOIN outlets o ON o.code = a.outlet \
         LEFT JOIN cards c ON c.application_id = a.id WHERE a.person_id = $1 AND a.status = '02' \
         ORDER BY c.created_at DESC",
    )
    .bind(person.id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(w) = waiting {
        let outlet: Option<String> = w.try_get("outlet")?;
        let outlet_name: Option<String> = w.try_get("name_zh")?;
        if outlet.as_deref() != Some(point.id.as_str()) {
            let name = outlet_name.or(outlet.clone()).unwrap_or_default();
            return Ok((
                if other_employer {
                    PickupOutcome::OtherEmployer { point: Some(name) }
                } else {
                    PickupOutcome::Elsewhere {
                        point: name,
                        point_id: outlet.unwrap_or_default(),
                    }
                },
                None,
            ));
        }
        let number: Option<String> = w.try_get("card_number")?;
        let number = CardNumber::parse(number.as_deref().unwrap_or_default())
            .map_err(|_| corrupt("application card_number"))?;
        return ready_card(conn, &person, number).await;
    }
    settled_outcome(conn, &person, other_employer).await
}

/// The person's card waits at this point: ready, unless it was reported lost or missing.
pub(super) async fn ready_card(
    conn: &mut <DB as sqlx::Database>::Connection,
    person: &PersonRow,
    number: CardNumber,
) -> Result<(PickupOutcome, Option<ReadyCard>), StoreError> {
    let card = card_by_number(&mut *conn, &number).await?;
    let slot =
        sqlx::query("SELECT box, slot, missing_at FROM distribution_slots WHERE card_id = $1")
            .bind(card.id)
            .fetch_optional(&mut *conn)
            .await?;
    let mut place = None;
    if let Some(s) = &slot {
        let missing: Option<DateTime<Utc>> = s.try_get("missing_at")?;
        if missing.is_some() {
            return Ok((
                PickupOutcome::Lost {
                    card_number: number.to_string(),
                    since: missing,
                },
                None,
            ));
        }
        place = Some((
            s.try_get::<i32, _>("box")? as u32,
            s.try_get::<i32, _>("slot")? as u32,
        ));
    }
    if is_lost(card.state.ss) {
        return Ok((
            PickupOutcome::Lost {
                card_number: number.to_string(),
                since: card.state.temporary_loss_since,
            },
            None,
        ));
    }
    let photo: Option<Vec<u8>> = sqlx::query_scalar("SELECT jpeg FROM photos WHERE person_id = $1")
        .bind(person.id)
        .fetch_optional(&mut *conn)
        .await?;
    let pickup = PickupCard {
        card_number: number.to_string(),
        name_masked: mask_name(&person.name),
        id_masked: mask_middle(&person.ssn, 4, 4),
        workshop: person.workshop.clone().unwrap_or_default(),
        department: person.department.clone().unwrap_or_default(),
        r#box: place.map(|p| p.0),
        slot: place.map(|p| p.1),
        photo,
    };
    Ok((
        PickupOutcome::Ready { card: pickup },
        Some(ReadyCard {
            card_id: card.id,
            card_number: number,
        }),
    ))
}

/// No card waits for the person: picked up before, lost, another employer's, or none.
pub(super) async fn settled_outcome(
    conn: &mut <DB as sqlx::Database>::Connection,
    person: &PersonRow,
    other_employer: bool,
) -> Result<(PickupOutcome, Option<ReadyCard>), StoreError> {
    let latest = sqlx::query(
        "SELECT c.card_number, c.ss_status, c.handed_over, c.temporary_loss_since, c.updated_at, \
         pk.at, pk.proxy_ssn, o.name_zh, ao.name_zh AS app_outlet \
         FROM cards c LEFT JOIN pickups pk ON pk.card_id = c.id LEFT JOIN outlets o ON o.code = pk.outlet \
         LEFT JOIN applications a ON a.id = c.application_id LEFT JOIN outlets ao ON ao.code = a.outlet \
         WHERE c.person_id = $1 AND c.handed_over = $2 ORDER BY c.created_at DESC, c.card_number DESC",
    )
    .bind(person.id)
    .bind(true)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(l) = latest {
        let number: String = l.try_get("card_number")?;
        let ss = ss_from_code(l.try_get("ss_status")?)?;
        if is_lost(ss) {
            let since: Option<DateTime<Utc>> = l.try_get("temporary_loss_since")?;
            let updated: DateTime<Utc> = l.try_get("updated_at")?;
            return Ok((
                PickupOutcome::Lost {
                    card_number: number,
                    since: since.or(Some(updated)),
                },
                None,
            ));
        }
        let proxy: Option<String> = l.try_get("proxy_ssn")?;
        let point: Option<String> = l.try_get("name_zh")?;
        let app_outlet: Option<String> = l.try_get("app_outlet")?;
        return Ok((
            PickupOutcome::AlreadyPickedUp {
                card_number: number,
                at: l.try_get("at")?,
                point: point.or(app_outlet),
                proxy: proxy.map(|p| mask_middle(&p, 4, 4)),
            },
            None,
        ));
    }
    if other_employer {
        return Ok((PickupOutcome::OtherEmployer { point: None }, None));
    }
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM applications WHERE person_id = $1 AND status IN ('00', '01')",
    )
    .bind(person.id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((
        PickupOutcome::NoCard {
            reason: if open > 0 { "in_production" } else { "none" },
        },
        None,
    ))
}

pub(crate) async fn pickup_lookup(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    point: &str,
    ssn: &ResidentId,
) -> Result<PickupOutcome, StoreError> {
    ctx.actor.check_point(point)?;
    let mut conn = pool.acquire().await?;
    Ok(find_pickup(&mut conn, point, ssn).await?.0)
}

pub(crate) async fn pickup_hand_over(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    point: &str,
    ssn: &ResidentId,
    proxy: Option<&ProxyInput>,
    handling_ms: Option<u32>,
) -> Result<PickupOutcome, StoreError> {
    let proxy = proxy.filter(|p| p.id.expose() != ssn.expose());
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_point(point)?;
        let (outcome, ready) = find_pickup(&mut tx, point, ssn).await?;
        let (Some(ready), PickupOutcome::Ready { card }) = (ready, outcome.clone()) else {
            return Ok(outcome);
        };
        match apply_card_event(
            &mut tx,
            cfg,
            ctx,
            &ready.card_number,
            &CardEvent::HandOver,
            &mut audit,
        )
        .await
        {
            // Another desk handed it over between the lookup and here (PostgreSQL reads each
            // statement's latest commit): start again, and the lookup will say so.
            Err(StoreError::Refused {
                code: "card.already_handed_over",
                ..
            }) => return Err(StoreError::Retry),
            other => drop(other?),
        }
        let person_id: Uuid = sqlx::query_scalar("SELECT person_id FROM cards WHERE id = $1")
            .bind(ready.card_id)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO pickups (id, card_id, person_id, outlet, desk, proxy_ssn, proxy_name, handling_ms, at, at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(Uuid::now_v7())
        .bind(ready.card_id)
        .bind(person_id)
        .bind(point)
        .bind(ctx.actor.name())
        .bind(proxy.map(|p| p.id.expose().to_owned()))
        .bind(proxy.map(|p| p.name.clone()))
        .bind(handling_ms.map(|ms| ms.min(3_600_000) as i32))
        .bind(ctx.at)
        .bind(ctx.at.timestamp_micros())
        .execute(&mut *tx)
        .await?;
        let proxy_masked = proxy.map(|p| mask_middle(p.id.expose(), 4, 4));
        audit.push(
            "pickup.hand_over",
            ready.card_number.as_str(),
            json!({
                "point": point,
                "box": card.r#box,
                "slot": card.slot,
                "proxy": proxy_masked,
                "proxy_name": proxy.map(|p| mask_name(&p.name)),
                "handling_ms": handling_ms,
            }),
        );
        PickupOutcome::HandedOver {
            card,
            at: ctx.at,
            proxy: proxy_masked,
        }
    })
}

pub(crate) async fn mark_card_missing(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    point: &str,
    number: &CardNumber,
    missing: bool,
) -> Result<(), StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_point(point)?;
        let card = card_by_number(&mut *tx, number).await?;
        let in_plan: Option<String> = sqlx::query_scalar(
            "SELECT dp.outlet FROM distribution_slots s JOIN distribution_plans dp ON dp.id = s.plan_id \
             WHERE s.card_id = $1",
        )
        .bind(card.id)
        .fetch_optional(&mut *tx)
        .await?;
        if in_plan.as_deref() != Some(point) {
            return Err(refused(
                "distribution.not_in_plan",
                format!("卡 {number} 不在 {point} 的发放计划中"),
                format!("card {number} is not in the distribution plan of {point}"),
            ));
        }
        if card.state.handed_over {
            return Err(refused(
                "distribution.handed_over",
                format!("卡 {number} 已发放，不能登记为丢失：请按挂失办理"),
                format!(
                    "card {number} has been handed over and cannot be marked missing: report the loss instead"
                ),
            ));
        }
        sqlx::query(
            "UPDATE distribution_slots SET missing_at = $1, missing_by = $2 WHERE card_id = $3",
        )
        .bind(missing.then_some(ctx.at))
        .bind(missing.then(|| ctx.actor.name().to_owned()))
        .bind(card.id)
        .execute(&mut *tx)
        .await?;
        audit.push(
            if missing {
                "pickup.missing"
            } else {
                "pickup.found"
            },
            number.as_str(),
            json!({ "point": point }),
        );
    })
}

pub(crate) async fn report_queue(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    point: &str,
    waiting: u32,
) -> Result<(), StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_point(point)?;
        point_by_code(&mut *tx, point).await?;
        sqlx::query(
            "INSERT INTO pickup_queues (outlet, waiting, reported_at, reported_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (outlet) DO UPDATE SET waiting = $2, reported_at = $3, reported_by = $4",
        )
        .bind(point)
        .bind(waiting.min(100_000) as i32)
        .bind(ctx.at)
        .bind(ctx.actor.name())
        .execute(&mut *tx)
        .await?;
        audit.push("pickup.queue", point, json!({ "waiting": waiting }));
    })
}

pub(crate) async fn pickup_figures(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    point: &str,
    now: DateTime<Utc>,
) -> Result<PickupFigures, StoreError> {
    ctx.actor.check_point(point)?;
    let mut conn = pool.acquire().await?;
    let the_point = point_by_code(&mut *conn, point).await?;
    let date = china_date(now);
    let day_start =
        date.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - chrono::Duration::hours(8);
    let rows = sqlx::query(
        "SELECT at_us, handling_ms, desk FROM pickups WHERE outlet = $1 AND at_us >= $2",
    )
    .bind(point)
    .bind(day_start.timestamp_micros())
    .fetch_all(&mut *conn)
    .await?;
    let mut per_hour = vec![0u32; 24];
    let (mut last_hour, mut handling_sum, mut handling_n) = (0u32, 0u64, 0u64);
    let mut desks = std::collections::BTreeSet::new();
    let now_us = now.timestamp_micros();
    for r in &rows {
        let at_us: i64 = r.try_get("at_us")?;
        let hour = ((at_us - day_start.timestamp_micros()) / 3_600_000_000).clamp(0, 23);
        per_hour[hour as usize] += 1;
        if now_us - at_us <= 3_600_000_000 {
            last_hour += 1;
        }
        if now_us - at_us <= 900_000_000 {
            desks.insert(r.try_get::<String, _>("desk")?);
        }
        if let Some(ms) = r.try_get::<Option<i32>, _>("handling_ms")? {
            handling_sum += u64::try_from(ms).unwrap_or(0);
            handling_n += 1;
        }
    }
    let remaining: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM applications a JOIN cards c ON c.application_id = a.id \
         LEFT JOIN distribution_slots s ON s.card_id = c.id \
         WHERE a.outlet = $1 AND a.status = '02' AND s.missing_at IS NULL",
    )
    .bind(point)
    .fetch_one(&mut *conn)
    .await?;
    let missing: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM distribution_slots s JOIN distribution_plans dp ON dp.id = s.plan_id \
         JOIN cards c ON c.id = s.card_id WHERE dp.outlet = $1 AND s.missing_at IS NOT NULL AND c.handed_over = $2",
    )
    .bind(point)
    .bind(false)
    .fetch_one(&mut *conn)
    .await?;
    let queue = sqlx::query("SELECT waiting, reported_at FROM pickup_queues WHERE outlet = $1")
        .bind(point)
        .fetch_optional(&mut *conn)
        .await?;
    let (queue, queue_at) = match queue {
        Some(q) => (
            Some(q.try_get::<i32, _>("waiting")? as u32),
            Some(q.try_get::<DateTime<Utc>, _>("reported_at")?),
        ),
        None => (None, None),
    };
    let avg = (handling_n > 0).then(|| handling_sum as f64 / handling_n as f64 / 1000.0);
    let active_desks = desks.len() as u32;
    let estimated_wait_minutes = match (queue, avg) {
        (Some(q), Some(avg)) => Some(f64::from(q) * avg / f64::from(active_desks.max(1)) / 60.0),
        _ => None,
    };
    Ok(PickupFigures {
        point: the_point.id.clone(),
        point_name: the_point.name.clone(),
        date,
        open: the_point.open_on(date),
        handed_over_today: rows.len() as u32,
        per_hour: per_hour
            .into_iter()
            .enumerate()
            .map(|(h, n)| (h as u32, n))
            .collect(),
        last_hour,
        remaining: u32::try_from(remaining).unwrap_or(0),
        missing: u32::try_from(missing).unwrap_or(0),
        avg_handling_seconds: avg,
        active_desks,
        queue,
        queue_at,
        estimated_wait_minutes,
    })
}
