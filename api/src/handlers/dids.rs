//! `/api/dids`: the numbers callers dial, each routed to an IVR flow of its call center.
//! Numbers are stored as the gateway sends them (digits, optionally after `+`), written with
//! or without spaces, dashes, dots and parentheses; they are unique across call centers because
//! the gateway routes on the number alone.

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
use crate::models::did::{Did, DidChanges, DidFilter, NewDid};
use crate::models::ivr_flow::IvrFlow;
use crate::state::AppState;
use crate::validate::{Validator, double_option};

const ENTITY: &str = "did";
const DID_TAKEN: &str = "this number is a DID already (of this or another call center)";
/// Longest description.
const MAX_DESCRIPTION: usize = 500;

/// A DID as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DidView {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// The number as the gateway sends it.
    #[schema(example = "+33142000000")]
    pub number: String,
    /// The flow calls walk (its published version); `null`: calls hear the fallback prompt.
    pub flow_id: Option<i64>,
    /// Free text.
    pub description: Option<String>,
    /// Inactive DIDs are neither routed nor rendered into the dialplan.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Did> for DidView {
    fn from(d: Did) -> Self {
        Self {
            id: d.id,
            call_center_id: d.call_center_id,
            number: d.number,
            flow_id: d.flow_id,
            description: d.description,
            active: d.active,
            created_at: utc(d.created_at),
            updated_at: utc(d.updated_at),
        }
    }
}

/// Body of `POST /api/dids`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDid {
    /// Call center; defaults to the caller's own.
    pub call_center_id: Option<i64>,
    /// 3 to 20 digits, optionally after `+`; spaces, dashes, dots and parentheses are dropped.
    #[schema(example = "+33 1 42 00 00 00", pattern = "^\\+?[0-9 ().-]{3,60}$")]
    pub number: String,
    /// A flow of the same call center.
    pub flow_id: Option<i64>,
    /// Free text (up to 500 characters).
    pub description: Option<String>,
    /// Default true.
    pub active: Option<bool>,
}

/// Body of `PATCH /api/dids/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDid {
    /// New number.
    #[schema(pattern = "^\\+?[0-9 ().-]{3,60}$")]
    pub number: Option<String>,
    /// New flow; `null` unroutes the DID.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, nullable)]
    pub flow_id: Option<Option<i64>>,
    /// New description; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub description: Option<Option<String>>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DidQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only DIDs routed to this flow.
    pub flow_id: Option<i64>,
    /// Only active or inactive DIDs.
    pub active: Option<bool>,
    /// Number contains these digits.
    pub q: Option<String>,
}

/// The number as stored: separators dropped, then `+?[0-9]{3,20}`, or `None`.
pub fn normalize_number(raw: &str) -> Option<String> {
    let number: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = number.strip_prefix('+').unwrap_or(&number);
    let ok = (3..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(number)
}

fn checked_number(v: &mut Validator, raw: &str) -> String {
    match normalize_number(raw) {
        Some(number) => number,
        None => {
            v.add(
                "number",
                "invalid_number",
                "3 to 20 digits, optionally after '+' (spaces, dashes, dots and parentheses \
                 are allowed)",
            );
            String::new()
        }
    }
}

fn check_flow(conn: &mut DbConn, flow_id: i64, call_center_id: i64) -> Result<(), ApiError> {
    match IvrFlow::find(conn, flow_id) {
        Ok(flow) if flow.call_center_id == call_center_id => Ok(()),
        Ok(_) | Err(diesel::result::Error::NotFound) => Err(ApiError::field(
            "flow_id",
            "not_found",
            "no such IVR flow in the DID's call center",
        )),
        Err(e) => Err(e.into()),
    }
}

fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<Did, ApiError> {
    let did = Did::find(conn, id).or_not_found(ENTITY)?;
    principal.check_tenant(did.call_center_id, ENTITY)?;
    Ok(did)
}

fn audit_did(
    conn: &mut DbConn,
    principal: &Principal,
    action: &str,
    before: Option<&DidView>,
    after: Option<&DidView>,
) -> Result<(), ApiError> {
    let Some(any) = after.or(before) else {
        return Ok(());
    };
    audit::record(
        conn,
        Some(principal),
        Change {
            action,
            entity: ENTITY,
            entity_id: any.id.to_string(),
            call_center_id: Some(any.call_center_id),
            before,
            after,
        },
    )
}

/// Lists DIDs.
#[utoipa::path(get, path = "/api/dids", tag = "ivr",
    params(PageParams, DidQuery),
    responses((status = 200, body = Page<DidView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<DidQuery>,
) -> Result<web::Json<Page<DidView>>, ApiError> {
    principal.require(Resource::Did, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    let filter = DidFilter {
        call_center_id: principal.narrow_tenant(query.call_center_id),
        flow_id: query.flow_id,
        active: query.active,
        q: query.q,
    };
    let (rows, total) = state
        .db
        .run(move |conn| Ok(Did::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one DID.
#[utoipa::path(get, path = "/api/dids/{id}", tag = "ivr",
    params(("id" = i64, Path, description = "DID id")),
    responses((status = 200, body = DidView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<DidView>, ApiError> {
    principal.require(Resource::Did, Action::Read)?;
    let id = id.into_inner();
    let did = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(web::Json(did.into()))
}

/// Creates a DID.
#[utoipa::path(post, path = "/api/dids", tag = "ivr",
    request_body = CreateDid,
    responses((status = 201, body = DidView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateDid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Did, Action::Create)?;
    let body = body.0;
    let mut v = Validator::new();
    let number = checked_number(&mut v, &body.number);
    if let Some(description) = &body.description {
        v.free_text("description", description, MAX_DESCRIPTION);
    }
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let call_center_id = target_call_center(&principal, body.call_center_id, conn)?;
                if let Some(flow_id) = body.flow_id {
                    check_flow(conn, flow_id, call_center_id)?;
                }
                let now = db::now();
                let row = Did::create(
                    conn,
                    &NewDid {
                        call_center_id,
                        number: &number,
                        flow_id: body.flow_id,
                        description: body.description.as_deref(),
                        active: body.active.unwrap_or(true),
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("did_taken", DID_TAKEN)?;
                let view = DidView::from(row);
                audit_did(conn, &principal, "did.create", None, Some(&view))?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Changes a DID.
#[utoipa::path(patch, path = "/api/dids/{id}", tag = "ivr",
    params(("id" = i64, Path, description = "DID id")),
    request_body = UpdateDid,
    responses((status = 200, body = DidView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdateDid>,
) -> Result<web::Json<DidView>, ApiError> {
    principal.require(Resource::Did, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    let number = body.number.as_deref().map(|n| checked_number(&mut v, n));
    if let Some(Some(description)) = &body.description {
        v.free_text("description", description, MAX_DESCRIPTION);
    }
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let current = visible(&principal, conn, id)?;
                if let Some(Some(flow_id)) = body.flow_id {
                    check_flow(conn, flow_id, current.call_center_id)?;
                }
                let before = DidView::from(current);
                let changes = DidChanges {
                    number,
                    flow_id: body.flow_id,
                    description: body.description,
                    active: body.active,
                    updated_at: Some(db::now()),
                };
                let after = DidView::from(
                    Did::update(conn, id, &changes).or_conflict("did_taken", DID_TAKEN)?,
                );
                audit_did(conn, &principal, "did.update", Some(&before), Some(&after))?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// Deletes a DID (its recorded sessions stay).
#[utoipa::path(delete, path = "/api/dids/{id}", tag = "ivr",
    params(("id" = i64, Path, description = "DID id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Did, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = DidView::from(visible(&principal, conn, id)?);
                Did::delete(conn, id)?;
                audit_did(conn, &principal, "did.delete", Some(&before), None)
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::normalize_number;

    #[test]
    fn numbers_lose_their_separators() {
        assert_eq!(
            normalize_number("01 42 00 00 00").as_deref(),
            Some("0142000000")
        );
        assert_eq!(
            normalize_number("+33 (1) 42-00.00.00").as_deref(),
            Some("+33142000000")
        );
        assert_eq!(normalize_number("112").as_deref(), Some("112"));
        for bad in [
            "",
            "+",
            "12",
            "+1",
            "01 42 ab",
            "++3312",
            "1".repeat(21).as_str(),
            "３３３",
        ] {
            assert_eq!(normalize_number(bad), None, "{bad}");
        }
    }
}
