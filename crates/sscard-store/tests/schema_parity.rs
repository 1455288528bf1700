//! The two migration trees are written by hand, one per backend. This test migrates both and
//! compares what they made: the same tables, the same columns with the same nullability and
//! the same kind of type, the same named indexes. A migration added to one tree and forgotten
//! (or written differently) in the other fails here.

use std::collections::BTreeMap;

use sqlx::{Connection, Row};
use sscard_store::testing::TestDb;

/// A column as both backends can describe it.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Column {
    kind: &'static str,
    nullable: bool,
}

/// Tables → columns, and the named indexes, of one database.
#[derive(Debug, Default)]
struct Schema {
    tables: BTreeMap<String, BTreeMap<String, Column>>,
    indexes: BTreeMap<String, String>,
}

/// The kind of type both trees map one type to: SQLite stores UUIDs and bytes as BLOB,
/// booleans and every integer width as INTEGER, and times as TEXT (see [`same`]).
fn kind(declared: &str) -> &'static str {
    let t = declared.to_ascii_lowercase();
    match t.as_str() {
        "uuid" | "blob" | "bytea" => "bytes-or-uuid",
        "text" | "character varying" | "varchar" => "text",
        "timestamp with time zone" | "timestamptz" | "timestamp without time zone" | "date" => {
            "time"
        }
        "integer" | "bigint" | "smallint" | "boolean" | "int" => "integer",
        "numeric" => "numeric",
        other => panic!("column type {other:?} has no kind in the parity test; add it"),
    }
}

/// Whether a SQLite column and a PostgreSQL column hold the same thing: the same kind and
/// nullability, where a PostgreSQL time or date is TEXT (ISO 8601) in SQLite.
fn same(sqlite: &Column, postgres: &Column) -> bool {
    sqlite.nullable == postgres.nullable
        && (sqlite.kind == postgres.kind || (sqlite.kind == "text" && postgres.kind == "time"))
}

async fn sqlite_schema(url: &str) -> Schema {
    let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
    let mut s = Schema::default();
    let tables = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for t in tables {
        let table: String = t.get("name");
        let cols = sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)")
            .bind(&table)
            .fetch_all(&mut c)
            .await
            .unwrap();
        let cols = cols
            .into_iter()
            .map(|r| {
                let notnull: i64 = r.get("notnull");
                let pk: i64 = r.get("pk");
                (
                    r.get::<String, _>("name"),
                    Column {
                        kind: kind(&r.get::<String, _>("type")),
                        nullable: notnull == 0 && pk == 0,
                    },
                )
            })
            .collect();
        s.tables.insert(table, cols);
    }
    for r in sqlx::query(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    )
    .fetch_all(&mut c)
    .await
    .unwrap()
    {
        s.indexes.insert(r.get("name"), r.get("tbl_name"));
    }
    s
}

async fn postgres_schema(url: &str) -> Schema {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let mut s = Schema::default();
    for r in sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, \
         is_nullable::text AS n FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap()
    {
        let n: String = r.get("n");
        s.tables.entry(r.get("t")).or_default().insert(
            r.get("c"),
            Column {
                kind: kind(&r.get::<String, _>("ty")),
                nullable: n == "YES",
            },
        );
    }
    // Indexes created by name (CREATE INDEX / CREATE UNIQUE INDEX), not those PostgreSQL
    // makes for a primary key or an inline UNIQUE (SQLite calls those sqlite_autoindex_*).
    for r in sqlx::query(
        "SELECT i.indexname::text AS name, i.tablename::text AS t FROM pg_indexes i \
         WHERE i.schemaname = 'public' AND i.tablename <> '_sqlx_migrations' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)",
    )
    .fetch_all(&mut c)
    .await
    .unwrap()
    {
        s.indexes.insert(r.get("name"), r.get("t"));
    }
    s
}

#[tokio::test]
async fn both_backends_build_the_same_schema() {
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    let lite = TestDb::sqlite().await;
    let a = sqlite_schema(&lite.url).await;
    let b = postgres_schema(&pg.url).await;
    let mut problems = Vec::new();
    let names = |m: &BTreeMap<String, _>| m.keys().cloned().collect::<Vec<_>>();
    if names(&a.tables) != names(&b.tables) {
        problems.push(format!(
            "tables differ:\n  sqlite:   {:?}\n  postgres: {:?}",
            names(&a.tables),
            names(&b.tables)
        ));
    }
    for (table, cols) in &a.tables {
        let Some(other) = b.tables.get(table) else {
            continue;
        };
        for (name, col) in cols {
            match other.get(name) {
                None => problems.push(format!("{table}.{name}: only in SQLite")),
                Some(o) if !same(col, o) => {
                    problems.push(format!("{table}.{name}: SQLite {col:?}, PostgreSQL {o:?}"));
                }
                Some(_) => {}
            }
        }
        for name in other.keys().filter(|n| !cols.contains_key(*n)) {
            problems.push(format!("{table}.{name}: only in PostgreSQL"));
        }
    }
    if a.indexes != b.indexes {
        problems.push(format!(
            "named indexes differ:\n  sqlite:   {:?}\n  postgres: {:?}",
            a.indexes, b.indexes
        ));
    }
    pg.store.close().await;
    assert!(
        problems.is_empty(),
        "schema drift:\n{}",
        problems.join("\n")
    );
}

#[test]
fn both_trees_have_the_same_migration_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let list = |b: &str| {
        let mut v: Vec<String> = std::fs::read_dir(dir.join(b))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(list("sqlite"), list("postgres"));
}

/// A migration that has run somewhere must never change (sqlx refuses a database whose applied
/// migration's checksum differs, and a changed file would not run again anyway). The pinned SM3
/// of every file is in `migrations/RELEASED`; a new migration adds its line there
/// (`UPDATE_RELEASED=1 cargo test -p sscard-store --test schema_parity` adds missing lines, and
/// never rewrites an existing one).
#[test]
fn released_migrations_are_unchanged() {
    use sm3::Digest;
    use std::fmt::Write;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let pinned_path = dir.join("RELEASED");
    let pinned = std::fs::read_to_string(&pinned_path).unwrap_or_default();
    let pinned: BTreeMap<String, String> = pinned
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (hash, file) = l.split_once("  ").expect("`HASH  FILE` lines");
            (file.to_owned(), hash.to_owned())
        })
        .collect();
    let mut actual = BTreeMap::new();
    for backend in ["postgres", "sqlite"] {
        for e in std::fs::read_dir(dir.join(backend)).unwrap() {
            let e = e.unwrap();
            let name = format!("{backend}/{}", e.file_name().to_string_lossy());
            let hash = hex::encode(sm3::Sm3::digest(std::fs::read(e.path()).unwrap()));
            actual.insert(name, hash);
        }
    }
    let mut problems = Vec::new();
    for (file, hash) in &pinned {
        match actual.get(file) {
            None => problems.push(format!("{file}: released but deleted")),
            Some(h) if h != hash => problems.push(format!(
                "{file}: changed after release; write a new migration instead"
            )),
            Some(_) => {}
        }
    }
    let new: Vec<_> = actual
        .iter()
        .filter(|(f, _)| !pinned.contains_key(*f))
        .collect();
    if !new.is_empty() {
        if std::env::var("UPDATE_RELEASED").is_ok() {
            let mut text = std::fs::read_to_string(&pinned_path).unwrap_or_else(|_| {
                "# SM3 of every released migration; lines are added, never changed.\n".into()
            });
            for (file, hash) in &new {
                writeln!(text, "{hash}  {file}").unwrap();
            }
            std::fs::write(&pinned_path, text).unwrap();
        } else {
            problems.push(format!(
                "not pinned in migrations/RELEASED: {:?} (UPDATE_RELEASED=1 adds them)",
                new.iter().map(|(f, _)| f).collect::<Vec<_>>()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
