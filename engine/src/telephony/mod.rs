//! The [`Telephony`] trait: everything the dialer, the IVR and the API ask Asterisk to do.
//!
//! Two implementations exist: one over AMI (production) and a deterministic in-memory one
//! (tests and the simulator). Requests are plain owned structs so the trait stays
//! object-safe (`Arc<dyn Telephony>`).
//!
//! Dialplan contract (see `asterisk/extensions.conf`): an agent session is a personal
//! ConfBridge named `agent-<agent_id>`; the agent's phone is called once at login into context
//! [`AGENT_SESSION_CONTEXT`] with the agent id as extension, and an answered customer call is
//! connected by redirecting it into context [`AGENT_BRIDGE_CONTEXT`], same extension. Campaign
//! calls are `Local/<number>@`[`DIALER_CONTEXT`] channels whose answered half waits in
//! [`ANSWERED_CONTEXT`] until callpro redirects it to an agent or to [`DROP_CONTEXT`].

pub mod memory;

use std::time::Duration;

use futures_util::future::BoxFuture;

/// Context that puts an agent's phone into their session bridge.
pub const AGENT_SESSION_CONTEXT: &str = "callpro-agent-session";
/// Context that moves a customer call into an agent's session bridge.
pub const AGENT_BRIDGE_CONTEXT: &str = "callpro-agent-bridge";
/// Context that dials a number (its extension) through the trunk in `CALLPRO_TRUNK`.
pub const DIALER_CONTEXT: &str = "callpro-dialer";
/// Context where an answered dialer call waits (after `AMD()` when asked) until callpro moves
/// it to an agent or to the drop message.
pub const ANSWERED_CONTEXT: &str = "callpro-answered";
/// Context that plays the compliant information message to a call no agent could take.
pub const DROP_CONTEXT: &str = "callpro-drop";
/// Channel variable asking the dialplan to run `AMD()` on the answered call (`1`).
pub const AMD_VARIABLE: &str = "CALLPRO_AMD";

/// Failures of a telephony request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelephonyError {
    /// No connection to Asterisk right now.
    #[error("not connected to Asterisk")]
    NotConnected,
    /// The connection dropped while the request was pending; it may or may not have run.
    #[error("the connection to Asterisk was lost before the answer")]
    ConnectionLost,
    /// Asterisk answered `Response: Error` with this message.
    #[error("Asterisk refused the request: {0}")]
    Rejected(String),
    /// No answer in time.
    #[error("Asterisk did not answer in time")]
    Timeout,
    /// The request itself is malformed (e.g. a newline in a value).
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// Result of telephony requests.
pub type Result<T, E = TelephonyError> = std::result::Result<T, E>;

/// Where an originated call goes once its first leg answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginateTarget {
    /// A dialplan location.
    Extension {
        /// Context.
        context: String,
        /// Extension.
        exten: String,
        /// Priority.
        priority: u32,
    },
    /// A dialplan application with its data.
    Application {
        /// Application name, e.g. `ChanSpy`.
        app: String,
        /// Its arguments.
        data: String,
    },
}

/// An asynchronous originate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Originate {
    /// Dial string of the first leg: `Local/0600000001@dialer/n`, `PJSIP/1001`, ...
    pub channel: String,
    /// Where the answered first leg goes.
    pub target: OriginateTarget,
    /// Caller ID shown to the called party.
    pub caller_id: Option<String>,
    /// Ring timeout of the first leg.
    pub timeout: Duration,
    /// Channel variables set on the new channel.
    pub variables: Vec<(String, String)>,
    /// Our own Uniqueid for the first leg: ties every later event to this attempt.
    pub channel_id: String,
    /// Our own Uniqueid for the second half of a `Local/` channel.
    pub other_channel_id: Option<String>,
    /// CDR account code.
    pub account: Option<String>,
}

/// How an originate ended (from `OriginateResponse`'s `Reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OriginateOutcome {
    /// 4: the first leg answered.
    Answered,
    /// 5: busy.
    Busy,
    /// 3: rang out without answer.
    NoAnswer,
    /// 8: congestion.
    Congestion,
    /// 1: hung up before answer.
    HungUp,
    /// 0 or anything else: failed (note: a busy trunk behind a `Local/` channel reports 0).
    Failed,
}

/// An originate Asterisk accepted; its outcome comes later.
pub struct PendingOriginate {
    /// The `channel_id` of the request.
    pub channel_id: String,
    /// Resolves on `OriginateResponse` (or [`TelephonyError::ConnectionLost`]).
    pub outcome: BoxFuture<'static, Result<OriginateOutcome>>,
}

impl std::fmt::Debug for PendingOriginate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingOriginate")
            .field("channel_id", &self.channel_id)
            .finish_non_exhaustive()
    }
}

/// `Redirect` of one channel (and optionally its peer) to a dialplan location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// Channel name to move.
    pub channel: String,
    /// Its peer, moved too (attended moves of both legs).
    pub extra_channel: Option<String>,
    /// Context.
    pub context: String,
    /// Extension.
    pub exten: String,
    /// Priority.
    pub priority: u32,
}

/// Supervision modes (ChanSpy options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpyMode {
    /// Listen only (`q`).
    Listen,
    /// Talk to the agent only (`w`, coaching).
    Whisper,
    /// Talk to both parties (`B`).
    Barge,
}

/// A supervisor listening to, coaching or joining a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spy {
    /// The supervisor's phone, e.g. `PJSIP/1002`.
    pub supervisor_channel: String,
    /// The spied channel's name.
    pub target_channel: String,
    /// Mode.
    pub mode: SpyMode,
    /// Our own Uniqueid for the supervisor's leg.
    pub channel_id: String,
}

/// A queue membership change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMember {
    /// Queue name (`None` for pause/unpause: every queue of the interface).
    pub queue: Option<String>,
    /// Interface, e.g. `PJSIP/agent1002`.
    pub interface: String,
    /// Penalty (add only).
    pub penalty: Option<u32>,
    /// Name shown in queue events (add only).
    pub member_name: Option<String>,
}

/// What callpro asks of the PBX.
pub trait Telephony: Send + Sync + 'static {
    /// Queues an asynchronous originate. Resolves when Asterisk accepted it, never waiting for
    /// the call itself; an originate is never sent twice, even across reconnects.
    fn originate(&self, request: Originate) -> BoxFuture<'_, Result<PendingOriginate>>;

    /// Hangs a channel up with an optional Q.850 cause.
    fn hangup(&self, channel: String, cause: Option<u16>) -> BoxFuture<'_, Result<()>>;

    /// Moves a channel (transfer).
    fn redirect(&self, redirect: Redirect) -> BoxFuture<'_, Result<()>>;

    /// Connects an answered call to an agent by moving it into the agent's session bridge.
    fn bridge_to_agent(&self, channel: String, agent_id: i64) -> BoxFuture<'_, Result<()>> {
        self.redirect(Redirect {
            channel,
            extra_channel: None,
            context: AGENT_BRIDGE_CONTEXT.into(),
            exten: agent_id.to_string(),
            priority: 1,
        })
    }

    /// Calls a supervisor's phone into ChanSpy on the target.
    fn spy(&self, spy: Spy) -> BoxFuture<'_, Result<PendingOriginate>>;

    /// Pauses or unpauses a queue member.
    fn queue_pause(
        &self,
        member: QueueMember,
        paused: bool,
        reason: Option<String>,
    ) -> BoxFuture<'_, Result<()>>;

    /// Adds a member to a queue.
    fn queue_add(&self, member: QueueMember) -> BoxFuture<'_, Result<()>>;

    /// Removes a member from a queue.
    fn queue_remove(&self, member: QueueMember) -> BoxFuture<'_, Result<()>>;
}
