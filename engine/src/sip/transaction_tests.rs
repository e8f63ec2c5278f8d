//! Unit tests of the sans-IO probe transaction, on paused tokio time.

use super::*;
use crate::sip::options::parse_response;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn request() -> OptionsRequest {
    let local = "127.0.0.1:5099".parse().unwrap();
    OptionsRequest::build("127.0.0.1", 5070, local, &mut StdRng::seed_from_u64(1)).unwrap()
}

fn response(req: &OptionsRequest, code: u16) -> ProbeResponse {
    let text = format!(
        "SIP/2.0 {code} X\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch={}\r\nCall-ID: {}\r\n\
         From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCSeq: {} OPTIONS\r\nContent-Length: 0\r\n\r\n",
        req.branch, req.call_id, req.cseq
    );
    parse_response(text.as_bytes()).unwrap()
}

/// Runs a transaction nobody answers, waking exactly at its deadlines; returns send offsets.
async fn send_times(schedule: RetransmitSchedule) -> (Vec<Duration>, ProbeTxn) {
    let start = Instant::now();
    let mut txn = ProbeTxn::new(request(), schedule, start);
    let mut sent = Vec::new();
    loop {
        while txn.poll_transmit(Instant::now()).is_some() {
            sent.push(Instant::now() - start);
        }
        match txn.poll_deadline() {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => return (sent, txn),
        }
    }
}

#[test]
fn default_schedule_is_t1_doubling_within_five_seconds() {
    let ms = |v: &[u64]| {
        v.iter()
            .map(|m| Duration::from_millis(*m))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        RetransmitSchedule::default().send_offsets(),
        ms(&[0, 500, 1500, 3500])
    );
    let long = RetransmitSchedule {
        timeout: Duration::from_secs(32),
        ..Default::default()
    };
    // Capped at T2 = 4 s once the doubling reaches it (RFC 3261 Timer E).
    assert_eq!(
        long.send_offsets(),
        ms(&[
            0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ])
    );
}

#[tokio::test(start_paused = true)]
async fn unanswered_probe_sends_four_packets_and_times_out_at_five_seconds() {
    let start = Instant::now();
    let (sent, txn) = send_times(RetransmitSchedule::default()).await;
    assert_eq!(sent, RetransmitSchedule::default().send_offsets());
    assert_eq!(
        txn.outcome(),
        Some(&ProbeOutcome::TimedOut { transmissions: 4 })
    );
    assert_eq!(Instant::now() - start, Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn answer_after_a_retransmission_still_matches_and_rtt_counts_from_first_send() {
    let start = Instant::now();
    let mut txn = ProbeTxn::new(request(), RetransmitSchedule::default(), start);
    assert!(txn.poll_transmit(start).is_some());
    assert!(
        txn.poll_transmit(start).is_none(),
        "one packet per due time"
    );
    tokio::time::advance(Duration::from_millis(500)).await;
    assert!(txn.poll_transmit(Instant::now()).is_some());
    tokio::time::advance(Duration::from_millis(120)).await;
    let resp = response(txn.request(), 404);
    assert!(txn.on_response(&resp, Instant::now()));
    let expected = ProbeOutcome::Answered {
        status: 404,
        rtt: Duration::from_millis(620),
        transmissions: 2,
    };
    assert_eq!(txn.outcome(), Some(&expected));
    assert_eq!(txn.poll_deadline(), None);
    assert!(
        !txn.on_response(&resp, Instant::now()),
        "duplicates are absorbed once finished"
    );
}

#[tokio::test(start_paused = true)]
async fn provisional_response_slows_retransmissions_to_t2() {
    let start = Instant::now();
    let mut txn = ProbeTxn::new(request(), RetransmitSchedule::default(), start);
    assert!(txn.poll_transmit(start).is_some());
    tokio::time::advance(Duration::from_millis(100)).await;
    assert!(txn.on_response(&response(txn.request(), 100), Instant::now()));
    assert!(txn.outcome().is_none());
    assert_eq!(
        txn.poll_deadline(),
        Some(start + Duration::from_millis(4100).min(Duration::from_secs(5)))
    );
    tokio::time::advance(Duration::from_millis(500)).await;
    assert!(
        txn.poll_transmit(Instant::now()).is_none(),
        "no T1 retransmit in Proceeding"
    );
}

#[tokio::test(start_paused = true)]
async fn foreign_response_is_ignored() {
    let start = Instant::now();
    let mut txn = ProbeTxn::new(request(), RetransmitSchedule::default(), start);
    let other = OptionsRequest::build(
        "127.0.0.1",
        5070,
        "127.0.0.1:1".parse().unwrap(),
        &mut rand::rng(),
    )
    .unwrap();
    assert!(!txn.on_response(&response(&other, 200), start));
    assert!(txn.outcome().is_none());
}
