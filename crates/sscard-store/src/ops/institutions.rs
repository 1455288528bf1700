//! 定点医药机构: the registry of hospitals, clinics and pharmacies and their terminals' states.

use super::*;
use crate::{Institution, InstitutionInput, InstitutionsRegistered};

/// Terminal states (`terminals.state`).
pub(crate) const TERMINAL_READY: i32 = 20;

fn kind_code(kind: sscard_ids::InstitutionKind) -> i32 {
    match kind {
        sscard_ids::InstitutionKind::Hospital => 1,
        sscard_ids::InstitutionKind::Pharmacy => 2,
    }
}

fn status_label(status: i32) -> &'static str {
    match status {
        20 => "suspended",
        30 => "closed",
        _ => "active",
    }
}

/// Registers or updates institutions by code, all in one transaction (an import is whole or
/// nothing). Registering is the centre's: the actor's scope must be centre-wide.
pub(crate) async fn register_institutions(
    pool: &Pool,
    _cfg: &Config,
    ctx: &Ctx,
    inputs: &[InstitutionInput],
) -> Result<InstitutionsRegistered, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        // Inside the unit of work, so a refusal is recorded like every other.
        for input in inputs {
            ctx.actor.check_institution(input.code.as_str())?;
        }
        let mut done = InstitutionsRegistered {
            added: 0,
            updated: 0,
            unchanged: 0,
        };
        for input in inputs {
            let level = input.level.map(i32::from);
            let region = input.region.to_string();
            let known = sqlx::query(
                "SELECT id, name, level, region, networked FROM institutions WHERE code = $1",
            )
            .bind(input.code.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let details = json!({
                "name": input.name,
                "kind": input.code.kind().as_str(),
                "level": input.level,
                "region": region,
                "networked": input.networked,
            });
            if let Some(row) = known {
                let id: Uuid = row.try_get("id")?;
                let same = row.try_get::<String, _>("name")? == input.name
                    && row.try_get::<Option<i32>, _>("level")? == level
                    && row.try_get::<String, _>("region")? == region
                    && row.try_get::<bool, _>("networked")? == input.networked;
                if same {
                    done.unchanged += 1;
                    continue;
                }
                sqlx::query(
                    "UPDATE institutions SET name = $1, level = $2, region = $3, networked = $4, \
                     updated_at = $5 WHERE id = $6",
                )
                .bind(&input.name)
                .bind(level)
                .bind(&region)
                .bind(input.networked)
                .bind(ctx.at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                audit.push("institution.update", input.code.as_str(), details);
                done.updated += 1;
            } else {
                sqlx::query(
                    "INSERT INTO institutions (id, code, name, kind, level, region, networked, \
                     status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 10, $8, $8)",
                )
                .bind(Uuid::now_v7())
                .bind(input.code.as_str())
                .bind(&input.name)
                .bind(kind_code(input.code.kind()))
                .bind(level)
                .bind(&region)
                .bind(input.networked)
                .bind(ctx.at)
                .execute(&mut *tx)
                .await?;
                audit.push("institution.register", input.code.as_str(), details);
                done.added += 1;
            }
        }
        done
    })
}

/// Every institution in code order, with its terminals counted.
pub(crate) async fn institutions(
    pool: &Pool,
    _cfg: &Config,
    _ctx: &Ctx,
) -> Result<Vec<Institution>, StoreError> {
    let rows = sqlx::query(
        "SELECT i.code, i.name, i.kind, i.level, i.region, i.networked, i.status, \
         COUNT(t.id) AS terminals, \
         COALESCE(SUM(CASE WHEN t.state = $1 THEN 1 ELSE 0 END), 0) AS ready \
         FROM institutions i LEFT JOIN terminals t ON t.institution_id = i.id \
         GROUP BY i.id, i.code, i.name, i.kind, i.level, i.region, i.networked, i.status \
         ORDER BY i.code",
    )
    .bind(TERMINAL_READY)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let kind: i32 = r.try_get("kind")?;
            let level: Option<i32> = r.try_get("level")?;
            let terminals: i64 = r.try_get("terminals")?;
            let ready: i64 = r.try_get("ready")?;
            Ok(Institution {
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                kind: if kind == 1 { "hospital" } else { "pharmacy" }.into(),
                level: level.and_then(|l| u8::try_from(l).ok()),
                region: r.try_get("region")?,
                networked: r.try_get("networked")?,
                status: status_label(r.try_get("status")?).into(),
                terminals: u32::try_from(terminals).unwrap_or(u32::MAX),
                ready: u32::try_from(ready).unwrap_or(u32::MAX),
            })
        })
        .collect()
}
