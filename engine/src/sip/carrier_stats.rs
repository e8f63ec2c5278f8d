//! Counters of the carrier simulator: atomics bumped by the per-call tasks, read as a plain
//! [`CarrierStats`] snapshot by tests and benches.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the simulator did so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CarrierStats {
    /// OPTIONS answered with 200.
    pub options: u64,
    /// INVITEs received (initial ones).
    pub invites: u64,
    /// 180 Ringing sent.
    pub ringing: u64,
    /// Calls answered (200 OK acknowledged by ACK).
    pub answered: u64,
    /// Ring-outs ended with `no_answer_code`.
    pub no_answer: u64,
    /// 486 Busy Here sent.
    pub busy: u64,
    /// Rejects sent.
    pub rejected: u64,
    /// INVITEs cancelled by the caller before a final response.
    pub cancelled: u64,
    /// ACKs received (for 2xx and for failure responses).
    pub acks: u64,
    /// BYEs received and answered.
    pub byes_received: u64,
    /// BYEs sent because of `hangup_after`.
    pub byes_sent: u64,
    /// Calls that failed inside the simulator (transport errors, missing ACK).
    pub errors: u64,
}

/// Atomic mirror of [`CarrierStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) options: AtomicU64,
    pub(crate) invites: AtomicU64,
    pub(crate) ringing: AtomicU64,
    pub(crate) answered: AtomicU64,
    pub(crate) no_answer: AtomicU64,
    pub(crate) busy: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) acks: AtomicU64,
    pub(crate) byes_received: AtomicU64,
    pub(crate) byes_sent: AtomicU64,
    pub(crate) errors: AtomicU64,
}

/// Increments a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> CarrierStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CarrierStats {
            options: get(&self.options),
            invites: get(&self.invites),
            ringing: get(&self.ringing),
            answered: get(&self.answered),
            no_answer: get(&self.no_answer),
            busy: get(&self.busy),
            rejected: get(&self.rejected),
            cancelled: get(&self.cancelled),
            acks: get(&self.acks),
            byes_received: get(&self.byes_received),
            byes_sent: get(&self.byes_sent),
            errors: get(&self.errors),
        }
    }
}
