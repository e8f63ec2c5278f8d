//! Replays every real Asterisk 22 capture in `engine/tests/captures/{ami,agi}` through the
//! decoders, at the recorded TCP read boundaries and re-chunked at every 1..=7-byte size, and
//! checks what a user of the engine would rely on: packet counts, login outcomes, list gathering,
//! originate outcomes, the AGI environment, reply sequences and the out-of-band `HANGUP`. Our own
//! recorded actions and commands are rebuilt with the typed builders and compared byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod fixtures;

use std::collections::BTreeMap;

use callpro_engine::agi::{AgiFrame, Command, Reply};
use callpro_engine::ami::{Action, AmiFrame, Event, Message, OriginateReason};
use fixtures::{Capture, chunkings, decode_agi, decode_ami, load_captures};

fn ami_captures() -> Vec<Capture> {
    load_captures("ami")
}

fn agi_captures() -> Vec<Capture> {
    load_captures("agi")
}

fn messages(frames: &[AmiFrame]) -> Vec<&Message> {
    frames
        .iter()
        .filter_map(|f| match f {
            AmiFrame::Message(m) => Some(m),
            AmiFrame::Banner(_) => None,
        })
        .collect()
}

/// Decodes a capture under every chunking, asserts they all agree, returns the frames.
fn decode_ami_everywhere(cap: &Capture) -> Vec<AmiFrame> {
    let mut reference: Option<Vec<AmiFrame>> = None;
    for (label, chunks) in chunkings(&cap.in_chunks()) {
        let frames = decode_ami(&chunks);
        match &reference {
            None => reference = Some(frames),
            Some(r) => assert_eq!(&frames, r, "{}: chunking {label} differs", cap.name),
        }
    }
    reference.unwrap()
}

fn response_to<'a>(msgs: &[&'a Message], action_id: &str) -> &'a Message {
    msgs.iter()
        .find(|m| m.response().is_some() && m.action_id() == Some(action_id))
        .unwrap_or_else(|| panic!("no response to {action_id}"))
}

const AMI_PACKETS: &[(&str, usize)] = &[
    ("ami-eventlist", 59),
    ("ami-for-agi-session-basic", 79),
    ("ami-for-agi-session-hangup-idle", 37),
    ("ami-for-agi-session-hangup-midcommand", 46),
    ("ami-for-agi-session-stream-dtmf", 53),
    ("ami-inbound-call", 32),
    ("ami-login-fail", 2),
    ("ami-login-md5", 5),
    ("ami-login-plain", 4),
    ("ami-originate-fail", 7),
    ("ami-originate-local", 49),
    ("ami-originate-trunk-answer", 102),
    ("ami-originate-trunk-busy", 53),
    ("ami-originate-trunk-direct-busy", 16),
    ("ami-queue-ops", 21),
];

#[test]
fn every_ami_capture_frames_identically_and_completely() {
    let caps = ami_captures();
    let expected: BTreeMap<_, _> = AMI_PACKETS.iter().copied().collect();
    assert_eq!(
        caps.len(),
        expected.len(),
        "new capture? add it to AMI_PACKETS"
    );
    for cap in &caps {
        let frames = decode_ami_everywhere(cap);
        assert_eq!(
            frames[0],
            AmiFrame::Banner("Asterisk Call Manager/11.0.0".into()),
            "{}",
            cap.name
        );
        assert_eq!(frames[0].banner_version(), Some("11.0.0"));
        let msgs = messages(&frames);
        assert_eq!(
            msgs.len(),
            frames.len() - 1,
            "{}: one banner only",
            cap.name
        );
        assert_eq!(msgs.len(), expected[cap.name.as_str()], "{}", cap.name);
        for m in &msgs {
            // The captures are canonical, so headers must rebuild the packet text exactly.
            let rebuilt: String = m.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
            assert_eq!(rebuilt, m.as_str(), "{}", cap.name);
            assert!(m.is_event() ^ m.response().is_some(), "{}: {m:?}", cap.name);
            match Event::parse(m) {
                Some(ev) => assert_eq!(Some(ev.name()), m.event_name()),
                None => assert!(m.response().is_some()),
            }
        }
        // Every action we sent got exactly one response echoing its ActionID.
        for action in cap.out_ami_actions() {
            let id = action.action_id().unwrap();
            let n = msgs
                .iter()
                .filter(|m| m.response().is_some() && m.action_id() == Some(id))
                .count();
            assert_eq!(n, 1, "{}: responses to {id}", cap.name);
        }
    }
}

#[test]
fn logins_succeed_or_fail_as_recorded() {
    for cap in ami_captures() {
        let frames = decode_ami_everywhere(&cap);
        let msgs = messages(&frames);
        let login_id = if cap.name == "ami-login-md5" || cap.name == "ami-login-fail" {
            format!("{}-2", cap.name)
        } else {
            format!("{}-1", cap.name)
        };
        let resp = response_to(&msgs, &login_id);
        if cap.name == "ami-login-fail" {
            let ping = response_to(&msgs, "ami-login-fail-1");
            assert_eq!(ping.response(), Some("Error"));
            assert_eq!(ping.message(), Some("Permission denied"));
            assert_eq!(resp.response(), Some("Error"));
            assert_eq!(resp.message(), Some("Authentication failed"));
            assert!(!msgs.iter().any(|m| m.is_event()));
            continue;
        }
        assert_eq!(resp.response(), Some("Success"), "{}", cap.name);
        assert_eq!(resp.message(), Some("Authentication accepted"));
        let booted = msgs
            .iter()
            .find_map(|m| match Event::parse(m) {
                Some(Event::FullyBooted(b)) => Some(b),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{}: no FullyBooted", cap.name));
        assert_eq!(booted.status, Some("Fully Booted"));
        if cap.name == "ami-login-md5" {
            let challenge = response_to(&msgs, "ami-login-md5-1");
            assert_eq!(challenge.get("Challenge"), Some("586842965"));
        }
        let last = msgs.last().unwrap();
        assert_eq!(last.response(), Some("Goodbye"), "{}", cap.name);
        assert_eq!(last.message(), Some("Thanks for all the fish."));
    }
}

/// Gathers list responses: `EventList: start`, items echoing the ActionID, `...Complete`.
fn gather_lists<'a>(msgs: &[&'a Message]) -> BTreeMap<String, (Vec<&'a Message>, usize)> {
    let mut lists = BTreeMap::new();
    for m in msgs {
        if m.response() == Some("Success") && m.event_list() == Some("start") {
            let id = m.action_id().unwrap().to_owned();
            let items: Vec<&Message> = msgs
                .iter()
                .copied()
                .filter(|e| e.is_event() && e.action_id() == Some(id.as_str()))
                .collect();
            let (complete, items) = items.split_last().unwrap();
            assert_eq!(complete.event_list(), Some("Complete"), "{id}");
            assert!(complete.event_name().unwrap().ends_with("Complete"));
            lists.insert(id, (items.to_vec(), complete.list_items().unwrap()));
        }
    }
    lists
}

#[test]
fn event_lists_gather_all_announced_items() {
    let caps = ami_captures();
    let Some(el) = caps.iter().find(|c| c.name == "ami-eventlist") else {
        return;
    };
    let frames = decode_ami_everywhere(el);
    let msgs = messages(&frames);
    let lists = gather_lists(&msgs);
    for (id, (items, announced)) in &lists {
        assert_eq!(items.len(), *announced, "{id}");
    }
    let sizes: Vec<_> = lists.iter().map(|(id, (_, n))| (id.as_str(), *n)).collect();
    assert_eq!(
        sizes,
        [
            ("ami-eventlist-12", 1),
            ("ami-eventlist-3", 2),
            ("ami-eventlist-4", 2),
            ("ami-eventlist-5", 1)
        ]
    );
    let channels: Vec<_> = lists["ami-eventlist-3"]
        .0
        .iter()
        .map(|m| match Event::parse(m) {
            Some(Event::CoreShowChannel(c)) => (c.channel.channel.unwrap(), c.application.unwrap()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        channels,
        [
            ("Local/s@agi-test-00000000;2", "AGI"),
            ("Local/s@agi-test-00000000;1", "Wait")
        ]
    );
    let queue = &lists["ami-eventlist-4"].0;
    assert!(
        matches!(Event::parse(queue[0]), Some(Event::QueueParams(p)) if p.queue == Some("sales") && p.strategy == Some("ringall"))
    );
    assert!(
        matches!(Event::parse(queue[1]), Some(Event::QueueMember(q)) if q.location == Some("PJSIP/agent1001") && q.action_id == Some("ami-eventlist-4"))
    );
    // Other responses of the same session.
    assert_eq!(
        response_to(&msgs, "ami-eventlist-6").get("Ping"),
        Some("Pong")
    );
    assert_eq!(
        response_to(&msgs, "ami-eventlist-7").response(),
        Some("Error")
    );
    assert!(
        response_to(&msgs, "ami-eventlist-8")
            .get("Output")
            .unwrap()
            .starts_with("Asterisk 22.10.1")
    );
    assert_eq!(
        response_to(&msgs, "ami-eventlist-10").get("Value"),
        Some("")
    );
    assert_eq!(
        response_to(&msgs, "ami-eventlist-11").message(),
        Some("No such channel")
    );
}

#[test]
fn queue_operations_are_typed() {
    let caps = ami_captures();
    let Some(cap) = caps.iter().find(|c| c.name == "ami-queue-ops") else {
        return;
    };
    let frames = decode_ami_everywhere(cap);
    let msgs = messages(&frames);
    let mut seen = Vec::new();
    for m in &msgs {
        match Event::parse(m) {
            Some(Event::QueueMemberAdded(q)) => seen.push(("added", q.is_paused(), q.penalty)),
            Some(Event::QueueMemberPause(q)) => {
                seen.push(("pause", q.is_paused(), q.paused_reason));
            }
            Some(Event::QueueMemberRemoved(q)) => {
                assert_eq!(q.interface, Some("PJSIP/agent1002"));
                seen.push(("removed", q.is_paused(), None));
            }
            _ => {}
        }
    }
    assert_eq!(
        seen,
        [
            ("added", false, Some("1")),
            ("pause", true, Some("lunch")),
            ("pause", false, Some("")),
            ("removed", false, None)
        ]
    );
    let lists = gather_lists(&msgs);
    assert_eq!(lists["ami-queue-ops-4"].0.len(), 3);
    assert_eq!(lists["ami-queue-ops-4"].1, 3);
    let again = response_to(&msgs, "ami-queue-ops-7");
    assert_eq!(again.response(), Some("Error"));
    assert_eq!(
        again.message(),
        Some("Unable to remove interface: Not there")
    );
}

#[test]
fn originate_outcomes_per_capture() {
    // (capture, Response, Reason, Channel)
    let expected: &[(&str, &str, OriginateReason, &str)] = &[
        (
            "ami-eventlist",
            "Success",
            OriginateReason::Answered,
            "Local/s@agi-test-00000000;1",
        ),
        (
            "ami-originate-local",
            "Success",
            OriginateReason::Answered,
            "Local/s@agi-test-00000001;1",
        ),
        (
            "ami-originate-fail",
            "Failure",
            OriginateReason::Failed,
            "PJSIP/nonexistent",
        ),
        (
            "ami-originate-trunk-answer",
            "Success",
            OriginateReason::Answered,
            "Local/0600000001@dialer-00000002;1",
        ),
        (
            "ami-originate-trunk-busy",
            "Failure",
            OriginateReason::Failed,
            "Local/0600000001@dialer/n",
        ),
        (
            "ami-originate-trunk-direct-busy",
            "Failure",
            OriginateReason::Failed,
            "PJSIP/0600000001@yeastar-paris",
        ),
    ];
    let caps = ami_captures();
    for (name, response, reason, channel) in expected {
        let Some(cap) = caps.iter().find(|c| c.name == *name) else {
            continue;
        };
        let frames = decode_ami_everywhere(cap);
        let msgs = messages(&frames);
        let originates: Vec<_> = msgs
            .iter()
            .filter_map(|m| match Event::parse(m) {
                Some(Event::OriginateResponse(o)) => Some(o),
                _ => None,
            })
            .collect();
        assert_eq!(originates.len(), 1, "{name}");
        let o = originates[0];
        assert_eq!(o.response, Some(*response), "{name}");
        assert_eq!(o.reason_code(), Some(*reason), "{name}");
        assert_eq!(o.channel, Some(*channel), "{name}");
        // Correlates with the Originate we sent, whose immediate answer was "queued".
        let id = format!("{name}-2");
        assert_eq!(o.action_id, Some(id.as_str()), "{name}");
        assert_eq!(
            response_to(&msgs, &id).message(),
            Some("Originate successfully queued")
        );
        let dial_ends: Vec<_> = msgs
            .iter()
            .filter_map(|m| match Event::parse(m) {
                Some(Event::DialEnd(d)) => d.dial_status,
                _ => None,
            })
            .collect();
        let causes: Vec<_> = msgs
            .iter()
            .filter_map(|m| match Event::parse(m) {
                Some(Event::Hangup(h)) => h.cause_code(),
                _ => None,
            })
            .collect();
        if name.contains("busy") {
            assert!(dial_ends.contains(&"BUSY"), "{name}: {dial_ends:?}");
            assert!(causes.iter().all(|c| *c == 17), "{name}: {causes:?}");
            let cdrs: Vec<_> = msgs
                .iter()
                .filter_map(|m| match Event::parse(m) {
                    Some(Event::Cdr(c)) => Some(c),
                    _ => None,
                })
                .collect();
            assert!(cdrs.iter().all(|c| c.unique_id.is_some()));
            assert!(cdrs.iter().any(|c| c.disposition == Some("BUSY")));
        }
        if *name == "ami-originate-trunk-answer" {
            assert_eq!(dial_ends, ["ANSWER", "ANSWER"]);
            assert!(causes.iter().all(|c| *c == 16), "{causes:?}");
            let names: Vec<_> = msgs
                .iter()
                .filter_map(|m| Event::parse(m))
                .map(|e| e.name())
                .collect();
            let count = |n: &str| names.iter().filter(|x| **x == n).count();
            assert_eq!(
                (
                    count("BridgeEnter"),
                    count("BridgeLeave"),
                    count("DialState")
                ),
                (2, 2, 2)
            );
            let ringing = msgs.iter().find_map(|m| match Event::parse(m) {
                Some(Event::DialState(d)) => Some(d),
                _ => None,
            });
            assert_eq!(ringing.unwrap().dial_status, Some("RINGING"));
        }
        if *name == "ami-originate-local" {
            assert_eq!(o.uniqueid, Some("callpro-orig-0001"));
            let lb = msgs.iter().find_map(|m| match Event::parse(m) {
                Some(Event::LocalBridge(l)) => Some(l),
                _ => None,
            });
            let lb = lb.unwrap();
            assert_eq!(lb.one.uniqueid, Some("callpro-orig-0001"));
            assert_eq!(lb.two.uniqueid, Some("callpro-orig-0002"));
            assert_eq!(lb.two.linkedid, Some("callpro-orig-0001"));
        }
    }
}

#[test]
fn recorded_actions_rebuild_byte_for_byte() {
    let caps = ami_captures();
    for cap in &caps {
        for (recorded, action) in cap.out_ami_raw().iter().zip(cap.out_ami_actions()) {
            assert_eq!(
                &action.to_bytes().unwrap()[..],
                recorded.as_slice(),
                "{}",
                cap.name
            );
        }
    }
    let Some(local) = caps.iter().find(|c| c.name == "ami-originate-local") else {
        return;
    };
    let originate = Action::new("Originate")
        .with_action_id("ami-originate-local-2")
        .header("Channel", "Local/s@agi-test/n")
        .header("Context", "dtmf-src")
        .header("Exten", "s")
        .header("Priority", "1")
        .header("Timeout", "30000")
        .header("CallerID", "\"CallPro Lab\" <0100000000>")
        .variable("CALLPRO_CAMPAIGN", "42")
        .header("Async", "true")
        .header("ChannelId", "callpro-orig-0001")
        .header("OtherChannelId", "callpro-orig-0002");
    assert_eq!(
        &originate.to_bytes().unwrap()[..],
        local.out_ami_raw()[1].as_slice()
    );
}

#[test]
fn concatenated_ami_captures_decode_and_type() {
    // Banners of later captures land mid-stream, where a colon-less line is skipped.
    let caps = ami_captures();
    let all: Vec<u8> = caps.iter().flat_map(|c| c.in_chunks().concat()).collect();
    let frames = decode_ami(std::slice::from_ref(&all));
    let total: usize = AMI_PACKETS.iter().map(|(_, n)| n).sum();
    assert_eq!(messages(&frames).len(), total);
    let mut typed = 0;
    let mut other = 0;
    for m in messages(&frames) {
        match Event::parse(m) {
            Some(Event::Other(_)) => other += 1,
            Some(_) => typed += 1,
            None => {}
        }
    }
    assert!(typed > 150 && other > 300, "typed {typed}, other {other}");
    eprintln!(
        "{} bytes, {} packets, {typed} typed events",
        all.len(),
        total
    );
}

// ---------------------------------------------------------------------------------------- AGI

fn decode_agi_everywhere(cap: &Capture) -> Vec<AgiFrame> {
    let mut reference: Option<Vec<AgiFrame>> = None;
    for (label, chunks) in chunkings(&cap.in_chunks()) {
        let frames = decode_agi(&chunks);
        match &reference {
            None => reference = Some(frames),
            Some(r) => assert_eq!(&frames, r, "{}: chunking {label} differs", cap.name),
        }
    }
    reference.unwrap()
}

fn replies(frames: &[AgiFrame]) -> Vec<&Reply> {
    frames
        .iter()
        .filter_map(|f| match f {
            AgiFrame::Reply(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn short(r: &Reply) -> String {
    match r {
        Reply::Success(o) => {
            let mut s = format!("200 {}", o.result);
            if let Some(d) = &o.data {
                s += &format!(" ({d})");
            }
            if let Some(e) = o.endpos {
                s += &format!(" endpos={e}");
            }
            s
        }
        Reply::InvalidCommand { .. } => "510".into(),
        Reply::DeadChannel { .. } => "511".into(),
        Reply::Usage { usage, .. } => format!("520 +{}", usage.len()),
        Reply::Other { code, .. } => code.to_string(),
    }
}

fn stream(file: &str, digits: &str) -> Command {
    Command::StreamFile {
        file: file.into(),
        escape_digits: digits.into(),
        offset: None,
    }
}

fn get_var(name: &str) -> Command {
    Command::GetVariable { name: name.into() }
}

fn verbose(message: &str) -> Command {
    Command::Verbose {
        message: message.into(),
        level: 1,
    }
}

fn get_data(file: &str, timeout_ms: u32, max_digits: u32) -> Command {
    Command::GetData {
        file: file.into(),
        timeout_ms,
        max_digits,
    }
}

fn wait(timeout_ms: i64) -> Command {
    Command::WaitForDigit { timeout_ms }
}

fn exec(app: &str, args: &str) -> Command {
    Command::Exec {
        app: app.into(),
        args: args.into(),
    }
}

/// Per capture: the commands we sent, as typed values, and the reply each one got.
fn agi_script(name: &str) -> Vec<(Command, &'static str)> {
    let raw = |s: &str| Command::Raw(s.into());
    match name {
        "agi-session-basic" => vec![
            (Command::Answer, "200 0"),
            (raw("CHANNEL STATUS"), "200 6"),
            (verbose("callpro lab: hello from FastAGI"), "200 1"),
            (get_var("CALLPRO_CAMPAIGN"), "200 1 (42)"),
            (get_var("CALLPRO_DOES_NOT_EXIST"), "200 0"),
            (
                Command::SetVariable {
                    name: "CALLPRO_RESULT".into(),
                    value: "hello world".into(),
                },
                "200 1",
            ),
            (get_var("CALLPRO_RESULT"), "200 1 (hello world)"),
            (
                raw("GET FULL VARIABLE \"${CALLPRO_RESULT}|${CALLERID(num)}\""),
                "200 1 (hello world|0100000000)",
            ),
            (stream("beep", ""), "200 0 endpos=3520"),
            (stream("beep", "0123456789*#"), "200 0 endpos=3520"),
            (stream("no-such-sound-file", ""), "200 -1 endpos=0"),
            (wait(500), "200 0"),
            (get_data("beep", 1000, 2), "200  (timeout)"),
            (exec("Playback", "beep"), "200 0"),
            (exec("Playback", "beep,noanswer"), "200 0"),
            (exec("NoSuchApplication", "foo"), "200 -2"),
            (raw("FOOBAR baz"), "510"),
            (raw("STREAM FILE"), "520 +5"),
            (raw("GET DATA"), "520 +2"),
            (Command::Hangup, "200 1"),
        ],
        "agi-session-getdata-dtmf" => vec![
            (Command::Answer, "200 0"),
            (get_data("beep", 5000, 5), "200 12"),
            (verbose("got digits"), "200 1"),
        ],
        "agi-session-stream-dtmf" => vec![
            (
                stream("demo-congrats", "0123456789*#"),
                "200 49 endpos=5600",
            ),
            (wait(3000), "200 50"),
            (wait(3000), "200 35"),
            (wait(1500), "200 0"),
        ],
        "agi-session-hangup-midcommand" => vec![
            (stream("demo-congrats", ""), "200 -1 endpos=12000"),
            (stream("beep", ""), "511"),
            (wait(1000), "511"),
            (get_var("CALLPRO_CAMPAIGN"), "200 1 (42)"),
            (verbose("callpro: still here after hangup"), "200 1"),
            (Command::Answer, "511"),
        ],
        "agi-session-hangup-idle" => vec![
            (get_var("CALLPRO_CAMPAIGN"), "200 1 (42)"),
            (stream("beep", ""), "511"),
        ],
        "agi-session-outbound-answered" => vec![
            (verbose("callpro: outbound call answered"), "200 1"),
            (get_var("CALLPRO_CALL_ID"), "200 1 (c-answer-0001)"),
            (stream("beep", ""), "200 0 endpos=3520"),
            (wait(1000), "200 0"),
        ],
        "agi-session-inbound-ivr" => vec![
            (Command::Answer, "200 0"),
            (verbose("callpro ivr did=ivr?did=0142000000"), "200 1"),
            (stream("hello-world", "0123456789*#"), "200 0 endpos=11360"),
            (get_data("beep", 10000, 4), "200 -1"),
            (get_var("CALLERID(num)"), "200 1 (sipp)"),
        ],
        other => panic!("unknown AGI capture {other}: add its script"),
    }
}

#[test]
fn every_agi_capture_matches_its_script() {
    let caps = agi_captures();
    assert_eq!(caps.len(), 7);
    for cap in &caps {
        let frames = decode_agi_everywhere(cap);
        let AgiFrame::Environment(env) = &frames[0] else {
            panic!("{}: first frame {:?}", cap.name, frames[0]);
        };
        assert_eq!(env.network, "yes");
        assert_eq!(env.version, "22.10.1");
        let script = agi_script(&cap.name);
        // Commands serialise exactly as recorded.
        let sent = cap.out_lines();
        let built: Vec<String> = script
            .iter()
            .map(|(c, _)| {
                let mut b = bytes::BytesMut::new();
                c.encode_into(&mut b).unwrap();
                String::from_utf8(b.to_vec()).unwrap()
            })
            .collect();
        assert_eq!(built, sent, "{}", cap.name);
        // One reply per command, in order.
        let got: Vec<String> = replies(&frames).into_iter().map(short).collect();
        let want: Vec<&str> = script.iter().map(|(_, r)| *r).collect();
        assert_eq!(got, want, "{}", cap.name);
        let hangups = frames.iter().filter(|f| **f == AgiFrame::Hangup).count();
        let expected_hangups = match cap.name.as_str() {
            "agi-session-basic"
            | "agi-session-hangup-midcommand"
            | "agi-session-hangup-idle"
            | "agi-session-inbound-ivr" => 1,
            _ => 0,
        };
        assert_eq!(hangups, expected_hangups, "{}", cap.name);
    }
}

#[test]
fn agi_environment_fields() {
    let caps = agi_captures();
    for cap in &caps {
        let frames = decode_agi_everywhere(cap);
        let AgiFrame::Environment(env) = &frames[0] else {
            panic!();
        };
        assert_eq!(env.accountcode, "", "{}", cap.name);
        match cap.name.as_str() {
            "agi-session-inbound-ivr" => {
                assert_eq!(env.channel_type, "PJSIP");
                assert_eq!(env.channel, "PJSIP/yeastar-paris-00000004");
                assert_eq!(env.network_script, "ivr?did=0142000000");
                assert_eq!(env.script, "ivr");
                assert_eq!(env.query_param("did"), Some("0142000000"));
                assert_eq!(env.dnid, "0142000000");
                assert_eq!(env.callerid, "sipp");
                assert_eq!(env.uniqueid, "1795441152.22");
                assert!(env.args.is_empty());
            }
            "agi-session-outbound-answered" => {
                assert_eq!(env.script, "outbound/answered");
                assert!(env.query.is_empty());
                assert!(env.args.is_empty());
                assert_eq!(env.context, "answered");
                assert_eq!(env.uniqueid, "callpro-trunk-answer-1");
            }
            _ => {
                assert_eq!(env.network_script, "test?x=1");
                assert_eq!(env.request, "agi://127.0.0.1:4573/test?x=1");
                assert_eq!(env.script, "test");
                assert_eq!(env.query, [("x".to_owned(), "1".to_owned())]);
                assert_eq!(env.args, ["arg1", "arg2"]);
                assert_eq!(env.channel_type, "Local");
                assert_eq!(env.context, "agi-test");
                assert_eq!(env.extension, "s");
                assert_eq!(env.priority, "2");
                assert_eq!(env.dnid, "unknown");
                assert_eq!(callpro_engine::agi::known(&env.dnid), None);
                assert_eq!(env.callerid, "0100000000");
                assert_eq!(env.calleridname, "CallPro Lab");
                assert!(env.extra.is_empty(), "{:?}", env.extra);
            }
        }
    }
}

#[test]
fn hangup_line_position() {
    let caps = agi_captures();
    let position = |name: &str| -> Option<(usize, Vec<String>)> {
        let cap = caps.iter().find(|c| c.name == name)?;
        let frames = decode_agi_everywhere(cap);
        let at = frames.iter().position(|f| *f == AgiFrame::Hangup)?;
        let around = frames
            .iter()
            .map(|f| match f {
                AgiFrame::Reply(r) => short(r),
                AgiFrame::Hangup => "HANGUP".into(),
                AgiFrame::Environment(_) => "ENV".into(),
            })
            .collect();
        Some((at, around))
    };
    if let Some((at, seq)) = position("agi-session-hangup-midcommand") {
        // After the interrupted playback's own result, before the reply to the next command.
        assert_eq!(seq[at - 1], "200 -1 endpos=12000");
        assert_eq!(seq[at + 1], "511");
    }
    if let Some((at, seq)) = position("agi-session-hangup-idle") {
        assert_eq!((at, seq.len()), (1, 4));
    }
    if let Some((at, seq)) = position("agi-session-inbound-ivr") {
        assert_eq!(seq[at - 1], "200 -1");
        assert_eq!(seq[at + 1], "200 1 (sipp)");
    }
    if let Some((at, seq)) = position("agi-session-basic") {
        assert_eq!(
            at,
            seq.len() - 1,
            "unsolicited HANGUP after the HANGUP command's 200"
        );
    }
}
