DROP TABLE agent_sip_secrets;
