//! Typed configuration, one struct per concern, read from an optional TOML file and `CALLPRO_*`
//! environment variables (the environment wins), then validated with errors that name the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// Environment variables and the configuration keys they set.
const ENV_KEYS: &[(&str, &str)] = &[
    ("DATABASE_URL", "database.url"),
    ("DATABASE_POOL_SIZE", "database.pool_size"),
    ("HTTP_BIND", "http.bind"),
    ("HTTP_PUBLIC_URL", "http.public_url"),
    ("HTTP_TRUST_PROXY", "http.trust_proxy"),
    ("HTTP_TLS_CERT", "http.tls_cert"),
    ("HTTP_TLS_KEY", "http.tls_key"),
    ("JWT_SECRET", "auth.jwt_secret"),
    ("ACCESS_TOKEN_TTL_SECS", "auth.access_token_ttl_secs"),
    ("REFRESH_TOKEN_TTL_SECS", "auth.refresh_token_ttl_secs"),
    ("SECRET_KEY", "secrets.key"),
    ("SECRET_KEY_FILE", "secrets.key_file"),
    ("BOOTSTRAP_ADMIN_EMAIL", "bootstrap.admin_email"),
    ("BOOTSTRAP_ADMIN_PASSWORD", "bootstrap.admin_password"),
    ("AMI_URL", "ami.url"),
    ("AGI_BIND", "agi.bind"),
    ("AGI_ENABLED", "agi.enabled"),
    ("IVR_FALLBACK_PROMPT", "ivr.fallback_prompt"),
    ("SIP_PROBE", "sip.probe"),
    ("SIP_PROBE_INTERVAL_SECS", "sip.probe_interval_secs"),
    ("LOG_FORMAT", "log.format"),
    ("LOG", "log.filter"),
];

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Database connection.
    pub database: DbConfig,
    /// HTTP listener.
    pub http: HttpConfig,
    /// Tokens, lockouts.
    pub auth: AuthConfig,
    /// Encryption of secrets at rest.
    pub secrets: SecretsConfig,
    /// First super admin.
    pub bootstrap: BootstrapConfig,
    /// Logging.
    pub log: LogConfig,
    /// Asterisk Manager Interface.
    pub ami: AmiSection,
    /// FastAGI server.
    pub agi: AgiSection,
    /// Inbound IVR.
    pub ivr: IvrSection,
    /// SIP trunk probing.
    pub sip: SipSection,
    /// Email outbox delivery.
    pub email: EmailSection,
    /// Public lead intake and confirmation.
    pub leads: LeadsSection,
}

/// `[ami]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmiSection {
    /// `ami://user:secret@host:5038` (`?auth=md5` for challenge login); unset: no Asterisk.
    pub url: Option<Secret>,
}

/// `[agi]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgiSection {
    /// Listen address of the FastAGI server Asterisk connects to.
    pub bind: String,
    /// Serve FastAGI at all.
    pub enabled: bool,
    /// Concurrent AGI sessions.
    pub max_sessions: usize,
}

impl Default for AgiSection {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:4573".into(),
            enabled: true,
            max_sessions: 2000,
        }
    }
}

/// `[ivr]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IvrSection {
    /// Sound played when a call cannot be handled (unknown DID, no published flow).
    pub fallback_prompt: String,
    /// Largest answer an `http_lookup` node reads, in bytes.
    pub http_body_limit_bytes: usize,
}

impl Default for IvrSection {
    fn default() -> Self {
        let driver = callpro_ivr::IvrConfig::default();
        Self {
            fallback_prompt: driver.fallback_prompt,
            http_body_limit_bytes: driver.http_body_limit,
        }
    }
}

impl IvrSection {
    /// The settings of the IVR driver.
    pub fn driver_config(&self) -> callpro_ivr::IvrConfig {
        callpro_ivr::IvrConfig {
            fallback_prompt: self.fallback_prompt.clone(),
            http_body_limit: self.http_body_limit_bytes,
        }
    }
}

/// `[email]`: how the outbox worker delivers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailSection {
    /// Run the outbox worker in this instance.
    pub worker: bool,
    /// Seconds between polls of the outbox when it is idle.
    pub poll_secs: u64,
    /// Seconds a claimed email stays with this instance before another may take it; longer
    /// than one send can last.
    pub lease_secs: u64,
    /// Seconds before the second attempt after a temporary failure; doubled for each further one.
    pub backoff_secs: u64,
    /// Attempts before a temporarily failing email is given up.
    pub max_attempts: i32,
    /// Emails claimed per poll.
    pub batch: i64,
    /// SMTP command timeout, in seconds.
    pub smtp_timeout_secs: u64,
}

impl Default for EmailSection {
    fn default() -> Self {
        let worker = crate::email::worker::WorkerConfig::default();
        Self {
            worker: true,
            poll_secs: worker.poll.as_secs(),
            lease_secs: worker.lease.as_secs(),
            backoff_secs: worker.backoff.as_secs(),
            max_attempts: worker.max_attempts,
            batch: worker.batch,
            smtp_timeout_secs: worker.smtp_timeout.as_secs(),
        }
    }
}

impl EmailSection {
    /// The settings of the outbox worker.
    pub fn worker_config(&self) -> crate::email::worker::WorkerConfig {
        crate::email::worker::WorkerConfig {
            poll: Duration::from_secs(self.poll_secs.max(1)),
            lease: Duration::from_secs(self.lease_secs.max(1)),
            backoff: Duration::from_secs(self.backoff_secs),
            max_attempts: self.max_attempts.max(1),
            batch: self.batch.max(1),
            smtp_timeout: Duration::from_secs(self.smtp_timeout_secs.max(1)),
        }
    }
}

/// `[leads]`: the public forms and the double opt-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LeadsSection {
    /// Hours a confirmation link works.
    pub token_ttl_hours: u64,
    /// Largest form post accepted, in bytes.
    pub max_body_bytes: usize,
    /// Posts per minute from one client address (0: no limit).
    pub per_ip_per_minute: u32,
    /// Posts per minute to one form (0: no limit).
    pub per_form_per_minute: u32,
    /// Hours after submission at which a lead still waiting for its double opt-in click gets
    /// a reminder email (with a new link), one per entry, increasing.
    pub reminder_after_hours: Vec<u64>,
    /// Hours after submission at which a lead still waiting for its click becomes
    /// `unreachable` ("no confirmation"); after the last reminder.
    pub unreachable_after_hours: u64,
    /// Hours without a timeline entry after which an assigned lead is notified to its agent.
    pub stale_assigned_hours: u64,
    /// Hours without a timeline entry after which an assigned lead is notified to the
    /// supervisors and owners of its center; more than `stale_assigned_hours`.
    pub escalate_after_hours: u64,
    /// Seconds between two rounds of the sweeper.
    pub sweep_secs: u64,
    /// Run the reminder and notification sweeper in this instance (several share the work
    /// safely: every step is a conditional update).
    pub sweeper: bool,
}

impl Default for LeadsSection {
    fn default() -> Self {
        Self {
            token_ttl_hours: 7 * 24,
            max_body_bytes: 64 * 1024,
            per_ip_per_minute: 30,
            per_form_per_minute: 6000,
            reminder_after_hours: vec![24, 72],
            unreachable_after_hours: 7 * 24,
            stale_assigned_hours: 24,
            escalate_after_hours: 48,
            sweep_secs: 60,
            sweeper: true,
        }
    }
}

impl LeadsSection {
    /// The limits of the intake throttle.
    pub fn limits(&self) -> crate::leadflow::throttle::Limits {
        crate::leadflow::throttle::Limits {
            per_ip_per_minute: self.per_ip_per_minute,
            per_form_per_minute: self.per_form_per_minute,
        }
    }

    /// The settings of the reminder sweeper; `public_url` starts the new confirmation links.
    pub fn reminder_config(&self, public_url: &str) -> crate::leadflow::reminders::ReminderConfig {
        let hours = |h: u64| {
            i64::try_from(h)
                .ok()
                .and_then(chrono::Duration::try_hours)
                .unwrap_or(chrono::Duration::MAX)
        };
        crate::leadflow::reminders::ReminderConfig {
            reminder_after: self
                .reminder_after_hours
                .iter()
                .copied()
                .map(hours)
                .collect(),
            unreachable_after: hours(self.unreachable_after_hours),
            stale_after: hours(self.stale_assigned_hours),
            escalate_after: hours(self.escalate_after_hours),
            sweep: Duration::from_secs(self.sweep_secs.max(1)),
            batch: crate::leadflow::reminders::DEFAULT_BATCH,
            public_url: public_url.trim_end_matches('/').to_owned(),
            token_ttl: hours(self.token_ttl_hours),
        }
    }
}

/// `[sip]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipSection {
    /// Probe the trunks' gateways with SIP OPTIONS.
    pub probe: bool,
    /// Seconds between probe rounds.
    pub probe_interval_secs: u64,
}

impl Default for SipSection {
    fn default() -> Self {
        Self {
            probe: true,
            probe_interval_secs: 30,
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbConfig {
    /// `sqlite://callpro.db` (default) or `postgres://user:pass@host/db`.
    pub url: String,
    /// Maximum pooled connections.
    pub pool_size: u32,
    /// Seconds to wait for a connection before failing.
    pub connect_timeout_secs: u64,
}

impl Default for DbConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://callpro.db".into(),
            pool_size: 16,
            connect_timeout_secs: 5,
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Listen address.
    pub bind: String,
    /// Public base URL used in links; defaults to `http://<bind>`.
    pub public_url: Option<String>,
    /// Trust `X-Forwarded-For` from a reverse proxy for client addresses.
    pub trust_proxy: bool,
    /// Largest accepted JSON body, in bytes.
    pub max_body_bytes: usize,
    /// Worker threads (0 = one per core).
    pub workers: usize,
    /// PEM certificate chain; with `tls_key`, callpro serves HTTPS (rustls) instead of HTTP.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            trust_proxy: false,
            max_body_bytes: 256 * 1024,
            workers: 0,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// `[auth]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// HMAC key for access tokens; generated and stored (encrypted) in the database when unset.
    pub jwt_secret: Option<Secret>,
    /// Access token lifetime.
    pub access_token_ttl_secs: u64,
    /// Refresh token lifetime.
    pub refresh_token_ttl_secs: u64,
    /// Failed logins of one account before it is locked.
    pub max_failed_logins: u32,
    /// Failed logins from one client address before it is locked.
    pub max_failed_logins_per_ip: u32,
    /// Window over which failures count, and length of the lockout.
    pub lockout_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 14 * 24 * 3600,
            max_failed_logins: 5,
            max_failed_logins_per_ip: 50,
            lockout_secs: 15 * 60,
        }
    }
}

/// `[secrets]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// Base64 of 32 random bytes; encrypts secrets stored in the database.
    pub key: Option<Secret>,
    /// Where the key is kept when `key` is unset; created (mode 0600) on first run.
    pub key_file: PathBuf,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        Self {
            key: None,
            key_file: PathBuf::from("callpro.key"),
        }
    }
}

/// `[bootstrap]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BootstrapConfig {
    /// Email of the first super admin.
    pub admin_email: Option<String>,
    /// Password of the first super admin; generated and printed once when unset.
    pub admin_password: Option<Secret>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// `tracing` filter directives (`RUST_LOG` syntax).
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".into(),
        }
    }
}

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or a variable could not be read or has the wrong type.
    #[error("configuration: {0}")]
    Load(Box<figment::Error>),
    /// A value is present but not acceptable.
    #[error("configuration key `{key}`: {message}")]
    Invalid {
        /// Dotted key, e.g. `http.bind`.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Longest delay the sweeper settings accept, in hours (a year).
const MAX_SWEEP_HOURS: u64 = 366 * 24;

impl LeadsSection {
    /// Checks the reminder and notification delays.
    fn validate_sweeper(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: String| ConfigError::Invalid { key, message };
        let reminders = &self.reminder_after_hours;
        if reminders.len() > 10 {
            return Err(invalid(
                "leads.reminder_after_hours",
                "at most 10 reminders".into(),
            ));
        }
        if reminders.iter().any(|&h| h == 0 || h > MAX_SWEEP_HOURS) {
            return Err(invalid(
                "leads.reminder_after_hours",
                format!("every entry must be between 1 and {MAX_SWEEP_HOURS}"),
            ));
        }
        if reminders.windows(2).any(|w| w[0] >= w[1]) {
            return Err(invalid(
                "leads.reminder_after_hours",
                "must be increasing, e.g. [24, 72]".into(),
            ));
        }
        let last_reminder = reminders.last().copied().unwrap_or(0);
        if self.unreachable_after_hours <= last_reminder
            || self.unreachable_after_hours > MAX_SWEEP_HOURS
        {
            return Err(invalid(
                "leads.unreachable_after_hours",
                format!(
                    "must be after the last reminder ({last_reminder} h) and at most {MAX_SWEEP_HOURS}"
                ),
            ));
        }
        if self.stale_assigned_hours == 0 || self.stale_assigned_hours > MAX_SWEEP_HOURS {
            return Err(invalid(
                "leads.stale_assigned_hours",
                format!("must be between 1 and {MAX_SWEEP_HOURS}"),
            ));
        }
        if self.escalate_after_hours <= self.stale_assigned_hours
            || self.escalate_after_hours > MAX_SWEEP_HOURS
        {
            return Err(invalid(
                "leads.escalate_after_hours",
                format!(
                    "must be more than leads.stale_assigned_hours and at most {MAX_SWEEP_HOURS}"
                ),
            ));
        }
        if self.sweep_secs == 0 || self.sweep_secs > 24 * 3600 {
            return Err(invalid(
                "leads.sweep_secs",
                "must be between 1 and 86400".into(),
            ));
        }
        Ok(())
    }
}

impl Config {
    /// Reads `path` (when given) and the environment, then validates.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = path {
            figment = figment.merge(Toml::file_exact(path));
        }
        let env = Env::prefixed("CALLPRO_").filter_map(|key| {
            ENV_KEYS
                .iter()
                .find(|(name, _)| key.as_str().eq_ignore_ascii_case(name))
                .map(|(_, target)| (*target).into())
        });
        let config: Config = figment
            .merge(env)
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| ConfigError::Invalid {
            key,
            message: message.to_string(),
        };
        if crate::db::BackendKind::from_url(&self.database.url).is_none() {
            return Err(invalid(
                "database.url",
                "must start with sqlite:// or postgres://",
            ));
        }
        if self.database.pool_size == 0 {
            return Err(invalid("database.pool_size", "must be at least 1"));
        }
        if self.http.bind.parse::<SocketAddr>().is_err() {
            return Err(invalid(
                "http.bind",
                "must be an address like 127.0.0.1:8080",
            ));
        }
        if self.http.tls_cert.is_some() != self.http.tls_key.is_some() {
            return Err(invalid(
                "http.tls_cert",
                "set both http.tls_cert and http.tls_key, or neither",
            ));
        }
        if self.auth.access_token_ttl_secs == 0 || self.auth.access_token_ttl_secs > 24 * 3600 {
            return Err(invalid(
                "auth.access_token_ttl_secs",
                "must be between 1 and 86400",
            ));
        }
        if self.auth.refresh_token_ttl_secs < self.auth.access_token_ttl_secs {
            return Err(invalid(
                "auth.refresh_token_ttl_secs",
                "must not be shorter than the access token lifetime",
            ));
        }
        if self.leads.token_ttl_hours == 0 || self.leads.token_ttl_hours > 24 * 90 {
            return Err(invalid(
                "leads.token_ttl_hours",
                "must be between 1 and 2160 (90 days)",
            ));
        }
        if self.leads.max_body_bytes < 1024 {
            return Err(invalid("leads.max_body_bytes", "must be at least 1024"));
        }
        self.leads.validate_sweeper()?;
        if self.email.lease_secs <= self.email.smtp_timeout_secs {
            return Err(invalid(
                "email.lease_secs",
                "must be longer than email.smtp_timeout_secs",
            ));
        }
        if self.auth.max_failed_logins == 0 || self.auth.max_failed_logins_per_ip == 0 {
            return Err(invalid("auth.max_failed_logins", "must be at least 1"));
        }
        if let Some(secret) = &self.auth.jwt_secret
            && secret.expose().len() < 32
        {
            return Err(invalid("auth.jwt_secret", "must be at least 32 characters"));
        }
        if let Some(key) = &self.secrets.key {
            crate::crypto::SecretBox::from_base64(key.expose())
                .map_err(|e| invalid("secrets.key", &e.to_string()))?;
        }
        if let Some(email) = &self.bootstrap.admin_email
            && !email_address::EmailAddress::is_valid(email)
        {
            return Err(invalid(
                "bootstrap.admin_email",
                "is not a valid email address",
            ));
        }
        if let Some(password) = &self.bootstrap.admin_password
            && password.expose().chars().count() < crate::auth::password::MIN_LEN
        {
            return Err(invalid(
                "bootstrap.admin_password",
                "must be at least 12 characters",
            ));
        }
        if let Some(url) = &self.ami.url {
            callpro_engine::ami::AmiConfig::from_url(url.expose())
                .map_err(|e| invalid("ami.url", &e.to_string()))?;
        }
        if self.agi.enabled && self.agi.bind.parse::<SocketAddr>().is_err() {
            return Err(invalid(
                "agi.bind",
                "must be an address like 127.0.0.1:4573",
            ));
        }
        let prompt = &self.ivr.fallback_prompt;
        if prompt.is_empty()
            || prompt.len() > 128
            || !prompt
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
        {
            return Err(invalid(
                "ivr.fallback_prompt",
                "must be a sound file name such as ss-noservice or callpro/closed",
            ));
        }
        if self.ivr.http_body_limit_bytes == 0 {
            return Err(invalid("ivr.http_body_limit_bytes", "must be at least 1"));
        }
        if self.sip.probe_interval_secs == 0 {
            return Err(invalid("sip.probe_interval_secs", "must be at least 1"));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.filter) {
            return Err(invalid("log.filter", &e.to_string()));
        }
        Ok(())
    }

    /// Base URL for links in emails and pages.
    pub fn public_url(&self) -> String {
        self.http
            .public_url
            .clone()
            .unwrap_or_else(|| {
                let scheme = if self.http.tls_cert.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{}", self.http.bind)
            })
            .trim_end_matches('/')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leads(adjust: impl FnOnce(&mut LeadsSection)) -> Result<(), ConfigError> {
        let mut config = Config::default();
        adjust(&mut config.leads);
        config.validate()
    }

    fn key_of(result: Result<(), ConfigError>) -> &'static str {
        match result {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("expected an invalid key, got {other:?}"),
        }
    }

    #[test]
    fn the_sweeper_delays_are_checked() {
        assert!(leads(|_| {}).is_ok(), "the defaults are valid");
        assert!(leads(|l| l.reminder_after_hours = vec![]).is_ok());
        assert_eq!(
            key_of(leads(|l| l.reminder_after_hours = vec![72, 24])),
            "leads.reminder_after_hours"
        );
        assert_eq!(
            key_of(leads(|l| l.reminder_after_hours = vec![24, 24])),
            "leads.reminder_after_hours"
        );
        assert_eq!(
            key_of(leads(|l| l.reminder_after_hours = vec![0, 24])),
            "leads.reminder_after_hours"
        );
        assert_eq!(
            key_of(leads(|l| l.unreachable_after_hours = 72)),
            "leads.unreachable_after_hours"
        );
        assert_eq!(
            key_of(leads(|l| l.stale_assigned_hours = 0)),
            "leads.stale_assigned_hours"
        );
        assert_eq!(
            key_of(leads(|l| l.escalate_after_hours = 24)),
            "leads.escalate_after_hours"
        );
        assert_eq!(key_of(leads(|l| l.sweep_secs = 0)), "leads.sweep_secs");
    }

    #[test]
    fn the_reminder_config_follows_the_section() {
        let c = LeadsSection::default().reminder_config("https://x.test/");
        assert_eq!(
            c.reminder_after,
            [chrono::Duration::hours(24), chrono::Duration::hours(72)]
        );
        assert_eq!(c.unreachable_after, chrono::Duration::hours(168));
        assert_eq!(c.public_url, "https://x.test");
        assert_eq!(c.sweep, Duration::from_secs(60));
    }
}
