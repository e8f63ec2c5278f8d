//! The authorization matrix: every role × every management endpoint × own / other tenant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestApp, USER_PASSWORD, body};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Two tenants with one user of each role, a site and a group each.
struct World {
    app: TestApp,
    /// Tokens by role name; "super_admin" is tenant-less, the others belong to tenant A.
    tokens: Vec<(&'static str, String)>,
    a: Tenant,
    b: Tenant,
}

struct Tenant {
    cc: i64,
    site: i64,
    group: i64,
    owner: i64,
    supervisor: i64,
    agent: i64,
}

async fn tenant(app: &TestApp, admin: &str, name: &str) -> Tenant {
    let cc = app.call_center(admin, name).await;
    let site = body(
        app.post(
            "/api/sites",
            admin,
            json!({"call_center_id": cc, "name": "Paris"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let group = body(
        app.post(
            "/api/groups",
            admin,
            json!({"call_center_id": cc, "name": "Sales"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let lower = name.to_lowercase();
    Tenant {
        cc,
        site,
        group,
        owner: app
            .user(admin, &format!("owner@{lower}.test"), "owner", Some(cc))
            .await,
        supervisor: app
            .user(admin, &format!("sup@{lower}.test"), "supervisor", Some(cc))
            .await,
        agent: app
            .user(admin, &format!("agent@{lower}.test"), "agent", Some(cc))
            .await,
    }
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let a = tenant(&app, &admin, "Alpha").await;
    let b = tenant(&app, &admin, "Bravo").await;
    let tokens = vec![
        ("super_admin", admin),
        ("owner", app.login("owner@alpha.test", USER_PASSWORD).await),
        (
            "supervisor",
            app.login("sup@alpha.test", USER_PASSWORD).await,
        ),
        ("agent", app.login("agent@alpha.test", USER_PASSWORD).await),
    ];
    World { app, tokens, a, b }
}

impl World {
    fn token(&self, role: &str) -> &str {
        &self.tokens.iter().find(|(r, _)| *r == role).unwrap().1
    }

    async fn status(
        &self,
        role: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> StatusCode {
        let mut req = self.app.request(method, path, Some(self.token(role)));
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap().status()
    }
}

const ROLES: [&str; 4] = ["super_admin", "owner", "supervisor", "agent"];

/// Expected status per role, in [`ROLES`] order.
type Row = (Method, String, Option<Value>, [u16; 4]);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_on_every_read_endpoint_in_both_tenants() {
    let w = world().await;
    let (a, b) = (&w.a, &w.b);
    let me_agent = a.agent;
    let rows: Vec<Row> = vec![
        // Own tenant.
        (
            Method::GET,
            "/api/call-centers".into(),
            None,
            [200, 200, 200, 403],
        ),
        (
            Method::GET,
            format!("/api/call-centers/{}", a.cc),
            None,
            [200, 200, 200, 200],
        ),
        (Method::GET, "/api/sites".into(), None, [200, 200, 200, 403]),
        (
            Method::GET,
            format!("/api/sites/{}", a.site),
            None,
            [200, 200, 200, 404],
        ),
        (Method::GET, "/api/users".into(), None, [200, 200, 200, 403]),
        (
            Method::GET,
            format!("/api/users/{}", a.owner),
            None,
            [200, 200, 404, 404],
        ),
        (
            Method::GET,
            format!("/api/users/{}", a.supervisor),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::GET,
            format!("/api/users/{me_agent}"),
            None,
            [200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/groups".into(),
            None,
            [200, 200, 200, 403],
        ),
        (
            Method::GET,
            format!("/api/groups/{}", a.group),
            None,
            [200, 200, 200, 403],
        ),
        (
            Method::GET,
            format!("/api/groups/{}/members", a.group),
            None,
            [200, 200, 200, 403],
        ),
        (Method::GET, "/api/audit".into(), None, [200, 200, 403, 403]),
        (Method::GET, "/api/me".into(), None, [200, 200, 200, 200]),
        // The other tenant: invisible (404), never 403 for a role that may read the kind.
        (
            Method::GET,
            format!("/api/call-centers/{}", b.cc),
            None,
            [200, 404, 404, 404],
        ),
        (
            Method::GET,
            format!("/api/sites/{}", b.site),
            None,
            [200, 404, 404, 404],
        ),
        (
            Method::GET,
            format!("/api/users/{}", b.owner),
            None,
            [200, 404, 404, 404],
        ),
        (
            Method::GET,
            format!("/api/users/{}", b.agent),
            None,
            [200, 404, 404, 404],
        ),
        (
            Method::GET,
            format!("/api/groups/{}", b.group),
            None,
            [200, 404, 404, 403],
        ),
        (
            Method::GET,
            format!("/api/groups/{}/members", b.group),
            None,
            [200, 404, 404, 403],
        ),
    ];
    check(&w, rows).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_on_every_write_endpoint_in_both_tenants() {
    let w = world().await;
    let (a, b) = (&w.a, &w.b);
    let rows: Vec<Row> = vec![
        // Other tenant first (nothing there may change for anyone but the super admin).
        (
            Method::PATCH,
            format!("/api/call-centers/{}", b.cc),
            Some(json!({"time_zone": "Europe/Berlin"})),
            [200, 404, 403, 403],
        ),
        (
            Method::PATCH,
            format!("/api/sites/{}", b.site),
            Some(json!({"name": "Lille"})),
            [200, 404, 403, 403],
        ),
        (
            Method::PATCH,
            format!("/api/users/{}", b.agent),
            Some(json!({"display_name": "X"})),
            [200, 404, 403, 403],
        ),
        (
            Method::PATCH,
            format!("/api/groups/{}", b.group),
            Some(json!({"description": "x"})),
            [200, 404, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/groups/{}/members", b.group),
            Some(json!({"user_id": b.agent})),
            [201, 404, 403, 403],
        ),
        (
            Method::DELETE,
            format!("/api/groups/{}/members/{}", b.group, b.agent),
            None,
            [204, 404, 403, 403],
        ),
        (
            Method::POST,
            "/api/sites".into(),
            Some(json!({"call_center_id": b.cc, "name": "Nice"})),
            [201, 422, 403, 403],
        ),
        (
            Method::POST,
            "/api/users".into(),
            Some(
                json!({"email": "x@b.test", "display_name": "x", "role": "agent", "call_center_id": b.cc}),
            ),
            [201, 422, 403, 403],
        ),
        // Own tenant.
        (
            Method::POST,
            "/api/call-centers".into(),
            Some(json!({"name": "Charlie", "time_zone": "UTC"})),
            [201, 403, 403, 403],
        ),
        (
            Method::PATCH,
            format!("/api/call-centers/{}", a.cc),
            Some(json!({"time_zone": "Europe/Paris"})),
            [200, 200, 403, 403],
        ),
        (
            Method::PATCH,
            format!("/api/sites/{}", a.site),
            Some(json!({"name": "Lyon"})),
            [200, 200, 403, 403],
        ),
        (
            Method::PATCH,
            format!("/api/users/{}", a.agent),
            Some(json!({"display_name": "Agent A"})),
            [200, 200, 403, 403],
        ),
        (
            Method::PATCH,
            format!("/api/groups/{}", a.group),
            Some(json!({"description": "team"})),
            [200, 200, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/groups/{}/members", a.group),
            Some(json!({"user_id": a.agent})),
            [201, 201, 403, 403],
        ),
        (
            Method::DELETE,
            format!("/api/groups/{}/members/{}", a.group, a.agent),
            None,
            [204, 204, 403, 403],
        ),
        // A supervisor cannot create owners (nor anyone); an owner cannot create super admins.
        (
            Method::POST,
            "/api/users".into(),
            Some(json!({"email": "o2@a.test", "display_name": "o", "role": "owner"})),
            [422, 201, 403, 403],
        ),
        (
            Method::POST,
            "/api/users".into(),
            Some(json!({"email": "root2@a.test", "display_name": "r", "role": "super_admin"})),
            [201, 403, 403, 403],
        ),
        (
            Method::POST,
            "/api/sites".into(),
            Some(json!({"name": "Marseille"})),
            [422, 201, 403, 403],
        ),
        (
            Method::POST,
            "/api/groups".into(),
            Some(json!({"name": "Support"})),
            [422, 201, 403, 403],
        ),
        // Deletions last, on objects each role would be allowed to touch.
        (
            Method::DELETE,
            format!("/api/call-centers/{}", a.cc),
            None,
            [409, 403, 403, 403],
        ),
        (
            Method::DELETE,
            format!("/api/users/{}", b.supervisor),
            None,
            [204, 404, 403, 403],
        ),
        (
            Method::DELETE,
            format!("/api/sites/{}", b.site),
            None,
            [204, 404, 403, 403],
        ),
        (
            Method::DELETE,
            format!("/api/groups/{}", b.group),
            None,
            [204, 404, 403, 403],
        ),
    ];
    // Each role runs the table on a fresh world, so one role's success cannot change what the
    // next role sees; rows for one role run in order.
    drop(w);
    check_per_role(rows).await;
}

async fn check(w: &World, rows: Vec<Row>) {
    let mut failures = Vec::new();
    for (method, path, payload, expected) in rows {
        for (role, want) in ROLES.iter().zip(expected) {
            let got = w.status(role, method.clone(), &path, payload.clone()).await;
            if got.as_u16() != want {
                failures.push(format!(
                    "{role} {method} {path}: expected {want}, got {got}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix:\n{}",
        failures.join("\n")
    );
}

async fn check_per_role(rows: Vec<Row>) {
    let mut failures = Vec::new();
    for (i, role) in ROLES.iter().enumerate() {
        let w = world().await;
        // Ids are the same in every fresh world (same creation order), so the table holds.
        for (method, path, payload, expected) in &rows {
            let got = w.status(role, method.clone(), path, payload.clone()).await;
            if got.as_u16() != expected[i] {
                failures.push(format!(
                    "{role} {method} {path}: expected {}, got {got}",
                    expected[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_only_show_the_callers_tenant() {
    let w = world().await;
    let emails = |v: Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_string())
            .collect()
    };
    let owner = body(w.app.get("/api/users", w.token("owner")).await).await;
    let mut seen = emails(owner);
    seen.sort();
    assert_eq!(
        seen,
        ["agent@alpha.test", "owner@alpha.test", "sup@alpha.test"]
    );
    let sup = emails(body(w.app.get("/api/users", w.token("supervisor")).await).await);
    assert!(!sup.contains(&"owner@alpha.test".to_string()));
    assert!(sup.iter().all(|e| e.ends_with("@alpha.test")));
    // Asking for the other tenant explicitly yields nothing rather than its data.
    let res = body(
        w.app
            .get(
                &format!("/api/users?call_center_id={}", w.b.cc),
                w.token("owner"),
            )
            .await,
    )
    .await;
    assert_eq!(res["total"], 0);
    let centers = body(w.app.get("/api/call-centers", w.token("owner")).await).await;
    assert_eq!(centers["total"], 1);
    assert_eq!(centers["items"][0]["id"], w.a.cc);
    let all = body(w.app.get("/api/users", w.token("super_admin")).await).await;
    assert_eq!(all["total"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_edits_their_own_role_or_escalates() {
    let w = world().await;
    let me = w.a.owner;
    let res = w
        .app
        .patch(
            &format!("/api/users/{me}"),
            w.token("owner"),
            json!({"role": "agent"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = w
        .app
        .patch(
            &format!("/api/users/{}", w.a.agent),
            w.token("owner"),
            json!({"role": "super_admin"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = w
        .app
        .delete(&format!("/api/users/{me}"), w.token("owner"))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

/// Dialer objects of one tenant.
struct Dialer {
    quals: i64,
    qual: i64,
    campaign: i64,
    dnc: i64,
}

async fn dialer_objects(w: &World, t: &Tenant, name: &str) -> Dialer {
    let admin = w.token("super_admin");
    let id = |v: Value| v["id"].as_i64().unwrap();
    let quals = id(body(
        w.app
            .post(
                "/api/qualification-groups",
                admin,
                json!({"call_center_id": t.cc, "name": "Sales"}),
            )
            .await,
    )
    .await);
    let qual = id(body(
        w.app
            .post(
                "/api/qualifications",
                admin,
                json!({"group_id": quals, "code": "SALE", "label": "Sale", "kind": "positive"}),
            )
            .await,
    )
    .await);
    let campaign = id(body(
        w.app
            .post(
                "/api/campaigns",
                admin,
                json!({"call_center_id": t.cc, "name": name, "mode": "progressive"}),
            )
            .await,
    )
    .await);
    let dnc = id(body(
        w.app
            .post(
                "/api/dnc",
                admin,
                json!({"call_center_id": t.cc, "phone": "0612345678"}),
            )
            .await,
    )
    .await);
    Dialer {
        quals,
        qual,
        campaign,
        dnc,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_on_the_dialer_endpoints_in_both_tenants() {
    let w = world().await;
    let a = dialer_objects(&w, &w.a, "Alpha winter").await;
    let b = dialer_objects(&w, &w.b, "Bravo winter").await;
    let reads: Vec<Row> = vec![
        (
            Method::GET,
            "/api/campaigns".into(),
            None,
            [200, 200, 200, 403],
        ),
        (
            Method::GET,
            format!("/api/campaigns/{}", a.campaign),
            None,
            [200, 200, 200, 403],
        ),
        (
            Method::GET,
            format!("/api/campaigns/{}/stats", a.campaign),
            None,
            [200, 200, 200, 403],
        ),
        (
            Method::GET,
            format!("/api/campaigns/{}/leads", a.campaign),
            None,
            [200, 200, 200, 403],
        ),
        (
            Method::GET,
            format!("/api/qualification-groups/{}", a.quals),
            None,
            [200, 200, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/qualifications/{}", a.qual),
            None,
            [200, 200, 200, 200],
        ),
        (Method::GET, "/api/dnc".into(), None, [200, 200, 200, 403]),
        (
            Method::GET,
            format!("/api/dnc/{}", a.dnc),
            None,
            [200, 200, 200, 403],
        ),
        // The other tenant's objects do not exist for anyone bound to tenant A.
        (
            Method::GET,
            format!("/api/campaigns/{}", b.campaign),
            None,
            [200, 404, 404, 403],
        ),
        (
            Method::GET,
            format!("/api/campaigns/{}/stats", b.campaign),
            None,
            [200, 404, 404, 403],
        ),
        (
            Method::GET,
            format!("/api/campaigns/{}/leads", b.campaign),
            None,
            [200, 404, 404, 403],
        ),
        // Preview dialing: another tenant's campaign does not exist for the caller; one's own
        // progressive campaign hands no leads out.
        (
            Method::POST,
            format!("/api/campaigns/{}/preview/next", b.campaign),
            None,
            [409, 404, 404, 404],
        ),
        (
            Method::POST,
            format!("/api/campaigns/{}/preview/next", a.campaign),
            None,
            [409, 409, 409, 409],
        ),
        (
            Method::POST,
            format!("/api/campaigns/{}/preview/1/skip", b.campaign),
            None,
            [409, 404, 404, 404],
        ),
        (
            Method::GET,
            format!("/api/qualification-groups/{}", b.quals),
            None,
            [200, 404, 404, 404],
        ),
        (
            Method::GET,
            format!("/api/qualifications/{}", b.qual),
            None,
            [200, 404, 404, 404],
        ),
        (
            Method::GET,
            format!("/api/dnc/{}", b.dnc),
            None,
            [200, 404, 404, 403],
        ),
    ];
    check(&w, reads).await;
    drop(w);

    // Writes: each role on a fresh world.
    let mut failures = Vec::new();
    for (i, role) in ROLES.iter().enumerate() {
        let w = world().await;
        let a = dialer_objects(&w, &w.a, "Alpha winter").await;
        let b = dialer_objects(&w, &w.b, "Bravo winter").await;
        let rows: Vec<Row> = vec![
            (
                Method::PATCH,
                format!("/api/campaigns/{}", b.campaign),
                Some(json!({"priority": 3})),
                [200, 404, 404, 403],
            ),
            (
                Method::PATCH,
                format!("/api/qualifications/{}", b.qual),
                Some(json!({"label": "X"})),
                [200, 404, 403, 403],
            ),
            (
                Method::DELETE,
                format!("/api/dnc/{}", b.dnc),
                None,
                [204, 404, 403, 403],
            ),
            (
                Method::POST,
                "/api/campaigns".into(),
                Some(json!({"name": "New", "mode": "preview", "call_center_id": w.a.cc})),
                [201, 201, 403, 403],
            ),
            (
                Method::PATCH,
                format!("/api/campaigns/{}", a.campaign),
                Some(json!({"priority": 3})),
                [200, 200, 200, 403],
            ),
            (
                Method::POST,
                format!("/api/campaigns/{}/stop", a.campaign),
                None,
                [200, 200, 200, 403],
            ),
            (
                Method::POST,
                "/api/qualifications".into(),
                Some(json!({"group_id": a.quals, "code": "NO", "label": "No", "kind": "negative"})),
                [201, 201, 403, 403],
            ),
            (
                Method::POST,
                "/api/dnc".into(),
                Some(json!({"call_center_id": w.a.cc, "phone": "0612345679"})),
                [201, 201, 201, 403],
            ),
            (
                Method::DELETE,
                format!("/api/dnc/{}", a.dnc),
                None,
                [204, 204, 403, 403],
            ),
            (
                Method::DELETE,
                format!("/api/campaigns/{}", a.campaign),
                None,
                [204, 204, 403, 403],
            ),
        ];
        for (method, path, payload, expected) in rows {
            let got = w.status(role, method.clone(), &path, payload).await;
            if got.as_u16() != expected[i] {
                failures.push(format!(
                    "{role} {method} {path}: expected {}, got {got}",
                    expected[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "dialer authorization matrix:\n{}",
        failures.join("\n")
    );
}

/// IVR objects of one tenant: a prompt, a published flow playing it, a DID routed to the
/// flow, and a recorded session.
struct Ivr {
    prompt: i64,
    flow: i64,
    did: i64,
    session: i64,
}

async fn ivr_objects(w: &World, t: &Tenant, number: &str) -> Ivr {
    use callpro_api::models::ivr_session::{IvrSession, NewIvrSession};
    let admin = w.token("super_admin");
    let id = |v: Value| v["id"].as_i64().unwrap();
    let prompt = id(body(
        w.app
            .post(
                "/api/prompts",
                admin,
                json!({"call_center_id": t.cc, "name": "callpro/welcome"}),
            )
            .await,
    )
    .await);
    let flow = id(body(
        w.app
            .post(
                "/api/ivr-flows",
                admin,
                json!({"call_center_id": t.cc, "name": "Main", "definition": {"start": "p", "nodes": [
                    {"id": "p", "type": "playback", "prompts": ["callpro/welcome"], "exits": {"next": "q"}},
                    {"id": "q", "type": "queue", "group_id": t.group,
                     "exits": {"answered": null, "timeout": null, "full": null, "unavailable": null, "failed": null}}
                ]}}),
            )
            .await,
    )
    .await);
    let res = w
        .app
        .post(&format!("/api/ivr-flows/{flow}/publish"), admin, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let did = id(body(
        w.app
            .post(
                "/api/dids",
                admin,
                json!({"call_center_id": t.cc, "number": number, "flow_id": flow}),
            )
            .await,
    )
    .await);
    let row = NewIvrSession {
        call_center_id: Some(t.cc),
        did: number.to_owned(),
        caller_id: "0600000000".into(),
        caller_name: String::new(),
        uniqueid: "1.1".into(),
        channel: "PJSIP/gw-1".into(),
        flow_id: Some(flow),
        flow_version: Some(1),
        started_at: callpro_api::db::now(),
        ended_at: None,
        outcome: "in_progress".into(),
        outcome_detail: None,
        last_node: None,
        steps: "[]".into(),
    };
    let session = w
        .app
        .state
        .db
        .run(move |conn| Ok(IvrSession::create(conn, &row)?))
        .await
        .unwrap();
    Ivr {
        prompt,
        flow,
        did,
        session,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_on_the_ivr_endpoints_in_both_tenants() {
    let w = world().await;
    let a = ivr_objects(&w, &w.a, "0142000000").await;
    let b = ivr_objects(&w, &w.b, "0242000000").await;
    let mut reads: Vec<Row> = Vec::new();
    for (path, own) in [
        ("/api/prompts".to_owned(), true),
        ("/api/ivr-flows".to_owned(), true),
        ("/api/dids".to_owned(), true),
        ("/api/ivr/sessions".to_owned(), true),
        (format!("/api/prompts/{}", a.prompt), true),
        (format!("/api/ivr-flows/{}", a.flow), true),
        (format!("/api/ivr-flows/{}/versions", a.flow), true),
        (format!("/api/ivr-flows/{}/versions/1", a.flow), true),
        (format!("/api/dids/{}", a.did), true),
        (format!("/api/ivr/sessions/{}", a.session), true),
        // The other tenant's objects do not exist for anyone bound to tenant A.
        (format!("/api/prompts/{}", b.prompt), false),
        (format!("/api/ivr-flows/{}", b.flow), false),
        (format!("/api/ivr-flows/{}/versions", b.flow), false),
        (format!("/api/ivr-flows/{}/versions/1", b.flow), false),
        (format!("/api/dids/{}", b.did), false),
        (format!("/api/ivr/sessions/{}", b.session), false),
    ] {
        let expected = if own {
            [200, 200, 200, 403]
        } else {
            [200, 404, 404, 403]
        };
        reads.push((Method::GET, path, None, expected));
    }
    check(&w, reads).await;
    drop(w);

    // Writes: each role on a fresh world.
    let mut failures = Vec::new();
    for (i, role) in ROLES.iter().enumerate() {
        let w = world().await;
        let a = ivr_objects(&w, &w.a, "0142000000").await;
        let b = ivr_objects(&w, &w.b, "0242000000").await;
        let hangup = json!({"start": "h", "nodes": [{"id": "h", "type": "hangup"}]});
        let rows: Vec<Row> = vec![
            (
                Method::PATCH,
                format!("/api/ivr-flows/{}", b.flow),
                Some(json!({"description": "x"})),
                [200, 404, 403, 403],
            ),
            (
                Method::POST,
                format!("/api/ivr-flows/{}/publish", b.flow),
                None,
                [201, 404, 403, 403],
            ),
            (
                Method::PATCH,
                format!("/api/dids/{}", b.did),
                Some(json!({"active": false})),
                [200, 404, 403, 403],
            ),
            (
                Method::DELETE,
                format!("/api/prompts/{}", b.prompt),
                None,
                // The super admin reaches it, but B's published flow still plays it.
                [409, 404, 403, 403],
            ),
            (
                Method::POST,
                "/api/prompts".into(),
                Some(json!({"call_center_id": w.a.cc, "name": "callpro/new"})),
                [201, 201, 403, 403],
            ),
            (
                Method::POST,
                "/api/ivr-flows".into(),
                Some(json!({"call_center_id": w.a.cc, "name": "New", "definition": hangup})),
                [201, 201, 403, 403],
            ),
            (
                Method::PATCH,
                format!("/api/ivr-flows/{}", a.flow),
                Some(json!({"description": "x"})),
                [200, 200, 403, 403],
            ),
            (
                Method::POST,
                format!("/api/ivr-flows/{}/publish", a.flow),
                None,
                [201, 201, 403, 403],
            ),
            (
                Method::POST,
                "/api/dids".into(),
                Some(json!({"call_center_id": w.a.cc, "number": "0142000099", "flow_id": a.flow})),
                [201, 201, 403, 403],
            ),
            (
                Method::PATCH,
                format!("/api/dids/{}", a.did),
                Some(json!({"active": false})),
                [200, 200, 403, 403],
            ),
            // A DID still routes to the flow.
            (
                Method::DELETE,
                format!("/api/ivr-flows/{}", a.flow),
                None,
                [409, 409, 403, 403],
            ),
            (
                Method::DELETE,
                format!("/api/dids/{}", a.did),
                None,
                [204, 204, 403, 403],
            ),
            (
                Method::DELETE,
                format!("/api/prompts/{}", a.prompt),
                None,
                // The published flow still plays it.
                [409, 409, 403, 403],
            ),
            // Sessions are written by the engine only.
            (
                Method::DELETE,
                format!("/api/ivr/sessions/{}", a.session),
                None,
                [405, 405, 405, 405],
            ),
        ];
        for (method, path, payload, expected) in rows {
            let got = w.status(role, method.clone(), &path, payload).await;
            if got.as_u16() != expected[i] {
                failures.push(format!(
                    "{role} {method} {path}: expected {}, got {got}",
                    expected[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "IVR authorization matrix:\n{}",
        failures.join("\n")
    );
}

/// SMTP profiles, email templates and the email history: owners manage, supervisors read,
/// agents see nothing; another tenant's objects are 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_resources_by_role_and_tenant() {
    let mut failures = Vec::new();
    for (i, role) in ROLES.iter().enumerate() {
        let w = world().await;
        let admin = w.token("super_admin").to_owned();
        let mut ids = Vec::new();
        for cc in [w.a.cc, w.b.cc] {
            let profile = body(
                w.app
                    .post(
                        "/api/smtp-profiles",
                        &admin,
                        json!({"call_center_id": cc, "name": "p", "host": "127.0.0.1",
                               "port": 2525, "security": "none", "from_address": "a@b.test"}),
                    )
                    .await,
            )
            .await["id"]
                .as_i64()
                .unwrap();
            let template = body(
                w.app
                    .post(
                        "/api/email-templates",
                        &admin,
                        json!({"call_center_id": cc, "name": "t", "subject": "s",
                               "html_body": "h", "text_body": "t"}),
                    )
                    .await,
            )
            .await["id"]
                .as_i64()
                .unwrap();
            ids.push((profile, template));
        }
        let ((pa, ta), (pb, tb)) = (ids[0], ids[1]);
        let cc = w.a.cc;
        let rows: Vec<Row> = vec![
            (
                Method::GET,
                "/api/smtp-profiles".into(),
                None,
                [200, 200, 200, 403],
            ),
            (
                Method::GET,
                format!("/api/smtp-profiles/{pa}"),
                None,
                [200, 200, 200, 403],
            ),
            (
                Method::GET,
                format!("/api/smtp-profiles/{pb}"),
                None,
                [200, 404, 404, 403],
            ),
            (
                Method::PATCH,
                format!("/api/smtp-profiles/{pb}"),
                Some(json!({"port": 2526})),
                [200, 404, 403, 403],
            ),
            (
                Method::POST,
                "/api/smtp-profiles".into(),
                Some(
                    json!({"call_center_id": cc, "name": "new", "host": "h.test",
                            "from_address": "a@b.test"}),
                ),
                [201, 201, 403, 403],
            ),
            (
                Method::GET,
                "/api/email-templates".into(),
                None,
                [200, 200, 200, 403],
            ),
            (
                Method::GET,
                format!("/api/email-templates/{ta}"),
                None,
                [200, 200, 200, 403],
            ),
            (
                Method::GET,
                format!("/api/email-templates/{tb}"),
                None,
                [200, 404, 404, 403],
            ),
            (
                Method::POST,
                format!("/api/email-templates/{ta}/preview"),
                None,
                [200, 200, 200, 403],
            ),
            (
                Method::PATCH,
                format!("/api/email-templates/{tb}"),
                Some(json!({"subject": "x"})),
                [200, 404, 403, 403],
            ),
            (
                Method::POST,
                "/api/email-templates".into(),
                Some(json!({"call_center_id": cc, "name": "new", "subject": "s",
                            "html_body": "h", "text_body": "t"})),
                [201, 201, 403, 403],
            ),
            (
                Method::GET,
                "/api/emails".into(),
                None,
                [200, 200, 200, 403],
            ),
            (
                Method::DELETE,
                format!("/api/email-templates/{tb}"),
                None,
                [204, 404, 403, 403],
            ),
            (
                Method::DELETE,
                format!("/api/smtp-profiles/{pb}"),
                None,
                [204, 404, 403, 403],
            ),
            (
                Method::DELETE,
                format!("/api/email-templates/{ta}"),
                None,
                [204, 204, 403, 403],
            ),
        ];
        for (method, path, payload, expected) in rows {
            let got = w.status(role, method.clone(), &path, payload).await;
            if got.as_u16() != expected[i] {
                failures.push(format!(
                    "{role} {method} {path}: expected {}, got {got}",
                    expected[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix:\n{}",
        failures.join("\n")
    );
}

/// A form without double opt-in in `t`'s center and one lead posted to it (assigned at once
/// to the center's only agent).
async fn lead_objects(w: &World, t: &Tenant, slug: &str) -> (i64, i64) {
    let admin = w.token("super_admin");
    let res = w
        .app
        .post(
            "/api/forms",
            admin,
            json!({"call_center_id": t.cc, "name": "Leads", "slug": slug,
                   "double_opt_in": false,
                   "fields": [{"name": "phone", "label": "Phone", "type": "phone",
                               "required": true, "default_country": "FR"}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let form = body(res).await["id"].as_i64().unwrap();
    let res = w
        .app
        .request(Method::POST, &format!("/f/{slug}"), None)
        .json(&json!({"phone": "0612345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let lead = body(res).await;
    assert_eq!(lead["stage"], "assigned");
    (form, lead["id"].as_i64().unwrap())
}

/// A note on `lead` written by `role`; returns its id.
async fn note(w: &World, role: &str, lead: i64, private: bool) -> i64 {
    let res = w
        .app
        .post(
            &format!("/api/leads/{lead}/notes"),
            w.token(role),
            json!({"kind": "comment", "body": "set up", "private": private}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    body(res).await["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_and_leads_by_role_and_tenant() {
    let mut failures = Vec::new();
    for (i, role) in ROLES.iter().enumerate() {
        let w = world().await;
        let (fa, la) = lead_objects(&w, &w.a, "alpha").await;
        let (fb, lb) = lead_objects(&w, &w.b, "bravo").await;
        let agent_a = w.a.agent;
        // A public and a private note of tenant A's agent on its lead, one note on B's lead.
        let na = note(&w, "agent", la, false).await;
        let np = note(&w, "agent", la, true).await;
        let nb = note(&w, "super_admin", lb, false).await;
        let rows: Vec<Row> = vec![
            (Method::GET, "/api/forms".into(), None, [200, 200, 200, 403]),
            (
                Method::GET,
                format!("/api/forms/{fa}"),
                None,
                [200, 200, 200, 403],
            ),
            (
                Method::GET,
                format!("/api/forms/{fb}"),
                None,
                [200, 404, 404, 403],
            ),
            (
                Method::GET,
                format!("/api/forms/{fa}/preview"),
                None,
                [200, 200, 200, 403],
            ),
            (
                Method::PATCH,
                format!("/api/forms/{fb}"),
                Some(json!({"active": true})),
                [200, 404, 403, 403],
            ),
            (
                Method::POST,
                "/api/forms".into(),
                Some(
                    json!({"call_center_id": w.a.cc, "name": "New", "slug": "new-a",
                            "double_opt_in": false,
                            "fields": [{"name": "phone", "label": "Phone", "type": "phone",
                                        "required": true, "default_country": "FR"}]}),
                ),
                [201, 201, 403, 403],
            ),
            (Method::GET, "/api/leads".into(), None, [200, 200, 200, 200]),
            (
                Method::GET,
                format!("/api/leads/{la}"),
                None,
                [200, 200, 200, 200],
            ),
            (
                Method::GET,
                format!("/api/leads/{lb}"),
                None,
                [200, 404, 404, 404],
            ),
            (
                Method::GET,
                format!("/api/leads/{la}/timeline"),
                None,
                [200, 200, 200, 200],
            ),
            (
                Method::GET,
                format!("/api/leads/{lb}/timeline"),
                None,
                [200, 404, 404, 404],
            ),
            (
                Method::GET,
                format!("/api/leads/{la}/notes"),
                None,
                [200, 200, 200, 200],
            ),
            (
                Method::GET,
                format!("/api/leads/{lb}/notes"),
                None,
                [200, 404, 404, 404],
            ),
            (
                Method::POST,
                format!("/api/leads/{la}/notes"),
                Some(json!({"kind": "comment", "body": "matrix"})),
                [201, 201, 201, 201],
            ),
            (
                Method::POST,
                format!("/api/leads/{lb}/notes"),
                Some(json!({"kind": "comment", "body": "matrix"})),
                [201, 404, 404, 404],
            ),
            (
                Method::PATCH,
                format!("/api/leads/{la}/notes/{na}"),
                Some(json!({"body": "edited"})),
                [200, 200, 403, 200],
            ),
            (
                Method::PATCH,
                format!("/api/leads/{la}/notes/{np}"),
                Some(json!({"body": "edited"})),
                [200, 200, 404, 200],
            ),
            (
                Method::PATCH,
                format!("/api/leads/{lb}/notes/{nb}"),
                Some(json!({"body": "edited"})),
                [200, 404, 404, 404],
            ),
            (
                Method::PATCH,
                format!("/api/leads/{la}/notes/{nb}"),
                Some(json!({"body": "edited"})),
                [404, 404, 404, 404],
            ),
            (
                Method::DELETE,
                format!("/api/leads/{lb}/notes/{nb}"),
                None,
                [204, 404, 404, 404],
            ),
            (
                Method::DELETE,
                format!("/api/leads/{la}/notes/{np}"),
                None,
                [204, 204, 404, 204],
            ),
            (
                Method::DELETE,
                format!("/api/leads/{la}/notes/{na}"),
                None,
                [204, 204, 403, 204],
            ),
            // Click-to-call: 409 for a super admin (no call center to call from), 503 for the
            // others here (no Asterisk), after the permission and visibility checks.
            (
                Method::POST,
                format!("/api/leads/{lb}/call"),
                Some(json!({"extension": "1001"})),
                [409, 404, 404, 404],
            ),
            (
                Method::POST,
                format!("/api/leads/{la}/call"),
                Some(json!({"extension": "1001"})),
                [409, 503, 503, 503],
            ),
            (
                Method::POST,
                format!("/api/leads/{lb}/qualify"),
                Some(json!({"result": "rejected"})),
                [200, 404, 404, 404],
            ),
            (
                Method::POST,
                format!("/api/leads/{la}/qualify"),
                Some(json!({"result": "unreachable"})),
                [200, 200, 200, 200],
            ),
            (
                Method::POST,
                format!("/api/leads/{la}/assign"),
                Some(json!({"user_id": agent_a})),
                [200, 200, 200, 403],
            ),
            (
                Method::PATCH,
                format!("/api/leads/{la}"),
                Some(json!({"stage": "invalid", "reason": "test entry"})),
                [200, 200, 200, 403],
            ),
            (
                Method::DELETE,
                format!("/api/forms/{fb}"),
                None,
                [204, 404, 403, 403],
            ),
        ];
        for (method, path, payload, expected) in rows {
            let got = w.status(role, method.clone(), &path, payload).await;
            if got.as_u16() != expected[i] {
                failures.push(format!(
                    "{role} {method} {path}: expected {}, got {got}",
                    expected[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_each_users_own() {
    use callpro_api::models::notification::{NewNotification, Notification};
    let w = world().await;
    let (cc, owner) = (w.a.cc, w.a.owner);
    let n = w
        .app
        .state
        .db
        .run(move |conn| {
            Ok(Notification::insert(
                conn,
                &NewNotification {
                    call_center_id: cc,
                    user_id: owner,
                    kind: "lead_escalated",
                    lead_id: None,
                    message: "for the owner of Alpha",
                    created_at: callpro_api::db::now(),
                },
            )?)
        })
        .await
        .unwrap();
    let rows: Vec<Row> = vec![
        (
            Method::GET,
            "/api/notifications?unread=true".into(),
            None,
            [200, 200, 200, 200],
        ),
        // Only its user marks it read; everyone else, super admins included, gets 404.
        (
            Method::POST,
            format!("/api/notifications/{n}/read"),
            None,
            [404, 204, 404, 404],
        ),
        (
            Method::POST,
            "/api/notifications/read-all".into(),
            None,
            [204, 204, 204, 204],
        ),
    ];
    check(&w, rows).await;
}
