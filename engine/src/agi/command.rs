//! Typed FastAGI commands and their one-line wire form.
//!
//! Asterisk splits a command line on whitespace, honouring double quotes and backslash escapes
//! (`parse_args` in res_agi.c). So an argument that is empty or holds whitespace, a quote or a
//! backslash must be quoted; we also quote `,` and `|` so a dialplan argument list handed to
//! `EXEC` visibly stays one AGI argument (this matches the recorded sessions byte for byte).
//! A line break cannot be escaped at all and is refused.

use bytes::{BufMut, BytesMut};

use super::error::{AgiError, Result};

/// A command sent to Asterisk on a FastAGI channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `ANSWER`.
    Answer,
    /// `STREAM FILE <file> "<escape digits>" [offset]`: result 0, the ASCII code of the digit
    /// pressed, or -1 when the file is missing or the channel hung up.
    StreamFile {
        /// Sound file without extension.
        file: String,
        /// Digits that interrupt playback (empty for none).
        escape_digits: String,
        /// Sample offset to start at.
        offset: Option<u64>,
    },
    /// `GET DATA <file> <timeout> <max digits>`: the digits, ` (timeout)` when it timed out.
    GetData {
        /// Prompt file.
        file: String,
        /// Inter-digit timeout in ms (0 = Asterisk's default).
        timeout_ms: u32,
        /// Maximum number of digits.
        max_digits: u32,
    },
    /// `WAIT FOR DIGIT <timeout>`: ASCII code of the digit, 0 on timeout.
    WaitForDigit {
        /// Timeout in ms; -1 waits forever.
        timeout_ms: i64,
    },
    /// `GET VARIABLE <name>`: `result=1 (value)` or `result=0`.
    GetVariable {
        /// Variable or function name, e.g. `CALLERID(num)`.
        name: String,
    },
    /// `SET VARIABLE <name> <value>`.
    SetVariable {
        /// Variable name.
        name: String,
        /// Value to store.
        value: String,
    },
    /// `EXEC <app> <args>`: the application's return, -2 if there is no such application.
    Exec {
        /// Dialplan application name.
        app: String,
        /// Its comma-separated arguments as one string (omitted when empty).
        args: String,
    },
    /// `HANGUP`: hang up the current channel.
    Hangup,
    /// `VERBOSE <message> <level>`: write to the Asterisk console/log.
    Verbose {
        /// Text to log.
        message: String,
        /// Verbosity level (1-4).
        level: u8,
    },
    /// `SET CONTEXT <context>`: where the dialplan continues after the AGI.
    SetContext(String),
    /// `SET EXTENSION <exten>`.
    SetExtension(String),
    /// `SET PRIORITY <priority>` (number or label).
    SetPriority(String),
    /// A command line passed through verbatim (no trailing newline).
    Raw(String),
}

fn needs_quotes(arg: &str) -> bool {
    arg.is_empty()
        || arg
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\\' | ',' | '|'))
}

fn check(arg: &str) -> Result<()> {
    if arg.contains(['\n', '\r']) {
        return Err(AgiError::InvalidCommand {
            reason: "argument contains a line break",
        });
    }
    Ok(())
}

/// Appends `arg` in double quotes, escaping quotes and backslashes.
fn push_quoted(line: &mut String, arg: &str) {
    line.push('"');
    for c in arg.chars() {
        if c == '"' || c == '\\' {
            line.push('\\');
        }
        line.push(c);
    }
    line.push('"');
}

/// Appends a space and `arg`, quoted only when it has to be.
fn push_arg(line: &mut String, arg: &str) -> Result<()> {
    check(arg)?;
    line.push(' ');
    if needs_quotes(arg) {
        push_quoted(line, arg);
    } else {
        line.push_str(arg);
    }
    Ok(())
}

impl Command {
    /// The command line without its trailing `\n`.
    pub fn to_line(&self) -> Result<String> {
        let mut line = String::with_capacity(32);
        match self {
            Command::Answer => line.push_str("ANSWER"),
            Command::StreamFile {
                file,
                escape_digits,
                offset,
            } => {
                line.push_str("STREAM FILE");
                push_arg(&mut line, file)?;
                // Always quoted, so "no escape digits" is the explicit `""` Asterisk expects.
                check(escape_digits)?;
                line.push(' ');
                push_quoted(&mut line, escape_digits);
                if let Some(offset) = offset {
                    line.push_str(&format!(" {offset}"));
                }
            }
            Command::GetData {
                file,
                timeout_ms,
                max_digits,
            } => {
                line.push_str("GET DATA");
                push_arg(&mut line, file)?;
                line.push_str(&format!(" {timeout_ms} {max_digits}"));
            }
            Command::WaitForDigit { timeout_ms } => {
                line.push_str(&format!("WAIT FOR DIGIT {timeout_ms}"));
            }
            Command::GetVariable { name } => {
                line.push_str("GET VARIABLE");
                push_arg(&mut line, name)?;
            }
            Command::SetVariable { name, value } => {
                line.push_str("SET VARIABLE");
                push_arg(&mut line, name)?;
                push_arg(&mut line, value)?;
            }
            Command::Exec { app, args } => {
                line.push_str("EXEC");
                push_arg(&mut line, app)?;
                if !args.is_empty() {
                    push_arg(&mut line, args)?;
                }
            }
            Command::Hangup => line.push_str("HANGUP"),
            Command::Verbose { message, level } => {
                line.push_str("VERBOSE");
                push_arg(&mut line, message)?;
                line.push_str(&format!(" {level}"));
            }
            Command::SetContext(context) => {
                line.push_str("SET CONTEXT");
                push_arg(&mut line, context)?;
            }
            Command::SetExtension(exten) => {
                line.push_str("SET EXTENSION");
                push_arg(&mut line, exten)?;
            }
            Command::SetPriority(priority) => {
                line.push_str("SET PRIORITY");
                push_arg(&mut line, priority)?;
            }
            Command::Raw(raw) => {
                check(raw)?;
                line.push_str(raw);
            }
        }
        Ok(line)
    }

    /// Appends the command line and its `\n` to `dst`.
    pub fn encode_into(&self, dst: &mut BytesMut) -> Result<()> {
        let line = self.to_line()?;
        dst.reserve(line.len() + 1);
        dst.put_slice(line.as_bytes());
        dst.put_u8(b'\n');
        Ok(())
    }

    /// True for commands Asterisk refuses with `511` once the channel is hung up.
    pub fn needs_live_channel(&self) -> bool {
        matches!(
            self,
            Command::Answer
                | Command::StreamFile { .. }
                | Command::GetData { .. }
                | Command::WaitForDigit { .. }
                | Command::Exec { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(c: Command) -> String {
        c.to_line().unwrap()
    }

    #[test]
    fn quoting_rules() {
        let stream = |d: &str| Command::StreamFile {
            file: "beep".into(),
            escape_digits: d.into(),
            offset: None,
        };
        assert_eq!(line(stream("")), r#"STREAM FILE beep """#);
        assert_eq!(
            line(stream("0123456789*#")),
            r#"STREAM FILE beep "0123456789*#""#
        );
        let set = Command::SetVariable {
            name: "X".into(),
            value: r#"say "hi" \o/"#.into(),
        };
        assert_eq!(line(set), r#"SET VARIABLE X "say \"hi\" \\o/""#);
        let empty = Command::SetVariable {
            name: "X".into(),
            value: String::new(),
        };
        assert_eq!(line(empty), r#"SET VARIABLE X """#);
        let exec = Command::Exec {
            app: "Playback".into(),
            args: "beep,noanswer".into(),
        };
        assert_eq!(line(exec), r#"EXEC Playback "beep,noanswer""#);
        let get = Command::GetVariable {
            name: "CALLERID(num)".into(),
        };
        assert_eq!(line(get), "GET VARIABLE CALLERID(num)");
    }

    #[test]
    fn numbers_and_offsets() {
        let gd = Command::GetData {
            file: "beep".into(),
            timeout_ms: 1000,
            max_digits: 2,
        };
        assert_eq!(line(gd), "GET DATA beep 1000 2");
        assert_eq!(
            line(Command::WaitForDigit { timeout_ms: -1 }),
            "WAIT FOR DIGIT -1"
        );
        let sf = Command::StreamFile {
            file: "x".into(),
            escape_digits: String::new(),
            offset: Some(8000),
        };
        assert_eq!(line(sf), r#"STREAM FILE x "" 8000"#);
        assert_eq!(line(Command::SetPriority("3".into())), "SET PRIORITY 3");
    }

    #[test]
    fn line_breaks_are_refused() {
        let bad = Command::Verbose {
            message: "a\nHANGUP".into(),
            level: 1,
        };
        assert!(matches!(
            bad.to_line(),
            Err(AgiError::InvalidCommand { .. })
        ));
        assert!(Command::Raw("ANSWER\r\n".into()).to_line().is_err());
        let mut dst = BytesMut::new();
        Command::Answer.encode_into(&mut dst).unwrap();
        assert_eq!(&dst[..], b"ANSWER\n");
    }
}
