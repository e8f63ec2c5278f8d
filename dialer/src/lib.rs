//! Outbound dialing for callpro: the campaign model, the hopper that picks the next lead, the
//! pacing policies (preview, progressive, power, predictive), the compliance rules and the
//! discrete-event call-center simulator that judges pacing.
//!
//! Every part here is sans-IO: events in, decisions out. The management layer drives it.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod campaign;
pub mod compliance;
pub mod dnc;
pub mod error;
pub mod hopper;
pub mod import;
pub mod pacing;
pub mod phone;
pub mod retry;
pub mod sim;

pub use error::{Error, Result};
