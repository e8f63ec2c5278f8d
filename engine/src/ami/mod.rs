//! The Asterisk Manager Interface, protocol layer only: packets ([`Message`], [`Action`]), the
//! stream framing ([`AmiCodec`]) and the typed events the engine consumes ([`Event`]).
//!
//! Everything here is a pure function over bytes; the connection, login and action/response
//! correlation live in the client built on top. See `shared/design/PROTOCOLS.md` for the wire
//! facts this follows and `shared/fixtures/asterisk/ami` for the captures it is tested against.

pub mod codec;
pub mod error;
pub mod event;
pub mod message;

pub use codec::{AmiCodec, AmiFrame, AmiLimits};
pub use error::{AmiError, Result};
pub use event::{ChannelState, Event, OriginateReason};
pub use message::{Action, Message};
