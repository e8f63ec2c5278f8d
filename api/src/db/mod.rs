//! Persistence: one diesel connection type over SQLite (the embedded default) or PostgreSQL,
//! chosen from the URL scheme, an r2d2 pool, embedded migrations for both backends, and
//! [`Db::run`], which moves blocking diesel work off the async workers.

mod conn;
pub mod schema;

pub use conn::DbConn;

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
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    kind: BackendKind,
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
        Ok(Self { pool, kind })
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
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get()
                .map_err(|e| ApiError::Unavailable(e.to_string()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| ApiError::internal(format!("database task failed: {e}")))?
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
/// With the lock taken first, concurrent writers queue on busy_timeout instead. On PostgreSQL it
/// is an ordinary transaction.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <DbConn as Connection>::TransactionManager;
    match conn {
        DbConn::Sqlite(inner) => {
            // The outer connection's transaction state is the inner one's, so commit and
            // rollback below (and savepoints inside `f`) see this transaction.
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
        }
        DbConn::Pg(_) => return conn.transaction(f),
    }
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
