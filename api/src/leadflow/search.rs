//! Finding leads: a text query over names, email, phone and every submitted field, combined
//! with filters, in a stable order.
//!
//! The text index differs per backend and is kept by the database itself: on SQLite an FTS5
//! table with the trigram tokenizer (`leads_fts`, filled by triggers), on PostgreSQL a
//! `pg_trgm` GIN index over [`PG_DOC`]. Both match each word of the query as a substring,
//! case-insensitively, all words required. A query that looks like a phone number is searched
//! as its digits, without a leading national `0`, so `06 12 34` finds `+33612345678`.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::Stage;
use crate::db::schema::leads;
use crate::db::{Backend, BackendKind, DbConn};
use crate::models::PageRequest;
use crate::models::lead::Lead;

/// The searched text of a lead on PostgreSQL: exactly the expression of the
/// `leads_search_trgm_idx` index.
pub const PG_DOC: &str = "(coalesce(leads.first_name, '') || ' ' || coalesce(leads.last_name, '') \
     || ' ' || coalesce(leads.email, '') || ' ' || leads.phone || ' ' || leads.fields)";

/// Most words a query may hold.
pub const MAX_TERMS: usize = 8;
/// Longest query, in bytes.
pub const MAX_QUERY_LEN: usize = 200;

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Newest first (default).
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
    /// Most recent stage change first.
    StageChanged,
    /// By last name, then first name.
    Name,
}

impl Sort {
    /// Reads `-created_at`, `created_at`, `-stage_changed_at` or `last_name`.
    pub fn parse(s: &str) -> Option<Sort> {
        match s {
            "-created_at" => Some(Sort::Newest),
            "created_at" => Some(Sort::Oldest),
            "-stage_changed_at" => Some(Sort::StageChanged),
            "last_name" => Some(Sort::Name),
            _ => None,
        }
    }
}

/// What to look for; every part optional, all combined.
#[derive(Debug, Clone, Default)]
pub struct LeadSearch {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Words to find.
    pub q: Option<String>,
    /// Only this stage.
    pub stage: Option<Stage>,
    /// Submitted at or after.
    pub created_from: Option<NaiveDateTime>,
    /// Submitted before.
    pub created_to: Option<NaiveDateTime>,
    /// Email confirmed at or after.
    pub confirmed_from: Option<NaiveDateTime>,
    /// Email confirmed before.
    pub confirmed_to: Option<NaiveDateTime>,
    /// Assigned to this agent.
    pub agent: Option<i64>,
    /// From this form.
    pub form: Option<i64>,
    /// Called by this campaign.
    pub campaign: Option<i64>,
    /// With (true) or without (false) notes.
    pub has_notes: Option<bool>,
    /// Order.
    pub sort: Sort,
}

/// The words of a query as the index matches them.
pub fn terms(q: &str) -> Vec<String> {
    let q = q.trim();
    let phone_like = q
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '.' | '-' | '(' | ')'));
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    if phone_like && digits.len() >= 4 {
        let digits = digits.strip_prefix('0').unwrap_or(&digits).to_owned();
        return vec![digits];
    }
    q.split_whitespace()
        .filter(|t| !t.is_empty())
        .take(MAX_TERMS)
        .map(str::to_owned)
        .collect()
}

/// `%term%` for LIKE, with `%`, `_` and `\` escaped (escape character `\`).
fn like_pattern(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    out.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A term as an FTS5 phrase (`"..."`, inner quotes doubled).
fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

impl LeadSearch {
    /// The filtered (unordered, unpaged) query for `kind`.
    fn query(&self, kind: BackendKind) -> leads::BoxedQuery<'static, Backend> {
        let mut query = leads::table.into_boxed();
        if let Some(cc) = self.call_center_id {
            query = query.filter(leads::call_center_id.eq(cc));
        }
        if let Some(stage) = self.stage {
            query = query.filter(leads::stage.eq(stage.as_str()));
        }
        if let Some(t) = self.created_from {
            query = query.filter(leads::created_at.ge(t));
        }
        if let Some(t) = self.created_to {
            query = query.filter(leads::created_at.lt(t));
        }
        if let Some(t) = self.confirmed_from {
            query = query.filter(leads::email_confirmed_at.ge(t));
        }
        if let Some(t) = self.confirmed_to {
            query = query.filter(leads::email_confirmed_at.lt(t));
        }
        if let Some(agent) = self.agent {
            query = query.filter(leads::assigned_user_id.eq(agent));
        }
        if let Some(form) = self.form {
            query = query.filter(leads::form_id.eq(form));
        }
        if let Some(campaign) = self.campaign {
            query = query.filter(leads::campaign_id.eq(campaign));
        }
        if let Some(has) = self.has_notes {
            let exists = "EXISTS (SELECT 1 FROM lead_notes WHERE lead_notes.lead_id = leads.id)";
            query = query.filter(sql::<Bool>(if has {
                exists
            } else {
                "NOT EXISTS (SELECT 1 FROM lead_notes WHERE lead_notes.lead_id = leads.id)"
            }));
        }
        let terms = self.q.as_deref().map(terms).unwrap_or_default();
        match kind {
            BackendKind::Postgres => {
                for term in terms {
                    query = query.filter(
                        sql::<Bool>(PG_DOC)
                            .sql(" ILIKE ")
                            .bind::<Text, _>(like_pattern(&term)),
                    );
                }
            }
            BackendKind::Sqlite => {
                // The trigram index answers words of 3 characters or more; shorter ones are
                // matched by LIKE on the indexed text.
                let (long, short): (Vec<String>, Vec<String>) =
                    terms.into_iter().partition(|t| t.chars().count() >= 3);
                if !long.is_empty() {
                    let phrase = long
                        .iter()
                        .map(|t| fts_phrase(t))
                        .collect::<Vec<_>>()
                        .join(" AND ");
                    query = query.filter(
                        sql::<Bool>(
                            "leads.id IN (SELECT rowid FROM leads_fts WHERE leads_fts MATCH ",
                        )
                        .bind::<Text, _>(phrase)
                        .sql(")"),
                    );
                }
                for term in short {
                    query = query.filter(
                        sql::<Bool>("leads.id IN (SELECT rowid FROM leads_fts WHERE doc LIKE ")
                            .bind::<Text, _>(like_pattern(&term))
                            .sql(" ESCAPE '\\')"),
                    );
                }
            }
        }
        query
    }

    /// One page of matches in the chosen order (ties broken by id, so pages never overlap or
    /// skip). Independent of [`LeadSearch::count`]: the two may run side by side.
    pub fn page(
        &self,
        conn: &mut DbConn,
        kind: BackendKind,
        page: PageRequest,
    ) -> QueryResult<Vec<Lead>> {
        self.ordered(kind)
            .limit(page.limit)
            .offset(page.offset)
            .select(Lead::as_select())
            .load(conn)
    }

    /// The number of matches.
    pub fn count(&self, conn: &mut DbConn, kind: BackendKind) -> QueryResult<i64> {
        self.query(kind).count().get_result(conn)
    }

    /// The next `limit` matches with an id below `before_id`, newest first: keyset chunks for
    /// streaming exports, stable however many leads arrive meanwhile.
    pub fn chunk(
        &self,
        conn: &mut DbConn,
        kind: BackendKind,
        before_id: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<Lead>> {
        let mut query = self.query(kind);
        if let Some(id) = before_id {
            query = query.filter(leads::id.lt(id));
        }
        query
            .order(leads::id.desc())
            .limit(limit)
            .select(Lead::as_select())
            .load(conn)
    }

    fn ordered(&self, kind: BackendKind) -> leads::BoxedQuery<'static, Backend> {
        let query = self.query(kind);
        match self.sort {
            Sort::Newest => query.order((leads::created_at.desc(), leads::id.desc())),
            Sort::Oldest => query.order((leads::created_at.asc(), leads::id.asc())),
            Sort::StageChanged => query.order((leads::stage_changed_at.desc(), leads::id.desc())),
            Sort::Name => query.order((
                leads::last_name.asc(),
                leads::first_name.asc(),
                leads::id.asc(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_like_queries_search_their_digits() {
        assert_eq!(terms("06 12 34 56"), ["6123456"]);
        assert_eq!(terms("+33 6 12"), ["33612"]);
        assert_eq!(terms("  jeanne   DUPONT "), ["jeanne", "DUPONT"]);
        assert_eq!(terms("123"), ["123"], "too short for a phone: a word");
        assert_eq!(terms(&"a ".repeat(20)).len(), MAX_TERMS);
    }

    #[test]
    fn patterns_escape_what_like_and_fts5_treat_specially() {
        assert_eq!(like_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
        assert_eq!(fts_phrase("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
