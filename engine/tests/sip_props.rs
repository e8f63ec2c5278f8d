//! Property tests: the OPTIONS response parser never panics, whatever the datagram.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use callpro_engine::sip::options::{MAX_DATAGRAM, parse_response};
use proptest::prelude::*;

const VALID: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKabc\r\n\
                     Call-ID: x@y\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCSeq: 5 OPTIONS\r\n\
                     Content-Length: 0\r\n\r\n";

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_response(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_status_line_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let mut bytes = b"SIP/2.0 200 OK\r\n".to_vec();
        bytes.extend(tail);
        let _ = parse_response(&bytes);
    }

    #[test]
    fn mutated_valid_responses_never_panic(flips in proptest::collection::vec((0..VALID.len(), any::<u8>()), 1..8)) {
        let mut bytes = VALID.as_bytes().to_vec();
        for (at, byte) in flips {
            bytes[at] = byte;
        }
        let _ = parse_response(&bytes);
    }
}

#[test]
fn the_unmutated_seed_parses() {
    let response = parse_response(VALID.as_bytes()).unwrap();
    assert_eq!((response.status, response.cseq), (200, 5));
    assert_eq!(response.branch.as_deref(), Some("z9hG4bKabc"));
    assert!(parse_response(&vec![b'S'; MAX_DATAGRAM + 1]).is_err());
}
