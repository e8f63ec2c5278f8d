//! Rotating refresh tokens. Each login starts a family; every refresh spends the presented
//! token and issues the next one in the same family. Presenting a spent (or revoked) token means
//! it was stolen or replayed, so the whole family is revoked.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::crypto::{random_token, token_digest};
use crate::db::DbConn;
use crate::db::schema::refresh_tokens;

/// A freshly issued refresh token (the only time the plain value exists).
#[derive(Debug)]
pub struct Issued {
    /// The opaque token for the cookie.
    pub token: String,
    /// Its family.
    pub family_id: String,
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Rotation {
    /// Spent and replaced.
    Rotated {
        /// Owner of the family.
        user_id: i64,
        /// The replacement.
        next: Issued,
    },
    /// The token had been spent or revoked already: the family is now revoked.
    Reused,
    /// Unknown or expired.
    Invalid,
}

#[derive(Queryable)]
struct Row {
    id: i64,
    user_id: i64,
    family_id: String,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

/// Issues a token in `family_id`, or starts a new family.
pub fn issue(
    conn: &mut DbConn,
    user_id: i64,
    family_id: Option<String>,
    ttl_secs: u64,
    now: NaiveDateTime,
) -> QueryResult<Issued> {
    let token = random_token(32);
    let family_id = family_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let ttl = Duration::seconds(i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2));
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::family_id.eq(&family_id),
            refresh_tokens::token_hash.eq(token_digest(&token)),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(now + ttl),
        ))
        .execute(conn)?;
    Ok(Issued { token, family_id })
}

/// Spends `token` and issues its successor; call inside a transaction.
pub fn rotate(
    conn: &mut DbConn,
    token: &str,
    ttl_secs: u64,
    now: NaiveDateTime,
) -> QueryResult<Rotation> {
    let row: Option<Row> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_digest(token)))
        .select((
            refresh_tokens::id,
            refresh_tokens::user_id,
            refresh_tokens::family_id,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
            refresh_tokens::revoked_at,
        ))
        .first(conn)
        .optional()?;
    let Some(row) = row else {
        return Ok(Rotation::Invalid);
    };
    if row.used_at.is_some() || row.revoked_at.is_some() {
        revoke_family(conn, &row.family_id, now)?;
        return Ok(Rotation::Reused);
    }
    if row.expires_at <= now {
        return Ok(Rotation::Invalid);
    }
    // The `used_at IS NULL` guard makes the spend atomic: of two concurrent refreshes with the
    // same token, one wins and the other is treated as a reuse.
    let spent = diesel::update(
        refresh_tokens::table
            .find(row.id)
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?;
    if spent != 1 {
        revoke_family(conn, &row.family_id, now)?;
        return Ok(Rotation::Reused);
    }
    let next = issue(conn, row.user_id, Some(row.family_id), ttl_secs, now)?;
    Ok(Rotation::Rotated {
        user_id: row.user_id,
        next,
    })
}

/// Revokes every live token of a family.
pub fn revoke_family(conn: &mut DbConn, family_id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

/// Revokes the family of `token` (logout); unknown tokens are ignored.
pub fn revoke_by_token(conn: &mut DbConn, token: &str, now: NaiveDateTime) -> QueryResult<()> {
    let family: Option<String> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_digest(token)))
        .select(refresh_tokens::family_id)
        .first(conn)
        .optional()?;
    if let Some(family) = family {
        revoke_family(conn, &family, now)?;
    }
    Ok(())
}

/// Revokes every token of a user (password change, deactivation).
pub fn revoke_user(conn: &mut DbConn, user_id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}
