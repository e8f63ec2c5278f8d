//! What one simulated shift measured, and the PACE-1 metrics pooled over seeds.

use serde::{Deserialize, Serialize};

use super::scenario::{SHIFT_S, Scenario, TALK_LIMIT};

/// Minutes in the shift, for the rolling 1 h abandonment window.
const SHIFT_MIN: usize = (SHIFT_S as usize) / 60;

/// Raw counts of one simulated shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedStats {
    /// Agents logged in.
    pub agents: usize,
    /// Agent-seconds spent talking within the shift.
    pub talk_s: f64,
    /// Agent-seconds spent in wrap-up within the shift.
    pub wrap_s: f64,
    /// Attempts placed.
    pub dials: u64,
    /// Live answers connected to an agent.
    pub connects: u64,
    /// Live answers.
    pub answered: u64,
    /// Live answers dropped because no agent was free within 2 s.
    pub abandons: u64,
    /// Most lines (calls in flight plus waiting answers) in use at once.
    pub peak_lines: usize,
    answered_by_minute: Vec<u32>,
    abandoned_by_minute: Vec<u32>,
}

impl SeedStats {
    pub(crate) fn new(agents: usize) -> Self {
        Self {
            agents,
            talk_s: 0.0,
            wrap_s: 0.0,
            dials: 0,
            connects: 0,
            answered: 0,
            abandons: 0,
            peak_lines: 0,
            answered_by_minute: vec![0; SHIFT_MIN],
            abandoned_by_minute: vec![0; SHIFT_MIN],
        }
    }

    fn minute(t: f64) -> usize {
        ((t / 60.0) as usize).min(SHIFT_MIN - 1)
    }

    pub(crate) fn answer(&mut self, t: f64) {
        self.answered += 1;
        self.answered_by_minute[Self::minute(t)] += 1;
    }

    /// Counted in the minute of the answer, so that a window's rate has matching terms.
    pub(crate) fn abandon(&mut self, answered_at: f64) {
        self.abandons += 1;
        self.abandoned_by_minute[Self::minute(answered_at)] += 1;
    }

    /// Abandoned share of live answers over the shift, in percent.
    pub fn abandon_pct(&self) -> f64 {
        pct(self.abandons, self.answered)
    }

    /// The highest abandonment percentage over any 60-minute window (minute steps).
    pub fn max_hour_abandon_pct(&self) -> f64 {
        let w = 60.min(SHIFT_MIN);
        let (mut ans, mut ab) = (0u64, 0u64);
        let mut worst: f64 = 0.0;
        for i in 0..SHIFT_MIN {
            ans += u64::from(self.answered_by_minute[i]);
            ab += u64::from(self.abandoned_by_minute[i]);
            if i >= w {
                ans -= u64::from(self.answered_by_minute[i - w]);
                ab -= u64::from(self.abandoned_by_minute[i - w]);
            }
            if i + 1 >= w {
                worst = worst.max(pct(ab, ans));
            }
        }
        worst
    }

    /// Talk-minutes per agent-hour.
    pub fn talk_min_per_agent_hour(&self) -> f64 {
        self.talk_s / 60.0 / self.agent_hours()
    }

    fn agent_hours(&self) -> f64 {
        (self.agents as f64 * SHIFT_S / 3600.0).max(f64::MIN_POSITIVE)
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// The PACE-1 metrics of one scenario and policy, pooled over a range of seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    /// Scenario name, e.g. `n50-r30`.
    pub scenario: String,
    /// Agents logged in.
    pub agents: usize,
    /// Pacing policy name.
    pub policy: String,
    /// First seed simulated.
    pub first_seed: u64,
    /// Number of seeds simulated.
    pub seeds: usize,
    /// Talk-minutes per agent-hour.
    pub talk_min_per_agent_hour: f64,
    /// (talk + wrap-up) / logged-in time.
    pub occupancy: f64,
    /// Abandoned % of live answers, mean over seeds.
    pub abandon_pct_mean: f64,
    /// Abandoned % of live answers, 95th percentile over seeds.
    pub abandon_pct_p95: f64,
    /// Highest abandoned % in any 1 h window of any seed.
    pub abandon_pct_max_1h: f64,
    /// Attempts per agent-hour.
    pub dials_per_agent_hour: f64,
    /// Connected live answers per agent-hour.
    pub connects_per_agent_hour: f64,
    /// Idle agent-seconds per connected call.
    pub idle_s_per_connect: f64,
    /// Most lines in use per agent at any moment of any seed.
    pub peak_lines_per_agent: f64,
    /// Progressive talk-minutes per agent-hour on the same seeds, when measured.
    pub progressive_talk_min: Option<f64>,
    /// Share of the gap between progressive and the 51.4 talk-min/h limit closed.
    pub gap_closed: Option<f64>,
    /// Whether the result counts: abandonment p95 ≤ 3.0 %.
    pub legal: bool,
}

impl ScenarioReport {
    /// Pools per-seed counts; `progressive` is the progressive talk-min/h for G, if known.
    pub fn pool(
        scenario: Scenario,
        policy: &str,
        first_seed: u64,
        stats: &[SeedStats],
        progressive: Option<f64>,
    ) -> Self {
        let agent_hours: f64 = stats.iter().map(SeedStats::agent_hours).sum();
        let talk: f64 = stats.iter().map(|s| s.talk_s).sum();
        let wrap: f64 = stats.iter().map(|s| s.wrap_s).sum();
        let dials: u64 = stats.iter().map(|s| s.dials).sum();
        let connects: u64 = stats.iter().map(|s| s.connects).sum();
        let logged_s = agent_hours * 3600.0;
        let idle_s = (logged_s - talk - wrap).max(0.0);
        let mut rates: Vec<f64> = stats.iter().map(SeedStats::abandon_pct).collect();
        rates.sort_by(f64::total_cmp);
        let talk_min = talk / 60.0 / agent_hours.max(f64::MIN_POSITIVE);
        let p95 = percentile(&rates, 0.95);
        let gap_closed = progressive.map(|p| (talk_min - p) / (TALK_LIMIT - p));
        Self {
            scenario: scenario.name(),
            agents: scenario.agents,
            policy: policy.to_owned(),
            first_seed,
            seeds: stats.len(),
            talk_min_per_agent_hour: talk_min,
            occupancy: (talk + wrap) / logged_s.max(f64::MIN_POSITIVE),
            abandon_pct_mean: rates.iter().sum::<f64>() / rates.len().max(1) as f64,
            abandon_pct_p95: p95,
            abandon_pct_max_1h: stats
                .iter()
                .map(SeedStats::max_hour_abandon_pct)
                .fold(0.0, f64::max),
            dials_per_agent_hour: dials as f64 / agent_hours.max(f64::MIN_POSITIVE),
            connects_per_agent_hour: connects as f64 / agent_hours.max(f64::MIN_POSITIVE),
            idle_s_per_connect: if connects == 0 {
                0.0
            } else {
                idle_s / connects as f64
            },
            peak_lines_per_agent: stats
                .iter()
                .map(|s| s.peak_lines as f64 / s.agents.max(1) as f64)
                .fold(0.0, f64::max),
            progressive_talk_min: progressive,
            gap_closed,
            legal: p95 <= 3.0,
        }
    }
}

/// Nearest-rank percentile of sorted values (the 95th of 20 seeds is the 19th).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.95), 19.0);
        assert_eq!(percentile(&[3.0], 0.95), 3.0);
    }

    #[test]
    fn hour_window_finds_the_burst() {
        let mut s = SeedStats::new(10);
        for m in 0..SHIFT_MIN {
            s.answer(m as f64 * 60.0);
        }
        for m in 100..110 {
            s.abandon(m as f64 * 60.0);
        }
        assert!((s.max_hour_abandon_pct() - 100.0 * 10.0 / 60.0).abs() < 1e-9);
        assert!((s.abandon_pct() - 100.0 * 10.0 / 480.0).abs() < 1e-9);
    }
}
