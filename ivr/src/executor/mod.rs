//! The sans-IO executor: a [`Walk`] through a flow. The driver feeds it what the last action
//! gave ([`Input`]) and gets the next thing to do ([`Action`]); nodes that need no I/O
//! (calendar, condition) are passed through in the same call. Time is injected, so tests and
//! the property test need no sockets and no clock.
//!
//! A walk always ends in [`Action::Finish`]: at a terminal exit, a `hangup` node, the caller's
//! hang-up, a failure, or when it visits more than [`MAX_NODE_VISITS`] nodes (validation rules
//! out loops without caller input; the limit also bounds loops through queues that keep timing
//! out).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::calendar;
use crate::flow::{CompareOp, Flow, Greeting, HttpMethod, MENU_DIGITS, NodeKind, TransferTarget};
use crate::record::{Outcome, OutcomeKind, Step};
use crate::template;

/// Node visits after which a walk is stopped as a runaway loop.
pub const MAX_NODE_VISITS: u32 = 1000;

/// `goto_flow` jumps allowed in one call.
pub const MAX_FLOW_JUMPS: u32 = 8;

/// The Asterisk queue of an agent group (rendered into `queues.conf` under this name).
pub fn queue_name(group_id: i64) -> String {
    format!("callpro-group-{group_id}")
}

/// A published flow version, ready to walk.
#[derive(Clone, Debug)]
pub struct LoadedFlow {
    /// Owning call center.
    pub call_center_id: i64,
    /// Flow id.
    pub flow_id: i64,
    /// Published version number.
    pub version: i32,
    /// The call center's time zone (calendars without their own zone use it).
    pub time_zone: Option<String>,
    /// The definition.
    pub flow: Arc<Flow>,
    /// Agent id → extension, for transfers to agents.
    pub agents: HashMap<i64, String>,
}

/// The call as Asterisk described it; readable in flows as built-in variables.
#[derive(Clone, Debug, Default)]
pub struct CallInfo {
    /// The DID the call came in on (`DID`).
    pub did: String,
    /// Caller number (`CALLER_ID`).
    pub caller_id: String,
    /// Caller name (`CALLER_NAME`).
    pub caller_name: String,
    /// Asterisk Uniqueid (`UNIQUEID`).
    pub uniqueid: String,
    /// Channel name (`CHANNEL`).
    pub channel: String,
    /// Channel language (`LANGUAGE`).
    pub language: String,
}

/// An HTTP request of an `http_lookup` node.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRequest {
    /// Method.
    pub method: HttpMethod,
    /// URL with variables substituted.
    pub url: String,
    /// Headers with variables substituted.
    pub headers: Vec<(String, String)>,
    /// JSON body for POST.
    pub body: Option<Value>,
    /// Whole-request timeout.
    pub timeout: Duration,
}

/// What the driver should do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `ANSWER`; then [`Input::Done`].
    Answer,
    /// `STREAM FILE`; then [`Input::Digit`].
    Play {
        /// Sound file.
        file: String,
        /// Digits that interrupt it.
        escape_digits: &'static str,
    },
    /// `WAIT FOR DIGIT`; then [`Input::Digit`].
    WaitDigit {
        /// How long.
        timeout_ms: u32,
    },
    /// `GET DATA`; then [`Input::Data`].
    GetData {
        /// Prompt.
        file: String,
        /// Per-digit timeout.
        timeout_ms: u32,
        /// Most digits.
        max_digits: u8,
    },
    /// `SET VARIABLE` on the channel; then [`Input::Done`].
    SetVariable {
        /// Name.
        name: String,
        /// Value.
        value: String,
    },
    /// An HTTP request; then [`Input::Http`].
    Http(HttpRequest),
    /// `EXEC app args`, then `GET VARIABLE status_variable` (and, when that is unset,
    /// `GET VARIABLE answered_variable`); then [`Input::Exec`].
    Exec {
        /// Dialplan application.
        app: &'static str,
        /// Its arguments.
        args: String,
        /// The variable the application leaves its status in.
        status_variable: &'static str,
        /// The variable naming who answered, read when the status is unset (`Queue` sets no
        /// `QUEUESTATUS` both when an agent answered and when the caller gave up waiting).
        answered_variable: Option<&'static str>,
    },
    /// `HANGUP`; then [`Input::Done`].
    Hangup,
    /// Load the published version of another flow of the same call center; then
    /// [`Input::Flow`].
    LoadFlow {
        /// The flow.
        flow_id: i64,
    },
    /// The walk is over; hand the call back to the dialplan (unless it hung up).
    Finish(Outcome),
}

/// What the last action gave.
#[derive(Clone, Debug)]
pub enum Input {
    /// The first call of a walk.
    Start,
    /// The action completed.
    Done,
    /// A digit pressed, `None` when none was.
    Digit(Option<char>),
    /// Digits read by `GET DATA`.
    Data {
        /// The digits.
        digits: String,
        /// Whether input ended on the timeout.
        timed_out: bool,
    },
    /// The lookup's JSON answer, or why it failed.
    Http(Result<Value, String>),
    /// The application's return and its status variables.
    Exec {
        /// Return value.
        result: i32,
        /// The status variable, `None` when unset.
        status: Option<String>,
        /// The answered variable, when asked for and set.
        answered_by: Option<String>,
    },
    /// The flow a `LoadFlow` asked for, `None` when it has no published version.
    Flow(Option<LoadedFlow>),
    /// The action failed without the caller hanging up (a missing prompt, an AGI error).
    Failed(String),
    /// The caller hung up.
    HungUp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Miss {
    Invalid,
    Timeout,
}

impl Miss {
    fn exit(self) -> &'static str {
        match self {
            Miss::Invalid => "invalid",
            Miss::Timeout => "timeout",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Answering,
    Playing(usize),
    MenuPrompt(u8),
    MenuWait(u8),
    MenuFeedback(u8),
    Collecting(u8),
    CollectFeedback(u8),
    SettingVariable,
    Looking,
    Executing,
    HangingUp,
    Loading,
}

struct OpenStep {
    started_at: DateTime<Utc>,
    inputs: Vec<String>,
    detail: Option<String>,
}

/// One call's walk through a flow.
pub struct Walk {
    flow: LoadedFlow,
    node: usize,
    phase: Phase,
    vars: BTreeMap<String, String>,
    typeahead: Option<char>,
    steps: Vec<Step>,
    open: Option<OpenStep>,
    visits: u32,
    jumps: u32,
    disposition: Option<Outcome>,
    outcome: Option<Outcome>,
}

impl std::fmt::Debug for Walk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk")
            .field("flow_id", &self.flow.flow_id)
            .field("node", &self.current_node())
            .field("phase", &self.phase)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl Walk {
    /// A walk at the start node of `flow`. Call [`Walk::advance`] with [`Input::Start`].
    pub fn new(flow: LoadedFlow, call: &CallInfo) -> Walk {
        let vars = BTreeMap::from([
            ("CALLER_ID".to_owned(), call.caller_id.clone()),
            ("CALLER_NAME".to_owned(), call.caller_name.clone()),
            ("DID".to_owned(), call.did.clone()),
            ("UNIQUEID".to_owned(), call.uniqueid.clone()),
            ("CHANNEL".to_owned(), call.channel.clone()),
            ("LANGUAGE".to_owned(), call.language.clone()),
        ]);
        let node = flow.flow.position(&flow.flow.start).unwrap_or(0);
        Walk {
            flow,
            node,
            phase: Phase::Answering,
            vars,
            typeahead: None,
            steps: Vec::new(),
            open: None,
            visits: 0,
            jumps: 0,
            disposition: None,
            outcome: None,
        }
    }

    /// The steps recorded so far (closed node visits).
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The flow variables.
    pub fn variables(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// The flow being walked (changes after `goto_flow`).
    pub fn flow(&self) -> &LoadedFlow {
        &self.flow
    }

    /// The outcome, once the walk has finished.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The id of the node the walk is in.
    pub fn current_node(&self) -> Option<&str> {
        self.flow.flow.nodes.get(self.node).map(|n| n.id.as_str())
    }

    /// Feeds the result of the last action (or [`Input::Start`]) and returns the next action.
    pub fn advance(&mut self, input: Input, now: DateTime<Utc>) -> Action {
        if let Some(outcome) = &self.outcome {
            return Action::Finish(outcome.clone());
        }
        match input {
            Input::Start => self.enter(now),
            Input::HungUp => self.finish(OutcomeKind::Abandoned, None, now),
            input => self.resume(input, now),
        }
    }

    fn kind(&self) -> NodeKind {
        // Cloning the node kind is cheap next to an AGI round trip and keeps borrows simple.
        self.flow
            .flow
            .nodes
            .get(self.node)
            .map(|n| n.kind.clone())
            .unwrap_or(NodeKind::Hangup)
    }

    fn note(&mut self, input: impl Into<String>) {
        if let Some(open) = &mut self.open {
            open.inputs.push(input.into());
        }
    }

    fn detail(&mut self, detail: impl Into<String>) {
        if let Some(open) = &mut self.open {
            let detail = detail.into();
            open.detail = Some(match open.detail.take() {
                Some(before) => format!("{before}; {detail}"),
                None => detail,
            });
        }
    }

    fn close_step(&mut self, exit: Option<&str>, now: DateTime<Utc>) {
        let Some(open) = self.open.take() else {
            return;
        };
        let node = self.flow.flow.nodes.get(self.node);
        self.steps.push(Step {
            flow_id: Some(self.flow.flow_id),
            node: node.map(|n| n.id.clone()).unwrap_or_default(),
            node_type: node
                .map(|n| n.kind.type_name().to_owned())
                .unwrap_or_default(),
            input: (!open.inputs.is_empty()).then(|| open.inputs.join(",")),
            exit: exit.map(str::to_owned),
            detail: open.detail,
            started_at: open.started_at,
            ended_at: now,
        });
    }

    fn finish(&mut self, kind: OutcomeKind, detail: Option<String>, now: DateTime<Utc>) -> Action {
        self.close_step(None, now);
        let node = self.current_node().map(str::to_owned);
        let outcome = match (&self.disposition, kind) {
            (
                Some(disposition),
                OutcomeKind::Completed | OutcomeKind::Abandoned | OutcomeKind::Hangup,
            ) => Outcome {
                node,
                ..disposition.clone()
            },
            _ => Outcome { kind, node, detail },
        };
        self.outcome = Some(outcome.clone());
        Action::Finish(outcome)
    }

    /// Leaves the current node by `exit` and walks on until a node needs I/O.
    fn follow(&mut self, exit: &str, now: DateTime<Utc>) -> Action {
        let mut exit = exit.to_owned();
        loop {
            self.close_step(Some(&exit), now);
            let target = self
                .flow
                .flow
                .nodes
                .get(self.node)
                .and_then(|n| n.exits.get(&exit).cloned().flatten());
            let Some(target) = target else {
                return self.finish(OutcomeKind::Completed, None, now);
            };
            let Some(next) = self.flow.flow.position(&target) else {
                return self.finish(
                    OutcomeKind::Failed,
                    Some(format!("exit `{exit}` points to missing node `{target}`")),
                    now,
                );
            };
            self.node = next;
            match self.begin(now) {
                Ok(action) => return action,
                Err(next_exit) => exit = next_exit,
            }
        }
    }

    fn enter(&mut self, now: DateTime<Utc>) -> Action {
        match self.begin(now) {
            Ok(action) => action,
            Err(exit) => self.follow(&exit, now),
        }
    }

    /// Enters the current node: the action it needs, or the exit it takes at once.
    fn begin(&mut self, now: DateTime<Utc>) -> Result<Action, String> {
        self.visits += 1;
        if self.visits > MAX_NODE_VISITS {
            return Ok(self.finish(
                OutcomeKind::Failed,
                Some(format!("loop limit: {MAX_NODE_VISITS} nodes visited")),
                now,
            ));
        }
        self.open = Some(OpenStep {
            started_at: now,
            inputs: Vec::new(),
            detail: None,
        });
        Ok(match self.kind() {
            NodeKind::Answer => {
                self.phase = Phase::Answering;
                Action::Answer
            }
            NodeKind::Playback(p) => {
                let Some(first) = p.prompts.first() else {
                    return Err("next".to_owned());
                };
                self.phase = Phase::Playing(0);
                Action::Play {
                    file: first.clone(),
                    escape_digits: if p.interruptible { MENU_DIGITS } else { "" },
                }
            }
            NodeKind::Menu(m) => {
                if let Some(digit) = self.typeahead.take() {
                    return Ok(self.menu_digit(digit, 0, now));
                }
                self.phase = Phase::MenuPrompt(0);
                Action::Play {
                    file: m.prompt,
                    escape_digits: MENU_DIGITS,
                }
            }
            NodeKind::Collect(c) => {
                self.typeahead = None;
                self.phase = Phase::Collecting(0);
                Action::GetData {
                    file: c.prompt,
                    timeout_ms: c.timeout_ms,
                    max_digits: c.max_digits,
                }
            }
            NodeKind::Calendar(c) => {
                let zone: Option<Tz> = calendar::zone(&c, self.flow.time_zone.as_deref());
                let open = zone.is_some_and(|zone| calendar::is_open(&c, zone, now));
                let exit = if open { "open" } else { "closed" };
                self.note(now.to_rfc3339());
                return Err(exit.to_owned());
            }
            NodeKind::SetVariable(s) => {
                let value = template::render(&s.value, &self.vars, str::to_owned);
                self.vars.insert(s.variable.clone(), value.clone());
                self.note(value.clone());
                self.phase = Phase::SettingVariable;
                Action::SetVariable {
                    name: s.variable,
                    value,
                }
            }
            NodeKind::Condition(c) => {
                let subject = template::render(&c.subject, &self.vars, str::to_owned);
                self.note(subject.clone());
                let hit = c.cases.iter().find(|case| match case.op {
                    CompareOp::Empty => subject.is_empty(),
                    CompareOp::Equals => case.values.contains(&subject),
                    CompareOp::Prefix => {
                        case.values.iter().any(|v| subject.starts_with(v.as_str()))
                    }
                    CompareOp::Contains => case.values.iter().any(|v| subject.contains(v.as_str())),
                });
                return Err(hit.map_or_else(|| "default".to_owned(), |case| case.exit.clone()));
            }
            NodeKind::HttpLookup(h) => {
                let url = template::render(&h.url, &self.vars, template::percent_encode);
                let headers = h
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), template::render(v, &self.vars, str::to_owned)))
                    .collect();
                let body = (h.method == HttpMethod::Post).then(|| {
                    Value::Object(
                        h.body
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    Value::String(template::render(v, &self.vars, str::to_owned)),
                                )
                            })
                            .collect(),
                    )
                });
                self.phase = Phase::Looking;
                Action::Http(HttpRequest {
                    method: h.method,
                    url,
                    headers,
                    body,
                    timeout: Duration::from_millis(h.timeout_ms.into()),
                })
            }
            NodeKind::Queue(q) => {
                self.phase = Phase::Executing;
                Action::Exec {
                    app: "Queue",
                    args: format!("{},,,,{}", queue_name(q.group_id), q.max_wait_secs),
                    status_variable: "QUEUESTATUS",
                    answered_variable: Some("MEMBERINTERFACE"),
                }
            }
            NodeKind::Transfer(t) => {
                let dial = match &t.target {
                    TransferTarget::Agent(agent) => match self.flow.agents.get(agent) {
                        Some(extension) => format!("PJSIP/{extension}"),
                        None => {
                            self.detail(format!("agent {agent} has no extension"));
                            return Err("failed".to_owned());
                        }
                    },
                    TransferTarget::Extension(extension) => format!("PJSIP/{extension}"),
                    TransferTarget::Number { number, trunk } => format!("PJSIP/{number}@{trunk}"),
                };
                self.note(dial.clone());
                self.phase = Phase::Executing;
                Action::Exec {
                    app: "Dial",
                    args: format!("{dial},{}", t.ring_secs),
                    status_variable: "DIALSTATUS",
                    answered_variable: None,
                }
            }
            NodeKind::Voicemail(v) => {
                let option = match v.greeting {
                    Greeting::Unavailable => "u",
                    Greeting::Busy => "b",
                    Greeting::None => "s",
                };
                self.phase = Phase::Executing;
                Action::Exec {
                    app: "VoiceMail",
                    args: format!("{},{option}", v.mailbox),
                    status_variable: "VMSTATUS",
                    answered_variable: None,
                }
            }
            NodeKind::Hangup => {
                self.phase = Phase::HangingUp;
                Action::Hangup
            }
            NodeKind::GotoFlow(g) => {
                self.jumps += 1;
                if self.jumps > MAX_FLOW_JUMPS {
                    return Ok(self.finish(
                        OutcomeKind::Failed,
                        Some(format!("more than {MAX_FLOW_JUMPS} goto_flow jumps")),
                        now,
                    ));
                }
                self.phase = Phase::Loading;
                Action::LoadFlow { flow_id: g.flow_id }
            }
        })
    }

    fn resume(&mut self, input: Input, now: DateTime<Utc>) -> Action {
        let kind = self.kind();
        if let Input::Failed(reason) = &input {
            self.detail(reason.clone());
        }
        match (self.phase, kind) {
            (Phase::Answering | Phase::SettingVariable, _) => self.follow("next", now),
            (Phase::Playing(i), NodeKind::Playback(p)) => {
                if let Input::Digit(Some(digit)) = input {
                    self.note(digit.to_string());
                    self.typeahead = Some(digit);
                    return self.follow("next", now);
                }
                match p.prompts.get(i + 1) {
                    Some(file) => {
                        self.phase = Phase::Playing(i + 1);
                        Action::Play {
                            file: file.clone(),
                            escape_digits: if p.interruptible { MENU_DIGITS } else { "" },
                        }
                    }
                    None => self.follow("next", now),
                }
            }
            (Phase::MenuPrompt(tries), NodeKind::Menu(m)) => match input {
                Input::Digit(Some(digit)) => self.menu_digit(digit, tries, now),
                _ => {
                    self.phase = Phase::MenuWait(tries);
                    Action::WaitDigit {
                        timeout_ms: m.timeout_ms,
                    }
                }
            },
            // After "invalid choice" or "no input": the menu prompt again.
            (Phase::MenuFeedback(tries), NodeKind::Menu(m)) => match input {
                Input::Digit(Some(digit)) => self.menu_digit(digit, tries, now),
                _ => {
                    self.phase = Phase::MenuPrompt(tries);
                    Action::Play {
                        file: m.prompt,
                        escape_digits: MENU_DIGITS,
                    }
                }
            },
            (Phase::MenuWait(tries), NodeKind::Menu(_)) => match input {
                Input::Digit(Some(digit)) => self.menu_digit(digit, tries, now),
                _ => {
                    self.note("timeout");
                    self.menu_miss(Miss::Timeout, tries, now)
                }
            },
            (Phase::Collecting(tries), NodeKind::Collect(c)) => {
                let (digits, timed_out) = match input {
                    Input::Data { digits, timed_out } => (digits, timed_out),
                    _ => (String::new(), true),
                };
                if digits.is_empty() && timed_out && c.min_digits > 0 {
                    self.note("timeout");
                    return self.collect_miss(Miss::Timeout, tries, now);
                }
                let length = digits.chars().count();
                let valid = digits.chars().all(|ch| ch.is_ascii_digit() || ch == '*')
                    && length >= usize::from(c.min_digits)
                    && length <= usize::from(c.max_digits);
                self.note(if digits.is_empty() {
                    "#".to_owned()
                } else {
                    digits.clone()
                });
                if valid {
                    self.vars.insert(c.variable.clone(), digits);
                    self.follow("next", now)
                } else {
                    self.collect_miss(Miss::Invalid, tries, now)
                }
            }
            (Phase::CollectFeedback(tries), NodeKind::Collect(c)) => {
                self.phase = Phase::Collecting(tries);
                Action::GetData {
                    file: c.prompt,
                    timeout_ms: c.timeout_ms,
                    max_digits: c.max_digits,
                }
            }
            (Phase::Looking, NodeKind::HttpLookup(h)) => match input {
                Input::Http(Ok(answer)) => {
                    for (variable, pointer) in &h.set {
                        let value = match answer.pointer(pointer) {
                            None | Some(Value::Null) => String::new(),
                            Some(Value::String(s)) => s.clone(),
                            Some(other) => other.to_string(),
                        };
                        self.vars.insert(variable.clone(), value);
                    }
                    self.note("ok");
                    self.follow("ok", now)
                }
                Input::Http(Err(reason)) => {
                    self.detail(reason);
                    self.follow("failure", now)
                }
                _ => self.follow("failure", now),
            },
            (Phase::Executing, kind) => {
                let (result, status, answered_by) = match input {
                    Input::Exec {
                        result,
                        status,
                        answered_by,
                    } => (result, status.unwrap_or_default(), answered_by),
                    _ => (-1, String::new(), None),
                };
                self.note(if status.is_empty() {
                    result.to_string()
                } else {
                    status.clone()
                });
                let exit = match kind {
                    NodeKind::Queue(q) => match status.as_str() {
                        // No QUEUESTATUS: an agent answered (MEMBERINTERFACE names them), or
                        // the caller hung up while waiting.
                        "" | "CONTINUE" => match answered_by.filter(|m| !m.is_empty()) {
                            Some(member) => {
                                self.detail(format!("answered by {member}"));
                                self.disposition = Some(Outcome::new(
                                    OutcomeKind::Queued,
                                    None,
                                    Some(queue_name(q.group_id)),
                                ));
                                "answered"
                            }
                            None if status.is_empty() => {
                                return self.finish(
                                    OutcomeKind::Abandoned,
                                    Some(queue_name(q.group_id)),
                                    now,
                                );
                            }
                            None => "failed",
                        },
                        "TIMEOUT" => "timeout",
                        "FULL" => "full",
                        "JOINEMPTY" | "LEAVEEMPTY" | "JOINUNAVAIL" | "LEAVEUNAVAIL" => {
                            "unavailable"
                        }
                        _ => "failed",
                    },
                    NodeKind::Transfer(t) => match status.as_str() {
                        "ANSWER" => {
                            let target = match &t.target {
                                TransferTarget::Agent(agent) => format!("agent {agent}"),
                                TransferTarget::Extension(e) => format!("extension {e}"),
                                TransferTarget::Number { number, .. } => number.clone(),
                            };
                            self.disposition =
                                Some(Outcome::new(OutcomeKind::Transferred, None, Some(target)));
                            "answered"
                        }
                        "BUSY" => "busy",
                        "NOANSWER" => "no_answer",
                        // The caller hung up while it rang.
                        "CANCEL" => return self.finish(OutcomeKind::Abandoned, None, now),
                        _ => "failed",
                    },
                    NodeKind::Voicemail(v) => {
                        if status == "SUCCESS" || status == "USEREXIT" {
                            self.disposition = Some(Outcome::new(
                                OutcomeKind::Voicemail,
                                None,
                                Some(v.mailbox.clone()),
                            ));
                        }
                        "next"
                    }
                    _ => "failed",
                };
                self.follow(exit, now)
            }
            (Phase::HangingUp, _) => self.finish(OutcomeKind::Hangup, None, now),
            (Phase::Loading, _) => match input {
                Input::Flow(Some(loaded)) => {
                    let detail = format!("flow {} version {}", loaded.flow_id, loaded.version);
                    self.detail(detail);
                    self.close_step(None, now);
                    let Some(start) = loaded.flow.position(&loaded.flow.start) else {
                        return self.finish(
                            OutcomeKind::Failed,
                            Some(format!("flow {} has no start node", loaded.flow_id)),
                            now,
                        );
                    };
                    self.flow = loaded;
                    self.node = start;
                    self.enter(now)
                }
                _ => {
                    let reason = match self.kind() {
                        NodeKind::GotoFlow(g) => {
                            format!("flow {} has no published version", g.flow_id)
                        }
                        _ => "flow not loaded".to_owned(),
                    };
                    self.finish(OutcomeKind::Failed, Some(reason), now)
                }
            },
            // The phase belongs to another node type: only a driver bug gets here.
            (phase, kind) => self.finish(
                OutcomeKind::Failed,
                Some(format!(
                    "input in phase {phase:?} of a {} node",
                    kind.type_name()
                )),
                now,
            ),
        }
    }

    fn menu_digit(&mut self, digit: char, tries: u8, now: DateTime<Utc>) -> Action {
        self.note(digit.to_string());
        let exit = digit.to_string();
        let known = self
            .flow
            .flow
            .nodes
            .get(self.node)
            .is_some_and(|n| n.exits.contains_key(&exit));
        if known {
            self.follow(&exit, now)
        } else {
            self.menu_miss(Miss::Invalid, tries, now)
        }
    }

    fn menu_miss(&mut self, miss: Miss, tries: u8, now: DateTime<Utc>) -> Action {
        let NodeKind::Menu(m) = self.kind() else {
            return self.follow(miss.exit(), now);
        };
        if tries >= m.max_retries {
            return self.follow(miss.exit(), now);
        }
        let feedback = match miss {
            Miss::Invalid => m.invalid_prompt,
            Miss::Timeout => m.timeout_prompt,
        };
        match feedback {
            Some(file) => {
                self.phase = Phase::MenuFeedback(tries + 1);
                Action::Play {
                    file,
                    escape_digits: MENU_DIGITS,
                }
            }
            None => {
                self.phase = Phase::MenuPrompt(tries + 1);
                Action::Play {
                    file: m.prompt,
                    escape_digits: MENU_DIGITS,
                }
            }
        }
    }

    fn collect_miss(&mut self, miss: Miss, tries: u8, now: DateTime<Utc>) -> Action {
        let NodeKind::Collect(c) = self.kind() else {
            return self.follow(miss.exit(), now);
        };
        if tries >= c.max_retries {
            return self.follow(miss.exit(), now);
        }
        match (miss, c.invalid_prompt) {
            (Miss::Invalid, Some(file)) => {
                self.phase = Phase::CollectFeedback(tries + 1);
                Action::Play {
                    file,
                    escape_digits: "",
                }
            }
            _ => {
                self.phase = Phase::Collecting(tries + 1);
                Action::GetData {
                    file: c.prompt,
                    timeout_ms: c.timeout_ms,
                    max_digits: c.max_digits,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
