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
