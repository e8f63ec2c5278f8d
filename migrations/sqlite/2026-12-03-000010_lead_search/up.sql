-- Lead search: a trigram full-text index (FTS5) over names, email, phone and the submitted
-- fields, kept in step with `leads` by triggers (only when those columns change, not on every
-- dialer update), and saved searches.
CREATE VIRTUAL TABLE leads_fts USING fts5(doc, tokenize = 'trigram');

INSERT INTO leads_fts (rowid, doc)
SELECT id, coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(email, '')
           || ' ' || phone || ' ' || fields
FROM leads;

CREATE TRIGGER leads_fts_insert AFTER INSERT ON leads BEGIN
    INSERT INTO leads_fts (rowid, doc)
    VALUES (new.id, coalesce(new.first_name, '') || ' ' || coalesce(new.last_name, '') || ' '
                    || coalesce(new.email, '') || ' ' || new.phone || ' ' || new.fields);
END;

CREATE TRIGGER leads_fts_update AFTER UPDATE OF first_name, last_name, email, phone, fields ON leads BEGIN
    UPDATE leads_fts
    SET doc = coalesce(new.first_name, '') || ' ' || coalesce(new.last_name, '') || ' '
              || coalesce(new.email, '') || ' ' || new.phone || ' ' || new.fields
    WHERE rowid = new.id;
END;

CREATE TRIGGER leads_fts_delete AFTER DELETE ON leads BEGIN
    DELETE FROM leads_fts WHERE rowid = old.id;
END;

CREATE INDEX leads_created_idx ON leads (call_center_id, created_at);

CREATE TABLE saved_searches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT REFERENCES call_centers (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- The search's parameters, as a JSON object (the query string of GET /api/leads).
    query TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, name)
);
