//! Table models. Each table has a read shape (`User`), an insert shape (`NewUser`) and an update
//! shape (`UserChanges`, `Option<Option<T>>` for nullable columns); queries are associated
//! functions taking `&mut DbConn` so they compose inside transactions.
//!
//! Lookups by a unique key on hot paths read with `get_result`, not `first`: `first` adds a
//! `LIMIT` bound as a parameter, and SQLite (3.53, bundled) plans with that value, so binding
//! it expires the prepared statement and every run parses and plans the query again.

pub mod audit;
pub mod call_center;
pub mod campaign;
pub mod did;
pub mod dnc;
pub mod email_outbox;
pub mod email_template;
pub mod form;
pub mod group;
pub mod ivr_flow;
pub mod ivr_session;
pub mod lead;
pub mod lead_note;
pub mod notification;
pub mod prompt;
pub mod qualification;
pub mod saved_search;
pub mod settings;
pub mod site;
pub mod smtp_profile;
pub mod trunk;
pub mod user;

use diesel::sql_types::Text;

diesel::define_sql_function! {
    /// SQL `lower()`, on both backends.
    fn lower(x: Text) -> Text;
}

/// A `LIKE` pattern matching `needle` anywhere, lower-cased, with `%`, `_` and `\` escaped.
pub fn contains_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Limit and offset of one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows per page.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::contains_pattern(" A_b%c\\ "), "%a\\_b\\%c\\\\%");
    }
}
