//! The connection enum. Kept in its own module because `derive(MultiConnection)` generates
//! public items that carry no docs.
#![allow(missing_docs)]

use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

/// One database connection, SQLite or PostgreSQL.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// Embedded SQLite file (the default).
    Sqlite(SqliteConnection),
    /// PostgreSQL, the production backend.
    Pg(PgConnection),
}

/// Runs `$body` with `$c` bound to the concrete backend connection, for the few statements
/// `MultiConnection` cannot express (multi-row `INSERT`). Both arms compile the same code.
#[macro_export]
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Pg($c) => $body,
        }
    };
}
