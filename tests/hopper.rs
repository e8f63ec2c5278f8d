//! The hopper over the database: order, windows in the lead's time zone, caps, do-not-call,
//! and claims that two instances never share (SQLite, and PostgreSQL when configured).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::HashSet;

use callpro_api::db::DbConn;
use callpro_api::db::schema::{call_attempts, leads};
use callpro_api::models::campaign::Campaign;
use callpro_api::models::lead::{Lead, NewLead};
use callpro_api::outbound::hopper::{self, ClaimRequest};
use callpro_dialer::campaign::{CampaignSettings, DialMode};
use chrono::{DateTime, Duration, TimeZone as _, Utc};
use common::{TestApp, body};
use diesel::prelude::*;
use serde_json::json;

/// Tuesday 24 November 2026, 10:00 UTC: 11:00 in Paris, 05:00 in New York.
fn tuesday_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap()
}

struct World {
    app: TestApp,
    campaign: Campaign,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    let res = app
        .post(
            "/api/campaigns",
            &admin,
            json!({"call_center_id": cc, "name": "Winter", "mode": "progressive"}),
        )
        .await;
    let id = body(res).await["id"].as_i64().unwrap();
    let campaign = app
        .state
        .db
        .run(move |conn| Ok(Campaign::find(conn, id)?))
        .await
        .unwrap();
    World { app, campaign }
}

fn lead(c: &Campaign, phone: &str, tz: Option<&str>, priority: i32, age_min: i64) -> NewLead {
    let created = (tuesday_morning() - Duration::minutes(age_min)).naive_utc();
    NewLead {
        call_center_id: c.call_center_id,
        campaign_id: Some(c.id),
        phone: phone.into(),
        region: Some(if phone.starts_with("+1") { "US" } else { "FR" }.into()),
        time_zone: tz.map(Into::into),
        first_name: None,
        last_name: None,
        email: None,
        external_id: None,
        fields: "{}".into(),
        priority,
        status: "new".into(),
        created_at: created,
        updated_at: created,
    }
}

async fn insert(w: &World, rows: Vec<NewLead>) {
    w.app
        .state
        .db
        .run(move |conn| Ok(Lead::insert_batch(conn, &rows)?))
        .await
        .unwrap();
}

fn request(runner: &str, want: usize) -> ClaimRequest<'_> {
    ClaimRequest {
        runner,
        want,
        now: tuesday_morning(),
        lease: Duration::minutes(5),
    }
}

async fn claim(w: &World, runner: &'static str, want: usize) -> Vec<String> {
    let campaign = w.campaign.clone();
    w.app
        .state
        .db
        .run(move |conn| {
            let claimed = hopper::claim(
                conn,
                &campaign,
                &CampaignSettings::default(),
                DialMode::Progressive,
                request(runner, want),
            )?;
            Ok(claimed.leads.into_iter().map(|l| l.phone).collect())
        })
        .await
        .unwrap()
}

async fn lead_row(w: &World, phone: &'static str) -> Lead {
    w.app
        .state
        .db
        .run(move |conn| {
            Ok(leads::table
                .filter(leads::phone.eq(phone))
                .select(Lead::as_select())
                .first(conn)?)
        })
        .await
        .unwrap()
}

#[actix_web::test]
async fn picks_by_priority_then_age_and_never_twice() {
    let w = world().await;
    let c = &w.campaign;
    insert(
        &w,
        vec![
            lead(c, "+33600000001", None, 0, 10),
            lead(c, "+33600000002", None, 5, 1),
            lead(c, "+33600000003", None, 0, 20),
            lead(c, "+33600000004", Some("Europe/Paris"), 0, 5),
        ],
    )
    .await;
    assert_eq!(
        claim(&w, "a", 3).await,
        ["+33600000002", "+33600000003", "+33600000001"]
    );
    // Claimed leads are not offered again until their lease ends.
    assert_eq!(claim(&w, "b", 3).await, ["+33600000004"]);
    assert!(claim(&w, "b", 3).await.is_empty());
    let row = lead_row(&w, "+33600000002").await;
    assert_eq!(row.claimed_by.as_deref(), Some("a"));
}

#[actix_web::test]
async fn windows_caps_and_do_not_call_are_applied_before_dialing() {
    let w = world().await;
    let c = &w.campaign;
    insert(
        &w,
        vec![
            lead(c, "+33600000001", None, 0, 10),
            lead(c, "+12125550100", Some("America/New_York"), 0, 10),
            lead(c, "+33600000002", None, 0, 10),
            lead(c, "+33600000003", None, 0, 10),
        ],
    )
    .await;
    let cc = c.call_center_id;
    let now = tuesday_morning().naive_utc();
    w.app
        .state
        .db
        .run(move |conn: &mut DbConn| {
            callpro_api::models::dnc::Dnc::add_internal(conn, cc, "+33600000002", None)?;
            // Four attempts this month on +33600000003: the French cap is reached.
            for i in 0..4 {
                diesel::insert_into(call_attempts::table)
                    .values((
                        call_attempts::call_center_id.eq(cc),
                        call_attempts::phone.eq("+33600000003"),
                        call_attempts::call_ref.eq(format!("old-{i}")),
                        call_attempts::started_at.eq(now - Duration::days(i + 1)),
                        call_attempts::outcome.eq("no_answer"),
                        call_attempts::refusal.eq(false),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
        .await
        .unwrap();

    assert_eq!(claim(&w, "a", 10).await, ["+33600000001"]);
    // 05:00 in New York: deferred to 10:00 there (16:00 in Paris, inside the campaign's hours).
    let ny = lead_row(&w, "+12125550100").await;
    assert_eq!(
        ny.next_attempt_at.unwrap().and_utc(),
        Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap()
    );
    assert_eq!(ny.status, "new");
    assert_eq!(lead_row(&w, "+33600000002").await.status, "do_not_call");
    let capped = lead_row(&w, "+33600000003").await;
    assert_eq!(capped.status, "new");
    assert!(capped.next_attempt_at.unwrap().and_utc() > tuesday_morning());
}

#[actix_web::test]
async fn concurrent_instances_never_claim_the_same_lead() {
    let w = world().await;
    let rows: Vec<NewLead> = (0..300)
        .map(|i| lead(&w.campaign, &format!("+336{:08}", 10_000 + i), None, 0, i))
        .collect();
    insert(&w, rows).await;
    let mut handles = Vec::new();
    for runner in ["i1", "i2", "i3", "i4"] {
        let db = w.app.state.db.clone();
        let campaign = w.campaign.clone();
        handles.push(std::thread::spawn(move || {
            let mut conn = db.get().unwrap();
            let mut mine = Vec::new();
            for _ in 0..100 {
                let got = hopper::claim(
                    &mut conn,
                    &campaign,
                    &CampaignSettings::default(),
                    DialMode::Progressive,
                    request(runner, 10),
                )
                .unwrap();
                if got.leads.is_empty() {
                    break;
                }
                mine.extend(got.leads.into_iter().map(|l| l.id));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(distinct.len(), all.len(), "a lead was claimed twice");
    assert_eq!(all.len(), 300, "every lead claimed exactly once");
}
