//! `/api/emails`: the history of the email outbox (read-only; emails are enqueued by the
//! features that send them).

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, PageParams, utc};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::error::{ApiError, ErrorBody};
use crate::models::email_outbox::{Outbox, OutboxEmail, OutboxFilter};
use crate::state::AppState;

/// Where an email is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EmailStatus {
    /// Waiting for its (next) attempt.
    Queued,
    /// Being sent by a worker.
    Sending,
    /// Accepted by the SMTP server.
    Sent,
    /// Given up.
    Failed,
}

impl EmailStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            _ => Self::Queued,
        }
    }
}

/// An email of the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// SMTP profile it goes through.
    pub smtp_profile_id: i64,
    /// Template it was rendered from.
    pub template_id: Option<i64>,
    /// Lead it went to.
    pub lead_id: Option<i64>,
    /// Recipient.
    pub to_address: String,
    /// Subject.
    pub subject: String,
    /// Delivery status.
    pub status: EmailStatus,
    /// Attempts so far.
    pub attempts: i32,
    /// Next attempt, while queued.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Last failure.
    pub last_error: Option<String>,
    /// Message-ID header.
    pub message_id: String,
    /// Enqueued.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Accepted by the server.
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<OutboxEmail> for EmailView {
    fn from(e: OutboxEmail) -> Self {
        Self {
            id: e.id,
            call_center_id: e.call_center_id,
            smtp_profile_id: e.smtp_profile_id,
            template_id: e.template_id,
            lead_id: e.lead_id,
            status: EmailStatus::parse(&e.status),
            to_address: e.to_address,
            subject: e.subject,
            attempts: e.attempts,
            next_attempt_at: e.next_attempt_at.map(utc),
            last_error: e.last_error,
            message_id: e.message_id,
            created_at: utc(e.created_at),
            updated_at: utc(e.updated_at),
            sent_at: e.sent_at.map(utc),
        }
    }
}

/// Filters of the history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only this status.
    pub status: Option<EmailStatus>,
    /// Only emails to this lead.
    pub lead_id: Option<i64>,
    /// Enqueued at or after.
    pub from: Option<DateTime<Utc>>,
    /// Enqueued before.
    pub to: Option<DateTime<Utc>>,
}

/// Lists the email history, newest first.
#[utoipa::path(get, path = "/api/emails", tag = "email",
    params(PageParams, EmailQuery),
    responses((status = 200, body = Page<EmailView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<EmailQuery>,
) -> Result<web::Json<Page<EmailView>>, ApiError> {
    principal.require(Resource::Email, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    let filter = OutboxFilter {
        call_center_id: principal.narrow_tenant(query.call_center_id),
        status: query.status.map(|s| s.as_str().to_owned()),
        lead_id: query.lead_id,
        from: query.from.map(|t| t.naive_utc()),
        to: query.to.map(|t| t.naive_utc()),
    };
    let (rows, total) = state
        .db
        .run(move |conn| Ok(Outbox::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}
