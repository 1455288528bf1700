-- The migration's rollout phases: from `from_date` the exchange of legacy cards opens for the
-- districts named (comma-separated district codes; empty: every district). New applications,
-- reissues and people filing for care elsewhere are never held back by a phase.
CREATE TABLE rollout_phases (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    from_date  TEXT NOT NULL,
    districts  TEXT NOT NULL DEFAULT '',
    for_groups TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
