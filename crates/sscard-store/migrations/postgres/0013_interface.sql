-- The NHSA interface (定点医药机构接口) that hospital and pharmacy systems (HIS) speak: the
-- gateway credentials of each institution, the nonces the gateway has seen, every message with
-- the answer it got (a repeated msgid is answered from here, and a 2601 reversal finds what a
-- message changed here), sign-ins, the interface's person numbers, visits with their fee lines,
-- and settlements. Money is integer cents, ratios and counts integer ten-thousandths.

-- x-tif-paasid and its token, one pair per institution. The gateway recomputes
-- x-tif-signature with the token, so it is kept as issued (not hashed); it is shown once, when
-- issued, and a new issue replaces it.
CREATE TABLE institution_credentials (
    institution_id UUID PRIMARY KEY REFERENCES institutions (id),
    paasid         TEXT NOT NULL UNIQUE,
    token          TEXT NOT NULL,
    issued_at      TIMESTAMPTZ NOT NULL
);

-- x-tif-nonce values seen within the timestamp window: a nonce is accepted once.
CREATE TABLE gateway_nonces (
    paasid  TEXT NOT NULL,
    nonce   TEXT NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (paasid, nonce)
);
CREATE INDEX gateway_nonces_by_time ON gateway_nonces (seen_at);

-- Every message an institution sent, and the answer it got (infcode 0 or -1).
CREATE TABLE interface_messages (
    institution_id UUID NOT NULL REFERENCES institutions (id),
    msgid          TEXT NOT NULL,
    infno          TEXT NOT NULL,
    -- inf_refmsgid: the platform's reference of the answer.
    refmsgid       TEXT NOT NULL,
    infcode        INTEGER NOT NULL,
    -- The answer as JSON: `output`, or the error's code and messages.
    answer         TEXT NOT NULL,
    -- What the message changed, as JSON (a visit, fee lines, a settlement, a filing), for a
    -- 2601 reversal; none for reads and refusals.
    effect         TEXT NULL,
    -- The msgid of the 2601 that reversed it.
    reversed_by    TEXT NULL,
    received_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (institution_id, msgid)
);

-- 9001 sign-ins: the sign_no later messages carry.
CREATE TABLE interface_sign_ins (
    sign_no        TEXT PRIMARY KEY,
    institution_id UUID NOT NULL REFERENCES institutions (id),
    opter          TEXT NOT NULL,
    signed_at      TIMESTAMPTZ NOT NULL
);

-- psn_no: the number the interface knows a person by, issued at the first 1101.
CREATE TABLE insured_persons (
    person_id  UUID PRIMARY KEY REFERENCES persons (id),
    psn_no     TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- 就诊: a registration (2201) or an admission (2401), with its fee lines and settlement.
CREATE TABLE medical_visits (
    id               UUID PRIMARY KEY,
    mdtrt_id         TEXT NOT NULL UNIQUE,
    institution_id   UUID NOT NULL REFERENCES institutions (id),
    person_id        UUID NOT NULL REFERENCES persons (id),
    insutype         TEXT NOT NULL,
    -- 1 outpatient or pharmacy (2201), 2 inpatient (2401).
    kind             INTEGER NOT NULL CHECK (kind IN (1, 2)),
    med_type         TEXT NOT NULL,
    insured_region   TEXT NOT NULL,
    treatment_region TEXT NOT NULL,
    ipt_otp_no       TEXT NOT NULL,
    -- mdtrt_cert_type: 02 ID number, 03 card (its number kept).
    cert_type        TEXT NOT NULL,
    card_number      TEXT NULL,
    -- An emergency counts as filed for care in another city.
    emergency        BOOLEAN NOT NULL DEFAULT FALSE,
    dise_codg        TEXT NULL,
    dise_name        TEXT NULL,
    begntime         TIMESTAMP NOT NULL,
    endtime          TIMESTAMP NULL,
    status           TEXT NOT NULL
        CHECK (status IN ('open', 'discharged', 'settled', 'cancelled')),
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX visits_by_person ON medical_visits (person_id, begntime);
CREATE INDEX visits_by_institution ON medical_visits (institution_id, begntime);

-- 费用明细 (2204 / 2301), classified by the treatment place's catalogue when uploaded.
CREATE TABLE fee_lines (
    visit_id            UUID NOT NULL REFERENCES medical_visits (id),
    feedetl_sn          TEXT NOT NULL,
    chrg_bchno          TEXT NOT NULL,
    med_list_codg       TEXT NOT NULL,
    medins_list_codg    TEXT NOT NULL,
    fee_ocur_time       TIMESTAMP NOT NULL,
    pric_units          BIGINT NOT NULL,
    cnt_units           BIGINT NOT NULL,
    amount_cents        BIGINT NOT NULL,
    -- 01 甲 / 02 乙 / 03 丙; none: not in the catalogue.
    class               TEXT NULL,
    selfpay_prop        INTEGER NOT NULL,
    price_cap_cents     BIGINT NULL,
    fulamt_ownpay_cents BIGINT NOT NULL,
    overlmt_cents       BIGINT NOT NULL,
    preselfpay_cents    BIGINT NOT NULL,
    inscp_cents         BIGINT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    -- The settlement that paid the line.
    settlement_id       UUID NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (visit_id, feedetl_sn)
);

-- 结算 (2207 / 2304) and their cancellations (2208 / 2305, kind 2, amounts negated): the
-- month's clearing and the reconciliations sum both.
CREATE TABLE settlements (
    id                  UUID PRIMARY KEY,
    setl_id             TEXT NOT NULL UNIQUE,
    kind                INTEGER NOT NULL CHECK (kind IN (1, 2)),
    cancels             UUID NULL REFERENCES settlements (id),
    visit_id            UUID NOT NULL REFERENCES medical_visits (id),
    institution_id      UUID NOT NULL REFERENCES institutions (id),
    person_id           UUID NOT NULL REFERENCES persons (id),
    insutype            TEXT NOT NULL,
    med_type            TEXT NOT NULL,
    psn_type            TEXT NOT NULL,
    insured_region      TEXT NOT NULL,
    treatment_region    TEXT NOT NULL,
    year                INTEGER NOT NULL,
    -- YYYY-MM of setl_time, as the clearing groups.
    setl_month          TEXT NOT NULL,
    setl_time           TIMESTAMP NOT NULL,
    clr_type            TEXT NOT NULL,
    -- medins_setl_id: the msgid of the message that settled.
    msgid               TEXT NOT NULL,
    -- The ratio the pooled fund paid at (after any reduction).
    pool_prop           INTEGER NOT NULL,
    medfee_cents        BIGINT NOT NULL,
    fulamt_ownpay_cents BIGINT NOT NULL,
    overlmt_cents       BIGINT NOT NULL,
    preselfpay_cents    BIGINT NOT NULL,
    inscp_cents         BIGINT NOT NULL,
    act_pay_dedc_cents  BIGINT NOT NULL,
    hifp_cents          BIGINT NOT NULL,
    hifob_cents         BIGINT NOT NULL,
    hifmi_cents         BIGINT NOT NULL,
    fund_cents          BIGINT NOT NULL,
    psn_part_cents      BIGINT NOT NULL,
    acct_cents          BIGINT NOT NULL,
    cash_cents          BIGINT NOT NULL,
    hosp_part_cents     BIGINT NOT NULL,
    balc_cents          BIGINT NOT NULL,
    -- settled, cancelled (a kind-1 row that has a cancellation), cancellation (kind 2).
    status              TEXT NOT NULL CHECK (status IN ('settled', 'cancelled', 'cancellation')),
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX settlements_by_institution ON settlements (institution_id, setl_time);
CREATE INDEX settlements_by_month ON settlements (setl_month, insured_region, treatment_region);
CREATE INDEX settlements_by_visit ON settlements (visit_id);
