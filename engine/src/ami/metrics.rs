//! Prometheus metrics of the AMI client, declared once and registered into the registry the
//! application serves at `/metrics`.

use std::time::Duration;

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

/// The `callpro_ami_*` metrics. Cloning shares the same series.
#[derive(Clone, Debug)]
pub struct AmiMetrics {
    connected: IntGauge,
    events: IntCounterVec,
    reconnects: IntCounter,
    dropped_events: IntCounter,
    action_duration: HistogramVec,
}

impl AmiMetrics {
    /// Creates the metrics and registers them into `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<AmiMetrics> {
        let metrics = AmiMetrics {
            connected: IntGauge::new(
                "callpro_ami_connected",
                "1 while the AMI connection is logged in, 0 otherwise",
            )?,
            events: IntCounterVec::new(
                Opts::new(
                    "callpro_ami_events_total",
                    "AMI events received, by event name",
                ),
                &["event"],
            )?,
            reconnects: IntCounter::new(
                "callpro_ami_reconnects_total",
                "AMI connections re-established after a loss",
            )?,
            dropped_events: IntCounter::new(
                "callpro_ami_dropped_events_total",
                "AMI events evicted before every subscriber read them (slow consumers)",
            )?,
            action_duration: HistogramVec::new(
                HistogramOpts::new(
                    "callpro_ami_action_duration_seconds",
                    "Time from writing an AMI action to its complete answer",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
                &["action"],
            )?,
        };
        registry.register(Box::new(metrics.connected.clone()))?;
        registry.register(Box::new(metrics.events.clone()))?;
        registry.register(Box::new(metrics.reconnects.clone()))?;
        registry.register(Box::new(metrics.dropped_events.clone()))?;
        registry.register(Box::new(metrics.action_duration.clone()))?;
        Ok(metrics)
    }

    pub(crate) fn set_connected(&self, connected: bool) {
        self.connected.set(i64::from(connected));
    }

    pub(crate) fn event(&self, name: &str) {
        self.events.with_label_values(&[name]).inc();
    }

    pub(crate) fn reconnect(&self) {
        self.reconnects.inc();
    }

    pub(crate) fn dropped(&self) {
        self.dropped_events.inc();
    }

    pub(crate) fn action(&self, name: &str, elapsed: Duration) {
        self.action_duration
            .with_label_values(&[name])
            .observe(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_the_callpro_ami_family() {
        let registry = Registry::new();
        let m = AmiMetrics::register(&registry).unwrap();
        m.set_connected(true);
        m.event("Hangup");
        m.reconnect();
        m.dropped();
        m.action("Ping", Duration::from_millis(3));
        let names: Vec<String> = registry
            .gather()
            .iter()
            .map(|f| f.name().to_owned())
            .collect();
        for n in [
            "callpro_ami_connected",
            "callpro_ami_events_total",
            "callpro_ami_reconnects_total",
            "callpro_ami_dropped_events_total",
            "callpro_ami_action_duration_seconds",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
        }
        assert!(
            AmiMetrics::register(&registry).is_err(),
            "double registration"
        );
    }
}
