//! Campaigns: CRUD, settings validation, the lifecycle, the boost, and lead imports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::fmt::Write as _;

use common::{TestApp, USER_PASSWORD, body};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Setup {
    app: TestApp,
    admin: String,
    cc: i64,
    group: i64,
    quals: i64,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    let group = body(
        app.post(
            "/api/groups",
            &admin,
            json!({"call_center_id": cc, "name": "Outbound"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let res = app
        .post(
            "/api/qualification-groups",
            &admin,
            json!({"call_center_id": cc, "name": "Sales"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let quals = body(res).await["id"].as_i64().unwrap();
    Setup {
        app,
        admin,
        cc,
        group,
        quals,
    }
}

async fn campaign(s: &Setup, extra: Value) -> Value {
    let mut req = json!({"call_center_id": s.cc, "name": "Winter", "mode": "predictive"});
    for (k, v) in extra.as_object().unwrap() {
        req[k] = v.clone();
    }
    let res = s.app.post("/api/campaigns", &s.admin, req).await;
    let status = res.status();
    let out = body(res).await;
    assert_eq!(status, StatusCode::CREATED, "{out}");
    out
}

#[actix_web::test]
async fn a_campaign_is_created_with_default_settings_and_validated() {
    let s = setup().await;
    let c = campaign(&s, json!({})).await;
    assert_eq!(c["status"], "draft");
    assert_eq!(c["settings"]["strategy"]["ring_timeout_secs"], 25);
    assert_eq!(c["settings"]["compliance"]["profile"], "fr");
    assert_eq!(c["settings"]["schedule"]["time_zone"], "Europe/Paris");

    // Every problem at once, with the path of the field.
    let res = s
        .app
        .post(
            "/api/campaigns",
            &s.admin,
            json!({"call_center_id": s.cc, "name": "", "mode": "predictive",
                   "settings": {"strategy": {"ring_timeout_secs": 10, "target_abandon_pct": 5.0}}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err = body(res).await;
    let fields: Vec<&str> = err["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"name"), "{err}");
    assert!(
        fields.contains(&"settings.strategy.ring_timeout_secs"),
        "{err}"
    );
    assert!(
        fields.contains(&"settings.strategy.target_abandon_pct"),
        "{err}"
    );

    // Unknown settings keys and modes are refused with their path.
    let res = s
        .app
        .post(
            "/api/campaigns",
            &s.admin,
            json!({"name": "X", "mode": "robocall", "call_center_id": s.cc}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(res).await["fields"][0]["field"], "mode");
    let res = s
        .app
        .post(
            "/api/campaigns",
            &s.admin,
            json!({"name": "X", "mode": "power", "call_center_id": s.cc,
                   "settings": {"strategy": {"ring_timeout": 20}}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Names are unique per call center.
    let res = s
        .app
        .post(
            "/api/campaigns",
            &s.admin,
            json!({"call_center_id": s.cc, "name": "Winter", "mode": "preview"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[actix_web::test]
async fn the_lifecycle_refuses_what_the_law_or_the_arrows_forbid() {
    let s = setup().await;
    let c = campaign(&s, json!({"caller_id": "+33612345678"})).await;
    let id = c["id"].as_i64().unwrap();
    let post = |path: &str| {
        let path = format!("/api/campaigns/{id}/{path}");
        let app = &s.app;
        let admin = s.admin.clone();
        async move { app.post(&path, &admin, json!({})).await }
    };

    // Not ready: no agents, no qualifications, and a mobile caller ID for automated dialing.
    let res = post("start").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err = body(res).await.to_string();
    for field in ["agent_group_ids", "qualification_group_id", "caller_id"] {
        assert!(err.contains(field), "{field}: {err}");
    }
    let res = s
        .app
        .patch(
            &format!("/api/campaigns/{id}"),
            &s.admin,
            json!({"agent_group_ids": [s.group], "qualification_group_id": s.quals,
                   "caller_id": "+33948123456"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    assert_eq!(post("pause").await.status(), StatusCode::CONFLICT);
    let res = post("start").await;
    assert_eq!(res.status(), StatusCode::OK);
    let running = body(res).await;
    assert_eq!(running["status"], "running");
    assert!(running["started_at"].is_string());

    // The mode is fixed while running; the boost is capped at the legal 3 %.
    let res = s
        .app
        .patch(
            &format!("/api/campaigns/{id}"),
            &s.admin,
            json!({"mode": "power"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = s
        .app
        .post(
            &format!("/api/campaigns/{id}/boost"),
            &s.admin,
            json!({"pct": 5.0, "minutes": 30}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let boosted = body(res).await;
    assert!(
        (boosted["boost_pct"].as_f64().unwrap() - 1.0).abs() < 1e-9,
        "{boosted}"
    );

    assert_eq!(post("pause").await.status(), StatusCode::OK);
    assert_eq!(post("start").await.status(), StatusCode::CONFLICT);
    assert_eq!(post("resume").await.status(), StatusCode::OK);
    assert_eq!(post("stop").await.status(), StatusCode::OK);
    assert_eq!(post("resume").await.status(), StatusCode::CONFLICT);
    let res = s
        .app
        .patch(
            &format!("/api/campaigns/{id}"),
            &s.admin,
            json!({"name": "Spring"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // It dialed: it keeps its records.
    let res = s
        .app
        .delete(&format!("/api/campaigns/{id}"), &s.admin)
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    let audit = body(s.app.get("/api/audit?entity=campaign", &s.admin).await).await;
    let actions = audit.to_string();
    for action in [
        "campaign.create",
        "campaign.start",
        "campaign.boost",
        "campaign.pause",
        "campaign.resume",
        "campaign.stop",
    ] {
        assert!(actions.contains(action), "{action}");
    }
}

#[actix_web::test]
async fn roles_and_tenants_around_campaigns() {
    let s = setup().await;
    let c = campaign(&s, json!({})).await;
    let id = c["id"].as_i64().unwrap();
    let other = s.app.call_center(&s.admin, "Other").await;
    s.app
        .user(&s.admin, "own@other.test", "owner", Some(other))
        .await;
    s.app
        .user(&s.admin, "sue@acme.test", "supervisor", Some(s.cc))
        .await;
    s.app
        .user(&s.admin, "ann@acme.test", "agent", Some(s.cc))
        .await;
    let stranger = s.app.login("own@other.test", USER_PASSWORD).await;
    let sup = s.app.login("sue@acme.test", USER_PASSWORD).await;
    let agent = s.app.login("ann@acme.test", USER_PASSWORD).await;

    let path = format!("/api/campaigns/{id}");
    assert_eq!(
        s.app.get(&path, &stranger).await.status(),
        StatusCode::NOT_FOUND
    );
    let listed = body(s.app.get("/api/campaigns", &stranger).await).await;
    assert_eq!(listed["total"], 0);
    assert_eq!(s.app.get(&path, &sup).await.status(), StatusCode::OK);
    assert_eq!(
        s.app.get(&path, &agent).await.status(),
        StatusCode::FORBIDDEN
    );
    let res = s
        .app
        .post(
            "/api/campaigns",
            &sup,
            json!({"name": "Mine", "mode": "preview"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = s.app.patch(&path, &sup, json!({"priority": 5})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        s.app.delete(&path, &sup).await.status(),
        StatusCode::FORBIDDEN
    );
    let res = s
        .app
        .request(
            reqwest::Method::POST,
            &format!("{path}/leads/import"),
            Some(&stranger),
        )
        .header("content-type", "text/csv")
        .body("phone\n0612345678\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // A draft never dialed can be deleted.
    assert_eq!(
        s.app.delete(&path, &s.admin).await.status(),
        StatusCode::NO_CONTENT
    );
}

async fn import(
    s: &Setup,
    id: i64,
    query: &str,
    csv: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let res = s
        .app
        .request(
            reqwest::Method::POST,
            &format!("/api/campaigns/{id}/leads/import{query}"),
            Some(&s.admin),
        )
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, body(res).await)
}

#[actix_web::test]
async fn a_large_import_keeps_every_good_row_and_reports_every_bad_one() {
    let s = setup().await;
    let id = campaign(&s, json!({})).await["id"].as_i64().unwrap();
    // 100,000 rows, 1 % bad (every 100th), in French with `;` and a BOM.
    let rows = 100_000;
    let mut csv = String::from("\u{feff}Téléphone;Prénom;Nom;Ville\n");
    let mut bad_lines = Vec::new();
    for i in 0..rows {
        let line = i + 2;
        if i % 100 == 7 {
            bad_lines.push(line as u64);
            match (i / 100) % 3 {
                0 => writeln!(csv, "12;Bad;Number;Paris").unwrap(),
                1 => writeln!(csv, "06{:08};Only two", i).unwrap(),
                _ => writeln!(csv, "not a phone;X;Y;Z").unwrap(),
            }
        } else {
            writeln!(csv, "06{:08};Ann{i};Lee;Lyon", i).unwrap();
        }
    }
    let (status, report) = import(&s, id, "", csv.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["imported"], 99_000);
    assert_eq!(report["invalid"], 1_000);
    let lines: Vec<u64> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, bad_lines);
    assert!(
        report["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("12"),
        "{}",
        report["errors"][0]
    );
    assert_eq!(report["mapping"]["phone"], "Téléphone");

    let page = body(
        s.app
            .get(
                &format!("/api/campaigns/{id}/leads?phone=%2B33600000000"),
                &s.admin,
            )
            .await,
    )
    .await;
    assert_eq!(page["total"], 1, "{page}");
    let lead = &page["items"][0];
    assert_eq!(lead["first_name"], "Ann0");
    assert_eq!(lead["status"], "new");
    assert_eq!(lead["fields"]["Ville"], "Lyon");
    assert_eq!(lead["region"], "FR");

    // The same file again imports nothing twice.
    let (status, again) = import(&s, id, "", csv).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["imported"], 0);
    assert_eq!(again["already_in_campaign"], 99_000);
}

#[actix_web::test]
async fn import_options_and_whole_file_errors() {
    let s = setup().await;
    let id = campaign(&s, json!({})).await["id"].as_i64().unwrap();
    let csv =
        "num,tz,ref\n(212) 555-0100,America/New_York,A1\n+33612345678,,A2\n(212) 555-0100,,A3\n";
    let (status, report) = import(
        &s,
        id,
        "?region=US&phone_column=num&time_zone_column=tz&external_id_column=ref",
        csv,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["imported"], 2);
    assert_eq!(report["duplicates_in_file"], 1);
    let leads = body(
        s.app
            .get(&format!("/api/campaigns/{id}/leads"), &s.admin)
            .await,
    )
    .await;
    assert_eq!(leads["items"][0]["phone"], "+12125550100");
    assert_eq!(leads["items"][0]["time_zone"], "America/New_York");
    assert_eq!(leads["items"][1]["region"], "FR");

    let (status, err) = import(&s, id, "?phone_column=missing", "a,b\n1,2\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["fields"][0]["field"], "phone_column");
    let (status, _) = import(&s, id, "", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = import(&s, id, "?region=XX", "phone\n0612345678\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = import(&s, id, "?delimiter=x", "phone\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = import(&s, id, "?bogus=1", "phone\n").await;
    assert!(status.is_client_error());
    let (status, _) = import(&s, 999_999, "", "phone\n0612345678\n").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn stats_count_the_ledgers_per_window() {
    use callpro_api::db::schema::call_attempts;
    use diesel::prelude::*;
    let s = setup().await;
    let id = campaign(&s, json!({})).await["id"].as_i64().unwrap();
    let cc = s.cc;
    s.app
        .state
        .db
        .run(move |conn| {
            let now = chrono::Utc::now().naive_utc();
            let rows = [
                ("human", 1),
                ("human", 2),
                ("human", 3),
                ("abandoned", 4),
                ("machine", 5),
                ("no_answer", 6),
                ("abandoned", 40 * 24 * 60),
            ];
            for (i, (outcome, minutes_ago)) in rows.into_iter().enumerate() {
                diesel::insert_into(call_attempts::table)
                    .values((
                        call_attempts::call_center_id.eq(cc),
                        call_attempts::campaign_id.eq(id),
                        call_attempts::phone.eq("+33600000001"),
                        call_attempts::call_ref.eq(format!("c{i}")),
                        call_attempts::started_at.eq(now - chrono::Duration::minutes(minutes_ago)),
                        call_attempts::outcome.eq(outcome),
                        call_attempts::refusal.eq(false),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let stats = body(
        s.app
            .get(&format!("/api/campaigns/{id}/stats"), &s.admin)
            .await,
    )
    .await;
    assert_eq!(stats["governing_window"], "24h", "{stats}");
    assert_eq!(stats["abandon_cap_pct"], 3.0);
    let day = &stats["windows"][0];
    assert_eq!(day["window"], "24h");
    assert_eq!(day["dials"], 6);
    assert_eq!(day["live_answered"], 4);
    assert_eq!(day["abandons"], 1);
    assert_eq!(day["machines"], 1);
    assert_eq!(day["abandon_rate_pct"], 25.0);
    let life = &stats["windows"][2];
    assert_eq!(life["dials"], 7);
    assert_eq!(life["abandons"], 2);
    assert_eq!(stats["status"], "draft");
}
