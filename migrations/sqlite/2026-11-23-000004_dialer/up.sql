-- Outbound dialing: qualifications, campaigns, leads (shared with lead confirmation), call
-- attempts (the legal record and the abandonment ledgers) and do-not-call numbers.
CREATE TABLE qualification_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (call_center_id, name)
);

CREATE TABLE qualifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    group_id BIGINT NOT NULL REFERENCES qualification_groups (id) ON DELETE RESTRICT,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('positive', 'negative', 'neutral', 'callback', 'do_not_call', 'wrong_number')),
    is_final BOOLEAN NOT NULL,
    retry_delay_secs INTEGER CHECK (retry_delay_secs IS NULL OR retry_delay_secs >= 0),
    max_attempts INTEGER CHECK (max_attempts IS NULL OR max_attempts >= 1),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (group_id, code)
);
CREATE INDEX qualifications_call_center_idx ON qualifications (call_center_id);

CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    mode TEXT NOT NULL CHECK (mode IN ('preview', 'progressive', 'power', 'predictive')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'running', 'paused', 'stopped')),
    caller_id TEXT,
    qualification_group_id BIGINT REFERENCES qualification_groups (id) ON DELETE RESTRICT,
    script TEXT,
    -- callpro_dialer::campaign::CampaignSettings as JSON (schedule, strategy, compliance).
    settings TEXT NOT NULL,
    boost_pct DOUBLE PRECISION NOT NULL DEFAULT 0,
    boost_until TIMESTAMP,
    -- The instance running the campaign's pacing loop holds this lease.
    runner TEXT,
    lease_until TIMESTAMP,
    started_at TIMESTAMP,
    stopped_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (call_center_id, name)
);

CREATE TABLE campaign_agent_groups (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES agent_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (campaign_id, group_id)
);

CREATE TABLE leads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    campaign_id BIGINT REFERENCES campaigns (id) ON DELETE CASCADE,
    phone TEXT NOT NULL,
    region TEXT,
    time_zone TEXT,
    first_name TEXT,
    last_name TEXT,
    email TEXT,
    external_id TEXT,
    -- Unmapped columns of the import, as a JSON object.
    fields TEXT NOT NULL DEFAULT '{}',
    priority INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('new', 'retry', 'done', 'callback', 'do_not_call', 'wrong_number', 'exhausted')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_outcome TEXT,
    -- Hopper claim: the instance dialing the lead, until when.
    claimed_by TEXT,
    claimed_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (campaign_id, phone)
);
CREATE INDEX leads_hopper_idx ON leads (campaign_id, status, next_attempt_at);
CREATE INDEX leads_call_center_phone_idx ON leads (call_center_id, phone);

CREATE TABLE call_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    campaign_id BIGINT REFERENCES campaigns (id) ON DELETE SET NULL,
    lead_id BIGINT REFERENCES leads (id) ON DELETE SET NULL,
    phone TEXT NOT NULL,
    -- The engine's call id (ChannelId of the originate).
    call_ref TEXT NOT NULL UNIQUE,
    trunk TEXT,
    agent_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    started_at TIMESTAMP NOT NULL,
    answered_at TIMESTAMP,
    connected_at TIMESTAMP,
    ended_at TIMESTAMP,
    outcome TEXT CHECK (outcome IS NULL OR outcome IN ('human', 'busy', 'no_answer', 'congestion', 'failed', 'machine', 'abandoned')),
    amd_result TEXT,
    qualification_id BIGINT REFERENCES qualifications (id) ON DELETE SET NULL,
    note TEXT,
    refusal BOOLEAN NOT NULL DEFAULT 0
);
CREATE INDEX call_attempts_phone_idx ON call_attempts (call_center_id, phone, started_at);
CREATE INDEX call_attempts_campaign_idx ON call_attempts (campaign_id, started_at);

CREATE TABLE dnc_numbers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    phone TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('internal', 'bloctel')),
    reason TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (call_center_id, phone)
);
