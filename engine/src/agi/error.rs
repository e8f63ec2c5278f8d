//! Errors of the FastAGI protocol layer: framing limits, lines that are not AGI, and commands
//! that cannot be written as one line.

/// Shorthand for results of the AGI layer.
pub type Result<T, E = AgiError> = std::result::Result<T, E>;

/// Everything that can go wrong while framing FastAGI traffic.
#[derive(Debug, thiserror::Error)]
pub enum AgiError {
    /// The socket failed underneath the codec.
    #[error("AGI i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// One line grew past the configured limit before its `\n`.
    #[error("AGI line exceeds {limit} bytes")]
    LineTooLong {
        /// The configured maximum line length in bytes.
        limit: usize,
    },
    /// The environment block (or a `520` usage block) grew past the configured limit.
    #[error("AGI block exceeds {limit} bytes")]
    BlockTooLarge {
        /// The configured maximum block size in bytes.
        limit: usize,
    },
    /// A line after the environment is neither a reply nor `HANGUP`.
    #[error("malformed AGI reply line {line:?}")]
    MalformedReply {
        /// The offending line (lossily decoded).
        line: String,
    },
    /// The stream ended in the middle of a line or block.
    #[error("AGI stream ended inside a line or block ({pending} bytes pending)")]
    Truncated {
        /// How many undecoded bytes were left.
        pending: usize,
    },
    /// A command argument cannot be sent (AGI has no way to escape a line break).
    #[error("AGI command cannot be encoded: {reason}")]
    InvalidCommand {
        /// Why it was refused.
        reason: &'static str,
    },
}
