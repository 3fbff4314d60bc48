//! The small enums an [`Error`](crate::Error) is read through: its kind, and the kind
//! of timeout, limit or setting it names.

use std::fmt;

/// What kind of failure an [`Error`](crate::Error) is, in one word:
/// [`Error::kind`](crate::Error::kind).
///
/// It separates an API error that came as the HTTP answer ([`Api`](ErrorKind::Api))
/// from one that arrived inside a 2xx stream ([`Stream`](ErrorKind::Stream)), which
/// matters for a retry: part of the answer may already have been shown. What to *do*
/// about an error is [`Error::category`](crate::Error::category).
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
    /// A non-2xx answer whose body is not an API error
    /// ([`Error::http`](crate::Error::http)).
    Http,
    /// A non-2xx answer with an API error body ([`Error::api`](crate::Error::api)).
    Api,
    /// An API error inside a 2xx response's body: an `event:error`, an `{"error":...}`
    /// chunk, a native `code` ([`Error::api`](crate::Error::api)).
    Stream,
    /// The connection failed, or the body broke off before the response began; the I/O
    /// error is the [`source`](std::error::Error::source).
    Transport,
    /// A timeout expired ([`Error::timeout_kind`](crate::Error::timeout_kind)).
    Timeout,
    /// The body ended or broke off before the server said it was done; the I/O error,
    /// when there was one, is the [`source`](std::error::Error::source).
    Interrupted,
    /// An event's data was not a valid chunk
    /// ([`Error::malformed_chunk`](crate::Error::malformed_chunk)).
    Malformed,
    /// The SSE framing was broken ([`Error::sse`](crate::Error::sse)).
    Sse,
    /// A configured limit was exceeded ([`Error::limit`](crate::Error::limit)).
    Limit,
    /// The request was refused before sending ([`Error::rule`](crate::Error::rule)).
    Validation,
    /// The client's configuration is unusable
    /// ([`Error::config_kind`](crate::Error::config_kind)).
    Config,
    /// A tool call's arguments did not parse
    /// ([`Error::tool_arguments_error`](crate::Error::tool_arguments_error)).
    ToolArguments,
    /// The caller stopped the call (a `CancelToken` of the blocking client, or
    /// [`Error::cancelled`](crate::Error::cancelled) from a transport of your own).
    Cancelled,
}

impl ErrorKind {
    /// The kind's short name, as the `chat` example's `--json` output prints it:
    /// `http`, `api`, `stream`, `transport`, `timeout`, `interrupted`, `malformed`, `sse`,
    /// `limit`, `validation`, `config`, `tool_arguments`, `cancelled`.
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
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which timeout expired ([`Error::timeout_kind`](crate::Error::timeout_kind)).
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

/// Which configured limit a response went over ([`LimitExceeded::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKind {
    /// Tool calls in one response ([`chat::AccumulatorLimits::max_tool_calls`]).
    ///
    /// [`chat::AccumulatorLimits::max_tool_calls`]: crate::chat::AccumulatorLimits::max_tool_calls
    ToolCalls,
    /// Bytes of merged text, the reasoning, the content and every call's arguments
    /// together ([`chat::AccumulatorLimits::max_message_bytes`]).
    ///
    /// [`chat::AccumulatorLimits::max_message_bytes`]: crate::chat::AccumulatorLimits::max_message_bytes
    MessageBytes,
    /// Bytes of a whole response body merged at once: a non-streaming answer, or a
    /// gateway's JSON answer to a streaming request (the blocking client's
    /// `max_body_bytes`).
    BodyBytes,
}

impl LimitKind {
    /// What the limit counts, as the error message says it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ToolCalls => "tool calls per response",
            Self::MessageBytes => "message bytes",
            Self::BodyBytes => "non-streaming response body bytes",
        }
    }
}

/// A limit that was exceeded: which, and its value ([`Error::limit`](crate::Error::limit)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct LimitExceeded {
    /// Which limit.
    pub kind: LimitKind,
    /// Its configured value.
    pub limit: usize,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "limit exceeded: {} (limit {})",
            self.kind.as_str(),
            self.limit
        )
    }
}

/// Which setting made a configuration unusable
/// ([`Error::config_kind`](crate::Error::config_kind)). A configuration error is
/// never caused by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigKind {
    /// No API key, or one that cannot go in a header.
    ApiKey,
    /// A base URL or endpoint that is not usable (does not parse, plain `http://` to a
    /// host that is not loopback, credentials in it, a fragment, a query in a base URL,
    /// an endpoint without a path), or no URL for the protocol a client or request
    /// asks for.
    Url,
    /// A workspace id that is not a DNS label.
    Workspace,
    /// A region name the client does not know.
    Region,
    /// A protocol name the client does not know.
    Protocol,
    /// A proxy URL (given, or from the environment) that does not parse.
    Proxy,
    /// A default header or user agent that is not valid HTTP, or that the client writes
    /// itself.
    Header,
    /// A connection setting out of its range (a buffer size).
    Connection,
    /// Two settings that cannot go together (a custom agent with settings the client
    /// would have to make on its own agent).
    Conflict,
}
