//! What an IVR session leaves behind: the steps it walked and how it ended.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One node visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Flow the node belongs to (changes after a `goto_flow`).
    pub flow_id: Option<i64>,
    /// Node id.
    pub node: String,
    /// Node type.
    pub node_type: String,
    /// What the caller or the service gave (digits, lookup status, queue status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// Exit taken; `None` when the walk ended in the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<String>,
    /// Anything worth knowing (a missing prompt, a lookup error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When the node was entered.
    pub started_at: DateTime<Utc>,
    /// When it was left.
    pub ended_at: DateTime<Utc>,
}

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// The walk reached a terminal exit; the call went back to the dialplan.
    Completed,
    /// An agent answered the caller from a queue.
    Queued,
    /// A transfer was answered.
    Transferred,
    /// The caller reached voicemail.
    Voicemail,
    /// The caller hung up before any of the above.
    Abandoned,
    /// The flow hung up.
    Hangup,
    /// The IVR could not run (unknown DID, no published flow, a loop limit, an AGI error).
    Failed,
}

impl OutcomeKind {
    /// The stored code (`completed`, `queued`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Completed => "completed",
            OutcomeKind::Queued => "queued",
            OutcomeKind::Transferred => "transferred",
            OutcomeKind::Voicemail => "voicemail",
            OutcomeKind::Abandoned => "abandoned",
            OutcomeKind::Hangup => "hangup",
            OutcomeKind::Failed => "failed",
        }
    }
}

/// The end of a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// What happened.
    pub kind: OutcomeKind,
    /// The node the walk was in (last node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Where the call went (queue, number, mailbox), or why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Outcome {
    /// An outcome of `kind` at `node`.
    pub fn new(kind: OutcomeKind, node: Option<&str>, detail: Option<String>) -> Self {
        Self {
            kind,
            node: node.map(str::to_owned),
            detail,
        }
    }
}
