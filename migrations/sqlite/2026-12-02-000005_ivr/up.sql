-- Inbound calls: prompts (sound files flows may play), IVR flows with their immutable
-- published versions, DIDs routed to flows, and the record of every IVR session.
CREATE TABLE prompts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    -- The sound file as Asterisk plays it, without extension (`callpro/main-menu`).
    name TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'en',
    description TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (call_center_id, name, language)
);

CREATE TABLE ivr_flows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    description TEXT,
    -- The draft: a callpro_ivr flow definition (JSON), validated whenever it is saved.
    definition TEXT NOT NULL,
    published_version INTEGER,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (call_center_id, name)
);

-- Published versions are written once and never changed: calls in progress keep walking the
-- version they started on.
CREATE TABLE ivr_flow_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    flow_id BIGINT NOT NULL REFERENCES ivr_flows (id) ON DELETE CASCADE,
    version INTEGER NOT NULL CHECK (version >= 1),
    definition TEXT NOT NULL,
    published_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    published_at TIMESTAMP NOT NULL,
    UNIQUE (flow_id, version)
);

-- Numbers callers dial; `number` is digits with an optional leading `+`, unique across tenants
-- because the gateway routes on it alone.
CREATE TABLE dids (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    number TEXT NOT NULL UNIQUE,
    flow_id BIGINT REFERENCES ivr_flows (id) ON DELETE RESTRICT,
    description TEXT,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX dids_call_center_idx ON dids (call_center_id);
CREATE INDEX dids_flow_idx ON dids (flow_id);

-- One row per inbound call that reached the IVR, written when it starts and completed when it
-- ends. Calls to unknown DIDs have no call center.
CREATE TABLE ivr_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT REFERENCES call_centers (id) ON DELETE RESTRICT,
    did TEXT NOT NULL,
    caller_id TEXT NOT NULL,
    caller_name TEXT NOT NULL,
    uniqueid TEXT NOT NULL,
    channel TEXT NOT NULL,
    flow_id BIGINT REFERENCES ivr_flows (id) ON DELETE SET NULL,
    flow_version INTEGER,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    outcome TEXT NOT NULL CHECK (outcome IN ('in_progress', 'completed', 'queued', 'transferred', 'voicemail', 'abandoned', 'hangup', 'failed')),
    outcome_detail TEXT,
    last_node TEXT,
    -- callpro_ivr::Step values as a JSON array.
    steps TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX ivr_sessions_call_center_idx ON ivr_sessions (call_center_id, started_at);
CREATE INDEX ivr_sessions_did_idx ON ivr_sessions (did);
CREATE INDEX ivr_sessions_outcome_idx ON ivr_sessions (outcome);
