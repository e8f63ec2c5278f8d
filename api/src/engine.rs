//! The telephony side of `callpro serve`: the AMI client feeding the live state, the SIP trunk
//! prober fed from the `sip_trunks` table, the FastAGI server running the IVR (`/ivr`), and the
//! tenant maps that let the live state tell which call center a call belongs to. Handlers reach
//! all of it through [`Engine`].

use std::sync::Arc;
use std::time::Duration;

use callpro_engine::agi::{AgiConfig, AgiMetrics, AgiServer, AgiStatus, Router};
use callpro_engine::ami::{AmiClient, AmiConfig, AmiMetrics, AmiTelephony, ConnectionState};
use callpro_engine::bus::EventBus;
use callpro_engine::sip::{ProberConfig, ProberHandle, ProberMetrics, TrunkProber, TrunkStatus};
use callpro_engine::state::{
    LiveStateConfig, LiveStateHandle, ResyncLists, TenantResolver, TrunkProbe,
};
use callpro_engine::telephony::Telephony;
use callpro_ivr::{IvrMetrics, IvrService};
use serde_json::json;
use tokio::sync::watch;

use crate::config::Config;
use crate::db::Db;
use crate::error::ApiError;
use crate::handlers::health::{ComponentHealth, Status};
use crate::ivr::{DbFlowSource, DbSessionSink};
use crate::models::trunk::Trunk;
use crate::models::user::User;

/// How often tenant maps and the trunk list are re-read from the database.
const REFRESH_EVERY: Duration = Duration::from_secs(30);

/// Cheap-to-clone handle to the running telephony engine.
#[derive(Clone)]
pub struct Engine {
    /// Live calls, agents, queues and trunks.
    pub live: LiveStateHandle,
    /// What callpro asks of Asterisk; `None` when no AMI connection is configured.
    pub telephony: Option<Arc<dyn Telephony>>,
    /// The AMI client, when configured.
    pub ami: Option<AmiClient>,
    /// The SIP OPTIONS prober, when enabled.
    pub prober: Option<ProberHandle>,
    /// The FastAGI server's state, when enabled.
    pub agi: Option<AgiStatus>,
    shutdown: Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("ami", &self.ami.is_some())
            .field("telephony", &self.telephony.is_some())
            .field("prober", &self.prober.is_some())
            .field("agi", &self.agi.is_some())
            .finish_non_exhaustive()
    }
}

/// Engine start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// `ami.url` is not a valid `ami://user:secret@host:port` URL.
    #[error("configuration key `ami.url`: {0}")]
    AmiUrl(String),
    /// A metric could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The prober socket could not be bound.
    #[error("SIP prober: {0}")]
    Prober(String),
    /// The FastAGI listener could not be bound.
    #[error("configuration key `agi.bind`: {0}")]
    Agi(String),
    /// The IVR service could not be built.
    #[error("IVR: {0}")]
    Ivr(#[from] callpro_ivr::driver::IvrError),
}

impl Engine {
    /// An engine with nothing connected (no AMI, no prober): live state only.
    pub fn offline() -> Self {
        let (tx, _) = watch::channel(false);
        Self {
            live: LiveStateHandle::new(LiveStateConfig::default(), EventBus::new(4096)),
            telephony: None,
            ami: None,
            prober: None,
            agi: None,
            shutdown: Arc::new(tx),
        }
    }

    /// Starts what the configuration asks for. Must run inside a tokio runtime.
    pub async fn start(
        config: &Config,
        db: &Db,
        registry: &prometheus::Registry,
    ) -> Result<Self, EngineError> {
        let mut engine = Self::offline();
        if let Some(url) = &config.ami.url {
            let ami_config = AmiConfig::from_url(url.expose())
                .map_err(|e| EngineError::AmiUrl(e.to_string()))?;
            let metrics = AmiMetrics::register(registry)?;
            let client = AmiClient::spawn(ami_config, Some(metrics))
                .map_err(|e| EngineError::AmiUrl(e.to_string()))?;
            tokio::spawn(feed_live_state(client.clone(), engine.live.clone()));
            engine.telephony = Some(Arc::new(AmiTelephony::new(client.clone())));
            engine.ami = Some(client);
        }
        if config.sip.probe {
            let prober_config = ProberConfig {
                interval: Duration::from_secs(config.sip.probe_interval_secs),
                ..ProberConfig::default()
            };
            let metrics =
                ProberMetrics::new(registry).map_err(|e| EngineError::Prober(e.to_string()))?;
            let (prober, handle) = TrunkProber::bind(prober_config, Vec::new(), Some(metrics))
                .await
                .map_err(|e| EngineError::Prober(e.to_string()))?;
            let mut stop = engine.shutdown.subscribe();
            tokio::spawn(prober.run(async move {
                let _ = stop.changed().await;
            }));
            tokio::spawn(feed_trunk_probes(handle.clone(), engine.live.clone()));
            engine.prober = Some(handle);
        }
        if config.agi.enabled {
            let bind = config
                .agi
                .bind
                .parse()
                .map_err(|e: std::net::AddrParseError| EngineError::Agi(e.to_string()))?;
            let agi_config = AgiConfig {
                bind,
                max_sessions: config.agi.max_sessions,
                ..AgiConfig::default()
            };
            let server = AgiServer::new(agi_config).with_metrics(AgiMetrics::new(registry)?);
            let listener = server
                .bind()
                .await
                .map_err(|e| EngineError::Agi(e.to_string()))?;
            engine.agi = Some(server.status());
            // The IVR's HTTP lookups need a TLS provider; the binary and the test harness
            // install ring already, this covers any other embedder (a second install is a no-op).
            let _ = rustls::crypto::ring::default_provider().install_default();
            let ivr = IvrService::new(
                Arc::new(DbFlowSource::new(db.clone())),
                Arc::new(DbSessionSink::new(db.clone())),
                config.ivr.driver_config(),
            )?
            .with_bus(engine.live.bus().clone())
            .with_metrics(IvrMetrics::new(registry)?);
            let mut stop = engine.shutdown.subscribe();
            // Scripts not routed here are answered by the fallback, which tells the dialplan
            // why and hangs back.
            let router = Router::new().route("/ivr", ivr.handler());
            tokio::spawn(server.run(listener, router, async move {
                let _ = stop.changed().await;
            }));
        }
        engine.refresh(db).await;
        let (this, db) = (engine.clone(), db.clone());
        let mut stop = engine.shutdown.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(REFRESH_EVERY) => this.refresh(&db).await,
                    _ = stop.changed() => break,
                }
            }
        });
        Ok(engine)
    }

    /// Re-reads tenant maps and trunks from the database (after changes, and periodically).
    pub async fn refresh(&self, db: &Db) {
        let loaded = db
            .run(|conn| Ok((User::extensions(conn)?, Trunk::all_active(conn)?)))
            .await;
        let (extensions, trunks) = match loaded {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "cannot refresh telephony maps from the database");
                return;
            }
        };
        let mut tenants = TenantResolver::new();
        for (extension, call_center_id) in &extensions {
            tenants.set_extension(extension, *call_center_id);
        }
        for trunk in &trunks {
            tenants.set_trunk(&trunk.name, trunk.call_center_id);
        }
        self.live.set_tenants(tenants);
        if let Some(prober) = &self.prober {
            prober.replace_trunks(
                trunks
                    .iter()
                    .filter_map(|t| {
                        let port = u16::try_from(t.port).ok()?;
                        let mut trunk = callpro_engine::sip::Trunk::udp(&t.name, &t.host, port);
                        trunk.transport = match t.transport.as_str() {
                            "tcp" => callpro_engine::sip::Transport::Tcp,
                            "tls" => callpro_engine::sip::Transport::Tls,
                            _ => callpro_engine::sip::Transport::Udp,
                        };
                        Some(trunk)
                    })
                    .collect(),
            );
        }
    }

    /// The telephony backend, or 503 when callpro has no AMI connection configured.
    pub fn telephony(&self) -> Result<&Arc<dyn Telephony>, ApiError> {
        self.telephony.as_ref().ok_or_else(|| {
            ApiError::Unavailable("no Asterisk connection is configured (ami.url)".into())
        })
    }

    /// Health of AMI and the trunks, for `/health`.
    pub fn health(&self) -> Vec<(&'static str, ComponentHealth)> {
        let ami = match &self.ami {
            None => ComponentHealth {
                status: Status::Disabled,
                details: json!({"reason": "ami.url is not set"}),
            },
            Some(client) => {
                let status = client.status().borrow().clone();
                ComponentHealth {
                    status: if status.state == ConnectionState::Connected {
                        Status::Up
                    } else {
                        Status::Down
                    },
                    details: json!({
                        "state": format!("{:?}", status.state).to_lowercase(),
                        "last_error": status.last_error.map(|e| e.to_string()),
                        "connections": status.generation,
                        "dropped_events": client.dropped_events(),
                    }),
                }
            }
        };
        let trunks = match &self.prober {
            None => ComponentHealth {
                status: Status::Disabled,
                details: json!({"reason": "sip.probe is off"}),
            },
            Some(prober) => {
                let states = prober.snapshot();
                let count = |s: TrunkStatus| states.values().filter(|t| t.status == s).count();
                let down = count(TrunkStatus::Down);
                ComponentHealth {
                    status: if down > 0 { Status::Down } else { Status::Up },
                    details: json!({
                        "total": states.len(),
                        "up": count(TrunkStatus::Up),
                        "degraded": count(TrunkStatus::Degraded),
                        "down": down,
                        "trunks": states,
                    }),
                }
            }
        };
        let agi = match &self.agi {
            None => ComponentHealth {
                status: Status::Disabled,
                details: json!({"reason": "agi.enabled is false"}),
            },
            Some(status) => ComponentHealth {
                status: if status.is_accepting() {
                    Status::Up
                } else {
                    Status::Down
                },
                details: serde_json::to_value(status.snapshot()).unwrap_or_default(),
            },
        };
        vec![("ami", ami), ("agi", agi), ("trunks", trunks)]
    }

    /// Stops the background tasks (prober, refresh) and logs off AMI.
    pub async fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        if let Some(client) = &self.ami {
            client.shutdown().await;
        }
    }
}

/// AMI events and resync snapshots into the live state; never blocks the AMI reader.
async fn feed_live_state(client: AmiClient, live: LiveStateHandle) {
    use tokio::sync::broadcast::error::RecvError;
    let mut events = client.subscribe();
    let mut snapshots = client.subscribe_snapshots();
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(message) => {
                    live.apply_message(&message);
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "live state fell behind AMI events; waiting for a resync");
                }
                Err(RecvError::Closed) => break,
            },
            snapshot = snapshots.recv() => match snapshot {
                Ok(s) => {
                    let failed = |name: &str| s.failed.iter().any(|(list, _)| list.contains(name));
                    let queues: Vec<_> = s.queue_params.iter()
                        .chain(&s.queue_members)
                        .chain(&s.queue_entries)
                        .cloned()
                        .collect();
                    live.resync(ResyncLists {
                        channels: (!failed("CoreShowChannels")).then_some(s.channels.as_slice()),
                        queues: (!failed("QueueStatus")).then_some(queues.as_slice()),
                        contacts: (!failed("PJSIPShowContacts")).then_some(s.contacts.as_slice()),
                    });
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
        }
    }
}

/// The prober's verdicts into the live state's trunk views.
async fn feed_trunk_probes(prober: ProberHandle, live: LiveStateHandle) {
    let mut states = prober.subscribe();
    while states.changed().await.is_ok() {
        let snapshot = states.borrow_and_update().clone();
        for (name, state) in snapshot {
            live.set_trunk_probe(
                &name,
                TrunkProbe {
                    reachable: matches!(state.status, TrunkStatus::Up | TrunkStatus::Degraded),
                    rtt_usec: state.rtt_ms.map(|ms| (ms * 1000.0) as u64),
                    detail: state
                        .last_error
                        .or_else(|| state.last_code.map(|c| c.to_string())),
                    checked_ms: state.last_checked_unix_ms.unwrap_or(0),
                },
            );
        }
    }
}
