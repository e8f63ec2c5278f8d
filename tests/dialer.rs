//! The dialer runtime end to end over the in-memory PBX: a campaign is started, its list
//! imported, agents log in, and the runtime dials, connects answered calls to agents' session
//! bridges, abandons what no agent can take, classifies machines, records every attempt and
//! moves every lead on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use callpro_api::db::schema::{call_attempts, leads};
use callpro_api::outbound::{DialerConfig, runtime};
use callpro_engine::telephony::memory::{MemoryTelephony, Recorded, Script, ScriptedOutcome};
use common::{TestApp, USER_PASSWORD, body};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const NUMBERS: [&str; 6] = [
    "+33612340001",
    "+33612340002",
    "+33612340003",
    "+33612340004",
    "+33612340005",
    "+33612340006",
];

fn dial_string(number: &str) -> String {
    format!("Local/{number}@callpro-dialer/n")
}

fn fast() -> DialerConfig {
    DialerConfig {
        tick: Duration::from_millis(50),
        scan: Duration::from_millis(50),
        lease: Duration::from_secs(2),
        connect_within: Duration::from_millis(400),
        amd_timeout: Duration::from_secs(2),
        poll: Duration::from_millis(10),
        refresh: Duration::from_millis(100),
    }
}

struct Floor {
    app: TestApp,
    pbx: MemoryTelephony,
    admin: String,
    campaign: i64,
    /// (user id, token) of each agent.
    agents: Vec<(i64, String)>,
}

/// A call center with a site, its trunk, `agents` agents (extensions 1001...) in the
/// campaign's group, a qualification group, and a whole-day campaign in `mode` with `extra`
/// settings, started, with the six numbers imported.
async fn floor(agents: usize, mode: &str, compliance: Value) -> Floor {
    let (app, pbx) = TestApp::spawn_with_memory_telephony().await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    let id_of = |v: Value| v["id"].as_i64().unwrap();
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
    let res = app
        .post(
            "/api/qualifications",
            &admin,
            json!({"group_id": quals, "code": "SALE", "label": "Sale", "kind": "positive",
                   "is_final": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let mut tokens = Vec::new();
    for n in 0..agents {
        let email = format!("agent{n}@acme.test");
        let id = app.user(&admin, &email, "agent", Some(cc)).await;
        let res = app
            .patch(
                &format!("/api/users/{id}"),
                &admin,
                json!({"sip_extension": format!("{}", 1001 + n), "site_id": site}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app
            .post(
                &format!("/api/groups/{group}/members"),
                &admin,
                json!({"user_id": id}),
            )
            .await;
        assert!(res.status().is_success(), "{}", body(res).await);
        tokens.push((id, app.login(&email, USER_PASSWORD).await));
    }
    let whole_day = json!([["00:00", "24:00"]]);
    let res = app
        .post(
            "/api/campaigns",
            &admin,
            json!({
                "call_center_id": cc, "name": "Winter", "mode": mode,
                "caller_id": "+33948123456", "qualification_group_id": quals,
                "agent_group_ids": [group],
                "settings": {
                    "schedule": {"time_zone": "UTC", "windows": {
                        "mon": whole_day, "tue": whole_day, "wed": whole_day, "thu": whole_day,
                        "fri": whole_day, "sat": whole_day, "sun": whole_day}},
                    "strategy": {"ring_timeout_secs": 15},
                    "compliance": compliance,
                }
            }),
        )
        .await;
    let status = res.status();
    let created = body(res).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let campaign = id_of(created);
    let csv: String = std::iter::once("phone".to_owned())
        .chain(NUMBERS.iter().map(|n| (*n).to_owned()))
        .collect::<Vec<_>>()
        .join("\n");
    let res = app
        .request(
            reqwest::Method::POST,
            &format!("/api/campaigns/{campaign}/leads/import"),
            Some(&admin),
        )
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let imported = body(res).await;
    assert!(status.is_success(), "{imported}");
    assert_eq!(imported["imported"], 6, "{imported}");
    let res = app
        .post(
            &format!("/api/campaigns/{campaign}/start"),
            &admin,
            json!({}),
        )
        .await;
    let status = res.status();
    assert_eq!(status, StatusCode::OK, "{}", body(res).await);
    Floor {
        app,
        pbx,
        admin,
        campaign,
        agents: tokens,
    }
}

/// Logs every agent in (the PBX answers their phone) and declares them ready.
async fn agents_ready(f: &Floor) {
    for (id, token) in &f.agents {
        let res = f.app.post("/api/agent/session", token, json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{}", body(res).await);
        // Ready only counts once the phone sits in the session bridge.
        for _ in 0..200 {
            let view = f.app.state.engine.live.agent(*id);
            if view.is_some_and(|a| a.session_channel.is_some()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let res = f
            .app
            .post("/api/agent/session/ready", token, json!({}))
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    }
}

#[derive(Debug)]
struct Attempt {
    phone: String,
    call_ref: String,
    trunk: Option<String>,
    agent: Option<i64>,
    answered: bool,
    connected: bool,
    ended: bool,
    outcome: Option<String>,
    amd: Option<String>,
    qualified: bool,
}

type AttemptRow = (
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<chrono::NaiveDateTime>,
    Option<chrono::NaiveDateTime>,
    Option<chrono::NaiveDateTime>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

async fn attempts(app: &TestApp) -> Vec<Attempt> {
    app.state
        .db
        .run(|conn| {
            let rows: Vec<AttemptRow> = call_attempts::table
                .order(call_attempts::id.asc())
                .select((
                    call_attempts::phone,
                    call_attempts::call_ref,
                    call_attempts::trunk,
                    call_attempts::agent_user_id,
                    call_attempts::answered_at,
                    call_attempts::connected_at,
                    call_attempts::ended_at,
                    call_attempts::outcome,
                    call_attempts::amd_result,
                    call_attempts::qualification_id,
                ))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|r| Attempt {
                    phone: r.0,
                    call_ref: r.1,
                    trunk: r.2,
                    agent: r.3,
                    answered: r.4.is_some(),
                    connected: r.5.is_some(),
                    ended: r.6.is_some(),
                    outcome: r.7,
                    amd: r.8,
                    qualified: r.9.is_some(),
                })
                .collect())
        })
        .await
        .unwrap()
}

async fn lead_states(app: &TestApp) -> Vec<(String, String, i32, bool)> {
    app.state
        .db
        .run(|conn| {
            Ok(leads::table
                .order(leads::phone.asc())
                .select((
                    leads::phone,
                    leads::status,
                    leads::attempts,
                    leads::next_attempt_at.is_not_null(),
                ))
                .load(conn)?)
        })
        .await
        .unwrap()
}

/// Waits (up to 20 s) until `done` holds of the attempts, qualifying every call an agent has
/// finished (as the agent would) meanwhile.
async fn run_until(f: &Floor, done: impl Fn(&[Attempt]) -> bool) -> Vec<Attempt> {
    for _ in 0..400 {
        let rows = attempts(&f.app).await;
        for row in rows
            .iter()
            .filter(|r| r.connected && r.ended && !r.qualified)
        {
            let (_, token) = f
                .agents
                .iter()
                .find(|(id, _)| Some(*id) == row.agent)
                .expect("connected to one of our agents");
            let res = f
                .app
                .post(
                    &format!("/api/calls/{}/qualify", row.call_ref),
                    token,
                    json!({"qualification": "SALE"}),
                )
                .await;
            assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
        }
        if done(&rows) {
            return attempts(&f.app).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the campaign never got there: {:#?}",
        attempts(&f.app).await
    );
}

fn outcome_of<'a>(rows: &'a [Attempt], phone: &str) -> &'a Attempt {
    rows.iter()
        .find(|r| r.phone == phone)
        .unwrap_or_else(|| panic!("{phone} was never dialed"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_progressive_campaign_dials_its_list_and_connects_answers_to_agents() {
    let f = floor(2, "progressive", json!({"profile": "none"})).await;
    let ms = Duration::from_millis;
    let answer = Script::new(ScriptedOutcome::Answer, ms(100)).then_hangup_after(ms(300));
    for (number, script) in [
        (NUMBERS[0], answer),
        (NUMBERS[1], Script::new(ScriptedOutcome::Busy, ms(100))),
        (NUMBERS[2], Script::new(ScriptedOutcome::NoAnswer, ms(150))),
        (NUMBERS[3], answer),
        (
            NUMBERS[4],
            Script::new(ScriptedOutcome::Congestion, ms(100)),
        ),
        (NUMBERS[5], answer),
    ] {
        f.pbx.script(&dial_string(number), script);
    }
    agents_ready(&f).await;
    let dialer = runtime::spawn(f.app.state.clone(), fast()).expect("telephony is wired");

    let rows = run_until(&f, |rows| {
        rows.len() == 6 && rows.iter().all(|r| r.outcome.is_some() && r.ended)
    })
    .await;

    for number in [NUMBERS[0], NUMBERS[3], NUMBERS[5]] {
        let r = outcome_of(&rows, number);
        assert_eq!(r.outcome.as_deref(), Some("human"), "{r:?}");
        assert!(r.answered && r.connected && r.ended, "{r:?}");
        assert!(r.agent.is_some(), "{r:?}");
    }
    for (number, outcome) in [
        (NUMBERS[1], "busy"),
        (NUMBERS[2], "no_answer"),
        (NUMBERS[4], "congestion"),
    ] {
        let r = outcome_of(&rows, number);
        assert_eq!(r.outcome.as_deref(), Some(outcome), "{r:?}");
        assert!(!r.connected && r.agent.is_none(), "{r:?}");
    }
    assert!(
        rows.iter()
            .all(|r| r.trunk.as_deref() == Some("yeastar-paris") && r.amd.is_none())
    );

    // Every dial went out as the dialplan expects it; each answer was moved into the session
    // bridge of an agent, and nothing was dropped.
    let originates: Vec<_> = f
        .pbx
        .originates()
        .into_iter()
        .filter(|o| o.channel.starts_with("Local/"))
        .collect();
    assert_eq!(originates.len(), 6);
    for o in &originates {
        assert!(rows.iter().any(|r| r.call_ref == o.channel_id));
        let var = |name: &str| {
            o.variables
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(var("CALLPRO_TRUNK"), Some("yeastar-paris"));
        assert_eq!(var("CALLPRO_RING_TIMEOUT"), Some("15"));
        assert_eq!(var("CALLPRO_CALL_ID"), Some(o.channel_id.as_str()));
        assert_eq!(var("CALLPRO_CALLER_ID"), Some("+33948123456"));
    }
    let redirects: Vec<_> = f
        .pbx
        .requests()
        .into_iter()
        .filter_map(|r| match r {
            Recorded::Redirect(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(redirects.len(), 3, "{redirects:?}");
    assert!(
        redirects
            .iter()
            .all(|r| r.context == "callpro-agent-bridge" && r.channel.ends_with(";1"))
    );

    // Leads moved on: sold, or back later by their outcome's retry rule.
    let leads = lead_states(&f.app).await;
    for (phone, status, attempts, later) in &leads {
        assert_eq!(*attempts, 1, "{phone}");
        if [NUMBERS[0], NUMBERS[3], NUMBERS[5]].contains(&phone.as_str()) {
            assert_eq!(status, "done", "{phone}");
        } else {
            assert_eq!(status, "retry", "{phone}");
            assert!(later, "{phone}");
        }
    }

    let stats = body(
        f.app
            .get(&format!("/api/campaigns/{}/stats", f.campaign), &f.admin)
            .await,
    )
    .await;
    let life = &stats["windows"][2];
    assert_eq!(life["dials"], 6, "{stats}");
    assert_eq!(life["connects"], 3, "{stats}");
    assert_eq!(life["abandons"], 0, "{stats}");
    assert_eq!(stats["dialer"]["dialing"], true, "{stats}");
    assert_eq!(stats["dialer"]["agents"], 2, "{stats}");

    // Stopping the campaign: the dialer gives it up.
    let res = f
        .app
        .post(
            &format!("/api/campaigns/{}/stop", f.campaign),
            &f.admin,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for _ in 0..100 {
        if f.app.state.dialer.get(f.campaign).is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(f.app.state.dialer.get(f.campaign).is_none());
    dialer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machines_are_hung_up_and_an_answer_no_agent_takes_is_abandoned() {
    let f = floor(
        1,
        "progressive",
        json!({"profile": "none", "amd": {"enabled": true, "action": "hangup"}}),
    )
    .await;
    let ms = Duration::from_millis;
    f.pbx.script(
        &dial_string(NUMBERS[0]),
        Script::new(ScriptedOutcome::Machine, ms(100)).then_hangup_after(ms(5_000)),
    );
    f.pbx.script(
        &dial_string(NUMBERS[1]),
        Script::new(ScriptedOutcome::Answer, ms(500)).then_hangup_after(ms(5_000)),
    );
    for number in &NUMBERS[2..] {
        f.pbx.script(
            &dial_string(number),
            Script::new(ScriptedOutcome::Busy, ms(100)),
        );
    }
    agents_ready(&f).await;
    let dialer = runtime::spawn(f.app.state.clone(), fast()).expect("telephony is wired");

    // The second call rings; its agent steps away before it answers.
    let second = dial_string(NUMBERS[1]);
    for _ in 0..200 {
        if f.pbx.originates().iter().any(|o| o.channel == second) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let res = f
        .app
        .post(
            "/api/agent/session/pause",
            &f.agents[0].1,
            json!({"reason": "coffee"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);

    let rows = run_until(&f, |rows| {
        [NUMBERS[0], NUMBERS[1]]
            .iter()
            .all(|n| rows.iter().any(|r| r.phone == *n && r.outcome.is_some()))
    })
    .await;
    let machine = outcome_of(&rows, NUMBERS[0]);
    assert_eq!(machine.outcome.as_deref(), Some("machine"), "{machine:?}");
    assert_eq!(machine.amd.as_deref(), Some("MACHINE"));
    assert!(machine.answered && !machine.connected);
    let dropped = outcome_of(&rows, NUMBERS[1]);
    assert_eq!(dropped.outcome.as_deref(), Some("abandoned"), "{dropped:?}");
    assert_eq!(dropped.amd.as_deref(), Some("HUMAN"));
    assert!(dropped.answered && !dropped.connected && dropped.agent.is_none());

    let requests = f.pbx.requests();
    assert!(
        requests
            .iter()
            .any(|r| matches!(r, Recorded::Hangup { channel, .. }
            if channel.starts_with(&format!("Local/{}@callpro-dialer", NUMBERS[0])))),
        "the machine is hung up: {requests:?}"
    );
    assert!(
        requests.iter().any(|r| matches!(r, Recorded::Redirect(r)
            if r.context == "callpro-drop"
                && r.channel.starts_with(&format!("Local/{}@callpro-dialer", NUMBERS[1])))),
        "the abandoned call hears the drop message: {requests:?}"
    );
    // Neither was ever moved to an agent; the paused agent dials nothing more.
    assert!(
        !requests
            .iter()
            .any(|r| matches!(r, Recorded::Redirect(r) if r.context == "callpro-agent-bridge"))
    );
    let dialed_before = f.pbx.originates().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(f.pbx.originates().len(), dialed_before);

    let stats = body(
        f.app
            .get(&format!("/api/campaigns/{}/stats", f.campaign), &f.admin)
            .await,
    )
    .await;
    let life = &stats["windows"][2];
    assert_eq!(life["abandons"], 1, "{stats}");
    assert_eq!(life["machines"], 1, "{stats}");
    assert_eq!(life["connects"], 0, "{stats}");
    let leads = lead_states(&f.app).await;
    for (phone, status, _, later) in leads.iter().take(2) {
        assert_eq!(status, "retry", "{phone}");
        assert!(later, "{phone}");
    }
    dialer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_agent_takes_each_lead_calls_it_or_skips_it() {
    let f = floor(1, "preview", json!({"profile": "none"})).await;
    let ms = Duration::from_millis;
    f.pbx.script(
        &dial_string(NUMBERS[0]),
        Script::new(ScriptedOutcome::Answer, ms(100)).then_hangup_after(ms(300)),
    );
    f.pbx.script(
        &dial_string(NUMBERS[1]),
        Script::new(ScriptedOutcome::Busy, ms(100)),
    );
    agents_ready(&f).await;
    // The runtime leaves preview campaigns to their agents.
    let dialer = runtime::spawn(f.app.state.clone(), fast()).expect("telephony is wired");
    let (agent, token) = &f.agents[0];
    let path = |tail: &str| format!("/api/campaigns/{}/preview/{tail}", f.campaign);

    let first = body(f.app.post(&path("next"), token, json!({})).await).await;
    assert_eq!(first["phone"], NUMBERS[0], "{first}");
    let first_id = first["id"].as_i64().unwrap();
    // Skipped, it is free again and comes first again.
    let res = f
        .app
        .post(&path(&format!("{first_id}/skip")), token, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let again = body(f.app.post(&path("next"), token, json!({})).await).await;
    assert_eq!(again["id"], first_id);
    // Only a lead the agent holds may be called.
    let res = f
        .app
        .post(&path(&format!("{}/call", first_id + 1)), token, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(body(res).await["code"], "not_previewed");
    // An administrator is not on the campaign's floor.
    let res = f.app.post(&path("next"), &f.admin, json!({})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = f
        .app
        .post(&path(&format!("{first_id}/call")), token, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let call_id = body(res).await["call_id"].as_str().unwrap().to_owned();
    let rows = run_until(&f, |rows| rows.iter().any(|r| r.qualified)).await;
    let answered = outcome_of(&rows, NUMBERS[0]);
    assert_eq!(answered.call_ref, call_id);
    assert_eq!(answered.outcome.as_deref(), Some("human"));
    assert_eq!(answered.agent, Some(*agent));
    assert!(answered.answered && answered.connected && answered.ended);

    let second = body(f.app.post(&path("next"), token, json!({})).await).await;
    assert_eq!(second["phone"], NUMBERS[1], "{second}");
    let res = f
        .app
        .post(
            &path(&format!("{}/call", second["id"].as_i64().unwrap())),
            token,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let rows = run_until(&f, |rows| {
        rows.iter()
            .any(|r| r.phone == NUMBERS[1] && r.outcome.is_some())
    })
    .await;
    assert_eq!(
        outcome_of(&rows, NUMBERS[1]).outcome.as_deref(),
        Some("busy")
    );

    // The customer call went straight into the agent's bridge; nothing else was dialed.
    let dialed: Vec<_> = f
        .pbx
        .originates()
        .into_iter()
        .filter(|o| o.channel.starts_with("Local/"))
        .collect();
    assert_eq!(dialed.len(), 2);
    assert!(dialed.iter().all(|o| matches!(&o.target,
        callpro_engine::telephony::OriginateTarget::Extension { context, exten, .. }
            if context == "callpro-agent-bridge" && *exten == agent.to_string())));
    let leads = lead_states(&f.app).await;
    assert_eq!(leads[0].1, "done");
    assert_eq!(leads[1].1, "retry");
    dialer.shutdown().await;
}
