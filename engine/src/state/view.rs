//! Serializable read views of the live state, as served by `GET /api/live/*` and carried by
//! [`crate::bus::LiveEvent`].
//!
//! The state stores these structs directly: a snapshot is a clone, and there is no second
//! model to keep in sync. Times are Unix epoch milliseconds (`*_ms`), the clock the API speaks.

use serde::{Deserialize, Serialize};

use crate::ami::ChannelState;

/// A channel's state, Asterisk's `ChannelState` by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegState {
    /// 0: down.
    Down,
    /// 1: reserved.
    Reserved,
    /// 2: off hook.
    OffHook,
    /// 3: digits dialed.
    Dialing,
    /// 4: ringing here (inbound).
    Ring,
    /// 5: remote end ringing (outbound).
    Ringing,
    /// 6: answered.
    Up,
    /// 7: busy.
    Busy,
    /// 8: dialing while off hook.
    DialingOffhook,
    /// 9: before ringing.
    PreRing,
    /// A number Asterisk did not document.
    Unknown,
}

impl From<ChannelState> for LegState {
    fn from(s: ChannelState) -> Self {
        match s {
            ChannelState::Down => LegState::Down,
            ChannelState::Reserved => LegState::Reserved,
            ChannelState::OffHook => LegState::OffHook,
            ChannelState::Dialing => LegState::Dialing,
            ChannelState::Ring => LegState::Ring,
            ChannelState::Ringing => LegState::Ringing,
            ChannelState::Up => LegState::Up,
            ChannelState::Busy => LegState::Busy,
            ChannelState::DialingOffhook => LegState::DialingOffhook,
            ChannelState::PreRing => LegState::PreRing,
            ChannelState::Unknown(_) => LegState::Unknown,
        }
    }
}

/// One channel (leg) of a call, keyed by its `Uniqueid`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegView {
    /// Asterisk `Uniqueid` (our own `ChannelId` for originated legs).
    pub uniqueid: String,
    /// Channel name, e.g. `PJSIP/yeastar-paris-00000000`.
    pub channel: String,
    /// Current channel state.
    pub state: LegState,
    /// Caller ID number (`<unknown>` reads as absent).
    pub caller_id_num: Option<String>,
    /// Caller ID name.
    pub caller_id_name: Option<String>,
    /// Connected line number: who this leg talks to.
    pub connected_line_num: Option<String>,
    /// Connected line name.
    pub connected_line_name: Option<String>,
    /// Dialplan context where the channel currently is.
    pub context: Option<String>,
    /// Dialplan extension where the channel currently is.
    pub exten: Option<String>,
    /// Last `DialStatus` of a dial *to* this leg (`RINGING`, `ANSWER`, `BUSY`, ...).
    pub dial_status: Option<String>,
    /// Bridge the leg is in right now.
    pub bridge_id: Option<String>,
    /// Name of that bridge (`agent-<id>` for an agent session ConfBridge).
    pub bridge_name: Option<String>,
    /// When the leg appeared.
    pub created_ms: u64,
    /// When it first reached `Up`.
    pub answered_ms: Option<u64>,
    /// When it hung up.
    pub ended_ms: Option<u64>,
    /// Q.850 hangup cause (16 normal clearing, 17 busy, ...).
    pub hangup_cause: Option<u16>,
    /// Asterisk's text for the cause.
    pub hangup_cause_txt: Option<String>,
}

/// Where a call is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPhase {
    /// No leg answered yet.
    Setup,
    /// At least one leg answered.
    Answered,
    /// Every leg hung up.
    Ended,
}

/// A call: every leg sharing one `Linkedid`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallView {
    /// Asterisk `Linkedid` (the first leg's Uniqueid).
    pub linkedid: String,
    /// Owning call center (tenant), once known; see [`super::TenantResolver`].
    pub call_center_id: Option<i64>,
    /// callpro's own call id (`CALLPRO_CALL_ID` channel variable), ties the call to an attempt.
    pub callpro_call_id: Option<String>,
    /// Agent whose session bridge the call was moved into.
    pub agent_id: Option<i64>,
    /// Life phase.
    pub phase: CallPhase,
    /// Legs in order of appearance.
    pub legs: Vec<LegView>,
    /// Last `DialStatus` seen on a `DialEnd` of this call.
    pub dial_status: Option<String>,
    /// What answering-machine detection said (`AMDSTATUS`: `HUMAN`, `MACHINE`, `NOTSURE`,
    /// `HANGUP`), once `AMD()` ran on a leg.
    pub amd_status: Option<String>,
    /// When the first leg appeared.
    pub created_ms: u64,
    /// When the first leg answered.
    pub answered_ms: Option<u64>,
    /// When two or more channels were first bridged together.
    pub bridged_ms: Option<u64>,
    /// When the last leg hung up.
    pub ended_ms: Option<u64>,
    /// The first non-zero hangup cause of a leg (else the last cause seen).
    pub hangup_cause: Option<u16>,
}

impl CallView {
    /// The leg with `uniqueid`.
    pub fn leg(&self, uniqueid: &str) -> Option<&LegView> {
        self.legs.iter().find(|l| l.uniqueid == uniqueid)
    }
}

/// What an agent is doing, derived from the flags of [`AgentView`] (first match wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Not logged in.
    LoggedOut,
    /// Talking.
    InCall,
    /// After-call work.
    WrapUp,
    /// Paused (see the reason).
    Paused,
    /// Waiting for a call.
    Ready,
    /// Logged in but not (yet) ready.
    NotReady,
}

/// An agent position, keyed by device interface (`PJSIP/agent1002`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentView {
    /// Device interface as Asterisk names it.
    pub interface: String,
    /// callpro agent (user) id while a callpro session is logged in on this interface.
    pub agent_id: Option<i64>,
    /// Queue member name, when Asterisk reported one.
    pub member_name: Option<String>,
    /// Site of the session.
    pub site_id: Option<i64>,
    /// Owning call center (tenant).
    pub call_center_id: Option<i64>,
    /// Derived status.
    pub status: AgentStatus,
    /// Logged in (callpro session, or member of at least one queue).
    pub logged_in: bool,
    /// Declared ready for calls.
    pub ready: bool,
    /// Paused.
    pub paused: bool,
    /// Pause reason (`lunch`, ...).
    pub pause_reason: Option<String>,
    /// Talking to a caller.
    pub in_call: bool,
    /// Doing after-call work.
    pub wrap_up: bool,
    /// When `status` last changed.
    pub since_ms: u64,
    /// Queues the interface is a member of.
    pub queues: Vec<String>,
    /// The agent phone's channel inside the session bridge, while it is there.
    pub session_channel: Option<String>,
    /// Linkedid of the call currently in the agent's session bridge.
    pub call_linkedid: Option<String>,
}

/// A caller waiting in a queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingCaller {
    /// The caller's leg.
    pub uniqueid: String,
    /// Channel name.
    pub channel: Option<String>,
    /// Caller ID number.
    pub caller_id_num: Option<String>,
    /// Caller ID name.
    pub caller_id_name: Option<String>,
    /// Position in the queue (1 = next).
    pub position: Option<u32>,
    /// When the caller joined.
    pub joined_ms: u64,
}

/// A queue member as Asterisk sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMemberView {
    /// Interface, e.g. `PJSIP/agent1002`.
    pub interface: String,
    /// Member name.
    pub name: Option<String>,
    /// Penalty.
    pub penalty: Option<u32>,
    /// Paused.
    pub paused: bool,
    /// Pause reason.
    pub pause_reason: Option<String>,
    /// On a call.
    pub in_call: bool,
    /// Device state number (1 not in use, 2 in use, 4 invalid/unavailable, 6 ringing, ...).
    pub status: Option<u8>,
}

/// A queue: waiting callers and members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    /// Queue name.
    pub name: String,
    /// Owning call center (tenant).
    pub call_center_id: Option<i64>,
    /// Callers waiting, longest first.
    pub waiting: Vec<WaitingCaller>,
    /// How long the longest-waiting caller has waited, at snapshot time.
    pub longest_wait_ms: u64,
    /// Members.
    pub members: Vec<QueueMemberView>,
    /// Calls answered (from `QueueStatus`).
    pub completed: u64,
    /// Callers who hung up while waiting.
    pub abandoned: u64,
}

/// Health of a SIP trunk (a PJSIP endpoint towards a gateway).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrunkView {
    /// Endpoint name, e.g. `yeastar-paris`.
    pub name: String,
    /// Owning call center (tenant), when the trunk is not shared.
    pub call_center_id: Option<i64>,
    /// Asterisk's qualify verdict (`ContactStatus`): `None` until reported.
    pub reachable: Option<bool>,
    /// Asterisk's status text (`Reachable`, `Unreachable`, `NonQualified`, ...).
    pub status: Option<String>,
    /// Qualify round trip in microseconds.
    pub rtt_usec: Option<u64>,
    /// Contact URI.
    pub uri: Option<String>,
    /// When Asterisk last reported on it.
    pub updated_ms: Option<u64>,
    /// callpro's own SIP OPTIONS probe of the gateway.
    pub probe: Option<TrunkProbe>,
}

/// One result of callpro's SIP OPTIONS prober.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrunkProbe {
    /// The gateway answered.
    pub reachable: bool,
    /// Round trip in microseconds, when it answered.
    pub rtt_usec: Option<u64>,
    /// Status line or error text.
    pub detail: Option<String>,
    /// When the probe finished.
    pub checked_ms: u64,
}
