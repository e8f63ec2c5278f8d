//! Tests of the `hopper` module.

use super::*;
use crate::campaign::Weekly;
use crate::compliance::RegulatoryProfile;
use chrono_tz::America::{Los_Angeles, New_York};
use chrono_tz::Europe::Paris;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// An instant given as a wall-clock time in `tz` (must exist and be unambiguous).
fn local(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn win(sh: u32, sm: u32, eh: u32, em: u32) -> Window {
    Window::hm(sh, sm, eh, em).unwrap()
}

fn every_day(windows: &[Window]) -> Weekly {
    Weekly {
        sat: windows.to_vec(),
        sun: windows.to_vec(),
        ..Weekly::weekdays(windows)
    }
}

fn settings(profile: RegulatoryProfile, tz: Tz, windows: Weekly) -> CampaignSettings {
    let mut s = CampaignSettings::default();
    s.compliance.profile = profile;
    s.schedule.time_zone = tz;
    s.schedule.windows = windows;
    s
}

fn rules(settings: &CampaignSettings) -> Rules<'_> {
    Rules {
        mode: DialMode::Predictive,
        settings,
    }
}

fn lead(id: i64, zones: &[Tz]) -> Candidate {
    Candidate {
        lead_id: id,
        phone: format!("+3361234{id:04}"),
        zones: zones.to_vec(),
        priority: 0,
        created_at: utc(2026, 1, 1, 0, 0),
        next_attempt_at: None,
        attempts: 0,
    }
}

fn verdict(s: &CampaignSettings, c: &Candidate, now: DateTime<Utc>) -> Verdict {
    check(&rules(s), c, &AttemptHistory::default(), false, now)
}

fn later(at: DateTime<Utc>, reason: Reason) -> Verdict {
    Verdict::Later { at, reason }
}

/// Minute by minute, the reference [`next_open`] must agree with.
fn brute_force(
    r: &Rules<'_>,
    zones: &[Tz],
    from: DateTime<Utc>,
    days: i64,
) -> Option<DateTime<Utc>> {
    let zones = if zones.is_empty() {
        vec![r.settings.schedule.time_zone]
    } else {
        zones.to_vec()
    };
    (0..days * 1_440)
        .map(|m| from + TimeDelta::minutes(m))
        .find(|t| closed_reason(r, &zones, *t).is_none())
}

#[test]
fn french_campaign_default_hours_and_the_lunch_break() {
    let s = CampaignSettings::default();
    let c = lead(1, &[Paris]);
    let at = |d, h, m| local(Paris, 2026, 6, d, h, m);
    // Tuesday 2 June 2026: the campaign opens at 09:00, the law at 10:00.
    assert_eq!(
        verdict(&s, &c, at(2, 9, 30)),
        later(at(2, 10, 0), Reason::OutsideLegalWindow)
    );
    assert_eq!(verdict(&s, &c, at(2, 10, 0)), Verdict::Eligible);
    assert_eq!(verdict(&s, &c, at(2, 12, 59)), Verdict::Eligible);
    assert_eq!(
        verdict(&s, &c, at(2, 13, 0)),
        later(at(2, 14, 0), Reason::OutsideLegalWindow)
    );
    assert_eq!(verdict(&s, &c, at(2, 19, 59)), Verdict::Eligible);
    assert_eq!(
        verdict(&s, &c, at(2, 20, 0)),
        later(at(3, 10, 0), Reason::OutsideCampaignHours)
    );
    assert_eq!(
        verdict(&s, &c, at(2, 8, 0)),
        later(at(2, 10, 0), Reason::OutsideCampaignHours)
    );
    // Friday evening → Monday morning.
    assert_eq!(
        verdict(&s, &c, at(5, 20, 30)),
        later(at(8, 10, 0), Reason::OutsideCampaignHours)
    );
    assert_eq!(
        verdict(&s, &c, at(6, 11, 0)),
        later(at(8, 10, 0), Reason::OutsideCampaignHours)
    );
}

#[test]
fn french_law_forbids_weekends_even_if_the_campaign_works() {
    let s = settings(RegulatoryProfile::Fr, Paris, every_day(&[win(9, 0, 20, 0)]));
    let c = lead(1, &[Paris]);
    let sat = local(Paris, 2026, 6, 6, 11, 0);
    assert_eq!(
        verdict(&s, &c, sat),
        later(local(Paris, 2026, 6, 8, 10, 0), Reason::OutsideLegalWindow)
    );
}

#[test]
fn holidays_of_the_campaign_and_of_the_law() {
    let mut s = CampaignSettings::default();
    let c = lead(1, &[Paris]);
    // Ascension Thursday 2026-05-14.
    assert_eq!(
        verdict(&s, &c, local(Paris, 2026, 5, 14, 11, 0)),
        later(local(Paris, 2026, 5, 15, 10, 0), Reason::Holiday)
    );
    // A campaign holiday.
    s.schedule.holidays = vec![NaiveDate::from_ymd_opt(2026, 6, 3).unwrap()];
    assert_eq!(
        verdict(&s, &c, local(Paris, 2026, 6, 3, 11, 0)),
        later(local(Paris, 2026, 6, 4, 10, 0), Reason::Holiday)
    );
    // US rules know no French holiday.
    s.compliance.profile = RegulatoryProfile::Us;
    assert_eq!(
        verdict(&s, &c, local(Paris, 2026, 5, 14, 11, 0)),
        Verdict::Eligible
    );
}

#[test]
fn paris_campaign_calling_new_york() {
    // Campaign Mon–Fri 09:00–20:00 Paris = 07:00–18:00 UTC in June.
    let mut s = CampaignSettings::default();
    let c = lead(1, &[New_York]);
    let at = |h, m| utc(2026, 6, 2, h, m);
    // French rules in New York time: 10–13 and 14–20 EDT = 14–17 and 18–24 UTC.
    assert_eq!(
        verdict(&s, &c, at(8, 0)),
        later(at(14, 0), Reason::OutsideLegalWindow)
    );
    assert_eq!(verdict(&s, &c, at(14, 0)), Verdict::Eligible);
    assert_eq!(verdict(&s, &c, at(16, 59)), Verdict::Eligible);
    assert_eq!(
        verdict(&s, &c, at(17, 30)),
        later(utc(2026, 6, 3, 14, 0), Reason::OutsideLegalWindow)
    );
    assert_eq!(
        verdict(&s, &c, at(18, 0)),
        later(utc(2026, 6, 3, 14, 0), Reason::OutsideCampaignHours)
    );
    // US rules: 08–21 EDT = 12:00–01:00 UTC, so open 12:00–18:00 UTC.
    s.compliance.profile = RegulatoryProfile::Us;
    assert_eq!(
        verdict(&s, &c, at(11, 59)),
        later(at(12, 0), Reason::OutsideLegalWindow)
    );
    assert_eq!(verdict(&s, &c, at(12, 0)), Verdict::Eligible);
    assert_eq!(verdict(&s, &c, at(17, 30)), Verdict::Eligible);
    // Without a zone the lead is taken to be in the campaign's zone.
    assert_eq!(verdict(&s, &lead(2, &[]), at(7, 0)), Verdict::Eligible);
    assert_eq!(
        verdict(&s, &lead(2, &[]), at(5, 0)),
        later(at(7, 0), Reason::OutsideCampaignHours)
    );
}

#[test]
fn a_country_wide_lead_waits_for_every_zone() {
    let s = settings(
        RegulatoryProfile::Us,
        New_York,
        every_day(&[Window::WHOLE_DAY]),
    );
    let c = lead(1, &[New_York, Los_Angeles]);
    // New York 08–21 EDT = 12:00–01:00 UTC; Los Angeles 08–21 PDT = 15:00–04:00 UTC.
    let at = |d, h| utc(2026, 6, d, h, 0);
    assert_eq!(
        verdict(&s, &c, at(2, 13)),
        later(at(2, 15), Reason::OutsideLegalWindow)
    );
    assert_eq!(verdict(&s, &c, at(2, 15)), Verdict::Eligible);
    assert_eq!(verdict(&s, &c, at(3, 0)), Verdict::Eligible);
    assert_eq!(
        verdict(&s, &c, at(3, 1)),
        later(at(3, 15), Reason::OutsideLegalWindow)
    );
    assert_eq!(
        verdict(&s, &lead(2, &[New_York]), at(2, 13)),
        Verdict::Eligible
    );
    assert_eq!(
        verdict(&s, &lead(3, &[Los_Angeles]), at(3, 1)),
        Verdict::Eligible
    );
}

#[test]
fn paris_spring_forward() {
    // Sunday 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC.
    let none = |windows| settings(RegulatoryProfile::None, Paris, every_day(&[windows]));
    // A window starting in the gap opens when the gap ends.
    let s = none(win(2, 30, 4, 0));
    let r = rules(&s);
    assert_eq!(
        next_open(&r, &[], utc(2026, 3, 29, 0, 0)),
        Some(utc(2026, 3, 29, 1, 0))
    );
    assert_eq!(
        next_open(&r, &[], utc(2026, 3, 28, 3, 0)),
        Some(utc(2026, 3, 29, 1, 0))
    );
    // The day before and after, 02:30 local is 01:30 UTC and 00:30 UTC.
    assert_eq!(
        next_open(&r, &[], utc(2026, 3, 28, 0, 0)),
        Some(utc(2026, 3, 28, 1, 30))
    );
    assert_eq!(
        next_open(&r, &[], utc(2026, 3, 29, 2, 0)),
        Some(utc(2026, 3, 30, 0, 30))
    );
    // A window wholly inside the gap does not open that day.
    let s = none(win(2, 10, 2, 50));
    let r = rules(&s);
    assert_eq!(
        next_open(&r, &[], utc(2026, 3, 29, 0, 0)),
        Some(utc(2026, 3, 30, 0, 10))
    );
    // French rules the weekend of the change: Monday 10:00 CEST is 08:00 UTC.
    let s = CampaignSettings::default();
    assert_eq!(
        next_open(&rules(&s), &[Paris], utc(2026, 3, 27, 19, 30)),
        Some(utc(2026, 3, 30, 8, 0))
    );
}

#[test]
fn paris_fall_back() {
    // Sunday 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:00–03:00 happens twice.
    let none = |windows| settings(RegulatoryProfile::None, Paris, every_day(&[windows]));
    let s = none(win(2, 30, 4, 0));
    let r = rules(&s);
    // First 02:30 (CEST) and, once the clock went back, the second one (CET).
    assert_eq!(
        next_open(&r, &[], utc(2026, 10, 25, 0, 0)),
        Some(utc(2026, 10, 25, 0, 30))
    );
    assert_eq!(
        next_open(&r, &[], utc(2026, 10, 25, 1, 0)),
        Some(utc(2026, 10, 25, 1, 30))
    );
    // A window ending inside the repeated hour reopens when the clock goes back.
    let s = none(win(1, 0, 2, 30));
    let r = rules(&s);
    assert_eq!(
        next_open(&r, &[], utc(2026, 10, 25, 0, 30)),
        Some(utc(2026, 10, 25, 1, 0))
    );
    assert_eq!(
        next_open(&r, &[], utc(2026, 10, 25, 1, 30)),
        Some(utc(2026, 10, 26, 0, 0))
    );
    // French rules: Monday 10:00 CET is 09:00 UTC.
    let s = CampaignSettings::default();
    assert_eq!(
        next_open(&rules(&s), &[Paris], utc(2026, 10, 23, 19, 0)),
        Some(utc(2026, 10, 26, 9, 0))
    );
}

#[test]
fn new_york_dst() {
    let s = settings(
        RegulatoryProfile::Us,
        New_York,
        every_day(&[Window::WHOLE_DAY]),
    );
    let r = rules(&s);
    // Sunday 2026-03-08 02:00 EST → 03:00 EDT: 08:00 is 12:00 UTC, the day before 13:00 UTC.
    assert_eq!(
        next_open(&r, &[], utc(2026, 3, 7, 3, 0)),
        Some(utc(2026, 3, 7, 13, 0))
    );
    assert_eq!(
        next_open(&r, &[], utc(2026, 3, 8, 3, 0)),
        Some(utc(2026, 3, 8, 12, 0))
    );
    // Sunday 2026-11-01 02:00 EDT → 01:00 EST: 08:00 is 13:00 UTC, the day before 12:00 UTC.
    assert_eq!(
        next_open(&r, &[], utc(2026, 10, 31, 2, 0)),
        Some(utc(2026, 10, 31, 12, 0))
    );
    assert_eq!(
        next_open(&r, &[], utc(2026, 11, 1, 1, 30)),
        Some(utc(2026, 11, 1, 13, 0))
    );
    // Windows in the gap and in the overlap.
    let none = |windows| settings(RegulatoryProfile::None, New_York, every_day(&[windows]));
    let s = none(win(2, 0, 3, 0));
    assert_eq!(
        next_open(&rules(&s), &[], utc(2026, 3, 8, 6, 0)),
        Some(utc(2026, 3, 9, 6, 0))
    );
    let s = none(win(1, 30, 2, 0));
    assert_eq!(
        next_open(&rules(&s), &[], utc(2026, 11, 1, 6, 0)),
        Some(utc(2026, 11, 1, 6, 30))
    );
}

/// Sunday windows around the night's DST change (the rest of the week opens at 09:00), so
/// that every way a window can open near a change occurs: a start in the gap after a closed
/// spell, a window wholly in the gap, starts in the repeated hour, and the clock falling
/// back into a window.
fn dst_week(sunday: &[Window]) -> Weekly {
    Weekly {
        sun: sunday.to_vec(),
        ..every_day(&[win(9, 0, 10, 0), win(12, 0, 24, 0)])
    }
}

#[test]
fn next_open_agrees_with_a_minute_by_minute_search() {
    let spring = [
        win(0, 30, 1, 20),
        win(2, 10, 2, 20),
        win(2, 45, 3, 15),
        win(12, 0, 24, 0),
    ];
    // Paris repeats 02:00–03:00: 02:59 CEST is closed, 02:00 CET open.
    let paris_fall = [
        win(0, 30, 1, 20),
        win(1, 55, 2, 5),
        win(2, 10, 2, 20),
        win(2, 40, 2, 50),
        win(12, 0, 24, 0),
    ];
    // New York repeats 01:00–02:00: 01:59 EDT is closed, 01:00 EST open.
    let new_york_fall = [win(0, 30, 1, 20), win(1, 40, 1, 50), win(12, 0, 24, 0)];
    let cases = [
        (Paris, &spring[..], utc(2026, 3, 29, 1, 0)),
        (Paris, &paris_fall[..], utc(2026, 10, 25, 1, 0)),
        (New_York, &spring[..], utc(2026, 3, 8, 7, 0)),
        (New_York, &new_york_fall[..], utc(2026, 11, 1, 6, 0)),
    ];
    let zone_sets: [&[Tz]; 3] = [&[], &[New_York, Los_Angeles], &[Paris, New_York]];
    let mut found = 0;
    for profile in RegulatoryProfile::ALL {
        for (tz, sunday, change) in cases {
            let s = settings(*profile, tz, dst_week(sunday));
            let r = rules(&s);
            for zones in zone_sets {
                // From 3.5 h before the change to 3.5 h after it.
                for step in -30..30 {
                    let from = change + TimeDelta::minutes(step * 7);
                    let got = next_open(&r, zones, from);
                    let context = format!("{profile} {tz} {zones:?} from {from}");
                    match brute_force(&r, zones, from, 3) {
                        Some(want) => {
                            found += 1;
                            assert_eq!(got, Some(want), "{context}");
                        }
                        None => assert!(
                            got.is_none_or(|t| t >= from + TimeDelta::days(3)),
                            "{context}: {got:?}"
                        ),
                    }
                }
            }
        }
    }
    assert!(
        found > 2_000,
        "{found} of 2 880 cases open within the 3 days searched"
    );
}

#[test]
fn never_open_means_look_again_at_the_horizon() {
    // A French campaign that only works weekends can never call.
    let weekend = Weekly {
        sat: vec![win(9, 0, 18, 0)],
        sun: vec![win(9, 0, 18, 0)],
        ..Weekly::default()
    };
    let s = settings(RegulatoryProfile::Fr, Paris, weekend);
    let now = utc(2026, 6, 2, 10, 0);
    assert_eq!(next_open(&rules(&s), &[], now), None);
    assert_eq!(
        verdict(&s, &lead(1, &[]), now),
        later(now + HORIZON, Reason::OutsideCampaignHours)
    );
}

#[test]
fn dnc_and_the_campaign_cap_close_the_lead() {
    let s = CampaignSettings::default();
    let now = local(Paris, 2026, 6, 2, 11, 0);
    let mut c = lead(1, &[Paris]);
    c.next_attempt_at = Some(now + TimeDelta::hours(1));
    let r = rules(&s);
    let h = AttemptHistory::default();
    assert_eq!(
        check(&r, &c, &h, true, now),
        Verdict::Never {
            reason: Reason::DoNotCall
        }
    );
    c.attempts = 10;
    assert_eq!(
        check(&r, &c, &h, true, now),
        Verdict::Never {
            reason: Reason::DoNotCall
        }
    );
    assert_eq!(
        check(&r, &c, &h, false, now),
        Verdict::Never {
            reason: Reason::CampaignAttemptCap
        }
    );
}

#[test]
fn retry_time_then_windows() {
    let s = CampaignSettings::default();
    let now = local(Paris, 2026, 6, 2, 11, 0);
    let mut c = lead(1, &[Paris]);
    c.next_attempt_at = Some(now);
    assert_eq!(verdict(&s, &c, now), Verdict::Eligible);
    c.next_attempt_at = Some(local(Paris, 2026, 6, 2, 15, 0));
    assert_eq!(
        verdict(&s, &c, now),
        later(local(Paris, 2026, 6, 2, 15, 0), Reason::RetryNotDue)
    );
    // Due at lunch time: deferred to 14:00, still because of the retry time.
    c.next_attempt_at = Some(local(Paris, 2026, 6, 2, 13, 15));
    assert_eq!(
        verdict(&s, &c, now),
        later(local(Paris, 2026, 6, 2, 14, 0), Reason::RetryNotDue)
    );
}

#[test]
fn per_number_caps_and_cooldowns() {
    let mut s = CampaignSettings::default();
    let now = local(Paris, 2026, 6, 2, 11, 0);
    let c = lead(1, &[Paris]);
    let capped = AttemptHistory {
        attempts_30d: 4,
        ..AttemptHistory::default()
    };
    let r = rules(&s);
    assert_eq!(
        check(&r, &c, &capped, false, now),
        later(now + TimeDelta::days(1), Reason::AttemptCap30Days)
    );
    let friday = local(Paris, 2026, 6, 5, 11, 0);
    assert_eq!(
        check(&r, &c, &capped, false, friday),
        later(local(Paris, 2026, 6, 8, 10, 0), Reason::AttemptCap30Days)
    );
    s.compliance.profile = RegulatoryProfile::Uk;
    let dropped = AttemptHistory {
        last_abandoned_at: Some(now - TimeDelta::hours(1)),
        ..AttemptHistory::default()
    };
    let power = Rules {
        mode: DialMode::Power,
        settings: &s,
    };
    let progressive = Rules {
        mode: DialMode::Progressive,
        settings: &s,
    };
    assert_eq!(
        check(&power, &c, &dropped, false, now),
        later(now + TimeDelta::hours(71), Reason::AbandonCooldown)
    );
    assert_eq!(
        check(&progressive, &c, &dropped, false, now),
        Verdict::Eligible
    );
    let machine = AttemptHistory {
        last_machine_at: Some(now - TimeDelta::hours(1)),
        ..AttemptHistory::default()
    };
    assert_eq!(
        check(&progressive, &c, &machine, false, now),
        later(now + TimeDelta::hours(23), Reason::MachineCooldown)
    );
}

fn ranked(id: i64, priority: i32, age_days: i64, phone: &str) -> Candidate {
    Candidate {
        priority,
        created_at: utc(2026, 5, 1, 0, 0) - TimeDelta::days(age_days),
        phone: phone.to_owned(),
        ..lead(id, &[Paris])
    }
}

#[test]
fn select_orders_limits_and_reports() {
    let s = CampaignSettings::default();
    let now = local(Paris, 2026, 6, 2, 11, 0);
    let later_at = local(Paris, 2026, 6, 2, 16, 0);
    let candidates = vec![
        ranked(1, 0, 1, "+33100000001"),
        ranked(2, 5, 1, "+33100000002"),
        ranked(3, 0, 9, "+33100000003"),
        ranked(4, 0, 1, "+33100000004"),
        ranked(5, 5, 3, "+33100000005"),
        Candidate {
            next_attempt_at: Some(later_at),
            ..ranked(6, 9, 1, "+33100000006")
        },
        ranked(7, 9, 1, "+33100000007"),
        Candidate {
            zones: vec![New_York],
            ..ranked(8, 9, 1, "+12125550100")
        },
    ];
    let history = |phone: &str| AttemptHistory {
        attempts_30d: if phone == "+33100000004" { 4 } else { 0 },
        ..AttemptHistory::default()
    };
    let on_dnc = |phone: &str| phone == "+33100000007";
    let sel = select(&rules(&s), &candidates, history, on_dnc, now, 10);
    assert_eq!(sel.picked, [5, 2, 3, 1]);
    assert_eq!(
        sel.deferred,
        [
            (4, now + TimeDelta::days(1), Reason::AttemptCap30Days),
            (6, later_at, Reason::RetryNotDue),
            // 10:00 in New York.
            (8, utc(2026, 6, 2, 14, 0), Reason::OutsideLegalWindow),
        ]
    );
    assert_eq!(sel.closed, [(7, Reason::DoNotCall)]);
    let sel = select(&rules(&s), &candidates, history, on_dnc, now, 2);
    assert_eq!(sel.picked, [5, 2]);
    assert_eq!(sel.deferred.len(), 3);
    let sel = select(&rules(&s), &candidates, history, on_dnc, now, 0);
    assert!(sel.picked.is_empty());
}

#[test]
fn select_never_dials_one_number_twice() {
    let s = CampaignSettings::default();
    let now = local(Paris, 2026, 6, 2, 11, 0);
    let candidates = [
        ranked(1, 0, 1, "+33100000001"),
        ranked(2, 1, 1, "+33100000001"),
        ranked(3, 0, 2, "+33100000003"),
        ranked(4, 0, 0, "+33100000001"),
    ];
    let sel = select(
        &rules(&s),
        &candidates,
        |_| AttemptHistory::default(),
        |_| false,
        now,
        10,
    );
    assert_eq!(sel.picked, [2, 3]);
    assert!(sel.deferred.is_empty() && sel.closed.is_empty());
}

#[test]
fn select_at_night_defers_everyone_to_the_morning() {
    let s = CampaignSettings::default();
    let now = local(Paris, 2026, 6, 2, 22, 0);
    let candidates: Vec<_> = (0..50).map(|i| lead(i, &[Paris])).collect();
    let sel = select(
        &rules(&s),
        &candidates,
        |_| AttemptHistory::default(),
        |_| false,
        now,
        5,
    );
    assert!(sel.picked.is_empty());
    assert_eq!(sel.deferred.len(), 50);
    let morning = local(Paris, 2026, 6, 3, 10, 0);
    assert!(
        sel.deferred
            .iter()
            .all(|(_, at, r)| *at == morning && *r == Reason::OutsideCampaignHours)
    );
}

#[test]
fn reason_names() {
    for r in Reason::ALL {
        assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        assert_eq!(r.as_str().parse::<Reason>().unwrap(), *r);
    }
    assert_eq!(Reason::AttemptCap30Days.as_str(), "attempt_cap_30_days");
    assert_eq!(
        serde_json::to_value(later(utc(2026, 6, 2, 14, 0), Reason::Holiday)).unwrap(),
        serde_json::json!({"verdict": "later", "at": "2026-06-02T14:00:00Z", "reason": "holiday"})
    );
}
