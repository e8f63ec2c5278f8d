//! Lead notes (`/api/leads/{id}/notes`): the assigned agent's CRUD with its audit and timeline
//! entries, who sees private notes, who edits and deletes, body validation, tenancy, and the
//! timeline hiding entries about private notes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use callpro_api::db::schema::audit_log;
use common::{TestApp, USER_PASSWORD, body};
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Center Alpha (owner, supervisor, the agent its lead is assigned to, and a second agent who
/// came after), center Bravo with its own lead.
struct Desk {
    app: TestApp,
    admin: String,
    owner: String,
    supervisor: String,
    agent: String,
    agent_id: i64,
    other_agent: String,
    lead: i64,
    bravo_agent: String,
    bravo_lead: i64,
}

/// A form without double opt-in in `cc` and one lead posted to it (assigned at once to the
/// center's only agent), as in `tests/rbac.rs`.
async fn lead(app: &TestApp, admin: &str, cc: i64, slug: &str) -> i64 {
    let res = app
        .post(
            "/api/forms",
            admin,
            json!({"call_center_id": cc, "name": "Leads", "slug": slug,
                   "double_opt_in": false,
                   "fields": [{"name": "phone", "label": "Phone", "type": "phone",
                               "required": true, "default_country": "FR"}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .request(Method::POST, &format!("/f/{slug}"), None)
        .json(&json!({"phone": "0612345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let lead = body(res).await;
    assert_eq!(lead["stage"], "assigned");
    lead["id"].as_i64().unwrap()
}

async fn desk() -> Desk {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let alpha = app.call_center(&admin, "Alpha").await;
    app.user(&admin, "owner@alpha.test", "owner", Some(alpha))
        .await;
    app.user(&admin, "sup@alpha.test", "supervisor", Some(alpha))
        .await;
    let agent_id = app
        .user(&admin, "agent@alpha.test", "agent", Some(alpha))
        .await;
    let lead_id = lead(&app, &admin, alpha, "alpha").await;
    // Arrives after the lead went to the first agent: sees nothing of it.
    app.user(&admin, "agent2@alpha.test", "agent", Some(alpha))
        .await;
    let bravo = app.call_center(&admin, "Bravo").await;
    app.user(&admin, "agent@bravo.test", "agent", Some(bravo))
        .await;
    let bravo_lead = lead(&app, &admin, bravo, "bravo").await;
    Desk {
        owner: app.login("owner@alpha.test", USER_PASSWORD).await,
        supervisor: app.login("sup@alpha.test", USER_PASSWORD).await,
        agent: app.login("agent@alpha.test", USER_PASSWORD).await,
        other_agent: app.login("agent2@alpha.test", USER_PASSWORD).await,
        bravo_agent: app.login("agent@bravo.test", USER_PASSWORD).await,
        app,
        admin,
        agent_id,
        lead: lead_id,
        bravo_lead,
    }
}

impl Desk {
    fn notes(&self) -> String {
        format!("/api/leads/{}/notes", self.lead)
    }

    fn note(&self, id: i64) -> String {
        format!("/api/leads/{}/notes/{id}", self.lead)
    }

    /// Adds a note as `token`; returns it.
    async fn add(&self, token: &str, kind: &str, text: &str, private: bool) -> Value {
        let res = self
            .app
            .post(
                &self.notes(),
                token,
                json!({"kind": kind, "body": text, "private": private}),
            )
            .await;
        let status = res.status();
        let note = body(res).await;
        assert_eq!(status, StatusCode::CREATED, "{note}");
        note
    }

    /// The ids of the notes `token` lists, and the total.
    async fn listed(&self, token: &str) -> (Vec<i64>, i64) {
        let res = self.app.get(&self.notes(), token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let page = body(res).await;
        let ids = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_i64().unwrap())
            .collect();
        (ids, page["total"].as_i64().unwrap())
    }

    async fn timeline(&self, token: &str) -> Value {
        let res = self
            .app
            .get(&format!("/api/leads/{}/timeline", self.lead), token)
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        body(res).await
    }
}

/// `(note_id, action)` of the timeline's note entries.
fn note_events(timeline: &Value) -> Vec<(i64, String)> {
    timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "note")
        .map(|e| {
            (
                e["detail"]["note_id"].as_i64().unwrap(),
                e["detail"]["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn note_audit(app: &TestApp) -> Vec<(String, Option<String>)> {
    app.state
        .db
        .run(|conn| {
            Ok(audit_log::table
                .filter(audit_log::entity.eq("lead_note"))
                .order(audit_log::id.asc())
                .select((audit_log::action, audit_log::entity_id))
                .load(conn)?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn the_assigned_agent_adds_lists_edits_and_deletes_notes() {
    let d = desk().await;
    let app = &d.app;

    let first = d.add(&d.agent, "comment", "Called, no answer", false).await;
    assert_eq!(first["lead_id"], d.lead);
    assert_eq!(first["author_user_id"], d.agent_id);
    assert_eq!(first["kind"], "comment");
    assert_eq!(first["private"], false);
    assert_eq!(first["body"], "Called, no answer");
    // `private` defaults to false.
    let res = app
        .post(
            &d.notes(),
            &d.agent,
            json!({"kind": "call_log", "body": "Spoke 5 min, wants a quote"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let second = body(res).await;
    assert_eq!(second["private"], false);
    let (a, b) = (
        first["id"].as_i64().unwrap(),
        second["id"].as_i64().unwrap(),
    );

    // Oldest first, paged.
    assert_eq!(d.listed(&d.agent).await, (vec![a, b], 2));
    let page = body(
        app.get(&format!("{}?per_page=1&page=2", d.notes()), &d.agent)
            .await,
    )
    .await;
    assert_eq!(page["items"][0]["id"], b);
    assert_eq!(page["total"], 2);
    assert_eq!(page["per_page"], 1);
    let res = app
        .get(&format!("{}?per_page=0", d.notes()), &d.agent)
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Edit.
    let res = app
        .patch(
            &d.note(a),
            &d.agent,
            json!({"body": "Called twice, no answer", "kind": "internal_note"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited = body(res).await;
    assert_eq!(edited["body"], "Called twice, no answer");
    assert_eq!(edited["kind"], "internal_note");
    assert_eq!(edited["private"], false);
    // Nothing to change, or an unknown kind: 422.
    let res = app.patch(&d.note(a), &d.agent, json!({})).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .patch(&d.note(a), &d.agent, json!({"kind": "memo"}))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Delete.
    let res = app.delete(&d.note(b), &d.agent).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(d.listed(&d.agent).await, (vec![a], 1));
    let res = app.delete(&d.note(b), &d.agent).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.patch(&d.note(b), &d.agent, json!({"body": "x"})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // One audit entry and one timeline entry per change, none for refused ones.
    let (a_id, b_id) = (a.to_string(), b.to_string());
    assert_eq!(
        note_audit(app).await,
        vec![
            ("lead_note.create".to_owned(), Some(a_id.clone())),
            ("lead_note.create".to_owned(), Some(b_id.clone())),
            ("lead_note.update".to_owned(), Some(a_id)),
            ("lead_note.delete".to_owned(), Some(b_id)),
        ]
    );
    let timeline = d.timeline(&d.agent).await;
    assert_eq!(
        note_events(&timeline),
        vec![
            (a, "added".to_owned()),
            (b, "added".to_owned()),
            (a, "edited".to_owned()),
            (b, "deleted".to_owned()),
        ]
    );
    let entry = timeline
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "note")
        .unwrap();
    assert_eq!(entry["actor_user_id"], d.agent_id);
    assert_eq!(entry["detail"]["kind"], "comment");
    assert_eq!(entry["detail"]["private"], false);
    // The timeline never carries a body.
    let text = timeline.to_string();
    assert!(
        !text.contains("no answer") && !text.contains("quote"),
        "{text}"
    );

    // Supervisors and owners write on every lead of their center; the agent reads it.
    let from_sup = d
        .add(&d.supervisor, "internal_note", "Priority customer", false)
        .await;
    let from_owner = d.add(&d.owner, "comment", "Seen", false).await;
    assert_eq!(
        d.listed(&d.agent).await,
        (
            vec![
                a,
                from_sup["id"].as_i64().unwrap(),
                from_owner["id"].as_i64().unwrap()
            ],
            3
        )
    );
}

#[tokio::test]
async fn private_notes_are_for_their_author_and_the_owners() {
    let d = desk().await;
    let app = &d.app;
    let private = d
        .add(&d.agent, "comment", "Sounds unsure, secret", true)
        .await;
    let public = d.add(&d.agent, "call_log", "Left a message", false).await;
    let (p, q) = (
        private["id"].as_i64().unwrap(),
        public["id"].as_i64().unwrap(),
    );
    assert_eq!(private["private"], true);

    // The author, the owner and super admins see it; the supervisor does not.
    assert_eq!(d.listed(&d.agent).await, (vec![p, q], 2));
    assert_eq!(d.listed(&d.owner).await, (vec![p, q], 2));
    assert_eq!(d.listed(&d.admin).await, (vec![p, q], 2));
    assert_eq!(d.listed(&d.supervisor).await, (vec![q], 1));
    for res in [
        app.patch(&d.note(p), &d.supervisor, json!({"body": "x"}))
            .await,
        app.delete(&d.note(p), &d.supervisor).await,
    ] {
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    // Another agent of the center does not see the lead at all.
    for res in [
        app.get(&d.notes(), &d.other_agent).await,
        app.post(
            &d.notes(),
            &d.other_agent,
            json!({"kind": "comment", "body": "hi"}),
        )
        .await,
        app.patch(&d.note(p), &d.other_agent, json!({"body": "x"}))
            .await,
        app.patch(&d.note(q), &d.other_agent, json!({"body": "x"}))
            .await,
        app.delete(&d.note(q), &d.other_agent).await,
        app.get(&format!("/api/leads/{}/timeline", d.lead), &d.other_agent)
            .await,
    ] {
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }

    // A supervisor's private note is hidden from the agent, not from the owner.
    let sup_private = d
        .add(&d.supervisor, "internal_note", "Watch this agent", true)
        .await;
    let s = sup_private["id"].as_i64().unwrap();
    assert_eq!(d.listed(&d.supervisor).await, (vec![q, s], 2));
    assert_eq!(d.listed(&d.agent).await, (vec![p, q], 2));
    assert_eq!(d.listed(&d.owner).await, (vec![p, q, s], 3));
    let res = app.patch(&d.note(s), &d.agent, json!({"body": "x"})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The timeline hides the entries about private notes from those who cannot see them.
    let sup_view = note_events(&d.timeline(&d.supervisor).await);
    assert_eq!(
        sup_view,
        vec![(q, "added".to_owned()), (s, "added".to_owned())]
    );
    let agent_view = note_events(&d.timeline(&d.agent).await);
    assert_eq!(
        agent_view,
        vec![(p, "added".to_owned()), (q, "added".to_owned())]
    );
    let owner_timeline = d.timeline(&d.owner).await;
    assert_eq!(note_events(&owner_timeline).len(), 3);
    assert!(!owner_timeline.to_string().contains("secret"));

    // The owner edits and deletes anyone's private note; the author still sees the edit.
    let res = app
        .patch(&d.note(p), &d.owner, json!({"body": "Unsure, call again"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["author_user_id"], d.agent_id);
    let res = app.delete(&d.note(s), &d.owner).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(d.listed(&d.supervisor).await, (vec![q], 1));
    // Its deletion is hidden from the agent too; the edit of the agent's note is not.
    assert_eq!(
        note_events(&d.timeline(&d.agent).await),
        vec![
            (p, "added".to_owned()),
            (q, "added".to_owned()),
            (p, "edited".to_owned()),
        ]
    );

    // Made public by its author, the note appears for the supervisor.
    let res = app
        .patch(&d.note(p), &d.agent, json!({"private": false}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(d.listed(&d.supervisor).await, (vec![p, q], 2));
    // Its history while private stays hidden; the change that made it public shows, and so
    // does the deletion of the supervisor's own private note.
    assert_eq!(
        note_events(&d.timeline(&d.supervisor).await),
        vec![
            (q, "added".to_owned()),
            (s, "added".to_owned()),
            (s, "deleted".to_owned()),
            (p, "edited".to_owned()),
        ]
    );
}

#[tokio::test]
async fn only_the_author_and_owners_change_a_note() {
    let d = desk().await;
    let app = &d.app;
    let by_agent = d.add(&d.agent, "comment", "Wants a call at 6", false).await;
    let by_owner = d.add(&d.owner, "comment", "Key account", false).await;
    let (a, o) = (
        by_agent["id"].as_i64().unwrap(),
        by_owner["id"].as_i64().unwrap(),
    );

    // A supervisor sees the agent's public note but does not change it.
    for res in [
        app.patch(&d.note(a), &d.supervisor, json!({"body": "x"}))
            .await,
        app.delete(&d.note(a), &d.supervisor).await,
        // Nor does the agent change the owner's.
        app.patch(&d.note(o), &d.agent, json!({"private": true}))
            .await,
        app.delete(&d.note(o), &d.agent).await,
    ] {
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(d.listed(&d.agent).await, (vec![a, o], 2));
    assert!(note_audit(app).await.len() == 2, "refusals write nothing");

    // Owners and super admins do.
    let res = app
        .patch(&d.note(a), &d.owner, json!({"kind": "call_log"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.delete(&d.note(o), &d.admin).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // A supervisor changes their own note.
    let own = d.add(&d.supervisor, "comment", "Checked", false).await;
    let res = app
        .patch(
            &d.note(own["id"].as_i64().unwrap()),
            &d.supervisor,
            json!({"body": "Checked twice"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .delete(&d.note(own["id"].as_i64().unwrap()), &d.supervisor)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn bodies_are_checked() {
    let d = desk().await;
    let app = &d.app;
    for payload in [
        json!({"kind": "comment", "body": ""}),
        json!({"kind": "comment", "body": "  \n "}),
        json!({"kind": "comment", "body": "a\u{0}b"}),
        json!({"kind": "comment", "body": "x".repeat(10_001)}),
        json!({"kind": "memo", "body": "hello"}),
        json!({"body": "no kind"}),
        json!({"kind": "comment", "body": "hello", "pinned": true}),
    ] {
        let res = app.post(&d.notes(), &d.agent, payload.clone()).await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            &payload.to_string()[..payload.to_string().len().min(80)]
        );
    }
    let res = app
        .post(&d.notes(), &d.agent, json!({"kind": "comment", "body": ""}))
        .await;
    let problem = body(res).await;
    assert!(problem.to_string().contains("body"), "{problem}");
    assert_eq!(d.listed(&d.agent).await, (vec![], 0));

    // 10,000 characters (not bytes) are fine.
    let long = d.add(&d.agent, "comment", &"é".repeat(10_000), false).await;
    let id = long["id"].as_i64().unwrap();
    for change in [
        json!({"body": ""}),
        json!({"body": "x".repeat(10_001)}),
        json!({"body": "nul\u{0}"}),
        json!({"private": "yes"}),
    ] {
        let res = app.patch(&d.note(id), &d.agent, change).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(note_audit(app).await.len(), 1);
}

#[tokio::test]
async fn notes_of_another_tenants_lead_are_not_found() {
    let d = desk().await;
    let app = &d.app;
    let bravo_notes = format!("/api/leads/{}/notes", d.bravo_lead);
    let res = app
        .post(
            &bravo_notes,
            &d.bravo_agent,
            json!({"kind": "comment", "body": "Bravo's own"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let n = body(res).await["id"].as_i64().unwrap();
    let bravo_note = format!("{bravo_notes}/{n}");
    for token in [&d.owner, &d.supervisor, &d.agent] {
        for res in [
            app.get(&bravo_notes, token).await,
            app.post(&bravo_notes, token, json!({"kind": "comment", "body": "x"}))
                .await,
            app.patch(&bravo_note, token, json!({"body": "x"})).await,
            app.delete(&bravo_note, token).await,
            // Nor through a lead of their own.
            app.patch(&d.note(n), token, json!({"body": "x"})).await,
            app.delete(&d.note(n), token).await,
        ] {
            assert_eq!(res.status(), StatusCode::NOT_FOUND);
        }
    }
    // A note is only reachable under its own lead, for super admins too.
    let res = app.patch(&d.note(n), &d.admin, json!({"body": "x"})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.get(&bravo_notes, &d.admin).await;
    assert_eq!(body(res).await["total"], 1);
    // Unknown leads and notes.
    let res = app.get("/api/leads/999999/notes", &d.owner).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.delete(&d.note(999_999), &d.owner).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_openapi_document_lists_the_notes_routes() {
    let app = TestApp::spawn().await;
    let doc = body(
        app.request(Method::GET, "/api/openapi.json", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let paths = &doc["paths"];
    let list = &paths["/api/leads/{id}/notes"];
    let one = &paths["/api/leads/{lead_id}/notes/{note_id}"];
    for op in [&list["get"], &list["post"], &one["patch"], &one["delete"]] {
        assert_eq!(op["tags"][0], "leads", "{op}");
    }
    assert!(list["post"]["responses"].get("201").is_some());
    assert!(one["delete"]["responses"].get("204").is_some());
    assert!(doc["components"]["schemas"].get("LeadNoteView").is_some());
}
