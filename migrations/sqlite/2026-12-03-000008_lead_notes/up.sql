-- Lead notes: comments, call logs and internal notes on a lead. A private note is seen only by
-- its author and by owners and super admins.
CREATE TABLE lead_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id BIGINT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    author_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    kind TEXT NOT NULL CHECK (kind IN ('comment', 'call_log', 'internal_note')),
    private BOOLEAN NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX lead_notes_lead_idx ON lead_notes (lead_id, id);
