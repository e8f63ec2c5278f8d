//! The FastAGI server against the real Asterisk 22 captures: a scripted client replays each
//! `engine/tests/captures/agi/*.jsonl` session over TCP (Asterisk's bytes at the recorded read
//! boundaries, out-of-band `HANGUP` lines where they were), checks every command line the server
//! writes against the recorded one, and the routed handler issues the capture's command sequence
//! through the typed session API and asserts what it gets back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod agi_server_harness;
mod fixtures;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use agi_server_harness::{FakeAsterisk, PATIENCE, TestServer};
use callpro_engine::agi::{AgiConfig, AgiError, AgiSession, Command, HandlerError, Reply, Router};
use fixtures::{Capture, load_captures};
use futures_util::FutureExt;
use tokio::sync::mpsc;

type Verdict = std::thread::Result<()>;

/// Replays `cap` against a server routing `route` to `script`, and fails if either the wire
/// exchange or the script's own assertions do.
async fn replay<F, Fut>(name: &str, route: &str, script: F) -> TestServer
where
    F: Fn(AgiSession) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, mut verdicts) = mpsc::unbounded_channel::<Verdict>();
    let handler = move |session: AgiSession| {
        let tx = tx.clone();
        let run = AssertUnwindSafe(script(session)).catch_unwind();
        async move {
            let _ = tx.send(run.await);
            Ok::<(), HandlerError>(())
        }
    };
    let server = TestServer::start(Router::new().route(route, handler), AgiConfig::default()).await;
    let cap = load_captures("agi")
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("capture {name} is missing"));
    let client = tokio::spawn(play_asterisk(server.addr, cap));
    let verdict = tokio::time::timeout(PATIENCE, verdicts.recv()).await;
    if let Ok(Some(Err(panic))) = verdict {
        std::panic::resume_unwind(panic);
    }
    assert!(
        matches!(verdict, Ok(Some(Ok(())))),
        "{name}: handler never reported"
    );
    tokio::time::timeout(PATIENCE, client)
        .await
        .expect("client hung")
        .unwrap();
    server
}

/// Asterisk's side of `cap`: its bytes as recorded, our command lines checked one by one.
async fn play_asterisk(addr: std::net::SocketAddr, cap: Capture) {
    let mut asterisk = FakeAsterisk::connect(addr).await;
    for (i, record) in cap.records.iter().enumerate() {
        match (record.dir.as_str(), record.event.as_deref()) {
            ("in", Some("eof")) => return,
            ("in", _) => asterisk.send(&record.bytes).await,
            ("out", Some("close")) => asterisk.expect_closed().await,
            ("out", _) => {
                let line = asterisk.expect_line().await;
                assert_eq!(line, record.bytes, "{}: record {i}", cap.name);
            }
            (dir, _) => panic!("{}: unknown direction {dir}", cap.name),
        }
    }
}

fn assert_failed(result: Result<impl std::fmt::Debug, AgiError>, verb: &str) {
    match result {
        Err(AgiError::Failed { command, result }) => {
            assert_eq!((command, result.as_str()), (verb, "-1"));
        }
        other => panic!("expected {verb} result=-1, got {other:?}"),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

async fn basic(mut s: AgiSession) {
    let env = s.request();
    assert_eq!(
        (env.script.as_str(), env.query_param("x")),
        ("test", Some("1"))
    );
    assert_eq!(env.args, ["arg1", "arg2"]);
    s.answer().await.unwrap();
    assert_eq!(s.channel_status().await.unwrap(), 6);
    s.verbose("callpro lab: hello from FastAGI", 1)
        .await
        .unwrap();
    let campaign = s.get_variable("CALLPRO_CAMPAIGN").await.unwrap();
    assert_eq!(campaign.as_deref(), Some("42"));
    assert_eq!(
        s.get_variable("CALLPRO_DOES_NOT_EXIST").await.unwrap(),
        None
    );
    s.set_variable("CALLPRO_RESULT", "hello world")
        .await
        .unwrap();
    let value = s.get_variable("CALLPRO_RESULT").await.unwrap();
    assert_eq!(value.as_deref(), Some("hello world"));
    let full = s
        .raw(r#"GET FULL VARIABLE "${CALLPRO_RESULT}|${CALLERID(num)}""#)
        .await
        .unwrap();
    let data = full.outcome().and_then(|o| o.data.clone());
    assert_eq!(data.as_deref(), Some("hello world|0100000000"));
    assert_eq!(s.stream_file("beep", "").await.unwrap(), None);
    assert_eq!(s.stream_file("beep", "0123456789*#").await.unwrap(), None);
    assert_failed(s.stream_file("no-such-sound-file", "").await, "STREAM FILE");
    assert_eq!(s.wait_for_digit(ms(500)).await.unwrap(), None);
    let data = s.get_data("beep", ms(1000), 2).await.unwrap();
    assert_eq!(
        data,
        (String::new(), true),
        "GET DATA timed out without digits"
    );
    assert_eq!(s.exec("Playback", "beep").await.unwrap(), 0);
    assert_eq!(s.exec("Playback", "beep,noanswer").await.unwrap(), 0);
    assert_eq!(s.exec("NoSuchApplication", "foo").await.unwrap(), -2);
    let foobar = s.send(&Command::Raw("FOOBAR baz".into())).await;
    assert!(
        matches!(foobar, Err(AgiError::UnknownCommand { .. })),
        "{foobar:?}"
    );
    match s.send(&Command::Raw("STREAM FILE".into())).await {
        Err(AgiError::Usage { message, usage }) => {
            assert_eq!(message, "Invalid command syntax.  Proper usage follows:");
            assert_eq!(usage.len(), 5);
            assert!(usage[2].contains("PLAYBACKSTATUS"));
        }
        other => panic!("expected 520, got {other:?}"),
    }
    match s.raw("GET DATA").await.unwrap() {
        Reply::Usage { usage, .. } => assert_eq!(usage.len(), 2),
        other => panic!("expected 520, got {other:?}"),
    }
    assert!(!s.is_hung_up());
    s.hangup().await.unwrap();
    assert!(s.is_hung_up());
    // Refused locally: a line on the wire here would fail the replay.
    assert!(matches!(s.answer().await, Err(AgiError::Hangup)));
}

#[tokio::test]
async fn basic_session_covers_every_reply_form() {
    let server = replay("agi-session-basic", "/test", basic).await;
    assert_eq!(server.metrics.sessions_total.get(), 1);
}

#[tokio::test]
async fn get_data_returns_the_digits_typed_before_hash() {
    replay(
        "agi-session-getdata-dtmf",
        "test",
        |mut s: AgiSession| async move {
            s.answer().await.unwrap();
            let got = s.get_data("beep", ms(5000), 5).await.unwrap();
            assert_eq!(got, ("12".to_owned(), false));
            s.verbose("got digits", 1).await.unwrap();
        },
    )
    .await;
}

#[tokio::test]
async fn stream_file_and_wait_for_digit_return_digits() {
    replay(
        "agi-session-stream-dtmf",
        "test",
        |mut s: AgiSession| async move {
            let escape = s
                .stream_file("demo-congrats", "0123456789*#")
                .await
                .unwrap();
            assert_eq!(escape, Some('1'));
            assert_eq!(s.wait_for_digit(ms(3000)).await.unwrap(), Some('2'));
            assert_eq!(s.wait_for_digit(ms(3000)).await.unwrap(), Some('#'));
            assert_eq!(s.wait_for_digit(ms(1500)).await.unwrap(), None);
        },
    )
    .await;
}

#[tokio::test]
async fn hangup_before_a_reply_is_absorbed_and_stops_media() {
    let server = replay(
        "agi-session-hangup-midcommand",
        "test",
        |mut s: AgiSession| async move {
            assert_failed(s.stream_file("demo-congrats", "").await, "STREAM FILE");
            assert!(!s.is_hung_up(), "HANGUP comes only after that result");
            let beep = s.stream_file("beep", "").await;
            assert!(
                matches!(beep, Err(AgiError::DeadChannel { .. })),
                "{beep:?}"
            );
            assert!(s.is_hung_up());
            assert!(matches!(
                s.wait_for_digit(ms(1000)).await,
                Err(AgiError::Hangup)
            ));
            // The escape hatch still reaches Asterisk, which refuses with 511 as recorded.
            let raw = s.raw("WAIT FOR DIGIT 1000").await.unwrap();
            assert!(matches!(raw, Reply::DeadChannel { .. }), "{raw:?}");
            let campaign = s.get_variable("CALLPRO_CAMPAIGN").await.unwrap();
            assert_eq!(campaign.as_deref(), Some("42"));
            s.verbose("callpro: still here after hangup", 1)
                .await
                .unwrap();
            assert!(matches!(s.answer().await, Err(AgiError::Hangup)));
            assert!(matches!(
                s.raw("ANSWER").await.unwrap(),
                Reply::DeadChannel { .. }
            ));
        },
    )
    .await;
    assert_eq!(server.metrics.hangups_total.get(), 1);
}

#[tokio::test]
async fn hangup_while_idle_is_noticed_on_the_next_command() {
    replay(
        "agi-session-hangup-idle",
        "test",
        |mut s: AgiSession| async move {
            let campaign = s.get_variable("CALLPRO_CAMPAIGN").await.unwrap();
            assert_eq!(campaign.as_deref(), Some("42"));
            assert!(s.is_hung_up());
            assert!(matches!(
                s.stream_file("beep", "").await,
                Err(AgiError::Hangup)
            ));
            let raw = s.raw(r#"STREAM FILE beep """#).await.unwrap();
            assert!(matches!(raw, Reply::DeadChannel { .. }), "{raw:?}");
        },
    )
    .await;
}

#[tokio::test]
async fn inbound_ivr_caller_hangs_up_during_get_data() {
    replay(
        "agi-session-inbound-ivr",
        "/ivr",
        |mut s: AgiSession| async move {
            let env = s.request().clone();
            assert_eq!(
                (env.channel_type.as_str(), env.dnid.as_str()),
                ("PJSIP", "0142000000")
            );
            assert_eq!(env.query_param("did"), Some("0142000000"));
            s.answer().await.unwrap();
            let line = format!("callpro ivr did={}", env.network_script);
            s.verbose(&line, 1).await.unwrap();
            assert_eq!(
                s.stream_file("hello-world", "0123456789*#").await.unwrap(),
                None
            );
            assert_failed(s.get_data("beep", ms(10_000), 4).await, "GET DATA");
            let caller = s.get_variable("CALLERID(num)").await.unwrap();
            assert_eq!(caller.as_deref(), Some("sipp"));
            assert!(s.is_hung_up(), "HANGUP arrived before that reply");
        },
    )
    .await;
}

#[tokio::test]
async fn outbound_answered_route_with_a_nested_path() {
    replay(
        "agi-session-outbound-answered",
        "/outbound/answered",
        |mut s: AgiSession| async move {
            assert!(s.request().args.is_empty());
            s.verbose("callpro: outbound call answered", 1)
                .await
                .unwrap();
            let call = s.get_variable("CALLPRO_CALL_ID").await.unwrap();
            assert_eq!(call.as_deref(), Some("c-answer-0001"));
            assert_eq!(s.stream_file("beep", "").await.unwrap(), None);
            assert_eq!(s.wait_for_digit(ms(1000)).await.unwrap(), None);
        },
    )
    .await;
}
