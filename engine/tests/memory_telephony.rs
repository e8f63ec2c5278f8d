//! The in-memory `Telephony`: scripted outcomes on virtual time, request recording, refusals,
//! and an end-to-end agent session narrated into the live state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use callpro_engine::bus::EventBus;
use callpro_engine::state::{AgentLogin, AgentStatus, CallPhase, LiveStateConfig, LiveStateHandle};
use callpro_engine::telephony::memory::{MemoryTelephony, Recorded, Script, ScriptedOutcome};
use callpro_engine::telephony::{
    AGENT_SESSION_CONTEXT, Originate, OriginateOutcome, OriginateTarget, QueueMember, Telephony,
    TelephonyError,
};
use tokio::time::Instant;

fn originate(dial: &str, id: &str, target: OriginateTarget) -> Originate {
    Originate {
        channel: dial.into(),
        target,
        caller_id: Some("0142000000".into()),
        timeout: Duration::from_secs(30),
        variables: vec![
            ("CALLPRO_CALL_ID".into(), format!("c-{id}")),
            ("CALLPRO_CALL_CENTER".into(), "7".into()),
        ],
        channel_id: id.into(),
        other_channel_id: None,
        account: None,
    }
}

fn answered() -> OriginateTarget {
    OriginateTarget::Extension {
        context: "answered".into(),
        exten: "s".into(),
        priority: 1,
    }
}

fn member(queue: Option<&str>) -> QueueMember {
    QueueMember {
        queue: queue.map(str::to_owned),
        interface: "PJSIP/agent1002".into(),
        penalty: Some(1),
        member_name: Some("Agent 1002".into()),
    }
}

#[tokio::test(start_paused = true)]
async fn scripted_outcomes_follow_virtual_time() {
    let live = LiveStateHandle::new(LiveStateConfig::default(), EventBus::default());
    let pbx = MemoryTelephony::new(Script::new(ScriptedOutcome::Answer, Duration::from_secs(2)))
        .with_live_state(live.clone());
    pbx.script(
        "PJSIP/0600000002@yeastar-paris",
        Script::new(ScriptedOutcome::Busy, Duration::from_secs(5)),
    );
    pbx.script(
        "PJSIP/0600000003@yeastar-paris",
        Script::new(ScriptedOutcome::NoAnswer, Duration::from_secs(30)),
    );

    let start = Instant::now();
    let a = pbx
        .originate(originate(
            "PJSIP/0600000001@yeastar-paris",
            "a-1",
            answered(),
        ))
        .await
        .unwrap();
    let b = pbx
        .originate(originate(
            "PJSIP/0600000002@yeastar-paris",
            "b-1",
            answered(),
        ))
        .await
        .unwrap();
    let c = pbx
        .originate(originate(
            "PJSIP/0600000003@yeastar-paris",
            "c-1",
            answered(),
        ))
        .await
        .unwrap();
    assert_eq!(live.snapshot_calls().len(), 3, "calls appear at once");
    assert_eq!(
        live.call("c-1").unwrap().legs[0].dial_status.as_deref(),
        Some("RINGING")
    );

    assert_eq!(a.outcome.await, Ok(OriginateOutcome::Answered));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    let call = live.call("a-1").unwrap();
    assert_eq!(call.phase, CallPhase::Answered);
    assert_eq!(
        (call.call_center_id, call.callpro_call_id.as_deref()),
        (Some(7), Some("c-a-1"))
    );
    assert_eq!(call.legs[0].channel, "PJSIP/yeastar-paris-00000001");

    assert_eq!(b.outcome.await, Ok(OriginateOutcome::Busy));
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    let busy = live.call("b-1").unwrap();
    assert_eq!(
        (busy.phase, busy.hangup_cause, busy.dial_status.as_deref()),
        (CallPhase::Ended, Some(17), Some("BUSY"))
    );

    assert_eq!(c.outcome.await, Ok(OriginateOutcome::NoAnswer));
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(live.call("c-1").unwrap().hangup_cause, Some(19));

    // An answered call whose callee hangs up by itself.
    pbx.script(
        "PJSIP/0600000004@yeastar-paris",
        Script::new(ScriptedOutcome::Answer, Duration::from_secs(1))
            .then_hangup_after(Duration::from_secs(60)),
    );
    let d = pbx
        .originate(originate(
            "PJSIP/0600000004@yeastar-paris",
            "d-1",
            answered(),
        ))
        .await
        .unwrap();
    assert_eq!(d.outcome.await, Ok(OriginateOutcome::Answered));
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert_eq!(live.call("d-1").map(|c| c.phase), Some(CallPhase::Ended));
}

#[tokio::test(start_paused = true)]
async fn duplicate_channel_id_and_disconnection_are_refused() {
    let pbx = MemoryTelephony::default();
    let first = pbx
        .originate(originate("PJSIP/1", "dup-1", answered()))
        .await;
    assert!(first.is_ok());
    let again = pbx
        .originate(originate("PJSIP/2", "dup-1", answered()))
        .await;
    assert!(matches!(again, Err(TelephonyError::Rejected(m)) if m.contains("dup-1")));
    assert_eq!(
        pbx.originates().len(),
        1,
        "the refused originate is not recorded"
    );
    let bad = originate("PJSIP/1\r\nAction: Logoff", "x-1", answered());
    assert!(matches!(
        pbx.originate(bad).await,
        Err(TelephonyError::Invalid(_))
    ));

    pbx.set_connected(false);
    assert!(matches!(
        pbx.originate(originate("PJSIP/3", "n-1", answered())).await,
        Err(TelephonyError::NotConnected)
    ));
    assert_eq!(
        pbx.hangup("PJSIP/1-00000001".into(), None).await,
        Err(TelephonyError::NotConnected)
    );
    assert_eq!(
        pbx.queue_add(member(Some("sales"))).await,
        Err(TelephonyError::NotConnected)
    );
    // A call in flight when the link drops resolves as lost, never as an invented outcome.
    assert_eq!(
        first.unwrap().outcome.await,
        Err(TelephonyError::ConnectionLost)
    );
    pbx.set_connected(true);
    assert!(
        pbx.originate(originate("PJSIP/3", "n-1", answered()))
            .await
            .is_ok()
    );
    assert_eq!(pbx.requests().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn queue_operations_mirror_asterisk() {
    let live = LiveStateHandle::new(LiveStateConfig::default(), EventBus::default());
    let pbx = MemoryTelephony::default().with_live_state(live.clone());
    pbx.queue_add(member(Some("sales"))).await.unwrap();
    pbx.queue_pause(member(None), true, Some("lunch".into()))
        .await
        .unwrap();
    let agent = live.snapshot_agents().remove(0);
    assert_eq!(
        (agent.status, agent.pause_reason.as_deref()),
        (AgentStatus::Paused, Some("lunch"))
    );
    pbx.queue_pause(member(Some("sales")), false, None)
        .await
        .unwrap();
    assert_eq!(live.snapshot_agents()[0].status, AgentStatus::Ready);
    pbx.queue_remove(member(Some("sales"))).await.unwrap();
    assert!(live.snapshot_agents().is_empty());
    assert_eq!(
        pbx.queue_remove(member(Some("sales"))).await,
        Err(TelephonyError::Rejected(
            "Unable to remove interface: Not there".into()
        ))
    );
    assert!(matches!(
        pbx.requests()[1],
        Recorded::QueuePause { paused: true, .. }
    ));
    assert_eq!(pbx.requests().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn end_to_end_call_through_an_agent_session() {
    let live = LiveStateHandle::new(LiveStateConfig::default(), EventBus::default());
    let pbx = MemoryTelephony::new(Script::new(
        ScriptedOutcome::Answer,
        Duration::from_millis(500),
    ))
    .with_live_state(live.clone());
    live.agent_login(&AgentLogin {
        agent_id: 42,
        extension: "1001".into(),
        site_id: Some(1),
        call_center_id: Some(7),
    })
    .unwrap();

    // Login calls the agent's phone into its personal bridge.
    let session = OriginateTarget::Extension {
        context: AGENT_SESSION_CONTEXT.into(),
        exten: "42".into(),
        priority: 1,
    };
    let phone = pbx
        .originate(originate("PJSIP/1001", "sess-42", session))
        .await
        .unwrap();
    assert_eq!(phone.outcome.await, Ok(OriginateOutcome::Answered));
    live.agent_ready(42).unwrap();
    let agent = live.agent(42).unwrap();
    assert_eq!(
        (agent.status, agent.session_channel.as_deref()),
        (AgentStatus::Ready, Some("PJSIP/1001-00000001"))
    );

    let call = pbx
        .originate(originate("Local/0600000001@dialer/n", "call-1", answered()))
        .await
        .unwrap();
    assert_eq!(call.outcome.await, Ok(OriginateOutcome::Answered));
    let channel = pbx.channel_of("call-1").unwrap();
    assert_eq!(channel, "Local/0600000001@dialer-00000002;1");
    pbx.bridge_to_agent(channel.clone(), 42).await.unwrap();
    let agent = live.agent(42).unwrap();
    assert_eq!(
        (agent.status, agent.call_linkedid.as_deref()),
        (AgentStatus::InCall, Some("call-1"))
    );
    assert_eq!(live.call("call-1").unwrap().agent_id, Some(42));

    pbx.hangup(channel.clone(), None).await.unwrap();
    assert_eq!(live.agent(42).unwrap().status, AgentStatus::Ready);
    let ended = live.call("call-1").unwrap();
    assert_eq!(
        (ended.phase, ended.hangup_cause),
        (CallPhase::Ended, Some(16))
    );
    assert_eq!(
        pbx.hangup(channel, None).await,
        Err(TelephonyError::Rejected("No such channel".into()))
    );
    let kinds: Vec<&str> = pbx
        .requests()
        .iter()
        .map(|r| match r {
            Recorded::Originate(_) => "originate",
            Recorded::Redirect(_) => "redirect",
            Recorded::Hangup { .. } => "hangup",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["originate", "originate", "redirect", "hangup"]);
}
