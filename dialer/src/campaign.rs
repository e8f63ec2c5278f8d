//! Campaign settings: the operating schedule, the dialing strategy and the compliance options.
//!
//! The management layer stores [`CampaignSettings`] as JSON (every field has a default, so `{}`
//! is a valid campaign) and calls [`CampaignSettings::validate`] before saving, which lists every
//! problem with a dotted path to the offending field. The law itself (calling windows, caps,
//! cooldowns) lives in [`crate::compliance`]; these settings only choose a profile and may be
//! stricter than it, never looser.

use std::fmt;

use chrono::{NaiveDate, NaiveTime, Timelike, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::compliance::RegulatoryProfile;
use crate::retry::Outcome;

/// Implements `ALL`, `as_str`, [`std::str::FromStr`] and [`fmt::Display`] for a fieldless enum
/// from one list of (variant, name) pairs; the names must match the enum's serde names (each
/// module tests that they do).
macro_rules! names {
    ($ty:ident, $what:literal, $v0:ident => $n0:literal $(, $v:ident => $n:literal)* $(,)?) => {
        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[Self::$v0 $(, Self::$v)*];

            /// The stable snake_case name, as serialized and stored.
            pub fn as_str(&self) -> &'static str {
                match self {
                    Self::$v0 => $n0,
                    $(Self::$v => $n,)*
                }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = crate::Error;

            fn from_str(s: &str) -> crate::Result<Self> {
                match s {
                    $n0 => Ok(Self::$v0),
                    $($n => Ok(Self::$v),)*
                    other => Err(crate::Error::UnknownName {
                        what: $what,
                        value: other.to_owned(),
                        expected: concat!($n0 $(, ", ", $n)*),
                    }),
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use names;

/// How the dialer paces a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DialMode {
    /// The agent sees the lead first and starts the call.
    Preview,
    /// One call per idle agent.
    Progressive,
    /// A fixed number of calls per idle agent ([`Strategy::power_ratio`]).
    Power,
    /// Model-based dialing held at [`Strategy::target_abandon_pct`].
    Predictive,
}

names!(DialMode, "dial mode",
    Preview => "preview",
    Progressive => "progressive",
    Power => "power",
    Predictive => "predictive",
);

impl DialMode {
    /// Whether every call placed has an agent reserved for it, so none can be abandoned.
    pub fn guarantees_agent(&self) -> bool {
        matches!(self, Self::Preview | Self::Progressive)
    }
}

/// A half-open interval `[start, end)` of wall-clock time within one day.
///
/// Serialized as `["HH:MM","HH:MM"]`. An `end` of [`Window::END_OF_DAY`] (midnight) means the
/// end of the day and is written `"24:00"`; `"00:00"` as an end reads the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First instant inside the window.
    pub start: NaiveTime,
    /// First instant after the window; [`Window::END_OF_DAY`] for the end of the day.
    pub end: NaiveTime,
}

impl Window {
    /// The `end` that stands for 24:00. Midnight can never be a meaningful end otherwise, since
    /// no window can end at or before its start.
    pub const END_OF_DAY: NaiveTime = NaiveTime::MIN;

    /// The whole day, 00:00 to 24:00.
    pub const WHOLE_DAY: Self = Self::new(NaiveTime::MIN, Self::END_OF_DAY);

    /// A window from `start` to `end` (use [`Window::END_OF_DAY`] for 24:00).
    pub const fn new(start: NaiveTime, end: NaiveTime) -> Self {
        Self { start, end }
    }

    /// A window from `sh:sm` to `eh:em`, whole minutes; `eh` = 24 means the end of the day.
    /// Out-of-range values give `None`.
    pub const fn hm(sh: u32, sm: u32, eh: u32, em: u32) -> Option<Self> {
        let Some(start) = NaiveTime::from_hms_opt(sh, sm, 0) else {
            return None;
        };
        let end = if eh == 24 && em == 0 {
            Self::END_OF_DAY
        } else {
            match NaiveTime::from_hms_opt(eh, em, 0) {
                Some(t) => t,
                None => return None,
            }
        };
        Some(Self::new(start, end))
    }

    /// Whether `t` falls inside the window.
    pub fn contains(&self, t: NaiveTime) -> bool {
        t >= self.start && (self.end == Self::END_OF_DAY || t < self.end)
    }

    /// Whether the window holds no instant at all (its end is not after its start).
    pub fn is_empty(&self) -> bool {
        self.end != Self::END_OF_DAY && self.end <= self.start
    }

    /// Seconds from midnight to `end`, 86 400 for the end of the day.
    pub fn end_secs(&self) -> u32 {
        if self.end == Self::END_OF_DAY {
            86_400
        } else {
            self.end.num_seconds_from_midnight()
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (start, end) = self.texts();
        write!(f, "{start}-{end}")
    }
}

impl Window {
    fn texts(&self) -> (String, String) {
        let start = self.start.format("%H:%M").to_string();
        let end = if self.end == Self::END_OF_DAY {
            "24:00".to_owned()
        } else {
            self.end.format("%H:%M").to_string()
        };
        (start, end)
    }
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.texts().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let [start, end] = <[String; 2]>::deserialize(deserializer)?;
        let parse = |s: &str| {
            NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| {
                de::Error::invalid_value(de::Unexpected::Str(s), &"a time as \"HH:MM\"")
            })
        };
        let start = parse(&start)?;
        let end = if end == "24:00" {
            Self::END_OF_DAY
        } else {
            parse(&end)?
        };
        Ok(Self { start, end })
    }
}

/// Windows per day of the week. A day left out has no window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weekly {
    /// Monday.
    pub mon: Vec<Window>,
    /// Tuesday.
    pub tue: Vec<Window>,
    /// Wednesday.
    pub wed: Vec<Window>,
    /// Thursday.
    pub thu: Vec<Window>,
    /// Friday.
    pub fri: Vec<Window>,
    /// Saturday.
    pub sat: Vec<Window>,
    /// Sunday.
    pub sun: Vec<Window>,
}

impl Weekly {
    /// The same windows Monday to Friday, nothing at the weekend.
    pub fn weekdays(windows: &[Window]) -> Self {
        Self {
            mon: windows.to_vec(),
            tue: windows.to_vec(),
            wed: windows.to_vec(),
            thu: windows.to_vec(),
            fri: windows.to_vec(),
            ..Self::default()
        }
    }

    /// The windows of one day.
    pub fn for_weekday(&self, day: Weekday) -> &[Window] {
        match day {
            Weekday::Mon => &self.mon,
            Weekday::Tue => &self.tue,
            Weekday::Wed => &self.wed,
            Weekday::Thu => &self.thu,
            Weekday::Fri => &self.fri,
            Weekday::Sat => &self.sat,
            Weekday::Sun => &self.sun,
        }
    }

    /// Each day with its field name, Monday first.
    fn days(&self) -> [(&'static str, &[Window]); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }
}

/// When the campaign operates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Schedule {
    /// The campaign's time zone (IANA name), in which `windows` and `holidays` are read.
    #[serde(with = "tz_name")]
    pub time_zone: Tz,
    /// Operating hours (when the floor is staffed), in `time_zone`.
    pub windows: Weekly,
    /// Dates, in `time_zone`, with no dialing at all.
    pub holidays: Vec<NaiveDate>,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            time_zone: Tz::Europe__Paris,
            windows: Weekly::weekdays(&[Window::hm(9, 0, 20, 0).unwrap_or(Window::WHOLE_DAY)]),
            holidays: Vec::new(),
        }
    }
}

/// How often and how soon to call again after one kind of failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryRule {
    /// Seconds to wait before the next attempt.
    pub delay_secs: u32,
    /// No retry after this outcome once the lead has had this many attempts in the campaign.
    pub max_attempts: u32,
}

impl RetryRule {
    const fn new(delay_secs: u32, max_attempts: u32) -> Self {
        Self {
            delay_secs,
            max_attempts,
        }
    }
}

/// One [`RetryRule`] per failed outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryRules {
    /// Busy tone.
    pub busy: RetryRule,
    /// Nobody answered within the ring timeout.
    pub no_answer: RetryRule,
    /// Network congestion (all circuits busy).
    pub congestion: RetryRule,
    /// Any other failure to place the call.
    pub failed: RetryRule,
    /// Answering machine detected by AMD.
    pub machine: RetryRule,
    /// Answered by a person but dropped with no agent free.
    pub abandoned: RetryRule,
}

impl Default for RetryRules {
    fn default() -> Self {
        Self {
            busy: RetryRule::new(600, 5),
            no_answer: RetryRule::new(3_600, 5),
            congestion: RetryRule::new(300, 3),
            failed: RetryRule::new(1_800, 2),
            machine: RetryRule::new(4 * 3_600, 3),
            abandoned: RetryRule::new(3_600, 3),
        }
    }
}

impl RetryRules {
    /// The rule for a failed outcome; `None` for [`Outcome::Human`], which the agent qualifies.
    pub fn for_outcome(&self, outcome: Outcome) -> Option<&RetryRule> {
        match outcome {
            Outcome::Human => None,
            Outcome::Busy => Some(&self.busy),
            Outcome::NoAnswer => Some(&self.no_answer),
            Outcome::Congestion => Some(&self.congestion),
            Outcome::Failed => Some(&self.failed),
            Outcome::Machine => Some(&self.machine),
            Outcome::Abandoned => Some(&self.abandoned),
        }
    }

    fn named(&self) -> [(&'static str, &RetryRule); 6] {
        [
            ("busy", &self.busy),
            ("no_answer", &self.no_answer),
            ("congestion", &self.congestion),
            ("failed", &self.failed),
            ("machine", &self.machine),
            ("abandoned", &self.abandoned),
        ]
    }
}

/// How hard the campaign dials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Strategy {
    /// Seconds an unanswered call rings before it is given up (15 to 120).
    pub ring_timeout_secs: u32,
    /// Most lines in use per logged-in agent (1 to 10).
    pub max_lines_per_agent: f64,
    /// Lines per idle agent in power mode (1 to `max_lines_per_agent`).
    pub power_ratio: f64,
    /// Abandonment rate predictive mode aims at, in percent (above 0, at most the profile cap).
    pub target_abandon_pct: f64,
    /// Attempts per lead in this campaign, all outcomes together (1 to 50).
    pub max_attempts: u32,
    /// Retry rules per failed outcome.
    pub retry: RetryRules,
}

impl Default for Strategy {
    fn default() -> Self {
        Self {
            ring_timeout_secs: 25,
            max_lines_per_agent: 3.0,
            power_ratio: 1.5,
            target_abandon_pct: 2.0,
            max_attempts: 10,
            retry: RetryRules::default(),
        }
    }
}

/// What to do with a call that answering-machine detection classifies as a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmdAction {
    /// Hang up.
    #[default]
    Hangup,
    /// Leave [`Compliance::drop_message`] after the beep, then hang up.
    DropMessage,
    /// Connect an agent anyway.
    Agent,
}

names!(AmdAction, "AMD action",
    Hangup => "hangup",
    DropMessage => "drop_message",
    Agent => "agent",
);

/// Answering-machine detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Amd {
    /// Whether answered calls go through AMD (off by default: false positives on people are
    /// silent calls to them).
    pub enabled: bool,
    /// What to do with a machine.
    pub action: AmdAction,
}

/// The compliance options of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Compliance {
    /// Which country's rules apply.
    pub profile: RegulatoryProfile,
    /// Answering-machine detection.
    pub amd: Amd,
    /// Whether calls are recorded.
    pub recording: bool,
    /// Whether a beep tells the called party the call is recorded.
    pub legal_beep: bool,
    /// Hard limit on one call's duration, in seconds (60 to 14 400).
    pub max_call_secs: u32,
    /// Asterisk sound played to an abandoned call (and to machines with
    /// [`AmdAction::DropMessage`]), without extension.
    pub drop_message: String,
}

impl Default for Compliance {
    fn default() -> Self {
        Self {
            profile: RegulatoryProfile::default(),
            amd: Amd::default(),
            recording: false,
            legal_beep: true,
            max_call_secs: 3_600,
            drop_message: "callpro/drop-message".to_owned(),
        }
    }
}

/// Everything a campaign is configured with. `{}` deserializes to the defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignSettings {
    /// When the campaign operates.
    pub schedule: Schedule,
    /// How hard it dials.
    pub strategy: Strategy,
    /// Which rules it follows.
    pub compliance: Compliance,
}

/// One validation problem, with the dotted path of the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Dotted path, e.g. `strategy.ring_timeout_secs` or `schedule.windows.mon[1]`.
    pub field: String,
    /// What is wrong, readable alone.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Most windows one day may have.
pub const MAX_WINDOWS_PER_DAY: usize = 8;

/// Longest retry delay, 30 days in seconds.
pub const MAX_RETRY_DELAY_SECS: u32 = 30 * 86_400;

/// Collects [`FieldError`]s.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn ensure(&mut self, ok: bool, field: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.0.push(FieldError {
                field: field.into(),
                message: message.into(),
            });
        }
    }

    fn range_u32(&mut self, field: &str, value: u32, min: u32, max: u32) {
        self.ensure(
            (min..=max).contains(&value),
            field,
            format!("must be between {min} and {max}, got {value}"),
        );
    }

    fn range_f64(&mut self, field: &str, value: f64, min: f64, max: f64) {
        self.ensure(
            (min..=max).contains(&value),
            field,
            format!("must be between {min} and {max}, got {value}"),
        );
    }
}

impl CampaignSettings {
    /// Checks every constraint and returns all the problems found, not just the first.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut p = Problems::default();
        self.validate_schedule(&mut p);
        self.validate_strategy(&mut p);
        self.validate_compliance(&mut p);
        if p.0.is_empty() { Ok(()) } else { Err(p.0) }
    }

    fn validate_schedule(&self, p: &mut Problems) {
        let days = self.schedule.windows.days();
        p.ensure(
            days.iter().any(|(_, windows)| !windows.is_empty()),
            "schedule.windows",
            "at least one day needs an operating window",
        );
        for (day, windows) in days {
            p.ensure(
                windows.len() <= MAX_WINDOWS_PER_DAY,
                format!("schedule.windows.{day}"),
                format!("at most {MAX_WINDOWS_PER_DAY} windows per day"),
            );
            for (i, w) in windows.iter().enumerate() {
                let field = format!("schedule.windows.{day}[{i}]");
                if w.is_empty() {
                    p.ensure(
                        false,
                        field,
                        format!("{w} is empty: start must be before end"),
                    );
                } else if let Some(prev) = i.checked_sub(1).and_then(|j| windows.get(j)) {
                    p.ensure(
                        prev.is_empty() || w.start.num_seconds_from_midnight() >= prev.end_secs(),
                        field,
                        format!("{w} must start at or after the end of the previous window {prev}"),
                    );
                }
            }
        }
    }

    fn validate_strategy(&self, p: &mut Problems) {
        let s = &self.strategy;
        p.range_u32("strategy.ring_timeout_secs", s.ring_timeout_secs, 15, 120);
        p.range_f64(
            "strategy.max_lines_per_agent",
            s.max_lines_per_agent,
            1.0,
            10.0,
        );
        let max_ratio = if s.max_lines_per_agent.is_finite() {
            s.max_lines_per_agent.clamp(1.0, 10.0)
        } else {
            10.0
        };
        p.range_f64("strategy.power_ratio", s.power_ratio, 1.0, max_ratio);
        let cap = self.compliance.profile.abandon_cap_pct();
        p.ensure(
            s.target_abandon_pct > 0.0 && s.target_abandon_pct <= cap,
            "strategy.target_abandon_pct",
            format!(
                "must be above 0 and at most {cap} (the {} profile cap), got {}",
                self.compliance.profile, s.target_abandon_pct
            ),
        );
        p.range_u32("strategy.max_attempts", s.max_attempts, 1, 50);
        for (name, rule) in s.retry.named() {
            let prefix = format!("strategy.retry.{name}");
            p.range_u32(
                &format!("{prefix}.delay_secs"),
                rule.delay_secs,
                60,
                MAX_RETRY_DELAY_SECS,
            );
            p.range_u32(&format!("{prefix}.max_attempts"), rule.max_attempts, 1, 50);
        }
    }

    fn validate_compliance(&self, p: &mut Problems) {
        let c = &self.compliance;
        p.range_u32("compliance.max_call_secs", c.max_call_secs, 60, 14_400);
        p.ensure(
            is_sound_name(&c.drop_message),
            "compliance.drop_message",
            "must be an Asterisk sound name such as \"callpro/drop-message\": letters, digits, \
             '-' and '_' in '/'-separated parts, no extension, at most 128 characters",
        );
    }

    /// How much of a temporary `boost` (in percentage points) may be added to `current_target`
    /// without the abandonment target going above the profile cap: `boost` clamped to
    /// `[0, cap - current_target]`. Zero when the target already sits at the cap or `boost` is
    /// not a positive number.
    pub fn boost_allowed(&self, current_target: f64, boost: f64) -> f64 {
        let room = self.compliance.profile.abandon_cap_pct() - current_target;
        if boost.is_nan() || room.is_nan() {
            return 0.0;
        }
        boost.min(room).max(0.0)
    }
}

/// An Asterisk sound name safe to pass to `Playback`: `/`-separated parts of ASCII letters,
/// digits, `-` and `_` (so no extension, no `..`, no absolute path, nothing to inject).
fn is_sound_name(s: &str) -> bool {
    s.len() <= 128
        && s.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Serde for a [`Tz`] as its IANA name (chrono-tz's own `serde` feature is not enabled here).
mod tz_name {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(tz: &Tz, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(tz.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(|_| {
            de::Error::invalid_value(de::Unexpected::Str(&name), &"an IANA time zone name")
        })
    }
}

#[cfg(test)]
mod tests;
