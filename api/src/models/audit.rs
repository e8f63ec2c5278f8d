//! The audit log: one append-only row per mutation, written in the mutation's transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::schema::audit_log;
use crate::db::{Backend, DbConn};

/// A stored audit entry.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    /// Primary key (monotonic).
    pub id: i64,
    /// Who did it (`None` for the system).
    pub actor_user_id: Option<i64>,
    /// Tenant concerned (`None` for server-wide changes).
    pub call_center_id: Option<i64>,
    /// Dotted action, e.g. `user.create`.
    pub action: String,
    /// Entity type, e.g. `user`.
    pub entity: String,
    /// Entity id.
    pub entity_id: Option<String>,
    /// JSON of the entity before the change.
    pub before_json: Option<String>,
    /// JSON of the entity after the change.
    pub after_json: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry {
    /// Actor.
    pub actor_user_id: Option<i64>,
    /// Tenant.
    pub call_center_id: Option<i64>,
    /// Action.
    pub action: String,
    /// Entity type.
    pub entity: String,
    /// Entity id.
    pub entity_id: Option<String>,
    /// Before.
    pub before_json: Option<String>,
    /// After.
    pub after_json: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// When.
    pub created_at: NaiveDateTime,
}

/// List filters.
#[derive(Debug, Default)]
pub struct AuditFilter {
    /// Only this tenant.
    pub call_center_id: Option<i64>,
    /// Only this actor.
    pub actor_user_id: Option<i64>,
    /// Only this entity type.
    pub entity: Option<String>,
    /// Only this entity id.
    pub entity_id: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// From this time, inclusive.
    pub from: Option<NaiveDateTime>,
    /// Before this time, exclusive.
    pub to: Option<NaiveDateTime>,
}

impl AuditFilter {
    fn query(&self) -> audit_log::BoxedQuery<'static, Backend> {
        let mut query = audit_log::table.into_boxed();
        if let Some(v) = self.call_center_id {
            query = query.filter(audit_log::call_center_id.eq(v));
        }
        if let Some(v) = self.actor_user_id {
            query = query.filter(audit_log::actor_user_id.eq(v));
        }
        if let Some(v) = self.entity.clone() {
            query = query.filter(audit_log::entity.eq(v));
        }
        if let Some(v) = self.entity_id.clone() {
            query = query.filter(audit_log::entity_id.eq(v));
        }
        if let Some(v) = self.action.clone() {
            query = query.filter(audit_log::action.eq(v));
        }
        if let Some(v) = self.from {
            query = query.filter(audit_log::created_at.ge(v));
        }
        if let Some(v) = self.to {
            query = query.filter(audit_log::created_at.lt(v));
        }
        query
    }
}

impl AuditEntry {
    /// Appends an entry.
    pub fn insert(conn: &mut DbConn, entry: &NewAuditEntry) -> QueryResult<usize> {
        diesel::insert_into(audit_log::table)
            .values(entry)
            .execute(conn)
    }

    /// One page, newest first, plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(audit_log::id.desc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }
}
