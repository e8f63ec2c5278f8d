//! Unit tests of URL parsing, TOML-shaped deserialisation and secret redaction.

use super::*;

#[test]
fn url_with_defaults_and_percent_decoding() {
    let c = AmiConfig::from_url("ami://call%20pro:p%40ss%3Aword@10.0.0.5").unwrap();
    assert_eq!(c.username, "call pro");
    assert_eq!(c.secret.expose(), "p@ss:word");
    assert_eq!((c.host.as_str(), c.port), ("10.0.0.5", 5038));
    assert_eq!(c.auth, AuthMode::Plain);
    assert_eq!(c.events, DEFAULT_EVENTS);
}

#[test]
fn url_with_port_md5_and_ipv6() {
    let c = AmiConfig::from_url("ami://u:s@[::1]:6038?auth=md5&events=call,system").unwrap();
    assert_eq!((c.host.as_str(), c.port), ("::1", 6038));
    assert_eq!(c.address(), "[::1]:6038");
    assert_eq!(c.auth, AuthMode::Md5);
    assert_eq!(c.events, "call,system");
}

#[test]
fn url_errors_name_the_part_and_hide_the_secret() {
    let err = |u: &str| AmiConfig::from_url(u).unwrap_err();
    assert_eq!(err("tcp://u:s@h"), AmiConfigError::Scheme);
    assert_eq!(err("ami://h:5038"), AmiConfigError::Missing("username"));
    assert_eq!(err("ami://u@h"), AmiConfigError::Missing("secret"));
    assert_eq!(err("ami://u:s@"), AmiConfigError::Missing("host"));
    assert!(matches!(
        err("ami://u:s@h:99999"),
        AmiConfigError::Invalid { key: "port", .. }
    ));
    assert!(matches!(
        err("ami://u:s@h?auth=sha"),
        AmiConfigError::Invalid { key: "auth", .. }
    ));
    let e = err("ami://u:top%ZZsecret@h");
    assert!(matches!(e, AmiConfigError::Invalid { key: "secret", .. }));
    assert!(!e.to_string().contains("top"), "{e}");
    assert!(err("ami://u:s@h?foo=1").to_string().contains("foo"));
}

#[test]
fn debug_redacts_the_secret() {
    let c = AmiConfig::from_url("ami://callpro:callpro-secret@127.0.0.1:5038").unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("callpro-secret"), "{dbg}");
    assert!(dbg.contains("***"));
}

#[test]
fn deserialises_from_a_table_with_url_and_overrides() {
    let c: AmiConfig = serde_json::from_value(serde_json::json!({
        "url": "ami://callpro:x@pbx",
        "auth": "md5",
        "ping_interval_ms": 5000,
        "reconnect_min_ms": 100,
        "reconnect_max_ms": 2000
    }))
    .unwrap();
    assert_eq!(c.auth, AuthMode::Md5);
    assert_eq!(c.ping_interval, Duration::from_secs(5));
    assert_eq!(c.reconnect_max, Duration::from_secs(2));
    let c: AmiConfig = serde_json::from_value(serde_json::json!({
        "host": "pbx", "port": 5039, "username": "u", "secret": "s"
    }))
    .unwrap();
    assert_eq!(c.address(), "pbx:5039");
    let err = serde_json::from_value::<AmiConfig>(serde_json::json!({
        "host": "pbx", "username": "u", "secret": "s", "reconnect_min_ms": 0
    }))
    .unwrap_err();
    assert!(err.to_string().contains("reconnect_min_ms"), "{err}");
    let err = serde_json::from_value::<AmiConfig>(serde_json::json!({"host": "pbx"})).unwrap_err();
    assert!(err.to_string().contains("username"), "{err}");
}
