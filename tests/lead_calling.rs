//! The confirmation call: a confirmed form lead enters the form's confirmation campaign, the
//! qualification of its campaign call (or the dialer giving up) moves its stage, and a lead
//! whose confirmation is over leaves the campaign's selection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use callpro_api::db::schema::{call_attempts, leads};
use callpro_api::outbound::attempts::{self, Judge};
use callpro_dialer::campaign::{CampaignSettings, DialMode};
use callpro_dialer::retry::Outcome;
use chrono::Utc;
use common::{TestApp, USER_PASSWORD, body};
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct World {
    app: TestApp,
    owner: String,
    agent_id: i64,
    agent: String,
    cc: i64,
    campaign: i64,
    predictive: i64,
}

async fn world() -> World {
    world_on(TestApp::spawn().await).await
}

async fn world_on(app: TestApp) -> World {
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Solar").await;
    app.user(&admin, "owner@solar.test", "owner", Some(cc))
        .await;
    let owner = app.login("owner@solar.test", USER_PASSWORD).await;
    let agent_id = app.user(&admin, "ann@solar.test", "agent", Some(cc)).await;
    let agent = app.login("ann@solar.test", USER_PASSWORD).await;
    let res = app
        .post(
            "/api/qualification-groups",
            &owner,
            json!({"call_center_id": cc, "name": "Confirmation"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let group = body(res).await["id"].as_i64().unwrap();
    for (code, kind, is_final) in [
        ("OK", "positive", true),
        ("NO", "negative", true),
        ("WRONG", "wrong_number", true),
        ("LATER", "neutral", false),
    ] {
        let res = app
            .post(
                "/api/qualifications",
                &owner,
                json!({"group_id": group, "code": code, "label": code, "kind": kind,
                       "is_final": is_final}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{}", body(res).await);
    }
    let mut campaigns = Vec::new();
    for (name, mode) in [("Confirm", "progressive"), ("Blast", "predictive")] {
        let res = app
            .post(
                "/api/campaigns",
                &owner,
                json!({"call_center_id": cc, "name": name, "mode": mode,
                       "qualification_group_id": group}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{}", body(res).await);
        campaigns.push(body(res).await["id"].as_i64().unwrap());
    }
    World {
        app,
        owner,
        agent_id,
        agent,
        cc,
        campaign: campaigns[0],
        predictive: campaigns[1],
    }
}

fn form(slug: &str, campaign: i64) -> Value {
    json!({
        "name": format!("Form {slug}"),
        "slug": slug,
        "fields": [
            {"name": "first_name", "label": "First name", "type": "text"},
            {"name": "phone", "label": "Phone", "type": "phone", "required": true,
             "default_country": "FR"}
        ],
        "double_opt_in": false,
        "confirmation_campaign_id": campaign
    })
}

async fn submit(app: &TestApp, slug: &str, phone: &str) -> i64 {
    let res = app
        .request(Method::POST, &format!("/f/{slug}"), None)
        .json(&json!({"first_name": "Jeanne", "phone": phone}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    body(res).await["id"].as_i64().unwrap()
}

/// `(campaign_id, status, stage)` of a lead as stored.
async fn dialer_view(app: &TestApp, lead: i64) -> (Option<i64>, String, String) {
    app.state
        .db
        .run(move |conn| {
            Ok(leads::table
                .find(lead)
                .select((leads::campaign_id, leads::status, leads::stage))
                .first(conn)?)
        })
        .await
        .unwrap()
}

async fn timeline_kinds(w: &World, lead: i64) -> Vec<String> {
    let res = w
        .app
        .get(&format!("/api/leads/{lead}/timeline"), &w.owner)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    body(res)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// A campaign call to `lead` answered by the agent, as the dialer records it.
async fn call(w: &World, lead: i64, call_ref: &'static str) {
    let (cc, campaign, agent) = (w.cc, w.campaign, w.agent_id);
    w.app
        .state
        .db
        .run(move |conn| {
            let phone: String = leads::table.find(lead).select(leads::phone).first(conn)?;
            diesel::insert_into(call_attempts::table)
                .values((
                    call_attempts::call_center_id.eq(cc),
                    call_attempts::campaign_id.eq(campaign),
                    call_attempts::lead_id.eq(lead),
                    call_attempts::phone.eq(phone),
                    call_attempts::call_ref.eq(call_ref),
                    call_attempts::agent_user_id.eq(agent),
                    call_attempts::started_at.eq(Utc::now().naive_utc()),
                    call_attempts::outcome.eq("human"),
                    call_attempts::refusal.eq(false),
                ))
                .execute(conn)?;
            diesel::update(leads::table.find(lead))
                .set(leads::attempts.eq(leads::attempts + 1))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

/// The campaign call `call_ref` to `lead` rings out unanswered, as the dialer records it.
async fn ring_out(w: &World, lead: i64, call_ref: &'static str) {
    w.app
        .state
        .db
        .run(move |conn| {
            let settings = CampaignSettings::default();
            let judge = Judge {
                settings: &settings,
                mode: DialMode::Progressive,
            };
            attempts::ended(
                conn,
                judge,
                call_ref,
                lead,
                Outcome::NoAnswer,
                None,
                Utc::now(),
            )?;
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn confirmed_leads_enter_the_confirmation_campaign_once_per_number() {
    let w = world().await;
    let res = w
        .app
        .post("/api/forms", &w.owner, form("sun", w.campaign))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", body(res).await);

    // Without double opt-in the lead is confirmed on arrival: assigned and enrolled at once.
    let first = submit(&w.app, "sun", "06 12 34 56 78").await;
    assert_eq!(
        dialer_view(&w.app, first).await,
        (Some(w.campaign), "new".into(), "assigned".into())
    );
    let kinds = timeline_kinds(&w, first).await;
    assert!(kinds.contains(&"enrolled".to_owned()), "{kinds:?}");

    // The same number again: the campaign already calls it, so this lead stays out.
    let twin = submit(&w.app, "sun", "+33612345678").await;
    assert_eq!(
        dialer_view(&w.app, twin).await,
        (None, "new".into(), "assigned".into())
    );
    let kinds = timeline_kinds(&w, twin).await;
    assert!(
        kinds.contains(&"enrollment_skipped".to_owned()),
        "{kinds:?}"
    );

    // The desk's own qualification ends the campaign's calls too.
    let res = w
        .app
        .post(
            &format!("/api/leads/{first}/qualify"),
            &w.agent,
            json!({"result": "confirmed"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    assert_eq!(
        dialer_view(&w.app, first).await,
        (Some(w.campaign), "done".into(), "call_confirmed".into())
    );

    // A predictive campaign cannot confirm leads.
    let res = w
        .app
        .post("/api/forms", &w.owner, form("rain", w.predictive))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err = body(res).await;
    assert_eq!(
        err["fields"][0]["field"], "confirmation_campaign_id",
        "{err}"
    );
    assert_eq!(err["fields"][0]["code"], "wrong_mode", "{err}");
}

#[tokio::test]
async fn campaign_qualifications_move_the_lead() {
    let w = world().await;
    let res = w
        .app
        .post("/api/forms", &w.owner, form("sun", w.campaign))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let yes = submit(&w.app, "sun", "0611111111").await;
    let no = submit(&w.app, "sun", "0622222222").await;
    let wrong = submit(&w.app, "sun", "0633333333").await;
    let later = submit(&w.app, "sun", "0644444444").await;
    for (lead, call_ref, code, status, stage) in [
        (yes, "c-yes", "OK", "done", "call_confirmed"),
        (no, "c-no", "NO", "done", "rejected"),
        (wrong, "c-wrong", "WRONG", "wrong_number", "unreachable"),
        (later, "c-later", "LATER", "retry", "assigned"),
    ] {
        call(&w, lead, call_ref).await;
        let res = w
            .app
            .post(
                &format!("/api/calls/{call_ref}/qualify"),
                &w.agent,
                json!({"qualification": code}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
        assert_eq!(
            dialer_view(&w.app, lead).await,
            (Some(w.campaign), status.into(), stage.into()),
            "{code}"
        );
        let kinds = timeline_kinds(&w, lead).await;
        assert!(kinds.contains(&"qualified".to_owned()), "{code}: {kinds:?}");
    }

    // A supervisor closing the lead by hand takes it out of the campaign as well.
    let res = w
        .app
        .patch(
            &format!("/api/leads/{later}"),
            &w.owner,
            json!({"stage": "invalid", "reason": "test entry"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    assert_eq!(
        dialer_view(&w.app, later).await,
        (Some(w.campaign), "done".into(), "invalid".into())
    );

    // Deleting the (never started) campaign keeps the form's leads.
    let res = w
        .app
        .delete(&format!("/api/campaigns/{}", w.campaign), &w.owner)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(dialer_view(&w.app, yes).await.0, None);
    let res = w.app.get(&format!("/api/leads/{yes}"), &w.owner).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_dialer_giving_up_makes_the_lead_unreachable() {
    let w = world().await;
    let res = w
        .app
        .post("/api/forms", &w.owner, form("sun", w.campaign))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let lead = submit(&w.app, "sun", "0655555555").await;
    let max = i32::try_from(CampaignSettings::default().strategy.max_attempts).unwrap();
    // The last allowed attempt rings out.
    call(&w, lead, "c-last").await;
    w.app
        .state
        .db
        .run(move |conn| {
            diesel::update(leads::table.find(lead))
                .set(leads::attempts.eq(max))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    ring_out(&w, lead, "c-last").await;
    assert_eq!(
        dialer_view(&w.app, lead).await,
        (Some(w.campaign), "exhausted".into(), "unreachable".into())
    );
}

#[tokio::test]
async fn a_lead_closed_during_its_call_stays_out_of_the_selection() {
    let w = world().await;
    let res = w
        .app
        .post("/api/forms", &w.owner, form("sun", w.campaign))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let rings = submit(&w.app, "sun", "0666666666").await;
    let talks = submit(&w.app, "sun", "0677777777").await;
    for (lead, call_ref) in [(rings, "c-rings"), (talks, "c-talks")] {
        call(&w, lead, call_ref).await;
        // A supervisor closes the lead while the dialer's call is on.
        let res = w
            .app
            .patch(
                &format!("/api/leads/{lead}"),
                &w.owner,
                json!({"stage": "invalid", "reason": "duplicate entry"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    }

    // The first call rings out: a retry would dial the closed lead again.
    ring_out(&w, rings, "c-rings").await;
    assert_eq!(
        dialer_view(&w.app, rings).await,
        (Some(w.campaign), "done".into(), "invalid".into())
    );

    // The second was answered; the agent asks for a call back later.
    let res = w
        .app
        .post(
            "/api/calls/c-talks/qualify",
            &w.agent,
            json!({"qualification": "LATER"}),
        )
        .await;
    let status = res.status();
    let answer = body(res).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["lead_status"], "done", "{answer}");
    assert_eq!(answer["next_attempt_at"], Value::Null, "{answer}");
    assert_eq!(
        dialer_view(&w.app, talks).await,
        (Some(w.campaign), "done".into(), "invalid".into())
    );
}

#[tokio::test]
async fn the_sweeper_assigns_leads_that_waited_for_a_free_agent() {
    use callpro_api::leadflow::reminders;

    let w = world().await;
    let mut spec = form("sun", w.campaign);
    spec["max_open_leads"] = json!(1);
    let res = w.app.post("/api/forms", &w.owner, spec).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", body(res).await);
    let first = submit(&w.app, "sun", "0611111111").await;
    let second = submit(&w.app, "sun", "0622222222").await;
    assert_eq!(dialer_view(&w.app, first).await.2, "assigned");
    // The only agent is at the cap: the second lead waits.
    assert_eq!(dialer_view(&w.app, second).await.2, "new");
    assert!(
        timeline_kinds(&w, second)
            .await
            .contains(&"assignment_pending".to_owned())
    );
    let config = w
        .app
        .state
        .config
        .leads
        .reminder_config(&w.app.state.config.public_url());
    let round = reminders::run_once(&w.app.state, &config, Utc::now().naive_utc()).await;
    assert_eq!((round.assigned, round.failures), (0, 0));
    let before = timeline_kinds(&w, second).await.len();

    // The agent closes the first lead; the next round hands the second one over.
    let res = w
        .app
        .post(
            &format!("/api/leads/{first}/qualify"),
            &w.agent,
            json!({"result": "rejected"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let round = reminders::run_once(&w.app.state, &config, Utc::now().naive_utc()).await;
    assert_eq!((round.assigned, round.failures), (1, 0));
    assert_eq!(dialer_view(&w.app, second).await.2, "assigned");
    let kinds = timeline_kinds(&w, second).await;
    // Waiting rounds wrote nothing; the assignment wrote its stage change and its entry.
    assert_eq!(kinds.len(), before + 2, "{kinds:?}");
    let round = reminders::run_once(&w.app.state, &config, Utc::now().naive_utc()).await;
    assert_eq!(round.assigned, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_calls_an_assigned_lead_from_the_desk() {
    use callpro_engine::telephony::memory::Recorded;

    let (app, pbx) = TestApp::spawn_with_memory_telephony().await;
    let w = world_on(app).await;
    let admin = w.app.admin_token().await;
    let res = w
        .app
        .post(
            "/api/sites",
            &admin,
            json!({"call_center_id": w.cc, "name": "Paris"}),
        )
        .await;
    let site = body(res).await["id"].as_i64().unwrap();
    let res = w
        .app
        .post(
            "/api/trunks",
            &admin,
            json!({"call_center_id": w.cc, "site_id": site, "name": "yeastar-paris",
                   "host": "192.0.2.10"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = w
        .app
        .patch(
            &format!("/api/users/{}", w.agent_id),
            &admin,
            json!({"sip_extension": "1001", "site_id": site}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut spec = form("sun", w.campaign);
    spec["confirmation_campaign_id"] = Value::Null;
    let res = w.app.post("/api/forms", &w.owner, spec).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let lead = submit(&w.app, "sun", "06 12 34 56 78").await;

    let res = w
        .app
        .post(&format!("/api/leads/{lead}/call"), &w.agent, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED, "{}", body(res).await);
    let call_id = body(res).await["call_id"].as_str().unwrap().to_owned();
    let Recorded::Originate(o) = pbx.requests().last().unwrap().clone() else {
        panic!("no originate")
    };
    assert_eq!(
        (o.channel.as_str(), o.channel_id.as_str()),
        ("PJSIP/1001", call_id.as_str())
    );
    assert!(
        format!("{:?}", o.target).contains("+33612345678"),
        "{:?}",
        o.target
    );
    let res = w
        .app
        .get(&format!("/api/leads/{lead}/timeline"), &w.owner)
        .await;
    let timeline = body(res).await;
    let started = timeline
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "call_started")
        .expect("a call_started entry");
    assert_eq!(started["detail"]["call_id"], call_id.as_str());

    // Once the lead is closed there is nothing to call it about.
    let res = w
        .app
        .post(
            &format!("/api/leads/{lead}/qualify"),
            &w.agent,
            json!({"result": "confirmed"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = w
        .app
        .post(&format!("/api/leads/{lead}/call"), &w.agent, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}
