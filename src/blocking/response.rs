//! Turning an HTTP answer into a [`Completion`] or an [`Error`]: status mapping, error
//! bodies in either shape, the request id, body limits.
//!
//! Both the client (an answer to an attempt, a whole non-streaming body) and
//! [`ChatStream`](crate::blocking::ChatStream) (read errors, a JSON body where a stream
//! was expected) read answers through here; neither needs the other for it.

use std::io::Read;
use std::time::{Duration, Instant, SystemTime};

use ureq::http::{HeaderMap, Response};

use crate::blocking::retry::retry_after;
use crate::blocking::transport::{CallContext, is_cancel};
use crate::chat::wire::{self, WireChunk};
use crate::chat::{Accumulator, Completion, Protocol, Timings};
use crate::error::{
    ApiError, Category, Error, HttpError, LimitKind, MalformedChunk, TimeoutKind, snippet,
};
use crate::sse;

/// Error bodies are read up to this many bytes; the rest is left unread.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// A response that came back 2xx, ready to be read.
pub(crate) struct Started {
    pub(crate) body: ureq::Body,
    pub(crate) request_id: Option<String>,
    pub(crate) protocol: Protocol,
    /// A JSON body: asked for (not streaming), or sent where a stream was asked for.
    pub(crate) json_body: bool,
    /// Whether the connection can carry another request once this body is read to its
    /// end: the server did not say `connection: close` and the body's end is framed
    /// (chunked or `content-length`), so reading a tail is worth it.
    pub(crate) reusable: bool,
    /// Requests sent for the call, this one included.
    pub(crate) attempts: u32,
    /// The attempt that got this answer: its token, and what the transport recorded.
    pub(crate) call: CallContext,
    /// When the call started: before validation and the first attempt.
    pub(crate) call_start: Instant,
    /// When the response head was in (`send` returned).
    pub(crate) head_at: Instant,
}

impl Started {
    /// What is measured by the time the head is in: the request written (when the
    /// client's own transport saw it), the head, the requests sent.
    pub(crate) fn timings(&self) -> Timings {
        Timings {
            request_written: self
                .call
                .request_written_at()
                .map(|at| since(self.call_start, at)),
            response_head: Some(since(self.call_start, self.head_at)),
            requests: self.attempts,
            ..Timings::default()
        }
    }
}

/// The time from `start` to `at` (zero if `at` is earlier, which the clock never gives).
pub(crate) fn since(start: Instant, at: Instant) -> Duration {
    at.saturating_duration_since(start)
}

/// An attempt the server answered with an error status.
pub(crate) struct Rejected {
    pub(crate) error: Error,
    /// The server's `retry-after-ms` or `retry-after`, if any.
    pub(crate) retry_after: Option<Duration>,
    /// Whether a retry is allowed: never for a quota error, else as `x-should-retry`
    /// says, else as the error's kind says.
    pub(crate) retryable: bool,
}

/// Sorts an answer: a 2xx is [`Started`], ready to be read; any other status is
/// [`Rejected`], its error body read (at most 64 KiB) and mapped.
pub(crate) fn started_or_rejected(
    response: Response<ureq::Body>,
    protocol: Protocol,
    stream: bool,
    call: &CallContext,
    call_start: Instant,
) -> Result<Started, Rejected> {
    let head_at = Instant::now();
    let (parts, body) = response.into_parts();
    let status = parts.status.as_u16();
    let request_id = header(&parts.headers, "x-request-id").map(str::to_owned);
    log::debug!(
        "status {status}, request id {}",
        request_id.as_deref().unwrap_or("(none)")
    );
    if (200..300).contains(&status) {
        let json_body = header(&parts.headers, "content-type").is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
        return Ok(Started {
            body,
            request_id,
            protocol,
            json_body: json_body || !stream,
            reusable: reusable(&parts),
            attempts: 0,
            call: call.clone(),
            call_start,
            head_at,
        });
    }
    let text = read_error_body(call.reader(body.into_reader()));
    let error = error_from_response(status, &parts.headers, &text, request_id);
    // What a person must settle is never retried, whatever the server's header says.
    let settled_by_person = matches!(
        error.category(),
        Category::Auth | Category::Permission | Category::Quota
    );
    let retryable = !settled_by_person
        && match header(&parts.headers, "x-should-retry") {
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            _ => error.is_retryable(),
        };
    let retry_after = retry_after(
        header(&parts.headers, "retry-after-ms"),
        header(&parts.headers, "retry-after"),
        SystemTime::now(),
    );
    Err(Rejected {
        error,
        retry_after,
        retryable,
    })
}

/// Whether the connection of a response can be reused once its body is read to the
/// end: HTTP/1.1 without `connection: close` (or HTTP/1.0 with `keep-alive`), and a body
/// whose end is framed (chunked or `content-length`), not marked by closing.
fn reusable(parts: &ureq::http::response::Parts) -> bool {
    let connection = |token: &str| {
        parts
            .headers
            .get_all(ureq::http::header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    let persistent = if parts.version == ureq::http::Version::HTTP_10 {
        connection("keep-alive")
    } else {
        !connection("close")
    };
    let framed = parts
        .headers
        .contains_key(ureq::http::header::CONTENT_LENGTH)
        || header(&parts.headers, "transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    persistent && framed
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn timeout_kind(t: ureq::Timeout) -> TimeoutKind {
    match t {
        ureq::Timeout::Connect | ureq::Timeout::Resolve => TimeoutKind::Connect,
        ureq::Timeout::PerRead
        | ureq::Timeout::PerWrite
        | ureq::Timeout::SendRequest
        | ureq::Timeout::SendBody
        | ureq::Timeout::RecvResponse => TimeoutKind::Idle,
        _ => TimeoutKind::Total,
    }
}

pub(crate) fn transport(
    message: &str,
    source: impl std::error::Error + Send + Sync + 'static,
    request_id: Option<&str>,
) -> Error {
    Error::transport(message, source).with_request_id(request_id)
}

/// Reads an error body, at most [`ERROR_BODY_LIMIT`] bytes; a failure keeps what was
/// read (the caller checks for a cancel).
fn read_error_body(body: impl Read) -> String {
    let mut bytes = Vec::new();
    let _ = body.take(ERROR_BODY_LIMIT).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Reads a whole 2xx body up to `limit` bytes.
pub(crate) fn read_limited(
    body: impl Read,
    limit: usize,
    request_id: Option<&str>,
) -> Result<String, Error> {
    let mut bytes = Vec::new();
    let limit64 = u64::try_from(limit).unwrap_or(u64::MAX);
    let mut reader = body.take(limit64.saturating_add(1));
    if let Err(e) = reader.read_to_end(&mut bytes) {
        return Err(read_error(e, request_id, None));
    }
    if bytes.len() > limit {
        return Err(Error::limit_exceeded(LimitKind::BodyBytes, limit).with_request_id(request_id));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(e.as_bytes());
        Error::malformed(MalformedChunk::new(
            format!("the response body is not UTF-8 (invalid byte at offset {valid})"),
            &text,
            0,
        ))
        .with_request_id(request_id)
    })
}

/// Maps an error reading a body: a cancel to
/// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) and timeouts to
/// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) (each with `partial`), the rest to
/// [`ErrorKind::Transport`](crate::ErrorKind::Transport).
pub(crate) fn read_error(
    e: std::io::Error,
    request_id: Option<&str>,
    partial: Option<&Completion>,
) -> Error {
    if is_cancel(&e) {
        return Error::cancelled(partial.cloned()).with_request_id(request_id);
    }
    match ureq::Error::from(e) {
        ureq::Error::Timeout(t) => {
            Error::timeout(timeout_kind(t), partial.cloned()).with_request_id(request_id)
        }
        other => transport("reading the response body", other, request_id),
    }
}

/// The error an error status and its body stand for: an API error when the body is a
/// JSON error in either shape or an SSE stream whose first data event is one, else an
/// HTTP error with a snippet of the body.
fn error_from_response(
    status: u16,
    headers: &HeaderMap,
    body: &str,
    request_id: Option<String>,
) -> Error {
    let content_type = header(headers, "content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let trimmed = body.trim_start_matches('\u{feff}').trim_start();
    let looks_sse = content_type.starts_with("text/event-stream")
        || ["data:", "id:", "event:", ":"]
            .iter()
            .any(|p| trimmed.starts_with(p));
    let parsed = if trimmed.starts_with('{') {
        parse_error_body(trimmed)
    } else if looks_sse {
        first_sse_data(body).and_then(|data| parse_error_body(&data))
    } else {
        None
    };
    match parsed {
        Some(found) => {
            let mut api = ApiError::new(
                status,
                found.code,
                found.message,
                found.request_id.or(request_id),
            );
            api.body = Some(snippet(body, HttpError::SNIPPET_LEN).to_owned());
            Error::from(api)
        }
        None => Error::from(HttpError::new(status, body)).with_request_id(request_id.as_deref()),
    }
}

/// What an error body said: `{"code","message","request_id"}` or `{"error":{...}}`.
struct ParsedError {
    code: Option<String>,
    message: String,
    request_id: Option<String>,
}

/// Reads an error body in either shape (code a string or a number); `None` when it is
/// not JSON or not an error.
fn parse_error_body(body: &str) -> Option<ParsedError> {
    let mut chunk = WireChunk::default();
    wire::decode(body.trim(), &mut chunk).ok()?;
    if !chunk.has_error {
        return None;
    }
    Some(ParsedError {
        code: (!chunk.error_code.is_empty()).then(|| chunk.error_code.clone()),
        message: chunk.error_message.clone(),
        request_id: (!chunk.request_id.is_empty()).then(|| chunk.request_id.clone()),
    })
}

/// The data of the first SSE event with data in `body`.
fn first_sse_data(body: &str) -> Option<String> {
    let mut decoder = sse::Decoder::new();
    decoder.feed(body.as_bytes());
    while let Some(item) = decoder.next_item() {
        if let Ok(sse::Item::Event(e)) = item {
            if !e.data().is_empty() {
                return Some(e.data().to_owned());
            }
        }
    }
    let eof = decoder.finish().ok()?;
    eof.pending().map(|e| e.data().to_owned())
}

/// Merges a whole JSON body (non-streaming, or sent where a stream was expected) as the
/// only chunk of a finished response.
pub(crate) fn merge_whole_json(accumulator: &mut Accumulator, body: &str) -> Result<(), Error> {
    accumulator.push_data(body)?;
    accumulator.push_data("[DONE]")
}

/// Builds the completion of a non-streaming JSON body (either protocol's shape).
pub(crate) fn completion_from_body(
    protocol: Protocol,
    body: &str,
    request_id: Option<&str>,
) -> Result<Completion, Error> {
    let mut accumulator = Accumulator::new(protocol).request_id(request_id.unwrap_or(""));
    merge_whole_json(&mut accumulator, body)?;
    accumulator.finish()
}
