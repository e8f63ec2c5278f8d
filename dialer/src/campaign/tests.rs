//! Tests of the `campaign` module.

use super::*;
use serde_json::json;

fn w(sh: u32, sm: u32, eh: u32, em: u32) -> Window {
    Window::hm(sh, sm, eh, em).unwrap()
}

fn fields(settings: &CampaignSettings) -> Vec<String> {
    settings
        .validate()
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn empty_object_gives_valid_defaults() {
    let s: CampaignSettings = serde_json::from_str("{}").unwrap();
    assert_eq!(s, CampaignSettings::default());
    assert_eq!(s.validate(), Ok(()));
    assert_eq!(s.schedule.time_zone, Tz::Europe__Paris);
    assert_eq!(
        s.schedule.windows.for_weekday(Weekday::Fri),
        &[w(9, 0, 20, 0)]
    );
    assert!(s.schedule.windows.for_weekday(Weekday::Sat).is_empty());
    assert_eq!(s.compliance.profile, RegulatoryProfile::Fr);
    assert_eq!(s.strategy.retry.machine, RetryRule::new(14_400, 3));
}

#[test]
fn default_json_shape() {
    let v = serde_json::to_value(CampaignSettings::default()).unwrap();
    let day = json!([["09:00", "20:00"]]);
    assert_eq!(
        v,
        json!({
            "schedule": {
                "time_zone": "Europe/Paris",
                "windows": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day,
                            "sat": [], "sun": []},
                "holidays": []
            },
            "strategy": {
                "ring_timeout_secs": 25,
                "max_lines_per_agent": 3.0,
                "power_ratio": 1.5,
                "target_abandon_pct": 2.0,
                "max_attempts": 10,
                "retry": {
                    "busy": {"delay_secs": 600, "max_attempts": 5},
                    "no_answer": {"delay_secs": 3600, "max_attempts": 5},
                    "congestion": {"delay_secs": 300, "max_attempts": 3},
                    "failed": {"delay_secs": 1800, "max_attempts": 2},
                    "machine": {"delay_secs": 14400, "max_attempts": 3},
                    "abandoned": {"delay_secs": 3600, "max_attempts": 3}
                }
            },
            "compliance": {
                "profile": "fr",
                "amd": {"enabled": false, "action": "hangup"},
                "recording": false,
                "legal_beep": true,
                "max_call_secs": 3600,
                "drop_message": "callpro/drop-message"
            }
        })
    );
}

#[test]
fn round_trip_keeps_everything() {
    let mut s = CampaignSettings::default();
    s.schedule.time_zone = Tz::America__New_York;
    s.schedule.windows.sat = vec![w(0, 0, 8, 30), w(22, 0, 24, 0)];
    s.schedule.holidays = vec![NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()];
    s.strategy.max_attempts = 7;
    s.compliance.profile = RegulatoryProfile::Us;
    s.compliance.amd = Amd {
        enabled: true,
        action: AmdAction::DropMessage,
    };
    let text = serde_json::to_string(&s).unwrap();
    assert!(text.contains(r#""sat":[["00:00","08:30"],["22:00","24:00"]]"#));
    assert!(text.contains(r#""holidays":["2026-12-24"]"#));
    assert!(text.contains(r#""action":"drop_message""#));
    let back: CampaignSettings = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
}

#[test]
fn partial_json_fills_in_defaults() {
    let s: CampaignSettings = serde_json::from_value(json!({
        "schedule": {"windows": {"sat": [["10:00", "12:00"]]}},
        "strategy": {"retry": {"busy": {"delay_secs": 120, "max_attempts": 2}}},
    }))
    .unwrap();
    // A `windows` object replaces the whole week: days it leaves out have no window.
    assert!(s.schedule.windows.mon.is_empty());
    assert_eq!(s.schedule.windows.sat, vec![w(10, 0, 12, 0)]);
    assert_eq!(s.schedule.time_zone, Tz::Europe__Paris);
    assert_eq!(s.strategy.retry.busy, RetryRule::new(120, 2));
    assert_eq!(s.strategy.retry.no_answer, RetryRules::default().no_answer);
    assert_eq!(s.strategy.ring_timeout_secs, 25);
}

#[test]
fn end_of_day_reads_24_00_and_00_00() {
    let a: Window = serde_json::from_str(r#"["18:00","24:00"]"#).unwrap();
    let b: Window = serde_json::from_str(r#"["18:00","00:00"]"#).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.end, Window::END_OF_DAY);
    assert_eq!(serde_json::to_string(&b).unwrap(), r#"["18:00","24:00"]"#);
    assert!(a.contains(NaiveTime::from_hms_opt(23, 59, 59).unwrap()));
    assert!(!a.contains(NaiveTime::from_hms_opt(17, 59, 59).unwrap()));
    assert!(!a.is_empty());
    assert!(!Window::WHOLE_DAY.is_empty());
    assert!(Window::WHOLE_DAY.contains(NaiveTime::MIN));
}

#[test]
fn window_is_half_open() {
    let win = w(9, 0, 12, 30);
    assert!(win.contains(NaiveTime::from_hms_opt(9, 0, 0).unwrap()));
    assert!(win.contains(NaiveTime::from_hms_opt(12, 29, 59).unwrap()));
    assert!(!win.contains(NaiveTime::from_hms_opt(12, 30, 0).unwrap()));
}

#[test]
fn bad_json_is_refused() {
    for bad in [
        json!({"schedule": {"time_zone": "Europe/Pariss"}}),
        json!({"schedule": {"windows": {"mon": [["9h", "12:00"]]}}}),
        json!({"schedule": {"windows": {"mon": [["09:00", "24:30"]]}}}),
        json!({"schedule": {"windows": {"mon": [["24:00", "24:00"]]}}}),
        json!({"schedule": {"windows": {"mon": [["09:00"]]}}}),
        json!({"schedule": {"windows": {"monday": []}}}),
        json!({"strategy": {"ring_timeout": 20}}),
        json!({"compliance": {"profile": "de"}}),
        json!({"compliance": {"amd": {"action": "voicemail"}}}),
        json!({"extra": 1}),
    ] {
        assert!(
            serde_json::from_value::<CampaignSettings>(bad.clone()).is_err(),
            "{bad} was accepted"
        );
    }
}

#[test]
fn validation_lists_every_problem_with_its_path() {
    let mut s = CampaignSettings::default();
    s.schedule.windows.mon = vec![w(9, 0, 12, 0), w(11, 0, 13, 0), w(14, 0, 14, 0)];
    s.schedule.windows.tue = vec![w(14, 0, 18, 0), w(9, 0, 12, 0)];
    s.strategy.ring_timeout_secs = 10;
    s.strategy.max_lines_per_agent = 2.0;
    s.strategy.power_ratio = 2.5;
    s.strategy.target_abandon_pct = 3.5;
    s.strategy.max_attempts = 0;
    s.strategy.retry.machine.delay_secs = 10;
    s.strategy.retry.busy.max_attempts = 0;
    s.compliance.max_call_secs = 30;
    s.compliance.drop_message = "../etc/passwd".to_owned();
    assert_eq!(
        fields(&s),
        [
            "schedule.windows.mon[1]",
            "schedule.windows.mon[2]",
            "schedule.windows.tue[1]",
            "strategy.ring_timeout_secs",
            "strategy.power_ratio",
            "strategy.target_abandon_pct",
            "strategy.max_attempts",
            "strategy.retry.busy.max_attempts",
            "strategy.retry.machine.delay_secs",
            "compliance.max_call_secs",
            "compliance.drop_message",
        ]
    );
    let errors = s.validate().unwrap_err();
    assert!(
        errors[5].message.contains("fr profile cap"),
        "{}",
        errors[5]
    );
}

#[test]
fn touching_windows_are_fine_and_an_empty_week_is_not() {
    let mut s = CampaignSettings::default();
    s.schedule.windows.mon = vec![w(9, 0, 12, 0), w(12, 0, 24, 0)];
    assert_eq!(s.validate(), Ok(()));
    s.schedule.windows.mon = vec![w(9, 0, 24, 0), w(23, 0, 23, 30)];
    assert_eq!(fields(&s), ["schedule.windows.mon[1]"]);
    s.schedule.windows = Weekly::default();
    assert_eq!(fields(&s), ["schedule.windows"]);
    s.schedule.windows.sun = vec![w(10, 0, 11, 0); MAX_WINDOWS_PER_DAY + 1];
    assert!(fields(&s).contains(&"schedule.windows.sun".to_owned()));
}

#[test]
fn strategy_bounds() {
    let mut s = CampaignSettings::default();
    s.strategy.ring_timeout_secs = 15;
    s.strategy.max_lines_per_agent = 10.0;
    s.strategy.power_ratio = 10.0;
    s.strategy.target_abandon_pct = 3.0;
    s.strategy.max_attempts = 50;
    assert_eq!(s.validate(), Ok(()));
    s.strategy.ring_timeout_secs = 121;
    s.strategy.max_lines_per_agent = 0.5;
    s.strategy.power_ratio = 0.9;
    s.strategy.target_abandon_pct = 0.0;
    s.strategy.max_attempts = 51;
    assert_eq!(
        fields(&s),
        [
            "strategy.ring_timeout_secs",
            "strategy.max_lines_per_agent",
            "strategy.power_ratio",
            "strategy.target_abandon_pct",
            "strategy.max_attempts",
        ]
    );
    s.strategy = Strategy {
        max_lines_per_agent: f64::NAN,
        ..Strategy::default()
    };
    assert_eq!(fields(&s), ["strategy.max_lines_per_agent"]);
}

#[test]
fn sound_names() {
    for ok in ["callpro/drop-message", "custom/fr_FR/abandon2", "beep"] {
        assert!(is_sound_name(ok), "{ok}");
    }
    for bad in ["", "/var/lib/x", "a//b", "x.wav", "a b", "x\nHangup", "a/"] {
        assert!(!is_sound_name(bad), "{bad:?}");
    }
}

#[test]
fn boost_never_exceeds_the_cap() {
    let s = CampaignSettings::default();
    assert_eq!(s.boost_allowed(2.0, 0.5), 0.5);
    assert_eq!(s.boost_allowed(2.0, 2.0), 1.0);
    assert_eq!(s.boost_allowed(3.0, 1.0), 0.0);
    assert_eq!(s.boost_allowed(3.2, 1.0), 0.0);
    assert_eq!(s.boost_allowed(2.0, -1.0), 0.0);
    assert_eq!(s.boost_allowed(2.0, f64::NAN), 0.0);
    assert_eq!(s.boost_allowed(2.0, f64::INFINITY), 1.0);
}

#[test]
fn dial_mode_names() {
    for mode in DialMode::ALL {
        assert_eq!(mode.as_str().parse::<DialMode>().unwrap(), *mode);
        assert_eq!(serde_json::to_value(mode).unwrap(), json!(mode.as_str()));
    }
    assert!("Power".parse::<DialMode>().is_err());
    assert!(DialMode::Preview.guarantees_agent());
    assert!(DialMode::Progressive.guarantees_agent());
    assert!(!DialMode::Power.guarantees_agent());
    assert!(!DialMode::Predictive.guarantees_agent());
    for action in AmdAction::ALL {
        assert_eq!(
            serde_json::to_value(action).unwrap(),
            json!(action.as_str())
        );
    }
}
