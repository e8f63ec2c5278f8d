//! The lead sweeper end to end, against a real SMTP server (aiosmtpd), driven with fake times
//! through `reminders::run_once`: reminders with working new links, then `unreachable`;
//! stale assigned leads notified to their agent, then escalated to supervisors and owners,
//! each once; and the notifications API (own only, read, read-all, unread filter).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use callpro_api::db::schema::{lead_events, leads};
use callpro_api::email::worker::{self, OutboxHandle, WorkerConfig};
use callpro_api::leadflow::reminders::{self, ReminderConfig, Round};
use callpro_api::models::notification::{NewNotification, Notification};
use chrono::NaiveDateTime;
use common::{SmtpServer, TestApp, USER_PASSWORD, body};
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Desk {
    app: TestApp,
    owner: String,
    supervisor: String,
    agents: [(i64, String); 2],
    config: ReminderConfig,
    _worker: OutboxHandle,
}

/// A call center with an owner, a supervisor, two agents, an SMTP profile on `smtp`, a
/// template and the double opt-in form `solar`; the outbox worker runs, the sweeper does not
/// (the tests run its rounds).
async fn desk(smtp: &SmtpServer) -> Desk {
    let app = TestApp::spawn_with(|c| {
        c.http.public_url = Some("https://leads.callpro.test".into());
        c.leads.sweeper = false;
    })
    .await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Solar").await;
    app.user(&admin, "owner@solar.test", "owner", Some(cc))
        .await;
    let owner = app.login("owner@solar.test", USER_PASSWORD).await;
    app.user(&admin, "sup@solar.test", "supervisor", Some(cc))
        .await;
    let supervisor = app.login("sup@solar.test", USER_PASSWORD).await;
    let mut agents = Vec::new();
    for name in ["alice", "bob"] {
        let email = format!("{name}@solar.test");
        let id = app.user(&admin, &email, "agent", Some(cc)).await;
        agents.push((id, app.login(&email, USER_PASSWORD).await));
    }
    let (profile, template) = app.opt_in_email(&owner, smtp.port).await;
    let res = app
        .post(
            "/api/forms",
            &owner,
            json!({
                "name": "Solar panels",
                "slug": "solar",
                "fields": [
                    {"name": "first_name", "label": "First name", "type": "text", "required": true},
                    {"name": "email", "label": "Email", "type": "email", "required": true},
                    {"name": "phone", "label": "Phone", "type": "phone", "required": true, "default_country": "FR"},
                    {"name": "project", "label": "Project", "type": "select", "required": true,
                     "options": ["roof", "carport"]}
                ],
                "smtp_profile_id": profile,
                "email_template_id": template,
                "double_opt_in": true
            }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let worker = worker::spawn(
        app.state.clone(),
        WorkerConfig {
            poll: Duration::from_millis(100),
            smtp_timeout: Duration::from_secs(5),
            ..WorkerConfig::default()
        },
    );
    let config = app
        .state
        .config
        .leads
        .reminder_config(&app.state.config.public_url());
    Desk {
        app,
        owner,
        supervisor,
        agents: [agents.remove(0), agents.remove(0)],
        config,
        _worker: worker,
    }
}

async fn submit(app: &TestApp, first: &str, email: &str) -> i64 {
    let res = app
        .request(Method::POST, "/f/solar", None)
        .json(
            &json!({"first_name": first, "email": email, "phone": "06 12 34 56 78",
                      "project": "roof"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    body(res).await["id"].as_i64().unwrap()
}

/// The confirmation path (`/confirm/<token>`) in an email as received (quoted-printable undone).
fn confirm_path(message: &str) -> String {
    let message = message
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = message
        .find("https://leads.callpro.test/confirm/")
        .expect("a confirmation link")
        + "https://leads.callpro.test".len();
    message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'))
        .collect()
}

async fn stage(d: &Desk, lead: i64) -> String {
    let res = d.app.get(&format!("/api/leads/{lead}"), &d.owner).await;
    body(res).await["stage"].as_str().unwrap().to_owned()
}

async fn round(d: &Desk, at: NaiveDateTime) -> Round {
    let round = reminders::run_once(&d.app.state, &d.config, at).await;
    assert_eq!(round.failures, 0, "{round:?}");
    round
}

fn hours(h: i64) -> chrono::Duration {
    chrono::Duration::hours(h)
}

/// Waits a little, then checks that no further email arrived.
async fn still(smtp: &SmtpServer, n: usize) {
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(smtp.messages().len(), n, "no email beyond the first {n}");
}

#[tokio::test]
async fn a_lead_that_never_confirms_is_reminded_twice_then_unreachable() {
    let smtp = SmtpServer::start();
    let d = desk(&smtp).await;
    let app = &d.app;
    let jeanne = submit(app, "Jeanne", "jeanne@example.com").await;
    let paul = submit(app, "Paul", "paul@example.com").await;
    let first = smtp.wait_for(2).await;
    // Both submitted at the same instant t0.
    let t0 = app
        .state
        .db
        .run(|conn| {
            let t0: NaiveDateTime = leads::table
                .select(leads::created_at)
                .order(leads::id.asc())
                .first(conn)?;
            diesel::update(leads::table)
                .set(leads::created_at.eq(t0))
                .execute(conn)?;
            Ok(t0)
        })
        .await
        .unwrap();

    // Nothing before the first delay.
    assert_eq!(round(&d, t0 + hours(23)).await, Round::default());

    // Reminder 1 to both, with a new link each.
    assert_eq!(round(&d, t0 + hours(24)).await.reminded, 2);
    let messages = smtp.wait_for(4).await;
    let reminders: Vec<&String> = messages[2..].iter().collect();
    for (who, name) in [
        ("jeanne@example.com", "Jeanne"),
        ("paul@example.com", "Paul"),
    ] {
        let reminder = reminders.iter().find(|m| m.contains(who)).unwrap();
        assert!(
            reminder.contains(&format!("Subject: Reminder: Please confirm, {name}")),
            "{reminder}"
        );
        let original = first.iter().find(|m| m.contains(who)).unwrap();
        assert_ne!(confirm_path(reminder), confirm_path(original));
    }
    // Run again at the same time: nothing twice.
    assert_eq!(round(&d, t0 + hours(24)).await.reminded, 0);
    still(&smtp, 4).await;

    // Paul follows the reminder's link: confirmed, then assigned.
    let to_paul = reminders
        .iter()
        .find(|m| m.contains("paul@example.com"))
        .unwrap();
    let res = app
        .request(Method::GET, &confirm_path(to_paul), None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("confirmed"));
    assert_eq!(stage(&d, paul).await, "assigned");

    // Reminder 2 to Jeanne only.
    assert_eq!(round(&d, t0 + hours(72)).await.reminded, 1);
    let messages = smtp.wait_for(5).await;
    assert!(messages[4].contains("jeanne@example.com"));
    assert!(messages[4].contains("Subject: Reminder: Please confirm, Jeanne"));
    assert_eq!(round(&d, t0 + hours(72)).await.reminded, 0);
    still(&smtp, 5).await;

    // Unreachable at the deadline, not before; once.
    assert_eq!(round(&d, t0 + hours(167)).await.unreachable, 0);
    assert_eq!(stage(&d, jeanne).await, "pending_email");
    let r = round(&d, t0 + hours(168)).await;
    assert_eq!((r.unreachable, r.reminded), (1, 0));
    assert_eq!(stage(&d, jeanne).await, "unreachable");
    let r = round(&d, t0 + hours(400)).await;
    assert_eq!((r.unreachable, r.reminded), (0, 0));
    still(&smtp, 5).await;

    let timeline = body(
        app.get(&format!("/api/leads/{jeanne}/timeline"), &d.owner)
            .await,
    )
    .await;
    let entries = timeline.as_array().unwrap();
    let reminders: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "email_queued" && e["detail"]["purpose"] == "reminder")
        .collect();
    assert_eq!(reminders.len(), 2, "{timeline}");
    assert_eq!(reminders[0]["detail"]["n"], 1);
    assert_eq!(reminders[1]["detail"]["n"], 2);
    let last = entries.last().unwrap();
    assert_eq!(last["from_stage"], "pending_email", "{timeline}");
    assert_eq!(last["to_stage"], "unreachable");
    assert_eq!(last["detail"]["reason"], "no confirmation");
}

async fn get_ok(app: &TestApp, path: &str, token: &str) -> Value {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    body(res).await
}

async fn notifications(d: &Desk, token: &str) -> Value {
    let res = d.app.get("/api/notifications", token).await;
    assert_eq!(res.status(), StatusCode::OK);
    body(res).await
}

#[tokio::test]
async fn a_stale_lead_notifies_its_agent_once_then_escalates_once() {
    let smtp = SmtpServer::start();
    let d = desk(&smtp).await;
    let app = &d.app;
    let lead = submit(app, "Jeanne", "jeanne@example.com").await;
    let path = confirm_path(&smtp.wait_for(1).await[0]);
    let res = app.request(Method::GET, &path, None).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let stored = body(app.get(&format!("/api/leads/{lead}"), &d.owner).await).await;
    assert_eq!(stored["stage"], "assigned");
    let agent = stored["assigned_user_id"].as_i64().unwrap();
    let (mine, other) = if d.agents[0].0 == agent {
        (&d.agents[0].1, &d.agents[1])
    } else {
        (&d.agents[1].1, &d.agents[0])
    };
    let last_activity = app
        .state
        .db
        .run(move |conn| {
            Ok(lead_events::table
                .filter(lead_events::lead_id.eq(lead))
                .select(diesel::dsl::max(lead_events::created_at))
                .first::<Option<NaiveDateTime>>(conn)?
                .unwrap())
        })
        .await
        .unwrap();
    let after = |h: i64| last_activity + hours(h) + chrono::Duration::seconds(1);

    // Not stale yet.
    assert_eq!(round(&d, after(23)).await, Round::default());
    // Stale: its agent is told, once.
    let r = round(&d, after(24)).await;
    assert_eq!((r.stale, r.escalated), (1, 0));
    assert_eq!(round(&d, after(24)).await, Round::default());
    assert_eq!(round(&d, after(30)).await, Round::default());
    let page = notifications(&d, mine).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["kind"], "lead_stale");
    assert_eq!(page["items"][0]["lead_id"], lead);
    assert!(page["items"][0]["read_at"].is_null());
    let message = page["items"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("Lead #{lead} (Jeanne")),
        "{message}"
    );
    for token in [&other.1, &d.owner, &d.supervisor] {
        assert_eq!(notifications(&d, token).await["total"], 0);
    }

    // The sweeper's own timeline entry is not activity: escalation comes on time, once.
    let r = round(&d, after(48)).await;
    assert_eq!((r.stale, r.escalated), (0, 1));
    assert_eq!(round(&d, after(48)).await, Round::default());
    assert_eq!(round(&d, after(100)).await, Round::default());
    for token in [&d.owner, &d.supervisor] {
        let page = notifications(&d, token).await;
        assert_eq!(page["total"], 1, "{page}");
        assert_eq!(page["items"][0]["kind"], "lead_escalated");
        assert_eq!(page["items"][0]["lead_id"], lead);
    }
    assert_eq!(notifications(&d, mine).await["total"], 1);
    assert_eq!(notifications(&d, &other.1).await["total"], 0);
    let timeline = body(
        app.get(&format!("/api/leads/{lead}/timeline"), &d.owner)
            .await,
    )
    .await;
    let notified: Vec<&Value> = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "notified")
        .collect();
    assert_eq!(notified.len(), 2, "{timeline}");
    assert_eq!(notified[0]["detail"]["notification"], "lead_stale");
    assert_eq!(notified[1]["detail"]["notification"], "lead_escalated");

    // Handed to the other agent: a new clock, and the new agent is told in turn.
    let res = app
        .post(
            &format!("/api/leads/{lead}/assign"),
            &d.owner,
            json!({"user_id": other.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let now = callpro_api::db::now();
    assert_eq!(round(&d, now + hours(1)).await, Round::default());
    let r = round(&d, now + hours(25)).await;
    assert_eq!((r.stale, r.escalated), (1, 0));
    let page = notifications(&d, &other.1).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["kind"], "lead_stale");
}

#[tokio::test]
async fn notifications_are_the_callers_own() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Solar").await;
    let owner_id = app
        .user(&admin, "owner@solar.test", "owner", Some(cc))
        .await;
    let agent_id = app
        .user(&admin, "agent@solar.test", "agent", Some(cc))
        .await;
    let owner = app.login("owner@solar.test", USER_PASSWORD).await;
    let agent = app.login("agent@solar.test", USER_PASSWORD).await;
    let ids = app
        .state
        .db
        .run(move |conn| {
            let now = callpro_api::db::now();
            let mut ids = Vec::new();
            for (user_id, message) in [
                (owner_id, "first"),
                (agent_id, "for the agent"),
                (owner_id, "second"),
                (owner_id, "third"),
            ] {
                ids.push(Notification::insert(
                    conn,
                    &NewNotification {
                        call_center_id: cc,
                        user_id,
                        kind: "lead_escalated",
                        lead_id: None,
                        message,
                        created_at: now,
                    },
                )?);
            }
            Ok(ids)
        })
        .await
        .unwrap();
    let messages = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["message"].as_str().unwrap().to_owned())
            .collect()
    };

    // Own only, newest first, paged.
    let page = get_ok(&app, "/api/notifications", &owner).await;
    assert_eq!(page["total"], 3);
    assert_eq!(messages(&page), ["third", "second", "first"]);
    let page = get_ok(&app, "/api/notifications?per_page=2&page=2", &owner).await;
    assert_eq!(
        (page["total"].as_i64(), page["page"].as_i64()),
        (Some(3), Some(2))
    );
    assert_eq!(messages(&page), ["first"]);
    assert_eq!(
        messages(&get_ok(&app, "/api/notifications", &agent).await),
        ["for the agent"]
    );
    assert_eq!(get_ok(&app, "/api/notifications", &admin).await["total"], 0);

    // Someone else's, or none at all, is 404.
    let (first, agents, second) = (ids[0], ids[1], ids[2]);
    for (path, token) in [
        (format!("/api/notifications/{first}/read"), &agent),
        (format!("/api/notifications/{first}/read"), &admin),
        (format!("/api/notifications/{agents}/read"), &owner),
        ("/api/notifications/999999/read".to_owned(), &owner),
    ] {
        let res = app.post(&path, token, json!({})).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // Read one (twice: the same), then the unread filter.
    for _ in 0..2 {
        let res = app
            .post(
                &format!("/api/notifications/{second}/read"),
                &owner,
                json!({}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let unread = get_ok(&app, "/api/notifications?unread=true", &owner).await;
    assert_eq!(messages(&unread), ["third", "first"]);
    let all = get_ok(&app, "/api/notifications", &owner).await;
    assert!(all["items"][1]["read_at"].is_string(), "{all}");
    assert!(all["items"][0]["read_at"].is_null());
    let unread = get_ok(&app, "/api/notifications?unread=true&per_page=1", &owner).await;
    assert_eq!(unread["total"], 2);
    assert_eq!(messages(&unread), ["third"]);

    // Read all: the owner's, not the agent's.
    let res = app
        .post("/api/notifications/read-all", &owner, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        get_ok(&app, "/api/notifications?unread=true", &owner).await["total"],
        0
    );
    assert_eq!(get_ok(&app, "/api/notifications", &owner).await["total"], 3);
    assert_eq!(
        get_ok(&app, "/api/notifications?unread=true", &agent).await["total"],
        1
    );

    // Without a login: 401; a bad page: 422.
    let res = app
        .request(Method::GET, "/api/notifications", None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app.get("/api/notifications?per_page=0", &owner).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Documented, under "leads".
    let doc = body(
        app.request(Method::GET, "/api/openapi.json", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    for (path, method) in [
        ("/api/notifications", "get"),
        ("/api/notifications/{id}/read", "post"),
        ("/api/notifications/read-all", "post"),
    ] {
        assert_eq!(doc["paths"][path][method]["tags"][0], "leads", "{path}");
    }
}
