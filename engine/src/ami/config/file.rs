//! The TOML shape of [`AmiConfig`]: a `url`, individual keys, or both (keys override the URL),
//! with durations written in milliseconds so the unit is in the key name.

use std::time::Duration;

use serde::Deserialize;

use super::{AmiConfig, AmiConfigError, AuthMode, DEFAULT_PORT, Secret};

/// `[ami]` as written in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AmiConfigFile {
    url: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    username: Option<String>,
    secret: Option<Secret>,
    auth: Option<AuthMode>,
    events: Option<String>,
    ping_interval_ms: Option<u64>,
    action_timeout_ms: Option<u64>,
    reconnect_min_ms: Option<u64>,
    reconnect_max_ms: Option<u64>,
    event_buffer: Option<usize>,
}

impl TryFrom<AmiConfigFile> for AmiConfig {
    type Error = AmiConfigError;

    fn try_from(file: AmiConfigFile) -> Result<AmiConfig, AmiConfigError> {
        let mut config = match &file.url {
            Some(url) => AmiConfig::from_url(url)?,
            None => AmiConfig::new(
                file.host.clone().ok_or(AmiConfigError::Missing("host"))?,
                DEFAULT_PORT,
                file.username
                    .clone()
                    .ok_or(AmiConfigError::Missing("username"))?,
                file.secret
                    .clone()
                    .ok_or(AmiConfigError::Missing("secret"))?,
            ),
        };
        let ms = Duration::from_millis;
        let AmiConfigFile {
            url: _,
            host,
            port,
            username,
            secret,
            auth,
            events,
            ping_interval_ms,
            action_timeout_ms,
            reconnect_min_ms,
            reconnect_max_ms,
            event_buffer,
        } = file;
        if let Some(v) = host {
            config.host = v;
        }
        if let Some(v) = port {
            config.port = v;
        }
        if let Some(v) = username {
            config.username = v;
        }
        if let Some(v) = secret {
            config.secret = v;
        }
        if let Some(v) = auth {
            config.auth = v;
        }
        if let Some(v) = events {
            config.events = v;
        }
        if let Some(v) = ping_interval_ms {
            config.ping_interval = ms(v);
        }
        if let Some(v) = action_timeout_ms {
            config.action_timeout = ms(v);
        }
        if let Some(v) = reconnect_min_ms {
            config.reconnect_min = ms(v);
        }
        if let Some(v) = reconnect_max_ms {
            config.reconnect_max = ms(v);
        }
        if let Some(v) = event_buffer {
            config.event_buffer = v;
        }
        config.validate()?;
        Ok(config)
    }
}
