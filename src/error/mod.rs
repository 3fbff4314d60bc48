//! The crate's one error type: [`Error`], what it is ([`ErrorKind`]) and what a program
//! should do about it ([`Category`]).
//!
//! `Error` is opaque, as `serde_json::Error` and `std::io::Error` are: a box holding
//! what happened, read through accessors. That lets it grow (a new detail is a new
//! accessor, a new kind a new variant of the `#[non_exhaustive]` [`ErrorKind`]) without
//! breaking a program that matches on it, and keeps `Result<T, Error>` one pointer wide.

mod category;
mod kinds;
mod parts;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::chat::{Completion, Rule};
use crate::sse;

pub use category::Category;
pub use kinds::{ConfigKind, ErrorKind, LimitExceeded, LimitKind, TimeoutKind};
pub(crate) use parts::snippet;
pub use parts::{ApiError, ApiErrorOrigin, HttpError, MalformedChunk, ToolArgumentsError};

/// A foreign cause kept as an error's [`source`](std::error::Error::source).
pub(crate) type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong between a request and a [`Completion`].
///
/// Three questions cover most handling:
///
/// - **What happened?** [`kind`](Error::kind), one word ([`ErrorKind`]); the details of
///   each kind through its accessor: [`api`](Error::api) for an error the server
///   reported, [`http`](Error::http) for an error status with another body,
///   [`timeout_kind`](Error::timeout_kind), [`limit`](Error::limit),
///   [`rule`](Error::rule), [`config_kind`](Error::config_kind), ...
/// - **What should the program do?** [`category`](Error::category) ([`Category`]):
///   fix the key, wait and retry, ask a person to top up, shorten the input, ...; with
///   [`retry_after`](Error::retry_after) (the server's hint) and
///   [`is_retryable`](Error::is_retryable).
/// - **What was received?** Nothing is lost: an error raised after part of a stream was
///   merged carries that part ([`partial`](Error::partial)); the request id the server
///   gave is kept ([`request_id`](Error::request_id)); the client says how many
///   requests it sent for the call ([`attempts`](Error::attempts)).
///
/// **Display and source.** Following the Rust API guidelines, the message says what
/// this crate knows and never repeats its [`source`](std::error::Error::source): the
/// source is the foreign cause (an I/O or ureq error for a transport failure or a body
/// that broke off, the `serde_json::Error` for tool arguments), and `None` where there
/// is none. Print the chain to see both (`anyhow`'s `{:#}`, or a loop over `source()`).
///
/// **Equality** is honest: two errors are equal when they say the same thing and share
/// the same foreign cause (a clone shares its original's; two I/O failures made apart
/// are never equal, whatever they say). A failed stream returns its error again on
/// every later call, equal to the first.
///
/// # Example
///
/// This example shows an in-band error that keeps its request id and the text before
/// it, and is sorted for the program.
///
/// ```
/// use dashscope_glm::chat::{Accumulator, Protocol};
/// use dashscope_glm::{Category, ErrorKind};
///
/// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
/// acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"Partial"}}]}"#)?;
/// let err = acc
///     .push_data(r#"{"error":{"code":"data_inspection_failed","message":"Output data may contain inappropriate content."},"request_id":"abcd"}"#)
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Stream);
/// assert_eq!(err.category(), Category::ContentFilter);
/// assert_eq!(err.code(), Some("data_inspection_failed"));
/// assert_eq!(err.request_id(), Some("abcd"));
/// assert_eq!(err.partial().unwrap().message.content, "Partial");
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    detail: Detail,
    /// What had been merged when the error happened (mid-stream errors).
    partial: Option<Arc<Completion>>,
    /// The request id from the response's headers (or the transport), when there was
    /// one; an API error's own id is in its [`ApiError`].
    request_id: Option<String>,
    /// Requests sent for the call (0: none, or not known at this layer).
    attempts: u32,
    /// The server's last retry hint.
    retry_after: Option<Duration>,
    /// The foreign cause.
    cause: Option<Cause>,
}

/// What happened: one arm per [`ErrorKind`] (an API error carries its origin).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Detail {
    Sse(sse::Error),
    Api(ApiError),
    Malformed(MalformedChunk),
    Interrupted,
    Limit(LimitExceeded),
    Validation { rule: Rule, message: String },
    Config { kind: ConfigKind, message: String },
    Http(HttpError),
    Transport { context: String },
    Timeout(TimeoutKind),
    ToolArguments(ToolArgumentsError),
    Cancelled,
}

impl Error {
    fn from_detail(detail: Detail) -> Self {
        Self {
            inner: Box::new(Inner {
                detail,
                partial: None,
                request_id: None,
                attempts: 0,
                retry_after: None,
                cause: None,
            }),
        }
    }

    /// A connection or I/O failure: `context` says what was being done ("sending the
    /// request", "reading the response body"), `source` is the cause, kept as
    /// [`source`](std::error::Error::source). For transports of your own, built on the
    /// sans-IO layers; [`kind`](Error::kind) is [`ErrorKind::Transport`].
    ///
    /// # Example
    ///
    /// This example keeps a refused connection as the source.
    ///
    /// ```
    /// use std::error::Error as _;
    /// use dashscope_glm::{Category, Error, ErrorKind};
    ///
    /// let cause = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    /// let err = Error::transport("connecting", cause);
    /// assert_eq!(err.kind(), ErrorKind::Transport);
    /// assert_eq!(err.category(), Category::Network);
    /// assert_eq!(err.to_string(), "transport: connecting");
    /// assert_eq!(err.source().unwrap().to_string(), "connection refused");
    /// ```
    pub fn transport(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::from_detail(Detail::Transport {
            context: context.into(),
        })
        .with_cause(Arc::new(source))
    }

    /// A timeout of `kind`, carrying what was merged before it, if the response had
    /// started. For transports of your own, which keep the clock.
    ///
    /// # Example
    ///
    /// This example shows an idle timeout after part of an answer.
    ///
    /// ```
    /// use dashscope_glm::chat::Completion;
    /// use dashscope_glm::{Error, TimeoutKind};
    ///
    /// let mut partial = Completion::default();
    /// partial.message.content = "Hel".into();
    /// let err = Error::timeout(TimeoutKind::Idle, Some(partial));
    /// assert_eq!(err.timeout_kind(), Some(TimeoutKind::Idle));
    /// assert_eq!(err.partial().unwrap().message.content, "Hel");
    /// assert!(!err.is_retryable());
    /// ```
    #[must_use]
    pub fn timeout(kind: TimeoutKind, partial: Option<Completion>) -> Self {
        Self::from_detail(Detail::Timeout(kind)).with_partial_arc(partial.map(Arc::new))
    }

    /// The call was stopped by its caller, carrying what was merged before, if the
    /// response had started. For transports of your own; the blocking client gives it
    /// for a `blocking::CancelToken` (feature `blocking`).
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::{Category, Error, ErrorKind};
    ///
    /// let err = Error::cancelled(None);
    /// assert_eq!((err.kind(), err.category()), (ErrorKind::Cancelled, Category::Cancelled));
    /// assert!(!err.is_retryable());
    /// ```
    #[must_use]
    pub fn cancelled(partial: Option<Completion>) -> Self {
        Self::from_detail(Detail::Cancelled).with_partial_arc(partial.map(Arc::new))
    }

    /// [`Error::cancelled`] sharing a partial completion already made.
    #[cfg(feature = "blocking")]
    pub(crate) fn cancelled_with(partial: Option<Arc<Completion>>) -> Self {
        Self::from_detail(Detail::Cancelled).with_partial_arc(partial)
    }

    pub(crate) fn interrupted(partial: Arc<Completion>) -> Self {
        Self::from_detail(Detail::Interrupted).with_partial_arc(Some(partial))
    }

    pub(crate) fn timeout_with(kind: TimeoutKind, partial: Option<Arc<Completion>>) -> Self {
        Self::from_detail(Detail::Timeout(kind)).with_partial_arc(partial)
    }

    pub(crate) fn limit_exceeded(kind: LimitKind, limit: usize) -> Self {
        Self::from_detail(Detail::Limit(LimitExceeded { kind, limit }))
    }

    /// A request refused before anything was sent: it breaks `rule`, and `message` says
    /// what is wrong and how to fix it. [`ChatRequest::validate`](crate::chat::ChatRequest::validate)
    /// and [`Endpoint::request`](crate::chat::http::Endpoint::request) give these; this is
    /// for an SDK of your own that refuses a request by a rule of its own the same way
    /// ([`Rule::InvalidHeader`] for a header its HTTP library reads more strictly, say).
    /// [`kind`](Error::kind) is [`ErrorKind::Validation`].
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::chat::Rule;
    /// use dashscope_glm::{Category, Error, ErrorKind};
    ///
    /// let err = Error::validation(Rule::InvalidHeader, "the header x-trace is not valid HTTP");
    /// assert_eq!((err.kind(), err.category()), (ErrorKind::Validation, Category::InvalidRequest));
    /// assert_eq!(err.rule(), Some(Rule::InvalidHeader));
    /// assert!(err.to_string().ends_with("the header x-trace is not valid HTTP"));
    /// ```
    #[must_use]
    pub fn validation(rule: Rule, message: impl Into<String>) -> Self {
        Self::from_detail(Detail::Validation {
            rule,
            message: message.into(),
        })
    }

    /// A setting that cannot be used, of `kind`; `message` says which and why. The
    /// blocking client's builder gives these; this is for an SDK of your own whose
    /// settings (an endpoint for each protocol, a proxy) are checked the same way.
    /// [`kind`](Error::kind) is [`ErrorKind::Config`].
    ///
    /// # Example
    ///
    /// This example refuses a request of a protocol the SDK has no URL for.
    ///
    /// ```
    /// use dashscope_glm::{ConfigKind, Error, ErrorKind};
    ///
    /// let err = Error::config(ConfigKind::Url, "no URL for the native protocol");
    /// assert_eq!((err.kind(), err.config_kind()), (ErrorKind::Config, Some(ConfigKind::Url)));
    /// assert_eq!(err.to_string(), "configuration: no URL for the native protocol");
    /// ```
    #[must_use]
    pub fn config(kind: ConfigKind, message: impl Into<String>) -> Self {
        Self::from_detail(Detail::Config {
            kind,
            message: message.into(),
        })
    }

    pub(crate) fn malformed(chunk: MalformedChunk) -> Self {
        Self::from_detail(Detail::Malformed(chunk))
    }

    pub(crate) fn tool_arguments(index: usize, name: &str, source: serde_json::Error) -> Self {
        Self::from_detail(Detail::ToolArguments(ToolArgumentsError::new(
            index, name, source,
        )))
    }

    /// Adds the foreign cause.
    pub(crate) fn with_cause(mut self, cause: Cause) -> Self {
        self.inner.cause = Some(cause);
        self
    }

    /// The error with the request id the response head gave (its `x-request-id`,
    /// [`ResponseHead::request_id`](crate::chat::http::ResponseHead::request_id)), unless
    /// it has one already; `None` changes nothing. For transports of your own: an error
    /// of your transport once the head is in (a whole body that failed to read, say)
    /// names the request the way the blocking client's does. An id the server put in an
    /// error body, and one a stream carried, still come first in
    /// [`request_id`](Error::request_id).
    ///
    /// # Example
    ///
    /// This example names the request whose body broke off.
    ///
    /// ```
    /// use dashscope_glm::chat::http::ResponseHead;
    /// use dashscope_glm::Error;
    ///
    /// let head = ResponseHead::new(200, [("x-request-id", "7c1e9a")]);
    /// let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    /// let err = Error::transport("reading the response body", reset).with_request_id(head.request_id());
    /// assert_eq!(err.request_id(), Some("7c1e9a"));
    /// // The first id given stays.
    /// assert_eq!(err.with_request_id(Some("other")).request_id(), Some("7c1e9a"));
    /// ```
    #[must_use]
    pub fn with_request_id(mut self, id: Option<&str>) -> Self {
        if self.inner.request_id.is_none() {
            self.inner.request_id = id.map(str::to_owned);
        }
        self
    }

    /// The error with the number of requests sent for the call, retries included
    /// ([`attempts`](Error::attempts)); the message then says "after N requests" when N
    /// is more than 1. For transports of your own, which count their attempts:
    /// [`Attempts::error`](crate::chat::http::Attempts::error) sets it with the server's
    /// last retry hint at the end of a retry loop, and an error of an answer that had
    /// started (a stream cut short) gets the count with this.
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::{Error, TimeoutKind};
    ///
    /// let err = Error::timeout(TimeoutKind::Connect, None).with_attempts(3);
    /// assert_eq!(err.attempts(), 3);
    /// assert_eq!(err.to_string(), "timed out connecting (after 3 requests)");
    /// ```
    #[must_use]
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.inner.attempts = attempts;
        self
    }

    /// The error with the server's retry hint ([`retry_after`](Error::retry_after));
    /// `None` takes it away. [`ResponseHead::error`](crate::chat::http::ResponseHead::error)
    /// gives an error status its own answer's hint; a retry loop that ends on an answer
    /// without one keeps an earlier answer's, as
    /// [`Attempts::error`](crate::chat::http::Attempts::error) does.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use dashscope_glm::{Error, HttpError};
    ///
    /// let err = Error::from(HttpError::new(503, "busy")).with_retry_after(Some(Duration::from_secs(2)));
    /// assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    /// assert!(err.to_string().ends_with("(the server asked to retry after 2s)"));
    /// ```
    #[must_use]
    pub fn with_retry_after(mut self, hint: Option<Duration>) -> Self {
        self.inner.retry_after = hint;
        self
    }

    fn with_partial_arc(mut self, partial: Option<Arc<Completion>>) -> Self {
        self.inner.partial = partial;
        self
    }

    /// Attaches the partial completion to errors that can carry one and have none yet
    /// (an API error inside the stream, a malformed chunk).
    pub(crate) fn with_partial(mut self, partial: impl FnOnce() -> Completion) -> Self {
        let carries = matches!(
            self.inner.detail,
            Detail::Api(_) | Detail::Malformed(_) | Detail::Sse(_) | Detail::Limit(_)
        );
        if carries && self.inner.partial.is_none() {
            self.inner.partial = Some(Arc::new(partial()));
        }
        self
    }

    /// What kind of failure this is, in one word (see [`ErrorKind`]).
    ///
    /// # Example
    ///
    /// This example shows an API error from an HTTP answer beside one inside a stream.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    /// use dashscope_glm::{ApiError, Error, ErrorKind};
    ///
    /// let answer = Error::from(ApiError::new(400, None, "bad".into(), None));
    /// assert_eq!(answer.kind(), ErrorKind::Api);
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// let in_stream = acc.push_data(r#"{"error":{"message":"bad"}}"#).unwrap_err();
    /// assert_eq!(in_stream.kind(), ErrorKind::Stream);
    /// ```
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match &self.inner.detail {
            Detail::Sse(_) => ErrorKind::Sse,
            Detail::Api(api) => match api.origin {
                ApiErrorOrigin::Response => ErrorKind::Api,
                ApiErrorOrigin::Stream => ErrorKind::Stream,
            },
            Detail::Malformed(_) => ErrorKind::Malformed,
            Detail::Interrupted => ErrorKind::Interrupted,
            Detail::Limit(_) => ErrorKind::Limit,
            Detail::Validation { .. } => ErrorKind::Validation,
            Detail::Config { .. } => ErrorKind::Config,
            Detail::Http(_) => ErrorKind::Http,
            Detail::Transport { .. } => ErrorKind::Transport,
            Detail::Timeout(_) => ErrorKind::Timeout,
            Detail::ToolArguments(_) => ErrorKind::ToolArguments,
            Detail::Cancelled => ErrorKind::Cancelled,
        }
    }

    /// What a program should do about this error (see [`Category`] and the table in the
    /// README's "Acting on errors").
    ///
    /// # Example
    ///
    /// This example sorts the same rate limit in both protocols' spellings, and a quota
    /// error that no retry fixes.
    ///
    /// ```
    /// use dashscope_glm::{ApiError, Category, Error};
    ///
    /// let api = |status, code: &str| Error::from(ApiError::new(status, Some(code.into()), String::new(), None));
    /// assert_eq!(api(429, "Throttling.RateQuota").category(), Category::RateLimit);
    /// assert_eq!(api(429, "limit_requests").category(), Category::RateLimit);
    /// assert_eq!(api(400, "Arrearage").category(), Category::Quota);
    /// assert_eq!(api(401, "invalid_api_key").category(), Category::Auth);
    /// ```
    #[must_use]
    pub fn category(&self) -> Category {
        match &self.inner.detail {
            Detail::Api(api) => category::of_api(api.code.as_deref(), api.status, &api.message),
            Detail::Http(http) => category::of_status(Some(http.status)),
            Detail::Transport { .. } | Detail::Interrupted | Detail::Timeout(_) => {
                Category::Network
            }
            Detail::Cancelled => Category::Cancelled,
            Detail::Sse(_) | Detail::Malformed(_) => Category::Server,
            Detail::Validation { rule, .. } => match rule {
                Rule::MaxTokensAboveLimit | Rule::ThinkingBudgetAboveLimit => {
                    Category::ContextLength
                }
                _ => Category::InvalidRequest,
            },
            Detail::Config { kind, .. } => match kind {
                ConfigKind::ApiKey => Category::Auth,
                _ => Category::InvalidRequest,
            },
            Detail::Limit(_) | Detail::ToolArguments(_) => Category::Other,
        }
    }

    /// The HTTP status this error names, with one meaning for both protocols: the
    /// answer's status for [`ErrorKind::Http`] and [`ErrorKind::Api`]; for
    /// [`ErrorKind::Stream`], the status the error itself named (the native protocol's
    /// `:HTTP_STATUS/<n>` line), else `None` — never the 200 of the stream around it;
    /// `None` for every other kind.
    ///
    /// # Example
    ///
    /// This example shows a 404 page's status, and none for an error raised before
    /// anything was sent.
    ///
    /// ```
    /// use dashscope_glm::chat::ChatRequest;
    /// use dashscope_glm::{Error, HttpError};
    ///
    /// let err = Error::from(HttpError::new(404, "<html>"));
    /// assert_eq!(err.status(), Some(404));
    /// let refused = ChatRequest::new("glm-5").user("hi").max_tokens(1 << 30).validate().unwrap_err();
    /// assert_eq!(refused.status(), None);
    /// ```
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match &self.inner.detail {
            Detail::Api(api) => api.status,
            Detail::Http(http) => Some(http.status),
            _ => None,
        }
    }

    /// The provider's error code (`InvalidApiKey`, `data_inspection_failed`, `1301`,
    /// ...), for an error the server reported ([`api`](Error::api)).
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        self.api().and_then(|api| api.code.as_deref())
    }

    /// The request id, when the server sent one with this error or before it: the error
    /// body's, else the response's `x-request-id` header, else the stream's.
    ///
    /// # Example
    ///
    /// This example shows the request id of the chunks before an error that had none.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::DashScope);
    /// acc.push_data(r#"{"output":{"choices":[{"message":{"role":"assistant","content":"a"},"finish_reason":"null"}]},"request_id":"5c0a"}"#)?;
    /// let err = acc.push_data("not json").unwrap_err();
    /// assert_eq!(err.request_id(), Some("5c0a"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn request_id(&self) -> Option<&str> {
        self.api()
            .and_then(|api| api.request_id.as_deref())
            .or(self.inner.request_id.as_deref())
            .or_else(|| self.partial().and_then(|p| p.request_id.as_deref()))
    }

    /// What had been merged when the error happened, if the error came mid-stream (an
    /// API error or a malformed chunk inside the stream, a framing error or a limit, a
    /// body cut short, a timeout or a cancel after the answer began).
    ///
    /// The completion is shared (an [`Arc`]): a clone of the error shares it instead of
    /// copying it, so a failed stream that returns its error again on every later call
    /// copies no text.
    ///
    /// # Example
    ///
    /// This example shows the text merged before a malformed chunk.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#)?;
    /// let err = acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"lo"#).unwrap_err();
    /// assert_eq!(err.partial().map(|c| c.message.content.as_str()), Some("Hel"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn partial(&self) -> Option<&Completion> {
        self.inner.partial.as_deref()
    }

    /// How many requests the client sent for this call, retries included: 1 for a call
    /// that failed on its first request, 3 for one that failed after two retries; 0 when
    /// nothing was sent (a request refused by validation, a cancel before the first
    /// request) and for errors of the sans-IO layers, which send nothing. The blocking
    /// client sets it on every error it returns; a transport of your own sets it with
    /// [`with_attempts`](Error::with_attempts) (or
    /// [`Attempts::error`](crate::chat::http::Attempts::error)).
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// The delay the server asked for before a retry (`retry-after-ms`, else
    /// `retry-after` in seconds or as an HTTP date), as the last answer gave it and not
    /// capped; `None` when it gave none.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Whether the same request may succeed if sent again: API and HTTP errors with a
    /// retryable status (408, 409, 429, 500, 502, 503, 504; never quota or billing
    /// errors), connection failures and connect timeouts. A malformed, interrupted,
    /// timed-out or cancelled stream is not, since part of the answer may already have
    /// been shown; nor is a validation or configuration error.
    ///
    /// The blocking client has already retried what its
    /// [`RetryPolicy`](crate::chat::http::RetryPolicy) allows when it returns an error
    /// ([`attempts`](Error::attempts) says how many requests it sent): `true` here then
    /// means the error is of a passing kind — a later retry, after
    /// [`retry_after`](Error::retry_after) or a backoff of your own, may succeed. A
    /// transport error is of a passing kind even when the connection broke after the
    /// request was written, which the client does not retry by default
    /// (`RetryPolicy::retry_unanswered`): the server may have received and billed that
    /// request, so sending it again may bill it twice.
    ///
    /// # Example
    ///
    /// This example shows that of the timeouts only a connect timeout is worth a retry.
    ///
    /// ```
    /// use dashscope_glm::{Error, TimeoutKind};
    ///
    /// assert!(Error::timeout(TimeoutKind::Connect, None).is_retryable());
    /// assert!(!Error::timeout(TimeoutKind::Idle, None).is_retryable());
    /// ```
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match &self.inner.detail {
            Detail::Api(api) => api.is_retryable(),
            Detail::Http(http) => http.is_retryable(),
            Detail::Transport { .. } => true,
            Detail::Timeout(kind) => *kind == TimeoutKind::Connect,
            _ => false,
        }
    }

    /// The error the server reported, for [`ErrorKind::Api`] (an error status with a
    /// JSON or SSE error body) and [`ErrorKind::Stream`] (an error inside a 2xx stream).
    #[must_use]
    pub fn api(&self) -> Option<&ApiError> {
        match &self.inner.detail {
            Detail::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The error status and the start of its body, for [`ErrorKind::Http`].
    #[must_use]
    pub fn http(&self) -> Option<&HttpError> {
        match &self.inner.detail {
            Detail::Http(http) => Some(http),
            _ => None,
        }
    }

    /// The chunk that could not be used, for [`ErrorKind::Malformed`].
    #[must_use]
    pub fn malformed_chunk(&self) -> Option<&MalformedChunk> {
        match &self.inner.detail {
            Detail::Malformed(chunk) => Some(chunk),
            _ => None,
        }
    }

    /// The framing error, for [`ErrorKind::Sse`].
    #[must_use]
    pub fn sse(&self) -> Option<&sse::Error> {
        match &self.inner.detail {
            Detail::Sse(e) => Some(e),
            _ => None,
        }
    }

    /// Which timeout expired, for [`ErrorKind::Timeout`].
    #[must_use]
    pub fn timeout_kind(&self) -> Option<TimeoutKind> {
        match &self.inner.detail {
            Detail::Timeout(kind) => Some(*kind),
            _ => None,
        }
    }

    /// Which limit was exceeded and its value, for [`ErrorKind::Limit`].
    ///
    /// # Example
    ///
    /// This example shows the tool-call limit of a merger.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, AccumulatorLimits, Protocol};
    /// use dashscope_glm::LimitKind;
    ///
    /// let limits = AccumulatorLimits::default().max_tool_calls(1);
    /// let mut acc = Accumulator::with_limits(Protocol::OpenAiCompatible, limits);
    /// let call = |i| format!(r#"{{"choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":{i},"id":"c{i}","function":{{"name":"f","arguments":""}}}}]}}}}]}}"#);
    /// acc.push_data(&call(0))?;
    /// let err = acc.push_data(&call(1)).unwrap_err();
    /// let limit = err.limit().unwrap();
    /// assert_eq!((limit.kind, limit.limit), (LimitKind::ToolCalls, 1));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn limit(&self) -> Option<LimitExceeded> {
        match &self.inner.detail {
            Detail::Limit(limit) => Some(*limit),
            _ => None,
        }
    }

    /// The rule a request broke, for [`ErrorKind::Validation`]; the message says what
    /// is wrong and how to fix it.
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Rule};
    ///
    /// let err = ChatRequest::new("glm-5").user("hi").max_tokens(1 << 30).validate().unwrap_err();
    /// assert_eq!(err.rule(), Some(Rule::MaxTokensAboveLimit));
    /// ```
    #[must_use]
    pub fn rule(&self) -> Option<Rule> {
        match &self.inner.detail {
            Detail::Validation { rule, .. } => Some(*rule),
            _ => None,
        }
    }

    /// Which setting is unusable, for [`ErrorKind::Config`].
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::chat::Protocol;
    /// use dashscope_glm::ConfigKind;
    ///
    /// let err = "grpc".parse::<Protocol>().unwrap_err();
    /// assert_eq!(err.config_kind(), Some(ConfigKind::Protocol));
    /// ```
    #[must_use]
    pub fn config_kind(&self) -> Option<ConfigKind> {
        match &self.inner.detail {
            Detail::Config { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Which tool call's arguments did not parse, for [`ErrorKind::ToolArguments`];
    /// serde_json's error is the [`source`](std::error::Error::source).
    #[must_use]
    pub fn tool_arguments_error(&self) -> Option<&ToolArgumentsError> {
        match &self.inner.detail {
            Detail::ToolArguments(t) => Some(t),
            _ => None,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind());
        match &i.detail {
            Detail::Sse(e) => d.field("sse", e),
            Detail::Api(api) => d.field("api", api),
            Detail::Malformed(m) => d.field("chunk", m),
            Detail::Limit(l) => d.field("limit", l),
            Detail::Validation { rule, message } => d.field("rule", rule).field("message", message),
            Detail::Config { kind, message } => d.field("config", kind).field("message", message),
            Detail::Http(h) => d.field("http", h),
            Detail::Transport { context } => d.field("context", context),
            Detail::Timeout(kind) => d.field("timeout", kind),
            Detail::ToolArguments(t) => d.field("tool_arguments", t),
            Detail::Interrupted | Detail::Cancelled => &mut d,
        };
        if let Some(id) = &i.request_id {
            d.field("request_id", id);
        }
        if i.attempts > 0 {
            d.field("attempts", &i.attempts);
        }
        if let Some(after) = &i.retry_after {
            d.field("retry_after", after);
        }
        if let Some(p) = &i.partial {
            d.field("partial", p);
        }
        if let Some(cause) = &i.cause {
            d.field("source", cause);
        }
        d.finish()
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&*self.inner, &*other.inner);
        let same_cause = match (&a.cause, &b.cause) {
            (None, None) => true,
            (Some(x), Some(y)) => Arc::ptr_eq(x, y),
            _ => false,
        };
        same_cause
            && a.detail == b.detail
            && a.partial == b.partial
            && a.request_id == b.request_id
            && a.attempts == b.attempts
            && a.retry_after == b.retry_after
    }
}

impl Eq for Error {}

/// What was received before an error that cut a stream short, for its message.
fn write_received(f: &mut fmt::Formatter<'_>, c: &Completion) -> fmt::Result {
    write!(
        f,
        " ({} bytes of content, {} of reasoning, {} tool calls received)",
        c.message.content.len(),
        c.message.reasoning_content.len(),
        c.message.tool_calls.len()
    )
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        match &i.detail {
            Detail::Sse(e) => fmt::Display::fmt(e, f)?,
            Detail::Api(api) => fmt::Display::fmt(api, f)?,
            Detail::Malformed(m) => write!(
                f,
                "malformed chunk at byte {}: {} (data starts {:?})",
                m.offset, m.message, m.snippet
            )?,
            Detail::Interrupted => {
                f.write_str("stream ended before it finished")?;
                if let Some(c) = &i.partial {
                    write_received(f, c)?;
                }
            }
            Detail::Limit(limit) => fmt::Display::fmt(limit, f)?,
            Detail::Validation { rule, message } => {
                write!(f, "invalid request ({rule}): {message}")?;
            }
            Detail::Config { message, .. } => write!(f, "configuration: {message}")?,
            Detail::Http(http) => fmt::Display::fmt(http, f)?,
            Detail::Transport { context } => write!(f, "transport: {context}")?,
            Detail::Timeout(kind) => {
                match kind {
                    TimeoutKind::Connect => f.write_str("timed out connecting")?,
                    TimeoutKind::Idle => f.write_str("timed out: no data for the idle timeout")?,
                    TimeoutKind::Total => f.write_str("timed out: the call passed its deadline")?,
                }
                if let Some(c) = &i.partial {
                    write_received(f, c)?;
                }
            }
            Detail::ToolArguments(t) => fmt::Display::fmt(t, f)?,
            Detail::Cancelled => {
                f.write_str("cancelled")?;
                if let Some(c) = &i.partial {
                    write_received(f, c)?;
                }
            }
        }
        // An API error's own id is in its display already.
        if self.api().and_then(|a| a.request_id.as_deref()).is_none() {
            if let Some(id) = &i.request_id {
                write!(f, " [request id {id}]")?;
            }
        }
        if i.attempts > 1 {
            write!(f, " (after {} requests", i.attempts)?;
            if let Some(after) = i.retry_after {
                write!(f, "; the server asked to retry after {after:?}")?;
            }
            f.write_str(")")?;
        } else if let Some(after) = i.retry_after {
            write!(f, " (the server asked to retry after {after:?})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // Only foreign causes: the error's own parts are already in the message.
        match &self.inner.detail {
            Detail::ToolArguments(t) => Some(t.json_error()),
            _ => self
                .inner
                .cause
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
        }
    }
}

impl From<sse::Error> for Error {
    fn from(e: sse::Error) -> Self {
        Self::from_detail(Detail::Sse(e))
    }
}

/// An API error as a crate error: [`ErrorKind::Api`] or [`ErrorKind::Stream`] by its
/// [`origin`](ApiError::origin).
impl From<ApiError> for Error {
    fn from(api: ApiError) -> Self {
        Self::from_detail(Detail::Api(api))
    }
}

/// An HTTP error as a crate error ([`ErrorKind::Http`]).
impl From<HttpError> for Error {
    fn from(http: HttpError) -> Self {
        Self::from_detail(Detail::Http(http))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_one_pointer_wide() {
        assert_eq!(size_of::<Error>(), size_of::<usize>());
    }

    #[test]
    fn equality_needs_the_same_cause() {
        let refused = || std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let a = Error::transport("sending the request", refused());
        let b = Error::transport("sending the request", refused());
        assert_ne!(a, b, "two causes made apart are not the same failure");
        assert_eq!(a.clone(), a);
        assert_eq!(Error::cancelled(None), Error::cancelled(None));
        assert_ne!(
            Error::cancelled(None),
            Error::timeout(TimeoutKind::Idle, None)
        );
    }

    #[test]
    fn display_says_attempts_and_the_hint() {
        let err = Error::from(ApiError::new(
            429,
            Some("limit_requests".into()),
            "slow down".into(),
            None,
        ))
        .with_attempts(3)
        .with_retry_after(Some(Duration::from_secs(2)));
        assert_eq!(
            err.to_string(),
            "API error (HTTP 429) limit_requests: slow down (after 3 requests; the server asked to retry after 2s)"
        );
        let once = Error::timeout(TimeoutKind::Connect, None).with_attempts(1);
        assert_eq!(once.to_string(), "timed out connecting");
    }
}
