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
