//! Time conditions: is the call center open at this instant, in its time zone?
//!
//! Opening hours are weekly ranges in local wall-clock time (`mon`–`fri`, `09:00`–`18:00`); a
//! range whose end is earlier than its start runs past midnight into the next day. A holiday
//! closes its whole local date, whatever the weekly hours say.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;

use crate::flow::Calendar;

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

fn weekday(name: &str) -> Option<Weekday> {
    DAYS.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, d)| *d)
}

/// Minutes since midnight of `HH:MM`; `24:00` is 1440.
fn minutes(text: &str) -> Option<u32> {
    if text == "24:00" {
        return Some(24 * 60);
    }
    let time = NaiveTime::parse_from_str(text, "%H:%M").ok()?;
    (text.len() == 5).then(|| time.hour() * 60 + time.minute())
}

fn date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// The zone of a calendar: its own, else the call center's, else UTC.
pub fn zone(calendar: &Calendar, default: Option<&str>) -> Option<Tz> {
    match calendar.time_zone.as_deref().or(default) {
        Some(name) => name.parse().ok(),
        None => Some(Tz::UTC),
    }
}

/// What is wrong with a calendar, as (field, message) pairs.
pub fn problems(calendar: &Calendar, default_zone: Option<&str>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(name) = &calendar.time_zone {
        if name.parse::<Tz>().is_err() {
            out.push((
                "time_zone".to_owned(),
                format!("`{name}` is not an IANA time zone (like Europe/Paris)"),
            ));
        }
    } else if let Some(name) = default_zone
        && name.parse::<Tz>().is_err()
    {
        out.push((
            "time_zone".to_owned(),
            format!("the call center's time zone `{name}` is not valid; set one here"),
        ));
    }
    for (i, rule) in calendar.weekly.iter().enumerate() {
        if rule.days.is_empty() {
            out.push((
                format!("weekly[{i}].days"),
                "name at least one day".to_owned(),
            ));
        }
        for (j, day) in rule.days.iter().enumerate() {
            if weekday(day).is_none() {
                out.push((
                    format!("weekly[{i}].days[{j}]"),
                    format!("`{day}` is not a day (mon, tue, wed, thu, fri, sat, sun)"),
                ));
            }
        }
        let from = minutes(&rule.from);
        let to = minutes(&rule.to);
        if from.is_none_or(|m| m >= 24 * 60) {
            out.push((
                format!("weekly[{i}].from"),
                format!("`{}` is not a time (HH:MM)", rule.from),
            ));
        }
        if to.is_none() {
            out.push((
                format!("weekly[{i}].to"),
                format!("`{}` is not a time (HH:MM, or 24:00)", rule.to),
            ));
        }
        if from.is_some() && from == to {
            out.push((
                format!("weekly[{i}].to"),
                "opening and closing times are equal; use 00:00 to 24:00 for a whole day"
                    .to_owned(),
            ));
        }
    }
    for (i, holiday) in calendar.holidays.iter().enumerate() {
        let from = date(&holiday.from);
        if from.is_none() {
            out.push((
                format!("holidays[{i}].from"),
                format!("`{}` is not a date (YYYY-MM-DD)", holiday.from),
            ));
        }
        if let Some(to_text) = &holiday.to {
            match date(to_text) {
                None => out.push((
                    format!("holidays[{i}].to"),
                    format!("`{to_text}` is not a date (YYYY-MM-DD)"),
                )),
                Some(to) if from.is_some_and(|from| to < from) => out.push((
                    format!("holidays[{i}].to"),
                    "the range ends before it starts".to_owned(),
                )),
                Some(_) => {}
            }
        }
    }
    out
}

/// Whether the calendar is open at `now`. Rules that do not parse never open (validation
/// refuses them before a flow is saved).
pub fn is_open(calendar: &Calendar, zone: Tz, now: DateTime<Utc>) -> bool {
    let local = now.with_timezone(&zone);
    let today = local.date_naive();
    let closed_today = calendar.holidays.iter().any(|h| {
        let Some(from) = date(&h.from) else {
            return false;
        };
        let to = h.to.as_deref().and_then(date).unwrap_or(from);
        (from..=to).contains(&today)
    });
    if closed_today {
        return false;
    }
    let minute = local.hour() * 60 + local.minute();
    let day = local.weekday();
    calendar.weekly.iter().any(|rule| {
        let (Some(from), Some(to)) = (minutes(&rule.from), minutes(&rule.to)) else {
            return false;
        };
        let on = |d: Weekday| rule.days.iter().any(|name| weekday(name) == Some(d));
        if from < to {
            on(day) && (from..to).contains(&minute)
        } else {
            // Overnight: the evening part today, the early-morning part on the day after.
            (on(day) && minute >= from) || (on(day.pred()) && minute < to)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{Holiday, OpeningHours};

    fn office() -> Calendar {
        Calendar {
            time_zone: Some("Europe/Paris".to_owned()),
            weekly: vec![
                OpeningHours {
                    days: ["mon", "tue", "wed", "thu", "fri"]
                        .map(str::to_owned)
                        .to_vec(),
                    from: "09:00".to_owned(),
                    to: "18:00".to_owned(),
                },
                OpeningHours {
                    days: vec!["sat".to_owned()],
                    from: "22:00".to_owned(),
                    to: "02:00".to_owned(),
                },
            ],
            holidays: vec![Holiday {
                from: "2026-12-24".to_owned(),
                to: Some("2026-12-26".to_owned()),
                name: Some("Christmas".to_owned()),
            }],
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn opening_hours_follow_local_time() {
        let calendar = office();
        let zone = zone(&calendar, None).unwrap();
        // Wednesday 2 December 2026, 08:30 UTC = 09:30 in Paris.
        assert!(is_open(&calendar, zone, at("2026-12-02T08:30:00Z")));
        assert!(!is_open(&calendar, zone, at("2026-12-02T07:30:00Z")));
        assert!(!is_open(&calendar, zone, at("2026-12-02T17:00:00Z")));
        // Summer time: 09:30 in Paris is 07:30 UTC.
        assert!(is_open(&calendar, zone, at("2026-07-01T07:30:00Z")));
        // Saturday night into Sunday.
        assert!(is_open(&calendar, zone, at("2026-12-05T22:30:00Z")));
        assert!(is_open(&calendar, zone, at("2026-12-06T00:30:00Z")));
        assert!(!is_open(&calendar, zone, at("2026-12-06T01:30:00Z")));
        // Christmas Eve is a Thursday, but a holiday.
        assert!(!is_open(&calendar, zone, at("2026-12-24T10:00:00Z")));
    }

    #[test]
    fn bad_rules_are_named() {
        let mut calendar = office();
        calendar.time_zone = Some("Mars/Olympus".to_owned());
        calendar.weekly[0].days.push("someday".to_owned());
        calendar.weekly[1].from = "25:00".to_owned();
        calendar.holidays[0].to = Some("2026-12-01".to_owned());
        let fields: Vec<String> = problems(&calendar, None).into_iter().map(|p| p.0).collect();
        assert_eq!(
            fields,
            [
                "time_zone",
                "weekly[0].days[5]",
                "weekly[1].from",
                "holidays[0].to"
            ]
        );
    }
}
