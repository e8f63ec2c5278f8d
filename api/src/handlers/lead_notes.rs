//! `/api/leads/{id}/notes`: comments, call logs and internal notes on a lead.
//!
//! Rules:
//!
//! - The caller must see the lead (the desk's rule: their tenant, and assigned to them for
//!   agents); otherwise 404.
//! - A **private** note exists only for its author and for owners and super admins: it is absent
//!   from everyone else's lists and a 404 when they address it.
//! - Its author, an owner or a super admin edits or deletes a note; anyone else who sees it
//!   gets 403.
//! - `body`: 1 to 10,000 characters (not only blanks), without NUL.
//! - Every change writes an audit entry (entity `lead_note`) and a `note` entry in the lead's
//!   timeline (`{note_id, action, kind, private, author_user_id}`, never the body), both in the
//!   transaction of the change. The timeline hides entries about private notes from those who
//!   may not see them ([`sees_note_of`]).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::lead_desk::visible as visible_lead;
use super::{Page, PageParams, utc};
use crate::audit::{self, Change};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::extract::Json;
use crate::leadflow::{self, EventKind};
use crate::models::lead::Lead;
use crate::models::lead_note::{LeadNote, LeadNoteChanges, NewLeadNote};
use crate::models::user::Role;
use crate::state::AppState;
use crate::validate::Validator;

const ENTITY: &str = "lead_note";
/// Longest note body, in characters.
pub const MAX_BODY: usize = 10_000;

/// What a note is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// A remark on the lead.
    Comment,
    /// What was said on a call.
    CallLog,
    /// For the team, not for the customer.
    InternalNote,
}

impl NoteKind {
    /// Every kind.
    pub const ALL: [NoteKind; 3] = [NoteKind::Comment, NoteKind::CallLog, NoteKind::InternalNote];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Comment => "comment",
            NoteKind::CallLog => "call_log",
            NoteKind::InternalNote => "internal_note",
        }
    }

    /// Reads a stored name.
    pub fn parse(name: &str) -> Option<NoteKind> {
        NoteKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// A note as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadNoteView {
    /// Id.
    pub id: i64,
    /// The lead.
    pub lead_id: i64,
    /// The lead's call center.
    pub call_center_id: i64,
    /// Who wrote it (absent once that user is deleted).
    pub author_user_id: Option<i64>,
    /// What it is.
    pub kind: NoteKind,
    /// Seen only by its author and by owners and super admins.
    pub private: bool,
    /// The text.
    pub body: String,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<LeadNote> for LeadNoteView {
    fn from(n: LeadNote) -> Self {
        Self {
            id: n.id,
            lead_id: n.lead_id,
            call_center_id: n.call_center_id,
            author_user_id: n.author_user_id,
            // The database CHECK rules out other names.
            kind: NoteKind::parse(&n.kind).unwrap_or(NoteKind::Comment),
            private: n.private,
            body: n.body,
            created_at: utc(n.created_at),
            updated_at: utc(n.updated_at),
        }
    }
}

/// Body of `POST /api/leads/{id}/notes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLeadNote {
    /// What it is.
    pub kind: NoteKind,
    /// The text.
    #[schema(min_length = 1, max_length = 10000)]
    pub body: String,
    /// Only for the author (and owners and super admins); default `false`.
    #[serde(default)]
    pub private: bool,
}

/// Body of `PATCH /api/leads/{lead_id}/notes/{note_id}`: at least one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLeadNote {
    /// New text.
    #[schema(min_length = 1, max_length = 10000)]
    pub body: Option<String>,
    /// New kind.
    pub kind: Option<NoteKind>,
    /// New privacy.
    pub private: Option<bool>,
}

/// Whether the caller sees every private note of the leads they see.
fn sees_all_private(principal: &Principal) -> bool {
    matches!(principal.role(), Role::Owner | Role::SuperAdmin)
}

/// Whether the caller may see a note of `author` that is `private` (on a lead they see).
pub(crate) fn sees_note_of(principal: &Principal, private: bool, author: Option<i64>) -> bool {
    !private || sees_all_private(principal) || author == Some(principal.id())
}

fn validate_body(v: &mut Validator, body: &str) {
    if body.trim().is_empty() {
        v.add("body", "required", "must not be empty");
    } else {
        v.free_text("body", body, MAX_BODY);
    }
}

/// The lead (visible to the caller) and its note `note_id`, if the caller may see that note.
fn visible_note(
    principal: &Principal,
    conn: &mut DbConn,
    lead_id: i64,
    note_id: i64,
) -> Result<(Lead, LeadNote), ApiError> {
    let lead = visible_lead(principal, conn, lead_id)?;
    let note = LeadNote::find(conn, note_id).or_not_found(ENTITY)?;
    if note.lead_id != lead.id || !sees_note_of(principal, note.private, note.author_user_id) {
        return Err(ApiError::NotFound(ENTITY));
    }
    Ok((lead, note))
}

/// 403 unless the caller wrote the note or is an owner or super admin.
fn may_change(principal: &Principal, note: &LeadNote) -> Result<(), ApiError> {
    if sees_all_private(principal) || note.author_user_id == Some(principal.id()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Writes the audit entry and the timeline entry of one change, in the caller's transaction.
fn record_change(
    conn: &mut DbConn,
    principal: &Principal,
    lead: &Lead,
    action: &str,
    before: Option<&LeadNoteView>,
    after: Option<&LeadNoteView>,
) -> Result<(), ApiError> {
    let Some(view) = after.or(before) else {
        return Ok(());
    };
    audit::record(
        conn,
        Some(principal),
        Change {
            action: &format!("{ENTITY}.{action}"),
            entity: ENTITY,
            entity_id: view.id.to_string(),
            call_center_id: Some(lead.call_center_id),
            before,
            after,
        },
    )?;
    let timeline_action = match action {
        "create" => "added",
        "update" => "edited",
        _ => "deleted",
    };
    // Never the body: the timeline is read by everyone who sees the lead.
    leadflow::record(
        conn,
        lead,
        EventKind::Note,
        Some(principal.id()),
        json!({
            "note_id": view.id,
            "action": timeline_action,
            "kind": view.kind,
            "private": view.private,
            "author_user_id": view.author_user_id,
        }),
        db::now(),
    )?;
    Ok(())
}

/// A lead's notes, oldest first (private notes only for their author, owners and super admins).
#[utoipa::path(get, path = "/api/leads/{id}/notes", tag = "leads",
    params(("id" = i64, Path, description = "Lead id"), PageParams),
    responses((status = 200, body = Page<LeadNoteView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    paging: web::Query<PageParams>,
) -> Result<web::Json<Page<LeadNoteView>>, ApiError> {
    principal.require(Resource::Lead, Action::Read)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let id = id.into_inner();
    let (rows, total) = state
        .db
        .run(move |conn| {
            visible_lead(&principal, conn, id)?;
            let viewer = (!sees_all_private(&principal)).then(|| principal.id());
            Ok(LeadNote::list(conn, id, viewer, request)?)
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

/// Adds a note to a lead.
#[utoipa::path(post, path = "/api/leads/{id}/notes", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = CreateLeadNote,
    responses((status = 201, body = LeadNoteView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<CreateLeadNote>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Lead, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    validate_body(&mut v, &body.body);
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let lead = visible_lead(&principal, conn, id)?;
                let now = db::now();
                let row = LeadNote::create(
                    conn,
                    &NewLeadNote {
                        lead_id: lead.id,
                        call_center_id: lead.call_center_id,
                        author_user_id: Some(principal.id()),
                        kind: body.kind.as_str(),
                        private: body.private,
                        body: &body.body,
                        created_at: now,
                        updated_at: now,
                    },
                )?;
                let view = LeadNoteView::from(row);
                record_change(conn, &principal, &lead, "create", None, Some(&view))?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Changes a note (its author, owners and super admins).
#[utoipa::path(patch, path = "/api/leads/{lead_id}/notes/{note_id}", tag = "leads",
    params(("lead_id" = i64, Path, description = "Lead id"),
        ("note_id" = i64, Path, description = "Note id")),
    request_body = UpdateLeadNote,
    responses((status = 200, body = LeadNoteView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(i64, i64)>,
    body: Json<UpdateLeadNote>,
) -> Result<web::Json<LeadNoteView>, ApiError> {
    principal.require(Resource::Lead, Action::Update)?;
    let (lead_id, note_id) = path.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    if let Some(text) = &body.body {
        validate_body(&mut v, text);
    }
    if body.body.is_none() && body.kind.is_none() && body.private.is_none() {
        v.add(
            "body",
            "nothing_to_change",
            "give at least one of body, kind, private",
        );
    }
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let (lead, note) = visible_note(&principal, conn, lead_id, note_id)?;
                may_change(&principal, &note)?;
                let before = LeadNoteView::from(note);
                let changes = LeadNoteChanges {
                    kind: body.kind.map(|k| k.as_str().to_owned()),
                    private: body.private,
                    body: body.body,
                    updated_at: Some(db::now()),
                };
                let after = LeadNoteView::from(LeadNote::update(conn, note_id, &changes)?);
                record_change(
                    conn,
                    &principal,
                    &lead,
                    "update",
                    Some(&before),
                    Some(&after),
                )?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// Deletes a note (its author, owners and super admins).
#[utoipa::path(delete, path = "/api/leads/{lead_id}/notes/{note_id}", tag = "leads",
    params(("lead_id" = i64, Path, description = "Lead id"),
        ("note_id" = i64, Path, description = "Note id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Lead, Action::Update)?;
    let (lead_id, note_id) = path.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let (lead, note) = visible_note(&principal, conn, lead_id, note_id)?;
                may_change(&principal, &note)?;
                let before = LeadNoteView::from(note);
                LeadNote::delete(conn, note_id)?;
                record_change(conn, &principal, &lead, "delete", Some(&before), None)
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for kind in NoteKind::ALL {
            assert_eq!(NoteKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NoteKind::parse("memo"), None);
    }

    #[test]
    fn bodies_are_checked() {
        for (text, ok) in [
            ("call back after 6", true),
            ("", false),
            ("   \n", false),
            ("a\0b", false),
        ] {
            let mut v = Validator::new();
            validate_body(&mut v, text);
            assert_eq!(v.finish().is_ok(), ok, "{text:?}");
        }
        let mut v = Validator::new();
        validate_body(&mut v, &"é".repeat(MAX_BODY));
        assert!(v.finish().is_ok());
        let mut v = Validator::new();
        validate_body(&mut v, &"é".repeat(MAX_BODY + 1));
        assert!(v.finish().is_err());
    }
}
