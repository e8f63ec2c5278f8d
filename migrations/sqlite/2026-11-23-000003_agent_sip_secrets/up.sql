-- Each phone-carrying user's SIP password, sealed with the server key. Generated when
-- `callpro asterisk-config` first renders the user's endpoint, or rotated over the API.
CREATE TABLE agent_sip_secrets (
    user_id BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_enc TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
