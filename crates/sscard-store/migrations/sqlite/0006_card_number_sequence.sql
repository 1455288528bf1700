-- PostgreSQL moves card numbers to a sequence in this migration (see its copy). SQLite keeps
-- the `counters` row: its one writer serialises every write anyway, so the row is no queue.
SELECT 1;
