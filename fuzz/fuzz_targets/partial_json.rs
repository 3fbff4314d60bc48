//! `PartialJson` on arbitrary text split arbitrarily; the input layout and the oracle
//! are in `oracles/partial_json.rs`, which `tests/fuzz_seeds.rs` replays the seeds
//! through.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../oracles/partial_json.rs"]
mod oracle;

fuzz_target!(|data: &[u8]| oracle::check(data));
