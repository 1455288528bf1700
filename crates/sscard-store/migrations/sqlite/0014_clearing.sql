-- 清算申请 (3203): an institution's application for the month's clearing of one clearing
-- type, accepted only when its figures agree with the platform's settlements; one a month and
-- type. The month's clearing between the cities is computed from `settlements` itself.
CREATE TABLE clearing_applications (
    id             BLOB PRIMARY KEY,
    -- clr_appy_evt_id
    event_id       TEXT NOT NULL UNIQUE,
    institution_id BLOB NOT NULL REFERENCES institutions (id),
    -- YYYYMM
    setlym         TEXT NOT NULL,
    clr_type       TEXT NOT NULL,
    clr_way        TEXT NOT NULL,
    psntime        INTEGER NOT NULL,
    medfee_cents   INTEGER NOT NULL,
    fund_cents     INTEGER NOT NULL,
    acct_cents     INTEGER NOT NULL,
    cash_cents     INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    UNIQUE (institution_id, setlym, clr_type)
);
