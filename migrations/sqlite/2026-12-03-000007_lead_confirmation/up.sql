-- Lead confirmation: public web forms, the confirmation lifecycle of the leads they bring
-- (a `stage` beside the dialer's `status`), double opt-in tokens (hashes only) and the
-- timeline of every lead.
CREATE TABLE forms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    -- Public address: /f/<slug>, unique across all call centers.
    slug TEXT NOT NULL UNIQUE,
    -- Field definitions, as a JSON array.
    fields TEXT NOT NULL,
    smtp_profile_id BIGINT REFERENCES smtp_profiles (id) ON DELETE RESTRICT,
    email_template_id BIGINT REFERENCES email_templates (id) ON DELETE RESTRICT,
    double_opt_in BOOLEAN NOT NULL,
    confirmation_campaign_id BIGINT REFERENCES campaigns (id) ON DELETE SET NULL,
    -- Agents eligible for its leads: this group's members, or every agent of the center.
    agent_group_id BIGINT REFERENCES agent_groups (id) ON DELETE SET NULL,
    -- round_robin: the eligible agent assigned longest ago; weighted: by confirmation rate.
    distribution TEXT NOT NULL DEFAULT 'round_robin' CHECK (distribution IN ('round_robin', 'weighted')),
    max_open_leads INTEGER NOT NULL DEFAULT 50,
    redirect_url TEXT,
    confirmed_redirect_url TEXT,
    consent_text TEXT,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (call_center_id, name)
);

ALTER TABLE leads ADD COLUMN form_id BIGINT REFERENCES forms (id) ON DELETE SET NULL;
ALTER TABLE leads ADD COLUMN stage TEXT NOT NULL DEFAULT 'new'
    CHECK (stage IN ('new', 'pending_email', 'email_confirmed', 'assigned', 'call_confirmed',
                     'rejected', 'unreachable', 'converted', 'invalid'));
ALTER TABLE leads ADD COLUMN assigned_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE leads ADD COLUMN assigned_at TIMESTAMP;
ALTER TABLE leads ADD COLUMN stage_changed_at TIMESTAMP;
ALTER TABLE leads ADD COLUMN email_confirmed_at TIMESTAMP;
-- Consent evidence: where the form was posted from, and where the link was opened from.
ALTER TABLE leads ADD COLUMN submitted_ip TEXT;
ALTER TABLE leads ADD COLUMN confirmed_ip TEXT;
CREATE INDEX leads_stage_idx ON leads (call_center_id, stage, stage_changed_at);
CREATE INDEX leads_assigned_idx ON leads (assigned_user_id, stage);
CREATE INDEX leads_form_idx ON leads (form_id);

CREATE TABLE lead_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id BIGINT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    -- SHA-256 of the token, hex; the token itself is only in the email.
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX lead_tokens_lead_idx ON lead_tokens (lead_id);

CREATE TABLE lead_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id BIGINT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    -- submitted, email_queued, email_confirmed, stage_changed, assigned, qualified, ...
    kind TEXT NOT NULL,
    from_stage TEXT,
    to_stage TEXT,
    actor_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- Reason or details, as a JSON object.
    detail TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX lead_events_lead_idx ON lead_events (lead_id, id);
