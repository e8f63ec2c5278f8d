//! Server-wide key/value settings: generated secrets and one-time markers.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::server_settings;

/// Key of the generated JWT signing key (sealed).
pub const JWT_SECRET: &str = "jwt_secret";
/// Present once the first super admin was created.
pub const BOOTSTRAPPED: &str = "bootstrapped_at";

/// Reads one setting.
pub fn get(conn: &mut DbConn, key: &str) -> QueryResult<Option<String>> {
    server_settings::table
        .find(key)
        .select(server_settings::setting_value)
        .first(conn)
        .optional()
}

/// Inserts a setting; a unique violation means another instance got there first.
pub fn insert(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<usize> {
    diesel::insert_into(server_settings::table)
        .values((
            server_settings::setting_key.eq(key),
            server_settings::setting_value.eq(value),
        ))
        .execute(conn)
}
