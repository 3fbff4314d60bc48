//! The HTTP/1.1 side of one connection: a bounded request reader (head, then a
//! `content-length` or chunked body) and the response writer (chunked, `content-length`
//! or close-delimited, in the reply's pieces).

use std::hash::RandomState;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::recorded::{RecordedRequest, redact_header};
use super::reply::{Ending, Framing, Reply};

/// How often a blocked read, write or sleep looks at the shutdown flag.
pub(super) const POLL: Duration = Duration::from_millis(5);
/// Header fields in one request (a larger count gets `431`).
const MAX_HEADER_FIELDS: usize = 256;
/// Length of one chunk-size line in a chunked request body.
const MAX_CHUNK_LINE: usize = 1024;
/// How long a rejected request's unread bytes are drained before the socket closes, so
/// that the client reads the error status instead of a reset.
const DRAIN_WAIT: Duration = Duration::from_millis(500);

/// The bounds on what the reader takes from one request.
#[derive(Clone, Copy, Debug)]
pub(super) struct RequestLimits {
    /// The request line and headers, in bytes; also the bound for chunked trailers.
    pub(super) max_head: usize,
    /// The body, `content-length` or chunked, in bytes.
    pub(super) max_body: usize,
}

/// Why a connection ends before its reply.
pub(super) enum Fail {
    /// The client went away, the socket failed, or the server is stopping: say nothing.
    Gone,
    /// Answer with this status and reason text, record nothing.
    Reject(u16, &'static str),
}

/// A connection's socket, its stop flag and its read buffer.
pub(super) struct Conn<'a> {
    stream: TcpStream,
    stop: &'a AtomicBool,
    /// Read and not yet taken: what is taken leaves it (see [`Conn::take`]).
    buf: Vec<u8>,
}

fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

impl<'a> Conn<'a> {
    /// A connection with an empty read buffer that gives up once `stop` is set.
    pub(super) fn new(stream: TcpStream, stop: &'a AtomicBool) -> Self {
        Self {
            stream,
            stop,
            buf: Vec::new(),
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Reads at least one more byte into the buffer.
    fn fill(&mut self) -> Result<(), Fail> {
        let mut chunk = [0u8; 8192];
        loop {
            if self.stopped() {
                return Err(Fail::Gone);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(Fail::Gone),
                Ok(n) => {
                    // A reader claiming more than the buffer holds is broken: drop it.
                    self.buf
                        .extend_from_slice(chunk.get(..n).ok_or(Fail::Gone)?);
                    return Ok(());
                }
                Err(e) if is_retry(&e) => {}
                Err(_) => return Err(Fail::Gone),
            }
        }
    }

    /// Takes the next `n` bytes, reading until there are that many.
    fn take(&mut self, n: usize) -> Result<Vec<u8>, Fail> {
        loop {
            if let Some(rest) = self.buf.get(n..) {
                let rest = rest.to_vec();
                let mut out = std::mem::replace(&mut self.buf, rest);
                out.truncate(n);
                return Ok(out);
            }
            self.fill()?;
        }
    }

    /// Takes the next line (without its LF or CRLF); a line longer than `max` bytes gets
    /// `status`.
    fn line(&mut self, max: usize, status: u16) -> Result<Vec<u8>, Fail> {
        let mut from = 0;
        loop {
            let buffered = self.buffered();
            if let Some(i) = buffered.iter().skip(from).position(|&b| b == b'\n') {
                let mut line = self.take(from + i + 1)?;
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > max {
                    return Err(Fail::Reject(status, reason(status)));
                }
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
                // A writer claiming more than it was given is broken: drop it.
                Ok(n) => data = data.get(n..).ok_or(Fail::Gone)?,
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

    /// As [`Conn::sleep`], but also ends, `Ok`, as soon as the client closes its end of
    /// the connection; what it sends meanwhile is discarded. The read timeout paces the
    /// loop as the sleep step does.
    fn sleep_until_closed(&mut self, duration: Duration) -> Result<(), Fail> {
        let deadline = Instant::now().checked_add(duration);
        let mut chunk = [0u8; 1024];
        loop {
            if self.stopped() {
                return Err(Fail::Gone);
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Ok(());
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if is_retry(&e) => {}
                // A reset is a close too.
                Err(_) => return Ok(()),
            }
        }
    }

    /// After an error reply: stops writing and discards what the client still sends,
    /// for a bounded time, so that closing does not reset the connection before the
    /// client has read the reply.
    pub(super) fn drain(&mut self) {
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
///
/// The credentials of an `Authorization` header are kept only as a hash keyed with
/// `hasher` (see [`redact_header`]).
pub(super) fn read_request(
    conn: &mut Conn<'_>,
    limits: RequestLimits,
    hasher: &RandomState,
) -> Result<RecordedRequest, Fail> {
    let head = read_head(conn, limits.max_head)?;
    let head = std::str::from_utf8(&head).map_err(|_| bad("the request head is not UTF-8"))?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut parts = lines.next().into_iter().flat_map(|line| line.split(' '));
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
        let value = redact_header(name, value, hasher, &mut key);
        headers.push((name.to_owned(), value));
    }

    let body = read_body(conn, &headers, limits)?;
    Ok(RecordedRequest::new(
        method.to_owned(),
        target.to_owned(),
        headers,
        body,
        key,
    ))
}

fn bad(text: &'static str) -> Fail {
    Fail::Reject(400, text)
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
                    let mut head = conn.take(end)?;
                    head.truncate(i + 1);
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
    limits: RequestLimits,
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
    if length.is_some_and(|n| n > limits.max_body) {
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
        let size = line.split_once(';').map_or(line, |(size, _)| size).trim();
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("invalid chunk size"));
        }
        let size = usize::from_str_radix(size, 16).map_err(|_| TOO_LARGE)?;
        if size == 0 {
            break;
        }
        if body.len().saturating_add(size) > limits.max_body {
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
        let line = conn.line(limits.max_head, 431)?;
        if line.is_empty() {
            return Ok(body);
        }
        trailers += line.len() + 2;
        if trailers > limits.max_head {
            return Err(Fail::Reject(431, "the trailers are too large\n"));
        }
    }
}

pub(super) fn write_simple(conn: &mut Conn<'_>, status: u16, text: &str) -> Result<(), Fail> {
    let response = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{text}",
        reason(status),
        text.len(),
    );
    conn.write_all(response.as_bytes())
}

/// Whether a connection may carry another request after a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reuse {
    Yes,
    No,
}

/// Writes `reply`, adding the body bytes (without chunk framing) to `body_written` as
/// each piece goes out. With `keep_alive`, a reply that ends normally and whose framing
/// marks its end leaves the connection open (no `connection: close`).
pub(super) fn write_reply(
    conn: &mut Conn<'_>,
    reply: &Reply,
    body_written: &AtomicU64,
    keep_alive: bool,
) -> Result<Reuse, Fail> {
    if !reply.head_delay.is_zero() {
        conn.sleep(reply.head_delay)?;
    }
    if reply.ending == Ending::HangUp {
        // The caller drops the socket, which closes it.
        return Ok(Reuse::No);
    }
    let reuse = if keep_alive && reply.ending == Ending::Complete && reply.framing != Framing::Close
    {
        Reuse::Yes
    } else {
        Reuse::No
    };
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
    if reuse == Reuse::No {
        head.push_str("connection: close\r\n");
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;

    let mut unsent = match reply.ending {
        Ending::Complete => body,
        // Past the body's end: all of it.
        Ending::Stall { after, .. } | Ending::Cut { after } => {
            body.split_at_checked(after).map_or(body, |(kept, _)| kept)
        }
        Ending::HangUp => &[],
    };
    let to_send = unsent.len();
    let mut chunk = Vec::new();
    for len in reply.split.piece_lengths(body) {
        if unsent.is_empty() {
            break;
        }
        if unsent.len() < to_send && !reply.pause.is_zero() {
            conn.sleep(reply.pause)?;
        }
        // Past what is left to send: the rest.
        let (piece, rest) = unsent.split_at_checked(len).unwrap_or((unsent, &[]));
        unsent = rest;
        let len = piece.len();
        if reply.framing == Framing::Chunked {
            chunk.clear();
            chunk.extend_from_slice(format!("{len:x}\r\n").as_bytes());
            chunk.extend_from_slice(piece);
            chunk.extend_from_slice(b"\r\n");
            conn.write_all(&chunk)?;
        } else {
            conn.write_all(piece)?;
        }
        body_written.fetch_add(len as u64, Ordering::SeqCst);
    }
    let ended = match reply.ending {
        Ending::Complete if reply.framing == Framing::Chunked => conn.write_all(b"0\r\n\r\n"),
        Ending::Complete | Ending::Cut { .. } | Ending::HangUp => Ok(()),
        Ending::Stall {
            hold,
            until_closed: false,
            ..
        } => conn.sleep(hold),
        Ending::Stall {
            hold,
            until_closed: true,
            ..
        } => conn.sleep_until_closed(hold),
    };
    ended.map(|()| reuse)
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
