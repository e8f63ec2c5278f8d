//! PACE-1: the discrete-event call-center simulation every pacing change is judged on.
//!
//! Deterministic per seed, pure computation, no I/O. [`run`] simulates one scenario and policy
//! over a seed range and pools the metrics; [`format_table`] and [`to_json`] print them for
//! `callpro simulate`.

mod metrics;
mod report;
mod scenario;
mod world;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use metrics::{ScenarioReport, SeedStats};
pub use report::{format_table, to_json};
pub use scenario::{
    ABANDON_AFTER_S, AnswerRate, NO_ANSWER_TIMEOUT_S, SHIFT_S, Scenario, TALK_LIMIT,
};

use crate::pacing::PacingMode;
use crate::{Error, Result};
use scenario::CallModel;

/// An inclusive range of seeds: `1000..1019` is the 20 seeds 1000 to 1019, as in DIALER.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seeds {
    /// First seed.
    pub first: u64,
    /// Last seed, included.
    pub last: u64,
}

impl Seeds {
    /// The seeds PACE-1 results are reported on: 1000 to 1019.
    pub const REPORT: Seeds = Seeds {
        first: 1000,
        last: 1019,
    };
    /// The only seeds pacing may be tuned on: 1 to 5.
    pub const TUNING: Seeds = Seeds { first: 1, last: 5 };

    /// Every seed in the range.
    pub fn iter(self) -> impl Iterator<Item = u64> {
        self.first..=self.last
    }

    /// How many seeds the range holds.
    pub fn len(self) -> usize {
        (self.last.saturating_sub(self.first) + 1) as usize
    }

    /// Never true: a range holds at least its first seed.
    pub fn is_empty(self) -> bool {
        false
    }
}

impl FromStr for Seeds {
    type Err = Error;

    /// Accepts `A..B` and `A..=B` (both include B) or a single seed `A`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::InvalidSeeds(s.to_owned());
        let num = |x: &str| x.trim().parse::<u64>().map_err(|_| bad());
        let (first, last) = match s.split_once("..") {
            Some((a, b)) => (num(a)?, num(b.strip_prefix('=').unwrap_or(b))?),
            None => (num(s)?, num(s)?),
        };
        if first > last {
            return Err(bad());
        }
        Ok(Seeds { first, last })
    }
}

impl fmt::Display for Seeds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.first, self.last)
    }
}

/// Simulates one shift of `scenario` under `mode` with one seed.
pub fn run_seed(scenario: Scenario, mode: &PacingMode, seed: u64) -> Result<SeedStats> {
    let model = CallModel::pace1()?;
    Ok(world::run_shift(&model, scenario, mode.pacer(), seed))
}

/// Simulates `scenario` under `mode` for every seed and pools the PACE-1 metrics. For any
/// policy but progressive, progressive is also run on the same seeds to measure the gap closed.
pub fn run(scenario: Scenario, mode: &PacingMode, seeds: Seeds) -> Result<ScenarioReport> {
    let model = CallModel::pace1()?;
    let shifts = |m: &PacingMode| -> Vec<SeedStats> {
        seeds
            .iter()
            .map(|seed| world::run_shift(&model, scenario, m.pacer(), seed))
            .collect()
    };
    let stats = shifts(mode);
    let progressive = match mode {
        PacingMode::Progressive => {
            ScenarioReport::pool(scenario, "", seeds.first, &stats, None).talk_min_per_agent_hour
        }
        _ => {
            ScenarioReport::pool(
                scenario,
                "",
                seeds.first,
                &shifts(&PacingMode::Progressive),
                None,
            )
            .talk_min_per_agent_hour
        }
    };
    Ok(ScenarioReport::pool(
        scenario,
        mode.name(),
        seeds.first,
        &stats,
        Some(progressive),
    ))
}

/// [`run`] over several scenarios, in order.
pub fn run_all(
    scenarios: &[Scenario],
    mode: &PacingMode,
    seeds: Seeds,
) -> Result<Vec<ScenarioReport>> {
    scenarios.iter().map(|&s| run(s, mode, seeds)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_inclusive() {
        let s: Seeds = "1000..1019".parse().unwrap();
        assert_eq!(s.len(), 20);
        assert_eq!("1..=5".parse::<Seeds>().unwrap(), Seeds::TUNING);
        assert_eq!("7".parse::<Seeds>().unwrap().len(), 1);
        assert!("9..3".parse::<Seeds>().is_err());
        assert!("x..3".parse::<Seeds>().is_err());
    }
}
