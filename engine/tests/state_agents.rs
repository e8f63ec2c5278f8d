//! Agent sessions, tenants, queues, trunks and the handle/bus, driven by synthetic events in the
//! shape of the Asterisk captures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use callpro_engine::ami::Message;
use callpro_engine::bus::{BusMessage, EventBus, LiveEvent};
use callpro_engine::state::synthetic::SyntheticChannel;
use callpro_engine::state::{
    AgentLogin, AgentStatus, CallPhase, LegState, LiveState, LiveStateConfig, LiveStateHandle,
    ResyncLists, StateError, TenantResolver, TrunkProbe,
};

fn login(agent_id: i64, extension: &str) -> AgentLogin {
    AgentLogin {
        agent_id,
        extension: extension.into(),
        site_id: Some(1),
        call_center_id: Some(7),
    }
}

fn status(state: &LiveState, agent_id: i64) -> Option<(AgentStatus, u64)> {
    state.agent(agent_id).map(|a| (a.status, a.since_ms))
}

#[test]
fn agent_session_transitions() {
    let mut s = LiveState::new(LiveStateConfig::default());
    assert_eq!(s.agent_ready(42, 1), Err(StateError::AgentNotLoggedIn(42)));

    let events = s.agent_login(&login(42, "1001"), 10).unwrap();
    assert!(
        matches!(&events[..], [LiveEvent::AgentChanged { agent }] if agent.interface == "PJSIP/1001")
    );
    assert_eq!(status(&s, 42), Some((AgentStatus::NotReady, 10)));
    s.agent_ready(42, 20).unwrap();
    assert_eq!(status(&s, 42), Some((AgentStatus::Ready, 20)));
    s.agent_pause(42, Some("lunch".into()), 30).unwrap();
    let agent = s.agent(42).unwrap();
    assert_eq!(
        (agent.status, agent.pause_reason.as_deref()),
        (AgentStatus::Paused, Some("lunch"))
    );
    // Unchanged status keeps its `since`; a repeated call changes nothing and emits nothing.
    assert!(
        s.agent_pause(42, Some("lunch".into()), 35)
            .unwrap()
            .is_empty()
    );
    assert_eq!(status(&s, 42), Some((AgentStatus::Paused, 30)));
    s.agent_ready(42, 40).unwrap();
    s.agent_wrap_up_start(42, 50).unwrap();
    assert_eq!(status(&s, 42), Some((AgentStatus::WrapUp, 50)));
    s.agent_wrap_up_end(42, 60).unwrap();
    assert_eq!(status(&s, 42), Some((AgentStatus::Ready, 60)));

    // Another agent cannot take the extension; the same agent can move to another phone.
    assert_eq!(
        s.agent_login(&login(43, "PJSIP/1001"), 70),
        Err(StateError::ExtensionInUse {
            interface: "PJSIP/1001".into(),
            agent_id: 42
        })
    );
    let moved = s.agent_login(&login(42, "1002"), 80).unwrap();
    assert!(moved.iter().any(
        |e| matches!(e, LiveEvent::AgentRemoved { interface, .. } if interface == "PJSIP/1001")
    ));
    assert_eq!(s.agent(42).unwrap().interface, "PJSIP/1002");
    assert_eq!(status(&s, 42), Some((AgentStatus::NotReady, 80)));

    let out = s.agent_logout(42, 90).unwrap();
    assert!(matches!(
        &out[..],
        [LiveEvent::AgentRemoved {
            call_center_id: Some(7),
            ..
        }]
    ));
    assert!(s.agent(42).is_none() && s.agents().is_empty());
    assert_eq!(
        s.agent_logout(42, 91),
        Err(StateError::AgentNotLoggedIn(42))
    );
}

#[test]
fn calls_moved_into_the_session_bridge_make_the_agent_busy() {
    let mut s = LiveState::new(LiveStateConfig::default());
    s.agent_login(&login(42, "1001"), 0).unwrap();
    s.agent_ready(42, 0).unwrap();

    let phone = SyntheticChannel::new("PJSIP/1001-00000001", "phone-1", "phone-1");
    s.apply_message(&phone.newchannel(LegState::Up), 1);
    s.apply_message(&phone.bridge_enter("conf-42", "agent-42", 1), 2);
    assert_eq!(
        s.agent(42).unwrap().session_channel.as_deref(),
        Some("PJSIP/1001-00000001")
    );
    assert_eq!(
        status(&s, 42),
        Some((AgentStatus::Ready, 0)),
        "its own phone is no call"
    );

    let customer = SyntheticChannel::new("PJSIP/yeastar-paris-00000002", "cust-1", "cust-1");
    s.apply_message(&customer.newchannel(LegState::Up), 3);
    let out = s.apply_message(&customer.bridge_enter("conf-42", "agent-42", 2), 4);
    let agent = s.agent(42).unwrap();
    assert_eq!(
        (agent.status, agent.call_linkedid.as_deref()),
        (AgentStatus::InCall, Some("cust-1"))
    );
    let call = s.call("cust-1").unwrap();
    assert_eq!(
        (call.agent_id, call.call_center_id, call.bridged_ms),
        (Some(42), Some(7), Some(4))
    );
    assert!(
        out.iter()
            .any(|e| matches!(e, LiveEvent::AgentChanged { .. }))
    );

    s.apply_message(&customer.bridge_leave("conf-42", "agent-42", 1), 5);
    s.apply_message(&customer.hangup(LegState::Up, 16), 5);
    assert_eq!(status(&s, 42), Some((AgentStatus::Ready, 5)));
    assert_eq!(s.call("cust-1").unwrap().phase, CallPhase::Ended);

    // The agent's phone drops: the session is logged in but has no phone in the bridge.
    s.apply_message(&phone.hangup(LegState::Up, 16), 6);
    assert_eq!(s.agent(42).unwrap().session_channel, None);
}

#[test]
fn tenant_comes_from_variable_then_maps() {
    let mut s = LiveState::new(LiveStateConfig::default());
    let mut tenants = TenantResolver::new();
    tenants
        .set_trunk("yeastar-paris", 3)
        .set_extension("1001", 9);
    s.set_tenants(tenants);
    let leg = SyntheticChannel::new("PJSIP/yeastar-paris-00000001", "u-1", "u-1");
    s.apply_message(&leg.newchannel(LegState::Ring), 1);
    assert_eq!(s.call("u-1").unwrap().call_center_id, Some(3));
    // The dialplan's CALLPRO_CALL_CENTER beats the shared-trunk guess.
    let out = s.apply_message(&leg.var_set(LegState::Ring, "CALLPRO_CALL_CENTER", "5"), 2);
    assert!(
        matches!(&out[..], [LiveEvent::CallUpdated { call }] if call.call_center_id == Some(5))
    );
    // `channelvars` in manager.conf: the variable rides on any channel event.
    let with_var = Message::parse(
        "Event: Newchannel\r\nChannel: PJSIP/1001-00000002\r\nChannelState: 4\r\nUniqueid: u-2\r\nLinkedid: u-2\r\nChanVariable: CALLPRO_CALL_CENTER=8\r\nChanVariable: CALLPRO_CALL_ID=c-77\r\n",
    );
    s.apply_message(&with_var, 3);
    let call = s.call("u-2").unwrap();
    assert_eq!(
        (call.call_center_id, call.callpro_call_id.as_deref()),
        (Some(8), Some("c-77"))
    );
}

#[test]
fn queue_waiting_callers_and_abandon() {
    let mut s = LiveState::new(LiveStateConfig::default());
    let join = |uid: &str, pos: u32| {
        Message::parse(&format!(
            "Event: QueueCallerJoin\r\nChannel: PJSIP/yeastar-paris-{uid}\r\nChannelState: 6\r\nCallerIDNum: 06{uid}\r\nUniqueid: {uid}\r\nLinkedid: {uid}\r\nQueue: sales\r\nPosition: {pos}\r\nCount: {pos}\r\n"
        ))
    };
    s.apply_message(&join("00000001", 1), 1_000);
    s.apply_message(&join("00000002", 2), 4_000);
    let q = &s.queues(10_000)[0];
    assert_eq!((q.waiting.len(), q.longest_wait_ms), (2, 9_000));
    assert_eq!(q.waiting[0].caller_id_num.as_deref(), Some("0600000001"));
    let abandon = Message::parse(
        "Event: QueueCallerAbandon\r\nUniqueid: 00000001\r\nQueue: sales\r\nPosition: 1\r\nOriginalPosition: 1\r\nHoldTime: 9\r\n",
    );
    s.apply_message(&abandon, 10_000);
    let q = &s.queues(10_000)[0];
    assert_eq!(
        (q.waiting.len(), q.abandoned, q.longest_wait_ms),
        (1, 1, 6_000)
    );
    assert_eq!(q.waiting[0].position, Some(1), "moved up");
    // A hangup without QueueCallerLeave still empties the queue.
    let leg = SyntheticChannel::new("PJSIP/yeastar-paris-00000002", "00000002", "00000002");
    s.apply_message(&leg.hangup(LegState::Up, 16), 11_000);
    assert!(s.queues(11_000)[0].waiting.is_empty());
}

#[test]
fn trunk_health_from_contact_status_and_probe() {
    let mut s = LiveState::new(LiveStateConfig::default());
    let contact = |status: &str, rtt: u64| {
        Message::parse(&format!(
            "Event: ContactStatus\r\nURI: sip:127.0.0.1:5070\r\nContactStatus: {status}\r\nAOR: yeastar-paris\r\nEndpointName: yeastar-paris\r\nRoundtripUsec: {rtt}\r\n"
        ))
    };
    s.apply_message(&contact("Reachable", 1830), 1);
    let t = &s.trunks()[0];
    assert_eq!(
        (t.name.as_str(), t.reachable, t.rtt_usec),
        ("yeastar-paris", Some(true), Some(1830))
    );
    s.apply_message(&contact("Unreachable", 0), 2);
    assert_eq!(
        (s.trunks()[0].reachable, s.trunks()[0].rtt_usec),
        (Some(false), None)
    );
    let probe = TrunkProbe {
        reachable: true,
        rtt_usec: Some(900),
        detail: Some("200 OK".into()),
        checked_ms: 3,
    };
    let out = s.set_trunk_probe("yeastar-paris", probe.clone());
    assert!(
        matches!(&out[..], [LiveEvent::TrunkChanged { trunk }] if trunk.probe == Some(probe.clone()))
    );
}

#[test]
fn ended_calls_are_capped() {
    let config = LiveStateConfig {
        ended_retention_ms: 60_000,
        max_ended_calls: 2,
    };
    let mut s = LiveState::new(config);
    for i in 0..5u64 {
        let uid = format!("u-{i}");
        let leg = SyntheticChannel::new("PJSIP/x-00000001", &uid, &uid);
        s.apply_message(&leg.newchannel(LegState::Up), i);
        s.apply_message(&leg.hangup(LegState::Up, 16), i);
    }
    s.prune(10);
    let left: Vec<String> = s.calls().into_iter().map(|c| c.linkedid).collect();
    assert_eq!(left, ["u-3", "u-4"]);
}

#[tokio::test]
async fn handle_publishes_changes_in_order_with_its_clock() {
    let now = Arc::new(AtomicU64::new(1_000));
    let clock = Arc::clone(&now);
    let handle = LiveStateHandle::new(LiveStateConfig::default(), EventBus::new(64))
        .with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
    let mut sub = handle.subscribe();
    handle.agent_login(&login(42, "1001")).unwrap();
    now.store(2_000, Ordering::SeqCst);
    handle.agent_ready(42).unwrap();
    assert_eq!(
        handle.agent_pause(7, None),
        Err(StateError::AgentNotLoggedIn(7))
    );
    let leg = SyntheticChannel::new("PJSIP/1001-00000001", "u-1", "u-1");
    handle.apply_message(&leg.newchannel(LegState::Ring));

    let mut kinds = Vec::new();
    while let Some(BusMessage::Event(e)) = sub.try_recv() {
        kinds.push(
            serde_json::to_value(&*e).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        kinds,
        [
            "agent_changed",
            "agent_changed",
            "call_started",
            "leg_added"
        ]
    );
    assert_eq!(handle.agent(42).unwrap().since_ms, 2_000);
    assert_eq!(handle.snapshot_calls().len(), 1);
    assert_eq!(handle.call_of_leg("u-1").unwrap().created_ms, 2_000);
    let json = serde_json::to_value(handle.snapshot_agents()).unwrap();
    assert_eq!(json[0]["status"], "ready");
}

#[test]
fn resync_with_an_empty_channel_list_ends_every_call_and_keeps_sessions() {
    let mut s = LiveState::new(LiveStateConfig::default());
    s.agent_login(&login(42, "1001"), 0).unwrap();
    s.agent_ready(42, 0).unwrap();
    let phone = SyntheticChannel::new("PJSIP/1001-00000001", "phone-1", "phone-1");
    s.apply_message(&phone.bridge_enter("conf-42", "agent-42", 1), 1);
    let customer = SyntheticChannel::new("PJSIP/gw-00000002", "cust-1", "cust-1");
    s.apply_message(&customer.bridge_enter("conf-42", "agent-42", 2), 2);
    assert_eq!(status(&s, 42).unwrap().0, AgentStatus::InCall);

    // PJSIPShowContacts item, as the AMI client's resync hands it over.
    let contact = Message::parse(
        "Event: ContactList\r\nObjectType: contact\r\nObjectName: yeastar-paris;@4f1a\r\nUri: sip:127.0.0.1:5070\r\nEndpoint: yeastar-paris\r\nStatus: Reachable\r\nRoundtripUsec: 2100\r\n",
    );
    let lists = ResyncLists {
        channels: Some(&[]),
        queues: None,
        contacts: Some(std::slice::from_ref(&contact)),
    };
    let out = s.resync(lists, 10);
    let ended = out
        .iter()
        .filter(|e| matches!(e, LiveEvent::CallEnded { .. }))
        .count();
    assert_eq!((ended, out.last()), (2, Some(&LiveEvent::Resynced)));
    assert!(s.calls().iter().all(|c| c.phase == CallPhase::Ended));
    let agent = s.agent(42).unwrap();
    assert_eq!(
        (agent.status, agent.session_channel.as_deref()),
        (AgentStatus::Ready, None)
    );
    let trunk = &s.trunks()[0];
    assert_eq!(
        (trunk.name.as_str(), trunk.reachable, trunk.rtt_usec),
        ("yeastar-paris", Some(true), Some(2100))
    );
}
