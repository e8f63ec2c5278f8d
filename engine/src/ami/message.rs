//! One AMI packet as received from Asterisk, and the `Action` builder for packets we send.
//!
//! A received [`Message`] keeps the packet text in a single reference-counted UTF-8 buffer and
//! the headers as byte spans into it, in wire order. Nothing is copied per header and keys are
//! compared ASCII-case-insensitively in place, which keeps event decoding allocation-light.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use super::error::{AmiError, Result};

/// Byte offsets of one `Key: Value` header inside a packet's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    key_start: u32,
    key_end: u32,
    value_start: u32,
    value_end: u32,
}

/// Splits one line (terminator already stripped) into a header span, `line_start` being the
/// line's offset in the packet. Lines without a colon, or with an empty key, are not headers.
pub(crate) fn header_span(line: &[u8], line_start: usize) -> Option<Span> {
    let colon = memchr::memchr(b':', line)?;
    let is_blank = |b: &u8| *b == b' ' || *b == b'\t';
    let key = &line[..colon];
    let lead = key.iter().take_while(|b| is_blank(b)).count();
    let trail = key.iter().rev().take_while(|b| is_blank(b)).count();
    if lead == key.len() {
        return None;
    }
    // Exactly one space follows the colon on the wire; further spaces belong to the value
    // (VarSet `RTPAUDIOQOSLOSS` values start with two).
    let value_lead = usize::from(line.get(colon + 1).is_some_and(is_blank));
    // Offsets fit in u32: the codec caps packets far below 4 GiB (see `AmiLimits`).
    let at = |i: usize| (line_start + i) as u32;
    Some(Span {
        key_start: at(lead),
        key_end: at(colon - trail),
        value_start: at(colon + 1 + value_lead),
        value_end: at(line.len()),
    })
}

/// A received AMI packet: an ordered multimap of headers with case-insensitive keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    text: ByteString,
    headers: Box<[Span]>,
}

impl Message {
    /// Builds a message from a framed packet whose header spans are already known.
    ///
    /// Invalid UTF-8 (a Latin-1 caller name, say) is replaced lossily and the spans recomputed,
    /// so every accessor can hand out `&str` without re-validating.
    pub(crate) fn from_packet(packet: Bytes, spans: &[Span]) -> Message {
        // Cloning `Bytes` only bumps a reference count; it keeps the raw bytes for the slow path.
        match ByteString::try_from(packet.clone()) {
            Ok(text) => Message {
                text,
                headers: spans.into(),
            },
            Err(_) => {
                tracing::debug!("AMI packet is not valid UTF-8; replacing invalid bytes");
                let lossy = String::from_utf8_lossy(&packet).into_owned();
                Message::parse(&lossy)
            }
        }
    }

    /// Parses the text of one packet (`\r\n` or `\n` line ends, no need for the blank line).
    /// Lines without a colon are skipped, as on the wire.
    pub fn parse(text: &str) -> Message {
        let mut headers = Vec::new();
        let mut start = 0;
        for line in text.as_bytes().split(|b| *b == b'\n') {
            let trimmed = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(span) = header_span(trimmed, start) {
                headers.push(span);
            }
            start += line.len() + 1;
        }
        Message {
            text: ByteString::from(text.to_owned()),
            headers: headers.into(),
        }
    }

    fn key_of(&self, span: &Span) -> &str {
        self.text
            .get(span.key_start as usize..span.key_end as usize)
            .unwrap_or_default()
    }

    fn value_of(&self, span: &Span) -> &str {
        self.text
            .get(span.value_start as usize..span.value_end as usize)
            .unwrap_or_default()
    }

    /// The value of the first header named `key` (ASCII case-insensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|s| self.key_of(s).eq_ignore_ascii_case(key))
            .map(|s| self.value_of(s))
    }

    /// Every value of the headers named `key`, in wire order (`Variable`, `Output`, ...).
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |s| self.key_of(s).eq_ignore_ascii_case(key))
            .map(|s| self.value_of(s))
    }

    /// All headers as `(key, value)` pairs, in wire order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.headers
            .iter()
            .map(|s| (self.key_of(s), self.value_of(s)))
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// True when the packet had no header at all.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// The packet text as received (headers and line ends, without the blank line).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The `Event` header, if this packet is an event.
    pub fn event_name(&self) -> Option<&str> {
        // `Event` is the first header in practice, so this is usually one comparison.
        self.get("Event")
    }

    /// True when the packet carries an `Event` header.
    pub fn is_event(&self) -> bool {
        self.event_name().is_some()
    }

    /// The `Response` header (`Success`, `Error`, `Goodbye`, ...) of a response packet.
    ///
    /// `None` for events, even for `OriginateResponse`, which also carries a `Response:` header:
    /// the `Event:` header classifies a packet first.
    pub fn response(&self) -> Option<&str> {
        if self.is_event() {
            None
        } else {
            self.get("Response")
        }
    }

    /// The `ActionID` echoed from the action this packet answers.
    pub fn action_id(&self) -> Option<&str> {
        self.get("ActionID")
    }

    /// The human-readable `Message` header of a response.
    pub fn message(&self) -> Option<&str> {
        self.get("Message")
    }

    /// The `EventList` header (`start` on a list response, `Complete` on its closing event).
    pub fn event_list(&self) -> Option<&str> {
        self.get("EventList")
    }

    /// The `ListItems` count announced by a list's `...Complete` event.
    pub fn list_items(&self) -> Option<usize> {
        self.get("ListItems")?.trim().parse().ok()
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// An AMI action to send: `Action`, then `ActionID`, then the other headers in insertion order.
#[derive(Clone, PartialEq, Eq)]
pub struct Action {
    name: String,
    action_id: Option<String>,
    headers: Vec<(String, String)>,
}

impl Action {
    /// Starts an action named `name` (`Login`, `Originate`, ...).
    pub fn new(name: impl Into<String>) -> Action {
        Action {
            name: name.into(),
            action_id: None,
            headers: Vec::new(),
        }
    }

    /// Sets the `ActionID` that Asterisk will echo in the response and related events.
    pub fn with_action_id(mut self, id: impl Into<String>) -> Action {
        self.action_id = Some(id.into());
        self
    }

    /// Appends a header; repeated keys are kept in order.
    pub fn header(mut self, key: impl Into<String>, value: impl Into<String>) -> Action {
        self.headers.push((key.into(), value.into()));
        self
    }

    /// Appends a `Variable: name=value` header (channel variable for `Originate`).
    pub fn variable(self, name: &str, value: &str) -> Action {
        self.header("Variable", format!("{name}={value}"))
    }

    /// The action name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `ActionID`, if one was set.
    pub fn action_id(&self) -> Option<&str> {
        self.action_id.as_deref()
    }

    /// The first value of header `key` (case-insensitive), other than `Action`/`ActionID`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Appends the wire form (`Key: Value\r\n` lines and the closing blank line) to `dst`.
    ///
    /// Refuses keys or values that would inject lines into the stream.
    pub fn encode_into(&self, dst: &mut BytesMut) -> Result<()> {
        check_header("Action", &self.name)?;
        if let Some(id) = &self.action_id {
            check_header("ActionID", id)?;
        }
        for (key, value) in &self.headers {
            check_header(key, value)?;
        }
        let mut put = |key: &str, value: &str| {
            dst.reserve(key.len() + value.len() + 4);
            dst.put_slice(key.as_bytes());
            dst.put_slice(b": ");
            dst.put_slice(value.as_bytes());
            dst.put_slice(b"\r\n");
        };
        put("Action", &self.name);
        if let Some(id) = &self.action_id {
            put("ActionID", id);
        }
        for (key, value) in &self.headers {
            put(key, value);
        }
        dst.put_slice(b"\r\n");
        Ok(())
    }

    /// The wire form as one buffer.
    pub fn to_bytes(&self) -> Result<Bytes> {
        let mut dst = BytesMut::new();
        self.encode_into(&mut dst)?;
        Ok(dst.freeze())
    }
}

fn check_header(key: &str, value: &str) -> Result<()> {
    let invalid = |reason| {
        Err(AmiError::InvalidHeader {
            key: key.to_owned(),
            reason,
        })
    };
    if key.is_empty() {
        return invalid("empty key");
    }
    if key.contains([':', '\r', '\n']) {
        return invalid("key contains ':' or a line break");
    }
    if value.contains(['\r', '\n']) {
        return invalid("value contains a line break");
    }
    Ok(())
}

/// Header names whose values must never reach a log.
fn is_secret(key: &str) -> bool {
    key.eq_ignore_ascii_case("Secret") || key.eq_ignore_ascii_case("Key")
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Action");
        s.field("name", &self.name)
            .field("action_id", &self.action_id);
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), if is_secret(k) { "<redacted>" } else { v }))
            .collect();
        s.field("headers", &headers).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multimap_is_ordered_and_case_insensitive() {
        let m = Message::parse(
            "Response: Success\r\nactionid: a-1\r\nOutput: one\r\nOUTPUT: two\r\nValue: \r\n",
        );
        assert_eq!(m.len(), 5);
        assert_eq!(m.get("ActionID"), Some("a-1"));
        assert_eq!(m.action_id(), Some("a-1"));
        assert_eq!(m.get_all("output").collect::<Vec<_>>(), ["one", "two"]);
        assert_eq!(m.get("value"), Some(""));
        assert_eq!(m.response(), Some("Success"));
        assert!(!m.is_event());
        assert_eq!(m.get("Missing"), None);
    }

    #[test]
    fn originate_response_is_an_event_first() {
        let m = Message::parse("Event: OriginateResponse\nResponse: Failure\nReason: 0\n");
        assert!(m.is_event());
        assert_eq!(m.event_name(), Some("OriginateResponse"));
        assert_eq!(m.response(), None);
        assert_eq!(m.get("Response"), Some("Failure"));
    }

    #[test]
    fn lines_without_colon_and_odd_spacing() {
        let m =
            Message::parse("Event: X\r\njunk line\r\n  Key :  spaced\r\n:novalue\r\nEmpty:\r\n");
        let pairs: Vec<_> = m.iter().collect();
        assert_eq!(pairs, [("Event", "X"), ("Key", " spaced"), ("Empty", "")]);
    }

    #[test]
    fn action_serialises_like_the_captures() {
        let login = Action::new("Login")
            .with_action_id("ami-login-plain-1")
            .header("Username", "callpro")
            .header("Secret", "callpro-secret")
            .header("Events", "on");
        assert_eq!(
            &login.to_bytes().unwrap()[..],
            b"Action: Login\r\nActionID: ami-login-plain-1\r\nUsername: callpro\r\nSecret: callpro-secret\r\nEvents: on\r\n\r\n"
        );
        let dbg = format!("{login:?}");
        assert!(!dbg.contains("callpro-secret"), "{dbg}");
        let var = Action::new("Originate").variable("CALLPRO_CAMPAIGN", "42");
        assert_eq!(var.get("variable"), Some("CALLPRO_CAMPAIGN=42"));
    }

    #[test]
    fn action_refuses_injection() {
        let bad = Action::new("Ping").header("X", "a\r\nAction: Logoff");
        assert!(matches!(
            bad.to_bytes(),
            Err(AmiError::InvalidHeader { .. })
        ));
        assert!(Action::new("Ping").header("A:B", "v").to_bytes().is_err());
        assert!(Action::new("Ping").header("", "v").to_bytes().is_err());
    }
}
