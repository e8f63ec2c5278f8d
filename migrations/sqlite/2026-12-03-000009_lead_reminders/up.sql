-- Lead reminders and in-app notifications: how many reminder emails a lead waiting for its
-- double opt-in click has had, when its agent was told it went stale and when its
-- supervisors were (each happens once, guarded by a conditional UPDATE), and the
-- notifications users read in the app.
ALTER TABLE leads ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN stale_notified_at TIMESTAMP;
ALTER TABLE leads ADD COLUMN escalated_at TIMESTAMP;
-- The sweeper's scans: leads of one stage by age.
CREATE INDEX leads_sweep_idx ON leads (stage, created_at);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_center_id BIGINT NOT NULL REFERENCES call_centers (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- lead_stale, lead_escalated, ...
    kind TEXT NOT NULL,
    lead_id BIGINT REFERENCES leads (id) ON DELETE CASCADE,
    message TEXT NOT NULL,
    read_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notifications_user_idx ON notifications (user_id, read_at, id);
CREATE INDEX notifications_lead_idx ON notifications (lead_id);
