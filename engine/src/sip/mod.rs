//! SIP: the OPTIONS trunk prober (rsip over UDP) and a carrier simulator (ezk) for tests and benches.
//!
//! Layout follows the other protocol trees: [`options`] builds and parses the bytes (pure),
//! [`transaction`] is the sans-IO retransmit/match state machine, [`prober`] drives it over one
//! UDP socket and publishes per-trunk states and [`metrics`]; [`carrier`] is a scripted
//! gateway built on ezk-sip-core/ezk-sip-ua that end-to-end tests dial into.

pub mod carrier;
mod carrier_call;
mod carrier_stats;
pub mod error;
pub mod metrics;
pub mod options;
pub mod prober;
mod round;
pub mod transaction;

pub use carrier::{CarrierConfig, CarrierOutcome, CarrierSim, CarrierStats, OutcomeWeights};
pub use error::{Error, Result};
pub use metrics::ProberMetrics;
pub use options::{OptionsRequest, ProbeResponse};
pub use prober::{
    ProberConfig, ProberHandle, Transport, Trunk, TrunkProber, TrunkState, TrunkStates, TrunkStatus,
};
pub use transaction::{ProbeOutcome, ProbeTxn, RetransmitSchedule};
