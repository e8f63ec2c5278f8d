//! Outbound dialing wired to the database and the telephony: the hopper's selection and claims,
//! the records of every attempt, and the runtime that dials running campaigns.

pub mod attempts;
pub mod call;
pub mod hopper;
pub mod preview;
pub mod runtime;

pub use runtime::{Board, DialerConfig, DialerHandle};
