//! Persistence: one diesel connection type over SQLite (the embedded default) or PostgreSQL,
//! chosen from the URL scheme, an r2d2 pool, embedded migrations for both backends, and
//! [`Db::run`], which moves blocking diesel work off the async workers.

mod conn;
pub mod schema;

pub use conn::DbConn;

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DbConfig;
use crate::error::ApiError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// The diesel backend type of [`DbConn`], for boxed queries.
pub type Backend = <DbConn as Connection>::Backend;

/// Which database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// `sqlite://path` or `sqlite::memory:`-style URLs.
    Sqlite,
    /// `postgres://` or `postgresql://` URLs.
    Postgres,
}

impl BackendKind {
    /// Picks the backend from the URL scheme.
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    /// The name shown in `/health` and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Errors while opening the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL names no supported backend.
    #[error("unsupported database URL scheme (expected sqlite:// or postgres://)")]
    UnsupportedScheme,
    /// The connection could not be established.
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// A statement failed.
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    /// The pool could not be built or handed out no connection in time.
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// Running or reverting migrations failed.
    #[error("migrations failed: {0}")]
    Migration(String),
}

/// Strips the `sqlite://` prefix: diesel wants a file path or a `file:` URI.
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// Opens one connection to `url`, applying the SQLite pragmas callpro relies on.
pub fn establish(url: &str) -> Result<DbConn, DbError> {
    match BackendKind::from_url(url).ok_or(DbError::UnsupportedScheme)? {
        BackendKind::Sqlite => {
            let mut conn = SqliteConnection::establish(sqlite_path(url))?;
            // WAL lets readers run beside the single writer; busy_timeout makes writers wait
            // for each other instead of failing with SQLITE_BUSY.
            conn.batch_execute(
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON;",
            )?;
            Ok(DbConn::Sqlite(conn))
        }
        BackendKind::Postgres => Ok(DbConn::Pg(PgConnection::establish(url)?)),
    }
}

/// r2d2 manager that keeps the real connection error (the derived `establish` hides it).
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = DbError;

    fn connect(&self) -> Result<DbConn, DbError> {
        establish(&self.url)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1").map_err(DbError::from)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

/// The connection pool.
pub type Pool = r2d2::Pool<ConnectionManager>;

/// Cheap-to-clone handle to the database.
///
/// On SQLite, [`write_transaction`]s run through [`Db::run`] (or [`Db::run_here`]) also take
/// turns on an in-process lock of this database before `BEGIN IMMEDIATE`: SQLite has one
/// writer at a time, and a writer that finds the database locked waits in busy_timeout's
/// sleeps (1, 2, 5, 10 ... up to 100 ms), which leave the database idle long after the lock is
/// free. Queued on the lock instead, the next writer starts as soon as the previous one
/// commits. Other processes (the CLI) still meet callpro's writers through busy_timeout.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    kind: BackendKind,
    /// The writers' turn (SQLite only).
    write_lock: Option<Arc<Mutex<()>>>,
}

thread_local! {
    /// The write lock of the database this thread is working on inside [`Db::run`].
    static WRITE_LOCK: RefCell<Option<Arc<Mutex<()>>>> = const { RefCell::new(None) };
}

/// This thread's [`WRITE_LOCK`], taken for the length of one write transaction (a nested one
/// finds none) and given back on drop.
struct WriteTurn(Option<Arc<Mutex<()>>>);

impl WriteTurn {
    fn take() -> Self {
        Self(WRITE_LOCK.with(|lock| lock.borrow_mut().take()))
    }

    /// Waits for the other writers of this process, if the thread works for a [`Db`].
    fn wait(&self) -> Option<MutexGuard<'_, ()>> {
        // The lock guards no data: a panic while holding it leaves nothing inconsistent.
        self.0
            .as_ref()
            .map(|lock| lock.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        let lock = self.0.take();
        WRITE_LOCK.with(|slot| *slot.borrow_mut() = lock);
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("backend", &self.kind).finish()
    }
}

impl Db {
    /// Builds the pool; fails fast (within `connect_timeout`) when the database is unreachable.
    pub fn connect(config: &DbConfig) -> Result<Self, DbError> {
        let kind = BackendKind::from_url(&config.url).ok_or(DbError::UnsupportedScheme)?;
        // One writer at a time is all SQLite offers; more connections only add lock waits.
        let max_size = match kind {
            BackendKind::Sqlite => config.pool_size.min(8),
            BackendKind::Postgres => config.pool_size,
        };
        let pool = r2d2::Pool::builder()
            .max_size(max_size)
            .connection_timeout(Duration::from_secs(config.connect_timeout_secs))
            .build(ConnectionManager {
                url: config.url.clone(),
            })?;
        let write_lock = (kind == BackendKind::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self {
            pool,
            kind,
            write_lock,
        })
    }

    /// Which backend this handle talks to.
    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// The pool, for its gauges.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Checks a connection out synchronously (start-up and CLI code).
    pub fn get(&self) -> Result<r2d2::PooledConnection<ConnectionManager>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Runs blocking diesel work on the blocking thread pool, never on an async worker.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.run_here(f))
            .await
            .map_err(|e| ApiError::internal(format!("database task failed: {e}")))?
    }

    /// [`Db::run`] on the calling thread, which may block: for threads of callpro's own, not
    /// the async runtime's.
    pub fn run_here<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError>,
    {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        // Lent to `write_transaction` for the length of `f` (given back by the turn's drop,
        // panics included).
        let _turn = WriteTurn(WRITE_LOCK.with(|slot| slot.replace(self.write_lock.clone())));
        f(&mut conn)
    }

    /// Applies every pending migration; returns how many ran.
    pub fn migrate(&self) -> Result<usize, DbError> {
        let mut conn = self.get()?;
        run_migrations(&mut conn)
    }
}

fn migration_error(e: impl std::fmt::Display) -> DbError {
    DbError::Migration(e.to_string())
}

/// Applies every pending migration of the connection's backend.
pub fn run_migrations(conn: &mut DbConn) -> Result<usize, DbError> {
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConn::Pg(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    applied.map_err(migration_error)
}

/// Reverts every applied migration (used by the up → down → up test and `migrate --revert-all`).
pub fn revert_all_migrations(conn: &mut DbConn) -> Result<usize, DbError> {
    let reverted = match conn {
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConn::Pg(c) => c
            .revert_all_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    reverted.map_err(migration_error)
}

/// Runs `f` in a write transaction.
///
/// On SQLite it starts with `BEGIN IMMEDIATE`, taking the write lock up front: a deferred
/// transaction that reads first and writes later has to upgrade its lock, and SQLite fails that
/// upgrade at once ("database is locked") when another writer is active, busy_timeout or not.
/// With the lock taken first, concurrent writers queue instead: on the [`Db`]'s in-process lock
/// within [`Db::run`], then on busy_timeout. On PostgreSQL it is an ordinary transaction.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <DbConn as Connection>::TransactionManager;
    let turn = WriteTurn::take();
    let _writing = match conn {
        DbConn::Sqlite(inner) => {
            let writing = turn.wait();
            // The outer connection's transaction state is the inner one's, so commit and
            // rollback below (and savepoints inside `f`) see this transaction.
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            writing
        }
        DbConn::Pg(_) => return conn.transaction(f),
    };
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            Manager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// `SELECT 1`, for health checks.
pub fn ping(conn: &mut DbConn) -> diesel::QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

/// Current UTC time as stored in `Timestamp` columns (microsecond precision on both backends).
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    chrono::Timelike::with_nanosecond(&now, now.and_utc().timestamp_subsec_micros() * 1000)
        .unwrap_or(now)
}
