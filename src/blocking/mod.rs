//! The blocking client (feature `blocking`): ureq with rustls, retries, timeouts, and a
//! stream that reads the socket only when asked.
//!
//! ```text
//!  Client::stream(&ChatRequest)    (stream_cancellable(&request, &CancelToken): the
//!                                  same, stoppable from another thread in any phase)
//!    validate (catalog rules)      -> ErrorKind::Validation, nothing sent
//!    POST, retried before any body byte (failures before the request was written,
//!                                  408/409/429/5xx)
//!    non-2xx                       -> ErrorKind::Api (JSON or SSE body) | Http (other)
//!  ChatStream::record_to(writer)   (optional, before the first event) tee the raw body,
//!                                  handed back by finish_recording()
//!  ChatStream::track_arguments(true)      (optional) parse tool arguments as they stream
//!  ChatStream::next_event()        read into a 16 KiB buffer -> StreamDecoder -> events
//!  ChatStream::cancel_token()      stop it from another thread -> ErrorKind::Cancelled
//!  ChatStream::timings()           head, first byte, first token, end (so far)
//!  ChatStream::finish()            -> Completion (with its Timings)
//! ```
//!
//! Timeouts: connect, idle (no byte for a while; default 180 s, a slow steady stream is
//! never cut) and an optional total deadline, each its own [`TimeoutKind`]. The idle
//! timeout is ureq's per-read timeout (`timeout_per_read`, `timeout_per_write`): it
//! restarts with every read from the socket, so it bounds the gap between bytes, not
//! the length of the body; it also covers the wait for the response headers.
//!
//! [`TimeoutKind`]: crate::TimeoutKind

mod body;
mod cancel;
mod client;
mod config;
mod proxy;
mod response;
mod retry;
mod stream;
mod transport;

/// The retry policy the client runs: the chat layer's, where the decision lives as
/// data ([`RetryPolicy::decide`]), re-exported here where
/// [`ClientBuilder::retry_policy`] takes it.
pub use crate::chat::http::RetryPolicy;
pub use cancel::CancelToken;
pub use client::Client;
pub use config::{ClientBuilder, Region};
pub use stream::{ChatStream, Recording};

/// The ureq this client is built on, so that a user building an [`Agent`] for
/// [`ClientBuilder::agent`] gets the same major version.
///
/// [`Agent`]: ureq::Agent
pub use ureq;
