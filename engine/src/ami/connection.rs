//! The connection task behind [`super::AmiClient`]: connect and log in, run one session
//! (socket reader + action writer), and on loss fail what was pending, back off and start over.
//!
//! Reconnect policy: exponential backoff from `reconnect_min` to `reconnect_max` with jitter
//! (a random delay in the upper half of the step, so many instances do not stampede a restarted
//! Asterisk). A refused login also retries, but always at `reconnect_max`: a wrong secret costs
//! one attempt per ceiling interval instead of a storm of security events, and a corrected
//! `manager.conf` is picked up without restarting callpro. Actions are never re-sent across a
//! reconnect; requests made while disconnected fail at once with `NotConnected`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::codec::FramedRead;

use super::client::{Request, Shared, WeakClient};
use super::codec::{AmiCodec, AmiFrame};
use super::error::AmiClientError;
use super::login;
use super::message::Action;
use super::resync;
use super::status::ConnectionState;

/// Why a session ended.
enum End {
    Shutdown,
    Lost(AmiClientError),
}

/// The connection task: runs until shutdown or until every handle is dropped.
pub(crate) async fn run(shared: Arc<Shared>, mut commands: mpsc::Receiver<Request>) {
    let mut shutdown = shared.shutdown.subscribe();
    let config = shared.config.clone();
    let mut failures: u32 = 0;
    let mut generation: u64 = 0;
    'outer: loop {
        shared.set_status(|s| s.state = ConnectionState::Connecting);
        let attempt = tokio::time::timeout(
            config.action_timeout,
            login::connect(&config, || shared.next_action_id()),
        );
        let attempt = tokio::select! {
            r = attempt => r.unwrap_or_else(|_| Err(AmiClientError::Timeout { action: "Login".into() })),
            () = stopped(&mut shutdown) => break 'outer,
        };
        let delay = match attempt {
            Ok(conn) => {
                generation += 1;
                if generation > 1
                    && let Some(m) = &shared.metrics
                {
                    m.reconnect();
                }
                tracing::info!(ami.address = %config.address(), ami.banner = %conn.banner, "AMI logged in");
                let banner = conn.banner.clone();
                shared.set_status(|s| {
                    s.state = ConnectionState::Connected;
                    s.banner = Some(banner);
                    s.generation = generation;
                });
                set_connected(&shared, true);
                let started = Instant::now();
                let end = session(&shared, conn, generation, &mut commands, &mut shutdown).await;
                set_connected(&shared, false);
                match end {
                    End::Shutdown => break 'outer,
                    End::Lost(err) => {
                        tracing::warn!(error = %err, "AMI connection lost; reconnecting");
                        shared.pending().fail_all(&AmiClientError::ConnectionLost);
                        disconnected(&shared, err);
                        // A connection that dies right after login counts as a failed attempt.
                        failures = if started.elapsed() >= config.reconnect_max {
                            0
                        } else {
                            failures + 1
                        };
                        backoff(&shared, failures)
                    }
                }
            }
            Err(err @ AmiClientError::AuthenticationFailed(_)) => {
                tracing::error!(error = %err, ami.username = %config.username, "AMI login refused; retrying at the maximum backoff");
                disconnected(&shared, err);
                jitter(config.reconnect_max)
            }
            Err(err) => {
                failures = failures.saturating_add(1);
                tracing::warn!(error = %err, ami.address = %config.address(), "AMI connect failed");
                disconnected(&shared, err);
                backoff(&shared, failures)
            }
        };
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                req = commands.recv() => match req {
                    Some(req) => req.reply.fail(AmiClientError::NotConnected),
                    None => break 'outer,
                },
                () = stopped(&mut shutdown) => break 'outer,
            }
        }
    }
    shared.pending().fail_all(&AmiClientError::Closed);
    commands.close();
    while let Ok(req) = commands.try_recv() {
        req.reply.fail(AmiClientError::Closed);
    }
    shared.set_status(|s| s.state = ConnectionState::Closed);
    tracing::info!("AMI client stopped");
}

/// Resolves once shutdown was requested (the watch guard is dropped before returning, so the
/// future stays `Send`).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

fn set_connected(shared: &Shared, up: bool) {
    if let Some(m) = &shared.metrics {
        m.set_connected(up);
    }
}

fn disconnected(shared: &Shared, err: AmiClientError) {
    shared.set_status(|s| {
        s.state = ConnectionState::Disconnected;
        s.last_error = Some(err);
    });
}

/// `reconnect_min * 2^(failures-1)`, capped, with jitter.
fn backoff(shared: &Shared, failures: u32) -> Duration {
    let config = &shared.config;
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    jitter(
        config
            .reconnect_min
            .saturating_mul(factor)
            .min(config.reconnect_max),
    )
}

/// A random delay in `[step/2, step]`.
fn jitter(step: Duration) -> Duration {
    let nanos = u64::try_from(step.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::random_range(nanos / 2..=nanos))
}

/// One logged-in connection: a reader task routes packets, this task writes actions.
async fn session(
    shared: &Arc<Shared>,
    conn: login::LoggedIn,
    generation: u64,
    commands: &mut mpsc::Receiver<Request>,
    shutdown: &mut watch::Receiver<bool>,
) -> End {
    let login::LoggedIn {
        reader, mut writer, ..
    } = conn;
    let mut reader = tokio::spawn(read_loop(reader, Arc::clone(shared)));
    let kill = Arc::new(Notify::new());
    let weak = WeakClient::new(Arc::clone(shared));
    let resync = tokio::spawn(resync::resync(weak.clone(), generation));
    let keepalive = tokio::spawn(resync::keepalive(weak, generation, Arc::clone(&kill)));
    let end = loop {
        tokio::select! {
            () = stopped(shutdown) => {
                logoff(shared, &mut writer, &mut reader).await;
                break End::Shutdown;
            }
            res = &mut reader => {
                break End::Lost(res.unwrap_or_else(|e| AmiClientError::Io(format!("reader task failed: {e}"))));
            }
            () = kill.notified() => {
                break End::Lost(AmiClientError::Timeout { action: "Ping".into() });
            }
            req = commands.recv() => {
                let Some(req) = req else { break End::Shutdown };
                if let Err(err) = write(shared, &mut writer, generation, req).await {
                    break End::Lost(err);
                }
            }
        }
    };
    reader.abort();
    resync.abort();
    keepalive.abort();
    end
}

/// Registers `req` as pending and writes it; an error means the connection is unusable.
async fn write(
    shared: &Shared,
    writer: &mut OwnedWriteHalf,
    generation: u64,
    req: Request,
) -> Result<(), AmiClientError> {
    if req.generation.is_some_and(|g| g != generation) {
        req.reply.fail(AmiClientError::ConnectionLost);
        return Ok(());
    }
    if req.reply.is_abandoned() {
        // The caller timed out while the request queued: never send what nobody awaits
        // (an originate the caller believes failed must not ring a phone).
        return Ok(());
    }
    let bytes = match req.action.to_bytes() {
        Ok(bytes) => bytes,
        Err(err) => {
            req.reply.fail(err.into());
            return Ok(());
        }
    };
    let id = req.action.action_id().unwrap_or_default().to_owned();
    shared
        .pending()
        .insert(id.clone(), req.action.name(), req.reply);
    let written =
        tokio::time::timeout(shared.config.action_timeout, writer.write_all(&bytes)).await;
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(err.into()),
        Err(_) => Err(AmiClientError::Io("write to Asterisk timed out".into())),
    }
}

/// Says goodbye, then gives Asterisk a moment to answer and close.
async fn logoff(
    shared: &Shared,
    writer: &mut OwnedWriteHalf,
    reader: &mut tokio::task::JoinHandle<AmiClientError>,
) {
    let logoff = Action::new("Logoff").with_action_id(shared.next_action_id());
    if let Ok(bytes) = logoff.to_bytes() {
        let grace = shared.config.action_timeout.min(Duration::from_secs(2));
        if let Ok(Ok(())) = tokio::time::timeout(grace, writer.write_all(&bytes)).await {
            let _ = tokio::time::timeout(grace, reader).await;
        }
    }
    let _ = writer.shutdown().await;
}

/// Reads until the socket fails; never waits on anyone but the socket.
async fn read_loop(
    mut reader: FramedRead<OwnedReadHalf, AmiCodec>,
    shared: Arc<Shared>,
) -> AmiClientError {
    loop {
        match reader.next().await {
            Some(Ok(AmiFrame::Message(msg))) => shared.dispatch(msg),
            Some(Ok(AmiFrame::Banner(_))) => {}
            Some(Err(err)) => return err.into(),
            None => return AmiClientError::Io("connection closed by Asterisk".into()),
        }
    }
}
