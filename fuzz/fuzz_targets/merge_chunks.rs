//! Arbitrary event sequences into the merger; the input layout and the oracle are in
//! `oracles/merge_chunks.rs`, which `tests/fuzz_seeds.rs` replays the seeds through.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../oracles/merge_chunks.rs"]
mod oracle;

fuzz_target!(|input: &[u8]| oracle::check(input));
