//! Lead confirmation end to end, against a real SMTP server (aiosmtpd): a public form, bad
//! submissions refused with every failing field and nothing stored, good ones stored with
//! their double opt-in email, the link followed, round-robin assignment, the agent's
//! qualification and the timeline that shows every step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use callpro_api::db::schema::{lead_tokens, leads};
use callpro_api::email::worker::{self, OutboxHandle, WorkerConfig};
use common::{SmtpServer, TestApp, USER_PASSWORD, body};
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Desk {
    app: TestApp,
    owner: String,
    agents: [(i64, String); 2],
    _worker: OutboxHandle,
}

fn fast_worker(app: &TestApp) -> OutboxHandle {
    worker::spawn(
        app.state.clone(),
        WorkerConfig {
            poll: Duration::from_millis(100),
            backoff: Duration::from_millis(300),
            max_attempts: 4,
            smtp_timeout: Duration::from_secs(5),
            ..WorkerConfig::default()
        },
    )
}

/// A call center with an SMTP profile on `smtp`, a template, two agents and the form `solar`.
async fn desk(smtp: &SmtpServer) -> Desk {
    desk_with(smtp, |_| {}).await
}

async fn desk_with(
    smtp: &SmtpServer,
    adjust: impl FnOnce(&mut callpro_api::config::Config),
) -> Desk {
    let app = TestApp::spawn_with(|c| {
        c.http.public_url = Some("https://leads.callpro.test".into());
        adjust(c);
    })
    .await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Solar").await;
    app.user(&admin, "owner@solar.test", "owner", Some(cc))
        .await;
    let owner = app.login("owner@solar.test", USER_PASSWORD).await;
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
                    {"name": "first_name", "label": "First name", "type": "text", "required": true, "max_length": 50},
                    {"name": "last_name", "label": "Last name", "type": "text"},
                    {"name": "email", "label": "Email", "type": "email", "required": true},
                    {"name": "phone", "label": "Phone", "type": "phone", "required": true, "default_country": "FR"},
                    {"name": "project", "label": "Project", "type": "select", "required": true,
                     "options": ["roof", "carport"]},
                    {"name": "zip", "label": "Postcode", "type": "text", "pattern": "[0-9]{5}"},
                    {"name": "consent", "label": "I agree to be called", "type": "checkbox", "required": true}
                ],
                "smtp_profile_id": profile,
                "email_template_id": template,
                "double_opt_in": true,
                "consent_text": "We call you about your project only."
            }),
        )
        .await;
    let status = res.status();
    let form = body(res).await;
    assert_eq!(status, StatusCode::CREATED, "{form}");
    let worker = fast_worker(&app);
    assert!(form["id"].is_i64());
    Desk {
        app,
        owner,
        agents: [agents.remove(0), agents.remove(0)],
        _worker: worker,
    }
}

async fn lead_count(app: &TestApp) -> i64 {
    app.state
        .db
        .run(|conn| Ok(leads::table.count().get_result(conn)?))
        .await
        .unwrap()
}

async fn post_json(app: &TestApp, path: &str, payload: Value) -> reqwest::Response {
    app.request(Method::POST, path, None)
        .json(&payload)
        .send()
        .await
        .unwrap()
}

fn good(first: &str, email: &str, phone: &str) -> Value {
    json!({"first_name": first, "last_name": "Martin", "email": email, "phone": phone,
           "project": "roof", "zip": "75011", "consent": true})
}

/// The confirmation path (`/confirm/<token>`) in an email as received (its bodies are
/// quoted-printable: soft line breaks undone first).
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

fn kinds(timeline: &Value) -> Vec<String> {
    timeline
        .as_array()
        .unwrap()
        .iter()
        .map(
            |e| match (e["from_stage"].as_str(), e["to_stage"].as_str()) {
                (Some(from), Some(to)) => format!("{from}->{to}"),
                _ => e["kind"].as_str().unwrap().to_owned(),
            },
        )
        .collect()
}

#[tokio::test]
async fn form_to_email_to_confirmation_to_assignment_to_qualification() {
    let smtp = SmtpServer::start();
    let d = desk(&smtp).await;
    let app = &d.app;

    // The public page carries the rules as HTML5 attributes.
    let page = app
        .request(Method::GET, "/f/solar", None)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("name=\"email\"") && html.contains("type=\"email\""),
        "{html}"
    );
    assert!(html.contains("pattern=\"[0-9]{5}\""), "{html}");
    assert!(html.contains("We call you about your project only."));

    // Two good submissions: one as JSON, one as a browser posts the form.
    let res = post_json(
        app,
        "/f/solar",
        good("Jeanne", "jeanne@example.com", "06 12 34 56 78"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let first = body(res).await;
    assert_eq!(first["stage"], "pending_email");
    let first_id = first["id"].as_i64().unwrap();
    let res = app
        .request(Method::POST, "/f/solar", None)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("first_name=Paul&email=paul%40example.com&phone=%2B33698765432&project=carport&consent=on")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("email"));

    // Each gets its double opt-in email, with a link that works once and is idempotent.
    let messages = smtp.wait_for(2).await;
    let to_jeanne = messages
        .iter()
        .find(|m| m.contains("jeanne@example.com"))
        .unwrap();
    assert!(to_jeanne.contains("Please confirm, Jeanne"), "{to_jeanne}");
    let to_paul = messages
        .iter()
        .find(|m| m.contains("paul@example.com"))
        .unwrap();
    for message in [to_jeanne, to_paul] {
        let path = confirm_path(message);
        let res = app.request(Method::GET, &path, None).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.text().await.unwrap().contains("confirmed"));
    }
    let again = app
        .request(Method::GET, &confirm_path(to_jeanne), None)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.text().await.unwrap().contains("already confirmed"));

    // Round robin: one lead each.
    let (alice, alice_token) = &d.agents[0];
    let (bob, bob_token) = &d.agents[1];
    let mine = body(app.get("/api/leads", alice_token).await).await;
    assert_eq!(mine["total"], 1, "{mine}");
    let alice_lead = mine["items"][0].clone();
    assert_eq!(alice_lead["stage"], "assigned");
    assert_eq!(alice_lead["assigned_user_id"].as_i64(), Some(*alice));
    let bobs = body(app.get("/api/leads", bob_token).await).await;
    assert_eq!(bobs["total"], 1);
    assert_eq!(bobs["items"][0]["assigned_user_id"].as_i64(), Some(*bob));
    assert_ne!(bobs["items"][0]["id"], alice_lead["id"]);
    // An agent does not see a colleague's lead.
    let other = bobs["items"][0]["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&format!("/api/leads/{other}"), alice_token)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // Alice calls and qualifies: confirmed.
    let lead = alice_lead["id"].as_i64().unwrap();
    let res = app
        .post(
            &format!("/api/leads/{lead}/qualify"),
            alice_token,
            json!({"result": "confirmed", "comment": "wants a quote for 12 panels"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["stage"], "call_confirmed");

    // The timeline shows every step, in order.
    let timeline = body(
        app.get(&format!("/api/leads/{lead}/timeline"), &d.owner)
            .await,
    )
    .await;
    assert_eq!(
        kinds(&timeline),
        [
            "submitted",
            "email_queued",
            "new->pending_email",
            "pending_email->email_confirmed",
            "email_confirmed->assigned",
            "assigned",
            "qualified",
            "assigned->call_confirmed",
        ],
        "{timeline}"
    );
    // Consent evidence is kept.
    let stored = body(app.get(&format!("/api/leads/{first_id}"), &d.owner).await).await;
    assert_eq!(stored["phone"], "+33612345678");
    assert!(stored["email_confirmed_at"].is_string());
    assert_eq!(stored["confirmed_ip"], "127.0.0.1");
    assert_eq!(stored["submitted_ip"], "127.0.0.1");
    assert_eq!(stored["fields"]["project"], "roof");
}

#[tokio::test]
async fn bad_submissions_are_refused_with_every_field_and_store_nothing() {
    let smtp = SmtpServer::start();
    let d = desk(&smtp).await;
    let app = &d.app;

    let res = post_json(
        app,
        "/f/solar",
        json!({"first_name": "", "email": "not-an-email", "phone": "12", "project": "pool",
               "zip": "ABCDE", "consent": false}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err = body(res).await;
    assert_eq!(err["code"], "validation_failed");
    let mut fields: Vec<&str> = err["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["consent", "email", "first_name", "phone", "project", "zip"],
        "{err}"
    );

    // A browser's post is answered with the form again, the problems listed.
    let res = app
        .request(Method::POST, "/f/solar", None)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("first_name=Paul&email=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("<form"));

    let huge = json!({"first_name": "x".repeat(100_000)});
    assert_eq!(
        post_json(app, "/f/solar", huge).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        post_json(app, "/f/nope", good("A", "a@example.com", "0612345678"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let res = app
        .request(Method::POST, "/f/solar", None)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = app
        .request(Method::POST, "/f/solar", None)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // The honeypot: accepted in appearance, dropped in fact.
    let mut bot = good("Bot", "bot@example.com", "0612345678");
    bot["website_url"] = json!("http://spam.example");
    assert_eq!(
        post_json(app, "/f/solar", bot).await.status(),
        StatusCode::ACCEPTED
    );

    assert_eq!(lead_count(app).await, 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(smtp.messages().is_empty());

    // Unknown and expired links get pages, not errors.
    let res = app
        .request(Method::GET, "/confirm/not-a-token", None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("not valid"));
    let res = post_json(
        app,
        "/f/solar",
        good("Late", "late@example.com", "0612345678"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let path = confirm_path(&smtp.wait_for(1).await[0]);
    app.state
        .db
        .run(|conn| {
            diesel::update(lead_tokens::table)
                .set(
                    lead_tokens::expires_at
                        .eq(chrono::Utc::now().naive_utc() - chrono::Duration::hours(1)),
                )
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let res = app.request(Method::GET, &path, None).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
}

#[tokio::test]
async fn submissions_are_rate_limited_per_address() {
    let smtp = SmtpServer::start();
    let d = desk_with(&smtp, |c| c.leads.per_ip_per_minute = 2).await;
    for n in 0..2 {
        let email = format!("p{n}@example.com");
        let res = post_json(&d.app, "/f/solar", good("P", &email, "0612345678")).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let res = post_json(
        &d.app,
        "/f/solar",
        good("P", "p3@example.com", "0612345678"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(body(res).await["code"], "too_many_submissions");
    assert_eq!(lead_count(&d.app).await, 2);
}

#[tokio::test]
async fn concurrent_submissions_are_each_stored_once_and_answered_with_their_own_lead() {
    let smtp = SmtpServer::start();
    // From one address: its limit (30 a minute) would refuse most of them.
    let d = desk_with(&smtp, |c| c.leads.per_ip_per_minute = 0).await;
    // Posted together, they reach the intake's writer together and share its transactions.
    let posts = (0..48).map(|n| {
        let app = &d.app;
        async move {
            let email = format!("c{n}@example.com");
            let phone = format!("06123456{n:02}");
            let res = post_json(app, "/f/solar", good("C", &email, &phone)).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            (email, body(res).await["id"].as_i64().unwrap())
        }
    });
    let stored = futures_util::future::join_all(posts).await;
    let mut ids: Vec<i64> = stored.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 48, "one lead per submission");
    for (email, id) in &stored {
        let res = d.app.get(&format!("/api/leads/{id}"), &d.owner).await;
        assert_eq!(res.status(), StatusCode::OK);
        let lead = body(res).await;
        assert_eq!(
            lead["email"],
            email.as_str(),
            "the answer names its own lead"
        );
        assert_eq!(lead["stage"], "pending_email");
    }
    assert_eq!(lead_count(&d.app).await, 48);
    let emails: Vec<Option<i64>> = d
        .app
        .state
        .db
        .run(|conn| {
            use callpro_api::db::schema::email_outbox;
            Ok(email_outbox::table
                .select(email_outbox::lead_id)
                .order(email_outbox::lead_id)
                .load(conn)?)
        })
        .await
        .unwrap();
    let queued: Vec<i64> = emails.into_iter().flatten().collect();
    let mut expected = ids.clone();
    expected.sort_unstable();
    assert_eq!(queued, expected, "one confirmation email per lead");
}
