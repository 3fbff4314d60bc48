//! The answer's head, and an error status with its body mapped to the crate's [`Error`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::chat::wire::{self, WireChunk};
use crate::error::{ApiError, Error, HttpError, snippet};
use crate::sse;

/// The most bytes of an error body the mapping reads: [`ResponseHead::error`] looks at
/// no more (a longer body is cut here), so a transport reads at most this much of a
/// non-2xx body and leaves the rest unread. The blocking client reads this much.
pub const MAX_ERROR_BODY: usize = 64 * 1024;

/// The most bytes of a whole 2xx body (a non-streaming answer, or a gateway's JSON
/// answer to a streaming request) a transport reads by default, for
/// [`StreamDecoder::push_whole_body`](crate::chat::StreamDecoder::push_whole_body): 64
/// MiB, the blocking client's default `max_body_bytes`. A transport reads at most one
/// byte more, and the decoder refuses a body over it
/// ([`LimitKind::BodyBytes`](crate::LimitKind::BodyBytes)).
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// The head of an answer, as the crate reads it: the status, and the headers that
/// carry a rule of the protocol (the request id, the content type, the server's retry
/// hint and its `x-should-retry`). Everything else in the head is the transport's.
///
/// Made from any header list: `(name, value)` pairs whose names are `&str` or
/// `http::HeaderName` and whose values are `&str`, `&[u8]` or `http::HeaderValue`, so
/// an `http::HeaderMap`'s `iter()` (ureq's, reqwest's, hyper's) goes in as it is. Names
/// are matched in any case; of a header given twice the first counts; a value that is
/// not visible ASCII (as `http::HeaderValue::to_str` reads it) is ignored.
///
/// # Example
///
/// This example reads a 503's head and maps its body.
///
/// ```
/// use std::time::{Duration, SystemTime};
///
/// use dashscope_glm::chat::http::ResponseHead;
/// use dashscope_glm::ErrorKind;
///
/// let head = ResponseHead::new(503, [("X-Request-Id", "r-7"), ("Retry-After", "2")]);
/// assert!(!head.is_success());
/// assert_eq!(head.request_id(), Some("r-7"));
/// assert_eq!(head.retry_after(SystemTime::now()), Some(Duration::from_secs(2)));
/// let err = head.error(b"<html>Service Unavailable</html>", SystemTime::now());
/// assert_eq!(err.kind(), ErrorKind::Http);
/// assert_eq!(err.request_id(), Some("r-7"));
/// assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    status: u16,
    request_id: Option<String>,
    content_type: Option<String>,
    retry_after_ms: Option<String>,
    retry_after: Option<String>,
    should_retry: Option<bool>,
}

impl ResponseHead {
    /// The head of an answer with `status` and `headers` (see the type docs for the
    /// forms a header list may take).
    ///
    /// # Example
    ///
    /// This example reads the head ureq (or any client on the `http` crate) gives, as
    /// it is.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// use dashscope_glm::blocking::ureq::http::{HeaderMap, HeaderValue};
    /// use dashscope_glm::chat::http::ResponseHead;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("content-type", HeaderValue::from_static("application/json"));
    /// headers.insert("x-request-id", HeaderValue::from_static("r-1"));
    /// let head = ResponseHead::new(200, headers.iter());
    /// assert!(head.is_success() && head.is_json());
    /// assert_eq!(head.request_id(), Some("r-1"));
    /// # }
    /// ```
    #[must_use]
    pub fn new<I, N, V>(status: u16, headers: I) -> Self
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let mut head = Self {
            status,
            request_id: None,
            content_type: None,
            retry_after_ms: None,
            retry_after: None,
            should_retry: None,
        };
        let mut seen_should_retry = false;
        for (name, value) in headers {
            let name = name.as_ref();
            let Some(value) = visible_ascii(value.as_ref()) else {
                continue;
            };
            let slot = if name.eq_ignore_ascii_case("x-request-id") {
                &mut head.request_id
            } else if name.eq_ignore_ascii_case("content-type") {
                &mut head.content_type
            } else if name.eq_ignore_ascii_case("retry-after-ms") {
                &mut head.retry_after_ms
            } else if name.eq_ignore_ascii_case("retry-after") {
                &mut head.retry_after
            } else {
                if name.eq_ignore_ascii_case("x-should-retry") && !seen_should_retry {
                    seen_should_retry = true;
                    head.should_retry = if value.eq_ignore_ascii_case("true") {
                        Some(true)
                    } else if value.eq_ignore_ascii_case("false") {
                        Some(false)
                    } else {
                        None
                    };
                }
                continue;
            };
            if slot.is_none() {
                *slot = Some(value.to_owned());
            }
        }
        head
    }

    /// The status.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is 2xx: the body is the answer (a stream, or a JSON body when
    /// [`is_json`](ResponseHead::is_json)); any other status is an error, whose body
    /// [`error`](ResponseHead::error) maps.
    #[must_use]
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `x-request-id` header.
    #[must_use]
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Whether the body is JSON (`content-type: application/json`): on a 2xx answer to a
    /// streaming request, a gateway that answered without streaming. Merge such a body
    /// whole, read up to a limit
    /// ([`StreamDecoder::push_whole_body`](crate::chat::StreamDecoder::push_whole_body)
    /// with [`MAX_BODY`]), rather than feed it as SSE.
    #[must_use]
    pub fn is_json(&self) -> bool {
        self.content_type.as_deref().is_some_and(|ct| {
            ct.trim_start()
                .get(..16)
                .is_some_and(|start| start.eq_ignore_ascii_case("application/json"))
        })
    }

    /// The `x-should-retry` header: `Some(true)` or `Some(false)` when the server said
    /// (any case), `None` when it did not or said something else (the first such header
    /// counts).
    /// [`RetryPolicy::decide`](crate::chat::http::RetryPolicy::decide) follows it, except
    /// for what a person must settle.
    #[must_use]
    pub fn should_retry(&self) -> Option<bool> {
        self.should_retry
    }

    /// The server's retry hint: `retry-after-ms` (milliseconds, fractions allowed) when
    /// present and valid, else `retry-after` as seconds (fractions allowed) or as an HTTP
    /// date (IMF-fixdate, RFC 850 or asctime) from `now`, the caller's clock (a date in the
    /// past is a zero delay). Unparseable or negative values give `None`. Not capped:
    /// [`RetryPolicy`](crate::chat::http::RetryPolicy) caps it.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use dashscope_glm::chat::http::ResponseHead;
    ///
    /// let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
    /// let dated = ResponseHead::new(503, [("retry-after", "Wed, 21 Oct 2015 07:28:05 GMT")]);
    /// assert_eq!(dated.retry_after(now), Some(Duration::from_secs(5)));
    /// let both = ResponseHead::new(429, [("retry-after", "9"), ("retry-after-ms", "250")]);
    /// assert_eq!(both.retry_after(now), Some(Duration::from_millis(250)));
    /// ```
    #[must_use]
    pub fn retry_after(&self, now: SystemTime) -> Option<Duration> {
        retry_after(
            self.retry_after_ms.as_deref(),
            self.retry_after.as_deref(),
            now,
        )
    }

    /// The error an answer with this head and `body` stands for, as the blocking client
    /// gives it; for a non-2xx status (a 2xx is mapped all the same, as an error of
    /// that status). Of `body` the first [`MAX_ERROR_BODY`] bytes are read, as lossy
    /// UTF-8:
    ///
    /// - a JSON error in either protocol's shape (`{"code", "message", "request_id"}`
    ///   or `{"error": {"code", "message"}}`, a code a string or a number), or an SSE
    ///   body whose first data is one: [`ErrorKind::Api`](crate::ErrorKind::Api), with
    ///   the status, the code, the message, the request id (the body's, else the
    ///   header's) and the start of the body ([`ApiError::body`]);
    /// - anything else (an HTML page, text, JSON that is not an error, nothing):
    ///   [`ErrorKind::Http`](crate::ErrorKind::Http) with the status and the start of the
    ///   body ([`HttpError::SNIPPET_LEN`] bytes at most), and the header's request id.
    ///
    /// The error carries the server's retry hint ([`Error::retry_after`], from
    /// [`retry_after`](ResponseHead::retry_after) at `now`). Any bytes are taken: the
    /// mapping never panics, and what it keeps of the body is bounded.
    ///
    /// # Example
    ///
    /// This example maps the same refusal in both protocols' shapes.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use dashscope_glm::chat::http::ResponseHead;
    /// use dashscope_glm::{Category, ErrorKind};
    ///
    /// let head = ResponseHead::new(401, [("x-request-id", "hdr-1")]);
    /// let native = head.error(br#"{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"body-1"}"#, SystemTime::now());
    /// let compatible = head.error(br#"{"error":{"code":"invalid_api_key","message":"Incorrect API key provided."}}"#, SystemTime::now());
    /// for err in [&native, &compatible] {
    ///     assert_eq!((err.kind(), err.category(), err.status()), (ErrorKind::Api, Category::Auth, Some(401)));
    /// }
    /// assert_eq!(native.request_id(), Some("body-1"));
    /// assert_eq!(compatible.request_id(), Some("hdr-1"));
    /// ```
    #[must_use]
    pub fn error(&self, body: &[u8], now: SystemTime) -> Error {
        let body = body.get(..MAX_ERROR_BODY).unwrap_or(body);
        let text = String::from_utf8_lossy(body);
        self.error_of_text(&text)
            .with_retry_after(self.retry_after(now))
    }

    /// The mapping of [`error`](ResponseHead::error), on the body as text.
    fn error_of_text(&self, body: &str) -> Error {
        let content_type = self.content_type.as_deref().unwrap_or("");
        let trimmed = body.trim_start_matches('\u{feff}').trim_start();
        let looks_sse = content_type
            .get(..17)
            .is_some_and(|start| start.eq_ignore_ascii_case("text/event-stream"))
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
                    self.status,
                    found.code,
                    found.message,
                    found.request_id.or_else(|| self.request_id.clone()),
                );
                api.body = Some(snippet(body, HttpError::SNIPPET_LEN).to_owned());
                Error::from(api)
            }
            None => Error::from(HttpError::new(self.status, body))
                .with_request_id(self.request_id.as_deref()),
        }
    }
}

/// The error an answer with `status`, `headers` and `body` stands for, as the blocking
/// client gives it: [`ResponseHead::new`] then [`ResponseHead::error`], whose docs say
/// what each body gives.
///
/// # Example
///
/// This example maps an SSE error body, which the native protocol sends with an error
/// status when a stream was asked for.
///
/// ```
/// use std::time::SystemTime;
/// use dashscope_glm::chat::http::error_from_response;
/// use dashscope_glm::ErrorKind;
///
/// let body = b"id:1\nevent:error\n:HTTP_STATUS/400\ndata:{\"code\":\"InvalidParameter\",\"message\":\"Range of input length should be [1, 202752]\",\"request_id\":\"r-9\"}\n\n";
/// let err = error_from_response(400, [("content-type", "text/event-stream")], body, SystemTime::now());
/// assert_eq!(err.kind(), ErrorKind::Api);
/// assert_eq!(err.code(), Some("InvalidParameter"));
/// assert_eq!(err.request_id(), Some("r-9"));
/// ```
#[must_use]
pub fn error_from_response<I, N, V>(status: u16, headers: I, body: &[u8], now: SystemTime) -> Error
where
    I: IntoIterator<Item = (N, V)>,
    N: AsRef<str>,
    V: AsRef<[u8]>,
{
    ResponseHead::new(status, headers).error(body, now)
}

/// A header value as text: visible ASCII, spaces and tabs only, as
/// `http::HeaderValue::to_str` reads it.
fn visible_ascii(value: &[u8]) -> Option<&str> {
    if value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        std::str::from_utf8(value).ok()
    } else {
        None
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

/// The server's retry hint (see [`ResponseHead::retry_after`]).
fn retry_after(
    retry_after_ms: Option<&str>,
    retry_after: Option<&str>,
    now: SystemTime,
) -> Option<Duration> {
    if let Some(ms) = retry_after_ms.and_then(|v| seconds(v, 1e-3)) {
        return Some(ms);
    }
    let value = retry_after?.trim();
    if let Some(secs) = seconds(value, 1.0) {
        return Some(secs);
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A non-negative decimal number times `unit` seconds.
fn seconds(value: &str, unit: f64) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let n: f64 = value.parse().ok()?;
    Duration::try_from_secs_f64(n * unit).ok()
}

/// Parses an HTTP date (RFC 9110 section 5.6.7): the preferred IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete forms, RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`). The day
/// name is not checked against the date.
fn parse_http_date(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (day, month, year, time) = if let Some((_, rest)) = s.split_once(", ") {
        let rest = rest.strip_suffix(" GMT")?;
        let (date, time) = rest.rsplit_once(' ')?;
        if date.contains('-') {
            // RFC 850: 06-Nov-94
            let mut parts = date.split('-');
            let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || y.len() != 2 {
                return None;
            }
            let y: u32 = number(y)?;
            // RFC 9110: a two-digit year more than 50 years ahead is in the past century.
            let year = if y < 70 { 2000 + y } else { 1900 + y };
            (number(d)?, month_number(m)?, year, time)
        } else {
            let mut parts = date.split(' ');
            let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || d.len() != 2 || y.len() != 4 {
                return None;
            }
            (number(d)?, month_number(m)?, number(y)?, time)
        }
    } else {
        // asctime: "Sun Nov  6 08:49:37 1994"
        let mut parts = s.split_ascii_whitespace();
        let (_, m, d, time, y) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if parts.next().is_some() || y.len() != 4 {
            return None;
        }
        (number(d)?, month_number(m)?, number(y)?, time)
    };
    let mut hms = time.split(':');
    let (h, mi, se) = (hms.next()?, hms.next()?, hms.next()?);
    if hms.next().is_some() || h.len() != 2 || mi.len() != 2 || se.len() != 2 {
        return None;
    }
    let (h, mi, se): (u32, u32, u32) = (number(h)?, number(mi)?, number(se)?);
    if !(1..=31).contains(&day) || h > 23 || mi > 59 || se > 60 || year < 1970 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    let secs = days * 86_400 + u64::from(h * 3600 + mi * 60 + se);
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn month_number(m: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS
        .iter()
        .position(|&name| name == m)
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), for
/// years from 1970; `None` for a day past the end of its month.
fn days_from_civil(year: u32, month: u32, day: u32) -> Option<u64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_len = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day > month_len {
        return None;
    }
    let y = u64::from(if month <= 2 { year - 1 } else { year });
    let (m, d) = (u64::from(month), u64::from(day));
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            retry_after(Some("1500"), None, now),
            Some(Duration::from_millis(1500))
        );
        // retry-after-ms wins over retry-after.
        assert_eq!(
            retry_after(Some("1500"), Some("9"), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(None, Some("3"), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(None, Some("Wed, 21 Oct 2015 07:28:05 GMT"), now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(retry_after(None, Some("soon"), now), None);
        assert_eq!(
            retry_after(Some("2.5"), None, now),
            Some(Duration::from_micros(2500))
        );
        assert_eq!(
            retry_after(Some("abc"), Some("3"), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(None, Some(" 1.5 "), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(retry_after(None, Some("-1"), now), None);
        assert_eq!(retry_after(None, Some(""), now), None);
        assert_eq!(retry_after(None, None, now), None);
        assert_eq!(
            retry_after(None, Some("Wed, 21 Oct 2015 07:29:00 GMT"), now),
            Some(Duration::from_secs(60))
        );
        // In the past: retry now.
        assert_eq!(
            retry_after(None, Some("Wed, 21 Oct 2015 07:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn http_dates() {
        let at = |s| parse_http_date(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
        assert_eq!(at("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(at("Tue, 29 Feb 2000 12:00:00 GMT"), Some(951_825_600));
        assert_eq!(at("Fri, 31 Dec 2038 23:59:59 GMT"), Some(2_177_452_799));
        assert_eq!(at("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(at("Sun Nov  6 08:49:37 1994"), Some(784_111_777));
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "Sun Nov  6 08:49:37",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "06 Nov 1994",
        ] {
            assert_eq!(at(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_first_of_a_repeated_header_counts_and_values_must_be_visible_ascii() {
        let head = ResponseHead::new(
            500,
            [
                ("X-Request-ID", b"a".as_slice()),
                ("x-request-id", b"b".as_slice()),
                ("retry-after", "\u{e9}".as_bytes()),
                ("x-should-retry", b"maybe".as_slice()),
                ("X-Should-Retry", b"TRUE".as_slice()),
            ],
        );
        assert_eq!(head.request_id(), Some("a"));
        assert_eq!(head.retry_after(UNIX_EPOCH), None);
        // The first says neither: the server did not say.
        assert_eq!(head.should_retry(), None);
    }
}
