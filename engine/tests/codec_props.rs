//! Property tests for the AMI and FastAGI decoders: arbitrary bytes under arbitrary chunkings
//! never panic and never leave more buffered than the configured limits, and well-formed traffic
//! decodes the same however it is cut.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use bytes::BytesMut;
use callpro_engine::agi::{AgiCodec, AgiFrame, AgiLimits, AgiRequest, Reply};
use callpro_engine::ami::{AmiCodec, AmiFrame, AmiLimits, Event, Message};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

/// Cuts `data` into pieces whose sizes cycle through `sizes`.
fn cut<'a>(data: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        out.push(&rest[..n]);
        rest = &rest[n..];
        i += 1;
    }
    out
}

/// Feeds chunks to a decoder, keeps going after errors (the codec must survive reuse), and
/// checks the buffer bound whenever the decoder asks for more input.
fn feed<D: Decoder>(codec: &mut D, chunks: &[&[u8]], bound: usize) -> (Vec<D::Item>, usize) {
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let mut errors = 0;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => {
                    assert!(buf.len() <= bound, "{} buffered > {bound}", buf.len());
                    break;
                }
                Err(_) => {
                    errors += 1;
                    assert!(buf.is_empty(), "an error must drop the partial input");
                    break;
                }
            }
        }
    }
    match codec.decode_eof(&mut buf) {
        Ok(Some(item)) => items.push(item),
        Ok(None) => {}
        Err(_) => errors += 1,
    }
    (items, errors)
}

fn ami_limits() -> AmiLimits {
    AmiLimits {
        max_packet_bytes: 512,
        max_headers: 16,
    }
}

fn agi_limits() -> AgiLimits {
    AgiLimits {
        max_line_bytes: 128,
        max_block_bytes: 512,
    }
}

/// Bytes biased towards the protocol's own alphabet so the interesting paths get exercised.
fn wire_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b": ".to_vec()),
        Just(b"Event: Hangup".to_vec()),
        Just(b"HANGUP\n".to_vec()),
        Just(b"520-".to_vec()),
        Just(b"520 End of proper usage.\n".to_vec()),
        Just(b"200 result=".to_vec()),
        Just(b"agi_arg_1: ".to_vec()),
        Just(b"(".to_vec()),
        Just(b")".to_vec()),
        proptest::collection::vec(any::<u8>(), 1..64),
    ];
    proptest::collection::vec(token, 0..64).prop_map(|t| t.concat())
}

proptest! {
    #[test]
    fn ami_survives_arbitrary_input(
        data in wire_bytes(),
        sizes in proptest::collection::vec(1usize..80, 1..16),
    ) {
        let chunks = cut(&data, &sizes);
        let (frames, _) = feed(&mut AmiCodec::new(ami_limits()), &chunks, 512);
        for frame in &frames {
            if let AmiFrame::Message(m) = frame {
                prop_assert!(m.len() <= 16);
                let _ = Event::parse(m);
            }
        }
        let _ = feed(&mut AmiCodec::default(), &chunks, AmiLimits::default().max_packet_bytes);
        let _ = Message::parse(&String::from_utf8_lossy(&data));
    }

    #[test]
    fn agi_survives_arbitrary_input(
        data in wire_bytes(),
        sizes in proptest::collection::vec(1usize..80, 1..16),
    ) {
        let chunks = cut(&data, &sizes);
        let _ = feed(&mut AgiCodec::new(agi_limits()), &chunks, 512);
        let _ = feed(&mut AgiCodec::default(), &chunks, AgiLimits::default().max_block_bytes);
        let text = String::from_utf8_lossy(&data);
        let _ = AgiRequest::parse(&text);
        for line in text.lines() {
            let _ = Reply::parse_line(line);
        }
    }

    #[test]
    fn ami_packets_decode_the_same_however_cut(
        packets in proptest::collection::vec(
            proptest::collection::vec(("[A-Za-z][A-Za-z0-9()-]{0,12}", "[ -~]{0,24}"), 1..8),
            1..6,
        ),
        lf_only in any::<bool>(),
        extra_blank in any::<bool>(),
        sizes in proptest::collection::vec(1usize..40, 1..8),
    ) {
        let eol = if lf_only { "\n" } else { "\r\n" };
        let mut wire = format!("Asterisk Call Manager/11.0.0{eol}");
        for headers in &packets {
            for (k, v) in headers {
                wire += &format!("{k}: {v}{eol}");
            }
            wire += eol;
            if extra_blank {
                wire += "\n";
            }
        }
        let chunks = cut(wire.as_bytes(), &sizes);
        let (frames, errors) = feed(&mut AmiCodec::default(), &chunks, 64 * 1024);
        prop_assert_eq!(errors, 0);
        prop_assert_eq!(frames.len(), packets.len() + 1);
        prop_assert_eq!(&frames[0], &AmiFrame::Banner("Asterisk Call Manager/11.0.0".into()));
        for (frame, headers) in frames[1..].iter().zip(&packets) {
            let AmiFrame::Message(m) = frame else { panic!("{frame:?}") };
            let got: Vec<(String, String)> =
                m.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
            prop_assert_eq!(&got, headers);
        }
    }

    #[test]
    fn agi_traffic_decodes_the_same_however_cut(
        args in proptest::collection::vec("[ -~]{0,20}", 0..5),
        results in proptest::collection::vec((-2i64..300, any::<bool>()), 0..10),
        sizes in proptest::collection::vec(1usize..30, 1..8),
    ) {
        let mut wire = String::from("agi_network: yes\nagi_network_script: s?a=1\n");
        for (i, a) in args.iter().enumerate() {
            wire += &format!("agi_arg_{}: {a}\n", i + 1);
        }
        wire += "\n";
        for (n, hangup) in &results {
            if *hangup {
                wire += "HANGUP\n";
            }
            wire += &format!("200 result={n}\n");
        }
        let chunks = cut(wire.as_bytes(), &sizes);
        let (frames, errors) = feed(&mut AgiCodec::default(), &chunks, 64 * 1024);
        prop_assert_eq!(errors, 0);
        let AgiFrame::Environment(env) = &frames[0] else { panic!("{frames:?}") };
        prop_assert_eq!(&env.args, &args);
        prop_assert_eq!(env.query_param("a"), Some("1"));
        let mut expected = Vec::new();
        for (n, hangup) in &results {
            if *hangup {
                expected.push(None);
            }
            expected.push(Some(*n));
        }
        let got: Vec<Option<i64>> = frames[1..]
            .iter()
            .map(|f| match f {
                AgiFrame::Hangup => None,
                AgiFrame::Reply(r) => r.outcome().and_then(|o| o.code()),
                AgiFrame::Environment(_) => panic!("second environment"),
            })
            .collect();
        prop_assert_eq!(got, expected);
    }
}
