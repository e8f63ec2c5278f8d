//! Operational behaviour of the FastAGI server: the unknown-script fallback, the session cap
//! (a connection over the cap waits up to `queue_timeout_ms`, then is closed without a command),
//! graceful shutdown with its grace period, the `/health` status, and command timeouts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod agi_server_harness;

use std::time::Duration;

use agi_server_harness::{FakeAsterisk, TestServer};
use callpro_engine::agi::{
    AgiConfig, AgiError, AgiSession, CommandTimeouts, HandlerResult, Router, SessionOptions,
};
use tokio::io::AsyncWriteExt;

const OK: &str = "200 result=1\n";

/// Logs one line and waits for Asterisk's reply: the client decides when the session ends.
async fn hold(mut s: AgiSession) -> HandlerResult {
    s.verbose("holding", 1).await?;
    Ok(())
}

fn capped(max_sessions: usize, queue_timeout_ms: u64) -> AgiConfig {
    AgiConfig {
        max_sessions,
        queue_timeout_ms,
        ..AgiConfig::default()
    }
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} never happened");
}

#[tokio::test]
async fn unknown_script_sets_an_error_variable_and_closes() {
    let server = TestServer::start(Router::new().route("/ivr", hold), AgiConfig::default()).await;
    let mut asterisk = FakeAsterisk::call(server.addr, "no/such/script?x=1").await;
    let line = asterisk.expect_line().await;
    assert_eq!(line, "SET VARIABLE CALLPRO_AGI_ERROR unknown_script\n");
    asterisk.send(OK).await;
    asterisk.expect_closed().await;
}

#[tokio::test]
async fn over_the_cap_a_connection_is_closed_after_the_queue_timeout() {
    let server = TestServer::start(Router::new().route("test", hold), capped(1, 100)).await;
    let mut first = FakeAsterisk::call(server.addr, "test").await;
    assert_eq!(first.expect_line().await, "VERBOSE holding 1\n");
    assert_eq!(server.status.active_sessions(), 1);

    let mut second = FakeAsterisk::call(server.addr, "test").await;
    second.expect_closed().await;
    assert_eq!(server.metrics.sessions_refused_total.get(), 1);

    first.send(OK).await;
    first.expect_closed().await;
    eventually("slot release", || server.status.active_sessions() == 0).await;
    let mut third = FakeAsterisk::call(server.addr, "test").await;
    assert_eq!(third.expect_line().await, "VERBOSE holding 1\n");
    third.send(OK).await;
    third.expect_closed().await;
}

#[tokio::test]
async fn over_the_cap_a_connection_waits_for_a_free_slot() {
    let server = TestServer::start(Router::new().route("test", hold), capped(1, 10_000)).await;
    let mut first = FakeAsterisk::call(server.addr, "test").await;
    first.expect_line().await;
    let mut second = FakeAsterisk::call(server.addr, "test").await;
    assert!(second.is_silent_for(Duration::from_millis(200)).await);
    first.send(OK).await;
    assert_eq!(second.expect_line().await, "VERBOSE holding 1\n");
    second.send(OK).await;
    second.expect_closed().await;
    assert_eq!(server.metrics.sessions_total.get(), 2);
    assert_eq!(server.metrics.sessions_refused_total.get(), 0);
}

#[tokio::test]
async fn shutdown_stops_accepting_and_lets_sessions_finish() {
    let config = AgiConfig {
        shutdown_grace_ms: 10_000,
        ..AgiConfig::default()
    };
    let mut server = TestServer::start(Router::new().route("test", hold), config).await;
    let health = server.status.snapshot();
    assert_eq!(
        (health.listening, health.accepting),
        (Some(server.addr), true)
    );
    let mut running = FakeAsterisk::call(server.addr, "test").await;
    running.expect_line().await;

    server.signal_shutdown();
    let status = server.status.clone();
    eventually("stop accepting", || !status.is_accepting()).await;
    let refused = tokio::net::TcpStream::connect(server.addr).await;
    assert!(refused.is_err(), "listener still open");

    running.send(OK).await;
    running.expect_closed().await;
    server.join().await;
    assert_eq!(status.active_sessions(), 0);
}

#[tokio::test]
async fn shutdown_cuts_sessions_after_the_grace_period() {
    let config = AgiConfig {
        shutdown_grace_ms: 100,
        ..AgiConfig::default()
    };
    let mut server = TestServer::start(Router::new().route("test", hold), config).await;
    let mut stuck = FakeAsterisk::call(server.addr, "test").await;
    stuck.expect_line().await;
    let status = server.status.clone();
    server.signal_shutdown();
    server.join().await;
    stuck.expect_closed().await;
    assert_eq!(status.active_sessions(), 0);
}

#[tokio::test]
async fn a_missing_reply_times_out_and_closes_the_session() {
    let (server_side, mut asterisk) = tokio::io::duplex(4096);
    let options = SessionOptions {
        timeouts: CommandTimeouts {
            base: Duration::from_millis(100),
            media: Duration::from_secs(60),
        },
        ..SessionOptions::default()
    };
    asterisk
        .write_all(agi_server_harness::env_block("test", "t-1").as_bytes())
        .await
        .unwrap();
    let mut session = AgiSession::accept(server_side, options).await.unwrap();
    let started = tokio::time::Instant::now();
    let res = session.get_variable("NEVER_ANSWERED").await;
    assert!(
        matches!(
            res,
            Err(AgiError::Timeout {
                command: "GET VARIABLE",
                timeout_ms: 100
            })
        ),
        "{res:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // A late reply would now be taken for the next command's: the session refuses to go on.
    asterisk.write_all(b"200 result=1 (late)\n").await.unwrap();
    assert!(matches!(
        session.verbose("x", 1).await,
        Err(AgiError::Closed)
    ));
}

#[tokio::test]
async fn environment_that_never_ends_is_dropped() {
    let config = AgiConfig {
        command_timeout_ms: 100,
        ..AgiConfig::default()
    };
    let server = TestServer::start(Router::new().route("test", hold), config).await;
    let mut half = FakeAsterisk::connect(server.addr).await;
    half.send("agi_network: yes\n").await;
    half.expect_closed().await;
    assert_eq!(server.metrics.session_errors_total.get(), 1);
    assert_eq!(server.metrics.sessions_total.get(), 0);
}
