//! The Asterisk Manager Interface: packets ([`Message`], [`Action`]), the stream framing
//! ([`AmiCodec`]), the typed events the engine consumes ([`Event`]), and on top of them the
//! [`AmiClient`] (login, correlation, reconnect and resync), async originate and
//! [`AmiTelephony`], the production [`crate::telephony::Telephony`].
//!
//! The protocol layer (codec, message, event) is pure functions over bytes; the I/O lives in
//! `login`, `connection` and `resync`. See `shared/design/PROTOCOLS.md` for the wire facts this
//! follows and `engine/tests/captures/ami` for the captures it is tested against.

pub mod client;
pub mod codec;
pub mod config;
mod connection;
pub mod error;
pub mod event;
mod login;
pub mod message;
pub mod metrics;
pub mod originate;
mod pending;
mod resync;
pub mod status;
pub mod telephony;

pub use client::{AmiClient, ClientResult};
pub use codec::{AmiCodec, AmiFrame, AmiLimits};
pub use config::{AmiConfig, AmiConfigError, AuthMode, Secret};
pub use error::{AmiClientError, AmiError, Result};
pub use event::{ChannelState, Event, OriginateReason};
pub use login::md5_key;
pub use message::{Action, Message};
pub use metrics::AmiMetrics;
pub use originate::{OriginateHandle, OriginateResult, originate_action, outcome_of};
pub use pending::ListResponse;
pub use status::{ConnectionState, ConnectionStatus, Snapshot};
pub use telephony::AmiTelephony;
