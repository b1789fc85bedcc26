//! The single writer: one task owns the only write connection and commits in groups.
//!
//! Why: SQLite allows one writer at a time, and with `synchronous=FULL` every commit costs an
//! fsync. Many small transactions from many connections would queue on the write lock (or fail
//! with `database is locked`) and pay one fsync each. Instead every write is a [`Job`] sent to
//! this task, which
//!
//! 1. awaits the first queued job and drains up to [`MAX_BATCH`]` - 1` more without waiting;
//! 2. runs `BEGIN IMMEDIATE`;
//! 3. runs each job inside its own `SAVEPOINT`: a job that fails is rolled back to its savepoint
//!    and answers its own error, without affecting the others (the statements closing one
//!    savepoint and opening the next are sent together, one round trip per job boundary);
//! 4. `COMMIT`s once (one fsync for the whole batch);
//! 5. only then answers every job. If `BEGIN`, a savepoint or `COMMIT` fails, the whole batch is
//!    rolled back and every job gets an error: nobody is told "done" for a write that is not
//!    durable.
//!
//! Jobs are whole store operations, so reads that decide a write (a code's `used_at`, a refresh
//! token's `rotated_at`) run inside the job, serialised with every other write.

use crate::error;
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use keapsake_core::store::{StoreError, StoreResult};
use sqlx::SqliteConnection;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most jobs committed by one transaction.
pub(crate) const MAX_BATCH: usize = 256;

/// Jobs waiting for the writer before senders wait (back-pressure).
pub(crate) const QUEUE_DEPTH: usize = 4 * MAX_BATCH;

/// How a batch-level failure is described to each job: (is it "busy", message).
type BatchError = (bool, Arc<str>);

/// Answers a job's caller once the batch's fate is known (`None`: committed).
type Answer = Box<dyn FnOnce(Option<&BatchError>) + Send>;

/// What a job left behind after running: whether it succeeded (keep its savepoint) and how to
/// answer its caller once the batch's fate is known.
pub(crate) struct Outcome {
    ok: bool,
    answer: Answer,
}

/// One write operation: run it on the write connection, or fail it without running.
pub(crate) trait Job: Send {
    /// Runs the job inside the current savepoint.
    fn run(self: Box<Self>, conn: &mut SqliteConnection) -> BoxFuture<'_, Outcome>;
    /// Answers the caller with `err` without running (the batch failed before this job ran).
    fn fail(self: Box<Self>, err: StoreError);
}

/// A job made of a boxed async closure and the channel its typed result goes back on.
struct TypedJob<T, F> {
    f: F,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut SqliteConnection) -> BoxFuture<'_, Outcome> {
        let TypedJob { f, reply } = *self;
        Box::pin(async move {
            match f(conn).await {
                Ok(value) => Outcome {
                    ok: true,
                    answer: Box::new(move |batch_err| {
                        // The caller may have gone away (its request was cancelled); the write
                        // stands regardless.
                        let _ = reply.send(match batch_err {
                            None => Ok(value),
                            Some((busy, msg)) => Err(error::batch(*busy, msg)),
                        });
                    }),
                },
                Err(e) => Outcome {
                    ok: false,
                    answer: Box::new(move |_| {
                        let _ = reply.send(Err(e));
                    }),
                },
            }
        })
    }

    fn fail(self: Box<Self>, err: StoreError) {
        let _ = self.reply.send(Err(err));
    }
}

/// Wraps a typed closure into a [`Job`] and the receiver of its result.
pub(crate) fn job<T, F>(f: F) -> (Box<dyn Job>, oneshot::Receiver<StoreResult<T>>)
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
{
    let (reply, rx) = oneshot::channel();
    (Box::new(TypedJob { f, reply }), rx)
}

/// What the writer's queue carries.
pub(crate) enum Msg {
    /// A write to run.
    Job(Box<dyn Job>),
    /// Finish every queued job, close the connection, and end the task.
    Close,
}

/// Starts the writer on a thread of its own, with a single-threaded Tokio runtime, and returns a
/// receiver that resolves when the writer has finished (connection closed).
///
/// Why a thread of its own: the writer is the one serial stage every write passes through, and
/// each statement is a round trip to the connection's thread. On the shared runtime every reply
/// would queue the writer behind all the request tasks that are ready to run; on its own thread it
/// runs the moment its reply arrives.
///
/// # Errors
/// If the runtime or the thread cannot be created.
pub(crate) fn spawn(
    conn: SqliteConnection,
    rx: mpsc::Receiver<Msg>,
) -> std::io::Result<oneshot::Receiver<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (finished, on_finish) = oneshot::channel();
    std::thread::Builder::new()
        .name("keapsake-sqlite-writer".to_owned())
        .spawn(move || {
            runtime.block_on(run(conn, rx));
            let _ = finished.send(());
        })?;
    Ok(on_finish)
}

/// The writer task: group commits until every sender is gone or [`Msg::Close`] arrives, then
/// closes the write connection.
async fn run(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Msg>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    let mut closing = false;
    while !closing {
        let Some(first) = rx.recv().await else { break };
        match first {
            Msg::Job(j) => batch.push(j),
            Msg::Close => closing = true,
        }
        while !closing && batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Job(j)) => batch.push(j),
                Ok(Msg::Close) => closing = true,
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            commit_batch(&mut conn, &mut batch).await;
        }
    }
    // Closing: refuse new jobs, but run every job already queued so none is silently dropped.
    rx.close();
    while let Some(msg) = rx.recv().await {
        if let Msg::Job(j) = msg {
            batch.push(j);
            if batch.len() == MAX_BATCH {
                commit_batch(&mut conn, &mut batch).await;
            }
        }
    }
    if !batch.is_empty() {
        commit_batch(&mut conn, &mut batch).await;
    }
    if let Err(e) = sqlx::Connection::close(conn).await {
        tracing::warn!(error = %e, "closing the SQLite write connection failed");
    }
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    sqlx::query(sql).execute(conn).await.map(|_| ())
}

/// The statements between two jobs: close the previous job's savepoint (keeping or undoing its
/// writes) and open the next one, or commit. They travel together: one round trip to the
/// connection's thread per job boundary instead of two (the connection runs on a thread of its
/// own, so every statement sent is a hand-off between threads).
fn boundary(previous_ok: bool, last: bool) -> &'static str {
    match (previous_ok, last) {
        (true, false) => "RELEASE job; SAVEPOINT job",
        (false, false) => "ROLLBACK TO job; RELEASE job; SAVEPOINT job",
        (true, true) => "RELEASE job; COMMIT",
        (false, true) => "ROLLBACK TO job; RELEASE job; COMMIT",
    }
}

/// Runs one group commit and answers every job in `batch` (which is left empty).
async fn commit_batch(conn: &mut SqliteConnection, batch: &mut Vec<Box<dyn Job>>) {
    if batch.is_empty() {
        return;
    }
    let mut jobs = batch.drain(..).peekable();
    let mut done: Vec<Outcome> = Vec::with_capacity(MAX_BATCH);
    let mut failure: Option<BatchError> = None;
    let mut next: &'static str = "BEGIN IMMEDIATE; SAVEPOINT job";
    while let Some(job) = jobs.next() {
        if let Err(e) = exec(conn, next).await {
            // BEGIN could not take the write lock, or a savepoint is gone because SQLite rolled
            // the whole transaction back (I/O error, disk full, …): nothing in this batch can be
            // trusted to commit.
            tracing::error!(error = %e, sql = next, "starting a job's savepoint failed; failing the batch");
            let err = error::summarise(&e);
            job.fail(error::batch(err.0, &err.1));
            failure = Some(err);
            break;
        }
        // A panicking job must not take the writer (and every later write) down with it. Its
        // reply channel is dropped with it, so its caller sees the writer as gone.
        let outcome = AssertUnwindSafe(job.run(conn)).catch_unwind().await;
        let ok = matches!(&outcome, Ok(o) if o.ok);
        match outcome {
            Ok(o) => done.push(o),
            Err(_) => tracing::error!("a store write job panicked; it was rolled back"),
        }
        next = boundary(ok, jobs.peek().is_none());
    }
    if failure.is_none()
        && let Err(e) = exec(conn, next).await
    {
        tracing::error!(error = %e, sql = next, "committing the batch failed");
        failure = Some(error::summarise(&e));
    }
    if failure.is_some() {
        // Harmless if SQLite already rolled back ("no transaction is active").
        let _ = exec(conn, "ROLLBACK").await;
    }
    for o in done {
        (o.answer)(failure.as_ref());
    }
    if let Some((busy, msg)) = &failure {
        for j in jobs {
            j.fail(error::batch(*busy, msg));
        }
    }
}
