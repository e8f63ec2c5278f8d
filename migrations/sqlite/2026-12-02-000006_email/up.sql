-- Email: SMTP profiles (password sealed), templates with {{variables}}, and the durable outbox
-- a worker drains with a lease (claimed_by / claimed_until), like leads in the hopper.
CREATE TABLE smtp_profiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    host TEXT NOT NULL,
    port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    security TEXT NOT NULL CHECK (security IN ('starttls', 'tls', 'none')),
    username TEXT,
    password_enc TEXT,
    from_name TEXT,
    from_address TEXT NOT NULL,
    reply_to TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (call_center_id, name)
);

CREATE TABLE email_templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    subject TEXT NOT NULL,
    html_body TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_signature TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (call_center_id, name)
);

CREATE TABLE email_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    smtp_profile_id BIGINT NOT NULL REFERENCES smtp_profiles (id) ON DELETE RESTRICT,
    template_id BIGINT REFERENCES email_templates (id) ON DELETE SET NULL,
    lead_id BIGINT REFERENCES leads (id) ON DELETE SET NULL,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    html_body TEXT NOT NULL,
    text_body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_error TEXT,
    message_id TEXT NOT NULL,
    claimed_by TEXT,
    claimed_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX email_outbox_due_idx ON email_outbox (status, next_attempt_at);
CREATE INDEX email_outbox_call_center_idx ON email_outbox (call_center_id, created_at);
CREATE INDEX email_outbox_lead_idx ON email_outbox (lead_id);
