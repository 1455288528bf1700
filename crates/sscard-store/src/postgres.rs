//! The operations compiled for PostgreSQL, and the SQL fragments that differ on it.

pub(crate) type DB = sqlx::Postgres;

/// Row locks taken by a read that a write in the same transaction depends on.
pub(crate) const FOR_UPDATE: &str = " FOR UPDATE";

/// Audit events are appended unchained and chained by the sealer, so writers never queue on
/// the chain's head.
pub(crate) const AUDIT_INLINE: bool = false;

/// A read transaction: PostgreSQL's default (READ COMMITTED) takes a new snapshot per
/// statement, so views that read several tables ask for one.
pub(crate) const SNAPSHOT: &str = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// The next card number's sequence value: a sequence, so concurrent applications never wait
/// on one counter row.
pub(crate) const NEXT_CARD_NUMBER: &str = "SELECT nextval('card_number_seq')";

/// The extended protocol prepares one statement at a time.
pub(crate) const MULTI_STATEMENT: bool = false;

/// PostgreSQL's placeholders are always numbered (`$n`).
pub(crate) const NUMBERED_PARAMS: bool = true;

/// Many rows handed to one statement as a single JSON array of arrays (`value->>0`, …).
pub(crate) const JSON_ROWS: &str = "jsonb_array_elements(CAST($1 AS JSONB))";

/// A UUID carried in JSON as 32 hex digits.
pub(crate) const UUID_OF_HEX: [&str; 2] = ["CAST(", " AS UUID)"];

/// A date carried in JSON as `YYYY-MM-DD`.
pub(crate) const DATE_OF_TEXT: [&str; 2] = ["CAST(", " AS DATE)"];

/// A small integer carried in JSON (`->>` gives text on PostgreSQL).
pub(crate) const INT_OF_JSON: [&str; 2] = ["CAST(", " AS SMALLINT)"];

#[path = "ops/mod.rs"]
mod ops;
pub(crate) use ops::*;
