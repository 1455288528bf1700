//! Throw-away databases for other crates' tests (feature `testing`): a SQLite file in a temp
//! directory, or a fresh database on the PostgreSQL cluster at `SSCARD_TEST_PG_URL`. Without
//! that variable PostgreSQL tests skip with a printed reason — except in CI (`CI=true`), where
//! they fail.

use crate::{Store, StoreOptions};

/// A store on a database made for one test.
#[derive(Debug)]
pub struct TestDb {
    /// The store.
    pub store: Store,
    /// Its URL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A fresh SQLite database.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = Store::open(&url, &StoreOptions::default())
            .await
            .expect("open SQLite");
        TestDb {
            store,
            url,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` (with the reason printed) when no cluster is set.
    pub async fn postgres() -> Option<TestDb> {
        let url = fresh_postgres_url().await?;
        let store = Store::open(&url, &StoreOptions::default())
            .await
            .expect("open PostgreSQL");
        Some(TestDb {
            store,
            url,
            _dir: None,
        })
    }

    /// Runs raw SQL against the database behind the store, bypassing it (tampering tests).
    pub async fn raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
        use sqlx::Connection;
        if self.url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(&self.url).await?;
            Ok(sqlx::query(sql).execute(&mut c).await?.rows_affected())
        } else {
            let mut c = sqlx::PgConnection::connect(&self.url).await?;
            Ok(sqlx::query(sql).execute(&mut c).await?.rows_affected())
        }
    }
}

/// The URL of a new, empty database on the PostgreSQL cluster at `SSCARD_TEST_PG_URL`; `None`
/// (after printing why) when that is not set — a failure instead under `CI=true`, where the
/// PostgreSQL tests must run. The one place every crate's tests get a PostgreSQL database.
pub async fn fresh_postgres_url() -> Option<String> {
    let Ok(base) = std::env::var("SSCARD_TEST_PG_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but SSCARD_TEST_PG_URL is not set: the PostgreSQL tests must run in CI"
        );
        eprintln!("skipping PostgreSQL test: SSCARD_TEST_PG_URL is not set (see README, CI)");
        return None;
    };
    let name = format!("sscard_test_{}", uuid::Uuid::now_v7().simple());
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&base)
            .await
            .expect("connect to SSCARD_TEST_PG_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
    }
    let (prefix, rest) = base.rsplit_once('/').expect("URL with a database name");
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    Some(format!("{prefix}/{name}{query}"))
}

/// Takes `people` of `employer` (registered here if new) through the production chain with the
/// store's own operations — every bank and the factory succeed — and receives the cards at
/// `outlet`. Returns the batch number. For tests of what happens after production.
pub async fn received_batch(
    store: &Store,
    ctx: &crate::Ctx,
    employer: &sscard_ids::CreditCode,
    people: &[crate::PersonInput],
    outlet: &str,
) -> i64 {
    use crate::{BatchRowInput, BatchUploadInput, StepResult};
    let rows: Vec<BatchRowInput> = people
        .iter()
        .enumerate()
        .map(|(i, p)| BatchRowInput {
            row: i + 2,
            person: crate::PersonInput {
                employer: Some(*employer),
                ..p.clone()
            },
            bank: "CCB".into(),
            photo: None,
        })
        .collect();
    let upload = BatchUploadInput {
        employer: *employer,
        file_name: "test.csv".into(),
        file_sha256: format!("{:064x}", rand::random::<u128>()),
        rows_total: rows.len(),
        rows,
        problems: Vec::new(),
        held: Vec::new(),
    };
    let outcome = store.import_batch(ctx, &upload).await.expect("import");
    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    let batch = outcome.batch_id;
    let sent = store.send_to_bank(ctx, batch).await.expect("send to bank");
    let accounts: Vec<(String, StepResult)> = sent
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                r.ssn.clone(),
                StepResult::Ok(
                    sscard_ids::BankCardNumber::from_payload(&format!("621700{:012}", i + 1))
                        .expect("account")
                        .expose()
                        .to_owned(),
                ),
            )
        })
        .collect();
    store
        .record_bank_results(ctx, batch, "105", &accounts)
        .await
        .expect("bank results");
    let ordered = store.send_to_factory(ctx, batch).await.expect("to factory");
    let made: Vec<(String, StepResult)> = ordered
        .iter()
        .map(|r| {
            let card = r.card_number.clone().expect("card number");
            let serial = format!("{:016X}", rand::random::<u64>());
            (card, StepResult::Ok(serial))
        })
        .collect();
    store
        .record_factory_results(ctx, batch, &made)
        .await
        .expect("factory results");
    let cards: Vec<sscard_ids::CardNumber> = made
        .iter()
        .map(|(c, _)| sscard_ids::CardNumber::parse(c).expect("card number"))
        .collect();
    store
        .record_personalised(ctx, batch, &cards)
        .await
        .expect("personalised");
    store
        .receive_batch(ctx, batch, outlet)
        .await
        .expect("received");
    batch
}

/// One number from the database at `url`, read straight from it with `sql` (tests that check
/// a figure shown by the server against the tables).
pub async fn scalar(url: &str, sql: &str) -> Result<i64, sqlx::Error> {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await?;
        sqlx::query_scalar(sql).fetch_one(&mut c).await
    } else {
        let mut c = sqlx::PgConnection::connect(url).await?;
        sqlx::query_scalar(sql).fetch_one(&mut c).await
    }
}
