//! The in-process event bus: live-state changes published to every subscriber (WebSocket
//! fan-out, dialer, metrics).
//!
//! It is a bounded `tokio::sync::broadcast` channel: publishing never blocks and never fails,
//! so the AMI read loop that feeds the live state can never be slowed by a consumer. A
//! subscriber that falls more than `capacity` events behind loses the oldest ones and is told
//! so ([`BusMessage::Lagged`]); it then re-reads a snapshot from the
//! [`crate::state::LiveStateHandle`] instead of trying to patch its copy. Lost events are counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::state::{AgentView, CallView, LegView, QueueView, TrunkView};

/// Default number of events a subscriber may fall behind before it lags.
pub const DEFAULT_CAPACITY: usize = 4096;

/// One change of the live state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// A call (Linkedid) appeared.
    CallStarted {
        /// The call as it is now.
        call: CallView,
    },
    /// A call-level field changed (answered, bridged, tenant, agent, dial status).
    CallUpdated {
        /// The call as it is now.
        call: CallView,
    },
    /// The last leg of a call hung up.
    CallEnded {
        /// The call as it ended.
        call: CallView,
    },
    /// A leg joined a call.
    LegAdded {
        /// The call's Linkedid.
        linkedid: String,
        /// The call's call center.
        call_center_id: Option<i64>,
        /// The new leg.
        leg: LegView,
    },
    /// A leg changed (state, caller id, dial status, bridge, hangup).
    LegChanged {
        /// The call's Linkedid.
        linkedid: String,
        /// The call's call center.
        call_center_id: Option<i64>,
        /// The leg as it is now.
        leg: LegView,
    },
    /// An agent's status or session changed.
    AgentChanged {
        /// The agent as it is now.
        agent: AgentView,
    },
    /// An agent position disappeared (logged out and member of no queue).
    AgentRemoved {
        /// The interface that was removed.
        interface: String,
        /// Its last call center.
        call_center_id: Option<i64>,
    },
    /// A queue's callers or members changed.
    QueueChanged {
        /// The queue as it is now.
        queue: QueueView,
    },
    /// A trunk's health changed.
    TrunkChanged {
        /// The trunk as it is now.
        trunk: TrunkView,
    },
    /// The state was rebuilt from Asterisk's lists after a reconnect: re-read every snapshot.
    Resynced,
    /// A running campaign's dialer: lines, agents and its pacing target, after every tick.
    CampaignProgress {
        /// The campaign as its dialer sees it now.
        progress: CampaignProgress,
    },
    /// An inbound call moved through its IVR flow (a node left, or the walk ended).
    IvrProgress {
        /// Where the call is in its flow.
        progress: IvrProgress,
    },
}

/// A step of an inbound call's IVR session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IvrProgress {
    /// The call center owning the DID (`None` for an unknown DID).
    pub call_center_id: Option<i64>,
    /// The stored session, when it could be stored.
    pub session_id: Option<i64>,
    /// The channel's Uniqueid.
    pub uniqueid: String,
    /// The DID called.
    pub did: String,
    /// The caller's number.
    pub caller_id: String,
    /// The flow walked.
    pub flow_id: Option<i64>,
    /// The node just left (or ended in).
    pub node: Option<String>,
    /// Its exit; `None` when the walk ended there.
    pub exit: Option<String>,
    /// The session's outcome code once it ended (`queued`, `abandoned`, ...).
    pub outcome: Option<String>,
}

/// What a campaign's dialer is doing right now (published on every pacing tick).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignProgress {
    /// The campaign.
    pub campaign_id: i64,
    /// Its call center.
    pub call_center_id: i64,
    /// Whether new calls are being placed (false while it winds down after a pause or stop).
    pub dialing: bool,
    /// The campaign's agents logged in and taking calls (ready, talking or in wrap-up).
    pub agents: usize,
    /// Of those, ready and waiting for a call.
    pub agents_idle: usize,
    /// Calls ringing (or answered and under answering-machine detection).
    pub ringing: usize,
    /// Answered calls waiting for an agent.
    pub waiting: usize,
    /// Calls connected to an agent.
    pub talking: usize,
    /// Lines in use: ringing, waiting and talking.
    pub lines_in_use: usize,
    /// Lines the pacer wants not yet connected to an agent: calls in flight and waiting plus
    /// what its last decision placed.
    pub pacing_target: usize,
    /// Calls placed since this dialer started.
    pub dials: u64,
    /// Calls connected to an agent since it started.
    pub connects: u64,
    /// Calls abandoned since it started.
    pub abandons: u64,
    /// Answering machines detected since it started.
    pub machines: u64,
    /// When this was measured (Unix milliseconds).
    pub at_ms: u64,
}

impl LiveEvent {
    /// The call center the change belongs to; `None` means global (every tenant may see it).
    pub fn call_center_id(&self) -> Option<i64> {
        match self {
            LiveEvent::CallStarted { call }
            | LiveEvent::CallUpdated { call }
            | LiveEvent::CallEnded { call } => call.call_center_id,
            LiveEvent::LegAdded { call_center_id, .. }
            | LiveEvent::LegChanged { call_center_id, .. }
            | LiveEvent::AgentRemoved { call_center_id, .. } => *call_center_id,
            LiveEvent::AgentChanged { agent } => agent.call_center_id,
            LiveEvent::QueueChanged { queue } => queue.call_center_id,
            LiveEvent::TrunkChanged { trunk } => trunk.call_center_id,
            LiveEvent::CampaignProgress { progress } => Some(progress.call_center_id),
            LiveEvent::IvrProgress { progress } => progress.call_center_id,
            LiveEvent::Resynced => None,
        }
    }

    /// True when a user scoped to `call_center_id` may see this change: their own tenant's
    /// changes, and global ones. A platform admin (`None`) sees everything.
    pub fn visible_to(&self, call_center_id: Option<i64>) -> bool {
        match (call_center_id, self.call_center_id()) {
            (None, _) | (_, None) => true,
            (Some(user), Some(owner)) => user == owner,
        }
    }
}

/// The publishing side; clones share one channel and one drop counter.
#[derive(Clone, Debug)]
pub struct EventBus {
    // `Arc` so each subscriber's copy is a reference count, not a deep clone of a call.
    tx: broadcast::Sender<Arc<LiveEvent>>,
    dropped: Arc<AtomicU64>,
    dropped_metric: Option<prometheus::IntCounter>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new(DEFAULT_CAPACITY)
    }
}

impl EventBus {
    /// A bus whose subscribers may fall `capacity` events behind (at least 1).
    pub fn new(capacity: usize) -> EventBus {
        let (tx, _) = broadcast::channel(capacity.max(1));
        EventBus {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            dropped_metric: None,
        }
    }

    /// Also counts lost events in `counter` (e.g. `callpro_bus_events_dropped_total`).
    pub fn with_dropped_metric(mut self, counter: prometheus::IntCounter) -> EventBus {
        self.dropped_metric = Some(counter);
        self
    }

    /// Publishes to every current subscriber; never blocks. Returns how many will see it.
    pub fn publish(&self, event: LiveEvent) -> usize {
        // `send` only fails when nobody listens, which is not an error for a bus.
        self.tx.send(Arc::new(event)).unwrap_or(0)
    }

    /// A new subscriber, seeing events published from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            rx: self.tx.subscribe(),
            dropped: Arc::clone(&self.dropped),
            dropped_metric: self.dropped_metric.clone(),
        }
    }

    /// Current number of subscribers.
    pub fn subscriber_count(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Events lost by lagging subscribers since start (summed over subscribers).
    pub fn dropped_total(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// What a subscriber receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusMessage {
    /// The next change (shared between subscribers).
    Event(Arc<LiveEvent>),
    /// This many events were lost; re-read a snapshot, then keep receiving.
    Lagged(u64),
}

/// The receiving side of one subscriber.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Arc<LiveEvent>>,
    dropped: Arc<AtomicU64>,
    dropped_metric: Option<prometheus::IntCounter>,
}

impl Subscription {
    /// The next message; `None` once every [`EventBus`] clone is gone.
    pub async fn recv(&mut self) -> Option<BusMessage> {
        let received = self.rx.recv().await;
        self.map(received.map_err(|e| match e {
            broadcast::error::RecvError::Closed => broadcast::error::TryRecvError::Closed,
            broadcast::error::RecvError::Lagged(n) => broadcast::error::TryRecvError::Lagged(n),
        }))
    }

    /// The next message if one is ready, without waiting.
    pub fn try_recv(&mut self) -> Option<BusMessage> {
        let received = self.rx.try_recv();
        self.map(received)
    }

    fn map(
        &self,
        received: Result<Arc<LiveEvent>, broadcast::error::TryRecvError>,
    ) -> Option<BusMessage> {
        use broadcast::error::TryRecvError;
        match received {
            Ok(event) => Some(BusMessage::Event(event)),
            Err(TryRecvError::Lagged(n)) => {
                self.dropped.fetch_add(n, Ordering::Relaxed);
                if let Some(metric) = &self.dropped_metric {
                    metric.inc_by(n);
                }
                tracing::warn!(dropped = n, "live event subscriber lagged; it must resync");
                Some(BusMessage::Lagged(n))
            }
            Err(TryRecvError::Empty | TryRecvError::Closed) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lagging_subscriber_is_told_and_counted() {
        let bus = EventBus::new(2);
        let mut sub = bus.subscribe();
        for _ in 0..5 {
            bus.publish(LiveEvent::Resynced);
        }
        assert_eq!(sub.recv().await, Some(BusMessage::Lagged(3)));
        assert_eq!(
            sub.recv().await,
            Some(BusMessage::Event(Arc::new(LiveEvent::Resynced)))
        );
        assert_eq!(
            sub.try_recv(),
            Some(BusMessage::Event(Arc::new(LiveEvent::Resynced)))
        );
        assert_eq!(sub.try_recv(), None);
        assert_eq!(bus.dropped_total(), 3);
        assert_eq!(bus.publish(LiveEvent::Resynced), 1);
        drop(bus);
        assert_eq!(
            sub.recv().await,
            Some(BusMessage::Event(Arc::new(LiveEvent::Resynced)))
        );
        assert_eq!(sub.recv().await, None);
    }

    #[test]
    fn serializes_tagged_snake_case() {
        let json = serde_json::to_value(LiveEvent::Resynced).unwrap();
        assert_eq!(json, serde_json::json!({"type": "resynced"}));
        let removed = LiveEvent::AgentRemoved {
            interface: "PJSIP/agent1002".into(),
            call_center_id: Some(4),
        };
        let json = serde_json::to_value(&removed).unwrap();
        assert_eq!(json["type"], "agent_removed");
        assert!(removed.visible_to(Some(4)) && !removed.visible_to(Some(5)));
        assert!(removed.visible_to(None) && LiveEvent::Resynced.visible_to(Some(5)));
    }
}
