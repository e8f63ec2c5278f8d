//! `/api/sites`: the physical sites of a call center.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, PageParams, utc};
use crate::audit::{self, Change};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::extract::Json;
use crate::models::call_center::CallCenter;
use crate::models::site::{NewSite, Site, SiteChanges, SiteFilter};
use crate::models::user::Role;
use crate::state::AppState;
use crate::validate::{Validator, double_option};

const ENTITY: &str = "site";
const NAME_TAKEN: &str = "a site with this name exists in the call center";

/// A site as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteView {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name.
    pub name: String,
    /// Time zone override (else the center's).
    pub time_zone: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Site> for SiteView {
    fn from(s: Site) -> Self {
        Self {
            id: s.id,
            call_center_id: s.call_center_id,
            name: s.name,
            time_zone: s.time_zone,
            created_at: utc(s.created_at),
            updated_at: utc(s.updated_at),
        }
    }
}

/// Body of `POST /api/sites`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    /// Call center; defaults to the caller's own.
    pub call_center_id: Option<i64>,
    /// Name, unique in the center.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// IANA time zone when it differs from the center's.
    #[schema(example = "Europe/Paris")]
    pub time_zone: Option<String>,
}

/// Body of `PATCH /api/sites/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSite {
    /// New name.
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// New time zone; `null` clears the override.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub time_zone: Option<Option<String>>,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SiteQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Name contains (case-insensitive).
    pub q: Option<String>,
}

/// The call center a new object goes to: the caller's own unless a super admin names one.
/// A center the caller cannot see is reported like a missing one.
pub fn target_call_center(
    principal: &Principal,
    requested: Option<i64>,
    conn: &mut DbConn,
) -> Result<i64, ApiError> {
    let id = match (requested, principal.call_center_id()) {
        (Some(id), _) => id,
        (None, Some(own)) => own,
        (None, None) => {
            return Err(ApiError::field(
                "call_center_id",
                "required",
                "name the call center",
            ));
        }
    };
    let exists = principal.sees_tenant(id) && CallCenter::find(conn, id).is_ok();
    if exists {
        Ok(id)
    } else {
        Err(ApiError::field(
            "call_center_id",
            "not_found",
            "no such call center",
        ))
    }
}

/// Loads a site the caller may see (404 otherwise).
fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<Site, ApiError> {
    let site = Site::find(conn, id).or_not_found(ENTITY)?;
    principal.check_tenant(site.call_center_id, ENTITY)?;
    if principal.role() == Role::Agent && principal.user.site_id != Some(site.id) {
        return Err(ApiError::NotFound(ENTITY));
    }
    Ok(site)
}

/// Lists sites.
#[utoipa::path(get, path = "/api/sites", tag = "sites",
    params(PageParams, SiteQuery),
    responses((status = 200, body = Page<SiteView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<SiteQuery>,
) -> Result<web::Json<Page<SiteView>>, ApiError> {
    principal.require(Resource::Site, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    let filter = SiteFilter {
        call_center_id: principal.narrow_tenant(query.call_center_id),
        q: query.q,
    };
    let (rows, total) = state
        .db
        .run(move |conn| Ok(Site::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one site.
#[utoipa::path(get, path = "/api/sites/{id}", tag = "sites",
    params(("id" = i64, Path, description = "Site id")),
    responses((status = 200, body = SiteView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<SiteView>, ApiError> {
    principal.require(Resource::Site, Action::Read)?;
    let id = id.into_inner();
    let site = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(web::Json(site.into()))
}

/// Creates a site.
#[utoipa::path(post, path = "/api/sites", tag = "sites",
    request_body = CreateSite,
    responses((status = 201, body = SiteView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateSite>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Site, Action::Create)?;
    let body = body.0;
    let mut v = Validator::new();
    v.length("name", &body.name, 1, 200);
    if let Some(tz) = &body.time_zone {
        v.time_zone("time_zone", tz);
    }
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let call_center_id = target_call_center(&principal, body.call_center_id, conn)?;
                let now = db::now();
                let row = Site::create(
                    conn,
                    &NewSite {
                        call_center_id,
                        name: body.name.trim(),
                        time_zone: body.time_zone.as_deref(),
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("name_taken", NAME_TAKEN)?;
                let view = SiteView::from(row);
                audit::record(
                    conn,
                    Some(&principal),
                    Change {
                        action: "site.create",
                        entity: ENTITY,
                        entity_id: view.id.to_string(),
                        call_center_id: Some(call_center_id),
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

/// Changes a site.
#[utoipa::path(patch, path = "/api/sites/{id}", tag = "sites",
    params(("id" = i64, Path, description = "Site id")),
    request_body = UpdateSite,
    responses((status = 200, body = SiteView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdateSite>,
) -> Result<web::Json<SiteView>, ApiError> {
    principal.require(Resource::Site, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    if let Some(name) = &body.name {
        v.length("name", name, 1, 200);
    }
    if let Some(Some(tz)) = &body.time_zone {
        v.time_zone("time_zone", tz);
    }
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = SiteView::from(visible(&principal, conn, id)?);
                let changes = SiteChanges {
                    name: body.name.map(|n| n.trim().to_string()),
                    time_zone: body.time_zone,
                    updated_at: Some(db::now()),
                };
                let after = SiteView::from(
                    Site::update(conn, id, &changes).or_conflict("name_taken", NAME_TAKEN)?,
                );
                audit::record(
                    conn,
                    Some(&principal),
                    Change {
                        action: "site.update",
                        entity: ENTITY,
                        entity_id: id.to_string(),
                        call_center_id: Some(after.call_center_id),
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

/// Deletes a site; its users stay, without a site.
#[utoipa::path(delete, path = "/api/sites/{id}", tag = "sites",
    params(("id" = i64, Path, description = "Site id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Site, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = SiteView::from(visible(&principal, conn, id)?);
                Site::delete(conn, id)
                    .or_conflict("site_in_use", "the site is still referenced")?;
                audit::record(
                    conn,
                    Some(&principal),
                    Change {
                        action: "site.delete",
                        entity: ENTITY,
                        entity_id: id.to_string(),
                        call_center_id: Some(before.call_center_id),
                        before: Some(&before),
                        after: None,
                    },
                )
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
