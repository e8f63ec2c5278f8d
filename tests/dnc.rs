//! The do-not-call list: numbers normalised to E.164, conflicts, file imports with their
//! per-line report, tenancy, roles and the audit trail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{TestApp, USER_PASSWORD, body};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

async fn fields(res: Response) -> Vec<(String, String)> {
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    body(res).await["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_string(),
                f["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn created(res: Response) -> Value {
    let status = res.status();
    let value = body(res).await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    value
}

async fn import(
    app: &TestApp,
    token: &str,
    query: &str,
    content_type: &str,
    file: String,
) -> Response {
    app.request(
        Method::POST,
        &format!("/api/dnc/import{query}"),
        Some(token),
    )
    .header("content-type", content_type)
    .body(file)
    .send()
    .await
    .unwrap()
}

async fn imported(app: &TestApp, token: &str, query: &str, file: String) -> Value {
    let res = import(app, token, query, "text/csv; charset=utf-8", file).await;
    let status = res.status();
    let value = body(res).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    value
}

/// A call center with an owner; returns (center, owner token).
async fn center_with_owner(app: &TestApp, admin: &str, name: &str) -> (i64, String) {
    let cc = app.call_center(admin, name).await;
    let email = format!("owner@{}.test", name.to_lowercase());
    app.user(admin, &email, "owner", Some(cc)).await;
    (cc, app.login(&email, USER_PASSWORD).await)
}

async fn actions(app: &TestApp, admin: &str) -> Vec<String> {
    let audit = body(app.get("/api/audit?per_page=200", admin).await).await;
    let mut actions: Vec<String> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .filter(|a| a.starts_with("dnc."))
        .collect();
    actions.sort_unstable();
    actions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_are_normalised_listed_once_and_removed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (cc, owner) = center_with_owner(&app, &admin, "Acme").await;

    let entry = created(
        app.post(
            "/api/dnc",
            &owner,
            json!({"phone": "06 12 34 56 78", "reason": "  asked on the phone  "}),
        )
        .await,
    )
    .await;
    assert_eq!(entry["phone"], "+33612345678");
    assert_eq!(entry["source"], "internal");
    assert_eq!(entry["reason"], "asked on the phone");
    assert_eq!(entry["call_center_id"], cc);
    let id = entry["id"].as_i64().unwrap();

    // Any spelling of a listed number is a conflict.
    let res = app
        .post("/api/dnc", &owner, json!({"phone": "+33 6 12 34 56 78"}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(body(res).await["code"], "already_listed");
    let res = app
        .post("/api/dnc", &owner, json!({"phone": "0033612345678"}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // National numbers of another country with `region`.
    let us = created(
        app.post(
            "/api/dnc",
            &owner,
            json!({"phone": "(202) 456-1111", "region": "us"}),
        )
        .await,
    )
    .await;
    assert_eq!(us["phone"], "+12024561111");
    assert_eq!(us["reason"], Value::Null);

    // Validation.
    let res = app
        .post("/api/dnc", &owner, json!({"phone": "call me maybe"}))
        .await;
    assert_eq!(
        fields(res).await,
        [("phone".to_string(), "invalid_phone".to_string())]
    );
    let res = app.post("/api/dnc", &owner, json!({"phone": "12"})).await;
    let res = body(res).await;
    assert_eq!(res["fields"][0]["field"], "phone");
    assert!(!res["fields"][0]["message"].as_str().unwrap().is_empty());
    let res = app
        .post(
            "/api/dnc",
            &owner,
            json!({"phone": "0612345679", "region": "XX", "reason": "r".repeat(501)}),
        )
        .await;
    assert_eq!(
        fields(res).await,
        [
            ("region".to_string(), "invalid_region".to_string()),
            ("reason".to_string(), "too_long".to_string())
        ]
    );
    let res = app
        .post("/api/dnc", &owner, json!({"number": "0612345679"}))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Lists and filters; the phone filter is normalised too.
    let list = body(app.get("/api/dnc", &owner).await).await;
    assert_eq!(list["total"], 2);
    let list = body(app.get("/api/dnc?phone=0612345678", &owner).await).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], id);
    let list = body(
        app.get("/api/dnc?phone=%2B33612345678&source=internal", &owner)
            .await,
    )
    .await;
    assert_eq!(list["total"], 1);
    let list = body(app.get("/api/dnc?source=bloctel", &owner).await).await;
    assert_eq!(list["total"], 0);
    let res = app.get("/api/dnc?source=robinson", &owner).await;
    assert_eq!(
        fields(res).await,
        [("source".to_string(), "invalid_source".to_string())]
    );
    let res = app.get("/api/dnc?phone=abc", &owner).await;
    assert_eq!(
        fields(res).await,
        [("phone".to_string(), "invalid_phone".to_string())]
    );
    let one = body(app.get(&format!("/api/dnc/{id}"), &owner).await).await;
    assert_eq!(one["phone"], "+33612345678");

    assert_eq!(
        app.delete(&format!("/api/dnc/{id}"), &owner).await.status(),
        StatusCode::NO_CONTENT
    );
    let res = app.delete(&format!("/api/dnc/{id}"), &owner).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(res).await["code"], "dnc_number_not_found");
    // Listed again after its removal.
    created(
        app.post("/api/dnc", &owner, json!({"phone": "0612345678"}))
            .await,
    )
    .await;

    assert_eq!(
        actions(&app, &admin).await,
        ["dnc.create", "dnc.create", "dnc.create", "dnc.delete"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_report_each_line() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (cc, owner) = center_with_owner(&app, &admin, "Acme").await;
    created(
        app.post("/api/dnc", &owner, json!({"phone": "0612345678"}))
            .await,
    )
    .await;

    let file = [
        "telephone;motif",           // 1: header
        "06 12 34 56 78;already",    // 2: listed by hand above
        "\"+33 6 98 76 54 32\";new", // 3
        "",                          // 4: blank
        "  ",                        // 5: blank
        "not a number",              // 6: invalid
        "0698765432",                // 7: repeated in the file
        "07 51 22 33 44\r",          // 8: CRLF
        "12",                        // 9: invalid
        "+33 1 23 45 67 89",         // 10
    ]
    .join("\n");
    let report = imported(&app, &owner, "", file.clone()).await;
    assert_eq!(report["added"], 3, "{report}");
    assert_eq!(report["already_listed"], 2, "{report}");
    assert_eq!(report["invalid"], 2, "{report}");
    assert_eq!(report["errors_truncated"], false);
    let lines: Vec<i64> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, [6, 9]);
    assert!(!report["errors"][0]["reason"].as_str().unwrap().is_empty());

    let list = body(app.get("/api/dnc?per_page=10", &owner).await).await;
    assert_eq!(list["total"], 4);
    let mut phones: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["phone"].as_str().unwrap())
        .collect();
    phones.sort_unstable();
    assert_eq!(
        phones,
        [
            "+33123456789",
            "+33612345678",
            "+33698765432",
            "+33751223344"
        ]
    );

    // The same file again adds nothing.
    let again = imported(&app, &owner, "", file).await;
    assert_eq!(again["added"], 0);
    assert_eq!(again["already_listed"], 5);
    assert_eq!(again["invalid"], 2);

    // A large Bloctel file: several batches, and the error list capped.
    let mut big: Vec<String> = (0..2_500).map(|i| format!("061{i:07}")).collect();
    big.extend((0..1_005).map(|i| format!("bad-{i}")));
    big.push("0612345678".into());
    let report = imported(
        &app,
        &owner,
        &format!("?source=bloctel&region=FR&call_center_id={cc}"),
        big.join("\r\n"),
    )
    .await;
    assert_eq!(report["added"], 2_500);
    assert_eq!(report["already_listed"], 1);
    assert_eq!(report["invalid"], 1_005);
    assert_eq!(report["errors"].as_array().unwrap().len(), 1_000);
    assert_eq!(report["errors_truncated"], true);
    assert_eq!(report["errors"][0]["line"], 2_501);
    let bloctel = body(app.get("/api/dnc?source=bloctel", &owner).await).await;
    assert_eq!(bloctel["total"], 2_500);

    // Audit: one row per import, with the counts and never the numbers.
    let audit = body(app.get("/api/audit?action=dnc.import", &admin).await).await;
    assert_eq!(audit["total"], 3);
    let last = &audit["items"][0];
    assert_eq!(last["call_center_id"], cc);
    assert_eq!(last["after"]["source"], "bloctel");
    assert_eq!(last["after"]["added"], 2_500);
    assert_eq!(last["after"]["already_listed"], 1);
    assert_eq!(last["after"]["invalid"], 1_005);
    assert!(!audit.to_string().contains("+336"));

    // Bad requests.
    let res = import(&app, &owner, "", "application/json", "0612345678".into()).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body(res).await["code"], "unsupported_media_type");
    let res = import(
        &app,
        &owner,
        "?source=robinson&region=ZZ",
        "text/plain",
        "0612345678".into(),
    )
    .await;
    assert_eq!(
        fields(res).await,
        [
            ("source".to_string(), "invalid_source".to_string()),
            ("region".to_string(), "invalid_region".to_string())
        ]
    );
    let res = import(&app, &admin, "", "text/plain", "0612345678".into()).await;
    assert_eq!(
        fields(res).await,
        [("call_center_id".to_string(), "required".to_string())]
    );
    let empty = imported(&app, &owner, "", String::new()).await;
    assert_eq!(empty["added"], 0);
    assert_eq!(empty["invalid"], 0);
    let res = app.get("/api/dnc/import", &owner).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_follows_tenants_and_roles() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (a, owner_a) = center_with_owner(&app, &admin, "Alpha").await;
    let (b, owner_b) = center_with_owner(&app, &admin, "Bravo").await;
    app.user(&admin, "sup@alpha.test", "supervisor", Some(a))
        .await;
    app.user(&admin, "agent@alpha.test", "agent", Some(a)).await;
    let sup = app.login("sup@alpha.test", USER_PASSWORD).await;
    let agent = app.login("agent@alpha.test", USER_PASSWORD).await;

    // Supervisors add numbers and import, but do not remove numbers.
    let entry = created(
        app.post("/api/dnc", &sup, json!({"phone": "0612345678"}))
            .await,
    )
    .await;
    assert_eq!(entry["call_center_id"], a);
    let id = entry["id"].as_i64().unwrap();
    assert_eq!(body(app.get("/api/dnc", &sup).await).await["total"], 1);
    let report = imported(&app, &sup, "", "0698765432\n".into()).await;
    assert_eq!(report["added"], 1);
    let res = app.delete(&format!("/api/dnc/{id}"), &sup).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(res).await["code"], "forbidden");

    // Agents have no access.
    assert_eq!(
        app.get("/api/dnc", &agent).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("/api/dnc/{id}"), &agent).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post("/api/dnc", &agent, json!({"phone": "0611111111"}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        import(&app, &agent, "", "text/plain", "0611111111".into())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // Another tenant sees nothing of it, and has its own list.
    assert_eq!(
        app.get(&format!("/api/dnc/{id}"), &owner_b).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&format!("/api/dnc/{id}"), &owner_b)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(body(app.get("/api/dnc", &owner_b).await).await["total"], 0);
    assert_eq!(
        body(
            app.get(&format!("/api/dnc?call_center_id={a}"), &owner_b)
                .await
        )
        .await["total"],
        0
    );
    let own = created(
        app.post("/api/dnc", &owner_b, json!({"phone": "0612345678"}))
            .await,
    )
    .await;
    assert_eq!(own["call_center_id"], b);
    let res = app
        .post(
            "/api/dnc",
            &owner_b,
            json!({"call_center_id": a, "phone": "0622222222"}),
        )
        .await;
    assert_eq!(
        fields(res).await,
        [("call_center_id".to_string(), "not_found".to_string())]
    );
    let res = import(
        &app,
        &owner_b,
        &format!("?call_center_id={a}"),
        "text/plain",
        "0622222222".into(),
    )
    .await;
    assert_eq!(
        fields(res).await,
        [("call_center_id".to_string(), "not_found".to_string())]
    );
    assert_eq!(body(app.get("/api/dnc", &admin).await).await["total"], 3);

    // The owner removes it.
    assert_eq!(
        app.delete(&format!("/api/dnc/{id}"), &owner_a)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_checks_and_adds_numbers_for_other_code() {
    use callpro_api::models::dnc::Dnc;
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (a, owner) = center_with_owner(&app, &admin, "Alpha").await;
    let (b, _) = center_with_owner(&app, &admin, "Bravo").await;
    created(
        app.post("/api/dnc", &owner, json!({"phone": "0612345678"}))
            .await,
    )
    .await;
    let (added, again, listed, other, many) = app
        .state
        .db
        .run(move |conn| {
            let added = Dnc::add_internal(conn, a, "+33698765432", Some("qualified do_not_call"))?;
            let again = Dnc::add_internal(conn, a, "+33698765432", None)?;
            let mut phones: Vec<String> = (0..2_100).map(|i| format!("+3361{i:07}")).collect();
            phones.push("+33612345678".into());
            phones.push("+33698765432".into());
            let listed = Dnc::listed(conn, a, &phones)?;
            let other = Dnc::listed(conn, b, &phones)?;
            let many = Dnc::add_many(conn, b, "internal", None, &phones[..1_500])?;
            Ok((added, again, listed, other, many))
        })
        .await
        .unwrap();
    assert!(added);
    assert!(!again);
    assert_eq!(listed.len(), 2);
    assert!(listed.contains("+33612345678") && listed.contains("+33698765432"));
    assert!(other.is_empty());
    assert_eq!(many.added, 1_500);
    assert_eq!(many.already_listed, 0);
    let list = body(app.get("/api/dnc?phone=0698765432", &owner).await).await;
    assert_eq!(list["items"][0]["reason"], "qualified do_not_call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_the_list() {
    let app = TestApp::spawn().await;
    let doc = body(
        app.request(Method::GET, "/api/openapi.json", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    for path in ["/api/dnc", "/api/dnc/{id}", "/api/dnc/import"] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    let import = &doc["paths"]["/api/dnc/import"]["post"];
    assert!(
        import["requestBody"]["content"].get("text/plain").is_some(),
        "{import}"
    );
    assert!(doc["components"]["schemas"].get("ImportReport").is_some());
}
