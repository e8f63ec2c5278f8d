//! The AMI client when things go wrong: the peer drops the connection in the middle of a list
//! with an originate outcome pending, and a subscriber that never reads while a real call's
//! event burst arrives.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod fixtures;
mod support;

use std::time::Duration;

use callpro_engine::ami::{
    Action, AmiClient, AmiClientError, AmiConfig, AmiMetrics, ConnectionState, Secret,
};
use callpro_engine::telephony::{Originate, OriginateOutcome, OriginateTarget};
use prometheus::Registry;
use support::{Peer, Script, Step, packets};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

const SOON: Duration = Duration::from_secs(10);

async fn soon<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(SOON, f).await.expect("timed out")
}

fn config(peer: &Peer) -> AmiConfig {
    let mut c = AmiConfig::new(
        "127.0.0.1",
        peer.addr.port(),
        "callpro",
        Secret::new("callpro-secret"),
    );
    c.ping_interval = Duration::from_secs(3600);
    c.action_timeout = Duration::from_secs(5);
    c.reconnect_min = Duration::from_millis(20);
    c.reconnect_max = Duration::from_millis(200);
    c
}

fn metric(registry: &Registry, name: &str) -> f64 {
    let family = registry
        .gather()
        .into_iter()
        .find(|f| f.name() == name)
        .unwrap();
    let m = &family.get_metric()[0];
    match name {
        "callpro_ami_connected" => m.get_gauge().get_value(),
        _ => m.get_counter().get_value(),
    }
}

fn wait_originate() -> Originate {
    Originate {
        channel: "Local/s@agi-test/n".into(),
        target: OriginateTarget::Application {
            app: "Wait".into(),
            data: "30".into(),
        },
        caller_id: None,
        timeout: Duration::from_secs(30),
        variables: vec![("CALLPRO_CAMPAIGN".into(), "42".into())],
        channel_id: "callpro-el-0001".into(),
        other_channel_id: Some("callpro-el-0002".into()),
        account: None,
    }
}

#[tokio::test]
async fn dropped_mid_list_fails_pending_reconnects_resyncs_and_never_resends() {
    let full = Script::from_capture("ami-eventlist");
    // First connection: login, the originate is queued (its OriginateResponse never comes),
    // then CoreShowChannels is cut after its first item and the socket closes.
    let mut first = full.before_expect("Originate", 0);
    first.steps.push(
        full.steps
            .iter()
            .find(|s| matches!(s, Step::Expect(m) if m.get("Action") == Some("Originate")))
            .unwrap()
            .clone(),
    );
    first.steps.push(Step::Send(full.answer_to("Originate")));
    first.steps.push(
        full.steps
            .iter()
            .find(|s| matches!(s, Step::Expect(m) if m.get("Action") == Some("CoreShowChannels")))
            .unwrap()
            .clone(),
    );
    let list = packets(&full.answer_to("CoreShowChannels"));
    first.steps.push(Step::Send(list[..2].concat()));
    first.steps.push(Step::Close);
    // Second connection: login only; the resync lists are answered from the recordings.
    let second = full.before_expect("Originate", 0);
    let peer = Peer::start(vec![first, second]).await;

    let registry = Registry::new();
    let metrics = AmiMetrics::register(&registry).unwrap();
    let client = AmiClient::spawn(config(&peer), Some(metrics)).unwrap();
    let mut snapshots = client.subscribe_snapshots();
    soon(client.connected()).await.unwrap();
    assert_eq!(soon(snapshots.recv()).await.unwrap().generation, 1);

    let handle = soon(client.originate(&wait_originate())).await.unwrap();
    let list = soon(client.send_list(Action::new("CoreShowChannels"))).await;
    assert_eq!(list, Err(AmiClientError::ConnectionLost));
    assert_eq!(soon(handle).await, Err(AmiClientError::ConnectionLost));

    // Reconnected with backoff, logged in again, resynced: exactly one new snapshot.
    let snap = soon(snapshots.recv()).await.unwrap();
    assert_eq!(snap.generation, 2);
    assert_eq!(snap.channels.len(), 2);
    assert!(snap.failed.is_empty());
    let status = client.status().borrow().clone();
    assert_eq!(
        (status.state, status.generation),
        (ConnectionState::Connected, 2)
    );
    assert!(
        status.last_error.is_some(),
        "the loss stays visible for /health"
    );
    assert_eq!(peer.connections(), 2);
    assert_eq!(peer.actions("Login").len(), 2);
    assert_eq!(metric(&registry, "callpro_ami_reconnects_total"), 1.0);
    assert_eq!(metric(&registry, "callpro_ami_connected"), 1.0);

    // The new connection works, and the originate was never sent again.
    let pong = soon(client.send(Action::new("Ping"))).await.unwrap();
    assert_eq!(pong.get("Ping"), Some("Pong"));
    soon(client.shutdown()).await;
    assert_eq!(peer.actions("Originate").len(), 1);
    assert_eq!(metric(&registry, "callpro_ami_connected"), 0.0);
    assert!(matches!(
        snapshots.try_recv(),
        Err(TryRecvError::Empty | TryRecvError::Closed)
    ));
    assert_eq!(client.pending_actions(), 0);
}

#[tokio::test]
async fn a_subscriber_that_never_reads_does_not_stall_the_reader() {
    let peer = Peer::start(vec![Script::from_capture("ami-originate-trunk-answer")]).await;
    let registry = Registry::new();
    let metrics = AmiMetrics::register(&registry).unwrap();
    let mut cfg = config(&peer);
    cfg.event_buffer = 8;
    let client = AmiClient::spawn(cfg, Some(metrics)).unwrap();
    let mut slow = client.subscribe();
    let mut snapshots = client.subscribe_snapshots();
    soon(client.connected()).await.unwrap();
    soon(snapshots.recv()).await.unwrap();

    let request = Originate {
        channel: "Local/0600000001@dialer/n".into(),
        target: OriginateTarget::Extension {
            context: "answered".into(),
            exten: "s".into(),
            priority: 1,
        },
        caller_id: None,
        timeout: Duration::from_secs(45),
        variables: vec![],
        channel_id: "callpro-trunk-answer-1".into(),
        other_channel_id: Some("callpro-trunk-answer-2".into()),
        account: None,
    };
    // The OriginateResponse sits behind dozens of events in the burst: it only resolves if the
    // reader kept going while `slow` sat on a full buffer.
    let handle = soon(client.originate(&request)).await.unwrap();
    assert_eq!(
        soon(handle).await.unwrap().outcome,
        OriginateOutcome::Answered
    );
    // Logoff is answered after the whole recorded burst; shutdown waits for that answer.
    soon(client.shutdown()).await;

    let dropped = client.dropped_events();
    assert!(dropped > 50, "only {dropped} events counted as dropped");
    assert_eq!(
        metric(&registry, "callpro_ami_dropped_events_total"),
        dropped as f64
    );
    match slow.recv().await {
        Err(RecvError::Lagged(n)) => assert!(n > 0),
        other => panic!("expected a lag, got {other:?}"),
    }
    let events = registry
        .gather()
        .into_iter()
        .find(|f| f.name() == "callpro_ami_events_total")
        .unwrap();
    let total: f64 = events
        .get_metric()
        .iter()
        .map(|m| m.get_counter().get_value())
        .sum();
    assert!(total > dropped as f64);
}
