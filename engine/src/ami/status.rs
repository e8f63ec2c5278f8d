//! What the AMI client publishes besides events: its connection status (for `/health`) and the
//! state snapshot taken after every (re)connect.

use super::error::AmiClientError;
use super::message::Message;

/// Where the connection stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConnectionState {
    /// Connecting or logging in.
    #[default]
    Connecting,
    /// Logged in; actions are accepted.
    Connected,
    /// Waiting for the next reconnect attempt; actions fail with `NotConnected`.
    Disconnected,
    /// Shut down for good.
    Closed,
}

/// The connection status watched by `/health`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionStatus {
    /// Current state.
    pub state: ConnectionState,
    /// Why the last connection or attempt ended; kept while reconnecting and after success.
    pub last_error: Option<AmiClientError>,
    /// The banner of the current (or last) connection, e.g. `Asterisk Call Manager/11.0.0`.
    pub banner: Option<String>,
    /// Number of successful logins so far; the current connection's generation.
    pub generation: u64,
}

/// Asterisk's state right after a (re)connect, as raw list items.
///
/// Events are not replayed across a reconnect, so consumers rebuild their view from this and
/// then apply the events that follow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The connection generation it belongs to (see [`ConnectionStatus::generation`]).
    pub generation: u64,
    /// `CoreShowChannel` items.
    pub channels: Vec<Message>,
    /// `QueueParams` items of `QueueStatus`.
    pub queue_params: Vec<Message>,
    /// `QueueMember` items of `QueueStatus`.
    pub queue_members: Vec<Message>,
    /// `QueueEntry` items of `QueueStatus` (callers waiting).
    pub queue_entries: Vec<Message>,
    /// `ContactList` items of `PJSIPShowContacts`.
    pub contacts: Vec<Message>,
    /// Lists Asterisk refused (module not loaded, say), with the reason; their field is empty.
    pub failed: Vec<(String, String)>,
}
