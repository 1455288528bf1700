-- Exchange points and their appointments in half-day slots, the notices outbox, the cut-over.
--
-- An exchange point is an outlet that takes exchange applications with a photo capture, with a
-- daily capacity split into a morning and an afternoon slot. A slot row is made on the first
-- booking of that half-day; `booked` counts the open bookings and never passes `capacity`, so a
-- booking is one conditional UPDATE that either takes a place or finds none (a race of many
-- bookings for the last places gives exactly as many bookings as there are places).
CREATE TABLE exchange_points (
    code       TEXT PRIMARY KEY REFERENCES outlets (code),
    district   TEXT NOT NULL,
    capacity   BIGINT NOT NULL CHECK (capacity > 0),
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE appointment_slots (
    point    TEXT NOT NULL REFERENCES exchange_points (code),
    day      DATE NOT NULL,
    half     TEXT NOT NULL CHECK (half IN ('am', 'pm')),
    capacity BIGINT NOT NULL,
    booked   BIGINT NOT NULL DEFAULT 0 CHECK (booked >= 0 AND booked <= capacity),
    PRIMARY KEY (point, day, half)
);

-- `booked` → `checked_in` at the point, or `cancelled`, or `no_show` once the half-day has
-- begun without the person (which frees the place).
CREATE TABLE appointments (
    code       TEXT PRIMARY KEY,
    person_id  UUID NOT NULL REFERENCES persons (id),
    point      TEXT NOT NULL,
    day        DATE NOT NULL,
    half       TEXT NOT NULL,
    phone      TEXT NULL,
    status     TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'checked_in', 'no_show')),
    channel    TEXT NOT NULL CHECK (channel IN ('counter', 'self', 'api')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    actor      TEXT NOT NULL,
    FOREIGN KEY (point, day, half) REFERENCES appointment_slots (point, day, half)
);
CREATE UNIQUE INDEX appointments_one_open ON appointments (person_id) WHERE status = 'booked';
CREATE INDEX appointments_by_slot ON appointments (point, day, half, status);

-- SMS-style messages to cardholders, kept for an SMS gateway to take (`sscard notices
-- export`); nothing is sent from here.
CREATE TABLE notices (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        TEXT NOT NULL
        CHECK (kind IN ('booking_confirmed', 'booking_reminder', 'phase_open', 'card_ready')),
    person_id   UUID NULL REFERENCES persons (id),
    phone       TEXT NOT NULL,
    subject     TEXT NOT NULL,
    text_zh     TEXT NOT NULL,
    text_en     TEXT NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'withdrawn', 'exported')),
    exported_at TIMESTAMPTZ NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX notices_by_status ON notices (status, due_at);
CREATE INDEX notices_by_subject ON notices (subject);

-- After `cutover_date` a legacy card is refused for social-security use (card.legacy_retired);
-- its bank function is the bank's.
CREATE TABLE rollout_cutover (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    cutover_date DATE NOT NULL,
    set_at       TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL
);
