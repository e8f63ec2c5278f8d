//! The outbox worker: a tokio task per instance that claims due emails under a lease, sends
//! them through one pooled transport per SMTP profile, and settles each row: `sent` with its
//! Message-ID, back to `queued` with exponential backoff after a temporary failure, `failed`
//! after a permanent one or the last attempt.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts, Registry};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::smtp::{self, Email, SendError, Transport};
use crate::db;
use crate::models::email_outbox::{Outbox, OutboxEmail, OutboxEmailChanges};
use crate::models::smtp_profile::SmtpProfile;
use crate::state::AppState;

/// Timing and limits of the worker.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// How often the outbox is polled.
    pub poll: Duration,
    /// How long a claim holds: longer than any send ([`WorkerConfig::smtp_timeout`]).
    pub lease: Duration,
    /// Delay before the second attempt; doubled for each further one.
    pub backoff: Duration,
    /// Attempts before a temporarily failing email is given up.
    pub max_attempts: i32,
    /// Emails claimed per poll.
    pub batch: i64,
    /// SMTP command timeout.
    pub smtp_timeout: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(2),
            lease: Duration::from_secs(120),
            backoff: Duration::from_secs(60),
            max_attempts: 8,
            batch: 20,
            smtp_timeout: Duration::from_secs(30),
        }
    }
}

/// The running worker.
#[derive(Debug)]
pub struct OutboxHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl OutboxHandle {
    /// Stops claiming, lets the current batch finish and waits for the task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "email worker ended abnormally");
        }
    }
}

/// Starts the worker of this instance.
pub fn spawn(state: AppState, config: WorkerConfig) -> OutboxHandle {
    let (stop, mut stopped) = watch::channel(false);
    let runner = format!("email-{}", uuid::Uuid::new_v4());
    let task = tokio::spawn(async move {
        let metrics = EmailMetrics::new(state.metrics.registry())
            .inspect_err(|e| tracing::warn!(error = %e, "email metrics unavailable"))
            .ok();
        let mut worker = Worker {
            state,
            config,
            runner,
            transports: HashMap::new(),
            metrics,
        };
        loop {
            let busy = match worker.round().await {
                Ok(n) => n as i64 >= config.batch,
                Err(e) => {
                    tracing::warn!(error = %e, "email outbox round failed");
                    false
                }
            };
            if *stopped.borrow() {
                break;
            }
            if !busy {
                tokio::select! {
                    _ = stopped.changed() => break,
                    () = tokio::time::sleep(config.poll) => {}
                }
            }
        }
    });
    OutboxHandle { stop, task }
}

struct Worker {
    state: AppState,
    config: WorkerConfig,
    runner: String,
    /// One pool per profile, rebuilt when the profile changes.
    transports: HashMap<i64, (NaiveDateTime, Transport)>,
    metrics: Option<EmailMetrics>,
}

/// Delivery counters and send latency.
struct EmailMetrics {
    outcomes: IntCounterVec,
    duration: Histogram,
}

impl EmailMetrics {
    /// Creates the metrics and registers them into `registry`. A second worker in one process
    /// (tests) finds them registered already and counts on its own.
    fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let outcomes = IntCounterVec::new(
            Opts::new(
                "callpro_email_deliveries_total",
                "Email delivery attempts by outcome: sent, retry (temporary failure, tried again later) or failed",
            ),
            &["outcome"],
        )?;
        let duration = Histogram::with_opts(
            HistogramOpts::new(
                "callpro_email_send_duration_seconds",
                "Time to hand one email to the SMTP server",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
        )?;
        for collector in [
            Box::new(outcomes.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
        ] {
            match registry.register(collector) {
                Ok(()) | Err(prometheus::Error::AlreadyReg) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Self { outcomes, duration })
    }

    fn observe(&self, outcome: &Result<String, SendError>, retryable: bool, took: Duration) {
        let label = match outcome {
            Ok(_) => "sent",
            Err(e) if e.is_temporary() && retryable => "retry",
            Err(_) => "failed",
        };
        self.outcomes.with_label_values(&[label]).inc();
        self.duration.observe(took.as_secs_f64());
    }
}

fn after(now: NaiveDateTime, d: Duration) -> NaiveDateTime {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl Worker {
    /// Claims and sends one batch; how many were claimed.
    async fn round(&mut self) -> Result<usize, crate::error::ApiError> {
        let now = Utc::now().naive_utc();
        let until = after(now, self.config.lease);
        let (runner, batch) = (self.runner.clone(), self.config.batch);
        let claimed = self
            .state
            .db
            .run(move |conn| {
                db::write_transaction(conn, |conn| {
                    Ok(Outbox::claim(conn, &runner, now, until, batch)?)
                })
            })
            .await?;
        let n = claimed.len();
        for email in claimed {
            if !self.renew(&email).await? {
                tracing::warn!(email.id = email.id, "email lease lost before it was sent");
                continue;
            }
            let started = std::time::Instant::now();
            let outcome = self.deliver(&email).await;
            if let Some(metrics) = &self.metrics {
                let retryable = email.attempts < self.config.max_attempts;
                metrics.observe(&outcome, retryable, started.elapsed());
            }
            self.settle(&email, outcome).await?;
        }
        Ok(n)
    }

    /// Renews the lease on `email` for a whole lease from now.
    async fn renew(&self, email: &OutboxEmail) -> Result<bool, crate::error::ApiError> {
        let until = after(Utc::now().naive_utc(), self.config.lease);
        let (id, runner) = (email.id, self.runner.clone());
        self.state
            .db
            .run(move |conn| Ok(Outbox::renew(conn, id, &runner, until)?))
            .await
    }

    async fn deliver(&mut self, email: &OutboxEmail) -> Result<String, SendError> {
        let profile_id = email.smtp_profile_id;
        let profile = self
            .state
            .db
            .run(move |conn| Ok(SmtpProfile::find(conn, profile_id)?))
            .await
            .map_err(|e| SendError::Temporary(format!("loading the SMTP profile: {e}")))?;
        let fresh = self
            .transports
            .get(&profile.id)
            .is_some_and(|(at, _)| *at == profile.updated_at);
        if !fresh {
            let password = match &profile.password_enc {
                Some(sealed) => Some(
                    self.state
                        .secrets
                        .open(sealed)
                        .map_err(|e| SendError::Invalid(e.to_string()))?,
                ),
                None => None,
            };
            let transport = smtp::transport(&profile, password, self.config.smtp_timeout)?;
            self.transports
                .insert(profile.id, (profile.updated_at, transport));
        }
        let Some((_, transport)) = self.transports.get(&profile.id) else {
            return Err(SendError::Temporary("no transport".into()));
        };
        smtp::send(
            transport,
            &profile,
            &Email {
                to: &email.to_address,
                subject: &email.subject,
                html: &email.html_body,
                text: &email.text_body,
                message_id: &email.message_id,
            },
        )
        .await
    }

    async fn settle(
        &self,
        email: &OutboxEmail,
        outcome: Result<String, SendError>,
    ) -> Result<(), crate::error::ApiError> {
        let now = Utc::now().naive_utc();
        let release = |status: &str| OutboxEmailChanges {
            status: Some(status.to_owned()),
            claimed_by: Some(None),
            claimed_until: Some(None),
            updated_at: Some(now),
            ..Default::default()
        };
        let changes = match &outcome {
            Ok(_) => OutboxEmailChanges {
                sent_at: Some(Some(now)),
                next_attempt_at: Some(None),
                last_error: Some(None),
                ..release("sent")
            },
            Err(e) if e.is_temporary() && email.attempts < self.config.max_attempts => {
                let exponent = u32::try_from(email.attempts.saturating_sub(1)).unwrap_or(0);
                let delay = self
                    .config
                    .backoff
                    .saturating_mul(2u32.saturating_pow(exponent.min(16)));
                OutboxEmailChanges {
                    next_attempt_at: Some(Some(after(now, delay))),
                    last_error: Some(Some(e.to_string())),
                    ..release("queued")
                }
            }
            Err(e) => OutboxEmailChanges {
                next_attempt_at: Some(None),
                last_error: Some(Some(e.to_string())),
                ..release("failed")
            },
        };
        match &outcome {
            Ok(_) => tracing::info!(email.id = email.id, "email sent"),
            Err(e) => tracing::warn!(
                email.id = email.id,
                email.attempts = email.attempts,
                error = %e,
                "email not delivered"
            ),
        }
        let (id, runner) = (email.id, self.runner.clone());
        let held = self
            .state
            .db
            .run(move |conn| Ok(Outbox::settle(conn, id, &runner, &changes)?))
            .await?;
        if !held {
            tracing::warn!(email.id = id, "email lease lost before it was settled");
        }
        Ok(())
    }
}
