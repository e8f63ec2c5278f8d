//! Administrative operations run from the command line rather than over HTTP.

use crate::audit::{self, Change};
use crate::auth::password;
use crate::db::{self, Db};
use crate::error::ApiError;
use crate::handlers::users::UserView;
use crate::models::call_center::CallCenter;
use crate::models::user::{NewUser, Role, User};
use crate::validate::Validator;

/// What `callpro user create` asks for.
#[derive(Debug)]
pub struct NewUserSpec {
    /// Login email.
    pub email: String,
    /// Display name (defaults to the email).
    pub display_name: Option<String>,
    /// Role.
    pub role: Role,
    /// Tenant (required unless super admin).
    pub call_center_id: Option<i64>,
    /// Password, or `None` to generate one.
    pub password: Option<String>,
}

/// The created user.
#[derive(Debug)]
pub struct CreatedUser {
    /// Id.
    pub id: i64,
    /// Email.
    pub email: String,
    /// Role.
    pub role: Role,
    /// The generated password, if one was generated.
    pub generated_password: Option<String>,
}

/// Creates a user with the same rules as `POST /api/users`, audited as a system action.
pub fn create_user(db: &Db, spec: NewUserSpec) -> Result<CreatedUser, ApiError> {
    let email = spec.email.trim().to_lowercase();
    let mut v = Validator::new();
    v.email("email", &email);
    if let Some(pw) = &spec.password {
        v.length("password", pw, password::MIN_LEN, password::MAX_LEN);
    }
    match (spec.role, spec.call_center_id) {
        (Role::SuperAdmin, Some(_)) => v.add(
            "call_center",
            "not_allowed",
            "super admins belong to no call center",
        ),
        (Role::SuperAdmin, None) | (_, Some(_)) => {}
        (_, None) => v.add("call_center", "required", "name the call center"),
    }
    v.finish()?;
    let generated = spec.password.is_none().then(password::generate);
    let hash = password::hash(
        spec.password
            .as_deref()
            .or(generated.as_deref())
            .unwrap_or_default(),
    )?;
    let mut conn = db.get().map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let user = db::write_transaction(&mut conn, |conn| {
        if let Some(id) = spec.call_center_id {
            CallCenter::find(conn, id)
                .map_err(|_| ApiError::field("call_center", "not_found", "no such call center"))?;
        }
        if User::find_by_email(conn, &email)?.is_some() {
            return Err(ApiError::conflict(
                "email_taken",
                "another user has this email",
            ));
        }
        let now = db::now();
        let user = User::create(
            conn,
            &NewUser {
                email: &email,
                display_name: spec.display_name.as_deref().unwrap_or(&email),
                password_hash: &hash,
                role: spec.role.as_str(),
                call_center_id: spec.call_center_id,
                site_id: None,
                sip_extension: None,
                active: true,
                created_at: now,
                updated_at: now,
            },
        )?;
        let view = UserView::from(&user);
        audit::record(
            conn,
            None,
            Change {
                action: "user.create",
                entity: "user",
                entity_id: user.id.to_string(),
                call_center_id: user.call_center_id,
                before: None,
                after: Some(&view),
            },
        )?;
        Ok(user)
    })?;
    Ok(CreatedUser {
        id: user.id,
        role: user.role(),
        email: user.email,
        generated_password: generated,
    })
}
