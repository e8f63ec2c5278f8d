//! Do-not-call numbers: the call center's internal list and the national opposition lists
//! (Bloctel) it imports. Numbers are stored in E.164, unique per call center.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::PageRequest;
use crate::db::schema::dnc_numbers;
use crate::db::{self, Backend, DbConn};

/// Most values bound in one `IN (...)` list or rows in one multi-row insert: well under both
/// backends' bound-parameter limits (SQLite's is the lower one).
pub const CHUNK: usize = 1_000;

/// `source` of numbers added by hand or by an agent's qualification.
pub const SOURCE_INTERNAL: &str = "internal";
/// `source` of numbers imported from the French national opposition list.
pub const SOURCE_BLOCTEL: &str = "bloctel";
/// Every accepted `source`.
pub const SOURCES: [&str; 2] = [SOURCE_INTERNAL, SOURCE_BLOCTEL];

/// A listed number.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = dnc_numbers)]
pub struct Dnc {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// The number in E.164.
    pub phone: String,
    /// `internal` or `bloctel`.
    pub source: String,
    /// Why it is listed.
    pub reason: Option<String>,
    /// When it was listed (UTC).
    pub created_at: NaiveDateTime,
}

/// Insert shape. A missing reason is written as `NULL` rather than `DEFAULT`, which SQLite
/// does not take in a multi-row insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = dnc_numbers, treat_none_as_default_value = false)]
pub struct NewDnc<'a> {
    /// Owning call center.
    pub call_center_id: i64,
    /// E.164 number.
    pub phone: &'a str,
    /// Source.
    pub source: &'a str,
    /// Reason.
    pub reason: Option<&'a str>,
    /// Listing time.
    pub created_at: NaiveDateTime,
}

/// List filters.
#[derive(Debug, Default)]
pub struct DncFilter {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only this source.
    pub source: Option<String>,
    /// Only this E.164 number.
    pub phone: Option<String>,
}

impl DncFilter {
    fn query(&self) -> dnc_numbers::BoxedQuery<'static, Backend> {
        let mut query = dnc_numbers::table.into_boxed();
        if let Some(v) = self.call_center_id {
            query = query.filter(dnc_numbers::call_center_id.eq(v));
        }
        if let Some(v) = &self.source {
            query = query.filter(dnc_numbers::source.eq(v.clone()));
        }
        if let Some(v) = &self.phone {
            query = query.filter(dnc_numbers::phone.eq(v.clone()));
        }
        query
    }
}

/// What [`Dnc::add_many`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    /// Numbers newly listed.
    pub added: u64,
    /// Numbers that were listed already (or repeated in the input).
    pub already_listed: u64,
}

fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

impl Dnc {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        dnc_numbers::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
    }

    /// One page plus the total count, newest first.
    pub fn list(
        conn: &mut DbConn,
        filter: &DncFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(dnc_numbers::id.desc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Inserts; a unique violation means the number is listed already.
    pub fn create(conn: &mut DbConn, new: &NewDnc<'_>) -> QueryResult<Self> {
        diesel::insert_into(dnc_numbers::table)
            .values(new)
            .returning(dnc_numbers::all_columns)
            .get_result(conn)
    }

    /// Deletes.
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(dnc_numbers::table.find(id)).execute(conn)
    }

    /// Which of `phones` (E.164) are on the call center's list, whatever their source.
    pub fn listed(
        conn: &mut DbConn,
        call_center_id: i64,
        phones: &[String],
    ) -> QueryResult<HashSet<String>> {
        let mut found = HashSet::new();
        for chunk in phones.chunks(CHUNK) {
            let rows: Vec<String> = dnc_numbers::table
                .filter(dnc_numbers::call_center_id.eq(call_center_id))
                .filter(dnc_numbers::phone.eq_any(chunk))
                .select(dnc_numbers::phone)
                .load(conn)?;
            found.extend(rows);
        }
        Ok(found)
    }

    /// Lists `phone` (E.164) as `internal` unless it is listed already; returns whether it was
    /// added. Safe inside a transaction: a concurrent insert of the same number is absorbed in
    /// a savepoint instead of failing the caller's transaction.
    pub fn add_internal(
        conn: &mut DbConn,
        call_center_id: i64,
        phone: &str,
        reason: Option<&str>,
    ) -> QueryResult<bool> {
        let new = NewDnc {
            call_center_id,
            phone,
            source: SOURCE_INTERNAL,
            reason,
            created_at: db::now(),
        };
        Self::insert_if_absent(conn, &new)
    }

    fn insert_if_absent(conn: &mut DbConn, new: &NewDnc<'_>) -> QueryResult<bool> {
        let exists = diesel::select(diesel::dsl::exists(
            dnc_numbers::table
                .filter(dnc_numbers::call_center_id.eq(new.call_center_id))
                .filter(dnc_numbers::phone.eq(new.phone)),
        ))
        .get_result::<bool>(conn)?;
        if exists {
            return Ok(false);
        }
        let inserted = conn.transaction(|conn| {
            diesel::insert_into(dnc_numbers::table)
                .values(new)
                .execute(conn)
        });
        match inserted {
            Ok(n) => Ok(n > 0),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Lists every number of `phones` (E.164) with `source`, skipping the ones listed already
    /// and repeats inside `phones`. Meant for batches of at most a few thousand numbers, inside
    /// the caller's transaction; one `IN` query and one multi-row insert per [`CHUNK`].
    pub fn add_many(
        conn: &mut DbConn,
        call_center_id: i64,
        source: &str,
        reason: Option<&str>,
        phones: &[String],
    ) -> QueryResult<Added> {
        let mut outcome = Added::default();
        let mut seen = HashSet::with_capacity(phones.len());
        let now = db::now();
        for chunk in phones.chunks(CHUNK) {
            let listed = Self::listed(conn, call_center_id, chunk)?;
            let mut rows = Vec::with_capacity(chunk.len());
            for phone in chunk {
                if listed.contains(phone) || !seen.insert(phone.as_str()) {
                    outcome.already_listed += 1;
                } else {
                    rows.push(NewDnc {
                        call_center_id,
                        phone,
                        source,
                        reason,
                        created_at: now,
                    });
                }
            }
            if rows.is_empty() {
                continue;
            }
            // In a savepoint, so that a number listed concurrently since the check above only
            // sends this chunk down the slow path instead of failing the whole batch.
            let bulk = conn.transaction(|conn| {
                // Multi-row INSERT: MultiConnection cannot express it, the concrete backends can.
                crate::per_backend!(conn, |c| diesel::insert_into(dnc_numbers::table)
                    .values(&rows)
                    .execute(c))
            });
            match bulk {
                Ok(n) => outcome.added += n as u64,
                Err(e) if is_unique_violation(&e) => {
                    for row in &rows {
                        if Self::insert_if_absent(conn, row)? {
                            outcome.added += 1;
                        } else {
                            outcome.already_listed += 1;
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(outcome)
    }
}
