//! Prometheus metrics of the IVR, declared once and registered into the registry the binary
//! serves at `/metrics`.

use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts, Registry};

/// The `callpro_ivr_*` metrics. Cloning shares the same underlying counters.
#[derive(Clone, Debug)]
pub struct IvrMetrics {
    /// `callpro_ivr_sessions_total{outcome}`: finished sessions by outcome.
    pub sessions_total: IntCounterVec,
    /// `callpro_ivr_step_seconds`: callpro's own share of a step, from reading Asterisk's reply
    /// to sending the next command (the executor, HTTP lookups, flow loads, the event bus).
    pub step_seconds: Histogram,
}

impl IvrMetrics {
    /// Creates the metrics and registers them into `registry`.
    pub fn new(registry: &Registry) -> prometheus::Result<IvrMetrics> {
        let metrics = IvrMetrics {
            sessions_total: IntCounterVec::new(
                Opts::new(
                    "callpro_ivr_sessions_total",
                    "Finished IVR sessions by outcome",
                ),
                &["outcome"],
            )?,
            // From 10 µs to about 20 s (a slow HTTP lookup is capped at 10 s).
            step_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "callpro_ivr_step_seconds",
                    "Time from reading Asterisk's reply to sending the next IVR command",
                )
                .buckets(prometheus::exponential_buckets(0.00001, 2.0, 22)?),
            )?,
        };
        registry.register(Box::new(metrics.sessions_total.clone()))?;
        registry.register(Box::new(metrics.step_seconds.clone()))?;
        Ok(metrics)
    }
}
