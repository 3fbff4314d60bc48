//! The examples' offline mode: with no `DASHSCOPE_API_KEY` (and no `--base-url`), they
//! run the whole client (HTTP over loopback, SSE decoder, merger) against a
//! [`ReplayServer`] that serves streams recorded in `examples/recordings/`, paced so
//! that they look live.
#![allow(dead_code, reason = "each example uses a different subset")]

use std::time::Duration;

use dashscope_glm::blocking::Client;
use dashscope_glm::chat::Protocol;
use dashscope_glm::testing::{ReplayServer, Reply, Split};

/// The key sent to the local server (it records it redacted and checks nothing).
pub(crate) const OFFLINE_KEY: &str = "sk-offline-replay";

/// How long each recorded event waits before it is written.
pub(crate) const PACE: Duration = Duration::from_millis(12);

/// Whether the examples should replay: no API key in the environment and no gateway
/// given on the command line.
pub(crate) fn wanted(base_url: Option<&str>) -> bool {
    let key = std::env::var("DASHSCOPE_API_KEY").unwrap_or_default();
    base_url.is_none() && key.trim().is_empty()
}

/// The path of the chat endpoint of `protocol`, where the recordings are served.
pub(crate) fn endpoint_path(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::DashScope => "/api/v1/services/aigc/text-generation/generation",
        _ => "/compatible-mode/v1/chat/completions",
    }
}

/// Starts a server that answers the endpoint of `protocol` with `turns`, one per
/// request in order (each an SSE body with its request id), split per event and paced.
pub(crate) fn serve(
    protocol: Protocol,
    turns: &[(&'static [u8], &str)],
) -> std::io::Result<ReplayServer> {
    let replies = turns.iter().map(|&(body, request_id)| {
        Reply::sse(body)
            .header("x-request-id", request_id)
            .split(Split::PerEvent)
            .pause(PACE)
    });
    ReplayServer::builder()
        .route_sequence(endpoint_path(protocol), replies)
        .start()
}

/// A client of `protocol` pointed at `server`.
pub(crate) fn client(
    server: &ReplayServer,
    protocol: Protocol,
) -> Result<Client, dashscope_glm::Error> {
    // Our own server on 127.0.0.1: never through a proxy from the environment.
    Client::builder()
        .base_url(server.base_url())
        .api_key(OFFLINE_KEY)
        .protocol(protocol)
        .no_proxy()
        .build()
}
