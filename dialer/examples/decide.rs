//! Rough timing of one predictive decision for 200 agents (the criterion bench lives in the
//! root `benches/`): `cargo run --release -p callpro-dialer --example decide`.

use std::hint::black_box;
use std::time::Instant;

use callpro_dialer::pacing::{
    AgentState, AgentView, DialOutcome, Pacer, PacingEvent, PacingInput, Predictive,
    PredictiveConfig,
};

fn main() {
    let mut pacer = Predictive::new(PredictiveConfig::default());
    // A learned state: 30 % live answers, talk and wrap-up spread like PACE-1's.
    for i in 0..5_000u32 {
        let x = f64::from(i % 97) / 97.0;
        let outcome = match i % 10 {
            0..=2 => DialOutcome::Human,
            3 | 4 => DialOutcome::Machine,
            _ => DialOutcome::NoAnswer,
        };
        let duration = if outcome == DialOutcome::Human {
            3.0 + 15.0 * x
        } else {
            25.0
        };
        pacer.observe(0.0, &PacingEvent::DialResult { outcome, duration });
        pacer.observe(
            0.0,
            &PacingEvent::TalkEnd {
                duration: 20.0 + 300.0 * x * x,
            },
        );
        pacer.observe(
            0.0,
            &PacingEvent::WrapEnd {
                duration: 8.0 + 25.0 * x,
            },
        );
    }
    let now = 1000.0;
    let agents: Vec<AgentView> = (0..200u32)
        .map(|i| {
            let state = match i % 10 {
                0 => AgentState::Idle,
                1..=2 => AgentState::Wrapping,
                _ => AgentState::Talking,
            };
            AgentView {
                state,
                since: now - f64::from(i % 150),
            }
        })
        .collect();
    let calls: Vec<f64> = (0..250u32).map(|i| now - f64::from(i % 24)).collect();
    let input = PacingInput {
        now,
        agents: &agents,
        calls_in_flight: &calls,
        waiting: 2,
    };
    // The first call rebuilds the lookup tables (every 15 s of clock); time that apart.
    let start = Instant::now();
    let first = pacer.decide(&input);
    let rebuild = start.elapsed();
    let rounds = 200_000u32;
    let start = Instant::now();
    let mut total = 0usize;
    for _ in 0..rounds {
        total += pacer.decide(black_box(&input));
    }
    let per = start.elapsed() / rounds;
    println!("decision with table rebuild: {rebuild:?} (dials {first})");
    println!(
        "decision, 200 agents, 250 calls in flight: {per:?} (dials {})",
        total / rounds as usize
    );
}
