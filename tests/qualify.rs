//! `POST /api/calls/{id}/qualify`: the qualification decides the lead's next step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use callpro_api::db::schema::call_attempts;
use callpro_api::models::lead::{Lead, NewLead};
use chrono::{Duration, Utc};
use common::{TestApp, USER_PASSWORD, body};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::json;

struct World {
    app: TestApp,
    admin: String,
    agent_id: i64,
    agent: String,
    other_agent: String,
    lead_id: i64,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    let group = body(
        app.post(
            "/api/qualification-groups",
            &admin,
            json!({"call_center_id": cc, "name": "Sales"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    for (code, kind, is_final) in [
        ("SALE", "positive", true),
        ("CB", "callback", false),
        ("STOP", "do_not_call", true),
    ] {
        let res = app
            .post(
                "/api/qualifications",
                &admin,
                json!({"group_id": group, "code": code, "label": code, "kind": kind,
                       "is_final": is_final}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{}", body(res).await);
    }
    let campaign = body(
        app.post(
            "/api/campaigns",
            &admin,
            json!({"call_center_id": cc, "name": "Winter", "mode": "progressive",
                   "qualification_group_id": group}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let agent_id = app.user(&admin, "ann@acme.test", "agent", Some(cc)).await;
    app.user(&admin, "pat@acme.test", "agent", Some(cc)).await;
    let agent = app.login("ann@acme.test", USER_PASSWORD).await;
    let other_agent = app.login("pat@acme.test", USER_PASSWORD).await;
    let lead_id = app
        .state
        .db
        .run(move |conn| {
            let now = Utc::now().naive_utc();
            Lead::insert_batch(
                conn,
                &[NewLead {
                    call_center_id: cc,
                    campaign_id: Some(campaign),
                    phone: "+33600000001".into(),
                    region: Some("FR".into()),
                    time_zone: None,
                    first_name: None,
                    last_name: None,
                    email: None,
                    external_id: None,
                    fields: "{}".into(),
                    priority: 0,
                    status: "retry".into(),
                    created_at: now,
                    updated_at: now,
                }],
            )?;
            let lead: i64 = callpro_api::db::schema::leads::table
                .select(callpro_api::db::schema::leads::id)
                .first(conn)?;
            for call in ["call-1", "call-2", "call-3"] {
                diesel::insert_into(call_attempts::table)
                    .values((
                        call_attempts::call_center_id.eq(cc),
                        call_attempts::campaign_id.eq(campaign),
                        call_attempts::lead_id.eq(lead),
                        call_attempts::phone.eq("+33600000001"),
                        call_attempts::call_ref.eq(call),
                        call_attempts::agent_user_id.eq(agent_id),
                        call_attempts::started_at.eq(now),
                        call_attempts::outcome.eq("human"),
                        call_attempts::refusal.eq(false),
                    ))
                    .execute(conn)?;
            }
            Ok(lead)
        })
        .await
        .unwrap();
    World {
        app,
        admin,
        agent_id,
        agent,
        other_agent,
        lead_id,
    }
}

#[actix_web::test]
async fn the_agent_sets_a_callback_then_a_supervisor_stops_the_number() {
    let w = world().await;
    let _ = w.agent_id;
    let when = Utc::now() + Duration::days(1);
    let res = w
        .app
        .post(
            "/api/calls/call-1/qualify",
            &w.agent,
            json!({"qualification": "CB", "callback_at": when, "note": "call after lunch"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let out = body(res).await;
    assert_eq!(out["lead_status"], "callback");
    assert_eq!(out["lead_id"], w.lead_id);
    let next: chrono::DateTime<Utc> = out["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert!((next - when).num_seconds().abs() <= 1, "{next} vs {when}");

    let again = w
        .app
        .post(
            "/api/calls/call-1/qualify",
            &w.agent,
            json!({"qualification": "SALE"}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // Someone else's call: 403 for another agent; 404 for a call that does not exist.
    let res = w
        .app
        .post(
            "/api/calls/call-3/qualify",
            &w.other_agent,
            json!({"qualification": "SALE"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = w
        .app
        .post(
            "/api/calls/nope/qualify",
            &w.agent,
            json!({"qualification": "SALE"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Validation: unknown code, callback time on a non-callback, a past callback.
    for body_json in [
        json!({"qualification": "NOPE"}),
        json!({"qualification": "SALE", "callback_at": when}),
        json!({"qualification": "CB", "callback_at": Utc::now() - Duration::hours(1)}),
    ] {
        let res = w
            .app
            .post("/api/calls/call-3/qualify", &w.agent, body_json)
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    // The owner qualifies the other call "do not call": the number joins the internal list.
    let res = w
        .app
        .post(
            "/api/calls/call-2/qualify",
            &w.admin,
            json!({"qualification": "STOP"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let out = body(res).await;
    assert_eq!(out["lead_status"], "do_not_call");
    assert_eq!(out["added_to_dnc"], true);
    assert!(out["next_attempt_at"].is_null());
    let dnc = body(w.app.get("/api/dnc", &w.admin).await).await;
    assert_eq!(dnc["total"], 1, "{dnc}");
    assert_eq!(dnc["items"][0]["phone"], "+33600000001");
    let audit = body(w.app.get("/api/audit?entity=call", &w.admin).await).await;
    assert_eq!(audit["total"], 2, "{audit}");
}
