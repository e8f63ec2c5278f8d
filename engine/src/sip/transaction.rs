//! The sans-IO OPTIONS client transaction: when to (re)send, which response ends it, when it
//! gives up. Time comes in as arguments, so tests drive it with `tokio::time::pause()` or plain
//! instants and no socket.
//!
//! RFC 3261 §17.1.2 (non-INVITE client transaction) over UDP: Timer E fires first at T1 and
//! doubles up to T2; a provisional response moves the transaction to Proceeding where the
//! interval is T2. Instead of Timer F (64·T1 = 32 s) the prober uses its own, much shorter,
//! overall timeout: a trunk that needs 32 s to be declared dead is useless on a dashboard.

use crate::sip::options::{OptionsRequest, ProbeResponse};
use std::time::Duration;
use tokio::time::Instant;

/// Retransmission timers and the overall give-up time of one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetransmitSchedule {
    /// First retransmit interval (RFC 3261 T1, 500 ms).
    pub t1: Duration,
    /// Cap of the doubling interval (RFC 3261 T2, 4 s).
    pub t2: Duration,
    /// Overall timeout after the first send; replaces Timer F.
    pub timeout: Duration,
}

impl Default for RetransmitSchedule {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            timeout: Duration::from_secs(5),
        }
    }
}

impl RetransmitSchedule {
    /// Offsets from the first send at which a probe that is never answered goes out.
    /// With the defaults: 0, 0.5, 1.5, 3.5 s (the next, 7.5 s, is past the 5 s timeout).
    pub fn send_offsets(&self) -> Vec<Duration> {
        let mut offsets = vec![Duration::ZERO];
        let mut at = Duration::ZERO;
        let mut interval = self.t1.max(Duration::from_millis(1));
        loop {
            at += interval;
            if at >= self.timeout {
                return offsets;
            }
            offsets.push(at);
            interval = (interval * 2).min(self.t2);
        }
    }
}

/// How a probe ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// A final response (≥ 200) matched.
    Answered {
        /// Its status code.
        status: u16,
        /// Time from the first transmission to the first matching response (provisional or
        /// final): what the user feels, even if the first packet was lost.
        rtt: Duration,
        /// Packets sent, retransmissions included.
        transmissions: u32,
    },
    /// No final response before the overall timeout.
    TimedOut {
        /// Packets sent, retransmissions included.
        transmissions: u32,
    },
}

/// One OPTIONS client transaction.
#[derive(Debug, Clone)]
pub struct ProbeTxn {
    request: OptionsRequest,
    schedule: RetransmitSchedule,
    started: Instant,
    next_send: Instant,
    interval: Duration,
    transmissions: u32,
    first_response: Option<Duration>,
    outcome: Option<ProbeOutcome>,
}

impl ProbeTxn {
    /// A transaction whose first transmission is due at `now`.
    pub fn new(request: OptionsRequest, schedule: RetransmitSchedule, now: Instant) -> Self {
        Self {
            request,
            schedule,
            started: now,
            next_send: now,
            interval: schedule.t1.max(Duration::from_millis(1)),
            transmissions: 0,
            first_response: None,
            outcome: None,
        }
    }

    /// The request this transaction sends.
    pub fn request(&self) -> &OptionsRequest {
        &self.request
    }

    /// The timers this transaction runs on.
    pub fn schedule(&self) -> RetransmitSchedule {
        self.schedule
    }

    /// Packets handed out by [`Self::poll_transmit`] so far.
    pub fn transmissions(&self) -> u32 {
        self.transmissions
    }

    /// The final outcome, once there is one.
    pub fn outcome(&self) -> Option<&ProbeOutcome> {
        self.outcome.as_ref()
    }

    fn give_up_at(&self) -> Instant {
        self.started + self.schedule.timeout
    }

    /// Bytes to send now, if a (re)transmission is due; call until it returns `None`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<&[u8]> {
        self.poll_timeout(now);
        if self.outcome.is_some() || now < self.next_send {
            return None;
        }
        self.transmissions += 1;
        // Schedule from the planned time, not `now`, so a late wake-up does not shift the series.
        self.next_send += self.interval;
        if self.next_send <= now {
            self.next_send = now + self.interval;
        }
        self.interval = (self.interval * 2).min(self.schedule.t2);
        Some(&self.request.bytes)
    }

    /// Ends the transaction as timed out if its overall deadline has passed.
    pub fn poll_timeout(&mut self, now: Instant) {
        if self.outcome.is_none() && now >= self.give_up_at() {
            self.outcome = Some(ProbeOutcome::TimedOut {
                transmissions: self.transmissions,
            });
        }
    }

    /// When the driver must call again: the next retransmission or the give-up time.
    pub fn poll_deadline(&self) -> Option<Instant> {
        match self.outcome {
            Some(_) => None,
            None => Some(self.next_send.min(self.give_up_at())),
        }
    }

    /// Feeds a parsed response; returns true if it belongs to this transaction.
    pub fn on_response(&mut self, response: &ProbeResponse, now: Instant) -> bool {
        if self.outcome.is_some() || !self.request.matches(response) {
            return false;
        }
        let rtt = *self
            .first_response
            .get_or_insert(now.saturating_duration_since(self.started));
        if response.status < 200 {
            // Proceeding: keep retransmitting, but only every T2 (RFC 3261 §17.1.2.2).
            self.interval = self.schedule.t2;
            self.next_send = now + self.interval;
        } else {
            let transmissions = self.transmissions;
            self.outcome = Some(ProbeOutcome::Answered {
                status: response.status,
                rtt,
                transmissions,
            });
        }
        true
    }
}

#[cfg(test)]
#[path = "transaction_tests.rs"]
mod tests;
