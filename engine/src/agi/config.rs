//! `[agi]` configuration of the FastAGI server. Durations carry their unit in the key
//! (`command_timeout_ms`) so a TOML file or a `CALLPRO_AGI_*` variable reads unambiguously.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use super::codec::AgiLimits;
use super::error::{AgiError, Result};
use super::timeouts::CommandTimeouts;

/// Settings of the FastAGI server; every key has a default.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgiConfig {
    /// Listening address; Asterisk dials `agi://host:4573/...`.
    pub bind: SocketAddr,
    /// Sessions served at once; further connections wait up to `queue_timeout_ms`.
    pub max_sessions: usize,
    /// How long a connection over the cap waits for a free slot before it is closed (0: refuse
    /// at once). Closing lets the dialplan carry on (`AGISTATUS=FAILURE`) instead of leaving the
    /// caller in silence.
    pub queue_timeout_ms: u64,
    /// Base reply timeout of every command (and of the environment read).
    pub command_timeout_ms: u64,
    /// Extra allowance for playback/applications of unknown length (`STREAM FILE`, `EXEC`, ...).
    pub media_timeout_ms: u64,
    /// On shutdown, how long running sessions may take to finish before they are cut.
    pub shutdown_grace_ms: u64,
    /// Longest line accepted from Asterisk.
    pub max_line_bytes: usize,
    /// Largest environment or `520` usage block accepted.
    pub max_block_bytes: usize,
}

impl Default for AgiConfig {
    fn default() -> Self {
        let limits = AgiLimits::default();
        let timeouts = CommandTimeouts::default();
        AgiConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 4573)),
            max_sessions: 1024,
            queue_timeout_ms: 1000,
            command_timeout_ms: millis(timeouts.base),
            media_timeout_ms: millis(timeouts.media),
            shutdown_grace_ms: 30_000,
            max_line_bytes: limits.max_line_bytes,
            max_block_bytes: limits.max_block_bytes,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl AgiConfig {
    /// Checks the values, naming the offending key.
    pub fn validate(&self) -> Result<()> {
        let invalid = |key, reason| Err(AgiError::InvalidConfig { key, reason });
        if self.max_sessions == 0 {
            return invalid("agi.max_sessions", "must be at least 1");
        }
        // tokio's semaphore caps its permits at usize::MAX >> 3.
        if self.max_sessions > 1 << 24 {
            return invalid("agi.max_sessions", "must be at most 16777216");
        }
        if self.command_timeout_ms == 0 {
            return invalid("agi.command_timeout_ms", "must be positive");
        }
        if self.max_line_bytes < 64 {
            return invalid("agi.max_line_bytes", "must be at least 64");
        }
        if self.max_block_bytes < self.max_line_bytes {
            return invalid("agi.max_block_bytes", "must be at least max_line_bytes");
        }
        Ok(())
    }

    /// The per-command timeouts.
    pub fn timeouts(&self) -> CommandTimeouts {
        CommandTimeouts {
            base: Duration::from_millis(self.command_timeout_ms),
            media: Duration::from_millis(self.media_timeout_ms),
        }
    }

    /// The framing limits.
    pub fn limits(&self) -> AgiLimits {
        AgiLimits {
            max_line_bytes: self.max_line_bytes,
            max_block_bytes: self.max_block_bytes,
        }
    }

    /// `queue_timeout_ms` as a duration.
    pub fn queue_timeout(&self) -> Duration {
        Duration::from_millis(self.queue_timeout_ms)
    }

    /// `shutdown_grace_ms` as a duration.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_partial_overrides() {
        let c: AgiConfig = serde_json::from_str(r#"{"max_sessions": 8}"#).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:4573");
        assert_eq!(c.max_sessions, 8);
        assert_eq!(c.timeouts(), CommandTimeouts::default());
        assert!(c.validate().is_ok());
        let c: AgiConfig = serde_json::from_str(r#"{"bind": "0.0.0.0:4574"}"#).unwrap();
        assert_eq!(c.bind.port(), 4574);
        assert!(serde_json::from_str::<AgiConfig>(r#"{"max_session": 8}"#).is_err());
    }

    #[test]
    fn validation_names_the_key() {
        let c = AgiConfig {
            max_sessions: 0,
            ..AgiConfig::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("agi.max_sessions"), "{err}");
    }
}
