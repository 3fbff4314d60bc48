//! Reading an HTTP answer from ureq: its head read by the chat layer's
//! [`ResponseHead`] (which maps an error status and its body to an [`Error`]), the
//! connection's reuse, a whole body up to one byte past its limit (which the chat layer's
//! decoder checks), read errors.
//!
//! Both the client (an answer to an attempt, a whole non-streaming body) and
//! [`ChatStream`](crate::blocking::ChatStream) (read errors, a JSON body where a stream
//! was expected) read answers through here; neither needs the other for it.

use std::io::Read;
use std::time::{Duration, Instant, SystemTime};

use ureq::http::{HeaderMap, Response};

use crate::blocking::transport::{CallContext, is_cancel};
use crate::chat::http::{FailedAttempt, MAX_ERROR_BODY, ResponseHead};
use crate::chat::{Completion, Timings};
use crate::error::{Error, TimeoutKind};

/// A response that came back 2xx, ready to be read.
pub(crate) struct Started {
    pub(crate) body: ureq::Body,
    pub(crate) request_id: Option<String>,
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
    /// What is measured by the time the head is in: a new connection and the request
    /// written (when the client's own transport saw them), the head, the requests sent.
    pub(crate) fn timings(&self) -> Timings {
        let since_start = |at: Option<Instant>| at.map(|at| since(self.call_start, at));
        Timings {
            connecting: since_start(self.call.connecting_at()),
            connected: since_start(self.call.connected_at()),
            request_written: since_start(self.call.request_written_at()),
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

/// An attempt that got no answer to read: an error status, or none at all.
pub(crate) struct Rejected {
    pub(crate) error: Error,
    /// What failed, for the retry decision.
    pub(crate) why: Why,
}

/// What failed in a [`Rejected`] attempt.
pub(crate) enum Why {
    /// An error status, with this head.
    Status(ResponseHead),
    /// No answer: what is known of the request's delivery.
    NoAnswer(FailedAttempt<'static>),
}

impl Rejected {
    /// What failed, as [`RetryPolicy::decide`](crate::chat::http::RetryPolicy::decide)
    /// takes it.
    pub(crate) fn failed(&self) -> FailedAttempt<'_> {
        match &self.why {
            Why::Status(head) => FailedAttempt::Status {
                head,
                error: &self.error,
            },
            Why::NoAnswer(failed) => *failed,
        }
    }
}

/// Sorts an answer: a 2xx is [`Started`], ready to be read; any other status is
/// [`Rejected`], its error body read (at most [`MAX_ERROR_BODY`] bytes) and mapped by
/// [`ResponseHead::error`].
pub(crate) fn started_or_rejected(
    response: Response<ureq::Body>,
    stream: bool,
    call: &CallContext,
    call_start: Instant,
) -> Result<Started, Rejected> {
    let head_at = Instant::now();
    let (parts, body) = response.into_parts();
    let head = ResponseHead::new(parts.status.as_u16(), parts.headers.iter());
    log::debug!(
        "status {}, request id {}",
        head.status(),
        head.request_id().unwrap_or("(none)")
    );
    if head.is_success() {
        return Ok(Started {
            body,
            request_id: head.request_id().map(str::to_owned),
            json_body: head.is_json() || !stream,
            reusable: reusable(&parts),
            attempts: 0,
            call: call.clone(),
            call_start,
            head_at,
        });
    }
    let bytes = read_error_body(call.reader(body.into_reader()));
    Err(Rejected {
        error: head.error(&bytes, SystemTime::now()),
        why: Why::Status(head),
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

/// Reads an error body, at most [`MAX_ERROR_BODY`] bytes; a failure keeps what was
/// read (the caller checks for a cancel).
fn read_error_body(body: impl Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_ERROR_BODY).unwrap_or(u64::MAX);
    let _ = body.take(limit).read_to_end(&mut bytes);
    bytes
}

/// Reads a whole 2xx body, at most one byte past `limit`: whether it is over the limit
/// (and UTF-8) is [`StreamDecoder::push_whole_body`](crate::chat::StreamDecoder::push_whole_body)'s
/// to say. A read error is mapped by [`read_error`] (with `partial` for a cancel), with
/// the bytes read so far, which the caller counts.
pub(crate) fn read_whole_body(
    body: impl Read,
    limit: usize,
    request_id: Option<&str>,
    partial: Option<&Completion>,
) -> (Vec<u8>, Result<(), Error>) {
    let mut bytes = Vec::new();
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    let read = body.take(limit.saturating_add(1)).read_to_end(&mut bytes);
    let result = read.map(drop).map_err(|e| {
        let partial = is_cancel(&e).then_some(partial).flatten();
        read_error(e, request_id, partial)
    });
    (bytes, result)
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
