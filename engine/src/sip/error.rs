//! Errors of the SIP module: parsing a datagram, binding sockets, starting the carrier simulator.

use std::io;

/// Result alias of the SIP module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `sip`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A datagram was larger than [`crate::sip::options::MAX_DATAGRAM`]; it is dropped unread.
    #[error("datagram of {len} bytes exceeds the {max} byte limit")]
    TooLarge {
        /// Bytes received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The datagram is not a SIP response (a request, a keep-alive, or garbage).
    #[error("not a SIP response")]
    NotAResponse,
    /// rsip could not parse the message or a header the prober needs.
    #[error("malformed SIP message: {0}")]
    Malformed(String),
    /// A header the prober matches on is missing.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A trunk host could not be turned into a SIP URI.
    #[error("invalid trunk target {0:?}")]
    InvalidTarget(String),
    /// Socket errors (bind, send, receive).
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Registering metrics failed (duplicate name in the registry).
    #[error(transparent)]
    Metrics(#[from] prometheus::Error),
}

impl From<rsip::Error> for Error {
    fn from(e: rsip::Error) -> Self {
        Error::Malformed(e.to_string())
    }
}
