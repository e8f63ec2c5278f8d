//! `/api/ivr-flows`: IVR flows. A flow holds a draft definition (the JSON graph of
//! `callpro_ivr::flow`), validated against the call center's prompts, groups, agents, trunks
//! and published flows whenever it is saved, and stored in canonical form (defaults filled in).
//! Calls walk a published version, never the draft: see [`super::ivr_flow_versions`].

use actix_web::{HttpResponse, web};
use callpro_ivr::Problem;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::sites::target_call_center;
use super::{Page, PageParams, utc};
use crate::audit::{self, Change};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody, FieldError, QueryResultExt as _};
use crate::extract::Json;
use crate::ivr::{catalog, used_by_flows};
use crate::models::did::Did;
use crate::models::ivr_flow::{IvrFlow, IvrFlowChanges, IvrFlowFilter, NewIvrFlow};
use crate::state::AppState;
use crate::validate::{Validator, double_option};

const ENTITY: &str = "ivr_flow";
const NAME_TAKEN: &str = "another IVR flow of this call center has this name";
/// Longest flow name.
const MAX_NAME: usize = 100;
/// Longest description.
const MAX_DESCRIPTION: usize = 1000;

/// A flow as the API shows it, with its draft.
#[derive(Debug, Serialize, ToSchema)]
pub struct IvrFlowView {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// The draft: `{"format": 1, "start": "<node id>", "nodes": [...]}` with every default
    /// filled in.
    #[schema(value_type = Object)]
    pub definition: Value,
    /// The version calls walk now; `null` until the flow is first published.
    pub published_version: Option<i32>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<IvrFlow> for IvrFlowView {
    fn from(f: IvrFlow) -> Self {
        Self {
            id: f.id,
            call_center_id: f.call_center_id,
            name: f.name,
            description: f.description,
            definition: stored_json(&f.definition),
            published_version: f.published_version,
            created_at: utc(f.created_at),
            updated_at: utc(f.updated_at),
        }
    }
}

/// A flow in a list (without its definition).
#[derive(Debug, Serialize, ToSchema)]
pub struct IvrFlowSummary {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// The version calls walk now.
    pub published_version: Option<i32>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<IvrFlow> for IvrFlowSummary {
    fn from(f: IvrFlow) -> Self {
        Self {
            id: f.id,
            call_center_id: f.call_center_id,
            name: f.name,
            description: f.description,
            published_version: f.published_version,
            created_at: utc(f.created_at),
            updated_at: utc(f.updated_at),
        }
    }
}

/// Body of `POST /api/ivr-flows`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIvrFlow {
    /// Call center; defaults to the caller's own.
    pub call_center_id: Option<i64>,
    /// 1 to 100 characters, unique in the call center.
    #[schema(example = "Main line")]
    pub name: String,
    /// Free text (up to 1000 characters).
    pub description: Option<String>,
    /// The flow: `{"format": 1, "start": "<node id>", "nodes": [{"id", "type", "exits", ...}]}`
    /// with node types answer, playback, menu, collect, calendar, set_variable, condition,
    /// http_lookup, queue, transfer, voicemail, hangup and goto_flow.
    #[schema(value_type = Object)]
    pub definition: Value,
}

/// Body of `PATCH /api/ivr-flows/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIvrFlow {
    /// New name.
    pub name: Option<String>,
    /// New description; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub description: Option<Option<String>>,
    /// New draft (replaces it whole); the published version does not change until the flow
    /// is published again.
    #[schema(value_type = Option<Object>)]
    pub definition: Option<Value>,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IvrFlowQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Name contains.
    pub q: Option<String>,
    /// Only flows with (`true`) or without (`false`) a published version.
    pub published: Option<bool>,
}

/// Stored JSON text as a value (it was written by this code, so it parses).
pub fn stored_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The 422 for a flow's problems: one field error per problem, under `definition`.
pub fn definition_problems(problems: Vec<Problem>) -> ApiError {
    ApiError::Validation(
        problems
            .into_iter()
            .map(|p| {
                let field = if p.field.is_empty() {
                    "definition".to_owned()
                } else {
                    format!("definition.{}", p.field)
                };
                FieldError::new(field, p.code, p.message)
            })
            .collect(),
    )
}

/// Validates `definition` for a flow of `call_center_id` against what the center holds now;
/// returns the canonical JSON text to store.
pub fn checked_definition(
    conn: &mut DbConn,
    call_center_id: i64,
    this_flow: Option<i64>,
    definition: &Value,
) -> Result<String, ApiError> {
    let catalog = catalog(conn, call_center_id, this_flow)?;
    let flow = callpro_ivr::check(definition, &catalog).map_err(definition_problems)?;
    serde_json::to_string(&flow.to_json()).map_err(|e| ApiError::internal(e.to_string()))
}

fn validate_common(v: &mut Validator, name: Option<&str>, description: Option<&str>) {
    if let Some(name) = name {
        v.length("name", name, 1, MAX_NAME);
        v.free_text("name", name, MAX_NAME);
    }
    if let Some(description) = description {
        v.free_text("description", description, MAX_DESCRIPTION);
    }
}

/// 404 unless the flow is in the caller's tenant.
pub fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<IvrFlow, ApiError> {
    let flow = IvrFlow::find(conn, id).or_not_found(ENTITY)?;
    principal.check_tenant(flow.call_center_id, ENTITY)?;
    Ok(flow)
}

/// Why the flow cannot be deleted: a DID routes to it, or another flow continues in it.
fn uses_of(conn: &mut DbConn, flow: &IvrFlow) -> Result<Option<String>, ApiError> {
    let numbers = Did::numbers_routed_to(conn, flow.id)?;
    if !numbers.is_empty() {
        return Ok(Some(format!(
            "DIDs route to this flow ({}); route them elsewhere first",
            numbers.join(", ")
        )));
    }
    let used = used_by_flows(conn, flow.call_center_id, Some(flow.id), |refs| {
        refs.flows.contains(&flow.id)
    })?;
    if let Some(reason) = used {
        return Ok(Some(format!("{reason} (goto_flow)")));
    }
    Ok(None)
}

/// Writes an audit entry about a flow.
pub fn audit_flow<T: Serialize>(
    conn: &mut DbConn,
    principal: &Principal,
    action: &str,
    flow: (i64, i64),
    before: Option<&T>,
    after: Option<&T>,
) -> Result<(), ApiError> {
    let (id, call_center_id) = flow;
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

/// Lists flows (without their definitions).
#[utoipa::path(get, path = "/api/ivr-flows", tag = "ivr",
    params(PageParams, IvrFlowQuery),
    responses((status = 200, body = Page<IvrFlowSummary>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<IvrFlowQuery>,
) -> Result<web::Json<Page<IvrFlowSummary>>, ApiError> {
    principal.require(Resource::IvrFlow, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    let filter = IvrFlowFilter {
        call_center_id: principal.narrow_tenant(query.call_center_id),
        q: query.q,
        published: query.published,
    };
    let (rows, total) = state
        .db
        .run(move |conn| Ok(IvrFlow::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one flow with its draft.
#[utoipa::path(get, path = "/api/ivr-flows/{id}", tag = "ivr",
    params(("id" = i64, Path, description = "Flow id")),
    responses((status = 200, body = IvrFlowView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<IvrFlowView>, ApiError> {
    principal.require(Resource::IvrFlow, Action::Read)?;
    let id = id.into_inner();
    let flow = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(web::Json(flow.into()))
}

/// Creates a flow from a valid definition (unpublished).
#[utoipa::path(post, path = "/api/ivr-flows", tag = "ivr",
    request_body = CreateIvrFlow,
    responses((status = 201, body = IvrFlowView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateIvrFlow>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::IvrFlow, Action::Create)?;
    let body = body.0;
    let mut v = Validator::new();
    validate_common(&mut v, Some(&body.name), body.description.as_deref());
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let call_center_id = target_call_center(&principal, body.call_center_id, conn)?;
                let definition = checked_definition(conn, call_center_id, None, &body.definition)?;
                let now = db::now();
                let row = IvrFlow::create(
                    conn,
                    &NewIvrFlow {
                        call_center_id,
                        name: body.name.trim(),
                        description: body.description.as_deref(),
                        definition: &definition,
                        published_version: None,
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("name_taken", NAME_TAKEN)?;
                let view = IvrFlowView::from(row);
                audit_flow(
                    conn,
                    &principal,
                    "ivr_flow.create",
                    (view.id, call_center_id),
                    None,
                    Some(&view),
                )?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Changes a flow's name, description or draft. Calls keep walking the published version.
#[utoipa::path(patch, path = "/api/ivr-flows/{id}", tag = "ivr",
    params(("id" = i64, Path, description = "Flow id")),
    request_body = UpdateIvrFlow,
    responses((status = 200, body = IvrFlowView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdateIvrFlow>,
) -> Result<web::Json<IvrFlowView>, ApiError> {
    principal.require(Resource::IvrFlow, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    validate_common(
        &mut v,
        body.name.as_deref(),
        body.description.as_ref().and_then(Option::as_deref),
    );
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let current = visible(&principal, conn, id)?;
                let definition = match &body.definition {
                    Some(d) => Some(checked_definition(
                        conn,
                        current.call_center_id,
                        Some(id),
                        d,
                    )?),
                    None => None,
                };
                let before = IvrFlowView::from(current);
                let changes = IvrFlowChanges {
                    name: body.name.map(|n| n.trim().to_owned()),
                    description: body.description,
                    definition,
                    published_version: None,
                    updated_at: Some(db::now()),
                };
                let after = IvrFlowView::from(
                    IvrFlow::update(conn, id, &changes).or_conflict("name_taken", NAME_TAKEN)?,
                );
                audit_flow(
                    conn,
                    &principal,
                    "ivr_flow.update",
                    (id, after.call_center_id),
                    Some(&before),
                    Some(&after),
                )?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// Deletes a flow and its versions; 409 `flow_in_use` while a DID routes to it or another
/// flow (draft or published version) continues in it.
#[utoipa::path(delete, path = "/api/ivr-flows/{id}", tag = "ivr",
    params(("id" = i64, Path, description = "Flow id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::IvrFlow, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let flow = visible(&principal, conn, id)?;
                if let Some(reason) = uses_of(conn, &flow)? {
                    return Err(ApiError::conflict("flow_in_use", reason));
                }
                let before = IvrFlowView::from(flow);
                IvrFlow::delete(conn, id)
                    .or_conflict("flow_in_use", "the flow is still referenced")?;
                audit_flow(
                    conn,
                    &principal,
                    "ivr_flow.delete",
                    (id, before.call_center_id),
                    Some(&before),
                    None,
                )
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
