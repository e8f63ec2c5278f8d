//! The `callpro` binary's one-shot commands: migrate, user create, simulate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn callpro(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callpro"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "CALLPRO_DATABASE_URL",
            format!("sqlite://{}", dir.join("cli.db").display()),
        )
        .env("CALLPRO_LOG", "warn");
    cmd
}

#[test]
fn migrate_then_create_a_user_with_a_generated_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = callpro(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("migration(s) applied (sqlite)"));

    let out = callpro(dir.path())
        .args([
            "user",
            "create",
            "--email",
            "Root@Example.test",
            "--role",
            "super-admin",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("created user root@example.test (super_admin)"),
        "{stdout}"
    );
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap();
    assert_eq!(password.len(), 20);

    // An agent needs a call center; the error says which option.
    let out = callpro(dir.path())
        .args([
            "user",
            "create",
            "--email",
            "a@example.test",
            "--role",
            "agent",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("validation"));
}

#[test]
fn a_bad_configuration_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = callpro(dir.path())
        .arg("migrate")
        .env("CALLPRO_HTTP_BIND", "nowhere")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("http.bind"));
}

#[test]
fn simulate_prints_the_pace1_scorecard() {
    let dir = tempfile::tempdir().unwrap();
    let out = callpro(dir.path())
        .args([
            "simulate",
            "--scenario",
            "n10-r30",
            "--policy",
            "progressive",
            "--seeds",
            "1..2",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("talk") && table.contains("n10-r30"),
        "{table}"
    );

    let out = callpro(dir.path())
        .args([
            "simulate",
            "--scenario",
            "n10-r15",
            "--policy",
            "predictive",
            "--seeds",
            "1..1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json.to_string().contains("n10-r15"));

    let out = callpro(dir.path())
        .args(["simulate", "--scenario", "n7-r99"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scenario"));
}

#[test]
fn asterisk_config_writes_the_files_with_secrets_kept_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let out = callpro(dir.path())
        .env(
            "CALLPRO_AMI_URL",
            "ami://dialer:s3cret-ami@asterisk.test:5038",
        )
        .env("CALLPRO_AGI_BIND", "0.0.0.0:4573")
        .args(["asterisk-config", "--out", "rendered"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("0 trunk(s), 0 agent endpoint(s)"),
        "{stdout}"
    );
    let rendered = dir.path().join("rendered");
    for name in ["pjsip.conf", "manager.conf"] {
        let meta = std::fs::metadata(rendered.join(name)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
    }
    for name in ["extensions.conf", "confbridge.conf"] {
        assert!(rendered.join(name).is_file(), "{name}");
    }
    let manager = std::fs::read_to_string(rendered.join("manager.conf")).unwrap();
    assert!(
        manager.contains("[dialer]\nsecret = s3cret-ami\n"),
        "{manager}"
    );
    let extensions = std::fs::read_to_string(rendered.join("extensions.conf")).unwrap();
    assert!(extensions.contains("CALLPRO_AGI = agi://127.0.0.1:4573\n"));
}
