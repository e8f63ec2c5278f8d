//! Login, lockout, refresh-token rotation and reuse detection, logout, MFA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, body};
use reqwest::header::{RETRY_AFTER, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// The refresh cookie's value from a response's `Set-Cookie`.
fn refresh_cookie(res: &reqwest::Response) -> String {
    let header = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("callpro_refresh="))
        .expect("refresh cookie set");
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/auth"] {
        assert!(header.contains(attr), "{attr} missing from {header}");
    }
    header
        .trim_start_matches("callpro_refresh=")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

async fn refresh_with(app: &TestApp, cookie: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/auth/refresh", None)
        .header("cookie", format!("callpro_refresh={cookie}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_gives_a_bearer_token_and_a_secure_refresh_cookie() {
    let app = TestApp::spawn().await;
    let res = app.login_response(ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    refresh_cookie(&res);
    let token = body(res).await;
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 900);
    let me = body(
        app.get("/api/me", token["access_token"].as_str().unwrap())
            .await,
    )
    .await;
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "super_admin");
    assert!(me.get("password_hash").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_email_and_wrong_password_answer_identically() {
    let app = TestApp::spawn().await;
    let a = app
        .login_response("nobody@callpro.test", ADMIN_PASSWORD, None)
        .await;
    let b = app
        .login_response(ADMIN_EMAIL, "wrong-password-1", None)
        .await;
    assert_eq!(a.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(b.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body(a).await, body(b).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_the_account_with_retry_after() {
    let app = TestApp::spawn().await;
    for _ in 0..4 {
        let res = app
            .login_response(ADMIN_EMAIL, "wrong-password-1", None)
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let fifth = app
        .login_response(ADMIN_EMAIL, "wrong-password-1", None)
        .await;
    assert_eq!(fifth.status(), StatusCode::TOO_MANY_REQUESTS);
    // Even the right password is refused while locked.
    let res = app.login_response(ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900);
    assert_eq!(body(res).await["code"], "too_many_attempts");
    // An unknown email locks the same way, so lockouts reveal nothing about accounts.
    for _ in 0..5 {
        app.login_response("ghost@callpro.test", "whatever-12345", None)
            .await;
    }
    let res = app
        .login_response("ghost@callpro.test", "whatever-12345", None)
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_address_is_locked_after_many_failures() {
    let app = TestApp::spawn_with(|c| c.auth.max_failed_logins_per_ip = 3).await;
    for i in 0..2 {
        let res = app
            .login_response(&format!("u{i}@callpro.test"), "wrong-password-1", None)
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app
        .login_response("u9@callpro.test", "wrong-password-1", None)
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let res = app.login_response(ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let login = app.login_response(ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    let first = refresh_cookie(&login);

    let res = refresh_with(&app, &first).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second = refresh_cookie(&res);
    assert_ne!(first, second);
    let token = body(res).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.get("/api/me", &token).await.status(), StatusCode::OK);

    // The stolen first token is replayed: refused, and the legitimate second one dies too.
    let reuse = refresh_with(&app, &first).await;
    assert_eq!(reuse.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body(reuse).await["code"], "refresh_token_reused");
    let res = refresh_with(&app, &second).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Another login starts a new, independent family.
    let login = app.login_response(ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    let fresh = refresh_cookie(&login);
    assert_eq!(refresh_with(&app, &fresh).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_refresh_token() {
    let app = TestApp::spawn().await;
    let login = app.login_response(ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    let cookie = refresh_cookie(&login);
    let res = app
        .request(Method::POST, "/api/auth/logout", None)
        .header("cookie", format!("callpro_refresh={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        refresh_with(&app, &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let missing = app
        .request(Method::POST, "/api/auth/refresh", None)
        .send()
        .await
        .unwrap();
    assert_eq!(body(missing).await["code"], "missing_refresh_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_or_missing_tokens_are_401() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::GET, "/api/me", None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body(res).await["code"], "unauthorized");
    let res = app.get("/api/me", "not.a.jwt").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body(res).await["code"], "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_users_lose_access_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cc = app.call_center(&admin, "Acme").await;
    let id = app.user(&admin, "agent@acme.test", "agent", Some(cc)).await;
    let token = app.login("agent@acme.test", common::USER_PASSWORD).await;
    assert_eq!(app.get("/api/me", &token).await.status(), StatusCode::OK);
    let res = app
        .patch(
            &format!("/api/users/{id}"),
            &admin,
            json!({"active": false}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.get("/api/me", &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = app
        .login_response("agent@acme.test", common::USER_PASSWORD, None)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrolment_activation_login_and_recovery_codes() {
    use callpro_api::auth::mfa;
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let enrol = body(app.post("/api/me/mfa/enroll", &token, json!({})).await).await;
    let secret = enrol["secret"].as_str().unwrap().to_string();
    assert!(
        enrol["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );

    // A wrong first code does not activate.
    let res = app
        .post("/api/me/mfa/activate", &token, json!({"code": "12345"}))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let code = mfa::current_code(&secret, ADMIN_EMAIL).unwrap();
    let res = app
        .post("/api/me/mfa/activate", &token, json!({"code": code}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let codes: Vec<String> =
        serde_json::from_value(body(res).await["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);

    // Password alone is no longer enough.
    let res = app.login_response(ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body(res).await["code"], "mfa_required");
    // The activation code's time step was spent: replaying it is refused.
    let res = app
        .login_response(ADMIN_EMAIL, ADMIN_PASSWORD, Some(&code))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body(res).await["code"], "invalid_mfa_code");

    // A recovery code works once.
    let res = app
        .login_response(ADMIN_EMAIL, ADMIN_PASSWORD, Some(&codes[0]))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .login_response(ADMIN_EMAIL, ADMIN_PASSWORD, Some(&codes[0]))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .login_response(ADMIN_EMAIL, ADMIN_PASSWORD, Some(&codes[1].to_uppercase()))
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // Disabling needs the password.
    let token = body(res).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .post(
            "/api/me/mfa/disable",
            &token,
            json!({"current_password": "nope-nope-nope"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .post(
            "/api/me/mfa/disable",
            &token,
            json!({"current_password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.login_response(ADMIN_EMAIL, ADMIN_PASSWORD, None)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_totp_secret_is_encrypted_at_rest() {
    use diesel::{ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _};
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let enrol = body(app.post("/api/me/mfa/enroll", &token, json!({})).await).await;
    let secret = enrol["secret"].as_str().unwrap().to_string();
    let stored: Option<String> = app
        .state
        .db
        .run(|conn| {
            use callpro_api::db::schema::users::dsl::*;
            Ok(users
                .filter(email.eq(ADMIN_EMAIL))
                .select(totp_secret)
                .first(conn)?)
        })
        .await
        .unwrap();
    let stored = stored.unwrap();
    assert!(stored.starts_with("v1:"));
    assert!(!stored.contains(&secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let login = app.login_response(ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    let cookie = refresh_cookie(&login);
    let token = body(login).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .post(
            "/api/me/password",
            &token,
            json!({"current_password": ADMIN_PASSWORD, "new_password": "a-brand-new-password"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        refresh_with(&app, &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.login(ADMIN_EMAIL, "a-brand-new-password").await;
}
