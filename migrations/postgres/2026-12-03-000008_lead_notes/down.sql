DROP INDEX lead_notes_lead_idx;
DROP TABLE lead_notes;
