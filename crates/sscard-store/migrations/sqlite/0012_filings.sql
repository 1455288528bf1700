-- 异地就医备案: the insured's filing for care in another city (long-term residence, a
-- temporary stay, a referral), for an insutype and a period; cancelled, never deleted.
CREATE TABLE insurance_filings (
    id            BLOB PRIMARY KEY,
    -- trt_dcla_detl_sn: BA + insured city + a serial.
    serial        TEXT NOT NULL UNIQUE,
    person_id     BLOB NOT NULL REFERENCES persons (id),
    insutype      TEXT NOT NULL CHECK (insutype IN ('310', '390')),
    -- The treatment city.
    region        TEXT NOT NULL CHECK (length(region) = 6),
    kind          TEXT NOT NULL CHECK (kind IN ('long_term', 'temporary', 'referral')),
    begin_date    TEXT NOT NULL,
    end_date      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    created_at    TEXT NOT NULL,
    cancelled_at  TEXT NULL,
    cancel_reason TEXT NULL,
    CHECK (end_date >= begin_date)
);
CREATE INDEX filings_by_person ON insurance_filings (person_id, region, begin_date);
