//! HTTP as data: the request to send for a [`ChatRequest`](crate::chat::ChatRequest),
//! the meaning of the answer's head and of an error body, and the retry decision. No
//! socket, no clock, no thread: the caller sends the bytes, reads the answer, passes the
//! time and the randomness in, and sleeps. `blocking::Client` (feature `blocking`) is
//! one transport around these, as ureq is around ureq-proto; an async client is
//! another.
//!
//! **In scope** (every rule of the protocol, in one place):
//!
//! - [`Endpoint`]: where and how requests of one protocol go (URL, key, headers for
//!   every request, the catalog they are checked against); [`Endpoint::request`] makes
//!   the whole [`HttpRequest`]: method, URL, headers (the ones each protocol needs,
//!   the key when one is given), body bytes.
//! - [`ResponseHead`]: the status and the headers the crate reads (the request id, the
//!   content type, `retry-after-ms` / `retry-after`, `x-should-retry`);
//!   [`ResponseHead::error`] (or [`error_from_response`]) maps a non-2xx answer and its
//!   body to the crate's [`Error`](crate::Error); a 2xx body goes to the
//!   [`StreamDecoder`](crate::chat::StreamDecoder) [`HttpRequest::decoder`] makes.
//! - [`RetryPolicy`]: whether a failed attempt is worth another and after how long
//!   ([`RetryPolicy::decide`]), given what failed ([`FailedAttempt`]); [`Attempts`]
//!   keeps one call's count and the server's last hint across its retry loop, for the
//!   errors it returns.
//!
//! **Out of scope** (the transport's): connections, TLS, proxies, HTTP framing (chunked
//! encoding, `Content-Length`, `Host`), timeouts, sleeping between attempts, reading at
//! most [`MAX_ERROR_BODY`] bytes of an error body (and at most one byte past a whole
//! body's limit, [`MAX_BODY`] by default), cancelling. What a failed read means is not:
//! the transport says what happened ([`StreamDecoder::timed_out`](crate::chat::StreamDecoder::timed_out),
//! [`broke_off`](crate::chat::StreamDecoder::broke_off)) and the decoder decides how the
//! stream ends.
//!
//! ```text
//!  Endpoint::request(&ChatRequest, stream) -> HttpRequest   send method, url, headers, body
//!  ResponseHead::new(status, headers)
//!    2xx:   HttpRequest::decoder() -> StreamDecoder          feed the body (or take a JSON one)
//!    other: ResponseHead::error(body, now) -> Error
//!           RetryPolicy::decide(attempts, FailedAttempt::Status { .. }, .., jitter)
//!             Some(delay): sleep, send the same HttpRequest again    None: return the Error
//! ```
//!
//! # Example
//!
//! This example runs one call by hand, with the answers as data: a 429 with a retry
//! hint, then a stream.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//!
//! use dashscope_glm::chat::http::{Endpoint, FailedAttempt, ResponseHead, RetryPolicy};
//! use dashscope_glm::chat::{ChatRequest, Protocol};
//! use dashscope_glm::ErrorKind;
//!
//! let endpoint = Endpoint::model_studio(Protocol::OpenAiCompatible, "https://dashscope.aliyuncs.com")
//!     .api_key("sk-test");
//! let request = ChatRequest::new("glm-5").user("Hello");
//! let http = endpoint.request(&request, true)?;
//! assert_eq!(http.method(), "POST");
//! assert_eq!(http.url(), "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions");
//! assert_eq!(http.header("accept"), Some("text/event-stream"));
//!
//! // The first answer: 429, "retry in 1.5 s".
//! let head = ResponseHead::new(429, [("x-request-id", "r-1"), ("retry-after-ms", "1500")]);
//! let error = head.error(br#"{"error":{"code":"limit_requests","message":"Slow down"}}"#, SystemTime::now());
//! assert_eq!((error.kind(), error.request_id()), (ErrorKind::Api, Some("r-1")));
//! let policy = RetryPolicy::default();
//! let failed = FailedAttempt::Status { head: &head, error: &error };
//! assert_eq!(policy.decide(1, failed, false, 0.3), Some(Duration::from_millis(1500)));
//!
//! // The second answer: a stream.
//! let head = ResponseHead::new(200, [("content-type", "text/event-stream")]);
//! assert!(head.is_success() && !head.is_json());
//! let mut decoder = http.decoder();
//! decoder.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n");
//! assert_eq!(decoder.finish()?.message.content, "Hi");
//! # Ok::<(), dashscope_glm::Error>(())
//! ```

mod request;
mod response;
mod retry;

pub use request::{Endpoint, HttpRequest};
pub use response::{MAX_BODY, MAX_ERROR_BODY, ResponseHead, error_from_response};
pub use retry::{Attempts, FailedAttempt, RetryPolicy};
