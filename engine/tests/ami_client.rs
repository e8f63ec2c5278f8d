//! The AMI client against a scripted peer replaying real Asterisk 22 captures: plain and MD5
//! login, refused login without a reconnect storm, list gathering with interleaved events,
//! async originate outcomes, queue operations through `AmiTelephony`. Reconnect and slow
//! subscribers live in `ami_client_resilience.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod fixtures;
mod support;

use std::time::Duration;

use callpro_engine::ami::{
    Action, AmiClient, AmiClientError, AmiConfig, AmiTelephony, AuthMode, ConnectionState, Secret,
};
use callpro_engine::telephony::{
    Originate, OriginateOutcome, OriginateTarget, QueueMember, Telephony, TelephonyError,
};
use support::{Peer, Script, wire_headers};

/// Generous bound for anything that should happen "soon" on loopback.
const SOON: Duration = Duration::from_secs(10);

fn config(peer: &Peer, secret: &str) -> AmiConfig {
    let mut c = AmiConfig::new(
        "127.0.0.1",
        peer.addr.port(),
        "callpro",
        Secret::new(secret),
    );
    c.ping_interval = Duration::from_secs(3600);
    c.action_timeout = Duration::from_secs(5);
    c.reconnect_min = Duration::from_millis(20);
    c.reconnect_max = Duration::from_millis(200);
    c
}

async fn soon<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(SOON, f).await.expect("timed out")
}

/// A logged-in client whose first resync is done, so the script only sees the test's actions.
async fn connected(peer: &Peer, secret: &str) -> AmiClient {
    let client = AmiClient::spawn(config(peer, secret), None).unwrap();
    let mut snapshots = client.subscribe_snapshots();
    soon(client.connected()).await.unwrap();
    assert_eq!(soon(snapshots.recv()).await.unwrap().generation, 1);
    client
}

#[tokio::test]
async fn plain_login_events_snapshot_and_logoff() {
    let peer = Peer::start(vec![Script::from_capture("ami-login-plain")]).await;
    let client = AmiClient::spawn(config(&peer, "callpro-secret"), None).unwrap();
    let mut events = client.subscribe();
    let mut snapshots = client.subscribe_snapshots();
    soon(client.connected()).await.unwrap();
    let status = client.status().borrow().clone();
    assert_eq!(
        status.banner.as_deref(),
        Some("Asterisk Call Manager/11.0.0")
    );
    assert_eq!(status.generation, 1);

    // FullyBooted came in the same TCP read as the login response: it must not be lost.
    let booted = soon(events.recv()).await.unwrap();
    assert_eq!(booted.event_name(), Some("FullyBooted"));
    let snap = soon(snapshots.recv()).await.unwrap();
    assert_eq!(snap.generation, 1);
    assert_eq!(
        snap.channels.len(),
        2,
        "CoreShowChannel items of the recorded list"
    );
    assert_eq!(snap.queue_members.len(), 1);

    let login = &peer.actions("Login")[0];
    assert_eq!(login.get("Username"), Some("callpro"));
    assert_eq!(login.get("Secret"), Some("callpro-secret"));
    assert_eq!(login.get("Events"), Some("call,agent,cdr,system,reporting"));
    let resync: Vec<_> = ["CoreShowChannels", "QueueStatus", "PJSIPShowContacts"]
        .iter()
        .map(|a| peer.actions(a).len())
        .collect();
    assert_eq!(resync, [1, 1, 1]);

    soon(client.shutdown()).await;
    assert_eq!(peer.actions("Logoff").len(), 1);
    assert_eq!(client.status().borrow().state, ConnectionState::Closed);
    assert_eq!(
        client.send(Action::new("Ping")).await,
        Err(AmiClientError::Closed)
    );
    assert!(!format!("{client:?}").contains("callpro-secret"));
}

#[tokio::test]
async fn md5_login_sends_the_key_asterisk_accepted() {
    let peer = Peer::start(vec![Script::from_capture("ami-login-md5")]).await;
    let mut cfg = config(&peer, "callpro-secret");
    cfg.auth = AuthMode::Md5;
    let client = AmiClient::spawn(cfg, None).unwrap();
    soon(client.connected()).await.unwrap();
    assert_eq!(peer.log.lock().unwrap().auth_failures, 0);
    let login = &peer.actions("Login")[0];
    assert_eq!(login.get("AuthType"), Some("MD5"));
    assert_eq!(login.get("Key"), Some("1014899fa8d25e031441cb7fad0ff16e"));
    assert_eq!(
        login.get("Secret"),
        None,
        "the secret never crosses the wire"
    );
    assert_eq!(peer.actions("Challenge")[0].get("AuthType"), Some("MD5"));
    soon(client.shutdown()).await;
}

#[tokio::test]
async fn md5_login_with_a_wrong_secret_is_refused() {
    let peer = Peer::start(vec![Script::from_capture("ami-login-md5")]).await;
    let mut cfg = config(&peer, "not-the-secret");
    cfg.auth = AuthMode::Md5;
    cfg.reconnect_max = Duration::from_secs(60);
    let client = AmiClient::spawn(cfg, None).unwrap();
    let mut status = client.status();
    let s = soon(status.wait_for(|s| s.last_error.is_some()))
        .await
        .unwrap()
        .clone();
    assert!(
        matches!(s.last_error, Some(AmiClientError::AuthenticationFailed(_))),
        "{s:?}"
    );
    assert_eq!(peer.log.lock().unwrap().auth_failures, 1);
    soon(client.shutdown()).await;
}

#[tokio::test]
async fn refused_login_reports_clearly_and_does_not_storm() {
    // The capture pings before logging in; the client never does, so drop that exchange.
    let script = Script::from_capture("ami-login-fail").without_exchange("ami-login-fail-1");
    let peer = Peer::start(vec![script]).await;
    let mut cfg = config(&peer, "wrong-secret");
    cfg.reconnect_max = Duration::from_secs(60);
    let client = AmiClient::spawn(cfg, None).unwrap();
    let mut status = client.status();
    let s = soon(status.wait_for(|s| s.last_error.is_some()))
        .await
        .unwrap()
        .clone();
    assert_eq!(s.state, ConnectionState::Disconnected);
    assert_eq!(
        s.last_error,
        Some(AmiClientError::AuthenticationFailed(
            "Authentication failed".into()
        ))
    );
    assert!(s.last_error.unwrap().to_string().contains("login refused"));
    // A refused login waits the maximum backoff (60 s here): no second attempt meanwhile,
    // whatever reconnect_min says.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(peer.connections(), 1);
    assert_eq!(
        client.send(Action::new("Ping")).await,
        Err(AmiClientError::NotConnected)
    );
    soon(client.shutdown()).await;
}

#[tokio::test]
async fn lists_responses_and_events_interleave() {
    let peer = Peer::start(vec![Script::from_capture("ami-eventlist")]).await;
    let client = connected(&peer, "callpro-secret").await;
    let mut events = client.subscribe();
    let originate = Originate {
        channel: "Local/s@agi-test/n".into(),
        target: OriginateTarget::Application {
            app: "Wait".into(),
            data: "30".into(),
        },
        caller_id: Some("\"CallPro Lab\" <0100000000>".into()),
        timeout: Duration::from_secs(30),
        variables: vec![],
        channel_id: "callpro-el-0001".into(),
        other_channel_id: Some("callpro-el-0002".into()),
        account: None,
    };
    let handle = soon(client.originate(&originate)).await.unwrap();
    let result = soon(handle).await.unwrap();
    assert_eq!(result.outcome, OriginateOutcome::Answered);

    let channels = soon(client.send_list(Action::new("CoreShowChannels")))
        .await
        .unwrap();
    assert_eq!(channels.items.len(), 2);
    assert!(
        channels
            .items
            .iter()
            .all(|m| m.event_name() == Some("CoreShowChannel"))
    );
    let complete = channels.complete.unwrap();
    assert_eq!(complete.event_name(), Some("CoreShowChannelsComplete"));
    assert_eq!(complete.list_items(), Some(2));

    let queues = soon(client.send_list(Action::new("QueueStatus")))
        .await
        .unwrap();
    let names: Vec<_> = queues
        .items
        .iter()
        .map(|m| m.event_name().unwrap())
        .collect();
    assert_eq!(names, ["QueueParams", "QueueMember"]);
    let summary = soon(client.send_list(Action::new("QueueSummary").header("Queue", "sales")))
        .await
        .unwrap();
    assert_eq!(summary.items.len(), 1);

    let pong = soon(client.send(Action::new("Ping"))).await.unwrap();
    assert_eq!(pong.get("Ping"), Some("Pong"));
    let unknown = soon(client.send(Action::new("FooBarUnknown")))
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown, AmiClientError::Rejected { message, .. } if message.starts_with("Invalid/unknown command"))
    );
    let version = soon(client.send(Action::new("Command").header("Command", "core show version")))
        .await
        .unwrap();
    assert!(
        version
            .get_all("Output")
            .any(|l| l.contains("Asterisk 22.10.1"))
    );
    let getvar = |var: &str, chan: &str| {
        Action::new("Getvar")
            .header("Channel", chan)
            .header("Variable", var)
    };
    let chan = "Local/s@agi-test-00000000;1";
    let v = soon(client.send(getvar("CHANNEL", chan))).await.unwrap();
    assert!(v.get("Value").unwrap().starts_with("Local/s@agi-test"));
    let unset = soon(client.send(getvar("CALLPRO_NOT_SET", chan)))
        .await
        .unwrap();
    assert_eq!(unset.get("Value"), Some(""));
    let bad = soon(client.send(getvar("CHANNEL", "Local/nope-00000000;1"))).await;
    assert_eq!(
        bad,
        Err(AmiClientError::Rejected {
            action: "Getvar".into(),
            message: "No such channel".into()
        })
    );
    let status = soon(client.send_list(Action::new("Status").header("Channel", chan)))
        .await
        .unwrap();
    assert_eq!(status.items.len(), 1);
    soon(client.send(Action::new("Hangup").header("Channel", chan)))
        .await
        .unwrap();
    soon(client.shutdown()).await;

    // Call events reached subscribers; list items claimed by an action did not.
    let mut seen = Vec::new();
    while let Ok(m) = events.try_recv() {
        seen.push(m.event_name().unwrap_or_default().to_owned());
    }
    for expected in [
        "Newchannel",
        "OriginateResponse",
        "DialEnd",
        "Hangup",
        "Cdr",
    ] {
        assert!(
            seen.iter().any(|e| e == expected),
            "{expected} missing from {seen:?}"
        );
    }
    for claimed in ["CoreShowChannel", "QueueMember", "QueueSummary", "Status"] {
        assert!(
            !seen.iter().any(|e| e == claimed),
            "{claimed} leaked to subscribers"
        );
    }
    assert_eq!(client.pending_actions(), 0);
}

fn trunk_originate(call_id: &str, prefix: &str) -> Originate {
    Originate {
        channel: "Local/0600000001@dialer/n".into(),
        target: OriginateTarget::Extension {
            context: "answered".into(),
            exten: "s".into(),
            priority: 1,
        },
        caller_id: Some("\"CallPro Dialer\" <0142000000>".into()),
        timeout: Duration::from_secs(45),
        variables: vec![("CALLPRO_CALL_ID".into(), call_id.into())],
        channel_id: format!("{prefix}-1"),
        other_channel_id: Some(format!("{prefix}-2")),
        account: None,
    }
}

#[tokio::test]
async fn originate_answered_on_the_trunk() {
    let script = Script::from_capture("ami-originate-trunk-answer");
    let peer = Peer::start(vec![script.clone()]).await;
    let client = connected(&peer, "callpro-secret").await;
    let request = trunk_originate("c-answer-0001", "callpro-trunk-answer");
    let handle = soon(client.originate(&request)).await.unwrap();
    assert_eq!(handle.channel_id, "callpro-trunk-answer-1");
    let result = soon(handle).await.unwrap();
    assert_eq!(result.outcome, OriginateOutcome::Answered);
    assert_eq!(result.event.get("Response"), Some("Success"));

    // Byte for byte what the real Asterisk accepted, ActionID aside.
    let recorded = script
        .steps
        .iter()
        .find_map(|s| match s {
            support::Step::Expect(m) if m.get("Action") == Some("Originate") => Some(m),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        wire_headers(&peer.actions("Originate")[0]),
        wire_headers(recorded)
    );
    soon(client.shutdown()).await;
}

#[tokio::test]
async fn originate_busy_trunk_reports_failed_through_telephony() {
    let peer = Peer::start(vec![Script::from_capture("ami-originate-trunk-busy")]).await;
    let telephony = AmiTelephony::new(connected(&peer, "callpro-secret").await);
    let pending = soon(telephony.originate(trunk_originate("c-busy-0001", "callpro-trunk-busy")))
        .await
        .unwrap();
    assert_eq!(pending.channel_id, "callpro-trunk-busy-1");
    // Asterisk 22 reports Reason 0 for a busy trunk behind a Local channel.
    assert_eq!(soon(pending.outcome).await, Ok(OriginateOutcome::Failed));
    soon(telephony.client().shutdown()).await;
}

#[tokio::test]
async fn originate_to_a_missing_endpoint_fails_then_is_rejected() {
    let peer = Peer::start(vec![Script::from_capture("ami-originate-fail")]).await;
    let client = connected(&peer, "callpro-secret").await;
    let mut request = Originate {
        channel: "PJSIP/nonexistent".into(),
        target: OriginateTarget::Extension {
            context: "agi-test".into(),
            exten: "s".into(),
            priority: 1,
        },
        caller_id: None,
        timeout: Duration::from_secs(30),
        variables: vec![],
        channel_id: "callpro-fail-0001".into(),
        other_channel_id: Some("callpro-fail-0002".into()),
        account: None,
    };
    let handle = soon(client.originate(&request)).await.unwrap();
    let result = soon(handle).await.unwrap();
    assert_eq!(result.outcome, OriginateOutcome::Failed);
    assert_eq!(result.event.get("Channel"), Some("PJSIP/nonexistent"));
    // The recording's second originate was refused outright (`Response: Error`).
    request.channel_id = "callpro-fail-0003".into();
    let refused = soon(client.originate(&request)).await.unwrap_err();
    assert_eq!(
        refused,
        AmiClientError::Rejected {
            action: "Originate".into(),
            message: "Originate failed".into()
        }
    );
    assert_eq!(client.pending_actions(), 0);
    soon(client.shutdown()).await;
}

fn is_member_op(action: &str) -> bool {
    ["QueueAdd", "QueuePause", "QueueRemove"].contains(&action)
}

#[tokio::test]
async fn queue_operations_match_the_recording_and_map_errors() {
    let script = Script::from_capture("ami-queue-ops");
    let peer = Peer::start(vec![script.clone()]).await;
    let telephony = AmiTelephony::new(connected(&peer, "callpro-secret").await);
    let member = |queue: Option<&str>| QueueMember {
        queue: queue.map(str::to_owned),
        interface: "PJSIP/agent1002".into(),
        penalty: Some(1),
        member_name: Some("Agent 1002".into()),
    };
    soon(telephony.queue_add(member(Some("sales"))))
        .await
        .unwrap();
    soon(telephony.queue_pause(member(Some("sales")), true, Some("lunch".into())))
        .await
        .unwrap();
    let status = soon(
        telephony
            .client()
            .send_list(Action::new("QueueStatus").header("Queue", "sales")),
    )
    .await
    .unwrap();
    assert_eq!(status.items.len(), 3, "QueueParams + 2 QueueMember");
    soon(telephony.queue_pause(member(Some("sales")), false, None))
        .await
        .unwrap();
    soon(telephony.queue_remove(member(Some("sales"))))
        .await
        .unwrap();
    let again = soon(telephony.queue_remove(member(Some("sales")))).await;
    assert_eq!(
        again,
        Err(TelephonyError::Rejected(
            "Unable to remove interface: Not there".into()
        ))
    );
    assert!(matches!(
        telephony.queue_add(member(None)).await,
        Err(TelephonyError::Invalid(_))
    ));

    let recorded: Vec<_> = script
        .steps
        .iter()
        .filter_map(|s| match s {
            support::Step::Expect(m) if m.get("Action").is_some_and(is_member_op) => {
                Some(wire_headers(m))
            }
            _ => None,
        })
        .collect();
    let sent: Vec<_> = peer
        .log
        .lock()
        .unwrap()
        .actions
        .iter()
        .filter(|(_, m)| m.get("Action").is_some_and(is_member_op))
        .map(|(_, m)| wire_headers(m))
        .collect();
    assert_eq!(sent, recorded);
    soon(telephony.client().shutdown()).await;
}
