//! Framing of the AMI byte stream: the banner line first, then blank-line-terminated packets.
//!
//! The decoder is lenient about what Asterisk really sends (`\n` or `\r\n` line ends, `\r\n\n`
//! terminators, extra blank lines, empty values, lines without a colon) and strict about size:
//! a packet longer than [`AmiLimits::max_packet_bytes`] or with more than
//! [`AmiLimits::max_headers`] headers is an error, so a misbehaving peer cannot make us buffer
//! without bound. Partial input yields `Ok(None)`; scanning resumes where it stopped, so a packet
//! trickling in byte by byte is still read in linear time.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::error::AmiError;
use super::message::{Action, Message, Span, header_span};

/// Hard limits applied while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AmiLimits {
    /// Maximum bytes of one packet, line ends and terminator included (also caps the banner).
    pub max_packet_bytes: usize,
    /// Maximum number of headers in one packet.
    pub max_headers: usize,
}

impl Default for AmiLimits {
    fn default() -> Self {
        AmiLimits {
            max_packet_bytes: 64 * 1024,
            max_headers: 512,
        }
    }
}

/// One decoded item of the AMI stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmiFrame {
    /// The greeting line, e.g. `Asterisk Call Manager/11.0.0` (line end stripped).
    Banner(String),
    /// A response or event packet.
    Message(Message),
}

impl AmiFrame {
    /// The protocol version announced by a banner (`11.0.0`), if this is one.
    pub fn banner_version(&self) -> Option<&str> {
        match self {
            AmiFrame::Banner(line) => line.rsplit_once('/').map(|(_, v)| v),
            AmiFrame::Message(_) => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Banner,
    Packets,
}

/// `tokio_util` codec for the client side of AMI: decodes [`AmiFrame`]s, encodes [`Action`]s.
#[derive(Debug)]
pub struct AmiCodec {
    limits: AmiLimits,
    state: State,
    /// Offset of the first byte of the current packet not scanned yet.
    scan: usize,
    /// Header spans of the current packet; its capacity is reused from packet to packet.
    spans: Vec<Span>,
}

impl Default for AmiCodec {
    fn default() -> Self {
        AmiCodec::new(AmiLimits::default())
    }
}

impl AmiCodec {
    /// A codec that expects the banner line first.
    pub fn new(limits: AmiLimits) -> AmiCodec {
        // Spans are stored as u32 offsets; no sane limit comes near that.
        let max_packet_bytes = limits.max_packet_bytes.min(u32::MAX as usize);
        AmiCodec {
            limits: AmiLimits {
                max_packet_bytes,
                ..limits
            },
            state: State::Banner,
            scan: 0,
            spans: Vec::with_capacity(32),
        }
    }

    /// A codec for a stream without banner (packets only), e.g. to parse our own actions.
    pub fn without_banner(limits: AmiLimits) -> AmiCodec {
        AmiCodec {
            state: State::Packets,
            ..AmiCodec::new(limits)
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> AmiLimits {
        self.limits
    }

    /// Drops the partial packet after a limit error so the buffer does not keep growing.
    fn fail(&mut self, src: &mut BytesMut, err: AmiError) -> AmiError {
        tracing::warn!(error = %err, "AMI framing error; discarding buffered input");
        src.clear();
        self.scan = 0;
        self.spans.clear();
        err
    }

    fn decode_banner(&mut self, src: &mut BytesMut) -> Result<Option<AmiFrame>, AmiError> {
        loop {
            let Some(nl) = memchr::memchr(b'\n', src) else {
                if src.len() > self.limits.max_packet_bytes {
                    let limit = self.limits.max_packet_bytes;
                    return Err(self.fail(src, AmiError::PacketTooLarge { limit }));
                }
                return Ok(None);
            };
            let line = src[..nl].strip_suffix(b"\r").unwrap_or(&src[..nl]);
            if line.is_empty() {
                src.advance(nl + 1);
                continue;
            }
            self.state = State::Packets;
            if line.contains(&b':') {
                // No banner (a proxy or a test stream): this line already belongs to a packet.
                return Ok(None);
            }
            let banner = String::from_utf8_lossy(line).into_owned();
            src.advance(nl + 1);
            return Ok(Some(AmiFrame::Banner(banner)));
        }
    }

    fn decode_packet(&mut self, src: &mut BytesMut) -> Result<Option<AmiFrame>, AmiError> {
        loop {
            let Some(offset) = memchr::memchr(b'\n', &src[self.scan..]) else {
                if src.len() > self.limits.max_packet_bytes {
                    let limit = self.limits.max_packet_bytes;
                    return Err(self.fail(src, AmiError::PacketTooLarge { limit }));
                }
                return Ok(None);
            };
            let line_start = self.scan;
            let newline = line_start + offset;
            let next = newline + 1;
            if next > self.limits.max_packet_bytes {
                let limit = self.limits.max_packet_bytes;
                return Err(self.fail(src, AmiError::PacketTooLarge { limit }));
            }
            let line = &src[line_start..newline];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                self.scan = 0;
                if self.spans.is_empty() {
                    // Stray blank lines, or a "packet" of colon-less lines only: drop them.
                    src.advance(next);
                    continue;
                }
                let mut packet = src.split_to(next);
                packet.truncate(line_start);
                let message = Message::from_packet(packet.freeze(), &self.spans);
                self.spans.clear();
                return Ok(Some(AmiFrame::Message(message)));
            }
            if let Some(span) = header_span(line, line_start) {
                if self.spans.len() >= self.limits.max_headers {
                    let limit = self.limits.max_headers;
                    return Err(self.fail(src, AmiError::TooManyHeaders { limit }));
                }
                self.spans.push(span);
            }
            self.scan = next;
        }
    }
}

impl Decoder for AmiCodec {
    type Item = AmiFrame;
    type Error = AmiError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<AmiFrame>, AmiError> {
        if self.state == State::Banner {
            if let Some(banner) = self.decode_banner(src)? {
                return Ok(Some(banner));
            }
            if self.state == State::Banner {
                return Ok(None);
            }
        }
        self.decode_packet(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<AmiFrame>, AmiError> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        // Trailing line ends are harmless; anything else is a packet cut short by the peer.
        if src.iter().all(|b| b.is_ascii_whitespace()) {
            src.clear();
            self.scan = 0;
            self.spans.clear();
            return Ok(None);
        }
        let pending = src.len();
        Err(self.fail(src, AmiError::Truncated { pending }))
    }
}

impl Encoder<&Action> for AmiCodec {
    type Error = AmiError;

    fn encode(&mut self, action: &Action, dst: &mut BytesMut) -> Result<(), AmiError> {
        action.encode_into(dst)
    }
}

impl Encoder<Action> for AmiCodec {
    type Error = AmiError;

    fn encode(&mut self, action: Action, dst: &mut BytesMut) -> Result<(), AmiError> {
        action.encode_into(dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut AmiCodec, input: &[u8]) -> Vec<AmiFrame> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            out.push(frame);
        }
        while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
            out.push(frame);
        }
        out
    }

    fn message(frame: &AmiFrame) -> &Message {
        match frame {
            AmiFrame::Message(m) => m,
            AmiFrame::Banner(b) => panic!("unexpected banner {b}"),
        }
    }

    #[test]
    fn banner_then_several_packets_in_one_read() {
        let input = b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: a-1\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n";
        let frames = decode_all(&mut AmiCodec::default(), input);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].banner_version(), Some("11.0.0"));
        assert_eq!(message(&frames[1]).response(), Some("Success"));
        assert_eq!(message(&frames[2]).event_name(), Some("FullyBooted"));
        assert_eq!(message(&frames[2]).get("status"), Some("Fully Booted"));
    }

    #[test]
    fn lenient_line_ends_and_blank_lines() {
        let input = b"Asterisk Call Manager/2.0\n\r\n\r\nEvent: A\nKey:\nno colon here\n\nEvent: B\r\nX: 1\r\n\n\n\nEvent: C\r\n\r\n";
        let frames = decode_all(&mut AmiCodec::default(), input);
        assert_eq!(frames.len(), 4);
        let a = message(&frames[1]);
        assert_eq!(a.iter().collect::<Vec<_>>(), [("Event", "A"), ("Key", "")]);
        assert_eq!(message(&frames[2]).get("X"), Some("1"));
        assert_eq!(message(&frames[3]).event_name(), Some("C"));
    }

    #[test]
    fn missing_banner_goes_straight_to_packets() {
        let frames = decode_all(&mut AmiCodec::default(), b"Event: A\r\n\r\n");
        assert_eq!(frames.len(), 1);
        assert_eq!(message(&frames[0]).event_name(), Some("A"));
    }

    #[test]
    fn partial_input_is_none_and_resumes() {
        let input = b"Asterisk Call Manager/11.0.0\r\nEvent: Hangup\r\nCause: 16\r\n\r\n";
        let mut codec = AmiCodec::default();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for b in input {
            buf.extend_from_slice(&[*b]);
            while let Some(f) = codec.decode(&mut buf).unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(message(&frames[1]).get("Cause"), Some("16"));
        assert!(buf.is_empty());
    }

    #[test]
    fn packet_size_limit_is_enforced_without_a_terminator() {
        let limits = AmiLimits {
            max_packet_bytes: 64,
            max_headers: 512,
        };
        let mut codec = AmiCodec::without_banner(limits);
        let mut buf = BytesMut::from(&b"Event: X\r\n"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.extend_from_slice(&[b'a'; 80]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(AmiError::PacketTooLarge { limit: 64 })
        ));
        assert!(buf.is_empty());
    }

    #[test]
    fn header_count_limit_is_enforced() {
        let limits = AmiLimits {
            max_packet_bytes: 1 << 20,
            max_headers: 3,
        };
        let mut codec = AmiCodec::without_banner(limits);
        let mut buf =
            BytesMut::from(&b"A: 1\r\nB: 2\r\nC: 3\r\n\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_some());
        assert!(matches!(
            codec.decode(&mut buf),
            Err(AmiError::TooManyHeaders { limit: 3 })
        ));
    }

    #[test]
    fn eof_inside_a_packet_is_truncated() {
        let mut codec = AmiCodec::without_banner(AmiLimits::default());
        let mut buf = BytesMut::from(&b"Event: A\r\nX: 1\r\n"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(matches!(
            codec.decode_eof(&mut buf),
            Err(AmiError::Truncated { .. })
        ));
        let mut buf = BytesMut::from(&b"\r\n"[..]);
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let frames = decode_all(
            &mut AmiCodec::without_banner(AmiLimits::default()),
            b"Event: Newchannel\r\nCallerIDName: Ren\xe9\r\nUniqueid: 1.2\r\n\r\n",
        );
        let m = message(&frames[0]);
        assert_eq!(m.get("CallerIDName"), Some("Ren\u{fffd}"));
        assert_eq!(m.get("Uniqueid"), Some("1.2"));
    }

    #[test]
    fn encoder_writes_actions() {
        let mut codec = AmiCodec::default();
        let mut dst = BytesMut::new();
        codec
            .encode(Action::new("Ping").with_action_id("p-1"), &mut dst)
            .unwrap();
        assert_eq!(&dst[..], b"Action: Ping\r\nActionID: p-1\r\n\r\n");
    }
}
