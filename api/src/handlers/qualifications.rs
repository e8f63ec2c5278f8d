//! `/api/qualification-groups` and `/api/qualifications`: the outcomes (dispositions) an agent
//! picks after an outbound call, grouped into the sets campaigns offer.
//!
//! Rules checked on every create and change (422 naming the field):
//!
//! - `code`: 1 to 32 letters, digits, `-` or `_`, unique in its group (409 `code_taken`).
//! - `label`: 1 to 100 characters.
//! - `kind`: `positive`, `negative`, `neutral`, `callback`, `do_not_call` or `wrong_number`.
//! - `do_not_call` and `wrong_number` are always final (`is_final` must be true): the dialer
//!   closes the lead whatever the flag says, so the flag may not claim otherwise.
//! - `callback` is never final (`is_final` must be false): the person asked to be called again.
//! - When `is_final` is omitted on create it follows the kind: true for `positive`,
//!   `negative`, `do_not_call` and `wrong_number`, false for `neutral` and `callback`.
//! - `retry_delay_secs`: 0 to 2,592,000 (30 days); the dialer waits 1 h when it is unset.
//! - `max_attempts`: 1 to 50; no retry once the lead has had that many attempts. A callback
//!   ignores it (the person asked for the call) but not the campaign's own cap.
//! - Both retry settings are kept but unused while the qualification is final.
//!
//! A qualification lives in its group's call center; the group never changes. Deleting a group
//! deletes its qualifications, and is refused (409 `in_use`) while a campaign uses the group.
//! Call attempts qualified with a deleted qualification keep their row, without the link.

use actix_web::{HttpResponse, web};
use callpro_dialer::retry::QualificationKind as Kind;
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
use crate::models::qualification::{
    NewQualification, NewQualificationGroup, Qualification, QualificationChanges,
    QualificationFilter, QualificationGroup, QualificationGroupChanges, QualificationGroupFilter,
};
use crate::state::AppState;
use crate::validate::{Validator, double_option};

const GROUP: &str = "qualification_group";
const ENTITY: &str = "qualification";
const NAME_TAKEN: &str = "a qualification group with this name exists in the call center";
const CODE_TAKEN: &str = "a qualification with this code exists in the group";
const GROUP_IN_USE: &str = "a campaign uses this qualification group";
/// Longest retry delay: 30 days.
const MAX_RETRY_DELAY_SECS: i64 = 2_592_000;
/// Highest per-qualification attempt cap.
const MAX_ATTEMPTS: i64 = 50;

/// What a qualification means to the dialer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QualificationKind {
    /// The call reached its goal (sale, appointment, ...).
    Positive,
    /// The person declined.
    Negative,
    /// Neither.
    Neutral,
    /// The person asked to be called back; never final.
    Callback,
    /// The person asked never to be called again: the number goes on the do-not-call list;
    /// always final.
    DoNotCall,
    /// The number is not the lead's; always final.
    WrongNumber,
}

/// A qualification group as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct QualificationGroupView {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name, unique in the center.
    pub name: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<QualificationGroup> for QualificationGroupView {
    fn from(g: QualificationGroup) -> Self {
        Self {
            id: g.id,
            call_center_id: g.call_center_id,
            name: g.name,
            created_at: utc(g.created_at),
            updated_at: utc(g.updated_at),
        }
    }
}

/// A qualification group with its qualifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct QualificationGroupDetail {
    /// The group.
    #[serde(flatten)]
    pub group: QualificationGroupView,
    /// Its qualifications, by id.
    pub qualifications: Vec<QualificationView>,
}

/// A qualification as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct QualificationView {
    /// Id.
    pub id: i64,
    /// Owning call center (the group's).
    pub call_center_id: i64,
    /// Group.
    pub group_id: i64,
    /// Short code, unique in the group.
    pub code: String,
    /// What agents see.
    pub label: String,
    /// What it means to the dialer.
    #[schema(value_type = QualificationKind)]
    pub kind: String,
    /// Whether the lead is done with after it.
    pub is_final: bool,
    /// Seconds before the next attempt (1 h when unset).
    pub retry_delay_secs: Option<i32>,
    /// No retry once the lead has had this many attempts.
    pub max_attempts: Option<i32>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Qualification> for QualificationView {
    fn from(q: Qualification) -> Self {
        Self {
            id: q.id,
            call_center_id: q.call_center_id,
            group_id: q.group_id,
            code: q.code,
            label: q.label,
            kind: q.kind,
            is_final: q.is_final,
            retry_delay_secs: q.retry_delay_secs,
            max_attempts: q.max_attempts,
            created_at: utc(q.created_at),
            updated_at: utc(q.updated_at),
        }
    }
}

/// Body of `POST /api/qualification-groups`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateQualificationGroup {
    /// Call center; defaults to the caller's own.
    pub call_center_id: Option<i64>,
    /// Name, unique in the center.
    #[schema(min_length = 1, max_length = 100, example = "Sales")]
    pub name: String,
}

/// Body of `PATCH /api/qualification-groups/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateQualificationGroup {
    /// New name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
}

/// Filters of the group list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QualificationGroupQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
}

/// Body of `POST /api/qualifications`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateQualification {
    /// Group, in the caller's call center; the qualification joins its call center.
    pub group_id: i64,
    /// Short code, unique in the group.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$", example = "SALE")]
    pub code: String,
    /// What agents see.
    #[schema(min_length = 1, max_length = 100, example = "Sale")]
    pub label: String,
    /// What it means to the dialer.
    #[schema(value_type = QualificationKind)]
    pub kind: String,
    /// Whether the lead is done with after it (default: by kind, see the rules).
    pub is_final: Option<bool>,
    /// Seconds before the next attempt (1 h when unset).
    #[schema(minimum = 0, maximum = 2592000)]
    pub retry_delay_secs: Option<i64>,
    /// No retry once the lead has had this many attempts.
    #[schema(minimum = 1, maximum = 50)]
    pub max_attempts: Option<i64>,
}

/// Body of `PATCH /api/qualifications/{id}` (the group cannot change).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateQualification {
    /// New code.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$")]
    pub code: Option<String>,
    /// New label.
    #[schema(min_length = 1, max_length = 100)]
    pub label: Option<String>,
    /// New kind.
    #[schema(value_type = Option<QualificationKind>)]
    pub kind: Option<String>,
    /// New final flag.
    pub is_final: Option<bool>,
    /// New retry delay; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, nullable, minimum = 0, maximum = 2592000)]
    pub retry_delay_secs: Option<Option<i64>>,
    /// New attempt cap; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, nullable, minimum = 1, maximum = 50)]
    pub max_attempts: Option<Option<i64>>,
}

/// Filters of the qualification list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QualificationQuery {
    /// Only this group.
    pub group_id: Option<i64>,
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only this kind.
    #[param(value_type = Option<QualificationKind>)]
    pub kind: Option<String>,
}

/// `is_final` when the body leaves it out.
fn default_final(kind: Kind) -> bool {
    !matches!(kind, Kind::Neutral | Kind::Callback)
}

fn parse_kind(v: &mut Validator, kind: &str) -> Option<Kind> {
    let parsed = kind.parse::<Kind>().ok();
    if parsed.is_none() {
        v.add(
            "kind",
            "invalid_kind",
            "must be one of positive, negative, neutral, callback, do_not_call, wrong_number",
        );
    }
    parsed
}

/// `do_not_call` and `wrong_number` are always final, `callback` never.
fn check_finality(v: &mut Validator, kind: Kind, is_final: bool) {
    match kind {
        Kind::DoNotCall | Kind::WrongNumber if !is_final => v.add(
            "is_final",
            "must_be_final",
            format!("a {} qualification is always final", kind.as_str()),
        ),
        Kind::Callback if is_final => v.add(
            "is_final",
            "must_not_be_final",
            "a callback qualification is never final",
        ),
        _ => {}
    }
}

fn validate_code(v: &mut Validator, code: &str) {
    let ok = (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        v.add(
            "code",
            "invalid_code",
            "1 to 32 letters, digits, '-' or '_'",
        );
    }
}

fn validate_retry(v: &mut Validator, retry_delay_secs: Option<i64>, max_attempts: Option<i64>) {
    if retry_delay_secs.is_some_and(|s| !(0..=MAX_RETRY_DELAY_SECS).contains(&s)) {
        v.add(
            "retry_delay_secs",
            "out_of_range",
            format!("must be between 0 and {MAX_RETRY_DELAY_SECS}"),
        );
    }
    if max_attempts.is_some_and(|n| !(1..=MAX_ATTEMPTS).contains(&n)) {
        v.add(
            "max_attempts",
            "out_of_range",
            format!("must be between 1 and {MAX_ATTEMPTS}"),
        );
    }
}

/// A validated value as stored (the ranges above fit an `i32`).
fn small(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn visible_group(
    principal: &Principal,
    conn: &mut DbConn,
    id: i64,
) -> Result<QualificationGroup, ApiError> {
    let group = QualificationGroup::find(conn, id).or_not_found(GROUP)?;
    principal.check_tenant(group.call_center_id, GROUP)?;
    Ok(group)
}

fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<Qualification, ApiError> {
    let qualification = Qualification::find(conn, id).or_not_found(ENTITY)?;
    principal.check_tenant(qualification.call_center_id, ENTITY)?;
    Ok(qualification)
}

/// The group a new qualification goes to; one the caller cannot see is a 422 on `group_id`.
fn target_group(
    principal: &Principal,
    conn: &mut DbConn,
    id: i64,
) -> Result<QualificationGroup, ApiError> {
    match visible_group(principal, conn, id) {
        Ok(group) => Ok(group),
        Err(ApiError::NotFound(_)) => Err(ApiError::field(
            "group_id",
            "not_found",
            "no such qualification group",
        )),
        Err(other) => Err(other),
    }
}

fn audit_group<T: Serialize>(
    conn: &mut DbConn,
    principal: &Principal,
    action: &str,
    id: i64,
    call_center_id: i64,
    before: Option<&T>,
    after: Option<&T>,
) -> Result<(), ApiError> {
    audit::record(
        conn,
        Some(principal),
        Change {
            action,
            entity: GROUP,
            entity_id: id.to_string(),
            call_center_id: Some(call_center_id),
            before,
            after,
        },
    )
}

fn audit_qualification(
    conn: &mut DbConn,
    principal: &Principal,
    action: &str,
    id: i64,
    call_center_id: i64,
    before: Option<&QualificationView>,
    after: Option<&QualificationView>,
) -> Result<(), ApiError> {
    audit::record(
        conn,
        Some(principal),
        Change {
            action,
            entity: ENTITY,
            entity_id: id.to_string(),
            call_center_id: Some(call_center_id),
            before,
            after,
        },
    )
}

/// Lists qualification groups (without their qualifications).
#[utoipa::path(get, path = "/api/qualification-groups", tag = "qualifications",
    params(PageParams, QualificationGroupQuery),
    responses((status = 200, body = Page<QualificationGroupView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_groups(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<QualificationGroupQuery>,
) -> Result<web::Json<Page<QualificationGroupView>>, ApiError> {
    principal.require(Resource::Qualification, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let filter = QualificationGroupFilter {
        call_center_id: principal.narrow_tenant(query.into_inner().call_center_id),
    };
    let (rows, total) = state
        .db
        .run(move |conn| Ok(QualificationGroup::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one qualification group with its qualifications.
#[utoipa::path(get, path = "/api/qualification-groups/{id}", tag = "qualifications",
    params(("id" = i64, Path, description = "Qualification group id")),
    responses((status = 200, body = QualificationGroupDetail), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_group(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<QualificationGroupDetail>, ApiError> {
    principal.require(Resource::Qualification, Action::Read)?;
    let id = id.into_inner();
    let detail = state
        .db
        .run(move |conn| {
            let group = visible_group(&principal, conn, id)?;
            let qualifications = Qualification::of_group(conn, id)?;
            Ok(QualificationGroupDetail {
                group: group.into(),
                qualifications: qualifications.into_iter().map(Into::into).collect(),
            })
        })
        .await?;
    Ok(web::Json(detail))
}

/// Creates a qualification group.
#[utoipa::path(post, path = "/api/qualification-groups", tag = "qualifications",
    request_body = CreateQualificationGroup,
    responses((status = 201, body = QualificationGroupView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_group(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateQualificationGroup>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Qualification, Action::Create)?;
    let body = body.0;
    let mut v = Validator::new();
    v.length("name", &body.name, 1, 100);
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let call_center_id = target_call_center(&principal, body.call_center_id, conn)?;
                let now = db::now();
                let row = QualificationGroup::create(
                    conn,
                    &NewQualificationGroup {
                        call_center_id,
                        name: body.name.trim(),
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("name_taken", NAME_TAKEN)?;
                let view = QualificationGroupView::from(row);
                audit_group(
                    conn,
                    &principal,
                    "qualification_group.create",
                    view.id,
                    call_center_id,
                    None,
                    Some(&view),
                )?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Renames a qualification group.
#[utoipa::path(patch, path = "/api/qualification-groups/{id}", tag = "qualifications",
    params(("id" = i64, Path, description = "Qualification group id")),
    request_body = UpdateQualificationGroup,
    responses((status = 200, body = QualificationGroupView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_group(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdateQualificationGroup>,
) -> Result<web::Json<QualificationGroupView>, ApiError> {
    principal.require(Resource::Qualification, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    if let Some(name) = &body.name {
        v.length("name", name, 1, 100);
    }
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = QualificationGroupView::from(visible_group(&principal, conn, id)?);
                let changes = QualificationGroupChanges {
                    name: body.name.map(|n| n.trim().to_string()),
                    updated_at: Some(db::now()),
                };
                let after = QualificationGroupView::from(
                    QualificationGroup::update(conn, id, &changes)
                        .or_conflict("name_taken", NAME_TAKEN)?,
                );
                audit_group(
                    conn,
                    &principal,
                    "qualification_group.update",
                    id,
                    after.call_center_id,
                    Some(&before),
                    Some(&after),
                )?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// Deletes a qualification group and its qualifications; 409 `in_use` while a campaign uses
/// it.
#[utoipa::path(delete, path = "/api/qualification-groups/{id}", tag = "qualifications",
    params(("id" = i64, Path, description = "Qualification group id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_group(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Qualification, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let group = visible_group(&principal, conn, id)?;
                let qualifications = Qualification::of_group(conn, id)?;
                let before = QualificationGroupDetail {
                    group: group.into(),
                    qualifications: qualifications.into_iter().map(Into::into).collect(),
                };
                QualificationGroup::delete(conn, id).or_conflict("in_use", GROUP_IN_USE)?;
                audit_group(
                    conn,
                    &principal,
                    "qualification_group.delete",
                    id,
                    before.group.call_center_id,
                    Some(&before),
                    None,
                )
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lists qualifications (agents included: they choose from them).
#[utoipa::path(get, path = "/api/qualifications", tag = "qualifications",
    params(PageParams, QualificationQuery),
    responses((status = 200, body = Page<QualificationView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<QualificationQuery>,
) -> Result<web::Json<Page<QualificationView>>, ApiError> {
    principal.require(Resource::Qualification, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    if let Some(kind) = &query.kind {
        let mut v = Validator::new();
        parse_kind(&mut v, kind);
        v.finish()?;
    }
    let filter = QualificationFilter {
        group_id: query.group_id,
        call_center_id: principal.narrow_tenant(query.call_center_id),
        kind: query.kind,
    };
    let (rows, total) = state
        .db
        .run(move |conn| Ok(Qualification::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one qualification.
#[utoipa::path(get, path = "/api/qualifications/{id}", tag = "qualifications",
    params(("id" = i64, Path, description = "Qualification id")),
    responses((status = 200, body = QualificationView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<QualificationView>, ApiError> {
    principal.require(Resource::Qualification, Action::Read)?;
    let id = id.into_inner();
    let row = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(web::Json(row.into()))
}

/// Creates a qualification in a group (see the module docs for the rules).
#[utoipa::path(post, path = "/api/qualifications", tag = "qualifications",
    request_body = CreateQualification,
    responses((status = 201, body = QualificationView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateQualification>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Qualification, Action::Create)?;
    let body = body.0;
    let mut v = Validator::new();
    validate_code(&mut v, &body.code);
    v.length("label", &body.label, 1, 100);
    let kind = parse_kind(&mut v, &body.kind);
    let is_final = match kind {
        Some(kind) => {
            let is_final = body.is_final.unwrap_or_else(|| default_final(kind));
            check_finality(&mut v, kind, is_final);
            is_final
        }
        None => body.is_final.unwrap_or(false),
    };
    validate_retry(&mut v, body.retry_delay_secs, body.max_attempts);
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let group = target_group(&principal, conn, body.group_id)?;
                let now = db::now();
                let row = Qualification::create(
                    conn,
                    &NewQualification {
                        call_center_id: group.call_center_id,
                        group_id: group.id,
                        code: &body.code,
                        label: body.label.trim(),
                        kind: &body.kind,
                        is_final,
                        retry_delay_secs: body.retry_delay_secs.map(small),
                        max_attempts: body.max_attempts.map(small),
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("code_taken", CODE_TAKEN)?;
                let view = QualificationView::from(row);
                audit_qualification(
                    conn,
                    &principal,
                    "qualification.create",
                    view.id,
                    view.call_center_id,
                    None,
                    Some(&view),
                )?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Changes a qualification (everything but its group; see the module docs for the rules,
/// checked on the result of the change).
#[utoipa::path(patch, path = "/api/qualifications/{id}", tag = "qualifications",
    params(("id" = i64, Path, description = "Qualification id")),
    request_body = UpdateQualification,
    responses((status = 200, body = QualificationView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdateQualification>,
) -> Result<web::Json<QualificationView>, ApiError> {
    principal.require(Resource::Qualification, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    if let Some(code) = &body.code {
        validate_code(&mut v, code);
    }
    if let Some(label) = &body.label {
        v.length("label", label, 1, 100);
    }
    let kind = body.kind.as_deref().and_then(|k| parse_kind(&mut v, k));
    validate_retry(
        &mut v,
        body.retry_delay_secs.flatten(),
        body.max_attempts.flatten(),
    );
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let current = visible(&principal, conn, id)?;
                // The rules hold for the qualification as it will be.
                let effective_kind = kind.or_else(|| current.kind.parse::<Kind>().ok());
                if let Some(kind) = effective_kind {
                    let mut v = Validator::new();
                    check_finality(&mut v, kind, body.is_final.unwrap_or(current.is_final));
                    v.finish()?;
                }
                let before = QualificationView::from(current);
                let changes = QualificationChanges {
                    code: body.code,
                    label: body.label.map(|l| l.trim().to_string()),
                    kind: body.kind,
                    is_final: body.is_final,
                    retry_delay_secs: body.retry_delay_secs.map(|s| s.map(small)),
                    max_attempts: body.max_attempts.map(|n| n.map(small)),
                    updated_at: Some(db::now()),
                };
                let after = QualificationView::from(
                    Qualification::update(conn, id, &changes)
                        .or_conflict("code_taken", CODE_TAKEN)?,
                );
                audit_qualification(
                    conn,
                    &principal,
                    "qualification.update",
                    id,
                    after.call_center_id,
                    Some(&before),
                    Some(&after),
                )?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// Deletes a qualification (call attempts qualified with it keep their row, without the link).
#[utoipa::path(delete, path = "/api/qualifications/{id}", tag = "qualifications",
    params(("id" = i64, Path, description = "Qualification id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Qualification, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = QualificationView::from(visible(&principal, conn, id)?);
                Qualification::delete(conn, id)
                    .or_conflict("in_use", "the qualification is still referenced")?;
                audit_qualification(
                    conn,
                    &principal,
                    "qualification.delete",
                    id,
                    before.call_center_id,
                    Some(&before),
                    None,
                )
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
