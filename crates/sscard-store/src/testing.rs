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
        let url = format!("{prefix}/{name}{query}");
        let store = Store::open(&url, &StoreOptions::default())
            .await
            .expect("open PostgreSQL");
        Some(TestDb {
            store,
            url,
            _dir: None,
        })
    }
}
