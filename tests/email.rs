//! Email end to end against a real SMTP server (aiosmtpd): SMTP profiles with sealed passwords
//! and test sends, templates with checked variables and escaped previews, and the outbox
//! worker's delivery, retries, permanent failures and recovery after a crash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use callpro_api::db::schema::{email_outbox, smtp_profiles};
use callpro_api::email::worker::{self, OutboxHandle, WorkerConfig};
use callpro_api::email::{Enqueue, Outbox, OutboxEmail};
use common::{SmtpServer, TestApp, USER_PASSWORD, body};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn owner(app: &TestApp, name: &str) -> (i64, String) {
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, name).await;
    let email = format!("owner@{}.test", name.to_lowercase());
    app.user(&admin, &email, "owner", Some(cc)).await;
    (cc, app.login(&email, USER_PASSWORD).await)
}

async fn profile(app: &TestApp, token: &str, port: u16) -> i64 {
    let res = app
        .post(
            "/api/smtp-profiles",
            token,
            json!({"name": "local", "host": "127.0.0.1", "port": port, "security": "none",
                   "from_name": "Callpro Sales", "from_address": "sales@callpro.test",
                   "reply_to": "desk@callpro.test"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    body(res).await["id"].as_i64().unwrap()
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

async fn enqueue(app: &TestApp, cc: i64, profile: i64, to: &str) -> OutboxEmail {
    let to = to.to_owned();
    app.state
        .db
        .run(move |conn| {
            Ok(Outbox::enqueue(
                conn,
                &Enqueue {
                    call_center_id: cc,
                    smtp_profile_id: profile,
                    template_id: None,
                    lead_id: None,
                    to: &to,
                    subject: "Please confirm",
                    html: "<p>Hello</p>",
                    text: "Hello",
                },
            )?)
        })
        .await
        .unwrap()
}

async fn row(app: &TestApp, id: i64) -> OutboxEmail {
    app.state
        .db
        .run(move |conn| Ok(Outbox::find(conn, id)?))
        .await
        .unwrap()
}

async fn wait_status(app: &TestApp, id: i64, status: &str) -> OutboxEmail {
    for _ in 0..200 {
        let r = row(app, id).await;
        if r.status == status {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("email {id} is {} after 20 s", row(app, id).await.status);
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_keep_the_password_sealed_and_never_return_it() {
    let app = TestApp::spawn().await;
    let (_, token) = owner(&app, "Alpha").await;
    let res = app
        .post(
            "/api/smtp-profiles",
            &token,
            json!({"name": "brevo", "host": "smtp.example.com", "port": 587,
                   "username": "u", "password": "hunter2-secret", "from_address": "a@b.test"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = body(res).await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["has_password"], true);
    assert_eq!(created["security"], "starttls");
    assert!(created.get("password").is_none());
    assert!(!created.to_string().contains("hunter2"));

    let sealed: Option<String> = app
        .state
        .db
        .run(move |conn| {
            Ok(smtp_profiles::table
                .find(id)
                .select(smtp_profiles::password_enc)
                .first(conn)?)
        })
        .await
        .unwrap();
    let sealed = sealed.unwrap();
    assert!(!sealed.contains("hunter2"));
    assert_eq!(app.state.secrets.open(&sealed).unwrap(), "hunter2-secret");

    let listed = body(app.get("/api/smtp-profiles", &token).await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains("hunter2"));

    let res = app
        .patch(
            &format!("/api/smtp-profiles/{id}"),
            &token,
            json!({"password": null, "security": "tls", "port": 465}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let changed = body(res).await;
    assert_eq!(changed["has_password"], false);
    assert_eq!(changed["security"], "tls");

    let res = app
        .post(
            "/api/smtp-profiles",
            &token,
            json!({"name": "bad", "host": "smtp.example.com", "from_address": "nope"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let res = app
        .delete(&format!("/api/smtp-profiles/{id}"), &token)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_send_reaches_the_server_and_a_dead_server_is_a_502() {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn().await;
    let (_, token) = owner(&app, "Alpha").await;
    let id = profile(&app, &token, smtp.port).await;
    let res = app
        .post(
            &format!("/api/smtp-profiles/{id}/test"),
            &token,
            json!({"to": "jeanne@example.test"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let result = body(res).await;
    assert_eq!(result["accepted"], true);
    assert!(
        result["response"].as_str().unwrap().starts_with("250"),
        "{result}"
    );
    let messages = smtp.wait_for(1).await;
    assert!(
        header(&messages[0], "To")
            .unwrap()
            .contains("jeanne@example.test")
    );
    assert!(
        header(&messages[0], "From")
            .unwrap()
            .contains("sales@callpro.test")
    );
    assert!(
        header(&messages[0], "Reply-To")
            .unwrap()
            .contains("desk@callpro.test")
    );

    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dead = body(
        app.post(
            "/api/smtp-profiles",
            &token,
            json!({"name": "dead", "host": "127.0.0.1", "port": port, "security": "none",
                   "from_address": "a@b.test"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let res = app
        .post(
            &format!("/api/smtp-profiles/{dead}/test"),
            &token,
            json!({"to": "jeanne@example.test"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(body(res).await["code"], "smtp_failed");

    let rejecting = SmtpServer::start_with(&[], &["nobody@example.test"]);
    let res = app
        .patch(
            &format!("/api/smtp-profiles/{dead}"),
            &token,
            json!({"port": rejecting.port}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .post(
            &format!("/api/smtp-profiles/{dead}/test"),
            &token,
            json!({"to": "nobody@example.test"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert!(body(res).await["message"].as_str().unwrap().contains("550"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_refuse_unknown_variables_and_previews_escape_values() {
    let app = TestApp::spawn().await;
    let (_, token) = owner(&app, "Alpha").await;
    let res = app
        .post(
            "/api/email-templates",
            &token,
            json!({"name": "t", "subject": "Hi {{first_name}}",
                   "html_body": "<p>{{ first_nmae }}</p>", "text_body": "x"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error = body(res).await;
    let fields = error["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 1, "{error}");
    assert_eq!(fields[0]["field"], "html_body");
    assert!(
        fields[0]["message"]
            .as_str()
            .unwrap()
            .contains("first_nmae")
    );

    let res = app
        .post(
            "/api/email-templates",
            &token,
            json!({"name": "confirm", "subject": "Hi {{first_name}} {{last_name}}",
                   "html_body": "<p>{{last_name}} of {{company}} in {{field.city}}</p>",
                   "text_body": "{{last_name}} <{{email}}> {{confirm_url}}",
                   "html_signature": "<p>-- {{first_name}}</p>"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = body(res).await["id"].as_i64().unwrap();
    let preview = body(
        app.post(
            &format!("/api/email-templates/{id}/preview"),
            &token,
            json!({}),
        )
        .await,
    )
    .await;
    let html = preview["html_body"].as_str().unwrap();
    assert!(
        html.contains("Dupont &lt;sample&gt; of Dupont &amp; Fils in &lt;city&gt;"),
        "{html}"
    );
    assert!(html.ends_with("<p>-- Jeanne</p>"), "{html}");
    assert_eq!(preview["subject"], "Hi Jeanne Dupont <sample>");
    assert!(
        preview["text_body"]
            .as_str()
            .unwrap()
            .starts_with("Dupont <sample> <jeanne.dupont@example.com> https://")
    );

    let res = app
        .patch(
            &format!("/api/email-templates/{id}"),
            &token,
            json!({"subject": "{{unknown}}"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(res).await["fields"][0]["field"], "subject");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_delivers_queued_email_with_its_message_id() {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn().await;
    let (cc, token) = owner(&app, "Alpha").await;
    let profile = profile(&app, &token, smtp.port).await;
    let worker = fast_worker(&app);
    let queued = enqueue(&app, cc, profile, "lead@example.test").await;
    assert_eq!(queued.status, "queued");
    let sent = wait_status(&app, queued.id, "sent").await;
    assert_eq!(sent.attempts, 1);
    assert!(sent.sent_at.is_some());
    assert!(sent.claimed_by.is_none());
    let messages = smtp.wait_for(1).await;
    assert_eq!(
        header(&messages[0], "Message-ID"),
        Some(sent.message_id.as_str())
    );
    assert_eq!(header(&messages[0], "Subject"), Some("Please confirm"));

    let history = body(app.get("/api/emails?status=sent", &token).await).await;
    assert_eq!(history["items"][0]["id"], queued.id);
    assert_eq!(history["items"][0]["message_id"], sent.message_id.as_str());
    let none = body(app.get("/api/emails?status=failed", &token).await).await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_451_is_retried_and_a_550_fails_at_once() {
    let smtp = SmtpServer::start_with(&["later@example.test"], &["gone@example.test"]);
    let app = TestApp::spawn().await;
    let (cc, token) = owner(&app, "Alpha").await;
    let profile = profile(&app, &token, smtp.port).await;
    let worker = fast_worker(&app);
    let later = enqueue(&app, cc, profile, "later@example.test").await;
    let gone = enqueue(&app, cc, profile, "gone@example.test").await;

    let failed = wait_status(&app, gone.id, "failed").await;
    assert_eq!(failed.attempts, 1);
    assert!(
        failed.last_error.as_deref().unwrap().contains("550"),
        "{failed:?}"
    );

    let sent = wait_status(&app, later.id, "sent").await;
    assert_eq!(sent.attempts, 2);
    let messages = smtp.wait_for(1).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(
        header(&messages[0], "Message-ID"),
        Some(sent.message_id.as_str())
    );
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_left_sending_by_a_dead_worker_is_sent_again_with_the_same_message_id() {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn().await;
    let (cc, token) = owner(&app, "Alpha").await;
    let profile = profile(&app, &token, smtp.port).await;
    let queued = enqueue(&app, cc, profile, "lead@example.test").await;
    // A worker claimed it, maybe sent it, and died before marking it: the lease ran out.
    let id = queued.id;
    app.state
        .db
        .run(move |conn| {
            let past = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(5);
            diesel::update(email_outbox::table.find(id))
                .set((
                    email_outbox::status.eq("sending"),
                    email_outbox::attempts.eq(1),
                    email_outbox::claimed_by.eq(Some("dead-worker")),
                    email_outbox::claimed_until.eq(Some(past)),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    // A live lease is left alone.
    let other = enqueue(&app, cc, profile, "other@example.test").await;
    let other_id = other.id;
    app.state
        .db
        .run(move |conn| {
            let future = chrono::Utc::now().naive_utc() + chrono::Duration::seconds(600);
            diesel::update(email_outbox::table.find(other_id))
                .set((
                    email_outbox::status.eq("sending"),
                    email_outbox::claimed_by.eq(Some("busy-worker")),
                    email_outbox::claimed_until.eq(Some(future)),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();

    let worker = fast_worker(&app);
    let sent = wait_status(&app, id, "sent").await;
    assert_eq!(sent.attempts, 2);
    assert_eq!(sent.message_id, queued.message_id);
    let messages = smtp.wait_for(1).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(
        header(&messages[0], "Message-ID"),
        Some(queued.message_id.as_str())
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(row(&app, other_id).await.status, "sending");
    assert_eq!(smtp.messages().len(), 1);
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenant_sees_none_of_it() {
    let app = TestApp::spawn().await;
    let (cc_a, token_a) = owner(&app, "Alpha").await;
    let (_, token_b) = owner(&app, "Bravo").await;
    let profile = profile(&app, &token_a, 2525).await;
    let template = body(
        app.post(
            "/api/email-templates",
            &token_a,
            json!({"name": "t", "subject": "s", "html_body": "h", "text_body": "t"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    enqueue(&app, cc_a, profile, "lead@example.test").await;
    for path in [
        format!("/api/smtp-profiles/{profile}"),
        format!("/api/email-templates/{template}"),
    ] {
        assert_eq!(
            app.get(&path, &token_b).await.status(),
            StatusCode::NOT_FOUND
        );
    }
    let res = app
        .post(
            &format!("/api/smtp-profiles/{profile}/test"),
            &token_b,
            json!({"to": "x@example.test"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .patch(
            &format!("/api/smtp-profiles/{profile}"),
            &token_b,
            json!({"port": 25}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    for bad in [
        "/api/emails?status=bogus",
        "/api/emails?from=yesterday",
        "/api/emails?lead_id=x",
    ] {
        let status = app.get(bad, &token_a).await.status();
        assert!(status.is_client_error(), "{bad}: {status}");
    }
    let res = app
        .post("/api/email-templates/999999/preview", &token_a, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    for path in ["/api/smtp-profiles", "/api/email-templates", "/api/emails"] {
        let list = body(app.get(path, &token_b).await).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 0, "{path}");
        let own = body(app.get(path, &token_a).await).await;
        assert_eq!(own["items"].as_array().unwrap().len(), 1, "{path}");
    }
}
