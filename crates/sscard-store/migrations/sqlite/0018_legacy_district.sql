-- The district a legacy card belongs to in the old city system (所属区县): the migration's
-- phases and dashboard go by it.
ALTER TABLE cards ADD COLUMN district TEXT NULL;
CREATE INDEX cards_legacy_by_district ON cards (district) WHERE generation = 'legacy';
