-- sscard schema 1 (PostgreSQL).
-- Kept within what PostgreSQL-wire distributed SQL (YugabyteDB, CockroachDB) also runs:
-- application-generated UUIDv7 keys (no serial/sequence hot spots), explicit BIGINT,
-- no advisory locks or LOCK TABLE. Rules that must hold under concurrency are constraints here,
-- not only code: a violation surfaces as a constraint name that the store maps to a typed
-- Conflict naming the rule.

-- Partner banks of the card's financial application. Codes are the PBoC bank category codes.
CREATE TABLE banks (
    code          TEXT PRIMARY KEY,
    short_name    TEXT NOT NULL UNIQUE,
    name_zh       TEXT NOT NULL,
    name_en       TEXT NOT NULL,
    service_phone TEXT NOT NULL,
    -- A legacy partner: its cards are still in circulation, it takes no new applications.
    legacy        BOOLEAN NOT NULL DEFAULT FALSE
);

INSERT INTO banks (code, short_name, name_zh, name_en, service_phone, legacy) VALUES
    ('105', 'CCB',   '中国建设银行',       'China Construction Bank',              '95533', FALSE),
    ('103', 'ABC',   '中国农业银行',       'Agricultural Bank of China',           '95599', FALSE),
    ('301', 'BOCOM', '交通银行',           'Bank of Communications',               '95559', FALSE),
    ('314', 'TZRCB', '江苏泰州农村商业银行', 'Jiangsu Taizhou Rural Commercial Bank', '96008', FALSE),
    ('403', 'PSBC',  '中国邮政储蓄银行',   'Postal Savings Bank of China',         '95580', TRUE);

CREATE TABLE employers (
    id          UUID PRIMARY KEY,
    credit_code TEXT NOT NULL,
    name        TEXT NOT NULL,
    region      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT employer_credit_code_unique UNIQUE (credit_code)
);

-- A person is keyed by the social security number (= resident ID number, 18 characters).
CREATE TABLE persons (
    id               UUID PRIMARY KEY,
    ssn              TEXT NOT NULL CHECK (length(ssn) = 18),
    name             TEXT NOT NULL,
    sex              SMALLINT NOT NULL CHECK (sex IN (1, 2)),
    birth_date       DATE NOT NULL,
    household_region TEXT NOT NULL,
    ethnicity        TEXT NULL,
    insured_city     TEXT NULL,
    employer_id      UUID NULL REFERENCES employers (id),
    workshop         TEXT NULL,
    department       TEXT NULL,
    phone            TEXT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    version          BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT person_ssn_unique UNIQUE (ssn)
);

CREATE TABLE applications (
    id               UUID PRIMARY KEY,
    person_id        UUID NOT NULL REFERENCES persons (id),
    business_type    TEXT NOT NULL CHECK (business_type IN ('01', '05', '06', '07')),
    source           TEXT NOT NULL CHECK (source IN ('individual', 'employer')),
    bank_code        TEXT NOT NULL REFERENCES banks (code),
    status           TEXT NOT NULL CHECK (status IN ('00', '01', '02', '03', '04', '90', '99')),
    replaces_card    TEXT NULL,
    card_number      TEXT NULL,
    outlet           TEXT NULL,
    reason           TEXT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    version          BIGINT NOT NULL DEFAULT 0
);
-- One open application per person: two clerks (or 200 concurrent requests) cannot start two.
CREATE UNIQUE INDEX application_open_per_person ON applications (person_id)
    WHERE status IN ('00', '01', '02');

CREATE TABLE cards (
    id                    UUID PRIMARY KEY,
    card_number           TEXT NOT NULL,
    card_id_code          TEXT NULL,
    person_id             UUID NOT NULL REFERENCES persons (id),
    application_id        UUID NULL REFERENCES applications (id),
    bank_code             TEXT NOT NULL REFERENCES banks (code),
    generation            TEXT NOT NULL CHECK (generation IN ('legacy', 'second', 'third')),
    issue_date            DATE NOT NULL,
    expiry_date           DATE NOT NULL,
    -- 0 sealed, 1 normal, 2 formal loss, 3 locked, 4 temporary loss, 9 cancelled.
    ss_status             SMALLINT NOT NULL CHECK (ss_status IN (0, 1, 2, 3, 4, 9)),
    -- Owned by the bank; mirrored here.
    financial_status      TEXT NOT NULL
        CHECK (financial_status IN ('not_opened', 'inactive', 'active', 'frozen', 'closed')),
    handed_over           BOOLEAN NOT NULL DEFAULT FALSE,
    first_used            BOOLEAN NOT NULL DEFAULT FALSE,
    superseded_by         TEXT NULL,
    temporary_loss_since  TIMESTAMPTZ NULL,
    ss_before_loss        SMALLINT NULL CHECK (ss_before_loss IN (0, 1, 3)),
    financial_before_loss TEXT NULL,
    last_used_at          TIMESTAMPTZ NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    -- Optimistic concurrency: every update checks and bumps it.
    version               BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT card_number_unique UNIQUE (card_number),
    CONSTRAINT card_id_code_unique UNIQUE (card_id_code)
);
-- At most one card per person whose social-security function is live.
CREATE UNIQUE INDEX card_live_per_person ON cards (person_id)
    WHERE ss_status IN (1, 3, 4) AND superseded_by IS NULL;
CREATE INDEX cards_by_person ON cards (person_id);
CREATE INDEX cards_temporary_loss ON cards (temporary_loss_since) WHERE ss_status = 4;

-- Named counters allocated inside transactions (card-number sequence).
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('card_number', 0);

-- The hash-chained audit trail: hash = SM3(prev_hash || canonical encoding of the event).
CREATE TABLE audit_events (
    seq       BIGINT PRIMARY KEY,
    id        UUID NOT NULL UNIQUE,
    at_us     BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    reason    TEXT NOT NULL,
    payload   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
-- The chain's head: every append moves it with a compare-and-set, which serialises appends
-- and lets verification notice a deleted last event.
CREATE TABLE audit_head (
    id   SMALLINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
