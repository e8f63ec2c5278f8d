//! FastAGI: the protocol layer (the environment block [`AgiRequest`], typed [`Command`]s,
//! [`Reply`]s and the connection framing [`AgiCodec`]), and on top of it the per-call
//! [`AgiSession`] and the [`AgiServer`] that routes calls by script path to [`Handler`]s.
//!
//! Asterisk connects to us and speaks first (the environment), then answers one command at a
//! time; it may also write a bare `HANGUP` line at any point after the environment, typically
//! just before the reply to the next command. The codec reports it as [`AgiFrame::Hangup`]; the
//! session absorbs it and stops issuing media commands.

pub mod codec;
pub mod command;
pub mod config;
pub mod error;
pub mod metrics;
pub mod reply;
pub mod request;
pub mod router;
pub mod server;
pub mod session;
pub mod status;
pub mod timeouts;
mod typed;

pub use codec::{AgiCodec, AgiFrame, AgiLimits};
pub use command::Command;
pub use config::AgiConfig;
pub use error::{AgiError, Result};
pub use metrics::AgiMetrics;
pub use reply::{Outcome, Reply};
pub use request::{AgiRequest, known};
pub use router::{BoxFuture, Handler, HandlerError, HandlerResult, Router, unknown_script};
pub use server::AgiServer;
pub use session::{AgiSession, SessionOptions};
pub use status::{AgiHealth, AgiStatus};
pub use timeouts::CommandTimeouts;
