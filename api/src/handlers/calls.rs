//! `/api/calls`: click-to-call, hang-up, transfer and supervision (ChanSpy) of live calls.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use callpro_engine::state::CallView;
use callpro_engine::telephony::{
    DIALER_CONTEXT, Originate, OriginateTarget, Redirect, Spy, SpyMode,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::agent_session::telephony_error;
use crate::audit::{self, Change};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Json;
use crate::models::trunk::Trunk;
use crate::models::user::Role;
use crate::state::AppState;
use crate::validate::Validator;

/// Context transfers land in: the dialplan resolves extensions, queues and numbers.
const TRANSFER_CONTEXT: &str = "from-agents";

/// Body of `POST /api/calls`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClickToCall {
    /// Number to call (digits, optional leading `+`).
    #[schema(pattern = r"^\+?[0-9]{3,20}$", example = "0600000001")]
    pub number: String,
    /// Phone that rings first; defaults to the caller's own extension.
    #[schema(pattern = "^[0-9]{2,20}$")]
    pub extension: Option<String>,
}

/// A call callpro started.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallStarted {
    /// Our id of the call's first leg; the call is found under it in `/api/live/calls`.
    pub call_id: String,
}

/// Body of `POST /api/calls/{id}/transfer`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// Extension, queue number or external number to send the call to.
    #[schema(pattern = r"^\+?[0-9*#]{2,20}$")]
    pub to: String,
    /// Which leg to move (channel name); defaults to the customer's leg.
    pub channel: Option<String>,
}

/// Supervision modes.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpyModeBody {
    /// Listen silently.
    Listen,
    /// Talk to the agent only.
    Whisper,
    /// Join the conversation.
    Barge,
}

/// Body of `POST /api/calls/{id}/spy`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpyRequest {
    /// How the supervisor joins.
    pub mode: SpyModeBody,
}

fn valid_number(v: &mut Validator, field: &str, value: &str, min_len: usize, allow_keys: bool) {
    let digits = value.strip_prefix('+').unwrap_or(value);
    let ok = (min_len..=20).contains(&digits.len())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || (allow_keys && (b == b'*' || b == b'#')));
    if !ok {
        v.add(
            field,
            "invalid_number",
            "digits only, with an optional leading +",
        );
    }
}

/// A live call the caller may act on: their tenant's; for agents, only their own calls.
fn visible_call(state: &AppState, principal: &Principal, id: &str) -> Result<CallView, ApiError> {
    let live = &state.engine.live;
    let call = live
        .call(id)
        .or_else(|| live.call_of_leg(id))
        .ok_or(ApiError::NotFound("call"))?;
    let tenant_ok = principal
        .tenant_scope()
        .is_none_or(|own| call.call_center_id == Some(own));
    let own_phone = principal
        .user
        .sip_extension
        .as_ref()
        .map(|ext| format!("PJSIP/{ext}-"));
    let agent_ok = principal.role() != Role::Agent
        || call.agent_id == Some(principal.id())
        || own_phone.is_some_and(|p| call.legs.iter().any(|l| l.channel.starts_with(&p)));
    if tenant_ok && agent_ok {
        Ok(call)
    } else {
        Err(ApiError::NotFound("call"))
    }
}

/// The customer's leg: the first leg that is neither a Local half nor an agent's session.
fn customer_leg(call: &CallView) -> Option<String> {
    call.legs
        .iter()
        .filter(|l| l.ended_ms.is_none())
        .find(|l| {
            !l.channel.starts_with("Local/")
                && l.bridge_name
                    .as_deref()
                    .is_none_or(|b| !b.starts_with("agent-"))
        })
        .or_else(|| call.legs.iter().find(|l| l.ended_ms.is_none()))
        .map(|l| l.channel.clone())
}

/// Calls the caller's phone, then the number, through their site's trunk.
#[utoipa::path(post, path = "/api/calls", tag = "calls",
    request_body = ClickToCall,
    responses((status = 202, body = CallStarted), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<ClickToCall>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Call, Action::Create)?;
    let body = body.0;
    let call_id = click_to_call(&state, &principal, body.number, body.extension).await?;
    Ok(HttpResponse::Accepted().json(CallStarted { call_id }))
}

/// Rings `principal`'s phone (or `extension`), then `number`, through their site's trunk;
/// our id of the call.
pub(crate) async fn click_to_call(
    state: &AppState,
    principal: &Principal,
    number: String,
    extension: Option<String>,
) -> Result<String, ApiError> {
    let Some(call_center_id) = principal.call_center_id() else {
        return Err(ApiError::conflict(
            "no_call_center",
            "only call-center users place calls",
        ));
    };
    let extension = extension.or_else(|| principal.user.sip_extension.clone());
    let mut v = Validator::new();
    valid_number(&mut v, "number", &number, 3, false);
    match &extension {
        Some(ext) => v.extension("extension", ext),
        None => v.add(
            "extension",
            "required",
            "the user has no SIP extension; give one",
        ),
    }
    v.finish()?;
    let telephony = state.engine.telephony()?.clone();
    let site_id = principal.user.site_id;
    let trunk = state
        .db
        .run(move |conn| Ok(Trunk::for_site(conn, call_center_id, site_id)?.map(|t| t.name)))
        .await?
        .ok_or_else(|| ApiError::conflict("no_trunk", "the call center has no active trunk"))?;
    let call_id = format!("callpro-c2c-{}", uuid::Uuid::new_v4().simple());
    let request = Originate {
        channel: format!("PJSIP/{}", extension.unwrap_or_default()),
        target: OriginateTarget::Extension {
            context: DIALER_CONTEXT.into(),
            exten: number,
            priority: 1,
        },
        caller_id: None,
        timeout: Duration::from_secs(30),
        variables: vec![
            ("CALLPRO_TRUNK".into(), trunk),
            ("CALLPRO_RING_TIMEOUT".into(), "30".into()),
            ("CALLPRO_CALL_CENTER".into(), call_center_id.to_string()),
            ("CALLPRO_CALL_ID".into(), call_id.clone()),
        ],
        channel_id: call_id.clone(),
        other_channel_id: None,
        account: None,
    };
    telephony
        .originate(request)
        .await
        .map_err(telephony_error)?;
    Ok(call_id)
}

/// Hangs a call up (every leg still up).
#[utoipa::path(delete, path = "/api/calls/{id}", tag = "calls",
    params(("id" = String, Path, description = "Linkedid of the call, or our call id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn hangup(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Call, Action::Delete)?;
    let call = visible_call(&state, &principal, &id)?;
    let telephony = state.engine.telephony()?.clone();
    for leg in call.legs.iter().filter(|l| l.ended_ms.is_none()) {
        // A leg may end on its own meanwhile; that is the wanted outcome too.
        if let Err(e) = telephony.hangup(leg.channel.clone(), Some(16)).await {
            tracing::debug!(error = %e, channel = %leg.channel, "hang-up of a leg failed");
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Moves a call to an extension, a queue or a number.
#[utoipa::path(post, path = "/api/calls/{id}/transfer", tag = "calls",
    params(("id" = String, Path, description = "Linkedid of the call, or our call id")),
    request_body = Transfer,
    responses((status = 202), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn transfer(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: Json<Transfer>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Call, Action::Update)?;
    let body = body.0;
    let mut v = Validator::new();
    valid_number(&mut v, "to", &body.to, 2, true);
    v.finish()?;
    let call = visible_call(&state, &principal, &id)?;
    let channel = match body.channel {
        Some(channel) if call.legs.iter().any(|l| l.channel == channel) => channel,
        Some(_) => {
            return Err(ApiError::field(
                "channel",
                "not_found",
                "not a leg of this call",
            ));
        }
        None => customer_leg(&call).ok_or(ApiError::NotFound("call"))?,
    };
    let telephony = state.engine.telephony()?.clone();
    telephony
        .redirect(Redirect {
            channel,
            extra_channel: None,
            context: TRANSFER_CONTEXT.into(),
            exten: body.to,
            priority: 1,
        })
        .await
        .map_err(telephony_error)?;
    Ok(HttpResponse::Accepted().finish())
}

/// Supervisor listens to, coaches or joins a call: their phone rings into ChanSpy.
#[utoipa::path(post, path = "/api/calls/{id}/spy", tag = "calls",
    params(("id" = String, Path, description = "Linkedid of the call, or our call id")),
    request_body = SpyRequest,
    responses((status = 202, body = CallStarted), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn spy(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: Json<SpyRequest>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Supervision, Action::Create)?;
    let call = visible_call(&state, &principal, &id)?;
    let Some(extension) = principal.user.sip_extension.clone() else {
        return Err(ApiError::conflict(
            "no_extension",
            "the supervisor has no SIP extension to ring",
        ));
    };
    // Spy on the agent's leg when there is one: whisper must reach the agent.
    let target = call
        .legs
        .iter()
        .filter(|l| l.ended_ms.is_none())
        .find(|l| {
            l.bridge_name
                .as_deref()
                .is_some_and(|b| b.starts_with("agent-"))
        })
        .map(|l| l.channel.clone())
        .or_else(|| customer_leg(&call))
        .ok_or(ApiError::NotFound("call"))?;
    let mode = match body.0.mode {
        SpyModeBody::Listen => SpyMode::Listen,
        SpyModeBody::Whisper => SpyMode::Whisper,
        SpyModeBody::Barge => SpyMode::Barge,
    };
    let telephony = state.engine.telephony()?.clone();
    let spy_id = format!("callpro-spy-{}", uuid::Uuid::new_v4().simple());
    telephony
        .spy(Spy {
            supervisor_channel: format!("PJSIP/{extension}"),
            target_channel: target.clone(),
            mode,
            channel_id: spy_id.clone(),
        })
        .await
        .map_err(telephony_error)?;
    // Listening to a conversation is recorded like any change.
    let detail = serde_json::json!({"mode": format!("{mode:?}").to_lowercase(), "target": target});
    let (linkedid, cc) = (call.linkedid.clone(), call.call_center_id);
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                audit::record(
                    conn,
                    Some(&principal),
                    Change {
                        action: "call.spy",
                        entity: "call",
                        entity_id: linkedid,
                        call_center_id: cc,
                        before: None,
                        after: Some(&detail),
                    },
                )
            })
        })
        .await?;
    Ok(HttpResponse::Accepted().json(CallStarted { call_id: spy_id }))
}
