//! Replays the real Asterisk 22 AMI captures through `AmiCodec`, the typed events and
//! `LiveState`, and checks the calls, agents and queues a supervisor would see.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod fixtures;

use callpro_engine::ami::{AmiFrame, Message};
use callpro_engine::bus::LiveEvent;
use callpro_engine::state::{
    AgentStatus, CallPhase, LegState, LiveState, LiveStateConfig, TenantResolver,
};
use fixtures::{decode_ami, load_captures};

const T0: u64 = 1_795_441_000_000;

/// The messages Asterisk sent in capture `name`.
fn messages(name: &str) -> Vec<Message> {
    let cap = load_captures("ami")
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("capture {name} is missing"));
    decode_ami(&cap.in_chunks())
        .into_iter()
        .filter_map(|f| match f {
            AmiFrame::Message(m) => Some(m),
            AmiFrame::Banner(_) => None,
        })
        .collect()
}

/// Applies every message, 10 ms apart; returns the changes.
fn replay(state: &mut LiveState, msgs: &[Message]) -> Vec<LiveEvent> {
    msgs.iter()
        .enumerate()
        .flat_map(|(i, m)| state.apply_message(m, T0 + 10 * i as u64))
        .collect()
}

fn count(events: &[LiveEvent], f: impl Fn(&LiveEvent) -> bool) -> usize {
    events.iter().filter(|e| f(e)).count()
}

#[test]
fn originate_through_trunk_answered_bridged_then_normal_clearing() {
    let msgs = messages("ami-originate-trunk-answer");
    let mut state = LiveState::new(LiveStateConfig::default());
    let events = replay(&mut state, &msgs);

    let calls = state.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let call = &calls[0];
    assert_eq!(call.linkedid, "callpro-trunk-answer-1");
    let legs: Vec<(&str, &str)> = call
        .legs
        .iter()
        .map(|l| (l.uniqueid.as_str(), l.channel.as_str()))
        .collect();
    assert_eq!(
        legs,
        [
            (
                "callpro-trunk-answer-1",
                "Local/0600000001@dialer-00000002;1"
            ),
            (
                "callpro-trunk-answer-2",
                "Local/0600000001@dialer-00000002;2"
            ),
            ("1795441073.6", "PJSIP/yeastar-paris-00000000"),
        ]
    );
    assert_eq!(call.phase, CallPhase::Ended);
    assert_eq!(call.hangup_cause, Some(16));
    assert_eq!(call.dial_status.as_deref(), Some("ANSWER"));
    assert_eq!(call.callpro_call_id.as_deref(), Some("c-answer-0001"));
    let (answered, bridged, ended) = (
        call.answered_ms.unwrap(),
        call.bridged_ms.unwrap(),
        call.ended_ms.unwrap(),
    );
    assert!(call.created_ms < answered && answered <= bridged && bridged < ended);

    let trunk = call.leg("1795441073.6").unwrap();
    assert_eq!(trunk.dial_status.as_deref(), Some("ANSWER"));
    assert_eq!(trunk.caller_id_num.as_deref(), Some("0600000001"));
    assert_eq!(trunk.connected_line_num.as_deref(), Some("0142000000"));
    assert_eq!(trunk.state, LegState::Up);
    assert!(trunk.answered_ms.is_some());
    for leg in &call.legs {
        assert_eq!(leg.hangup_cause, Some(16), "{}", leg.channel);
        assert!(leg.ended_ms.is_some() && leg.bridge_id.is_none());
    }

    // While bridged, both bridged legs reported the same bridge.
    let bridge = "0adbf291-95af-4512-b81f-549878767e7b";
    let bridged_legs: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            LiveEvent::LegChanged { leg, .. } if leg.bridge_id.as_deref() == Some(bridge) => {
                Some(leg.uniqueid.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(bridged_legs, ["1795441073.6", "callpro-trunk-answer-2"]);

    assert!(matches!(
        events.first(),
        Some(LiveEvent::CallStarted { .. })
    ));
    assert!(matches!(events.last(), Some(LiveEvent::CallEnded { .. })));
    assert_eq!(
        count(&events, |e| matches!(e, LiveEvent::CallStarted { .. })),
        1
    );
    assert_eq!(
        count(&events, |e| matches!(e, LiveEvent::CallEnded { .. })),
        1
    );
    assert_eq!(
        count(&events, |e| matches!(e, LiveEvent::LegAdded { .. })),
        3
    );

    // Retention: the ended call goes away, with its leg index.
    state.prune(ended + 29_000);
    assert!(state.call("callpro-trunk-answer-1").is_some());
    state.prune(ended + 30_000);
    assert!(state.calls().is_empty());
    assert!(state.call_of_leg("1795441073.6").is_none());
}

#[test]
fn originate_through_trunk_busy() {
    let msgs = messages("ami-originate-trunk-busy");
    let mut state = LiveState::new(LiveStateConfig::default());
    replay(&mut state, &msgs);
    let calls = state.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.linkedid, "callpro-trunk-busy-1");
    assert_eq!(call.legs.len(), 3);
    assert_eq!(call.phase, CallPhase::Ended);
    assert_eq!(call.answered_ms, None);
    assert_eq!(call.bridged_ms, None);
    assert_eq!(call.hangup_cause, Some(17));
    assert_eq!(call.dial_status.as_deref(), Some("BUSY"));
    let trunk = call.leg("1795441080.9").unwrap();
    assert_eq!(trunk.channel, "PJSIP/yeastar-paris-00000001");
    assert_eq!(trunk.dial_status.as_deref(), Some("BUSY"));
    assert!(call.legs.iter().all(|l| l.hangup_cause == Some(17)));
}

#[test]
fn inbound_call_from_the_paris_gateway_hangs_up() {
    let msgs = messages("ami-inbound-call");
    let mut state = LiveState::new(LiveStateConfig::default());
    let mut tenants = TenantResolver::new();
    tenants.set_trunk("yeastar-paris", 3);
    state.set_tenants(tenants);
    let events = replay(&mut state, &msgs);

    let calls = state.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.linkedid, "1795441152.22");
    assert_eq!(
        call.call_center_id,
        Some(3),
        "attributed through the trunk map"
    );
    assert_eq!(call.legs.len(), 1);
    let leg = &call.legs[0];
    assert_eq!(leg.channel, "PJSIP/yeastar-paris-00000004");
    assert_eq!(leg.caller_id_num.as_deref(), Some("sipp"));
    assert_eq!(leg.context.as_deref(), Some("from-gw"));
    assert_eq!(leg.exten.as_deref(), Some("0142000000"));
    assert!(call.answered_ms.is_some());
    assert_eq!(call.phase, CallPhase::Ended);
    // The caller's BYE: Asterisk 22 reports cause 0 on this PJSIP hangup.
    assert_eq!(call.hangup_cause, Some(0));

    assert!(!events.is_empty());
    assert!(events.iter().all(|e| e.visible_to(Some(3))));
    assert!(events.iter().all(|e| !e.visible_to(Some(4))));
}

/// The agent on `PJSIP/agent1002` after each queue member event of the capture.
#[test]
fn queue_member_added_paused_for_lunch_unpaused_removed() {
    let msgs = messages("ami-queue-ops");
    let mut state = LiveState::new(LiveStateConfig::default());
    let mut seen = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        state.apply_message(m, T0 + i as u64);
        if m.event_name()
            .is_some_and(|n| n.starts_with("QueueMember") && n != "QueueMember")
        {
            let agent = state.agent_at("PJSIP/agent1002").cloned();
            seen.push(agent.map(|a| (a.status, a.pause_reason, a.queues, a.member_name)));
        }
    }
    let sales = || vec!["sales".to_owned()];
    let name = || Some("Agent 1002".to_owned());
    assert_eq!(
        seen,
        [
            Some((AgentStatus::Ready, None, sales(), name())),
            Some((AgentStatus::Paused, Some("lunch".into()), sales(), name())),
            Some((AgentStatus::Ready, None, sales(), name())),
            None,
        ]
    );
    let queues = state.queues(T0);
    assert_eq!(queues.len(), 1);
    assert_eq!(queues[0].name, "sales");
    assert!(queues[0].members.is_empty());
}

#[test]
fn resync_from_core_show_channels_and_queue_status() {
    let msgs = messages("ami-eventlist");
    let list = |id: &str| -> Vec<Message> {
        msgs.iter()
            .filter(|m| m.is_event() && m.action_id() == Some(id))
            .cloned()
            .collect()
    };
    let mut items = list("ami-eventlist-3");
    items.extend(list("ami-eventlist-4"));
    assert_eq!(
        items.len(),
        6,
        "2 channels + complete, queue params + member + complete"
    );

    let mut state = LiveState::new(LiveStateConfig::default());
    // A call we knew before the reconnect, gone from Asterisk's list.
    let stale = Message::parse(
        "Event: Newchannel\r\nChannel: PJSIP/agent1001-00000009\r\nChannelState: 6\r\nUniqueid: stale-1\r\nLinkedid: stale-1\r\n",
    );
    state.apply_message(&stale, T0);
    let now = T0 + 5_000;
    let events = state.apply_snapshot(&items, now);
    assert!(matches!(events.last(), Some(LiveEvent::Resynced)));
    let ended: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            LiveEvent::CallEnded { call } => Some(call.linkedid.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(ended, ["stale-1"]);

    let call = state.call("callpro-el-0001").unwrap();
    assert_eq!(call.phase, CallPhase::Answered);
    let mut channels: Vec<&str> = call.legs.iter().map(|l| l.channel.as_str()).collect();
    channels.sort_unstable();
    assert_eq!(
        channels,
        ["Local/s@agi-test-00000000;1", "Local/s@agi-test-00000000;2"]
    );
    assert!(call.legs.iter().all(|l| l.state == LegState::Up));
    assert_eq!(call.created_ms, now - 1_000, "from Duration 00:00:01");

    let queues = state.queues(now);
    assert_eq!(queues.len(), 1);
    let member = &queues[0].members[0];
    assert_eq!(member.interface, "PJSIP/agent1001");
    assert_eq!(member.name.as_deref(), Some("Agent 1001"));
    assert_eq!((member.paused, member.penalty), (false, Some(0)));
    let agent = state.agent_at("PJSIP/agent1001").unwrap();
    assert_eq!(agent.status, AgentStatus::Ready);
    assert_eq!(agent.queues, ["sales"]);

    // The live events after the lists still end the call correctly.
    let tail = msgs
        .iter()
        .skip_while(|m| m.action_id() != Some("ami-eventlist-13"))
        .cloned()
        .collect::<Vec<_>>();
    assert!(!tail.is_empty());
    replay(&mut state, &tail);
    let call = state.call("callpro-el-0001").unwrap();
    assert_eq!(call.phase, CallPhase::Ended);
}

#[test]
fn every_capture_leaves_no_call_dangling() {
    for cap in load_captures("ami") {
        let msgs = messages(&cap.name);
        let mut state = LiveState::new(LiveStateConfig::default());
        replay(&mut state, &msgs);
        for call in state.calls() {
            assert!(!call.legs.is_empty(), "{}: {call:?}", cap.name);
            assert_eq!(call.phase, CallPhase::Ended, "{}: {call:#?}", cap.name);
        }
    }
}
