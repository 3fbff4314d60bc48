//! Tests that count allocations or watch the heap, in a binary of their own because
//! they install a counting global allocator (one per binary). The counter counts per
//! thread, so these tests may run in parallel with each other.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests report a failure by panicking"
)]

#[path = "../common/alloc_counter.rs"]
mod alloc_counter;
#[cfg(all(feature = "blocking", feature = "testing"))]
#[path = "../common/data.rs"]
mod data;
#[cfg(all(feature = "blocking", feature = "testing"))]
#[path = "../common/outcome.rs"]
mod outcome;
#[cfg(all(feature = "blocking", feature = "testing"))]
#[path = "../../examples/common/render.rs"]
mod render;

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

mod merge;
mod partial_json;
mod soak;
mod sse;
