DROP TABLE dnc_numbers;
DROP TABLE call_attempts;
DROP TABLE leads;
DROP TABLE campaign_agent_groups;
DROP TABLE campaigns;
DROP TABLE qualifications;
DROP TABLE qualification_groups;
