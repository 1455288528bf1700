-- The bank side of the card: the card's account number, the daily status exchange with each
-- partner bank in both directions, and benefit payments (代发) to the holders' card accounts.

-- The debit application's account number, as the bank returned it (account opening).
ALTER TABLE cards ADD COLUMN account_number TEXT NULL;
UPDATE cards SET account_number = (
    SELECT r.account_number FROM batch_rows r
    WHERE r.card_number = cards.card_number AND r.account_number IS NOT NULL
);

-- Cards whose account is frozen: few, looked up by every payment send.
CREATE INDEX cards_frozen ON cards (card_number) WHERE financial_status = 'frozen';

-- One event of the status exchange. `to_bank`: a social-security event that concerns the
-- card's account (formal_loss, loss_lifted, cancelled, new_card, superseded), waiting for the
-- bank's next export once `export_no` is NULL. `from_bank`: a financial status change the bank
-- reported (opened, activated, frozen, unfrozen, closed, formal_loss, loss_lifted) with the
-- bank's own reference, applied once: `outcome` is `applied` or the refusal's code.
CREATE TABLE bank_events (
    id          INTEGER PRIMARY KEY,
    bank_code   TEXT NOT NULL REFERENCES banks (code),
    direction   TEXT NOT NULL CHECK (direction IN ('to_bank', 'from_bank')),
    card_number TEXT NOT NULL,
    kind        TEXT NOT NULL,
    -- to_bank new_card: the card it replaces; superseded: the new card; from_bank opened: the
    -- account number.
    detail      TEXT NULL,
    ref         TEXT NULL,
    outcome     TEXT NULL,
    at          TEXT NOT NULL,
    export_no   INTEGER NULL
);
CREATE UNIQUE INDEX bank_events_ref ON bank_events (bank_code, ref) WHERE ref IS NOT NULL;
CREATE INDEX bank_events_pending ON bank_events (bank_code, id)
    WHERE direction = 'to_bank' AND export_no IS NULL;
CREATE INDEX bank_events_by_card ON bank_events (card_number);

CREATE TABLE bank_exports (
    bank_code  TEXT NOT NULL REFERENCES banks (code),
    export_no  INTEGER NOT NULL,
    events     INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (bank_code, export_no)
);

-- A benefit payment batch: one file of one kind for one period. The same file (by SHA-256)
-- is not accepted twice for a kind and period.
CREATE TABLE payment_batches (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('pension', 'unemployment', 'subsidy')),
    period         TEXT NOT NULL,
    file_sha256    TEXT NOT NULL,
    rows_read      INTEGER NOT NULL,
    accepted       INTEGER NOT NULL,
    total_cents    INTEGER NOT NULL,
    rejected_cents INTEGER NOT NULL,
    sends          INTEGER NOT NULL DEFAULT 0,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    UNIQUE (kind, period, file_sha256)
);

-- The rows of the file refused when the batch was created, with the reason.
CREATE TABLE payment_rejects (
    batch_id     INTEGER NOT NULL REFERENCES payment_batches (id),
    row_no       INTEGER NOT NULL,
    column_name  TEXT NOT NULL,
    code         TEXT NOT NULL,
    message      TEXT NOT NULL,
    message_en   TEXT NOT NULL,
    amount_cents INTEGER NULL
);
CREATE INDEX payment_rejects_by_batch ON payment_rejects (batch_id, row_no);

-- One payee of a batch. `status`: pending (never sent), sent (in a file, no answer yet),
-- paid, failed (the bank's `outcome`; sent again when the cause is gone), held (not sent:
-- `outcome` names why). `send_no` with `bank_code` names the file of the last attempt. On
-- SQLite the rows live in their key's order (WITHOUT ROWID): a send updates a million of them.
CREATE TABLE payment_rows (
    batch_id       INTEGER NOT NULL REFERENCES payment_batches (id),
    row_no         INTEGER NOT NULL,
    person_id      BLOB NOT NULL REFERENCES persons (id),
    amount_cents   INTEGER NOT NULL CHECK (amount_cents > 0),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'paid', 'failed', 'held')),
    attempt        INTEGER NOT NULL DEFAULT 0,
    send_no        INTEGER NULL,
    bank_code      TEXT NULL,
    card_number    TEXT NULL,
    account_number TEXT NULL,
    outcome        TEXT NULL,
    outcome_at     TEXT NULL,
    PRIMARY KEY (batch_id, row_no)
) WITHOUT ROWID;
-- No index by file: a file's rows are read by scanning the batch's rows in key order, which
-- is faster than looking up a fifth of them through an index, and a send does not rewrite one.

-- One file sent to one bank, and the bank's answer once applied (only once).
CREATE TABLE payment_files (
    batch_id     INTEGER NOT NULL REFERENCES payment_batches (id),
    send_no      INTEGER NOT NULL,
    bank_code    TEXT NOT NULL REFERENCES banks (code),
    rows_sent    INTEGER NOT NULL,
    total_cents  INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    result_at    TEXT NULL,
    paid_rows    INTEGER NOT NULL DEFAULT 0,
    paid_cents   INTEGER NOT NULL DEFAULT 0,
    failed_rows  INTEGER NOT NULL DEFAULT 0,
    failed_cents INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, send_no, bank_code)
);

-- Every failed attempt, for the history of a row and the reconciliation of each file.
CREATE TABLE payment_failures (
    batch_id       INTEGER NOT NULL REFERENCES payment_batches (id),
    row_no         INTEGER NOT NULL,
    attempt        INTEGER NOT NULL,
    send_no        INTEGER NOT NULL,
    bank_code      TEXT NOT NULL,
    account_number TEXT NOT NULL,
    amount_cents   INTEGER NOT NULL,
    outcome        TEXT NOT NULL,
    at             TEXT NOT NULL,
    PRIMARY KEY (batch_id, row_no, attempt)
);

INSERT INTO counters (name, value) VALUES ('payment_batch', 0);
