//! Agent sessions: `POST /api/agent/session` calls the agent's phone once into their personal
//! bridge for the whole shift; ready/pause/logout change their state; supervisors can force a
//! pause or a logout.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use callpro_engine::state::{AgentLogin, AgentView, StateError};
use callpro_engine::telephony::{
    AGENT_SESSION_CONTEXT, Originate, OriginateOutcome, OriginateTarget, QueueMember,
    TelephonyError,
};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::audit::{self, Change};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db;
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::extract::Json;
use crate::models::user::User;
use crate::state::AppState;
use crate::validate::Validator;

/// Body of `POST /api/agent/session`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionLogin {
    /// Phone to call into the session; defaults to the user's own SIP extension.
    #[schema(pattern = "^[0-9]{2,20}$")]
    pub extension: Option<String>,
}

/// Body of the pause endpoints.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pause {
    /// Why (lunch, training, ...).
    #[schema(max_length = 100)]
    pub reason: Option<String>,
}

/// Maps a telephony failure to the API's errors.
pub fn telephony_error(e: TelephonyError) -> ApiError {
    match e {
        TelephonyError::NotConnected | TelephonyError::ConnectionLost | TelephonyError::Timeout => {
            ApiError::Unavailable(e.to_string())
        }
        TelephonyError::Rejected(message) => ApiError::conflict("asterisk_rejected", message),
        TelephonyError::Invalid(message) => ApiError::field("body", "invalid", message),
    }
}

fn state_error(e: StateError) -> ApiError {
    match e {
        StateError::AgentNotLoggedIn(_) => {
            ApiError::conflict("not_logged_in", "the agent has no session; log in first")
        }
        StateError::ExtensionInUse { .. } => ApiError::conflict(
            "extension_in_use",
            "another agent's session holds this extension",
        ),
    }
}

fn validate_reason(reason: Option<&str>) -> Result<(), ApiError> {
    let mut v = Validator::new();
    if let Some(reason) = reason {
        v.length("reason", reason, 1, 100);
    }
    v.finish()
}

fn agent_view(state: &AppState, agent_id: i64) -> Result<AgentView, ApiError> {
    state
        .engine
        .live
        .agent(agent_id)
        .ok_or(ApiError::NotFound("agent_session"))
}

/// Logs the caller in: their phone rings once and stays in their session bridge all shift.
#[utoipa::path(post, path = "/api/agent/session", tag = "agents",
    request_body = SessionLogin,
    responses((status = 201, description = "Session started; the phone is being called", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn login(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<SessionLogin>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::AgentSession, Action::Create)?;
    let Some(call_center_id) = principal.call_center_id() else {
        return Err(ApiError::conflict(
            "no_call_center",
            "only call-center users have sessions",
        ));
    };
    let extension = body
        .0
        .extension
        .or_else(|| principal.user.sip_extension.clone())
        .ok_or_else(|| {
            ApiError::field(
                "extension",
                "required",
                "the user has no SIP extension; give one",
            )
        })?;
    let mut v = Validator::new();
    v.extension("extension", &extension);
    v.finish()?;
    let telephony = state.engine.telephony()?.clone();
    let agent_id = principal.id();
    let live = state.engine.live.clone();
    live.agent_login(&AgentLogin {
        agent_id,
        extension: extension.clone(),
        site_id: principal.user.site_id,
        call_center_id: Some(call_center_id),
    })
    .map_err(state_error)?;
    let request = Originate {
        channel: format!("PJSIP/{extension}"),
        target: OriginateTarget::Extension {
            context: AGENT_SESSION_CONTEXT.into(),
            exten: agent_id.to_string(),
            priority: 1,
        },
        caller_id: Some(format!("\"callpro session\" <{agent_id}>")),
        timeout: Duration::from_secs(30),
        variables: vec![
            ("CALLPRO_CALL_CENTER".into(), call_center_id.to_string()),
            ("CALLPRO_AGENT".into(), agent_id.to_string()),
        ],
        channel_id: format!(
            "callpro-session-{agent_id}-{}",
            uuid::Uuid::new_v4().simple()
        ),
        other_channel_id: None,
        account: None,
    };
    let pending = match telephony.originate(request).await {
        Ok(pending) => pending,
        Err(e) => {
            let _ = live.agent_logout(agent_id);
            return Err(telephony_error(e));
        }
    };
    // The session exists only if the agent picks up; otherwise it ends by itself.
    tokio::spawn(async move {
        match pending.outcome.await {
            Ok(OriginateOutcome::Answered) => {}
            outcome => {
                tracing::info!(
                    agent.id = agent_id,
                    ?outcome,
                    "agent session phone not answered"
                );
                let _ = live.agent_logout(agent_id);
            }
        }
    });
    Ok(HttpResponse::Created().json(agent_view(&state, agent_id)?))
}

/// Unpauses queue membership in the background; an agent in no queue is not an error.
fn queue_pause(state: &AppState, interface: Option<String>, paused: bool, reason: Option<String>) {
    let (Some(telephony), Some(interface)) = (state.engine.telephony.clone(), interface) else {
        return;
    };
    tokio::spawn(async move {
        let member = QueueMember {
            queue: None,
            interface,
            penalty: None,
            member_name: None,
        };
        if let Err(e) = telephony.queue_pause(member, paused, reason).await {
            tracing::debug!(error = %e, "queue pause not applied");
        }
    });
}

/// Marks the caller ready for calls.
#[utoipa::path(post, path = "/api/agent/session/ready", tag = "agents",
    responses((status = 200, body = Object), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn ready(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<web::Json<AgentView>, ApiError> {
    principal.require(Resource::AgentSession, Action::Update)?;
    state
        .engine
        .live
        .agent_ready(principal.id())
        .map_err(state_error)?;
    let view = agent_view(&state, principal.id())?;
    queue_pause(&state, Some(view.interface.clone()), false, None);
    Ok(web::Json(view))
}

/// Pauses the caller (no calls until ready again).
#[utoipa::path(post, path = "/api/agent/session/pause", tag = "agents",
    request_body = Pause,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn pause(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<Pause>,
) -> Result<web::Json<AgentView>, ApiError> {
    principal.require(Resource::AgentSession, Action::Update)?;
    let reason = body.0.reason;
    validate_reason(reason.as_deref())?;
    state
        .engine
        .live
        .agent_pause(principal.id(), reason.clone())
        .map_err(state_error)?;
    let view = agent_view(&state, principal.id())?;
    queue_pause(&state, Some(view.interface.clone()), true, reason);
    Ok(web::Json(view))
}

/// Ends a session: state first, then the phone's leg in the bridge.
async fn end_session(state: &AppState, agent_id: i64) -> Result<(), ApiError> {
    let view = agent_view(state, agent_id)?;
    state
        .engine
        .live
        .agent_logout(agent_id)
        .map_err(state_error)?;
    if let (Some(channel), Some(telephony)) = (view.session_channel, state.engine.telephony.clone())
        && let Err(e) = telephony.hangup(channel, Some(16)).await
    {
        tracing::debug!(error = %e, agent.id = agent_id, "session channel already gone");
    }
    Ok(())
}

/// Logs the caller out and hangs up their session phone.
#[utoipa::path(delete, path = "/api/agent/session", tag = "agents",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn logout(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::AgentSession, Action::Delete)?;
    end_session(&state, principal.id()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The agent a supervisor acts on, if visible (404 otherwise).
async fn supervised_agent(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> Result<User, ApiError> {
    principal.require(Resource::Supervision, Action::Update)?;
    let p = principal.clone();
    state
        .db
        .run(move |conn| {
            let user = User::find(conn, id).or_not_found("agent")?;
            if p.sees_user(&user) && user.call_center_id.is_some() {
                Ok(user)
            } else {
                Err(ApiError::NotFound("agent"))
            }
        })
        .await
}

fn audit_supervision(
    state: &AppState,
    principal: Principal,
    action: &'static str,
    agent: &User,
    detail: serde_json::Value,
) -> impl std::future::Future<Output = Result<(), ApiError>> + use<> {
    let (db, agent_id, cc) = (state.db.clone(), agent.id, agent.call_center_id);
    async move {
        db.run(move |conn| {
            db::write_transaction(conn, |conn| {
                audit::record(
                    conn,
                    Some(&principal),
                    Change {
                        action,
                        entity: "agent_session",
                        entity_id: agent_id.to_string(),
                        call_center_id: cc,
                        before: None,
                        after: Some(&detail),
                    },
                )
            })
        })
        .await
    }
}

/// Pauses an agent (supervisor and up).
#[utoipa::path(post, path = "/api/agents/{id}/force-pause", tag = "agents",
    params(("id" = i64, Path, description = "Agent (user) id")),
    request_body = Pause,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn force_pause(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<Pause>,
) -> Result<web::Json<AgentView>, ApiError> {
    let agent = supervised_agent(&state, &principal, id.into_inner()).await?;
    let reason = body.0.reason;
    validate_reason(reason.as_deref())?;
    state
        .engine
        .live
        .agent_pause(agent.id, reason.clone())
        .map_err(state_error)?;
    audit_supervision(
        &state,
        principal,
        "agent.force_pause",
        &agent,
        serde_json::json!({"reason": reason}),
    )
    .await?;
    let view = agent_view(&state, agent.id)?;
    queue_pause(&state, Some(view.interface.clone()), true, reason);
    Ok(web::Json(view))
}

/// Logs an agent out (supervisor and up).
#[utoipa::path(post, path = "/api/agents/{id}/force-logout", tag = "agents",
    params(("id" = i64, Path, description = "Agent (user) id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn force_logout(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let agent = supervised_agent(&state, &principal, id.into_inner()).await?;
    end_session(&state, agent.id).await?;
    audit_supervision(
        &state,
        principal,
        "agent.force_logout",
        &agent,
        serde_json::json!({}),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
