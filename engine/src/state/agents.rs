//! Agent positions: callpro's own agent sessions (driven by the API's setters) merged with what
//! Asterisk reports about queue members.
//!
//! The API's setters (login, ready, pause, wrap-up, logout) live here; what AMI events say
//! about agents is in `members.rs`.

use crate::bus::LiveEvent;

use super::tenant::normalize_interface;
use super::view::{AgentStatus, AgentView};
use super::{LiveState, StateError};

/// What the API knows when an agent logs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentLogin {
    /// callpro user id of the agent.
    pub agent_id: i64,
    /// The agent's phone: `1002` (read as `PJSIP/1002`) or a full interface.
    pub extension: String,
    /// Site the agent works from (selects the outbound trunk).
    pub site_id: Option<i64>,
    /// Call center; falls back to the tenant maps when `None`.
    pub call_center_id: Option<i64>,
}

fn derive(a: &AgentView) -> AgentStatus {
    if !a.logged_in {
        AgentStatus::LoggedOut
    } else if a.in_call {
        AgentStatus::InCall
    } else if a.wrap_up {
        AgentStatus::WrapUp
    } else if a.paused {
        AgentStatus::Paused
    } else if a.ready {
        AgentStatus::Ready
    } else {
        AgentStatus::NotReady
    }
}

fn blank(interface: &str, call_center_id: Option<i64>, now_ms: u64) -> AgentView {
    AgentView {
        interface: interface.to_owned(),
        agent_id: None,
        member_name: None,
        site_id: None,
        call_center_id,
        status: AgentStatus::LoggedOut,
        logged_in: false,
        ready: false,
        paused: false,
        pause_reason: None,
        in_call: false,
        wrap_up: false,
        since_ms: now_ms,
        queues: Vec::new(),
        session_channel: None,
        call_linkedid: None,
    }
}

impl LiveState {
    /// Mutates (creating if needed) the agent on `interface`, then emits what changed.
    pub(super) fn change_agent(
        &mut self,
        interface: &str,
        now_ms: u64,
        out: &mut Vec<LiveEvent>,
        f: impl FnOnce(&mut AgentView),
    ) {
        let tenant = self.tenants.extension(interface);
        let agent = self
            .agents
            .entry(interface.to_owned())
            .or_insert_with(|| blank(interface, tenant, now_ms));
        let before = agent.clone();
        f(agent);
        let status = derive(agent);
        if status != agent.status {
            agent.status = status;
            agent.since_ms = now_ms;
        }
        if !agent.logged_in && agent.agent_id.is_none() && agent.queues.is_empty() {
            let call_center_id = agent.call_center_id;
            self.agents.remove(interface);
            out.push(LiveEvent::AgentRemoved {
                interface: interface.to_owned(),
                call_center_id,
            });
        } else if *agent != before {
            out.push(LiveEvent::AgentChanged {
                agent: agent.clone(),
            });
        }
    }

    fn session_interface(&self, agent_id: i64) -> Result<String, StateError> {
        self.sessions
            .get(&agent_id)
            .cloned()
            .ok_or(StateError::AgentNotLoggedIn(agent_id))
    }

    /// Starts a callpro session: logged in, not ready until [`LiveState::agent_ready`].
    pub fn agent_login(
        &mut self,
        login: &AgentLogin,
        now_ms: u64,
    ) -> Result<Vec<LiveEvent>, StateError> {
        let interface = normalize_interface(&login.extension);
        if let Some(holder) = self.agents.get(&interface).and_then(|a| a.agent_id)
            && holder != login.agent_id
        {
            return Err(StateError::ExtensionInUse {
                interface,
                agent_id: holder,
            });
        }
        let mut out = Vec::new();
        // Logging in again from another phone moves the session.
        if self
            .sessions
            .get(&login.agent_id)
            .is_some_and(|i| *i != interface)
        {
            out.extend(self.agent_logout(login.agent_id, now_ms)?);
        }
        self.sessions.insert(login.agent_id, interface.clone());
        let tenant = login.call_center_id;
        self.change_agent(&interface, now_ms, &mut out, |a| {
            a.agent_id = Some(login.agent_id);
            a.site_id = login.site_id;
            a.call_center_id = tenant.or(a.call_center_id);
            a.logged_in = true;
            a.ready = false;
            a.paused = false;
            a.pause_reason = None;
            a.wrap_up = false;
        });
        Ok(out)
    }

    /// Ends a callpro session; a queue membership, if any, stays visible.
    pub fn agent_logout(
        &mut self,
        agent_id: i64,
        now_ms: u64,
    ) -> Result<Vec<LiveEvent>, StateError> {
        let interface = self.session_interface(agent_id)?;
        self.sessions.remove(&agent_id);
        let mut out = Vec::new();
        self.change_agent(&interface, now_ms, &mut out, |a| {
            a.agent_id = None;
            a.site_id = None;
            a.logged_in = !a.queues.is_empty();
            a.ready = a.logged_in;
            a.wrap_up = false;
            a.in_call = false;
            a.session_channel = None;
            a.call_linkedid = None;
        });
        Ok(out)
    }

    /// Marks the agent ready (also ends a pause).
    pub fn agent_ready(
        &mut self,
        agent_id: i64,
        now_ms: u64,
    ) -> Result<Vec<LiveEvent>, StateError> {
        self.set_session(agent_id, now_ms, |a| {
            a.ready = true;
            a.paused = false;
            a.pause_reason = None;
        })
    }

    /// Pauses the agent with an optional reason (`lunch`, `training`, ...).
    pub fn agent_pause(
        &mut self,
        agent_id: i64,
        reason: Option<String>,
        now_ms: u64,
    ) -> Result<Vec<LiveEvent>, StateError> {
        self.set_session(agent_id, now_ms, |a| {
            a.paused = true;
            a.pause_reason = reason;
        })
    }

    /// Starts after-call work: the agent gets no call until [`LiveState::agent_wrap_up_end`].
    pub fn agent_wrap_up_start(
        &mut self,
        agent_id: i64,
        now_ms: u64,
    ) -> Result<Vec<LiveEvent>, StateError> {
        self.set_session(agent_id, now_ms, |a| a.wrap_up = true)
    }

    /// Ends after-call work; the agent is back to ready or paused as before.
    pub fn agent_wrap_up_end(
        &mut self,
        agent_id: i64,
        now_ms: u64,
    ) -> Result<Vec<LiveEvent>, StateError> {
        self.set_session(agent_id, now_ms, |a| a.wrap_up = false)
    }

    fn set_session(
        &mut self,
        agent_id: i64,
        now_ms: u64,
        f: impl FnOnce(&mut AgentView),
    ) -> Result<Vec<LiveEvent>, StateError> {
        let interface = self.session_interface(agent_id)?;
        let mut out = Vec::new();
        self.change_agent(&interface, now_ms, &mut out, f);
        Ok(out)
    }
}
