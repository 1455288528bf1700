//! The sscard Store: intention-named operations (`apply`, `hand_over`, `report_temporary_loss`,
//! `record_use`, …), each one transaction that applies `sscard-core`'s rules and records actor,
//! time and reason in the hash-chained audit trail.
//!
//! Two backends, chosen at run time by URL: `sqlite://PATH` (embedded, WAL; all writes through
//! one writer connection, reads from a pool) and `postgres://…` (kept within what YugabyteDB and
//! CockroachDB run: UUIDv7 keys made here, explicit BIGINT, no advisory locks in application
//! logic, every transaction retried on SQLSTATE 40001). The operations are written once, in
//! `ops.rs`, and compiled for each backend; the SQL is the same text for both.
//!
//! Concurrency: rows that a rule depends on carry a `version`; every update checks it, and a
//! transaction that lost a race is retried from the start, so it sees the winner's result and
//! the rule refuses it cleanly. The database also holds the invariants itself (partial unique
//! indexes, CHECKs); a violation becomes [`StoreError::Conflict`] naming the rule.

// The operations are one module tree compiled twice, once per backend (`sqlite.rs`,
// `postgres.rs`): loading the same files as two modules is the point.
#![allow(clippy::duplicate_mod)]

pub mod appointments;
mod audit;
pub mod bank;
pub mod browse;
mod error;
pub mod fsi;
pub mod insurance;
mod model;
mod pickup;
mod retry;
pub mod terminals;
#[cfg(feature = "testing")]
pub mod testing;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sscard_core::{CardEvent, LifecyclePolicy};
use sscard_ids::{CardNumber, CardNumberGenerator, RegionCode, ResidentId};

pub use audit::{Anchor, AnchorError, AuditEvent, AuditKey, AuditProblem, AuditReport, GENESIS};
pub use error::{Rule, StoreError};
pub use model::{
    ApplicationView, ApplyOutcome, ApplyRequest, Bank, BatchDetail, BatchImportOutcome,
    BatchRowInput, BatchSheet, BatchSummary, BatchUploadInput, CardActionOutcome, CardView, Ctx,
    Employer, HeldRowInput, IdempotencyClaim, IdempotentResponse, Institution, InstitutionInput,
    InstitutionsRegistered, NewStaff, Outlet, PersonInput, PersonView, PhotoInput, PhotoReplaced,
    ProductionRow, RowIssue, SheetEntry, SheetPhoto, StaffAccount, StepReport, StepResult,
    UploadSummary,
};
pub use pickup::{
    DistributionPlan, DistributionPoint, PickupCard, PickupFigures, PickupOutcome, PlanBox,
    PlanEntry, ProxyInput,
};

/// The URL used when none is given.
pub const DEFAULT_URL: &str = "sqlite://sscard.db";

/// The environment variable that makes SQLite fsync at every commit.
pub const SQLITE_FSYNC_ENV: &str = "SSCARD_SQLITE_FSYNC";

/// Settings of a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Use the database's migration lock (PostgreSQL advisory lock). Switch off for distributed
    /// SQL that lacks advisory locks, and run migrations from one place.
    pub migration_locking: bool,
    /// Connections in the PostgreSQL pool / SQLite reader pool.
    pub max_connections: u32,
    /// Prefix of card numbers allocated here (1–7 characters).
    pub card_number_prefix: String,
    /// Region that issues cards (first six characters of card identification codes).
    pub issuer_region: RegionCode,
    /// Lifecycle settings (temporary-loss period, …).
    pub policy: LifecyclePolicy,
    /// SQLite: fsync the write-ahead log at every commit (`synchronous=FULL`), so a committed
    /// transaction survives a power cut, not only a crash of the process (`NORMAL`). The
    /// default is taken from [`SQLITE_FSYNC_ENV`] (`1` or `true`), so every command and the
    /// server follow one setting.
    pub sqlite_fsync_each_commit: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            migration_locking: true,
            max_connections: 8,
            card_number_prefix: "T".into(),
            issuer_region: RegionCode::from_u32(321_200).expect("Taizhou"),
            policy: LifecyclePolicy::default(),
            sqlite_fsync_each_commit: std::env::var(SQLITE_FSYNC_ENV)
                .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true")),
        }
    }
}

/// Where a verification of the audit chain starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyFrom {
    /// The first event: the full walk.
    Genesis,
    /// The latest checkpoint (the chain found intact up to there before).
    Checkpoint,
}

/// How often the background sealer chains pending audit events (PostgreSQL).
pub const SEAL_PERIOD: Duration = Duration::from_millis(100);

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL (or PostgreSQL-wire distributed SQL).
    Postgres,
}

impl Backend {
    /// `sqlite` / `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Configuration the operations need, resolved once.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    card_numbers: CardNumberGenerator,
    issuer_region: RegionCode,
    policy: LifecyclePolicy,
}

enum Pools {
    Sqlite {
        writer: sqlx::SqlitePool,
        reader: sqlx::SqlitePool,
        /// Copies the write-ahead log into the database off the writer's path
        /// ([`checkpoint_wal`]); closed first, so the writer's close checkpoints last.
        checkpointer: sqlx::SqlitePool,
    },
    Postgres(sqlx::PgPool),
}

/// The most checks one batch of the check writer decides.
const CHECK_BATCH: usize = 256;

/// An online check handed to the check writer, and where its outcome goes.
struct CheckJob {
    check: terminals::BatchedCheck,
    reply: tokio::sync::oneshot::Sender<Result<terminals::CheckOutcome, StoreError>>,
}

/// The check writer's loop: the first check waiting, then every other one already waiting
/// (up to [`CHECK_BATCH`]), decided together; it ends when the last store handle is dropped.
async fn write_checks(
    pools: std::sync::Weak<Pools>,
    cfg: Config,
    mut receive: tokio::sync::mpsc::Receiver<CheckJob>,
) {
    while let Some(first) = receive.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < CHECK_BATCH {
            match receive.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let (checks, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.check, j.reply)).unzip();
        let Some(pools) = pools.upgrade() else { break };
        let results = match &*pools {
            Pools::Sqlite { writer, .. } => sqlite::check_batch(writer, &cfg, &checks).await,
            Pools::Postgres(pool) => postgres::check_batch(pool, &cfg, &checks).await,
        };
        drop(pools);
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

/// The most interface messages one batch of the interface writer decides.
const INTERFACE_BATCH: usize = 128;

/// An interface message handed to the interface writer, and where its answer goes.
struct InterfaceJob {
    message: fsi::Message,
    reply: tokio::sync::oneshot::Sender<Result<fsi::Answer, StoreError>>,
}

/// The interface writer's loop, as the check writer's: the first message waiting, then every
/// other one already waiting (up to [`INTERFACE_BATCH`]), decided in one transaction.
async fn write_interface(
    pools: std::sync::Weak<Pools>,
    cfg: Config,
    receive: std::sync::Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<InterfaceJob>>>,
) {
    loop {
        // One writer gathers a batch at a time; the others decide theirs meanwhile.
        let jobs = {
            let mut queue = receive.lock().await;
            let Some(first) = queue.recv().await else {
                break;
            };
            let mut jobs = vec![first];
            while jobs.len() < INTERFACE_BATCH {
                match queue.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            jobs
        };
        let (messages, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.message, j.reply)).unzip();
        let Some(pools) = pools.upgrade() else { break };
        let results = match &*pools {
            Pools::Sqlite { writer, .. } => sqlite::interface_batch(writer, &cfg, &messages).await,
            Pools::Postgres(pool) => postgres::interface_batch(pool, &cfg, &messages).await,
        };
        drop(pools);
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

/// Runs a store task on a thread of its own, with a runtime of its own: SQLite's connections
/// each have a worker thread, and a task of their own this way never queues behind the
/// server's requests on the shared runtime. Timers only (retries wait): a runtime without an
/// I/O driver parks on a futex, and the SQLite worker wakes it without an eventfd write.
fn on_own_thread(
    name: &str,
    task: impl std::future::Future<Output = ()> + Send + 'static,
) -> Option<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .ok()?;
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || runtime.block_on(task))
        .ok()?;
    Some(())
}

/// The log's length (in pages) at which the writer checkpoints the rest itself.
const WRITER_CHECKPOINT: &str = "4096";

/// How often the checkpointer looks at SQLite's write-ahead log.
const CHECKPOINT_PERIOD: Duration = Duration::from_millis(100);

/// The checkpointer's loop: a passive checkpoint (it never waits for the writer nor holds it
/// back) every [`CHECKPOINT_PERIOD`]; the writer starts the log afresh at a transaction that
/// begins after a checkpoint copied all of it. It ends when the store is closed or its last
/// handle dropped.
async fn checkpoint_wal(pools: std::sync::Weak<Pools>) {
    loop {
        tokio::time::sleep(CHECKPOINT_PERIOD).await;
        let Some(pools) = pools.upgrade() else { break };
        let Pools::Sqlite { checkpointer, .. } = &*pools else {
            break;
        };
        if checkpointer.is_closed() {
            break;
        }
        // A failure (the database busy or going away) is tried again on the next tick.
        let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(checkpointer)
            .await;
    }
}

/// Interface writers on PostgreSQL: batches decided side by side, each in its own transaction
/// (a person's settlements still serialise on the year's row).
const PG_INTERFACE_WRITERS: usize = 4;

/// The store. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Store {
    pools: std::sync::Arc<Pools>,
    /// The check writer's queue: online checks decided in batches ([`Store::terminal_check`]).
    checks: Option<tokio::sync::mpsc::Sender<CheckJob>>,
    /// The interface writer's queue: NHSA messages decided in batches ([`Store::interface_call`]).
    interface: Option<tokio::sync::mpsc::Sender<InterfaceJob>>,
    cfg: Config,
    migration_locking: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

/// A unit of work: one transaction, the audit events it gathers, and the scope refusals it meets.
///
/// The body uses `$tx` (a `sqlx::Transaction`) and `$audit` (an `ops::Audit`), `?` and `return`;
/// its value, however it is returned, commits the transaction after the audit events are
/// appended in the same transaction, so auditing happens by construction. An error rolls
/// everything back; an [`StoreError::OutOfScope`] is then recorded in the audit trail on its
/// own. A body that met a concurrent change runs again from scratch, within [`retry::Policy`].
macro_rules! unit_of_work {
    ($pool:expr, $ctx:expr, |$tx:ident, $audit:ident| $body:block) => {{
        let ctx: &$crate::Ctx = $ctx;
        let mut retry = $crate::retry::Policy::start();
        let outcome = loop {
            let once: Result<_, $crate::StoreError> = async {
                let mut $tx = $pool.begin().await?;
                #[allow(unused_mut)]
                let mut $audit = Audit::default();
                let value = async { Ok::<_, $crate::StoreError>($body) }.await?;
                flush_audit(&mut $tx, ctx, $audit).await?;
                $tx.commit().await?;
                Ok(value)
            }
            .await;
            match once {
                Err(e) if e.is_retryable() => {
                    if let Err(busy) = retry.again().await {
                        break Err(busy);
                    }
                }
                other => break other,
            }
        };
        if let Err($crate::StoreError::OutOfScope(refusal)) = &outcome {
            record_refusal($pool, ctx, refusal).await;
        }
        outcome
    }};
}

mod postgres;
mod sqlite;

/// Calls the same operation on whichever backend the store runs; `write` ops use the SQLite
/// writer connection, `read` ops the reader pool.
macro_rules! dispatch {
    ($self:ident, write, $op:ident($($arg:expr),*)) => {
        match &*$self.pools {
            Pools::Sqlite { writer, .. } => sqlite::$op(writer, &$self.cfg, $($arg),*).await,
            Pools::Postgres(pool) => postgres::$op(pool, &$self.cfg, $($arg),*).await,
        }
    };
    ($self:ident, read, $op:ident($($arg:expr),*)) => {
        match &*$self.pools {
            Pools::Sqlite { reader, .. } => sqlite::$op(reader, &$self.cfg, $($arg),*).await,
            Pools::Postgres(pool) => postgres::$op(pool, &$self.cfg, $($arg),*).await,
        }
    };
}

impl Store {
    /// Connects to `sqlite://PATH` (creating the file) or `postgres://…`. Does not migrate.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let cfg = Config {
            card_numbers: CardNumberGenerator::new(&options.card_number_prefix)
                .map_err(|e| StoreError::refused(&e))?,
            issuer_region: options.issuer_region,
            policy: options.policy,
        };
        let pools = if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Database {
                    detail: e.to_string(),
                })?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(if options.sqlite_fsync_each_commit {
                    SqliteSynchronous::Full
                } else {
                    SqliteSynchronous::Normal
                })
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            // One writer: SQLite serialises writes anyway, and one connection never meets
            // SQLITE_BUSY from another writer. Reads go to a pool (WAL lets them run alongside).
            // Pages are read through a memory map (no read call per page), and the writer keeps
            // 256 MiB of them (SQLite's default is 2 MiB): a batch of a million payments or
            // legacy cards touches far more than that in one statement.
            let connect = connect.pragma("mmap_size", "1073741824");
            // Checkpoints beside the writer: SQLite would copy the log into the database
            // inside a commit every 1,000 pages (and sync it), holding back every answer of
            // that commit's batch. A connection of its own copies it as it grows
            // ([`checkpoint_wal`]); the writer checkpoints only every [`WRITER_CHECKPOINT`]
            // pages, when little is left to copy, so that the log starts afresh at its next
            // transaction (under writes without a pause, the checkpointer alone never
            // finishes between one commit and the next begin, and the log would grow).
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(retry::ACQUIRE_TIMEOUT)
                .connect_with(
                    connect
                        .clone()
                        .pragma("cache_size", "-262144")
                        .pragma("wal_autocheckpoint", WRITER_CHECKPOINT),
                )
                .await?;
            let checkpointer = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(connect.clone().pragma("wal_autocheckpoint", "0"))
                .await?;
            let reader = SqlitePoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .connect_with(connect.read_only(true))
                .await?;
            Pools::Sqlite {
                writer,
                reader,
                checkpointer,
            }
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let connect = PgConnectOptions::from_str(url).map_err(|e| StoreError::Database {
                detail: e.to_string(),
            })?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections.max(2))
                .acquire_timeout(retry::ACQUIRE_TIMEOUT)
                .connect_with(connect)
                .await?;
            Pools::Postgres(pool)
        } else {
            return Err(StoreError::Refused {
                code: "store.url",
                zh: format!("数据库地址“{url}”无法识别：请使用 sqlite://路径 或 postgres://…"),
                en: format!(
                    "database URL \"{url}\" not understood: use sqlite://PATH or postgres://…"
                ),
            });
        };
        let mut store = Store {
            pools: std::sync::Arc::new(pools),
            cfg,
            migration_locking: options.migration_locking,
            checks: None,
            interface: None,
        };
        store.start_sealer();
        store.start_checkpointer();
        store.checks = store.start_check_writer();
        store.interface = store.start_interface_writer();
        Ok(store)
    }

    /// On PostgreSQL, chains pending audit events every [`SEAL_PERIOD`] while the store lives
    /// (the task holds only a weak reference and ends with the last clone). Needs a Tokio
    /// runtime; without one, readers of the chain still seal before they read.
    /// Starts the check writer: it takes the online checks waiting and decides them together
    /// in one transaction (group commit), so concurrent terminals share statements and commits.
    /// It ends when the last handle of the store is dropped.
    fn start_check_writer(&self) -> Option<tokio::sync::mpsc::Sender<CheckJob>> {
        let (send, receive) = tokio::sync::mpsc::channel::<CheckJob>(4096);
        let pools = std::sync::Arc::downgrade(&self.pools);
        let cfg = self.cfg.clone();
        let writer = write_checks(pools, cfg, receive);
        if let Pools::Sqlite { .. } = &*self.pools {
            // SQLite's writer is one connection with its own worker thread: the check writer
            // gets a thread of its own too, so its statements never queue behind the
            // server's requests on the shared runtime.
            on_own_thread("sscard-checks", writer)?;
        } else {
            tokio::runtime::Handle::try_current().ok()?.spawn(writer);
        }
        Some(send)
    }

    /// Starts the interface writer (group commit of NHSA messages), as the check writer: on
    /// SQLite on a thread of its own, on PostgreSQL as a task of the runtime.
    fn start_interface_writer(&self) -> Option<tokio::sync::mpsc::Sender<InterfaceJob>> {
        let (send, receive) = tokio::sync::mpsc::channel::<InterfaceJob>(4096);
        let receive = std::sync::Arc::new(tokio::sync::Mutex::new(receive));
        let pools = std::sync::Arc::downgrade(&self.pools);
        if let Pools::Sqlite { .. } = &*self.pools {
            // SQLite has one writer connection: one interface writer, on a thread of its own.
            let writer = write_interface(pools, self.cfg.clone(), receive);
            on_own_thread("sscard-interface", writer)?;
        } else {
            let runtime = tokio::runtime::Handle::try_current().ok()?;
            for _ in 0..PG_INTERFACE_WRITERS {
                runtime.spawn(write_interface(
                    pools.clone(),
                    self.cfg.clone(),
                    receive.clone(),
                ));
            }
        }
        Some(send)
    }

    /// On SQLite, starts the checkpointer on a thread of its own: it copies the write-ahead
    /// log into the database every [`CHECKPOINT_PERIOD`] while the store lives.
    fn start_checkpointer(&self) {
        let Pools::Sqlite { .. } = &*self.pools else {
            return;
        };
        let pools = std::sync::Arc::downgrade(&self.pools);
        let _ = on_own_thread("sscard-checkpoint", checkpoint_wal(pools));
    }

    fn start_sealer(&self) {
        let Pools::Postgres(_) = &*self.pools else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pools = std::sync::Arc::downgrade(&self.pools);
        let cfg = self.cfg.clone();
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(SEAL_PERIOD).await;
                let Some(pools) = pools.upgrade() else { break };
                let Pools::Postgres(pool) = &*pools else {
                    break;
                };
                if pool.is_closed() {
                    break;
                }
                // A failure here (database restarting) is retried on the next tick; readers
                // seal again before they read.
                let _ = postgres::seal_audit(pool, &cfg).await;
            }
        });
    }

    /// Connects and migrates.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let store = Self::connect(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Creates or migrates the schema; idempotent. Returns the number of migrations applied now.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        match &*self.pools {
            Pools::Sqlite { writer, .. } => {
                let mut m = sqlx::migrate!("./migrations/sqlite");
                m.set_locking(self.migration_locking);
                let before = applied_count_sqlite(writer).await;
                m.run(writer).await?;
                Ok(applied_count_sqlite(writer).await - before)
            }
            Pools::Postgres(pool) => {
                let mut m = sqlx::migrate!("./migrations/postgres");
                m.set_locking(self.migration_locking);
                let before = applied_count_pg(pool).await;
                m.run(pool).await?;
                Ok(applied_count_pg(pool).await - before)
            }
        }
    }

    /// Which backend this store runs on.
    pub fn backend(&self) -> Backend {
        match &*self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// The lifecycle policy in force.
    pub fn policy(&self) -> LifecyclePolicy {
        self.cfg.policy
    }

    /// Closes all connections.
    pub async fn close(&self) {
        match &*self.pools {
            Pools::Sqlite {
                writer,
                reader,
                checkpointer,
            } => {
                checkpointer.close().await;
                reader.close().await;
                writer.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }

    // ---- registrations ----

    /// Registers a person, or updates the registration of a known one (name, employer,
    /// workshop, department, phone, insured city).
    pub async fn register_person(
        &self,
        ctx: &Ctx,
        person: &PersonInput,
    ) -> Result<PersonView, StoreError> {
        dispatch!(self, write, register_person(ctx, person))?;
        self.person(ctx, &person.id).await
    }

    /// Registers an employer by its unified social credit code (updates the name if known).
    pub async fn register_employer(
        &self,
        ctx: &Ctx,
        credit_code: &sscard_ids::CreditCode,
        name: &str,
        region: RegionCode,
    ) -> Result<Employer, StoreError> {
        dispatch!(
            self,
            write,
            register_employer(ctx, credit_code, name, region)
        )
    }

    /// Registers or updates designated medical institutions by code, in one transaction.
    pub async fn register_institutions(
        &self,
        ctx: &Ctx,
        inputs: &[InstitutionInput],
    ) -> Result<InstitutionsRegistered, StoreError> {
        dispatch!(self, write, register_institutions(ctx, inputs))
    }

    /// Every designated institution, in code order, with its terminals counted.
    pub async fn institutions(&self, ctx: &Ctx) -> Result<Vec<Institution>, StoreError> {
        dispatch!(self, read, institutions(ctx))
    }

    // ---- insurance ----

    /// Enrols many people in one transaction, whole or nothing (参保登记 in bulk: the demo,
    /// records taken over from another system).
    pub async fn enrol_insurance_many(
        &self,
        ctx: &Ctx,
        inputs: &[insurance::EnrolInput],
    ) -> Result<usize, StoreError> {
        dispatch!(self, write, enrol_insurance_many(ctx, inputs))
    }

    /// Enrols a person in an insutype at an insured place (参保登记; one active enrolment per
    /// person and insutype).
    pub async fn enrol_insurance(
        &self,
        ctx: &Ctx,
        input: &insurance::EnrolInput,
    ) -> Result<insurance::Enrolment, StoreError> {
        dispatch!(self, write, enrol_insurance(ctx, input))
    }

    /// 领取资格认证: a pensioner's certification at an outlet (ID number given) or at a terminal
    /// that checked the card online (the card names the person).
    pub async fn certify_pension(
        &self,
        ctx: &Ctx,
        id: Option<&ResidentId>,
        at: &insurance::CertifyAt,
    ) -> Result<insurance::Certification, StoreError> {
        dispatch!(self, write, certify_pension(ctx, id, at))
    }

    /// Whether a pensioner may be paid now (a certification in the last 12 months), and why not.
    pub async fn pension_status(
        &self,
        ctx: &Ctx,
        id: &ResidentId,
    ) -> Result<insurance::PensionStatus, StoreError> {
        dispatch!(self, read, pension_status(ctx, id))
    }

    /// 关系转移接续: moves a person's insurance in an insutype to another city (same card, same
    /// number, the account's balance follows).
    pub async fn transfer_insurance(
        &self,
        ctx: &Ctx,
        input: &insurance::TransferInput,
    ) -> Result<insurance::Transfer, StoreError> {
        dispatch!(self, write, transfer_insurance(ctx, input))
    }

    /// A person's insurance record: enrolments, accounts, accumulators by year.
    pub async fn insurance_record(
        &self,
        ctx: &Ctx,
        id: &ResidentId,
    ) -> Result<insurance::InsuranceRecord, StoreError> {
        dispatch!(self, read, insurance_record(ctx, id))
    }

    /// Records a filing for care in another city (异地就医备案).
    pub async fn add_filing(
        &self,
        ctx: &Ctx,
        input: &insurance::FilingInput,
    ) -> Result<insurance::Filing, StoreError> {
        dispatch!(self, write, add_filing(ctx, input))
    }

    /// Cancels a filing by its serial.
    pub async fn cancel_filing(
        &self,
        ctx: &Ctx,
        serial: &str,
        reason: &str,
    ) -> Result<insurance::Filing, StoreError> {
        dispatch!(self, write, cancel_filing(ctx, serial, reason))
    }

    /// Loads policy tables; each region and year given replaces its earlier tables.
    pub async fn load_policies(
        &self,
        ctx: &Ctx,
        rows: &[insurance::PolicyRow],
    ) -> Result<insurance::Loaded, StoreError> {
        dispatch!(self, write, load_policies(ctx, rows))
    }

    /// Decides one NHSA interface message (already authenticated by the gateway) in the
    /// interface writer's next batch; the answer is recorded with it, and a repeated msgid is
    /// answered from that record. `Err` is for the gateway (a reused nonce) and for failures;
    /// a business refusal is an [`fsi::Answer`] with `infcode` −1.
    pub async fn interface_call(&self, message: fsi::Message) -> Result<fsi::Answer, StoreError> {
        if let Some(queue) = &self.interface {
            let (reply, answer) = tokio::sync::oneshot::channel();
            if queue
                .send(InterfaceJob {
                    message: message.clone(),
                    reply,
                })
                .await
                .is_ok()
                && let Ok(result) = answer.await
            {
                return result;
            }
        }
        let mut results = dispatch!(self, write, interface_batch(std::slice::from_ref(&message)));
        results.pop().unwrap_or(Err(StoreError::Retry))
    }

    /// Issues an institution's gateway credentials (`x-tif-paasid` and token), replacing any
    /// before; the centre only. The token is in the result this once.
    pub async fn issue_credentials(
        &self,
        ctx: &Ctx,
        institution: &str,
    ) -> Result<fsi::Credentials, StoreError> {
        dispatch!(self, write, issue_credentials(ctx, institution))
    }

    /// The month's clearing between the cities (`YYYY-MM`): cross-region settlements summed per
    /// (insured city, treatment city), each city's net position; the centre only, audited.
    pub async fn clearing(&self, ctx: &Ctx, month: &str) -> Result<fsi::Clearing, StoreError> {
        dispatch!(self, write, clearing(ctx, month))
    }

    /// The gateway's key for a paasid: the institution and the token to verify with.
    pub async fn gateway_key(&self, paasid: &str) -> Result<Option<fsi::GatewayKey>, StoreError> {
        dispatch!(self, read, gateway_key(paasid))
    }

    /// Loads catalogue lines; each region given replaces its catalogue.
    pub async fn load_catalogue(
        &self,
        ctx: &Ctx,
        rows: &[insurance::CatalogueRow],
    ) -> Result<insurance::Loaded, StoreError> {
        dispatch!(self, write, load_catalogue(ctx, rows))
    }

    /// The loaded policy of an insured place for a year, insutype and `med_type`.
    pub async fn policy_for(
        &self,
        region: &str,
        year: i32,
        insutype: &str,
        med_type: &str,
    ) -> Result<Option<sscard_core::settlement::Policy>, StoreError> {
        dispatch!(self, read, policy_for(region, year, insutype, med_type))
    }

    // ---- terminals ----

    /// Enrols a terminal at an institution (the centre's work); `device` may be empty.
    pub async fn enrol_terminal(
        &self,
        ctx: &Ctx,
        institution: &str,
        alg: &str,
        device: &str,
    ) -> Result<terminals::TerminalEnrolment, StoreError> {
        let inputs = [(institution.to_owned(), alg.to_owned(), device.to_owned())];
        let mut done = self.enrol_terminals(ctx, &inputs).await?;
        Ok(done.remove(0))
    }

    /// Enrols many terminals in one transaction: `(institution, alg, device)` each.
    pub async fn enrol_terminals(
        &self,
        ctx: &Ctx,
        inputs: &[(String, String, String)],
    ) -> Result<Vec<terminals::TerminalEnrolment>, StoreError> {
        dispatch!(self, write, enrol_terminals(ctx, inputs))
    }

    /// Suspends a terminal or puts it back in service; returns its new state.
    pub async fn set_terminal_suspended(
        &self,
        ctx: &Ctx,
        number: &str,
        suspended: bool,
    ) -> Result<sscard_core::TerminalState, StoreError> {
        dispatch!(self, write, set_terminal_suspended(ctx, number, suspended))
    }

    /// The terminals, of one institution or all, in number order.
    pub async fn terminals(
        &self,
        ctx: &Ctx,
        institution: Option<&str>,
    ) -> Result<Vec<terminals::TerminalView>, StoreError> {
        dispatch!(self, read, terminals(ctx, institution))
    }

    /// One card check (or self-test) by a terminal, decided and recorded in one transaction.
    pub async fn terminal_check(
        &self,
        ctx: &Ctx,
        req: &terminals::CheckRequest,
        crypto: &dyn terminals::CheckCrypto,
        kind: terminals::CheckKind,
    ) -> Result<terminals::CheckOutcome, StoreError> {
        if let (terminals::CheckKind::Online, Some(queue)) = (kind, &self.checks) {
            let (reply, outcome) = tokio::sync::oneshot::channel();
            let job = CheckJob {
                check: terminals::BatchedCheck {
                    ctx: ctx.clone(),
                    req: req.clone(),
                    crypto: terminals::Decided::new(req, crypto),
                },
                reply,
            };
            if queue.send(job).await.is_ok()
                && let Ok(result) = outcome.await
            {
                return result;
            }
            // The writer is gone (its runtime stopped): decide alone.
        }
        dispatch!(self, write, terminal_check(ctx, req, crypto, kind))
    }

    /// Opens a readiness problem on a terminal.
    pub async fn open_problem(
        &self,
        ctx: &Ctx,
        terminal: &str,
        category: &str,
        note: &str,
    ) -> Result<terminals::TerminalProblem, StoreError> {
        dispatch!(self, write, open_problem(ctx, terminal, category, note))
    }

    /// Resolves a readiness problem.
    pub async fn resolve_problem(
        &self,
        ctx: &Ctx,
        number: i64,
        resolution: &str,
    ) -> Result<terminals::TerminalProblem, StoreError> {
        dispatch!(self, write, resolve_problem(ctx, number, resolution))
    }

    /// Readiness problems: the open ones, or all.
    pub async fn problems(
        &self,
        ctx: &Ctx,
        open_only: bool,
    ) -> Result<Vec<terminals::TerminalProblem>, StoreError> {
        dispatch!(self, read, problems(ctx, open_only))
    }

    /// The deny list's changes after version `since` (0: all).
    pub async fn deny_list(
        &self,
        ctx: &Ctx,
        since: i64,
    ) -> Result<terminals::DenyList, StoreError> {
        dispatch!(self, read, deny_list(ctx, since))
    }

    /// Reconciles uses terminals decided offline (each signed by its terminal).
    pub async fn upload_offline_uses(
        &self,
        ctx: &Ctx,
        uses: &[terminals::CheckRequest],
        crypto: &dyn terminals::CheckCrypto,
    ) -> Result<Vec<terminals::OfflineOutcome>, StoreError> {
        dispatch!(self, write, upload_offline_uses(ctx, uses, crypto))
    }

    /// The reconciled offline uses, newest first.
    pub async fn offline_uses(
        &self,
        ctx: &Ctx,
        flagged_only: bool,
    ) -> Result<Vec<terminals::OfflineUse>, StoreError> {
        dispatch!(self, read, offline_uses(ctx, flagged_only))
    }

    /// The readiness report by district and institution kind.
    pub async fn readiness(&self, ctx: &Ctx) -> Result<Vec<terminals::ReadinessLine>, StoreError> {
        dispatch!(self, read, readiness(ctx))
    }

    // ---- applications ----

    /// Applies for a card (new, reissue, exchange); with `instant` the card is produced at once.
    pub async fn apply(&self, ctx: &Ctx, req: &ApplyRequest) -> Result<ApplyOutcome, StoreError> {
        dispatch!(self, write, apply(ctx, req))
    }

    // ---- the card lifecycle ----

    /// 发放: the card reaches its holder.
    pub async fn hand_over(&self, ctx: &Ctx, card: &CardNumber) -> Result<CardView, StoreError> {
        dispatch!(self, write, card_event(ctx, card, CardEvent::HandOver))
    }

    /// 启用社保功能; supersedes the holder's other cards.
    pub async fn activate_ss(&self, ctx: &Ctx, card: &CardNumber) -> Result<CardView, StoreError> {
        dispatch!(self, write, card_event(ctx, card, CardEvent::ActivateSs))
    }

    /// The bank reports the account opened.
    pub async fn record_bank_account(
        &self,
        ctx: &Ctx,
        card: &CardNumber,
    ) -> Result<CardView, StoreError> {
        dispatch!(
            self,
            write,
            card_event(ctx, card, CardEvent::BankAccountOpened)
        )
    }

    /// 激活金融功能, as reported by the bank.
    pub async fn activate_bank(
        &self,
        ctx: &Ctx,
        card: &CardNumber,
    ) -> Result<CardView, StoreError> {
        dispatch!(self, write, card_event(ctx, card, CardEvent::ActivateBank))
    }

    /// 临时挂失.
    pub async fn report_temporary_loss(
        &self,
        ctx: &Ctx,
        card: &CardNumber,
    ) -> Result<CardView, StoreError> {
        dispatch!(
            self,
            write,
            card_event(ctx, card, CardEvent::TemporaryLoss { at: ctx.at })
        )
    }

    /// 正式挂失 (shared with the bank).
    pub async fn report_formal_loss(
        &self,
        ctx: &Ctx,
        card: &CardNumber,
    ) -> Result<CardView, StoreError> {
        dispatch!(self, write, card_event(ctx, card, CardEvent::FormalLoss))
    }

    /// 解挂.
    pub async fn unfreeze(&self, ctx: &Ctx, card: &CardNumber) -> Result<CardView, StoreError> {
        dispatch!(self, write, card_event(ctx, card, CardEvent::Unfreeze))
    }

    /// 注销.
    pub async fn cancel_card(&self, ctx: &Ctx, card: &CardNumber) -> Result<CardView, StoreError> {
        dispatch!(self, write, card_event(ctx, card, CardEvent::Cancel))
    }

    /// A use of the card at a terminal. The first use of a new card enables it if needed and
    /// supersedes the holder's other cards in the same transaction; a superseded, lost or
    /// locked card is refused.
    pub async fn record_use(&self, ctx: &Ctx, card: &CardNumber) -> Result<CardView, StoreError> {
        dispatch!(self, write, card_event(ctx, card, CardEvent::FirstUse))
    }

    /// 补卡: after a formal loss, a new card is produced at once and the old one cancelled.
    pub async fn reissue(&self, ctx: &Ctx, card: &CardNumber) -> Result<ApplyOutcome, StoreError> {
        dispatch!(
            self,
            write,
            replace_card(ctx, card, sscard_core::BusinessType::Reissue)
        )
    }

    /// 换卡: a new card is produced at once; the old one works until the new one is used.
    pub async fn exchange(&self, ctx: &Ctx, card: &CardNumber) -> Result<ApplyOutcome, StoreError> {
        dispatch!(
            self,
            write,
            replace_card(ctx, card, sscard_core::BusinessType::Exchange)
        )
    }

    /// Takes one action of the catalogue ([`sscard_core::CardAction`]) on a card: the one
    /// dispatch the API, the console and the CLI share.
    pub async fn card_action(
        &self,
        ctx: &Ctx,
        card: &CardNumber,
        action: sscard_core::CardAction,
    ) -> Result<CardActionOutcome, StoreError> {
        use sscard_core::CardAction as A;
        let replacement = match action {
            A::Reissue => Some(self.reissue(ctx, card).await?),
            A::Exchange => Some(self.exchange(ctx, card).await?),
            A::HandOver
            | A::ActivateSs
            | A::TemporaryLoss
            | A::FormalLoss
            | A::Unfreeze
            | A::Cancel
            | A::RecordUse
            | A::BankAccountOpened
            | A::ActivateBank => {
                let view = dispatch!(self, write, card_event(ctx, card, action.event(ctx.at)))?;
                return Ok(CardActionOutcome {
                    card: view,
                    replacement: None,
                });
            }
        };
        Ok(CardActionOutcome {
            card: self.card(ctx, card).await?,
            replacement,
        })
    }

    /// Lapses every temporary loss older than the policy's period at `ctx.at`; returns the
    /// cards that returned to their previous status.
    pub async fn lapse_overdue_temporary_losses(
        &self,
        ctx: &Ctx,
    ) -> Result<Vec<CardNumber>, StoreError> {
        let due = dispatch!(self, read, overdue_temporary_losses(ctx))?;
        let mut lapsed = Vec::with_capacity(due.len());
        let event = CardEvent::LapseTemporaryLoss {
            now: ctx.at,
            period: self.cfg.policy.temporary_loss_lapse,
        };
        for card in due {
            match dispatch!(self, write, card_event(ctx, &card, event.clone())) {
                Ok(_) => lapsed.push(card),
                // Lifted or changed meanwhile: nothing to lapse any more.
                Err(StoreError::Refused { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(lapsed)
    }

    // ---- reads ----

    /// One card (a bank: its own cards only).
    pub async fn card(&self, ctx: &Ctx, card: &CardNumber) -> Result<CardView, StoreError> {
        let r = dispatch!(self, read, card_view(ctx, card));
        self.noted(ctx, r).await
    }

    /// One person with cards and applications (an employer agent: its own employer's only).
    pub async fn person(&self, ctx: &Ctx, id: &ResidentId) -> Result<PersonView, StoreError> {
        let r = dispatch!(self, read, person_view(ctx, id));
        self.noted(ctx, r).await
    }

    /// Records a read's scope refusal in the audit trail (a write's is recorded by its unit of
    /// work) and passes the result on.
    async fn noted<T>(&self, ctx: &Ctx, r: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::OutOfScope(refusal)) = &r {
            dispatch!(self, write, record_refusal_op(ctx, refusal));
        }
        r
    }

    /// The partner banks.
    pub async fn banks(&self) -> Result<Vec<Bank>, StoreError> {
        dispatch!(self, read, banks())
    }

    /// Walks the whole audit chain from the genesis, in constant memory, and names the first
    /// event that was altered, deleted or moved; an intact chain is recorded as a checkpoint.
    pub async fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        self.verify_audit_with(VerifyFrom::Genesis, None).await
    }

    /// Walks the audit chain from the genesis or from the latest checkpoint (the events since
    /// the last verification only: for pages that show the chain's status), optionally against
    /// an anchor kept outside the database. Pending events are sealed first.
    pub async fn verify_audit_with(
        &self,
        from: VerifyFrom,
        anchor: Option<&Anchor>,
    ) -> Result<AuditReport, StoreError> {
        self.seal_audit().await?;
        let start = match from {
            VerifyFrom::Genesis => None,
            VerifyFrom::Checkpoint => dispatch!(self, read, audit_checkpoint())?,
        }
        .unwrap_or((0, GENESIS.to_owned()));
        let report = dispatch!(self, read, verify_audit(start, anchor))?;
        if report.ok() && report.last_seq > 0 {
            dispatch!(
                self,
                write,
                save_audit_checkpoint(report.last_seq, &report.last_hash, chrono::Utc::now())
            )?;
        }
        Ok(report)
    }

    /// The chain's head now (pending events sealed first), signed with the audit key.
    pub async fn audit_anchor(&self, key: &AuditKey) -> Result<Anchor, StoreError> {
        self.seal_audit().await?;
        let (seq, hash) = dispatch!(self, read, audit_head())?;
        Ok(Anchor::sign(seq, &hash, chrono::Utc::now(), key))
    }

    /// Chains the audit events appended since the last seal (PostgreSQL; nothing to do on
    /// SQLite); returns how many. A background task does this every
    /// [`SEAL_PERIOD`]; readers of the chain call it first.
    pub async fn seal_audit(&self) -> Result<u64, StoreError> {
        dispatch!(self, write, seal_audit())
    }

    /// Audit events appended but not chained yet.
    pub async fn audit_pending(&self) -> Result<i64, StoreError> {
        dispatch!(self, read, audit_pending())
    }

    // ---- staff, sessions, tokens ----

    /// Creates a staff account.
    pub async fn create_staff(
        &self,
        ctx: &Ctx,
        staff: &NewStaff,
    ) -> Result<StaffAccount, StoreError> {
        dispatch!(self, write, create_staff(ctx, staff))
    }

    /// A staff account and its password hash, by login name.
    pub async fn staff_for_login(
        &self,
        username: &str,
    ) -> Result<Option<(StaffAccount, String)>, StoreError> {
        dispatch!(self, read, staff_for_login(username))
    }

    /// All staff accounts.
    pub async fn staff_list(&self) -> Result<Vec<StaffAccount>, StoreError> {
        dispatch!(self, read, staff_list())
    }

    /// Starts a session; only the token's hash is stored.
    pub async fn create_session(
        &self,
        ctx: &Ctx,
        staff: &StaffAccount,
        token_hash: &str,
        csrf: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        dispatch!(
            self,
            write,
            create_session(ctx, staff, token_hash, csrf, expires_at)
        )
    }

    /// The account and CSRF token of a live session.
    pub async fn session(
        &self,
        token_hash: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<(StaffAccount, String)>, StoreError> {
        dispatch!(self, read, session(token_hash, now))
    }

    /// Ends a session.
    pub async fn end_session(&self, ctx: &Ctx, token_hash: &str) -> Result<(), StoreError> {
        dispatch!(self, write, end_session(ctx, token_hash))
    }

    /// Creates an API token for a staff account; only its hash is stored.
    pub async fn create_api_token(
        &self,
        ctx: &Ctx,
        username: &str,
        name: &str,
        token_hash: &str,
    ) -> Result<StaffAccount, StoreError> {
        dispatch!(
            self,
            write,
            create_api_token(ctx, username, name, token_hash)
        )
    }

    /// The account behind an API token.
    pub async fn token_staff(&self, token_hash: &str) -> Result<Option<StaffAccount>, StoreError> {
        dispatch!(self, read, token_staff(token_hash))
    }

    /// A batch's rows on its contact sheet, in upload and row order: each with its normalised
    /// photo, or held with the reason its photo was refused and a preview of the source.
    pub async fn batch_sheet(&self, ctx: &Ctx, batch: i64) -> Result<BatchSheet, StoreError> {
        dispatch!(self, read, batch_sheet(ctx, batch))
    }

    /// Gives row `row` of batch `batch` a new photo (already normalised): a row held for its
    /// photo is applied (into the employer's open batch if this one has gone on), an applied row
    /// gets the new photo until its card is with the factory.
    pub async fn replace_batch_photo(
        &self,
        ctx: &Ctx,
        batch: i64,
        row: usize,
        photo: &PhotoInput,
    ) -> Result<PhotoReplaced, StoreError> {
        dispatch!(self, write, replace_batch_photo(ctx, batch, row, photo))
    }

    /// Claims an idempotency key for a request before it runs, in its own committed
    /// transaction, so that a request runs at most once per key across every server instance
    /// and across a crash: a second claim sees the first one's outcome, or that it is still in
    /// flight (or never finished).
    #[allow(clippy::too_many_arguments)]
    pub async fn claim_idempotency_key(
        &self,
        ctx: &Ctx,
        staff: uuid::Uuid,
        key: &str,
        method: &str,
        path: &str,
        request_hash: &str,
    ) -> Result<IdempotencyClaim, StoreError> {
        dispatch!(
            self,
            write,
            claim_idempotency_key(ctx, staff, key, method, path, request_hash)
        )
    }

    /// Records the response of a claimed key (`None`: the request failed on the server side and
    /// may run again, so the claim is released).
    pub async fn finish_idempotency_key(
        &self,
        ctx: &Ctx,
        staff: uuid::Uuid,
        key: &str,
        response: Option<&IdempotentResponse>,
    ) -> Result<(), StoreError> {
        dispatch!(
            self,
            write,
            finish_idempotency_key(ctx, staff, key, response)
        )
    }

    /// Appends an audit event that records an action without changing state (a login, the
    /// reveal of a full ID number).
    pub async fn record_audit(
        &self,
        ctx: &Ctx,
        action: &str,
        subject: &str,
        payload: serde_json::Value,
    ) -> Result<(), StoreError> {
        dispatch!(self, write, record_audit(ctx, action, subject, payload))
    }

    /// Appends many action events in one transaction (`(action, subject, payload)` each).
    pub async fn record_audit_many(
        &self,
        ctx: &Ctx,
        events: &[(String, String, serde_json::Value)],
    ) -> Result<(), StoreError> {
        dispatch!(self, write, record_audit_many(ctx, events))
    }

    // ---- the bank side: status exchange, legacy cards, benefit payments ----

    /// The next status export for `bank`: every notice not exported before (`again`: an
    /// earlier export's events, unchanged). A bank exports its own only.
    pub async fn bank_export(
        &self,
        ctx: &Ctx,
        bank: &str,
        again: Option<i64>,
    ) -> Result<bank::BankExport, StoreError> {
        dispatch!(self, write, bank_export(ctx, bank, again))
    }

    /// Applies a bank's status reports, each once by reference; a report on a card of another
    /// bank, or one the card's rules refuse, is listed and the others still apply.
    pub async fn bank_reports(
        &self,
        ctx: &Ctx,
        bank: &str,
        reports: &[bank::BankReportInput],
    ) -> Result<bank::ReportOutcome, StoreError> {
        dispatch!(self, write, bank_reports(ctx, bank, reports))
    }

    /// The status exchange's events, newest first (a bank: its own).
    pub async fn bank_events(
        &self,
        ctx: &Ctx,
        bank: Option<&str>,
        limit: i64,
    ) -> Result<Vec<bank::BankEventView>, StoreError> {
        dispatch!(self, read, bank_events(ctx, bank, limit))
    }

    /// One bank's cards (a bank: its own): counts by financial status and a page of cards
    /// (`page`: limit, offset), optionally of one financial status.
    pub async fn bank_cards(
        &self,
        ctx: &Ctx,
        bank: &str,
        financial: Option<&str>,
        page: (i64, i64),
    ) -> Result<bank::BankCards, StoreError> {
        dispatch!(self, read, bank_cards(ctx, bank, financial, page))
    }

    /// Adds a rollout phase of the migration (the centre only).
    pub async fn add_rollout_phase(
        &self,
        ctx: &Ctx,
        phase: &bank::RolloutPhase,
    ) -> Result<(), StoreError> {
        dispatch!(self, write, add_rollout_phase(ctx, phase))
    }

    /// Every rollout phase, by opening date.
    pub async fn rollout_phases(&self) -> Result<Vec<bank::RolloutPhase>, StoreError> {
        dispatch!(self, read, rollout_phases())
    }

    /// Whether a person may exchange a legacy card today, and why (not).
    pub async fn rollout_eligible(
        &self,
        ctx: &Ctx,
        id: &ResidentId,
    ) -> Result<bank::Eligibility, StoreError> {
        dispatch!(self, read, rollout_eligible(ctx, id))
    }

    // ---- the migration: exchange points, appointments, notices, cut-over ----

    /// Adds an exchange point or changes its name and capacity (the centre only).
    pub async fn add_exchange_point(
        &self,
        ctx: &Ctx,
        point: &appointments::ExchangePointInput,
    ) -> Result<(), StoreError> {
        dispatch!(self, write, add_exchange_point(ctx, point))
    }

    /// Every exchange point.
    pub async fn exchange_points(&self) -> Result<Vec<appointments::ExchangePoint>, StoreError> {
        dispatch!(self, read, exchange_points())
    }

    /// Books an exchange appointment (a counter, the centre, or the holder themself).
    pub async fn book_appointment(
        &self,
        ctx: &Ctx,
        req: &appointments::BookRequest,
    ) -> Result<appointments::Appointment, StoreError> {
        dispatch!(self, write, book_appointment(ctx, req))
    }

    /// One appointment by its confirmation code (a holder: their own only).
    pub async fn appointment(
        &self,
        ctx: &Ctx,
        code: &str,
    ) -> Result<appointments::Appointment, StoreError> {
        dispatch!(self, read, appointment(ctx, code))
    }

    /// What the self-service page shows a holder who typed their ID number and name.
    pub async fn holder_status(
        &self,
        ctx: &Ctx,
        id: &ResidentId,
        name: &sscard_ids::PersonName,
    ) -> Result<appointments::HolderStatus, StoreError> {
        dispatch!(self, read, holder_status(ctx, id, name))
    }

    /// Cancels a booking; its place is free again.
    pub async fn cancel_appointment(
        &self,
        ctx: &Ctx,
        code: &str,
    ) -> Result<appointments::Appointment, StoreError> {
        dispatch!(self, write, cancel_appointment(ctx, code))
    }

    /// Checks a booking in at its point, on its day.
    pub async fn check_in_appointment(
        &self,
        ctx: &Ctx,
        code: &str,
    ) -> Result<appointments::Appointment, StoreError> {
        dispatch!(self, write, check_in_appointment(ctx, code))
    }

    /// Frees the places of bookings not checked in 30 minutes into their half-day.
    pub async fn release_no_shows(
        &self,
        ctx: &Ctx,
        point: Option<&str>,
    ) -> Result<u64, StoreError> {
        dispatch!(self, write, release_no_shows(ctx, point))
    }

    /// Appointments of a point and/or day and/or status, newest day first.
    pub async fn appointments(
        &self,
        ctx: &Ctx,
        point: Option<&str>,
        day: Option<chrono::NaiveDate>,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<appointments::Appointment>, StoreError> {
        dispatch!(self, read, appointments(ctx, point, day, status, limit))
    }

    /// The half-days of `days` working days from `from` with the places left (of a district).
    pub async fn free_slots(
        &self,
        from: chrono::NaiveDate,
        days: u32,
        district: Option<&str>,
    ) -> Result<Vec<appointments::SlotView>, StoreError> {
        dispatch!(self, read, free_slots(from, days, district))
    }

    /// The notices outbox, newest first.
    pub async fn notices(
        &self,
        ctx: &Ctx,
        kind: Option<&str>,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<appointments::Notice>, StoreError> {
        dispatch!(self, read, notices(ctx, kind, status, limit))
    }

    /// Takes the notices due by now for the SMS gateway (each once).
    pub async fn export_notices(
        &self,
        ctx: &Ctx,
    ) -> Result<appointments::NoticeExport, StoreError> {
        dispatch!(self, write, export_notices(ctx))
    }

    /// Sets the cut-over date: after it legacy cards are refused at terminals.
    pub async fn set_cutover(&self, ctx: &Ctx, date: chrono::NaiveDate) -> Result<(), StoreError> {
        dispatch!(self, write, set_cutover(ctx, date))
    }

    /// The migration dashboard's figures.
    pub async fn migration_figures(
        &self,
        ctx: &Ctx,
    ) -> Result<appointments::MigrationFigures, StoreError> {
        dispatch!(self, read, migration_figures(ctx))
    }

    /// What the forecast starts from.
    pub async fn forecast_data(&self, ctx: &Ctx) -> Result<appointments::ForecastData, StoreError> {
        dispatch!(self, read, forecast_data(ctx))
    }

    /// Takes over cards of the old city system with their bank accounts, in one transaction.
    pub async fn import_legacy_cards(
        &self,
        ctx: &Ctx,
        cards: &[bank::LegacyCardInput],
    ) -> Result<bank::LegacyImportOutcome, StoreError> {
        dispatch!(self, write, import_legacy_cards(ctx, cards))
    }

    /// Pension certifications taken over in bulk from the old city system (done at its outlets
    /// in `region`): `(who, when, outlet)`. Answers (taken, people not registered).
    pub async fn import_certifications(
        &self,
        ctx: &Ctx,
        region: &str,
        rows: &[(ResidentId, chrono::DateTime<chrono::Utc>, String)],
    ) -> Result<(usize, usize), StoreError> {
        dispatch!(self, write, import_certifications(ctx, region, rows))
    }

    /// Creates a benefit payment batch from a file read; whole or nothing.
    pub async fn create_payment_batch(
        &self,
        ctx: &Ctx,
        input: &bank::PaymentBatchInput,
    ) -> Result<bank::PaymentBatchCreated, StoreError> {
        dispatch!(self, write, create_payment_batch(ctx, input))
    }

    /// One send of a batch: each row not paid goes to its payee's current card account, or is
    /// held with the reason; one file per bank.
    pub async fn send_payments(
        &self,
        ctx: &Ctx,
        batch: i64,
    ) -> Result<bank::SendOutcome, StoreError> {
        dispatch!(self, write, send_payments(ctx, batch))
    }

    /// The rows of one payment file waiting for its result (full ID numbers, names and
    /// accounts: for the bank's file only).
    pub async fn payment_order_rows(
        &self,
        ctx: &Ctx,
        batch: i64,
        send_no: i64,
        bank: &str,
    ) -> Result<Vec<bank::PaymentOrderRow>, StoreError> {
        dispatch!(self, read, payment_order_rows(ctx, batch, send_no, bank))
    }

    /// The records of one payment file waiting for its result, written one a line by the
    /// database (full ID numbers, names and accounts: for the bank's file only).
    pub async fn payment_order_text(
        &self,
        ctx: &Ctx,
        batch: i64,
        send_no: i64,
        bank: &str,
    ) -> Result<bank::PaymentOrderText, StoreError> {
        dispatch!(self, read, payment_order_text(ctx, batch, send_no, bank))
    }

    /// Applies a bank's result for one file, once.
    pub async fn apply_payment_result(
        &self,
        ctx: &Ctx,
        batch: i64,
        send_no: i64,
        bank: &str,
        rows: &[bank::PaymentResultRow],
    ) -> Result<bank::ResultOutcome, StoreError> {
        dispatch!(
            self,
            write,
            apply_payment_result(ctx, batch, send_no, bank, rows)
        )
    }

    /// A payment batch with its reconciliation (a bank: its own files).
    pub async fn payment_report(
        &self,
        ctx: &Ctx,
        batch: i64,
    ) -> Result<bank::PaymentBatchReport, StoreError> {
        dispatch!(self, read, payment_report(ctx, batch))
    }

    /// Every payment batch, newest first (a bank: those with files for it).
    pub async fn payment_batches(
        &self,
        ctx: &Ctx,
    ) -> Result<Vec<bank::PaymentBatchSummary>, StoreError> {
        dispatch!(self, read, payment_batches(ctx))
    }

    // ---- outlets, bulk registration ----

    /// Creates or updates a service point.
    pub async fn upsert_outlet(&self, ctx: &Ctx, outlet: &Outlet) -> Result<(), StoreError> {
        dispatch!(self, write, upsert_outlet(ctx, outlet))
    }

    /// An employer by credit code.
    pub async fn employer(&self, code: &sscard_ids::CreditCode) -> Result<Employer, StoreError> {
        dispatch!(self, read, employer(code))
    }

    /// All service points.
    pub async fn outlets(&self) -> Result<Vec<Outlet>, StoreError> {
        dispatch!(self, read, outlets())
    }

    /// Registers many people in one transaction (one audit event each); for imports and demo
    /// data. Known people are updated.
    pub async fn register_people(
        &self,
        ctx: &Ctx,
        people: &[PersonInput],
    ) -> Result<usize, StoreError> {
        dispatch!(self, write, register_people(ctx, people))
    }

    /// A person by internal id (an employer agent: its own employer's only).
    pub async fn person_by_id(&self, ctx: &Ctx, id: uuid::Uuid) -> Result<PersonView, StoreError> {
        let r = dispatch!(self, read, person_view_by_id(ctx, id));
        self.noted(ctx, r).await
    }

    /// 查看完整证件号码: a person's full ID number, for an actor whose scope covers the person;
    /// the reveal is audited in the same transaction (`ctx.reason` says why).
    pub async fn reveal_ssn(&self, ctx: &Ctx, id: uuid::Uuid) -> Result<ResidentId, StoreError> {
        dispatch!(self, write, reveal_ssn(ctx, id))
    }

    /// The holder of a card: full ID number and name (for personalisation; callers must not
    /// log them).
    pub async fn card_holder(
        &self,
        card: &CardNumber,
    ) -> Result<(ResidentId, sscard_ids::PersonName), StoreError> {
        dispatch!(self, read, card_holder(card))
    }

    // ---- employer bulk applications ----

    /// Applies the good rows of an employer's upload in one transaction, into the employer's
    /// open batch (started if there is none). Rows already applied in that batch are counted,
    /// not applied again; rows refused by a rule (a live card, an application elsewhere, a
    /// legacy bank) join the file's own problems in the outcome and in the stored upload.
    pub async fn import_batch(
        &self,
        ctx: &Ctx,
        upload: &BatchUploadInput,
    ) -> Result<BatchImportOutcome, StoreError> {
        dispatch!(self, write, import_batch(ctx, upload))
    }

    /// All batches, newest first; an employer agent sees its own employer's only.
    pub async fn batches(&self, ctx: &Ctx) -> Result<Vec<BatchSummary>, StoreError> {
        dispatch!(self, read, batches(ctx))
    }

    /// One batch by number (an employer agent: its own employer's only).
    pub async fn batch(&self, ctx: &Ctx, number: i64) -> Result<BatchDetail, StoreError> {
        let r = dispatch!(self, read, batch_detail(ctx, number));
        self.noted(ctx, r).await
    }

    /// The rows refused in one upload (the error workbook's content).
    pub async fn upload_problems(
        &self,
        ctx: &Ctx,
        upload: uuid::Uuid,
    ) -> Result<(i64, Vec<RowIssue>), StoreError> {
        let r = dispatch!(self, read, upload_problems(ctx, upload));
        self.noted(ctx, r).await
    }

    // ---- the production chain ----

    /// The rows of a batch at the given production steps (full personal data: for exchange
    /// files and personalisation only).
    pub async fn production_rows(
        &self,
        number: i64,
        steps: &[&str],
    ) -> Result<Vec<ProductionRow>, StoreError> {
        dispatch!(self, read, production_rows(number, steps))
    }

    /// Sends the waiting rows to their banks (10 → 20); returns every row with a bank.
    pub async fn send_to_bank(
        &self,
        ctx: &Ctx,
        number: i64,
    ) -> Result<Vec<ProductionRow>, StoreError> {
        dispatch!(self, write, send_to_bank(ctx, number))
    }

    /// Records one bank's results by SSN (20 → 21 when no row waits for a bank).
    pub async fn record_bank_results(
        &self,
        ctx: &Ctx,
        number: i64,
        bank: &str,
        results: &[(String, StepResult)],
    ) -> Result<StepReport, StoreError> {
        dispatch!(self, write, record_bank_results(ctx, number, bank, results))
    }

    /// Gives card numbers and sends the rows with accounts to the factory (21 → 30).
    pub async fn send_to_factory(
        &self,
        ctx: &Ctx,
        number: i64,
    ) -> Result<Vec<ProductionRow>, StoreError> {
        dispatch!(self, write, send_to_factory(ctx, number))
    }

    /// Records the factory's results by card number; made cards become sealed cards (30 → 31).
    pub async fn record_factory_results(
        &self,
        ctx: &Ctx,
        number: i64,
        results: &[(String, StepResult)],
    ) -> Result<StepReport, StoreError> {
        dispatch!(self, write, record_factory_results(ctx, number, results))
    }

    /// Records cards personalised (31 → 41).
    pub async fn record_personalised(
        &self,
        ctx: &Ctx,
        number: i64,
        cards: &[CardNumber],
    ) -> Result<StepReport, StoreError> {
        dispatch!(self, write, record_personalised(ctx, number, cards))
    }

    /// The outlet received the batch's cards (41 → 60); applications await pickup there.
    pub async fn receive_batch(
        &self,
        ctx: &Ctx,
        number: i64,
        outlet: &str,
    ) -> Result<StepReport, StoreError> {
        dispatch!(self, write, receive_batch(ctx, number, outlet))
    }

    /// A card's generation (`legacy`, `second`, `third`) and its holder's card photo.
    pub async fn card_face_data(
        &self,
        card: &CardNumber,
    ) -> Result<(String, Option<Vec<u8>>), StoreError> {
        dispatch!(self, read, card_face_data(card))
    }

    // ---- sorted distribution and the pickup desk ----

    /// Every distribution point (outlets and on-site points), by code.
    pub async fn distribution_points(&self) -> Result<Vec<DistributionPoint>, StoreError> {
        dispatch!(self, read, distribution_points())
    }

    /// One distribution point.
    pub async fn distribution_point(&self, code: &str) -> Result<DistributionPoint, StoreError> {
        dispatch!(self, read, distribution_point(code))
    }

    /// Sets the days an on-site point is open (empty: an outlet's ordinary working days).
    pub async fn set_opening_days(
        &self,
        ctx: &Ctx,
        code: &str,
        days: &[chrono::NaiveDate],
    ) -> Result<(), StoreError> {
        dispatch!(self, write, set_opening_days(ctx, code, days))
    }

    /// Orders a received batch's cards for pickup at `point` and boxes them (`box_size` cards a
    /// box); replaces an earlier plan of the batch unless pickup has started.
    pub async fn plan_distribution(
        &self,
        ctx: &Ctx,
        batch: i64,
        point: &str,
        box_size: u32,
    ) -> Result<DistributionPlan, StoreError> {
        dispatch!(self, write, plan_distribution(ctx, batch, point, box_size))
    }

    /// A batch's distribution plan.
    pub async fn distribution_plan(&self, batch: i64) -> Result<DistributionPlan, StoreError> {
        dispatch!(self, read, distribution_plan(batch))
    }

    /// What a pickup desk at `point` finds for a scanned ID number (changes nothing).
    pub async fn pickup_lookup(
        &self,
        ctx: &Ctx,
        point: &str,
        id: &ResidentId,
    ) -> Result<PickupOutcome, StoreError> {
        let r = dispatch!(self, read, pickup_lookup(ctx, point, id));
        self.noted(ctx, r).await
    }

    /// Hands the person's card over at `point` when it is ready there; otherwise returns what
    /// the desk finds, unchanged. One hand-over per card, even when two desks try at once.
    pub async fn pickup_hand_over(
        &self,
        ctx: &Ctx,
        point: &str,
        id: &ResidentId,
        proxy: Option<&ProxyInput>,
        handling_ms: Option<u32>,
    ) -> Result<PickupOutcome, StoreError> {
        dispatch!(
            self,
            write,
            pickup_hand_over(ctx, point, id, proxy, handling_ms)
        )
    }

    /// Marks a card of `point`'s plan missing from its box (or found again).
    pub async fn mark_card_missing(
        &self,
        ctx: &Ctx,
        point: &str,
        card: &CardNumber,
        missing: bool,
    ) -> Result<(), StoreError> {
        dispatch!(self, write, mark_card_missing(ctx, point, card, missing))
    }

    /// Records how many people wait in `point`'s queue now.
    pub async fn report_queue(
        &self,
        ctx: &Ctx,
        point: &str,
        waiting: u32,
    ) -> Result<(), StoreError> {
        dispatch!(self, write, report_queue(ctx, point, waiting))
    }

    /// A point's live figures for the day of `now` (China time).
    pub async fn pickup_figures(
        &self,
        ctx: &Ctx,
        point: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<PickupFigures, StoreError> {
        let r = dispatch!(self, read, pickup_figures(ctx, point, now));
        self.noted(ctx, r).await
    }

    // ---- browsing: the console's lists and the dashboards' counts ----

    /// Persons (masked), a page at a time (an employer agent: its own employer's).
    pub async fn list_persons(
        &self,
        ctx: &Ctx,
        q: &browse::ListQuery,
    ) -> Result<browse::ListPage<browse::PersonRow>, StoreError> {
        dispatch!(self, read, list_persons(ctx, q))
    }

    /// Cards, a page at a time (a bank: its own).
    pub async fn list_cards(
        &self,
        ctx: &Ctx,
        q: &browse::ListQuery,
    ) -> Result<browse::ListPage<browse::CardRow>, StoreError> {
        dispatch!(self, read, list_cards(ctx, q))
    }

    /// Institutions with their terminals, a page at a time.
    pub async fn list_institutions(
        &self,
        ctx: &Ctx,
        q: &browse::ListQuery,
    ) -> Result<browse::ListPage<browse::InstitutionRow>, StoreError> {
        dispatch!(self, read, list_institutions(ctx, q))
    }

    /// Terminals, a page at a time.
    pub async fn list_terminals(
        &self,
        ctx: &Ctx,
        q: &browse::ListQuery,
    ) -> Result<browse::ListPage<browse::TerminalRow>, StoreError> {
        dispatch!(self, read, list_terminals(ctx, q))
    }

    /// Settlements, newest first, a page at a time (an institution: its own).
    pub async fn list_settlements(
        &self,
        ctx: &Ctx,
        q: &browse::ListQuery,
    ) -> Result<browse::ListPage<browse::SettlementRow>, StoreError> {
        dispatch!(self, read, list_settlements(ctx, q))
    }

    /// Exchange bookings, a page at a time (a counter: its own point's).
    pub async fn list_bookings(
        &self,
        ctx: &Ctx,
        q: &browse::ListQuery,
    ) -> Result<browse::ListPage<appointments::Appointment>, StoreError> {
        dispatch!(self, read, list_bookings(ctx, q))
    }

    /// Batches, newest first, a page at a time; searched by batch number or employer name
    /// part, filtered by status code and employer (an employer agent: its own).
    pub async fn list_batches(
        &self,
        ctx: &Ctx,
        q: &browse::ListQuery,
    ) -> Result<browse::ListPage<BatchSummary>, StoreError> {
        let text = q.text().map(str::to_owned);
        let status: Option<u8> = q.status.as_deref().and_then(|s| s.parse().ok());
        let employer = q.employer.as_deref().filter(|e| !e.is_empty());
        let all: Vec<BatchSummary> = self
            .batches(ctx)
            .await?
            .into_iter()
            .filter(|b| status.is_none_or(|s| b.status == s))
            .filter(|b| employer.is_none_or(|e| b.employer == e))
            .filter(|b| {
                text.as_deref().is_none_or(|t| {
                    b.id.to_string() == t || b.employer_name.contains(t) || b.employer == t
                })
            })
            .collect();
        Ok(browse::ListPage::of(all, q))
    }

    /// Cards by generation and social-security status (a bank: its own).
    pub async fn card_counts(&self, ctx: &Ctx) -> Result<Vec<browse::CardCount>, StoreError> {
        dispatch!(self, read, card_counts(ctx))
    }

    /// Settlements per hour of a day, China time, and the day counted (`None`: the latest
    /// day with a settlement, else today). An institution counts its own.
    pub async fn settlements_by_hour(
        &self,
        ctx: &Ctx,
        day: Option<chrono::NaiveDate>,
    ) -> Result<(chrono::NaiveDate, Vec<(u32, u64)>), StoreError> {
        let today = sscard_ids::china_today();
        dispatch!(self, read, settlements_by_hour(ctx, day, today))
    }

    /// Production rows waiting at each step, by partner bank.
    pub async fn production_queue(
        &self,
        ctx: &Ctx,
    ) -> Result<Vec<browse::ProductionQueue>, StoreError> {
        dispatch!(self, read, production_queue(ctx))
    }

    /// Per point: cards handed over on a day and cards waiting (a counter: its own point).
    pub async fn pickups_on(
        &self,
        ctx: &Ctx,
        day: chrono::NaiveDate,
    ) -> Result<Vec<browse::PointPickups>, StoreError> {
        dispatch!(self, read, pickups_on(ctx, day))
    }

    /// The most recent audit events, newest first (pending events sealed first).
    pub async fn audit_tail(&self, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
        self.seal_audit().await?;
        dispatch!(self, read, audit_tail(limit))
    }
}

async fn applied_count_sqlite(pool: &sqlx::SqlitePool) -> usize {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map_or(0, |n| n as usize)
}

async fn applied_count_pg(pool: &sqlx::PgPool) -> usize {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map_or(0, |n| n as usize)
}
