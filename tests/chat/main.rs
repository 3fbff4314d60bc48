//! The `chat` layer: the merger's decisions and properties, the recorded transcripts,
//! `PartialJson`, requests, the model catalog and its rules, the limits on what a
//! response can make the merger hold, and the regressions found there.
#![cfg(feature = "chat")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests report a failure by panicking"
)]

#[path = "../common/data.rs"]
mod data;
#[path = "../common/outcome.rs"]
mod outcome;
#[path = "../../examples/common/render.rs"]
mod render;

mod agent_turns;
mod catalog;
mod errors;
mod event_reader;
mod http;
mod json_shape;
mod limits;
mod merge;
mod merge_props;
mod partial_json;
mod request;
mod transcripts;
mod transport;
mod two_phase;
mod wire_paths;

#[path = "../regression/stream_decoder_not_fused_without_input.rs"]
mod stream_decoder_not_fused_without_input;
