//! The telephony core of callpro: the Asterisk Manager Interface (AMI) client, the FastAGI
//! server that runs IVR flows for the dialplan, the SIP trunk prober, and the live view of
//! calls, agents, queues and trunks built from AMI events.
//!
//! The engine knows nothing of HTTP or the database: the management layer wires it to both.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod agi;
pub mod ami;
pub mod bus;
pub mod sip;
pub mod state;
pub mod telephony;
