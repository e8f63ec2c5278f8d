//! Connection settings of the AMI client: where Asterisk listens, how to log in, which event
//! classes to ask for, and the timers of the keepalive, the action timeout and the reconnect
//! backoff.
//!
//! The config comes either from an `ami://user:secret@host:5038?auth=md5` URL or from a TOML
//! table (`url = ...` and/or the individual keys). The secret is wrapped in [`Secret`], whose
//! `Debug` prints `***`, so a config can be logged whole.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// A password that never reaches a log: `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The clear text, for the login only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How the client proves its identity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// `Login` with `Secret:` in clear text (fine on loopback).
    #[default]
    Plain,
    /// `Challenge` then `Login` with `Key: md5hex(challenge + secret)`.
    Md5,
}

/// Event classes asked for at login; `dialplan` is left out on purpose (Newexten/VarSet flood).
pub const DEFAULT_EVENTS: &str = "call,agent,cdr,system,reporting";
/// The AMI port Asterisk listens on by default.
pub const DEFAULT_PORT: u16 = 5038;

/// Everything the AMI client needs to connect and stay connected.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "file::AmiConfigFile")]
pub struct AmiConfig {
    /// Host name or IP address of Asterisk.
    pub host: String,
    /// TCP port (5038).
    pub port: u16,
    /// `manager.conf` user.
    pub username: String,
    /// Its secret.
    pub secret: Secret,
    /// Login method.
    pub auth: AuthMode,
    /// Value of the `Events:` login header.
    pub events: String,
    /// Idle time between keepalive `Ping`s.
    pub ping_interval: Duration,
    /// How long an action may wait for its response (also bounds connect and login).
    pub action_timeout: Duration,
    /// First reconnect delay; doubled per failed attempt.
    pub reconnect_min: Duration,
    /// Reconnect delay ceiling (also the delay after a refused login).
    pub reconnect_max: Duration,
    /// Events buffered per subscriber before the slowest one starts losing the oldest.
    pub event_buffer: usize,
}

/// What is wrong with an AMI URL or config; names the offending part, never the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmiConfigError {
    /// The URL does not start with `ami://`.
    #[error("AMI url must start with ami://")]
    Scheme,
    /// A required part is empty or missing.
    #[error("AMI config: {0} is missing")]
    Missing(&'static str),
    /// A part has a value that cannot be used.
    #[error("AMI config: invalid {key}: {reason}")]
    Invalid {
        /// The config key or URL part.
        key: &'static str,
        /// Why it was refused.
        reason: String,
    },
}

impl AmiConfig {
    /// A config with the defaults for everything but the address and the credentials.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        username: impl Into<String>,
        secret: Secret,
    ) -> AmiConfig {
        AmiConfig {
            host: host.into(),
            port,
            username: username.into(),
            secret,
            auth: AuthMode::Plain,
            events: DEFAULT_EVENTS.to_owned(),
            ping_interval: Duration::from_secs(20),
            action_timeout: Duration::from_secs(10),
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            event_buffer: 4096,
        }
    }

    /// Parses `ami://user:secret@host[:port][?auth=plain|md5&events=call,agent]`.
    /// User and secret are percent-decoded.
    pub fn from_url(url: &str) -> Result<AmiConfig, AmiConfigError> {
        let rest = url.strip_prefix("ami://").ok_or(AmiConfigError::Scheme)?;
        let (authority, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        // The secret may itself contain '@' when not encoded: the host follows the last one.
        let (userinfo, hostport) = authority
            .rsplit_once('@')
            .ok_or(AmiConfigError::Missing("username"))?;
        let (user, secret) = userinfo
            .split_once(':')
            .ok_or(AmiConfigError::Missing("secret"))?;
        let username = percent_decode(user, "username")?;
        let secret = Secret(percent_decode(secret, "secret")?);
        let (host, port) = split_host_port(hostport)?;
        let mut config = AmiConfig::new(host, port, username, secret);
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "auth" => config.auth = parse_auth(value)?,
                "events" => config.events = percent_decode(value, "events")?,
                other => {
                    return Err(AmiConfigError::Invalid {
                        key: "url",
                        reason: format!("unknown query parameter {other:?}"),
                    });
                }
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks the values that would make the client misbehave.
    pub fn validate(&self) -> Result<(), AmiConfigError> {
        let invalid = |key, reason: &str| {
            Err(AmiConfigError::Invalid {
                key,
                reason: reason.to_owned(),
            })
        };
        if self.host.is_empty() {
            return Err(AmiConfigError::Missing("host"));
        }
        if self.username.is_empty() {
            return Err(AmiConfigError::Missing("username"));
        }
        if self.port == 0 {
            return invalid("port", "must not be 0");
        }
        let has_break = |s: &str| s.contains(['\r', '\n']);
        if has_break(&self.username) || has_break(self.secret.expose()) || has_break(&self.events) {
            return invalid("username/secret/events", "must not contain line breaks");
        }
        if self.ping_interval.is_zero() {
            return invalid("ping_interval_ms", "must be positive");
        }
        if self.action_timeout.is_zero() {
            return invalid("action_timeout_ms", "must be positive");
        }
        if self.reconnect_min.is_zero() || self.reconnect_min > self.reconnect_max {
            return invalid(
                "reconnect_min_ms",
                "must be positive and at most reconnect_max_ms",
            );
        }
        if self.event_buffer == 0 {
            return invalid("event_buffer", "must be positive");
        }
        Ok(())
    }

    /// `host:port` for connecting (IPv6 literals bracketed).
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

fn parse_auth(value: &str) -> Result<AuthMode, AmiConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "plain" => Ok(AuthMode::Plain),
        "md5" => Ok(AuthMode::Md5),
        other => Err(AmiConfigError::Invalid {
            key: "auth",
            reason: format!("expected plain or md5, got {other:?}"),
        }),
    }
}

fn split_host_port(hostport: &str) -> Result<(String, u16), AmiConfigError> {
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or(AmiConfigError::Invalid {
            key: "host",
            reason: "unclosed '[' in IPv6 address".to_owned(),
        })?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(AmiConfigError::Missing("host"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p.parse().map_err(|_| AmiConfigError::Invalid {
            key: "port",
            reason: format!("{p:?} is not a port number"),
        })?,
    };
    Ok((host.to_owned(), port))
}

/// Decodes `%XX` escapes; `field` names the URL part in errors (the value is never echoed).
fn percent_decode(input: &str, field: &'static str) -> Result<String, AmiConfigError> {
    let bad = |reason: &str| AmiConfigError::Invalid {
        key: field,
        reason: reason.to_owned(),
    };
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad("bad percent-encoding"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad("percent-decodes to invalid UTF-8"))
}

mod file;

#[cfg(test)]
mod tests;
