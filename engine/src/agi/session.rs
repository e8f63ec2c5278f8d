//! One FastAGI call, server side: the parsed environment plus a strict one-command-outstanding
//! request/response loop over the socket, with typed command methods for IVR code.
//!
//! Asterisk may write a bare `HANGUP` line at any time after the environment, usually just before
//! the reply to the command in flight. The session notes it, keeps reading to that command's
//! `200`/`511` line and returns it; from then on media commands ([`Command::needs_live_channel`])
//! fail fast with [`AgiError::Hangup`] without touching the socket, while `GET VARIABLE`,
//! `VERBOSE`, `SET ...` still go out (Asterisk answers them on a dead channel). [`AgiSession::raw`]
//! is the unchecked escape hatch. Dropping or [closing](AgiSession::close) the session ends the
//! AGI; the dialplan resumes with `AGISTATUS`.

use std::time::Instant;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

use super::codec::{AgiCodec, AgiFrame, AgiLimits};
use super::command::Command;
use super::error::{AgiError, Result};
use super::metrics::AgiMetrics;
use super::reply::{Outcome, Reply};
use super::request::AgiRequest;
use super::timeouts::CommandTimeouts;

/// Room kept free in the read buffer before each read; replies are short lines.
const READ_CHUNK: usize = 512;

/// How a session reads, times out and reports.
#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    /// Per-command timeouts.
    pub timeouts: CommandTimeouts,
    /// Framing limits.
    pub limits: AgiLimits,
    /// Where command latency and hang-ups are counted, if anywhere.
    pub metrics: Option<AgiMetrics>,
}

/// A live FastAGI call; `S` is the socket (a `TcpStream` in production, any duplex in tests).
#[derive(Debug)]
pub struct AgiSession<S = TcpStream> {
    io: S,
    codec: AgiCodec,
    buf: BytesMut,
    out: BytesMut,
    request: AgiRequest,
    options: SessionOptions,
    hung_up: bool,
    closed: bool,
    last_command_at: Option<Instant>,
    last_reply_at: Option<Instant>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AgiSession<S> {
    /// Reads the environment block (within the base command timeout) and opens the session.
    pub async fn accept(io: S, options: SessionOptions) -> Result<AgiSession<S>> {
        let mut session = AgiSession {
            io,
            codec: AgiCodec::new(options.limits),
            buf: BytesMut::with_capacity(READ_CHUNK * 2),
            out: BytesMut::with_capacity(128),
            request: AgiRequest::default(),
            options,
            hung_up: false,
            closed: false,
            last_command_at: None,
            last_reply_at: None,
        };
        let timeout = session.options.timeouts.base;
        let deadline = tokio::time::Instant::now() + timeout;
        match session.next_frame(deadline, "environment", timeout).await? {
            AgiFrame::Environment(request) => {
                session.request = *request;
                Ok(session)
            }
            // The codec always yields the environment first; anything else is a broken peer.
            _ => Err(AgiError::Closed),
        }
    }

    /// The environment Asterisk sent.
    pub fn request(&self) -> &AgiRequest {
        &self.request
    }

    /// True once Asterisk reported the hang-up (`HANGUP` line, `511`, or our own `hangup()`).
    pub fn is_hung_up(&self) -> bool {
        self.hung_up
    }

    /// The timeouts in force.
    pub fn timeouts(&self) -> CommandTimeouts {
        self.options.timeouts
    }

    /// Changes the timeouts for the following commands.
    pub fn set_timeouts(&mut self, timeouts: CommandTimeouts) {
        self.options.timeouts = timeouts;
    }

    /// When the last command line was fully written.
    pub fn last_command_at(&self) -> Option<Instant> {
        self.last_command_at
    }

    /// When the last reply was decoded.
    pub fn last_reply_at(&self) -> Option<Instant> {
        self.last_reply_at
    }

    /// Sends a typed command and returns its `200` outcome; `510`/`511`/`520` become typed errors.
    /// Media commands after a hang-up fail with [`AgiError::Hangup`] without any I/O.
    pub async fn send(&mut self, command: &Command) -> Result<Outcome> {
        if self.hung_up && command.needs_live_channel() {
            return Err(AgiError::Hangup);
        }
        match self.exchange(command).await? {
            Reply::Success(outcome) => Ok(outcome),
            Reply::InvalidCommand { message } => Err(AgiError::UnknownCommand { message }),
            Reply::DeadChannel { message } => Err(AgiError::DeadChannel { message }),
            Reply::Usage { message, usage } => Err(AgiError::Usage { message, usage }),
            Reply::Other { code, text } => Err(AgiError::UnexpectedReply { code, text }),
        }
    }

    /// Sends `line` verbatim and returns whatever reply came back, refusals included. Not gated
    /// by the hang-up state: the caller asked for exactly this line on the wire.
    pub async fn raw(&mut self, line: &str) -> Result<Reply> {
        self.exchange(&Command::Raw(line.to_owned())).await
    }

    /// Half-closes the socket so Asterisk sees the end of the AGI at once.
    pub async fn close(mut self) -> Result<()> {
        self.closed = true;
        self.io.shutdown().await.map_err(AgiError::Io)
    }

    pub(crate) fn mark_hung_up(&mut self) {
        if !self.hung_up {
            self.hung_up = true;
            if let Some(m) = &self.options.metrics {
                m.hangups_total.inc();
            }
        }
    }

    /// Writes one command and reads up to its reply, absorbing out-of-band `HANGUP` lines.
    async fn exchange(&mut self, command: &Command) -> Result<Reply> {
        if self.closed {
            return Err(AgiError::Closed);
        }
        self.out.clear();
        command.encode_into(&mut self.out)?;
        let verb = verb(command);
        let timeout = self.options.timeouts.for_command(command);
        let started = Instant::now();
        let deadline = tokio::time::Instant::from_std(started) + timeout;
        let written = tokio::time::timeout_at(deadline, self.io.write_all(&self.out)).await;
        match written {
            Ok(Ok(())) => self.last_command_at = Some(Instant::now()),
            Ok(Err(e)) => return Err(self.fail(AgiError::Io(e))),
            Err(_) => return Err(self.fail(timeout_error(verb, timeout))),
        }
        loop {
            match self.next_frame(deadline, verb, timeout).await? {
                AgiFrame::Hangup => self.mark_hung_up(),
                AgiFrame::Reply(reply) => {
                    let now = Instant::now();
                    self.last_reply_at = Some(now);
                    if let Some(m) = &self.options.metrics {
                        m.command_seconds
                            .observe(now.duration_since(started).as_secs_f64());
                    }
                    if matches!(reply, Reply::DeadChannel { .. }) {
                        self.mark_hung_up();
                    }
                    return Ok(reply);
                }
                AgiFrame::Environment(_) => return Err(self.fail(AgiError::Closed)),
            }
        }
    }

    /// The next decoded frame, reading as needed until `deadline`. Any failure closes the
    /// session: after a timeout or framing error the reply stream can no longer be trusted.
    async fn next_frame(
        &mut self,
        deadline: tokio::time::Instant,
        verb: &'static str,
        timeout: std::time::Duration,
    ) -> Result<AgiFrame> {
        if self.closed {
            return Err(AgiError::Closed);
        }
        loop {
            match self.codec.decode(&mut self.buf) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(e) => return Err(self.fail(e)),
            }
            self.buf.reserve(READ_CHUNK);
            let read = tokio::time::timeout_at(deadline, self.io.read_buf(&mut self.buf)).await;
            match read {
                Ok(Ok(0)) => {
                    self.closed = true;
                    return match self.codec.decode_eof(&mut self.buf) {
                        Ok(Some(frame)) => Ok(frame),
                        Ok(None) => Err(AgiError::Closed),
                        Err(e) => Err(e),
                    };
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(self.fail(AgiError::Io(e))),
                Err(_) => return Err(self.fail(timeout_error(verb, timeout))),
            }
        }
    }

    fn fail(&mut self, err: AgiError) -> AgiError {
        self.closed = true;
        err
    }
}

fn timeout_error(command: &'static str, timeout: std::time::Duration) -> AgiError {
    AgiError::Timeout {
        command,
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
    }
}

/// The command's verb, for errors and logs (never the arguments: they may hold caller data).
pub(crate) fn verb(command: &Command) -> &'static str {
    match command {
        Command::Answer => "ANSWER",
        Command::StreamFile { .. } => "STREAM FILE",
        Command::GetData { .. } => "GET DATA",
        Command::WaitForDigit { .. } => "WAIT FOR DIGIT",
        Command::GetVariable { .. } => "GET VARIABLE",
        Command::SetVariable { .. } => "SET VARIABLE",
        Command::Exec { .. } => "EXEC",
        Command::Hangup => "HANGUP",
        Command::Verbose { .. } => "VERBOSE",
        Command::SetContext(_) => "SET CONTEXT",
        Command::SetExtension(_) => "SET EXTENSION",
        Command::SetPriority(_) => "SET PRIORITY",
        Command::Raw(_) => "raw command",
    }
}

/// `result=-1` (or any non-number) is the command's own failure report.
pub(crate) fn code_or_fail(outcome: &Outcome, command: &'static str) -> Result<i64> {
    match outcome.code() {
        Some(code) if code >= 0 => Ok(code),
        _ => Err(AgiError::Failed {
            command,
            result: outcome.result.clone(),
        }),
    }
}
