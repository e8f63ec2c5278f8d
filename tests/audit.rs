//! The audit trail: exactly one entry per successful mutation, none for a failed one, and no
//! way to change it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestApp, body};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_successful_mutation_writes_exactly_one_entry() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mut expected = app.audit_count().await;
    // (request, expected status) — every one of these succeeds.
    let cc = app.call_center(&admin, "Acme").await;
    expected += 1;
    assert_eq!(app.audit_count().await, expected);

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
    let group = body(
        app.post(
            "/api/groups",
            &admin,
            json!({"call_center_id": cc, "name": "Sales"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let user = app.user(&admin, "agent@acme.test", "agent", Some(cc)).await;
    expected += 3;
    assert_eq!(app.audit_count().await, expected);

    let steps = [
        (
            Method::PATCH,
            format!("/api/call-centers/{cc}"),
            Some(json!({"name": "Acme SA"})),
            StatusCode::OK,
        ),
        (
            Method::PATCH,
            format!("/api/sites/{site}"),
            Some(json!({"time_zone": "Europe/Paris"})),
            StatusCode::OK,
        ),
        (
            Method::PATCH,
            format!("/api/groups/{group}"),
            Some(json!({"description": null})),
            StatusCode::OK,
        ),
        (
            Method::PATCH,
            format!("/api/users/{user}"),
            Some(json!({"sip_extension": "1001", "site_id": site})),
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/api/groups/{group}/members"),
            Some(json!({"user_id": user})),
            StatusCode::CREATED,
        ),
        (
            Method::DELETE,
            format!("/api/groups/{group}/members/{user}"),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            Method::DELETE,
            format!("/api/groups/{group}"),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            Method::DELETE,
            format!("/api/users/{user}"),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            Method::DELETE,
            format!("/api/sites/{site}"),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            Method::DELETE,
            format!("/api/call-centers/{cc}"),
            None,
            StatusCode::NO_CONTENT,
        ),
    ];
    for (method, path, payload, status) in steps {
        let mut req = app.request(method.clone(), &path, Some(&admin));
        if let Some(p) = payload {
            req = req.json(&p);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{method} {path}");
        expected += 1;
        assert_eq!(
            app.audit_count().await,
            expected,
            "one entry for {method} {path}"
        );
    }

    let log = body(app.get("/api/audit?per_page=200", &admin).await).await;
    let newest = &log["items"][0];
    assert_eq!(newest["action"], "call_center.delete");
    assert_eq!(newest["entity_id"], cc.to_string());
    assert_eq!(newest["before"]["name"], "Acme SA");
    assert!(newest["after"].is_null());
    assert_eq!(newest["ip"], "127.0.0.1");
    let update = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "user.update")
        .unwrap();
    assert!(update["before"]["sip_extension"].is_null());
    assert_eq!(update["after"]["sip_extension"], "1001");
    // Audit entries never carry secrets.
    assert!(!log.to_string().contains("argon2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_mutations_write_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    app.user(&admin, "agent@acme.test", "agent", Some(cc)).await;
    let before = app.audit_count().await;
    let failures = [
        (
            json!({"name": "Acme", "time_zone": "Europe/Paris"}),
            "/api/call-centers",
            StatusCode::CONFLICT,
        ),
        (
            json!({"name": "", "time_zone": "Nowhere/Land"}),
            "/api/call-centers",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"email": "agent@acme.test", "display_name": "dup", "role": "agent", "call_center_id": cc}),
            "/api/users",
            StatusCode::CONFLICT,
        ),
        (
            json!({"email": "new@acme.test", "display_name": "x", "role": "agent", "call_center_id": 999}),
            "/api/users",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"call_center_id": cc, "name": "Paris", "bogus": 1}),
            "/api/sites",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (payload, path, status) in failures {
        let res = app.post(path, &admin, payload.clone()).await;
        assert_eq!(res.status(), status, "{path} {payload}");
    }
    let res = app.delete("/api/call-centers/12345", &admin).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.delete(&format!("/api/call-centers/{cc}"), &admin).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(body(res).await["code"], "call_center_not_empty");
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_cannot_be_altered() {
    use diesel::RunQueryDsl as _;
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.call_center(&admin, "Acme").await;
    for method in [Method::POST, Method::PATCH, Method::DELETE, Method::PUT] {
        let res = app
            .request(method.clone(), "/api/audit", Some(&admin))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
    let res = app
        .request(Method::DELETE, "/api/audit/1", Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Even SQL cannot rewrite history: the database refuses updates and deletes.
    let update = app
        .state
        .db
        .run(|conn| Ok(diesel::sql_query("UPDATE audit_log SET action = 'forged'").execute(conn)))
        .await
        .unwrap();
    assert!(update.is_err());
    let delete = app
        .state
        .db
        .run(|conn| Ok(diesel::sql_query("DELETE FROM audit_log").execute(conn)))
        .await
        .unwrap();
    assert!(delete.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_list_filters_and_paginates() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for name in ["A", "B", "C"] {
        app.call_center(&admin, name).await;
    }
    let page = body(
        app.get("/api/audit?entity=call_center&per_page=2&page=2", &admin)
            .await,
    )
    .await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["after"]["name"], "A");
    let res = app.get("/api/audit?per_page=0", &admin).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app.get("/api/audit?from=yesterday", &admin).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
