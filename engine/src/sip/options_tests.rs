//! Unit tests of OPTIONS building and response parsing/matching.

use super::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn local() -> SocketAddr {
    "127.0.0.1:5099".parse().unwrap()
}

fn build() -> OptionsRequest {
    OptionsRequest::build("127.0.0.1", 5070, local(), &mut StdRng::seed_from_u64(7)).unwrap()
}

/// A 200 echoing the request's identifiers, shaped like Asterisk's answers in the fixtures.
fn answer(req: &OptionsRequest, status: &str) -> String {
    format!(
        "SIP/2.0 {status}\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5099;rport=5099;received=127.0.0.1;branch={}\r\n\
         Call-ID: {}\r\nFrom: <sip:callpro@127.0.0.1:5099>;tag={}\r\n\
         To: <sip:127.0.0.1:5070>;tag=z9hG4bKPjabc\r\nCSeq: {} OPTIONS\r\n\
         Accept: application/sdp\r\nAllow: OPTIONS, INVITE, ACK, BYE, CANCEL\r\nContent-Length:  0\r\n\r\n",
        req.branch, req.call_id, req.from_tag, req.cseq
    )
}

#[test]
fn request_has_every_mandatory_header() {
    let req = build();
    let text = String::from_utf8(req.bytes.clone()).unwrap();
    assert!(
        text.starts_with("OPTIONS sip:127.0.0.1:5070 SIP/2.0\r\n"),
        "{text}"
    );
    assert!(req.branch.starts_with("z9hG4bK") && req.branch.len() > 20);
    for needle in [
        format!(
            "Via: SIP/2.0/UDP 127.0.0.1:5099;rport;branch={}\r\n",
            req.branch
        ),
        "Max-Forwards: 70\r\n".to_owned(),
        format!(";tag={}\r\n", req.from_tag),
        "To: <sip:127.0.0.1:5070>\r\n".to_owned(),
        format!("Call-ID: {}\r\n", req.call_id),
        format!("CSeq: {} OPTIONS\r\n", req.cseq),
        "Contact: <sip:callpro@127.0.0.1:5099>\r\n".to_owned(),
        "User-Agent: callpro\r\n".to_owned(),
        "Content-Length: 0\r\n".to_owned(),
    ] {
        assert!(text.contains(&needle), "missing {needle:?} in\n{text}");
    }
    assert!(text.ends_with("\r\n\r\n"));
    // What we print, rsip (and so a peer) must read back.
    let parsed = rsip::Request::try_from(req.bytes.as_slice()).unwrap();
    assert_eq!(parsed.method, rsip::Method::Options);
}

#[test]
fn two_requests_never_share_identifiers() {
    let mut rng = rand::rng();
    let a = OptionsRequest::build("gw.example", 5060, local(), &mut rng).unwrap();
    let b = OptionsRequest::build("gw.example", 5060, local(), &mut rng).unwrap();
    assert_ne!(a.branch, b.branch);
    assert_ne!(a.call_id, b.call_id);
}

#[test]
fn ipv6_targets_are_bracketed_and_bad_hosts_refused() {
    let v6 = OptionsRequest::build("::1", 5060, "[::1]:5099".parse().unwrap(), &mut rand::rng())
        .unwrap();
    assert!(v6.bytes.starts_with(b"OPTIONS sip:[::1]:5060 SIP/2.0\r\n"));
    for bad in ["", "gw example", "<gw>"] {
        assert!(
            OptionsRequest::build(bad, 5060, local(), &mut rand::rng()).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn matching_response_is_recognised_with_any_final_status() {
    let req = build();
    for status in [
        "200 OK",
        "404 Not Found",
        "405 Method Not Allowed",
        "503 Service Unavailable",
    ] {
        let resp = parse_response(answer(&req, status).as_bytes()).unwrap();
        assert!(req.matches(&resp), "{status}");
        assert_eq!(resp.status, status[..3].parse::<u16>().unwrap());
    }
}

#[test]
fn foreign_responses_do_not_match() {
    let req = build();
    let other =
        OptionsRequest::build("127.0.0.1", 5070, local(), &mut StdRng::seed_from_u64(8)).unwrap();
    let resp = parse_response(answer(&other, "200 OK").as_bytes()).unwrap();
    assert!(!req.matches(&resp));
    // Same branch and Call-ID but another CSeq or method: a different transaction.
    let text = answer(&req, "200 OK");
    let wrong_seq = text.replace(
        &format!("CSeq: {} OPTIONS", req.cseq),
        &format!("CSeq: {} OPTIONS", req.cseq + 1),
    );
    assert!(!req.matches(&parse_response(wrong_seq.as_bytes()).unwrap()));
    let wrong_method = text.replace(
        &format!("CSeq: {} OPTIONS", req.cseq),
        &format!("CSeq: {} INVITE", req.cseq),
    );
    assert!(!req.matches(&parse_response(wrong_method.as_bytes()).unwrap()));
}

#[test]
fn compact_header_forms_are_understood() {
    let req = build();
    let text = answer(&req, "200 OK")
        .replace("Via:", "v:")
        .replace("Call-ID:", "i:");
    assert!(req.matches(&parse_response(text.as_bytes()).unwrap()));
}

#[test]
fn garbage_requests_and_oversize_are_errors() {
    assert!(matches!(parse_response(b""), Err(Error::NotAResponse)));
    assert!(matches!(
        parse_response(b"\r\n\r\n"),
        Err(Error::NotAResponse)
    ));
    assert!(matches!(
        parse_response(&build().bytes),
        Err(Error::NotAResponse)
    ));
    assert!(parse_response(b"SIP/2.0 \xff\xfe\r\n\r\n").is_err());
    assert!(parse_response(b"SIP/2.0 200 OK\r\nCSeq: x\r\n\r\n").is_err());
    let big = vec![b'a'; MAX_DATAGRAM + 1];
    assert!(matches!(parse_response(&big), Err(Error::TooLarge { .. })));
    // Every prefix of a valid response: truncated datagrams must fail cleanly.
    let valid = answer(&build(), "200 OK");
    for end in 0..valid.len() {
        let _ = parse_response(&valid.as_bytes()[..end]);
    }
}
