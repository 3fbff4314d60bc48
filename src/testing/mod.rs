//! A replay server for tests: recorded HTTP response bodies served on 127.0.0.1.
//!
//! [`ReplayServer`] listens on an ephemeral port of 127.0.0.1 (never any other address)
//! and answers each request with a scripted [`Reply`]: a status, headers, and a body
//! (typically a recorded SSE stream from `tests/data/transcripts/`) written to the socket
//! in the pieces you choose ([`Split`]), with optional pauses before the head and
//! between pieces, and ending normally, in a stall or in a cut connection (or never
//! starting: a hang-up). It records every request ([`RecordedRequest`]) with the API
//! key redacted, and counts connections and body bytes written, so a test can assert
//! what its code sent and how it used the socket. It is std only: no dependencies, no
//! async runtime.
//!
//! ```text
//!  your code ──HTTP/1.1──► 127.0.0.1:PORT ──► route by path ──► Reply (1st, 2nd, ... last)
//!                                │                               status + headers
//!                                ▼                               body split into pieces
//!                        RecordedRequest                  (pause) (stall | cut | hang up)
//!                 method, target, headers (key redacted), body
//! ```
//!
//! In scope: what a client test needs to provoke (slow drips, chunk boundaries anywhere,
//! "503 then 200", a slow head, a connection that hangs or drops after N bytes or before
//! any, a stall that lasts until the client lets go, connection reuse with
//! [`Builder::keep_alive`]). Out of scope: TLS, HTTP/2, and anything but loopback. By
//! default every response says `connection: close` and its connection closes after it.
//!
//! # Guarantees
//!
//! - Binding is the only fallible step ([`Builder::start`] returns [`std::io::Result`]);
//!   nothing a client sends makes the server panic.
//! - A thread per connection, so a stalled response never delays the next request (at
//!   most 256 connections at once; more are closed as soon as they are accepted).
//! - What the server reads is bounded: the request line and headers by
//!   [`Builder::max_request_head`] (64 KiB; over it: `431`), the body by
//!   [`Builder::max_request_body`] (16 MiB; over it: `413`); a request that is not
//!   HTTP/1.x (or whose head is not UTF-8) gets `400`. Such requests are counted
//!   ([`ReplayServer::rejected_count`]) but not recorded.
//! - Dropping the server stops it: the listener closes, every connection (stalled ones
//!   included) is closed, and every thread is joined. Each blocking call polls a
//!   shutdown flag every few milliseconds, so drop returns promptly.
//! - The API key is never stored: the `Authorization` header is recorded as
//!   `Bearer <redacted>`, and only a keyed hash of the credentials is kept, enough for
//!   [`RecordedRequest::api_key_is`].
//!
//! # In your own tests
//!
//! Enable the feature for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! dashscope-glm = { version = "0.1", features = ["testing"] }
//! ```
//!
//! # Example
//!
//! This example shows a test you can copy: serve a stream on the OpenAI-compatible path,
//! make a request, and check what was sent. Here a bare [`TcpStream`] plays the client;
//! in your test, give your code [`ReplayServer::base_url`] in place of the Model Studio
//! URL.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//!
//! use dashscope_glm::testing::{ReplayServer, Reply, Split};
//!
//! let stream = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n";
//! let server = ReplayServer::builder()
//!     .route(
//!         "/compatible-mode/v1/chat/completions",
//!         Reply::sse(stream).header("x-request-id", "req-1").split(Split::PerEvent),
//!     )
//!     .start()?;
//!
//! // The code under test: here, a hand-written request.
//! let mut client = TcpStream::connect(server.addr())?;
//! let body = r#"{"model":"glm-5","stream":true}"#;
//! write!(
//!     client,
//!     "POST /compatible-mode/v1/chat/completions HTTP/1.1\r\n\
//!      host: {}\r\nauthorization: Bearer sk-test\r\n\
//!      content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
//!     server.addr(),
//!     body.len(),
//! )?;
//! let mut response = String::new();
//! client.read_to_string(&mut response)?;
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.contains("x-request-id: req-1\r\n"));
//! assert!(response.contains("data: [DONE]"));
//!
//! // What the code sent.
//! let requests = server.requests();
//! assert_eq!(requests.len(), 1);
//! assert_eq!(requests[0].method(), "POST");
//! assert_eq!(requests[0].path(), "/compatible-mode/v1/chat/completions");
//! assert_eq!(requests[0].body_str(), Some(body));
//! assert_eq!(requests[0].header("Authorization"), Some("Bearer <redacted>"));
//! assert!(requests[0].api_key_is("sk-test"));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`TcpStream`]: std::net::TcpStream

mod http;
mod recorded;
mod reply;
mod server;
mod split;

pub use recorded::RecordedRequest;
pub use reply::{Framing, Reply};
pub use server::{Builder, ReplayServer};
pub use split::Split;
