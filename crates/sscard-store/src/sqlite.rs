//! The operations compiled for SQLite, and the SQL fragments that differ on it.

pub(crate) type DB = sqlx::Sqlite;

/// Row locks: SQLite has one writer, so a write transaction already excludes the others.
pub(crate) const FOR_UPDATE: &str = "";

/// Audit events are chained by the unit of work itself: the one writer serialises writes.
pub(crate) const AUDIT_INLINE: bool = true;

/// A read transaction: in WAL mode SQLite already reads one snapshot for the whole transaction.
pub(crate) const SNAPSHOT: &str = "";

/// The next card number's sequence value: the counter row (the one writer makes it no queue).
pub(crate) const NEXT_CARD_NUMBER: &str =
    "UPDATE counters SET value = value + 1 WHERE name = 'card_number' RETURNING value";

/// Several statements go to SQLite in one call (sqlx runs them in order with their arguments):
/// one round trip to the connection's worker thread instead of one each.
pub(crate) const MULTI_STATEMENT: bool = true;

/// Statements with thousands of parameters use anonymous `?` placeholders: SQLite finds a
/// numbered one (`$n`) by a linear search of the statement's names, so binding `n` of them
/// costs `n²`.
pub(crate) const NUMBERED_PARAMS: bool = false;

/// Many rows handed to one statement as a single JSON array of arrays (`value->>0`, …), read
/// by SQLite's `json_each` in C: one bound value instead of thousands.
pub(crate) const JSON_ROWS: &str = "json_each($1)";

/// A UUID carried in JSON as 32 hex digits, as stored: a 16-byte blob on SQLite.
pub(crate) const UUID_OF_HEX: [&str; 2] = ["unhex(", ")"];

/// A date carried in JSON as `YYYY-MM-DD`, as stored: text on SQLite.
pub(crate) const DATE_OF_TEXT: [&str; 2] = ["", ""];

/// A small integer carried in JSON: SQLite's `->>` gives it as an integer already.
pub(crate) const INT_OF_JSON: [&str; 2] = ["", ""];

#[path = "ops/mod.rs"]
mod ops;
pub(crate) use ops::*;
