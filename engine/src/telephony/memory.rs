//! A deterministic in-memory [`super::Telephony`] for tests and the simulator.
//!
//! Originates play a script (answer, busy, no answer, congestion, failure) after a virtual
//! delay measured with `tokio::time`, so a test under `tokio::time::pause()` runs a whole
//! campaign in no wall time. Every accepted request is recorded for assertions. Optionally the
//! calls are narrated into a [`LiveStateHandle`] as synthetic AMI events (the same messages
//! Asterisk would send), so the dialer and the API can be tested end to end without Asterisk.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{
    AGENT_BRIDGE_CONTEXT, AGENT_SESSION_CONTEXT, AMD_VARIABLE, Originate, OriginateOutcome,
    OriginateTarget, PendingOriginate, QueueMember, Redirect, Result, Spy, Telephony,
    TelephonyError,
};
use crate::ami::Message;
use crate::state::synthetic::{SyntheticChannel, queue_member_event};
use crate::state::{AMD_STATUS_VARIABLE, LegState, LiveStateHandle};

/// How a scripted call ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScriptedOutcome {
    /// Answered by a person (cause 16 when it later hangs up).
    Answer,
    /// Answered by an answering machine: like [`ScriptedOutcome::Answer`], but `AMD()` (asked
    /// for with the channel variable `CALLPRO_AMD=1`) says `MACHINE` instead of `HUMAN`.
    Machine,
    /// Busy (cause 17).
    Busy,
    /// Rang out (cause 19).
    NoAnswer,
    /// Congestion (cause 34).
    Congestion,
    /// Channel unavailable (cause 20).
    Fail,
}

/// The script of one dial string: what happens, and after how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Script {
    /// The outcome.
    pub outcome: ScriptedOutcome,
    /// Virtual delay before the outcome.
    pub after: Duration,
    /// For answered calls: hang up by itself after this long (the callee hangs up).
    pub hangup_after: Option<Duration>,
}

impl Script {
    /// `outcome` after `after`, no automatic hangup.
    pub fn new(outcome: ScriptedOutcome, after: Duration) -> Script {
        Script {
            outcome,
            after,
            hangup_after: None,
        }
    }

    /// Answered calls hang up by themselves `talk` after the answer.
    pub fn then_hangup_after(mut self, talk: Duration) -> Script {
        self.hangup_after = Some(talk);
        self
    }
}

/// One request the fake PBX accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// `originate`.
    Originate(Originate),
    /// `hangup`.
    Hangup {
        /// Channel name.
        channel: String,
        /// Cause asked for.
        cause: Option<u16>,
    },
    /// `redirect` (and `bridge_to_agent`).
    Redirect(Redirect),
    /// `spy`.
    Spy(Spy),
    /// `queue_pause`.
    QueuePause {
        /// Member.
        member: QueueMember,
        /// Paused or unpaused.
        paused: bool,
        /// Reason.
        reason: Option<String>,
    },
    /// `queue_add`.
    QueueAdd(QueueMember),
    /// `queue_remove`.
    QueueRemove(QueueMember),
}

#[derive(Debug)]
struct Leg {
    sim: SyntheticChannel,
    state: LegState,
    bridge: Option<(String, String)>,
}

#[derive(Debug)]
struct Inner {
    connected: bool,
    default: Script,
    scripts: HashMap<String, Script>,
    requests: Vec<Recorded>,
    channel_ids: HashSet<String>,
    /// Live legs by channel name.
    legs: HashMap<String, Leg>,
    members: HashSet<(String, String)>,
    counter: u32,
}

/// The in-memory PBX; clones share one state.
#[derive(Clone, Debug)]
pub struct MemoryTelephony {
    inner: Arc<Mutex<Inner>>,
    live: Option<LiveStateHandle>,
}

impl Default for MemoryTelephony {
    fn default() -> Self {
        MemoryTelephony::new(Script::new(ScriptedOutcome::Answer, Duration::from_secs(2)))
    }
}

/// `PJSIP/0600000001@yeastar-paris` → `PJSIP/yeastar-paris-0000000n`,
/// `Local/0600000001@dialer/n` → `Local/0600000001@dialer-0000000n;1`.
fn channel_name(dial: &str, n: u32) -> String {
    let (tech, rest) = dial.split_once('/').unwrap_or(("PJSIP", dial));
    if tech.eq_ignore_ascii_case("Local") {
        let base = rest.split('/').next().unwrap_or(rest);
        return format!("{tech}/{base}-{n:08x};1");
    }
    let device = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{tech}/{device}-{n:08x}")
}

fn cause_of(outcome: ScriptedOutcome) -> (u16, &'static str, OriginateOutcome) {
    match outcome {
        ScriptedOutcome::Answer | ScriptedOutcome::Machine => {
            (16, "ANSWER", OriginateOutcome::Answered)
        }
        ScriptedOutcome::Busy => (17, "BUSY", OriginateOutcome::Busy),
        ScriptedOutcome::NoAnswer => (19, "NOANSWER", OriginateOutcome::NoAnswer),
        ScriptedOutcome::Congestion => (34, "CONGESTION", OriginateOutcome::Congestion),
        ScriptedOutcome::Fail => (20, "CHANUNAVAIL", OriginateOutcome::Failed),
    }
}

fn check(field: &str, value: &str) -> Result<()> {
    if value.contains(['\r', '\n']) {
        return Err(TelephonyError::Invalid(format!(
            "{field} contains a line break"
        )));
    }
    Ok(())
}

impl MemoryTelephony {
    /// A connected fake PBX playing `default` for every dial string without its own script.
    pub fn new(default: Script) -> MemoryTelephony {
        let inner = Inner {
            connected: true,
            default,
            scripts: HashMap::new(),
            requests: Vec::new(),
            channel_ids: HashSet::new(),
            legs: HashMap::new(),
            members: HashSet::new(),
            counter: 0,
        };
        MemoryTelephony {
            inner: Arc::new(Mutex::new(inner)),
            live: None,
        }
    }

    /// Narrates every call into `live` as synthetic AMI events.
    pub fn with_live_state(mut self, live: LiveStateHandle) -> MemoryTelephony {
        self.live = Some(live);
        self
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Only plain data is behind this lock; a panicking test thread cannot corrupt it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn feed(&self, messages: Vec<Message>) {
        if let Some(live) = &self.live {
            for m in &messages {
                live.apply_message(m);
            }
        }
    }

    /// Scripts the dial string `channel` (exact match on `Originate::channel`).
    pub fn script(&self, channel: &str, script: Script) {
        self.lock().scripts.insert(channel.to_owned(), script);
    }

    /// Connects or disconnects the fake PBX; disconnected, every request is `NotConnected`.
    pub fn set_connected(&self, connected: bool) {
        self.lock().connected = connected;
    }

    /// Every accepted request, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// The accepted originates, in order.
    pub fn originates(&self) -> Vec<Originate> {
        let requests = self.requests();
        requests
            .into_iter()
            .filter_map(|r| match r {
                Recorded::Originate(o) => Some(o),
                _ => None,
            })
            .collect()
    }

    /// The channel name given to the leg whose Uniqueid is `channel_id`, while it is up.
    pub fn channel_of(&self, channel_id: &str) -> Option<String> {
        let inner = self.lock();
        inner
            .legs
            .values()
            .find(|l| l.sim.uniqueid == channel_id)
            .map(|l| l.sim.channel.clone())
    }

    /// Records `request` if connected and `valid` agrees, as Asterisk would have accepted it.
    fn accept(
        &self,
        request: Recorded,
        valid: impl FnOnce(&mut Inner) -> Result<()>,
    ) -> Result<()> {
        let mut inner = self.lock();
        if !inner.connected {
            return Err(TelephonyError::NotConnected);
        }
        valid(&mut inner)?;
        inner.requests.push(request);
        Ok(())
    }

    /// Starts a leg for `dial` and returns the future of its outcome.
    fn start(
        &self,
        dial: &str,
        channel_id: &str,
        variables: &[(String, String)],
        session: Option<(String, u32)>,
    ) -> Result<PendingOriginate> {
        let (script, sim) = {
            let mut inner = self.lock();
            inner.counter += 1;
            let script = inner.scripts.get(dial).copied().unwrap_or(inner.default);
            let sim =
                SyntheticChannel::new(&channel_name(dial, inner.counter), channel_id, channel_id);
            inner.legs.insert(
                sim.channel.clone(),
                Leg {
                    sim: sim.clone(),
                    state: LegState::Down,
                    bridge: None,
                },
            );
            (script, sim)
        };
        let mut first = vec![sim.newchannel(LegState::Down)];
        first.extend(
            variables
                .iter()
                .map(|(k, v)| sim.var_set(LegState::Down, k, v)),
        );
        if script.outcome != ScriptedOutcome::Busy
            && script.outcome != ScriptedOutcome::Congestion
            && script.outcome != ScriptedOutcome::Fail
        {
            first.push(sim.newstate(LegState::Ringing));
            first.push(sim.dial_state(LegState::Ringing, "RINGING"));
        }
        self.feed(first);
        let amd = variables.iter().any(|(k, v)| k == AMD_VARIABLE && v == "1");
        let (tx, rx) = tokio::sync::oneshot::channel();
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(script.after).await;
            let result = this.finish(&sim, script, session, amd).await;
            // The caller may have dropped the outcome; the call went on regardless.
            let _ = tx.send(result);
        });
        let outcome =
            Box::pin(async move { rx.await.unwrap_or(Err(TelephonyError::ConnectionLost)) });
        Ok(PendingOriginate {
            channel_id: channel_id.to_owned(),
            outcome,
        })
    }

    async fn finish(
        &self,
        sim: &SyntheticChannel,
        script: Script,
        session: Option<(String, u32)>,
        amd: bool,
    ) -> Result<OriginateOutcome> {
        if !self.lock().connected {
            return Err(TelephonyError::ConnectionLost);
        }
        let (cause, status, outcome) = cause_of(script.outcome);
        let answered = matches!(
            script.outcome,
            ScriptedOutcome::Answer | ScriptedOutcome::Machine
        );
        if !answered {
            self.feed(vec![sim.dial_end(LegState::Down, status)]);
            self.end_leg(&sim.channel, cause);
            return Ok(outcome);
        }
        let mut messages = vec![
            sim.newstate(LegState::Up),
            sim.dial_end(LegState::Up, status),
        ];
        if amd {
            let verdict = match script.outcome {
                ScriptedOutcome::Machine => "MACHINE",
                _ => "HUMAN",
            };
            messages.push(sim.var_set(LegState::Up, AMD_STATUS_VARIABLE, verdict));
        }
        {
            let mut inner = self.lock();
            if let Some(leg) = inner.legs.get_mut(&sim.channel) {
                leg.state = LegState::Up;
                // The leg answering into an agent's session bridge sits in its ConfBridge.
                if let Some((agent, channels)) = session {
                    let bridge = (format!("sim-session-{agent}"), format!("agent-{agent}"));
                    messages.push(sim.bridge_enter(&bridge.0, &bridge.1, channels));
                    leg.bridge = Some(bridge);
                }
            }
        }
        self.feed(messages);
        if let Some(talk) = script.hangup_after {
            // The outcome is known at the answer (as `OriginateResponse` is); the callee hangs
            // up later on its own.
            let (this, channel) = (self.clone(), sim.channel.clone());
            tokio::spawn(async move {
                tokio::time::sleep(talk).await;
                this.end_leg(&channel, cause);
            });
        }
        Ok(outcome)
    }

    /// Leaves the leg's bridge and hangs it up; false when no such live leg.
    fn end_leg(&self, channel: &str, cause: u16) -> bool {
        let Some(leg) = self.lock().legs.remove(channel) else {
            return false;
        };
        let mut messages = Vec::new();
        if let Some((id, name)) = &leg.bridge {
            messages.push(leg.sim.bridge_leave(id, name, 1));
        }
        messages.push(leg.sim.hangup(leg.state, cause));
        self.feed(messages);
        true
    }
}

fn no_such_channel() -> TelephonyError {
    TelephonyError::Rejected("No such channel".to_owned())
}

/// Claims fresh channel ids; a reused one is refused like Asterisk refuses a duplicate Uniqueid.
fn claim_ids(inner: &mut Inner, ids: &[&str]) -> Result<()> {
    if let Some(dup) = ids.iter().find(|id| inner.channel_ids.contains(**id)) {
        return Err(TelephonyError::Rejected(format!(
            "duplicate channel id {dup}"
        )));
    }
    inner
        .channel_ids
        .extend(ids.iter().map(|id| (*id).to_owned()));
    Ok(())
}

impl Telephony for MemoryTelephony {
    fn originate(&self, request: Originate) -> BoxFuture<'_, Result<PendingOriginate>> {
        Box::pin(async move {
            check("channel", &request.channel)?;
            check("channel_id", &request.channel_id)?;
            for (name, value) in &request.variables {
                check(name, value)?;
            }
            let mut ids = vec![request.channel_id.as_str()];
            ids.extend(request.other_channel_id.as_deref());
            self.accept(Recorded::Originate(request.clone()), |inner| {
                claim_ids(inner, &ids)
            })?;
            // The agent's phone joins its session bridge alone; a customer call originated
            // straight into the bridge (preview dialing) joins the agent there.
            let session = match &request.target {
                OriginateTarget::Extension { context, exten, .. }
                    if context == AGENT_SESSION_CONTEXT =>
                {
                    Some((exten.clone(), 1))
                }
                OriginateTarget::Extension { context, exten, .. }
                    if context == AGENT_BRIDGE_CONTEXT =>
                {
                    Some((exten.clone(), 2))
                }
                _ => None,
            };
            self.start(
                &request.channel,
                &request.channel_id,
                &request.variables,
                session,
            )
        })
    }

    fn hangup(&self, channel: String, cause: Option<u16>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let request = Recorded::Hangup {
                channel: channel.clone(),
                cause,
            };
            self.accept(request, |inner| {
                inner
                    .legs
                    .contains_key(&channel)
                    .then_some(())
                    .ok_or_else(no_such_channel)
            })?;
            self.end_leg(&channel, cause.unwrap_or(16));
            Ok(())
        })
    }

    fn redirect(&self, redirect: Redirect) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            for value in [&redirect.channel, &redirect.context, &redirect.exten] {
                check("redirect", value)?;
            }
            self.accept(Recorded::Redirect(redirect.clone()), |inner| {
                inner
                    .legs
                    .contains_key(&redirect.channel)
                    .then_some(())
                    .ok_or_else(no_such_channel)
            })?;
            let mut messages = Vec::new();
            if let Some(leg) = self.lock().legs.get_mut(&redirect.channel) {
                if let Some((id, name)) = leg.bridge.take() {
                    messages.push(leg.sim.bridge_leave(&id, &name, 1));
                }
                redirect.context.clone_into(&mut leg.sim.context);
                redirect.exten.clone_into(&mut leg.sim.exten);
                // Moving a call into an agent's session bridge joins the agent already there.
                if redirect.context == AGENT_BRIDGE_CONTEXT {
                    let bridge = (
                        format!("sim-session-{}", redirect.exten),
                        format!("agent-{}", redirect.exten),
                    );
                    messages.push(leg.sim.bridge_enter(&bridge.0, &bridge.1, 2));
                    leg.bridge = Some(bridge);
                }
            }
            self.feed(messages);
            Ok(())
        })
    }

    fn spy(&self, spy: Spy) -> BoxFuture<'_, Result<PendingOriginate>> {
        Box::pin(async move {
            check("supervisor_channel", &spy.supervisor_channel)?;
            check("target_channel", &spy.target_channel)?;
            let id = spy.channel_id.clone();
            self.accept(Recorded::Spy(spy.clone()), |inner| {
                claim_ids(inner, &[id.as_str()])
            })?;
            self.start(&spy.supervisor_channel, &spy.channel_id, &[], None)
        })
    }

    fn queue_pause(
        &self,
        member: QueueMember,
        paused: bool,
        reason: Option<String>,
    ) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut queues = Vec::new();
            let request = Recorded::QueuePause {
                member: member.clone(),
                paused,
                reason: reason.clone(),
            };
            self.accept(request, |inner| {
                queues = inner
                    .members
                    .iter()
                    .filter(|(q, i)| {
                        *i == member.interface && member.queue.as_ref().is_none_or(|m| m == q)
                    })
                    .map(|(q, _)| q.clone())
                    .collect();
                queues.sort();
                if queues.is_empty() {
                    return Err(TelephonyError::Rejected("Interface not found".to_owned()));
                }
                Ok(())
            })?;
            let name = member.member_name.as_deref();
            self.feed(
                queues
                    .iter()
                    .map(|q| {
                        queue_member_event(
                            "QueueMemberPause",
                            q,
                            &member.interface,
                            name,
                            paused,
                            reason.as_deref(),
                        )
                    })
                    .collect(),
            );
            Ok(())
        })
    }

    fn queue_add(&self, member: QueueMember) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let Some(queue) = member.queue.clone() else {
                return Err(TelephonyError::Invalid(
                    "queue_add needs a queue".to_owned(),
                ));
            };
            self.accept(Recorded::QueueAdd(member.clone()), |inner| {
                if inner
                    .members
                    .insert((queue.clone(), member.interface.clone()))
                {
                    Ok(())
                } else {
                    Err(TelephonyError::Rejected(
                        "Unable to add interface: Already there".to_owned(),
                    ))
                }
            })?;
            let name = member.member_name.as_deref();
            self.feed(vec![queue_member_event(
                "QueueMemberAdded",
                &queue,
                &member.interface,
                name,
                false,
                None,
            )]);
            Ok(())
        })
    }

    fn queue_remove(&self, member: QueueMember) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let Some(queue) = member.queue.clone() else {
                return Err(TelephonyError::Invalid(
                    "queue_remove needs a queue".to_owned(),
                ));
            };
            self.accept(Recorded::QueueRemove(member.clone()), |inner| {
                if inner
                    .members
                    .remove(&(queue.clone(), member.interface.clone()))
                {
                    Ok(())
                } else {
                    Err(TelephonyError::Rejected(
                        "Unable to remove interface: Not there".to_owned(),
                    ))
                }
            })?;
            let name = member.member_name.as_deref();
            self.feed(vec![queue_member_event(
                "QueueMemberRemoved",
                &queue,
                &member.interface,
                name,
                false,
                None,
            )]);
            Ok(())
        })
    }
}
