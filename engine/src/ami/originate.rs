//! Asynchronous originate over AMI: `Originate` with `Async: true` resolves as soon as Asterisk
//! queues it; the call's outcome arrives later as `Event: OriginateResponse` with the same
//! ActionID. Each originate is its own pending entry, so any number can be in flight at once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use super::client::{AmiClient, ClientResult};
use super::error::AmiClientError;
use super::event::OriginateReason;
use super::message::{Action, Message};
use super::pending::Reply;
use crate::telephony::{Originate, OriginateOutcome, OriginateTarget};

/// The `Originate` action for `request` (without ActionID), headers in the order of the
/// recorded captures.
pub fn originate_action(request: &Originate) -> Action {
    let mut action = Action::new("Originate").header("Channel", &request.channel);
    action = match &request.target {
        OriginateTarget::Extension {
            context,
            exten,
            priority,
        } => action
            .header("Context", context)
            .header("Exten", exten)
            .header("Priority", priority.to_string()),
        OriginateTarget::Application { app, data } => {
            action.header("Application", app).header("Data", data)
        }
    };
    action = action.header("Timeout", request.timeout.as_millis().to_string());
    if let Some(caller_id) = &request.caller_id {
        action = action.header("CallerID", caller_id);
    }
    if let Some(account) = &request.account {
        action = action.header("Account", account);
    }
    for (name, value) in &request.variables {
        action = action.variable(name, value);
    }
    action = action
        .header("Async", "true")
        .header("ChannelId", &request.channel_id);
    if let Some(other) = &request.other_channel_id {
        action = action.header("OtherChannelId", other);
    }
    action
}

/// Maps `OriginateResponse`'s `Reason` to an outcome (0 and unknown codes are failures).
pub fn outcome_of(event: &Message) -> OriginateOutcome {
    let reason = event
        .get("Reason")
        .and_then(|r| r.trim().parse::<u8>().ok())
        .map(OriginateReason::from);
    match reason {
        Some(OriginateReason::Answered) => OriginateOutcome::Answered,
        Some(OriginateReason::Busy) => OriginateOutcome::Busy,
        Some(OriginateReason::NoAnswer) => OriginateOutcome::NoAnswer,
        Some(OriginateReason::Congestion) => OriginateOutcome::Congestion,
        Some(OriginateReason::HungUp) => OriginateOutcome::HungUp,
        _ => OriginateOutcome::Failed,
    }
}

/// How an originate ended, with the raw `OriginateResponse` (Channel, Uniqueid, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginateResult {
    /// The mapped `Reason`.
    pub outcome: OriginateOutcome,
    /// The `OriginateResponse` event.
    pub event: Message,
}

/// An originate Asterisk has queued; await it for the [`OriginateResult`].
///
/// Fails with [`AmiClientError::ConnectionLost`] if the connection drops first: the call may
/// still be placed, so the caller must not simply originate again.
#[derive(Debug)]
pub struct OriginateHandle {
    /// The generated ActionID, echoed by `OriginateResponse`.
    pub action_id: String,
    /// The `ChannelId` requested (the first leg's Uniqueid).
    pub channel_id: String,
    outcome: oneshot::Receiver<ClientResult<Message>>,
}

impl Future for OriginateHandle {
    type Output = ClientResult<OriginateResult>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.outcome).poll(cx).map(|r| match r {
            Ok(Ok(event)) => Ok(OriginateResult {
                outcome: outcome_of(&event),
                event,
            }),
            Ok(Err(err)) => Err(err),
            // The pending entry vanished without an answer: only the client closing does that.
            Err(_) => Err(AmiClientError::Closed),
        })
    }
}

impl AmiClient {
    /// Sends an async `Originate` and returns once Asterisk queued it (`Originate successfully
    /// queued`); await the returned handle for the outcome. Never re-sent after a reconnect.
    pub async fn originate(&self, request: &Originate) -> ClientResult<OriginateHandle> {
        let (accepted_tx, accepted_rx) = oneshot::channel();
        let (outcome_tx, outcome_rx) = oneshot::channel();
        let reply = Reply::Originate {
            accepted: accepted_tx,
            outcome: outcome_tx,
        };
        let action_id = self.enqueue(originate_action(request), reply, None).await?;
        self.await_reply(&action_id, "Originate", accepted_rx)
            .await?;
        Ok(OriginateHandle {
            action_id,
            channel_id: request.channel_id.clone(),
            outcome: outcome_rx,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn reasons_map_to_outcomes() {
        let o = |r: &str| {
            outcome_of(&Message::parse(&format!(
                "Event: OriginateResponse\nReason: {r}\n"
            )))
        };
        assert_eq!(o("4"), OriginateOutcome::Answered);
        assert_eq!(o("5"), OriginateOutcome::Busy);
        assert_eq!(o("3"), OriginateOutcome::NoAnswer);
        assert_eq!(o("8"), OriginateOutcome::Congestion);
        assert_eq!(o("1"), OriginateOutcome::HungUp);
        assert_eq!(o("0"), OriginateOutcome::Failed);
        assert_eq!(o("7"), OriginateOutcome::Failed);
        assert_eq!(o("x"), OriginateOutcome::Failed);
    }

    #[test]
    fn application_target_and_optional_headers() {
        let req = Originate {
            channel: "PJSIP/1002".into(),
            target: OriginateTarget::Application {
                app: "ChanSpy".into(),
                data: "PJSIP/1001-0001,qE".into(),
            },
            caller_id: None,
            timeout: Duration::from_secs(30),
            variables: vec![("A".into(), "1".into()), ("B".into(), "2".into())],
            channel_id: "spy-1".into(),
            other_channel_id: None,
            account: Some("acct".into()),
        };
        let wire = String::from_utf8(originate_action(&req).to_bytes().unwrap().to_vec()).unwrap();
        assert_eq!(
            wire,
            "Action: Originate\r\nChannel: PJSIP/1002\r\nApplication: ChanSpy\r\nData: PJSIP/1001-0001,qE\r\nTimeout: 30000\r\nAccount: acct\r\nVariable: A=1\r\nVariable: B=2\r\nAsync: true\r\nChannelId: spy-1\r\n\r\n"
        );
    }
}
