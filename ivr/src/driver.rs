//! The driver: runs a [`Walk`] over an engine FastAGI session. It finds the flow of the DID
//! through a [`FlowSource`], turns each [`Action`] into AGI commands (or an HTTP request),
//! feeds the replies back, records the session through a [`SessionSink`] and publishes every
//! step on the event bus.
//!
//! The call never ends in silence or stuck: an unknown DID, a DID without a published flow, a
//! broken flow or a database error plays the fallback prompt and hands the call back to the
//! dialplan with `CALLPRO_IVR_ERROR` saying why; every walk ends by setting
//! `CALLPRO_IVR_RESULT` (unless the caller hung up, when there is nobody to tell).

use std::sync::Arc;
use std::time::Instant;

use callpro_engine::agi::{AgiError, AgiSession, BoxFuture, Handler, HandlerResult, known};
use callpro_engine::bus::{EventBus, IvrProgress, LiveEvent};
use chrono::{DateTime, Utc};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::executor::{Action, CallInfo, HttpRequest, Input, LoadedFlow, Walk};
use crate::flow::HttpMethod;
use crate::metrics::IvrMetrics;
use crate::record::{Outcome, OutcomeKind, Step};

/// Channel variable telling the dialplan how the IVR ended (an [`OutcomeKind`] code).
pub const RESULT_VARIABLE: &str = "CALLPRO_IVR_RESULT";

/// Channel variable telling the dialplan why the IVR could not run.
pub const ERROR_VARIABLE: &str = "CALLPRO_IVR_ERROR";

/// Settings of the IVR driver.
#[derive(Clone, Debug)]
pub struct IvrConfig {
    /// Played when the call cannot be handled (unknown DID, no published flow, broken flow).
    pub fallback_prompt: String,
    /// Largest HTTP lookup answer read, in bytes.
    pub http_body_limit: usize,
}

impl Default for IvrConfig {
    fn default() -> Self {
        Self {
            fallback_prompt: "ss-noservice".to_owned(),
            http_body_limit: 64 * 1024,
        }
    }
}

/// What looking a DID up found.
#[derive(Clone, Debug)]
pub enum Lookup {
    /// The DID's flow, at its published version.
    Found(LoadedFlow),
    /// No DID with this number.
    UnknownDid,
    /// The DID exists but has no flow, or its flow has no published version.
    NotPublished {
        /// The DID's call center.
        call_center_id: i64,
    },
}

/// Why the flow store could not answer.
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// Where published flows come from (the database in `callpro serve`, memory in tests).
pub trait FlowSource: Send + Sync + 'static {
    /// The published flow of a DID.
    fn by_did(&self, did: &str) -> BoxFuture<Result<Lookup, SourceError>>;
    /// The published version of a flow of this call center (for `goto_flow`).
    fn by_id(
        &self,
        call_center_id: i64,
        flow_id: i64,
    ) -> BoxFuture<Result<Option<LoadedFlow>, SourceError>>;
}

/// The start of a session, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionStart {
    /// The DID called.
    pub did: String,
    /// Caller number.
    pub caller_id: String,
    /// Caller name.
    pub caller_name: String,
    /// Channel Uniqueid.
    pub uniqueid: String,
    /// Channel name.
    pub channel: String,
    /// The DID's call center, when known.
    pub call_center_id: Option<i64>,
    /// The flow walked, when there is one.
    pub flow_id: Option<i64>,
    /// Its published version.
    pub flow_version: Option<i32>,
    /// When the call reached the IVR.
    pub started_at: DateTime<Utc>,
}

/// A finished session.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRecord {
    /// How it started.
    pub start: SessionStart,
    /// The nodes walked.
    pub steps: Vec<Step>,
    /// How it ended.
    pub outcome: Outcome,
    /// When it ended.
    pub ended_at: DateTime<Utc>,
}

/// Where sessions are recorded.
pub trait SessionSink: Send + Sync + 'static {
    /// A session began; returns its stored id (`None` if it could not be stored).
    fn started(&self, start: SessionStart) -> BoxFuture<Option<i64>>;
    /// A session ended.
    fn finished(&self, id: Option<i64>, record: SessionRecord) -> BoxFuture<()>;
}

/// The `/ivr` FastAGI service: cheap to clone, one per process.
#[derive(Clone)]
pub struct IvrService {
    source: Arc<dyn FlowSource>,
    sink: Arc<dyn SessionSink>,
    http: reqwest::Client,
    bus: Option<EventBus>,
    metrics: Option<IvrMetrics>,
    config: Arc<IvrConfig>,
}

impl std::fmt::Debug for IvrService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IvrService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What went wrong handing a call back.
#[derive(Debug, thiserror::Error)]
pub enum IvrError {
    /// The HTTP client could not be built (no TLS provider installed).
    #[error("cannot build the HTTP client for lookups: {0}")]
    Http(#[from] reqwest::Error),
}

impl IvrService {
    /// A service reading flows from `source` and recording sessions into `sink`.
    pub fn new(
        source: Arc<dyn FlowSource>,
        sink: Arc<dyn SessionSink>,
        config: IvrConfig,
    ) -> Result<Self, IvrError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("callpro-ivr/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()?;
        Ok(Self {
            source,
            sink,
            http,
            bus: None,
            metrics: None,
            config: Arc::new(config),
        })
    }

    /// Publishes every step on `bus`.
    pub fn with_bus(mut self, bus: EventBus) -> Self {
        self.bus = Some(bus);
        self
    }

    /// Counts sessions and times steps into `metrics`.
    pub fn with_metrics(mut self, metrics: IvrMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The FastAGI handler for the `/ivr` route.
    pub fn handler(self) -> impl Handler {
        move |mut session: AgiSession| {
            let service = self.clone();
            async move {
                service.run(&mut session).await;
                HandlerResult::Ok(())
            }
        }
    }

    /// Handles one inbound call to its end. Never fails: every problem is logged, recorded and
    /// told to the dialplan.
    pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(&self, session: &mut AgiSession<S>) {
        let request = session.request();
        let did = request
            .query_param("did")
            .filter(|d| !d.is_empty())
            .or_else(|| known(&request.dnid))
            .or_else(|| known(&request.extension))
            .unwrap_or_default()
            .to_owned();
        let call = CallInfo {
            did: did.clone(),
            caller_id: known(&request.callerid).unwrap_or_default().to_owned(),
            caller_name: known(&request.calleridname).unwrap_or_default().to_owned(),
            uniqueid: request.uniqueid.clone(),
            channel: request.channel.clone(),
            language: known(&request.language).unwrap_or("en").to_owned(),
        };
        let mut start = SessionStart {
            did: did.clone(),
            caller_id: call.caller_id.clone(),
            caller_name: call.caller_name.clone(),
            uniqueid: call.uniqueid.clone(),
            channel: call.channel.clone(),
            call_center_id: None,
            flow_id: None,
            flow_version: None,
            started_at: Utc::now(),
        };
        let lookup = if did.is_empty() {
            Ok(Lookup::UnknownDid)
        } else {
            self.source.by_did(&did).await
        };
        let flow = match lookup {
            Ok(Lookup::Found(flow)) => flow,
            Ok(Lookup::UnknownDid) => {
                tracing::warn!(ivr.did = %did, call.uniqueid = %call.uniqueid, "inbound call to an unknown DID");
                return self.fall_back(session, start, "unknown_did").await;
            }
            Ok(Lookup::NotPublished { call_center_id }) => {
                tracing::warn!(ivr.did = %did, "inbound DID has no published flow");
                start.call_center_id = Some(call_center_id);
                return self.fall_back(session, start, "no_published_flow").await;
            }
            Err(e) => {
                tracing::error!(ivr.did = %did, error = %e, "cannot load the DID's flow");
                return self.fall_back(session, start, "flow_unavailable").await;
            }
        };
        start.call_center_id = Some(flow.call_center_id);
        start.flow_id = Some(flow.flow_id);
        start.flow_version = Some(flow.version);
        let id = self.sink.started(start.clone()).await;
        let call_center_id = flow.call_center_id;
        let mut walk = Walk::new(flow, &call);
        let mut published = 0;
        let mut input = Input::Start;
        let outcome = loop {
            let action = walk.advance(input, Utc::now());
            for step in &walk.steps()[published..] {
                self.publish(&start, id, Some(step), None);
            }
            published = walk.steps().len();
            if let Action::Finish(outcome) = action {
                break outcome;
            }
            if let (Some(metrics), Some(replied)) = (&self.metrics, session.last_reply_at()) {
                metrics.step_seconds.observe(
                    Instant::now()
                        .saturating_duration_since(replied)
                        .as_secs_f64(),
                );
            }
            input = self.perform(session, action, call_center_id).await;
        };
        self.publish(&start, id, None, Some(&outcome));
        self.count(&outcome);
        if !session.is_hung_up() {
            if outcome.kind == OutcomeKind::Failed {
                let _ = session.set_variable(ERROR_VARIABLE, "flow_error").await;
            }
            let _ = session
                .set_variable(RESULT_VARIABLE, outcome.kind.as_str())
                .await;
        }
        tracing::info!(
            ivr.did = %start.did,
            call.uniqueid = %start.uniqueid,
            ivr.outcome = outcome.kind.as_str(),
            ivr.steps = walk.steps().len(),
            "IVR session ended"
        );
        let record = SessionRecord {
            start,
            steps: walk.steps().to_vec(),
            outcome,
            ended_at: Utc::now(),
        };
        self.sink.finished(id, record).await;
    }

    async fn fall_back<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        session: &mut AgiSession<S>,
        start: SessionStart,
        reason: &'static str,
    ) {
        let id = self.sink.started(start.clone()).await;
        let _ = session.set_variable(ERROR_VARIABLE, reason).await;
        let _ = session.answer().await;
        let _ = session.stream_file(&self.config.fallback_prompt, "").await;
        let _ = session
            .set_variable(RESULT_VARIABLE, OutcomeKind::Failed.as_str())
            .await;
        let outcome = Outcome::new(OutcomeKind::Failed, None, Some(reason.to_owned()));
        self.publish(&start, id, None, Some(&outcome));
        self.count(&outcome);
        let record = SessionRecord {
            start,
            steps: Vec::new(),
            outcome,
            ended_at: Utc::now(),
        };
        self.sink.finished(id, record).await;
    }

    fn count(&self, outcome: &Outcome) {
        if let Some(metrics) = &self.metrics {
            metrics
                .sessions_total
                .with_label_values(&[outcome.kind.as_str()])
                .inc();
        }
    }

    fn publish(
        &self,
        start: &SessionStart,
        id: Option<i64>,
        step: Option<&Step>,
        outcome: Option<&Outcome>,
    ) {
        // Without a call center the event would be global; an unknown DID concerns no tenant.
        let (Some(bus), Some(call_center_id)) = (&self.bus, start.call_center_id) else {
            return;
        };
        bus.publish(LiveEvent::IvrProgress {
            progress: IvrProgress {
                call_center_id: Some(call_center_id),
                session_id: id,
                uniqueid: start.uniqueid.clone(),
                did: start.did.clone(),
                caller_id: start.caller_id.clone(),
                flow_id: step.and_then(|s| s.flow_id).or(start.flow_id),
                node: step
                    .map(|s| s.node.clone())
                    .or_else(|| outcome.and_then(|o| o.node.clone())),
                exit: step.and_then(|s| s.exit.clone()),
                outcome: outcome.map(|o| o.kind.as_str().to_owned()),
            },
        });
    }

    /// Carries out one action and says what it gave.
    async fn perform<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        session: &mut AgiSession<S>,
        action: Action,
        call_center_id: i64,
    ) -> Input {
        let result = match action {
            Action::Answer => session.answer().await.map(|()| Input::Done),
            Action::Play {
                file,
                escape_digits,
            } => session
                .stream_file(&file, escape_digits)
                .await
                .map(Input::Digit),
            Action::WaitDigit { timeout_ms } => session
                .wait_for_digit(std::time::Duration::from_millis(timeout_ms.into()))
                .await
                .map(Input::Digit),
            Action::GetData {
                file,
                timeout_ms,
                max_digits,
            } => session
                .get_data(
                    &file,
                    std::time::Duration::from_millis(timeout_ms.into()),
                    max_digits.into(),
                )
                .await
                .map(|(digits, timed_out)| Input::Data { digits, timed_out }),
            Action::SetVariable { name, value } => session
                .set_variable(&name, &value)
                .await
                .map(|()| Input::Done),
            Action::Http(request) => return Input::Http(self.lookup(request).await),
            Action::Exec {
                app,
                args,
                status_variable,
                answered_variable,
            } => match session.exec(app, &args).await {
                Ok(result) => {
                    // GET VARIABLE is answered on a dead channel too: a queue call the caller
                    // ended after talking to an agent still reads as answered.
                    let status = session.get_variable(status_variable).await.ok().flatten();
                    let answered_by = match (&status, answered_variable) {
                        (None, Some(variable)) => {
                            session.get_variable(variable).await.ok().flatten()
                        }
                        _ => None,
                    };
                    // The application's statuses say what happened, hung up or not.
                    return Input::Exec {
                        result,
                        status,
                        answered_by,
                    };
                }
                Err(e) => Err(e),
            },
            // The flow's own hang-up: done, whatever the channel says afterwards.
            Action::Hangup => {
                let _ = session.hangup().await;
                return Input::Done;
            }
            Action::LoadFlow { flow_id } => {
                return match self.source.by_id(call_center_id, flow_id).await {
                    Ok(flow) => Input::Flow(flow),
                    Err(e) => {
                        tracing::error!(ivr.flow_id = flow_id, error = %e, "cannot load a sub-flow");
                        Input::Flow(None)
                    }
                };
            }
            Action::Finish(_) => Ok(Input::Done),
        };
        match result {
            Ok(_) if session.is_hung_up() => Input::HungUp,
            Ok(input) => input,
            Err(AgiError::Hangup | AgiError::DeadChannel { .. }) => Input::HungUp,
            Err(_) if session.is_hung_up() => Input::HungUp,
            Err(
                e @ (AgiError::Failed { .. }
                | AgiError::UnknownCommand { .. }
                | AgiError::Usage { .. }),
            ) => Input::Failed(e.to_string()),
            // The connection itself is gone (closed, timed out, garbled): nobody to talk to.
            Err(e) => {
                tracing::warn!(error = %e, "IVR session lost its AGI connection");
                Input::HungUp
            }
        }
    }

    async fn lookup(&self, request: HttpRequest) -> Result<serde_json::Value, String> {
        let mut builder = match request.method {
            HttpMethod::Get => self.http.get(&request.url),
            HttpMethod::Post => self.http.post(&request.url),
        }
        .timeout(request.timeout)
        .header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let limit = self.config.http_body_limit;
        let work = async {
            let mut response = builder.send().await.map_err(|e| describe(&e))?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("HTTP {}", status.as_u16()));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
                if body.len() + chunk.len() > limit {
                    return Err(format!("answer larger than {limit} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            serde_json::from_slice(&body).map_err(|e| format!("answer is not JSON: {e}"))
        };
        // reqwest's own timeout covers the body too; this one guards against a stalled DNS.
        match tokio::time::timeout(request.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "timed out after {} ms",
                request.timeout.as_millis()
            )),
        }
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else if error.is_builder() {
        "invalid request (URL or header)".to_owned()
    } else {
        error.to_string()
    }
}
