//! Arbitrary bytes through every coverage format (and their sniffing), with and without a
//! source root: no panic, no hang, bounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    probtrack_fuzz::check_coverage(probtrack_fuzz::chunk_for(data), data);
});
