//! Fuzzes FastAGI reply framing (after an empty environment): `200`/`5xx` lines, `520-` usage
//! blocks and `HANGUP`, plus the single-line reply parser.
#![no_main]

use bytes::BytesMut;
use callpro_engine::agi::{AgiCodec, AgiLimits, Reply};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    for line in String::from_utf8_lossy(data).lines() {
        if let Ok(Reply::Success(o)) = Reply::parse_line(line) {
            let _ = (o.code(), o.digit(), o.timed_out());
        }
    }

    let limits = AgiLimits {
        max_line_bytes: 256,
        max_block_bytes: 1024,
    };
    let mut codec = AgiCodec::new(limits);
    let mut buf = BytesMut::from(&b"\n"[..]);
    let size = usize::from(data.first().copied().unwrap_or(1)).max(1);
    for chunk in data.chunks(size) {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    assert!(buf.len() <= limits.max_line_bytes);
                    break;
                }
                Err(_) => break,
            }
        }
    }
    let _ = codec.decode_eof(&mut buf);
});
