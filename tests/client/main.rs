//! The blocking client and the test server over loopback: requests, errors, retries,
//! timeouts and tails against `testing::ReplayServer`; the server itself; recording;
//! the `chat`, `tools` and `agent` examples run as a user runs them; and the regressions found
//! there.
#![cfg(all(feature = "blocking", feature = "testing"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests report a failure by panicking"
)]

#[path = "../common/data.rs"]
mod data;
#[path = "../common/example_bin.rs"]
mod example_bin;
#[path = "../common/log_capture.rs"]
mod log_capture;
#[path = "../common/outcome.rs"]
mod outcome;
#[path = "../../examples/common/render.rs"]
mod render;

mod agent_example;
mod cancel;
mod chat_example;
mod client;
mod client_catalog;
mod client_config;
mod client_tail;
mod connection_reuse;
mod connection_settings;
mod error_origin;
mod logging;
mod recording;
mod replay_server;
mod replay_server_threads;
mod retry_delivery;
mod sans_io_parity;
mod servers;
mod stream_transport;
mod timings;
mod tools_example;

#[path = "../regression/finished_stream_with_stalled_tail_timed_out.rs"]
mod finished_stream_with_stalled_tail_timed_out;
