//! `callpro asterisk-config`: Asterisk's configuration rendered from the database (trunks,
//! agents' phones, the DIDs' dialplan, the agent groups' queues), and the agents' SIP
//! passwords behind it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use callpro_api::asterisk::{self, RenderOptions, Rendered};
use common::{TestApp, USER_PASSWORD, body};
use reqwest::StatusCode;
use serde_json::json;

async fn render(app: &TestApp, call_center_id: Option<i64>) -> Rendered {
    let secrets = app.state.secrets.clone();
    app.state
        .db
        .run(move |conn| {
            asterisk::render(
                conn,
                &secrets,
                &RenderOptions {
                    agi_address: "10.1.2.3:4573".into(),
                    ami_account: Some(("callpro".into(), "ami;secret".into())),
                    call_center_id,
                },
            )
        })
        .await
        .unwrap()
}

fn file<'a>(rendered: &'a Rendered, name: &str) -> &'a str {
    &rendered
        .files
        .iter()
        .find(|f| f.name == name)
        .unwrap()
        .contents
}

#[actix_web::test]
async fn renders_trunks_and_agents_from_the_database() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    let other = app.call_center(&admin, "Other").await;
    let site = body(
        app.post(
            "/api/sites",
            &admin,
            json!({"call_center_id": cc, "name": "Paris"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    for (name, cc, site, creds, active) in [
        ("yeastar-paris", cc, Some(site), true, true),
        ("yeastar-old", cc, None, false, false),
        ("other-gw", other, None, false, true),
    ] {
        let mut trunk = json!({"call_center_id": cc, "site_id": site, "name": name,
                               "host": "192.0.2.10", "active": active});
        if creds {
            trunk["username"] = json!("callpro");
            trunk["password"] = json!("gw;secret");
        }
        let res = app.post("/api/trunks", &admin, trunk).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let agent = app.user(&admin, "ann@acme.test", "agent", Some(cc)).await;
    let res = app
        .patch(
            &format!("/api/users/{agent}"),
            &admin,
            json!({"sip_extension": "1001", "site_id": site, "display_name": "Ann \"The Closer\""}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let far = app
        .user(&admin, "bob@other.test", "agent", Some(other))
        .await;
    app.patch(
        &format!("/api/users/{far}"),
        &admin,
        json!({"sip_extension": "2001"}),
    )
    .await;

    let first = render(&app, None).await;
    assert_eq!(
        (first.trunks, first.agents, first.generated_secrets),
        (2, 2, 2)
    );
    assert_eq!((first.dids, first.queues), (0, 0));
    let pjsip = file(&first, "pjsip.conf");
    assert!(pjsip.contains("[transport-udp]"), "{pjsip}");
    assert!(pjsip.contains("[yeastar-paris]\ntype = endpoint\n"));
    assert!(pjsip.contains("outbound_auth = yeastar-paris-auth"));
    assert!(pjsip.contains("password = gw\\;secret\n"));
    assert!(pjsip.contains("[yeastar-paris]\ntype = registration\n"));
    assert!(
        !pjsip.contains("yeastar-old"),
        "inactive trunks are left out"
    );
    assert!(pjsip.contains("[other-gw]\ntype = endpoint\n"));
    assert!(pjsip.contains("[1001](agent-template)\n"));
    assert!(pjsip.contains("callerid = \"Ann The Closer\" <1001>\n"));
    assert!(pjsip.contains("set_var = CALLPRO_TRUNK=yeastar-paris\n"));
    assert!(!pjsip.contains("change-me"), "example passwords never ship");
    let extensions = file(&first, "extensions.conf");
    assert!(extensions.contains("CALLPRO_AGI = agi://10.1.2.3:4573\n"));
    assert!(extensions.contains("[callpro-agent-session]"));
    assert!(file(&first, "manager.conf").contains("secret = ami\\;secret\n"));
    assert!(first.files.iter().any(|f| f.name == "confbridge.conf"));
    let secret_files: Vec<_> = first
        .files
        .iter()
        .filter(|f| f.secret)
        .map(|f| f.name)
        .collect();
    assert_eq!(secret_files, ["pjsip.conf", "manager.conf"]);
    let queues = file(&first, "queues.conf");
    assert!(
        queues.contains("[callpro-queue](!)\n") && queues.contains("\nstrategy = leastrecent\n"),
        "{queues}"
    );
    assert!(
        !queues.contains("\n[callpro-group-"),
        "no group, no queue: {queues}"
    );

    // Rendering again keeps every password.
    let second = render(&app, None).await;
    assert_eq!(second.generated_secrets, 0);
    assert_eq!(file(&second, "pjsip.conf"), pjsip);

    // One tenant only.
    let acme = render(&app, Some(cc)).await;
    let pjsip = file(&acme, "pjsip.conf");
    assert!(!pjsip.contains("other-gw") && !pjsip.contains("[2001]"));

    // Rotating over the API changes what Asterisk gets; the secret is never in the audit log.
    let ann = app.login("ann@acme.test", USER_PASSWORD).await;
    let res = app
        .post(&format!("/api/users/{agent}/sip-secret"), &ann, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let issued = body(res).await;
    assert_eq!(issued["extension"], "1001");
    let secret = issued["secret"].as_str().unwrap().to_owned();
    let third = render(&app, Some(cc)).await;
    assert!(
        file(&third, "pjsip.conf").contains(&format!("username = 1001\npassword = {secret}\n"))
    );
    let audit = body(app.get("/api/audit?entity=user", &admin).await).await;
    assert!(audit.to_string().contains("user.sip_secret.rotate"));
    assert!(!audit.to_string().contains(&secret));
}

#[actix_web::test]
async fn only_the_user_or_their_managers_rotate_a_sip_secret() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    let other = app.call_center(&admin, "Other").await;
    let agent = app.user(&admin, "ann@acme.test", "agent", Some(cc)).await;
    let peer = app.user(&admin, "pat@acme.test", "agent", Some(cc)).await;
    let supervisor = app
        .user(&admin, "sue@acme.test", "supervisor", Some(cc))
        .await;
    let owner = app.user(&admin, "own@acme.test", "owner", Some(cc)).await;
    let stranger = app
        .user(&admin, "own@other.test", "owner", Some(other))
        .await;
    let _ = (supervisor, owner, stranger, peer);
    app.patch(
        &format!("/api/users/{agent}"),
        &admin,
        json!({"sip_extension": "1001"}),
    )
    .await;
    let path = format!("/api/users/{agent}/sip-secret");
    for (email, expected) in [
        ("pat@acme.test", StatusCode::FORBIDDEN),
        ("sue@acme.test", StatusCode::FORBIDDEN),
        ("own@other.test", StatusCode::NOT_FOUND),
        ("own@acme.test", StatusCode::OK),
        ("ann@acme.test", StatusCode::OK),
    ] {
        let token = app.login(email, USER_PASSWORD).await;
        let res = app.post(&path, &token, json!({})).await;
        assert_eq!(res.status(), expected, "{email}");
    }
    // No extension: nothing to rotate.
    let res = app
        .post(&format!("/api/users/{peer}/sip-secret"), &admin, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[actix_web::test]
async fn renders_dids_into_the_dialplan_and_groups_into_queues() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    let other = app.call_center(&admin, "Other").await;
    let mut groups = Vec::new();
    for (cc, name) in [(cc, "Sales"), (cc, "Support"), (other, "Theirs")] {
        let res = app
            .post(
                "/api/groups",
                &admin,
                json!({"call_center_id": cc, "name": name}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        groups.push(body(res).await["id"].as_i64().unwrap());
    }
    let res = app
        .post(
            "/api/ivr-flows",
            &admin,
            json!({"call_center_id": cc, "name": "Main \"line\"\n",
                   "definition": {"start": "h", "nodes": [{"id": "h", "type": "hangup"}]}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let flow = body(res).await["id"].as_i64().unwrap();
    for (cc, number, flow, active) in [
        (cc, "+33 1 42 00 00 00", Some(flow), true),
        (cc, "0142000001", None, true),
        (cc, "0142000002", Some(flow), false),
        (other, "0299000000", None, true),
    ] {
        let res = app
            .post(
                "/api/dids",
                &admin,
                json!({"call_center_id": cc, "number": number, "flow_id": flow, "active": active}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }

    let all = render(&app, None).await;
    assert_eq!((all.dids, all.queues), (3, 3));
    let extensions = file(&all, "extensions.conf");
    let block = format!(
        "; DID +33142000000: flow {flow} \"Main \"line\"\"\n\
         exten => +33142000000,1,NoOp(Inbound DID ${{EXTEN}} from ${{CALLERID(all)}})\n \
         same => n,AGI(${{CALLPRO_AGI}}/ivr?did=${{EXTEN}})\n \
         same => n,NoOp(IVR ended: ${{CALLPRO_IVR_RESULT}} ${{CALLPRO_IVR_ERROR}})\n \
         same => n,Hangup()\n"
    );
    assert!(extensions.contains(&block), "{extensions}");
    assert!(extensions.contains("; DID 0142000001: no flow"));
    assert!(extensions.contains("exten => 0142000001,1,"));
    assert!(extensions.contains("exten => 0299000000,1,"));
    assert!(
        !extensions.contains("0142000002"),
        "inactive DIDs are left out"
    );
    // Every DID comes before the catch-all, inside [from-gw].
    let from_gw = extensions.find("[from-gw]").unwrap();
    let catch_all = extensions.find("exten => _X.,1,NoOp(Inbound DID").unwrap();
    for number in ["+33142000000", "0142000001", "0299000000"] {
        let at = extensions.find(&format!("exten => {number},1,")).unwrap();
        assert!(from_gw < at && at < catch_all, "{number}");
    }
    let queues = file(&all, "queues.conf");
    for group in &groups {
        assert!(
            queues.contains(&format!("\n[callpro-group-{group}](callpro-queue)\n")),
            "{queues}"
        );
    }
    assert!(queues.contains(&format!(
        "; group {} \"Sales\" of call center {cc}\n",
        groups[0]
    )));
    assert!(queues.contains("joinempty = ") && queues.contains("leavewhenempty = "));
    assert!(queues.contains("retry = 5\n") && queues.contains("timeout = 15\n"));

    // One tenant only.
    let acme = render(&app, Some(cc)).await;
    assert_eq!((acme.dids, acme.queues), (2, 2));
    assert!(!file(&acme, "extensions.conf").contains("0299000000"));
    assert!(!file(&acme, "queues.conf").contains(&format!("callpro-group-{}]", groups[2])));
}
