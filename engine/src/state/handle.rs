//! [`LiveStateHandle`]: the shared, cheap-to-clone face of [`LiveState`].
//!
//! A plain `std` `RwLock` is enough: every critical section is a short in-memory update or a
//! clone, never held across an `.await`. Changes are published on the bus while the write lock
//! is held, so subscribers see them in the order they were applied even with several writers.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::ami::{Event, Message};
use crate::bus::{EventBus, LiveEvent, Subscription};

use super::agents::AgentLogin;
use super::view::{AgentView, CallView, QueueView, TrunkProbe, TrunkView};
use super::{LiveState, LiveStateConfig, ResyncLists, StateError, TenantResolver};

/// Source of "now" in Unix milliseconds; injectable so tests control time.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

fn system_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Shared live state that publishes its changes on an [`EventBus`].
#[derive(Clone)]
pub struct LiveStateHandle {
    state: Arc<RwLock<LiveState>>,
    bus: EventBus,
    clock: Clock,
}

impl std::fmt::Debug for LiveStateHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveStateHandle")
            .field("subscribers", &self.bus.subscriber_count())
            .finish_non_exhaustive()
    }
}

impl LiveStateHandle {
    /// A handle over an empty state, publishing on `bus`, reading the system clock.
    pub fn new(config: LiveStateConfig, bus: EventBus) -> LiveStateHandle {
        LiveStateHandle {
            state: Arc::new(RwLock::new(LiveState::new(config))),
            bus,
            clock: Arc::new(system_clock),
        }
    }

    /// Replaces the clock (tests, simulator).
    pub fn with_clock(mut self, clock: Clock) -> LiveStateHandle {
        self.clock = clock;
        self
    }

    fn read(&self) -> RwLockReadGuard<'_, LiveState> {
        // A panic elsewhere cannot leave the state half-written in a way worse than a missed
        // event, and a resync repairs that: keep serving rather than poison every reader.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, LiveState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the state under the write lock and publishes what it returns.
    fn update<R>(&self, f: impl FnOnce(&mut LiveState, u64) -> R) -> R
    where
        R: AsRef<[LiveEvent]>,
    {
        let now = (self.clock)();
        let mut state = self.write();
        let changes = f(&mut state, now);
        for change in changes.as_ref() {
            self.bus.publish(change.clone());
        }
        changes
    }

    fn update_agent(
        &self,
        f: impl FnOnce(&mut LiveState, u64) -> Result<Vec<LiveEvent>, StateError>,
    ) -> Result<(), StateError> {
        let now = (self.clock)();
        let mut state = self.write();
        for change in f(&mut state, now)? {
            self.bus.publish(change);
        }
        Ok(())
    }

    /// The state's clock now, in Unix milliseconds (the scale of every `*_ms` field).
    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    /// The bus the changes go to.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// Subscribes to the changes.
    pub fn subscribe(&self) -> Subscription {
        self.bus.subscribe()
    }

    /// Applies one typed AMI event.
    pub fn apply(&self, event: &Event<'_>) -> Vec<LiveEvent> {
        self.update(|s, now| s.apply(event, now))
    }

    /// Parses and applies one AMI message (responses are ignored).
    pub fn apply_message(&self, msg: &Message) -> Vec<LiveEvent> {
        self.update(|s, now| s.apply_message(msg, now))
    }

    /// Rebuilds from the items of the status lists after a reconnect (one mixed batch).
    pub fn apply_snapshot(&self, items: &[Message]) -> Vec<LiveEvent> {
        self.update(|s, now| s.apply_snapshot(items, now))
    }

    /// Rebuilds the parts whose list was fetched after a reconnect.
    pub fn resync(&self, lists: ResyncLists<'_>) -> Vec<LiveEvent> {
        self.update(|s, now| s.resync(lists, now))
    }

    /// Replaces the tenant maps (call the API's extension/trunk/queue → call center lists).
    pub fn set_tenants(&self, tenants: TenantResolver) {
        self.write().set_tenants(tenants);
    }

    /// Starts a callpro agent session.
    pub fn agent_login(&self, login: &AgentLogin) -> Result<(), StateError> {
        self.update_agent(|s, now| s.agent_login(login, now))
    }

    /// Marks an agent ready (ends a pause).
    pub fn agent_ready(&self, agent_id: i64) -> Result<(), StateError> {
        self.update_agent(|s, now| s.agent_ready(agent_id, now))
    }

    /// Pauses an agent.
    pub fn agent_pause(&self, agent_id: i64, reason: Option<String>) -> Result<(), StateError> {
        self.update_agent(|s, now| s.agent_pause(agent_id, reason, now))
    }

    /// Starts after-call work.
    pub fn agent_wrap_up_start(&self, agent_id: i64) -> Result<(), StateError> {
        self.update_agent(|s, now| s.agent_wrap_up_start(agent_id, now))
    }

    /// Ends after-call work.
    pub fn agent_wrap_up_end(&self, agent_id: i64) -> Result<(), StateError> {
        self.update_agent(|s, now| s.agent_wrap_up_end(agent_id, now))
    }

    /// Ends an agent session.
    pub fn agent_logout(&self, agent_id: i64) -> Result<(), StateError> {
        self.update_agent(|s, now| s.agent_logout(agent_id, now))
    }

    /// Records a SIP OPTIONS probe result for a trunk.
    pub fn set_trunk_probe(&self, name: &str, probe: TrunkProbe) {
        self.update(|s, _| s.set_trunk_probe(name, probe));
    }

    /// Forgets ended calls past their retention (also done on every event).
    pub fn prune(&self) {
        let now = (self.clock)();
        self.write().prune(now);
    }

    /// Every retained call, oldest first.
    pub fn snapshot_calls(&self) -> Vec<CallView> {
        self.read().calls()
    }

    /// One call by Linkedid.
    pub fn call(&self, linkedid: &str) -> Option<CallView> {
        self.read().call(linkedid).cloned()
    }

    /// The call a leg (Uniqueid, e.g. an originate's `channel_id`) belongs to.
    pub fn call_of_leg(&self, uniqueid: &str) -> Option<CallView> {
        self.read().call_of_leg(uniqueid).cloned()
    }

    /// Every agent position.
    pub fn snapshot_agents(&self) -> Vec<AgentView> {
        self.read().agents()
    }

    /// The position of a callpro agent.
    pub fn agent(&self, agent_id: i64) -> Option<AgentView> {
        self.read().agent(agent_id).cloned()
    }

    /// Every queue, waits computed now.
    pub fn snapshot_queues(&self) -> Vec<QueueView> {
        let now = (self.clock)();
        self.read().queues(now)
    }

    /// Every trunk.
    pub fn snapshot_trunks(&self) -> Vec<TrunkView> {
        self.read().trunks()
    }
}
