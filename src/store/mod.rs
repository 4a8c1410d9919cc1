//! The database: an r2d2 pool of SQLite connections for reads (WAL: they never wait for the
//! writer) and one write connection owned by the writer thread (`writer`), which group-commits
//! every write of the service; foreign keys, `synchronous=FULL` by default so an acknowledged
//! order survives a power cut.

pub mod accounts;
pub mod businesses;
pub mod cancel;
pub mod catalog;
pub mod health;
pub mod integrations;
pub mod lanes;
mod migrate;
pub mod notifications;
pub mod oauth_states;
pub mod order_list;
pub mod orders;
pub mod outbox;
pub mod pos_states;
pub mod replay;
pub mod sync_logs;
pub mod test_orders;
mod writer;
pub mod zoho_contacts;

use std::path::Path;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, Transaction};

pub use accounts::{AuthedSeller, Seller, TokenKind};
pub use businesses::{Business, BusinessPatch, Dish, NewBusiness};
pub use integrations::{Integration, IntegrationPatch, NewIntegration, SealedTokens};
pub use migrate::latest_version;
pub use orders::{NewOrder, NewOrderItem, Order, OrderItem};
pub use outbox::{LogUpdate, NewAttempt};
pub use sync_logs::{Attempt, StatusCounts, SyncLog};

pub use crate::config::Durability;
use crate::{Error, Result};

/// `query_row` through the connection's statement cache: a read or write that runs on every
/// order or push is parsed and planned once per connection, not on every call (the profile of
/// a 1,000-business drain had SQLite's parser at a tenth of the service's CPU). Only for SQL
/// whose text is the same from call to call: the cache keys on it (128 per connection).
pub(crate) fn cached_row<T, P, F>(
    conn: &Connection,
    sql: &str,
    params: P,
    f: F,
) -> rusqlite::Result<T>
where
    P: rusqlite::Params,
    F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
{
    conn.prepare_cached(sql)?.query_row(params, f)
}

/// One database file: a pool of read connections and the writer. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<SqliteConnectionManager>,
    writer: std::sync::Arc<writer::Writer>,
    probe: std::sync::Arc<health::Probe>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// Only another process (a CLI command beside `serve`) can hold the write lock: within the
/// service every write goes through the one writer, so this wait is never on the hot path.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Prepared statements kept per connection: the hot paths use a few dozen, and the writer's
/// one connection runs them all, so the default 16 would evict them.
const STATEMENT_CACHE: usize = 128;

/// The writer connection's page cache, in KiB (as SQLite's negative `cache_size`): it grows to
/// this only as pages are used.
const WRITER_CACHE_KIB: i64 = -32 * 1024;

fn configure(conn: &mut Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The writer runs each job in a SAVEPOINT; SQLite keeps a savepoint's page images in a
    // sub-journal, by default a temporary file created, written and deleted per batch (strace of
    // the intake: an open, an unlink and ~40 pwrites per order). In memory it costs a few pages
    // per batch and nothing of durability: the sub-journal only serves rolling back a savepoint.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(
        None,
        "synchronous",
        match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        },
    )?;
    Ok(())
}

impl Store {
    /// Open (creating if needed) and migrate the database at `path`. A directory or database
    /// made here is private (0700 and 0600, and so are the WAL and shared-memory files, which
    /// SQLite creates with the database's mode).
    pub fn open(path: &Path, durability: Durability, max_connections: u32) -> Result<Store> {
        if let Some(dir) = path.parent() {
            crate::datadir::create_private_dir(dir)?;
        }
        crate::datadir::create_private_file(path)?;
        Self::open_existing(path, durability, max_connections)
    }

    /// Open and migrate the database at `path`, which must exist: nothing is created.
    pub fn open_existing(
        path: &Path,
        durability: Durability,
        max_connections: u32,
    ) -> Result<Store> {
        // WAL is a property of the file: set it once, before the pool opens more connections.
        // Never `SQLITE_OPEN_CREATE`: `open` has made the file, and `open_existing` must not.
        // That first connection stays open as the writer's.
        let writer = {
            let mut conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::Config(format!(
                    "{}: the database could not switch to WAL (journal mode {mode})",
                    path.display()
                )));
            }
            configure(&mut conn, durability)?;
            // The writer's page cache survives its own commits (readers' caches start over
            // whenever the database changed), so it is the one worth making big enough for
            // the hot pages of the outbox: at SQLite's default 2 MiB a 1,000-business drain
            // re-read from the OS about 1,300 pages a second.
            conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
            migrate::migrate(&mut conn)?;
            writer::Writer::start(conn)?
        };
        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(move |c| configure(c, durability));
        let pool = r2d2::Pool::builder()
            .max_size(max_connections.max(2))
            .connection_timeout(Duration::from_secs(30))
            .build(manager)?;
        Ok(Store {
            pool,
            writer: std::sync::Arc::new(writer),
            probe: Default::default(),
        })
    }

    /// Read with a pooled connection (WAL: readers never wait for the writer).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.pool.get()?;
        f(&conn)
    }

    /// Run `f` as a write and return once it is committed (durable with `--durability full`),
    /// blocking this thread. `f` runs on the writer thread inside a `BEGIN IMMEDIATE`
    /// transaction that it may share with other writes ready at the same time, in its own
    /// savepoint: when `f` fails, its changes are rolled back and the others' are kept. A write
    /// the disk refuses (full, read-only) is [`Error::Unwritable`], whichever statement met it.
    pub fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.write(f)
    }

    /// [`Store::write`] for async code: waits for the commit without holding a thread.
    pub async fn write_async<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.write_async(f).await
    }

    /// A consistent copy of the database at `to` while the service keeps running (SQLite's
    /// online backup). Refuses to overwrite an existing file.
    pub fn backup_to(&self, to: &Path) -> Result<()> {
        if to.exists() {
            return Err(Error::Config(format!(
                "{} exists; choose a new file",
                to.display()
            )));
        }
        // Create the file 0600 first: the copy holds the sealed tokens and every order.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(to)
            .map_err(|e| Error::Config(format!("creating {}: {e}", to.display())))?;
        let conn = self.pool.get()?;
        conn.backup(rusqlite::MAIN_DB, to, None)?;
        Ok(())
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        self.read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
    }
}

/// Run blocking work (SQLite, argon2) off the async runtime. The one way handlers reach them.
pub async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("a blocking task failed: {e}")))?
}

/// Whether a SQLite error is a UNIQUE constraint violation.
pub(crate) fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Page bounds, already validated by the API layer.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

/// One page of rows and the total count.
#[derive(Debug)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
}
