-- 关系转移接续: a move of a person's insurance from one city to another within the province.
-- The old enrolment ends the day before the date, the new one begins on it; the person keeps
-- the same card and number, and the personal account (one per person and insutype) follows
-- them: the record keeps what moved.
CREATE TABLE insurance_transfers (
    id                  BLOB PRIMARY KEY,
    -- ZY + the old city + a serial.
    serial              TEXT NOT NULL UNIQUE,
    person_id           BLOB NOT NULL REFERENCES persons (id),
    insutype            TEXT NOT NULL,
    from_region         TEXT NOT NULL,
    to_region           TEXT NOT NULL,
    transfer_date       TEXT NOT NULL,
    -- Months of contributions carried over (every earlier city's included).
    contribution_months INTEGER NOT NULL,
    balance_moved_cents INTEGER NOT NULL,
    from_employer       TEXT NULL,
    to_employer         TEXT NULL,
    created_at          TEXT NOT NULL
);
CREATE INDEX transfers_by_person ON insurance_transfers (person_id, transfer_date);
