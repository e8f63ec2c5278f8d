//! `/api/trunks`: SIP trunks to each site's gateway. Passwords are sealed at rest and never
//! returned.

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
use crate::models::site::Site;
use crate::models::trunk::{NewTrunk, Trunk, TrunkChanges, TrunkFilter};
use crate::state::AppState;
use crate::validate::{Validator, double_option};

const ENTITY: &str = "trunk";
const NAME_TAKEN: &str = "a trunk with this name exists (names are Asterisk endpoint names)";

/// Transport of a trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// SIP over UDP (the gateways' default).
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS.
    Tls,
}

impl Transport {
    fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "tcp" => Transport::Tcp,
            "tls" => Transport::Tls,
            _ => Transport::Udp,
        }
    }
}

/// A trunk as the API shows it (never the password).
#[derive(Debug, Serialize, ToSchema)]
pub struct TrunkView {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Site whose gateway this is.
    pub site_id: Option<i64>,
    /// Asterisk endpoint name.
    pub name: String,
    /// Gateway host.
    pub host: String,
    /// Gateway port.
    pub port: i32,
    /// Transport.
    pub transport: Transport,
    /// Auth user.
    pub username: Option<String>,
    /// Whether a password is stored.
    pub has_password: bool,
    /// Concurrent calls allowed (0 = unlimited).
    pub max_channels: i32,
    /// Probed and rendered into Asterisk's configuration.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Trunk> for TrunkView {
    fn from(t: Trunk) -> Self {
        Self {
            id: t.id,
            call_center_id: t.call_center_id,
            site_id: t.site_id,
            transport: Transport::parse(&t.transport),
            has_password: t.password_enc.is_some(),
            name: t.name,
            host: t.host,
            port: t.port,
            username: t.username,
            max_channels: t.max_channels,
            active: t.active,
            created_at: utc(t.created_at),
            updated_at: utc(t.updated_at),
        }
    }
}

/// Body of `POST /api/trunks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTrunk {
    /// Call center; defaults to the caller's own.
    pub call_center_id: Option<i64>,
    /// Site in the same call center.
    pub site_id: Option<i64>,
    /// Asterisk endpoint name: letters, digits, `-`, `_`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "yeastar-paris")]
    pub name: String,
    /// Gateway host name or IP address.
    #[schema(min_length = 1, max_length = 253, example = "192.0.2.10")]
    pub host: String,
    /// Gateway port (default 5060).
    #[schema(minimum = 1, maximum = 65535)]
    pub port: Option<u16>,
    /// Transport (default `udp`).
    pub transport: Option<Transport>,
    /// Auth user.
    #[schema(max_length = 128)]
    pub username: Option<String>,
    /// Auth password (stored encrypted, never returned).
    #[schema(max_length = 256)]
    pub password: Option<String>,
    /// Concurrent calls allowed (default 30, 0 = unlimited).
    #[schema(minimum = 0, maximum = 10000)]
    pub max_channels: Option<u16>,
    /// Default true.
    pub active: Option<bool>,
}

/// Body of `PATCH /api/trunks/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTrunk {
    /// New site; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, nullable)]
    pub site_id: Option<Option<i64>>,
    /// New endpoint name.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub name: Option<String>,
    /// New host.
    #[schema(min_length = 1, max_length = 253)]
    pub host: Option<String>,
    /// New port.
    #[schema(minimum = 1, maximum = 65535)]
    pub port: Option<u16>,
    /// New transport.
    pub transport: Option<Transport>,
    /// New user; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub username: Option<Option<String>>,
    /// New password; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub password: Option<Option<String>>,
    /// New cap.
    #[schema(minimum = 0, maximum = 10000)]
    pub max_channels: Option<u16>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrunkQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only this site.
    pub site_id: Option<i64>,
    /// Only active or inactive trunks.
    pub active: Option<bool>,
}

fn validate_name(v: &mut Validator, name: &str) {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        v.add(
            "name",
            "invalid_name",
            "1 to 64 letters, digits, '-' or '_'",
        );
    }
}

fn validate_host(v: &mut Validator, host: &str) {
    let ok = (1..=253).contains(&host.len())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !ok {
        v.add(
            "host",
            "invalid_host",
            "must be a host name or an IP address",
        );
    }
}

fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<Trunk, ApiError> {
    let trunk = Trunk::find(conn, id).or_not_found(ENTITY)?;
    principal.check_tenant(trunk.call_center_id, ENTITY)?;
    Ok(trunk)
}

fn check_site(conn: &mut DbConn, site_id: i64, call_center_id: i64) -> Result<(), ApiError> {
    match Site::find(conn, site_id) {
        Ok(site) if site.call_center_id == call_center_id => Ok(()),
        _ => Err(ApiError::field(
            "site_id",
            "not_found",
            "no such site in the trunk's call center",
        )),
    }
}

fn audit_trunk(
    conn: &mut DbConn,
    principal: &Principal,
    action: &str,
    id: i64,
    call_center_id: i64,
    before: Option<&TrunkView>,
    after: Option<&TrunkView>,
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

/// Lists trunks.
#[utoipa::path(get, path = "/api/trunks", tag = "trunks",
    params(PageParams, TrunkQuery),
    responses((status = 200, body = Page<TrunkView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<TrunkQuery>,
) -> Result<web::Json<Page<TrunkView>>, ApiError> {
    principal.require(Resource::Trunk, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    let filter = TrunkFilter {
        call_center_id: principal.narrow_tenant(query.call_center_id),
        site_id: query.site_id,
        active: query.active,
    };
    let (rows, total) = state
        .db
        .run(move |conn| Ok(Trunk::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one trunk.
#[utoipa::path(get, path = "/api/trunks/{id}", tag = "trunks",
    params(("id" = i64, Path, description = "Trunk id")),
    responses((status = 200, body = TrunkView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<TrunkView>, ApiError> {
    principal.require(Resource::Trunk, Action::Read)?;
    let id = id.into_inner();
    let trunk = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(web::Json(trunk.into()))
}

/// Creates a trunk.
#[utoipa::path(post, path = "/api/trunks", tag = "trunks",
    request_body = CreateTrunk,
    responses((status = 201, body = TrunkView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateTrunk>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Trunk, Action::Create)?;
    let body = body.0;
    let mut v = Validator::new();
    validate_name(&mut v, &body.name);
    validate_host(&mut v, &body.host);
    if body.port == Some(0) {
        v.add("port", "out_of_range", "must be between 1 and 65535");
    }
    if let Some(user) = &body.username {
        v.length("username", user, 1, 128);
    }
    if let Some(pw) = &body.password {
        v.length("password", pw, 1, 256);
    }
    v.finish()?;
    let sealed = body.password.as_deref().map(|pw| state.secrets.seal(pw));
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let call_center_id = target_call_center(&principal, body.call_center_id, conn)?;
                if let Some(site_id) = body.site_id {
                    check_site(conn, site_id, call_center_id)?;
                }
                let now = db::now();
                let row = Trunk::create(
                    conn,
                    &NewTrunk {
                        call_center_id,
                        site_id: body.site_id,
                        name: &body.name,
                        host: &body.host,
                        port: i32::from(body.port.unwrap_or(5060)),
                        transport: body.transport.unwrap_or(Transport::Udp).as_str(),
                        username: body.username.as_deref(),
                        password_enc: sealed,
                        max_channels: i32::from(body.max_channels.unwrap_or(30)),
                        active: body.active.unwrap_or(true),
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("name_taken", NAME_TAKEN)?;
                let view = TrunkView::from(row);
                audit_trunk(
                    conn,
                    &principal,
                    "trunk.create",
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

/// Changes a trunk.
#[utoipa::path(patch, path = "/api/trunks/{id}", tag = "trunks",
    params(("id" = i64, Path, description = "Trunk id")),
    request_body = UpdateTrunk,
    responses((status = 200, body = TrunkView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdateTrunk>,
) -> Result<web::Json<TrunkView>, ApiError> {
    principal.require(Resource::Trunk, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    if let Some(name) = &body.name {
        validate_name(&mut v, name);
    }
    if let Some(host) = &body.host {
        validate_host(&mut v, host);
    }
    if body.port == Some(0) {
        v.add("port", "out_of_range", "must be between 1 and 65535");
    }
    if let Some(Some(user)) = &body.username {
        v.length("username", user, 1, 128);
    }
    if let Some(Some(pw)) = &body.password {
        v.length("password", pw, 1, 256);
    }
    v.finish()?;
    let sealed = body
        .password
        .as_ref()
        .map(|pw| pw.as_deref().map(|pw| state.secrets.seal(pw)));
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let current = visible(&principal, conn, id)?;
                if let Some(Some(site_id)) = body.site_id {
                    check_site(conn, site_id, current.call_center_id)?;
                }
                let before = TrunkView::from(current);
                let changes = TrunkChanges {
                    site_id: body.site_id,
                    name: body.name,
                    host: body.host,
                    port: body.port.map(i32::from),
                    transport: body.transport.map(|t| t.as_str().to_string()),
                    username: body.username,
                    password_enc: sealed,
                    max_channels: body.max_channels.map(i32::from),
                    active: body.active,
                    updated_at: Some(db::now()),
                };
                let after = TrunkView::from(
                    Trunk::update(conn, id, &changes).or_conflict("name_taken", NAME_TAKEN)?,
                );
                if after.name != before.name {
                    not_dialed_by_flows(conn, &before)?;
                }
                audit_trunk(
                    conn,
                    &principal,
                    "trunk.update",
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

/// Deletes a trunk.
#[utoipa::path(delete, path = "/api/trunks/{id}", tag = "trunks",
    params(("id" = i64, Path, description = "Trunk id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Trunk, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = TrunkView::from(visible(&principal, conn, id)?);
                not_dialed_by_flows(conn, &before)?;
                Trunk::delete(conn, id)
                    .or_conflict("trunk_in_use", "the trunk is still referenced")?;
                audit_trunk(
                    conn,
                    &principal,
                    "trunk.delete",
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

/// Refuses (409 `trunk_in_use`) renaming or deleting a trunk an IVR transfer dials through.
fn not_dialed_by_flows(conn: &mut DbConn, before: &TrunkView) -> Result<(), ApiError> {
    match used_by_flows(conn, before.call_center_id, None, |refs| {
        refs.trunks.contains(&before.name)
    })? {
        Some(reason) => Err(ApiError::conflict(
            "trunk_in_use",
            format!(
                "IVR transfers dial through trunk `{}`: {reason}",
                before.name
            ),
        )),
        None => Ok(()),
    }
}
