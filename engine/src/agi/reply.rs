//! Replies Asterisk writes to FastAGI commands.
//!
//! `200 result=<n>[ (<data>)][ endpos=<n>]` carries the outcome; `510` (unknown command), `511`
//! (channel is dead) and `520` (usage) are refusals. The multi-line `520-` form is assembled by
//! the codec, which hands the usage text lines to [`Reply::Usage`].

use super::error::{AgiError, Result};

/// The payload of a `200` reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The `result=` value as sent. Usually a number, but `GET DATA` returns the digits
    /// themselves (leading zeros matter) and an empty string when it timed out with none.
    pub result: String,
    /// The text in parentheses: a variable's value, `timeout`, ...
    pub data: Option<String>,
    /// `endpos=`: where playback stopped, in samples.
    pub endpos: Option<u64>,
}

impl Outcome {
    /// `result` as a number.
    pub fn code(&self) -> Option<i64> {
        self.result.parse().ok()
    }

    /// The digit whose ASCII code `STREAM FILE`/`WAIT FOR DIGIT` returned (49 → `'1'`).
    pub fn digit(&self) -> Option<char> {
        let code = u8::try_from(self.code()?).ok()?;
        let c = char::from(code);
        matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(c)
    }

    /// True when the data is `timeout` (`GET DATA` ran out of time).
    pub fn timed_out(&self) -> bool {
        self.data.as_deref() == Some("timeout")
    }
}

/// One reply line (or `520` block) from Asterisk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `200 result=...`.
    Success(Outcome),
    /// `510 Invalid or unknown command`.
    InvalidCommand {
        /// The text after the code.
        message: String,
    },
    /// `511 Command Not Permitted on a dead channel or intercept routine`.
    DeadChannel {
        /// The text after the code.
        message: String,
    },
    /// `520`: wrong syntax, with the usage text when Asterisk sent the multi-line form.
    Usage {
        /// The text after `520 ` or `520-`.
        message: String,
        /// The usage text lines between `520-...` and `520 End of proper usage.`.
        usage: Vec<String>,
    },
    /// Any other numeric code, kept as is.
    Other {
        /// The three-digit code.
        code: u16,
        /// The text after the code.
        text: String,
    },
}

impl Reply {
    /// Parses one single-line reply (without its `\n`).
    pub fn parse_line(line: &str) -> Result<Reply> {
        let malformed = || AgiError::MalformedReply {
            line: line.to_owned(),
        };
        let code = line
            .get(..3)
            .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(malformed)?;
        let rest = &line[3..];
        let text = match rest.as_bytes().first() {
            None => "",
            Some(b' ' | b'-') => &rest[1..],
            Some(_) => return Err(malformed()),
        };
        Ok(match code {
            200 => match text.strip_prefix("result=") {
                Some(result) => Reply::Success(parse_outcome(result)),
                None => Reply::Other {
                    code,
                    text: text.to_owned(),
                },
            },
            510 => Reply::InvalidCommand {
                message: text.to_owned(),
            },
            511 => Reply::DeadChannel {
                message: text.to_owned(),
            },
            520 => Reply::Usage {
                message: text.to_owned(),
                usage: Vec::new(),
            },
            _ => Reply::Other {
                code,
                text: text.to_owned(),
            },
        })
    }

    /// The `200` outcome, if this is one.
    pub fn outcome(&self) -> Option<&Outcome> {
        match self {
            Reply::Success(o) => Some(o),
            _ => None,
        }
    }
}

/// Parses what follows `result=`: the value, then optional `(data)` and `endpos=`.
fn parse_outcome(s: &str) -> Outcome {
    let (result, rest) = s.split_once(' ').unwrap_or((s, ""));
    let rest = rest.trim_start();
    // The data may itself contain parentheses and spaces (a variable's value): it runs to the
    // last `)`, and only `endpos=` can follow it.
    let (data, tail) = match rest.strip_prefix('(') {
        Some(inner) => match inner.rfind(')') {
            Some(close) => (Some(inner[..close].to_owned()), &inner[close + 1..]),
            None => (Some(inner.to_owned()), ""),
        },
        None => (None, rest),
    };
    let endpos = tail
        .split_whitespace()
        .find_map(|t| t.strip_prefix("endpos="))
        .and_then(|n| n.parse().ok());
    Outcome {
        result: result.to_owned(),
        data,
        endpos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Outcome {
        match Reply::parse_line(line).unwrap() {
            Reply::Success(o) => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn success_forms_from_the_captures() {
        assert_eq!(ok("200 result=0").code(), Some(0));
        let v = ok("200 result=1 (hello world|0100000000)");
        assert_eq!(v.data.as_deref(), Some("hello world|0100000000"));
        let s = ok("200 result=49 endpos=5600");
        assert_eq!((s.digit(), s.endpos, s.data), (Some('1'), Some(5600), None));
        assert_eq!(ok("200 result=-1 endpos=0").code(), Some(-1));
        let t = ok("200 result= (timeout)");
        assert_eq!(t.result, "");
        assert!(t.timed_out());
        assert_eq!(ok("200 result=12").result, "12");
        assert_eq!(ok("200 result=35").digit(), Some('#'));
        let r = ok("200 result=0 (a) b) endpos=160");
        assert_eq!((r.data.as_deref(), r.endpos), (Some("a) b"), Some(160)));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            Reply::parse_line("510 Invalid or unknown command").unwrap(),
            Reply::InvalidCommand {
                message: "Invalid or unknown command".into()
            }
        );
        assert!(matches!(
            Reply::parse_line("511 Command Not Permitted on a dead channel or intercept routine"),
            Ok(Reply::DeadChannel { .. })
        ));
        assert!(matches!(
            Reply::parse_line("520 Invalid command syntax."),
            Ok(Reply::Usage { usage, .. }) if usage.is_empty()
        ));
        assert!(matches!(
            Reply::parse_line("404 nope"),
            Ok(Reply::Other { code: 404, .. })
        ));
        assert!(Reply::parse_line("HANGUP").is_err());
        assert!(Reply::parse_line("20").is_err());
        assert!(Reply::parse_line("2000 x").is_err());
    }
}
