//! Health, metrics, OpenAPI, bad input, bootstrap and configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use callpro_api::config::Config;
use common::{TestApp, body};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_up_with_the_database_component() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::GET, "/health", None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let health = body(res).await;
    assert_eq!(health["status"], "UP");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(health["components"]["database"]["status"], "UP");
    let backend = if common::postgres_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(
        health["components"]["database"]["details"]["backend"],
        backend
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    app.get("/api/users/424242", &token).await;
    let text = app
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("# HELP callpro_http_requests_total"));
    assert!(
        text.contains(r#"route="/api/users/{id}",status="404""#),
        "{text}"
    );
    assert!(text.contains("callpro_http_request_duration_seconds_bucket"));
    assert!(text.contains("callpro_db_pool_connections"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_every_route_and_the_error_shape() {
    let app = TestApp::spawn().await;
    let doc = body(
        app.request(Method::GET, "/api/openapi.json", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/health",
        "/metrics",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/me",
        "/api/me/password",
        "/api/me/mfa/enroll",
        "/api/me/mfa/activate",
        "/api/me/mfa/disable",
        "/api/call-centers",
        "/api/call-centers/{id}",
        "/api/sites",
        "/api/sites/{id}",
        "/api/users",
        "/api/users/{id}",
        "/api/groups",
        "/api/groups/{id}",
        "/api/groups/{id}/members",
        "/api/groups/{id}/members/{user_id}",
        "/api/audit",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    let error = &doc["components"]["schemas"]["ErrorBody"]["properties"];
    for field in ["code", "message", "fields"] {
        assert!(error.get(field).is_some(), "ErrorBody.{field}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_4xx_json_never_500() {
    let app = TestApp::spawn_with(|c| c.http.max_body_bytes = 1024).await;
    let token = app.admin_token().await;
    let send = |method: Method, path: &str, ct: Option<&str>, raw: Vec<u8>| {
        let mut req = app.request(method, path, Some(&token)).body(raw);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let json_ct = Some("application/json");
    let cases: Vec<(reqwest::Response, StatusCode, &str)> = vec![
        (send(Method::POST, "/api/call-centers", json_ct, b"{\"name\": ".to_vec()).await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json"),
        (send(Method::POST, "/api/call-centers", Some("text/plain"), b"{}".to_vec()).await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (send(Method::POST, "/api/call-centers", None, b"{}".to_vec()).await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (send(Method::POST, "/api/call-centers", json_ct, vec![b' '; 4096]).await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        (send(Method::POST, "/api/call-centers", json_ct, br#"{"name": 5, "time_zone": "UTC"}"#.to_vec()).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (send(Method::POST, "/api/call-centers", json_ct, br#"[1,2]"#.to_vec()).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (send(Method::POST, "/api/users", json_ct, br#"{"email":"x@y.z","display_name":"x","role":"emperor"}"#.to_vec()).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (send(Method::GET, "/api/users/abc", None, vec![]).await.unwrap(), StatusCode::NOT_FOUND, "resource_not_found"),
        (send(Method::GET, "/api/users/99999999999999999999", None, vec![]).await.unwrap(), StatusCode::NOT_FOUND, "resource_not_found"),
        (send(Method::GET, "/api/users?page=-1", None, vec![]).await.unwrap(), StatusCode::BAD_REQUEST, "invalid_query"),
        (send(Method::GET, "/api/users?per_page=1000", None, vec![]).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (send(Method::GET, "/api/users?role=king", None, vec![]).await.unwrap(), StatusCode::BAD_REQUEST, "invalid_query"),
        (send(Method::PUT, "/api/users", None, vec![]).await.unwrap(), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        (send(Method::GET, "/api/nothing-here", None, vec![]).await.unwrap(), StatusCode::NOT_FOUND, "route_not_found"),
        (send(Method::POST, "/api/users", json_ct, br#"{"email":"not-an-email","display_name":"","role":"agent","call_center_id":1,"sip_extension":"12x","password":"short"}"#.to_vec()).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
    ];
    for (res, status, code) in cases {
        let url = res.url().to_string();
        assert_eq!(res.status(), status, "{url}");
        let b = body(res).await;
        assert_eq!(b["code"], code, "{url}: {b}");
        assert!(b["message"].is_string());
    }
    // Every failing field is listed at once.
    let res = app
        .post(
            "/api/users",
            &token,
            json!({"email":"not-an-email","display_name":"","role":"agent","sip_extension":"12x","password":"short"}),
        )
        .await;
    let fields: Vec<String> = body(res).await["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        fields,
        ["email", "display_name", "sip_extension", "password"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_password_is_returned_once_and_works() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    let res = app
        .post(
            "/api/users",
            &admin,
            json!({"email": "New.Agent@Acme.test", "display_name": "New", "role": "agent", "call_center_id": cc}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created = body(res).await;
    assert_eq!(created["user"]["email"], "new.agent@acme.test");
    let password = created["generated_password"].as_str().unwrap();
    assert_eq!(password.len(), 20);
    app.login("NEW.AGENT@acme.test", password).await;
    let res = app
        .post(
            "/api/users",
            &admin,
            json!({"email": "new.agent@acme.test", "display_name": "Dup", "role": "agent", "call_center_id": cc}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(body(res).await["code"], "email_taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_creates_the_super_admin_only_once() {
    use callpro_api::bootstrap;
    let dir = tempfile::tempdir().unwrap();
    let (mut config, _pg) = common::test_config(dir.path());
    config.bootstrap.admin_password = None;
    let (state, first) = callpro_api::server::prepare(config.clone()).await.unwrap();
    let first = first.expect("first run creates the admin");
    let generated = first.generated_password.expect("password generated");
    assert_eq!(generated.len(), 20);
    let mut conn = state.db.get().unwrap();
    assert!(
        bootstrap::first_admin(&mut conn, &config)
            .unwrap()
            .is_none()
    );
    // Even with every user gone, a restart creates no new admin.
    diesel::RunQueryDsl::execute(
        diesel::delete(callpro_api::db::schema::users::table),
        &mut conn,
    )
    .unwrap();
    assert!(
        bootstrap::first_admin(&mut conn, &config)
            .unwrap()
            .is_none()
    );
}

#[test]
fn configuration_errors_name_the_key_and_secrets_stay_hidden() {
    let mut config = Config::default();
    config.http.bind = "not an address".into();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("http.bind"), "{err}");

    let mut config = Config::default();
    config.database.url = "mysql://x".into();
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("database.url")
    );

    let mut config = Config::default();
    config.auth.jwt_secret = Some(callpro_api::secret::Secret::new("short"));
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("auth.jwt_secret")
    );

    let mut config = Config::default();
    config.bootstrap.admin_password =
        Some(callpro_api::secret::Secret::new("p4ssw0rd-very-secret"));
    config.auth.jwt_secret = Some(callpro_api::secret::Secret::new("j".repeat(40)));
    let debug = format!("{config:?}");
    assert!(!debug.contains("p4ssw0rd-very-secret"));
    assert!(!debug.contains(&"j".repeat(40)));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callpro.toml");
    std::fs::write(&path, "[http]\nbind = \"127.0.0.1:9999\"\nbogus = 1\n").unwrap();
    let err = Config::load(Some(&path)).unwrap_err().to_string();
    assert!(err.contains("bogus"), "{err}");
    std::fs::write(&path, "[http]\nbind = \"127.0.0.1:9999\"\n").unwrap();
    assert_eq!(
        Config::load(Some(&path)).unwrap().http.bind,
        "127.0.0.1:9999"
    );
}

#[test]
fn the_example_configuration_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("callpro.example.toml");
    let config = Config::load(Some(&path)).unwrap();
    let defaults = Config::default();
    assert_eq!(config.http.bind, defaults.http.bind);
    assert_eq!(config.database.url, defaults.database.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_never_fail_with_a_server_error() {
    // Read-then-write transactions racing each other: on SQLite a deferred transaction's lock
    // upgrade fails at once ("database is locked"); write transactions must start IMMEDIATE.
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let cc = app.call_center(&token, "Busy").await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            app.user(&token, &format!("u{i}@busy.test"), "agent", Some(cc))
                .await,
        );
    }
    let mut tasks = Vec::new();
    for round in 0..10 {
        for &id in &ids {
            let (client, base, token) = (app.client.clone(), app.base.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                client
                    .patch(format!("{base}/api/users/{id}"))
                    .bearer_auth(&token)
                    .json(&json!({"display_name": format!("round {round}")}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            }));
        }
        let (client, base, token) = (app.client.clone(), app.base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            client
                .post(format!("{base}/api/sites"))
                .bearer_auth(&token)
                .json(&json!({"call_center_id": cc, "name": format!("site {round}")}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for task in tasks {
        let status = task.await.unwrap();
        assert!(status.is_success(), "a concurrent write answered {status}");
    }
}
