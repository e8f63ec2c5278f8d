//! SMTP profiles: the servers a call center sends email through.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::DbConn;
use crate::db::schema::smtp_profiles;

/// A stored SMTP profile.
#[derive(Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = smtp_profiles)]
pub struct SmtpProfile {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name, unique per call center.
    pub name: String,
    /// SMTP server host.
    pub host: String,
    /// SMTP server port.
    pub port: i32,
    /// `starttls`, `tls` or `none`.
    pub security: String,
    /// Auth user.
    pub username: Option<String>,
    /// Sealed password.
    pub password_enc: Option<String>,
    /// Display name of the sender.
    pub from_name: Option<String>,
    /// Sender address.
    pub from_address: String,
    /// Reply-To address.
    pub reply_to: Option<String>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

impl std::fmt::Debug for SmtpProfile {
    // Hand-written so that the sealed password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpProfile")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

/// Insert shape.
#[derive(Insertable)]
#[diesel(table_name = smtp_profiles)]
pub struct NewSmtpProfile<'a> {
    /// Owning call center.
    pub call_center_id: i64,
    /// Name.
    pub name: &'a str,
    /// Host.
    pub host: &'a str,
    /// Port.
    pub port: i32,
    /// Security.
    pub security: &'a str,
    /// User.
    pub username: Option<&'a str>,
    /// Sealed password.
    pub password_enc: Option<String>,
    /// Sender name.
    pub from_name: Option<&'a str>,
    /// Sender address.
    pub from_address: &'a str,
    /// Reply-To.
    pub reply_to: Option<&'a str>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape.
#[derive(Default, AsChangeset)]
#[diesel(table_name = smtp_profiles)]
pub struct SmtpProfileChanges {
    /// New name.
    pub name: Option<String>,
    /// New host.
    pub host: Option<String>,
    /// New port.
    pub port: Option<i32>,
    /// New security.
    pub security: Option<String>,
    /// New user (`Some(None)` clears).
    pub username: Option<Option<String>>,
    /// New sealed password (`Some(None)` clears).
    pub password_enc: Option<Option<String>>,
    /// New sender name (`Some(None)` clears).
    pub from_name: Option<Option<String>>,
    /// New sender address.
    pub from_address: Option<String>,
    /// New Reply-To (`Some(None)` clears).
    pub reply_to: Option<Option<String>>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

impl SmtpProfile {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        smtp_profiles::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
    }

    /// One page plus the total count, optionally of one call center.
    pub fn list(
        conn: &mut DbConn,
        call_center_id: Option<i64>,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let query = || {
            let mut q = smtp_profiles::table.into_boxed();
            if let Some(cc) = call_center_id {
                q = q.filter(smtp_profiles::call_center_id.eq(cc));
            }
            q
        };
        let total = query().count().get_result(conn)?;
        let items = query()
            .order(smtp_profiles::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewSmtpProfile<'_>) -> QueryResult<Self> {
        diesel::insert_into(smtp_profiles::table)
            .values(new)
            .returning(smtp_profiles::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &SmtpProfileChanges) -> QueryResult<Self> {
        diesel::update(smtp_profiles::table.find(id))
            .set(changes)
            .returning(smtp_profiles::all_columns)
            .get_result(conn)
    }

    /// Deletes.
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(smtp_profiles::table.find(id)).execute(conn)
    }
}
