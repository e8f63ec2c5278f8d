//! End-to-end tests of the OPTIONS trunk prober over loopback UDP: against the carrier
//! simulator, a silent socket, and hand-written peers answering 404/503 or only a retransmit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use callpro_engine::sip::{
    CarrierConfig, CarrierOutcome, CarrierSim, ProberConfig, ProberMetrics, Trunk, TrunkProber,
    TrunkStatus,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::UdpSocket;

fn loopback_config() -> ProberConfig {
    ProberConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..ProberConfig::default()
    }
}

fn trunk(name: &str, addr: SocketAddr) -> Trunk {
    Trunk::udp(name, addr.ip().to_string(), addr.port())
}

/// A peer that answers the `answer_from`-th request it receives (1-based) and every later one
/// with `status`, echoing the transaction headers; returns its address and a packet counter.
async fn responder(status: &'static str, answer_from: usize) -> (SocketAddr, Arc<AtomicUsize>) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        loop {
            let (len, from) = sock.recv_from(&mut buf).await.unwrap();
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            if n < answer_from {
                continue;
            }
            let text = String::from_utf8_lossy(&buf[..len]).into_owned();
            let echoed: String = text
                .split("\r\n")
                .filter(|l| {
                    ["Via:", "From:", "To:", "Call-ID:", "CSeq:"]
                        .iter()
                        .any(|h| l.starts_with(h))
                })
                .map(|l| format!("{l}\r\n"))
                .collect();
            let reply = format!("SIP/2.0 {status}\r\n{echoed}Content-Length: 0\r\n\r\n");
            sock.send_to(reply.as_bytes(), from).await.unwrap();
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn carrier_simulator_is_up_with_an_rtt() {
    let carrier = CarrierSim::start(CarrierConfig::always(CarrierOutcome::Answer))
        .await
        .unwrap();
    let trunks = vec![trunk("sim", carrier.local_addr())];
    let (mut prober, handle) = TrunkProber::bind(loopback_config(), trunks, None)
        .await
        .unwrap();
    assert_eq!(handle.state("sim").unwrap().status, TrunkStatus::Unknown);

    let states = prober.probe_once().await;
    let sim = &states["sim"];
    assert_eq!(sim.status, TrunkStatus::Up, "{sim:?}");
    assert_eq!(sim.last_code, Some(200));
    assert!(sim.rtt_ms.unwrap() > 0.0 && sim.rtt_ms.unwrap() < 1000.0);
    assert!(sim.last_checked_unix_ms.is_some() && sim.last_error.is_none());
    assert_eq!(
        handle.snapshot(),
        states,
        "the handle sees what was published"
    );
    assert_eq!(carrier.stats().options, 1);
}

#[tokio::test]
async fn silent_peer_is_down_after_the_timeout_with_four_transmissions() {
    let (dead, seen) = responder("never", usize::MAX).await;
    let (mut prober, _handle) =
        TrunkProber::bind(loopback_config(), vec![trunk("dead", dead)], None)
            .await
            .unwrap();
    let started = tokio::time::Instant::now();

    let state = prober.probe_once().await.remove("dead").unwrap();
    assert_eq!(state.status, TrunkStatus::Down);
    assert!(state.rtt_ms.is_none());
    let error = state.last_error.unwrap();
    assert!(
        error.contains("5000 ms") && error.contains("4 transmissions"),
        "{error}"
    );
    // Default schedule: sent at 0, 0.5, 1.5 and 3.5 s, given up at 5 s (not Timer F's 32 s).
    assert!(
        started.elapsed() >= Duration::from_secs(5) && started.elapsed() < Duration::from_secs(7)
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(seen.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn any_final_response_means_up_but_503_is_degraded() {
    let (not_found, _) = responder("404 Not Found", 1).await;
    let (not_allowed, _) = responder("405 Method Not Allowed", 1).await;
    let (overloaded, _) = responder("503 Service Unavailable", 1).await;
    let trunks = vec![
        trunk("a", not_found),
        trunk("b", not_allowed),
        trunk("c", overloaded),
    ];
    let (mut prober, _handle) = TrunkProber::bind(loopback_config(), trunks, None)
        .await
        .unwrap();

    let states = prober.probe_once().await;
    assert_eq!(
        (states["a"].status, states["a"].last_code),
        (TrunkStatus::Up, Some(404))
    );
    assert_eq!(
        (states["b"].status, states["b"].last_code),
        (TrunkStatus::Up, Some(405))
    );
    assert_eq!(
        (states["c"].status, states["c"].last_code),
        (TrunkStatus::Degraded, Some(503))
    );
}

#[tokio::test]
async fn response_to_a_retransmission_still_matches() {
    // The first packet is "lost": the peer answers only the retransmission sent at T1.
    let (lossy, seen) = responder("200 OK", 2).await;
    let (mut prober, _handle) =
        TrunkProber::bind(loopback_config(), vec![trunk("lossy", lossy)], None)
            .await
            .unwrap();

    let state = prober.probe_once().await.remove("lossy").unwrap();
    assert_eq!(state.status, TrunkStatus::Up, "{state:?}");
    assert!(
        state.rtt_ms.unwrap() >= 500.0,
        "RTT counts from the first send: {state:?}"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn tcp_trunks_are_unsupported_and_unresolvable_hosts_down() {
    let tcp = Trunk {
        transport: callpro_engine::sip::Transport::Tcp,
        ..Trunk::udp("tcp", "127.0.0.1", 5060)
    };
    let bogus = Trunk::udp("bogus", "no-such-gateway.invalid", 5060);
    let (mut prober, _handle) = TrunkProber::bind(loopback_config(), vec![tcp, bogus], None)
        .await
        .unwrap();

    let states = prober.probe_once().await;
    assert_eq!(states["tcp"].status, TrunkStatus::Unsupported);
    assert_eq!(states["bogus"].status, TrunkStatus::Down);
    assert!(
        states["bogus"]
            .last_error
            .as_deref()
            .unwrap()
            .contains("no-such-gateway.invalid")
    );
}

#[tokio::test]
async fn trunks_replaced_at_runtime_update_states_and_metrics() {
    let (first, _) = responder("200 OK", 1).await;
    let (second, _) = responder("404 Not Found", 1).await;
    let registry = prometheus::Registry::new();
    let metrics = ProberMetrics::new(&registry).unwrap();
    let config = ProberConfig {
        interval: Duration::from_millis(200),
        ..loopback_config()
    };
    let (prober, handle) = TrunkProber::bind(config, vec![trunk("first", first)], Some(metrics))
        .await
        .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(prober.run(async {
        let _ = stop_rx.await;
    }));

    let mut states = handle.subscribe();
    let wait = |name: &'static str| {
        move |s: &callpro_engine::sip::prober::TrunkStates| {
            s.get(name).is_some_and(|t| t.status == TrunkStatus::Up)
        }
    };
    tokio::time::timeout(Duration::from_secs(5), states.wait_for(wait("first")))
        .await
        .unwrap()
        .unwrap();

    handle.replace_trunks(vec![trunk("second", second)]);
    tokio::time::timeout(Duration::from_secs(5), states.wait_for(wait("second")))
        .await
        .unwrap()
        .unwrap();
    assert!(
        handle.state("first").is_none(),
        "removed trunks leave the map"
    );
    assert_eq!(handle.trunks().len(), 1);

    let text = metric_lines(&registry);
    assert!(
        text.iter()
            .any(|l| l == "callpro_trunk_up{trunk=\"second\"} 1"),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|l| l.starts_with("callpro_trunk_rtt_seconds{trunk=\"second\"}"))
    );
    assert!(
        text.iter()
            .any(|l| l.starts_with("callpro_trunk_probes_total{result=\"up\",trunk=\"second\"}"))
    );
    assert!(
        !text.iter().any(|l| l.contains("trunk=\"first\"")),
        "{text:#?}"
    );

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .unwrap()
        .unwrap();
}

/// The registry in text exposition format, one sample per line.
fn metric_lines(registry: &prometheus::Registry) -> Vec<String> {
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}
