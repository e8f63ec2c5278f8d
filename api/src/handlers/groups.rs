//! `/api/groups`: teams of users inside a call center, and their members.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::sites::target_call_center;
use super::{Page, PageParams, utc};
use crate::audit::{self, Change};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::extract::Json;
use crate::ivr::used_by_flows;
use crate::models::group::{Group, GroupChanges, GroupFilter, NewGroup};
use crate::models::user::User;
use crate::state::AppState;
use crate::validate::{Validator, double_option};

const ENTITY: &str = "group";
const NAME_TAKEN: &str = "a group with this name exists in the call center";

/// A group as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Group> for GroupView {
    fn from(g: Group) -> Self {
        Self {
            id: g.id,
            call_center_id: g.call_center_id,
            name: g.name,
            description: g.description,
            created_at: utc(g.created_at),
            updated_at: utc(g.updated_at),
        }
    }
}

/// Body of `POST /api/groups`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    /// Call center; defaults to the caller's own.
    pub call_center_id: Option<i64>,
    /// Name, unique in the center.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Free text.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

/// Body of `PATCH /api/groups/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGroup {
    /// New name.
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// New description; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub description: Option<Option<String>>,
}

/// Body of `POST /api/groups/{id}/members`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// User to add (same call center).
    pub user_id: i64,
}

/// Members of a group.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembersView {
    /// The group.
    pub group_id: i64,
    /// Member user ids, ascending.
    pub user_ids: Vec<i64>,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Name contains (case-insensitive).
    pub q: Option<String>,
}

fn validate(v: &mut Validator, name: Option<&str>, description: Option<&str>) {
    if let Some(name) = name {
        v.length("name", name, 1, 200);
    }
    if let Some(description) = description {
        v.length("description", description, 0, 2000);
    }
}

fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<Group, ApiError> {
    let group = Group::find(conn, id).or_not_found(ENTITY)?;
    principal.check_tenant(group.call_center_id, ENTITY)?;
    Ok(group)
}

fn audit_group(
    conn: &mut DbConn,
    principal: &Principal,
    action: &str,
    call_center_id: i64,
    id: i64,
    before: Option<&GroupView>,
    after: Option<&GroupView>,
) -> Result<(), ApiError> {
    audit::record(
        conn,
        Some(principal),
        Change {
            action,
            entity: ENTITY,
            entity_id: id.to_string(),
            call_center_id: Some(call_center_id),
            before,
            after,
        },
    )
}

/// Lists groups.
#[utoipa::path(get, path = "/api/groups", tag = "groups",
    params(PageParams, GroupQuery),
    responses((status = 200, body = Page<GroupView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<GroupQuery>,
) -> Result<web::Json<Page<GroupView>>, ApiError> {
    principal.require(Resource::Group, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    let filter = GroupFilter {
        call_center_id: principal.narrow_tenant(query.call_center_id),
        q: query.q,
    };
    let (rows, total) = state
        .db
        .run(move |conn| Ok(Group::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one group.
#[utoipa::path(get, path = "/api/groups/{id}", tag = "groups",
    params(("id" = i64, Path, description = "Group id")),
    responses((status = 200, body = GroupView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<GroupView>, ApiError> {
    principal.require(Resource::Group, Action::Read)?;
    let id = id.into_inner();
    let group = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(web::Json(group.into()))
}

/// Creates a group.
#[utoipa::path(post, path = "/api/groups", tag = "groups",
    request_body = CreateGroup,
    responses((status = 201, body = GroupView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateGroup>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Group, Action::Create)?;
    let body = body.0;
    let mut v = Validator::new();
    validate(&mut v, Some(&body.name), body.description.as_deref());
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let call_center_id = target_call_center(&principal, body.call_center_id, conn)?;
                let now = db::now();
                let row = Group::create(
                    conn,
                    &NewGroup {
                        call_center_id,
                        name: body.name.trim(),
                        description: body.description.as_deref(),
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("name_taken", NAME_TAKEN)?;
                let view = GroupView::from(row);
                audit_group(
                    conn,
                    &principal,
                    "group.create",
                    call_center_id,
                    view.id,
                    None,
                    Some(&view),
                )?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Changes a group.
#[utoipa::path(patch, path = "/api/groups/{id}", tag = "groups",
    params(("id" = i64, Path, description = "Group id")),
    request_body = UpdateGroup,
    responses((status = 200, body = GroupView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdateGroup>,
) -> Result<web::Json<GroupView>, ApiError> {
    principal.require(Resource::Group, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    validate(
        &mut v,
        body.name.as_deref(),
        body.description.as_ref().and_then(|d| d.as_deref()),
    );
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = GroupView::from(visible(&principal, conn, id)?);
                let changes = GroupChanges {
                    name: body.name.map(|n| n.trim().to_string()),
                    description: body.description,
                    updated_at: Some(db::now()),
                };
                let after = GroupView::from(
                    Group::update(conn, id, &changes).or_conflict("name_taken", NAME_TAKEN)?,
                );
                audit_group(
                    conn,
                    &principal,
                    "group.update",
                    after.call_center_id,
                    id,
                    Some(&before),
                    Some(&after),
                )?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// Deletes a group and its memberships.
#[utoipa::path(delete, path = "/api/groups/{id}", tag = "groups",
    params(("id" = i64, Path, description = "Group id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Group, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = GroupView::from(visible(&principal, conn, id)?);
                let queued = used_by_flows(conn, before.call_center_id, None, |refs| {
                    refs.groups.contains(&id)
                })?;
                if let Some(reason) = queued {
                    return Err(ApiError::conflict(
                        "group_in_use",
                        format!("IVR callers queue for this group: {reason}"),
                    ));
                }
                Group::delete(conn, id)
                    .or_conflict("group_in_use", "the group is still referenced")?;
                audit_group(
                    conn,
                    &principal,
                    "group.delete",
                    before.call_center_id,
                    id,
                    Some(&before),
                    None,
                )
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lists a group's members.
#[utoipa::path(get, path = "/api/groups/{id}/members", tag = "groups",
    params(("id" = i64, Path, description = "Group id")),
    responses((status = 200, body = MembersView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn members(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<MembersView>, ApiError> {
    principal.require(Resource::Group, Action::Read)?;
    let id = id.into_inner();
    let user_ids = state
        .db
        .run(move |conn| {
            visible(&principal, conn, id)?;
            Ok(Group::member_ids(conn, id)?)
        })
        .await?;
    Ok(web::Json(MembersView {
        group_id: id,
        user_ids,
    }))
}

/// Adds a user of the same call center to a group.
#[utoipa::path(post, path = "/api/groups/{id}/members", tag = "groups",
    params(("id" = i64, Path, description = "Group id")),
    request_body = AddMember,
    responses((status = 201, body = MembersView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_member(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<AddMember>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Group, Action::Update)?;
    let id = id.into_inner();
    let user_id = body.0.user_id;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let group = visible(&principal, conn, id)?;
                let user = User::find(conn, user_id).ok();
                if user.is_none_or(|u| u.call_center_id != Some(group.call_center_id)) {
                    return Err(ApiError::field(
                        "user_id",
                        "not_found",
                        "no such user in the group's call center",
                    ));
                }
                if Group::has_member(conn, id, user_id)? {
                    return Err(ApiError::conflict(
                        "already_member",
                        "the user is already a member",
                    ));
                }
                Group::add_member(conn, id, user_id, db::now())?;
                let view = MembersView {
                    group_id: id,
                    user_ids: Group::member_ids(conn, id)?,
                };
                audit::record(
                    conn,
                    Some(&principal),
                    Change {
                        action: "group.member_add",
                        entity: ENTITY,
                        entity_id: id.to_string(),
                        call_center_id: Some(group.call_center_id),
                        before: None,
                        after: Some(&serde_json::json!({ "user_id": user_id })),
                    },
                )?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Removes a user from a group.
#[utoipa::path(delete, path = "/api/groups/{id}/members/{user_id}", tag = "groups",
    params(("id" = i64, Path, description = "Group id"), ("user_id" = i64, Path, description = "User id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_member(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Group, Action::Update)?;
    let (id, user_id) = path.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let group = visible(&principal, conn, id)?;
                if Group::remove_member(conn, id, user_id)? == 0 {
                    return Err(ApiError::NotFound("member"));
                }
                audit::record(
                    conn,
                    Some(&principal),
                    Change {
                        action: "group.member_remove",
                        entity: ENTITY,
                        entity_id: id.to_string(),
                        call_center_id: Some(group.call_center_id),
                        before: Some(&serde_json::json!({ "user_id": user_id })),
                        after: None,
                    },
                )
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
