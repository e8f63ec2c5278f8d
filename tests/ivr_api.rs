//! The IVR's REST side: prompts, flows validated against what their call center holds,
//! publication into immutable versions, DIDs, tenancy, and the session records.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use callpro_api::models::ivr_session::{IvrSession, NewIvrSession};
use chrono::{NaiveDate, NaiveDateTime};
use common::{TestApp, USER_PASSWORD, body};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Setup {
    app: TestApp,
    admin: String,
    cc: i64,
    group: i64,
    agent: i64,
}

const PROMPTS: [&str; 4] = [
    "callpro/main-menu",
    "callpro/enter-account",
    "callpro/closed",
    "callpro/invalid",
];

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    for name in PROMPTS {
        let res = app
            .post(
                "/api/prompts",
                &admin,
                json!({"call_center_id": cc, "name": name}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{}", body(res).await);
    }
    let group = id(app
        .post(
            "/api/groups",
            &admin,
            json!({"call_center_id": cc, "name": "Sales"}),
        )
        .await)
    .await;
    let res = app
        .post(
            "/api/trunks",
            &admin,
            json!({"call_center_id": cc, "name": "yeastar-paris", "host": "192.0.2.10"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let agent = app.user(&admin, "ann@acme.test", "agent", Some(cc)).await;
    Setup {
        app,
        admin,
        cc,
        group,
        agent,
    }
}

/// The `id` of a 201 response.
async fn id(res: reqwest::Response) -> i64 {
    let status = res.status();
    let value = body(res).await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    value["id"].as_i64().unwrap()
}

/// A flow using most node types: calendar, menu, collect, HTTP lookup, condition, transfers to
/// an agent and to a number, queue, voicemail, playback.
fn full_flow(group: i64, agent: i64) -> Value {
    json!({"start": "answer", "nodes": [
        {"id": "answer", "type": "answer", "exits": {"next": "hours"}},
        {"id": "hours", "type": "calendar",
         "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "18:00"}],
         "holidays": [{"from": "2026-12-25", "name": "Christmas"}],
         "exits": {"open": "menu", "closed": "closed"}},
        {"id": "menu", "type": "menu", "prompt": "callpro/main-menu",
         "invalid_prompt": "callpro/invalid",
         "exits": {"1": "sales", "2": "account", "0": "operator", "invalid": "menu", "timeout": "vm"}},
        {"id": "account", "type": "collect", "prompt": "callpro/enter-account",
         "variable": "ACCOUNT", "max_digits": 8,
         "exits": {"next": "lookup", "invalid": "sales", "timeout": "sales"}},
        {"id": "lookup", "type": "http_lookup", "url": "https://crm.example/accounts/${ACCOUNT}",
         "set": {"TIER": "/tier"}, "exits": {"ok": "tier", "failure": "sales"}},
        {"id": "tier", "type": "condition", "subject": "${TIER}",
         "cases": [{"exit": "gold", "op": "equals", "values": ["gold"]}],
         "exits": {"gold": "operator", "default": "sales"}},
        {"id": "operator", "type": "transfer", "target": {"agent": agent},
         "exits": {"answered": null, "busy": "sales", "no_answer": "sales", "failed": "sales"}},
        {"id": "sales", "type": "queue", "group_id": group, "max_wait_secs": 120,
         "exits": {"answered": null, "timeout": "vm", "full": "vm", "unavailable": "vm", "failed": "vm"}},
        {"id": "vm", "type": "voicemail", "mailbox": "100@callpro", "exits": {"next": "bye"}},
        {"id": "closed", "type": "playback", "prompts": ["callpro/closed"], "exits": {"next": "outside"}},
        {"id": "outside", "type": "transfer",
         "target": {"number": {"number": "+33612345678", "trunk": "yeastar-paris"}},
         "exits": {"answered": null, "busy": "bye", "no_answer": "bye", "failed": "bye"}},
        {"id": "bye", "type": "hangup"}
    ]})
}

/// A flow that only hangs up (plays `prompt` first when given).
fn small_flow(prompt: Option<&str>) -> Value {
    match prompt {
        Some(p) => json!({"start": "p", "nodes": [
            {"id": "p", "type": "playback", "prompts": [p], "exits": {"next": "h"}},
            {"id": "h", "type": "hangup"}
        ]}),
        None => json!({"start": "h", "nodes": [{"id": "h", "type": "hangup"}]}),
    }
}

async fn create_flow(s: &Setup, name: &str, definition: Value) -> i64 {
    id(s.app
        .post(
            "/api/ivr-flows",
            &s.admin,
            json!({"call_center_id": s.cc, "name": name, "definition": definition}),
        )
        .await)
    .await
}

/// (field, code) of every field error of a 422.
async fn problems(res: reqwest::Response) -> Vec<(String, String)> {
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let value = body(res).await;
    assert_eq!(value["code"], "validation_failed", "{value}");
    let mut fields: Vec<(String, String)> = value["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    fields.sort();
    fields
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = expected
        .iter()
        .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_and_flows_round_trip() {
    let s = setup().await;
    let (app, admin) = (&s.app, &s.admin);

    // Prompts: language defaults to en, names are sound file names, unique per language.
    let prompts = body(app.get("/api/prompts?q=MENU", admin).await).await;
    assert_eq!(prompts["total"], 1);
    assert_eq!(prompts["items"][0]["name"], "callpro/main-menu");
    assert_eq!(prompts["items"][0]["language"], "en");
    let res = app
        .post(
            "/api/prompts",
            admin,
            json!({"call_center_id": s.cc, "name": "callpro/main-menu", "language": "fr",
                   "description": "Menu principal"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .post(
            "/api/prompts",
            admin,
            json!({"call_center_id": s.cc, "name": "callpro/main-menu"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(body(res).await["code"], "prompt_taken");
    let res = app
        .post(
            "/api/prompts",
            admin,
            json!({"call_center_id": s.cc, "name": "../etc/passwd", "language": "e"}),
        )
        .await;
    assert_eq!(
        problems(res).await,
        pairs(&[("language", "invalid_language"), ("name", "invalid_name")])
    );
    let fr = body(app.get("/api/prompts?language=fr", admin).await).await;
    assert_eq!(fr["total"], 1);

    // A flow with every kind of node is stored in canonical form, defaults filled in.
    let res = app
        .post(
            "/api/ivr-flows",
            admin,
            json!({"call_center_id": s.cc, "name": "Main line", "description": "Front door",
                   "definition": full_flow(s.group, s.agent)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let flow = body(res).await;
    let flow_id = flow["id"].as_i64().unwrap();
    assert_eq!(flow["call_center_id"], s.cc);
    assert_eq!(flow["name"], "Main line");
    assert_eq!(flow["description"], "Front door");
    assert_eq!(flow["published_version"], Value::Null);
    let definition = &flow["definition"];
    assert_eq!(definition["format"], 1);
    assert_eq!(definition["start"], "answer");
    assert_eq!(definition["nodes"].as_array().unwrap().len(), 12);
    let menu = &definition["nodes"][2];
    assert_eq!(menu["type"], "menu");
    assert_eq!(menu["timeout_ms"], 5000);
    assert_eq!(menu["max_retries"], 2);
    assert_eq!(definition["nodes"][4]["method"], "GET");
    assert_eq!(definition["nodes"][7]["group_id"], s.group);
    assert!(flow["created_at"].is_string() && flow["updated_at"].is_string());

    let read = body(app.get(&format!("/api/ivr-flows/{flow_id}"), admin).await).await;
    assert_eq!(read, flow);
    // Lists leave definitions out.
    let list = body(app.get("/api/ivr-flows?q=main", admin).await).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], flow_id);
    assert!(list["items"][0].get("definition").is_none());

    // Names are unique per center.
    let res = app
        .post(
            "/api/ivr-flows",
            admin,
            json!({"call_center_id": s.cc, "name": "Main line", "definition": small_flow(None)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(body(res).await["code"], "name_taken");

    // Renaming keeps the draft.
    let res = app
        .patch(
            &format!("/api/ivr-flows/{flow_id}"),
            admin,
            json!({"name": "Front", "description": null}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let renamed = body(res).await;
    assert_eq!(renamed["name"], "Front");
    assert_eq!(renamed["description"], Value::Null);
    assert_eq!(renamed["definition"], flow["definition"]);

    // Every write is audited.
    let audit = body(app.get("/api/audit?entity=ivr_flow", admin).await).await;
    assert_eq!(audit["total"], 2);
    let audit = body(app.get("/api/audit?entity=prompt", admin).await).await;
    assert_eq!(audit["total"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_flows_are_rejected_with_every_problem() {
    let s = setup().await;
    let (app, admin) = (&s.app, &s.admin);
    let post = |definition: Value| {
        app.post(
            "/api/ivr-flows",
            admin,
            json!({"call_center_id": s.cc, "name": "Broken", "definition": definition}),
        )
    };

    // A dangling exit, unreachable nodes, a cycle no caller input breaks, an unknown prompt.
    let res = post(json!({"start": "a", "nodes": [
        {"id": "a", "type": "answer", "exits": {"next": "p"}},
        {"id": "p", "type": "playback", "prompts": ["callpro/closed"], "exits": {"next": "s"}},
        {"id": "s", "type": "set_variable", "variable": "X", "value": "1", "exits": {"next": "p"}},
        {"id": "lost", "type": "hangup"},
        {"id": "m", "type": "menu", "prompt": "callpro/nope",
         "exits": {"1": "ghost", "invalid": null, "timeout": null}}
    ]}))
    .await;
    assert_eq!(
        problems(res).await,
        pairs(&[
            ("definition.nodes[1].exits", "input_free_cycle"),
            ("definition.nodes[3]", "unreachable"),
            ("definition.nodes[4]", "unreachable"),
            ("definition.nodes[4].exits.1", "dangling_exit"),
            ("definition.nodes[4].prompt", "unknown_prompt"),
        ])
    );

    // References are checked against this center: a missing exit, another center's group,
    // an unknown agent and trunk, a flow that is not published.
    let admin_other = app.call_center(admin, "Other").await;
    let foreign_group = id(app
        .post(
            "/api/groups",
            admin,
            json!({"call_center_id": admin_other, "name": "Theirs"}),
        )
        .await)
    .await;
    let draft = create_flow(&s, "Draft", small_flow(None)).await;
    let res = post(json!({"start": "q", "nodes": [
        {"id": "q", "type": "queue", "group_id": foreign_group,
         "exits": {"answered": null, "timeout": "t", "full": "t", "unavailable": "t"}},
        {"id": "t", "type": "transfer", "target": {"agent": 987654},
         "exits": {"answered": null, "busy": "n", "no_answer": "n", "failed": "n"}},
        {"id": "n", "type": "transfer", "target": {"number": {"number": "0612345678", "trunk": "nope"}},
         "exits": {"answered": null, "busy": "g", "no_answer": "g", "failed": "g"}},
        {"id": "g", "type": "goto_flow", "flow_id": draft}
    ]}))
    .await;
    assert_eq!(
        problems(res).await,
        pairs(&[
            ("definition.nodes[0].exits.failed", "missing_exit"),
            ("definition.nodes[0].group_id", "unknown_queue"),
            ("definition.nodes[1].target.agent", "unknown_agent"),
            ("definition.nodes[2].target.number.trunk", "unknown_trunk"),
            ("definition.nodes[3].flow_id", "unknown_flow"),
        ])
    );

    // Not a flow at all.
    let res = post(json!("hello")).await;
    assert_eq!(
        problems(res).await,
        pairs(&[("definition", "invalid_type")])
    );
    let res = post(json!({"start": "a", "nodes": [{"id": "a", "type": "teleport"}], "x": 1})).await;
    assert_eq!(
        problems(res).await,
        pairs(&[
            ("definition.nodes[0].type", "unknown_type"),
            ("definition.x", "unknown_field"),
        ])
    );

    // Once the other flow is published, jumping to it is fine; a flow never jumps to itself.
    let res = app
        .post(&format!("/api/ivr-flows/{draft}/publish"), admin, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let jumper = create_flow(
        &s,
        "Jumper",
        json!({"start": "g", "nodes": [{"id": "g", "type": "goto_flow", "flow_id": draft}]}),
    )
    .await;
    let res = app
        .patch(
            &format!("/api/ivr-flows/{draft}"),
            admin,
            json!({"definition": {"start": "g", "nodes": [{"id": "g", "type": "goto_flow", "flow_id": draft}]}}),
        )
        .await;
    assert_eq!(
        problems(res).await,
        pairs(&[("definition.nodes[0].flow_id", "self_goto")])
    );
    // Nothing was stored by the rejected requests.
    let list = body(app.get("/api/ivr-flows", admin).await).await;
    assert_eq!(list["total"], 2);
    let _ = jumper;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_writes_immutable_versions() {
    let s = setup().await;
    let (app, admin) = (&s.app, &s.admin);
    let flow = create_flow(&s, "Main", small_flow(Some("callpro/main-menu"))).await;
    let versions = body(
        app.get(&format!("/api/ivr-flows/{flow}/versions"), admin)
            .await,
    )
    .await;
    assert_eq!(versions["total"], 0);

    let res = app
        .post(&format!("/api/ivr-flows/{flow}/publish"), admin, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let v1 = body(res).await;
    assert_eq!(v1["flow_id"], flow);
    assert_eq!(v1["version"], 1);
    assert_eq!(
        v1["definition"]["nodes"][0]["prompts"][0],
        "callpro/main-menu"
    );
    assert!(v1["published_by"].is_i64());
    assert!(v1["published_at"].is_string());

    // Editing the draft leaves version 1 alone and keeps it the one calls walk.
    let res = app
        .patch(
            &format!("/api/ivr-flows/{flow}"),
            admin,
            json!({"definition": small_flow(Some("callpro/closed"))}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited = body(res).await;
    assert_eq!(edited["published_version"], 1);
    assert_eq!(
        edited["definition"]["nodes"][0]["prompts"][0],
        "callpro/closed"
    );
    let still = body(
        app.get(&format!("/api/ivr-flows/{flow}/versions/1"), admin)
            .await,
    )
    .await;
    assert_eq!(still, v1);

    let res = app
        .post(&format!("/api/ivr-flows/{flow}/publish"), admin, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(body(res).await["version"], 2);
    let current = body(app.get(&format!("/api/ivr-flows/{flow}"), admin).await).await;
    assert_eq!(current["published_version"], 2);
    let versions = body(
        app.get(&format!("/api/ivr-flows/{flow}/versions"), admin)
            .await,
    )
    .await;
    let numbers: Vec<i64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    assert!(versions["items"][0].get("definition").is_none());
    let v1_again = body(
        app.get(&format!("/api/ivr-flows/{flow}/versions/1"), admin)
            .await,
    )
    .await;
    assert_eq!(
        v1_again["definition"]["nodes"][0]["prompts"][0],
        "callpro/main-menu"
    );
    let res = app
        .get(&format!("/api/ivr-flows/{flow}/versions/3"), admin)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Publishing validates again: the agent the draft transfers to has left since it was saved.
    let draft = json!({"start": "t", "nodes": [
        {"id": "t", "type": "transfer", "target": {"agent": s.agent},
         "exits": {"answered": null, "busy": null, "no_answer": null, "failed": null}}
    ]});
    let res = app
        .patch(
            &format!("/api/ivr-flows/{flow}"),
            admin,
            json!({"definition": draft}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .patch(
            &format!("/api/users/{}", s.agent),
            admin,
            json!({"active": false}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .post(&format!("/api/ivr-flows/{flow}/publish"), admin, json!({}))
        .await;
    assert_eq!(
        problems(res).await,
        pairs(&[("definition.nodes[0].target.agent", "unknown_agent")])
    );
    let current = body(app.get(&format!("/api/ivr-flows/{flow}"), admin).await).await;
    assert_eq!(current["published_version"], 2);

    let audit = body(app.get("/api/audit?entity=ivr_flow", admin).await).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "ivr_flow.publish").count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dids_are_normalised_unique_and_routed_within_their_center() {
    let s = setup().await;
    let (app, admin) = (&s.app, &s.admin);
    let flow = create_flow(&s, "Main", small_flow(None)).await;
    let other = app.call_center(admin, "Other").await;
    let res = app
        .post(
            "/api/dids",
            admin,
            json!({"call_center_id": s.cc, "number": "+33 (1) 42-00.00.00", "flow_id": flow,
                   "description": "Switchboard"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let did = body(res).await;
    assert_eq!(did["number"], "+33142000000");
    assert_eq!(did["flow_id"], flow);
    assert_eq!(did["active"], true);
    let did_id = did["id"].as_i64().unwrap();

    // The number is taken, whatever the center.
    let res = app
        .post(
            "/api/dids",
            admin,
            json!({"call_center_id": other, "number": "+33142000000"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(body(res).await["code"], "did_taken");
    // Not a number; another center's flow.
    let res = app
        .post(
            "/api/dids",
            admin,
            json!({"call_center_id": other, "number": "01 42 ab"}),
        )
        .await;
    assert_eq!(problems(res).await, pairs(&[("number", "invalid_number")]));
    let res = app
        .post(
            "/api/dids",
            admin,
            json!({"call_center_id": other, "number": "0142000001", "flow_id": flow}),
        )
        .await;
    assert_eq!(problems(res).await, pairs(&[("flow_id", "not_found")]));
    let other_did = id(app
        .post(
            "/api/dids",
            admin,
            json!({"call_center_id": other, "number": "0142000001", "active": false}),
        )
        .await)
    .await;
    let res = app
        .patch(
            &format!("/api/dids/{other_did}"),
            admin,
            json!({"flow_id": flow}),
        )
        .await;
    assert_eq!(problems(res).await, pairs(&[("flow_id", "not_found")]));

    // Filters.
    let listed = body(app.get(&format!("/api/dids?flow_id={flow}"), admin).await).await;
    assert_eq!(listed["total"], 1);
    let listed = body(app.get("/api/dids?active=false", admin).await).await;
    assert_eq!(listed["items"][0]["id"], other_did);
    let listed = body(
        app.get(&format!("/api/dids?call_center_id={}", s.cc), admin)
            .await,
    )
    .await;
    assert_eq!(listed["total"], 1);
    let listed = body(app.get("/api/dids?q=4200", admin).await).await;
    assert_eq!(listed["total"], 2);

    // Unrouting and renumbering.
    let res = app
        .patch(
            &format!("/api/dids/{did_id}"),
            admin,
            json!({"flow_id": null, "number": "01 42 00 00 00", "description": null}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let patched = body(res).await;
    assert_eq!(patched["flow_id"], Value::Null);
    assert_eq!(patched["number"], "0142000000");
    assert_eq!(patched["description"], Value::Null);
    let res = app
        .patch(
            &format!("/api/dids/{did_id}"),
            admin,
            json!({"number": "0142000001"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    let res = app.delete(&format!("/api/dids/{did_id}"), admin).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.get(&format!("/api/dids/{did_id}"), admin).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let audit = body(app.get("/api/audit?entity=did", admin).await).await;
    assert_eq!(audit["total"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_in_use_cannot_be_deleted() {
    let s = setup().await;
    let (app, admin) = (&s.app, &s.admin);
    let target = create_flow(&s, "Target", small_flow(None)).await;
    let did = id(app
        .post(
            "/api/dids",
            admin,
            json!({"call_center_id": s.cc, "number": "0142000000", "flow_id": target}),
        )
        .await)
    .await;
    let res = app.delete(&format!("/api/ivr-flows/{target}"), admin).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let error = body(res).await;
    assert_eq!(error["code"], "flow_in_use");
    assert!(error["message"].as_str().unwrap().contains("0142000000"));
    app.patch(&format!("/api/dids/{did}"), admin, json!({"flow_id": null}))
        .await;

    // Another flow's published version continues in it (its draft no longer does).
    app.post(
        &format!("/api/ivr-flows/{target}/publish"),
        admin,
        json!({}),
    )
    .await;
    let caller = create_flow(
        &s,
        "Caller",
        json!({"start": "g", "nodes": [{"id": "g", "type": "goto_flow", "flow_id": target}]}),
    )
    .await;
    let res = app.delete(&format!("/api/ivr-flows/{target}"), admin).await;
    assert_eq!(body(res).await["code"], "flow_in_use");
    app.post(
        &format!("/api/ivr-flows/{caller}/publish"),
        admin,
        json!({}),
    )
    .await;
    let res = app
        .patch(
            &format!("/api/ivr-flows/{caller}"),
            admin,
            json!({"definition": small_flow(None)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.delete(&format!("/api/ivr-flows/{target}"), admin).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let message = body(res).await["message"].as_str().unwrap().to_owned();
    assert!(message.contains("version 1 of flow `Caller`"), "{message}");

    // Publishing the caller's new draft frees the target; deleting takes its versions along.
    app.post(
        &format!("/api/ivr-flows/{caller}/publish"),
        admin,
        json!({}),
    )
    .await;
    let res = app.delete(&format!("/api/ivr-flows/{target}"), admin).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .get(&format!("/api/ivr-flows/{target}/versions/1"), admin)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_centers_ivr_does_not_exist() {
    let s = setup().await;
    let (app, admin) = (&s.app, &s.admin);
    let flow = create_flow(&s, "Main", small_flow(Some("callpro/closed"))).await;
    app.post(&format!("/api/ivr-flows/{flow}/publish"), admin, json!({}))
        .await;
    let did = id(app
        .post(
            "/api/dids",
            admin,
            json!({"call_center_id": s.cc, "number": "0142000000", "flow_id": flow}),
        )
        .await)
    .await;
    let prompt = body(app.get("/api/prompts", admin).await).await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let other = app.call_center(admin, "Other").await;
    app.user(admin, "own@other.test", "owner", Some(other))
        .await;
    let stranger = app.login("own@other.test", USER_PASSWORD).await;
    app.user(admin, "own@acme.test", "owner", Some(s.cc)).await;
    let owner = app.login("own@acme.test", USER_PASSWORD).await;

    for path in [
        format!("/api/ivr-flows/{flow}"),
        format!("/api/ivr-flows/{flow}/versions"),
        format!("/api/ivr-flows/{flow}/versions/1"),
        format!("/api/dids/{did}"),
        format!("/api/prompts/{prompt}"),
    ] {
        let res = app.get(&path, &stranger).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        let res = app.get(&path, &owner).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    let res = app
        .post(
            &format!("/api/ivr-flows/{flow}/publish"),
            &stranger,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .patch(
            &format!("/api/dids/{did}"),
            &stranger,
            json!({"active": false}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .delete(&format!("/api/ivr-flows/{flow}"), &stranger)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    for list in ["/api/ivr-flows", "/api/dids", "/api/prompts"] {
        let mine = body(app.get(list, &stranger).await).await;
        assert_eq!(mine["total"], 0, "{list}");
        let asked = body(
            app.get(&format!("{list}?call_center_id={}", s.cc), &stranger)
                .await,
        )
        .await;
        assert_eq!(asked["total"], 0, "{list}");
    }

    // The stranger's own flows are validated against their own center only.
    let res = app
        .post(
            "/api/ivr-flows",
            &stranger,
            json!({"name": "Mine", "definition": small_flow(Some("callpro/closed"))}),
        )
        .await;
    assert_eq!(
        problems(res).await,
        pairs(&[("definition.nodes[0].prompts[0]", "unknown_prompt")])
    );
    let res = app
        .post(
            "/api/ivr-flows",
            &stranger,
            json!({"name": "Mine", "definition": {"start": "g", "nodes": [
                {"id": "g", "type": "goto_flow", "flow_id": flow}]}}),
        )
        .await;
    assert_eq!(
        problems(res).await,
        pairs(&[("definition.nodes[0].flow_id", "unknown_flow")])
    );
    let res = app
        .post(
            "/api/dids",
            &stranger,
            json!({"number": "0142000009", "flow_id": flow}),
        )
        .await;
    assert_eq!(problems(res).await, pairs(&[("flow_id", "not_found")]));
    // An owner names no other center.
    let res = app
        .post(
            "/api/prompts",
            &stranger,
            json!({"name": "x", "call_center_id": s.cc}),
        )
        .await;
    assert_eq!(
        problems(res).await,
        pairs(&[("call_center_id", "not_found")])
    );
}

fn at(hour: u32, minute: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 12, 2)
        .unwrap()
        .and_hms_opt(hour, minute, 0)
        .unwrap()
}

fn session(
    call_center_id: Option<i64>,
    did: &str,
    caller: &str,
    started_at: NaiveDateTime,
    outcome: &str,
) -> NewIvrSession {
    NewIvrSession {
        call_center_id,
        did: did.into(),
        caller_id: caller.into(),
        caller_name: "Caller".into(),
        uniqueid: format!("{}.1", started_at.and_utc().timestamp()),
        channel: "PJSIP/yeastar-paris-00000001".into(),
        flow_id: None,
        flow_version: None,
        started_at,
        ended_at: (outcome != "in_progress").then(|| started_at + chrono::Duration::seconds(30)),
        outcome: outcome.into(),
        outcome_detail: (outcome == "queued").then(|| "callpro-group-1".to_owned()),
        last_node: Some("menu".into()),
        steps: json!([{"flow_id": null, "node": "menu", "node_type": "menu", "input": "1",
                       "exit": "1", "started_at": "2026-12-02T09:00:00Z",
                       "ended_at": "2026-12-02T09:00:05Z"}])
        .to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_newest_first_and_filtered() {
    let s = setup().await;
    let (app, admin) = (&s.app, &s.admin);
    let flow = create_flow(&s, "Main", small_flow(None)).await;
    let other = app.call_center(admin, "Other").await;
    let cc = s.cc;
    let rows = [
        {
            let mut row = session(Some(cc), "0142000000", "0600000001", at(9, 0), "queued");
            row.flow_id = Some(flow);
            row.flow_version = Some(1);
            row
        },
        session(Some(cc), "0142000000", "0600000002", at(10, 0), "abandoned"),
        session(
            Some(cc),
            "0142000001",
            "0600000001",
            at(11, 0),
            "in_progress",
        ),
        session(
            Some(other),
            "0199999999",
            "0600000003",
            at(12, 0),
            "voicemail",
        ),
        session(None, "0155555555", "0600000004", at(13, 0), "failed"),
    ];
    let ids: Vec<i64> = app
        .state
        .db
        .run(move |conn| {
            rows.iter()
                .map(|row| Ok(IvrSession::create(conn, row)?))
                .collect()
        })
        .await
        .unwrap();
    app.user(admin, "sup@acme.test", "supervisor", Some(cc))
        .await;
    let supervisor = app.login("sup@acme.test", USER_PASSWORD).await;
    let listed = |token: String, query: &'static str| {
        let app = &s.app;
        async move {
            let res = app.get(&format!("/api/ivr/sessions{query}"), &token).await;
            assert_eq!(res.status(), StatusCode::OK, "{query}");
            body(res).await["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_i64().unwrap())
                .collect::<Vec<i64>>()
        }
    };

    // The platform admin sees everything, unknown DIDs included; newest first.
    assert_eq!(
        listed(admin.clone(), "").await,
        [ids[4], ids[3], ids[2], ids[1], ids[0]]
    );
    // A supervisor sees their own center only.
    assert_eq!(
        listed(supervisor.clone(), "").await,
        [ids[2], ids[1], ids[0]]
    );
    assert_eq!(
        listed(supervisor.clone(), "?did=0142000000").await,
        [ids[1], ids[0]]
    );
    assert_eq!(
        listed(supervisor.clone(), "?caller_id=0600000001").await,
        [ids[2], ids[0]]
    );
    assert_eq!(
        listed(supervisor.clone(), "?outcome=in_progress").await,
        [ids[2]]
    );
    assert_eq!(
        listed(
            supervisor.clone(),
            "?started_from=2026-12-02T09:30:00Z&started_to=2026-12-02T11:00:00Z"
        )
        .await,
        [ids[1]]
    );
    assert_eq!(
        listed(
            supervisor.clone(),
            "?started_from=2026-12-02T10:00:00%2B01:00"
        )
        .await,
        [ids[2], ids[1], ids[0]]
    );
    assert!(
        listed(supervisor.clone(), "?flow_id=999999")
            .await
            .is_empty()
    );
    assert_eq!(listed(admin.clone(), "?outcome=failed").await, [ids[4]]);

    let one = body(
        app.get(&format!("/api/ivr/sessions/{}", ids[0]), &supervisor)
            .await,
    )
    .await;
    assert_eq!(one["id"], ids[0]);
    assert_eq!(one["flow_id"], flow);
    assert_eq!(one["flow_version"], 1);
    assert_eq!(one["outcome"], "queued");
    assert_eq!(one["outcome_detail"], "callpro-group-1");
    assert_eq!(one["last_node"], "menu");
    assert_eq!(one["started_at"], "2026-12-02T09:00:00Z");
    assert_eq!(one["steps"][0]["node"], "menu");
    assert_eq!(one["steps"][0]["input"], "1");
    // Another center's session and one without a center do not exist for the supervisor.
    for hidden in [ids[3], ids[4]] {
        let res = app
            .get(&format!("/api/ivr/sessions/{hidden}"), &supervisor)
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = app.get(&format!("/api/ivr/sessions/{hidden}"), admin).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    // Bad filters are the client's fault.
    for query in [
        "?started_from=yesterday",
        "?outcome=exploded",
        "?flow_id=99999999999999999999",
    ] {
        let res = app
            .get(&format!("/api/ivr/sessions{query}"), &supervisor)
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
    }
    // Agents see no sessions; nobody writes them over the API.
    app.user(admin, "agent@acme.test", "agent", Some(cc)).await;
    let agent = app.login("agent@acme.test", USER_PASSWORD).await;
    let res = app.get("/api/ivr/sessions", &agent).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .delete(&format!("/api/ivr/sessions/{}", ids[0]), admin)
        .await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_client_error() {
    let s = setup().await;
    let (app, admin) = (&s.app, &s.admin);
    let flow = create_flow(&s, "Main", small_flow(None)).await;
    for (method, path, payload) in [
        (
            reqwest::Method::GET,
            "/api/ivr-flows/99999999999999999999".to_owned(),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/ivr-flows/{flow}/versions/99999999999"),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/ivr-flows/{flow}/versions/-1"),
            None,
        ),
        (
            reqwest::Method::POST,
            "/api/ivr-flows/9223372036854775807/publish".to_owned(),
            None,
        ),
        (
            reqwest::Method::POST,
            "/api/ivr-flows".to_owned(),
            Some(json!({"call_center_id": 9223372036854775807i64, "name": "x", "definition": {}})),
        ),
        (
            reqwest::Method::POST,
            "/api/ivr-flows".to_owned(),
            Some(
                json!({"call_center_id": s.cc, "name": "x", "definition": {"start": 1, "nodes": {}}}),
            ),
        ),
        (
            reqwest::Method::POST,
            "/api/dids".to_owned(),
            Some(json!({"call_center_id": s.cc, "number": 33142000000i64})),
        ),
        (
            reqwest::Method::POST,
            "/api/dids".to_owned(),
            Some(json!({"call_center_id": s.cc, "number": "0142000000", "flow_id": -5})),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/ivr-flows/{flow}"),
            Some(json!({"name": "x\u{0}y"})),
        ),
        (
            reqwest::Method::POST,
            "/api/prompts".to_owned(),
            Some(json!({"call_center_id": s.cc, "name": "ok", "description": "a\u{0}b"})),
        ),
        (
            reqwest::Method::GET,
            "/api/ivr/sessions?per_page=0".to_owned(),
            None,
        ),
    ] {
        let mut req = app.request(method.clone(), &path, Some(admin));
        if let Some(payload) = payload {
            req = req.json(&payload);
        }
        let status = req.send().await.unwrap().status();
        assert!(status.is_client_error(), "{method} {path}: {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_flow_uses_cannot_be_removed_from_under_it() {
    let s = setup().await;
    let app = &s.app;
    let flow = create_flow(&s, "Main", full_flow(s.group, s.agent)).await;
    let prompts = body(app.get("/api/prompts?per_page=100", &s.admin).await).await;
    let closed = prompts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "callpro/closed")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // The draft plays callpro/closed: no deleting it, no renaming it away.
    let res = app
        .delete(&format!("/api/prompts/{closed}"), &s.admin)
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let value = body(res).await;
    assert_eq!(value["code"], "prompt_in_use", "{value}");
    assert!(
        value["message"].as_str().unwrap().contains("flow `Main`"),
        "{value}"
    );
    let res = app
        .patch(
            &format!("/api/prompts/{closed}"),
            &s.admin,
            json!({"name": "callpro/closed-old"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // A French recording of the same name keeps the name registered: the English one may go.
    let french = id(app
        .post(
            "/api/prompts",
            &s.admin,
            json!({"call_center_id": s.cc, "name": "callpro/closed", "language": "fr"}),
        )
        .await)
    .await;
    let res = app
        .delete(&format!("/api/prompts/{closed}"), &s.admin)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .delete(&format!("/api/prompts/{french}"), &s.admin)
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // The queue's group and the transfer's trunk are in use too.
    let res = app
        .delete(&format!("/api/groups/{}", s.group), &s.admin)
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(body(res).await["code"], "group_in_use");
    let trunks = body(app.get("/api/trunks", &s.admin).await).await;
    let trunk = trunks["items"][0]["id"].as_i64().unwrap();
    let res = app.delete(&format!("/api/trunks/{trunk}"), &s.admin).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(body(res).await["code"], "trunk_in_use");
    let res = app
        .patch(
            &format!("/api/trunks/{trunk}"),
            &s.admin,
            json!({"name": "yeastar-lyon"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // A published version holds on to what it uses even after the draft stops using it.
    let res = app
        .post(
            &format!("/api/ivr-flows/{flow}/publish"),
            &s.admin,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .patch(
            &format!("/api/ivr-flows/{flow}"),
            &s.admin,
            json!({"definition": small_flow(None)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .delete(&format!("/api/groups/{}", s.group), &s.admin)
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let value = body(res).await;
    assert!(
        value["message"].as_str().unwrap().contains("version 1"),
        "{value}"
    );
    // Once version 2 no longer queues for the group, it may go.
    let res = app
        .post(
            &format!("/api/ivr-flows/{flow}/publish"),
            &s.admin,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .delete(&format!("/api/groups/{}", s.group), &s.admin)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}
