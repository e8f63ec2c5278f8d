//! Agent sessions, live views, click-to-call, supervision — over the in-memory telephony,
//! which plays Asterisk and feeds the live state like AMI events would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use callpro_engine::telephony::memory::Recorded;
use common::{TestApp, USER_PASSWORD, body};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Center {
    agent: String,
    agent_id: i64,
    supervisor: String,
    outsider: String,
}

async fn center(app: &TestApp) -> Center {
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    let other = app.call_center(&admin, "Other").await;
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
            json!({"call_center_id": cc, "site_id": site, "name": "yeastar-paris", "host": "192.0.2.10"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let agent_id = app.user(&admin, "agent@acme.test", "agent", Some(cc)).await;
    let sup_id = app
        .user(&admin, "sup@acme.test", "supervisor", Some(cc))
        .await;
    app.user(&admin, "sup@other.test", "supervisor", Some(other))
        .await;
    for (id, ext) in [(agent_id, "1001"), (sup_id, "1002")] {
        let res = app
            .patch(
                &format!("/api/users/{id}"),
                &admin,
                json!({"sip_extension": ext, "site_id": site}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    Center {
        agent: app.login("agent@acme.test", USER_PASSWORD).await,
        agent_id,
        supervisor: app.login("sup@acme.test", USER_PASSWORD).await,
        outsider: app.login("sup@other.test", USER_PASSWORD).await,
    }
}

/// Polls `path` until `check` holds (the in-memory PBX answers after 50 ms).
async fn eventually(
    app: &TestApp,
    token: &str,
    path: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..100 {
        let v = body(app.get(path, token).await).await;
        if check(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} never satisfied the check");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_session_from_login_to_logout() {
    let (app, pbx) = TestApp::spawn_with_memory_telephony().await;
    let c = center(&app).await;

    let res = app.post("/api/agent/session", &c.agent, json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let Recorded::Originate(session) = &pbx.requests()[0] else {
        panic!("originate first")
    };
    assert_eq!(session.channel, "PJSIP/1001");
    // A second login on the same phone by someone else is refused.
    let res = app
        .post(
            "/api/agent/session",
            &c.supervisor,
            json!({"extension": "1001"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(body(res).await["code"], "extension_in_use");

    let res = app
        .post("/api/agent/session/ready", &c.agent, json!({}))
        .await;
    assert_eq!(body(res).await["status"], "ready");
    let agents = eventually(&app, &c.supervisor, "/api/live/agents", |v| {
        v.as_array()
            .unwrap()
            .iter()
            .any(|a| a["agent_id"] == c.agent_id && a["status"] == "ready")
    })
    .await;
    assert_eq!(agents.as_array().unwrap().len(), 1);
    // Another tenant sees nothing of it; an agent may not watch the floor.
    assert_eq!(
        body(app.get("/api/live/agents", &c.outsider).await).await,
        json!([])
    );
    assert_eq!(
        app.get("/api/live/agents", &c.agent).await.status(),
        StatusCode::FORBIDDEN
    );

    let res = app
        .post(
            "/api/agent/session/pause",
            &c.agent,
            json!({"reason": "lunch"}),
        )
        .await;
    let paused = body(res).await;
    assert_eq!(paused["status"], "paused");
    assert_eq!(paused["pause_reason"], "lunch");

    // Supervisors force a pause and a logout; both are audited.
    let res = app
        .post(
            &format!("/api/agents/{}/force-pause", c.agent_id),
            &c.supervisor,
            json!({"reason": "coaching"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .post(
            &format!("/api/agents/{}/force-logout", c.agent_id),
            &c.outsider,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .post(
            &format!("/api/agents/{}/force-logout", c.agent_id),
            &c.agent,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .post(
            &format!("/api/agents/{}/force-logout", c.agent_id),
            &c.supervisor,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .post("/api/agent/session/ready", &c.agent, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let admin = app.admin_token().await;
    let audit = body(app.get("/api/audit?entity=agent_session", &admin).await).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["agent.force_logout", "agent.force_pause"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn click_to_call_spy_and_hang_up() {
    let (app, pbx) = TestApp::spawn_with_memory_telephony().await;
    let c = center(&app).await;

    let res = app
        .post("/api/calls", &c.agent, json!({"number": "+33600000001"}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let call_id = body(res).await["call_id"].as_str().unwrap().to_string();
    let Recorded::Originate(o) = pbx.requests().last().unwrap().clone() else {
        panic!()
    };
    assert_eq!(o.channel, "PJSIP/1001");
    assert_eq!(o.channel_id, call_id);
    assert!(
        o.variables
            .contains(&("CALLPRO_TRUNK".into(), "yeastar-paris".into()))
    );

    let calls = eventually(&app, &c.supervisor, "/api/live/calls", |v| {
        !v.as_array().unwrap().is_empty()
    })
    .await;
    let linkedid = calls[0]["linkedid"].as_str().unwrap().to_string();
    assert_eq!(
        body(app.get("/api/live/calls", &c.outsider).await).await,
        json!([])
    );

    // Supervision: agents may not spy; another tenant cannot even see the call.
    let res = app
        .post(
            &format!("/api/calls/{linkedid}/spy"),
            &c.agent,
            json!({"mode": "listen"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .post(
            &format!("/api/calls/{linkedid}/spy"),
            &c.outsider,
            json!({"mode": "listen"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .post(
            &format!("/api/calls/{linkedid}/spy"),
            &c.supervisor,
            json!({"mode": "whisper"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let spy = pbx
        .requests()
        .into_iter()
        .find_map(|r| match r {
            Recorded::Spy(s) => Some(s),
            _ => None,
        })
        .unwrap();
    assert_eq!(spy.supervisor_channel, "PJSIP/1002");
    assert_eq!(spy.mode, callpro_engine::telephony::SpyMode::Whisper);
    let admin = app.admin_token().await;
    let audit = body(app.get("/api/audit?action=call.spy", &admin).await).await;
    assert_eq!(audit["total"], 1);

    let res = app
        .post(
            &format!("/api/calls/{linkedid}/transfer"),
            &c.agent,
            json!({"to": "abc"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .delete(&format!("/api/calls/{linkedid}"), &c.agent)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        pbx.requests()
            .iter()
            .any(|r| matches!(r, Recorded::Hangup { .. }))
    );

    let res = app
        .post("/api/calls", &c.agent, json!({"number": "12"}))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app.delete("/api/calls/nope", &c.agent).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_asterisk_telephony_requests_are_503() {
    let app = TestApp::spawn().await;
    let c = center(&app).await;
    let res = app.post("/api/agent/session", &c.agent, json!({})).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body(res).await["code"], "service_unavailable");
    let res = app
        .post("/api/calls", &c.agent, json!({"number": "0600000001"}))
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body(app.get("/api/live/calls", &c.supervisor).await).await,
        json!([])
    );
}
