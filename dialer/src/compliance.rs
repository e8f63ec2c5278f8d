//! The law, per regulatory profile: abandonment caps and their ledger windows, legal calling
//! windows in the called party's local time, French public holidays, and the per-number attempt
//! caps and cooldowns that hold across every campaign of a call center.
//!
//! Sources, as summarised in `DIALER.md`: France, décret n° 2022-1313 (Mon–Fri 10:00–13:00 and
//! 14:00–20:00, never on public holidays, at most 4 attempts per 30 days, 60 days of silence
//! after a refusal); United States, the TCPA and the FTC's TSR (08:00–21:00 local, 3 % abandoned
//! per 30 days); United Kingdom, Ofcom's persistent-misuse policy (3 % per 24 h, 72 h after an
//! abandoned call and 24 h after an AMD-detected machine before calling again without a
//! guaranteed agent). Ofcom sets no calling hours: 08:00–21:00 every day is the UK industry
//! practice we follow.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::campaign::{DialMode, Window, names};
use crate::hopper::Reason;
use crate::retry::Outcome;

/// Which country's rules a campaign follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegulatoryProfile {
    /// France.
    #[default]
    Fr,
    /// United States.
    Us,
    /// United Kingdom.
    Uk,
    /// No national rules; only the campaign's own settings and a 3 % abandonment ceiling.
    None,
}

names!(RegulatoryProfile, "regulatory profile",
    Fr => "fr",
    Us => "us",
    Uk => "uk",
    None => "none",
);

/// The period over which the abandonment rate is measured against the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerWindow {
    /// The last 24 hours, rolling.
    Day,
    /// The last 30 days, rolling.
    ThirtyDays,
    /// The whole life of the campaign.
    Campaign,
}

names!(LedgerWindow, "ledger window",
    Day => "day",
    ThirtyDays => "thirty_days",
    Campaign => "campaign",
);

impl LedgerWindow {
    /// How far back the ledger looks; `None` for the whole campaign.
    pub fn duration(&self) -> Option<TimeDelta> {
        match self {
            Self::Day => Some(TimeDelta::hours(24)),
            Self::ThirtyDays => Some(TimeDelta::days(30)),
            Self::Campaign => None,
        }
    }
}

/// What one phone number went through recently, across every campaign of the call center.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttemptHistory {
    /// Attempts placed to the number in the last 30 days.
    pub attempts_30d: u32,
    /// When the called party last explicitly refused to be called.
    pub last_refusal_at: Option<DateTime<Utc>>,
    /// When a call to the number was last abandoned (answered, no agent in time).
    pub last_abandoned_at: Option<DateTime<Utc>>,
    /// When a call to the number last reached an AMD-detected answering machine.
    pub last_machine_at: Option<DateTime<Utc>>,
}

/// A number that may not be called before `until`, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// The earliest instant the hold is lifted.
    pub until: DateTime<Utc>,
    /// Which rule holds it.
    pub reason: Reason,
}

/// How long the French 30-day cap defers a number before it is checked again. The history only
/// counts the attempts in the window, so the day the oldest one ages out is unknown; a daily
/// re-check is late by less than a day and never early.
pub const ATTEMPT_CAP_RECHECK: TimeDelta = TimeDelta::days(1);

const fn window(sh: u32, sm: u32, eh: u32, em: u32) -> Window {
    match Window::hm(sh, sm, eh, em) {
        Some(w) => w,
        // Unreachable for the literal hours below; evaluated at compile time.
        None => Window::WHOLE_DAY,
    }
}

const EIGHT_TO_NINE: &[Window] = &[window(8, 0, 21, 0)];
const FR_WEEKDAY: &[Window] = &[window(10, 0, 13, 0), window(14, 0, 20, 0)];
const WHOLE_DAY: &[Window] = &[Window::WHOLE_DAY];
const NEVER: &[Window] = &[];

impl RegulatoryProfile {
    /// The highest abandonment rate allowed, in percent of live-answered calls. `None` keeps
    /// 3 % as well: beyond it predictive dialing only burns leads and annoys people.
    pub fn abandon_cap_pct(&self) -> f64 {
        3.0
    }

    /// The period the abandonment rate is measured over. The UK counts 24 h; the US 30 days
    /// (the TSR's "campaign or 30 days" read the strict way for long campaigns); France fixes no
    /// period, so the day, the strictest in practice; `None` the whole campaign.
    pub fn abandon_window(&self) -> LedgerWindow {
        match self {
            Self::Fr | Self::Uk => LedgerWindow::Day,
            Self::Us => LedgerWindow::ThirtyDays,
            Self::None => LedgerWindow::Campaign,
        }
    }

    /// When the law allows calling, in the called party's local wall-clock time, on `day`.
    /// Public holidays are separate: see [`RegulatoryProfile::is_legal_holiday`].
    pub fn legal_windows(&self, day: Weekday) -> &'static [Window] {
        match self {
            Self::Fr => match day {
                Weekday::Sat | Weekday::Sun => NEVER,
                _ => FR_WEEKDAY,
            },
            Self::Us | Self::Uk => EIGHT_TO_NINE,
            Self::None => WHOLE_DAY,
        }
    }

    /// Whether `date`, in the called party's local time, is a day with no calls at all.
    pub fn is_legal_holiday(&self, date: NaiveDate) -> bool {
        match self {
            Self::Fr => french_public_holiday(date),
            Self::Us | Self::Uk | Self::None => false,
        }
    }

    /// Most attempts to one number in any 30 days, across the call center.
    pub fn attempt_cap_30d(&self) -> Option<u32> {
        match self {
            Self::Fr => Some(4),
            Self::Us | Self::Uk | Self::None => None,
        }
    }

    /// How long a number stays uncalled after its owner explicitly refused calls.
    pub fn refusal_cooldown(&self) -> Option<TimeDelta> {
        match self {
            Self::Fr => Some(TimeDelta::days(60)),
            Self::Us | Self::Uk | Self::None => None,
        }
    }

    /// How long after an attempt with `outcome` the number may not be called again in `mode`.
    /// UK only: 72 h after an abandoned call unless `mode` guarantees an agent, 24 h after an
    /// AMD-detected machine whatever the mode.
    pub fn repeat_cooldown(&self, outcome: Outcome, mode: DialMode) -> Option<TimeDelta> {
        match (self, outcome) {
            (Self::Uk, Outcome::Abandoned) if !mode.guarantees_agent() => {
                Some(TimeDelta::hours(72))
            }
            (Self::Uk, Outcome::Machine) => Some(TimeDelta::hours(24)),
            _ => None,
        }
    }

    /// The caps and cooldowns that keep the number out of reach at `now`, if any: the one that
    /// lasts longest, since all of them must be over before the number can be called.
    pub fn hold(
        &self,
        mode: DialMode,
        history: &AttemptHistory,
        now: DateTime<Utc>,
    ) -> Option<Hold> {
        let since = |at: Option<DateTime<Utc>>, cooldown: Option<TimeDelta>, reason| {
            Some(Hold {
                until: plus(at?, cooldown?),
                reason,
            })
        };
        let capped = self
            .attempt_cap_30d()
            .filter(|cap| history.attempts_30d >= *cap)
            .map(|_| Hold {
                until: plus(now, ATTEMPT_CAP_RECHECK),
                reason: Reason::AttemptCap30Days,
            });
        [
            capped,
            since(
                history.last_refusal_at,
                self.refusal_cooldown(),
                Reason::RefusalCooldown,
            ),
            since(
                history.last_abandoned_at,
                self.repeat_cooldown(Outcome::Abandoned, mode),
                Reason::AbandonCooldown,
            ),
            since(
                history.last_machine_at,
                self.repeat_cooldown(Outcome::Machine, mode),
                Reason::MachineCooldown,
            ),
        ]
        .into_iter()
        .flatten()
        .filter(|h| h.until > now)
        .max_by_key(|h| h.until)
    }
}

/// `t + d`, saturating at the end of time instead of panicking like `Add` does.
pub(crate) fn plus(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Easter Sunday of a Gregorian `year`, by the anonymous Gregorian (Meeus/Butcher) algorithm.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let y = i64::from(year);
    let a = y.rem_euclid(19);
    let (b, c) = (y.div_euclid(100), y.rem_euclid(100));
    let (d, e) = (b.div_euclid(4), b.rem_euclid(4));
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    NaiveDate::from_ymd_opt(
        year,
        u32::try_from(n / 31).ok()?,
        u32::try_from(n % 31 + 1).ok()?,
    )
}

/// Whether `date` is a French public holiday (Code du travail, L3133-1): eight fixed days plus
/// Easter Monday, Ascension Thursday and Whit Monday. The extra days of Alsace-Moselle and the
/// overseas departments are not included.
pub fn french_public_holiday(date: NaiveDate) -> bool {
    const FIXED: [(u32, u32); 8] = [
        (1, 1),   // Jour de l'an
        (5, 1),   // Fête du travail
        (5, 8),   // Victoire 1945
        (7, 14),  // Fête nationale
        (8, 15),  // Assomption
        (11, 1),  // Toussaint
        (11, 11), // Armistice
        (12, 25), // Noël
    ];
    if FIXED.contains(&(date.month(), date.day())) {
        return true;
    }
    // Easter Monday, Ascension (Easter + 39), Whit Monday (Easter + 50).
    easter_sunday(date.year())
        .is_some_and(|easter| matches!((date - easter).num_days(), 1 | 39 | 50))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn easter_dates() {
        for (year, month, day) in [
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2028, 4, 16),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(year), Some(date(year, month, day)), "{year}");
        }
    }

    fn holidays(year: i32) -> Vec<NaiveDate> {
        date(year, 1, 1)
            .iter_days()
            .take_while(|d| d.year() == year)
            .filter(|d| french_public_holiday(*d))
            .collect()
    }

    #[test]
    fn french_holidays_2026() {
        let expected = [
            (1, 1),
            (4, 6),
            (5, 1),
            (5, 8),
            (5, 14),
            (5, 25),
            (7, 14),
            (8, 15),
            (11, 1),
            (11, 11),
            (12, 25),
        ];
        assert_eq!(
            holidays(2026),
            expected.map(|(m, d)| date(2026, m, d)).to_vec()
        );
        assert!(
            !french_public_holiday(date(2026, 4, 5)),
            "Easter Sunday itself"
        );
        assert!(!french_public_holiday(date(2026, 12, 26)), "Alsace only");
    }

    #[test]
    fn french_holidays_2027() {
        let expected = [
            (1, 1),
            (3, 29),
            (5, 1),
            (5, 6),
            (5, 8),
            (5, 17),
            (7, 14),
            (8, 15),
            (11, 1),
            (11, 11),
            (12, 25),
        ];
        assert_eq!(
            holidays(2027),
            expected.map(|(m, d)| date(2027, m, d)).to_vec()
        );
    }

    #[test]
    fn only_france_has_holidays() {
        let bastille = date(2026, 7, 14);
        assert!(RegulatoryProfile::Fr.is_legal_holiday(bastille));
        for p in [
            RegulatoryProfile::Us,
            RegulatoryProfile::Uk,
            RegulatoryProfile::None,
        ] {
            assert!(!p.is_legal_holiday(bastille));
        }
    }

    #[test]
    fn legal_windows_per_profile() {
        let fr = RegulatoryProfile::Fr;
        assert_eq!(
            fr.legal_windows(Weekday::Wed)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["10:00-13:00", "14:00-20:00"]
        );
        assert!(fr.legal_windows(Weekday::Sat).is_empty());
        assert!(fr.legal_windows(Weekday::Sun).is_empty());
        for p in [RegulatoryProfile::Us, RegulatoryProfile::Uk] {
            for day in [Weekday::Mon, Weekday::Sat, Weekday::Sun] {
                assert_eq!(p.legal_windows(day), &[window(8, 0, 21, 0)]);
            }
        }
        assert_eq!(
            RegulatoryProfile::None.legal_windows(Weekday::Sun),
            &[Window::WHOLE_DAY]
        );
    }

    #[test]
    fn caps_and_ledgers() {
        for p in RegulatoryProfile::ALL {
            assert_eq!(p.abandon_cap_pct(), 3.0);
        }
        assert_eq!(RegulatoryProfile::Uk.abandon_window(), LedgerWindow::Day);
        assert_eq!(RegulatoryProfile::Fr.abandon_window(), LedgerWindow::Day);
        assert_eq!(
            RegulatoryProfile::Us.abandon_window(),
            LedgerWindow::ThirtyDays
        );
        assert_eq!(
            RegulatoryProfile::None.abandon_window(),
            LedgerWindow::Campaign
        );
        assert_eq!(LedgerWindow::Campaign.duration(), None);
        assert_eq!(LedgerWindow::Day.duration(), Some(TimeDelta::hours(24)));
    }

    #[test]
    fn france_caps_four_attempts_per_30_days() {
        let fr = RegulatoryProfile::Fr;
        let now = at(2026, 6, 2, 9);
        let mut h = AttemptHistory {
            attempts_30d: 3,
            ..AttemptHistory::default()
        };
        assert_eq!(fr.hold(DialMode::Power, &h, now), None);
        h.attempts_30d = 4;
        assert_eq!(
            fr.hold(DialMode::Power, &h, now),
            Some(Hold {
                until: at(2026, 6, 3, 9),
                reason: Reason::AttemptCap30Days
            })
        );
        for other in [
            RegulatoryProfile::Us,
            RegulatoryProfile::Uk,
            RegulatoryProfile::None,
        ] {
            assert_eq!(other.hold(DialMode::Power, &h, now), None);
        }
    }

    #[test]
    fn france_refusal_holds_60_days() {
        let fr = RegulatoryProfile::Fr;
        let refused = at(2026, 3, 1, 11);
        let h = AttemptHistory {
            last_refusal_at: Some(refused),
            ..AttemptHistory::default()
        };
        let hold = fr.hold(DialMode::Preview, &h, at(2026, 4, 1, 11)).unwrap();
        assert_eq!(hold.reason, Reason::RefusalCooldown);
        assert_eq!(hold.until, at(2026, 4, 30, 11));
        assert_eq!(fr.hold(DialMode::Preview, &h, at(2026, 4, 30, 11)), None);
        assert_eq!(
            RegulatoryProfile::Us.hold(DialMode::Preview, &h, at(2026, 3, 2, 0)),
            None
        );
    }

    #[test]
    fn the_longest_hold_wins() {
        let now = at(2026, 6, 2, 9);
        let h = AttemptHistory {
            attempts_30d: 9,
            last_refusal_at: Some(at(2026, 5, 1, 9)),
            ..AttemptHistory::default()
        };
        let hold = RegulatoryProfile::Fr
            .hold(DialMode::Power, &h, now)
            .unwrap();
        assert_eq!(hold.reason, Reason::RefusalCooldown);
        assert_eq!(hold.until, at(2026, 6, 30, 9));
    }

    #[test]
    fn uk_abandon_cooldown_depends_on_the_mode() {
        let uk = RegulatoryProfile::Uk;
        let dropped = at(2026, 6, 1, 12);
        let h = AttemptHistory {
            last_abandoned_at: Some(dropped),
            ..AttemptHistory::default()
        };
        let now = at(2026, 6, 3, 12);
        for mode in [DialMode::Power, DialMode::Predictive] {
            assert_eq!(
                uk.hold(mode, &h, now),
                Some(Hold {
                    until: at(2026, 6, 4, 12),
                    reason: Reason::AbandonCooldown
                })
            );
        }
        for mode in [DialMode::Preview, DialMode::Progressive] {
            assert_eq!(uk.hold(mode, &h, now), None);
        }
        assert_eq!(uk.hold(DialMode::Predictive, &h, at(2026, 6, 4, 12)), None);
        assert_eq!(
            RegulatoryProfile::Fr.hold(DialMode::Predictive, &h, now),
            None
        );
    }

    #[test]
    fn uk_machine_cooldown_is_24_hours_in_every_mode() {
        let uk = RegulatoryProfile::Uk;
        let h = AttemptHistory {
            last_machine_at: Some(at(2026, 6, 1, 12)),
            ..AttemptHistory::default()
        };
        for mode in DialMode::ALL {
            let hold = uk.hold(*mode, &h, at(2026, 6, 2, 11)).unwrap();
            assert_eq!(hold.reason, Reason::MachineCooldown);
            assert_eq!(hold.until, at(2026, 6, 2, 12));
            assert_eq!(uk.hold(*mode, &h, at(2026, 6, 2, 12)), None);
        }
    }

    #[test]
    fn profile_names() {
        for p in RegulatoryProfile::ALL {
            assert_eq!(p.as_str().parse::<RegulatoryProfile>().unwrap(), *p);
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        for w in LedgerWindow::ALL {
            assert_eq!(serde_json::to_value(w).unwrap(), w.as_str());
        }
        assert_eq!(RegulatoryProfile::default(), RegulatoryProfile::Fr);
        let err = "de".parse::<RegulatoryProfile>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown regulatory profile \"de\" (expected one of: fr, us, uk, none)"
        );
    }

    #[test]
    fn saturating_addition() {
        assert_eq!(
            plus(DateTime::<Utc>::MAX_UTC, TimeDelta::days(1)),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
