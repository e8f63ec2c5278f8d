//! The flow model: a graph of typed nodes with named exits, stored as JSON.
//!
//! ```json
//! {"format": 1, "start": "welcome", "nodes": [
//!   {"id": "welcome", "type": "answer", "exits": {"next": "menu"}},
//!   {"id": "menu", "type": "menu", "prompt": "callpro/main-menu",
//!    "exits": {"1": "sales", "invalid": null, "timeout": null}},
//!   {"id": "sales", "type": "queue", "group_id": 3, "exits": {"answered": null, ...}}]}
//! ```
//!
//! An exit is a node id or `null` (terminal: the call goes back to the dialplan). Parsing is
//! strict (unknown fields are refused) and reports every defect with its JSON path; the graph
//! rules live in [`crate::validate`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::problem::Problem;

/// The version of the JSON format this crate reads and writes.
pub const FLOW_FORMAT_VERSION: u32 = 1;

/// Longest node id accepted.
pub const MAX_NODE_ID_LEN: usize = 64;

/// Most nodes a flow may hold.
pub const MAX_NODES: usize = 500;

/// A parsed flow definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// Id of the node the walk starts at.
    pub start: String,
    /// The nodes, in the author's order.
    pub nodes: Vec<Node>,
    index: HashMap<String, usize>,
}

/// What a flow refers to outside itself (see [`Flow::references`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct References {
    /// Prompt names.
    pub prompts: BTreeSet<String>,
    /// Agent group ids (queues).
    pub groups: BTreeSet<i64>,
    /// Agent ids.
    pub agents: BTreeSet<i64>,
    /// Trunk names.
    pub trunks: BTreeSet<String>,
    /// Other flows (`goto_flow`).
    pub flows: BTreeSet<i64>,
}

/// One node: an id, what it does, and where each of its outcomes leads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Node {
    /// Unique within the flow.
    pub id: String,
    /// Optional label for editors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Type and typed parameters.
    #[serde(flatten)]
    pub kind: NodeKind,
    /// Exit name → next node id, `None` for a terminal exit.
    #[serde(default)]
    pub exits: BTreeMap<String, Option<String>>,
}

/// What a node does, with its parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeKind {
    /// Answers the channel. Exit `next`.
    Answer,
    /// Plays prompts. Exit `next`.
    Playback(Playback),
    /// Plays a prompt and routes on one digit. Exits: one per digit, `invalid`, `timeout`.
    Menu(Menu),
    /// Reads several digits into a variable. Exits `next`, `invalid`, `timeout`.
    Collect(Collect),
    /// Opening hours and holidays. Exits `open`, `closed`.
    Calendar(Calendar),
    /// Sets a flow (and channel) variable. Exit `next`.
    SetVariable(SetVariable),
    /// Compares a value to cases. Exits: one per case, `default`.
    Condition(Condition),
    /// Asks an HTTP service and stores fields of its JSON answer. Exits `ok`, `failure`.
    HttpLookup(HttpLookup),
    /// Queues the caller for an agent group. Exits `answered`, `timeout`, `full`,
    /// `unavailable`, `failed`.
    Queue(Queue),
    /// Dials an agent, an extension or an external number. Exits `answered`, `busy`,
    /// `no_answer`, `failed`.
    Transfer(Transfer),
    /// Leaves the caller in a voicemail box. Exit `next`.
    Voicemail(Voicemail),
    /// Hangs up. No exits.
    Hangup,
    /// Continues in another flow's published version. No exits.
    GotoFlow(GotoFlow),
}

/// `playback` parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playback {
    /// Prompt names, played in order.
    pub prompts: Vec<String>,
    /// Whether a digit stops playback (the digit is kept for the next menu).
    #[serde(default)]
    pub interruptible: bool,
}

/// `menu` parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Menu {
    /// Prompt played (interruptible by any digit).
    pub prompt: String,
    /// How long to wait for a digit after the prompt.
    #[serde(default = "default_digit_timeout_ms")]
    pub timeout_ms: u32,
    /// Tries after the first before taking `invalid` or `timeout`.
    #[serde(default = "default_retries")]
    pub max_retries: u8,
    /// Played after a digit with no exit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_prompt: Option<String>,
    /// Played when no digit came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_prompt: Option<String>,
}

/// `collect` parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collect {
    /// Prompt played before reading.
    pub prompt: String,
    /// Variable receiving the digits.
    pub variable: String,
    /// Fewest digits accepted.
    #[serde(default = "default_min_digits")]
    pub min_digits: u8,
    /// Most digits read (`#` ends input earlier).
    pub max_digits: u8,
    /// Wait per digit.
    #[serde(default = "default_digit_timeout_ms")]
    pub timeout_ms: u32,
    /// Tries after the first before taking `invalid` or `timeout`.
    #[serde(default = "default_retries")]
    pub max_retries: u8,
    /// Played after input of the wrong length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_prompt: Option<String>,
}

/// `calendar` parameters: open during `weekly` hours unless the date is a holiday.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// IANA zone; the call center's zone when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Opening hours.
    pub weekly: Vec<OpeningHours>,
    /// Closed dates.
    #[serde(default)]
    pub holidays: Vec<Holiday>,
}

/// One opening-hours rule: these days, from `from` to `to` (local time, `HH:MM`). A range whose
/// end is before its start runs past midnight into the next day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// `mon` … `sun`.
    pub days: Vec<String>,
    /// Opening time, `HH:MM`.
    pub from: String,
    /// Closing time, `HH:MM` (`24:00` for midnight).
    pub to: String,
}

/// A closed date or date range (inclusive), `YYYY-MM-DD`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    /// First closed day.
    pub from: String,
    /// Last closed day; `from` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `set_variable` parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetVariable {
    /// Variable name (`[A-Z][A-Z0-9_]*`).
    pub variable: String,
    /// Value; `${NAME}` is replaced by a variable's value.
    pub value: String,
}

/// `condition` parameters: the first matching case's exit, else `default`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// What is compared, a template such as `${CALLER_ID}` or `${ACCOUNT}`.
    pub subject: String,
    /// Cases, tried in order.
    pub cases: Vec<Case>,
}

/// One case of a `condition`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Exit taken when it matches.
    pub exit: String,
    /// Comparison.
    pub op: CompareOp,
    /// Values compared with (any may match).
    pub values: Vec<String>,
}

/// How a `condition` case compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    /// Equal to one of the values.
    Equals,
    /// Starts with one of the values.
    Prefix,
    /// Contains one of the values.
    Contains,
    /// Empty (values ignored).
    Empty,
}

/// `http_lookup` parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpLookup {
    /// `GET` or `POST`.
    #[serde(default)]
    pub method: HttpMethod,
    /// `http://` or `https://` URL; `${NAME}` is replaced by the percent-encoded value.
    pub url: String,
    /// Request headers (values are templates).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// For `POST`: a JSON object of templates sent as the body.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub body: BTreeMap<String, String>,
    /// Whole-request timeout.
    #[serde(default = "default_http_timeout_ms")]
    pub timeout_ms: u32,
    /// Variable → JSON pointer into the answer (`/customer/tier`).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
}

/// HTTP method of a lookup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET.
    #[default]
    Get,
    /// POST with a JSON body.
    Post,
}

/// `queue` parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// The agent group whose queue the caller joins.
    pub group_id: i64,
    /// Longest wait before the `timeout` exit.
    #[serde(default = "default_max_wait_secs")]
    pub max_wait_secs: u32,
}

/// `transfer` parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// Who is dialed.
    pub target: TransferTarget,
    /// Ring time before `no_answer`.
    #[serde(default = "default_ring_secs")]
    pub ring_secs: u32,
}

/// Destination of a `transfer`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TransferTarget {
    /// An agent (their phone, by extension).
    Agent(i64),
    /// An internal extension.
    Extension(String),
    /// An external number through a trunk.
    Number {
        /// Digits, optionally with a leading `+`.
        number: String,
        /// Trunk (Asterisk endpoint name) to leave through.
        trunk: String,
    },
}

/// `voicemail` parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voicemail {
    /// `box@context`.
    pub mailbox: String,
    /// Which greeting to play.
    #[serde(default)]
    pub greeting: Greeting,
}

/// Voicemail greeting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Greeting {
    /// The "unavailable" greeting.
    #[default]
    Unavailable,
    /// The "busy" greeting.
    Busy,
    /// No greeting, straight to the beep.
    None,
}

/// `goto_flow` parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GotoFlow {
    /// The flow to continue in (its published version).
    pub flow_id: i64,
}

fn default_digit_timeout_ms() -> u32 {
    5000
}
fn default_retries() -> u8 {
    2
}
fn default_min_digits() -> u8 {
    1
}
fn default_http_timeout_ms() -> u32 {
    2000
}
fn default_max_wait_secs() -> u32 {
    300
}
fn default_ring_secs() -> u32 {
    30
}

/// Digits a menu may route on.
pub const MENU_DIGITS: &str = "0123456789*#";

impl NodeKind {
    /// The `type` string of this kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Answer => "answer",
            NodeKind::Playback(_) => "playback",
            NodeKind::Menu(_) => "menu",
            NodeKind::Collect(_) => "collect",
            NodeKind::Calendar(_) => "calendar",
            NodeKind::SetVariable(_) => "set_variable",
            NodeKind::Condition(_) => "condition",
            NodeKind::HttpLookup(_) => "http_lookup",
            NodeKind::Queue(_) => "queue",
            NodeKind::Transfer(_) => "transfer",
            NodeKind::Voicemail(_) => "voicemail",
            NodeKind::Hangup => "hangup",
            NodeKind::GotoFlow(_) => "goto_flow",
        }
    }

    /// The fixed exits of this kind; menus and conditions add their own (digits, case exits).
    pub fn fixed_exits(&self) -> &'static [&'static str] {
        match self {
            NodeKind::Answer
            | NodeKind::Playback(_)
            | NodeKind::SetVariable(_)
            | NodeKind::Voicemail(_) => &["next"],
            NodeKind::Menu(_) => &["invalid", "timeout"],
            NodeKind::Collect(_) => &["next", "invalid", "timeout"],
            NodeKind::Calendar(_) => &["open", "closed"],
            NodeKind::Condition(_) => &["default"],
            NodeKind::HttpLookup(_) => &["ok", "failure"],
            NodeKind::Queue(_) => &["answered", "timeout", "full", "unavailable", "failed"],
            NodeKind::Transfer(_) => &["answered", "busy", "no_answer", "failed"],
            NodeKind::Hangup | NodeKind::GotoFlow(_) => &[],
        }
    }

    /// Whether taking `exit` means the caller pressed something (so a cycle through it cannot
    /// spin without caller input).
    pub fn exit_consumes_input(&self, exit: &str) -> bool {
        match self {
            NodeKind::Menu(_) => exit != "timeout",
            NodeKind::Collect(c) => exit == "invalid" || (exit == "next" && c.min_digits > 0),
            _ => false,
        }
    }

    /// Whether the node holds the call for a while by itself (queue, ringing, voicemail), which
    /// also bounds a cycle through it.
    pub fn waits(&self) -> bool {
        matches!(
            self,
            NodeKind::Queue(_) | NodeKind::Transfer(_) | NodeKind::Voicemail(_)
        )
    }
}

impl Flow {
    /// Parses a flow definition, reporting every field that does not fit the format.
    pub fn parse(value: &Value) -> Result<Flow, Vec<Problem>> {
        let Some(object) = value.as_object() else {
            return Err(vec![Problem::flow(
                "",
                "invalid_type",
                "a flow is a JSON object with `start` and `nodes`",
            )]);
        };
        let mut problems = Vec::new();
        for key in object.keys() {
            if !matches!(key.as_str(), "format" | "start" | "nodes") {
                problems.push(Problem::flow(
                    key.as_str(),
                    "unknown_field",
                    format!("unknown field `{key}` (expected `format`, `start`, `nodes`)"),
                ));
            }
        }
        match object.get("format") {
            None => {}
            Some(v) if v.as_u64() == Some(u64::from(FLOW_FORMAT_VERSION)) => {}
            Some(v) => problems.push(Problem::flow(
                "format",
                "unsupported_format",
                format!(
                    "flow format {v} is not supported (this version reads {FLOW_FORMAT_VERSION})"
                ),
            )),
        }
        let start = match object.get("start") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                problems.push(Problem::flow(
                    "start",
                    "invalid_type",
                    "`start` is a node id",
                ));
                String::new()
            }
            None => {
                problems.push(Problem::flow(
                    "start",
                    "missing_start",
                    "the flow needs a `start` node",
                ));
                String::new()
            }
        };
        let mut nodes = Vec::new();
        match object.get("nodes") {
            Some(Value::Array(items)) => {
                if items.len() > MAX_NODES {
                    problems.push(Problem::flow(
                        "nodes",
                        "too_many_nodes",
                        format!("a flow holds at most {MAX_NODES} nodes"),
                    ));
                }
                for (index, item) in items.iter().enumerate().take(MAX_NODES) {
                    match parse_node(index, item) {
                        Ok(node) => nodes.push(node),
                        Err(mut p) => problems.append(&mut p),
                    }
                }
                if items.is_empty() {
                    problems.push(Problem::flow(
                        "nodes",
                        "empty_flow",
                        "the flow has no nodes",
                    ));
                }
            }
            Some(_) => problems.push(Problem::flow(
                "nodes",
                "invalid_type",
                "`nodes` is an array",
            )),
            None => problems.push(Problem::flow(
                "nodes",
                "empty_flow",
                "the flow has no nodes",
            )),
        }
        let mut index = HashMap::new();
        for (i, node) in nodes.iter().enumerate() {
            if index.insert(node.id.clone(), i).is_some() {
                problems.push(Problem::node(
                    i,
                    &node.id,
                    "id",
                    "duplicate_id",
                    format!("node id `{}` is used twice", node.id),
                ));
            }
        }
        if problems.is_empty() {
            Ok(Flow {
                start,
                nodes,
                index,
            })
        } else {
            Err(problems)
        }
    }

    /// The definition as JSON (the format [`Flow::parse`] reads).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "format": FLOW_FORMAT_VERSION,
            "start": self.start,
            "nodes": self.nodes,
        })
    }

    /// Everything the flow refers to outside itself.
    pub fn references(&self) -> References {
        let mut refs = References::default();
        for node in &self.nodes {
            match &node.kind {
                NodeKind::Playback(p) => refs.prompts.extend(p.prompts.iter().cloned()),
                NodeKind::Menu(m) => {
                    refs.prompts.insert(m.prompt.clone());
                    refs.prompts.extend(m.invalid_prompt.iter().cloned());
                    refs.prompts.extend(m.timeout_prompt.iter().cloned());
                }
                NodeKind::Collect(c) => {
                    refs.prompts.insert(c.prompt.clone());
                    refs.prompts.extend(c.invalid_prompt.iter().cloned());
                }
                NodeKind::Queue(q) => {
                    refs.groups.insert(q.group_id);
                }
                NodeKind::Transfer(t) => match &t.target {
                    TransferTarget::Agent(agent) => {
                        refs.agents.insert(*agent);
                    }
                    TransferTarget::Number { trunk, .. } => {
                        refs.trunks.insert(trunk.clone());
                    }
                    TransferTarget::Extension(_) => {}
                },
                NodeKind::GotoFlow(g) => {
                    refs.flows.insert(g.flow_id);
                }
                _ => {}
            }
        }
        refs
    }

    /// Position of the node with this id.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.position(id).and_then(|i| self.nodes.get(i))
    }
}

fn parse_node(index: usize, item: &Value) -> Result<Node, Vec<Problem>> {
    let Some(object) = item.as_object() else {
        return Err(vec![Problem::flow(
            format!("nodes[{index}]"),
            "invalid_type",
            "a node is a JSON object",
        )]);
    };
    let mut problems = Vec::new();
    let id = match object.get("id") {
        Some(Value::String(id)) => id.clone(),
        _ => {
            problems.push(Problem::flow(
                format!("nodes[{index}].id"),
                "missing_id",
                "every node needs a string `id`",
            ));
            format!("#{index}")
        }
    };
    if id.is_empty()
        || id.len() > MAX_NODE_ID_LEN
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        problems.push(Problem::node(
            index,
            &id,
            "id",
            "invalid_id",
            format!("node ids are 1 to {MAX_NODE_ID_LEN} letters, digits, `_`, `-` or `.`"),
        ));
    }
    let name = match object.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(Problem::node(
                index,
                &id,
                "name",
                "invalid_type",
                "`name` is a string",
            ));
            None
        }
    };
    let exits = match object.get("exits") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(v) => match serde_json::from_value::<BTreeMap<String, Option<String>>>(v.clone()) {
            Ok(exits) => exits,
            Err(_) => {
                problems.push(Problem::node(
                    index,
                    &id,
                    "exits",
                    "invalid_type",
                    "`exits` maps exit names to node ids or null",
                ));
                BTreeMap::new()
            }
        },
    };
    let params: Map<String, Value> = object
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "id" | "name" | "type" | "exits"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let kind = match object.get("type").and_then(Value::as_str) {
        Some(type_name) => parse_kind(index, &id, type_name, params),
        None => Err(vec![Problem::node(
            index,
            &id,
            "type",
            "missing_type",
            "every node needs a `type`",
        )]),
    };
    match kind {
        Ok(kind) if problems.is_empty() => Ok(Node {
            id,
            name,
            kind,
            exits,
        }),
        Ok(_) => Err(problems),
        Err(mut p) => {
            problems.append(&mut p);
            Err(problems)
        }
    }
}

fn parse_kind(
    index: usize,
    id: &str,
    type_name: &str,
    params: Map<String, Value>,
) -> Result<NodeKind, Vec<Problem>> {
    fn typed<T: DeserializeOwned>(
        index: usize,
        id: &str,
        params: Map<String, Value>,
    ) -> Result<T, Vec<Problem>> {
        serde_path_to_error::deserialize(Value::Object(params)).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { String::new() } else { path };
            vec![Problem::node(
                index,
                id,
                &field,
                "invalid_parameter",
                e.into_inner().to_string(),
            )]
        })
    }
    fn no_params(index: usize, id: &str, params: &Map<String, Value>) -> Result<(), Vec<Problem>> {
        match params.keys().next() {
            None => Ok(()),
            Some(key) => Err(vec![Problem::node(
                index,
                id,
                key,
                "invalid_parameter",
                format!("unknown field `{key}`"),
            )]),
        }
    }
    Ok(match type_name {
        "answer" => {
            no_params(index, id, &params)?;
            NodeKind::Answer
        }
        "hangup" => {
            no_params(index, id, &params)?;
            NodeKind::Hangup
        }
        "playback" => NodeKind::Playback(typed(index, id, params)?),
        "menu" => NodeKind::Menu(typed(index, id, params)?),
        "collect" => NodeKind::Collect(typed(index, id, params)?),
        "calendar" => NodeKind::Calendar(typed(index, id, params)?),
        "set_variable" => NodeKind::SetVariable(typed(index, id, params)?),
        "condition" => NodeKind::Condition(typed(index, id, params)?),
        "http_lookup" => NodeKind::HttpLookup(typed(index, id, params)?),
        "queue" => NodeKind::Queue(typed(index, id, params)?),
        "transfer" => NodeKind::Transfer(typed(index, id, params)?),
        "voicemail" => NodeKind::Voicemail(typed(index, id, params)?),
        "goto_flow" => NodeKind::GotoFlow(typed(index, id, params)?),
        other => {
            return Err(vec![Problem::node(
                index,
                id,
                "type",
                "unknown_type",
                format!(
                    "unknown node type `{other}` (answer, playback, menu, collect, calendar, \
                     set_variable, condition, http_lookup, queue, transfer, voicemail, hangup, \
                     goto_flow)"
                ),
            )]);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_json() {
        let definition = json!({
            "format": 1,
            "start": "a",
            "nodes": [
                {"id": "a", "type": "answer", "exits": {"next": "m"}},
                {"id": "m", "type": "menu", "prompt": "p", "timeout_ms": 4000, "max_retries": 1,
                 "exits": {"1": "q", "invalid": null, "timeout": null}},
                {"id": "q", "type": "queue", "group_id": 7, "max_wait_secs": 60,
                 "exits": {"answered": null, "timeout": "h", "full": "h", "unavailable": "h", "failed": "h"}},
                {"id": "t", "type": "transfer", "target": {"number": {"number": "+3312", "trunk": "gw"}},
                 "exits": {}},
                {"id": "h", "type": "hangup"}
            ]
        });
        let flow = Flow::parse(&definition).unwrap();
        assert_eq!(flow.position("q"), Some(2));
        let again = Flow::parse(&flow.to_json()).unwrap();
        assert_eq!(flow, again);
        let refs = flow.references();
        assert_eq!(refs.prompts, ["p".to_owned()].into());
        assert_eq!(refs.groups, [7].into());
        assert_eq!(refs.trunks, ["gw".to_owned()].into());
        assert_eq!(
            flow.to_json()["nodes"][4],
            json!({"id": "h", "type": "hangup", "exits": {}})
        );
    }

    #[test]
    fn reports_each_bad_field_with_its_path() {
        let definition = json!({
            "start": "a",
            "extra": 1,
            "nodes": [
                {"id": "a", "type": "menu", "prompt": 3},
                {"id": "b", "type": "teleport"},
                {"id": "a", "type": "answer"},
                {"type": "hangup"},
                {"id": "c", "type": "collect", "prompt": "p", "variable": "X", "max_digits": 4, "colour": 1}
            ]
        });
        let problems = Flow::parse(&definition).unwrap_err();
        let fields: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.field.as_str(), p.code))
            .collect();
        assert!(fields.contains(&("extra", "unknown_field")), "{fields:?}");
        assert!(
            fields.contains(&("nodes[0].prompt", "invalid_parameter")),
            "{fields:?}"
        );
        assert!(
            fields.contains(&("nodes[1].type", "unknown_type")),
            "{fields:?}"
        );
        assert!(
            fields.contains(&("nodes[3].id", "missing_id")),
            "{fields:?}"
        );
        assert!(
            fields
                .iter()
                .any(|(f, c)| f.starts_with("nodes[4]") && *c == "invalid_parameter"),
            "{fields:?}"
        );
    }
}
