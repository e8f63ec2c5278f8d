//! `GET /api/audit`: the read-only audit trail. No route can change it.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, PageParams, utc};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::error::{ApiError, ErrorBody};
use crate::models::audit::{AuditEntry, AuditFilter};
use crate::state::AppState;

/// An audit entry as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    /// Id (monotonic).
    pub id: i64,
    /// Who (`null`: the system).
    pub actor_user_id: Option<i64>,
    /// Tenant concerned.
    pub call_center_id: Option<i64>,
    /// Dotted action, e.g. `user.update`.
    pub action: String,
    /// Entity type.
    pub entity: String,
    /// Entity id.
    pub entity_id: Option<String>,
    /// The entity before the change.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The entity after the change.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// Client address.
    pub ip: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

fn parse(json: Option<String>) -> Option<serde_json::Value> {
    json.and_then(|j| serde_json::from_str(&j).ok())
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            actor_user_id: e.actor_user_id,
            call_center_id: e.call_center_id,
            action: e.action,
            entity: e.entity,
            entity_id: e.entity_id,
            before: parse(e.before_json),
            after: parse(e.after_json),
            ip: e.ip,
            created_at: utc(e.created_at),
        }
    }
}

/// Filters of the audit list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only this actor.
    pub actor_user_id: Option<i64>,
    /// Only this entity type (`user`, `site`, ...).
    pub entity: Option<String>,
    /// Only this entity id.
    pub entity_id: Option<String>,
    /// Only this action (`user.create`, ...).
    pub action: Option<String>,
    /// From this time (RFC 3339), inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Until this time (RFC 3339), exclusive.
    pub to: Option<DateTime<Utc>>,
}

/// Lists audit entries, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "audit",
    params(PageParams, AuditQuery),
    responses((status = 200, body = Page<AuditView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<Page<AuditView>>, ApiError> {
    principal.require(Resource::Audit, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    let filter = AuditFilter {
        call_center_id: principal.narrow_tenant(query.call_center_id),
        actor_user_id: query.actor_user_id,
        entity: query.entity,
        entity_id: query.entity_id,
        action: query.action,
        from: query.from.map(|t| t.naive_utc()),
        to: query.to.map(|t| t.naive_utc()),
    };
    let (rows, total) = state
        .db
        .run(move |conn| Ok(AuditEntry::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}
