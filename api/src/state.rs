//! Shared application state handed to every handler.

use std::sync::Arc;

use crate::auth::jwt::JwtKeys;
use crate::config::Config;
use crate::crypto::SecretBox;
use crate::db::Db;
use crate::engine::Engine;
use crate::leadflow::throttle::IntakeThrottle;
use crate::leadflow::writer::IntakeWriter;
use crate::metrics::Metrics;
use crate::outbound::Board;

/// Everything a handler needs; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Access-token keys.
    pub jwt: JwtKeys,
    /// Encryption of secrets at rest.
    pub secrets: SecretBox,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Asterisk, live state, trunk probing.
    pub engine: Engine,
    /// What this instance's dialer is doing with each campaign it dials.
    pub dialer: Board,
    /// Rate limits of the public lead intake.
    pub intake: IntakeThrottle,
    /// Stores accepted submissions, in batches.
    pub intake_writer: IntakeWriter,
}
