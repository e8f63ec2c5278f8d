//! Fuzzes AMI framing and event typing: the first byte picks the read size, the rest is the
//! stream. Small limits make the limit paths reachable; the buffer must stay under them.
#![no_main]

use bytes::BytesMut;
use callpro_engine::ami::{AmiCodec, AmiFrame, AmiLimits, Event};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

const LIMIT: usize = 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&size, stream)) = data.split_first() else {
        return;
    };
    let size = usize::from(size).max(1);
    let mut codec = AmiCodec::new(AmiLimits {
        max_packet_bytes: LIMIT,
        max_headers: 32,
    });
    let mut buf = BytesMut::new();
    for chunk in stream.chunks(size) {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(AmiFrame::Message(m))) => {
                    assert!(m.len() <= 32);
                    if let Some(ev) = Event::parse(&m) {
                        let _ = ev.name();
                    }
                    let _ = (m.action_id(), m.response(), m.list_items());
                }
                Ok(Some(AmiFrame::Banner(_))) => {}
                Ok(None) => {
                    assert!(buf.len() <= LIMIT);
                    break;
                }
                Err(_) => {
                    assert!(buf.is_empty());
                    break;
                }
            }
        }
    }
    let _ = codec.decode_eof(&mut buf);
});
