//! Email templates: subject, HTML and text bodies with `{{variables}}`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::DbConn;
use crate::db::schema::email_templates;

/// A stored template.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = email_templates)]
pub struct EmailTemplate {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name, unique per call center.
    pub name: String,
    /// Subject template.
    pub subject: String,
    /// HTML body template.
    pub html_body: String,
    /// Plain-text body template.
    pub text_body: String,
    /// HTML signature appended to the HTML body.
    pub html_signature: Option<String>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = email_templates)]
pub struct NewEmailTemplate<'a> {
    /// Owning call center.
    pub call_center_id: i64,
    /// Name.
    pub name: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// HTML body.
    pub html_body: &'a str,
    /// Text body.
    pub text_body: &'a str,
    /// HTML signature.
    pub html_signature: Option<&'a str>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = email_templates)]
pub struct EmailTemplateChanges {
    /// New name.
    pub name: Option<String>,
    /// New subject.
    pub subject: Option<String>,
    /// New HTML body.
    pub html_body: Option<String>,
    /// New text body.
    pub text_body: Option<String>,
    /// New signature (`Some(None)` clears).
    pub html_signature: Option<Option<String>>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

impl EmailTemplate {
    /// Every text variables may appear in: subject, HTML and text bodies, signature.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        [
            Some(self.subject.as_str()),
            Some(self.html_body.as_str()),
            Some(self.text_body.as_str()),
            self.html_signature.as_deref(),
        ]
        .into_iter()
        .flatten()
    }

    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        email_templates::table
            .find(id)
            .select(Self::as_select())
            .get_result(conn)
    }

    /// One page plus the total count, optionally of one call center.
    pub fn list(
        conn: &mut DbConn,
        call_center_id: Option<i64>,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let query = || {
            let mut q = email_templates::table.into_boxed();
            if let Some(cc) = call_center_id {
                q = q.filter(email_templates::call_center_id.eq(cc));
            }
            q
        };
        let total = query().count().get_result(conn)?;
        let items = query()
            .order(email_templates::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewEmailTemplate<'_>) -> QueryResult<Self> {
        diesel::insert_into(email_templates::table)
            .values(new)
            .returning(email_templates::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &EmailTemplateChanges) -> QueryResult<Self> {
        diesel::update(email_templates::table.find(id))
            .set(changes)
            .returning(email_templates::all_columns)
            .get_result(conn)
    }

    /// Deletes.
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(email_templates::table.find(id)).execute(conn)
    }
}
