//! The single writer: one thread owns the database's only write connection and runs every
//! write of the service, group-committing what is ready.
//!
//! SQLite has one writer per database. Before, every caller took a pooled connection and fought
//! for the lock through a sleeping busy handler, and each write paid its own `fsync`. Now a
//! caller hands its write (a closure) to a queue and waits; the writer thread takes every job
//! that is ready (up to [`MAX_BATCH`]), opens one `BEGIN IMMEDIATE` transaction, runs each job
//! inside its own `SAVEPOINT` (a job that fails is rolled back to its savepoint and the others
//! keep their work), commits once, and only then answers each caller. So under load one commit
//! (one `fsync` with `--durability full`) serves many orders, claims and results, and an
//! answer still means the write is on disk: "201 means durable" and "every attempt is a row"
//! hold as before. Nobody sleeps in a busy handler: waiting for the writer is waiting on a
//! channel, and the queue is first come, first served, so intake never starves delivery nor
//! delivery intake. When the load is light a batch is one job and the latency is one commit.
//!
//! Why a thread rather than batched statements: every write path (intake, claim, the request
//! body, the result, the probe, the rare API writes) batches without being rewritten, and the
//! claim rule stays whatever statement the outbox runs. The write connection's statement cache
//! stays warm because one connection runs them all.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Mutex, PoisonError};
use std::thread::{JoinHandle, ThreadId};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::health;
use crate::{Error, Result};

/// At most this many jobs share one commit: a bound on how long the first of them waits for
/// the last (a job is tens of microseconds; a batch a few milliseconds at most).
const MAX_BATCH: usize = 256;

/// A write waiting in the queue: run once inside the batch's transaction, answered once the
/// batch's fate is known.
trait Job: Send {
    /// Run the write; whether it succeeded (its savepoint is kept).
    fn run(&mut self, tx: &Transaction<'_>) -> bool;
    /// Answer the caller: its result if the batch committed, else why not.
    fn answer(self: Box<Self>, committed: std::result::Result<(), &Failure>);
}

/// One caller's write, its result once run, and where the caller waits.
struct Pending<T, F> {
    write: Option<F>,
    result: Option<Result<T>>,
    reply: Reply<T>,
}

impl<T, F> Job for Pending<T, F>
where
    F: FnOnce(&Transaction<'_>) -> Result<T> + Send,
    T: Send,
{
    fn run(&mut self, tx: &Transaction<'_>) -> bool {
        let Some(write) = self.write.take() else {
            return false;
        };
        let result = catch_unwind(AssertUnwindSafe(|| write(tx))).unwrap_or_else(|_| {
            Err(Error::Internal(
                "a store write panicked; it was rolled back".into(),
            ))
        });
        let ok = result.is_ok();
        self.result = Some(result.map_err(health::classify));
        ok
    }

    fn answer(self: Box<Self>, committed: std::result::Result<(), &Failure>) {
        let Pending { result, reply, .. } = *self;
        reply.send(match (committed, result) {
            (Ok(()), Some(result)) => result,
            // A job whose own write failed keeps its own error even if the batch failed too.
            (Err(_), Some(Err(e))) => Err(e),
            (Err(failure), _) => Err(failure.error()),
            (Ok(()), None) => Err(Error::Internal("a store write never ran".into())),
        });
    }
}

/// Why a batch did not commit, handed to each of its jobs (each makes its own [`Error`]).
#[derive(Debug)]
struct Failure {
    storage: bool,
    message: String,
}

impl Failure {
    fn of(e: &rusqlite::Error) -> Failure {
        Failure {
            storage: health::is_storage_failure(e),
            message: e.to_string(),
        }
    }

    fn error(&self) -> Error {
        if self.storage {
            Error::Unwritable(self.message.clone())
        } else {
            Error::Internal(format!("the write was not committed: {}", self.message))
        }
    }
}

/// Where a caller waits for its answer: a blocking thread or an async task.
enum Reply<T> {
    Blocking(SyncSender<Result<T>>),
    Async(tokio::sync::oneshot::Sender<Result<T>>),
}

impl<T> Reply<T> {
    fn send(self, value: Result<T>) {
        // A caller that stopped waiting (its task was dropped) needs no answer.
        match self {
            Reply::Blocking(tx) => drop(tx.send(value)),
            Reply::Async(tx) => drop(tx.send(value)),
        }
    }
}

/// The handle on the writer thread; the last [`super::Store`] clone dropped stops it.
pub(super) struct Writer {
    queue: Mutex<Option<Sender<Box<dyn Job>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_id: ThreadId,
}

impl Writer {
    /// Start the writer thread on `conn` (configured and migrated).
    pub(super) fn start(conn: Connection) -> Result<Writer> {
        let (queue, jobs) = channel::<Box<dyn Job>>();
        let thread = std::thread::Builder::new()
            .name("possync-writer".into())
            .spawn(move || run(conn, jobs))?;
        Ok(Writer {
            thread_id: thread.thread().id(),
            queue: Mutex::new(Some(queue)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Run `f` in a write transaction and wait (blocking this thread) until it is committed.
    pub(super) fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        if std::thread::current().id() == self.thread_id {
            // A write inside a write would wait for itself.
            return Err(Error::Internal(
                "a store write was started from inside another write".into(),
            ));
        }
        let (tx, rx) = sync_channel(1);
        self.submit(f, Reply::Blocking(tx))?;
        rx.recv().unwrap_or_else(|_| Err(stopped()))
    }

    /// Run `f` in a write transaction and wait (without blocking the runtime) until it is
    /// committed.
    pub(super) async fn write_async<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(f, Reply::Async(tx))?;
        rx.await.unwrap_or_else(|_| Err(stopped()))
    }

    fn submit<T, F>(&self, f: F, reply: Reply<T>) -> Result<()>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let job: Box<dyn Job> = Box::new(Pending {
            write: Some(f),
            result: None,
            reply,
        });
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        match queue.as_ref().map(|q| q.send(job)) {
            Some(Ok(())) => Ok(()),
            _ => Err(stopped()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has answered what it holds; wait for it
        // so the connection is closed when the last store handle is gone (unless this is the
        // writer thread itself, dropping the last handle from inside a job).
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread
            && std::thread::current().id() != self.thread_id
        {
            let _ = thread.join();
        }
    }
}

fn stopped() -> Error {
    Error::Internal("the database writer has stopped".into())
}

/// The writer thread: wait for a job, take every job ready behind it, run them as one batch.
fn run(mut conn: Connection, jobs: Receiver<Box<dyn Job>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&mut conn, batch);
    }
}

/// One transaction for `batch`, each job in its own savepoint; commit; answer each job.
fn run_batch(conn: &mut Connection, batch: Vec<Box<dyn Job>>) {
    let mut waiting = batch.into_iter();
    loop {
        let mut ran: Vec<Box<dyn Job>> = Vec::new();
        let outcome = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            // The transaction would not open (another process holds the lock past the busy
            // timeout, or the disk refuses): every waiting job hears why.
            Err(e) => {
                ran.extend(waiting.by_ref());
                Err(Failure::of(&e))
            }
            Ok(tx) => {
                let aborted = run_jobs(&tx, &mut waiting, &mut ran);
                match aborted {
                    Some(failure) => Err(failure),
                    None => tx.commit().map_err(|e| Failure::of(&e)),
                }
            }
        };
        for job in ran {
            job.answer(outcome.as_ref().map(|_| ()));
        }
        if waiting.len() == 0 {
            return;
        }
    }
}

/// Run jobs from `waiting` into `ran` until it is empty or the transaction is lost (returned).
fn run_jobs(
    tx: &Transaction<'_>,
    waiting: &mut std::vec::IntoIter<Box<dyn Job>>,
    ran: &mut Vec<Box<dyn Job>>,
) -> Option<Failure> {
    for mut job in waiting.by_ref() {
        if let Err(e) = statement(tx, "SAVEPOINT job") {
            ran.push(job);
            return Some(Failure::of(&e));
        }
        let ok = job.run(tx);
        ran.push(job);
        let closed = if ok {
            statement(tx, "RELEASE job")
        } else {
            statement(tx, "ROLLBACK TO job").and_then(|()| statement(tx, "RELEASE job"))
        };
        // Some errors (a full disk, an I/O error) make SQLite roll the whole transaction back
        // by itself: then the jobs before this one lost their work too and must hear so; the
        // rest start again in a new transaction.
        if tx.is_autocommit() {
            return Some(match closed {
                Err(e) => Failure::of(&e),
                Ok(()) => Failure {
                    storage: true,
                    message: "the database rolled the transaction back".into(),
                },
            });
        }
        if let Err(e) = closed {
            return Some(Failure::of(&e));
        }
    }
    None
}

fn statement(tx: &Transaction<'_>, sql: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(sql)?.execute([]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn writer() -> (tempfile::TempDir, Arc<Writer>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = Connection::open(dir.path().join("w.db")).expect("open");
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER UNIQUE); INSERT INTO t VALUES (0);",
        )
            .expect("schema");
        (dir, Arc::new(Writer::start(conn).expect("writer")))
    }

    fn count(dir: &tempfile::TempDir) -> i64 {
        let conn = Connection::open(dir.path().join("w.db")).expect("open");
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count")
    }

    #[test]
    fn concurrent_writes_commit_and_a_failing_one_loses_only_its_own_work() {
        let (dir, writer) = writer();
        let threads: Vec<_> = (0..64)
            .map(|i| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    writer.write(move |tx| {
                        tx.execute("INSERT INTO t (v) VALUES (?1)", [1000 + i])?;
                        if i % 8 == 0 {
                            // Its first insert is rolled back with it.
                            tx.execute("INSERT INTO t (v) VALUES (0)", [])?;
                        }
                        Ok(i)
                    })
                })
            })
            .collect();
        let results: Vec<_> = threads
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect();
        let failed = results.iter().filter(|r| r.is_err()).count();
        // Every multiple of 8 collides with the row already there.
        assert_eq!(failed, 8);
        assert_eq!(count(&dir), 1 + 56);
    }

    #[test]
    fn a_panicking_write_is_an_error_and_the_writer_keeps_going() {
        let (dir, writer) = writer();
        let panicked = writer.write(|tx| -> Result<()> {
            tx.execute("INSERT INTO t (v) VALUES (1)", [])?;
            panic!("a bug in a write");
        });
        assert!(matches!(panicked, Err(Error::Internal(_))));
        writer
            .write(|tx| Ok(tx.execute("INSERT INTO t (v) VALUES (2)", [])?))
            .expect("the next write");
        assert_eq!(count(&dir), 2);
    }

    #[test]
    fn a_write_inside_a_write_is_refused_not_deadlocked() {
        let (_dir, writer) = writer();
        let inner = writer.clone();
        let nested = writer
            .write(move |_tx| Ok(inner.write(|_| Ok(())).is_err()))
            .expect("outer write");
        assert!(nested);
    }

    #[tokio::test]
    async fn an_async_write_is_answered_after_its_commit() {
        let (dir, writer) = writer();
        let n = writer
            .write_async(|tx| Ok(tx.execute("INSERT INTO t (v) VALUES (7)", [])?))
            .await
            .expect("write");
        assert_eq!(n, 1);
        assert_eq!(count(&dir), 2);
    }
}
