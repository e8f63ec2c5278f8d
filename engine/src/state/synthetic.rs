//! Synthetic AMI events, for simulations and tests without Asterisk.
//!
//! They are real [`Message`]s in the same shape as the Asterisk 22 captures, so they go through
//! the very parser and `LiveState::apply_message` path live traffic takes: a simulated call
//! cannot behave differently from a real one because of a shortcut.

use std::fmt::Write as _;

use crate::ami::Message;

use super::view::LegState;

/// Asterisk's number for a channel state.
fn state_code(state: LegState) -> u8 {
    match state {
        LegState::Down | LegState::Unknown => 0,
        LegState::Reserved => 1,
        LegState::OffHook => 2,
        LegState::Dialing => 3,
        LegState::Ring => 4,
        LegState::Ringing => 5,
        LegState::Up => 6,
        LegState::Busy => 7,
        LegState::DialingOffhook => 8,
        LegState::PreRing => 9,
    }
}

/// Builds one packet; line breaks inside values are flattened so a value cannot add headers.
fn packet(headers: &[(&str, &str)]) -> Message {
    let mut text = String::new();
    for (key, value) in headers {
        let value = value.replace(['\r', '\n'], " ");
        // Writing to a String cannot fail.
        let _ = write!(text, "{key}: {value}\r\n");
    }
    Message::parse(&text)
}

/// A channel whose life is narrated as AMI events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntheticChannel {
    /// Channel name, e.g. `PJSIP/yeastar-paris-00000001`.
    pub channel: String,
    /// Uniqueid.
    pub uniqueid: String,
    /// Linkedid (the call).
    pub linkedid: String,
    /// Caller ID number.
    pub caller_id_num: Option<String>,
    /// Connected line number.
    pub connected_line_num: Option<String>,
    /// Dialplan context.
    pub context: String,
    /// Dialplan extension.
    pub exten: String,
}

impl SyntheticChannel {
    /// A channel in context `callpro-sim`, extension `s`.
    pub fn new(channel: &str, uniqueid: &str, linkedid: &str) -> SyntheticChannel {
        SyntheticChannel {
            channel: channel.to_owned(),
            uniqueid: uniqueid.to_owned(),
            linkedid: linkedid.to_owned(),
            caller_id_num: None,
            connected_line_num: None,
            context: "callpro-sim".to_owned(),
            exten: "s".to_owned(),
        }
    }

    fn event(&self, name: &str, state: LegState, prefix: &str, extra: &[(&str, &str)]) -> Message {
        let code = state_code(state).to_string();
        let key = |k: &str| format!("{prefix}{k}");
        let owned = [
            (key("Channel"), self.channel.as_str()),
            (key("ChannelState"), code.as_str()),
            (
                key("CallerIDNum"),
                self.caller_id_num.as_deref().unwrap_or("<unknown>"),
            ),
            (
                key("ConnectedLineNum"),
                self.connected_line_num.as_deref().unwrap_or("<unknown>"),
            ),
            (key("Context"), self.context.as_str()),
            (key("Exten"), self.exten.as_str()),
            (key("Uniqueid"), self.uniqueid.as_str()),
            (key("Linkedid"), self.linkedid.as_str()),
        ];
        let mut headers = vec![("Event", name)];
        headers.extend(
            extra
                .iter()
                .copied()
                .filter(|(k, _)| k.starts_with("Bridge")),
        );
        headers.extend(owned.iter().map(|(k, v)| (k.as_str(), *v)));
        headers.extend(
            extra
                .iter()
                .copied()
                .filter(|(k, _)| !k.starts_with("Bridge")),
        );
        packet(&headers)
    }

    /// `Newchannel` in `state`.
    pub fn newchannel(&self, state: LegState) -> Message {
        self.event("Newchannel", state, "", &[])
    }

    /// `Newstate` to `state`.
    pub fn newstate(&self, state: LegState) -> Message {
        self.event("Newstate", state, "", &[])
    }

    /// `VarSet` of a channel variable.
    pub fn var_set(&self, state: LegState, variable: &str, value: &str) -> Message {
        self.event(
            "VarSet",
            state,
            "",
            &[("Variable", variable), ("Value", value)],
        )
    }

    /// `DialState` of a dial to this channel (no caller, as for an `Originate`).
    pub fn dial_state(&self, state: LegState, status: &str) -> Message {
        self.event("DialState", state, "Dest", &[("DialStatus", status)])
    }

    /// `DialEnd` of a dial to this channel.
    pub fn dial_end(&self, state: LegState, status: &str) -> Message {
        self.event("DialEnd", state, "Dest", &[("DialStatus", status)])
    }

    /// `BridgeEnter` into bridge `id` named `name` now holding `channels` channels.
    pub fn bridge_enter(&self, id: &str, name: &str, channels: u32) -> Message {
        let n = channels.to_string();
        let extra = [
            ("BridgeUniqueid", id),
            ("BridgeName", name),
            ("BridgeNumChannels", n.as_str()),
        ];
        self.event("BridgeEnter", LegState::Up, "", &extra)
    }

    /// `BridgeLeave` of bridge `id` named `name`.
    pub fn bridge_leave(&self, id: &str, name: &str, channels: u32) -> Message {
        let n = channels.to_string();
        let extra = [
            ("BridgeUniqueid", id),
            ("BridgeName", name),
            ("BridgeNumChannels", n.as_str()),
        ];
        self.event("BridgeLeave", LegState::Up, "", &extra)
    }

    /// `Hangup` with a Q.850 cause.
    pub fn hangup(&self, state: LegState, cause: u16) -> Message {
        let cause = cause.to_string();
        self.event("Hangup", state, "", &[("Cause", cause.as_str())])
    }
}

/// A queue member event (`QueueMemberAdded`, `QueueMemberPause`, `QueueMemberRemoved`).
pub fn queue_member_event(
    name: &str,
    queue: &str,
    interface: &str,
    member_name: Option<&str>,
    paused: bool,
    reason: Option<&str>,
) -> Message {
    packet(&[
        ("Event", name),
        ("Queue", queue),
        ("MemberName", member_name.unwrap_or(interface)),
        ("Interface", interface),
        ("StateInterface", interface),
        ("Paused", if paused { "1" } else { "0" }),
        ("PausedReason", reason.unwrap_or("")),
    ])
}
