//! Users: everyone who logs in, with a role, a call center (none for super admins), a site and
//! a SIP extension; plus their MFA state and recovery codes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{PageRequest, contains_pattern, lower};
use crate::db::schema::{agent_group_members, recovery_codes, users};
use crate::db::{Backend, DbConn};

/// What a user may do, from least to most privileged.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Handles calls and leads; sees only themselves.
    Agent,
    /// Reads their call center's groups and agents; supervises calls.
    Supervisor,
    /// Manages their call center.
    Owner,
    /// Manages everything.
    SuperAdmin,
}

impl Role {
    /// Every role, least privileged first.
    pub const ALL: [Role; 4] = [Role::Agent, Role::Supervisor, Role::Owner, Role::SuperAdmin];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Owner => "owner",
            Role::SuperAdmin => "super_admin",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored user.
#[derive(Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    /// Primary key.
    pub id: i64,
    /// Login, lower-cased, unique.
    pub email: String,
    /// Name shown to others.
    pub display_name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Stored role name; read it with [`User::role`].
    pub role: String,
    /// Tenant; `None` only for super admins.
    pub call_center_id: Option<i64>,
    /// Site within the tenant.
    pub site_id: Option<i64>,
    /// SIP extension (agents' phones).
    pub sip_extension: Option<String>,
    /// Inactive users cannot log in.
    pub active: bool,
    /// Sealed TOTP secret (pending until `totp_enabled`).
    pub totp_secret: Option<String>,
    /// MFA required at login.
    pub totp_enabled: bool,
    /// Last accepted TOTP time step (refuses code replay).
    pub totp_last_step: Option<i64>,
    /// Last successful login (UTC).
    pub last_login_at: Option<NaiveDateTime>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

impl std::fmt::Debug for User {
    // Hand-written so that the password hash and TOTP secret never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("call_center_id", &self.call_center_id)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl User {
    /// The role; the database's CHECK constraint guarantees a known name.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Agent)
    }
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Lower-cased email.
    pub email: &'a str,
    /// Name.
    pub display_name: &'a str,
    /// argon2id hash.
    pub password_hash: &'a str,
    /// Role name.
    pub role: &'a str,
    /// Tenant.
    pub call_center_id: Option<i64>,
    /// Site.
    pub site_id: Option<i64>,
    /// Extension.
    pub sip_extension: Option<&'a str>,
    /// Active flag.
    pub active: bool,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    /// New email.
    pub email: Option<String>,
    /// New name.
    pub display_name: Option<String>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// New role.
    pub role: Option<String>,
    /// New site (`Some(None)` clears).
    pub site_id: Option<Option<i64>>,
    /// New extension (`Some(None)` clears).
    pub sip_extension: Option<Option<String>>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// MFA secret (`Some(None)` clears).
    pub totp_secret: Option<Option<String>>,
    /// MFA flag.
    pub totp_enabled: Option<bool>,
    /// Last accepted TOTP step.
    pub totp_last_step: Option<Option<i64>>,
    /// Last login.
    pub last_login_at: Option<Option<NaiveDateTime>>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

/// List filters; the authorization scope is applied through the same fields.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    /// Only this tenant.
    pub call_center_id: Option<i64>,
    /// Only this site.
    pub site_id: Option<i64>,
    /// Only members of this group.
    pub group_id: Option<i64>,
    /// Only these roles.
    pub roles: Option<Vec<Role>>,
    /// Only these ids (scope: "themselves").
    pub ids: Option<Vec<i64>>,
    /// Active flag.
    pub active: Option<bool>,
    /// Email or name contains.
    pub q: Option<String>,
}

impl UserFilter {
    fn query(&self) -> users::BoxedQuery<'static, Backend> {
        let mut query = users::table.into_boxed();
        if let Some(id) = self.call_center_id {
            query = query.filter(users::call_center_id.eq(id));
        }
        if let Some(id) = self.site_id {
            query = query.filter(users::site_id.eq(id));
        }
        if let Some(group) = self.group_id {
            query = query.filter(
                users::id.eq_any(
                    agent_group_members::table
                        .filter(agent_group_members::group_id.eq(group))
                        .select(agent_group_members::user_id),
                ),
            );
        }
        if let Some(roles) = &self.roles {
            let names: Vec<&'static str> = roles.iter().map(|r| r.as_str()).collect();
            query = query.filter(users::role.eq_any(names));
        }
        if let Some(ids) = &self.ids {
            query = query.filter(users::id.eq_any(ids.clone()));
        }
        if let Some(active) = self.active {
            query = query.filter(users::active.eq(active));
        }
        if let Some(q) = self.q.as_deref().filter(|q| !q.trim().is_empty()) {
            let pattern = contains_pattern(q);
            query = query.filter(
                users::email
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(users::display_name).like(pattern).escape('\\')),
            );
        }
        query
    }
}

impl User {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        users::table.find(id).select(Self::as_select()).first(conn)
    }

    /// By (lower-cased) email.
    pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<Self>> {
        users::table
            .filter(users::email.eq(email))
            .select(Self::as_select())
            .first(conn)
            .optional()
    }

    /// One page plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &UserFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(users::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Every (SIP extension, call center) pair, for the live state's tenant map.
    pub fn extensions(conn: &mut DbConn) -> QueryResult<Vec<(String, i64)>> {
        users::table
            .filter(users::sip_extension.is_not_null())
            .filter(users::call_center_id.is_not_null())
            .select((
                users::sip_extension.assume_not_null(),
                users::call_center_id.assume_not_null(),
            ))
            .load(conn)
    }

    /// Ids of a call center's active users (who an IVR may transfer to).
    pub fn active_ids_of_center(conn: &mut DbConn, call_center_id: i64) -> QueryResult<Vec<i64>> {
        users::table
            .filter(users::call_center_id.eq(call_center_id))
            .filter(users::active.eq(true))
            .select(users::id)
            .load(conn)
    }

    /// (user id, SIP extension) of those of `ids` that are active users of the call center
    /// and carry a phone.
    pub fn extensions_of(
        conn: &mut DbConn,
        call_center_id: i64,
        ids: &[i64],
    ) -> QueryResult<Vec<(i64, String)>> {
        users::table
            .filter(users::call_center_id.eq(call_center_id))
            .filter(users::id.eq_any(ids))
            .filter(users::active.eq(true))
            .filter(users::sip_extension.is_not_null())
            .select((users::id, users::sip_extension.assume_not_null()))
            .load(conn)
    }

    /// Number of users in the database.
    pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
        users::table.count().get_result(conn)
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewUser<'_>) -> QueryResult<Self> {
        diesel::insert_into(users::table)
            .values(new)
            .returning(users::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &UserChanges) -> QueryResult<Self> {
        diesel::update(users::table.find(id))
            .set(changes)
            .returning(users::all_columns)
            .get_result(conn)
    }

    /// Deletes (memberships, tokens and recovery codes go with the user).
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(users::table.find(id)).execute(conn)
    }

    /// Records a TOTP step as used, only if it is newer than the last one (atomic replay guard).
    pub fn advance_totp_step(conn: &mut DbConn, id: i64, step: i64) -> QueryResult<bool> {
        let updated = diesel::update(
            users::table.find(id).filter(
                users::totp_last_step
                    .is_null()
                    .or(users::totp_last_step.lt(step)),
            ),
        )
        .set(users::totp_last_step.eq(step))
        .execute(conn)?;
        Ok(updated == 1)
    }
}

/// A hashed one-time recovery code.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = recovery_codes)]
pub struct RecoveryCode {
    /// Primary key.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// SHA-256 of the normalised code.
    pub code_hash: String,
    /// When it was spent.
    pub used_at: Option<NaiveDateTime>,
}

impl RecoveryCode {
    /// Replaces the user's codes with these hashes.
    pub fn replace_all(conn: &mut DbConn, user_id: i64, hashes: &[String]) -> QueryResult<()> {
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
            .execute(conn)?;
        for hash in hashes {
            diesel::insert_into(recovery_codes::table)
                .values((
                    recovery_codes::user_id.eq(user_id),
                    recovery_codes::code_hash.eq(hash),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    /// Spends an unused code with this hash; `false` when there is none.
    pub fn consume(
        conn: &mut DbConn,
        user_id: i64,
        hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let updated = diesel::update(
            recovery_codes::table
                .filter(recovery_codes::user_id.eq(user_id))
                .filter(recovery_codes::code_hash.eq(hash))
                .filter(recovery_codes::used_at.is_null()),
        )
        .set(recovery_codes::used_at.eq(now))
        .execute(conn)?;
        Ok(updated > 0)
    }
}
