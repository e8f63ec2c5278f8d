//! Inbound calls end to end: a flow built and published through the API, a DID mapped to it,
//! and a scripted Asterisk dialing into `/ivr` over FastAGI with the environment block and reply
//! formats of the recorded Asterisk 22 sessions (`engine/tests/captures/agi/`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{TestApp, body};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The recorded inbound call's environment (`agi-session-inbound-ivr`), DID 0142000000.
fn recorded_environment() -> String {
    let capture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/engine/tests/captures/agi/agi-session-inbound-ivr.jsonl"
    ))
    .expect("the inbound IVR capture is in the repository");
    let mut environment = String::new();
    for line in capture.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        if record["dir"] == "in" && record["bytes"].as_str().unwrap().starts_with("agi_") {
            environment.push_str(record["bytes"].as_str().unwrap());
        }
    }
    assert!(environment.ends_with("\n\n"), "{environment:?}");
    assert!(environment.contains("agi_network_script: ivr?did=0142000000\n"));
    environment
}

/// Asterisk's side of one FastAGI call.
struct Caller {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Caller {
    async fn dial(addr: SocketAddr, environment: &str) -> Caller {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(environment.as_bytes()).await.unwrap();
        Caller {
            stream,
            buf: Vec::new(),
        }
    }

    /// The next command callpro sends, or `None` once it closed the connection.
    async fn command(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                return Some(String::from_utf8(line).unwrap().trim_end().to_owned());
            }
            let mut chunk = [0u8; 4096];
            let read = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
                .await
                .expect("callpro answers within 10 s")
                .unwrap_or(0);
            if read == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..read]);
        }
    }

    /// Expects `command` next and answers it with `reply` (raw lines, `\n` included).
    async fn expect(&mut self, command: &str, reply: &str) {
        let got = self.command().await;
        assert_eq!(got.as_deref(), Some(command), "expected {command:?}");
        self.stream.write_all(reply.as_bytes()).await.unwrap();
    }

    async fn expect_closed(&mut self) {
        let got = self.command().await;
        assert_eq!(got, None, "expected callpro to close the AGI connection");
    }
}

/// A CRM answering every lookup with a fixed JSON body.
async fn crm(answer: Value) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = answer.to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    addr
}

struct Setup {
    app: TestApp,
    token: String,
    agi: SocketAddr,
    flow_id: i64,
    group: i64,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let center = app.call_center(&admin, "Inbound Co").await;
    let group = body(
        app.post(
            "/api/groups",
            &admin,
            json!({"call_center_id": center, "name": "Sales"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    for prompt in [
        "callpro/main-menu",
        "callpro/invalid",
        "callpro/no-input",
        "callpro/enter-account",
        "callpro/closed",
    ] {
        let res = app
            .post(
                "/api/prompts",
                &admin,
                json!({"call_center_id": center, "name": prompt, "language": "en"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{}", body(res).await);
    }
    let crm = crm(json!({"account": {"tier": "gold"}})).await;
    let definition = json!({"format": 1, "start": "answer", "nodes": [
        {"id": "answer", "type": "answer", "exits": {"next": "menu"}},
        {"id": "menu", "type": "menu", "prompt": "callpro/main-menu", "timeout_ms": 3000,
         "max_retries": 1, "invalid_prompt": "callpro/invalid", "timeout_prompt": "callpro/no-input",
         "exits": {"1": "hours", "2": "account", "invalid": "bye", "timeout": "bye"}},
        {"id": "hours", "type": "calendar",
         "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "00:00", "to": "24:00"}],
         "holidays": [{"from": "1999-12-31", "name": "Long ago"}],
         "exits": {"open": "sales", "closed": "closed"}},
        {"id": "account", "type": "collect", "prompt": "callpro/enter-account", "variable": "ACCOUNT",
         "min_digits": 4, "max_digits": 6, "timeout_ms": 5000,
         "exits": {"next": "lookup", "invalid": "sales", "timeout": "sales"}},
        {"id": "lookup", "type": "http_lookup", "url": format!("http://{crm}/accounts/${{ACCOUNT}}"),
         "timeout_ms": 2000, "set": {"TIER": "/account/tier"},
         "exits": {"ok": "tier", "failure": "sales"}},
        {"id": "tier", "type": "condition", "subject": "${TIER}",
         "cases": [{"exit": "gold", "op": "equals", "values": ["gold"]}],
         "exits": {"gold": "sales", "default": "vm"}},
        {"id": "sales", "type": "queue", "group_id": group, "max_wait_secs": 30,
         "exits": {"answered": null, "timeout": "vm", "full": "vm", "unavailable": "vm", "failed": "vm"}},
        {"id": "vm", "type": "voicemail", "mailbox": "100@callpro", "exits": {"next": "bye"}},
        {"id": "closed", "type": "playback", "prompts": ["callpro/closed"], "exits": {"next": "bye"}},
        {"id": "bye", "type": "hangup"}
    ]});
    let res = app
        .post(
            "/api/ivr-flows",
            &admin,
            json!({"call_center_id": center, "name": "Main line", "definition": definition}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let flow = body(res).await;
    let flow_id = flow["id"].as_i64().unwrap();
    // The stored definition reads back as sent (defaults filled in).
    let stored = body(app.get(&format!("/api/ivr-flows/{flow_id}"), &admin).await).await;
    assert_eq!(
        stored["definition"]["nodes"][1]["prompt"],
        "callpro/main-menu"
    );
    assert_eq!(stored["definition"]["nodes"][3]["max_retries"], 2);
    let res = app
        .post(
            &format!("/api/ivr-flows/{flow_id}/publish"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(body(res).await["version"], 1);
    let res = app
        .post(
            "/api/dids",
            &admin,
            json!({"call_center_id": center, "number": "01 42 00 00 00", "flow_id": flow_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let agi = app
        .state
        .engine
        .agi
        .as_ref()
        .and_then(|status| status.local_addr())
        .expect("the FastAGI server listens");
    Setup {
        app,
        token: admin,
        agi,
        flow_id,
        group,
    }
}

async fn sessions(setup: &Setup) -> Vec<Value> {
    // Sessions are stored as the call ends; give the last write a moment.
    for _ in 0..50 {
        let list = body(
            setup
                .app
                .get("/api/ivr/sessions?did=0142000000&per_page=50", &setup.token)
                .await,
        )
        .await;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        if items.iter().all(|s| s["outcome"] != "in_progress") {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("sessions still in progress");
}

#[tokio::test]
async fn inbound_calls_walk_the_published_flow() {
    let setup = setup().await;
    let environment = recorded_environment();
    let queue = format!("callpro-group-{}", setup.group);

    // 1. An invalid key, the invalid prompt, a timeout, the menu again, then 1: the calendar
    // is open, the queue times out, the caller leaves a voicemail and the flow hangs up.
    let mut call = Caller::dial(setup.agi, &environment).await;
    call.expect("ANSWER", "200 result=0\n").await;
    call.expect(
        r#"STREAM FILE callpro/main-menu "0123456789*#""#,
        "200 result=55 endpos=5600\n",
    )
    .await;
    call.expect(
        r#"STREAM FILE callpro/invalid "0123456789*#""#,
        "200 result=0 endpos=11360\n",
    )
    .await;
    call.expect(
        r#"STREAM FILE callpro/main-menu "0123456789*#""#,
        "200 result=0 endpos=11360\n",
    )
    .await;
    call.expect("WAIT FOR DIGIT 3000", "200 result=49\n").await;
    call.expect(&format!(r#"EXEC Queue "{queue},,,,30""#), "200 result=0\n")
        .await;
    call.expect("GET VARIABLE QUEUESTATUS", "200 result=1 (TIMEOUT)\n")
        .await;
    call.expect(r#"EXEC VoiceMail "100@callpro,u""#, "200 result=0\n")
        .await;
    call.expect("GET VARIABLE VMSTATUS", "200 result=1 (SUCCESS)\n")
        .await;
    call.expect("HANGUP", "200 result=1\n").await;
    call.expect_closed().await;

    // 2. Key 2: account number read, looked up in the CRM, a gold customer goes to the queue
    // and is answered there (Queue leaves QUEUESTATUS unset and names the member).
    let mut call = Caller::dial(setup.agi, &environment).await;
    call.expect("ANSWER", "200 result=0\n").await;
    call.expect(
        r#"STREAM FILE callpro/main-menu "0123456789*#""#,
        "200 result=50 endpos=3200\n",
    )
    .await;
    call.expect(
        "GET DATA callpro/enter-account 5000 6",
        "200 result=123456\n",
    )
    .await;
    call.expect(&format!(r#"EXEC Queue "{queue},,,,30""#), "200 result=0\n")
        .await;
    call.expect("GET VARIABLE QUEUESTATUS", "200 result=0\n")
        .await;
    call.expect(
        "GET VARIABLE MEMBERINTERFACE",
        "200 result=1 (Local/5@callpro-agent-bridge)\n",
    )
    .await;
    call.expect("SET VARIABLE CALLPRO_IVR_RESULT queued", "200 result=1\n")
        .await;
    call.expect_closed().await;

    // 3. Silence: the menu times out twice, the flow says goodbye.
    let mut call = Caller::dial(setup.agi, &environment).await;
    call.expect("ANSWER", "200 result=0\n").await;
    call.expect(
        r#"STREAM FILE callpro/main-menu "0123456789*#""#,
        "200 result=0 endpos=11360\n",
    )
    .await;
    call.expect("WAIT FOR DIGIT 3000", "200 result=0\n").await;
    call.expect(
        r#"STREAM FILE callpro/no-input "0123456789*#""#,
        "200 result=0 endpos=8000\n",
    )
    .await;
    call.expect(
        r#"STREAM FILE callpro/main-menu "0123456789*#""#,
        "200 result=0 endpos=11360\n",
    )
    .await;
    call.expect("WAIT FOR DIGIT 3000", "200 result=0\n").await;
    call.expect("HANGUP", "200 result=1\n").await;
    call.expect_closed().await;

    // 4. The caller hangs up during the menu prompt: Asterisk's HANGUP line comes before the
    // reply, and the walk ends there without another command.
    let mut call = Caller::dial(setup.agi, &environment).await;
    call.expect("ANSWER", "200 result=0\n").await;
    call.expect(
        r#"STREAM FILE callpro/main-menu "0123456789*#""#,
        "HANGUP\n200 result=-1 endpos=4000\n",
    )
    .await;
    call.expect_closed().await;

    // 5. A DID nobody configured: the fallback prompt, and the dialplan is told why.
    let unknown = environment.replace("did=0142000000", "did=0999999999");
    let mut call = Caller::dial(setup.agi, &unknown).await;
    call.expect(
        "SET VARIABLE CALLPRO_IVR_ERROR unknown_did",
        "200 result=1\n",
    )
    .await;
    call.expect("ANSWER", "200 result=0\n").await;
    call.expect(
        r#"STREAM FILE ss-noservice """#,
        "200 result=0 endpos=9000\n",
    )
    .await;
    call.expect("SET VARIABLE CALLPRO_IVR_RESULT failed", "200 result=1\n")
        .await;
    call.expect_closed().await;

    // Every session of the center is recorded, newest first, with its path.
    let list = sessions(&setup).await;
    let outcomes: Vec<&str> = list
        .iter()
        .map(|s| s["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["abandoned", "hangup", "queued", "voicemail"]);
    let voicemail = &list[3];
    assert_eq!(voicemail["did"], "0142000000");
    assert_eq!(voicemail["caller_id"], "sipp");
    assert_eq!(voicemail["flow_id"], setup.flow_id);
    assert_eq!(voicemail["flow_version"], 1);
    assert_eq!(voicemail["outcome_detail"], "100@callpro");
    let session = body(
        setup
            .app
            .get(
                &format!("/api/ivr/sessions/{}", voicemail["id"]),
                &setup.token,
            )
            .await,
    )
    .await;
    let path: Vec<(String, String, String)> = session["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["node"].as_str().unwrap().to_owned(),
                s["input"].as_str().unwrap_or("").to_owned(),
                s["exit"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("answer", "", "next"),
        ("menu", "7,1", "1"),
        ("hours", "", "open"),
        ("sales", "TIMEOUT", "timeout"),
        ("vm", "SUCCESS", "next"),
        ("bye", "", ""),
    ];
    let path: Vec<(&str, &str, &str)> = path
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    // The calendar notes the instant it evaluated; compare everything else.
    assert_eq!(path.len(), expected.len(), "{path:?}");
    for (got, want) in path.iter().zip(expected) {
        assert_eq!(got.0, want.0);
        assert_eq!(got.2, want.2);
        if want.0 != "hours" {
            assert_eq!(got.1, want.1, "{path:?}");
        }
    }
    let queued = &list[2];
    assert_eq!(
        queued["outcome_detail"],
        format!("callpro-group-{}", setup.group)
    );
    let abandoned = &list[0];
    assert_eq!(abandoned["last_node"], "menu");

    // The unknown DID's session is recorded too (for the platform admin: it has no center).
    let filtered = body(
        setup
            .app
            .get(
                "/api/ivr/sessions?outcome=failed&did=0999999999",
                &setup.token,
            )
            .await,
    )
    .await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_new_version_applies_to_new_calls_only() {
    let setup = setup().await;
    let environment = recorded_environment();
    // A call in progress on version 1.
    let mut early = Caller::dial(setup.agi, &environment).await;
    early.expect("ANSWER", "200 result=0\n").await;

    // Version 2 drops the menu: answer, then straight to voicemail.
    let definition = json!({"start": "answer", "nodes": [
        {"id": "answer", "type": "answer", "exits": {"next": "vm"}},
        {"id": "vm", "type": "voicemail", "mailbox": "200@callpro", "greeting": "busy", "exits": {"next": null}}
    ]});
    let res = setup
        .app
        .patch(
            &format!("/api/ivr-flows/{}", setup.flow_id),
            &setup.token,
            json!({"definition": definition}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    let res = setup
        .app
        .post(
            &format!("/api/ivr-flows/{}/publish", setup.flow_id),
            &setup.token,
            json!({}),
        )
        .await;
    assert_eq!(body(res).await["version"], 2);

    // The early call still walks version 1.
    early
        .expect(
            r#"STREAM FILE callpro/main-menu "0123456789*#""#,
            "HANGUP\n200 result=-1 endpos=100\n",
        )
        .await;
    early.expect_closed().await;

    let mut late = Caller::dial(setup.agi, &environment).await;
    late.expect("ANSWER", "200 result=0\n").await;
    late.expect(r#"EXEC VoiceMail "200@callpro,b""#, "200 result=0\n")
        .await;
    late.expect("GET VARIABLE VMSTATUS", "200 result=1 (SUCCESS)\n")
        .await;
    late.expect(
        "SET VARIABLE CALLPRO_IVR_RESULT voicemail",
        "200 result=1\n",
    )
    .await;
    late.expect_closed().await;

    let list = sessions(&setup).await;
    let versions: Vec<i64> = list
        .iter()
        .map(|s| s["flow_version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [2, 1]);
}
