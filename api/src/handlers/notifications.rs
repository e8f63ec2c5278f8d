//! `/api/notifications`: the caller's own in-app notifications (a lead of theirs went stale, a
//! lead of their center was escalated). Every role has them; nobody sees anyone else's: another
//! user's notification is a 404.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, PageParams, utc};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db;
use crate::error::{ApiError, ErrorBody};
use crate::models::notification::Notification;
use crate::state::AppState;

const ENTITY: &str = "notification";

/// A notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    /// Id (newest is highest).
    pub id: i64,
    /// Call center it is about.
    pub call_center_id: i64,
    /// What it is about: `lead_stale` (a lead assigned to you has had no activity) or
    /// `lead_escalated` (a lead of your center has had none for longer).
    pub kind: String,
    /// The lead it is about.
    pub lead_id: Option<i64>,
    /// The message.
    pub message: String,
    /// When you read it (absent: unread).
    pub read_at: Option<DateTime<Utc>>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl From<Notification> for NotificationView {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            call_center_id: n.call_center_id,
            kind: n.kind,
            lead_id: n.lead_id,
            message: n.message,
            read_at: n.read_at.map(utc),
            created_at: utc(n.created_at),
        }
    }
}

/// Filters of `GET /api/notifications`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Only the unread ones.
    pub unread: Option<bool>,
}

/// Lists the caller's notifications, newest first.
#[utoipa::path(get, path = "/api/notifications", tag = "leads",
    params(PageParams, NotificationQuery),
    responses((status = 200, body = Page<NotificationView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<NotificationQuery>,
) -> Result<web::Json<Page<NotificationView>>, ApiError> {
    principal.require(Resource::Notification, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let unread = query.into_inner().unread.unwrap_or(false);
    let user = principal.id();
    let (rows, total) = state
        .db
        .run(move |conn| Ok(Notification::list(conn, user, unread, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Marks one of the caller's notifications read (reading it again changes nothing).
#[utoipa::path(post, path = "/api/notifications/{id}/read", tag = "leads",
    params(("id" = i64, Path, description = "Notification id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn read(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Notification, Action::Update)?;
    let (user, id) = (principal.id(), id.into_inner());
    let theirs = state
        .db
        .run(move |conn| Ok(Notification::mark_read(conn, user, id, db::now())?))
        .await?;
    if theirs {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(ENTITY))
    }
}

/// Marks every notification of the caller read.
#[utoipa::path(post, path = "/api/notifications/read-all", tag = "leads",
    responses((status = 204), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn read_all(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Notification, Action::Update)?;
    let user = principal.id();
    state
        .db
        .run(move |conn| Ok(Notification::mark_all_read(conn, user, db::now())?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
