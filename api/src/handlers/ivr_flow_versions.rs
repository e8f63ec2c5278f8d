//! `/api/ivr-flows/{id}/publish` and `/api/ivr-flows/{id}/versions`: publishing a flow's draft
//! as its next version, and the versions published so far. A version is written once and never
//! changes; calls walk the flow's newest version, and calls already in progress finish on the
//! version they started with.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::ivr_flows::{audit_flow, checked_definition, stored_json, visible};
use super::{Page, PageParams, utc};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db;
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::models::ivr_flow::{FlowVersion, IvrFlow, IvrFlowChanges, NewFlowVersion};
use crate::state::AppState;

/// A published version with its definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowVersionView {
    /// The flow.
    pub flow_id: i64,
    /// 1 for the first publication, then 2, 3, ...
    pub version: i32,
    /// The definition as published.
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    /// When.
    pub published_at: DateTime<Utc>,
    /// Who published it (`null` once that user is deleted).
    pub published_by: Option<i64>,
}

impl From<FlowVersion> for FlowVersionView {
    fn from(v: FlowVersion) -> Self {
        Self {
            flow_id: v.flow_id,
            version: v.version,
            definition: stored_json(&v.definition),
            published_at: utc(v.published_at),
            published_by: v.published_by,
        }
    }
}

/// A published version in a list (without its definition).
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowVersionSummary {
    /// The flow.
    pub flow_id: i64,
    /// Version number.
    pub version: i32,
    /// When.
    pub published_at: DateTime<Utc>,
    /// Who published it.
    pub published_by: Option<i64>,
}

impl From<FlowVersion> for FlowVersionSummary {
    fn from(v: FlowVersion) -> Self {
        Self {
            flow_id: v.flow_id,
            version: v.version,
            published_at: utc(v.published_at),
            published_by: v.published_by,
        }
    }
}

/// Publishes the flow's draft as its next version, after validating it again against what the
/// call center holds now (a prompt, group or flow it uses may have gone since it was saved).
#[utoipa::path(post, path = "/api/ivr-flows/{id}/publish", tag = "ivr",
    params(("id" = i64, Path, description = "Flow id")),
    responses((status = 201, body = FlowVersionView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::IvrFlow, Action::Update)?;
    let id = id.into_inner();
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let flow = visible(&principal, conn, id)?;
                let draft = stored_json(&flow.definition);
                let definition = checked_definition(conn, flow.call_center_id, Some(id), &draft)?;
                let version = FlowVersion::latest_number(conn, id)?
                    .unwrap_or(0)
                    .checked_add(1)
                    .ok_or_else(|| {
                        ApiError::conflict("too_many_versions", "this flow has no version left")
                    })?;
                let now = db::now();
                let row = FlowVersion::create(
                    conn,
                    &NewFlowVersion {
                        flow_id: id,
                        version,
                        definition: &definition,
                        published_by: Some(principal.id()),
                        published_at: now,
                    },
                )
                .or_conflict(
                    "publish_conflict",
                    "the flow was published at the same time; try again",
                )?;
                IvrFlow::update(
                    conn,
                    id,
                    &IvrFlowChanges {
                        published_version: Some(Some(version)),
                        updated_at: Some(now),
                        ..IvrFlowChanges::default()
                    },
                )?;
                let view = FlowVersionView::from(row);
                audit_flow(
                    conn,
                    &principal,
                    "ivr_flow.publish",
                    (id, flow.call_center_id),
                    None,
                    Some(&view),
                )?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Lists a flow's published versions, newest first (without their definitions).
#[utoipa::path(get, path = "/api/ivr-flows/{id}/versions", tag = "ivr",
    params(("id" = i64, Path, description = "Flow id"), PageParams),
    responses((status = 200, body = Page<FlowVersionSummary>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    paging: web::Query<PageParams>,
) -> Result<web::Json<Page<FlowVersionSummary>>, ApiError> {
    principal.require(Resource::IvrFlow, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let id = id.into_inner();
    let (rows, total) = state
        .db
        .run(move |conn| {
            visible(&principal, conn, id)?;
            Ok(FlowVersion::list(conn, id, request)?)
        })
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one published version with its definition.
#[utoipa::path(get, path = "/api/ivr-flows/{id}/versions/{version}", tag = "ivr",
    params(("id" = i64, Path, description = "Flow id"),
        ("version" = i32, Path, description = "Version number")),
    responses((status = 200, body = FlowVersionView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(i64, i32)>,
) -> Result<web::Json<FlowVersionView>, ApiError> {
    principal.require(Resource::IvrFlow, Action::Read)?;
    let (id, version) = path.into_inner();
    let found = state
        .db
        .run(move |conn| {
            visible(&principal, conn, id)?;
            FlowVersion::find(conn, id, version).or_not_found("ivr_flow_version")
        })
        .await?;
    Ok(web::Json(found.into()))
}
