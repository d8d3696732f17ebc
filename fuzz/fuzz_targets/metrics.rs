//! Arbitrary bytes through every metric format (and their sniffing): no panic, no hang, bounded
//! memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    probtrack_fuzz::check_metrics(probtrack_fuzz::chunk_for(data), data);
});
