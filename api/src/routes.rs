//! Every route of the API in one table, so the whole surface reads at a glance.

use actix_web::{HttpResponse, web};

use crate::error::ApiError;
use crate::handlers::{
    agent_session, audit, auth, call_centers, calls, campaign_stats, campaigns, groups, health,
    leads, live, me, sites, trunks, users,
};
use crate::handlers::{dids, ivr_flow_versions, ivr_flows, ivr_sessions, prompts};
use crate::handlers::{dnc, preview, qualifications, qualify};
use crate::handlers::{email_templates, emails, smtp_profiles};
use crate::handlers::{forms, lead_desk, lead_notes, notifications, public_forms, saved_searches};
use crate::openapi;

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

/// Unknown paths answer the API's JSON 404.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("route"))
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health").route(web::get().to(health::health)))
        .service(resource("/metrics").route(web::get().to(health::metrics)))
        .service(resource("/api/openapi.json").route(web::get().to(openapi::serve)))
        // Authentication
        .service(resource("/api/auth/login").route(web::post().to(auth::login)))
        .service(resource("/api/auth/refresh").route(web::post().to(auth::refresh)))
        .service(resource("/api/auth/logout").route(web::post().to(auth::logout)))
        // The caller
        .service(resource("/api/me").route(web::get().to(me::get)))
        .service(resource("/api/me/password").route(web::post().to(me::change_password)))
        .service(resource("/api/me/mfa/enroll").route(web::post().to(me::mfa_enroll)))
        .service(resource("/api/me/mfa/activate").route(web::post().to(me::mfa_activate)))
        .service(resource("/api/me/mfa/disable").route(web::post().to(me::mfa_disable)))
        // Tenants and their structure
        .service(
            resource("/api/call-centers")
                .route(web::get().to(call_centers::list))
                .route(web::post().to(call_centers::create)),
        )
        .service(
            resource("/api/call-centers/{id}")
                .route(web::get().to(call_centers::get))
                .route(web::patch().to(call_centers::update))
                .route(web::delete().to(call_centers::delete)),
        )
        .service(
            resource("/api/sites")
                .route(web::get().to(sites::list))
                .route(web::post().to(sites::create)),
        )
        .service(
            resource("/api/sites/{id}")
                .route(web::get().to(sites::get))
                .route(web::patch().to(sites::update))
                .route(web::delete().to(sites::delete)),
        )
        .service(
            resource("/api/users")
                .route(web::get().to(users::list))
                .route(web::post().to(users::create)),
        )
        .service(
            resource("/api/users/{id}")
                .route(web::get().to(users::get))
                .route(web::patch().to(users::update))
                .route(web::delete().to(users::delete)),
        )
        .service(
            resource("/api/users/{id}/sip-secret").route(web::post().to(users::rotate_sip_secret)),
        )
        .service(
            resource("/api/campaigns")
                .route(web::get().to(campaigns::list))
                .route(web::post().to(campaigns::create)),
        )
        .service(
            resource("/api/campaigns/{id}")
                .route(web::get().to(campaigns::get))
                .route(web::patch().to(campaigns::update))
                .route(web::delete().to(campaigns::delete)),
        )
        .service(resource("/api/campaigns/{id}/start").route(web::post().to(campaigns::start)))
        .service(resource("/api/campaigns/{id}/pause").route(web::post().to(campaigns::pause)))
        .service(resource("/api/campaigns/{id}/resume").route(web::post().to(campaigns::resume)))
        .service(resource("/api/campaigns/{id}/stop").route(web::post().to(campaigns::stop)))
        .service(resource("/api/campaigns/{id}/boost").route(web::post().to(campaigns::boost)))
        .service(resource("/api/campaigns/{id}/preview/next").route(web::post().to(preview::next)))
        .service(
            resource("/api/campaigns/{id}/preview/{lead_id}/call")
                .route(web::post().to(preview::call)),
        )
        .service(
            resource("/api/campaigns/{id}/preview/{lead_id}/skip")
                .route(web::post().to(preview::skip)),
        )
        .service(resource("/api/campaigns/{id}/stats").route(web::get().to(campaign_stats::stats)))
        .service(resource("/api/campaigns/{id}/leads").route(web::get().to(leads::list)))
        .service(resource("/api/campaigns/{id}/leads/import").route(web::post().to(leads::import)))
        .service(
            resource("/api/groups")
                .route(web::get().to(groups::list))
                .route(web::post().to(groups::create)),
        )
        .service(
            resource("/api/groups/{id}")
                .route(web::get().to(groups::get))
                .route(web::patch().to(groups::update))
                .route(web::delete().to(groups::delete)),
        )
        .service(
            resource("/api/groups/{id}/members")
                .route(web::get().to(groups::members))
                .route(web::post().to(groups::add_member)),
        )
        .service(
            resource("/api/groups/{id}/members/{user_id}")
                .route(web::delete().to(groups::remove_member)),
        )
        // Telephony resources
        .service(
            resource("/api/trunks")
                .route(web::get().to(trunks::list))
                .route(web::post().to(trunks::create)),
        )
        .service(
            resource("/api/trunks/{id}")
                .route(web::get().to(trunks::get))
                .route(web::patch().to(trunks::update))
                .route(web::delete().to(trunks::delete)),
        )
        // Outbound dialing: qualifications and the do-not-call list
        .service(
            resource("/api/qualification-groups")
                .route(web::get().to(qualifications::list_groups))
                .route(web::post().to(qualifications::create_group)),
        )
        .service(
            resource("/api/qualification-groups/{id}")
                .route(web::get().to(qualifications::get_group))
                .route(web::patch().to(qualifications::update_group))
                .route(web::delete().to(qualifications::delete_group)),
        )
        .service(
            resource("/api/qualifications")
                .route(web::get().to(qualifications::list))
                .route(web::post().to(qualifications::create)),
        )
        .service(
            resource("/api/qualifications/{id}")
                .route(web::get().to(qualifications::get))
                .route(web::patch().to(qualifications::update))
                .route(web::delete().to(qualifications::delete)),
        )
        .service(
            resource("/api/dnc")
                .route(web::get().to(dnc::list))
                .route(web::post().to(dnc::create)),
        )
        // Before `/api/dnc/{id}`, which would otherwise take `import` for an id.
        .service(
            resource("/api/dnc/import")
                .app_data(dnc::import_payload_config())
                .route(web::post().to(dnc::import)),
        )
        .service(
            resource("/api/dnc/{id}")
                .route(web::get().to(dnc::get))
                .route(web::delete().to(dnc::delete)),
        )
        // Inbound: prompts, IVR flows and their published versions, DIDs, session records
        .service(
            resource("/api/prompts")
                .route(web::get().to(prompts::list))
                .route(web::post().to(prompts::create)),
        )
        .service(
            resource("/api/prompts/{id}")
                .route(web::get().to(prompts::get))
                .route(web::patch().to(prompts::update))
                .route(web::delete().to(prompts::delete)),
        )
        .service(
            resource("/api/ivr-flows")
                .route(web::get().to(ivr_flows::list))
                .route(web::post().to(ivr_flows::create)),
        )
        .service(
            resource("/api/ivr-flows/{id}")
                .route(web::get().to(ivr_flows::get))
                .route(web::patch().to(ivr_flows::update))
                .route(web::delete().to(ivr_flows::delete)),
        )
        .service(
            resource("/api/ivr-flows/{id}/publish")
                .route(web::post().to(ivr_flow_versions::publish)),
        )
        .service(
            resource("/api/ivr-flows/{id}/versions").route(web::get().to(ivr_flow_versions::list)),
        )
        .service(
            resource("/api/ivr-flows/{id}/versions/{version}")
                .route(web::get().to(ivr_flow_versions::get)),
        )
        .service(
            resource("/api/dids")
                .route(web::get().to(dids::list))
                .route(web::post().to(dids::create)),
        )
        .service(
            resource("/api/dids/{id}")
                .route(web::get().to(dids::get))
                .route(web::patch().to(dids::update))
                .route(web::delete().to(dids::delete)),
        )
        .service(resource("/api/ivr/sessions").route(web::get().to(ivr_sessions::list)))
        .service(resource("/api/ivr/sessions/{id}").route(web::get().to(ivr_sessions::get)))
        // Live supervision and call control
        .service(resource("/api/live/calls").route(web::get().to(live::calls)))
        .service(resource("/api/live/agents").route(web::get().to(live::agents)))
        .service(resource("/api/live/queues").route(web::get().to(live::queues)))
        .service(resource("/api/live/trunks").route(web::get().to(live::trunks)))
        .service(
            resource("/api/agent/session")
                .route(web::post().to(agent_session::login))
                .route(web::delete().to(agent_session::logout)),
        )
        .service(resource("/api/agent/session/ready").route(web::post().to(agent_session::ready)))
        .service(resource("/api/agent/session/pause").route(web::post().to(agent_session::pause)))
        .service(
            resource("/api/agents/{id}/force-pause")
                .route(web::post().to(agent_session::force_pause)),
        )
        .service(
            resource("/api/agents/{id}/force-logout")
                .route(web::post().to(agent_session::force_logout)),
        )
        .service(resource("/api/calls").route(web::post().to(calls::create)))
        .service(resource("/api/calls/{id}").route(web::delete().to(calls::hangup)))
        .service(resource("/api/calls/{id}/transfer").route(web::post().to(calls::transfer)))
        .service(resource("/api/calls/{id}/spy").route(web::post().to(calls::spy)))
        .service(resource("/api/calls/{id}/qualify").route(web::post().to(qualify::qualify)))
        // Email: SMTP profiles, templates, outbox history
        .service(
            resource("/api/smtp-profiles")
                .route(web::get().to(smtp_profiles::list))
                .route(web::post().to(smtp_profiles::create)),
        )
        .service(
            resource("/api/smtp-profiles/{id}")
                .route(web::get().to(smtp_profiles::get))
                .route(web::patch().to(smtp_profiles::update))
                .route(web::delete().to(smtp_profiles::delete)),
        )
        .service(
            resource("/api/smtp-profiles/{id}/test").route(web::post().to(smtp_profiles::test)),
        )
        .service(
            resource("/api/email-templates")
                .route(web::get().to(email_templates::list))
                .route(web::post().to(email_templates::create)),
        )
        .service(
            resource("/api/email-templates/{id}")
                .route(web::get().to(email_templates::get))
                .route(web::patch().to(email_templates::update))
                .route(web::delete().to(email_templates::delete)),
        )
        .service(
            resource("/api/email-templates/{id}/preview")
                .route(web::post().to(email_templates::preview)),
        )
        .service(resource("/api/emails").route(web::get().to(emails::list)))
        // Lead confirmation
        .service(
            resource("/api/forms")
                .route(web::get().to(forms::list))
                .route(web::post().to(forms::create)),
        )
        .service(
            resource("/api/forms/{id}")
                .route(web::get().to(forms::get))
                .route(web::patch().to(forms::update))
                .route(web::delete().to(forms::delete)),
        )
        .service(resource("/api/forms/{id}/preview").route(web::get().to(forms::preview)))
        .service(resource("/api/leads").route(web::get().to(lead_desk::list)))
        // Before /api/leads/{id}, which would take `export.csv` for an id.
        .service(resource("/api/leads/export.csv").route(web::get().to(lead_desk::export)))
        .service(
            resource("/api/leads/{id}")
                .route(web::get().to(lead_desk::get))
                .route(web::patch().to(lead_desk::change_stage)),
        )
        .service(resource("/api/leads/{id}/timeline").route(web::get().to(lead_desk::timeline)))
        .service(resource("/api/leads/{id}/assign").route(web::post().to(lead_desk::assign)))
        .service(resource("/api/leads/{id}/qualify").route(web::post().to(lead_desk::qualify)))
        .service(resource("/api/leads/{id}/call").route(web::post().to(lead_desk::call)))
        .service(
            resource("/api/leads/{id}/notes")
                .route(web::get().to(lead_notes::list))
                .route(web::post().to(lead_notes::create)),
        )
        .service(
            resource("/api/leads/{lead_id}/notes/{note_id}")
                .route(web::patch().to(lead_notes::update))
                .route(web::delete().to(lead_notes::delete)),
        )
        .service(resource("/api/notifications").route(web::get().to(notifications::list)))
        .service(
            resource("/api/notifications/read-all").route(web::post().to(notifications::read_all)),
        )
        .service(
            resource("/api/notifications/{id}/read").route(web::post().to(notifications::read)),
        )
        .service(
            resource("/api/saved-searches")
                .route(web::get().to(saved_searches::list))
                .route(web::post().to(saved_searches::create)),
        )
        .service(
            resource("/api/saved-searches/{id}")
                .route(web::get().to(saved_searches::get))
                .route(web::delete().to(saved_searches::delete)),
        )
        // Public, without login: the forms and the double opt-in link
        .service(
            resource("/f/{slug}")
                .route(web::get().to(public_forms::show))
                .route(web::post().to(public_forms::submit)),
        )
        .service(resource("/confirm/{token}").route(web::get().to(public_forms::confirm)))
        // Audit trail (read-only)
        .service(resource("/api/audit").route(web::get().to(audit::list)));
}
