//! Test harness: [`TestApp::spawn`] starts a real callpro server on `127.0.0.1:0` over its own
//! database — a temporary SQLite file, or a fresh PostgreSQL database when
//! `CALLPRO_TEST_POSTGRES_URL` is set — and offers a few request helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;

use base64::Engine as _;
use callpro_api::config::Config;
use callpro_api::secret::Secret;
use callpro_api::server;
use callpro_api::state::AppState;
use callpro_engine::telephony::memory::{MemoryTelephony, Script, ScriptedOutcome};
use diesel::{Connection as _, RunQueryDsl as _};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// Email and password of the bootstrap super admin in every test app.
pub const ADMIN_EMAIL: &str = "root@callpro.test";
pub const ADMIN_PASSWORD: &str = "root-password-123";
/// Password given to users created through the helpers.
pub const USER_PASSWORD: &str = "user-password-123";

/// A running server and its private database.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    handle: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
    pg: Option<PgTestDb>,
}

pub struct PgTestDb {
    admin_url: String,
    name: String,
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

/// The backend the suite runs on.
pub fn postgres_url() -> Option<String> {
    std::env::var("CALLPRO_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

/// A fresh PostgreSQL database next to the one in `admin_url`.
fn create_pg_database(admin_url: &str) -> (String, PgTestDb) {
    let name = format!("callpro_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = diesel::PgConnection::establish(admin_url).expect("connect to PostgreSQL");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .expect("create test database");
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let root = base.rsplit_once('/').map(|(r, _)| r).unwrap_or(base);
    (
        format!("{root}/{name}{query}"),
        PgTestDb {
            admin_url: admin_url.to_string(),
            name,
        },
    )
}

/// A configuration pointing at a private database, with known secrets.
pub fn test_config(dir: &std::path::Path) -> (Config, Option<PgTestDb>) {
    config_on(dir, postgres_url())
}

/// Like [`test_config`], on PostgreSQL at `pg_url` or on SQLite when `None`.
pub fn config_on(dir: &std::path::Path, pg_url: Option<String>) -> (Config, Option<PgTestDb>) {
    let mut config = Config::default();
    let pg = match pg_url {
        Some(url) => {
            let (db_url, pg) = create_pg_database(&url);
            config.database.url = db_url;
            config.database.pool_size = 4;
            Some(pg)
        }
        None => {
            config.database.url = format!("sqlite://{}", dir.join("callpro.db").display());
            None
        }
    };
    config.http.bind = "127.0.0.1:0".into();
    config.http.workers = 2;
    // No gateway to probe in tests; the prober has its own tests in the engine.
    config.sip.probe = false;
    config.agi.bind = "127.0.0.1:0".into();
    config.secrets.key = Some(Secret::new(
        base64::engine::general_purpose::STANDARD.encode([42u8; 32]),
    ));
    config.secrets.key_file = dir.join("callpro.key");
    config.bootstrap.admin_email = Some(ADMIN_EMAIL.into());
    config.bootstrap.admin_password = Some(Secret::new(ADMIN_PASSWORD));
    (config, pg)
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_on(postgres_url(), adjust).await
    }

    /// Always on the embedded SQLite backend, whatever the environment says.
    pub async fn spawn_sqlite() -> Self {
        Self::spawn_on(None, |_| {}).await
    }

    /// With a deterministic in-memory telephony (every dial answers after 50 ms) wired into
    /// the live state, so sessions and calls work without Asterisk.
    pub async fn spawn_with_memory_telephony() -> (Self, MemoryTelephony) {
        let telephony = std::sync::Arc::new(std::sync::Mutex::new(None));
        let slot = telephony.clone();
        let app = Self::spawn_inner(
            postgres_url(),
            |_| {},
            move |state: &mut AppState| {
                let memory = MemoryTelephony::new(Script::new(
                    ScriptedOutcome::Answer,
                    std::time::Duration::from_millis(50),
                ))
                .with_live_state(state.engine.live.clone());
                state.engine.telephony = Some(std::sync::Arc::new(memory.clone()));
                *slot.lock().unwrap() = Some(memory);
            },
        )
        .await;
        let memory = telephony.lock().unwrap().take().unwrap();
        (app, memory)
    }

    /// On PostgreSQL at `pg_url` (a fresh database beside it) or on SQLite when `None`,
    /// whatever the environment says, with `adjust` applied to the configuration.
    pub async fn spawn_on(pg_url: Option<String>, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_inner(pg_url, adjust, |_| {}).await
    }

    async fn spawn_inner(
        pg_url: Option<String>,
        adjust: impl FnOnce(&mut Config),
        adjust_state: impl FnOnce(&mut AppState),
    ) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        callpro_api::telemetry::init(&callpro_api::config::LogConfig {
            format: callpro_api::config::LogFormat::Text,
            filter: "warn".into(),
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let (mut config, pg) = config_on(dir.path(), pg_url);
        adjust(&mut config);
        let (mut state, _) = server::prepare(config).await.expect("server prepares");
        adjust_state(&mut state);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = server::start(state.clone(), listener, false).expect("server starts");
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            base,
            client: reqwest::Client::new(),
            state,
            handle,
            _dir: dir,
            pg,
        }
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let req = self.client.request(method, format!("{}{path}", self.base));
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token))
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(token))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::PATCH, path, Some(token))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token))
            .send()
            .await
            .unwrap()
    }

    /// Raw login: the response, for status and cookie checks.
    pub async fn login_response(
        &self,
        email: &str,
        password: &str,
        totp: Option<&str>,
    ) -> Response {
        let mut body = json!({ "email": email, "password": password });
        if let Some(code) = totp {
            body["totp"] = json!(code);
        }
        self.request(Method::POST, "/api/auth/login", None)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Logs in and returns the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let res = self.login_response(email, password, None).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {email}");
        res.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn admin_token(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a call center as `token`; returns its id.
    pub async fn call_center(&self, token: &str, name: &str) -> i64 {
        let res = self
            .post(
                "/api/call-centers",
                token,
                json!({ "name": name, "time_zone": "Europe/Paris" }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    }

    /// Creates a user with [`USER_PASSWORD`]; returns its id.
    pub async fn user(
        &self,
        token: &str,
        email: &str,
        role: &str,
        call_center: Option<i64>,
    ) -> i64 {
        let res = self
            .post(
                "/api/users",
                token,
                json!({
                    "email": email,
                    "display_name": email,
                    "role": role,
                    "call_center_id": call_center,
                    "password": USER_PASSWORD,
                }),
            )
            .await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "create {email}: {body}");
        body["user"]["id"].as_i64().unwrap()
    }

    /// As the call center's `owner`: an SMTP profile on `127.0.0.1:smtp_port` (no TLS, from
    /// "Solar Desk" <desk@solar.test>) and a double opt-in template using `first_name`,
    /// `field.project` and `confirm_url`; their ids.
    pub async fn opt_in_email(&self, owner: &str, smtp_port: u16) -> (i64, i64) {
        let res = self
            .post(
                "/api/smtp-profiles",
                owner,
                json!({"name": "local", "host": "127.0.0.1", "port": smtp_port, "security": "none",
                       "from_name": "Solar Desk", "from_address": "desk@solar.test"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let profile = body(res).await["id"].as_i64().unwrap();
        let res = self
            .post(
                "/api/email-templates",
                owner,
                json!({"name": "double opt-in",
                       "subject": "Please confirm, {{first_name}}",
                       "html_body": "<p>Hello {{first_name}}, confirm your {{field.project}} project: <a href=\"{{confirm_url}}\">confirm</a></p>",
                       "text_body": "Hello {{first_name}},\nconfirm here:\n{{confirm_url}}\n"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let template = body(res).await["id"].as_i64().unwrap();
        (profile, template)
    }

    /// Number of audit rows, read straight from the database.
    pub async fn audit_count(&self) -> i64 {
        use diesel::QueryDsl as _;
        self.state
            .db
            .run(|conn| {
                Ok(callpro_api::db::schema::audit_log::table
                    .count()
                    .get_result::<i64>(conn)?)
            })
            .await
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { handle.stop(false).await });
        }
        let _ = &self.pg;
    }
}

/// Reads a JSON body.
pub async fn body(res: Response) -> Value {
    res.json().await.unwrap()
}

/// Where aiosmtpd is, when Python does not find it by itself: the first call installs it with
/// pip under the target directory, so a fresh machine needs no set-up step for the email tests.
fn aiosmtpd_path() -> Option<&'static std::path::Path> {
    static PATH: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    let importable = |path: Option<&std::path::Path>| {
        let mut probe = std::process::Command::new("python3");
        if let Some(path) = path {
            probe.env("PYTHONPATH", path);
        }
        probe
            .args(["-c", "import aiosmtpd"])
            .output()
            .expect("python3 must be installed to run the email tests")
            .status
            .success()
    };
    PATH.get_or_init(|| {
        if importable(None) {
            return None;
        }
        let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("aiosmtpd");
        if !importable(Some(&target)) {
            // Installed beside, then moved into place: test binaries may race here.
            let staging = target.with_extension(format!("{}", std::process::id()));
            let installed = std::process::Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "--target"])
                .arg(&staging)
                .arg("aiosmtpd")
                .status()
                .expect("run pip");
            assert!(
                installed.success(),
                "could not install aiosmtpd with pip; install it by hand: \
                 `python3 -m pip install aiosmtpd`"
            );
            let _ = std::fs::rename(&staging, &target);
            let _ = std::fs::remove_dir_all(&staging);
            assert!(
                importable(Some(&target)),
                "aiosmtpd installed but not importable"
            );
        }
        Some(target)
    })
    .as_deref()
}

/// A real SMTP server (aiosmtpd, `tests/support/smtp_server.py`) storing what it accepts.
pub struct SmtpServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl SmtpServer {
    /// Starts a server accepting everything.
    pub fn start() -> Self {
        Self::start_with(&[], &[])
    }

    /// Starts a server answering 451 once to each of `tempfail_once` and 550 to `reject`.
    pub fn start_with(tempfail_once: &[&str], reject: &[&str]) -> Self {
        use std::io::BufRead as _;
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_server.py");
        let mut cmd = std::process::Command::new("python3");
        if let Some(path) = aiosmtpd_path() {
            cmd.env("PYTHONPATH", path);
        }
        cmd.arg(script).arg(dir.path());
        for a in tempfail_once {
            cmd.args(["--tempfail-once", a]);
        }
        for a in reject {
            cmd.args(["--reject", a]);
        }
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the SMTP server");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .unwrap_or_else(|| panic!("SMTP server did not start: {line:?}"))
            .parse()
            .unwrap();
        Self { port, dir, child }
    }

    /// The messages received so far, oldest first (headers and body as sent).
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| {
                let path = e.ok()?.path();
                let n = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".eml")?
                    .parse()
                    .ok()?;
                Some((n, path))
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, p)| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Waits up to 20 s for at least `n` messages.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "the SMTP server received {} of {n} messages",
            self.messages().len()
        );
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
