//! End-to-end tests of the carrier simulator: a hand-written UAC (raw SIP over loopback UDP,
//! shaped like Asterisk's INVITEs in `fixtures/asterisk/sip/`) calls it and checks the
//! responses and the simulator's counters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use callpro_engine::sip::{CarrierConfig, CarrierOutcome, CarrierSim, OutcomeWeights};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rsip::prelude::{HeadersExt, UntypedHeader};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Asterisk\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                   m=audio 10158 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n";

/// One outbound call leg, the way chan_pjsip would send it to a trunk.
struct Uac {
    sock: UdpSocket,
    local: SocketAddr,
    peer: SocketAddr,
    call_id: String,
    branch: String,
}

impl Uac {
    async fn new(peer: SocketAddr, n: u32) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let local = sock.local_addr().unwrap();
        Self {
            sock,
            local,
            peer,
            call_id: format!("call-{n}@uac"),
            branch: format!("z9hG4bKinv{n}"),
        }
    }

    fn headers(&self, branch: &str, to: &str, cseq: &str) -> String {
        format!(
            "Via: SIP/2.0/UDP {};rport;branch={branch}\r\nFrom: \"CallPro Dialer\" <sip:0142000000@127.0.0.1>;tag=uac-tag\r\n\
             To: {to}\r\nContact: <sip:asterisk@{}>\r\nCall-ID: {}\r\nCSeq: {cseq}\r\nMax-Forwards: 70\r\n",
            self.local, self.local, self.call_id
        )
    }

    async fn send(&self, text: String) {
        self.sock.send_to(text.as_bytes(), self.peer).await.unwrap();
    }

    async fn invite(&self) {
        let to = format!("<sip:0600000001@{}>", self.peer);
        let head = self.headers(&self.branch, &to, "1 INVITE");
        self.send(format!(
            "INVITE sip:0600000001@{} SIP/2.0\r\n{head}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
            self.peer,
            SDP.len()
        ))
        .await;
    }

    /// Next response, skipping retransmissions of ones already seen.
    async fn recv(&self) -> rsip::Response {
        let mut buf = vec![0u8; 65536];
        let (len, _) = tokio::time::timeout(Duration::from_secs(5), self.sock.recv_from(&mut buf))
            .await
            .expect("a response within 5 s")
            .unwrap();
        rsip::Response::try_from(&buf[..len]).unwrap()
    }

    /// Reads responses up to the final one; returns every status code seen and the final one.
    async fn until_final(&self) -> (Vec<u16>, rsip::Response) {
        let mut codes = Vec::new();
        loop {
            let response = self.recv().await;
            codes.push(response.status_code.code());
            if response.status_code.code() >= 200 {
                return (codes, response);
            }
        }
    }

    /// ACK for a failure response: same branch, part of the INVITE transaction.
    async fn ack_failure(&self, final_response: &rsip::Response) {
        let to = final_response.to_header().unwrap().value().to_owned();
        let head = self.headers(&self.branch, &to, "1 ACK");
        self.send(format!(
            "ACK sip:0600000001@{} SIP/2.0\r\n{head}Content-Length: 0\r\n\r\n",
            self.peer
        ))
        .await;
    }

    /// In-dialog request (ACK for 2xx, BYE, CANCEL-less): new branch, remote tag in To.
    async fn in_dialog(&self, method: &str, cseq: u32, ok: &rsip::Response) {
        let to = ok.to_header().unwrap().value().to_owned();
        let target = ok
            .contact_header()
            .unwrap()
            .value()
            .trim_matches(['<', '>'])
            .to_owned();
        let head = self.headers(
            &format!("z9hG4bK{method}{cseq}"),
            &to,
            &format!("{cseq} {method}"),
        );
        self.send(format!(
            "{method} {target} SIP/2.0\r\n{head}Content-Length: 0\r\n\r\n"
        ))
        .await;
    }
}

fn fast(outcome: CarrierOutcome) -> CarrierConfig {
    CarrierConfig {
        ring_delay: Duration::from_millis(10),
        answer_delay: Duration::from_millis(30),
        no_answer_timeout: Duration::from_millis(300),
        ..CarrierConfig::always(outcome)
    }
}

/// Polls the carrier's counters until `check` holds (the last ACK is processed asynchronously).
async fn eventually(
    carrier: &CarrierSim,
    check: impl Fn(&callpro_engine::sip::CarrierStats) -> bool,
) {
    for _ in 0..100 {
        if check(&carrier.stats()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("counters never matched: {:?}", carrier.stats());
}

#[tokio::test]
async fn answered_call_rings_answers_with_sdp_and_takes_a_bye() {
    let carrier = CarrierSim::start(fast(CarrierOutcome::Answer))
        .await
        .unwrap();
    let uac = Uac::new(carrier.local_addr(), 1).await;
    uac.invite().await;

    let (codes, ok) = uac.until_final().await;
    assert_eq!(codes, vec![100, 180, 200]);
    assert!(
        ok.to_header().unwrap().value().contains(";tag="),
        "200 creates the dialog"
    );
    assert!(
        String::from_utf8_lossy(&ok.body).contains("m=audio"),
        "minimal SDP answer"
    );
    uac.in_dialog("ACK", 1, &ok).await;
    eventually(&carrier, |s| s.answered == 1 && s.acks == 1).await;

    uac.in_dialog("BYE", 2, &ok).await;
    let bye_ok = uac.recv().await;
    assert_eq!(bye_ok.status_code.code(), 200);
    assert_eq!(bye_ok.cseq_header().unwrap().value(), "2 BYE");
    eventually(&carrier, |s| s.byes_received == 1).await;
    let stats = carrier.stats();
    assert_eq!(
        (stats.invites, stats.ringing, stats.busy, stats.errors),
        (1, 1, 0, 0)
    );
}

#[tokio::test]
async fn busy_call_gets_486_after_trying() {
    let carrier = CarrierSim::start(fast(CarrierOutcome::Busy)).await.unwrap();
    let uac = Uac::new(carrier.local_addr(), 2).await;
    uac.invite().await;

    let (codes, busy) = uac.until_final().await;
    assert_eq!(codes, vec![100, 486]);
    assert!(
        busy.to_header().unwrap().value().contains(";tag="),
        "final responses carry a To tag"
    );
    uac.ack_failure(&busy).await;
    eventually(&carrier, |s| s.busy == 1 && s.acks == 1).await;
}

#[tokio::test]
async fn unanswered_call_rings_then_gets_480() {
    let carrier = CarrierSim::start(fast(CarrierOutcome::RingOut))
        .await
        .unwrap();
    let uac = Uac::new(carrier.local_addr(), 3).await;
    uac.invite().await;

    let (codes, final_response) = uac.until_final().await;
    assert_eq!(codes, vec![100, 180, 480]);
    uac.ack_failure(&final_response).await;
    eventually(&carrier, |s| s.no_answer == 1 && s.ringing == 1).await;
}

#[tokio::test]
async fn rejected_call_gets_the_configured_code() {
    let config = CarrierConfig {
        reject_code: 404,
        ..fast(CarrierOutcome::Reject)
    };
    let carrier = CarrierSim::start(config).await.unwrap();
    let uac = Uac::new(carrier.local_addr(), 4).await;
    uac.invite().await;

    let (codes, final_response) = uac.until_final().await;
    assert_eq!(codes, vec![100, 404]);
    uac.ack_failure(&final_response).await;
    eventually(&carrier, |s| s.rejected == 1).await;
}

#[tokio::test]
async fn cancel_while_ringing_ends_with_487() {
    let config = CarrierConfig {
        no_answer_timeout: Duration::from_secs(30),
        ..fast(CarrierOutcome::RingOut)
    };
    let carrier = CarrierSim::start(config).await.unwrap();
    let uac = Uac::new(carrier.local_addr(), 5).await;
    uac.invite().await;
    assert_eq!(uac.recv().await.status_code.code(), 100);
    assert_eq!(uac.recv().await.status_code.code(), 180);

    // CANCEL: same branch and CSeq number as the INVITE, To without tag (fixtures/trunk-noanswer).
    let to = format!("<sip:0600000001@{}>", uac.peer);
    let head = uac.headers(&uac.branch, &to, "1 CANCEL");
    uac.send(format!(
        "CANCEL sip:0600000001@{} SIP/2.0\r\n{head}Content-Length: 0\r\n\r\n",
        uac.peer
    ))
    .await;
    let mut codes = vec![
        uac.recv().await.status_code.code(),
        uac.recv().await.status_code.code(),
    ];
    codes.sort_unstable();
    assert_eq!(codes, vec![200, 487]);
    eventually(&carrier, |s| s.cancelled == 1).await;
}

#[tokio::test]
async fn options_are_answered_200() {
    let carrier = CarrierSim::start(CarrierConfig::default()).await.unwrap();
    let uac = Uac::new(carrier.local_addr(), 6).await;
    let to = format!("<sip:{}>", uac.peer);
    let head = uac.headers("z9hG4bKopt", &to, "7 OPTIONS");
    uac.send(format!(
        "OPTIONS sip:{} SIP/2.0\r\n{head}Content-Length: 0\r\n\r\n",
        uac.peer
    ))
    .await;
    assert_eq!(uac.recv().await.status_code.code(), 200);
    eventually(&carrier, |s| s.options == 1).await;
}

#[test]
fn outcome_draws_are_deterministic_per_seed_and_follow_the_weights() {
    let weights = OutcomeWeights {
        answer: 6,
        ring_out: 2,
        busy: 1,
        reject: 1,
    };
    let draw = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..1000)
            .map(|_| weights.pick(&mut rng))
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(42), draw(42));
    assert_ne!(draw(42), draw(43));
    let answers = draw(42)
        .iter()
        .filter(|o| **o == CarrierOutcome::Answer)
        .count();
    assert!(
        (500..700).contains(&answers),
        "about 60 % answered, got {answers}"
    );
    let none = OutcomeWeights {
        answer: 0,
        ring_out: 0,
        busy: 0,
        reject: 0,
    };
    assert_eq!(
        none.pick(&mut StdRng::seed_from_u64(1)),
        CarrierOutcome::Answer
    );
}
