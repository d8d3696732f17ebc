//! Arbitrary bytes through sniffing: every format's `sniff` and `detect` on the head, then the
//! chosen format's parse of the whole input, as `--parser auto` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probtrack_parsers::{detect, registry, SNIFF_LEN};

fuzz_target!(|data: &[u8]| {
    let head = &data[..data.len().min(SNIFF_LEN)];
    for format in registry() {
        format.sniff(head);
    }
    if let Some(format) = detect(head) {
        probtrack_fuzz::check(format, usize::MAX, data);
    }
});
