//! The IVR wired to the database: the [`Catalog`] a flow is validated against when it is saved
//! or published, the published flows the FastAGI `/ivr` service walks ([`DbFlowSource`]) and
//! the record of every session it runs ([`DbSessionSink`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use callpro_engine::agi::BoxFuture;
use callpro_ivr::driver::SourceError;
use callpro_ivr::{
    Catalog, Flow, FlowSource, LoadedFlow, Lookup, References, SessionRecord, SessionSink,
    SessionStart,
};
use chrono::{DateTime, NaiveDateTime, Timelike as _, Utc};
use diesel::OptionalExtension as _;
use diesel::result::QueryResult;

use crate::db::{Db, DbConn};
use crate::error::ApiError;
use crate::models::call_center::CallCenter;
use crate::models::did::Did;
use crate::models::group::Group;
use crate::models::ivr_flow::{FlowVersion, IvrFlow};
use crate::models::ivr_session::{IN_PROGRESS, IvrSession, IvrSessionChanges, NewIvrSession};
use crate::models::prompt::Prompt;
use crate::models::trunk::Trunk;
use crate::models::user::User;

/// What a flow of `call_center_id` may refer to, as stored now. `this_flow` is the flow being
/// saved, when it exists already.
pub fn catalog(
    conn: &mut DbConn,
    call_center_id: i64,
    this_flow: Option<i64>,
) -> QueryResult<Catalog> {
    Ok(Catalog {
        prompts: Prompt::names(conn, call_center_id)?,
        groups: Group::ids_of_center(conn, call_center_id)?
            .into_iter()
            .collect(),
        agents: User::active_ids_of_center(conn, call_center_id)?
            .into_iter()
            .collect(),
        trunks: Trunk::names_of_center(conn, call_center_id)?
            .into_iter()
            .collect(),
        flows: IvrFlow::published_ids(conn, call_center_id)?
            .into_iter()
            .collect(),
        this_flow,
        time_zone: time_zone(conn, call_center_id)?,
    })
}

fn time_zone(conn: &mut DbConn, call_center_id: i64) -> QueryResult<Option<String>> {
    Ok(CallCenter::find(conn, call_center_id)
        .optional()?
        .map(|c| c.time_zone))
}

/// What a stored definition refers to. A definition that does not parse refers to nothing.
pub fn references_of(definition: &str) -> References {
    serde_json::from_str(definition)
        .ok()
        .and_then(|value| Flow::parse(&value).ok())
        .map(|flow| flow.references())
        .unwrap_or_default()
}

/// Why something a flow of `call_center_id` refers to cannot go: the first flow (draft or
/// published version, other than `except`) for which `uses` holds, as a sentence; `None` when
/// no flow uses it.
pub fn used_by_flows(
    conn: &mut DbConn,
    call_center_id: i64,
    except: Option<i64>,
    uses: impl Fn(&References) -> bool,
) -> QueryResult<Option<String>> {
    for flow in IvrFlow::of_center(conn, call_center_id)? {
        if Some(flow.id) == except {
            continue;
        }
        if uses(&references_of(&flow.definition)) {
            return Ok(Some(format!("the draft of flow `{}` uses it", flow.name)));
        }
        if let Some(version) = flow.published_version {
            let published = FlowVersion::find(conn, flow.id, version)?;
            if uses(&references_of(&published.definition)) {
                return Ok(Some(format!(
                    "version {version} of flow `{}`, live on its DIDs, uses it",
                    flow.name
                )));
            }
        }
    }
    Ok(None)
}

/// Why the IVR's store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A query failed.
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    /// No connection could be had.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A published version cannot be read back (it was valid when published).
    #[error("flow {flow_id} version {version} cannot be read: {reason}")]
    BrokenVersion {
        /// The flow.
        flow_id: i64,
        /// The version.
        version: i32,
        /// What is wrong with it.
        reason: String,
    },
}

impl From<ApiError> for StoreError {
    fn from(e: ApiError) -> Self {
        StoreError::Unavailable(describe(&e))
    }
}

/// An error's full text: a 500's detail is kept out of responses, not out of logs.
fn describe(e: &ApiError) -> String {
    match e {
        ApiError::Internal(detail) => detail.clone(),
        other => other.to_string(),
    }
}

/// Flow id → its newest parsed version; older ones are never asked for again.
type FlowCache = HashMap<i64, (i32, Arc<Flow>)>;

/// Published flows from the database. Parsed versions are cached: a published version never
/// changes, so only the version number is read on each call.
#[derive(Clone)]
pub struct DbFlowSource {
    db: Db,
    cache: Arc<Mutex<FlowCache>>,
}

impl std::fmt::Debug for DbFlowSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbFlowSource")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl DbFlowSource {
    /// A source reading `db`.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            cache: Arc::default(),
        }
    }

    /// The DID's flow. Tries the number as dialed, then with or without its leading `+`.
    pub fn lookup_did(&self, conn: &mut DbConn, number: &str) -> Result<Lookup, StoreError> {
        let other = match number.strip_prefix('+') {
            Some(bare) => bare.to_owned(),
            None => format!("+{number}"),
        };
        let mut found = None;
        for candidate in [number, other.as_str()] {
            if let Some(did) = Did::active_by_number(conn, candidate)? {
                found = Some(did);
                break;
            }
        }
        let Some(did) = found else {
            return Ok(Lookup::UnknownDid);
        };
        let not_published = Lookup::NotPublished {
            call_center_id: did.call_center_id,
        };
        let Some(flow_id) = did.flow_id else {
            return Ok(not_published);
        };
        Ok(match self.lookup_flow(conn, did.call_center_id, flow_id)? {
            Some(flow) => Lookup::Found(flow),
            None => not_published,
        })
    }

    /// The published version of a flow of `call_center_id`; `None` when the flow is another
    /// center's, gone, or unpublished.
    pub fn lookup_flow(
        &self,
        conn: &mut DbConn,
        call_center_id: i64,
        flow_id: i64,
    ) -> Result<Option<LoadedFlow>, StoreError> {
        let Some(flow) = IvrFlow::find(conn, flow_id).optional()? else {
            return Ok(None);
        };
        let Some(version) = flow.published_version else {
            return Ok(None);
        };
        if flow.call_center_id != call_center_id {
            return Ok(None);
        }
        let parsed = match self.cached(flow_id, version) {
            Some(parsed) => parsed,
            None => {
                let parsed = Arc::new(read_version(conn, flow_id, version)?);
                self.cache
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(flow_id, (version, parsed.clone()));
                parsed
            }
        };
        // Only the agents this version transfers to: most flows have none, and a center can
        // have hundreds of users.
        let transfers_to: Vec<i64> = parsed.references().agents.into_iter().collect();
        let agents = if transfers_to.is_empty() {
            HashMap::new()
        } else {
            User::extensions_of(conn, call_center_id, &transfers_to)?
                .into_iter()
                .collect()
        };
        Ok(Some(LoadedFlow {
            call_center_id,
            flow_id,
            version,
            time_zone: time_zone(conn, call_center_id)?,
            flow: parsed,
            agents,
        }))
    }

    fn cached(&self, flow_id: i64, version: i32) -> Option<Arc<Flow>> {
        // A poisoned lock only means a panic elsewhere between two map operations: the map
        // itself is still sound.
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(&flow_id)
            .filter(|(cached, _)| *cached == version)
            .map(|(_, flow)| flow.clone())
    }
}

fn read_version(conn: &mut DbConn, flow_id: i64, version: i32) -> Result<Flow, StoreError> {
    let broken = |reason: String| StoreError::BrokenVersion {
        flow_id,
        version,
        reason,
    };
    let row = FlowVersion::find(conn, flow_id, version)
        .optional()?
        .ok_or_else(|| broken("the version row is missing".to_owned()))?;
    let value = serde_json::from_str(&row.definition).map_err(|e| broken(e.to_string()))?;
    Flow::parse(&value).map_err(|problems| {
        let first = problems
            .first()
            .map_or_else(String::new, |p| format!("{}: {}", p.field, p.message));
        broken(first)
    })
}

impl FlowSource for DbFlowSource {
    fn by_did(&self, did: &str) -> BoxFuture<Result<Lookup, SourceError>> {
        let this = self.clone();
        let did = did.to_owned();
        Box::pin(async move {
            let db = this.db.clone();
            let found = db
                .run(move |conn| Ok(this.lookup_did(conn, &did)))
                .await
                .map_err(StoreError::from)
                .and_then(|inner| inner);
            found.map_err(|e| Box::new(e) as SourceError)
        })
    }

    fn by_id(
        &self,
        call_center_id: i64,
        flow_id: i64,
    ) -> BoxFuture<Result<Option<LoadedFlow>, SourceError>> {
        let this = self.clone();
        Box::pin(async move {
            let db = this.db.clone();
            let found = db
                .run(move |conn| Ok(this.lookup_flow(conn, call_center_id, flow_id)))
                .await
                .map_err(StoreError::from)
                .and_then(|inner| inner);
            found.map_err(|e| Box::new(e) as SourceError)
        })
    }
}

/// Sessions into `ivr_sessions`. Failures are logged and never reach the call.
#[derive(Clone, Debug)]
pub struct DbSessionSink {
    db: Db,
}

impl DbSessionSink {
    /// A sink writing to `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// Text from the channel as stored: PostgreSQL refuses NUL characters in text.
fn text(raw: &str) -> String {
    raw.replace('\0', "")
}

/// A timestamp at the microsecond precision both backends keep.
fn stored(t: DateTime<Utc>) -> NaiveDateTime {
    let naive = t.naive_utc();
    naive
        .with_nanosecond(t.timestamp_subsec_micros() * 1000)
        .unwrap_or(naive)
}

fn new_session(start: &SessionStart) -> NewIvrSession {
    NewIvrSession {
        call_center_id: start.call_center_id,
        did: text(&start.did),
        caller_id: text(&start.caller_id),
        caller_name: text(&start.caller_name),
        uniqueid: text(&start.uniqueid),
        channel: text(&start.channel),
        flow_id: start.flow_id,
        flow_version: start.flow_version,
        started_at: stored(start.started_at),
        ended_at: None,
        outcome: IN_PROGRESS.to_owned(),
        outcome_detail: None,
        last_node: None,
        steps: "[]".to_owned(),
    }
}

impl SessionSink for DbSessionSink {
    fn started(&self, start: SessionStart) -> BoxFuture<Option<i64>> {
        let db = self.db.clone();
        Box::pin(async move {
            let row = new_session(&start);
            match db
                .run(move |conn| Ok(IvrSession::create(conn, &row)?))
                .await
            {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::error!(
                        ivr.did = %start.did,
                        call.uniqueid = %start.uniqueid,
                        error = %describe(&e),
                        "cannot record the start of an IVR session"
                    );
                    None
                }
            }
        })
    }

    fn finished(&self, id: Option<i64>, record: SessionRecord) -> BoxFuture<()> {
        let db = self.db.clone();
        Box::pin(async move {
            let steps = match serde_json::to_string(&record.steps) {
                Ok(steps) => text(&steps),
                Err(e) => {
                    tracing::error!(error = %e, "cannot serialize the steps of an IVR session");
                    "[]".to_owned()
                }
            };
            let ended_at = stored(record.ended_at);
            let outcome = record.outcome.kind.as_str().to_owned();
            let detail = record.outcome.detail.as_deref().map(text);
            let last_node = record.outcome.node.as_deref().map(text);
            let mut whole = new_session(&record.start);
            let (did, uniqueid) = (whole.did.clone(), whole.uniqueid.clone());
            let changes = IvrSessionChanges {
                ended_at: Some(Some(ended_at)),
                outcome: Some(outcome.clone()),
                outcome_detail: Some(detail.clone()),
                last_node: Some(last_node.clone()),
                steps: Some(steps.clone()),
            };
            whole.ended_at = Some(ended_at);
            whole.outcome = outcome;
            whole.outcome_detail = detail;
            whole.last_node = last_node;
            whole.steps = steps;
            let written = db
                .run(move |conn| {
                    // The start may not have been stored (a database hiccup): store it all now.
                    if let Some(id) = id
                        && IvrSession::finish(conn, id, &changes)? > 0
                    {
                        return Ok(());
                    }
                    IvrSession::create(conn, &whole)?;
                    Ok(())
                })
                .await;
            if let Err(e) = written {
                tracing::error!(
                    ivr.did = %did,
                    call.uniqueid = %uniqueid,
                    error = %describe(&e),
                    "cannot record the end of an IVR session"
                );
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DbConfig;
    use crate::db;
    use callpro_ivr::{Outcome, OutcomeKind, Step};
    use diesel::RunQueryDsl as _;

    /// A private in-memory SQLite database, migrated, with one center, flow and DID.
    fn database() -> Db {
        let config = DbConfig {
            url: format!(
                "sqlite://file:ivr-{}?mode=memory&cache=shared",
                uuid::Uuid::new_v4().simple()
            ),
            pool_size: 1,
            connect_timeout_secs: 5,
        };
        let db = Db::connect(&config).unwrap();
        db.migrate().unwrap();
        let mut conn = db.get().unwrap();
        let now = db::now();
        diesel::sql_query(format!(
            "INSERT INTO call_centers (id, name, time_zone, created_at, updated_at) \
             VALUES (1, 'Acme', 'Europe/Paris', '{now}', '{now}'), (2, 'Other', 'UTC', '{now}', '{now}')"
        ))
        .execute(&mut *conn)
        .unwrap();
        let definition =
            r#"{"format":1,"start":"h","nodes":[{"id":"h","type":"hangup","exits":{}}]}"#;
        diesel::sql_query(format!(
            "INSERT INTO ivr_flows (id, call_center_id, name, definition, published_version, created_at, updated_at) \
             VALUES (7, 1, 'Main', '{definition}', 1, '{now}', '{now}'), (8, 1, 'Draft', '{definition}', NULL, '{now}', '{now}')"
        ))
        .execute(&mut *conn)
        .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO ivr_flow_versions (flow_id, version, definition, published_at) \
             VALUES (7, 1, '{definition}', '{now}')"
        ))
        .execute(&mut *conn)
        .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO dids (call_center_id, number, flow_id, active, created_at, updated_at) \
             VALUES (1, '+33142000000', 7, 1, '{now}', '{now}'), (1, '0142000001', 8, 1, '{now}', '{now}'), \
             (1, '0142000002', 7, 0, '{now}', '{now}')"
        ))
        .execute(&mut *conn)
        .unwrap();
        drop(conn);
        db
    }

    #[tokio::test]
    async fn finds_published_flows_by_did_and_id() {
        let source = DbFlowSource::new(database());
        for number in ["+33142000000", "33142000000"] {
            let Lookup::Found(flow) = source.by_did(number).await.unwrap() else {
                panic!("{number} has a published flow");
            };
            assert_eq!((flow.call_center_id, flow.flow_id, flow.version), (1, 7, 1));
            assert_eq!(flow.time_zone.as_deref(), Some("Europe/Paris"));
            assert_eq!(flow.flow.start, "h");
        }
        assert!(matches!(
            source.by_did("0142000001").await.unwrap(),
            Lookup::NotPublished { call_center_id: 1 }
        ));
        // Inactive DIDs are not routed.
        assert!(matches!(
            source.by_did("0142000002").await.unwrap(),
            Lookup::UnknownDid
        ));
        assert!(source.by_id(1, 7).await.unwrap().is_some());
        assert!(
            source.by_id(2, 7).await.unwrap().is_none(),
            "another center's flow"
        );
        assert!(source.by_id(1, 8).await.unwrap().is_none(), "unpublished");
        assert!(source.by_id(1, 99).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_loaded_flow_knows_the_extensions_of_the_agents_it_transfers_to() {
        let db = database();
        let mut conn = db.get().unwrap();
        let now = db::now();
        diesel::sql_query(format!(
            "INSERT INTO users (id, email, display_name, password_hash, role, call_center_id, sip_extension, active, created_at, updated_at) \
             VALUES (31, 'a@x.test', 'A', 'x', 'agent', 1, '1031', 1, '{now}', '{now}'), \
                    (32, 'b@x.test', 'B', 'x', 'agent', 1, '1032', 1, '{now}', '{now}')"
        ))
        .execute(&mut *conn)
        .unwrap();
        let definition = r#"{"format":1,"start":"t","nodes":[{"id":"t","type":"transfer","target":{"agent":31},"exits":{"answered":null,"busy":null,"no_answer":null,"failed":null}}]}"#;
        diesel::sql_query(format!(
            "INSERT INTO ivr_flow_versions (flow_id, version, definition, published_at) \
             VALUES (7, 2, '{definition}', '{now}')"
        ))
        .execute(&mut *conn)
        .unwrap();
        diesel::sql_query("UPDATE ivr_flows SET published_version = 2 WHERE id = 7")
            .execute(&mut *conn)
            .unwrap();
        drop(conn);
        let source = DbFlowSource::new(db);
        let v2 = source.by_id(1, 7).await.unwrap().unwrap();
        assert_eq!(v2.agents, HashMap::from([(31, "1031".to_owned())]));
    }

    #[tokio::test]
    async fn sessions_are_inserted_then_completed() {
        let db = database();
        let sink = DbSessionSink::new(db.clone());
        let start = SessionStart {
            did: "+33142000000".into(),
            caller_id: "0600000000".into(),
            caller_name: "Ann\0".into(),
            uniqueid: "1700000000.1".into(),
            channel: "PJSIP/gw-00000001".into(),
            call_center_id: Some(1),
            flow_id: Some(7),
            flow_version: Some(1),
            started_at: Utc::now(),
        };
        let id = sink.started(start.clone()).await;
        let stored = |id| {
            let db = db.clone();
            async move {
                db.run(move |conn| Ok(IvrSession::find(conn, id)?))
                    .await
                    .unwrap()
            }
        };
        let row = stored(id.unwrap()).await;
        assert_eq!(
            (row.outcome.as_str(), row.caller_name.as_str()),
            ("in_progress", "Ann")
        );
        let now = Utc::now();
        let record = SessionRecord {
            start: start.clone(),
            steps: vec![Step {
                flow_id: Some(7),
                node: "h".into(),
                node_type: "hangup".into(),
                input: None,
                exit: None,
                detail: None,
                started_at: now,
                ended_at: now,
            }],
            outcome: Outcome::new(OutcomeKind::Hangup, Some("h"), None),
            ended_at: now,
        };
        sink.finished(id, record.clone()).await;
        let row = stored(id.unwrap()).await;
        assert_eq!(row.outcome, "hangup");
        assert_eq!(row.last_node.as_deref(), Some("h"));
        assert!(row.ended_at.is_some());
        let steps: Vec<Step> = serde_json::from_str(&row.steps).unwrap();
        assert_eq!(steps.len(), 1);

        // A start that could not be stored: the whole session is written at the end.
        sink.finished(None, record).await;
        let (rows, total) = db
            .run(|conn| {
                Ok(IvrSession::list(
                    conn,
                    &Default::default(),
                    crate::models::PageRequest {
                        limit: 10,
                        offset: 0,
                    },
                )?)
            })
            .await
            .unwrap();
        assert_eq!(total, 2);
        assert!(rows.iter().all(|r| r.outcome == "hangup"));
    }
}
