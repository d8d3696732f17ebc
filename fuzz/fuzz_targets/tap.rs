//! Arbitrary bytes through the TAP parser and the `Collector`: no panic, no hang, bounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    probtrack_fuzz::check(
        &probtrack_parsers::Tap,
        probtrack_fuzz::chunk_for(data),
        data,
    );
});
