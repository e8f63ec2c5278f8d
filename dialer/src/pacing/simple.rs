//! The two rule-of-thumb pacers: progressive (one line per idle agent) and power (a fixed
//! number of lines per idle agent). Neither learns anything.

use super::{Pacer, PacingEvent, PacingInput};

/// One line per idle agent, counting the calls already in flight: never abandons a call.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progressive;

impl Pacer for Progressive {
    fn observe(&mut self, _now: f64, _event: &PacingEvent) {}

    fn decide(&mut self, input: &PacingInput<'_>) -> usize {
        input.progressive_need().min(input.line_headroom())
    }
}

/// `ratio` lines per idle agent, counting the calls already in flight.
#[derive(Debug, Clone, Copy)]
pub struct Power {
    ratio: f64,
}

impl Power {
    /// A power pacer; ratios below 1 are raised to 1 (below that it would starve idle agents).
    pub fn new(ratio: f64) -> Self {
        Self {
            ratio: if ratio.is_finite() {
                ratio.max(1.0)
            } else {
                1.0
            },
        }
    }
}

impl Pacer for Power {
    fn observe(&mut self, _now: f64, _event: &PacingEvent) {}

    fn decide(&mut self, input: &PacingInput<'_>) -> usize {
        // The small epsilon keeps 2.0 × 3 idle from rounding down to 5 lines.
        let target = (self.ratio * input.idle_agents() as f64 + 1e-9).floor() as usize;
        target
            .saturating_sub(input.lines())
            .min(input.line_headroom())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pacing::{AgentState, AgentView, MAX_LINES_PER_AGENT};

    fn agents(idle: usize, busy: usize) -> Vec<AgentView> {
        let mut v = vec![
            AgentView {
                state: AgentState::Idle,
                since: 0.0
            };
            idle
        ];
        v.extend(vec![
            AgentView {
                state: AgentState::Talking,
                since: 0.0
            };
            busy
        ]);
        v
    }

    #[test]
    fn progressive_never_exceeds_idle_agents() {
        let a = agents(5, 5);
        for in_flight in 0..12 {
            for waiting in 0..3 {
                let calls = vec![0.0; in_flight];
                let input = PacingInput {
                    now: 10.0,
                    agents: &a,
                    calls_in_flight: &calls,
                    waiting,
                };
                let n = Progressive.decide(&input);
                assert!(n + in_flight + waiting <= 5 || n == 0);
                assert_eq!(n, 5usize.saturating_sub(in_flight + waiting));
            }
        }
    }

    #[test]
    fn power_dials_ratio_lines_per_idle_agent() {
        let a = agents(3, 7);
        let calls = vec![0.0; 2];
        let input = PacingInput {
            now: 0.0,
            agents: &a,
            calls_in_flight: &calls,
            waiting: 0,
        };
        assert_eq!(Power::new(2.0).decide(&input), 4);
        assert_eq!(Power::new(0.5).decide(&input), 1);
    }

    #[test]
    fn power_respects_line_cap() {
        let a = agents(10, 0);
        let calls = vec![0.0; 35];
        let input = PacingInput {
            now: 0.0,
            agents: &a,
            calls_in_flight: &calls,
            waiting: 0,
        };
        let n = Power::new(10.0).decide(&input);
        assert_eq!(n + calls.len(), 10 * MAX_LINES_PER_AGENT);
    }
}
