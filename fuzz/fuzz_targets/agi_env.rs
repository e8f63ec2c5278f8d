//! Fuzzes the FastAGI environment block: the raw parser, and the codec from a fresh connection.
#![no_main]

use bytes::BytesMut;
use callpro_engine::agi::{AgiCodec, AgiLimits, AgiRequest};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let request = AgiRequest::parse(&String::from_utf8_lossy(data));
    let _ = request.query_param("x");

    let limits = AgiLimits {
        max_line_bytes: 256,
        max_block_bytes: 1024,
    };
    let mut codec = AgiCodec::new(limits);
    let mut buf = BytesMut::new();
    for chunk in data.chunks(7) {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    assert!(buf.len() <= limits.max_block_bytes);
                    break;
                }
                Err(_) => break,
            }
        }
    }
    let _ = codec.decode_eof(&mut buf);
});
