//! In-app notifications: a message for one user (a lead went stale, a lead was escalated), read
//! or not. Written by the lead sweeper, read and marked read by their user only.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::schema::notifications;
use crate::db::{Backend, DbConn};

/// A stored notification.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = notifications)]
pub struct Notification {
    /// Primary key (newest is highest).
    pub id: i64,
    /// Call center it is about.
    pub call_center_id: i64,
    /// The user it is for.
    pub user_id: i64,
    /// What it is about (`lead_stale`, `lead_escalated`).
    pub kind: String,
    /// The lead it is about.
    pub lead_id: Option<i64>,
    /// What to tell the user.
    pub message: String,
    /// When the user read it.
    pub read_at: Option<NaiveDateTime>,
    /// When it was written (UTC).
    pub created_at: NaiveDateTime,
}

/// Insert shape.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = notifications)]
pub struct NewNotification<'a> {
    /// Call center.
    pub call_center_id: i64,
    /// Recipient.
    pub user_id: i64,
    /// Kind.
    pub kind: &'a str,
    /// Lead.
    pub lead_id: Option<i64>,
    /// Message.
    pub message: &'a str,
    /// Creation time.
    pub created_at: NaiveDateTime,
}

impl Notification {
    /// Stores one notification; composes in the caller's transaction.
    pub fn insert(conn: &mut DbConn, new: &NewNotification<'_>) -> QueryResult<i64> {
        diesel::insert_into(notifications::table)
            .values(new)
            .returning(notifications::id)
            .get_result(conn)
    }

    fn of_user(user_id: i64, unread: bool) -> notifications::BoxedQuery<'static, Backend> {
        let mut q = notifications::table
            .filter(notifications::user_id.eq(user_id))
            .into_boxed();
        if unread {
            q = q.filter(notifications::read_at.is_null());
        }
        q
    }

    /// One page of `user_id`'s notifications (only unread ones when `unread`), newest first,
    /// plus the total count.
    pub fn list(
        conn: &mut DbConn,
        user_id: i64,
        unread: bool,
        page: PageRequest,
    ) -> QueryResult<(Vec<Notification>, i64)> {
        let total = Self::of_user(user_id, unread).count().get_result(conn)?;
        let items = Self::of_user(user_id, unread)
            .order(notifications::id.desc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Notification::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Marks `id` read if it is `user_id`'s (a notification read before keeps its first read
    /// time); whether it is theirs.
    pub fn mark_read(
        conn: &mut DbConn,
        user_id: i64,
        id: i64,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let theirs: Option<Option<NaiveDateTime>> = notifications::table
            .find(id)
            .filter(notifications::user_id.eq(user_id))
            .select(notifications::read_at)
            .first(conn)
            .optional()?;
        match theirs {
            None => Ok(false),
            Some(Some(_)) => Ok(true),
            Some(None) => {
                diesel::update(
                    notifications::table
                        .find(id)
                        .filter(notifications::read_at.is_null()),
                )
                .set(notifications::read_at.eq(Some(now)))
                .execute(conn)?;
                Ok(true)
            }
        }
    }

    /// Marks every unread notification of `user_id` read; how many.
    pub fn mark_all_read(
        conn: &mut DbConn,
        user_id: i64,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            notifications::table
                .filter(notifications::user_id.eq(user_id))
                .filter(notifications::read_at.is_null()),
        )
        .set(notifications::read_at.eq(Some(now)))
        .execute(conn)
    }
}
