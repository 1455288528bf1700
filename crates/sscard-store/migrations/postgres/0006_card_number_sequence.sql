-- Card numbers from a sequence instead of the `counters` row: every instant application took
-- that one row's lock until its commit, so concurrent applications queued on it. `nextval` is
-- not transactional (a rolled-back application leaves a gap in the numbers, which is allowed:
-- card numbers are unique, not dense) and never waits for another transaction. YugabyteDB and
-- CockroachDB run sequences too. The sequence continues where the counter stopped; the
-- counter row stays for SQLite, whose one writer makes it harmless there.
CREATE SEQUENCE card_number_seq AS BIGINT MINVALUE 1 START WITH 1;
SELECT setval('card_number_seq', GREATEST(value, 1), value > 0)
    FROM counters WHERE name = 'card_number';
