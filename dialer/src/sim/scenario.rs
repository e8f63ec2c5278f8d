//! The PACE-1 scenarios and the call model's fixed parameters (DIALER.md, "PACE-1").

use rand::Rng;
use rand_distr::{Distribution, LogNormal};
use serde::{Deserialize, Serialize};

use crate::pacing::DialOutcome;
use crate::{Error, Result};

/// Length of the agents' shift, in seconds (8 h).
pub const SHIFT_S: f64 = 8.0 * 3600.0;
/// An unanswered call is given up after this many seconds.
pub const NO_ANSWER_TIMEOUT_S: f64 = 25.0;
/// A live answer not connected to an agent within this many seconds is abandoned.
pub const ABANDON_AFTER_S: f64 = 2.0;
/// Talk-minutes per agent-hour of a clairvoyant dialer (120 s talk, 20 s wrap, no idle).
pub const TALK_LIMIT: f64 = 60.0 * 120.0 / 140.0;

/// The answer-rate profile of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerRate {
    /// 15 % human answers.
    R15,
    /// 30 % human answers.
    R30,
    /// 60 % human answers.
    R60,
    /// Human answers falling linearly from 30 % to 18 % over the shift.
    R30Drift,
}

impl AnswerRate {
    /// The scenario suffix (`r30`, `r30-drift`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::R15 => "r15",
            Self::R30 => "r30",
            Self::R60 => "r60",
            Self::R30Drift => "r30-drift",
        }
    }

    /// P(human), P(machine), P(busy) for a call dialed at `t` seconds into the shift; the rest
    /// is no answer.
    pub fn probabilities(self, t: f64) -> (f64, f64, f64) {
        match self {
            Self::R15 => (0.15, 0.20, 0.10),
            Self::R30 => (0.30, 0.20, 0.05),
            Self::R60 => (0.60, 0.15, 0.05),
            Self::R30Drift => {
                let frac = (t / SHIFT_S).clamp(0.0, 1.0);
                (0.30 - 0.12 * frac, 0.20, 0.05)
            }
        }
    }
}

/// One PACE-1 scenario: a number of agents and an answer-rate profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// Agents logged in for the whole shift.
    pub agents: usize,
    /// Answer-rate profile.
    pub rate: AnswerRate,
}

impl Scenario {
    /// The 12 PACE-1 scenarios: N ∈ {10, 50, 200} × {r15, r30, r60, r30-drift}.
    pub fn all() -> Vec<Scenario> {
        let rates = [
            AnswerRate::R15,
            AnswerRate::R30,
            AnswerRate::R60,
            AnswerRate::R30Drift,
        ];
        [10, 50, 200]
            .into_iter()
            .flat_map(|agents| rates.into_iter().map(move |rate| Scenario { agents, rate }))
            .collect()
    }

    /// The scenario's name, e.g. `n50-r30` or `n200-r30-drift`.
    pub fn name(&self) -> String {
        format!("n{}-{}", self.agents, self.rate.name())
    }

    /// Parses a name as printed by [`Scenario::name`]; `all` gives all 12.
    pub fn parse(name: &str) -> Result<Vec<Scenario>> {
        let lower = name.trim().to_ascii_lowercase();
        if lower == "all" {
            return Ok(Self::all());
        }
        Self::all()
            .into_iter()
            .find(|s| s.name() == lower)
            .map(|s| vec![s])
            .ok_or_else(|| Error::UnknownScenario(name.to_owned()))
    }
}

/// A lognormal duration given by its mean and coefficient of variation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Duration(LogNormal<f64>);

impl Duration {
    fn new(name: &'static str, mean: f64, cv: f64) -> Result<Self> {
        let sigma2 = (1.0 + cv * cv).ln();
        let mu = mean.ln() - sigma2 / 2.0;
        LogNormal::new(mu, sigma2.sqrt())
            .map(Self)
            .map_err(|_| Error::InvalidDistribution { name, mean, cv })
    }

    pub(crate) fn sample<R: Rng>(&self, rng: &mut R) -> f64 {
        self.0.sample(rng)
    }
}

/// The fixed duration distributions of PACE-1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallModel {
    human_ring: Duration,
    machine_answer: Duration,
    amd: Duration,
    busy: Duration,
    pub(crate) talk: Duration,
    pub(crate) wrap: Duration,
}

impl CallModel {
    pub(crate) fn pace1() -> Result<Self> {
        Ok(Self {
            human_ring: Duration::new("human ring", 9.0, 0.5)?,
            machine_answer: Duration::new("machine answer", 18.0, 0.25)?,
            amd: Duration::new("amd", 3.5, 0.3)?,
            busy: Duration::new("busy", 4.0, 0.3)?,
            talk: Duration::new("talk", 120.0, 1.0)?,
            wrap: Duration::new("wrap-up", 20.0, 0.5)?,
        })
    }

    /// Draws the hidden fate of an attempt dialed at `t`: its outcome and how long until it
    /// resolves (for a human: until the answer).
    pub(crate) fn attempt<R: Rng>(
        &self,
        rate: AnswerRate,
        t: f64,
        rng: &mut R,
    ) -> (DialOutcome, f64) {
        let (human, machine, busy) = rate.probabilities(t);
        let u: f64 = rng.random();
        if u < human {
            let ring = self.human_ring.sample(rng).min(NO_ANSWER_TIMEOUT_S - 0.5);
            (DialOutcome::Human, ring)
        } else if u < human + machine {
            let line = self.machine_answer.sample(rng) + self.amd.sample(rng);
            (DialOutcome::Machine, line)
        } else if u < human + machine + busy {
            (DialOutcome::Busy, self.busy.sample(rng))
        } else {
            (DialOutcome::NoAnswer, NO_ANSWER_TIMEOUT_S)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn names_round_trip() {
        for s in Scenario::all() {
            assert_eq!(Scenario::parse(&s.name()).unwrap(), vec![s]);
        }
        assert_eq!(Scenario::parse("all").unwrap().len(), 12);
        assert!(Scenario::parse("n7-r99").is_err());
    }

    #[test]
    fn lognormal_has_requested_mean() {
        let d = Duration::new("talk", 120.0, 1.0).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 200_000;
        let mean = (0..n).map(|_| d.sample(&mut rng)).sum::<f64>() / n as f64;
        assert!((mean - 120.0).abs() < 2.0, "mean {mean}");
    }

    #[test]
    fn drift_falls_to_18_percent() {
        assert_eq!(AnswerRate::R30Drift.probabilities(0.0).0, 0.30);
        assert!((AnswerRate::R30Drift.probabilities(SHIFT_S).0 - 0.18).abs() < 1e-12);
    }
}
