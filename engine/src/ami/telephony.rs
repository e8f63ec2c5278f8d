//! [`AmiTelephony`]: the production [`Telephony`] implementation, each request one AMI action
//! through an [`AmiClient`].

use futures_util::future::BoxFuture;

use super::client::AmiClient;
use super::error::AmiClientError;
use super::message::Action;
use crate::telephony::{
    Originate, OriginateTarget, PendingOriginate, QueueMember, Redirect, Result, Spy, SpyMode,
    Telephony, TelephonyError,
};

/// How long a supervisor's phone may ring before the spy attempt is given up.
const SPY_RING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// [`Telephony`] over AMI.
#[derive(Clone, Debug)]
pub struct AmiTelephony {
    client: AmiClient,
}

impl AmiTelephony {
    /// Wraps a client.
    pub fn new(client: AmiClient) -> AmiTelephony {
        AmiTelephony { client }
    }

    /// The underlying client (events, snapshots, status).
    pub fn client(&self) -> &AmiClient {
        &self.client
    }

    async fn run(&self, action: Action) -> Result<()> {
        self.client
            .send(action)
            .await
            .map(drop)
            .map_err(to_telephony)
    }

    async fn originate_inner(&self, request: Originate) -> Result<PendingOriginate> {
        let handle = self
            .client
            .originate(&request)
            .await
            .map_err(to_telephony)?;
        Ok(PendingOriginate {
            channel_id: request.channel_id,
            outcome: Box::pin(async move { handle.await.map(|r| r.outcome).map_err(to_telephony) }),
        })
    }
}

/// Client errors as the dialer and the API see them.
pub fn to_telephony(err: AmiClientError) -> TelephonyError {
    match err {
        AmiClientError::Rejected { message, .. } => TelephonyError::Rejected(message),
        AmiClientError::ConnectionLost => TelephonyError::ConnectionLost,
        AmiClientError::Timeout { .. } => TelephonyError::Timeout,
        AmiClientError::InvalidAction(why) => TelephonyError::Invalid(why),
        AmiClientError::NotConnected
        | AmiClientError::Closed
        | AmiClientError::AuthenticationFailed(_)
        | AmiClientError::Io(_)
        | AmiClientError::Protocol(_) => TelephonyError::NotConnected,
    }
}

/// ChanSpy options per mode; `E` ends the spy when the target hangs up.
fn spy_options(mode: SpyMode) -> &'static str {
    match mode {
        SpyMode::Listen => "qE",
        SpyMode::Whisper => "wE",
        SpyMode::Barge => "BE",
    }
}

fn queue_required(member: &QueueMember) -> Result<&str> {
    member
        .queue
        .as_deref()
        .ok_or_else(|| TelephonyError::Invalid("a queue name is required".into()))
}

impl Telephony for AmiTelephony {
    fn originate(&self, request: Originate) -> BoxFuture<'_, Result<PendingOriginate>> {
        Box::pin(self.originate_inner(request))
    }

    fn hangup(&self, channel: String, cause: Option<u16>) -> BoxFuture<'_, Result<()>> {
        let mut action = Action::new("Hangup").header("Channel", channel);
        if let Some(cause) = cause {
            action = action.header("Cause", cause.to_string());
        }
        Box::pin(self.run(action))
    }

    fn redirect(&self, redirect: Redirect) -> BoxFuture<'_, Result<()>> {
        let mut action = Action::new("Redirect").header("Channel", &redirect.channel);
        if let Some(extra) = &redirect.extra_channel {
            // Both legs go to the same place; Asterisk wants the Extra* location spelled out.
            action = action
                .header("ExtraChannel", extra)
                .header("ExtraContext", &redirect.context)
                .header("ExtraExten", &redirect.exten)
                .header("ExtraPriority", redirect.priority.to_string());
        }
        let action = action
            .header("Context", redirect.context)
            .header("Exten", redirect.exten)
            .header("Priority", redirect.priority.to_string());
        Box::pin(self.run(action))
    }

    fn spy(&self, spy: Spy) -> BoxFuture<'_, Result<PendingOriginate>> {
        Box::pin(async move {
            // ChanSpy splits its data on commas: a comma in the target would become options.
            if spy.target_channel.is_empty() || spy.target_channel.contains(',') {
                return Err(TelephonyError::Invalid(
                    "spy target must be a channel name without commas".into(),
                ));
            }
            let data = format!("{},{}", spy.target_channel, spy_options(spy.mode));
            let request = Originate {
                channel: spy.supervisor_channel,
                target: OriginateTarget::Application {
                    app: "ChanSpy".into(),
                    data,
                },
                caller_id: None,
                timeout: SPY_RING_TIMEOUT,
                variables: Vec::new(),
                channel_id: spy.channel_id,
                other_channel_id: None,
                account: None,
            };
            self.originate_inner(request).await
        })
    }

    fn queue_pause(
        &self,
        member: QueueMember,
        paused: bool,
        reason: Option<String>,
    ) -> BoxFuture<'_, Result<()>> {
        let mut action = Action::new("QueuePause");
        if let Some(queue) = &member.queue {
            action = action.header("Queue", queue);
        }
        action = action
            .header("Interface", member.interface)
            .header("Paused", if paused { "true" } else { "false" });
        if let Some(reason) = reason {
            action = action.header("Reason", reason);
        }
        Box::pin(self.run(action))
    }

    fn queue_add(&self, member: QueueMember) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut action = Action::new("QueueAdd")
                .header("Queue", queue_required(&member)?)
                .header("Interface", &member.interface);
            if let Some(name) = &member.member_name {
                action = action.header("MemberName", name);
            }
            if let Some(penalty) = member.penalty {
                action = action.header("Penalty", penalty.to_string());
            }
            self.run(action.header("Paused", "false")).await
        })
    }

    fn queue_remove(&self, member: QueueMember) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let action = Action::new("QueueRemove")
                .header("Queue", queue_required(&member)?)
                .header("Interface", &member.interface);
            self.run(action).await
        })
    }
}
