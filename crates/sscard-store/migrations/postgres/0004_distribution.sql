-- Sorted distribution and the pickup desk: the opening days of on-site points, the pickup plan
-- of a batch (the box and slot of every card, and the boxes' labels), each hand-over at a desk
-- and the queue a point last reported.

-- JSON array of ISO dates an on-site point is open; NULL: an ordinary outlet's working days.
ALTER TABLE outlets ADD COLUMN opening_days TEXT NULL;

-- One plan per batch: where its cards are handed out and how they are boxed.
CREATE TABLE distribution_plans (
    id         UUID PRIMARY KEY,
    batch_id   UUID NOT NULL REFERENCES batches (id),
    outlet     TEXT NOT NULL REFERENCES outlets (code),
    box_size   INTEGER NOT NULL CHECK (box_size BETWEEN 1 AND 10000),
    cards      INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    actor      TEXT NOT NULL,
    CONSTRAINT distribution_plan_batch_unique UNIQUE (batch_id)
);

CREATE TABLE distribution_boxes (
    plan_id UUID NOT NULL REFERENCES distribution_plans (id),
    box     INTEGER NOT NULL,
    cards   INTEGER NOT NULL,
    label   TEXT NOT NULL,
    PRIMARY KEY (plan_id, box)
);

-- Where a card waits: its box and slot (position = place in the pickup order, from 1). A card
-- the point cannot find is marked missing (the desk then sends the person to the counter).
CREATE TABLE distribution_slots (
    card_id    UUID PRIMARY KEY REFERENCES cards (id),
    plan_id    UUID NOT NULL REFERENCES distribution_plans (id),
    person_id  UUID NOT NULL REFERENCES persons (id),
    box        INTEGER NOT NULL,
    slot       INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    missing_at TIMESTAMPTZ NULL,
    missing_by TEXT NULL,
    CONSTRAINT distribution_slot_unique UNIQUE (plan_id, box, slot)
);
CREATE INDEX distribution_slots_by_person ON distribution_slots (person_id);

-- A hand-over at a pickup desk. One per card: two desks scanning the same person cannot both
-- hand the card over. A proxy pickup (代领) records the agent's ID number and name.
CREATE TABLE pickups (
    id          UUID PRIMARY KEY,
    card_id     UUID NOT NULL REFERENCES cards (id),
    person_id   UUID NOT NULL REFERENCES persons (id),
    outlet      TEXT NOT NULL REFERENCES outlets (code),
    desk        TEXT NOT NULL,
    proxy_ssn   TEXT NULL,
    proxy_name  TEXT NULL,
    handling_ms INTEGER NULL,
    at          TIMESTAMPTZ NOT NULL,
    at_us       BIGINT NOT NULL,
    CONSTRAINT pickup_card_unique UNIQUE (card_id)
);
CREATE INDEX pickups_by_outlet ON pickups (outlet, at_us);
CREATE INDEX pickups_by_person ON pickups (person_id);

-- How many people a point last counted in its queue (for the estimated wait).
CREATE TABLE pickup_queues (
    outlet      TEXT PRIMARY KEY REFERENCES outlets (code),
    waiting     INTEGER NOT NULL CHECK (waiting >= 0),
    reported_at TIMESTAMPTZ NOT NULL,
    reported_by TEXT NOT NULL
);
