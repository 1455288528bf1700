-- Employer bulk applications: production batches, the rows in them, every upload into them
-- (with the problems found, for the error workbook), and the normalised photos.

-- A production batch (制卡批次) of one employer. Uploads go into the employer's batch that is
-- still `10` (created); once it has gone to the bank, the next upload starts a new batch.
CREATE TABLE batches (
    id          BLOB PRIMARY KEY,
    number      INTEGER NOT NULL,
    employer_id BLOB NOT NULL REFERENCES employers (id),
    -- sscard_core::BatchStatus codes: 10, 20–23, 30–33, 40–43, 60, 70.
    status      INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT batch_number_unique UNIQUE (number)
);
-- At most one batch per employer still taking uploads.
CREATE UNIQUE INDEX batch_open_per_employer ON batches (employer_id) WHERE status = 10;
INSERT INTO counters (name, value) VALUES ('batch', 0);

-- Each file an employer uploaded, with what became of it.
CREATE TABLE batch_uploads (
    id          BLOB PRIMARY KEY,
    batch_id    BLOB NOT NULL REFERENCES batches (id),
    file_name   TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    rows_total  INTEGER NOT NULL,
    accepted    INTEGER NOT NULL,
    already     INTEGER NOT NULL,
    -- JSON array of {row, column, code, message, message_en}: the error workbook's content.
    problems    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX batch_uploads_by_batch ON batch_uploads (batch_id);

-- One person in one batch: their application and how far it got.
CREATE TABLE batch_rows (
    id             BLOB PRIMARY KEY,
    batch_id       BLOB NOT NULL REFERENCES batches (id),
    person_id      BLOB NOT NULL REFERENCES persons (id),
    application_id BLOB NOT NULL REFERENCES applications (id),
    upload_id      BLOB NOT NULL REFERENCES batch_uploads (id),
    source_row     INTEGER NOT NULL,
    bank_code      TEXT NOT NULL REFERENCES banks (code),
    -- Where the row is in the production chain; a failed row waits for a retry.
    step           TEXT NOT NULL CHECK (step IN ('applied', 'bank_sent', 'bank_ok', 'bank_failed',
                       'factory_sent', 'made', 'factory_failed', 'personalised', 'received')),
    failure        TEXT NULL,
    account_number TEXT NULL,
    card_number    TEXT NULL,
    chip_serial    TEXT NULL,
    updated_at     TEXT NOT NULL,
    CONSTRAINT batch_row_person_unique UNIQUE (batch_id, person_id)
);
CREATE INDEX batch_rows_by_person ON batch_rows (person_id);

-- The normalised photo of a person (the latest one accepted), card and chip versions.
CREATE TABLE photos (
    person_id  BLOB PRIMARY KEY REFERENCES persons (id),
    sha256     TEXT NOT NULL,
    jpeg       BLOB NOT NULL,
    chip_jpeg  BLOB NOT NULL,
    quality    INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
