DROP TABLE ivr_sessions;
DROP TABLE dids;
DROP TABLE ivr_flow_versions;
DROP TABLE ivr_flows;
DROP TABLE prompts;
