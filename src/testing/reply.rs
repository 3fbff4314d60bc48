//! One scripted response: [`Reply`], and how its body is framed ([`Framing`]) and ends.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::Split;

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

/// How a reply ends after its pieces, or whether it is sent at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ending {
    /// The whole body, and its end mark.
    Complete,
    /// Silence after `after` body bytes for `hold`; with `until_closed`, the silence
    /// also ends when the client closes its end.
    Stall {
        after: usize,
        hold: Duration,
        until_closed: bool,
    },
    /// The connection closes after `after` body bytes.
    Cut { after: usize },
    /// The connection closes before the status line.
    HangUp,
}

/// One scripted HTTP response: status, headers, body, and how the body goes on the wire.
///
/// Build it with [`Reply::sse`], [`Reply::json`] or [`Reply::new`], then adjust it with
/// the builder methods. Headers are written in the order given, verbatim (nothing is
/// validated, so a test can also send a malformed response); the server adds the framing
/// header ([`Framing`]) and `connection: close` after them (unless the connection is
/// kept alive: [`Builder::keep_alive`](super::Builder::keep_alive)). Cloning is cheap: the
/// body is shared.
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
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Arc<[u8]>,
    pub(super) split: Split,
    pub(super) pause: Duration,
    pub(super) head_delay: Duration,
    pub(super) framing: Framing,
    pub(super) ending: Ending,
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
            head_delay: Duration::ZERO,
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
    /// without one). Defaults to the constructor's (200 for [`Reply::sse`]).
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Adds a header, after those already set. Names and values are written verbatim.
    /// Defaults to none ([`Reply::sse`] and [`Reply::json`] set `content-type`).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Replaces the body. Defaults to the constructor's (empty for [`Reply::new`]).
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
    #[must_use]
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// Stops writing after `body_bytes` bytes of the body and keeps the connection open,
    /// silent, for `hold` or until the server is dropped, whichever comes first; then
    /// closes it. `Duration::MAX` holds until drop. Replaces an earlier
    /// [`Reply::cut_after`] or [`Reply::hang_up`].
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
            until_closed: false,
        };
        self
    }

    /// As [`Reply::stall_after`], but the stall also ends as soon as the client closes
    /// its end of the connection (the server reads, and discards, while it waits), so
    /// that [`ReplayServer::open_connection_count`] shows when a client let go.
    ///
    /// # Example
    ///
    /// This example shows a server that sees a dropped stream close its connection.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::TcpStream;
    /// use std::time::{Duration, Instant};
    ///
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let reply = Reply::sse("data:1\n\ndata:2\n\n").stall_until_client_closes(8, Duration::MAX);
    /// let server = ReplayServer::start(reply)?;
    /// let mut client = TcpStream::connect(server.addr())?;
    /// client.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")?;
    /// client.read(&mut [0; 256])?;
    /// assert_eq!(server.open_connection_count(), 1);
    /// drop(client);
    /// let deadline = Instant::now() + Duration::from_secs(5);
    /// while server.open_connection_count() > 0 && Instant::now() < deadline {
    ///     std::thread::sleep(Duration::from_millis(5));
    /// }
    /// assert_eq!(server.open_connection_count(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// [`ReplayServer::open_connection_count`]: super::ReplayServer::open_connection_count
    #[must_use]
    pub fn stall_until_client_closes(mut self, body_bytes: usize, hold: Duration) -> Self {
        self.ending = Ending::Stall {
            after: body_bytes,
            hold,
            until_closed: true,
        };
        self
    }

    /// Closes the connection right after `body_bytes` bytes of the body, without ending
    /// the body (no final chunk; fewer bytes than `content-length`). The last piece is
    /// shortened as for [`Reply::stall_after`], which this replaces (as it does
    /// [`Reply::hang_up`]).
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

    /// Closes the connection once the request is read (and any [`Reply::head_delay`]
    /// has passed), without a status line: a connection lost before the response.
    /// Nothing of the reply is sent. Replaces an earlier stall or cut. Default: answer.
    #[must_use]
    pub fn hang_up(mut self) -> Self {
        self.ending = Ending::HangUp;
        self
    }

    /// Waits this long after reading the request before writing the status line
    /// (default none).
    #[must_use]
    pub fn head_delay(mut self, delay: Duration) -> Self {
        self.head_delay = delay;
        self
    }

    /// The status code.
    #[must_use]
    pub fn status_code(&self) -> u16 {
        self.status
    }

    /// The headers, in the order they are written (before the framing header).
    #[must_use]
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body.
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
            .field("head_delay", &self.head_delay)
            .field("framing", &self.framing)
            .field("ending", &self.ending)
            .finish()
    }
}
