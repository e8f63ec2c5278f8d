//! The dialer crate's error type.

/// Everything that can go wrong in the dialer crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A duration distribution was given parameters it cannot take.
    #[error("invalid distribution {name}: mean {mean} s, cv {cv}")]
    InvalidDistribution {
        /// Which duration the distribution models.
        name: &'static str,
        /// The mean, in seconds.
        mean: f64,
        /// The coefficient of variation.
        cv: f64,
    },
    /// A scenario name that PACE-1 does not define.
    #[error("unknown scenario {0:?} (expected e.g. n50-r30, n200-r30-drift or all)")]
    UnknownScenario(String),
    /// A pacing policy name that the dialer does not know.
    #[error("unknown pacing policy {0:?} (expected preview, progressive, power or predictive)")]
    UnknownPolicy(String),
    /// A seed range that is not `FIRST..END` with FIRST < END.
    #[error("invalid seed range {0:?} (expected e.g. 1000..1019, both ends included)")]
    InvalidSeeds(String),
    /// Results could not be serialized to JSON.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A name (regulatory profile, outcome, lead status, ...) that the dialer does not know.
    #[error("unknown {what} {value:?} (expected one of: {expected})")]
    UnknownName {
        /// What kind of name was expected.
        what: &'static str,
        /// The name given.
        value: String,
        /// The accepted names, comma-separated.
        expected: &'static str,
    },
}

/// The dialer crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
