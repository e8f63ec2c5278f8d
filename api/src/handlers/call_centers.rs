//! `/api/call-centers`: the tenants.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, PageParams, utc};
use crate::audit::{self, Change};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db;
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::extract::Json;
use crate::models::call_center::{CallCenter, CallCenterChanges, CallCenterFilter, NewCallCenter};
use crate::state::AppState;
use crate::validate::Validator;

const ENTITY: &str = "call_center";

/// A call center as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallCenterView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Default IANA time zone.
    pub time_zone: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<CallCenter> for CallCenterView {
    fn from(c: CallCenter) -> Self {
        Self {
            id: c.id,
            name: c.name,
            time_zone: c.time_zone,
            created_at: utc(c.created_at),
            updated_at: utc(c.updated_at),
        }
    }
}

/// Body of `POST /api/call-centers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCallCenter {
    /// Unique name.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// IANA time zone, e.g. `Europe/Paris`.
    #[schema(example = "Europe/Paris")]
    pub time_zone: String,
}

/// Body of `PATCH /api/call-centers/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCallCenter {
    /// New name.
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// New time zone.
    #[schema(example = "Europe/Paris")]
    pub time_zone: Option<String>,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallCenterQuery {
    /// Name contains (case-insensitive).
    pub q: Option<String>,
}

fn validate_name_tz(v: &mut Validator, name: Option<&str>, tz: Option<&str>) {
    if let Some(name) = name {
        v.length("name", name, 1, 200);
    }
    if let Some(tz) = tz {
        v.time_zone("time_zone", tz);
    }
}

/// Lists call centers (a tenant-bound caller sees only their own).
#[utoipa::path(get, path = "/api/call-centers", tag = "call-centers",
    params(PageParams, CallCenterQuery),
    responses((status = 200, body = Page<CallCenterView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<CallCenterQuery>,
) -> Result<web::Json<Page<CallCenterView>>, ApiError> {
    principal.require(Resource::CallCenter, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let filter = CallCenterFilter {
        only_id: principal.tenant_scope(),
        q: query.into_inner().q,
    };
    let (rows, total) = state
        .db
        .run(move |conn| Ok(CallCenter::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one call center.
#[utoipa::path(get, path = "/api/call-centers/{id}", tag = "call-centers",
    params(("id" = i64, Path, description = "Call center id")),
    responses((status = 200, body = CallCenterView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<CallCenterView>, ApiError> {
    principal.require(Resource::CallCenter, Action::Read)?;
    let id = id.into_inner();
    principal.check_tenant(id, ENTITY)?;
    let row = state
        .db
        .run(move |conn| CallCenter::find(conn, id).or_not_found(ENTITY))
        .await?;
    Ok(web::Json(row.into()))
}

/// Creates a call center (super admin).
#[utoipa::path(post, path = "/api/call-centers", tag = "call-centers",
    request_body = CreateCallCenter,
    responses((status = 201, body = CallCenterView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateCallCenter>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::CallCenter, Action::Create)?;
    let body = body.0;
    let mut v = Validator::new();
    validate_name_tz(&mut v, Some(&body.name), Some(&body.time_zone));
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let now = db::now();
                let row = CallCenter::create(
                    conn,
                    &NewCallCenter {
                        name: body.name.trim(),
                        time_zone: &body.time_zone,
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("name_taken", "a call center with this name exists")?;
                let view = CallCenterView::from(row);
                audit::record(
                    conn,
                    Some(&principal),
                    Change {
                        action: "call_center.create",
                        entity: ENTITY,
                        entity_id: view.id.to_string(),
                        call_center_id: Some(view.id),
                        before: None,
                        after: Some(&view),
                    },
                )?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Changes a call center (super admin, or its owner).
#[utoipa::path(patch, path = "/api/call-centers/{id}", tag = "call-centers",
    params(("id" = i64, Path, description = "Call center id")),
    request_body = UpdateCallCenter,
    responses((status = 200, body = CallCenterView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdateCallCenter>,
) -> Result<web::Json<CallCenterView>, ApiError> {
    principal.require(Resource::CallCenter, Action::Update)?;
    let id = id.into_inner();
    principal.check_tenant(id, ENTITY)?;
    let body = body.0;
    let mut v = Validator::new();
    validate_name_tz(&mut v, body.name.as_deref(), body.time_zone.as_deref());
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = CallCenterView::from(CallCenter::find(conn, id).or_not_found(ENTITY)?);
                let changes = CallCenterChanges {
                    name: body.name.map(|n| n.trim().to_string()),
                    time_zone: body.time_zone,
                    updated_at: Some(db::now()),
                };
                let after = CallCenterView::from(
                    CallCenter::update(conn, id, &changes)
                        .or_conflict("name_taken", "a call center with this name exists")?,
                );
                audit::record(
                    conn,
                    Some(&principal),
                    Change {
                        action: "call_center.update",
                        entity: ENTITY,
                        entity_id: id.to_string(),
                        call_center_id: Some(id),
                        before: Some(&before),
                        after: Some(&after),
                    },
                )?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// Deletes an empty call center (super admin); 409 while it has sites, users or groups.
#[utoipa::path(delete, path = "/api/call-centers/{id}", tag = "call-centers",
    params(("id" = i64, Path, description = "Call center id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::CallCenter, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = CallCenterView::from(CallCenter::find(conn, id).or_not_found(ENTITY)?);
                CallCenter::delete(conn, id).or_conflict(
                    "call_center_not_empty",
                    "delete the call center's users, sites and groups first",
                )?;
                audit::record(
                    conn,
                    Some(&principal),
                    Change {
                        action: "call_center.delete",
                        entity: ENTITY,
                        entity_id: id.to_string(),
                        call_center_id: Some(id),
                        before: Some(&before),
                        after: None,
                    },
                )
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
