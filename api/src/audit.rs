//! Writing the audit log. Call [`record`] inside the transaction of the change it describes,
//! so the entry exists exactly when the change does.

use serde::Serialize;

use crate::auth::Principal;
use crate::db::{self, DbConn};
use crate::error::ApiError;
use crate::models::audit::{AuditEntry, NewAuditEntry};

/// One change to describe.
#[derive(Debug)]
pub struct Change<'a, T: Serialize> {
    /// Dotted action, e.g. `user.update`.
    pub action: &'a str,
    /// Entity type, e.g. `user`.
    pub entity: &'a str,
    /// Entity id.
    pub entity_id: String,
    /// Tenant concerned.
    pub call_center_id: Option<i64>,
    /// The public view before the change (`None` on create).
    pub before: Option<&'a T>,
    /// The public view after the change (`None` on delete).
    pub after: Option<&'a T>,
}

fn to_json<T: Serialize>(value: Option<&T>) -> Result<Option<String>, ApiError> {
    value
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| ApiError::internal(format!("audit json: {e}")))
}

/// Appends one entry attributed to `actor` (`None`: the system itself).
pub fn record<T: Serialize>(
    conn: &mut DbConn,
    actor: Option<&Principal>,
    change: Change<'_, T>,
) -> Result<(), ApiError> {
    AuditEntry::insert(
        conn,
        &NewAuditEntry {
            actor_user_id: actor.map(Principal::id),
            call_center_id: change.call_center_id,
            action: change.action.to_string(),
            entity: change.entity.to_string(),
            entity_id: Some(change.entity_id),
            before_json: to_json(change.before)?,
            after_json: to_json(change.after)?,
            ip: actor.map(|p| p.ip.clone()),
            created_at: db::now(),
        },
    )?;
    Ok(())
}
