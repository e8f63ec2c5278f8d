//! First-run set-up: the JWT signing key and the first super admin.

use crate::auth::password;
use crate::config::Config;
use crate::crypto::{SecretBox, random_token};
use crate::db::{self, DbConn};
use crate::error::ApiError;
use crate::models::settings;
use crate::models::user::{NewUser, Role, User};
use crate::secret::Secret;

/// Default email of the first super admin.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@callpro.local";

/// The configured JWT key, else the one stored (sealed) in the database, generated on first run.
pub fn jwt_secret(
    conn: &mut DbConn,
    config: &Config,
    secrets: &SecretBox,
) -> Result<Secret, ApiError> {
    if let Some(secret) = &config.auth.jwt_secret {
        return Ok(secret.clone());
    }
    if let Some(sealed) = settings::get(conn, settings::JWT_SECRET)? {
        return Ok(Secret::new(secrets.open(&sealed)?));
    }
    let fresh = random_token(48);
    match settings::insert(conn, settings::JWT_SECRET, &secrets.seal(&fresh)) {
        Ok(_) => Ok(Secret::new(fresh)),
        // Another instance generated one at the same moment: use theirs.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => {
            let sealed = settings::get(conn, settings::JWT_SECRET)?
                .ok_or_else(|| ApiError::internal("jwt secret vanished"))?;
            Ok(Secret::new(secrets.open(&sealed)?))
        }
        Err(e) => Err(e.into()),
    }
}

/// What the bootstrap did.
#[derive(Debug)]
pub struct Bootstrapped {
    /// The super admin's email.
    pub email: String,
    /// The password, when it was generated (to be shown once).
    pub generated_password: Option<String>,
}

/// Creates the first super admin on a database that never had one; does nothing afterwards,
/// even if every user is later deleted.
pub fn first_admin(conn: &mut DbConn, config: &Config) -> Result<Option<Bootstrapped>, ApiError> {
    let email = config
        .bootstrap
        .admin_email
        .as_deref()
        .unwrap_or(DEFAULT_ADMIN_EMAIL)
        .trim()
        .to_lowercase();
    let configured = config
        .bootstrap
        .admin_password
        .as_ref()
        .map(|p| p.expose().to_string());
    db::write_transaction(conn, |conn| {
        if settings::get(conn, settings::BOOTSTRAPPED)?.is_some() {
            return Ok(None);
        }
        settings::insert(conn, settings::BOOTSTRAPPED, &db::now().to_string())?;
        if User::count(conn)? > 0 {
            return Ok(None);
        }
        let generated = configured.is_none().then(password::generate);
        let plain = configured
            .clone()
            .or_else(|| generated.clone())
            .unwrap_or_default();
        let now = db::now();
        User::create(
            conn,
            &NewUser {
                email: &email,
                display_name: "Super admin",
                password_hash: &password::hash(&plain)?,
                role: Role::SuperAdmin.as_str(),
                call_center_id: None,
                site_id: None,
                sip_extension: None,
                active: true,
                created_at: now,
                updated_at: now,
            },
        )?;
        Ok(Some(Bootstrapped {
            email: email.clone(),
            generated_password: generated,
        }))
    })
}
