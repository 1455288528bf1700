-- 定点医药机构: the hospitals, clinics and pharmacies where the card is used, and their
-- terminals. An institution's code is its `fixmedins_code` in the NHSA interface.
CREATE TABLE institutions (
    id         BLOB PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    -- 1 hospital (clinic), 2 pharmacy.
    kind       INTEGER NOT NULL CHECK (kind IN (1, 2)),
    -- hosp_lv 1/2/3 for hospitals; none for pharmacies and unrated clinics.
    level      INTEGER NULL CHECK (level IN (1, 2, 3)),
    -- The district (six-digit region code).
    region     TEXT NOT NULL,
    -- Networked for cross-region settlement (异地联网).
    networked  INTEGER NOT NULL,
    -- 10 active, 20 suspended, 30 closed.
    status     INTEGER NOT NULL DEFAULT 10,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX institutions_by_region ON institutions (region, kind);

-- A card terminal installed at an institution: 10 enrolled, 20 ready (passed the self-test),
-- 30 suspended.
CREATE TABLE terminals (
    id             BLOB PRIMARY KEY,
    number         TEXT NOT NULL UNIQUE,
    institution_id BLOB NOT NULL REFERENCES institutions (id),
    state          INTEGER NOT NULL CHECK (state IN (10, 20, 30)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX terminals_by_institution ON terminals (institution_id, state);
