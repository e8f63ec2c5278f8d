//! SIP trunks: how Asterisk reaches each site's gateway.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::schema::sip_trunks;
use crate::db::{Backend, DbConn};

/// A stored trunk.
#[derive(Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sip_trunks)]
pub struct Trunk {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Site whose gateway this is.
    pub site_id: Option<i64>,
    /// Asterisk endpoint name, unique.
    pub name: String,
    /// Gateway host name or address.
    pub host: String,
    /// Gateway SIP port.
    pub port: i32,
    /// `udp`, `tcp` or `tls`.
    pub transport: String,
    /// Registration/auth user, when the gateway wants one.
    pub username: Option<String>,
    /// Sealed password.
    pub password_enc: Option<String>,
    /// Concurrent calls allowed (0 = unlimited).
    pub max_channels: i32,
    /// Inactive trunks are neither probed nor rendered into Asterisk's configuration.
    pub active: bool,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

impl std::fmt::Debug for Trunk {
    // Hand-written so that the sealed password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trunk")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = sip_trunks)]
pub struct NewTrunk<'a> {
    /// Owning call center.
    pub call_center_id: i64,
    /// Site.
    pub site_id: Option<i64>,
    /// Endpoint name.
    pub name: &'a str,
    /// Host.
    pub host: &'a str,
    /// Port.
    pub port: i32,
    /// Transport.
    pub transport: &'a str,
    /// User.
    pub username: Option<&'a str>,
    /// Sealed password.
    pub password_enc: Option<String>,
    /// Channel cap.
    pub max_channels: i32,
    /// Active flag.
    pub active: bool,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = sip_trunks)]
pub struct TrunkChanges {
    /// New site (`Some(None)` clears).
    pub site_id: Option<Option<i64>>,
    /// New name.
    pub name: Option<String>,
    /// New host.
    pub host: Option<String>,
    /// New port.
    pub port: Option<i32>,
    /// New transport.
    pub transport: Option<String>,
    /// New user (`Some(None)` clears).
    pub username: Option<Option<String>>,
    /// New sealed password (`Some(None)` clears).
    pub password_enc: Option<Option<String>>,
    /// New cap.
    pub max_channels: Option<i32>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

/// List filters.
#[derive(Debug, Default)]
pub struct TrunkFilter {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only this site.
    pub site_id: Option<i64>,
    /// Only active or inactive trunks.
    pub active: Option<bool>,
}

impl TrunkFilter {
    fn query(&self) -> sip_trunks::BoxedQuery<'static, Backend> {
        let mut query = sip_trunks::table.into_boxed();
        if let Some(v) = self.call_center_id {
            query = query.filter(sip_trunks::call_center_id.eq(v));
        }
        if let Some(v) = self.site_id {
            query = query.filter(sip_trunks::site_id.eq(v));
        }
        if let Some(v) = self.active {
            query = query.filter(sip_trunks::active.eq(v));
        }
        query
    }
}

impl Trunk {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        sip_trunks::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
    }

    /// One page plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &TrunkFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(sip_trunks::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// The active trunk calls of `site_id` leave through: the site's own, else any of the call
    /// center's.
    pub fn for_site(
        conn: &mut DbConn,
        call_center_id: i64,
        site_id: Option<i64>,
    ) -> QueryResult<Option<Self>> {
        let trunks: Vec<Self> = sip_trunks::table
            .filter(sip_trunks::call_center_id.eq(call_center_id))
            .filter(sip_trunks::active.eq(true))
            .order(sip_trunks::id.asc())
            .select(Self::as_select())
            .load(conn)?;
        let own = trunks
            .iter()
            .position(|t| site_id.is_some() && t.site_id == site_id);
        Ok(own
            .or((!trunks.is_empty()).then_some(0))
            .and_then(|i| trunks.into_iter().nth(i)))
    }

    /// Every active trunk (for the prober and the Asterisk configuration).
    pub fn all_active(conn: &mut DbConn) -> QueryResult<Vec<Self>> {
        sip_trunks::table
            .filter(sip_trunks::active.eq(true))
            .order(sip_trunks::id.asc())
            .select(Self::as_select())
            .load(conn)
    }

    /// Names of a call center's trunks (what IVR transfers may leave through).
    pub fn names_of_center(conn: &mut DbConn, call_center_id: i64) -> QueryResult<Vec<String>> {
        sip_trunks::table
            .filter(sip_trunks::call_center_id.eq(call_center_id))
            .select(sip_trunks::name)
            .load(conn)
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewTrunk<'_>) -> QueryResult<Self> {
        diesel::insert_into(sip_trunks::table)
            .values(new)
            .returning(sip_trunks::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &TrunkChanges) -> QueryResult<Self> {
        diesel::update(sip_trunks::table.find(id))
            .set(changes)
            .returning(sip_trunks::all_columns)
            .get_result(conn)
    }

    /// Deletes.
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(sip_trunks::table.find(id)).execute(conn)
    }
}
