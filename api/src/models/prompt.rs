//! Prompts: the sound files a call center's IVR flows may play, registered by name.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{PageRequest, contains_pattern, lower};
use crate::db::schema::prompts;
use crate::db::{Backend, DbConn};

/// A stored prompt.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = prompts)]
pub struct Prompt {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Sound file as Asterisk plays it (`callpro/main-menu`).
    pub name: String,
    /// Language of the recording (`en`, `fr`, ...).
    pub language: String,
    /// Free text (what the recording says).
    pub description: Option<String>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = prompts)]
pub struct NewPrompt<'a> {
    /// Owning call center.
    pub call_center_id: i64,
    /// Sound file name.
    pub name: &'a str,
    /// Language.
    pub language: &'a str,
    /// Free text.
    pub description: Option<&'a str>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = prompts)]
pub struct PromptChanges {
    /// New name.
    pub name: Option<String>,
    /// New language.
    pub language: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

/// List filters.
#[derive(Debug, Default)]
pub struct PromptFilter {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Name contains.
    pub q: Option<String>,
    /// Only this language.
    pub language: Option<String>,
}

impl PromptFilter {
    fn query(&self) -> prompts::BoxedQuery<'static, Backend> {
        let mut query = prompts::table.into_boxed();
        if let Some(id) = self.call_center_id {
            query = query.filter(prompts::call_center_id.eq(id));
        }
        if let Some(q) = self.q.as_deref().filter(|q| !q.trim().is_empty()) {
            query = query.filter(lower(prompts::name).like(contains_pattern(q)).escape('\\'));
        }
        if let Some(language) = self.language.clone() {
            query = query.filter(prompts::language.eq(language));
        }
        query
    }
}

impl Prompt {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        prompts::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
    }

    /// One page plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &PromptFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order((
                prompts::name.asc(),
                prompts::language.asc(),
                prompts::id.asc(),
            ))
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// The prompt names a call center registered, in any language (what its flows may play).
    pub fn names(conn: &mut DbConn, call_center_id: i64) -> QueryResult<HashSet<String>> {
        let names: Vec<String> = prompts::table
            .filter(prompts::call_center_id.eq(call_center_id))
            .select(prompts::name)
            .distinct()
            .load(conn)?;
        Ok(names.into_iter().collect())
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewPrompt<'_>) -> QueryResult<Self> {
        diesel::insert_into(prompts::table)
            .values(new)
            .returning(prompts::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &PromptChanges) -> QueryResult<Self> {
        diesel::update(prompts::table.find(id))
            .set(changes)
            .returning(prompts::all_columns)
            .get_result(conn)
    }

    /// Deletes.
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(prompts::table.find(id)).execute(conn)
    }
}
