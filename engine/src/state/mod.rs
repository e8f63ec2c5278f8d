//! Live state of calls, agents, queues and trunks, built from AMI events.
//!
//! [`LiveState`] is sans-IO: typed events (and the current time, in Unix milliseconds) go in,
//! the list of [`LiveEvent`] changes they caused comes out, and snapshots are plain clones of
//! the serializable views. [`LiveStateHandle`] wraps it for sharing between the AMI client, the
//! API and the dialer, and publishes every change on the [`crate::bus::EventBus`].
//!
//! Calls are keyed by `Linkedid` and hold their legs (`Uniqueid`). Agents are keyed by device
//! interface and combine what Asterisk reports (queue membership, pause) with callpro's own
//! agent sessions, which the API drives through the setters in `agents.rs`. After a reconnect
//! the AMI client feeds the `CoreShowChannels`/`QueueStatus`/`PJSIPShowContacts` lists to
//! [`LiveState::apply_snapshot`], since Asterisk does not replay missed events.

mod agents;
mod calls;
mod handle;
mod members;
mod queues;
mod snapshot;
pub mod synthetic;
mod tenant;
mod trunks;
mod view;

use std::collections::{BTreeMap, HashMap, VecDeque};

pub use agents::AgentLogin;
pub use handle::LiveStateHandle;
pub use snapshot::ResyncLists;
pub use tenant::{
    AMD_STATUS_VARIABLE, CALL_CENTER_VARIABLE, CALL_ID_VARIABLE, TenantResolver, channel_interface,
    normalize_interface,
};
pub use view::{
    AgentStatus, AgentView, CallPhase, CallView, LegState, LegView, QueueMemberView, QueueView,
    TrunkProbe, TrunkView, WaitingCaller,
};

use crate::ami::{Event, Message};
use crate::bus::LiveEvent;

/// Failures of the agent-session setters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The agent has no callpro session.
    #[error("agent {0} is not logged in")]
    AgentNotLoggedIn(i64),
    /// Another agent's session already holds the extension.
    #[error("extension {interface} is in use by agent {agent_id}")]
    ExtensionInUse {
        /// The contested interface.
        interface: String,
        /// The agent holding it.
        agent_id: i64,
    },
}

/// Tuning of the live state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveStateConfig {
    /// How long an ended call stays visible (so a dashboard sees how it ended).
    pub ended_retention_ms: u64,
    /// Hard cap on ended calls kept, whatever their age.
    pub max_ended_calls: usize,
}

impl Default for LiveStateConfig {
    fn default() -> Self {
        LiveStateConfig {
            ended_retention_ms: 30_000,
            max_ended_calls: 10_000,
        }
    }
}

/// The live view of the PBX, updated event by event.
#[derive(Debug, Default)]
pub struct LiveState {
    config: LiveStateConfig,
    tenants: TenantResolver,
    calls: BTreeMap<String, CallView>,
    /// Uniqueid → Linkedid of every leg of a retained call.
    legs: HashMap<String, String>,
    /// Ended calls in end order, for retention.
    ended: VecDeque<(u64, String)>,
    agents: BTreeMap<String, AgentView>,
    /// callpro agent id → interface of its session.
    sessions: HashMap<i64, String>,
    queues: BTreeMap<String, QueueView>,
    trunks: BTreeMap<String, TrunkView>,
}

impl LiveState {
    /// An empty state.
    pub fn new(config: LiveStateConfig) -> LiveState {
        LiveState {
            config,
            ..LiveState::default()
        }
    }

    /// Replaces the tenant maps; already attributed calls keep their call center.
    pub fn set_tenants(&mut self, tenants: TenantResolver) {
        self.tenants = tenants;
    }

    /// The tenant maps in use.
    pub fn tenants(&self) -> &TenantResolver {
        &self.tenants
    }

    /// Applies one typed event at time `now_ms`; returns the changes it made.
    pub fn apply(&mut self, event: &Event<'_>, now_ms: u64) -> Vec<LiveEvent> {
        let mut out = Vec::new();
        self.prune(now_ms);
        match event {
            Event::Newchannel(e) => {
                self.on_channel(&e.channel, now_ms, true, &mut out);
            }
            Event::Newstate(e) => {
                self.on_channel(&e.channel, now_ms, true, &mut out);
            }
            Event::Hangup(e) => self.on_hangup(e, now_ms, &mut out),
            Event::DialBegin(e) => {
                self.on_channel(&e.caller, now_ms, true, &mut out);
                self.on_channel(&e.dest, now_ms, true, &mut out);
            }
            Event::DialState(e) => self.on_dial(&e.dest, e.dial_status, false, now_ms, &mut out),
            Event::DialEnd(e) => self.on_dial(&e.dest, e.dial_status, true, now_ms, &mut out),
            Event::BridgeEnter(e) => self.on_bridge(&e.channel, &e.bridge, true, now_ms, &mut out),
            Event::BridgeLeave(e) => self.on_bridge(&e.channel, &e.bridge, false, now_ms, &mut out),
            Event::QueueCallerJoin(e) => self.on_queue_join(e, now_ms, &mut out),
            Event::QueueCallerLeave(e) => {
                self.on_queue_leave(e.queue, e.channel.uniqueid, false, now_ms, &mut out);
            }
            Event::QueueCallerAbandon(e) => {
                self.on_queue_leave(e.queue, e.channel.uniqueid, true, now_ms, &mut out);
            }
            Event::QueueMemberAdded(e)
            | Event::QueueMemberStatus(e)
            | Event::QueueMemberPause(e) => self.on_member(e, false, now_ms, &mut out),
            Event::QueueMemberRemoved(e) => self.on_member(e, true, now_ms, &mut out),
            Event::AgentConnect(e) => self.on_queue_call(e.interface, true, now_ms, &mut out),
            Event::AgentComplete(e) => self.on_queue_call(e.interface, false, now_ms, &mut out),
            Event::ContactStatus(e) => self.on_contact(e, now_ms, &mut out),
            Event::Other(msg) if msg.event_name() == Some("VarSet") => {
                if let (Some(uid), Some(var), Some(value)) =
                    (msg.get("Uniqueid"), msg.get("Variable"), msg.get("Value"))
                {
                    self.on_variable(uid, var, value, &mut out);
                }
            }
            _ => {}
        }
        out
    }

    /// Parses `msg` and applies it; also honours `ChanVariable` headers carrying
    /// [`CALL_CENTER_VARIABLE`] / [`CALL_ID_VARIABLE`] (`channelvars` in `manager.conf`).
    pub fn apply_message(&mut self, msg: &Message, now_ms: u64) -> Vec<LiveEvent> {
        let Some(event) = Event::parse(msg) else {
            return Vec::new();
        };
        let mut out = self.apply(&event, now_ms);
        if let Some(uid) = msg.get("Uniqueid") {
            for header in msg.get_all("ChanVariable") {
                if let Some((var, value)) = header.split_once('=') {
                    self.on_variable(uid, var, value, &mut out);
                }
            }
        }
        out
    }

    /// Forgets ended calls past their retention (or beyond the cap).
    pub fn prune(&mut self, now_ms: u64) {
        while let Some((ended_ms, linkedid)) = self.ended.front() {
            let expired = now_ms.saturating_sub(*ended_ms) >= self.config.ended_retention_ms;
            if !expired && self.ended.len() <= self.config.max_ended_calls {
                break;
            }
            let linkedid = linkedid.clone();
            self.ended.pop_front();
            // A call that came back to life (a late leg) is no longer in `ended` terms.
            if self
                .calls
                .get(&linkedid)
                .is_some_and(|c| c.ended_ms.is_some())
            {
                self.remove_call(&linkedid);
            }
        }
    }

    fn remove_call(&mut self, linkedid: &str) {
        if let Some(call) = self.calls.remove(linkedid) {
            for leg in &call.legs {
                self.legs.remove(&leg.uniqueid);
            }
        }
    }

    /// Every retained call, oldest first.
    pub fn calls(&self) -> Vec<CallView> {
        let mut calls: Vec<CallView> = self.calls.values().cloned().collect();
        calls.sort_by(|a, b| (a.created_ms, &a.linkedid).cmp(&(b.created_ms, &b.linkedid)));
        calls
    }

    /// One call by Linkedid.
    pub fn call(&self, linkedid: &str) -> Option<&CallView> {
        self.calls.get(linkedid)
    }

    /// The call a leg (Uniqueid) belongs to.
    pub fn call_of_leg(&self, uniqueid: &str) -> Option<&CallView> {
        self.calls.get(self.legs.get(uniqueid)?)
    }

    /// Every agent position, by interface.
    pub fn agents(&self) -> Vec<AgentView> {
        self.agents.values().cloned().collect()
    }

    /// The agent position of a callpro agent.
    pub fn agent(&self, agent_id: i64) -> Option<&AgentView> {
        self.agents.get(self.sessions.get(&agent_id)?)
    }

    /// The agent position on an interface.
    pub fn agent_at(&self, interface: &str) -> Option<&AgentView> {
        self.agents.get(&normalize_interface(interface))
    }

    /// Every queue, with `longest_wait_ms` computed at `now_ms`.
    pub fn queues(&self, now_ms: u64) -> Vec<QueueView> {
        self.queues
            .values()
            .map(|q| queues::with_wait(q, now_ms))
            .collect()
    }

    /// Every trunk.
    pub fn trunks(&self) -> Vec<TrunkView> {
        self.trunks.values().cloned().collect()
    }
}

/// `<unknown>` and empty values read as absent.
fn known(value: Option<&str>) -> Option<String> {
    value
        .filter(|v| !v.is_empty() && *v != "<unknown>")
        .map(str::to_owned)
}
