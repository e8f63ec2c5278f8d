//! Notes on a lead: comments, call logs and internal notes. A private note is for its author
//! (and the center's owners and super admins) only; the handlers enforce who sees what.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::DbConn;
use crate::db::schema::lead_notes;

/// A stored note.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = lead_notes)]
pub struct LeadNote {
    /// Primary key (orders a lead's notes).
    pub id: i64,
    /// The lead.
    pub lead_id: i64,
    /// The lead's call center.
    pub call_center_id: i64,
    /// Who wrote it (`None` once that user is deleted).
    pub author_user_id: Option<i64>,
    /// `comment`, `call_log` or `internal_note`.
    pub kind: String,
    /// Seen only by its author and by owners and super admins.
    pub private: bool,
    /// The text.
    pub body: String,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = lead_notes)]
pub struct NewLeadNote<'a> {
    /// The lead.
    pub lead_id: i64,
    /// The lead's call center.
    pub call_center_id: i64,
    /// Who writes it.
    pub author_user_id: Option<i64>,
    /// Kind name.
    pub kind: &'a str,
    /// Private or not.
    pub private: bool,
    /// The text.
    pub body: &'a str,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = lead_notes)]
pub struct LeadNoteChanges {
    /// New kind name.
    pub kind: Option<String>,
    /// New privacy.
    pub private: Option<bool>,
    /// New text.
    pub body: Option<String>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

impl LeadNote {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        lead_notes::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
    }

    /// One page of `lead_id`'s notes, oldest first, plus the total count. With `viewer`, only
    /// the public notes and the private ones `viewer` wrote; without, every note.
    pub fn list(
        conn: &mut DbConn,
        lead_id: i64,
        viewer: Option<i64>,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let query = || {
            let mut q = lead_notes::table
                .filter(lead_notes::lead_id.eq(lead_id))
                .into_boxed();
            if let Some(viewer) = viewer {
                q = q.filter(
                    lead_notes::private
                        .eq(false)
                        .or(lead_notes::author_user_id.eq(viewer)),
                );
            }
            q
        };
        let total = query().count().get_result(conn)?;
        let items = query()
            .order(lead_notes::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewLeadNote<'_>) -> QueryResult<Self> {
        diesel::insert_into(lead_notes::table)
            .values(new)
            .returning(lead_notes::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &LeadNoteChanges) -> QueryResult<Self> {
        diesel::update(lead_notes::table.find(id))
            .set(changes)
            .returning(lead_notes::all_columns)
            .get_result(conn)
    }

    /// Deletes.
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(lead_notes::table.find(id)).execute(conn)
    }
}
