//! The dialer runtime over AMI against the scripted Asterisk peer, which answers its originates
//! with the real Asterisk 22 recordings: first a busy trunk behind a `Local/` channel (whose
//! `OriginateResponse` says only `Reason: 0`), then a trunk that answers and whose callee hangs
//! up at once, before any agent could take the call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
#[path = "../engine/tests/fixtures/mod.rs"]
mod fixtures;
#[path = "../engine/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use callpro_api::db::schema::{call_attempts, leads};
use callpro_api::outbound::{DialerConfig, runtime};
use callpro_api::secret::Secret;
use callpro_engine::state::synthetic::SyntheticChannel;
use callpro_engine::state::{AgentLogin, LegState};
use common::{TestApp, body};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::json;
use support::{Peer, Script, Step};

/// The busy recording, then the answered one from its `Originate` on; after both, the peer
/// answers from its library (resync lists, `Ping`, and an error to anything unrecorded).
fn busy_then_answer() -> Script {
    let busy = Script::from_capture("ami-originate-trunk-busy").before_expect("Logoff", 0);
    let answer = Script::from_capture("ami-originate-trunk-answer").before_expect("Logoff", 0);
    let from_originate = answer
        .steps
        .into_iter()
        .skip_while(|s| !matches!(s, Step::Expect(m) if m.get("Action") == Some("Originate")));
    Script {
        steps: busy.steps.into_iter().chain(from_originate).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_outcomes_flow_through_the_runtime_over_ami() {
    let peer = Peer::start(vec![busy_then_answer()]).await;
    let url = format!(
        "ami://callpro:callpro-secret@127.0.0.1:{}",
        peer.addr.port()
    );
    let app = TestApp::spawn_with(move |c| c.ami.url = Some(Secret::new(url))).await;
    let ami = app.state.engine.ami.clone().expect("AMI configured");
    tokio::time::timeout(Duration::from_secs(10), ami.connected())
        .await
        .unwrap()
        .unwrap();
    // Let the first resync land before the agent's session is set up.
    for _ in 0..200 {
        if !peer.actions("PJSIPShowContacts").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    let id_of = |v: serde_json::Value| v["id"].as_i64().unwrap();
    let site = id_of(
        body(
            app.post(
                "/api/sites",
                &admin,
                json!({"call_center_id": cc, "name": "Paris"}),
            )
            .await,
        )
        .await,
    );
    let res = app
        .post(
            "/api/trunks",
            &admin,
            json!({"call_center_id": cc, "site_id": site, "name": "yeastar-paris",
                   "host": "192.0.2.10"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let group = id_of(
        body(
            app.post(
                "/api/groups",
                &admin,
                json!({"call_center_id": cc, "name": "Outbound"}),
            )
            .await,
        )
        .await,
    );
    let quals = id_of(
        body(
            app.post(
                "/api/qualification-groups",
                &admin,
                json!({"call_center_id": cc, "name": "Sales"}),
            )
            .await,
        )
        .await,
    );
    let agent = app.user(&admin, "ann@acme.test", "agent", Some(cc)).await;
    let res = app
        .post(
            &format!("/api/groups/{group}/members"),
            &admin,
            json!({"user_id": agent}),
        )
        .await;
    assert!(res.status().is_success());
    let whole_day = json!([["00:00", "24:00"]]);
    let campaign = id_of(
        body(
            app.post(
                "/api/campaigns",
                &admin,
                json!({
                    "call_center_id": cc, "name": "Winter", "mode": "progressive",
                    "caller_id": "+33948123456", "qualification_group_id": quals,
                    "agent_group_ids": [group],
                    "settings": {
                        "schedule": {"time_zone": "UTC", "windows": {
                            "mon": whole_day, "tue": whole_day, "wed": whole_day,
                            "thu": whole_day, "fri": whole_day, "sat": whole_day,
                            "sun": whole_day}},
                        "strategy": {"ring_timeout_secs": 30},
                        "compliance": {"profile": "none"},
                    }
                }),
            )
            .await,
        )
        .await,
    );
    let res = app
        .request(
            reqwest::Method::POST,
            &format!("/api/campaigns/{campaign}/leads/import"),
            Some(&admin),
        )
        .header("content-type", "text/csv")
        .body("phone\n+33612340001\n+33612340002\n")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let res = app
        .post(
            &format!("/api/campaigns/{campaign}/start"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);

    // The agent sits ready in their session bridge (their phone's events fed to the state).
    let live = &app.state.engine.live;
    live.agent_login(&AgentLogin {
        agent_id: agent,
        extension: "1001".into(),
        site_id: Some(site),
        call_center_id: Some(cc),
    })
    .unwrap();
    let phone = SyntheticChannel::new("PJSIP/1001-00000001", "phone-1001", "phone-1001");
    live.apply_message(&phone.newchannel(LegState::Up));
    live.apply_message(&phone.bridge_enter("session-1", &format!("agent-{agent}"), 1));
    live.agent_ready(agent).unwrap();

    let dialer = runtime::spawn(
        app.state.clone(),
        DialerConfig {
            tick: Duration::from_millis(50),
            scan: Duration::from_millis(50),
            poll: Duration::from_millis(10),
            refresh: Duration::from_millis(100),
            ..DialerConfig::default()
        },
    )
    .expect("AMI telephony");

    type Row = (
        String,
        String,
        Option<String>,
        Option<chrono::NaiveDateTime>,
    );
    let mut rows: Vec<Row> = Vec::new();
    for _ in 0..300 {
        rows = app
            .state
            .db
            .run(|conn| {
                Ok(call_attempts::table
                    .order(call_attempts::id.asc())
                    .select((
                        call_attempts::phone,
                        call_attempts::call_ref,
                        call_attempts::outcome,
                        call_attempts::answered_at,
                    ))
                    .load(conn)?)
            })
            .await
            .unwrap();
        if rows.len() == 2 && rows.iter().all(|r| r.2.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rows.len(), 2, "{rows:?}");
    // Reason 0 from Asterisk, but the recorded DialEnd said BUSY.
    assert_eq!(rows[0].0, "+33612340001");
    assert_eq!(rows[0].2.as_deref(), Some("busy"), "{rows:?}");
    assert!(rows[0].3.is_none());
    // Answered (Reason 4), then gone before an agent took it: counted against the campaign.
    assert_eq!(rows[1].0, "+33612340002");
    assert!(rows[1].3.is_some(), "{rows:?}");
    assert_eq!(rows[1].2.as_deref(), Some("abandoned"), "{rows:?}");

    // What went over the wire is what the dialplan expects.
    let originates = peer.actions("Originate");
    assert_eq!(originates.len(), 2);
    for (sent, row) in originates.iter().zip(&rows) {
        assert_eq!(
            sent.get("Channel"),
            Some(format!("Local/{}@callpro-dialer/n", row.0).as_str())
        );
        assert_eq!(sent.get("Context"), Some("callpro-answered"));
        assert_eq!(sent.get("Exten"), Some("s"));
        assert_eq!(sent.get("Async"), Some("true"));
        assert_eq!(sent.get("ChannelId"), Some(row.1.as_str()));
        assert_eq!(
            sent.get("OtherChannelId"),
            Some(format!("{}-2", row.1).as_str())
        );
        let vars = sent.get_all("Variable").collect::<Vec<_>>();
        assert!(vars.contains(&"CALLPRO_TRUNK=yeastar-paris"), "{vars:?}");
        assert!(vars.contains(&"CALLPRO_RING_TIMEOUT=30"), "{vars:?}");
        assert!(
            vars.contains(&format!("CALLPRO_CALL_ID={}", row.1).as_str()),
            "{vars:?}"
        );
    }

    let states: Vec<(String, String, bool)> = app
        .state
        .db
        .run(|conn| {
            Ok(leads::table
                .order(leads::phone.asc())
                .select((
                    leads::phone,
                    leads::status,
                    leads::next_attempt_at.is_not_null(),
                ))
                .load(conn)?)
        })
        .await
        .unwrap();
    assert!(
        states
            .iter()
            .all(|(_, status, later)| status == "retry" && *later),
        "{states:?}"
    );
    dialer.shutdown().await;
}
