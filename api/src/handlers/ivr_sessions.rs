//! `/api/ivr/sessions`: the record of inbound calls through the IVR, written by the FastAGI
//! `/ivr` service (see [`crate::ivr::DbSessionSink`]) and read here. Calls to numbers no call
//! center owns have no call center: only super admins see them.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, PageParams, utc};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db::DbConn;
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::models::ivr_session::{IvrSession, IvrSessionFilter};
use crate::state::AppState;

const ENTITY: &str = "ivr_session";

/// How a session ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionOutcome {
    /// The call is still in the IVR.
    InProgress,
    /// The walk reached a terminal exit; the call went back to the dialplan.
    Completed,
    /// An agent answered the caller from a queue.
    Queued,
    /// A transfer was answered.
    Transferred,
    /// The caller reached voicemail.
    Voicemail,
    /// The caller hung up first.
    Abandoned,
    /// The flow hung up.
    Hangup,
    /// The IVR could not run (unknown DID, no published flow, an error).
    Failed,
}

impl SessionOutcome {
    /// Stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Queued => "queued",
            Self::Transferred => "transferred",
            Self::Voicemail => "voicemail",
            Self::Abandoned => "abandoned",
            Self::Hangup => "hangup",
            Self::Failed => "failed",
        }
    }
}

/// A session in a list (without its steps).
#[derive(Debug, Serialize, ToSchema)]
pub struct IvrSessionSummary {
    /// Id.
    pub id: i64,
    /// The DID's call center (`null`: a number no call center owns).
    pub call_center_id: Option<i64>,
    /// The number dialed.
    pub did: String,
    /// Caller number.
    pub caller_id: String,
    /// Caller name.
    pub caller_name: String,
    /// Asterisk Uniqueid of the channel.
    pub uniqueid: String,
    /// Channel name.
    pub channel: String,
    /// The flow walked.
    pub flow_id: Option<i64>,
    /// Its published version.
    pub flow_version: Option<i32>,
    /// When the call reached the IVR.
    pub started_at: DateTime<Utc>,
    /// When it left it.
    pub ended_at: Option<DateTime<Utc>>,
    /// How it ended.
    #[schema(value_type = SessionOutcome)]
    pub outcome: String,
    /// Where the call went (queue, number, mailbox), or why it failed.
    pub outcome_detail: Option<String>,
    /// The node the walk ended in.
    pub last_node: Option<String>,
}

impl From<IvrSession> for IvrSessionSummary {
    fn from(s: IvrSession) -> Self {
        Self {
            id: s.id,
            call_center_id: s.call_center_id,
            did: s.did,
            caller_id: s.caller_id,
            caller_name: s.caller_name,
            uniqueid: s.uniqueid,
            channel: s.channel,
            flow_id: s.flow_id,
            flow_version: s.flow_version,
            started_at: utc(s.started_at),
            ended_at: s.ended_at.map(utc),
            outcome: s.outcome,
            outcome_detail: s.outcome_detail,
            last_node: s.last_node,
        }
    }
}

/// A session with the nodes it walked.
#[derive(Debug, Serialize, ToSchema)]
pub struct IvrSessionView {
    /// The session.
    #[serde(flatten)]
    pub session: IvrSessionSummary,
    /// Every node visit in order: `{flow_id, node, node_type, input?, exit?, detail?,
    /// started_at, ended_at}`.
    pub steps: Vec<serde_json::Value>,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IvrSessionQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only calls to this DID (as stored: digits, optionally after `+`).
    pub did: Option<String>,
    /// Only sessions of this flow.
    pub flow_id: Option<i64>,
    /// Only this outcome.
    pub outcome: Option<SessionOutcome>,
    /// Only calls from this number.
    pub caller_id: Option<String>,
    /// Started at or after this instant (RFC 3339).
    pub started_from: Option<DateTime<Utc>>,
    /// Started before this instant (RFC 3339).
    pub started_to: Option<DateTime<Utc>>,
}

fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<IvrSession, ApiError> {
    let session = IvrSession::find(conn, id).or_not_found(ENTITY)?;
    let seen = match session.call_center_id {
        Some(call_center_id) => principal.sees_tenant(call_center_id),
        None => principal.tenant_scope().is_none(),
    };
    if seen {
        Ok(session)
    } else {
        Err(ApiError::NotFound(ENTITY))
    }
}

/// Lists sessions, newest first.
#[utoipa::path(get, path = "/api/ivr/sessions", tag = "ivr",
    params(PageParams, IvrSessionQuery),
    responses((status = 200, body = Page<IvrSessionSummary>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<IvrSessionQuery>,
) -> Result<web::Json<Page<IvrSessionSummary>>, ApiError> {
    principal.require(Resource::IvrSession, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    let filter = IvrSessionFilter {
        call_center_id: principal.narrow_tenant(query.call_center_id),
        did: query.did,
        flow_id: query.flow_id,
        outcome: query.outcome.map(|o| o.as_str().to_owned()),
        caller_id: query.caller_id,
        started_from: query.started_from.map(|t| t.naive_utc()),
        started_to: query.started_to.map(|t| t.naive_utc()),
    };
    let (rows, total) = state
        .db
        .run(move |conn| Ok(IvrSession::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one session with its steps.
#[utoipa::path(get, path = "/api/ivr/sessions/{id}", tag = "ivr",
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 200, body = IvrSessionView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<IvrSessionView>, ApiError> {
    principal.require(Resource::IvrSession, Action::Read)?;
    let id = id.into_inner();
    let session = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    let steps = serde_json::from_str(&session.steps).unwrap_or_default();
    Ok(web::Json(IvrSessionView {
        session: session.into(),
        steps,
    }))
}
