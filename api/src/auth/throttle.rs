//! Failed-login throttling, stored in the database so every instance sees the same counters.
//! Keys are `account:<email>` and `ip:<address>`; an unknown email is counted like a real one,
//! so lockouts reveal nothing about which accounts exist.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::DbConn;
use crate::db::schema::login_throttle;

/// Limits for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Failures within the window that lock the key.
    pub max_failures: u32,
    /// Window length and lockout length, in seconds.
    pub window_secs: u64,
}

fn window(limit: Limit) -> Duration {
    Duration::seconds(i64::try_from(limit.window_secs).unwrap_or(3600))
}

/// Seconds left on the key's lockout, if it is locked.
pub fn locked_for(conn: &mut DbConn, key: &str, now: NaiveDateTime) -> QueryResult<Option<u64>> {
    let until: Option<Option<NaiveDateTime>> = login_throttle::table
        .find(key)
        .select(login_throttle::locked_until)
        .first(conn)
        .optional()?;
    Ok(until
        .flatten()
        .filter(|until| *until > now)
        .map(|until| (until - now).num_seconds().max(1) as u64))
}

/// Counts one failure; returns the lockout length when this failure locked the key.
pub fn record_failure(
    conn: &mut DbConn,
    key: &str,
    limit: Limit,
    now: NaiveDateTime,
) -> QueryResult<Option<u64>> {
    let row: Option<(i32, NaiveDateTime)> = login_throttle::table
        .find(key)
        .select((login_throttle::failures, login_throttle::window_started_at))
        .first(conn)
        .optional()?;
    let (failures, started) = match row {
        Some((failures, started)) if started + window(limit) > now => (failures + 1, started),
        _ => (1, now),
    };
    let locked_until = (u32::try_from(failures).unwrap_or(u32::MAX) >= limit.max_failures)
        .then(|| now + window(limit));
    let values = (
        login_throttle::failures.eq(failures),
        login_throttle::window_started_at.eq(started),
        login_throttle::locked_until.eq(locked_until),
    );
    if row.is_some() {
        diesel::update(login_throttle::table.find(key))
            .set(values)
            .execute(conn)?;
    } else {
        // A savepoint, so that a failed insert does not poison an enclosing PostgreSQL
        // transaction.
        let inserted = conn.transaction(|conn| {
            diesel::insert_into(login_throttle::table)
                .values((login_throttle::throttle_key.eq(key), values))
                .execute(conn)
        });
        match inserted {
            // A concurrent first failure created the row: count ours on top of it.
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                diesel::update(login_throttle::table.find(key))
                    .set(login_throttle::failures.eq(login_throttle::failures + 1))
                    .execute(conn)?;
            }
            other => {
                other?;
            }
        }
    }
    Ok(locked_until.map(|_| limit.window_secs))
}

/// Forgets the key's failures (after a successful login).
pub fn clear(conn: &mut DbConn, key: &str) -> QueryResult<usize> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)
}
