//! Staff accounts, console sessions, API tokens and idempotency records.

use super::*;

pub(super) const STAFF_SELECT: &str = "SELECT s.id, s.username, s.display_name, s.role, s.outlet, s.employer_id, \
     s.bank_code, s.password_hash, e.credit_code AS employer_credit_code \
     FROM staff s LEFT JOIN employers e ON e.id = s.employer_id";

pub(super) fn staff_from_row(row: &DbRow) -> Result<(crate::StaffAccount, String), StoreError> {
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
    unit_of_work!(pool, ctx, |tx, audit| {
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
    unit_of_work!(pool, ctx, |tx, audit| {
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
    unit_of_work!(pool, ctx, |tx, audit| {
        let gone = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        if gone.rows_affected() > 0 {
            audit.push("auth.logout", ctx.actor.name(), json!({}));
        }
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
    unit_of_work!(pool, ctx, |tx, audit| {
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

/// The status an idempotency record has while its request runs (no HTTP status is 0).
const IN_FLIGHT: i16 = 0;

#[allow(clippy::too_many_arguments)]
pub(crate) async fn claim_idempotency_key(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    staff: Uuid,
    key: &str,
    method: &str,
    path: &str,
    request_hash: &str,
) -> Result<crate::IdempotencyClaim, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (staff_id, key, method, path, request_hash, status, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, '', $7) ON CONFLICT (staff_id, key) DO NOTHING",
        )
        .bind(staff)
        .bind(key)
        .bind(method)
        .bind(path)
        .bind(request_hash)
        .bind(IN_FLIGHT)
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(crate::IdempotencyClaim::Claimed);
        }
        let row = sqlx::query(
            "SELECT request_hash, status, body, created_at FROM idempotency_keys \
             WHERE staff_id = $1 AND key = $2",
        )
        .bind(staff)
        .bind(key)
        .fetch_one(&mut *tx)
        .await?;
        let hash: String = row.try_get("request_hash")?;
        let status: i16 = row.try_get("status")?;
        if hash != request_hash {
            return Ok(crate::IdempotencyClaim::OtherRequest);
        }
        if status == IN_FLIGHT {
            return Ok(crate::IdempotencyClaim::InFlight {
                since: row.try_get("created_at")?,
            });
        }
        crate::IdempotencyClaim::Done(crate::IdempotentResponse {
            request_hash: hash,
            status: u16::try_from(status).map_err(|_| corrupt("status"))?,
            body: row.try_get("body")?,
        })
    })
}

pub(crate) async fn finish_idempotency_key(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    staff: Uuid,
    key: &str,
    response: Option<&crate::IdempotentResponse>,
) -> Result<(), StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        match response {
            Some(r) => {
                sqlx::query(
                    "UPDATE idempotency_keys SET status = $1, body = $2 \
                     WHERE staff_id = $3 AND key = $4 AND status = $5",
                )
                .bind(i16::try_from(r.status).unwrap_or(500))
                .bind(&r.body)
                .bind(staff)
                .bind(key)
                .bind(IN_FLIGHT)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "DELETE FROM idempotency_keys WHERE staff_id = $1 AND key = $2 AND status = $3",
                )
                .bind(staff)
                .bind(key)
                .bind(IN_FLIGHT)
                .execute(&mut *tx)
                .await?;
            }
        }
    })
}
