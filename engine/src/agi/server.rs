//! The FastAGI server, in the mini-redis shape: an accept loop with a session cap, accept
//! backoff, a shutdown signal passed in as a future, and per-connection tasks whose errors are
//! logged once (with `agi.uniqueid` and `agi.script`) and never propagated.
//!
//! Cap: the connection is accepted at once (so Asterisk's 2 s connect timeout never fires), then
//! waits up to `queue_timeout_ms` for a slot; if none frees up it is closed without a command,
//! and the dialplan continues with `AGISTATUS=FAILURE`. Shutdown: the listener closes at once,
//! running sessions get `shutdown_grace_ms` to finish, then they are cut.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::config::AgiConfig;
use super::error::AgiError;
use super::metrics::AgiMetrics;
use super::router::Router;
use super::session::{AgiSession, SessionOptions};
use super::status::AgiStatus;

const BACKOFF_MIN: Duration = Duration::from_millis(5);
/// Accept errors are mostly fd exhaustion: retry for as long as it lasts, at most once a second.
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The FastAGI server; a cheap-to-clone handle built once from [`AgiConfig`].
#[derive(Clone, Debug)]
pub struct AgiServer {
    config: AgiConfig,
    metrics: Option<AgiMetrics>,
    status: AgiStatus,
}

/// What every connection task shares.
struct Shared {
    router: Router,
    options: SessionOptions,
    slots: Arc<Semaphore>,
    queue_timeout: Duration,
    metrics: Option<AgiMetrics>,
    status: AgiStatus,
}

impl AgiServer {
    /// A server for `config` (validate it first with [`AgiConfig::validate`]).
    pub fn new(config: AgiConfig) -> AgiServer {
        let status = AgiStatus::new(config.max_sessions);
        AgiServer {
            config,
            metrics: None,
            status,
        }
    }

    /// Counts sessions, commands and hang-ups into `metrics`.
    pub fn with_metrics(mut self, metrics: AgiMetrics) -> AgiServer {
        self.metrics = Some(metrics);
        self
    }

    /// The observable state, for `/health`.
    pub fn status(&self) -> AgiStatus {
        self.status.clone()
    }

    /// Binds `config.bind`. The server counts as listening from here on: connections wait in
    /// the kernel's backlog until [`AgiServer::run`] accepts them.
    pub async fn bind(&self) -> std::io::Result<TcpListener> {
        let listener = TcpListener::bind(self.config.bind).await?;
        self.status.set_listening(listener.local_addr().ok(), true);
        Ok(listener)
    }

    /// Serves `listener` with `router` until `shutdown` completes, then drains the sessions.
    pub async fn run(self, listener: TcpListener, router: Router, shutdown: impl Future) {
        let shared = Arc::new(Shared {
            router,
            options: SessionOptions {
                timeouts: self.config.timeouts(),
                limits: self.config.limits(),
                metrics: self.metrics.clone(),
            },
            slots: Arc::new(Semaphore::new(self.config.max_sessions)),
            queue_timeout: self.config.queue_timeout(),
            metrics: self.metrics.clone(),
            status: self.status.clone(),
        });
        let addr = listener.local_addr().ok();
        self.status.set_listening(addr, true);
        tracing::info!(agi.listen = ?addr, max_sessions = self.config.max_sessions, "FastAGI server listening");
        let mut sessions = JoinSet::new();
        let mut backoff = BACKOFF_MIN;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some(joined) = sessions.join_next(), if !sessions.is_empty() => reap(joined),
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        backoff = BACKOFF_MIN;
                        sessions.spawn(connection(shared.clone(), stream, peer));
                    }
                    Err(error) => {
                        tracing::warn!(%error, backoff_ms = backoff.as_millis() as u64, "FastAGI accept failed; backing off");
                        tokio::select! {
                            _ = &mut shutdown => break,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                },
            }
        }
        drop(listener);
        self.status.set_accepting(false);
        let grace = self.config.shutdown_grace();
        tracing::info!(
            sessions = sessions.len(),
            grace_ms = grace.as_millis() as u64,
            "FastAGI server stopping; letting sessions finish"
        );
        let drained = tokio::time::timeout(grace, async {
            while let Some(joined) = sessions.join_next().await {
                reap(joined);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                sessions = sessions.len(),
                "FastAGI shutdown grace expired; cutting the remaining sessions"
            );
            sessions.shutdown().await;
        }
        tracing::info!("FastAGI server stopped");
    }
}

/// Connection tasks catch their own panics; a join error here is an abort during shutdown.
fn reap(joined: Result<(), tokio::task::JoinError>) {
    if let Err(error) = joined
        && error.is_panic()
    {
        tracing::error!("FastAGI connection task panicked outside its handler");
    }
}

/// Decrements the active counters however the session ends (return, error, panic, abort).
struct Active(Arc<Shared>);

impl Active {
    fn start(shared: Arc<Shared>) -> Active {
        shared.status.session_started();
        if let Some(m) = &shared.metrics {
            m.sessions_active.inc();
            m.sessions_total.inc();
        }
        Active(shared)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.status.session_ended();
        if let Some(m) = &self.0.metrics {
            m.sessions_active.dec();
        }
    }
}

async fn connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let permit = match shared.slots.clone().try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => {
            match tokio::time::timeout(shared.queue_timeout, shared.slots.clone().acquire_owned())
                .await
            {
                Ok(Ok(permit)) => permit,
                _ => {
                    if let Some(m) = &shared.metrics {
                        m.sessions_refused_total.inc();
                    }
                    tracing::warn!(%peer, "FastAGI session limit reached; closing the connection");
                    return;
                }
            }
        }
    };
    // Replies are tiny and strictly alternate with commands: Nagle would only add delay.
    let _ = stream.set_nodelay(true);
    let session = match AgiSession::accept(stream, shared.options.clone()).await {
        Ok(session) => session,
        Err(error) => {
            if let Some(m) = &shared.metrics {
                m.session_errors_total.inc();
            }
            tracing::warn!(%peer, %error, "FastAGI connection without a valid environment");
            return;
        }
    };
    let request = session.request();
    let span = tracing::info_span!(
        "agi",
        agi.uniqueid = %request.uniqueid,
        agi.script = %request.script,
        agi.channel = %request.channel,
    );
    let handler = shared.router.resolve(&request.script).clone();
    let active = Active::start(shared.clone());
    let outcome = AssertUnwindSafe(handler.call(session))
        .catch_unwind()
        .instrument(span.clone())
        .await;
    let _entered = span.enter();
    match outcome {
        Ok(Ok(())) => tracing::debug!("FastAGI session finished"),
        Ok(Err(error)) => match error.downcast_ref::<AgiError>() {
            Some(agi) if agi.is_hangup() => {
                tracing::info!(error = %agi, "FastAGI session ended by the caller's hang-up")
            }
            _ => {
                if let Some(m) = &shared.metrics {
                    m.session_errors_total.inc();
                }
                tracing::warn!(%error, "FastAGI session failed");
            }
        },
        Err(_) => {
            if let Some(m) = &shared.metrics {
                m.session_errors_total.inc();
            }
            tracing::error!("FastAGI handler panicked; session closed");
        }
    }
    drop(active);
    drop(permit);
}
