//! SIP trunks: CRUD, credentials sealed at rest and never returned, tenancy; health
//! components of the telephony side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestApp, USER_PASSWORD, body};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunks_keep_their_password_sealed_and_hidden() {
    use diesel::{QueryDsl as _, RunQueryDsl as _};
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    let site = body(
        app.post(
            "/api/sites",
            &admin,
            json!({"call_center_id": cc, "name": "Paris"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let res = app
        .post(
            "/api/trunks",
            &admin,
            json!({"call_center_id": cc, "site_id": site, "name": "yeastar-paris",
                   "host": "192.0.2.10", "username": "callpro", "password": "gw-secret-123"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let trunk = body(res).await;
    assert_eq!(trunk["port"], 5060);
    assert_eq!(trunk["transport"], "udp");
    assert_eq!(trunk["max_channels"], 30);
    assert_eq!(trunk["has_password"], true);
    assert!(trunk.get("password").is_none());
    let id = trunk["id"].as_i64().unwrap();

    let stored: Option<String> = app
        .state
        .db
        .run(|conn| {
            use callpro_api::db::schema::sip_trunks::dsl::*;
            Ok(sip_trunks.select(password_enc).first(conn)?)
        })
        .await
        .unwrap();
    let stored = stored.unwrap();
    assert!(!stored.contains("gw-secret-123"));
    assert_eq!(app.state.secrets.open(&stored).unwrap(), "gw-secret-123");

    let listed = body(app.get("/api/trunks", &admin).await).await;
    assert!(!listed.to_string().contains("gw-secret"));
    let audit = body(app.get("/api/audit?entity=trunk", &admin).await).await;
    assert!(!audit.to_string().contains("gw-secret"));

    let res = app
        .patch(
            &format!("/api/trunks/{id}"),
            &admin,
            json!({"password": null, "port": 5070}),
        )
        .await;
    let patched = body(res).await;
    assert_eq!(patched["has_password"], false);
    assert_eq!(patched["port"], 5070);

    let dup = app
        .post(
            "/api/trunks",
            &admin,
            json!({"call_center_id": cc, "name": "yeastar-paris", "host": "x.example"}),
        )
        .await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    let bad = app
        .post(
            "/api/trunks",
            &admin,
            json!({"call_center_id": cc, "name": "bad name!", "host": "a b", "port": 0}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = body(bad).await["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["name", "host", "port"]);
    assert_eq!(
        app.delete(&format!("/api/trunks/{id}"), &admin)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunks_follow_roles_and_tenants() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let a = app.call_center(&admin, "Alpha").await;
    let b = app.call_center(&admin, "Bravo").await;
    app.user(&admin, "owner@a.test", "owner", Some(a)).await;
    app.user(&admin, "sup@a.test", "supervisor", Some(a)).await;
    app.user(&admin, "agent@a.test", "agent", Some(a)).await;
    let other = body(
        app.post(
            "/api/trunks",
            &admin,
            json!({"call_center_id": b, "name": "gw-b", "host": "192.0.2.2"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let owner = app.login("owner@a.test", USER_PASSWORD).await;
    let sup = app.login("sup@a.test", USER_PASSWORD).await;
    let agent = app.login("agent@a.test", USER_PASSWORD).await;

    let res = app
        .post(
            "/api/trunks",
            &owner,
            json!({"name": "gw-a", "host": "192.0.2.1"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(body(res).await["call_center_id"], a);
    assert_eq!(
        app.get(&format!("/api/trunks/{other}"), &owner)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(body(app.get("/api/trunks", &owner).await).await["total"], 1);
    assert_eq!(app.get("/api/trunks", &sup).await.status(), StatusCode::OK);
    let res = app
        .post(
            "/api/trunks",
            &sup,
            json!({"name": "gw-s", "host": "192.0.2.3"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/trunks", &agent).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_lists_the_telephony_components() {
    let app = TestApp::spawn().await;
    let health = body(
        app.request(Method::GET, "/health", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(health["status"], "UP");
    assert_eq!(health["components"]["ami"]["status"], "DISABLED");
    assert_eq!(health["components"]["trunks"]["status"], "DISABLED");
    assert_eq!(health["components"]["agi"]["status"], "UP");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fastagi_server_answers_the_dialplan() {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
    let app = TestApp::spawn().await;
    let addr = app.state.engine.agi.as_ref().unwrap().local_addr().unwrap();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    // No script is routed yet: the fallback tells the dialplan why, then ends the AGI.
    write
        .write_all(b"agi_network: yes\nagi_network_script: nothing?x=1\nagi_request: agi://127.0.0.1/nothing?x=1\nagi_channel: PJSIP/test-1\nagi_uniqueid: 1.1\n\n")
        .await
        .unwrap();
    let mut lines = BufReader::new(read).lines();
    let command = lines.next_line().await.unwrap().unwrap();
    assert_eq!(command, "SET VARIABLE CALLPRO_AGI_ERROR unknown_script");
    write.write_all(b"200 result=1\n").await.unwrap();
    assert!(
        lines.next_line().await.unwrap().is_none(),
        "the server closes the AGI"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_asterisk_degrades_health() {
    // Nothing listens on this port: the AMI client keeps retrying and /health says so.
    let app = TestApp::spawn_with(|c| {
        c.ami.url = Some(callpro_api::secret::Secret::new(
            "ami://callpro:pw@127.0.0.1:9",
        ));
    })
    .await;
    let res = app
        .request(Method::GET, "/health", None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let health = body(res).await;
    assert_eq!(health["status"], "DEGRADED");
    assert_eq!(health["components"]["ami"]["status"], "DOWN");
    assert_eq!(health["components"]["database"]["status"], "UP");
    assert!(
        !health.to_string().contains("pw@"),
        "the AMI secret must not leak"
    );
}
