//! The city's migration: exchange points, appointments in half-day slots (booked at a counter,
//! through the API or by the holder on the self-service page), check-in, no-shows, the notices
//! outbox, the cut-over and the dashboard's figures.

use super::*;
use crate::appointments::{
    Appointment, BookRequest, DistrictProgress, ExchangePoint, ExchangePointInput, ForecastData,
    MigrationFigures, Notice, NoticeExport, SlotView,
};
use sscard_core::Half;
use sscard_core::migration::{SimGroup, district_name, is_working_day};

use crate::appointments::BOOKING_HORIZON_DAYS;

/// When a half-day begins, China time (hour, minute); a booking not checked in 30 minutes
/// after is a no-show.
fn half_start(day: NaiveDate, half: Half) -> DateTime<Utc> {
    let (h, m) = match half {
        Half::Am => (9, 0),
        Half::Pm => (13, 30),
    };
    let local = day.and_hms_opt(h, m, 0).unwrap_or_default();
    DateTime::<Utc>::from_naive_utc_and_offset(local, Utc) - chrono::Duration::hours(8)
}

fn mask_phone(phone: &str) -> String {
    mask_middle(phone, 3, 4)
}

/// A mobile number as SMS gateways take it: 11 digits starting with 1.
fn check_phone(phone: &str) -> Result<(), StoreError> {
    if phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(refused(
            "appointment.phone",
            "手机号码应为 11 位数字，以 1 开头".into(),
            "the mobile number must be 11 digits starting with 1".into(),
        ))
    }
}

/// A confirmation code: 8 characters without the ones people misread (0/O, 1/I/L).
fn confirmation_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let bytes: [u8; 8] = rand::random();
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

fn half_of(s: &str) -> Result<Half, StoreError> {
    Half::parse(s).ok_or_else(|| corrupt("half"))
}

/// Adds an exchange point (or changes its name and capacity): the centre only. Its outlet is
/// made or renamed with it, so the point's clerks are scoped to it.
pub(crate) async fn add_exchange_point(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    point: &ExchangePointInput,
) -> Result<(), StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_centre("换卡网点 / exchange points")?;
        if point.capacity == 0 || point.capacity > 10_000 {
            return Err(refused(
                "exchange_point.capacity",
                "每日容量应在 1 到 10000 之间".into(),
                "the daily capacity must be between 1 and 10,000".into(),
            ));
        }
        if point.code.trim().is_empty() || point.name_zh.trim().is_empty() {
            return Err(refused(
                "exchange_point.code",
                "网点编码和名称不能为空".into(),
                "the point's code and name must not be empty".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO outlets (code, name_zh, name_en, region, kind) \
             VALUES ($1, $2, $3, $4, 'outlet') \
             ON CONFLICT (code) DO UPDATE SET name_zh = $2, name_en = $3",
        )
        .bind(&point.code)
        .bind(&point.name_zh)
        .bind(&point.name_en)
        .bind(&point.district)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO exchange_points (code, district, capacity, created_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (code) DO UPDATE SET district = $2, capacity = $3",
        )
        .bind(&point.code)
        .bind(&point.district)
        .bind(i64::from(point.capacity))
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;
        // Slots already opened from today on take the new capacity, never below their bookings.
        for half in [Half::Am, Half::Pm] {
            sqlx::query(
                "UPDATE appointment_slots SET capacity = CASE WHEN booked > $1 THEN booked \
                 ELSE $1 END WHERE point = $2 AND half = $3 AND day >= $4",
            )
            .bind(i64::from(half.places(point.capacity)))
            .bind(&point.code)
            .bind(half.as_str())
            .bind(china_date(ctx.at))
            .execute(&mut *tx)
            .await?;
        }
        audit.push(
            "exchange_point.add",
            point.code.clone(),
            json!({ "district": point.district, "capacity": point.capacity }),
        );
    })
}

/// Every exchange point, by district and code.
pub(crate) async fn exchange_points(
    pool: &Pool,
    _cfg: &Config,
) -> Result<Vec<ExchangePoint>, StoreError> {
    sqlx::query(
        "SELECT x.code, o.name_zh, o.name_en, x.district, x.capacity FROM exchange_points x \
         JOIN outlets o ON o.code = x.code ORDER BY x.district, x.code",
    )
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(ExchangePoint {
            code: r.try_get("code")?,
            name_zh: r.try_get("name_zh")?,
            name_en: r.try_get("name_en")?,
            district: r.try_get("district")?,
            capacity: u32::try_from(r.try_get::<i64, _>("capacity")?).unwrap_or(0),
        })
    })
    .collect()
}

/// The refusal for an ID number and name that do not match a registered person: the same
/// words whether the number is unknown or the name differs, so the page reveals nothing.
fn no_match() -> StoreError {
    refused(
        "self.no_match",
        "未找到与所填身份证号码和姓名相符的持卡人：请核对后重试，或到任一服务网点办理".into(),
        "no cardholder matches the ID number and name you typed: check them and try again, or \
         go to any service outlet"
            .into(),
    )
}

/// The person booking, checked against the actor: the holder themself (by the name they
/// typed), a counter, the centre.
async fn booking_person(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    id: &ResidentId,
    name: Option<&PersonName>,
) -> Result<PersonRow, StoreError> {
    let holder = matches!(ctx.actor.scope(), sscard_core::Scope::Holder(_));
    let person = person_by_ssn(&mut **tx, id.expose()).await?;
    let Some(person) = person else {
        return Err(if holder {
            no_match()
        } else {
            StoreError::NotFound {
                what: "person",
                key: id.masked(),
            }
        });
    };
    if holder && name.is_none_or(|n| n.expose() != person.name) {
        return Err(no_match());
    }
    ctx.actor.check_holder(&person.ssn)?;
    Ok(person)
}

/// A booking is for a working day from today to [`BOOKING_HORIZON_DAYS`] ahead, and not for a
/// half-day that has begun.
fn check_booking_day(ctx: &Ctx, req: &BookRequest) -> Result<(), StoreError> {
    let today = china_date(ctx.at);
    if req.day < today || (req.day - today).num_days() > BOOKING_HORIZON_DAYS {
        return Err(refused(
            "appointment.day",
            format!("只能预约今天起 {BOOKING_HORIZON_DAYS} 天内的日期"),
            format!("a booking is for a day from today to {BOOKING_HORIZON_DAYS} days ahead"),
        ));
    }
    if !is_working_day(req.day) || (req.day == today && ctx.at >= half_start(req.day, req.half)) {
        return Err(refused(
            "appointment.closed",
            format!(
                "{} {} 不受理预约（周末休息，或该时段已开始）",
                req.day,
                req.half.zh()
            ),
            format!(
                "{} {} takes no bookings (closed at weekends, or the half-day has begun)",
                req.day,
                req.half.as_str()
            ),
        ));
    }
    Ok(())
}

/// Takes a place of the slot (made on its first booking): one conditional UPDATE, so
/// concurrent bookings for the last places give exactly as many bookings as places.
async fn take_place(
    tx: &mut Tx<'_>,
    req: &BookRequest,
    capacity: i64,
    point_name: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO appointment_slots (point, day, half, capacity, booked) \
         VALUES ($1, $2, $3, $4, 0) ON CONFLICT (point, day, half) DO NOTHING",
    )
    .bind(&req.point)
    .bind(req.day)
    .bind(req.half.as_str())
    .bind(i64::from(
        req.half.places(u32::try_from(capacity).unwrap_or(0)),
    ))
    .execute(&mut **tx)
    .await?;
    let took = sqlx::query(
        "UPDATE appointment_slots SET booked = booked + 1 \
         WHERE point = $1 AND day = $2 AND half = $3 AND booked < capacity",
    )
    .bind(&req.point)
    .bind(req.day)
    .bind(req.half.as_str())
    .execute(&mut **tx)
    .await?;
    if took.rows_affected() == 0 {
        return Err(refused(
            "appointment.slot_full",
            format!(
                "{point_name} {} {} 已约满，请选择其他时段",
                req.day,
                req.half.zh()
            ),
            format!(
                "{} on {} {} is fully booked: choose another half-day",
                req.point,
                req.day,
                req.half.as_str()
            ),
        ));
    }
    Ok(())
}

/// One open booking per person: another is refused naming the one there is.
async fn no_open_booking(tx: &mut Tx<'_>, person_id: Uuid) -> Result<(), StoreError> {
    let open = sqlx::query(
        "SELECT code, day, half FROM appointments WHERE person_id = $1 AND status = 'booked'",
    )
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(open) = open {
        let day: NaiveDate = open.try_get("day")?;
        let half = half_of(&open.try_get::<String, _>("half")?)?;
        return Err(refused(
            "appointment.already_booked",
            format!("已有 {day} {} 的预约，请先取消再改约", half.zh()),
            format!(
                "there is a booking for {day} {} already: cancel it to book another",
                half.as_str()
            ),
        ));
    }
    Ok(())
}

/// Books an exchange appointment: one open booking per person, on a working day from today to
/// [`BOOKING_HORIZON_DAYS`] ahead, when the person's phase is open on that day. Taking the
/// place is one conditional UPDATE of the slot row, so concurrent bookings for the last places
/// give exactly as many bookings as there are places.
pub(crate) async fn book_appointment(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    req: &BookRequest,
) -> Result<Appointment, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        if !matches!(
            ctx.actor.scope(),
            sscard_core::Scope::All | sscard_core::Scope::Outlet(_) | sscard_core::Scope::Holder(_)
        ) {
            ctx.actor.check_holder(req.id.expose())?;
        }
        let person = booking_person(&mut tx, ctx, &req.id, req.name.as_ref()).await?;
        if let Some(phone) = &req.phone {
            check_phone(phone)?;
        }
        check_booking_day(ctx, req)?;
        let point = sqlx::query(
            "SELECT x.capacity, o.name_zh FROM exchange_points x JOIN outlets o ON o.code = x.code \
             WHERE x.code = $1",
        )
        .bind(&req.point)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "exchange point",
            key: req.point.clone(),
        })?;
        let capacity: i64 = point.try_get("capacity")?;
        let point_name: String = point.try_get("name_zh")?;
        let e = eligibility_on(&mut tx, person.id, req.day).await?;
        if !e.eligible {
            return Err(StoreError::Refused {
                code: "rollout.not_open",
                zh: e.reason,
                en: e.reason_en,
            });
        }
        no_open_booking(&mut tx, person.id).await?;
        take_place(&mut tx, req, capacity, &point_name).await?;
        let code = confirmation_code();
        sqlx::query(
            "INSERT INTO appointments (code, person_id, point, day, half, phone, status, channel, \
             created_at, updated_at, actor) VALUES ($1, $2, $3, $4, $5, $6, 'booked', $7, $8, $8, $9)",
        )
        .bind(&code)
        .bind(person.id)
        .bind(&req.point)
        .bind(req.day)
        .bind(req.half.as_str())
        .bind(&req.phone)
        .bind(req.channel.as_str())
        .bind(ctx.at)
        .bind(ctx.actor.name())
        .execute(&mut *tx)
        .await?;
        if let Some(phone) = &req.phone {
            booking_notices(
                &mut tx,
                ctx,
                &code,
                person.id,
                phone,
                &point_name,
                req.day,
                req.half,
            )
            .await?;
        }
        audit.push(
            "appointment.book",
            code.clone(),
            json!({ "point": req.point, "day": req.day, "half": req.half, "channel": req.channel }),
        );
        Appointment {
            code,
            id_masked: mask_middle(&person.ssn, 4, 4),
            name_masked: mask_name(&person.name),
            point: req.point.clone(),
            point_name,
            day: req.day,
            half: req.half,
            status: "booked".into(),
            phone_masked: req.phone.as_deref().map(mask_phone),
            channel: req.channel.as_str().into(),
            created_at: ctx.at,
        }
    })
}

/// The confirmation now and the reminder the day before at 18:00.
#[allow(clippy::too_many_arguments)]
async fn booking_notices(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    code: &str,
    person_id: Uuid,
    phone: &str,
    point_name: &str,
    day: NaiveDate,
    half: Half,
) -> Result<(), StoreError> {
    let when = format!("{day} {}", half.zh());
    let confirm = (
        "booking_confirmed",
        format!(
            "【泰州社保卡】您已预约 {when} 到{point_name}换领社保卡，预约码 {code}。请携带身份证和旧社保卡。"
        ),
        format!(
            "[Taizhou SSC] Booked: {day} {} at {point_name}, code {code}. Bring your ID card and old card.",
            half.as_str()
        ),
        ctx.at,
    );
    let eve = day - chrono::Duration::days(1);
    let reminder_at = half_start(eve, Half::Am) + chrono::Duration::hours(9);
    let remind = (
        "booking_reminder",
        format!(
            "【泰州社保卡】提醒：明天 {when} 到{point_name}换卡，预约码 {code}。如不能前往请取消预约。"
        ),
        format!(
            "[Taizhou SSC] Reminder: tomorrow {} at {point_name}, code {code}. Cancel if you cannot come.",
            half.as_str()
        ),
        reminder_at.max(ctx.at),
    );
    for (kind, zh, en, due) in [confirm, remind] {
        sqlx::query(
            "INSERT INTO notices (kind, person_id, phone, subject, text_zh, text_en, due_at, \
             status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)",
        )
        .bind(kind)
        .bind(person_id)
        .bind(phone)
        .bind(code)
        .bind(zh)
        .bind(en)
        .bind(due)
        .bind(ctx.at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// An appointment row with its holder, checked against the actor. A holder asking about a code
/// that is not theirs gets the same answer as for a code that does not exist.
async fn appointment_row(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    code: &str,
) -> Result<(DbRow, String), StoreError> {
    let row = sqlx::query(
        "SELECT a.code, a.point, a.day, a.half, a.status, a.phone, a.channel, a.created_at, \
         a.person_id, p.ssn, p.name, o.name_zh AS point_name FROM appointments a \
         JOIN persons p ON p.id = a.person_id JOIN outlets o ON o.code = a.point \
         WHERE a.code = $1",
    )
    .bind(code.trim().to_ascii_uppercase())
    .fetch_optional(&mut **tx)
    .await?;
    let not_found = || StoreError::NotFound {
        what: "appointment",
        key: code.to_owned(),
    };
    let row = row.ok_or_else(not_found)?;
    let ssn: String = row.try_get("ssn")?;
    if let sscard_core::Scope::Holder(own) = ctx.actor.scope()
        && *own != ssn
    {
        return Err(not_found());
    }
    ctx.actor.check_holder(&ssn)?;
    Ok((row, ssn))
}

pub(super) fn appointment_of(row: &DbRow) -> Result<Appointment, StoreError> {
    let ssn: String = row.try_get("ssn")?;
    let name: String = row.try_get("name")?;
    let phone: Option<String> = row.try_get("phone")?;
    Ok(Appointment {
        code: row.try_get("code")?,
        id_masked: mask_middle(&ssn, 4, 4),
        name_masked: mask_name(&name),
        point: row.try_get("point")?,
        point_name: row.try_get("point_name")?,
        day: row.try_get("day")?,
        half: half_of(&row.try_get::<String, _>("half")?)?,
        status: row.try_get("status")?,
        phone_masked: phone.as_deref().map(mask_phone),
        channel: row.try_get("channel")?,
        created_at: row.try_get("created_at")?,
    })
}

/// One appointment by its code (a holder: their own only).
pub(crate) async fn appointment(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    code: &str,
) -> Result<Appointment, StoreError> {
    let mut tx = snapshot(pool).await?;
    let (row, _) = appointment_row(&mut tx, ctx, code).await?;
    tx.commit().await?;
    appointment_of(&row)
}

/// Moves a booked appointment to `to` (`cancelled`, `checked_in`), freeing its place when it
/// is cancelled.
async fn settle_appointment(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    row: &DbRow,
    to: &str,
) -> Result<(), StoreError> {
    let code: String = row.try_get("code")?;
    let status: String = row.try_get("status")?;
    if status != "booked" {
        return Err(refused(
            "appointment.not_open",
            format!("预约 {code} 的状态是“{status}”，不能再办理"),
            format!("booking {code} is {status}: nothing more can be done with it"),
        ));
    }
    sqlx::query("UPDATE appointments SET status = $1, updated_at = $2 WHERE code = $3")
        .bind(to)
        .bind(ctx.at)
        .bind(&code)
        .execute(&mut **tx)
        .await?;
    if to == "cancelled" {
        sqlx::query(
            "UPDATE appointment_slots SET booked = booked - 1 WHERE point = $1 AND day = $2 \
             AND half = $3",
        )
        .bind(row.try_get::<String, _>("point")?)
        .bind(row.try_get::<NaiveDate, _>("day")?)
        .bind(row.try_get::<String, _>("half")?)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "UPDATE notices SET status = 'withdrawn' WHERE subject = $1 AND status = 'pending' \
             AND kind = 'booking_reminder'",
        )
        .bind(&code)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Cancels a booking (the holder, a counter, the centre); its place is free again.
pub(crate) async fn cancel_appointment(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    code: &str,
) -> Result<Appointment, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let (row, _) = appointment_row(&mut tx, ctx, code).await?;
        settle_appointment(&mut tx, ctx, &row, "cancelled").await?;
        audit.push("appointment.cancel", code.to_owned(), json!({}));
        let mut a = appointment_of(&row)?;
        a.status = "cancelled".into();
        a
    })
}

/// Checks a booking in at its point on its day (a clerk of that point, or the centre).
pub(crate) async fn check_in_appointment(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    code: &str,
) -> Result<Appointment, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let (row, _) = appointment_row(&mut tx, ctx, code).await?;
        let point: String = row.try_get("point")?;
        ctx.actor.check_point(&point)?;
        let day: NaiveDate = row.try_get("day")?;
        if day != china_date(ctx.at) {
            return Err(refused(
                "appointment.not_today",
                format!(
                    "预约 {} 是 {day} 的，不是今天",
                    row.try_get::<String, _>("code")?
                ),
                format!(
                    "booking {} is for {day}, not today",
                    row.try_get::<String, _>("code")?
                ),
            ));
        }
        settle_appointment(&mut tx, ctx, &row, "checked_in").await?;
        audit.push(
            "appointment.check_in",
            code.to_owned(),
            json!({ "point": point }),
        );
        let mut a = appointment_of(&row)?;
        a.status = "checked_in".into();
        a
    })
}

/// Marks as no-shows the bookings whose half-day began more than 30 minutes ago without a
/// check-in (at `point`, or everywhere), freeing their places for the people still to come.
pub(crate) async fn release_no_shows(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    point: Option<&str>,
) -> Result<u64, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        match point {
            Some(p) => ctx.actor.check_point(p)?,
            None => ctx
                .actor
                .check_centre("全部换卡网点 / every exchange point")?,
        }
        let today = china_date(ctx.at);
        let rows = sqlx::query(
            "SELECT code, point, day, half FROM appointments WHERE status = 'booked' \
             AND day <= $1 AND ($2 IS NULL OR point = $2)",
        )
        .bind(today)
        .bind(point)
        .fetch_all(&mut *tx)
        .await?;
        let mut released = 0u64;
        for r in rows {
            let day: NaiveDate = r.try_get("day")?;
            let half = half_of(&r.try_get::<String, _>("half")?)?;
            if half_start(day, half) + chrono::Duration::minutes(30) > ctx.at {
                continue;
            }
            let code: String = r.try_get("code")?;
            sqlx::query(
                "UPDATE appointments SET status = 'no_show', updated_at = $1 WHERE code = $2",
            )
            .bind(ctx.at)
            .bind(&code)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE appointment_slots SET booked = booked - 1 WHERE point = $1 AND day = $2 \
                 AND half = $3",
            )
            .bind(r.try_get::<String, _>("point")?)
            .bind(day)
            .bind(half.as_str())
            .execute(&mut *tx)
            .await?;
            released += 1;
        }
        if released > 0 {
            audit.push(
                "appointment.no_shows",
                point.unwrap_or("*").to_owned(),
                json!({ "released": released }),
            );
        }
        released
    })
}

/// Appointments (newest day first), of one point and/or day and/or status.
pub(crate) async fn appointments(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    point: Option<&str>,
    day: Option<NaiveDate>,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<Appointment>, StoreError> {
    match point {
        Some(p) => ctx.actor.check_point(p)?,
        None => {
            if !matches!(ctx.actor.scope(), sscard_core::Scope::All) {
                ctx.actor.check_centre("全部预约 / every booking")?;
            }
        }
    }
    sqlx::query(
        "SELECT a.code, a.point, a.day, a.half, a.status, a.phone, a.channel, a.created_at, \
         p.ssn, p.name, o.name_zh AS point_name FROM appointments a \
         JOIN persons p ON p.id = a.person_id JOIN outlets o ON o.code = a.point \
         WHERE ($1 IS NULL OR a.point = $1) AND ($2 IS NULL OR a.day = $2) \
         AND ($3 IS NULL OR a.status = $3) ORDER BY a.day DESC, a.half, a.created_at LIMIT $4",
    )
    .bind(point)
    .bind(day)
    .bind(status)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(appointment_of)
    .collect()
}

/// The half-days from `from` on (`days` working days) with what is left at each point (of one
/// district, or all), in day order. Anyone may ask: it says nothing about a person.
pub(crate) async fn free_slots(
    pool: &Pool,
    cfg: &Config,
    from: NaiveDate,
    days: u32,
    district: Option<&str>,
) -> Result<Vec<SlotView>, StoreError> {
    let points: Vec<ExchangePoint> = exchange_points(pool, cfg)
        .await?
        .into_iter()
        .filter(|p| district.is_none_or(|d| p.district == d))
        .collect();
    let mut day_list = Vec::new();
    let mut d = from;
    while day_list.len() < days as usize {
        if is_working_day(d) {
            day_list.push(d);
        }
        d += chrono::Duration::days(1);
    }
    let Some(last) = day_list.last().copied() else {
        return Ok(Vec::new());
    };
    let taken: std::collections::HashMap<(String, NaiveDate, String), (i64, i64)> = sqlx::query(
        "SELECT point, day, half, capacity, booked FROM appointment_slots \
             WHERE day >= $1 AND day <= $2",
    )
    .bind(from)
    .bind(last)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok((
            (r.try_get("point")?, r.try_get("day")?, r.try_get("half")?),
            (r.try_get("capacity")?, r.try_get("booked")?),
        ))
    })
    .collect::<Result<_, StoreError>>()?;
    let mut out = Vec::new();
    for day in day_list {
        for p in &points {
            for half in [Half::Am, Half::Pm] {
                let (capacity, booked) = taken
                    .get(&(p.code.clone(), day, half.as_str().to_owned()))
                    .map_or((half.places(p.capacity), 0), |(c, b)| {
                        (
                            u32::try_from(*c).unwrap_or(0),
                            u32::try_from(*b).unwrap_or(0),
                        )
                    });
                out.push(SlotView {
                    point: p.code.clone(),
                    point_name: p.name_zh.clone(),
                    district: p.district.clone(),
                    day,
                    half,
                    capacity,
                    booked,
                    left: capacity.saturating_sub(booked),
                });
            }
        }
    }
    Ok(out)
}

fn notice_of(r: &DbRow) -> Result<(Notice, String), StoreError> {
    let phone: String = r.try_get("phone")?;
    Ok((
        Notice {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            phone_masked: mask_phone(&phone),
            subject: r.try_get("subject")?,
            text: r.try_get("text_zh")?,
            text_en: r.try_get("text_en")?,
            due_at: r.try_get("due_at")?,
            status: r.try_get("status")?,
        },
        phone,
    ))
}

/// The notices outbox (the centre), newest first, of one kind and/or status.
pub(crate) async fn notices(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    kind: Option<&str>,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<Notice>, StoreError> {
    ctx.actor.check_centre("短信通知 / notices")?;
    sqlx::query(
        "SELECT id, kind, phone, subject, text_zh, text_en, due_at, status FROM notices \
         WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR status = $2) \
         ORDER BY id DESC LIMIT $3",
    )
    .bind(kind)
    .bind(status)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| notice_of(r).map(|(n, _)| n))
    .collect()
}

/// Takes every pending notice due by now for the SMS gateway, whole phone numbers included;
/// they are marked exported in the same transaction, so a second export does not repeat them.
pub(crate) async fn export_notices(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
) -> Result<NoticeExport, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_centre("短信通知 / notices")?;
        let notices = sqlx::query(
            "SELECT id, kind, phone, subject, text_zh, text_en, due_at, status FROM notices \
             WHERE status = 'pending' AND due_at <= $1 ORDER BY due_at, id",
        )
        .bind(ctx.at)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(notice_of)
        .collect::<Result<Vec<_>, _>>()?;
        sqlx::query(
            "UPDATE notices SET status = 'exported', exported_at = $1 \
             WHERE status = 'pending' AND due_at <= $1",
        )
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;
        audit.push(
            "notices.export",
            format!("{} notices", notices.len()),
            json!({}),
        );
        NoticeExport { notices }
    })
}

/// The phone a person is reached at: their own, else the latest booking's.
const PERSON_PHONE: &str = "COALESCE(p.phone, (SELECT a.phone FROM appointments a \
     WHERE a.person_id = p.id AND a.phone IS NOT NULL ORDER BY a.created_at DESC LIMIT 1))";

/// "Your district's exchange opens": one notice per holder of a live legacy card in the
/// phase's districts who can be reached, due a week before the phase opens (or now).
pub(super) async fn phase_notices(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    phase: &crate::bank::RolloutPhase,
) -> Result<u64, StoreError> {
    let due = (half_start(phase.from, Half::Am) - chrono::Duration::days(7)).max(ctx.at);
    let zh = format!(
        "【泰州社保卡】{}起，您所在区县可换领新一代社保卡，可在“社保卡换卡预约”页面预约。旧卡照常使用，无需着急。",
        phase.from
    );
    let en = format!(
        "[Taizhou SSC] From {} you may exchange your card for the new one: book on the exchange \
         page. Your old card keeps working; there is no need to rush.",
        phase.from
    );
    // Placeholders in the order they appear, bound in that order.
    let mut ph = Ph::new();
    let (p_name, p_zh, p_en, p_due, p_at) = (ph.next(), ph.next(), ph.next(), ph.next(), ph.next());
    let districts = if phase.districts.is_empty() {
        String::new()
    } else {
        format!("AND c.district IN ({})", ph.list(phase.districts.len()))
    };
    let sql = format!(
        "INSERT INTO notices (kind, person_id, phone, subject, text_zh, text_en, due_at, status, \
         created_at) SELECT 'phase_open', p.id, {PERSON_PHONE}, {p_name}, {p_zh}, {p_en}, {p_due}, \
         'pending', {p_at} FROM persons p WHERE {PERSON_PHONE} IS NOT NULL AND EXISTS (SELECT 1 \
         FROM cards c WHERE c.person_id = p.id AND c.generation = 'legacy' AND c.ss_status <> 9 \
         AND c.superseded_by IS NULL {districts})"
    );
    let mut q = sqlx::query(&sql)
        .bind(&phase.name)
        .bind(zh)
        .bind(en)
        .bind(due)
        .bind(ctx.at);
    for d in &phase.districts {
        q = q.bind(d);
    }
    Ok(q.execute(&mut **tx).await?.rows_affected())
}

/// "Your new card is ready": for the holders of the applications whose card reached their
/// outlet, who can be reached.
pub(super) async fn card_ready_notices(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    applications: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in applications.chunks(BULK_ROWS) {
        let mut ph = Ph::new();
        let (p_due, p_at) = (ph.next(), ph.next());
        let sql = format!(
            "INSERT INTO notices (kind, person_id, phone, subject, text_zh, text_en, due_at, \
             status, created_at) SELECT 'card_ready', p.id, {PERSON_PHONE}, c.card_number, \
             '【泰州社保卡】您的新社保卡已到' || o.name_zh || '，请携带身份证领取。旧卡的金融功能不受影响。', \
             '[Taizhou SSC] Your new card is ready at ' || o.name_en || '. Bring your ID card to collect it.', \
             {p_due}, 'pending', {p_at} FROM cards c JOIN persons p ON p.id = c.person_id \
             JOIN applications a ON a.id = c.application_id JOIN outlets o ON o.code = a.outlet \
             WHERE {PERSON_PHONE} IS NOT NULL AND a.id IN ({})",
            ph.list(chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(ctx.at).bind(ctx.at);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Sets the cut-over: after `date` legacy cards are refused for social-security use.
pub(crate) async fn set_cutover(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    date: NaiveDate,
) -> Result<(), StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        ctx.actor.check_centre("旧卡停用日期 / the cut-over")?;
        sqlx::query(
            "INSERT INTO rollout_cutover (id, cutover_date, set_at, actor) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET cutover_date = $1, set_at = $2, actor = $3",
        )
        .bind(date)
        .bind(ctx.at)
        .bind(ctx.actor.name())
        .execute(&mut *tx)
        .await?;
        audit.push("rollout.cutover", date.to_string(), json!({}));
    })
}

/// The cut-over date, if set.
pub(super) async fn cutover_in<'e, E>(exec: E) -> Result<Option<NaiveDate>, StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
{
    Ok(
        sqlx::query_scalar("SELECT cutover_date FROM rollout_cutover WHERE id = 1")
            .fetch_optional(exec)
            .await?,
    )
}

/// Live legacy cards by district and progress: the SQL every figure of the dashboard and the
/// forecast counts from. `progress` is `superseded`, `exchanged`, `booked` or `pending`.
const LEGACY_PROGRESS: &str = "SELECT c.district AS district, CASE \
     WHEN c.superseded_by IS NOT NULL THEN 'superseded' \
     WHEN EXISTS (SELECT 1 FROM applications a WHERE a.person_id = c.person_id \
          AND a.status NOT IN ('90', '99')) THEN 'exchanged' \
     WHEN EXISTS (SELECT 1 FROM appointments b WHERE b.person_id = c.person_id \
          AND b.status IN ('booked', 'checked_in')) THEN 'booked' \
     ELSE 'pending' END AS progress \
     FROM cards c WHERE c.generation = 'legacy' AND c.ss_status <> 9 \
     AND (c.superseded_by IS NULL OR NOT EXISTS (SELECT 1 FROM cards l \
          WHERE l.card_number = c.superseded_by AND l.generation = 'legacy'))";

/// The migration dashboard's figures (the centre and auditors).
pub(crate) async fn migration_figures(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
) -> Result<MigrationFigures, StoreError> {
    if !matches!(ctx.actor.scope(), sscard_core::Scope::All) {
        ctx.actor.check_centre("换卡进度 / migration progress")?;
    }
    let mut tx = snapshot(pool).await?;
    let today = china_date(ctx.at);
    let rows = sqlx::query(&format!(
        "SELECT district, progress, COUNT(*) AS n FROM ({LEGACY_PROGRESS}) x \
         GROUP BY district, progress ORDER BY district"
    ))
    .fetch_all(&mut *tx)
    .await?;
    let mut by: std::collections::BTreeMap<String, DistrictProgress> =
        std::collections::BTreeMap::new();
    for r in rows {
        let district: Option<String> = r.try_get("district")?;
        let district = district.unwrap_or_else(|| "-".into());
        let n = u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0);
        let e = by
            .entry(district.clone())
            .or_insert_with(|| DistrictProgress {
                name: district_name(&district),
                district,
                legacy: 0,
                superseded: 0,
                exchanged: 0,
                booked: 0,
                pending: 0,
            });
        e.legacy += n;
        match r.try_get::<String, _>("progress")?.as_str() {
            "superseded" => e.superseded += n,
            "exchanged" => e.exchanged += n,
            "booked" => e.booked += n,
            _ => e.pending += n,
        }
    }
    let series = |rows: Vec<DbRow>| -> Result<Vec<(NaiveDate, u64)>, StoreError> {
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("day")?,
                    u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0),
                ))
            })
            .collect()
    };
    let since = today - chrono::Duration::days(60);
    let applied: Vec<(DateTime<Utc>,)> = sqlx::query_as(
        "SELECT a.created_at FROM applications a JOIN cards c ON c.card_number = a.replaces_card \
         WHERE c.generation = 'legacy' AND a.created_at >= $1",
    )
    .bind(half_start(since, Half::Am))
    .fetch_all(&mut *tx)
    .await?;
    let mut daily: std::collections::BTreeMap<NaiveDate, u64> = std::collections::BTreeMap::new();
    for (at,) in applied {
        *daily.entry(china_date(at)).or_default() += 1;
    }
    let ahead = series(
        sqlx::query(
            "SELECT day, CAST(SUM(booked) AS BIGINT) AS n FROM appointment_slots WHERE day >= $1 \
             GROUP BY day ORDER BY day",
        )
        .bind(today)
        .fetch_all(&mut *tx)
        .await?,
    )?;
    let cutover = cutover_in(&mut *tx).await?;
    tx.commit().await?;
    let districts: Vec<DistrictProgress> = by.into_values().collect();
    let unexchanged = districts.iter().map(|d| d.pending + d.booked).sum();
    Ok(MigrationFigures {
        districts,
        daily_exchanges: daily.into_iter().collect(),
        bookings_ahead: ahead,
        cutover,
        retired_unexchanged: if cutover.is_some_and(|c| today > c) {
            unexchanged
        } else {
            0
        },
        unexchanged,
    })
}

/// What the forecast starts from: the holders still to book by the phase opening their
/// district, the points' places, the bookings already made.
pub(crate) async fn forecast_data(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
) -> Result<ForecastData, StoreError> {
    if !matches!(ctx.actor.scope(), sscard_core::Scope::All) {
        ctx.actor.check_centre("换卡进度 / migration progress")?;
    }
    let mut tx = snapshot(pool).await?;
    let pending = sqlx::query(&format!(
        "SELECT district, COUNT(*) AS n FROM ({LEGACY_PROGRESS}) x WHERE progress = 'pending' \
         GROUP BY district"
    ))
    .fetch_all(&mut *tx)
    .await?;
    let phases = phases_in(&mut tx).await?;
    let capacity: Option<i64> =
        sqlx::query_scalar("SELECT CAST(SUM(capacity) AS BIGINT) FROM exchange_points")
            .fetch_one(&mut *tx)
            .await?;
    let booked = sqlx::query(
        "SELECT day, CAST(SUM(booked) AS BIGINT) AS n FROM appointment_slots WHERE day >= $1 \
         GROUP BY day ORDER BY day",
    )
    .bind(china_date(ctx.at))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut groups: Vec<SimGroup> = Vec::new();
    let mut unphased = 0u64;
    for r in pending {
        let district: Option<String> = r.try_get("district")?;
        let n = u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0);
        let phase = phases.iter().find(|p| {
            p.districts.is_empty() || district.as_ref().is_some_and(|d| p.districts.contains(d))
        });
        match (phase, phases.is_empty()) {
            (Some(p), _) => match groups.iter_mut().find(|g| g.name == p.name) {
                Some(g) => g.people += n,
                None => groups.push(SimGroup {
                    name: p.name.clone(),
                    from: p.from,
                    people: n,
                }),
            },
            (None, true) => match groups.first_mut() {
                Some(g) => g.people += n,
                None => groups.push(SimGroup {
                    name: "全部（未设批次）".into(),
                    from: china_date(ctx.at),
                    people: n,
                }),
            },
            (None, false) => unphased += n,
        }
    }
    groups.sort_by_key(|g| g.from);
    Ok(ForecastData {
        groups,
        unphased,
        daily_capacity: u64::try_from(capacity.unwrap_or(0)).unwrap_or(0),
        booked: booked
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("day")?,
                    u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0),
                ))
            })
            .collect::<Result<_, StoreError>>()?,
    })
}

/// What the self-service page shows a holder who typed their ID number and name: whether they
/// may exchange (and from when), their district, their open booking. A wrong name is refused
/// exactly like an unknown number.
pub(crate) async fn holder_status(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    id: &ResidentId,
    name: &PersonName,
) -> Result<crate::appointments::HolderStatus, StoreError> {
    let mut tx = snapshot(pool).await?;
    let person = booking_person(&mut tx, ctx, id, Some(name)).await?;
    let eligibility = eligibility_in(&mut tx, ctx, person.id).await?;
    let district: Option<String> = sqlx::query_scalar(
        "SELECT district FROM cards WHERE person_id = $1 AND generation = 'legacy' \
         AND ss_status <> 9 AND superseded_by IS NULL ORDER BY issue_date DESC LIMIT 1",
    )
    .bind(person.id)
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    let open = sqlx::query(
        "SELECT a.code, a.point, a.day, a.half, a.status, a.phone, a.channel, a.created_at, \
         p.ssn, p.name, o.name_zh AS point_name FROM appointments a \
         JOIN persons p ON p.id = a.person_id JOIN outlets o ON o.code = a.point \
         WHERE a.person_id = $1 AND a.status IN ('booked', 'checked_in') \
         ORDER BY a.created_at DESC LIMIT 1",
    )
    .bind(person.id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(crate::appointments::HolderStatus {
        eligibility,
        district,
        booking: open.as_ref().map(appointment_of).transpose()?,
    })
}
