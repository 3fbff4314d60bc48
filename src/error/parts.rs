//! The details an [`Error`](crate::Error) carries for the kinds that have more than a
//! word to say: what the server reported, an error page, a chunk that could not be
//! used, tool arguments that did not parse.

use std::fmt;
use std::sync::Arc;

use crate::error::category;

/// The statuses a retry may fix.
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

/// An error the server reported, with everything it said
/// ([`Error::api`](crate::Error::api)).
///
/// # Example
///
/// This example shows a rate limit worth a retry beside a used-up free quota that is not.
///
/// ```
/// use dashscope_glm::ApiError;
///
/// let err = ApiError::new(429, Some("Throttling.RateQuota".into()), "slow down".into(), None);
/// assert!(err.is_retryable());
/// let free_tier_gone = ApiError::new(
///     429,
///     Some("Throttling.AllocationQuota".into()),
///     "Free allocated quota exceeded.".into(),
///     None,
/// );
/// assert!(!free_tier_gone.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status the error carries: the answer's status for an error in the HTTP
    /// answer; for one inside a stream, the status it named itself (the native
    /// protocol's `:HTTP_STATUS/<n>` line), else `None`. Never a number the error did
    /// not carry.
    pub status: Option<u16>,
    /// The provider's code (`InvalidParameter`, `data_inspection_failed`, `1301`, ...);
    /// numeric codes are kept as their decimal text.
    pub code: Option<String>,
    /// The provider's message, verbatim.
    pub message: String,
    /// The request id, when the error or its response carried one.
    pub request_id: Option<String>,
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
/// [`Error::partial`](crate::Error::partial)).
///
/// # Example
///
/// This example shows an error chunk inside a stream, which named no status.
///
/// ```
/// use dashscope_glm::chat::{Accumulator, Protocol};
/// use dashscope_glm::ApiErrorOrigin;
///
/// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
/// let err = acc.push_data(r#"{"error":{"message":"no"}}"#).unwrap_err();
/// let api = err.api().unwrap();
/// assert_eq!((api.origin, api.status), (ApiErrorOrigin::Stream, None));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorOrigin {
    /// The body of a non-2xx HTTP answer; [`ApiError::status`] is that answer's status.
    Response,
    /// Inside a 2xx response's body: an `event:error`, an `{"error": ...}` chunk, a
    /// native payload with a `code`.
    Stream,
}

impl ApiError {
    /// An API error from an HTTP answer with status `status`
    /// ([`ApiErrorOrigin::Response`]), with no body snippet.
    #[must_use]
    pub fn new(
        status: u16,
        code: Option<String>,
        message: String,
        request_id: Option<String>,
    ) -> Self {
        Self {
            status: Some(status),
            code,
            message,
            request_id,
            body: None,
            origin: ApiErrorOrigin::Response,
        }
    }

    /// An API error found inside a 2xx response's body; `status` is what the error named.
    pub(crate) fn in_stream(
        status: Option<u16>,
        code: Option<String>,
        message: String,
        request_id: Option<String>,
    ) -> Self {
        Self {
            status,
            code,
            message,
            request_id,
            body: None,
            origin: ApiErrorOrigin::Stream,
        }
    }

    /// Whether sending the same request again may succeed: a status of 408, 409, 429,
    /// 500, 502, 503 or 504, unless the code says a person must act or the request must
    /// change (its [`Category`](crate::Category) is `Auth`, `Permission`, `NotFound`,
    /// `Quota`, `ContentFilter` or `ContextLength`: arrears, a used-up free tier, a
    /// workspace that has not subscribed, ...). An error inside a stream that named no
    /// status is not.
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
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.status.is_some_and(is_retryable_status)
            && category::passes(category::of_api(
                self.code.as_deref(),
                self.status,
                &self.message,
            ))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.origin, self.status) {
            (ApiErrorOrigin::Response, Some(status)) => write!(f, "API error (HTTP {status})")?,
            (ApiErrorOrigin::Response, None) => f.write_str("API error")?,
            (ApiErrorOrigin::Stream, Some(status)) => {
                write!(f, "API error in the stream (status {status})")?;
            }
            (ApiErrorOrigin::Stream, None) => f.write_str("API error in the stream")?,
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

/// An error status whose body was not an API error: an HTML page from a proxy or a
/// wrong base URL, plain text, nothing ([`Error::http`](crate::Error::http)).
///
/// # Example
///
/// This example shows a 404 page, which no retry can fix.
///
/// ```
/// use dashscope_glm::HttpError;
///
/// let err = HttpError::new(404, "<html>Not Found</html>");
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
}

impl HttpError {
    /// The longest snippet kept, in bytes.
    pub const SNIPPET_LEN: usize = 512;

    /// An error for `status` keeping the start of `body`.
    #[must_use]
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            body_snippet: snippet(body, Self::SNIPPET_LEN).to_owned(),
        }
    }

    /// Whether the status is one a retry may fix (408, 409, 429, 500, 502, 503, 504).
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::HttpError;
    ///
    /// let retryable = |status| HttpError::new(status, "").is_retryable();
    /// assert!(retryable(429) && retryable(503));
    /// assert!(!retryable(400) && !retryable(401) && !retryable(404));
    /// ```
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        is_retryable_status(self.status)
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if self.body_snippet.is_empty() {
            f.write_str(" with an empty body")
        } else {
            write!(f, ": {:?}", self.body_snippet)
        }
    }
}

/// A chunk whose data could not be used, with where it was and what it looked like
/// ([`Error::malformed_chunk`](crate::Error::malformed_chunk)).
///
/// # Example
///
/// This example shows the start of a chunk that is not JSON.
///
/// ```
/// use dashscope_glm::chat::{Accumulator, Protocol};
///
/// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
/// let err = acc.push_data(r#"{"choices":[{"delta":{"content":"a"}data: {"#).unwrap_err();
/// assert!(err.malformed_chunk().unwrap().snippet.starts_with(r#"{"choices""#));
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
}

impl MalformedChunk {
    /// The longest snippet kept, in bytes.
    pub const SNIPPET_LEN: usize = 256;

    pub(crate) fn new(message: String, data: &str, offset: u64) -> Self {
        Self {
            message,
            snippet: snippet(data, Self::SNIPPET_LEN).to_owned(),
            offset,
        }
    }
}

/// A tool call whose arguments did not parse: which call, and serde_json's error
/// ([`Error::tool_arguments_error`](crate::Error::tool_arguments_error); the error's
/// [`source`](std::error::Error::source) is serde_json's).
///
/// # Example
///
/// This example shows `?` on truncated arguments in a function returning the crate's
/// error.
///
/// ```
/// use dashscope_glm::chat::ToolCall;
/// use dashscope_glm::{Error, ErrorKind};
///
/// fn city(call: &ToolCall) -> Result<String, Error> {
///     let args = call.parse_arguments()?;
///     Ok(args["city"].as_str().unwrap_or_default().to_owned())
/// }
///
/// let cut = ToolCall::new(0, "c2", "get_weather", r#"{"city": "Bei"#);
/// let err = city(&cut).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::ToolArguments);
/// let which = err.tool_arguments_error().unwrap();
/// assert_eq!((which.index, which.name.as_str()), (0, "get_weather"));
/// assert!(which.json_error().is_eof());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToolArgumentsError {
    /// The call's [`index`](crate::chat::ToolCall::index).
    pub index: usize,
    /// The function name.
    pub name: String,
    json: Arc<serde_json::Error>,
}

impl ToolArgumentsError {
    pub(crate) fn new(index: usize, name: &str, json: serde_json::Error) -> Self {
        Self {
            index,
            name: name.to_owned(),
            json: Arc::new(json),
        }
    }

    /// serde_json's error: where the text stopped being valid, or what did not fit.
    #[must_use]
    pub fn json_error(&self) -> &serde_json::Error {
        &self.json
    }
}

/// Equal when about the same call and sharing the same serde_json error (a clone's).
impl PartialEq for ToolArgumentsError {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && self.name == other.name && Arc::ptr_eq(&self.json, &other.json)
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
