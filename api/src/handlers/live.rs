//! `/api/live/*`: the live view of calls, agents, queues and trunks, built from AMI events,
//! scoped to the caller's call center.

use actix_web::web;
use callpro_engine::state::{AgentView, CallView, QueueView, TrunkView};

use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Keeps what the caller's tenant may see; objects of no known tenant are the super admin's.
fn scoped<T>(principal: &Principal, items: Vec<T>, tenant: impl Fn(&T) -> Option<i64>) -> Vec<T> {
    match principal.tenant_scope() {
        None => items,
        Some(own) => items
            .into_iter()
            .filter(|i| tenant(i) == Some(own))
            .collect(),
    }
}

/// Live calls (with their legs).
#[utoipa::path(get, path = "/api/live/calls", tag = "live",
    responses((status = 200, description = "Calls in progress and just ended", body = Vec<Object>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn calls(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<web::Json<Vec<CallView>>, ApiError> {
    principal.require(Resource::Live, Action::List)?;
    let calls = state.engine.live.snapshot_calls();
    Ok(web::Json(scoped(&principal, calls, |c| c.call_center_id)))
}

/// Agents: logged in, ready, paused (with reason), in call, wrap-up, since when.
#[utoipa::path(get, path = "/api/live/agents", tag = "live",
    responses((status = 200, description = "Agents and their state", body = Vec<Object>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn agents(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<web::Json<Vec<AgentView>>, ApiError> {
    principal.require(Resource::Live, Action::List)?;
    let agents = state.engine.live.snapshot_agents();
    Ok(web::Json(scoped(&principal, agents, |a| a.call_center_id)))
}

/// Queues: waiting callers, longest wait, members.
#[utoipa::path(get, path = "/api/live/queues", tag = "live",
    responses((status = 200, description = "Queues and waiting callers", body = Vec<Object>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn queues(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<web::Json<Vec<QueueView>>, ApiError> {
    principal.require(Resource::Live, Action::List)?;
    let queues = state.engine.live.snapshot_queues();
    Ok(web::Json(scoped(&principal, queues, |q| q.call_center_id)))
}

/// Trunks: reachability and round trip, from Asterisk's qualify and callpro's own probes.
#[utoipa::path(get, path = "/api/live/trunks", tag = "live",
    responses((status = 200, description = "Trunk reachability", body = Vec<Object>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn trunks(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<web::Json<Vec<TrunkView>>, ApiError> {
    principal.require(Resource::Live, Action::List)?;
    let trunks = state.engine.live.snapshot_trunks();
    Ok(web::Json(scoped(&principal, trunks, |t| t.call_center_id)))
}
