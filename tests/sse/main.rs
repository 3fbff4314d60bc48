//! The `sse` layer: WHATWG vectors, framing edge cases at every split, property tests
//! against a reference decoder, the legacy native framing, and the regressions found in
//! it. Builds with no features (`cargo test --no-default-features`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests report a failure by panicking"
)]

#[path = "../common/sse_harness.rs"]
mod harness;

mod dependencies;
mod framing;
mod legacy;
mod prop;
mod vectors;

#[path = "../regression/legacy_id_line_counted_in_previous_event.rs"]
mod legacy_id_line_counted_in_previous_event;
#[path = "../regression/sse_cr_before_split_char_taken_as_crlf.rs"]
mod sse_cr_before_split_char_taken_as_crlf;
#[path = "../regression/sse_limit_order_depends_on_split.rs"]
mod sse_limit_order_depends_on_split;
#[path = "../regression/sse_reset_dropped_split_on_new_id.rs"]
mod sse_reset_dropped_split_on_new_id;
