//! Errors of the AMI protocol layer: framing limits hit while decoding, and actions that cannot
//! be put on the wire without corrupting the packet stream.

/// Shorthand for results of the AMI layer.
pub type Result<T, E = AmiError> = std::result::Result<T, E>;

/// Everything that can go wrong while framing AMI packets.
#[derive(Debug, thiserror::Error)]
pub enum AmiError {
    /// The socket failed underneath the codec.
    #[error("AMI i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A packet grew past the configured byte limit before its terminating blank line.
    #[error("AMI packet exceeds {limit} bytes")]
    PacketTooLarge {
        /// The configured maximum packet size in bytes.
        limit: usize,
    },
    /// A packet carried more headers than allowed.
    #[error("AMI packet exceeds {limit} headers")]
    TooManyHeaders {
        /// The configured maximum number of headers per packet.
        limit: usize,
    },
    /// The stream ended in the middle of a packet.
    #[error("AMI stream ended inside a packet ({pending} bytes pending)")]
    Truncated {
        /// How many undecoded bytes were left in the buffer.
        pending: usize,
    },
    /// An action header would break the framing (CR/LF, a colon in the key, an empty key).
    #[error("AMI header {key:?} cannot be encoded: {reason}")]
    InvalidHeader {
        /// The offending header name.
        key: String,
        /// Why it was refused.
        reason: &'static str,
    },
}

/// Failures of the AMI client: connecting, logging in, and actions on a live connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmiClientError {
    /// No logged-in connection right now (connecting, or waiting to reconnect).
    #[error("not connected to Asterisk")]
    NotConnected,
    /// The connection dropped while the action was pending; it may or may not have run.
    #[error("the AMI connection was lost before the answer")]
    ConnectionLost,
    /// No answer within the action timeout.
    #[error("AMI action {action} timed out")]
    Timeout {
        /// The action name.
        action: String,
    },
    /// Asterisk answered `Response: Error`.
    #[error("Asterisk refused {action}: {message}")]
    Rejected {
        /// The action name.
        action: String,
        /// The `Message:` of the error response.
        message: String,
    },
    /// The login was refused (wrong user or secret, or a host not permitted).
    #[error("AMI login refused: {0}")]
    AuthenticationFailed(String),
    /// Connecting or reading failed below the protocol.
    #[error("AMI connection failed: {0}")]
    Io(String),
    /// The peer broke the protocol (no banner, no challenge, framing limit hit).
    #[error("AMI protocol error: {0}")]
    Protocol(String),
    /// The action cannot be put on the wire (a line break in a value, say).
    #[error("invalid AMI action: {0}")]
    InvalidAction(String),
    /// The client was shut down.
    #[error("the AMI client is shut down")]
    Closed,
}

impl From<std::io::Error> for AmiClientError {
    fn from(err: std::io::Error) -> Self {
        AmiClientError::Io(err.to_string())
    }
}

impl From<AmiError> for AmiClientError {
    fn from(err: AmiError) -> Self {
        match err {
            AmiError::Io(io) => AmiClientError::Io(io.to_string()),
            AmiError::InvalidHeader { .. } => AmiClientError::InvalidAction(err.to_string()),
            other => AmiClientError::Protocol(other.to_string()),
        }
    }
}
