//! Prometheus metrics of the trunk prober, registered once into the registry `main` serves at
//! `/metrics`. Label values of a trunk are removed when the trunk leaves the set, so a renamed
//! gateway does not linger as a stale "down" series.

use crate::sip::error::Result;
use crate::sip::prober::{TrunkState, TrunkStatus};
use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// Probe results used as the `result` label of `callpro_trunk_probes_total`.
const RESULTS: [&str; 4] = ["up", "degraded", "down", "unsupported"];

/// The prober's metric families.
#[derive(Debug, Clone)]
pub struct ProberMetrics {
    up: IntGaugeVec,
    rtt: GaugeVec,
    probes: IntCounterVec,
}

impl ProberMetrics {
    /// Creates the families and registers them into `registry`.
    pub fn new(registry: &Registry) -> Result<Self> {
        let up = IntGaugeVec::new(
            Opts::new(
                "callpro_trunk_up",
                "1 if the trunk's gateway answered the last OPTIONS probe with a final response \
                 other than 503, else 0",
            ),
            &["trunk"],
        )?;
        let rtt = GaugeVec::new(
            Opts::new(
                "callpro_trunk_rtt_seconds",
                "Round-trip time of the last answered OPTIONS probe, from the first transmission",
            ),
            &["trunk"],
        )?;
        let probes = IntCounterVec::new(
            Opts::new(
                "callpro_trunk_probes_total",
                "OPTIONS probes by trunk and result",
            ),
            &["trunk", "result"],
        )?;
        registry.register(Box::new(up.clone()))?;
        registry.register(Box::new(rtt.clone()))?;
        registry.register(Box::new(probes.clone()))?;
        Ok(Self { up, rtt, probes })
    }

    /// Records one finished probe of `trunk`.
    pub(crate) fn record(&self, trunk: &str, state: &TrunkState) {
        let result = match state.status {
            TrunkStatus::Up => "up",
            TrunkStatus::Degraded => "degraded",
            TrunkStatus::Down => "down",
            TrunkStatus::Unsupported => "unsupported",
            TrunkStatus::Unknown => return,
        };
        self.probes.with_label_values(&[trunk, result]).inc();
        self.up
            .with_label_values(&[trunk])
            .set(i64::from(state.status == TrunkStatus::Up));
        match state.rtt_ms {
            Some(ms) => self.rtt.with_label_values(&[trunk]).set(ms / 1000.0),
            // A stale RTT next to up=0 would read as "reachable in 12 ms".
            None => {
                let _ = self.rtt.remove_label_values(&[trunk]);
            }
        }
    }

    /// Drops every series of a trunk that was removed from the set.
    pub(crate) fn forget(&self, trunk: &str) {
        // Errors only mean "no such series yet", which is fine.
        let _ = self.up.remove_label_values(&[trunk]);
        let _ = self.rtt.remove_label_values(&[trunk]);
        for result in RESULTS {
            let _ = self.probes.remove_label_values(&[trunk, result]);
        }
    }
}
