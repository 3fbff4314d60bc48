//! Every committed fuzz seed (`fuzz/seeds/<target>/`) through its target's oracle, on
//! stable: a plain `cargo test` catches a regression a seed once found, without nightly
//! or cargo-fuzz.
//!
//! The oracles are the bodies of the fuzz targets, kept in `fuzz/oracles/` with no
//! libFuzzer dependency; each `fuzz/fuzz_targets/<target>.rs` only wraps its oracle in
//! `fuzz_target!`. The sse target runs in every feature set, the others need `chat`.
// The oracles check by panicking, as a fuzz target must.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::any::Any;
use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

#[path = "../fuzz/oracles/sse_chunks.rs"]
mod sse_chunks;

#[cfg(feature = "chat")]
#[path = "../fuzz/oracles/merge_chunks.rs"]
mod merge_chunks;

#[cfg(feature = "chat")]
#[path = "../fuzz/oracles/partial_json.rs"]
mod partial_json;

#[cfg(feature = "chat")]
#[path = "../fuzz/oracles/pipeline.rs"]
mod pipeline;

#[test]
fn sse_chunks_seeds() {
    replay("sse_chunks", sse_chunks::check);
}

#[cfg(feature = "chat")]
#[test]
fn merge_chunks_seeds() {
    replay("merge_chunks", merge_chunks::check);
}

#[cfg(feature = "chat")]
#[test]
fn partial_json_seeds() {
    replay("partial_json", partial_json::check);
}

#[cfg(feature = "chat")]
#[test]
fn pipeline_seeds() {
    replay("pipeline", pipeline::check);
}

/// Runs every file in `fuzz/seeds/<target>/` through `oracle`, then fails naming each
/// seed whose oracle panicked (all of them, not only the first).
fn replay(target: &str, oracle: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut seeds: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    let mut failed = Vec::new();
    for seed in &seeds {
        let input = fs::read(seed).unwrap_or_else(|e| panic!("{}: {e}", seed.display()));
        if let Err(payload) = panic::catch_unwind(|| oracle(&input)) {
            failed.push(format!("{}: {}", seed.display(), message(&*payload)));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} {target} seeds failed:\n{}",
        failed.len(),
        seeds.len(),
        failed.join("\n")
    );
}

/// The text a panic carries (`panic!` with or without arguments).
fn message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)")
}
