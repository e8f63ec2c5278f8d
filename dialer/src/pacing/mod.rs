//! Pacing: how many new calls to place right now.
//!
//! The pacers are sans-IO state machines shared by the PACE-1 simulator and the live runtime.
//! The caller feeds them the event feed ([`Pacer::observe`]) and, after every event and on 1 s
//! ticks, asks for a decision ([`Pacer::decide`]) with a [`PacingInput`] that holds only what a
//! policy may see: agents by state with the time they entered it, the dial times of calls still
//! in flight and the number of answered calls waiting for an agent. Nothing pre-drawn by a
//! simulator ever reaches a pacer, so a policy that does well in PACE-1 can run unchanged live.

mod learn;
mod predictive;
mod simple;

use serde::{Deserialize, Serialize};

pub use predictive::{Predictive, PredictiveConfig};
pub use simple::{Power, Progressive};

/// The hard cap on lines (calls in flight plus answered calls waiting) per logged-in agent.
pub const MAX_LINES_PER_AGENT: usize = 4;

/// What an agent is doing, as the pacer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentState {
    /// Ready and waiting for a call.
    Idle,
    /// Talking to a called party.
    Talking,
    /// In after-call work (wrap-up), not yet ready.
    Wrapping,
}

/// One logged-in agent: its state and when it entered that state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgentView {
    /// Current state.
    pub state: AgentState,
    /// When the agent entered `state`, in seconds on the pacer's clock.
    pub since: f64,
}

impl AgentView {
    /// Seconds spent in the current state at `now`.
    pub fn elapsed(&self, now: f64) -> f64 {
        (now - self.since).max(0.0)
    }
}

/// What a policy may see when it decides. Times are seconds on one monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct PacingInput<'a> {
    /// The current time.
    pub now: f64,
    /// Every logged-in agent.
    pub agents: &'a [AgentView],
    /// When each call still in flight (ringing, or answered and under AMD analysis) was dialed.
    pub calls_in_flight: &'a [f64],
    /// Live-answered calls waiting for an agent.
    pub waiting: usize,
}

impl PacingInput<'_> {
    /// Agents ready for a call.
    pub fn idle_agents(&self) -> usize {
        self.agents
            .iter()
            .filter(|a| a.state == AgentState::Idle)
            .count()
    }

    /// Lines in use that are not yet connected to an agent.
    pub fn lines(&self) -> usize {
        self.calls_in_flight.len() + self.waiting
    }

    /// How many more lines the 4-lines-per-agent cap allows.
    pub fn line_headroom(&self) -> usize {
        (self.agents.len() * MAX_LINES_PER_AGENT).saturating_sub(self.lines())
    }

    /// What progressive dialing would place now: one line per idle agent, counting the calls
    /// already in flight or waiting.
    pub fn progressive_need(&self) -> usize {
        self.idle_agents().saturating_sub(self.lines())
    }
}

/// How an attempt resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DialOutcome {
    /// A person answered.
    Human,
    /// An answering machine, detected by AMD; the line is released without an agent.
    Machine,
    /// Busy or special information tone.
    Busy,
    /// Nobody answered before the no-answer timeout.
    NoAnswer,
}

/// The event feed a pacer learns from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PacingEvent {
    /// An attempt resolved after `duration` seconds from the dial (for a human: the ring time;
    /// for a machine: ring time plus AMD analysis).
    DialResult {
        /// How it resolved.
        outcome: DialOutcome,
        /// Seconds from dial to resolution.
        duration: f64,
    },
    /// A live-answered call reached an agent after waiting `wait` seconds.
    Connect {
        /// Seconds between the answer and the connection.
        wait: f64,
    },
    /// A live-answered call was dropped because no agent was free in time.
    Abandon,
    /// An agent finished talking after `duration` seconds.
    TalkEnd {
        /// Talk time in seconds.
        duration: f64,
    },
    /// An agent finished wrap-up after `duration` seconds and is ready again.
    WrapEnd {
        /// Wrap-up time in seconds.
        duration: f64,
    },
}

/// A pacing policy: learns from events, decides how many calls to place now.
pub trait Pacer {
    /// Feeds one event at time `now`.
    fn observe(&mut self, now: f64, event: &PacingEvent);
    /// How many new calls to place now. Never more than [`PacingInput::line_headroom`].
    fn decide(&mut self, input: &PacingInput<'_>) -> usize;
}

/// The pacing modes a campaign can run in, with their settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum PacingMode {
    /// Agent-driven: the agent previews the lead and clicks to call; the pacer never dials.
    Preview,
    /// One line per idle agent.
    Progressive,
    /// A fixed number of lines per idle agent.
    Power {
        /// Lines per idle agent (1.0 is progressive).
        ratio: f64,
    },
    /// Model-based predictive dialing held at an abandonment target.
    Predictive(PredictiveConfig),
}

impl PacingMode {
    /// Parses a policy name with default settings (`power` uses a ratio of 2).
    pub fn from_name(name: &str) -> crate::Result<Self> {
        match name {
            "preview" => Ok(Self::Preview),
            "progressive" => Ok(Self::Progressive),
            "power" => Ok(Self::Power { ratio: 2.0 }),
            "predictive" => Ok(Self::Predictive(PredictiveConfig::default())),
            other => Err(crate::Error::UnknownPolicy(other.to_owned())),
        }
    }

    /// The policy's short name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Preview => "preview",
            Self::Progressive => "progressive",
            Self::Power { .. } => "power",
            Self::Predictive(_) => "predictive",
        }
    }

    /// A fresh pacer for this mode, with nothing learned yet.
    pub fn pacer(&self) -> AnyPacer {
        match self {
            Self::Preview => AnyPacer::Preview,
            Self::Progressive => AnyPacer::Progressive(Progressive),
            Self::Power { ratio } => AnyPacer::Power(Power::new(*ratio)),
            Self::Predictive(cfg) => AnyPacer::Predictive(Box::new(Predictive::new(cfg.clone()))),
        }
    }
}

/// Any of the pacers, dispatched statically (one per campaign, built by [`PacingMode::pacer`]).
#[derive(Debug, Clone)]
pub enum AnyPacer {
    /// Never dials.
    Preview,
    /// See [`Progressive`].
    Progressive(Progressive),
    /// See [`Power`].
    Power(Power),
    /// See [`Predictive`].
    Predictive(Box<Predictive>),
}

impl AnyPacer {
    /// Moves a predictive pacer's abandonment target (a fraction); the others have none.
    pub fn set_target_abandon(&mut self, target: f64) {
        if let Self::Predictive(p) = self {
            p.set_target_abandon(target);
        }
    }
}

impl Pacer for AnyPacer {
    fn observe(&mut self, now: f64, event: &PacingEvent) {
        match self {
            Self::Preview => {}
            Self::Progressive(p) => p.observe(now, event),
            Self::Power(p) => p.observe(now, event),
            Self::Predictive(p) => p.observe(now, event),
        }
    }

    fn decide(&mut self, input: &PacingInput<'_>) -> usize {
        let n = match self {
            Self::Preview => 0,
            Self::Progressive(p) => p.decide(input),
            Self::Power(p) => p.decide(input),
            Self::Predictive(p) => p.decide(input),
        };
        // Enforced here as well so that no policy can ever break the line cap.
        n.min(input.line_headroom())
    }
}
