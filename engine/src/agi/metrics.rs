//! Prometheus metrics of the FastAGI server, declared once and registered into the registry the
//! binary serves at `/metrics`.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge, Registry};

/// The `callpro_agi_*` metrics. Cloning shares the same underlying counters.
#[derive(Clone, Debug)]
pub struct AgiMetrics {
    /// `callpro_agi_sessions_active`: sessions currently running a handler.
    pub sessions_active: IntGauge,
    /// `callpro_agi_sessions_total`: sessions that reached a handler.
    pub sessions_total: IntCounter,
    /// `callpro_agi_sessions_refused_total`: connections closed because the cap was reached.
    pub sessions_refused_total: IntCounter,
    /// `callpro_agi_session_errors_total`: sessions that ended with an error other than a hang-up.
    pub session_errors_total: IntCounter,
    /// `callpro_agi_command_duration_seconds`: command written → reply read.
    pub command_seconds: Histogram,
    /// `callpro_agi_hangups_total`: sessions in which Asterisk reported the caller's hang-up.
    pub hangups_total: IntCounter,
}

impl AgiMetrics {
    /// Creates the metrics and registers them into `registry`.
    pub fn new(registry: &Registry) -> prometheus::Result<AgiMetrics> {
        let metrics = AgiMetrics {
            sessions_active: IntGauge::new(
                "callpro_agi_sessions_active",
                "FastAGI sessions currently running a handler",
            )?,
            sessions_total: IntCounter::new(
                "callpro_agi_sessions_total",
                "FastAGI sessions that reached a handler",
            )?,
            sessions_refused_total: IntCounter::new(
                "callpro_agi_sessions_refused_total",
                "FastAGI connections closed because max_sessions was reached",
            )?,
            session_errors_total: IntCounter::new(
                "callpro_agi_session_errors_total",
                "FastAGI sessions that ended with an error other than a hang-up",
            )?,
            // From 0.25 ms (a loopback round trip) to about a minute (a long prompt).
            command_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "callpro_agi_command_duration_seconds",
                    "Time from writing a FastAGI command to reading its reply",
                )
                .buckets(prometheus::exponential_buckets(0.00025, 2.0, 18)?),
            )?,
            hangups_total: IntCounter::new(
                "callpro_agi_hangups_total",
                "FastAGI sessions in which Asterisk reported the caller's hang-up",
            )?,
        };
        registry.register(Box::new(metrics.sessions_active.clone()))?;
        registry.register(Box::new(metrics.sessions_total.clone()))?;
        registry.register(Box::new(metrics.sessions_refused_total.clone()))?;
        registry.register(Box::new(metrics.session_errors_total.clone()))?;
        registry.register(Box::new(metrics.command_seconds.clone()))?;
        registry.register(Box::new(metrics.hangups_total.clone()))?;
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_once_per_registry() {
        let registry = Registry::new();
        let m = AgiMetrics::new(&registry).unwrap();
        m.hangups_total.inc();
        let names: Vec<String> = registry
            .gather()
            .iter()
            .map(|f| f.name().to_owned())
            .collect();
        assert!(names.contains(&"callpro_agi_hangups_total".to_owned()));
        assert_eq!(names.len(), 6);
        assert!(
            AgiMetrics::new(&registry).is_err(),
            "duplicate registration"
        );
    }
}
