DROP TABLE saved_searches;
DROP INDEX leads_created_idx;
DROP INDEX leads_search_trgm_idx;
