//! A blocking, allocation-conscious client for the GLM models (glm-5, glm-4.7, glm-4.6)
//! on Alibaba Cloud Model Studio (DashScope).
//!
//! The crate is built in layers; each one is usable on its own, and dependencies point
//! down only:
//!
//! ```text
//!  examples/   chat, replay, sse_dump             programs a user runs first
//!  blocking    feature "blocking" (ureq, log)     Client, ChatStream, retries, timeouts
//!  testing     feature "testing" (std only)       ReplayServer: recorded streams on 127.0.0.1
//!  chat, json  feature "chat" (serde, serde_json) requests, wire types, merger; PartialJson
//!  sse         always compiled, no dependencies   bytes -> lines -> events
//! ```
//!
//! `cargo build --no-default-features` builds the [`sse`] layer alone.
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

    /// Bytes the decoder's line-end search has examined so far (each byte at most once).
    #[must_use]
    pub fn bytes_scanned(decoder: &sse::Decoder) -> u64 {
        decoder.bytes_scanned()
    }

    /// Total capacity of the decoder's buffers, in bytes.
    #[must_use]
    pub fn buffered_capacity(decoder: &sse::Decoder) -> usize {
        decoder.buffered_capacity()
    }

    /// Bytes the parser has read (at most three times the text's length).
    #[cfg(feature = "chat")]
    #[must_use]
    pub fn bytes_touched(parser: &crate::json::PartialJson) -> u64 {
        parser.bytes_touched()
    }
}

/// The README's code blocks, compiled and run as doc tests (`cargo test`).
#[cfg(all(doctest, feature = "blocking", feature = "testing"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
