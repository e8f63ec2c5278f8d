//! The PACE-1 discrete-event simulation of one campaign shift.
//!
//! The world draws each attempt's fate when it is dialed but only reveals it to the pacer when
//! it resolves; the pacer sees agents, call ages and the event feed, like a live dialer.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::metrics::SeedStats;
use super::scenario::{ABANDON_AFTER_S, CallModel, SHIFT_S, Scenario};
use crate::pacing::{AgentState, AgentView, DialOutcome, Pacer, PacingEvent, PacingInput};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Resolve {
        slot: u32,
        outcome: DialOutcome,
        dialed_at: f64,
    },
    Abandon {
        call: u64,
    },
    TalkEnd {
        agent: u32,
        duration: f64,
    },
    WrapEnd {
        agent: u32,
        duration: f64,
    },
    Tick,
}

#[derive(Debug, Clone, Copy)]
struct Event {
    t: f64,
    seq: u64,
    kind: Kind,
}

// Reversed so that `BinaryHeap` pops the earliest event; `seq` keeps ties in schedule order.
impl Ord for Event {
    fn cmp(&self, other: &Self) -> Ordering {
        other.t.total_cmp(&self.t).then(other.seq.cmp(&self.seq))
    }
}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Event {}

struct World<'m, P> {
    model: &'m CallModel,
    scenario: Scenario,
    pacer: P,
    dial_rng: ChaCha8Rng,
    agent_rng: ChaCha8Rng,
    now: f64,
    seq: u64,
    queue: BinaryHeap<Event>,
    agents: Vec<AgentView>,
    idle: VecDeque<u32>,
    // Calls in flight: dial times (what the pacer sees) and, in parallel, their slots.
    in_flight: Vec<f64>,
    in_flight_slot: Vec<u32>,
    slot_pos: Vec<usize>,
    free_slots: Vec<u32>,
    // Live answers waiting for an agent: (call id, answer time), oldest first.
    waiting: VecDeque<(u64, f64)>,
    next_call: u64,
    stats: SeedStats,
}

/// Runs one shift of `scenario` with `pacer` and returns its raw counts.
pub(crate) fn run_shift<P: Pacer>(
    model: &CallModel,
    scenario: Scenario,
    pacer: P,
    seed: u64,
) -> SeedStats {
    let mut agent_rng = ChaCha8Rng::seed_from_u64(seed);
    // Separate streams keep agent durations independent of how many calls a policy places.
    agent_rng.set_stream(1);
    let n = scenario.agents;
    let mut w = World {
        model,
        scenario,
        pacer,
        dial_rng: ChaCha8Rng::seed_from_u64(seed),
        agent_rng,
        now: 0.0,
        seq: 0,
        queue: BinaryHeap::with_capacity(16 * n + 16),
        agents: vec![
            AgentView {
                state: AgentState::Idle,
                since: 0.0
            };
            n
        ],
        idle: (0..n as u32).collect(),
        in_flight: Vec::with_capacity(4 * n),
        in_flight_slot: Vec::with_capacity(4 * n),
        slot_pos: Vec::with_capacity(4 * n),
        free_slots: Vec::new(),
        waiting: VecDeque::new(),
        next_call: 0,
        stats: SeedStats::new(n),
    };
    w.schedule(1.0, Kind::Tick);
    w.decide();
    while let Some(ev) = w.queue.pop() {
        if ev.t > SHIFT_S {
            break;
        }
        w.now = ev.t;
        w.handle(ev.kind);
        w.decide();
    }
    w.finish()
}

impl<P: Pacer> World<'_, P> {
    fn schedule(&mut self, t: f64, kind: Kind) {
        self.seq += 1;
        self.queue.push(Event {
            t,
            seq: self.seq,
            kind,
        });
    }

    fn decide(&mut self) {
        let input = PacingInput {
            now: self.now,
            agents: &self.agents,
            calls_in_flight: &self.in_flight,
            waiting: self.waiting.len(),
        };
        let n = self.pacer.decide(&input).min(input.line_headroom());
        for _ in 0..n {
            self.dial();
        }
        let lines = self.in_flight.len() + self.waiting.len();
        self.stats.peak_lines = self.stats.peak_lines.max(lines);
    }

    fn dial(&mut self) {
        let (outcome, duration) =
            self.model
                .attempt(self.scenario.rate, self.now, &mut self.dial_rng);
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                self.slot_pos.push(0);
                (self.slot_pos.len() - 1) as u32
            }
        };
        self.slot_pos[slot as usize] = self.in_flight.len();
        self.in_flight.push(self.now);
        self.in_flight_slot.push(slot);
        self.stats.dials += 1;
        self.schedule(
            self.now + duration,
            Kind::Resolve {
                slot,
                outcome,
                dialed_at: self.now,
            },
        );
    }

    fn handle(&mut self, kind: Kind) {
        let now = self.now;
        match kind {
            Kind::Tick => {
                if now + 1.0 <= SHIFT_S {
                    self.schedule(now + 1.0, Kind::Tick);
                }
            }
            Kind::Resolve {
                slot,
                outcome,
                dialed_at,
            } => {
                self.release(slot);
                let event = PacingEvent::DialResult {
                    outcome,
                    duration: now - dialed_at,
                };
                self.pacer.observe(now, &event);
                if outcome == DialOutcome::Human {
                    self.answered();
                }
            }
            Kind::Abandon { call } => {
                // Every answer waits the same 2 s, so a caller still waiting is at the front.
                if self.waiting.front().is_some_and(|&(id, _)| id == call) {
                    if let Some((_, answered_at)) = self.waiting.pop_front() {
                        self.stats.abandon(answered_at);
                    }
                    self.pacer.observe(now, &PacingEvent::Abandon);
                }
            }
            Kind::TalkEnd { agent, duration } => {
                self.stats.talk_s += duration;
                self.agents[agent as usize] = AgentView {
                    state: AgentState::Wrapping,
                    since: now,
                };
                self.pacer.observe(now, &PacingEvent::TalkEnd { duration });
                let wrap = self.model.wrap.sample(&mut self.agent_rng);
                self.schedule(
                    now + wrap,
                    Kind::WrapEnd {
                        agent,
                        duration: wrap,
                    },
                );
            }
            Kind::WrapEnd { agent, duration } => {
                self.stats.wrap_s += duration;
                self.pacer.observe(now, &PacingEvent::WrapEnd { duration });
                match self.waiting.pop_front() {
                    Some((_, answered_at)) => self.connect(agent, answered_at),
                    None => {
                        self.agents[agent as usize] = AgentView {
                            state: AgentState::Idle,
                            since: now,
                        };
                        self.idle.push_back(agent);
                    }
                }
            }
        }
    }

    fn release(&mut self, slot: u32) {
        let pos = self.slot_pos[slot as usize];
        self.in_flight.swap_remove(pos);
        self.in_flight_slot.swap_remove(pos);
        if let Some(&moved) = self.in_flight_slot.get(pos) {
            self.slot_pos[moved as usize] = pos;
        }
        self.free_slots.push(slot);
    }

    fn answered(&mut self) {
        let now = self.now;
        self.stats.answer(now);
        // Agents are pushed when they become idle, so the front is the longest idle.
        match self.idle.pop_front() {
            Some(agent) => self.connect(agent, now),
            None => {
                let call = self.next_call;
                self.next_call += 1;
                self.waiting.push_back((call, now));
                self.schedule(now + ABANDON_AFTER_S, Kind::Abandon { call });
            }
        }
    }

    fn connect(&mut self, agent: u32, answered_at: f64) {
        let now = self.now;
        self.stats.connects += 1;
        self.agents[agent as usize] = AgentView {
            state: AgentState::Talking,
            since: now,
        };
        self.pacer.observe(
            now,
            &PacingEvent::Connect {
                wait: now - answered_at,
            },
        );
        let talk = self.model.talk.sample(&mut self.agent_rng);
        self.schedule(
            now + talk,
            Kind::TalkEnd {
                agent,
                duration: talk,
            },
        );
    }

    fn finish(mut self) -> SeedStats {
        // Count the part of the calls and wrap-ups still running when the shift ends.
        for a in &self.agents {
            let part = (SHIFT_S - a.since).max(0.0);
            match a.state {
                AgentState::Talking => self.stats.talk_s += part,
                AgentState::Wrapping => self.stats.wrap_s += part,
                AgentState::Idle => {}
            }
        }
        self.stats
    }
}
