//! The model-based predictive pacer.
//!
//! At a short horizon `h` it predicts how many agents will be free (idle ones plus busy ones
//! likely to finish talk and wrap-up by `h + grace`, given how long they have been at it) and
//! how many live answers the calls in flight will bring by `h` (given each call's age). The
//! difference, less a safety pool, divided by the chance that a new dial brings a live answer by
//! `h`, is the number of calls to place. The pool is `beta` standard deviations of that
//! surplus (each agent and call counted as an independent Bernoulli, the new dials included):
//! the square-root safety staffing of many-server queues, so one `beta` fits 10 and 200 agents
//! and any answer rate. A slow integral controller moves `beta` to hold the abandonment rate at
//! its target. Every distribution is learned online from the event feed; nothing is tuned per
//! campaign. Progressive dialing is a floor: predictive never leaves an idle agent without a
//! call on its way.

use serde::{Deserialize, Serialize};

use super::learn::{Histogram, Table};
use super::{AgentState, DialOutcome, Pacer, PacingEvent, PacingInput};

/// Settings of the predictive pacer (one configuration for every campaign).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PredictiveConfig {
    /// Abandonment rate to hold, as a fraction of live-answered calls.
    pub target_abandon: f64,
    /// Prediction horizon in seconds.
    pub horizon_s: f64,
    /// Extra seconds an agent may take to free up: a live answer may wait this long (the legal
    /// limit is 2 s).
    pub grace_s: f64,
    /// Initial safety-pool coefficient.
    pub beta_initial: f64,
    /// Lower bound of the safety-pool coefficient (limits the credit an early lull can build).
    pub beta_min: f64,
    /// Upper bound of the safety-pool coefficient.
    pub beta_max: f64,
    /// Controller gain: how far one abandon moves `beta` for one agent (scaled by 1/sqrt N,
    /// since abandons come N times as often with N agents).
    pub gain: f64,
    /// Time constant of the forgetting of learned distributions, in seconds.
    pub memory_s: f64,
    /// Seconds between rebuilds of the lookup tables.
    pub rebuild_s: f64,
    /// Observations needed (of dial results, and of talk and wrap ends) before predicting;
    /// until then the pacer dials progressively.
    pub warmup_samples: f64,
}

impl Default for PredictiveConfig {
    fn default() -> Self {
        Self {
            target_abandon: 0.025,
            horizon_s: 8.0,
            grace_s: 1.0,
            beta_initial: 1.0,
            beta_min: -3.0,
            beta_max: 6.0,
            gain: 2.0,
            memory_s: 3600.0,
            rebuild_s: 15.0,
            warmup_samples: 30.0,
        }
    }
}

/// The model-based predictive pacer; see the module documentation.
#[derive(Debug, Clone)]
pub struct Predictive {
    cfg: PredictiveConfig,
    human_ring: Histogram,
    other_ring: Histogram,
    talk: Histogram,
    wrap: Histogram,
    /// P(a talking agent is free by h + grace | talk elapsed).
    free_talking: Table,
    /// P(a wrapping agent is free by h + grace | wrap elapsed).
    free_wrapping: Table,
    /// P(a call in flight becomes a live answer by h | age).
    human_by_h: Table,
    /// P(a new dial becomes a live answer by h).
    new_dial_yield: f64,
    beta: f64,
    agents_seen: usize,
    ready: bool,
    last_rebuild: f64,
}

impl Predictive {
    /// A pacer that has learned nothing yet.
    pub fn new(cfg: PredictiveConfig) -> Self {
        Self {
            beta: cfg.beta_initial,
            cfg,
            human_ring: Histogram::new(0.5, 40.0),
            other_ring: Histogram::new(0.5, 40.0),
            talk: Histogram::new(2.0, 3600.0),
            wrap: Histogram::new(1.0, 600.0),
            free_talking: Table::new(2.0, 3600.0),
            free_wrapping: Table::new(1.0, 600.0),
            human_by_h: Table::new(0.5, 40.0),
            new_dial_yield: 0.0,
            agents_seen: 1,
            ready: false,
            last_rebuild: f64::NEG_INFINITY,
        }
    }

    /// Changes the abandonment target (a fraction, e.g. 0.025) without forgetting what was
    /// learned: a campaign's target moves with its boost.
    pub fn set_target_abandon(&mut self, target: f64) {
        if target.is_finite() && target > 0.0 {
            self.cfg.target_abandon = target;
        }
    }

    /// The current safety-pool coefficient (rises with abandons, falls with live answers).
    pub fn beta(&self) -> f64 {
        self.beta
    }

    fn enough_data(&self) -> bool {
        let w = self.cfg.warmup_samples;
        self.human_ring.weight() >= 1.0
            && self.human_ring.weight() + self.other_ring.weight() >= w
            && self.talk.weight() >= w
            && self.wrap.weight() >= w
    }

    fn nudge_beta(&mut self, delta: f64) {
        // Progressive dialing during warm-up never abandons: its answers earn no credit.
        if !self.ready {
            return;
        }
        let step = self.cfg.gain / (self.agents_seen.max(1) as f64).sqrt();
        self.beta = (self.beta + delta * step).clamp(self.cfg.beta_min, self.cfg.beta_max);
    }

    /// The largest n with `mean − n·q ≥ beta · sd`, where sd counts the variance of the n new
    /// dials too: with x = sd this is a quadratic, solved in closed form.
    fn dials_for(&self, mean: f64, var: f64) -> usize {
        let q = self.new_dial_yield;
        if q <= 1e-6 || q >= 1.0 {
            return 0;
        }
        let beta = self.beta;
        let b = beta * (1.0 - q);
        let c = mean * (1.0 - q) + var;
        if c <= 0.0 {
            return 0;
        }
        let x = (-b + (b * b + 4.0 * c).sqrt()) / 2.0;
        let n = (mean - beta * x) / q;
        // Bounded by the line cap afterwards, so the float-to-int cast cannot overflow.
        if n > 0.0 {
            n.floor().min(1e6) as usize
        } else {
            0
        }
    }

    fn rebuild(&mut self, now: f64) {
        if self.last_rebuild.is_finite() {
            let factor = (-(now - self.last_rebuild) / self.cfg.memory_s.max(1.0)).exp();
            for h in [
                &mut self.human_ring,
                &mut self.other_ring,
                &mut self.talk,
                &mut self.wrap,
            ] {
                h.decay(factor);
            }
        }
        self.last_rebuild = now;
        for h in [
            &mut self.human_ring,
            &mut self.other_ring,
            &mut self.talk,
            &mut self.wrap,
        ] {
            h.refresh();
        }
        let h = self.cfg.horizon_s;
        let free_by = h + self.cfg.grace_s;

        let (human, talk, wrap) = (&self.human_ring, &self.talk, &self.wrap);
        let (hw, ow) = (human.weight(), self.other_ring.weight());
        let p_human = hw / (hw + ow).max(f64::MIN_POSITIVE);
        let other = &self.other_ring;
        self.human_by_h.fill(|age| {
            let alive_h = p_human * (1.0 - human.cdf(age));
            let alive = alive_h + (1.0 - p_human) * (1.0 - other.cdf(age));
            if alive <= 1e-9 {
                return 0.0;
            }
            p_human * (human.cdf(age + h) - human.cdf(age)) / alive
        });
        self.new_dial_yield = p_human * human.cdf(h);

        self.free_wrapping.fill(|e| {
            let alive = 1.0 - wrap.cdf(e);
            if alive <= 1e-9 {
                0.0
            } else {
                (wrap.cdf(e + free_by) - wrap.cdf(e)) / alive
            }
        });
        // Free by the horizon = talk ends at t and the wrap-up fits in the rest: a convolution
        // over the wrap-up bins shorter than the horizon.
        self.free_talking.fill(|e| {
            let alive = 1.0 - talk.cdf(e);
            if alive <= 1e-9 {
                return 0.0;
            }
            let base = talk.cdf(e);
            let mut p = 0.0;
            for (w, mass) in wrap.bins() {
                if w >= free_by {
                    break;
                }
                p += mass * (talk.cdf(e + free_by - w) - base).max(0.0);
            }
            p / alive
        });
    }
}

impl Pacer for Predictive {
    fn observe(&mut self, _now: f64, event: &PacingEvent) {
        let target = self.cfg.target_abandon;
        match *event {
            PacingEvent::DialResult {
                outcome: DialOutcome::Human,
                duration,
            } => {
                self.human_ring.add(duration);
                // Each live answer earns `target` of abandon budget; each abandon spends one.
                self.nudge_beta(-target);
            }
            PacingEvent::DialResult { duration, .. } => self.other_ring.add(duration),
            PacingEvent::Abandon => self.nudge_beta(1.0),
            PacingEvent::TalkEnd { duration } => self.talk.add(duration),
            PacingEvent::WrapEnd { duration } => self.wrap.add(duration),
            PacingEvent::Connect { .. } => {}
        }
    }

    fn decide(&mut self, input: &PacingInput<'_>) -> usize {
        self.agents_seen = input.agents.len();
        let floor = input.progressive_need();
        if !self.ready {
            if !self.enough_data() {
                return floor.min(input.line_headroom());
            }
            self.ready = true;
        }
        if input.now - self.last_rebuild >= self.cfg.rebuild_s {
            self.rebuild(input.now);
        }

        let now = input.now;
        // Surplus of free agents over live answers at the horizon: its mean and, treating each
        // agent and call as an independent Bernoulli, its variance.
        let mut mean = -(input.waiting as f64);
        let mut var = 0.0;
        for a in input.agents {
            let p = match a.state {
                AgentState::Idle => 1.0,
                AgentState::Talking => self.free_talking.get(a.elapsed(now)),
                AgentState::Wrapping => self.free_wrapping.get(a.elapsed(now)),
            };
            mean += p;
            var += p * (1.0 - p);
        }
        for &dialed in input.calls_in_flight {
            let q = self.human_by_h.get(now - dialed);
            mean -= q;
            var += q * (1.0 - q);
        }
        let predicted = self.dials_for(mean, var);
        predicted.max(floor).min(input.line_headroom())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pacing::{AgentView, MAX_LINES_PER_AGENT};
    use PacingEvent::DialResult;

    /// A pacer fed a plausible hour: 30 % live answers ringing ~9 s, talk ~120 s, wrap ~20 s.
    fn warmed_up() -> Predictive {
        let mut p = Predictive::new(PredictiveConfig::default());
        for i in 0..400 {
            let jitter = f64::from(i % 7);
            let event = match i % 10 {
                0..=2 => DialResult {
                    outcome: DialOutcome::Human,
                    duration: 6.0 + jitter,
                },
                3 | 4 => DialResult {
                    outcome: DialOutcome::Machine,
                    duration: 18.0 + jitter,
                },
                _ => DialResult {
                    outcome: DialOutcome::NoAnswer,
                    duration: 25.0,
                },
            };
            p.observe(0.0, &event);
            p.observe(
                0.0,
                &PacingEvent::TalkEnd {
                    duration: 60.0 + 20.0 * jitter,
                },
            );
            p.observe(
                0.0,
                &PacingEvent::WrapEnd {
                    duration: 14.0 + 2.0 * jitter,
                },
            );
        }
        p
    }

    fn floor_of_agents() -> Vec<AgentView> {
        let mut agents = vec![
            AgentView {
                state: AgentState::Idle,
                since: 90.0
            };
            5
        ];
        agents.extend(vec![
            AgentView {
                state: AgentState::Wrapping,
                since: 85.0
            };
            20
        ]);
        agents.extend(vec![
            AgentView {
                state: AgentState::Talking,
                since: 40.0
            };
            25
        ]);
        agents
    }

    /// 40 calls in flight, dialed 0 to 19 s ago.
    fn calls() -> Vec<f64> {
        (0..40).map(|i| 100.0 - f64::from(i % 20)).collect()
    }

    #[test]
    fn dials_progressively_until_it_has_learned() {
        let mut p = Predictive::new(PredictiveConfig::default());
        let agents = floor_of_agents();
        let input = PacingInput {
            now: 100.0,
            agents: &agents,
            calls_in_flight: &[],
            waiting: 0,
        };
        assert_eq!(p.decide(&input), 5);
    }

    #[test]
    fn dials_ahead_of_agents_about_to_free_up() {
        let mut p = warmed_up();
        let agents = floor_of_agents();
        let input = PacingInput {
            now: 100.0,
            agents: &agents,
            calls_in_flight: &[],
            waiting: 0,
        };
        assert!(p.decide(&input) > 5);
    }

    #[test]
    fn backs_off_when_abandonment_runs_above_target() {
        let mut p = warmed_up();
        let calls = calls();
        let agents = floor_of_agents();
        let input = PacingInput {
            now: 100.0,
            agents: &agents,
            calls_in_flight: &calls,
            waiting: 0,
        };
        let before = p.decide(&input);
        let beta = p.beta();
        // 10 abandons in 40 live answers: 25 %, ten times the target.
        for i in 0..40 {
            let human = DialResult {
                outcome: DialOutcome::Human,
                duration: 9.0,
            };
            p.observe(100.0, &human);
            if i % 4 == 0 {
                p.observe(100.0, &PacingEvent::Abandon);
            }
        }
        assert!(p.beta() > beta);
        let after = p.decide(&input);
        assert!(after < before, "{after} >= {before}");
        // Never below progressive, though.
        assert!(after >= 5);
    }

    #[test]
    fn dials_more_while_abandonment_stays_below_target() {
        let mut p = warmed_up();
        let calls = calls();
        let agents = floor_of_agents();
        let input = PacingInput {
            now: 100.0,
            agents: &agents,
            calls_in_flight: &calls,
            waiting: 0,
        };
        let before = p.decide(&input);
        for _ in 0..2000 {
            p.observe(
                100.0,
                &DialResult {
                    outcome: DialOutcome::Human,
                    duration: 9.0,
                },
            );
        }
        assert!(p.decide(&input) > before);
    }

    #[test]
    fn never_exceeds_four_lines_per_agent() {
        let mut p = warmed_up();
        // Push the pool as low as it goes so that the model alone would dial a lot.
        for _ in 0..100_000 {
            p.observe(
                0.0,
                &DialResult {
                    outcome: DialOutcome::Human,
                    duration: 9.0,
                },
            );
        }
        let agents = vec![
            AgentView {
                state: AgentState::Idle,
                since: 0.0
            };
            10
        ];
        for in_flight in [0usize, 20, 39, 40, 45] {
            let calls: Vec<f64> = (0..in_flight).map(|i| 100.0 - (i % 20) as f64).collect();
            let input = PacingInput {
                now: 100.0,
                agents: &agents,
                calls_in_flight: &calls,
                waiting: 0,
            };
            let n = p.decide(&input);
            assert!(
                n + in_flight <= 10 * MAX_LINES_PER_AGENT || n == 0,
                "{n} + {in_flight}"
            );
        }
    }

    #[test]
    fn new_dials_count_against_the_surplus() {
        let p = warmed_up();
        let mut q = p.clone();
        q.rebuild(0.0);
        // More expected surplus, more dials; no surplus, none.
        assert!(q.dials_for(10.0, 4.0) > q.dials_for(5.0, 4.0));
        assert_eq!(q.dials_for(-1.0, 0.5), 0);
    }
}
