//! The OpenAPI 3 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, FieldError};
use crate::handlers::{
    agent_session, audit, auth, call_centers, calls, campaign_stats, campaigns, groups, health,
    leads, live, me, sites, trunks, users,
};
use crate::handlers::{dids, ivr_flow_versions, ivr_flows, ivr_sessions, prompts};
use crate::handlers::{dnc, preview, qualifications, qualify};
use crate::handlers::{email_templates, emails, smtp_profiles};
use crate::handlers::{forms, lead_desk, lead_notes, notifications, public_forms, saved_searches};

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "refresh_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::REFRESH_COOKIE))),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "callpro", description = "Contact-center engine beside Asterisk: management API"),
    paths(
        health::health, health::metrics,
        auth::login, auth::refresh, auth::logout,
        me::get, me::change_password, me::mfa_enroll, me::mfa_activate, me::mfa_disable,
        call_centers::list, call_centers::get, call_centers::create, call_centers::update, call_centers::delete,
        sites::list, sites::get, sites::create, sites::update, sites::delete,
        users::list, users::get, users::create, users::update, users::delete, users::rotate_sip_secret,
        groups::list, groups::get, groups::create, groups::update, groups::delete,
        groups::members, groups::add_member, groups::remove_member,
        trunks::list, trunks::get, trunks::create, trunks::update, trunks::delete,
        live::calls, live::agents, live::queues, live::trunks,
        agent_session::login, agent_session::ready, agent_session::pause, agent_session::logout,
        agent_session::force_pause, agent_session::force_logout,
        calls::create, calls::hangup, calls::transfer, calls::spy, qualify::qualify,
        audit::list,
        campaigns::list, campaigns::get, campaigns::create, campaigns::update, campaigns::delete,
        campaigns::start, campaigns::pause, campaigns::resume, campaigns::stop, campaigns::boost,
        campaign_stats::stats, preview::next, preview::call, preview::skip,
        leads::list, leads::import,
        qualifications::list_groups, qualifications::get_group, qualifications::create_group,
        qualifications::update_group, qualifications::delete_group,
        qualifications::list, qualifications::get, qualifications::create,
        qualifications::update, qualifications::delete,
        dnc::list, dnc::get, dnc::create, dnc::delete, dnc::import,
        prompts::list, prompts::get, prompts::create, prompts::update, prompts::delete,
        ivr_flows::list, ivr_flows::get, ivr_flows::create, ivr_flows::update, ivr_flows::delete,
        ivr_flow_versions::publish, ivr_flow_versions::list, ivr_flow_versions::get,
        dids::list, dids::get, dids::create, dids::update, dids::delete,
        ivr_sessions::list, ivr_sessions::get,
        smtp_profiles::list, smtp_profiles::get, smtp_profiles::create, smtp_profiles::update,
        smtp_profiles::delete, smtp_profiles::test,
        email_templates::list, email_templates::get, email_templates::create,
        email_templates::update, email_templates::delete, email_templates::preview,
        emails::list,
        forms::list, forms::get, forms::create, forms::update, forms::delete, forms::preview,
        lead_desk::list, lead_desk::get, lead_desk::change_stage, lead_desk::timeline,
        lead_desk::assign, lead_desk::qualify, lead_desk::call, lead_desk::export,
        lead_notes::list, lead_notes::create, lead_notes::update, lead_notes::delete,
        notifications::list, notifications::read, notifications::read_all,
        saved_searches::list, saved_searches::create, saved_searches::get, saved_searches::delete,
        public_forms::show, public_forms::submit, public_forms::confirm,
    ),
    components(schemas(ErrorBody, FieldError)),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Login, refresh-token rotation, logout"),
        (name = "me", description = "The caller's profile, password and MFA"),
        (name = "call-centers", description = "Tenants"),
        (name = "sites", description = "Sites of a call center"),
        (name = "users", description = "Users, roles, extensions"),
        (name = "groups", description = "Teams of users"),
        (name = "trunks", description = "SIP trunks to the sites' gateways"),
        (name = "live", description = "Live calls, agents, queues and trunks"),
        (name = "agents", description = "Agent sessions and their supervision"),
        (name = "calls", description = "Click-to-call, hang-up, transfer, supervision"),
        (name = "audit", description = "Read-only audit trail"),
        (name = "qualifications", description = "Call outcomes agents pick, and their groups"),
        (name = "dnc", description = "Do-not-call numbers: the internal list and Bloctel imports"),
        (name = "ivr", description = "Inbound calls: prompts, IVR flows and their versions, DIDs, session records"),
        (name = "email", description = "SMTP profiles, email templates and the outbox history"),
        (name = "leads", description = "Lead forms, the confirmation desk, lead notes, lead timelines and the caller's notifications"),
        (name = "public", description = "Public pages without login: lead forms and the double opt-in link"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
