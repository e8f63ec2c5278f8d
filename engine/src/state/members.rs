//! What Asterisk reports about agents: queue membership and pause (`QueueMember*`), queue
//! calls (`AgentConnect`/`AgentComplete`), and calls entering callpro agent session bridges.
//!
//! A callpro agent sits all shift in a personal ConfBridge named `agent-<agent_id>`; a call is
//! connected by moving it into that bridge. So "in call" for a session comes from `BridgeEnter`/
//! `BridgeLeave` on that bridge, not from queue events: the agent's phone is always busy in its
//! own bridge, and `QueueMemberStatus.InCall` would say so all day. Plain Asterisk queue
//! members (no callpro session) take `InCall` and `AgentConnect`/`AgentComplete` instead.

use crate::ami::event::QueueMemberEvent;
use crate::bus::LiveEvent;

use super::tenant::channel_interface;
use super::{LiveState, known};

/// `agent-42` → 42.
fn bridge_agent(bridge_name: &str) -> Option<i64> {
    bridge_name.strip_prefix("agent-")?.parse().ok()
}

impl LiveState {
    /// The agent (and its call center) whose session bridge is `bridge_name`, unless `channel`
    /// is the agent's own phone.
    pub(super) fn session_for_bridge(
        &self,
        bridge_name: &str,
        channel: &str,
    ) -> Option<(i64, Option<i64>)> {
        let agent_id = bridge_agent(bridge_name)?;
        let agent = self.agent(agent_id);
        if agent.is_some_and(|a| channel_interface(channel) == Some(a.interface.as_str())) {
            return None;
        }
        Some((agent_id, agent.and_then(|a| a.call_center_id)))
    }

    pub(super) fn on_session_bridge(
        &mut self,
        bridge_name: &str,
        channel: &str,
        linkedid: &str,
        entered: bool,
        now_ms: u64,
        out: &mut Vec<LiveEvent>,
    ) {
        let Some(interface) =
            bridge_agent(bridge_name).and_then(|id| self.sessions.get(&id).cloned())
        else {
            return;
        };
        let own_phone = channel_interface(channel) == Some(interface.as_str());
        self.change_agent(&interface, now_ms, out, |a| {
            if own_phone {
                a.session_channel = entered.then(|| channel.to_owned());
            } else if entered {
                a.in_call = true;
                a.call_linkedid = Some(linkedid.to_owned());
            } else if a.call_linkedid.as_deref() == Some(linkedid) {
                a.in_call = false;
                a.call_linkedid = None;
            }
        });
    }

    /// The agent's phone hung up: the session bridge is empty until it is called again.
    pub(super) fn on_session_channel_gone(
        &mut self,
        channel: &str,
        now_ms: u64,
        out: &mut Vec<LiveEvent>,
    ) {
        let Some(interface) = self
            .agents
            .values()
            .find(|a| a.session_channel.as_deref() == Some(channel))
            .map(|a| a.interface.clone())
        else {
            return;
        };
        self.change_agent(&interface, now_ms, out, |a| a.session_channel = None);
    }

    pub(super) fn on_member(
        &mut self,
        e: &QueueMemberEvent<'_>,
        removed: bool,
        now_ms: u64,
        out: &mut Vec<LiveEvent>,
    ) {
        let (Some(queue), Some(interface)) = (e.queue, e.interface.or(e.state_interface)) else {
            return;
        };
        self.update_queue_member(queue, interface, e, removed, now_ms, out);
        if removed && !self.agents.contains_key(interface) {
            return;
        }
        let in_call = e.in_call.map(|v| v.trim() == "1");
        self.change_agent(interface, now_ms, out, |a| {
            if removed {
                a.queues.retain(|q| q != queue);
            } else if !a.queues.iter().any(|q| q == queue) {
                a.queues.push(queue.to_owned());
                a.queues.sort();
            }
            if let Some(name) = known(e.member_name) {
                a.member_name = Some(name);
            }
            if e.paused.is_some() {
                a.paused = e.is_paused();
                a.pause_reason = known(e.paused_reason).filter(|_| a.paused);
            }
            if a.agent_id.is_none() {
                // A plain queue member is logged in while it belongs to a queue, ready unless paused.
                a.logged_in = !a.queues.is_empty();
                a.ready = a.logged_in;
                if let Some(in_call) = in_call {
                    a.in_call = in_call;
                }
            }
        });
    }

    pub(super) fn on_queue_call(
        &mut self,
        interface: Option<&str>,
        connected: bool,
        now_ms: u64,
        out: &mut Vec<LiveEvent>,
    ) {
        let Some(interface) = interface else { return };
        if self
            .agents
            .get(interface)
            .is_none_or(|a| a.agent_id.is_some())
        {
            return;
        }
        self.change_agent(interface, now_ms, out, |a| a.in_call = connected);
    }
}
