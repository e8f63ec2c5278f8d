//! [`AmiClient`]: the cheap-to-clone handle the rest of callpro uses to talk to Asterisk.
//!
//! One connection task (see `connection.rs`) owns the socket, logs in, reconnects with backoff
//! and resyncs; handles send it [`Action`]s over an mpsc and await the answer on a oneshot,
//! correlated by a generated `ActionID`. Events fan out through a bounded broadcast that never
//! blocks the socket reader: the slowest subscriber loses the oldest events, and the loss is
//! counted. After every (re)connect one [`Snapshot`] of channels, queues and contacts is
//! published, because Asterisk does not replay the events missed while we were away.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::config::{AmiConfig, AmiConfigError};
use super::error::AmiClientError;
use super::message::{Action, Message};
use super::metrics::AmiMetrics;
use super::pending::{ListResponse, PendingMap, Reply};
use super::status::{ConnectionState, ConnectionStatus, Snapshot};

/// Result of client operations.
pub type ClientResult<T> = std::result::Result<T, AmiClientError>;

/// One action handed to the connection task.
pub(crate) struct Request {
    pub(crate) action: Action,
    pub(crate) reply: Reply,
    /// Only send on this connection generation (resync and keepalive of one connection).
    pub(crate) generation: Option<u64>,
}

/// State shared by the handles and the connection task.
pub(crate) struct Shared {
    pub(crate) config: AmiConfig,
    pub(crate) metrics: Option<AmiMetrics>,
    pending: Mutex<PendingMap>,
    events: broadcast::Sender<Message>,
    /// The real ring size of `events` (tokio rounds up to a power of two).
    event_capacity: usize,
    snapshots: broadcast::Sender<Arc<Snapshot>>,
    pub(crate) status: watch::Sender<ConnectionStatus>,
    pub(crate) shutdown: watch::Sender<bool>,
    dropped: AtomicU64,
    next_id: AtomicU64,
    id_prefix: String,
    /// Lets the connection's helper tasks send without keeping the task alive.
    weak_commands: mpsc::WeakSender<Request>,
}

impl Shared {
    pub(crate) fn pending(&self) -> MutexGuard<'_, PendingMap> {
        // A panic while holding the lock cannot leave the map half-updated in a way that matters
        // more than losing every pending answer, so keep going with the data.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh, process-unique `ActionID`.
    pub(crate) fn next_action_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.id_prefix)
    }

    /// Routes one received packet: to a pending action, to event subscribers, or nowhere.
    pub(crate) fn dispatch(&self, msg: Message) {
        if let (Some(metrics), Some(name)) = (&self.metrics, msg.event_name()) {
            metrics.event(name);
        }
        let unclaimed = match msg.action_id() {
            Some(id) => {
                let id = id.to_owned();
                self.pending().route(&id, msg, self.metrics.as_ref())
            }
            None => Some(msg),
        };
        match unclaimed {
            Some(msg) if msg.is_event() => self.publish(msg),
            Some(msg) => tracing::debug!(
                ami.action_id = msg.action_id().unwrap_or_default(),
                "AMI response for no pending action (caller timed out?)"
            ),
            None => {}
        }
    }

    fn publish(&self, msg: Message) {
        // A full ring means this send evicts an event some subscriber has not read yet.
        if self.events.receiver_count() > 0 && self.events.len() >= self.event_capacity {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            if let Some(m) = &self.metrics {
                m.dropped();
            }
        }
        // No subscriber is not an error: the events are simply not wanted right now.
        let _ = self.events.send(msg);
    }

    pub(crate) fn publish_snapshot(&self, snapshot: Snapshot) {
        let _ = self.snapshots.send(Arc::new(snapshot));
    }

    pub(crate) fn set_status(&self, f: impl FnOnce(&mut ConnectionStatus)) {
        self.status.send_modify(f);
    }
}

/// Cheap-to-clone handle on one AMI connection (and its reconnects).
#[derive(Clone)]
pub struct AmiClient {
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: mpsc::Sender<Request>,
}

impl std::fmt::Debug for AmiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmiClient")
            .field("config", &self.shared.config)
            .field("status", &*self.shared.status.borrow())
            .finish_non_exhaustive()
    }
}

impl AmiClient {
    /// Validates `config` and starts the connection task on the current tokio runtime. Returns at
    /// once; watch [`AmiClient::status`] (or await [`AmiClient::connected`]) for the login.
    /// Must be called from within a tokio runtime (it spawns the connection task).
    pub fn spawn(
        config: AmiConfig,
        metrics: Option<AmiMetrics>,
    ) -> Result<AmiClient, AmiConfigError> {
        config.validate()?;
        let event_capacity = config.event_buffer.next_power_of_two();
        let (events, _) = broadcast::channel(event_capacity);
        let (snapshots, _) = broadcast::channel(16);
        let (commands, rx) = mpsc::channel(1024);
        if let Some(m) = &metrics {
            m.set_connected(false);
        }
        let shared = Arc::new(Shared {
            config,
            metrics,
            pending: Mutex::default(),
            events,
            event_capacity,
            snapshots,
            status: watch::Sender::new(ConnectionStatus::default()),
            shutdown: watch::Sender::new(false),
            dropped: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            id_prefix: format!("callpro-{:08x}", rand::random::<u32>()),
            weak_commands: commands.downgrade(),
        });
        tokio::spawn(super::connection::run(Arc::clone(&shared), rx));
        Ok(AmiClient { shared, commands })
    }

    /// Sends `action` (its `ActionID` is replaced by a generated one) and returns the response.
    /// `Response: Error` becomes [`AmiClientError::Rejected`].
    pub async fn send(&self, action: Action) -> ClientResult<Message> {
        self.send_pinned(action, None).await
    }

    /// Sends a list action (`CoreShowChannels`, `QueueStatus`, ...) and gathers its items up to
    /// the `...Complete` event.
    pub async fn send_list(&self, action: Action) -> ClientResult<ListResponse> {
        self.send_list_pinned(action, None).await
    }

    pub(crate) async fn send_pinned(
        &self,
        action: Action,
        generation: Option<u64>,
    ) -> ClientResult<Message> {
        let name = action.name().to_owned();
        let (tx, rx) = oneshot::channel();
        let id = self.enqueue(action, Reply::Single(tx), generation).await?;
        self.await_reply(&id, &name, rx).await
    }

    pub(crate) async fn send_list_pinned(
        &self,
        action: Action,
        generation: Option<u64>,
    ) -> ClientResult<ListResponse> {
        let name = action.name().to_owned();
        let (tx, rx) = oneshot::channel();
        let id = self.enqueue(action, Reply::List(tx), generation).await?;
        self.await_reply(&id, &name, rx).await
    }

    /// Stamps a fresh `ActionID` on `action` and hands it to the connection task.
    pub(crate) async fn enqueue(
        &self,
        action: Action,
        reply: Reply,
        generation: Option<u64>,
    ) -> ClientResult<String> {
        let id = self.shared.next_action_id();
        let request = Request {
            action: action.with_action_id(id.clone()),
            reply,
            generation,
        };
        self.commands
            .send(request)
            .await
            .map_err(|_| AmiClientError::Closed)?;
        Ok(id)
    }

    /// Waits for the first answer to action `id`, at most the configured action timeout.
    pub(crate) async fn await_reply<T>(
        &self,
        id: &str,
        action: &str,
        rx: oneshot::Receiver<ClientResult<T>>,
    ) -> ClientResult<T> {
        match tokio::time::timeout(self.shared.config.action_timeout, rx).await {
            Ok(Ok(result)) => result,
            // The task dropped the request without answering: it is shutting down.
            Ok(Err(_)) => Err(AmiClientError::Closed),
            Err(_) => {
                self.shared.pending().remove(id);
                Err(AmiClientError::Timeout {
                    action: action.to_owned(),
                })
            }
        }
    }

    /// Every event from now on (including `OriginateResponse`, excluding list items claimed by
    /// an action). A subscriber that falls more than `event_buffer` behind gets
    /// `RecvError::Lagged` and loses the oldest events; the reader never waits for it.
    pub fn subscribe(&self) -> broadcast::Receiver<Message> {
        self.shared.events.subscribe()
    }

    /// The [`Snapshot`] published after each successful (re)connect and resync.
    pub fn subscribe_snapshots(&self) -> broadcast::Receiver<Arc<Snapshot>> {
        self.shared.snapshots.subscribe()
    }

    /// Connection state and last error, for `/health`.
    pub fn status(&self) -> watch::Receiver<ConnectionStatus> {
        self.shared.status.subscribe()
    }

    /// Waits until logged in; fails with [`AmiClientError::Closed`] if the client shut down.
    pub async fn connected(&self) -> ClientResult<()> {
        let mut rx = self.status();
        let status = rx
            .wait_for(|s| {
                matches!(
                    s.state,
                    ConnectionState::Connected | ConnectionState::Closed
                )
            })
            .await
            .map_err(|_| AmiClientError::Closed)?;
        match status.state {
            ConnectionState::Connected => Ok(()),
            _ => Err(AmiClientError::Closed),
        }
    }

    /// Events evicted before every subscriber had read them, since start.
    pub fn dropped_events(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Actions currently awaiting an answer (or an `OriginateResponse`).
    pub fn pending_actions(&self) -> usize {
        self.shared.pending().len()
    }

    /// Logs off, closes the socket, fails pending actions with [`AmiClientError::Closed`] and
    /// stops reconnecting. Returns once the connection task has finished.
    pub async fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
        let mut rx = self.status();
        let _ = rx.wait_for(|s| s.state == ConnectionState::Closed).await;
    }
}

/// An [`AmiClient`] that lets the connection task end once every real handle is gone.
#[derive(Clone)]
pub(crate) struct WeakClient {
    shared: Arc<Shared>,
}

impl WeakClient {
    pub(crate) fn new(shared: Arc<Shared>) -> WeakClient {
        WeakClient { shared }
    }

    /// A real handle, unless every handle was dropped (the task is then ending).
    pub(crate) fn upgrade(&self) -> Option<AmiClient> {
        Some(AmiClient {
            shared: Arc::clone(&self.shared),
            commands: self.shared.weak_commands.upgrade()?,
        })
    }
}
