//! Qualification groups and qualifications: CRUD, validation rules, conflicts, a group in use
//! by a campaign, tenancy, roles and the audit trail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{TestApp, USER_PASSWORD, body};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The `field` of every field error of a 422.
async fn fields(res: reqwest::Response) -> Vec<(String, String)> {
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

async fn created(res: reqwest::Response) -> Value {
    let status = res.status();
    let value = body(res).await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    value
}

/// A call center with an owner; returns (center, owner token).
async fn center_with_owner(app: &TestApp, admin: &str, name: &str) -> (i64, String) {
    let cc = app.call_center(admin, name).await;
    let email = format!("owner@{}.test", name.to_lowercase());
    app.user(admin, &email, "owner", Some(cc)).await;
    (cc, app.login(&email, USER_PASSWORD).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_qualifications_round_trip() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (cc, owner) = center_with_owner(&app, &admin, "Acme").await;

    let group = created(
        app.post(
            "/api/qualification-groups",
            &owner,
            json!({"name": "  Sales  "}),
        )
        .await,
    )
    .await;
    assert_eq!(group["call_center_id"], cc);
    assert_eq!(group["name"], "Sales");
    let gid = group["id"].as_i64().unwrap();

    let sale = created(
        app.post(
            "/api/qualifications",
            &owner,
            json!({"group_id": gid, "code": "SALE", "label": "Sale", "kind": "positive"}),
        )
        .await,
    )
    .await;
    assert_eq!(sale["call_center_id"], cc);
    assert_eq!(sale["is_final"], true, "positive defaults to final");
    assert_eq!(sale["retry_delay_secs"], Value::Null);
    let callback = created(
        app.post(
            "/api/qualifications",
            &owner,
            json!({"group_id": gid, "code": "CB", "label": "Call back", "kind": "callback",
                   "retry_delay_secs": 3600}),
        )
        .await,
    )
    .await;
    assert_eq!(
        callback["is_final"], false,
        "callback defaults to not final"
    );
    assert_eq!(callback["retry_delay_secs"], 3600);
    let nrp = created(
        app.post(
            "/api/qualifications",
            &owner,
            json!({"group_id": gid, "code": "no-answer_2", "label": "Not reached",
                   "kind": "neutral", "is_final": false, "max_attempts": 5}),
        )
        .await,
    )
    .await;
    let nrp_id = nrp["id"].as_i64().unwrap();

    let detail = body(
        app.get(&format!("/api/qualification-groups/{gid}"), &owner)
            .await,
    )
    .await;
    assert_eq!(detail["name"], "Sales");
    let codes: Vec<&str> = detail["qualifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["SALE", "CB", "no-answer_2"]);

    let list = body(app.get("/api/qualification-groups", &owner).await).await;
    assert_eq!(list["total"], 1);
    assert!(list["items"][0].get("qualifications").is_none());
    let list = body(
        app.get(&format!("/api/qualifications?group_id={gid}"), &owner)
            .await,
    )
    .await;
    assert_eq!(list["total"], 3);
    let list = body(app.get("/api/qualifications?kind=callback", &owner).await).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["code"], "CB");
    let list = body(
        app.get(&format!("/api/qualifications?call_center_id={cc}"), &owner)
            .await,
    )
    .await;
    assert_eq!(list["total"], 3);

    // PATCH: everything but the group; nullable retry settings.
    let patched = body(
        app.patch(
            &format!("/api/qualifications/{nrp_id}"),
            &owner,
            json!({"code": "NRP", "label": " Not reached ", "max_attempts": null,
                   "retry_delay_secs": 600}),
        )
        .await,
    )
    .await;
    assert_eq!(patched["code"], "NRP");
    assert_eq!(patched["label"], "Not reached");
    assert_eq!(patched["max_attempts"], Value::Null);
    assert_eq!(patched["retry_delay_secs"], 600);
    assert_eq!(
        body(
            app.get(&format!("/api/qualifications/{nrp_id}"), &owner)
                .await
        )
        .await["code"],
        "NRP"
    );
    let res = app
        .patch(
            &format!("/api/qualifications/{nrp_id}"),
            &owner,
            json!({"group_id": gid}),
        )
        .await;
    let got = fields(res).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, "unknown_field", "the group never changes");

    // Conflicts: a code is unique in its group, a group name in its center.
    let res = app
        .post(
            "/api/qualifications",
            &owner,
            json!({"group_id": gid, "code": "SALE", "label": "Again", "kind": "positive"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(body(res).await["code"], "code_taken");
    let res = app
        .patch(
            &format!("/api/qualifications/{nrp_id}"),
            &owner,
            json!({"code": "SALE"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(body(res).await["code"], "code_taken");
    let res = app
        .post(
            "/api/qualification-groups",
            &owner,
            json!({"name": "Sales"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(body(res).await["code"], "name_taken");
    let other = created(
        app.post(
            "/api/qualification-groups",
            &owner,
            json!({"name": "Surveys"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    created(
        app.post(
            "/api/qualifications",
            &owner,
            json!({"group_id": other, "code": "SALE", "label": "Sale", "kind": "positive"}),
        )
        .await,
    )
    .await;
    let res = app
        .patch(
            &format!("/api/qualification-groups/{other}"),
            &owner,
            json!({"name": "Sales"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let renamed = body(
        app.patch(
            &format!("/api/qualification-groups/{other}"),
            &owner,
            json!({"name": "Polls"}),
        )
        .await,
    )
    .await;
    assert_eq!(renamed["name"], "Polls");

    // Deletes: a qualification, then a group with its remaining qualifications.
    assert_eq!(
        app.delete(&format!("/api/qualifications/{nrp_id}"), &owner)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/api/qualifications/{nrp_id}"), &owner)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&format!("/api/qualification-groups/{gid}"), &owner)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let res = app
        .get(&format!("/api/qualification-groups/{gid}"), &owner)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(res).await["code"], "qualification_group_not_found");
    let list = body(app.get("/api/qualifications", &owner).await).await;
    assert_eq!(
        list["total"], 1,
        "only the other group's qualification is left"
    );

    // Every write left one audit row.
    let audit = body(app.get("/api/audit?per_page=200", &admin).await).await;
    let mut actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("qualification"))
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "qualification.create",
            "qualification.create",
            "qualification.create",
            "qualification.create",
            "qualification.delete",
            "qualification.update",
            "qualification_group.create",
            "qualification_group.create",
            "qualification_group.delete",
            "qualification_group.update",
        ]
    );
    let deleted = body(
        app.get("/api/audit?action=qualification_group.delete", &admin)
            .await,
    )
    .await;
    let before = &deleted["items"][0]["before"];
    assert_eq!(before["name"], "Sales");
    assert_eq!(before["qualifications"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_qualifications_are_422_naming_the_fields() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, owner) = center_with_owner(&app, &admin, "Acme").await;
    let (_, other_owner) = center_with_owner(&app, &admin, "Other").await;
    let gid = created(
        app.post("/api/qualification-groups", &owner, json!({"name": "G"}))
            .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let foreign = created(
        app.post(
            "/api/qualification-groups",
            &other_owner,
            json!({"name": "G"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();

    let res = app
        .post(
            "/api/qualifications",
            &owner,
            json!({"group_id": gid, "code": "bad code!", "label": " ", "kind": "maybe",
                   "retry_delay_secs": -1, "max_attempts": 0}),
        )
        .await;
    let got = fields(res).await;
    let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        names,
        ["code", "label", "kind", "retry_delay_secs", "max_attempts"]
    );
    assert_eq!(got[2].1, "invalid_kind");
    let res = app
        .post(
            "/api/qualifications",
            &owner,
            json!({"group_id": gid, "code": "X".repeat(33), "label": "L".repeat(101),
                   "kind": "neutral", "retry_delay_secs": 2_592_001, "max_attempts": 51}),
        )
        .await;
    let names: Vec<String> = fields(res).await.into_iter().map(|(f, _)| f).collect();
    assert_eq!(names, ["code", "label", "retry_delay_secs", "max_attempts"]);
    // The extremes are fine.
    created(
        app.post(
            "/api/qualifications",
            &owner,
            json!({"group_id": gid, "code": "X".repeat(32), "label": "L".repeat(100),
                   "kind": "neutral", "retry_delay_secs": 2_592_000, "max_attempts": 50}),
        )
        .await,
    )
    .await;

    // Finality rules.
    let res = app
        .post(
            "/api/qualifications",
            &owner,
            json!({"group_id": gid, "code": "CB", "label": "Callback", "kind": "callback",
                   "is_final": true}),
        )
        .await;
    assert_eq!(
        fields(res).await,
        [("is_final".to_string(), "must_not_be_final".to_string())]
    );
    for kind in ["do_not_call", "wrong_number"] {
        let res = app
            .post(
                "/api/qualifications",
                &owner,
                json!({"group_id": gid, "code": "K", "label": "K", "kind": kind,
                       "is_final": false}),
            )
            .await;
        assert_eq!(
            fields(res).await,
            [("is_final".to_string(), "must_be_final".to_string())]
        );
    }
    let dnc = created(
        app.post(
            "/api/qualifications",
            &owner,
            json!({"group_id": gid, "code": "DNC", "label": "Never again", "kind": "do_not_call"}),
        )
        .await,
    )
    .await;
    assert_eq!(dnc["is_final"], true);
    // The rules hold for the result of a change.
    let neutral = created(
        app.post(
            "/api/qualifications",
            &owner,
            json!({"group_id": gid, "code": "N", "label": "Neutral", "kind": "neutral"}),
        )
        .await,
    )
    .await;
    assert_eq!(neutral["is_final"], false);
    let nid = neutral["id"].as_i64().unwrap();
    let res = app
        .patch(
            &format!("/api/qualifications/{nid}"),
            &owner,
            json!({"kind": "wrong_number"}),
        )
        .await;
    assert_eq!(
        fields(res).await,
        [("is_final".to_string(), "must_be_final".to_string())]
    );
    let ok = body(
        app.patch(
            &format!("/api/qualifications/{nid}"),
            &owner,
            json!({"kind": "wrong_number", "is_final": true}),
        )
        .await,
    )
    .await;
    assert_eq!(ok["kind"], "wrong_number");
    let res = app
        .patch(
            &format!("/api/qualifications/{nid}"),
            &owner,
            json!({"kind": "callback"}),
        )
        .await;
    assert_eq!(
        fields(res).await,
        [("is_final".to_string(), "must_not_be_final".to_string())]
    );
    let res = app
        .patch(
            &format!("/api/qualifications/{nid}"),
            &owner,
            json!({"kind": "sometimes", "code": "", "retry_delay_secs": -5}),
        )
        .await;
    let names: Vec<String> = fields(res).await.into_iter().map(|(f, _)| f).collect();
    assert_eq!(names, ["code", "kind", "retry_delay_secs"]);

    // The group must be the caller's.
    for group in [foreign, 999_999] {
        let res = app
            .post(
                "/api/qualifications",
                &owner,
                json!({"group_id": group, "code": "A", "label": "A", "kind": "positive"}),
            )
            .await;
        assert_eq!(
            fields(res).await,
            [("group_id".to_string(), "not_found".to_string())]
        );
    }
    // Wrong shapes and bad filters.
    let res = app
        .post(
            "/api/qualifications",
            &owner,
            json!({"group_id": gid, "code": "A", "label": "A"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err = body(res).await;
    assert_eq!(err["fields"][0]["code"], "required");
    assert!(
        err["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("kind")
    );
    let res = app
        .post("/api/qualification-groups", &owner, json!({"name": ""}))
        .await;
    assert_eq!(
        fields(res).await,
        [("name".to_string(), "required".to_string())]
    );
    let res = app
        .post(
            "/api/qualification-groups",
            &owner,
            json!({"name": "N".repeat(101)}),
        )
        .await;
    assert_eq!(
        fields(res).await,
        [("name".to_string(), "too_long".to_string())]
    );
    let res = app.get("/api/qualifications?kind=bogus", &owner).await;
    assert_eq!(
        fields(res).await,
        [("kind".to_string(), "invalid_kind".to_string())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_used_by_a_campaign_cannot_be_deleted() {
    use diesel::{ExpressionMethods as _, RunQueryDsl as _};
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (cc, owner) = center_with_owner(&app, &admin, "Acme").await;
    let gid = created(
        app.post("/api/qualification-groups", &owner, json!({"name": "G"}))
            .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    created(
        app.post(
            "/api/qualifications",
            &owner,
            json!({"group_id": gid, "code": "SALE", "label": "Sale", "kind": "positive"}),
        )
        .await,
    )
    .await;
    app.state
        .db
        .run(move |conn| {
            use callpro_api::db::schema::campaigns::dsl as c;
            let now = callpro_api::db::now();
            diesel::insert_into(c::campaigns)
                .values((
                    c::call_center_id.eq(cc),
                    c::name.eq("Spring"),
                    c::mode.eq("progressive"),
                    c::status.eq("draft"),
                    c::qualification_group_id.eq(Some(gid)),
                    c::settings.eq("{}"),
                    c::created_at.eq(now),
                    c::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let audit_before = app.audit_count().await;
    let res = app
        .delete(&format!("/api/qualification-groups/{gid}"), &owner)
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let err = body(res).await;
    assert_eq!(err["code"], "in_use");
    assert!(err["message"].as_str().unwrap().contains("campaign"));
    // Nothing was deleted, nothing audited.
    let detail = body(
        app.get(&format!("/api/qualification-groups/{gid}"), &owner)
            .await,
    )
    .await;
    assert_eq!(detail["qualifications"].as_array().unwrap().len(), 1);
    assert_eq!(app.audit_count().await, audit_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qualifications_follow_tenants_and_roles() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (a, owner_a) = center_with_owner(&app, &admin, "Alpha").await;
    let (b, owner_b) = center_with_owner(&app, &admin, "Bravo").await;
    app.user(&admin, "sup@alpha.test", "supervisor", Some(a))
        .await;
    app.user(&admin, "agent@alpha.test", "agent", Some(a)).await;
    let sup = app.login("sup@alpha.test", USER_PASSWORD).await;
    let agent = app.login("agent@alpha.test", USER_PASSWORD).await;

    let ga = created(
        app.post("/api/qualification-groups", &owner_a, json!({"name": "A"}))
            .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    created(
        app.post(
            "/api/qualifications",
            &owner_a,
            json!({"group_id": ga, "code": "SALE", "label": "Sale", "kind": "positive"}),
        )
        .await,
    )
    .await;
    let gb = created(
        app.post("/api/qualification-groups", &owner_b, json!({"name": "B"}))
            .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let qb = created(
        app.post(
            "/api/qualifications",
            &owner_b,
            json!({"group_id": gb, "code": "SALE", "label": "Sale", "kind": "positive"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();

    // Another tenant's objects are 404 on reads, changes and deletes; lists leave them out.
    for path in [
        format!("/api/qualification-groups/{gb}"),
        format!("/api/qualifications/{qb}"),
    ] {
        let res = app.get(&path, &owner_a).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "GET {path}");
        let res = app.delete(&path, &owner_a).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "DELETE {path}");
    }
    let res = app
        .patch(
            &format!("/api/qualification-groups/{gb}"),
            &owner_a,
            json!({"name": "mine"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .patch(
            &format!("/api/qualifications/{qb}"),
            &owner_a,
            json!({"label": "mine"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let groups = body(app.get("/api/qualification-groups", &owner_a).await).await;
    assert_eq!(groups["total"], 1);
    assert_eq!(groups["items"][0]["id"], ga);
    let asked_b = body(
        app.get(&format!("/api/qualifications?call_center_id={b}"), &owner_a)
            .await,
    )
    .await;
    assert_eq!(asked_b["total"], 0);
    let asked_b = body(
        app.get(
            &format!("/api/qualification-groups?call_center_id={b}"),
            &owner_a,
        )
        .await,
    )
    .await;
    assert_eq!(asked_b["total"], 0);
    let by_group = body(
        app.get(&format!("/api/qualifications?group_id={gb}"), &owner_a)
            .await,
    )
    .await;
    assert_eq!(by_group["total"], 0);
    // A super admin sees both centers and picks one when creating.
    let all = body(app.get("/api/qualifications", &admin).await).await;
    assert_eq!(all["total"], 2);
    let res = app
        .post("/api/qualification-groups", &admin, json!({"name": "Root"}))
        .await;
    assert_eq!(
        fields(res).await,
        [("call_center_id".to_string(), "required".to_string())]
    );
    let res = app
        .post(
            "/api/qualification-groups",
            &owner_a,
            json!({"call_center_id": b, "name": "Sneaky"}),
        )
        .await;
    assert_eq!(
        fields(res).await,
        [("call_center_id".to_string(), "not_found".to_string())]
    );

    // Agents and supervisors read; only owners write.
    let list = app.get("/api/qualifications", &agent).await;
    assert_eq!(list.status(), StatusCode::OK);
    assert_eq!(body(list).await["total"], 1);
    assert_eq!(
        app.get(&format!("/api/qualification-groups/{ga}"), &agent)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/qualification-groups", &sup).await.status(),
        StatusCode::OK
    );
    for token in [&agent, &sup] {
        let res = app
            .post(
                "/api/qualifications",
                token,
                json!({"group_id": ga, "code": "NEW", "label": "New", "kind": "neutral"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(body(res).await["code"], "forbidden");
        let res = app
            .post("/api/qualification-groups", token, json!({"name": "Mine"}))
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let res = app
            .delete(&format!("/api/qualification-groups/{ga}"), token)
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    let res = app
        .request(reqwest::Method::GET, "/api/qualifications", None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_qualifications() {
    let app = TestApp::spawn().await;
    let doc = body(
        app.request(reqwest::Method::GET, "/api/openapi.json", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    for path in [
        "/api/qualification-groups",
        "/api/qualification-groups/{id}",
        "/api/qualifications",
        "/api/qualifications/{id}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    let kinds = &doc["components"]["schemas"]["QualificationKind"]["enum"];
    assert_eq!(kinds.as_array().unwrap().len(), 6, "{kinds}");
    assert!(
        doc["components"]["schemas"]
            .get("QualificationGroupDetail")
            .is_some()
    );
}
