-- The audit trail without a global hot row. A unit of work appends its events here, unchained,
-- inside its own transaction: concurrent writers insert distinct rows and never wait for each
-- other. The sealer (one at a time: it locks audit_head FOR UPDATE, which no business transaction
-- touches any more) takes the committed pending events in (at_us, id) order, chains them onto the
-- head into audit_events and deletes them here, in one transaction. Tamper evidence lags by the
-- sealer's period (~100 ms); every reader of the chain seals first.
-- On SQLite the one writer already serialises every write, so events are chained inline and this
-- table stays empty; it exists there too so both schemas are the same.
CREATE TABLE audit_pending (
    id      BLOB PRIMARY KEY,
    at_us   INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason  TEXT NOT NULL,
    payload TEXT NOT NULL
);

-- Verified points of the chain: a walk that found the chain intact up to (seq, hash) records it,
-- so the next incremental check walks only the events after it. A checkpoint is a shortcut for
-- pages, not evidence: the full walk (`sscard audit verify`) starts from the genesis, and an
-- anchor kept outside the database (`sscard audit anchor`) catches a rewritten chain.
CREATE TABLE audit_checkpoints (
    seq            INTEGER PRIMARY KEY,
    hash           TEXT NOT NULL,
    verified_at_us INTEGER NOT NULL
);
