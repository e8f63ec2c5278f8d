//! Framing of a FastAGI connection, server side: first the environment block, then one item per
//! reply line, with Asterisk's out-of-band `HANGUP` line as an item of its own.
//!
//! Lines end in `\n` (a stray `\r` is tolerated). A `520-` line opens a usage block that runs to
//! the `520 End of proper usage.` line; its text lines carry no prefix and are gathered into one
//! [`Reply::Usage`]. Hard limits cap a single line and the environment or usage block; partial
//! input is `Ok(None)` and never grows the buffer past those limits.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use super::command::Command;
use super::error::AgiError;
use super::reply::Reply;
use super::request::AgiRequest;

/// Hard limits applied while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgiLimits {
    /// Maximum bytes in one line, `\n` included.
    pub max_line_bytes: usize,
    /// Maximum bytes of the environment block, and of a `520` usage block.
    pub max_block_bytes: usize,
}

impl Default for AgiLimits {
    fn default() -> Self {
        AgiLimits {
            max_line_bytes: 16 * 1024,
            max_block_bytes: 64 * 1024,
        }
    }
}

/// One decoded item of a FastAGI connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgiFrame {
    /// The `agi_*` environment, always first (boxed: it is large and arrives once).
    Environment(Box<AgiRequest>),
    /// A reply to the command in flight.
    Reply(Reply),
    /// The caller hung up (may arrive before the reply to the command in flight).
    Hangup,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Environment,
    Replies,
    Usage {
        message: String,
        usage: Vec<String>,
        bytes: usize,
    },
}

/// `tokio_util` codec for the server side of FastAGI: decodes [`AgiFrame`]s, encodes
/// [`Command`]s.
#[derive(Debug)]
pub struct AgiCodec {
    limits: AgiLimits,
    state: State,
    /// Bytes at the front of the buffer already searched for `\n`.
    scan: usize,
    /// Start of the line being read (only non-zero inside the environment block).
    line_start: usize,
}

impl Default for AgiCodec {
    fn default() -> Self {
        AgiCodec::new(AgiLimits::default())
    }
}

impl AgiCodec {
    /// A codec that expects the environment block first.
    pub fn new(limits: AgiLimits) -> AgiCodec {
        AgiCodec {
            limits,
            state: State::Environment,
            scan: 0,
            line_start: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> AgiLimits {
        self.limits
    }

    fn fail(&mut self, src: &mut BytesMut, err: AgiError) -> AgiError {
        tracing::warn!(error = %err, "AGI framing error; discarding buffered input");
        src.clear();
        self.scan = 0;
        self.line_start = 0;
        if matches!(self.state, State::Usage { .. }) {
            self.state = State::Replies;
        }
        err
    }

    /// Finds the next `\n` at or after `self.scan`, enforcing the size limits meanwhile.
    fn next_newline(
        &mut self,
        src: &mut BytesMut,
        line_start: usize,
    ) -> Result<Option<usize>, AgiError> {
        match memchr::memchr(b'\n', &src[self.scan..]) {
            Some(offset) => {
                let newline = self.scan + offset;
                if newline + 1 - line_start > self.limits.max_line_bytes {
                    let limit = self.limits.max_line_bytes;
                    return Err(self.fail(src, AgiError::LineTooLong { limit }));
                }
                self.scan = newline + 1;
                Ok(Some(newline))
            }
            None => {
                if src.len() - line_start > self.limits.max_line_bytes {
                    let limit = self.limits.max_line_bytes;
                    return Err(self.fail(src, AgiError::LineTooLong { limit }));
                }
                self.scan = src.len();
                Ok(None)
            }
        }
    }

    fn decode_environment(&mut self, src: &mut BytesMut) -> Result<Option<AgiFrame>, AgiError> {
        loop {
            let line_start = self.line_start;
            let Some(newline) = self.next_newline(src, line_start)? else {
                if src.len() > self.limits.max_block_bytes {
                    let limit = self.limits.max_block_bytes;
                    return Err(self.fail(src, AgiError::BlockTooLarge { limit }));
                }
                return Ok(None);
            };
            if newline + 1 > self.limits.max_block_bytes {
                let limit = self.limits.max_block_bytes;
                return Err(self.fail(src, AgiError::BlockTooLarge { limit }));
            }
            self.line_start = newline + 1;
            let line = &src[line_start..newline];
            if line.strip_suffix(b"\r").unwrap_or(line).is_empty() {
                let block = src.split_to(newline + 1);
                self.scan = 0;
                self.line_start = 0;
                self.state = State::Replies;
                let request = AgiRequest::parse(&String::from_utf8_lossy(&block));
                return Ok(Some(AgiFrame::Environment(Box::new(request))));
            }
        }
    }

    fn decode_replies(&mut self, src: &mut BytesMut) -> Result<Option<AgiFrame>, AgiError> {
        loop {
            let Some(newline) = self.next_newline(src, 0)? else {
                return Ok(None);
            };
            let raw = src.split_to(newline + 1);
            self.scan = 0;
            let raw = &raw[..newline];
            let line = String::from_utf8_lossy(raw.strip_suffix(b"\r").unwrap_or(raw));
            match &mut self.state {
                State::Usage {
                    message,
                    usage,
                    bytes,
                } => {
                    if line == "520" || line.starts_with("520 ") {
                        let reply = Reply::Usage {
                            message: std::mem::take(message),
                            usage: std::mem::take(usage),
                        };
                        self.state = State::Replies;
                        return Ok(Some(AgiFrame::Reply(reply)));
                    }
                    *bytes += newline + 1;
                    if *bytes > self.limits.max_block_bytes {
                        let limit = self.limits.max_block_bytes;
                        return Err(self.fail(src, AgiError::BlockTooLarge { limit }));
                    }
                    // Asterisk 22 sends the text bare; older releases prefixed it with `520-`.
                    let text = line.strip_prefix("520-").unwrap_or(&line);
                    usage.push(text.to_owned());
                }
                _ => {
                    if line.is_empty() {
                        continue;
                    }
                    if line == "HANGUP" {
                        return Ok(Some(AgiFrame::Hangup));
                    }
                    if let Some(message) = line.strip_prefix("520-") {
                        self.state = State::Usage {
                            message: message.to_owned(),
                            usage: Vec::new(),
                            bytes: newline + 1,
                        };
                        continue;
                    }
                    let reply = Reply::parse_line(&line).map_err(|e| self.fail(src, e))?;
                    return Ok(Some(AgiFrame::Reply(reply)));
                }
            }
        }
    }
}

impl Decoder for AgiCodec {
    type Item = AgiFrame;
    type Error = AgiError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<AgiFrame>, AgiError> {
        if self.state == State::Environment {
            if let Some(env) = self.decode_environment(src)? {
                return Ok(Some(env));
            }
            if self.state == State::Environment {
                return Ok(None);
            }
        }
        self.decode_replies(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<AgiFrame>, AgiError> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        // Leftover line ends between replies are harmless; a cut environment or usage block,
        // or a partial reply line, is not.
        let partial_block = matches!(self.state, State::Usage { .. })
            || (self.state == State::Environment && !src.is_empty());
        if !partial_block && src.iter().all(|b| b.is_ascii_whitespace()) {
            src.clear();
            self.scan = 0;
            return Ok(None);
        }
        let pending = src.len();
        Err(self.fail(src, AgiError::Truncated { pending }))
    }
}

impl Encoder<&Command> for AgiCodec {
    type Error = AgiError;

    fn encode(&mut self, command: &Command, dst: &mut BytesMut) -> Result<(), AgiError> {
        command.encode_into(dst)
    }
}

impl Encoder<Command> for AgiCodec {
    type Error = AgiError;

    fn encode(&mut self, command: Command, dst: &mut BytesMut) -> Result<(), AgiError> {
        command.encode_into(dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut AgiCodec, input: &[u8]) -> Vec<AgiFrame> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for b in input {
            buf.extend_from_slice(&[*b]);
            while let Some(f) = codec.decode(&mut buf).unwrap() {
                out.push(f);
            }
        }
        while let Some(f) = codec.decode_eof(&mut buf).unwrap() {
            out.push(f);
        }
        out
    }

    #[test]
    fn environment_then_replies_and_hangup() {
        let input = b"agi_network: yes\nagi_network_script: test?x=1\nagi_arg_1: arg1\n\n200 result=0\nHANGUP\n511 Command Not Permitted on a dead channel or intercept routine\n";
        let frames = decode_all(&mut AgiCodec::default(), input);
        assert_eq!(frames.len(), 4);
        let AgiFrame::Environment(env) = &frames[0] else {
            panic!("{frames:?}");
        };
        assert_eq!(env.script, "test");
        assert_eq!(env.args, ["arg1"]);
        assert!(matches!(&frames[1], AgiFrame::Reply(Reply::Success(o)) if o.code() == Some(0)));
        assert_eq!(frames[2], AgiFrame::Hangup);
        assert!(matches!(
            &frames[3],
            AgiFrame::Reply(Reply::DeadChannel { .. })
        ));
    }

    #[test]
    fn usage_block_is_one_reply() {
        let input = b"agi_network: yes\n\n520-Invalid command syntax.  Proper usage follows:\nStream the given <replaceable>file</replaceable>.\n    <value>SUCCESS</value>\n520 End of proper usage.\n200 result=1\n";
        let frames = decode_all(&mut AgiCodec::default(), input);
        assert_eq!(frames.len(), 3);
        let AgiFrame::Reply(Reply::Usage { message, usage }) = &frames[1] else {
            panic!("{frames:?}");
        };
        assert_eq!(message, "Invalid command syntax.  Proper usage follows:");
        assert_eq!(usage.len(), 2);
        assert_eq!(usage[1], "    <value>SUCCESS</value>");
    }

    #[test]
    fn limits_cap_lines_and_blocks() {
        let limits = AgiLimits {
            max_line_bytes: 32,
            max_block_bytes: 64,
        };
        let mut codec = AgiCodec::new(limits);
        let mut buf = BytesMut::from(&[b'a'; 40][..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(AgiError::LineTooLong { limit: 32 })
        ));
        let mut codec = AgiCodec::new(limits);
        let mut buf = BytesMut::from(&b"agi_a: 1234567890\n".repeat(4)[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(AgiError::BlockTooLarge { limit: 64 })
        ));
        let mut codec = AgiCodec::new(limits);
        let mut buf = BytesMut::from(&b"\n520-x\n0123456789012345678901234567\n".repeat(3)[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Ok(Some(AgiFrame::Environment(_)))
        ));
        assert!(matches!(
            codec.decode(&mut buf),
            Err(AgiError::BlockTooLarge { limit: 64 })
        ));
    }

    #[test]
    fn garbage_reply_and_truncation_are_errors() {
        let mut codec = AgiCodec::default();
        let mut buf = BytesMut::from(&b"\nwhat is this\n"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_some());
        assert!(matches!(
            codec.decode(&mut buf),
            Err(AgiError::MalformedReply { .. })
        ));
        let mut codec = AgiCodec::default();
        let mut buf = BytesMut::from(&b"agi_network: yes\n"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(matches!(
            codec.decode_eof(&mut buf),
            Err(AgiError::Truncated { .. })
        ));
    }
}
