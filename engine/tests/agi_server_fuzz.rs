//! Whatever a client sends — random bytes, a valid environment followed by a jumble of reply
//! fragments, oversized lines — the FastAGI server must not panic, must close the connection,
//! and must keep serving the next real call. Panics are counted by a process-wide hook (this
//! file is its own test binary, so no other test can trip it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod agi_server_harness;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agi_server_harness::{FakeAsterisk, TestServer, env_block};
use callpro_engine::agi::{AgiConfig, AgiSession, HandlerResult, Router};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Exercises every reply path; errors are expected with garbage and simply end the session.
async fn busy(mut s: AgiSession) -> HandlerResult {
    s.answer().await?;
    s.get_variable("X").await?;
    s.stream_file("beep", "12").await?;
    s.get_data("beep", Duration::from_millis(100), 3).await?;
    s.wait_for_digit(Duration::from_millis(100)).await?;
    s.exec("Playback", "beep").await?;
    Ok(())
}

fn fragments() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"200 result=0\n".to_vec()),
        Just(b"200 result=49 endpos=12\n".to_vec()),
        Just(b"200 result= (timeout)\n".to_vec()),
        Just(b"200 result=1 (a (b) c\n".to_vec()),
        Just(b"200 result=-1\n".to_vec()),
        Just(b"HANGUP\n".to_vec()),
        Just(b"510 Invalid\n".to_vec()),
        Just(b"511 dead\n".to_vec()),
        Just(b"520-Invalid command syntax.\n".to_vec()),
        Just(b"520 End of proper usage.\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"200\n".to_vec()),
        Just(b"999 what\n".to_vec()),
        Just(vec![b'9'; 20_000]),
        proptest::collection::vec(any::<u8>(), 0..64),
    ];
    proptest::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat())
}

fn inputs() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..4096),
        fragments().prop_map(|tail| [env_block("test", "fuzz").into_bytes(), tail].concat()),
        fragments(),
    ]
}

#[test]
fn garbage_from_the_client_never_panics_the_server() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = AgiConfig {
        command_timeout_ms: 300,
        media_timeout_ms: 0,
        ..AgiConfig::default()
    };
    let server = rt.block_on(TestServer::start(Router::new().route("test", busy), config));
    let addr = server.addr;

    let mut runner = TestRunner::new(Config::with_cases(192));
    runner
        .run(&inputs(), |input| {
            let closed = rt.block_on(async {
                let mut asterisk = FakeAsterisk::connect(addr).await;
                asterisk.send_bytes(&input).await;
                asterisk.finish().await;
                asterisk.drain_until_closed().await
            });
            prop_assert!(closed, "server kept the connection open");
            prop_assert_eq!(PANICS.load(Ordering::SeqCst), 0);
            Ok(())
        })
        .unwrap();

    // Still serving real calls afterwards.
    rt.block_on(async {
        let mut asterisk = FakeAsterisk::call(addr, "test").await;
        assert_eq!(asterisk.expect_line().await, "ANSWER\n");
        asterisk.send("200 result=0\n").await;
        assert_eq!(asterisk.expect_line().await, "GET VARIABLE X\n");
        asterisk.finish().await;
        assert!(asterisk.drain_until_closed().await);
    });
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
    // The last session's task may still be unwinding its counters.
    rt.block_on(async {
        for _ in 0..200 {
            if server.status.active_sessions() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    assert_eq!(server.status.active_sessions(), 0);
}
