//! The examples' offline mode: with no `DASHSCOPE_API_KEY` (and no `--base-url`), they
//! run the whole client (HTTP over loopback, SSE decoder, merger) against a
//! [`ReplayServer`] that serves streams recorded in `examples/recordings/`, paced so
//! that they look live.
#![allow(dead_code, reason = "each example uses a different subset")]

use std::process::ExitCode;
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

/// How an example reaches a model, and the replay server it talks to when offline
/// (kept alive as long as the connection).
pub(crate) struct Connection {
    pub(crate) client: Client,
    pub(crate) replay: Option<ReplayServer>,
}

/// What an example's command line says about reaching a model.
pub(crate) struct Target<'a> {
    pub(crate) protocol: Protocol,
    pub(crate) base_url: Option<&'a str>,
    pub(crate) max_retries: Option<u32>,
}

/// Connects an example: offline (no key, no `--base-url`) it says so on standard error
/// (`what` names what it replays), starts a server for the recorded `turns` of the
/// protocol (`(openai, dashscope)` bodies with their request ids) and points the client
/// at it; online, the client comes from the environment and the command line (with a
/// placeholder key for a gateway given without one). The error is the message and
/// the exit status to end with.
pub(crate) fn connect(
    target: &Target<'_>,
    what: &str,
    turns: &[(&'static [u8], &'static [u8], &str)],
) -> Result<Connection, (String, ExitCode)> {
    if wanted(target.base_url) {
        eprintln!(
            "DASHSCOPE_API_KEY is not set: replaying {what} from a local server (set the key to call Model Studio)."
        );
        let bodies: Vec<(&'static [u8], &str)> = turns
            .iter()
            .map(|&(openai, dashscope, id)| {
                (
                    if target.protocol == Protocol::DashScope {
                        dashscope
                    } else {
                        openai
                    },
                    id,
                )
            })
            .collect();
        let server = serve(target.protocol, &bodies).map_err(|e| {
            (
                format!("cannot start the local replay server: {e}"),
                ExitCode::FAILURE,
            )
        })?;
        let client =
            client(&server, target.protocol).map_err(|e| (e.to_string(), ExitCode::from(2)))?;
        return Ok(Connection {
            client,
            replay: Some(server),
        });
    }
    let env = |k: &str| std::env::var(k).ok();
    let config = |e: dashscope_glm::Error| (e.to_string(), ExitCode::from(2));
    let mut builder = Client::builder()
        .apply_env(env)
        .map_err(config)?
        .protocol(target.protocol);
    if let Some(url) = target.base_url {
        builder = builder.base_url(url);
        if env("DASHSCOPE_API_KEY").is_none_or(|k| k.trim().is_empty()) {
            builder = builder.api_key("sk-placeholder");
        }
    }
    if let Some(n) = target.max_retries {
        builder = builder.max_retries(n);
    }
    Ok(Connection {
        client: builder.build().map_err(config)?,
        replay: None,
    })
}
