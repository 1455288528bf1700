-- 领取资格认证: a pensioner's yearly proof of entitlement, at any city's outlet (a clerk) or at
-- any ready terminal with the card (the terminal's online check). Payment needs one in the last
-- 12 months.
CREATE TABLE pension_certifications (
    id              BLOB PRIMARY KEY,
    person_id       BLOB NOT NULL REFERENCES persons (id),
    certified_at    TEXT NOT NULL,
    -- The city where it was done.
    region          TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('outlet', 'terminal')),
    outlet_code     TEXT NULL,
    terminal_number TEXT NULL,
    card_number     TEXT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX pension_certifications_by_person ON pension_certifications (person_id, certified_at);
