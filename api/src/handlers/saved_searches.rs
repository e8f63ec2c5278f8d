//! `/api/saved-searches`: each user's named lead searches (the parameters of `GET /api/leads`).
//! A search is its owner's alone: anyone else's is a 404. Running one is `GET /api/leads` with
//! its `query`; the rights of the moment apply (an agent's search only ever finds their leads).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::lead_desk::DeskQuery;
use super::utc;
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db;
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::extract::Json;
use crate::models::saved_search::{NewSavedSearch, SavedSearch};
use crate::state::AppState;

const ENTITY: &str = "saved_search";
/// Searches a user may keep.
const MAX_PER_USER: usize = 100;

/// A saved search as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedSearchView {
    /// Id.
    pub id: i64,
    /// Name, unique per user.
    pub name: String,
    /// The parameters of `GET /api/leads`.
    pub query: DeskQuery,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<SavedSearch> for SavedSearchView {
    fn from(s: SavedSearch) -> Self {
        Self {
            id: s.id,
            name: s.name,
            query: serde_json::from_str(&s.query).unwrap_or_default(),
            created_at: utc(s.created_at),
        }
    }
}

/// Body of `POST /api/saved-searches`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSavedSearch {
    /// Name, unique per user.
    #[schema(min_length = 1, max_length = 100, example = "Confirmed this week")]
    pub name: String,
    /// The parameters of `GET /api/leads` (checked as that route checks them).
    pub query: DeskQuery,
}

/// The caller's saved searches, by name.
#[utoipa::path(get, path = "/api/saved-searches", tag = "leads",
    responses((status = 200, body = Vec<SavedSearchView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<web::Json<Vec<SavedSearchView>>, ApiError> {
    principal.require(Resource::Lead, Action::List)?;
    let user = principal.id();
    let rows = state
        .db
        .run(move |conn| Ok(SavedSearch::list_own(conn, user)?))
        .await?;
    Ok(web::Json(rows.into_iter().map(Into::into).collect()))
}

/// Saves a search.
#[utoipa::path(post, path = "/api/saved-searches", tag = "leads",
    request_body = CreateSavedSearch,
    responses((status = 201, body = SavedSearchView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateSavedSearch>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Lead, Action::List)?;
    let body = body.0;
    let mut v = crate::validate::Validator::new();
    v.length("name", &body.name, 1, 100);
    v.finish()?;
    body.query.search(&principal)?;
    let query = serde_json::to_string(&body.query)
        .map_err(|e| ApiError::internal(format!("saved search json: {e}")))?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                if SavedSearch::list_own(conn, principal.id())?.len() >= MAX_PER_USER {
                    return Err(ApiError::conflict(
                        "too_many_saved_searches",
                        format!("at most {MAX_PER_USER} saved searches per user"),
                    ));
                }
                let row = SavedSearch::create(
                    conn,
                    &NewSavedSearch {
                        call_center_id: principal.call_center_id(),
                        user_id: principal.id(),
                        name: body.name.trim(),
                        query: &query,
                        created_at: db::now(),
                    },
                )
                .or_conflict(
                    "name_taken",
                    "you already have a saved search with this name",
                )?;
                Ok(SavedSearchView::from(row))
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Reads one of the caller's saved searches.
#[utoipa::path(get, path = "/api/saved-searches/{id}", tag = "leads",
    params(("id" = i64, Path, description = "Saved search id")),
    responses((status = 200, body = SavedSearchView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<SavedSearchView>, ApiError> {
    principal.require(Resource::Lead, Action::List)?;
    let (user, id) = (principal.id(), id.into_inner());
    let row = state
        .db
        .run(move |conn| SavedSearch::find_own(conn, user, id).or_not_found(ENTITY))
        .await?;
    Ok(web::Json(row.into()))
}

/// Deletes one of the caller's saved searches.
#[utoipa::path(delete, path = "/api/saved-searches/{id}", tag = "leads",
    params(("id" = i64, Path, description = "Saved search id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Lead, Action::List)?;
    let (user, id) = (principal.id(), id.into_inner());
    let deleted = state
        .db
        .run(move |conn| Ok(SavedSearch::delete_own(conn, user, id)?))
        .await?;
    if deleted == 0 {
        return Err(ApiError::NotFound(ENTITY));
    }
    Ok(HttpResponse::NoContent().finish())
}
