//! FastAGI, protocol layer only: the environment block ([`AgiRequest`]), typed commands
//! ([`Command`]), replies ([`Reply`]) and the connection framing ([`AgiCodec`]).
//!
//! Asterisk connects to us and speaks first (the environment), then answers one command at a
//! time; it may also write a bare `HANGUP` line at any point after the environment, typically
//! just before the reply to the next command. The session and server built on top decide what
//! to do with that; this layer only reports it as [`AgiFrame::Hangup`].

pub mod codec;
pub mod command;
pub mod error;
pub mod reply;
pub mod request;

pub use codec::{AgiCodec, AgiFrame, AgiLimits};
pub use command::Command;
pub use error::{AgiError, Result};
pub use reply::{Outcome, Reply};
pub use request::{AgiRequest, known};
