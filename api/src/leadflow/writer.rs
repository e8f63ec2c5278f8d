//! The intake's writer: one thread that stores accepted submissions in batches (group
//! commit).
//!
//! Every submission is a write transaction (the lead, its timeline, its token, its email in
//! the outbox), and SQLite takes one writer at a time: stored one by one, submissions queue
//! for the lock and each pays a whole commit and a flush of the text index. The writer takes
//! whatever submissions are waiting (up to [`MAX_BATCH`]) and stores them in one transaction,
//! each inside its own savepoint, so that one refused by the database does not take the others
//! down. Each caller is answered only after the commit that holds its lead; when the commit
//! fails, every caller of the batch gets an error and nothing of the batch is stored.

use std::panic::AssertUnwindSafe;

use tokio::sync::{mpsc, oneshot};

use super::intake::{self, Prepared, Settings};
use crate::db::{self, Db, DbConn};
use crate::error::ApiError;
use crate::intake::form::Submission;
use crate::models::form::Form;
use crate::models::lead::Lead;

/// Most submissions stored by one transaction.
pub const MAX_BATCH: usize = 64;

/// Submissions waiting for the writer, past which callers wait to hand theirs over.
const QUEUE: usize = 1024;

/// One accepted submission, ready to be written.
#[derive(Debug)]
pub struct Job {
    /// The form it was posted to.
    pub form: Form,
    /// What passed the form's rules.
    pub submission: Submission,
    /// Its email, made ready.
    pub prepared: Prepared,
    /// The client's address, for consent evidence.
    pub ip: String,
    /// Intake settings.
    pub settings: Settings,
}

/// A job and where its answer goes.
struct Queued {
    job: Job,
    reply: oneshot::Sender<Result<Lead, ApiError>>,
}

/// Handle to the writer thread; cheap to clone. The thread ends when the last handle is
/// dropped.
#[derive(Debug, Clone)]
pub struct IntakeWriter {
    jobs: mpsc::Sender<Queued>,
}

impl IntakeWriter {
    /// Starts the writer thread on `db`.
    pub fn start(db: Db) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("intake-writer".into())
            .spawn(move || run(&db, queue))?;
        Ok(Self { jobs })
    }

    /// Stores `job`; the lead once its transaction committed.
    pub async fn store(&self, job: Job) -> Result<Lead, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Queued { job, reply })
            .await
            .map_err(|_| ApiError::Unavailable("the intake writer has stopped".into()))?;
        answer.await.map_err(|_| {
            ApiError::Unavailable("the submission could not be stored; try again".into())
        })?
    }
}

fn run(db: &Db, mut queue: mpsc::Receiver<Queued>) {
    while let Some(first) = queue.blocking_recv() {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let size = batch.len();
        // A panic loses this batch (its callers get an error), not the writer.
        let written = std::panic::catch_unwind(AssertUnwindSafe(|| write(db, batch)));
        if written.is_err() {
            tracing::error!(
                size,
                "intake batch panicked: its submissions were not stored"
            );
        }
    }
}

/// Stores a batch in one transaction and answers its callers after the commit.
fn write(db: &Db, batch: Vec<Queued>) {
    let size = batch.len();
    let stored = db.run_here(|conn| {
        db::write_transaction(conn, |conn| {
            Ok::<_, ApiError>(
                batch
                    .into_iter()
                    .map(|Queued { job, reply }| (reply, one(conn, job)))
                    .collect::<Vec<_>>(),
            )
        })
    });
    match stored {
        Ok(answers) => {
            for (reply, answer) in answers {
                // A caller that went away still has its lead stored.
                let _ = reply.send(answer);
            }
        }
        // The replies were dropped with the batch: each caller answers 503.
        Err(e) => tracing::error!(size, error = %e, "intake batch not stored"),
    }
}

/// One submission, inside its own savepoint.
fn one(conn: &mut DbConn, job: Job) -> Result<Lead, ApiError> {
    let Job {
        form,
        submission,
        prepared,
        ip,
        settings,
    } = job;
    diesel::Connection::transaction(conn, |conn| {
        intake::submit(
            conn,
            &form,
            submission,
            prepared,
            Some(&ip),
            &settings,
            db::now(),
        )
    })
}
