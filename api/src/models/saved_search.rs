//! Saved lead searches: a name and the parameters of `GET /api/leads`, per user.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::saved_searches;

/// A stored search.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = saved_searches)]
pub struct SavedSearch {
    /// Primary key.
    pub id: i64,
    /// The owner's call center (none for super admins).
    pub call_center_id: Option<i64>,
    /// Owner.
    pub user_id: i64,
    /// Name, unique per user.
    pub name: String,
    /// The parameters, as a JSON object.
    pub query: String,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = saved_searches)]
pub struct NewSavedSearch<'a> {
    /// The owner's call center.
    pub call_center_id: Option<i64>,
    /// Owner.
    pub user_id: i64,
    /// Name.
    pub name: &'a str,
    /// Parameters JSON.
    pub query: &'a str,
    /// Creation time.
    pub created_at: NaiveDateTime,
}

impl SavedSearch {
    /// `user_id`'s search `id`.
    pub fn find_own(conn: &mut DbConn, user_id: i64, id: i64) -> QueryResult<Self> {
        saved_searches::table
            .find(id)
            .filter(saved_searches::user_id.eq(user_id))
            .select(Self::as_select())
            .first(conn)
    }

    /// Every search of `user_id`, by name.
    pub fn list_own(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<Self>> {
        saved_searches::table
            .filter(saved_searches::user_id.eq(user_id))
            .order((saved_searches::name.asc(), saved_searches::id.asc()))
            .select(Self::as_select())
            .load(conn)
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewSavedSearch<'_>) -> QueryResult<Self> {
        diesel::insert_into(saved_searches::table)
            .values(new)
            .returning(saved_searches::all_columns)
            .get_result(conn)
    }

    /// Deletes `user_id`'s search `id`; rows deleted.
    pub fn delete_own(conn: &mut DbConn, user_id: i64, id: i64) -> QueryResult<usize> {
        diesel::delete(
            saved_searches::table
                .find(id)
                .filter(saved_searches::user_id.eq(user_id)),
        )
        .execute(conn)
    }
}
