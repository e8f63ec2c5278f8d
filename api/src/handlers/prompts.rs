//! `/api/prompts`: the sound files a call center's IVR flows may play. A prompt is registered
//! by the name Asterisk plays it under (`callpro/main-menu`, no extension) and a language; the
//! recording itself lives on the Asterisk server. Flows refer to prompts by name.

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
use crate::ivr::used_by_flows;
use crate::models::prompt::{NewPrompt, Prompt, PromptChanges, PromptFilter};
use crate::state::AppState;
use crate::validate::{Validator, double_option};

const ENTITY: &str = "prompt";
const PROMPT_TAKEN: &str = "this call center has a prompt with this name and language";
/// Longest prompt name.
const MAX_NAME: usize = 128;
/// Longest description.
const MAX_DESCRIPTION: usize = 500;

/// A prompt as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromptView {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Sound file as Asterisk plays it.
    #[schema(example = "callpro/main-menu")]
    pub name: String,
    /// Language of the recording.
    #[schema(example = "en")]
    pub language: String,
    /// What the recording says.
    pub description: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Prompt> for PromptView {
    fn from(p: Prompt) -> Self {
        Self {
            id: p.id,
            call_center_id: p.call_center_id,
            name: p.name,
            language: p.language,
            description: p.description,
            created_at: utc(p.created_at),
            updated_at: utc(p.updated_at),
        }
    }
}

/// Body of `POST /api/prompts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePrompt {
    /// Call center; defaults to the caller's own.
    pub call_center_id: Option<i64>,
    /// Sound file name: 1 to 128 letters, digits, `/`, `-`, `_` or `.`, in path segments
    /// (no leading `/`, no `..`).
    #[schema(
        example = "callpro/main-menu",
        max_length = 128,
        pattern = "^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"
    )]
    pub name: String,
    /// Language (default `en`).
    #[schema(example = "fr", pattern = "^[A-Za-z]{2}[A-Za-z0-9_-]{0,14}$")]
    pub language: Option<String>,
    /// What the recording says (up to 500 characters).
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// Body of `PATCH /api/prompts/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePrompt {
    /// New name.
    #[schema(max_length = 128, pattern = "^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")]
    pub name: Option<String>,
    /// New language.
    #[schema(pattern = "^[A-Za-z]{2}[A-Za-z0-9_-]{0,14}$")]
    pub language: Option<String>,
    /// New description; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub description: Option<Option<String>>,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PromptQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Name contains.
    pub q: Option<String>,
    /// Only this language.
    pub language: Option<String>,
}

/// Whether `name` is a sound file name Asterisk can play and that stays inside its sounds
/// directory.
pub fn valid_prompt_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
        && !name.contains("..")
        && name.split('/').all(|segment| !segment.is_empty())
}

fn validate_name(v: &mut Validator, name: &str) {
    if !valid_prompt_name(name) {
        v.add(
            "name",
            "invalid_name",
            "1 to 128 letters, digits, '/', '-', '_' or '.', in path segments without '..' \
             (a sound file name as Asterisk plays it, e.g. callpro/main-menu)",
        );
    }
}

fn validate_language(v: &mut Validator, language: &str) {
    let bytes = language.as_bytes();
    let ok = (2..=16).contains(&bytes.len())
        && bytes[..2].iter().all(u8::is_ascii_alphabetic)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if !ok {
        v.add(
            "language",
            "invalid_language",
            "an Asterisk language code such as en, fr or en_GB",
        );
    }
}

fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<Prompt, ApiError> {
    let prompt = Prompt::find(conn, id).or_not_found(ENTITY)?;
    principal.check_tenant(prompt.call_center_id, ENTITY)?;
    Ok(prompt)
}

fn audit_prompt(
    conn: &mut DbConn,
    principal: &Principal,
    action: &str,
    before: Option<&PromptView>,
    after: Option<&PromptView>,
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

/// Lists prompts.
#[utoipa::path(get, path = "/api/prompts", tag = "ivr",
    params(PageParams, PromptQuery),
    responses((status = 200, body = Page<PromptView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<PromptQuery>,
) -> Result<web::Json<Page<PromptView>>, ApiError> {
    principal.require(Resource::Prompt, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    let filter = PromptFilter {
        call_center_id: principal.narrow_tenant(query.call_center_id),
        q: query.q,
        language: query.language,
    };
    let (rows, total) = state
        .db
        .run(move |conn| Ok(Prompt::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one prompt.
#[utoipa::path(get, path = "/api/prompts/{id}", tag = "ivr",
    params(("id" = i64, Path, description = "Prompt id")),
    responses((status = 200, body = PromptView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<PromptView>, ApiError> {
    principal.require(Resource::Prompt, Action::Read)?;
    let id = id.into_inner();
    let prompt = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(web::Json(prompt.into()))
}

/// Registers a prompt.
#[utoipa::path(post, path = "/api/prompts", tag = "ivr",
    request_body = CreatePrompt,
    responses((status = 201, body = PromptView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreatePrompt>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Prompt, Action::Create)?;
    let body = body.0;
    let language = body.language.unwrap_or_else(|| "en".to_owned());
    let mut v = Validator::new();
    validate_name(&mut v, &body.name);
    validate_language(&mut v, &language);
    if let Some(description) = &body.description {
        v.free_text("description", description, MAX_DESCRIPTION);
    }
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let call_center_id = target_call_center(&principal, body.call_center_id, conn)?;
                let now = db::now();
                let row = Prompt::create(
                    conn,
                    &NewPrompt {
                        call_center_id,
                        name: &body.name,
                        language: &language,
                        description: body.description.as_deref(),
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("prompt_taken", PROMPT_TAKEN)?;
                let view = PromptView::from(row);
                audit_prompt(conn, &principal, "prompt.create", None, Some(&view))?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Changes a prompt. Renaming it does not change the flows that play it by its old name.
#[utoipa::path(patch, path = "/api/prompts/{id}", tag = "ivr",
    params(("id" = i64, Path, description = "Prompt id")),
    request_body = UpdatePrompt,
    responses((status = 200, body = PromptView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdatePrompt>,
) -> Result<web::Json<PromptView>, ApiError> {
    principal.require(Resource::Prompt, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    if let Some(name) = &body.name {
        validate_name(&mut v, name);
    }
    if let Some(language) = &body.language {
        validate_language(&mut v, language);
    }
    if let Some(Some(description)) = &body.description {
        v.free_text("description", description, MAX_DESCRIPTION);
    }
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = PromptView::from(visible(&principal, conn, id)?);
                let changes = PromptChanges {
                    name: body.name,
                    language: body.language,
                    description: body.description,
                    updated_at: Some(db::now()),
                };
                let after = PromptView::from(
                    Prompt::update(conn, id, &changes).or_conflict("prompt_taken", PROMPT_TAKEN)?,
                );
                still_played(conn, &before)?;
                audit_prompt(
                    conn,
                    &principal,
                    "prompt.update",
                    Some(&before),
                    Some(&after),
                )?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// Unregisters a prompt.
#[utoipa::path(delete, path = "/api/prompts/{id}", tag = "ivr",
    params(("id" = i64, Path, description = "Prompt id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Prompt, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = PromptView::from(visible(&principal, conn, id)?);
                Prompt::delete(conn, id)?;
                still_played(conn, &before)?;
                audit_prompt(conn, &principal, "prompt.delete", Some(&before), None)
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Refuses (409 `prompt_in_use`) a change that leaves a flow playing a name no prompt of the
/// center has any more (another language of the same name keeps it registered).
fn still_played(conn: &mut DbConn, before: &PromptView) -> Result<(), ApiError> {
    if Prompt::names(conn, before.call_center_id)?.contains(&before.name) {
        return Ok(());
    }
    match used_by_flows(conn, before.call_center_id, None, |refs| {
        refs.prompts.contains(&before.name)
    })? {
        Some(reason) => Err(ApiError::conflict(
            "prompt_in_use",
            format!("prompt `{}` is still played: {reason}", before.name),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::valid_prompt_name;

    #[test]
    fn prompt_names_stay_inside_the_sounds_directory() {
        for good in ["callpro/main-menu", "ss-noservice", "fr/callpro/menu_1.v2"] {
            assert!(valid_prompt_name(good), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "callpro/../x",
            "a//b",
            "callpro/",
            "a b",
            "x;y",
        ] {
            assert!(!valid_prompt_name(bad), "{bad}");
        }
        assert!(!valid_prompt_name(&"a".repeat(129)));
    }
}
