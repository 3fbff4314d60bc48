//! The SSE decoder fed in arbitrary chunks must behave exactly like one feed; the input
//! layout and the oracle are in `oracles/sse_chunks.rs`, which `tests/fuzz_seeds.rs`
//! replays the seeds through.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../oracles/sse_chunks.rs"]
mod oracle;

fuzz_target!(|input: &[u8]| oracle::check(input));
