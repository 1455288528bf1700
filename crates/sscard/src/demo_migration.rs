//! The demo's migration: the old city system's file taken over (Taizhou's districts), the
//! exchange points, a month of exchanges in the first phase's districts (most new cards already
//! in use, so the old ones are superseded), bookings for the days ahead with their SMS notices.

use sscard_core::Half;
use sscard_core::migration::is_working_day;
use sscard_ids::{CardNumber, china_today};
use sscard_import::legacy::{KnownBank, parse_legacy_file};
use sscard_store::appointments::{BookRequest, Channel, ExchangePointInput};
use sscard_store::{Ctx, Store};

/// Rows of the demo's legacy file.
const LEGACY_ROWS: usize = 4_000;

/// What was seeded, for the summary.
#[derive(Debug)]
pub(crate) struct MigrationSeeded {
    legacy: usize,
    points: usize,
    exchanged: usize,
    superseded: usize,
    booked: usize,
}

impl MigrationSeeded {
    pub(crate) fn summary(&self) -> String {
        format!(
            "\n  换卡（migration）: 存量卡（legacy cards）{} · 换卡网点（exchange points）{} · 近一月换卡（exchanged this month）{}，其中新卡已启用（superseded）{} · 已预约（booked ahead）{} — sscard migration status · /console/migration · 持卡人自助预约（self-service）/self",
            self.legacy, self.points, self.exchanged, self.superseded, self.booked
        )
    }
}

/// China time 10:00 on `day`.
fn at_ten(day: chrono::NaiveDate) -> chrono::DateTime<chrono::Utc> {
    let local = day.and_hms_opt(2, 0, 0).expect("valid");
    chrono::DateTime::from_naive_utc_and_offset(local, chrono::Utc)
}

fn working_days_before(today: chrono::NaiveDate, n: usize) -> Vec<chrono::NaiveDate> {
    let mut out = Vec::new();
    let mut d = today - chrono::Duration::days(1);
    while out.len() < n {
        if is_working_day(d) {
            out.push(d);
        }
        d -= chrono::Duration::days(1);
    }
    out.reverse();
    out
}

#[allow(clippy::too_many_lines)] // one city's migration, in order
pub(crate) async fn seed(store: &Store, ctx: &Ctx, seed: u64) -> anyhow::Result<MigrationSeeded> {
    let banks: Vec<KnownBank> = store
        .banks()
        .await?
        .into_iter()
        .map(|b| KnownBank {
            code: b.code,
            short_name: b.short_name,
            name_zh: b.name_zh,
        })
        .collect();
    let file = crate::legacy_cmds::generate(LEGACY_ROWS, seed ^ 0x1E6A);
    let parsed = parse_legacy_file(file.as_bytes(), &banks, "3212")
        .map_err(|p| anyhow::anyhow!("{}: {}", p.code, p.message_en))?;
    let cards: Vec<_> = parsed.lines.iter().map(|l| l.card.clone()).collect();
    let imported = store.import_legacy_cards(ctx, &cards).await?;
    let points = [
        (
            "TZ-HL-01",
            "海陵区社会保障卡服务中心",
            "Hailing Service Centre",
            "321202",
            200,
        ),
        (
            "TZ-GG-01",
            "医药高新区（高港区）社保服务网点",
            "Medical High-tech Zone Service Point",
            "321203",
            150,
        ),
        (
            "TZ-XH-01",
            "兴化市社保卡换卡点",
            "Xinghua Exchange Point",
            "321281",
            200,
        ),
        (
            "TZ-TX-01",
            "泰兴市社保卡换卡点",
            "Taixing Exchange Point",
            "321283",
            200,
        ),
        (
            "TZ-JY-01",
            "姜堰区社保卡换卡点",
            "Jiangyan Exchange Point",
            "321204",
            150,
        ),
        (
            "TZ-JJ-01",
            "靖江市社保卡换卡点",
            "Jingjiang Exchange Point",
            "321282",
            150,
        ),
    ];
    for (code, zh, en, district, capacity) in points {
        store
            .add_exchange_point(
                ctx,
                &ExchangePointInput {
                    code: code.into(),
                    name_zh: zh.into(),
                    name_en: en.into(),
                    district: district.into(),
                    capacity,
                },
            )
            .await?;
    }
    // The first phase's holders: a month of exchanges at the points (two in three new cards
    // already used, which supersedes the old card), then bookings for the days ahead.
    let first_phase: Vec<(CardNumber, sscard_ids::ResidentId, String)> = parsed
        .lines
        .iter()
        .filter(|l| {
            matches!(l.card.district.as_deref(), Some("321202" | "321203"))
                && l.card.status == sscard_store::bank::LegacyStatus::Normal
        })
        .map(|l| {
            (
                l.card.card,
                l.card.id,
                l.card.district.clone().unwrap_or_default(),
            )
        })
        .collect();
    let days = working_days_before(china_today(), 20);
    let (mut exchanged, mut superseded) = (0, 0);
    let mut used = std::collections::HashSet::new();
    for (i, (card, id, _)) in first_phase.iter().enumerate().take(days.len() * 12) {
        if !used.insert(*id) {
            continue;
        }
        let day = days[i / 12];
        let when = Ctx::at(ctx.actor.clone(), at_ten(day)).because("演示数据 / demo data");
        // A holder whose card the file recorded as replaced by a later one is skipped.
        let Ok(out) = store.exchange(&when, card).await else {
            continue;
        };
        exchanged += 1;
        let Some(new) = out.card_number else { continue };
        store.hand_over(&when, &new).await?;
        if i % 3 != 0 {
            store.record_use(&when, &new).await?;
            superseded += 1;
        }
    }
    let ahead: Vec<chrono::NaiveDate> = {
        let mut out = Vec::new();
        let mut d = china_today() + chrono::Duration::days(1);
        while out.len() < 8 {
            if is_working_day(d) {
                out.push(d);
            }
            d += chrono::Duration::days(1);
        }
        out
    };
    let mut booked = 0;
    let rest = first_phase
        .iter()
        .filter(|(_, id, _)| !used.contains(id))
        .take(ahead.len() * 30);
    for (i, (_, id, district)) in rest.enumerate() {
        let day = ahead[i % ahead.len()];
        let point = if district == "321203" {
            "TZ-GG-01"
        } else {
            "TZ-HL-01"
        };
        let phone = format!("139{:08}", 5_260_000 + i);
        let req = BookRequest {
            id: *id,
            name: None,
            point: point.into(),
            day,
            half: if i % 2 == 0 { Half::Am } else { Half::Pm },
            phone: Some(phone),
            channel: if i % 3 == 0 {
                Channel::Counter
            } else {
                Channel::SelfService
            },
        };
        if store.book_appointment(ctx, &req).await.is_ok() {
            booked += 1;
        }
    }
    Ok(MigrationSeeded {
        legacy: imported.accepted,
        points: points.len(),
        exchanged,
        superseded,
        booked,
    })
}
