//! A replay server for tests: recorded HTTP response bodies served on 127.0.0.1.
//!
//! [`ReplayServer`] listens on an ephemeral port of 127.0.0.1 (never any other address)
//! and answers each request with a scripted [`Reply`]: a status, headers, and a body
//! (typically a recorded SSE stream from `tests/data/transcripts/`) written to the socket
//! in the pieces you choose ([`Split`]), with optional pauses between them, and ending
//! normally, in a stall or in a cut connection. It records every request
//! ([`RecordedRequest`]) with the API key redacted, so a test can assert what its code
//! sent. It is std only: no dependencies, no async runtime.
//!
//! ```text
//!  your code ──HTTP/1.1──► 127.0.0.1:PORT ──► route by path ──► Reply (1st, 2nd, ... last)
//!                                │                               status + headers
//!                                ▼                               body split into pieces
//!                        RecordedRequest                         (pause) (stall | cut)
//!                 method, target, headers (key redacted), body
//! ```
//!
//! In scope: what a client test needs to provoke (slow drips, chunk boundaries anywhere,
//! "503 then 200", a connection that hangs or drops after N bytes). Out of scope: TLS,
//! HTTP/2, keep-alive (every response says `connection: close` and the connection
//! closes after it), and anything but loopback.
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

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often a blocked read, write or sleep looks at the shutdown flag.
const POLL: Duration = Duration::from_millis(5);
/// How long drop waits, in all, for the server's threads to end.
const JOIN_WAIT: Duration = Duration::from_secs(2);
/// Connections served at once; more are closed at accept.
const MAX_CONNECTIONS: usize = 256;
/// Header fields in one request (a larger count gets `431`).
const MAX_HEADER_FIELDS: usize = 256;
/// Length of one chunk-size line in a chunked request body.
const MAX_CHUNK_LINE: usize = 1024;
/// How long a rejected request's unread bytes are drained before the socket closes, so
/// that the client reads the error status instead of a reset.
const DRAIN_WAIT: Duration = Duration::from_millis(500);

/// How a [`Reply`] body is cut into pieces on the wire.
///
/// Each piece is written with its own `write` call (and `TCP_NODELAY`); in the default
/// chunked framing ([`Framing::Chunked`]) each piece is also its own HTTP chunk, so the
/// boundaries are visible to the client's chunked decoder, not just a matter of timing.
/// [`Split::piece_lengths`] tells the lengths a body gets.
///
/// # Example
///
/// This example shows the pieces of a two-event stream under each split.
///
/// ```
/// use dashscope_glm::testing::Split;
///
/// let body = b"data:a\n\ndata:bc\n\n";
/// assert_eq!(Split::Whole.piece_lengths(body), [17]);
/// assert_eq!(Split::PerEvent.piece_lengths(body), [8, 9]);
/// assert_eq!(Split::Every(5).piece_lengths(body), [5, 5, 5, 2]);
/// let random = Split::Random { seed: 7, max: 4 }.piece_lengths(body);
/// assert_eq!(random.iter().sum::<usize>(), 17);
/// assert_eq!(random, Split::Random { seed: 7, max: 4 }.piece_lengths(body));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Split {
    /// The whole body in one piece (the default).
    #[default]
    Whole,
    /// One piece per SSE event: a piece ends after each blank line (an empty line ended
    /// by LF, CRLF or CR). Bytes after the last blank line form the last piece.
    PerEvent,
    /// Pieces of this many bytes (0 counts as 1); the last one may be shorter.
    Every(usize),
    /// Pieces of pseudo-random lengths between 1 and `max` (0 counts as 1), drawn from a
    /// xorshift generator seeded with `seed`: the same seed always gives the same
    /// lengths, on every platform.
    Random {
        /// The generator's seed.
        seed: u64,
        /// The longest piece.
        max: usize,
    },
}

impl Split {
    /// The lengths of the pieces `body` is written in, in order. They sum to
    /// `body.len()`, and none is 0 (an empty body has no pieces).
    ///
    /// # Example
    ///
    /// This example shows that an event ended by CRLF CRLF stays whole.
    ///
    /// ```
    /// use dashscope_glm::testing::Split;
    ///
    /// assert_eq!(Split::PerEvent.piece_lengths(b"data:a\r\n\r\ndata:b"), [10, 6]);
    /// assert!(Split::Every(3).piece_lengths(b"").is_empty());
    /// ```
    #[must_use]
    pub fn piece_lengths(&self, body: &[u8]) -> Vec<usize> {
        match *self {
            Self::Whole if body.is_empty() => Vec::new(),
            Self::Whole => vec![body.len()],
            Self::PerEvent => event_lengths(body),
            Self::Every(n) => {
                let n = n.max(1);
                body.chunks(n).map(<[u8]>::len).collect()
            }
            Self::Random { seed, max } => {
                let max = max.max(1) as u64;
                let mut rng = XorShift::new(seed);
                let mut left = body.len();
                let mut out = Vec::new();
                while left > 0 {
                    // `1 + x % max` is at most `max`, which came from a usize.
                    let len = usize::try_from(1 + rng.next() % max).unwrap_or(usize::MAX);
                    let len = len.min(left);
                    out.push(len);
                    left -= len;
                }
                out
            }
        }
    }
}

/// Lengths of the pieces of `body`, each ending after a blank line.
fn event_lengths(body: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    // Invariant: piece_start <= line_start <= i <= body.len().
    let (mut piece_start, mut line_start, mut i) = (0, 0, 0);
    while let Some(&byte) = body.get(i) {
        if byte != b'\n' && byte != b'\r' {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        if byte == b'\r' && body.get(end) == Some(&b'\n') {
            end += 1;
        }
        if i == line_start {
            out.push(end - piece_start);
            piece_start = end;
        }
        line_start = end;
        i = end;
    }
    if piece_start < body.len() {
        out.push(body.len() - piece_start);
    }
    out
}

/// Marsaglia's xorshift64, seeded through splitmix64 so that every seed (0 included)
/// gives a non-zero state.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// How the end of a [`Reply`] body is marked on the wire.
///
/// # Example
///
/// This example shows a body sent with `content-length`.
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::TcpStream;
///
/// use dashscope_glm::testing::{Framing, ReplayServer, Reply};
///
/// let server = ReplayServer::start(Reply::sse("data:1\n\n").framing(Framing::ContentLength))?;
/// let mut client = TcpStream::connect(server.addr())?;
/// client.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")?;
/// let mut response = String::new();
/// client.read_to_string(&mut response)?;
/// assert!(response.contains("content-length: 8\r\n"));
/// assert!(response.ends_with("\r\n\r\ndata:1\n\n"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Framing {
    /// `transfer-encoding: chunked`, one chunk per piece (the default, and what Model
    /// Studio sends for streams).
    #[default]
    Chunked,
    /// `content-length`; the pieces are separate writes, with no marks between them.
    ContentLength,
    /// Neither header: the body ends when the connection closes (HTTP/1.0 style), so a
    /// cut, or the end of a stall, looks like the normal end of the body.
    Close,
}

/// How a reply ends after its pieces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    Complete,
    Stall { after: usize, hold: Duration },
    Cut { after: usize },
}

/// One scripted HTTP response: status, headers, body, and how the body goes on the wire.
///
/// Build it with [`Reply::sse`], [`Reply::json`] or [`Reply::new`], then adjust it with
/// the builder methods. Headers are written in the order given, verbatim (nothing is
/// validated, so a test can also send a malformed response); the server adds the framing
/// header ([`Framing`]) and `connection: close` after them. Cloning is cheap: the body
/// is shared.
///
/// # Example
///
/// This example shows a reply that sends a recorded stream one event every 10 ms and
/// then drops the connection after 200 body bytes.
///
/// ```
/// use std::time::Duration;
///
/// use dashscope_glm::testing::{Reply, Split};
///
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/transcripts/openai_thinking.sse");
/// let reply = Reply::sse_file(path)?
///     .header("x-request-id", "req-1")
///     .split(Split::PerEvent)
///     .pause(Duration::from_millis(10))
///     .cut_after(200);
/// assert_eq!(reply.status_code(), 200);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Arc<[u8]>,
    split: Split,
    pause: Duration,
    framing: Framing,
    ending: Ending,
}

impl Reply {
    /// A reply with this status, no headers and an empty body, sent whole, chunked.
    ///
    /// # Example
    ///
    /// This example shows a bare `503` with a `retry-after` header.
    ///
    /// ```
    /// use dashscope_glm::testing::Reply;
    ///
    /// let reply = Reply::new(503).header("retry-after", "1");
    /// assert_eq!(reply.status_code(), 503);
    /// ```
    #[must_use]
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Arc::from(&[][..]),
            split: Split::Whole,
            pause: Duration::ZERO,
            framing: Framing::Chunked,
            ending: Ending::Complete,
        }
    }

    /// A `200` SSE stream: `content-type: text/event-stream;charset=UTF-8` and this body.
    ///
    /// # Example
    ///
    /// This example shows a one-event stream.
    ///
    /// ```
    /// use dashscope_glm::testing::Reply;
    ///
    /// let reply = Reply::sse("data: [DONE]\n\n");
    /// assert_eq!(reply.body_bytes(), b"data: [DONE]\n\n");
    /// ```
    #[must_use]
    pub fn sse(body: impl Into<Vec<u8>>) -> Self {
        Self::new(200)
            .header("content-type", "text/event-stream;charset=UTF-8")
            .body(body)
    }

    /// [`Reply::sse`] with the body read from a file, such as a recording made with
    /// the client or one of `tests/data/transcripts/*.sse`.
    ///
    /// # Errors
    ///
    /// The error of [`std::fs::read`].
    ///
    /// # Example
    ///
    /// This example shows a recorded native stream.
    ///
    /// ```
    /// use dashscope_glm::testing::Reply;
    ///
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/transcripts/native_thinking.sse");
    /// let reply = Reply::sse_file(path)?;
    /// assert!(reply.body_bytes().starts_with(b"id:1\n"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sse_file(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self::sse(std::fs::read(path)?))
    }

    /// A JSON reply (`content-type: application/json`) with this status, for error
    /// bodies and non-streaming completions.
    ///
    /// # Example
    ///
    /// This example shows a rate-limit error as the OpenAI-compatible endpoint sends it.
    ///
    /// ```
    /// use dashscope_glm::testing::Reply;
    ///
    /// let reply = Reply::json(429, r#"{"error":{"code":"limit_requests","message":"slow down"}}"#)
    ///     .header("retry-after", "0");
    /// assert_eq!(reply.status_code(), 429);
    /// ```
    #[must_use]
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::new(status)
            .header("content-type", "application/json")
            .body(body)
    }

    /// Sets the status code. The reason phrase is the standard one (empty for codes
    /// without one).
    ///
    /// # Example
    ///
    /// This example shows an SSE body sent with an error status.
    ///
    /// ```
    /// use dashscope_glm::testing::Reply;
    ///
    /// assert_eq!(Reply::sse("event:error\ndata:{}\n\n").status(400).status_code(), 400);
    /// ```
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Adds a header, after those already set. Names and values are written verbatim.
    ///
    /// # Example
    ///
    /// This example shows the headers Model Studio sends with a stream.
    ///
    /// ```
    /// use dashscope_glm::testing::Reply;
    ///
    /// let reply = Reply::sse("data:{}\n\n")
    ///     .header("x-request-id", "6b6fd22c-0000-4000-8000-000000000001")
    ///     .header("x-dashscope-finished", "false");
    /// assert_eq!(reply.headers().len(), 3);
    /// ```
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Replaces the body.
    ///
    /// # Example
    ///
    /// This example shows a body given as a string.
    ///
    /// ```
    /// use dashscope_glm::testing::Reply;
    ///
    /// assert_eq!(Reply::new(200).body("ok").body_bytes(), b"ok");
    /// ```
    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Arc::from(body.into());
        self
    }

    /// Replaces the body with the contents of a file.
    ///
    /// # Errors
    ///
    /// The error of [`std::fs::read`].
    ///
    /// # Example
    ///
    /// This example shows a recorded error stream served with its status.
    ///
    /// ```
    /// use dashscope_glm::testing::Reply;
    ///
    /// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/transcripts");
    /// let reply = Reply::new(400).body_file(format!("{dir}/native_error_no_blank_line.sse"))?;
    /// assert!(!reply.body_bytes().is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn body_file(self, path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(self.body(std::fs::read(path)?))
    }

    /// Sets how the body is cut into pieces (default [`Split::Whole`]).
    ///
    /// # Example
    ///
    /// This example shows a body dripped 3 bytes at a time.
    ///
    /// ```
    /// use dashscope_glm::testing::{Reply, Split};
    ///
    /// let reply = Reply::sse("data:x\n\n").split(Split::Every(3));
    /// ```
    #[must_use]
    pub fn split(mut self, split: Split) -> Self {
        self.split = split;
        self
    }

    /// Sleeps this long between pieces (default none), for paced, live-looking replay
    /// and slow drips. There is no pause before the first piece or after the last.
    ///
    /// # Example
    ///
    /// This example shows one event every 5 ms.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use dashscope_glm::testing::{Reply, Split};
    ///
    /// let reply = Reply::sse("data:1\n\ndata:2\n\n")
    ///     .split(Split::PerEvent)
    ///     .pause(Duration::from_millis(5));
    /// ```
    #[must_use]
    pub fn pause(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    /// Sets how the end of the body is marked (default [`Framing::Chunked`]).
    ///
    /// # Example
    ///
    /// This example shows a JSON body with `content-length`.
    ///
    /// ```
    /// use dashscope_glm::testing::{Framing, Reply};
    ///
    /// let reply = Reply::json(200, "{}").framing(Framing::ContentLength);
    /// ```
    #[must_use]
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// Stops writing after `body_bytes` bytes of the body and keeps the connection open,
    /// silent, for `hold` or until the server is dropped, whichever comes first; then
    /// closes it. `Duration::MAX` holds until drop. Replaces an earlier
    /// [`Reply::cut_after`].
    ///
    /// The piece in which the limit falls is shortened to end there (in chunked framing
    /// it goes out as a complete, shorter chunk), so the client receives exactly
    /// `body_bytes` decodable bytes, and never the end of the body: with a limit at or
    /// beyond the body's length the whole body is sent, but not the final chunk.
    ///
    /// # Example
    ///
    /// This example shows a stream that hangs after its first event, as an idle-timeout
    /// test wants.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use dashscope_glm::testing::Reply;
    ///
    /// let reply = Reply::sse("data:1\n\ndata:2\n\n").stall_after(8, Duration::MAX);
    /// ```
    #[must_use]
    pub fn stall_after(mut self, body_bytes: usize, hold: Duration) -> Self {
        self.ending = Ending::Stall {
            after: body_bytes,
            hold,
        };
        self
    }

    /// Closes the connection right after `body_bytes` bytes of the body, without ending
    /// the body (no final chunk; fewer bytes than `content-length`). The last piece is
    /// shortened as for [`Reply::stall_after`], which this replaces.
    ///
    /// # Example
    ///
    /// This example shows a stream cut in the middle of its second event.
    ///
    /// ```
    /// use dashscope_glm::testing::Reply;
    ///
    /// let reply = Reply::sse("data:1\n\ndata:2\n\n").cut_after(11);
    /// ```
    #[must_use]
    pub fn cut_after(mut self, body_bytes: usize) -> Self {
        self.ending = Ending::Cut { after: body_bytes };
        self
    }

    /// The status code.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(dashscope_glm::testing::Reply::new(204).status_code(), 204);
    /// ```
    #[must_use]
    pub fn status_code(&self) -> u16 {
        self.status
    }

    /// The headers, in the order they are written (before the framing header).
    ///
    /// # Example
    ///
    /// ```
    /// let reply = dashscope_glm::testing::Reply::json(200, "{}");
    /// assert_eq!(reply.headers()[0], ("content-type".to_owned(), "application/json".to_owned()));
    /// ```
    #[must_use]
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(dashscope_glm::testing::Reply::new(200).body_bytes(), b"");
    /// ```
    #[must_use]
    pub fn body_bytes(&self) -> &[u8] {
        &self.body
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .field("split", &self.split)
            .field("pause", &self.pause)
            .field("framing", &self.framing)
            .field("ending", &self.ending)
            .finish()
    }
}

/// Configures and starts a [`ReplayServer`]: routes, a fallback, limits.
///
/// A request is matched on its path without the query string, exactly. Routing a path
/// again replaces its replies. A path without a route gets the fallback (by default a
/// `404` whose text names the path).
///
/// # Example
///
/// This example shows a retry scenario and a second endpoint.
///
/// ```
/// use dashscope_glm::testing::{ReplayServer, Reply};
///
/// let server = ReplayServer::builder()
///     .route_sequence(
///         "/compatible-mode/v1/chat/completions",
///         [Reply::new(503).header("retry-after", "0"), Reply::sse("data: [DONE]\n\n")],
///     )
///     .route("/api/v1/services/aigc/text-generation/generation", Reply::sse("id:1\n\n"))
///     .fallback(Reply::json(404, r#"{"code":"NotFound"}"#))
///     .max_request_body(1 << 20)
///     .start()?;
/// assert!(server.base_url().starts_with("http://127.0.0.1:"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    routes: Vec<(String, Vec<Reply>)>,
    fallback: Option<Reply>,
    max_head: Option<usize>,
    max_body: Option<usize>,
}

impl Builder {
    /// Answers every request for `path` with `reply`.
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let server = ReplayServer::builder().route("/v1", Reply::new(204)).start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn route(self, path: impl Into<String>, reply: Reply) -> Self {
        self.route_sequence(path, [reply])
    }

    /// Answers the first request for `path` with the first reply, the second with the
    /// second, and so on; the last reply answers every request after that.
    ///
    /// An empty sequence makes [`Builder::start`] fail.
    ///
    /// # Example
    ///
    /// This example shows "503, then 429, then the stream".
    ///
    /// ```
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let server = ReplayServer::builder()
    ///     .route_sequence(
    ///         "/v1/chat",
    ///         [Reply::new(503), Reply::new(429), Reply::sse("data: [DONE]\n\n")],
    ///     )
    ///     .start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn route_sequence(
        mut self,
        path: impl Into<String>,
        replies: impl IntoIterator<Item = Reply>,
    ) -> Self {
        let path = path.into();
        let replies = replies.into_iter().collect();
        self.routes.retain(|(p, _)| *p != path);
        self.routes.push((path, replies));
        self
    }

    /// Answers requests for paths without a route (default: `404`, `text/plain`).
    ///
    /// # Example
    ///
    /// This example shows a server that answers every path the same way.
    ///
    /// ```
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let server = ReplayServer::builder().fallback(Reply::sse("data:{}\n\n")).start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn fallback(mut self, reply: Reply) -> Self {
        self.fallback = Some(reply);
        self
    }

    /// The most bytes read for a request's line and headers (default 64 KiB; also the
    /// bound for the trailers of a chunked body). A longer head gets
    /// `431 Request Header Fields Too Large`, as do more than 256 header fields.
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let server = ReplayServer::builder().max_request_head(4096).start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn max_request_head(mut self, bytes: usize) -> Self {
        self.max_head = Some(bytes);
        self
    }

    /// The largest request body accepted, `content-length` or chunked (default 16 MiB).
    /// A larger one gets `413 Content Too Large`, as soon as the server knows.
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let server = ReplayServer::builder().max_request_body(1 << 20).start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn max_request_body(mut self, bytes: usize) -> Self {
        self.max_body = Some(bytes);
        self
    }

    /// Binds 127.0.0.1 on an ephemeral port and starts serving on a background thread.
    ///
    /// # Errors
    ///
    /// The error of binding or of spawning the thread, or `InvalidInput` for a route
    /// with an empty sequence of replies.
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::testing::ReplayServer;
    ///
    /// let server = ReplayServer::builder().start()?;
    /// assert!(server.addr().ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(self) -> io::Result<ReplayServer> {
        let mut routes = HashMap::with_capacity(self.routes.len());
        for (path, replies) in self.routes {
            if replies.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("the route for {path:?} has no replies"),
                ));
            }
            routes.insert(path, Route::new(replies));
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            routes,
            fallback: self.fallback.map(|r| Route::new(vec![r])),
            max_head: self.max_head.unwrap_or(64 << 10),
            max_body: self.max_body.unwrap_or(16 << 20),
            hasher: RandomState::new(),
            requests: Mutex::new(Vec::new()),
            rejected: AtomicUsize::new(0),
            workers: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("replay-server-{}", addr.port()))
                .spawn(move || accept_loop(&listener, &shared))?
        };
        Ok(ReplayServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }
}

/// An HTTP/1.1 server on 127.0.0.1 that answers with scripted [`Reply`]s and records
/// every request. It stops when dropped.
///
/// See the [module docs](self) for the guarantees and a test to copy.
///
/// # Example
///
/// This example shows one reply for every path, then the recorded request.
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::TcpStream;
///
/// use dashscope_glm::testing::{ReplayServer, Reply};
///
/// let server = ReplayServer::start(Reply::json(200, r#"{"ok":true}"#))?;
/// let mut client = TcpStream::connect(server.addr())?;
/// client.write_all(b"GET /anything?x=1 HTTP/1.1\r\nhost: x\r\n\r\n")?;
/// let mut response = String::new();
/// client.read_to_string(&mut response)?;
/// assert!(response.contains(r#"{"ok":true}"#));
/// assert_eq!(server.request_count(), 1);
/// assert_eq!(server.requests()[0].target(), "/anything?x=1");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ReplayServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl ReplayServer {
    /// Starts a server that answers every request with `reply`.
    ///
    /// # Errors
    ///
    /// As [`Builder::start`].
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let server = ReplayServer::start(Reply::sse("data: [DONE]\n\n"))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(reply: Reply) -> io::Result<Self> {
        Self::builder().fallback(reply).start()
    }

    /// A [`Builder`] with no routes and the default limits.
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let server = ReplayServer::builder().route("/", Reply::new(200)).start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The address the server listens on: 127.0.0.1 and an ephemeral port.
    ///
    /// # Example
    ///
    /// ```
    /// let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// assert_eq!(server.addr().ip(), std::net::Ipv4Addr::LOCALHOST);
    /// assert_ne!(server.addr().port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash: what a client takes as its
    /// base URL.
    ///
    /// # Example
    ///
    /// ```
    /// let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// assert_eq!(server.base_url(), format!("http://127.0.0.1:{}", server.addr().port()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// [`ReplayServer::base_url`] followed by `path` (which should start with `/`).
    ///
    /// # Example
    ///
    /// ```
    /// let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// assert!(server.url("/compatible-mode/v1").ends_with("/compatible-mode/v1"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests received so far, in the order they were read in full. A request is
    /// recorded before its reply is written, so a stalled reply's request is here too.
    ///
    /// # Example
    ///
    /// ```
    /// let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// assert!(server.requests().is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many requests were recorded.
    ///
    /// # Example
    ///
    /// ```
    /// let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// assert_eq!(server.request_count(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// How many requests were answered `400`, `413` or `431` and not recorded.
    ///
    /// # Example
    ///
    /// This example shows a request that is not HTTP.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::TcpStream;
    ///
    /// let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// let mut client = TcpStream::connect(server.addr())?;
    /// client.write_all(b"hello\r\n\r\n")?;
    /// let mut response = String::new();
    /// client.read_to_string(&mut response)?;
    /// assert!(response.starts_with("HTTP/1.1 400 "));
    /// assert_eq!((server.rejected_count(), server.request_count()), (1, 0));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn rejected_count(&self) -> usize {
        self.shared.rejected.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for ReplayServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayServer")
            .field("addr", &self.addr)
            .field("routes", &self.shared.routes.keys().collect::<Vec<_>>())
            .field("request_count", &self.request_count())
            .field("rejected_count", &self.rejected_count())
            .finish_non_exhaustive()
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept; it sees the flag and returns, closing the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let deadline = Instant::now() + JOIN_WAIT;
        if let Some(acceptor) = self.acceptor.take() {
            join_by(acceptor, deadline);
        }
        // No worker is spawned once the acceptor has ended.
        let workers = std::mem::take(&mut *lock(&self.shared.workers));
        for worker in workers {
            join_by(worker, deadline);
        }
    }
}

/// Joins `thread` if it ends before `deadline`; otherwise leaves it detached (it is
/// polling the stop flag and ends on its own a few milliseconds later).
fn join_by(thread: JoinHandle<()>, deadline: Instant) {
    while !thread.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    if thread.is_finished() {
        let _ = thread.join();
    }
}

/// One request as the server read it, with the API key redacted.
///
/// The `Authorization` (and `Proxy-Authorization`) header keeps its scheme and loses its
/// credentials: `Bearer sk-...` is recorded as `Bearer <redacted>`. The credentials are
/// not stored anywhere; only a hash keyed with a per-server random key is, so
/// [`RecordedRequest::api_key_is`] can still check which key was sent. `Debug` shows the
/// redacted form.
///
/// # Example
///
/// This example shows a request with a query string and a chunked body.
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::TcpStream;
///
/// use dashscope_glm::testing::{ReplayServer, Reply};
///
/// let server = ReplayServer::start(Reply::new(204))?;
/// let mut client = TcpStream::connect(server.addr())?;
/// client.write_all(
///     b"PUT /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nAuthorization: Bearer sk-abc\r\n\
///       transfer-encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n",
/// )?;
/// client.read_to_end(&mut Vec::new())?;
///
/// let request = &server.requests()[0];
/// assert_eq!((request.method(), request.path(), request.query()), ("PUT", "/v1/x", Some("debug=1")));
/// assert_eq!(request.body(), br#"{"a":1}"#);
/// assert!(request.authorization_present() && request.api_key_is("sk-abc"));
/// assert!(!format!("{request:?}").contains("sk-abc"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct RecordedRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    key: Option<KeyHash>,
}

/// A keyed hash of the credentials of the first `Authorization` header.
#[derive(Clone)]
struct KeyHash {
    hasher: RandomState,
    hash: u64,
}

impl RecordedRequest {
    /// The method, as sent (`POST`).
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(
    /// #     b"POST /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-abc\r\n\
    /// #       content-length: 7\r\n\r\n{\"a\":1}",
    /// # )?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert_eq!(request.method(), "POST");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target as sent: path and query (`/v1/x?debug=1`).
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(
    /// #     b"POST /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-abc\r\n\
    /// #       content-length: 7\r\n\r\n{\"a\":1}",
    /// # )?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert_eq!(request.target(), "/v1/x?debug=1");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path: the target up to any `?` (`/v1/x`).
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(
    /// #     b"POST /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-abc\r\n\
    /// #       content-length: 7\r\n\r\n{\"a\":1}",
    /// # )?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert_eq!(request.path(), "/v1/x");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(&*self.target, |(path, _)| path)
    }

    /// The query string after the `?`, if there is one (`debug=1`).
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(
    /// #     b"POST /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-abc\r\n\
    /// #       content-length: 7\r\n\r\n{\"a\":1}",
    /// # )?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert_eq!(request.query(), Some("debug=1"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// Every header in the order sent: the name as sent, the value trimmed, credentials
    /// redacted.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n")?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert_eq!(request.headers()[1], ("X-A".to_owned(), "1".to_owned()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The value of the first header with this name (ASCII case-insensitive).
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-DashScope-SSE: enable\r\n\r\n")?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert_eq!(request.header("x-dashscope-sse"), Some("enable"));
    /// assert_eq!(request.header("accept"), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body, de-chunked if it was sent chunked.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(
    /// #     b"POST /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-abc\r\n\
    /// #       content-length: 7\r\n\r\n{\"a\":1}",
    /// # )?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert_eq!(request.body(), br#"{"a":1}"#);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text, if it is UTF-8 (a JSON request body always is).
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(
    /// #     b"POST /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-abc\r\n\
    /// #       content-length: 7\r\n\r\n{\"a\":1}",
    /// # )?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert_eq!(request.body_str(), Some(r#"{"a":1}"#));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn body_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// Whether the request had an `Authorization` header.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(
    /// #     b"POST /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-abc\r\n\
    /// #       content-length: 7\r\n\r\n{\"a\":1}",
    /// # )?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert!(request.authorization_present());
    /// assert_eq!(request.header("authorization"), Some("Bearer <redacted>"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn authorization_present(&self) -> bool {
        self.key.is_some()
    }

    /// Whether the first `Authorization` header carried exactly `key` as its
    /// credentials (`Bearer <key>`, any scheme), compared through the stored hash.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(
    /// #     b"POST /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-abc\r\n\
    /// #       content-length: 7\r\n\r\n{\"a\":1}",
    /// # )?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert!(request.api_key_is("sk-abc"));
    /// assert!(!request.api_key_is("Bearer sk-abc"));
    /// assert!(!request.api_key_is("sk-ab"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn api_key_is(&self, key: &str) -> bool {
        self.key
            .as_ref()
            .is_some_and(|k| k.hasher.hash_one(key) == k.hash)
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .field("authorization_present", &self.authorization_present())
            .finish()
    }
}

/// State shared by the server handle, the acceptor and the connection threads.
struct Shared {
    stop: AtomicBool,
    routes: HashMap<String, Route>,
    fallback: Option<Route>,
    max_head: usize,
    max_body: usize,
    hasher: RandomState,
    requests: Mutex<Vec<RecordedRequest>>,
    rejected: AtomicUsize,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

/// A non-empty sequence of replies and how many requests it answered.
struct Route {
    replies: Vec<Reply>,
    hits: AtomicUsize,
}

impl Route {
    fn new(replies: Vec<Reply>) -> Self {
        Self {
            replies,
            hits: AtomicUsize::new(0),
        }
    }

    /// The reply for the next request: the n-th, or the last one.
    fn next(&self) -> Option<&Reply> {
        let n = self.hits.fetch_add(1, Ordering::SeqCst);
        self.replies.get(n).or_else(|| self.replies.last())
    }
}

/// A lock that survives a panicked holder (the data is append-only).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of descriptors or similar: back off instead of spinning.
            thread::sleep(POLL);
            continue;
        };
        let mut workers = lock(&shared.workers);
        workers.retain(|worker| !worker.is_finished());
        if workers.len() >= MAX_CONNECTIONS {
            continue;
        }
        let conn_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name("replay-server-conn".to_owned())
            .spawn(move || serve(stream, &conn_shared));
        // A failed spawn drops the closure, which closes the connection.
        if let Ok(worker) = spawned {
            workers.push(worker);
        }
    }
}

/// Why a connection ends before its reply.
enum Fail {
    /// The client went away, the socket failed, or the server is stopping: say nothing.
    Gone,
    /// Answer with this status and reason text, record nothing.
    Reject(u16, &'static str),
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    if stream.set_read_timeout(Some(POLL)).is_err() || stream.set_write_timeout(Some(POLL)).is_err()
    {
        return;
    }
    let mut conn = Conn {
        stream,
        stop: &shared.stop,
        buf: Vec::new(),
        pos: 0,
    };
    match read_request(&mut conn, shared) {
        Ok(request) => {
            let path = request.path().to_owned();
            lock(&shared.requests).push(request);
            let route = shared.routes.get(&path).or(shared.fallback.as_ref());
            match route.and_then(Route::next) {
                Some(reply) => {
                    let _ = write_reply(&mut conn, reply);
                }
                None => {
                    let text = format!("no route for {path}\n");
                    let _ = write_simple(&mut conn, 404, &text);
                }
            }
        }
        Err(Fail::Reject(status, text)) => {
            shared.rejected.fetch_add(1, Ordering::SeqCst);
            if write_simple(&mut conn, status, text).is_ok() {
                conn.drain();
            }
        }
        Err(Fail::Gone) => {}
    }
}

/// A connection's socket, its stop flag and its read buffer.
///
/// Invariant: `pos <= buf.len()`; `buf[pos..]` is read but not yet consumed.
struct Conn<'a> {
    stream: TcpStream,
    stop: &'a AtomicBool,
    buf: Vec<u8>,
    pos: usize,
}

fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

impl Conn<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn buffered(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Reads at least one more byte into the buffer.
    fn fill(&mut self) -> Result<(), Fail> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let mut chunk = [0u8; 8192];
        loop {
            if self.stopped() {
                return Err(Fail::Gone);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(Fail::Gone),
                Ok(n) => {
                    self.buf
                        .extend_from_slice(chunk.get(..n).unwrap_or_default());
                    return Ok(());
                }
                Err(e) if is_retry(&e) => {}
                Err(_) => return Err(Fail::Gone),
            }
        }
    }

    /// Takes the next `n` bytes.
    fn take(&mut self, n: usize) -> Result<Vec<u8>, Fail> {
        while self.buffered().len() < n {
            self.fill()?;
        }
        let out = self.buffered().get(..n).unwrap_or_default().to_vec();
        self.pos += out.len();
        Ok(out)
    }

    /// Takes the next line (without its LF or CRLF); a line longer than `max` bytes gets
    /// `status`.
    fn line(&mut self, max: usize, status: u16) -> Result<Vec<u8>, Fail> {
        let mut from = 0;
        loop {
            let buffered = self.buffered();
            if let Some(i) = buffered.iter().skip(from).position(|&b| b == b'\n') {
                let end = from + i;
                let mut line = buffered.get(..end).unwrap_or_default();
                if let Some(stripped) = line.strip_suffix(b"\r") {
                    line = stripped;
                }
                if line.len() > max {
                    return Err(Fail::Reject(status, reason(status)));
                }
                let line = line.to_vec();
                self.pos += end + 1;
                return Ok(line);
            }
            if buffered.len() > max.saturating_add(1) {
                return Err(Fail::Reject(status, reason(status)));
            }
            from = buffered.len();
            self.fill()?;
        }
    }

    fn write_all(&mut self, mut data: &[u8]) -> Result<(), Fail> {
        while !data.is_empty() {
            if self.stopped() {
                return Err(Fail::Gone);
            }
            match self.stream.write(data) {
                Ok(0) => return Err(Fail::Gone),
                Ok(n) => data = data.get(n..).unwrap_or_default(),
                Err(e) if is_retry(&e) => {}
                Err(_) => return Err(Fail::Gone),
            }
        }
        Ok(())
    }

    /// Sleeps for `duration` (`Duration::MAX`: until the server stops); fails when the
    /// server stops first.
    fn sleep(&self, duration: Duration) -> Result<(), Fail> {
        let deadline = Instant::now().checked_add(duration);
        loop {
            if self.stopped() {
                return Err(Fail::Gone);
            }
            let now = Instant::now();
            let step = match deadline {
                Some(deadline) if now >= deadline => return Ok(()),
                Some(deadline) => (deadline - now).min(POLL),
                None => POLL,
            };
            thread::sleep(step);
        }
    }

    /// After an error reply: stops writing and discards what the client still sends,
    /// for a bounded time, so that closing does not reset the connection before the
    /// client has read the reply.
    fn drain(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let deadline = Instant::now() + DRAIN_WAIT;
        let mut chunk = [0u8; 8192];
        while Instant::now() < deadline && !self.stopped() {
            match self.stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if is_retry(&e) => {}
                Err(_) => return,
            }
        }
    }
}

/// Reads one request: head, then a `content-length` or chunked body.
fn read_request(conn: &mut Conn<'_>, shared: &Shared) -> Result<RecordedRequest, Fail> {
    let head = read_head(conn, shared.max_head)?;
    let head = std::str::from_utf8(&head).map_err(|_| bad("the request head is not UTF-8"))?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the request line is not `METHOD TARGET HTTP/1.x`"));
    };
    if method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_graphic())
        || target.is_empty()
        || !target.bytes().all(|b| b.is_ascii_graphic())
        || !version.starts_with("HTTP/1.")
    {
        return Err(bad("the request line is not `METHOD TARGET HTTP/1.x`"));
    }

    let mut headers = Vec::new();
    let mut key = None;
    for line in lines.filter(|l| !l.is_empty()) {
        if headers.len() == MAX_HEADER_FIELDS {
            return Err(Fail::Reject(431, "too many header fields\n"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad("a header line has no colon"));
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad("a header name is empty or has whitespace"));
        }
        let value = value.trim_matches([' ', '\t']);
        let value = if name.eq_ignore_ascii_case("authorization")
            || name.eq_ignore_ascii_case("proxy-authorization")
        {
            let (redacted, credentials) = redact(value);
            if key.is_none() && name.eq_ignore_ascii_case("authorization") {
                key = Some(KeyHash {
                    hash: shared.hasher.hash_one(credentials),
                    hasher: shared.hasher.clone(),
                });
            }
            redacted
        } else {
            value.to_owned()
        };
        headers.push((name.to_owned(), value));
    }

    let body = read_body(conn, &headers, shared)?;
    Ok(RecordedRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body,
        key,
    })
}

fn bad(text: &'static str) -> Fail {
    Fail::Reject(400, text)
}

/// `Bearer sk-...` -> (`Bearer <redacted>`, `sk-...`); a value without a scheme is
/// redacted whole.
fn redact(value: &str) -> (String, &str) {
    match value.split_once(' ') {
        Some((scheme, credentials)) => (
            format!("{scheme} <redacted>"),
            credentials.trim_start_matches(' '),
        ),
        None => ("<redacted>".to_owned(), value),
    }
}

/// Reads up to and including the blank line that ends the head; returns the head
/// without that blank line.
fn read_head(conn: &mut Conn<'_>, max_head: usize) -> Result<Vec<u8>, Fail> {
    const TOO_LARGE: Fail = Fail::Reject(431, "the request head is too large\n");
    // Every position before `scanned` is known not to start the blank line.
    let mut scanned = 0;
    loop {
        let buffered = conn.buffered();
        let mut i = scanned;
        while let Some(&byte) = buffered.get(i) {
            if byte == b'\n' {
                let end = match (buffered.get(i + 1), buffered.get(i + 2)) {
                    (Some(b'\n'), _) => Some(i + 2),
                    (Some(b'\r'), Some(b'\n')) => Some(i + 3),
                    // Not enough bytes to tell yet.
                    (None, _) | (Some(b'\r'), None) => break,
                    _ => None,
                };
                if let Some(end) = end {
                    if end > max_head {
                        return Err(TOO_LARGE);
                    }
                    let head = buffered.get(..=i).unwrap_or_default().to_vec();
                    conn.pos += end;
                    return Ok(head);
                }
            }
            i += 1;
        }
        scanned = i;
        if buffered.len() > max_head {
            return Err(TOO_LARGE);
        }
        conn.fill()?;
    }
}

fn read_body(
    conn: &mut Conn<'_>,
    headers: &[(String, String)],
    shared: &Shared,
) -> Result<Vec<u8>, Fail> {
    const TOO_LARGE: Fail = Fail::Reject(413, "the request body is too large\n");
    fn values<'h>(
        headers: &'h [(String, String)],
        name: &'static str,
    ) -> impl Iterator<Item = &'h str> {
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    let find = |name| values(headers, name);
    let chunked = match find("transfer-encoding").last() {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("chunked") => true,
        Some(_) => return Err(bad("only `transfer-encoding: chunked` is supported")),
    };
    let mut lengths = find("content-length");
    let length = match (lengths.next(), chunked) {
        (None, _) => None,
        (Some(_), true) => return Err(bad("both content-length and transfer-encoding")),
        (Some(first), false) => {
            if lengths.any(|other| other != first) {
                return Err(bad("conflicting content-length headers"));
            }
            if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("invalid content-length"));
            }
            // Only digits: a failed parse is an overflow.
            Some(first.parse::<usize>().map_err(|_| TOO_LARGE)?)
        }
    };
    if length.is_some_and(|n| n > shared.max_body) {
        return Err(TOO_LARGE);
    }
    let expects_body = chunked || length.is_some_and(|n| n > 0);
    if expects_body
        && find("expect")
            .next()
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    if !chunked {
        return conn.take(length.unwrap_or(0));
    }

    let mut body = Vec::new();
    loop {
        let line = conn.line(MAX_CHUNK_LINE, 400)?;
        let line = std::str::from_utf8(&line).map_err(|_| bad("invalid chunk size"))?;
        let size = line.split(';').next().unwrap_or_default().trim();
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("invalid chunk size"));
        }
        let size = usize::from_str_radix(size, 16).map_err(|_| TOO_LARGE)?;
        if size == 0 {
            break;
        }
        if body.len().saturating_add(size) > shared.max_body {
            return Err(TOO_LARGE);
        }
        body.extend_from_slice(&conn.take(size)?);
        if !conn.line(0, 400)?.is_empty() {
            return Err(bad("a chunk is longer than its size"));
        }
    }
    // Trailers, up to the blank line; they count against the head limit.
    let mut trailers = 0usize;
    loop {
        let line = conn.line(shared.max_head, 431)?;
        if line.is_empty() {
            return Ok(body);
        }
        trailers += line.len() + 2;
        if trailers > shared.max_head {
            return Err(Fail::Reject(431, "the trailers are too large\n"));
        }
    }
}

fn write_simple(conn: &mut Conn<'_>, status: u16, text: &str) -> Result<(), Fail> {
    let response = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{text}",
        reason(status),
        text.len(),
    );
    conn.write_all(response.as_bytes())
}

fn write_reply(conn: &mut Conn<'_>, reply: &Reply) -> Result<(), Fail> {
    let body = &reply.body[..];
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (name, value) in &reply.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    match reply.framing {
        Framing::Chunked => head.push_str("transfer-encoding: chunked\r\n"),
        Framing::ContentLength => head.push_str(&format!("content-length: {}\r\n", body.len())),
        Framing::Close => {}
    }
    head.push_str("connection: close\r\n\r\n");
    conn.write_all(head.as_bytes())?;

    let limit = match reply.ending {
        Ending::Complete => body.len(),
        Ending::Stall { after, .. } | Ending::Cut { after } => after.min(body.len()),
    };
    // Invariant: sent <= limit <= body.len().
    let mut sent = 0;
    let mut chunk = Vec::new();
    for len in reply.split.piece_lengths(body) {
        if sent >= limit {
            break;
        }
        if sent > 0 && !reply.pause.is_zero() {
            conn.sleep(reply.pause)?;
        }
        let len = len.min(limit - sent);
        let piece = body.get(sent..sent + len).unwrap_or_default();
        if reply.framing == Framing::Chunked {
            chunk.clear();
            chunk.extend_from_slice(format!("{len:x}\r\n").as_bytes());
            chunk.extend_from_slice(piece);
            chunk.extend_from_slice(b"\r\n");
            conn.write_all(&chunk)?;
        } else {
            conn.write_all(piece)?;
        }
        sent += len;
    }
    match reply.ending {
        Ending::Complete if reply.framing == Framing::Chunked => conn.write_all(b"0\r\n\r\n"),
        Ending::Complete | Ending::Cut { .. } => Ok(()),
        Ending::Stall { hold, .. } => conn.sleep(hold),
    }
}

/// The standard reason phrase, or an empty one.
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lengths_follow_blank_lines_with_any_line_end() {
        assert_eq!(event_lengths(b""), Vec::<usize>::new());
        assert_eq!(event_lengths(b"\n"), [1]);
        assert_eq!(event_lengths(b"a\n\nb\r\n\r\nc\r\rd"), [3, 5, 3, 1]);
        assert_eq!(event_lengths(b"a\nb\nc"), [5]);
    }

    #[test]
    fn random_lengths_stay_in_range_for_every_seed() {
        let body = [0u8; 1000];
        for seed in [0, 1, u64::MAX] {
            for max in [0, 1, 7] {
                let lengths = Split::Random { seed, max }.piece_lengths(&body);
                assert_eq!(lengths.iter().sum::<usize>(), 1000);
                assert!(lengths.iter().all(|&n| (1..=max.max(1)).contains(&n)));
            }
        }
    }

    /// Mutated requests (bytes flipped, CR/LF/colons/digits inserted, cut short) never
    /// make a connection thread panic, and the server keeps serving.
    #[test]
    fn mutated_requests_never_panic_a_connection() {
        let template: &[u8] =
            b"POST /v1/x?y=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-1\r\n\
            expect: 100-continue\r\ntransfer-encoding: chunked\r\n\r\n\
            3;a=b\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nt: 1\r\n\r\n";
        let server = ReplayServer::builder()
            .fallback(Reply::sse("data:1\n\n").split(Split::Every(2)))
            .max_request_head(256)
            .max_request_body(64)
            .start()
            .unwrap();
        let mut rng = XorShift::new(1);
        for _ in 0..300 {
            let mut input = template.to_vec();
            for _ in 0..=rng.next() % 4 {
                let at = (rng.next() % input.len() as u64) as usize;
                let byte = [b'\r', b'\n', b':', b' ', b'0', b'f', b'\xff', b';']
                    [(rng.next() % 8) as usize];
                match rng.next() % 3 {
                    0 => input[at] = byte,
                    1 => input.insert(at, byte),
                    _ => input.truncate(at),
                }
            }
            let mut stream = TcpStream::connect(server.addr()).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let _ = stream.write_all(&input);
            let _ = stream.shutdown(Shutdown::Write);
            let _ = stream.read_to_end(&mut Vec::new());
        }
        let workers = std::mem::take(&mut *lock(&server.shared.workers));
        for worker in workers {
            assert!(worker.join().is_ok(), "a connection thread panicked");
        }
        let total = server.request_count() + server.rejected_count();
        assert!(total > 0 && total <= 300);
        assert!(
            server
                .requests()
                .iter()
                .all(|r| r.header("authorization") != Some("Bearer sk-1"))
        );
    }

    #[test]
    fn redaction_keeps_only_the_scheme() {
        assert_eq!(
            redact("Bearer sk-1"),
            ("Bearer <redacted>".to_owned(), "sk-1")
        );
        assert_eq!(redact("sk-1"), ("<redacted>".to_owned(), "sk-1"));
    }
}
