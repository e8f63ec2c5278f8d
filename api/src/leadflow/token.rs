//! Double opt-in tokens: 32 random bytes in the link, only their SHA-256 in the database,
//! single use, with an expiry.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::crypto::{random_token, token_digest};
use crate::db::DbConn;
use crate::db::schema::lead_tokens;

/// Random bytes in a token (256 bits: unguessable).
const TOKEN_BYTES: usize = 32;
/// Longest token string accepted from a URL (43 characters are issued).
pub const MAX_TOKEN_LEN: usize = 64;

/// A stored token.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lead_tokens)]
pub struct LeadToken {
    /// Primary key.
    pub id: i64,
    /// The lead it confirms.
    pub lead_id: i64,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// When it stops working.
    pub expires_at: NaiveDateTime,
    /// When it was followed.
    pub used_at: Option<NaiveDateTime>,
    /// When it was issued.
    pub created_at: NaiveDateTime,
}

/// Issues a token for `lead_id` valid until `expires_at`; returns the token itself, which
/// exists nowhere else once the email carrying it is built.
pub fn issue(
    conn: &mut DbConn,
    lead_id: i64,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<String> {
    let token = new();
    store(conn, lead_id, &token, now, expires_at)?;
    Ok(token)
}

/// A fresh token, not stored yet (see [`store`]).
pub fn new() -> String {
    random_token(TOKEN_BYTES)
}

/// Stores (the hash of) a token from [`new`] for `lead_id`, valid until `expires_at`.
pub fn store(
    conn: &mut DbConn,
    lead_id: i64,
    token: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(lead_tokens::table)
        .values((
            lead_tokens::lead_id.eq(lead_id),
            lead_tokens::token_hash.eq(token_digest(token)),
            lead_tokens::expires_at.eq(expires_at),
            lead_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// What following a link finds.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// No such token (mistyped, truncated, or never issued).
    Unknown,
    /// Issued, but too late now.
    Expired(LeadToken),
    /// Followed before.
    Used(LeadToken),
    /// Good to use.
    Valid(LeadToken),
}

/// Finds `token` as of `now`.
pub fn find(conn: &mut DbConn, token: &str, now: NaiveDateTime) -> QueryResult<Lookup> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Ok(Lookup::Unknown);
    }
    let found = lead_tokens::table
        .filter(lead_tokens::token_hash.eq(token_digest(token)))
        .select(LeadToken::as_select())
        .first(conn)
        .optional()?;
    Ok(match found {
        None => Lookup::Unknown,
        Some(t) if t.used_at.is_some() => Lookup::Used(t),
        Some(t) if t.expires_at <= now => Lookup::Expired(t),
        Some(t) => Lookup::Valid(t),
    })
}

/// Marks the token used unless it was already; whether this call used it.
pub fn spend(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        lead_tokens::table
            .find(id)
            .filter(lead_tokens::used_at.is_null()),
    )
    .set(lead_tokens::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}
