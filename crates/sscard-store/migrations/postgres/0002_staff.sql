-- Staff accounts, sessions, API tokens, idempotency records and service points (outlets).
-- Passwords are stored as argon2 PHC strings; session and API tokens only as SM3 hashes, so a
-- copy of the database does not log anyone in.

CREATE TABLE outlets (
    code        TEXT PRIMARY KEY,
    name_zh     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    region      TEXT NOT NULL,
    -- An ordinary outlet, or an on-site point at an employer.
    kind        TEXT NOT NULL CHECK (kind IN ('outlet', 'employer_site')),
    employer_id UUID NULL REFERENCES employers (id)
);

CREATE TABLE staff (
    id            UUID PRIMARY KEY,
    username      TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN
        ('admin', 'clerk', 'employer_agent', 'production_operator', 'terminal', 'bank', 'auditor')),
    outlet        TEXT NULL REFERENCES outlets (code),
    employer_id   UUID NULL REFERENCES employers (id),
    bank_code     TEXT NULL REFERENCES banks (code),
    password_hash TEXT NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT staff_username_unique UNIQUE (username),
    -- An employer agent acts for exactly one employer.
    CONSTRAINT staff_agent_has_employer CHECK (role <> 'employer_agent' OR employer_id IS NOT NULL)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id   UUID NOT NULL REFERENCES staff (id),
    csrf       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_by_staff ON sessions (staff_id);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    staff_id   UUID NOT NULL REFERENCES staff (id),
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE
);

-- The first result of a POST made with an Idempotency-Key, replayed for retries.
CREATE TABLE idempotency_keys (
    staff_id     UUID NOT NULL REFERENCES staff (id),
    key          TEXT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       SMALLINT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (staff_id, key)
);
