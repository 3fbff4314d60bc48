//! A blocking, allocation-conscious client for the GLM models (glm-5.3, glm-5.2, glm-5,
//! ZHIPU/GLM-5.3, ZHIPU/GLM-5, glm-4.7, glm-4.6: see `chat::Catalog`) on Alibaba Cloud
//! Model Studio (DashScope).
//!
//! A call streams: `client.stream(&request)` sends the request and gives a
//! `ChatStream`, whose `next_event()` reads the socket only when called and lends each
//! piece as it arrives, the model's reasoning (thinking mode) first, then the answer;
//! `finish()` gives the whole `Completion`. Against Model Studio the client comes from
//! `Client::from_env()` (`DASHSCOPE_API_KEY`); this example runs offline, against a
//! `testing::ReplayServer` on 127.0.0.1 that serves a recorded glm-5 stream, trimmed to
//! two events and `[DONE]`, one event per write:
//!
//! ```
//! # #[cfg(all(feature = "blocking", feature = "testing"))]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use dashscope_glm::blocking::Client;
//! use dashscope_glm::chat::{ChatRequest, FinishReason, StreamEvent};
//! use dashscope_glm::testing::{ReplayServer, Reply, Split};
//!
//! let recorded = concat!(
//!     "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"A self-intro question.\"}}],\"model\":\"glm-5\"}\n\n",
//!     "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"I am GLM.\"},\"finish_reason\":\"stop\"}],\"model\":\"glm-5\"}\n\n",
//!     "data: [DONE]\n\n",
//! );
//! let server = ReplayServer::start(Reply::sse(recorded).split(Split::PerEvent))?;
//! let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
//!
//! let request = ChatRequest::new("glm-5").user("Who are you").thinking(true);
//! let mut stream = client.stream(&request)?;
//! while let Some(event) = stream.next_event()? {
//!     match event {
//!         StreamEvent::Reasoning(text) => print!("{text}"), // thinking, as it streams
//!         StreamEvent::Content(text) => print!("{text}"),   // the answer, as it streams
//!         _ => {} // tool calls, usage, the finish reason
//!     }
//! }
//! let completion = stream.finish()?;
//! assert_eq!(completion.message.reasoning_content, "A self-intro question.");
//! assert_eq!(completion.message.content, "I am GLM.");
//! assert_eq!(completion.finish_reason, Some(FinishReason::Stop));
//! # Ok(())
//! # }
//! # #[cfg(not(all(feature = "blocking", feature = "testing")))]
//! # fn main() {}
//! ```
//!
//! The `testing` feature brings `ReplayServer` for your own tests; the README's
//! "Using it" sections show tool calls, the native protocol, errors and retries.
//!
//! The crate is built in layers; each one is usable on its own, and dependencies point
//! down only:
//!
//! ```text
//!  examples/   chat, replay, sse_dump             programs a user runs first
//!  blocking    feature "blocking" (ureq, log)     Client, ChatStream, retries, timeouts
//!  testing     feature "testing" (std only)       ReplayServer: recorded streams on 127.0.0.1
//!  chat, json  feature "chat" (serde, serde_json) requests, wire types, merger; PartialJson;
//!                                                 chat::http: the HTTP request, an error
//!                                                 answer's meaning, the retry decision
//!  sse         always compiled, no dependencies   bytes -> lines -> events
//! ```
//!
//! `cargo build --no-default-features` builds the [`sse`] layer alone. Everything below
//! `blocking` is sans-IO: no socket, clock or thread, so an SDK of one's own (an async
//! one, say) drives the same rules with its own I/O, as ureq drives ureq-proto. The
//! README's "The sans-IO layers" and "Your own transport" show how, and "Building on
//! the layers" points to `examples/async-client/`, an async client on tokio and hyper.
//!
//! # Naming
//!
//! One scheme across the public API:
//!
//! - A getter has the plain name of what it reads (`Accumulator::protocol()`,
//!   `sse::Decoder::limits()`, `ChatRequest::protocol()`), with `is_` or `has_` for a yes
//!   or no (`ChatRequest::is_incremental_output()`); never `get_`.
//! - A setting is given when the value is made: by a consuming method named after it
//!   (`ChatRequest::temperature(..)`, `Accumulator::cumulative(true)`,
//!   `sse::Decoder::lossy(true)`, `ChatStream::track_arguments(true)`), or by a
//!   constructor `with_<setting>` (`sse::Decoder::with_limits`,
//!   `Accumulator::with_limits`, `PartialJson::with_limits`). A consuming setter whose
//!   plain name is its type's getter takes `with_` too (`ChatRequest::with_protocol`
//!   beside `ChatRequest::protocol()`); so do the setters of `Model` and `Message`,
//!   whose fields are public.
//! - Nothing has a `set_` form: what a response is decoded with holds from its first byte
//!   to its last, and what the response head says (its request id) is given with the
//!   head, before the body.
//! - A type of limits is named after what it bounds (`chat::AccumulatorLimits`,
//!   `chat::ModelLimits`).
//!
//! # Crate features
//!
//! - `chat`: wire types, the delta merger and `json::PartialJson` (incremental
//!   partial JSON); pulls in `serde` and `serde_json`.
//! - `blocking` (default): the ureq client (rustls), built on `chat`; logs through `log`.
//! - `testing`: `testing::ReplayServer`, an HTTP server on 127.0.0.1 that replays
//!   recorded streams (per path, split, paced, stalled or cut as a test asks) and
//!   records each request with the API key redacted; std only, for your own tests.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod sse;

#[cfg(feature = "chat")]
#[cfg_attr(docsrs, doc(cfg(feature = "chat")))]
pub mod chat;
#[cfg(feature = "chat")]
mod error;

#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;

#[cfg(feature = "chat")]
pub use error::{
    ApiError, ApiErrorOrigin, Category, ConfigKind, Error, ErrorKind, HttpError, LimitExceeded,
    LimitKind, MalformedChunk, TimeoutKind, ToolArgumentsError,
};

#[cfg(feature = "chat")]
#[cfg_attr(docsrs, doc(cfg(feature = "chat")))]
pub mod json;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

/// Counters for this crate's own tests, benches and fuzz oracles. **Not part of the
/// API:** anything here may change or go in any release, semver notwithstanding (as
/// rustls does with its fuzzing hooks).
#[doc(hidden)]
pub mod __private {
    use crate::sse;

    /// Total capacity of the decoder's buffers, in bytes.
    #[must_use]
    pub fn buffered_capacity(decoder: &sse::Decoder) -> usize {
        decoder.buffered_capacity()
    }

    /// The accumulator decoding every chunk with the serde-derive structs only: the
    /// reference its fast chunk decoder must agree with.
    #[cfg(feature = "chat")]
    #[must_use]
    pub fn serde_decoding_only(acc: crate::chat::Accumulator) -> crate::chat::Accumulator {
        acc.serde_decoding_only()
    }
}

/// The README's code blocks, compiled and run as doc tests (`cargo test`).
#[cfg(all(doctest, feature = "blocking", feature = "testing"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
