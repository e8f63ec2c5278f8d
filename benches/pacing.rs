//! `cargo bench --bench pacing`: time of one predictive pacing decision for 200 agents with 250
//! calls in flight (target < 100 µs), on a pacer that has learned PACE-1-like distributions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use callpro_dialer::pacing::{
    AgentState, AgentView, DialOutcome, Pacer, PacingEvent, PacingInput, Predictive,
    PredictiveConfig,
};
use criterion::Criterion;

/// A pacer fed 5,000 results: 30 % live answers, talk and wrap-up spread like PACE-1's.
fn trained() -> Predictive {
    let mut pacer = Predictive::new(PredictiveConfig::default());
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
    pacer
}

fn floor(now: f64) -> (Vec<AgentView>, Vec<f64>) {
    let agents = (0..200u32)
        .map(|i| AgentView {
            state: match i % 10 {
                0 => AgentState::Idle,
                1..=2 => AgentState::Wrapping,
                _ => AgentState::Talking,
            },
            since: now - f64::from(i % 150),
        })
        .collect();
    let calls = (0..250u32).map(|i| now - f64::from(i % 24)).collect();
    (agents, calls)
}

fn main() {
    let now = 1000.0;
    let (agents, calls) = floor(now);
    let input = PacingInput {
        now,
        agents: &agents,
        calls_in_flight: &calls,
        waiting: 2,
    };
    let mut pacer = trained();

    // The first decision after 15 s of clock rebuilds the lookup tables; report it apart.
    let started = Instant::now();
    pacer.decide(&input);
    let rebuild = started.elapsed();
    let rounds = 100_000u32;
    let started = Instant::now();
    for _ in 0..rounds {
        black_box(pacer.decide(black_box(&input)));
    }
    let per = started.elapsed() / rounds;
    println!(
        "pacing/predictive_decision (200 agents, 250 calls in flight): {:.2} µs per decision \
         (target < 100 µs); with table rebuild (once per 15 s): {:.1} µs",
        per.as_secs_f64() * 1e6,
        rebuild.as_secs_f64() * 1e6
    );

    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(3));
    c.bench_function("pacing/predictive_decision_n200", |b| {
        b.iter(|| pacer.decide(black_box(&input)))
    });
    c.final_summary();
}
