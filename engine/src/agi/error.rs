//! Errors of FastAGI: framing limits, lines that are not AGI, commands that cannot be written as
//! one line, and the session-level refusals (`510`/`511`/`520`, hang-up, timeouts).

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
    /// The caller hung up: a media command was refused locally, without touching the socket.
    #[error("the channel hung up; media command not sent")]
    Hangup,
    /// `510`: Asterisk does not know the command.
    #[error("AGI 510: {message}")]
    UnknownCommand {
        /// The text after the code.
        message: String,
    },
    /// `511`: the command is not permitted on a dead channel.
    #[error("AGI 511: {message}")]
    DeadChannel {
        /// The text after the code.
        message: String,
    },
    /// `520`: wrong command syntax, with Asterisk's usage text when it sent one.
    #[error("AGI 520: {message}")]
    Usage {
        /// The text after the code.
        message: String,
        /// The usage text lines.
        usage: Vec<String>,
    },
    /// A reply code the command does not expect.
    #[error("unexpected AGI reply {code} {text:?}")]
    UnexpectedReply {
        /// The three-digit code.
        code: u16,
        /// The text after the code.
        text: String,
    },
    /// The command ran but reported failure (`result=-1`: missing file, channel gone, ...).
    #[error("AGI command {command:?} failed with result={result:?}")]
    Failed {
        /// The command verb, e.g. `STREAM FILE`.
        command: &'static str,
        /// The `result=` value as sent.
        result: String,
    },
    /// No reply within the command's timeout; the session is unusable afterwards.
    #[error("no AGI reply to {command:?} within {timeout_ms} ms")]
    Timeout {
        /// The command verb.
        command: &'static str,
        /// The timeout that expired, in milliseconds.
        timeout_ms: u64,
    },
    /// The connection is closed (by Asterisk, or by an earlier timeout or framing error).
    #[error("AGI connection closed")]
    Closed,
    /// A configuration value is out of range.
    #[error("invalid AGI configuration `{key}`: {reason}")]
    InvalidConfig {
        /// The configuration key, e.g. `agi.max_sessions`.
        key: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl AgiError {
    /// True when the error only says the caller is gone: an ordinary end of an IVR flow.
    pub fn is_hangup(&self) -> bool {
        matches!(
            self,
            AgiError::Hangup | AgiError::DeadChannel { .. } | AgiError::Closed
        )
    }
}
