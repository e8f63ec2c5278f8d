DROP TABLE notifications;
DROP INDEX leads_sweep_idx;
ALTER TABLE leads DROP COLUMN escalated_at;
ALTER TABLE leads DROP COLUMN stale_notified_at;
ALTER TABLE leads DROP COLUMN reminders_sent;
