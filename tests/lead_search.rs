//! Lead search on both backends: text over names, email, phone and submitted fields, combined
//! filters, stable pages, what each role finds, the streamed CSV export and saved searches.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use common::{TestApp, USER_PASSWORD, body};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct World {
    app: TestApp,
    owner: String,
    agent: String,
}

const PEOPLE: [(&str, &str, &str, &str, &str); 6] = [
    (
        "Jeanne",
        "Dupont",
        "jeanne.dupont@example.com",
        "06 12 34 56 78",
        "roof",
    ),
    (
        "Paul",
        "Martin",
        "paul@example.org",
        "+33 6 98 76 54 32",
        "carport",
    ),
    ("Jean", "Durand", "jd@example.net", "07 81 23 45 67", "roof"),
    (
        "Marie",
        "Dupond",
        "marie@example.com",
        "06 55 44 33 22",
        "carport",
    ),
    ("=cmd", "Formula", "f@example.com", "06 01 02 03 04", "roof"),
    (
        "Zoé",
        "Lefèvre",
        "zoe@example.com",
        "06 99 88 77 66",
        "veranda",
    ),
];

async fn world() -> World {
    let app = TestApp::spawn_with(|c| c.leads.per_ip_per_minute = 0).await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Find").await;
    app.user(&admin, "owner@find.test", "owner", Some(cc)).await;
    app.user(&admin, "agent@find.test", "agent", Some(cc)).await;
    let owner = app.login("owner@find.test", USER_PASSWORD).await;
    let agent = app.login("agent@find.test", USER_PASSWORD).await;
    let res = app
        .post(
            "/api/forms",
            &owner,
            json!({"name": "Find", "slug": "find", "double_opt_in": false,
                   "fields": [
                       {"name": "first_name", "label": "First", "type": "text"},
                       {"name": "last_name", "label": "Last", "type": "text"},
                       {"name": "email", "label": "Email", "type": "email"},
                       {"name": "phone", "label": "Phone", "type": "phone", "required": true,
                        "default_country": "FR"},
                       {"name": "project", "label": "Project", "type": "text"}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    for (first, last, email, phone, project) in PEOPLE {
        let res = app
            .request(Method::POST, "/f/find", None)
            .json(
                &json!({"first_name": first, "last_name": last, "email": email,
                          "phone": phone, "project": project}),
            )
            .send()
            .await
            .unwrap();
        let status = res.status();
        assert_eq!(status, StatusCode::CREATED, "{first}: {}", body(res).await);
    }
    World { app, owner, agent }
}

async fn find(w: &World, token: &str, query: &str) -> Value {
    let res = w.app.get(&format!("/api/leads?{query}"), token).await;
    let status = res.status();
    let found = body(res).await;
    assert_eq!(status, StatusCode::OK, "{query}: {found}");
    found
}

fn last_names(found: &Value) -> Vec<String> {
    found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["last_name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn text_queries_find_names_emails_phones_and_fields() {
    let w = world().await;
    let by = |q: &'static str| {
        let w = &w;
        async move {
            let mut names = last_names(&find(w, &w.owner, &format!("q={q}&sort=last_name")).await);
            names.sort();
            names
        }
    };
    assert_eq!(by("dupon").await, ["Dupond", "Dupont"]);
    assert_eq!(by("DUPONT").await, ["Dupont"]);
    assert_eq!(by("example.org").await, ["Martin"]);
    assert_eq!(by("06%2012%2034").await, ["Dupont"], "a phone as typed");
    assert_eq!(by("%2B33698").await, ["Martin"]);
    assert_eq!(by("veranda").await, ["Lefèvre"], "a submitted field");
    assert_eq!(
        by("jean%20roof").await,
        ["Dupont", "Durand"],
        "every word required"
    );
    assert_eq!(by("Lefèvre").await, ["Lefèvre"]);
    assert_eq!(by("jd").await, ["Durand"], "a two-letter word");
    assert_eq!(
        by("50%25").await,
        Vec::<String>::new(),
        "% is a character, not a wildcard"
    );
    assert!(by("nobody").await.is_empty());
}

#[tokio::test]
async fn filters_combine_and_pages_are_stable() {
    let w = world().await;
    let found = find(
        &w,
        &w.owner,
        "q=example.com&stage=assigned&created_from=2000-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(found["total"], 4);
    let found = find(
        &w,
        &w.owner,
        "q=example.com&created_to=2000-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(found["total"], 0);
    let found = find(&w, &w.owner, "stage=pending_email").await;
    assert_eq!(found["total"], 0);

    let mut seen = HashSet::new();
    for page in 1..=3 {
        let found = find(
            &w,
            &w.owner,
            &format!("per_page=2&page={page}&sort=created_at"),
        )
        .await;
        assert_eq!(found["total"], 6);
        for lead in found["items"].as_array().unwrap() {
            assert!(seen.insert(lead["id"].as_i64().unwrap()), "pages overlap");
        }
    }
    assert_eq!(seen.len(), 6);

    for bad in [
        "sort=nope",
        &format!("q={}", "x".repeat(201)),
        "stage=nope",
        "created_from=yesterday",
    ] {
        let res = w.app.get(&format!("/api/leads?{bad}"), &w.owner).await;
        assert!(res.status().is_client_error(), "{bad}: {}", res.status());
    }
}

#[tokio::test]
async fn agents_find_only_their_leads_and_export_streams_csv() {
    let w = world().await;
    // The center's only agent holds every lead; a second agent holds none.
    let found = find(&w, &w.agent, "q=dupon").await;
    assert_eq!(found["total"], 2);

    let res = w
        .app
        .get("/api/leads/export.csv?q=example.com", &w.owner)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = res.text().await.unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("id,stage,first_name,last_name,email,phone")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4, "{text}");
    assert!(text.contains("'=cmd"), "formulas are defused: {text}");
    assert!(
        text.contains("+33612345678"),
        "phone numbers are left alone: {text}"
    );
}

#[tokio::test]
async fn saved_searches_belong_to_their_owner() {
    let w = world().await;
    let res = w
        .app
        .post(
            "/api/saved-searches",
            &w.owner,
            json!({"name": "Dupon*", "query": {"q": "dupon", "stage": "assigned"}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let saved = body(res).await;
    let id = saved["id"].as_i64().unwrap();
    assert_eq!(saved["query"]["q"], "dupon");
    let again = w
        .app
        .post(
            "/api/saved-searches",
            &w.owner,
            json!({"name": "Dupon*", "query": {}}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let bad = w
        .app
        .post(
            "/api/saved-searches",
            &w.owner,
            json!({"name": "x", "query": {"sort": "nope"}}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let mine = body(w.app.get("/api/saved-searches", &w.owner).await).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let theirs = body(w.app.get("/api/saved-searches", &w.agent).await).await;
    assert!(theirs.as_array().unwrap().is_empty());
    let path = format!("/api/saved-searches/{id}");
    assert_eq!(
        w.app.get(&path, &w.agent).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.app.delete(&path, &w.agent).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(w.app.get(&path, &w.owner).await.status(), StatusCode::OK);
    assert_eq!(
        w.app.delete(&path, &w.owner).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        w.app.get(&path, &w.owner).await.status(),
        StatusCode::NOT_FOUND
    );
}
