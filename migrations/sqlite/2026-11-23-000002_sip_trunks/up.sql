-- SIP trunks to each site's gateway (Yeastar). Names are Asterisk endpoint names: unique.
CREATE TABLE sip_trunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE RESTRICT,
    site_id BIGINT REFERENCES sites (id) ON DELETE SET NULL,
    name TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    transport TEXT NOT NULL CHECK (transport IN ('udp', 'tcp', 'tls')),
    username TEXT,
    password_enc TEXT,
    max_channels INTEGER NOT NULL CHECK (max_channels >= 0),
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX sip_trunks_call_center_idx ON sip_trunks (call_center_id);
