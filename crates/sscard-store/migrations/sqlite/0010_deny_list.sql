-- 黑名单 and offline use: every change of a card's blocked status (cancelled, superseded,
-- formally or temporarily lost, locked) in version order, for the terminals' deny lists and for
-- reconciling uses a terminal decided offline; and those offline uses once uploaded.
CREATE TABLE deny_list_changes (
    -- From the `deny_list` counter row, whose lock orders the writers: versions commit in order.
    version     INTEGER PRIMARY KEY,
    card_number TEXT NOT NULL,
    -- The result a check gives (card.formal_loss, …); NULL: no longer blocked.
    reason      TEXT NULL,
    changed_at  TEXT NOT NULL
);
CREATE INDEX deny_list_by_card ON deny_list_changes (card_number, version);

-- The cards blocked when this table was made.
INSERT INTO deny_list_changes (version, card_number, reason, changed_at)
SELECT ROW_NUMBER() OVER (ORDER BY card_number), card_number,
       CASE WHEN ss_status = 9 THEN 'card.cancelled'
            WHEN superseded_by IS NOT NULL THEN 'card.superseded'
            WHEN ss_status = 2 THEN 'card.formal_loss'
            WHEN ss_status = 4 THEN 'card.temporary_loss'
            ELSE 'card.locked' END,
       updated_at
FROM cards WHERE ss_status IN (2, 3, 4, 9) OR superseded_by IS NOT NULL;
INSERT INTO counters (name, value) SELECT 'deny_list', COUNT(*) FROM deny_list_changes;

-- A use a terminal decided offline, uploaded later and reconciled: accepted, or flagged with
-- the reason (the card was blocked at the time of use, or did not prove genuine).
CREATE TABLE offline_uses (
    id          BLOB PRIMARY KEY,
    terminal_id BLOB NOT NULL REFERENCES terminals (id),
    counter     INTEGER NOT NULL,
    card_number TEXT NOT NULL,
    used_at     TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('accepted', 'flagged')),
    reason      TEXT NULL,
    CONSTRAINT offline_use_once UNIQUE (terminal_id, counter)
);
CREATE INDEX offline_uses_by_outcome ON offline_uses (outcome, used_at);
