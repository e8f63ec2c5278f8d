//! `callpro asterisk-config`: Asterisk's configuration rendered from the database, and the
//! agents' SIP passwords behind it.
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
