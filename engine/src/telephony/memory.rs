//! A deterministic in-memory [`super::Telephony`] for tests and the simulator.
