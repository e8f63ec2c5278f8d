//! Fuzzes the CSV lead importer and the do-not-call list parser: arbitrary bytes, delivered in
//! uneven reads, must give rows and line errors, never a panic or unbounded memory.
#![no_main]

use std::io::Read;

use callpro_dialer::dnc;
use callpro_dialer::import::{ImportOptions, Importer};
use libfuzzer_sys::fuzz_target;

/// Hands out the input in reads of 1 to 13 bytes, as a network body would.
struct Uneven<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Uneven<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.step = self.step % 13 + 1;
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let reader = Uneven { data, step: 0 };
    if let Ok(importer) = Importer::new(reader, ImportOptions::default()) {
        for row in importer.take(10_000) {
            std::hint::black_box(row);
        }
    }
    for entry in dnc::parse_list(Uneven { data, step: 3 }, "FR").take(10_000) {
        let _ = std::hint::black_box(entry);
    }
});
