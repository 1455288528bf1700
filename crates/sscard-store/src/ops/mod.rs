//! The store's operations, written once and compiled per backend: `lib.rs` mounts this module
//! tree twice, under `sqlite` (with `DB = sqlx::Sqlite`) and under `postgres` (with
//! `DB = sqlx::Postgres`). The SQL text is shared (`$n` placeholders work on both); where a
//! backend needs different SQL, the fragment is a named constant of its wrapper module in
//! `lib.rs` (see [`super::FOR_UPDATE`]) and used here by name.
//!
//! One file per capability. A new operation goes into the file of its capability as a
//! `pub(crate) async fn name(pool, cfg, ctx, …)` whose body is one `unit_of_work!` (writes) or
//! plain queries on the pool (reads); `lib.rs` gets one forwarding line in `Store`.
//!
//! Every capability file starts with `use super::*`: the backend's types, the imports below
//! and the helpers of its sibling files, so helpers move between files without import churn.

#![allow(clippy::wildcard_imports)]

mod audit;
mod bank;
mod batches;
mod browse;
mod cards;
mod check_batch;
mod distribution;
mod institutions;
mod insurance;
mod interface;
mod migration;
mod payments;
mod persons;
mod pickup_desk;
mod production;
mod rows;
mod settle;
mod staff;
mod terminals;

pub(crate) use self::audit::*;
pub(crate) use self::bank::*;
pub(crate) use self::batches::*;
pub(crate) use self::browse::*;
pub(crate) use self::cards::*;
pub(crate) use self::check_batch::*;
pub(crate) use self::distribution::*;
pub(crate) use self::institutions::*;
pub(crate) use self::insurance::*;
pub(crate) use self::interface::*;
pub(crate) use self::migration::*;
pub(crate) use self::payments::*;
pub(crate) use self::persons::*;
pub(crate) use self::pickup_desk::*;
pub(crate) use self::production::*;
use self::rows::*;
pub(crate) use self::settle::clearing;
pub(crate) use self::staff::*;
pub(crate) use self::terminals::*;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::json;
use sqlx::Row;
use sscard_core::{
    ApplicationEvent, ApplicationSource, ApplicationStatus, BusinessType, CardEvent, CardState,
    Effect, FinancialStatus, Holder, HolderEvent, SsStatus,
};
use sscard_ids::{
    CardIdCode, CardNumber, CreditCode, PersonName, RegionCode, ResidentId, mask_middle,
};
use uuid::Uuid;

use super::{
    AUDIT_INLINE, DATE_OF_TEXT, DB, FOR_UPDATE, INT_OF_JSON, JSON_ROWS, MULTI_STATEMENT,
    NEXT_CARD_NUMBER, NUMBERED_PARAMS, SNAPSHOT, UUID_OF_HEX,
};
use crate::audit::{AuditEvent, AuditReport, chain_hash};
use crate::pickup::{
    DistributionPlan, DistributionPoint, PickupCard, PickupFigures, PickupOutcome, PlanBox,
    PlanEntry, ProxyInput, ReadyCard,
};
use crate::{
    ApplicationView, ApplyOutcome, ApplyRequest, Bank, BatchDetail, BatchImportOutcome,
    BatchSummary, BatchUploadInput, CardView, Config, Ctx, Employer, PersonInput, PersonView,
    RowIssue, StoreError, UploadSummary,
};

type Pool = sqlx::Pool<DB>;
type Tx<'a> = sqlx::Transaction<'a, DB>;
type DbRow = <DB as sqlx::Database>::Row;

/// A read-only transaction that sees one snapshot of the database for all its statements.
async fn snapshot(pool: &Pool) -> Result<Tx<'static>, StoreError> {
    let mut tx = pool.begin().await?;
    if !SNAPSHOT.is_empty() {
        sqlx::query(SNAPSHOT).execute(&mut *tx).await?;
    }
    Ok(tx)
}
