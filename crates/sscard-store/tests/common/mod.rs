//! Test harness: a fresh store per test on SQLite (temp file) or PostgreSQL (a new database on
//! the cluster at `SSCARD_TEST_PG_URL`). Without that variable PostgreSQL tests skip with a
//! printed reason — except in CI (`CI=true`), where they fail.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sscard_core::{ApplicationSource, BusinessType};
use sscard_ids::{CardNumber, PersonName, RegionCode, ResidentId};
use sscard_store::{ApplyRequest, Ctx, PersonInput, Store};

pub use sscard_store::testing::TestDb;

/// Generates a contract test that runs the same body on both backends.
#[macro_export]
macro_rules! contract {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let $db = $crate::common::TestDb::sqlite().await;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some($db) = $crate::common::TestDb::postgres().await else { return };
                $body
                $db.store.close().await;
            }
        }
    };
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 1, 30, 0).unwrap()
}

pub fn ctx() -> Ctx {
    Ctx::at(sscard_core::Actor::system("clerk:test"), t0())
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A fresh valid resident ID (Taizhou, Hailing district) for each call.
pub fn new_person() -> (ResidentId, PersonName) {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let birth = NaiveDate::from_ymd_opt(1980, 1, 1).unwrap()
        + chrono::Duration::days((n * 37 % 9000) as i64);
    let id = ResidentId::from_parts(
        RegionCode::parse("321202").unwrap(),
        birth,
        (n % 1000) as u16,
    )
    .unwrap();
    (id, PersonName::parse("王小明").unwrap())
}

pub fn request(
    id: &ResidentId,
    name: &PersonName,
    kind: BusinessType,
    instant: bool,
) -> ApplyRequest {
    ApplyRequest {
        person: PersonInput::new(*id, name.clone()),
        bank: "CCB".into(),
        kind,
        source: ApplicationSource::Individual,
        instant,
        outlet: Some("taizhou-hailing-01".into()),
    }
}

/// Applies for and produces a card, hands it over and enables it.
pub async fn card_in_use(store: &Store) -> (ResidentId, CardNumber) {
    let (id, name) = new_person();
    let out = store
        .apply(&ctx(), &request(&id, &name, BusinessType::New, true))
        .await
        .unwrap();
    let card = out.card_number.unwrap();
    store.hand_over(&ctx(), &card).await.unwrap();
    store.activate_ss(&ctx(), &card).await.unwrap();
    (id, card)
}
