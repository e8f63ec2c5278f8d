//! Harness for the FastAGI server tests: a real [`AgiServer`] on `127.0.0.1:0` and a fake
//! Asterisk that speaks raw FastAGI bytes to it.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::net::SocketAddr;
use std::time::Duration;

use callpro_engine::agi::{AgiConfig, AgiMetrics, AgiServer, AgiStatus, Router};
use prometheus::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Upper bound for anything a test waits on; a hang fails instead of blocking CI.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running server and the handles to observe and stop it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub status: AgiStatus,
    pub metrics: AgiMetrics,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl TestServer {
    pub async fn start(router: Router, config: AgiConfig) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = AgiMetrics::new(&Registry::new()).unwrap();
        let server = AgiServer::new(config).with_metrics(metrics.clone());
        let status = server.status();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(listener, router, async move {
            let _ = stopped.await;
        }));
        // `run` publishes its state when it first polls; tests observe it from then on.
        while !status.is_accepting() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        TestServer {
            addr,
            status,
            metrics,
            stop: Some(stop),
            task,
        }
    }

    /// Sends the shutdown signal without waiting.
    pub fn signal_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits for `run` to return.
    pub async fn join(self) {
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("server did not stop")
            .unwrap();
    }
}

/// The environment block Asterisk sends, for `script` (path and query).
pub fn env_block(script: &str, uniqueid: &str) -> String {
    format!(
        "agi_network: yes\nagi_network_script: {script}\nagi_request: agi://127.0.0.1:4573/{script}\n\
         agi_channel: Local/s@agi-test-00000001;2\nagi_language: en\nagi_type: Local\n\
         agi_uniqueid: {uniqueid}\nagi_version: 22.10.1\nagi_callerid: 0100000000\n\
         agi_context: agi-test\nagi_extension: s\nagi_priority: 2\n\n"
    )
}

/// Plays Asterisk's side of a FastAGI connection with raw bytes.
pub struct FakeAsterisk {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl FakeAsterisk {
    pub async fn connect(addr: SocketAddr) -> FakeAsterisk {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        FakeAsterisk {
            stream,
            buf: Vec::new(),
        }
    }

    /// Connects and sends the environment for `script`.
    pub async fn call(addr: SocketAddr, script: &str) -> FakeAsterisk {
        let mut asterisk = FakeAsterisk::connect(addr).await;
        asterisk.send(&env_block(script, "test-1")).await;
        asterisk
    }

    /// Writes bytes; errors are ignored because the server may legitimately have closed
    /// already (Asterisk's trailing `HANGUP` after our close, for instance).
    pub async fn send(&mut self, bytes: &str) {
        let _ = self.stream.write_all(bytes.as_bytes()).await;
    }

    /// Writes raw bytes, ignoring errors like [`FakeAsterisk::send`].
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes).await;
    }

    /// Half-closes: Asterisk is done talking.
    pub async fn finish(&mut self) {
        let _ = self.stream.shutdown().await;
    }

    /// Reads and discards until the server closes; false if it stays open for [`PATIENCE`].
    pub async fn drain_until_closed(&mut self) -> bool {
        let drain = async {
            let mut chunk = [0u8; 1024];
            while let Ok(n @ 1..) = self.stream.read(&mut chunk).await {
                let _ = n;
            }
        };
        tokio::time::timeout(PATIENCE, drain).await.is_ok()
    }

    /// The next line from the server, `\n` included; `None` once it closed (FIN or reset).
    pub async fn next_line(&mut self) -> Option<String> {
        loop {
            if let Some(nl) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=nl).collect();
                return Some(String::from_utf8(line).unwrap());
            }
            let mut chunk = [0u8; 1024];
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => {
                    assert!(
                        self.buf.is_empty(),
                        "partial line before close: {:?}",
                        self.buf
                    );
                    return None;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The next command line, which must come within [`PATIENCE`].
    pub async fn expect_line(&mut self) -> String {
        match tokio::time::timeout(PATIENCE, self.next_line()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!("server closed while a command was expected"),
            Err(_) => panic!("no command from the server within {PATIENCE:?}"),
        }
    }

    /// The server must close without writing anything more.
    pub async fn expect_closed(&mut self) {
        match tokio::time::timeout(PATIENCE, self.next_line()).await {
            Ok(None) => {}
            Ok(Some(line)) => panic!("expected close, server wrote {line:?}"),
            Err(_) => panic!("server did not close within {PATIENCE:?}"),
        }
    }

    /// True if the server wrote nothing (and did not close) within `wait`.
    pub async fn is_silent_for(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.next_line()).await.is_err()
    }
}
