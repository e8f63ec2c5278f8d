//! `TrunkProber`: probes every trunk's gateway with SIP `OPTIONS` over one UDP socket at a fixed
//! interval and publishes a per-trunk state for `/health` and `/api/live/trunks`.
//!
//! **UP rule.** Any final response (200, but also 404, 405, 481…) means a SIP stack answered on
//! that address: the gateway is alive, it merely dislikes OPTIONS or the Request-URI. `503
//! Service Unavailable` is the exception — the gateway says it cannot take calls — and reads
//! as `Degraded`. No final response before the prober's own timeout (default 5 s, retransmitted
//! on T1 doubling to T2) is `Down`. TCP and TLS trunks are reported `Unsupported` for now.
//!
//! The prober is built with [`TrunkProber::bind`], run with [`TrunkProber::run`] on its own task,
//! and controlled through the cheap, cloneable [`ProberHandle`].

use crate::sip::error::Result;
use crate::sip::metrics::ProberMetrics;
use crate::sip::transaction::RetransmitSchedule;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

/// Transport of a trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// SIP over UDP, the only one probed so far.
    #[default]
    Udp,
    /// SIP over TCP (reported as unsupported).
    Tcp,
    /// SIP over TLS (reported as unsupported).
    Tls,
}

/// A SIP trunk to probe: one gateway address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trunk {
    /// Unique name, the key of the state map and the `trunk` metric label.
    pub name: String,
    /// Gateway host name or IP literal.
    pub host: String,
    /// Gateway SIP port, usually 5060.
    pub port: u16,
    /// Transport to probe with.
    #[serde(default)]
    pub transport: Transport,
}

impl Trunk {
    /// A UDP trunk.
    pub fn udp(name: impl Into<String>, host: impl Into<String>, port: u16) -> Self {
        Self {
            name: name.into(),
            host: host.into(),
            port,
            transport: Transport::Udp,
        }
    }
}

/// Health of one trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TrunkStatus {
    /// Not probed yet.
    #[default]
    Unknown,
    /// A final response other than 503 came back.
    Up,
    /// The gateway answered 503: alive but refusing service.
    Degraded,
    /// No final response before the timeout, or the probe could not be sent.
    Down,
    /// Transport not probed (TCP/TLS).
    Unsupported,
}

/// What `/api/live/trunks` shows for one trunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrunkState {
    /// Current verdict.
    pub status: TrunkStatus,
    /// RTT of the last answered probe, in milliseconds.
    pub rtt_ms: Option<f64>,
    /// Status code of the last final response.
    pub last_code: Option<u16>,
    /// When the last probe finished, in milliseconds since the Unix epoch.
    pub last_checked_unix_ms: Option<u64>,
    /// Why the last probe failed (timeout, DNS, send error), if it did.
    pub last_error: Option<String>,
}

/// Timing and addressing of the prober.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProberConfig {
    /// Local address of the probing socket.
    pub bind: SocketAddr,
    /// Time between the starts of two probe rounds.
    pub interval: Duration,
    /// Retransmission timers and overall timeout of each probe.
    pub schedule: RetransmitSchedule,
    /// Address to put in Via/Contact; by default the bound IP, or the source IP the kernel
    /// picks towards each gateway when bound to a wildcard address.
    pub advertise_ip: Option<IpAddr>,
}

impl Default for ProberConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            interval: Duration::from_secs(30),
            schedule: RetransmitSchedule::default(),
            advertise_ip: None,
        }
    }
}

/// Map of trunk name to state, as published.
pub type TrunkStates = BTreeMap<String, TrunkState>;

/// Cheap, cloneable control of a running prober: replace trunks, read states.
#[derive(Debug, Clone)]
pub struct ProberHandle {
    trunks: Arc<watch::Sender<Vec<Trunk>>>,
    states: watch::Receiver<TrunkStates>,
}

impl ProberHandle {
    /// Replaces the whole trunk set; the prober probes the new set right after its current round.
    pub fn replace_trunks(&self, trunks: Vec<Trunk>) {
        self.trunks.send_replace(trunks);
    }

    /// The current trunk set.
    pub fn trunks(&self) -> Vec<Trunk> {
        self.trunks.borrow().clone()
    }

    /// A copy of every trunk's state.
    pub fn snapshot(&self) -> TrunkStates {
        self.states.borrow().clone()
    }

    /// The state of one trunk.
    pub fn state(&self, name: &str) -> Option<TrunkState> {
        self.states.borrow().get(name).cloned()
    }

    /// A receiver that wakes on every published change (for live pushes).
    pub fn subscribe(&self) -> watch::Receiver<TrunkStates> {
        self.states.clone()
    }
}

/// The probing service; see the module docs for the rules.
#[derive(Debug)]
pub struct TrunkProber {
    pub(crate) socket: UdpSocket,
    pub(crate) config: ProberConfig,
    metrics: Option<ProberMetrics>,
    trunks: watch::Receiver<Vec<Trunk>>,
    states: watch::Sender<TrunkStates>,
}

impl TrunkProber {
    /// Binds the probing socket and returns the prober and its handle.
    pub async fn bind(
        config: ProberConfig,
        trunks: Vec<Trunk>,
        metrics: Option<ProberMetrics>,
    ) -> Result<(Self, ProberHandle)> {
        let socket = UdpSocket::bind(config.bind).await?;
        let (trunks_tx, trunks_rx) = watch::channel(trunks);
        let (states_tx, states_rx) = watch::channel(TrunkStates::new());
        let handle = ProberHandle {
            trunks: Arc::new(trunks_tx),
            states: states_rx,
        };
        let prober = Self {
            socket,
            config,
            metrics,
            trunks: trunks_rx,
            states: states_tx,
        };
        prober.sync_trunk_set();
        Ok((prober, handle))
    }

    /// The socket's local address.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }

    /// Probes at the configured interval (and right after a trunk change) until `shutdown` resolves.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut ticker = tokio::time::interval(self.config.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut handles_alive = true;
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = ticker.tick() => {}
                changed = self.trunks.changed(), if handles_alive => {
                    // Every handle dropped: nobody can change the set any more; keep probing it.
                    handles_alive = changed.is_ok();
                    if handles_alive { self.sync_trunk_set(); }
                    // Probe the new set now; the regular cadence restarts from here.
                    ticker.reset();
                }
            }
            tokio::select! {
                () = &mut shutdown => return,
                _ = self.probe_once() => {}
            }
        }
    }

    /// Probes the current trunk set once, publishes and returns the states.
    pub async fn probe_once(&mut self) -> TrunkStates {
        let trunks = self.trunks.borrow_and_update().clone();
        self.sync_trunk_set();
        let results = self.probe_round(&trunks).await;
        // The set may have changed while probing: publish only trunks that still exist.
        let current: BTreeSet<String> = self
            .trunks
            .borrow()
            .iter()
            .map(|t| t.name.clone())
            .collect();
        self.states.send_modify(|states| {
            for (name, state) in results {
                if current.contains(&name) {
                    if let Some(metrics) = &self.metrics {
                        metrics.record(&name, &state);
                    }
                    states.insert(name, state);
                }
            }
        });
        self.states.borrow().clone()
    }

    /// Drops states and metrics of removed trunks and shows new ones as `Unknown` at once.
    fn sync_trunk_set(&self) {
        let current: BTreeSet<String> = self
            .trunks
            .borrow()
            .iter()
            .map(|t| t.name.clone())
            .collect();
        self.states.send_if_modified(|states| {
            let before = states.len();
            states.retain(|name, _| {
                let keep = current.contains(name);
                if let (false, Some(metrics)) = (keep, &self.metrics) {
                    metrics.forget(name);
                }
                keep
            });
            let mut modified = states.len() != before;
            for name in &current {
                if !states.contains_key(name) {
                    states.insert(name.clone(), TrunkState::default());
                    modified = true;
                }
            }
            modified
        });
    }
}
