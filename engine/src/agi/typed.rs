//! The typed command methods of [`AgiSession`]: what IVR code calls.
//!
//! Each method builds a [`Command`], sends it through [`AgiSession::send`] (so the hang-up
//! gating and the `510`/`511`/`520` errors apply) and interprets `result=` the way res_agi.c
//! documents it. `result=-1` ("error or channel disconnected") is [`AgiError::Failed`].

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use super::command::Command;
use super::error::{AgiError, Result};
use super::session::{AgiSession, code_or_fail};

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl<S: AsyncRead + AsyncWrite + Unpin> AgiSession<S> {
    /// `ANSWER` the channel.
    pub async fn answer(&mut self) -> Result<()> {
        let outcome = self.send(&Command::Answer).await?;
        code_or_fail(&outcome, "ANSWER").map(drop)
    }

    /// `STREAM FILE`: plays `file`; returns the escape digit pressed, `None` when it played out.
    pub async fn stream_file(&mut self, file: &str, escape_digits: &str) -> Result<Option<char>> {
        let command = Command::StreamFile {
            file: file.to_owned(),
            escape_digits: escape_digits.to_owned(),
            offset: None,
        };
        let outcome = self.send(&command).await?;
        match code_or_fail(&outcome, "STREAM FILE")? {
            0 => Ok(None),
            _ => digit(&outcome.result, outcome.digit(), "STREAM FILE").map(Some),
        }
    }

    /// `GET DATA`: plays `file` and collects up to `max_digits` digits, waiting `timeout` per
    /// digit. Returns the digits and whether input ended on the timeout (rather than `#` or
    /// reaching `max_digits`).
    pub async fn get_data(
        &mut self,
        file: &str,
        timeout: Duration,
        max_digits: u32,
    ) -> Result<(String, bool)> {
        let command = Command::GetData {
            file: file.to_owned(),
            timeout_ms: u32::try_from(millis(timeout)).unwrap_or(u32::MAX),
            max_digits,
        };
        let outcome = self.send(&command).await?;
        if outcome.result.starts_with('-') {
            return Err(AgiError::Failed {
                command: "GET DATA",
                result: outcome.result,
            });
        }
        let timed_out = outcome.timed_out();
        Ok((outcome.result, timed_out))
    }

    /// `WAIT FOR DIGIT`: the digit pressed within `timeout`, `None` on timeout.
    pub async fn wait_for_digit(&mut self, timeout: Duration) -> Result<Option<char>> {
        let timeout_ms = i64::try_from(millis(timeout)).unwrap_or(i64::MAX);
        let outcome = self.send(&Command::WaitForDigit { timeout_ms }).await?;
        match code_or_fail(&outcome, "WAIT FOR DIGIT")? {
            0 => Ok(None),
            _ => digit(&outcome.result, outcome.digit(), "WAIT FOR DIGIT").map(Some),
        }
    }

    /// `GET VARIABLE`: the value of a variable or function (`CALLERID(num)`), `None` when unset.
    pub async fn get_variable(&mut self, name: &str) -> Result<Option<String>> {
        let command = Command::GetVariable {
            name: name.to_owned(),
        };
        let outcome = self.send(&command).await?;
        match outcome.code() {
            Some(1) => Ok(Some(outcome.data.unwrap_or_default())),
            _ => Ok(None),
        }
    }

    /// `SET VARIABLE` on the channel.
    pub async fn set_variable(&mut self, name: &str, value: &str) -> Result<()> {
        let command = Command::SetVariable {
            name: name.to_owned(),
            value: value.to_owned(),
        };
        self.send(&command).await.map(drop)
    }

    /// `EXEC` a dialplan application; returns its result (`-2`: no such application).
    pub async fn exec(&mut self, app: &str, args: &str) -> Result<i32> {
        let command = Command::Exec {
            app: app.to_owned(),
            args: args.to_owned(),
        };
        let outcome = self.send(&command).await?;
        outcome
            .code()
            .and_then(|c| i32::try_from(c).ok())
            .ok_or(AgiError::Failed {
                command: "EXEC",
                result: outcome.result,
            })
    }

    /// `HANGUP` the channel; media commands fail fast afterwards.
    pub async fn hangup(&mut self) -> Result<()> {
        self.send(&Command::Hangup).await?;
        self.mark_hung_up();
        Ok(())
    }

    /// `VERBOSE`: a line in the Asterisk log at `level` (1-4).
    pub async fn verbose(&mut self, message: &str, level: u8) -> Result<()> {
        let command = Command::Verbose {
            message: message.to_owned(),
            level,
        };
        self.send(&command).await.map(drop)
    }

    /// `SET CONTEXT` for when the dialplan resumes.
    pub async fn set_context(&mut self, context: &str) -> Result<()> {
        self.send(&Command::SetContext(context.to_owned()))
            .await
            .map(drop)
    }

    /// `SET EXTENSION` for when the dialplan resumes.
    pub async fn set_extension(&mut self, extension: &str) -> Result<()> {
        self.send(&Command::SetExtension(extension.to_owned()))
            .await
            .map(drop)
    }

    /// `SET PRIORITY` (number or label) for when the dialplan resumes.
    pub async fn set_priority(&mut self, priority: &str) -> Result<()> {
        self.send(&Command::SetPriority(priority.to_owned()))
            .await
            .map(drop)
    }

    /// `CHANNEL STATUS`: Asterisk's channel state number (6 = up).
    pub async fn channel_status(&mut self) -> Result<i32> {
        let outcome = self
            .send(&Command::Raw("CHANNEL STATUS".to_owned()))
            .await?;
        let code = code_or_fail(&outcome, "CHANNEL STATUS")?;
        i32::try_from(code).map_err(|_| AgiError::Failed {
            command: "CHANNEL STATUS",
            result: outcome.result,
        })
    }
}

fn digit(result: &str, digit: Option<char>, command: &'static str) -> Result<char> {
    digit.ok_or_else(|| AgiError::Failed {
        command,
        result: result.to_owned(),
    })
}
