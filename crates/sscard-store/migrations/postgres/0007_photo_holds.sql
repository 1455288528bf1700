-- A row whose photo was refused is held in its batch, not lost: the person is registered, the
-- reason and a small preview of the refused source are kept for the contact sheet, and a photo
-- given later for that row alone (`sscard batch photo`, the console) applies it like any row.
CREATE TABLE batch_photo_holds (
    id         UUID PRIMARY KEY,
    batch_id   UUID NOT NULL REFERENCES batches (id),
    upload_id  UUID NOT NULL REFERENCES batch_uploads (id),
    person_id  UUID NOT NULL REFERENCES persons (id),
    source_row INTEGER NOT NULL,
    bank_code  TEXT NOT NULL REFERENCES banks (code),
    code       TEXT NOT NULL,
    message    TEXT NOT NULL,
    message_en TEXT NOT NULL,
    -- The refused source as a JPEG at most 240 px a side (none when it could not be decoded).
    preview    BYTEA NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT batch_photo_hold_person_unique UNIQUE (batch_id, person_id)
);
CREATE INDEX batch_photo_holds_by_batch ON batch_photo_holds (batch_id, source_row);
