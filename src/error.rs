//! The crate's one error type.

use std::fmt;
use std::sync::Arc;

use crate::chat::{Completion, Rule};
use crate::sse;

/// Everything that can go wrong between the bytes on the wire and a [`Completion`].
///
/// Nothing received is lost: an error raised after part of a stream was merged carries
/// that part ([`partial`](Error::partial)), and every error that came with a request id
/// keeps it ([`request_id`](Error::request_id)). [`kind`](Error::kind) sorts it in one
/// word (an API error in the HTTP answer or inside the stream, a timeout, ...).
///
/// **Display and source.** Following the Rust API guidelines, the message says what
/// this crate knows and never repeats its [`source`](std::error::Error::source): the
/// source is the foreign cause (an I/O or ureq error for [`Error::Transport`], the
/// `serde_json::Error` for [`Error::ToolArguments`]), and `None` where there is none.
/// Print the chain to see both (`anyhow`'s `{:#}`, or a loop over `source()`).
///
/// # Example
///
/// This example shows an in-band error that keeps its request id and the text before it.
///
/// ```
/// use dashscope_glm::chat::{Accumulator, Protocol};
/// use dashscope_glm::Error;
///
/// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
/// acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"Partial"}}]}"#)?;
/// let err = acc
///     .push_data(r#"{"error":{"code":"data_inspection_failed","message":"Output data may contain inappropriate content."},"request_id":"abcd"}"#)
///     .unwrap_err();
/// match &err {
///     Error::Api(api) => assert_eq!(api.code.as_deref(), Some("data_inspection_failed")),
///     other => panic!("unexpected {other}"),
/// }
/// assert_eq!(err.request_id(), Some("abcd"));
/// assert_eq!(err.partial().unwrap().message.content, "Partial");
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The SSE framing was broken: invalid UTF-8 or a line or event over its limit.
    Sse(sse::Error),
    /// The server reported an error: in an HTTP error response, as an `event:error`, as a
    /// `{"error": ...}` chunk, or as a native payload with a non-empty `code`
    /// ([`ApiError::origin`] says which).
    Api(Box<ApiError>),
    /// An event's data was not the JSON chunk it should be.
    MalformedChunk(Box<MalformedChunk>),
    /// The stream ended before the server said it was finished (no finish reason, and on
    /// the OpenAI-compatible protocol no `[DONE]`). Carries everything merged so far
    /// (also [`partial`](Error::partial)).
    Interrupted(Arc<Completion>),
    /// A configured limit was exceeded (see [`Limits`](crate::chat::Limits)).
    LimitExceeded {
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: usize,
    },
    /// The request breaks a rule of its model (or of the builder), found before
    /// anything was sent.
    Validation {
        /// The rule.
        rule: Rule,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The client's configuration is unusable: no API key, a bad base URL or proxy, an
    /// API key about to go over plain HTTP. Never caused by the server.
    Config(String),
    /// The server answered with an error status and a body that is not an API error
    /// (an HTML page from a proxy or a wrong base URL, plain text, nothing).
    Http(Box<HttpError>),
    /// The connection failed before a response arrived (refused, reset, DNS, TLS),
    /// after any retries.
    Transport(Box<TransportError>),
    /// A timeout expired. Mid-stream, carries everything merged so far.
    Timeout {
        /// Which timeout.
        kind: TimeoutKind,
        /// What had been merged, when the response had started (also
        /// [`partial`](Error::partial)).
        partial: Option<Arc<Completion>>,
    },
    /// A tool call's arguments did not parse ([`ToolCall::parse_arguments`],
    /// [`ToolCall::arguments_as`]); the `serde_json::Error` is the source.
    ///
    /// [`ToolCall::parse_arguments`]: crate::chat::ToolCall::parse_arguments
    /// [`ToolCall::arguments_as`]: crate::chat::ToolCall::arguments_as
    ToolArguments(Box<ToolArgumentsError>),
}

/// What kind of failure an [`Error`] is, in one word: [`Error::kind`].
///
/// It separates what the enum's variants do not: an API error that came as the HTTP
/// answer ([`Api`](ErrorKind::Api)) from one that arrived inside a 2xx stream
/// ([`Stream`](ErrorKind::Stream)), which matters for a retry (part of the answer may
/// already have been shown).
///
/// # Example
///
/// This example shows the kind of an error inside a stream and its short name.
///
/// ```
/// use dashscope_glm::chat::{Accumulator, Protocol};
/// use dashscope_glm::ErrorKind;
///
/// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
/// let err = acc.push_data(r#"{"error":{"code":"x","message":"no"}}"#).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Stream);
/// assert_eq!(err.kind().as_str(), "stream");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A non-2xx answer whose body is not an API error ([`Error::Http`]).
    Http,
    /// A non-2xx answer with an API error body ([`Error::Api`] from the response).
    Api,
    /// An API error inside a 2xx response's body: an `event:error`, an `{"error":...}`
    /// chunk, a native `code` ([`Error::Api`] from the stream).
    Stream,
    /// The connection failed ([`Error::Transport`]).
    Transport,
    /// A timeout expired ([`Error::Timeout`]).
    Timeout,
    /// The body ended before the server said it was done ([`Error::Interrupted`]).
    Interrupted,
    /// An event's data was not a valid chunk ([`Error::MalformedChunk`]).
    Malformed,
    /// The SSE framing was broken ([`Error::Sse`]).
    Sse,
    /// A configured limit was exceeded ([`Error::LimitExceeded`]).
    Limit,
    /// The request was refused before sending ([`Error::Validation`]).
    Validation,
    /// The client's configuration is unusable ([`Error::Config`]).
    Config,
    /// A tool call's arguments did not parse ([`Error::ToolArguments`]).
    ToolArguments,
}

impl ErrorKind {
    /// The kind's short name, as the `chat` example's `--json` output prints it:
    /// `http`, `api`, `stream`, `transport`, `timeout`, `interrupted`, `malformed`, `sse`,
    /// `limit`, `validation`, `config`, `tool_arguments`.
    ///
    /// # Example
    ///
    /// This example shows a configuration error's kind.
    ///
    /// ```
    /// use dashscope_glm::Error;
    ///
    /// assert_eq!(Error::Config("no API key".into()).kind().as_str(), "config");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Api => "api",
            Self::Stream => "stream",
            Self::Transport => "transport",
            Self::Timeout => "timeout",
            Self::Interrupted => "interrupted",
            Self::Malformed => "malformed",
            Self::Sse => "sse",
            Self::Limit => "limit",
            Self::Validation => "validation",
            Self::Config => "config",
            Self::ToolArguments => "tool_arguments",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tool call whose arguments did not parse: which call, and serde_json's error as the
/// [`source`](std::error::Error::source).
///
/// # Example
///
/// This example shows `?` on truncated arguments in a function returning the crate's
/// error.
///
/// ```
/// use dashscope_glm::chat::ToolCall;
/// use dashscope_glm::Error;
///
/// fn city(call: &ToolCall) -> Result<String, Error> {
///     let args = call.parse_arguments()?;
///     Ok(args["city"].as_str().unwrap_or_default().to_owned())
/// }
///
/// let cut = ToolCall::new(0, "c2", "get_weather", r#"{"city": "Bei"#);
/// let Err(Error::ToolArguments(err)) = city(&cut) else { panic!() };
/// assert_eq!((err.index, err.name.as_str()), (0, "get_weather"));
/// assert!(err.json_error().is_eof());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToolArgumentsError {
    /// The call's [`index`](crate::chat::ToolCall::index).
    pub index: usize,
    /// The function name.
    pub name: String,
    source: Arc<serde_json::Error>,
}

impl ToolArgumentsError {
    pub(crate) fn new(index: usize, name: &str, source: serde_json::Error) -> Self {
        Self {
            index,
            name: name.to_owned(),
            source: Arc::new(source),
        }
    }

    /// serde_json's error: where the text stopped being valid, or what did not fit.
    #[must_use]
    pub fn json_error(&self) -> &serde_json::Error {
        &self.source
    }
}

impl PartialEq for ToolArgumentsError {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
            && self.name == other.name
            && self.source.to_string() == other.source.to_string()
    }
}

impl Eq for ToolArgumentsError {}

impl fmt::Display for ToolArgumentsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the arguments of tool call {} ({:?}) do not parse",
            self.index, self.name
        )
    }
}

impl std::error::Error for ToolArgumentsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// Which timeout expired (see [`Error::Timeout`]).
///
/// # Example
///
/// This example shows a kind's display name.
///
/// ```
/// use dashscope_glm::TimeoutKind;
///
/// assert_eq!(TimeoutKind::Idle.to_string(), "idle");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Connecting (DNS, TCP, TLS, proxy) took too long.
    Connect,
    /// No byte arrived for the idle timeout (while waiting for the response or inside
    /// the body).
    Idle,
    /// The whole call, retries included, passed its deadline.
    Total,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Idle => "idle",
            Self::Total => "total",
        })
    }
}

/// An error status whose body was not an API error.
///
/// # Example
///
/// This example shows a 404 page, which no retry can fix.
///
/// ```
/// use dashscope_glm::HttpError;
///
/// let err = HttpError::new(404, "<html>Not Found</html>", None);
/// assert_eq!(err.status, 404);
/// assert!(!err.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpError {
    /// The HTTP status.
    pub status: u16,
    /// The start of the body (at most [`HttpError::SNIPPET_LEN`] bytes, lossy UTF-8).
    pub body_snippet: String,
    /// The `x-request-id` header, when sent.
    pub request_id: Option<String>,
}

impl HttpError {
    /// The longest snippet kept, in bytes.
    pub const SNIPPET_LEN: usize = 512;

    /// An error for `status` keeping the start of `body`.
    pub fn new(status: u16, body: &str, request_id: Option<String>) -> Self {
        Self {
            status,
            body_snippet: snippet(body, Self::SNIPPET_LEN).to_owned(),
            request_id,
        }
    }

    /// Whether the status is one a retry may fix (408, 409, 429, 500, 502, 503, 504).
    ///
    /// # Example
    ///
    /// This example shows which statuses a retry may fix.
    ///
    /// ```
    /// use dashscope_glm::HttpError;
    ///
    /// let retryable = |status| HttpError::new(status, "", None).is_retryable();
    /// assert!(retryable(429) && retryable(503));
    /// assert!(!retryable(400) && !retryable(401) && !retryable(404));
    /// ```
    pub fn is_retryable(&self) -> bool {
        is_retryable_status(self.status)
    }
}

/// A connection failure, with the underlying error as [`source`](std::error::Error::source).
///
/// The source (an `io::Error` or a ureq error) is not part of this crate's semver
/// promise; match on [`Error::Transport`] and read the message.
///
/// # Example
///
/// This example shows the cause kept as the error's source.
///
/// ```
/// use dashscope_glm::TransportError;
/// use std::error::Error as _;
/// use std::sync::Arc;
///
/// let cause = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// let err = TransportError::new("sending the request", Some(Arc::new(cause)));
/// assert_eq!(err.to_string(), "transport: sending the request");
/// assert_eq!(err.source().unwrap().to_string(), "connection refused");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TransportError {
    /// What was being done when the connection failed ("sending the request",
    /// "reading the response body"); the cause itself is the source, not repeated here.
    pub message: String,
    /// The request id, when the server had sent one.
    pub request_id: Option<String>,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl TransportError {
    /// A transport error with its cause.
    pub fn new(
        message: impl Into<String>,
        source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            message: message.into(),
            request_id: None,
            source,
        }
    }
}

impl PartialEq for TransportError {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message && self.request_id == other.request_id
    }
}

impl Eq for TransportError {}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transport: {}", self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429 | 500 | 502 | 503 | 504)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn snippet(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// An error the server reported, with everything it said.
///
/// # Example
///
/// This example shows a rate limit worth a retry beside a quota error that is not.
///
/// ```
/// use dashscope_glm::ApiError;
///
/// let err = ApiError::new(429, Some("Throttling.RateQuota".into()), "slow down".into(), None);
/// assert!(err.is_retryable());
/// let quota = ApiError::new(429, Some("Throttling.AllocationQuota".into()), "".into(), None);
/// assert!(!quota.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status: the response's, or for an in-band error the `:HTTP_STATUS/<n>`
    /// comment of the native protocol, else 200 (the stream's own status).
    pub status: u16,
    /// The provider's code (`InvalidParameter`, `data_inspection_failed`, `1301`, ...);
    /// numeric codes are kept as their decimal text.
    pub code: Option<String>,
    /// The provider's message, verbatim.
    pub message: String,
    /// The request id, when the error or its response carried one.
    pub request_id: Option<String>,
    /// What had been merged before the error, for errors inside a stream: read it with
    /// [`Error::partial`].
    pub(crate) partial: Option<Arc<Completion>>,
    /// For an error from an HTTP error response: the start of its body (at most
    /// [`HttpError::SNIPPET_LEN`] bytes).
    pub body: Option<String>,
    /// Where the error came: as the HTTP answer, or inside a 2xx response's body.
    pub origin: ApiErrorOrigin,
}

/// Where an [`ApiError`] came from ([`ApiError::origin`]).
///
/// An error in the HTTP answer came before any of the response; one inside the stream
/// came after a 2xx status, possibly after part of the answer was delivered (see
/// [`Error::partial`]).
///
/// # Example
///
/// This example shows an error chunk inside a stream, whose event named no status.
///
/// ```
/// use dashscope_glm::chat::{Accumulator, Protocol};
/// use dashscope_glm::{ApiErrorOrigin, Error};
///
/// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
/// let Error::Api(api) = acc.push_data(r#"{"error":{"message":"no"}}"#).unwrap_err() else {
///     panic!()
/// };
/// assert_eq!(api.origin, ApiErrorOrigin::Stream { status: None });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorOrigin {
    /// The body of a non-2xx HTTP answer; [`ApiError::status`] is that answer's status.
    Response,
    /// Inside a 2xx response's body: an `event:error`, an `{"error": ...}` chunk, a
    /// native payload with a `code`.
    Stream {
        /// The status the error itself named (the native protocol's
        /// `:HTTP_STATUS/<n>` comment), if any.
        status: Option<u16>,
    },
}

impl ApiError {
    /// An API error from an HTTP answer with status `status` ([`ApiErrorOrigin::Response`]),
    /// with no partial completion and no body.
    pub fn new(
        status: u16,
        code: Option<String>,
        message: String,
        request_id: Option<String>,
    ) -> Self {
        Self {
            status,
            code,
            message,
            request_id,
            partial: None,
            body: None,
            origin: ApiErrorOrigin::Response,
        }
    }

    /// An API error found inside a 2xx response's body; `status` is what the error named,
    /// and [`ApiError::status`] is that, or 200.
    pub(crate) fn in_stream(
        status: Option<u16>,
        code: Option<String>,
        message: String,
        request_id: Option<String>,
    ) -> Self {
        let mut api = Self::new(status.unwrap_or(200), code, message, request_id);
        api.origin = ApiErrorOrigin::Stream { status };
        api
    }

    /// Whether sending the same request again may succeed: 408, 409, 429, 500, 502, 503
    /// and 504, except quota and billing errors (`Arrearage`, `insufficient_quota`,
    /// `Throttling.AllocationQuota`, overdue bills), which no retry can fix.
    ///
    /// # Example
    ///
    /// This example shows an overloaded server worth a retry, and an unpaid bill that is not.
    ///
    /// ```
    /// use dashscope_glm::ApiError;
    ///
    /// assert!(ApiError::new(503, None, "overloaded".into(), None).is_retryable());
    /// assert!(!ApiError::new(400, Some("Arrearage".into()), "".into(), None).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        if self.code.as_deref().is_some_and(is_quota_code) {
            return false;
        }
        is_retryable_status(self.status)
    }
}

pub(crate) fn is_quota_code(code: &str) -> bool {
    matches!(
        code,
        "Arrearage"
            | "insufficient_quota"
            | "Throttling.AllocationQuota"
            | "AllocationQuota.FreeTierOnly"
            | "PrepaidBillOverdue"
            | "PostpaidBillOverdue"
            | "CommodityNotPurchased"
    )
}

/// A chunk whose data could not be used, with where it was and what it looked like.
///
/// # Example
///
/// This example shows the start of a chunk that is not JSON.
///
/// ```
/// use dashscope_glm::chat::{Accumulator, Protocol};
/// use dashscope_glm::Error;
///
/// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
/// match acc.push_data(r#"{"choices":[{"delta":{"content":"a"}data: {"#).unwrap_err() {
///     Error::MalformedChunk(m) => assert!(m.snippet.starts_with(r#"{"choices""#)),
///     other => panic!("unexpected {other}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MalformedChunk {
    /// What is wrong, e.g. serde_json's message.
    pub message: String,
    /// The start of the event data (at most [`MalformedChunk::SNIPPET_LEN`] bytes, cut at a
    /// character boundary).
    pub snippet: String,
    /// Byte offset of the event in the stream (0 when unknown).
    pub offset: u64,
    /// What had been merged before this chunk: read it with [`Error::partial`].
    pub(crate) partial: Option<Arc<Completion>>,
}

impl MalformedChunk {
    /// The longest snippet kept, in bytes.
    pub const SNIPPET_LEN: usize = 256;

    pub(crate) fn new(message: String, data: &str, offset: u64) -> Self {
        Self {
            message,
            snippet: snippet(data, Self::SNIPPET_LEN).to_owned(),
            offset,
            partial: None,
        }
    }
}

impl Error {
    /// The request id, when the server sent one with this error or before it.
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
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api(api) => api
                .request_id
                .as_deref()
                .or_else(|| api.partial.as_deref().and_then(|p| p.request_id.as_deref())),
            Self::Http(http) => http.request_id.as_deref(),
            Self::Transport(t) => t.request_id.as_deref(),
            _ => self.partial().and_then(|p| p.request_id.as_deref()),
        }
    }

    /// What had been merged when the error happened, if the error came mid-stream: the
    /// one accessor for the partial completion of every variant that carries one
    /// ([`Api`](Error::Api), [`MalformedChunk`](Error::MalformedChunk),
    /// [`Interrupted`](Error::Interrupted), [`Timeout`](Error::Timeout)).
    ///
    /// Each holds it the same way, an [`Arc`]: a clone of the error shares the partial
    /// completion instead of copying it, so a failed stream that returns its error again
    /// on every later call copies no text.
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
    pub fn partial(&self) -> Option<&Completion> {
        match self {
            Self::Api(api) => api.partial.as_deref(),
            Self::MalformedChunk(m) => m.partial.as_deref(),
            Self::Interrupted(c) => Some(c),
            Self::Timeout { partial, .. } => partial.as_deref(),
            _ => None,
        }
    }

    /// Whether the same request may succeed if sent again: API and HTTP errors with a
    /// retryable status (never quota or billing errors), connection failures and
    /// connect timeouts. A malformed, interrupted or timed-out stream is not, since part
    /// of the answer was already delivered; nor is a validation or configuration error.
    ///
    /// # Example
    ///
    /// This example shows that, of the timeouts, only a connect timeout is worth a retry.
    ///
    /// ```
    /// use dashscope_glm::{Error, TimeoutKind};
    ///
    /// assert!(Error::Timeout { kind: TimeoutKind::Connect, partial: None }.is_retryable());
    /// assert!(!Error::Timeout { kind: TimeoutKind::Idle, partial: None }.is_retryable());
    /// assert!(!Error::Config("no API key".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api(api) => api.is_retryable(),
            Self::Http(http) => http.is_retryable(),
            Self::Transport(_) => true,
            Self::Timeout { kind, .. } => *kind == TimeoutKind::Connect,
            _ => false,
        }
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
    /// let answer = Error::Api(Box::new(ApiError::new(400, None, "bad".into(), None)));
    /// assert_eq!(answer.kind(), ErrorKind::Api);
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// let in_stream = acc.push_data(r#"{"error":{"message":"bad"}}"#).unwrap_err();
    /// assert_eq!(in_stream.kind(), ErrorKind::Stream);
    /// ```
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Sse(_) => ErrorKind::Sse,
            Self::Api(api) => match api.origin {
                ApiErrorOrigin::Response => ErrorKind::Api,
                ApiErrorOrigin::Stream { .. } => ErrorKind::Stream,
            },
            Self::MalformedChunk(_) => ErrorKind::Malformed,
            Self::Interrupted(_) => ErrorKind::Interrupted,
            Self::LimitExceeded { .. } => ErrorKind::Limit,
            Self::Validation { .. } => ErrorKind::Validation,
            Self::Config(_) => ErrorKind::Config,
            Self::Http(_) => ErrorKind::Http,
            Self::Transport(_) => ErrorKind::Transport,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::ToolArguments(_) => ErrorKind::ToolArguments,
        }
    }

    /// The HTTP status this error names: the answer's status for [`ErrorKind::Http`] and
    /// [`ErrorKind::Api`], the status an error inside the stream named (or `None`) for
    /// [`ErrorKind::Stream`], else `None`.
    ///
    /// # Example
    ///
    /// This example shows a 404 page's status.
    ///
    /// ```
    /// use dashscope_glm::{Error, HttpError};
    ///
    /// let err = Error::Http(Box::new(HttpError::new(404, "<html>", None)));
    /// assert_eq!(err.status(), Some(404));
    /// assert_eq!(Error::Config("no key".into()).status(), None);
    /// ```
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(api) => match api.origin {
                ApiErrorOrigin::Response => Some(api.status),
                ApiErrorOrigin::Stream { status } => status,
            },
            Self::Http(http) => Some(http.status),
            _ => None,
        }
    }

    /// Attaches the partial completion to errors that can carry one and have none yet.
    pub(crate) fn with_partial(mut self, partial: impl FnOnce() -> Completion) -> Self {
        match &mut self {
            Self::Api(api) if api.partial.is_none() => api.partial = Some(Arc::new(partial())),
            Self::MalformedChunk(m) if m.partial.is_none() => {
                m.partial = Some(Arc::new(partial()));
            }
            _ => {}
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sse(e) => fmt::Display::fmt(e, f),
            Self::Api(api) => fmt::Display::fmt(api, f),
            Self::MalformedChunk(m) => write!(
                f,
                "malformed chunk at byte {}: {} (data starts {:?})",
                m.offset, m.message, m.snippet
            ),
            Self::Interrupted(c) => write!(
                f,
                "stream ended before it finished ({} bytes of content, {} of reasoning, {} tool calls received)",
                c.message.content.len(),
                c.message.reasoning_content.len(),
                c.message.tool_calls.len()
            ),
            Self::LimitExceeded { what, limit } => {
                write!(f, "limit exceeded: {what} (limit {limit})")
            }
            Self::Validation { rule, message } => {
                write!(f, "invalid request ({rule}): {message}")
            }
            Self::Config(message) => write!(f, "configuration: {message}"),
            Self::Http(http) => {
                write!(f, "HTTP {}", http.status)?;
                if let Some(id) = &http.request_id {
                    write!(f, " [request id {id}]")?;
                }
                if http.body_snippet.is_empty() {
                    write!(f, " with an empty body")
                } else {
                    write!(f, ": {:?}", http.body_snippet)
                }
            }
            Self::Transport(t) => fmt::Display::fmt(t, f),
            Self::Timeout { kind, partial } => {
                match kind {
                    TimeoutKind::Connect => write!(f, "timed out connecting")?,
                    TimeoutKind::Idle => write!(f, "timed out: no data for the idle timeout")?,
                    TimeoutKind::Total => write!(f, "timed out: the call passed its deadline")?,
                }
                if let Some(c) = partial {
                    write!(
                        f,
                        " ({} bytes of content, {} of reasoning, {} tool calls received)",
                        c.message.content.len(),
                        c.message.reasoning_content.len(),
                        c.message.tool_calls.len()
                    )?;
                }
                Ok(())
            }
            Self::ToolArguments(t) => fmt::Display::fmt(t, f),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            ApiErrorOrigin::Response => write!(f, "API error (HTTP {})", self.status)?,
            ApiErrorOrigin::Stream {
                status: Some(status),
            } => {
                write!(f, "API error in the stream (status {status})")?;
            }
            ApiErrorOrigin::Stream { status: None } => write!(f, "API error in the stream")?,
        }
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // Only foreign causes: the variants' own parts are already in the message.
        match self {
            Self::Transport(t) => std::error::Error::source(&**t),
            Self::ToolArguments(t) => std::error::Error::source(&**t),
            _ => None,
        }
    }
}

impl From<sse::Error> for Error {
    fn from(e: sse::Error) -> Self {
        Self::Sse(e)
    }
}
