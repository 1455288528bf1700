-- Terminals in use: what the online check needs of a terminal (its PSAM's algorithm, the last
-- counter it used, when it passed the self-test), every check, and the readiness programme's
-- problems.
ALTER TABLE terminals ADD COLUMN alg TEXT NOT NULL DEFAULT 'sm4' CHECK (alg IN ('sm4', '3des'));
ALTER TABLE terminals ADD COLUMN device TEXT NOT NULL DEFAULT '';
-- The highest counter of an accepted request: a request with a counter not above it is a replay.
ALTER TABLE terminals ADD COLUMN last_counter INTEGER NOT NULL DEFAULT 0;
ALTER TABLE terminals ADD COLUMN ready_at TEXT NULL;

-- Every online (and uploaded offline) check, whatever its result. No ID numbers here: the card
-- number is what the terminal sent.
CREATE TABLE terminal_checks (
    id              BLOB PRIMARY KEY,
    terminal_id     BLOB NULL REFERENCES terminals (id),
    terminal_number TEXT NOT NULL,
    card_number     TEXT NULL,
    result          TEXT NOT NULL,
    counter         INTEGER NOT NULL,
    terminal_time   TEXT NOT NULL,
    checked_at      TEXT NOT NULL,
    -- 1 online, 2 self-test, 3 offline use uploaded later.
    kind            INTEGER NOT NULL CHECK (kind IN (1, 2, 3)),
    -- SM3 of the check token given to the terminal (ok checks only) and its end.
    token_hash      TEXT NULL UNIQUE,
    valid_until     TEXT NULL
);
CREATE INDEX terminal_checks_by_card ON terminal_checks (card_number, checked_at);
CREATE INDEX terminal_checks_by_terminal ON terminal_checks (terminal_id, checked_at);

-- 改造问题: what stands between a terminal and `ready`, one problem at a time.
CREATE TABLE terminal_problems (
    id          BLOB PRIMARY KEY,
    number      INTEGER NOT NULL UNIQUE,
    terminal_id BLOB NOT NULL REFERENCES terminals (id),
    category    TEXT NOT NULL CHECK (category IN ('reader', 'psam', 'network', 'his', 'other')),
    note        TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    opened_by   TEXT NOT NULL,
    resolved_at TEXT NULL,
    resolved_by TEXT NULL,
    resolution  TEXT NULL
);
CREATE INDEX terminal_problems_open ON terminal_problems (terminal_id) WHERE resolved_at IS NULL;
INSERT INTO counters (name, value) VALUES ('terminal_problem', 0);
