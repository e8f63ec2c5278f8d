//! How long the session waits for each command's reply.
//!
//! A single fixed timeout does not fit AGI: `GET VARIABLE` answers in microseconds, while
//! `WAIT FOR DIGIT 5000` legitimately takes five seconds and `STREAM FILE` or `EXEC` last as long
//! as the sound file or the application. So the timeout of a command is
//! `base + its own time bound`:
//!
//! * `WAIT FOR DIGIT t`: `base + t` (`t = -1`, "forever", gets the media allowance);
//! * `GET DATA f t n`: `base + media + t × (n + 1)`: the prompt plays first (unknown length),
//!   then each of up to `n` digits may take `t` (Asterisk's default 6 s when `t = 0`);
//! * `STREAM FILE`, `EXEC` and raw commands: `base + media`;
//! * everything else (`ANSWER`, `GET/SET VARIABLE`, `VERBOSE`, `SET CONTEXT`, ...): `base`.
//!
//! A timeout is a protocol failure, not a user outcome: the late reply would be read as the
//! answer to the next command, so the session closes.

use std::time::Duration;

use super::command::Command;

/// Asterisk's `GET DATA` digit timeout when the command passes 0.
const GET_DATA_DEFAULT_MS: u64 = 6000;

/// Per-command reply timeouts; see the module docs for how they combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandTimeouts {
    /// Added to every command; alone for the quick ones. Also bounds the environment read.
    pub base: Duration,
    /// Allowance for playback or an application of unknown length.
    pub media: Duration,
}

impl Default for CommandTimeouts {
    fn default() -> Self {
        CommandTimeouts {
            base: Duration::from_secs(5),
            media: Duration::from_secs(600),
        }
    }
}

impl CommandTimeouts {
    /// The reply timeout for `command`.
    pub fn for_command(&self, command: &Command) -> Duration {
        let own = match command {
            Command::WaitForDigit { timeout_ms } => match u64::try_from(*timeout_ms) {
                Ok(ms) => Duration::from_millis(ms),
                Err(_) => self.media,
            },
            Command::GetData {
                timeout_ms,
                max_digits,
                ..
            } => {
                let per_digit = match u64::from(*timeout_ms) {
                    0 => GET_DATA_DEFAULT_MS,
                    ms => ms,
                };
                let digits = u64::from(*max_digits).saturating_add(1);
                self.media + Duration::from_millis(per_digit.saturating_mul(digits))
            }
            Command::StreamFile { .. } | Command::Exec { .. } | Command::Raw(_) => self.media,
            _ => Duration::ZERO,
        };
        self.base.saturating_add(own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_follow_the_commands_own_bounds() {
        let t = CommandTimeouts {
            base: Duration::from_secs(1),
            media: Duration::from_secs(60),
        };
        let get = Command::GetVariable { name: "X".into() };
        assert_eq!(t.for_command(&get), Duration::from_secs(1));
        let wait = Command::WaitForDigit { timeout_ms: 3000 };
        assert_eq!(t.for_command(&wait), Duration::from_secs(4));
        let forever = Command::WaitForDigit { timeout_ms: -1 };
        assert_eq!(t.for_command(&forever), Duration::from_secs(61));
        let data = Command::GetData {
            file: "beep".into(),
            timeout_ms: 1000,
            max_digits: 4,
        };
        assert_eq!(t.for_command(&data), Duration::from_secs(1 + 60 + 5));
        let default_data = Command::GetData {
            file: "beep".into(),
            timeout_ms: 0,
            max_digits: 1,
        };
        assert_eq!(t.for_command(&default_data), Duration::from_secs(73));
        assert_eq!(
            t.for_command(&Command::Raw("X".into())),
            Duration::from_secs(61)
        );
    }
}
