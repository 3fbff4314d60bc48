//! Arbitrary bytes through the SSE decoder and the merger, split arbitrarily; the input
//! layout and the oracle are in `oracles/pipeline.rs`, which `tests/fuzz_seeds.rs`
//! replays the seeds through.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../oracles/pipeline.rs"]
mod oracle;

fuzz_target!(|input: &[u8]| oracle::check(input));
