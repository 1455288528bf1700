-- Medical insurance as settlement needs it. Money is integer cents (BIGINT), ratios integer
-- ten-thousandths: nothing is floating point.

-- 参保登记: a person's enrolment in an insutype (310 employees, 390 residents) at an insured
-- place (a city), with its period; one active enrolment per person and insutype.
CREATE TABLE insurance_enrolments (
    id          UUID PRIMARY KEY,
    person_id   UUID NOT NULL REFERENCES persons (id),
    insutype    TEXT NOT NULL CHECK (insutype IN ('310', '390')),
    region      TEXT NOT NULL CHECK (length(region) = 6),
    psn_type    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'ended')),
    begin_date  DATE NOT NULL,
    end_date    DATE NULL,
    employer    TEXT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX insurance_one_active ON insurance_enrolments (person_id, insutype)
    WHERE status = 'active';
CREATE INDEX insurance_by_person ON insurance_enrolments (person_id, begin_date);

-- The personal account (employees): its balance never below zero.
CREATE TABLE insurance_accounts (
    person_id     UUID NOT NULL REFERENCES persons (id),
    insutype      TEXT NOT NULL,
    balance_cents BIGINT NOT NULL CHECK (balance_cents >= 0),
    updated_at    TIMESTAMPTZ NOT NULL,
    version       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (person_id, insutype)
);

-- The year's accumulators: the pooled fund and the second tier per insutype, the deductible
-- per insutype and med_type.
CREATE TABLE insurance_years (
    person_id       UUID NOT NULL REFERENCES persons (id),
    insutype        TEXT NOT NULL,
    year            INTEGER NOT NULL,
    pool_paid_cents BIGINT NOT NULL DEFAULT 0,
    tier_paid_cents BIGINT NOT NULL DEFAULT 0,
    version         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (person_id, insutype, year)
);
CREATE TABLE insurance_deductibles (
    person_id  UUID NOT NULL REFERENCES persons (id),
    insutype   TEXT NOT NULL,
    year       INTEGER NOT NULL,
    med_type   TEXT NOT NULL,
    used_cents BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (person_id, insutype, year, med_type)
);

-- The insured places' policies, one row per region, year, insutype and med_type.
CREATE TABLE settlement_policies (
    region                  TEXT NOT NULL,
    year                    INTEGER NOT NULL,
    insutype                TEXT NOT NULL,
    med_type                TEXT NOT NULL,
    deductible_cents        BIGINT NOT NULL,
    ratio_1                 INTEGER NOT NULL,
    ratio_2                 INTEGER NOT NULL,
    ratio_3                 INTEGER NOT NULL,
    ratio_pharmacy          INTEGER NOT NULL,
    pool_cap_cents          BIGINT NOT NULL,
    second_tier_ratio       INTEGER NOT NULL,
    second_tier_cap_cents   BIGINT NOT NULL,
    unfiled_reduction       INTEGER NOT NULL,
    account                 BOOLEAN NOT NULL,
    loaded_at               TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (region, year, insutype, med_type)
);

-- The treatment places' catalogues: class 01 甲 / 02 乙 / 03 丙.
CREATE TABLE catalogue_items (
    region          TEXT NOT NULL,
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    class           TEXT NOT NULL CHECK (class IN ('01', '02', '03')),
    selfpay_prop    INTEGER NOT NULL,
    price_cap_cents BIGINT NULL,
    loaded_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (region, code)
);
