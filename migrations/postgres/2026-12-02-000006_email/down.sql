DROP TABLE email_outbox;
DROP TABLE email_templates;
DROP TABLE smtp_profiles;
