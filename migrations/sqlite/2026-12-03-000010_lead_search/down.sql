DROP TABLE saved_searches;
DROP INDEX leads_created_idx;
DROP TRIGGER leads_fts_delete;
DROP TRIGGER leads_fts_update;
DROP TRIGGER leads_fts_insert;
DROP TABLE leads_fts;
