//! The delta-merging state machine: wire chunks in, [`StreamEvent`]s and a
//! [`Completion`] out.

use std::ops::Range;
use std::sync::Arc;

use crate::chat::wire::{self, WireChunk, WireTool};
use crate::chat::{Completion, FinishReason, Protocol, ToolCall, Usage};
use crate::error::{ApiError, Error, LimitKind, MalformedChunk};
use crate::json::PartialJson;
use crate::sse;

/// What one chunk contributed, lent by [`Accumulator::next_event`].
///
/// Within one chunk the order is always: reasoning, content, tool calls (in the order of
/// their fragments), usage, finish. Text variants are the new text only (the delta);
/// the whole text so far is in [`Accumulator::completion`].
///
/// # Example
///
/// This example shows the events of one chunk, reasoning first.
///
/// ```
/// use dashscope_glm::chat::{Accumulator, Protocol, StreamEvent};
///
/// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
/// acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"lo","reasoning_content":"hm"}}]}"#)?;
/// assert!(matches!(acc.next_event(), Some(StreamEvent::Reasoning("hm"))));
/// assert!(matches!(acc.next_event(), Some(StreamEvent::Content("lo"))));
/// assert!(acc.next_event().is_none());
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent<'a> {
    /// New thinking text (`reasoning_content`).
    Reasoning(&'a str),
    /// New answer text (`content`).
    Content(&'a str),
    /// A tool call was opened. `id` and `name` are what the stream had said when the call
    /// opened; either may still be empty then (the final values are in the
    /// [`Completion`]).
    ToolCallStart {
        /// Position of the call in the completion's `tool_calls`.
        index: usize,
        /// The call id so far.
        id: &'a str,
        /// The function name so far.
        name: &'a str,
    },
    /// More argument text for the call at `index`.
    ToolCallArguments {
        /// Position of the call in the completion's `tool_calls`.
        index: usize,
        /// The new piece of the arguments' JSON text.
        fragment: &'a str,
    },
    /// The latest usage totals (they replace, never add to, earlier ones).
    Usage(&'a Usage),
    /// The model stopped, for this reason.
    Finish(FinishReason),
}

impl StreamEvent<'_> {
    /// The same event owning its text, to keep past the next call that lends one.
    ///
    /// # Example
    ///
    /// This example shows lent events kept as owned ones.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, OwnedStreamEvent, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]}"#)?;
    /// let mut kept = Vec::new();
    /// while let Some(event) = acc.next_event() {
    ///     kept.push(event.into_owned());
    /// }
    /// assert_eq!(kept[0], OwnedStreamEvent::Content("Hi".into()));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn into_owned(self) -> OwnedStreamEvent {
        match self {
            StreamEvent::Reasoning(t) => OwnedStreamEvent::Reasoning(t.to_owned()),
            StreamEvent::Content(t) => OwnedStreamEvent::Content(t.to_owned()),
            StreamEvent::ToolCallStart { index, id, name } => OwnedStreamEvent::ToolCallStart {
                index,
                id: id.to_owned(),
                name: name.to_owned(),
            },
            StreamEvent::ToolCallArguments { index, fragment } => {
                OwnedStreamEvent::ToolCallArguments {
                    index,
                    fragment: fragment.to_owned(),
                }
            }
            StreamEvent::Usage(usage) => OwnedStreamEvent::Usage(*usage),
            StreamEvent::Finish(reason) => OwnedStreamEvent::Finish(reason),
        }
    }
}

/// A [`StreamEvent`] that owns its text: what iterating a stream yields, and what
/// [`StreamEvent::into_owned`] makes. The variants and their meaning are
/// [`StreamEvent`]'s.
///
/// # Example
///
/// This example shows a lent event and its owned form.
///
/// ```
/// use dashscope_glm::chat::{OwnedStreamEvent, StreamEvent};
///
/// let owned = StreamEvent::Content("Hi").into_owned();
/// assert_eq!(owned, OwnedStreamEvent::Content("Hi".into()));
/// assert_eq!(OwnedStreamEvent::from(StreamEvent::Reasoning("hm")), OwnedStreamEvent::Reasoning("hm".into()));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OwnedStreamEvent {
    /// New thinking text (`reasoning_content`).
    Reasoning(String),
    /// New answer text (`content`).
    Content(String),
    /// A tool call was opened (see [`StreamEvent::ToolCallStart`]).
    ToolCallStart {
        /// Position of the call in the completion's `tool_calls`.
        index: usize,
        /// The call id so far.
        id: String,
        /// The function name so far.
        name: String,
    },
    /// More argument text for the call at `index`.
    ToolCallArguments {
        /// Position of the call in the completion's `tool_calls`.
        index: usize,
        /// The new piece of the arguments' JSON text.
        fragment: String,
    },
    /// The latest usage totals (they replace, never add to, earlier ones).
    Usage(Usage),
    /// The model stopped, for this reason.
    Finish(FinishReason),
}

impl From<StreamEvent<'_>> for OwnedStreamEvent {
    fn from(event: StreamEvent<'_>) -> Self {
        event.into_owned()
    }
}

/// Limits on what one response may grow to, for an [`Accumulator`] (given to
/// [`Accumulator::with_limits`], read back with [`Accumulator::limits`]).
///
/// The defaults (128 tool calls, 64 MiB of text) are [`AccumulatorLimits::new`] and
/// [`AccumulatorLimits::default`]; each setter is named after the field it sets.
///
/// # Example
///
/// This example shows the default byte budget beside a tighter tool-call limit.
///
/// ```
/// use dashscope_glm::chat::AccumulatorLimits;
///
/// let limits = AccumulatorLimits::new().max_tool_calls(8);
/// assert_eq!(limits.max_message_bytes, 64 << 20);
/// assert_eq!(AccumulatorLimits::default(), AccumulatorLimits::new());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccumulatorLimits {
    /// Tool calls in one response (default 128).
    pub max_tool_calls: usize,
    /// Bytes of reasoning, content and tool arguments together (default 64 MiB).
    pub max_message_bytes: usize,
}

impl AccumulatorLimits {
    /// The default limits: 128 tool calls, 64 MiB of text.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            max_tool_calls: 128,
            max_message_bytes: 64 << 20,
        }
    }

    /// Sets the most tool calls one response may open. Defaults to 128.
    #[must_use]
    pub const fn max_tool_calls(mut self, n: usize) -> Self {
        self.max_tool_calls = n;
        self
    }

    /// Sets the most bytes of reasoning, content and tool arguments together. Defaults to
    /// 64 MiB.
    #[must_use]
    pub const fn max_message_bytes(mut self, n: usize) -> Self {
        self.max_message_bytes = n;
        self
    }
}

impl Default for AccumulatorLimits {
    fn default() -> Self {
        Self::new()
    }
}

/// An event the accumulator owes its caller: ranges into the merged state, resolved to
/// borrowed [`StreamEvent`]s when asked for, so queuing one costs no allocation.
#[derive(Debug, Clone, Copy)]
enum Pending {
    /// `reasoning_content[start..end]`.
    Reasoning {
        start: usize,
        end: usize,
    },
    /// `content[start..end]`.
    Content {
        start: usize,
        end: usize,
    },
    /// The tool call at this index.
    ToolStart(usize),
    /// `tool_calls[call].arguments[start..end]`.
    ToolArguments {
        call: usize,
        start: usize,
        end: usize,
    },
    Usage,
    Finish,
}

/// Which growing text a delta goes to.
#[derive(Clone, Copy)]
enum Growing {
    Reasoning,
    Content,
}

/// Per-call bookkeeping beside the public [`ToolCall`].
#[derive(Debug)]
struct CallState {
    /// The wire `index` this call was opened under (`None`: opened without one).
    wire_index: Option<u64>,
    /// The arguments parsed as they stream, when tracking is on.
    tracker: Option<PartialJson>,
}

/// Turns one response's SSE events into [`StreamEvent`]s and, at the end, a
/// [`Completion`]. Sans-IO: it never reads or blocks.
///
/// Use [`push`](Accumulator::push) for each item of the crate's SSE decoder (events and
/// comments: it sees the event type and DashScope's `:HTTP_STATUS` comments), and
/// [`push_data`](Accumulator::push_data) for a data payload alone (an event's data from
/// another SSE parser, or a whole non-streaming JSON body).
///
/// In three steps, repeated:
/// 1. hand it each SSE item ([`push`](Accumulator::push)) or data payload
///    ([`push_data`](Accumulator::push_data));
/// 2. drain [`next_event`](Accumulator::next_event) until it returns `None`;
/// 3. at the end of the body, call [`finish`](Accumulator::finish).
///
/// # Tool-call identity
///
/// Servers disagree on how tool-call fragments say which call they belong to. One
/// policy covers all of them:
/// - fragments are keyed by their wire `index`; gaps or a first index of 1 create no
///   phantom calls;
/// - an empty or missing `id` or `name` is absent: it never overwrites, and an id or name
///   repeated on every fragment is stored once;
/// - a different non-empty `id` at an index that already has one opens a new call (some
///   servers give every parallel call index 0); a different non-empty `name` with the
///   same or no id is a malformed stream;
/// - a fragment without `index` goes to the call with the same id, else to the latest
///   call (a new non-empty id opens a new one), else to a new call at index 0;
/// - arguments append verbatim; an empty fragment changes nothing;
/// - a call is final only at the end ([`finish`](Accumulator::finish)), never because its
///   arguments happen to parse; a call the server never gave an id gets
///   `call_synthetic_<index>` there, marked [`ToolCall::id_synthetic`];
/// - at most [`AccumulatorLimits::max_tool_calls`] calls.
///
/// # End of stream
///
/// The stream is finished when a finish reason arrived, or, on the OpenAI-compatible
/// protocol, at `data: [DONE]` (then the finish reason may be `None`). Events after
/// `[DONE]` are ignored. [`finish`](Accumulator::finish) on a stream that is not finished
/// returns an [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted) error with
/// everything merged so far.
///
/// # Errors
///
/// In-band errors (`event:error`, `{"error": ...}`, a native non-empty `code`) become
/// [`ErrorKind::Stream`](crate::ErrorKind::Stream) errors, data that is not a valid chunk
/// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed); both carry the partial
/// completion. After an error the accumulator is failed: every later call returns the same
/// error.
///
/// # Example
///
/// This example shows a native stream merged event by event.
///
/// ```
/// use dashscope_glm::chat::{Accumulator, FinishReason, Protocol, StreamEvent};
///
/// let mut acc = Accumulator::new(Protocol::DashScope);
/// for data in [
///     r#"{"output":{"choices":[{"message":{"content":"","reasoning_content":"Sum.","role":"assistant"},"finish_reason":"null"}]},"usage":{"input_tokens":10,"output_tokens":2,"total_tokens":12},"request_id":"5c0a"}"#,
///     r#"{"output":{"choices":[{"message":{"content":"2","reasoning_content":"","role":"assistant"},"finish_reason":"stop"}]},"usage":{"input_tokens":10,"output_tokens":3,"total_tokens":13},"request_id":"5c0a"}"#,
/// ] {
///     acc.push_data(data)?;
///     while let Some(event) = acc.next_event() {
///         if let StreamEvent::Content(text) = event {
///             print!("{text}");
///         }
///     }
/// }
/// let completion = acc.finish()?;
/// assert_eq!(completion.message.reasoning_content, "Sum.");
/// assert_eq!(completion.message.content, "2");
/// assert_eq!(completion.finish_reason, Some(FinishReason::Stop));
/// assert_eq!(completion.usage.unwrap().output_tokens, 3);
/// assert_eq!(completion.request_id.as_deref(), Some("5c0a"));
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
#[derive(Debug)]
pub struct Accumulator {
    protocol: Protocol,
    cumulative: bool,
    limits: AccumulatorLimits,
    chunk: WireChunk,
    state: State,
}

/// Everything but the chunk scratch, so that a chunk can be applied while borrowed.
#[derive(Debug, Default)]
struct State {
    completion: Completion,
    calls: Vec<CallState>,
    pending: Vec<Pending>,
    cursor: usize,
    /// The `:HTTP_STATUS/<n>` comment seen since the last event, if any.
    status: Option<u16>,
    done: bool,
    failed: Option<Error>,
    message_bytes: usize,
    ignored_choices: u64,
    track_arguments: bool,
    /// Cumulative mode: a chunk's whole text, unescaped, to compare with the merged one.
    scratch: String,
}

impl Accumulator {
    /// A new accumulator for one response of `protocol`, with default
    /// [`AccumulatorLimits`].
    ///
    /// # Example
    ///
    /// This example shows a new accumulator: nothing merged, nothing owed, not finished.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Completion, Protocol};
    ///
    /// let acc = Accumulator::new(Protocol::DashScope);
    /// assert_eq!(acc.protocol(), Protocol::DashScope);
    /// assert!(!acc.has_event() && !acc.is_complete());
    /// assert_eq!(acc.completion(), &Completion::default());
    /// ```
    #[must_use]
    pub fn new(protocol: Protocol) -> Self {
        Self::with_limits(protocol, AccumulatorLimits::default())
    }

    /// A new accumulator for one response of `protocol`, bounded by `limits` (see
    /// [`limits`](Accumulator::limits)), as `sse::Decoder::with_limits` and
    /// `json::PartialJson::with_limits` are made.
    ///
    /// # Example
    ///
    /// This example shows a response that grows past a 4-byte budget.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, AccumulatorLimits, Protocol};
    /// use dashscope_glm::LimitKind;
    ///
    /// let limits = AccumulatorLimits::new().max_message_bytes(4);
    /// let mut acc = Accumulator::with_limits(Protocol::OpenAiCompatible, limits);
    /// assert_eq!(acc.limits(), limits);
    /// let err = acc
    ///     .push_data(r#"{"choices":[{"index":0,"delta":{"content":"Hello"}}]}"#)
    ///     .unwrap_err();
    /// assert_eq!(err.limit().unwrap().kind, LimitKind::MessageBytes);
    /// ```
    #[must_use]
    pub fn with_limits(protocol: Protocol, limits: AccumulatorLimits) -> Self {
        Self {
            protocol,
            cumulative: false,
            limits,
            chunk: WireChunk::default(),
            state: State::default(),
        }
    }

    /// The limits on what the response may grow to, as given to
    /// [`with_limits`](Accumulator::with_limits) (else the defaults).
    #[must_use]
    pub fn limits(&self) -> AccumulatorLimits {
        self.limits
    }

    /// Treats every chunk's texts as the whole text so far (native
    /// `incremental_output: false`): deltas become the new suffix, never repeated text.
    /// A text that neither extends nor repeats a prefix of what came before is a
    /// malformed stream.
    ///
    /// # Example
    ///
    /// This example shows native events that repeat the text so far turned back into deltas.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol, StreamEvent};
    ///
    /// let mut acc = Accumulator::new(Protocol::DashScope).cumulative(true);
    /// acc.push_data(r#"{"output":{"choices":[{"message":{"role":"assistant","content":"Hel"},"finish_reason":"null"}]}}"#)?;
    /// assert_eq!(acc.next_event(), Some(StreamEvent::Content("Hel")));
    /// acc.push_data(r#"{"output":{"choices":[{"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}]}}"#)?;
    /// assert_eq!(acc.next_event(), Some(StreamEvent::Content("lo")));
    /// assert_eq!(acc.finish()?.message.content, "Hello");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn cumulative(mut self, cumulative: bool) -> Self {
        self.cumulative = cumulative;
        self
    }

    /// Decodes every chunk with the serde-derive structs only, the reference the fast
    /// chunk decoder is tested and fuzzed against (see `crate::__private`).
    pub(crate) fn serde_decoding_only(mut self) -> Self {
        self.chunk.serde_only = true;
        self
    }

    /// Parses each tool call's arguments as they stream, with [`PartialJson`], so that
    /// [`tool_arguments`](Accumulator::tool_arguments) shows the best value so far (a
    /// form that fills in, a file being written). Off by default: it costs a parse of
    /// every argument byte. Arguments that stop being valid JSON stop updating the value;
    /// the raw text still grows, and [`ToolCall::parse_arguments`] gives the verdict.
    ///
    /// # Example
    ///
    /// This example shows the same truncated arguments without and with tracking.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    ///
    /// let chunk = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{\"city\": \"Bei"}}]}}]}"#;
    /// let mut plain = Accumulator::new(Protocol::OpenAiCompatible);
    /// plain.push_data(chunk)?;
    /// assert_eq!(plain.tool_arguments(0), None);
    /// let mut tracked = Accumulator::new(Protocol::OpenAiCompatible).track_arguments(true);
    /// tracked.push_data(chunk)?;
    /// assert_eq!(tracked.tool_arguments(0), Some(&serde_json::json!({"city": "Bei"})));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn track_arguments(mut self, track: bool) -> Self {
        self.set_track_arguments(track);
        self
    }

    /// Turns argument tracking on or off in place (see
    /// [`track_arguments`](Accumulator::track_arguments)); tool calls opened before the
    /// call keep what they had.
    pub(crate) fn set_track_arguments(&mut self, track: bool) {
        self.state.track_arguments = track;
    }

    /// The protocol this accumulator decodes.
    #[must_use]
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Takes one item of the crate's SSE decoder: an event, or a comment. On the native
    /// protocol a `HTTP_STATUS/<n>` comment gives the status of the event that follows;
    /// every other comment (keep-alives) is ignored. An event of type `error` is an
    /// in-band error; an event's byte offset ends up in a malformed-chunk error.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Stream`](crate::ErrorKind::Stream) for an in-band error,
    /// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed) for data that is not a chunk,
    /// [`ErrorKind::Limit`](crate::ErrorKind::Limit); or the earlier error if the
    /// accumulator has failed already.
    ///
    /// # Example
    ///
    /// This example shows the accumulator fed straight from the SSE decoder.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    /// use dashscope_glm::sse::Decoder;
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}}\n\n");
    /// let mut acc = Accumulator::new(Protocol::DashScope);
    /// while let Some(item) = decoder.next_item() {
    ///     acc.push(&item?)?;
    /// }
    /// assert_eq!(acc.finish()?.message.content, "Hi");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    ///
    /// This example shows an `HTTP_STATUS/400` comment giving the status of the
    /// `event:error` that follows it.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    /// use dashscope_glm::sse::Decoder;
    /// use dashscope_glm::ErrorKind;
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.feed(b":HTTP_STATUS/400\nevent:error\ndata:{\"code\":\"InvalidParameter\",\"message\":\"Range of input length should be [1, 202752]\",\"request_id\":\"4f2e\"}\n\n");
    /// let mut acc = Accumulator::new(Protocol::DashScope);
    /// acc.push(&decoder.next_item().unwrap()?)?;
    /// let err = acc.push(&decoder.next_item().unwrap()?).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Stream);
    /// let api = err.api().unwrap();
    /// assert_eq!((api.status, api.code.as_deref()), (Some(400), Some("InvalidParameter")));
    /// assert!(!err.is_retryable());
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn push(&mut self, item: &sse::Item<'_>) -> Result<(), Error> {
        match item {
            sse::Item::Event(event) => {
                self.push_parts(event.event_type(), event.data(), event.offset())
            }
            sse::Item::Comment(text) => {
                if let Some(err) = &self.state.failed {
                    return Err(err.clone());
                }
                if let Some(code) = text.trim_ascii().strip_prefix("HTTP_STATUS/") {
                    self.state.status = code.trim_ascii().parse().ok();
                }
                Ok(())
            }
        }
    }

    /// Takes one data payload: the data of an SSE event read by another parser (taken
    /// as a `message` event at offset 0, with no `:HTTP_STATUS` before it), or a whole
    /// non-streaming JSON body. Either protocol's error shapes (`{"error": ...}`, a native
    /// non-empty `code`) are in-band errors here too; empty data (a keep-alive) is
    /// ignored, and `[DONE]` is the OpenAI-compatible end marker.
    ///
    /// # Errors
    ///
    /// As [`push`](Accumulator::push).
    ///
    /// # Example
    ///
    /// This example shows an OpenAI-compatible stream that reaches `[DONE]` without a
    /// finish reason, which is a finished stream.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data("")?;
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#)?;
    /// acc.push_data("[DONE]")?;
    /// let completion = acc.finish()?;
    /// assert_eq!(completion.message.content, "Hi");
    /// assert_eq!(completion.finish_reason, None);
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    ///
    /// This example shows an in-band error that fails the accumulator.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    /// use dashscope_glm::Error;
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// let data = r#"{"error":{"code":"invalid_api_key","message":"Incorrect API key provided."}}"#;
    /// let err = acc.push_data(data).unwrap_err();
    /// assert_eq!(err.code(), Some("invalid_api_key"));
    /// assert_eq!(acc.push_data("[DONE]"), Err(err));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn push_data(&mut self, data: &str) -> Result<(), Error> {
        self.push_parts("message", data, 0)
    }

    /// Merges a whole JSON answer (a body that is not a stream: a non-streaming call's,
    /// or a gateway's that answered a streaming request without streaming) as the only
    /// chunk of a finished response: [`push_data`](Accumulator::push_data) of the body,
    /// then the end marker, so that an answer without a finish reason is finished too.
    ///
    /// # Errors
    ///
    /// As [`push_data`](Accumulator::push_data): an error body is an in-band error, a
    /// body that is not a chunk is malformed.
    ///
    /// # Example
    ///
    /// This example merges a non-streaming native answer.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, FinishReason, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::DashScope).request_id("hdr-1");
    /// acc.push_body(r#"{"output":{"choices":[{"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]},"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}}"#)?;
    /// let completion = acc.finish()?;
    /// assert_eq!(completion.message.content, "Hi");
    /// assert_eq!(completion.finish_reason, Some(FinishReason::Stop));
    /// assert_eq!(completion.request_id.as_deref(), Some("hdr-1"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn push_body(&mut self, body: &str) -> Result<(), Error> {
        self.push_data(body)?;
        self.push_data("[DONE]")
    }

    /// One SSE event: its type, its data, and its byte offset in the stream (for error
    /// messages; 0 if unknown).
    fn push_parts(&mut self, event_type: &str, data: &str, offset: u64) -> Result<(), Error> {
        if let Some(err) = &self.state.failed {
            return Err(err.clone());
        }
        self.state.release_consumed();
        let status = self.state.status.take();
        if self.state.done {
            return Ok(());
        }
        let result = self.push_inner(event_type, data, offset, status);
        result.map_err(|e| self.state.fail(e))
    }

    fn push_inner(
        &mut self,
        event_type: &str,
        data: &str,
        offset: u64,
        status: Option<u16>,
    ) -> Result<(), Error> {
        if event_type == "error" {
            return Err(self.error_event(data, status));
        }
        if data.is_empty() || event_type == "done" {
            return Ok(());
        }
        if data.trim_ascii() == "[DONE]" {
            self.state.done = true;
            return Ok(());
        }
        match wire::decode(data, &mut self.chunk) {
            Ok(()) => self.apply(status, data, offset),
            // Older native gateways omit the blank line between events, so several
            // `data:` lines can arrive joined in one event: take each line on its own.
            Err(_) if self.protocol == Protocol::DashScope && data.contains('\n') => {
                for line in data.split('\n').filter(|l| !l.trim_ascii().is_empty()) {
                    wire::decode(line, &mut self.chunk).map_err(|e| {
                        Error::malformed(MalformedChunk::new(e.to_string(), line, offset))
                    })?;
                    self.apply(status, line, offset)?;
                }
                Ok(())
            }
            Err(e) => Err(Error::malformed(MalformedChunk::new(
                e.to_string(),
                data,
                offset,
            ))),
        }
    }

    /// An `event:error`: its data is `{code, message, request_id}` or `{"error": ...}`;
    /// anything else is kept as the message.
    fn error_event(&mut self, data: &str, status: Option<u16>) -> Error {
        match wire::decode(data, &mut self.chunk) {
            Ok(()) => self.api_error(status),
            Err(_) => {
                let snippet = MalformedChunk::new(String::new(), data, 0).snippet;
                Error::from(ApiError::in_stream(
                    status,
                    None,
                    snippet,
                    self.state.completion.request_id.clone(),
                ))
            }
        }
    }

    fn api_error(&self, status: Option<u16>) -> Error {
        let c = &self.chunk;
        let code = (!c.error_code.is_empty()).then(|| c.error_code.clone());
        let request_id = if c.request_id.is_empty() {
            self.state.completion.request_id.clone()
        } else {
            Some(c.request_id.clone())
        };
        Error::from(ApiError::in_stream(
            status,
            code,
            c.error_message.clone(),
            request_id,
        ))
    }

    fn apply(&mut self, status: Option<u16>, data: &str, offset: u64) -> Result<(), Error> {
        if self.chunk.has_error {
            return Err(self.api_error(status));
        }
        let ctx = Ctx {
            cumulative: self.cumulative,
            limits: &self.limits,
            data,
            offset,
        };
        self.state.apply(&self.chunk, &ctx)
    }

    /// What was merged so far as an error's partial completion: a copy, with ids made
    /// up for tool calls that came without one, as [`finish`](Accumulator::finish) and
    /// every error of the accumulator's own give them.
    pub(crate) fn partial(&self) -> Arc<Completion> {
        Arc::new(self.state.partial())
    }

    /// The error the accumulator failed with, if it has.
    pub(crate) fn failure(&self) -> Option<&Error> {
        self.state.failed.as_ref()
    }

    /// Fails the accumulator with an error found outside it (a framing error).
    pub(crate) fn fail(&mut self, err: Error) -> Error {
        if let Some(err) = &self.state.failed {
            return err.clone();
        }
        self.state.fail(err)
    }

    /// Fails the accumulator with an error about input it never merged (a whole body
    /// that is too long, or not UTF-8): as it is, without a partial completion.
    pub(crate) fn fail_unmerged(&mut self, err: Error) -> Error {
        if let Some(err) = &self.state.failed {
            return err.clone();
        }
        self.state.failed = Some(err.clone());
        err
    }

    /// The next event owed from what was pushed, or `None` when all were taken.
    ///
    /// # Example
    ///
    /// This example shows the events of a tool call's first fragment.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol, StreamEvent};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"get_weather","arguments":"{\"city\""}}]}}]}"#)?;
    /// let start = StreamEvent::ToolCallStart { index: 0, id: "call_1", name: "get_weather" };
    /// assert_eq!(acc.next_event(), Some(start));
    /// let arguments = StreamEvent::ToolCallArguments { index: 0, fragment: r#"{"city""# };
    /// assert_eq!(acc.next_event(), Some(arguments));
    /// assert_eq!(acc.next_event(), None);
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn next_event(&mut self) -> Option<StreamEvent<'_>> {
        let pending = *self.state.pending.get(self.state.cursor)?;
        self.state.cursor += 1;
        let completion = &self.state.completion;
        let message = &completion.message;
        let tool = |i: usize| message.tool_calls.get(i);
        Some(match pending {
            Pending::Reasoning { start, end } => {
                StreamEvent::Reasoning(message.reasoning_content.get(start..end)?)
            }
            Pending::Content { start, end } => {
                StreamEvent::Content(message.content.get(start..end)?)
            }
            Pending::ToolStart(i) => {
                let call = tool(i)?;
                StreamEvent::ToolCallStart {
                    index: i,
                    id: &call.id,
                    name: &call.name,
                }
            }
            Pending::ToolArguments { call, start, end } => StreamEvent::ToolCallArguments {
                index: call,
                fragment: tool(call)?.arguments.get(start..end)?,
            },
            Pending::Usage => StreamEvent::Usage(completion.usage.as_ref()?),
            Pending::Finish => StreamEvent::Finish(completion.finish_reason.clone()?),
        })
    }

    /// Whether [`next_event`](Accumulator::next_event) has something to return.
    #[must_use]
    pub fn has_event(&self) -> bool {
        self.state.cursor < self.state.pending.len()
    }

    /// Whether the server said the answer is complete: a finish reason arrived, or
    /// `[DONE]` (see [`received_done`](Self::received_done) for the marker alone).
    ///
    /// # Example
    ///
    /// This example shows a stream finished by its finish reason, before `[DONE]`.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]}"#)?;
    /// assert!(acc.is_complete() && !acc.received_done());
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.state.completion.finish_reason.is_some() || self.state.done
    }

    /// Whether the OpenAI-compatible end marker `data: [DONE]` arrived; after it every
    /// event is ignored. The native protocol has no such marker.
    ///
    /// # Example
    ///
    /// This example shows that events after `[DONE]` are ignored.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data("[DONE]")?;
    /// assert!(acc.received_done() && acc.is_complete());
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"late"}}]}"#)?;
    /// assert_eq!(acc.completion().message.content, "");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn received_done(&self) -> bool {
        self.state.done
    }

    /// Everything merged so far. Tool calls may still lack their id and name here; the
    /// synthetic ids are only given at [`finish`](Accumulator::finish).
    ///
    /// # Example
    ///
    /// This example shows a call without an id: empty while streaming, synthetic at the end.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"now","arguments":""}}]},"finish_reason":"tool_calls"}]}"#)?;
    /// assert_eq!(acc.completion().message.tool_calls[0].id, "");
    /// let completion = acc.finish()?;
    /// assert_eq!(completion.message.tool_calls[0].id, "call_synthetic_0");
    /// assert!(completion.message.tool_calls[0].id_synthetic);
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn completion(&self) -> &Completion {
        &self.state.completion
    }

    /// The tool call at `index` (its position), as merged so far.
    ///
    /// # Example
    ///
    /// This example shows that a call is found by its position, not by its wire `index`.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_a","function":{"name":"f","arguments":"{}"}}]}}]}"#)?;
    /// let call = acc.tool_call(0).expect("the first call, whatever its wire index");
    /// assert_eq!((call.index, call.id.as_str()), (0, "call_a"));
    /// assert!(acc.tool_call(1).is_none());
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn tool_call(&self, index: usize) -> Option<&ToolCall> {
        self.state.completion.message.tool_calls.get(index)
    }

    /// The arguments of the tool call at `index` parsed so far (the best value, rooted at
    /// the document root), when [`track_arguments`](Accumulator::track_arguments) is on.
    ///
    /// # Example
    ///
    /// This example shows a half-written path argument read as the best value so far.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible).track_arguments(true);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"write","arguments":"{\"path\": \"notes.t"}}]}}]}"#)?;
    /// assert_eq!(acc.tool_arguments(0), Some(&serde_json::json!({"path": "notes.t"})));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn tool_arguments(&self, index: usize) -> Option<&serde_json::Value> {
        self.arguments_tracker(index)?.value()
    }

    /// The [`PartialJson`] following the arguments of the tool call at `index`, when
    /// tracking is on: its [`string_deltas`](PartialJson::string_deltas) tell which
    /// argument string the last chunk grew, and by what.
    ///
    /// # Example
    ///
    /// This example shows which argument string the last chunk grew.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible).track_arguments(true);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"write","arguments":"{\"text\": \"Hel"}}]}}]}"#)?;
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"lo"}}]}}]}"#)?;
    /// let delta = acc.arguments_tracker(0).unwrap().string_deltas().next().unwrap();
    /// assert_eq!(delta.pointer(), "/text");
    /// assert_eq!(delta.text(), "lo");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn arguments_tracker(&self, index: usize) -> Option<&PartialJson> {
        self.state.calls.get(index)?.tracker.as_ref()
    }

    /// How many `choices[]` entries other than choice 0 were seen and not merged (a
    /// request with `n` > 1; GLM does not support it). Choice 0 is the entry with
    /// `"index": 0`, or the first one when the entries carry no index.
    ///
    /// # Example
    ///
    /// This example shows a second choice counted and left out of the completion.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data(r#"{"choices":[{"index":1,"delta":{"content":"b"}},{"index":0,"delta":{"content":"a"}}]}"#)?;
    /// assert_eq!(acc.completion().message.content, "a");
    /// assert_eq!(acc.ignored_choices(), 1);
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn ignored_choices(&self) -> u64 {
        self.state.ignored_choices
    }

    /// Records a request id learnt outside the body (the `x-request-id` response
    /// header), given before the body: it is the completion's id, and an id the body
    /// gives later is not taken. An empty id changes nothing.
    ///
    /// Like every setting of an accumulator it is given when the accumulator is made
    /// (the response head, which carries the header, comes before the body), so there is
    /// no `set_` form.
    ///
    /// # Example
    ///
    /// This example shows the header's id kept over the body's, and the body's id taken
    /// when no header gave one.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    ///
    /// let chunk = r#"{"output":{"choices":[{"message":{"role":"assistant","content":"a"},"finish_reason":"null"}]},"request_id":"body-1"}"#;
    /// let mut with_header = Accumulator::new(Protocol::DashScope).request_id("hdr-1");
    /// with_header.push_data(chunk)?;
    /// assert_eq!(with_header.completion().request_id.as_deref(), Some("hdr-1"));
    ///
    /// let mut without = Accumulator::new(Protocol::DashScope).request_id("");
    /// without.push_data(chunk)?;
    /// assert_eq!(without.completion().request_id.as_deref(), Some("body-1"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn request_id(mut self, id: &str) -> Self {
        self.set_request_id(id);
        self
    }

    /// [`request_id`](Accumulator::request_id) in place: the id unless one is set.
    pub(crate) fn set_request_id(&mut self, id: &str) {
        if self.state.completion.request_id.is_none() && !id.is_empty() {
            self.state.completion.request_id = Some(id.to_owned());
        }
    }

    /// Ends the response and returns the merged [`Completion`].
    ///
    /// # Errors
    ///
    /// The error the accumulator failed with, if any; else
    /// [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted) (with the partial
    /// completion) when the stream did not finish (see the type docs).
    ///
    /// # Example
    ///
    /// This example shows a stream that stopped early: the error carries what was merged.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Protocol};
    /// use dashscope_glm::{Error, ErrorKind};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"Half"}}]}"#)?;
    /// let err = acc.finish().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Interrupted);
    /// assert_eq!(err.partial().unwrap().message.content, "Half");
    /// # Ok::<(), Error>(())
    /// ```
    pub fn finish(mut self) -> Result<Completion, Error> {
        if let Some(err) = self.state.failed.take() {
            return Err(err);
        }
        let finished = self.is_complete();
        let mut completion = std::mem::take(&mut self.state.completion);
        synthesize_ids(&mut completion);
        if finished {
            Ok(completion)
        } else {
            Err(Error::interrupted(completion.into()))
        }
    }
}

fn synthesize_ids(completion: &mut Completion) {
    for call in &mut completion.message.tool_calls {
        if call.id.is_empty() {
            call.id = format!("call_synthetic_{}", call.index);
            call.id_synthetic = true;
        }
    }
}

/// What applying one chunk needs besides the state.
struct Ctx<'a> {
    cumulative: bool,
    limits: &'a AccumulatorLimits,
    data: &'a str,
    offset: u64,
}

impl Ctx<'_> {
    fn malformed(&self, message: &str) -> Error {
        Error::malformed(MalformedChunk::new(
            message.to_owned(),
            self.data,
            self.offset,
        ))
    }
}

impl State {
    /// Drops the events already taken, keeping the queue's capacity.
    fn release_consumed(&mut self) {
        if self.cursor >= self.pending.len() {
            self.pending.clear();
            self.cursor = 0;
        }
    }

    fn partial(&self) -> Completion {
        let mut partial = self.completion.clone();
        synthesize_ids(&mut partial);
        partial
    }

    fn fail(&mut self, err: Error) -> Error {
        let err = err.with_partial(|| self.partial());
        self.failed = Some(err.clone());
        err
    }

    fn apply(&mut self, chunk: &WireChunk, ctx: &Ctx<'_>) -> Result<(), Error> {
        self.ignored_choices = self
            .ignored_choices
            .saturating_add(u64::from(chunk.ignored_choices));
        let completion = &mut self.completion;
        // The first non-empty value of each is kept; later ones are not even copied.
        for (field, value) in [
            (&mut completion.request_id, chunk.request_id.as_str()),
            (&mut completion.model, chunk.model.get(ctx.data)),
            (&mut completion.id, chunk.id.get(ctx.data)),
        ] {
            if field.is_none() && !value.is_empty() {
                *field = Some(value.to_owned());
            }
        }
        if completion.created.is_none() {
            completion.created = chunk.created;
        }
        let mut finish = None;
        if chunk.has_choice {
            let choice = &chunk.choice;
            if let Some(text) = choice.reasoning() {
                self.append_text(Growing::Reasoning, std::slice::from_ref(&text), ctx)?;
            }
            if let Some(parts) = choice.content() {
                self.append_text(Growing::Content, parts, ctx)?;
            }
            if choice.ignored_parts > 0 {
                let ignored = &mut self.completion.ignored_content_parts;
                *ignored = ignored.saturating_add(u64::from(choice.ignored_parts));
            }
            for fragment in choice.tools() {
                self.apply_tool(fragment, ctx)?;
            }
            finish = FinishReason::from_wire(choice.finish.get(ctx.data));
        }
        if let Some(usage) = chunk.usage {
            self.completion.usage = Some(usage);
            self.pending.push(Pending::Usage);
        }
        if let Some(reason) = finish {
            self.completion.finish_reason = Some(reason);
            self.pending.push(Pending::Finish);
        }
        Ok(())
    }

    /// Appends a delta (or, in cumulative mode, the new suffix of a whole text) and owes
    /// the caller an event for it.
    fn append_text(
        &mut self,
        which: Growing,
        text: &[wire::TextSpan],
        ctx: &Ctx<'_>,
    ) -> Result<(), Error> {
        let message = &mut self.completion.message;
        let buffer = match which {
            Growing::Reasoning => &mut message.reasoning_content,
            Growing::Content => &mut message.content,
        };
        let Some(range) = grow(
            buffer,
            text,
            ctx,
            &mut self.message_bytes,
            &mut self.scratch,
        )?
        else {
            return Ok(());
        };
        self.pending.push(match which {
            Growing::Reasoning => Pending::Reasoning {
                start: range.start,
                end: range.end,
            },
            Growing::Content => Pending::Content {
                start: range.start,
                end: range.end,
            },
        });
        Ok(())
    }

    fn apply_tool(&mut self, fragment: &WireTool, ctx: &Ctx<'_>) -> Result<(), Error> {
        let (id, name) = (fragment.id.get(ctx.data), fragment.name.get(ctx.data));
        let slot = self.route(fragment.index, id, ctx.limits)?;
        let Some(call) = self.completion.message.tool_calls.get_mut(slot) else {
            return Ok(());
        };
        if call.id.is_empty() && !id.is_empty() {
            call.id.push_str(id);
        }
        if !name.is_empty() {
            if call.name.is_empty() {
                call.name.push_str(name);
            } else if call.name != name {
                return Err(ctx.malformed(&format!(
                    "tool call {slot} changed its name from {:?} to {name:?} without a new id",
                    call.name
                )));
            }
        }
        let Some(text) = fragment.arguments else {
            return Ok(());
        };
        if let Some(added) = grow(
            &mut call.arguments,
            std::slice::from_ref(&text),
            ctx,
            &mut self.message_bytes,
            &mut self.scratch,
        )? {
            // `grow` returns the range it appended to the arguments.
            let text = call.arguments.get(added.clone());
            debug_assert!(text.is_some(), "{added:?} is outside the arguments");
            if let (Some(text), Some(tracker)) = (
                text,
                self.calls.get_mut(slot).and_then(|c| c.tracker.as_mut()),
            ) {
                // A tracker that failed keeps its error and its last value; the raw text
                // is what counts (see `track_arguments`).
                let _ = tracker.push(text);
            }
            self.pending.push(Pending::ToolArguments {
                call: slot,
                start: added.start,
                end: added.end,
            });
        }
        Ok(())
    }

    /// Finds the call a fragment belongs to, opening a new one if needed (see the tool-call
    /// identity policy on [`Accumulator`]).
    fn route(
        &mut self,
        index: Option<u64>,
        id: &str,
        limits: &AccumulatorLimits,
    ) -> Result<usize, Error> {
        let calls = &self.completion.message.tool_calls;
        let differs = |slot: usize| {
            !id.is_empty()
                && calls
                    .get(slot)
                    .is_some_and(|c| !c.id.is_empty() && c.id != id)
        };
        match index {
            Some(index) => match self.calls.iter().rposition(|c| c.wire_index == Some(index)) {
                Some(slot) if !differs(slot) => Ok(slot),
                _ => self.open(Some(index), limits),
            },
            None => {
                if !id.is_empty() {
                    if let Some(slot) = calls.iter().position(|c| c.id == id) {
                        return Ok(slot);
                    }
                }
                match calls.len().checked_sub(1) {
                    Some(last) if !differs(last) => Ok(last),
                    Some(_) => self.open(None, limits),
                    None => self.open(Some(0), limits),
                }
            }
        }
    }

    fn open(
        &mut self,
        wire_index: Option<u64>,
        limits: &AccumulatorLimits,
    ) -> Result<usize, Error> {
        let calls = &mut self.completion.message.tool_calls;
        let slot = calls.len();
        if slot >= limits.max_tool_calls {
            return Err(Error::limit_exceeded(
                LimitKind::ToolCalls,
                limits.max_tool_calls,
            ));
        }
        calls.push(ToolCall::new(
            slot,
            String::new(),
            String::new(),
            String::new(),
        ));
        let tracker = self.track_arguments.then(PartialJson::new);
        self.calls.push(CallState {
            wire_index,
            tracker,
        });
        self.pending.push(Pending::ToolStart(slot));
        Ok(slot)
    }
}

/// Adds `text`, its spans joined in order, to `buffer` (in cumulative mode only the part
/// past what `buffer` holds) and returns the byte range added, if any.
fn grow(
    buffer: &mut String,
    text: &[wire::TextSpan],
    ctx: &Ctx<'_>,
    message_bytes: &mut usize,
    scratch: &mut String,
) -> Result<Option<Range<usize>>, Error> {
    let start = buffer.len();
    if ctx.cumulative {
        scratch.clear();
        for span in text {
            span.append_to(ctx.data, scratch)
                .map_err(|m| ctx.malformed(m))?;
        }
        let added = match scratch.strip_prefix(buffer.as_str()) {
            Some(suffix) => suffix,
            None if buffer.starts_with(scratch.as_str()) => "",
            None => {
                return Err(
                    ctx.malformed("cumulative output does not extend the text received so far")
                );
            }
        };
        buffer.push_str(added);
    } else {
        for span in text {
            if let Err(m) = span.append_to(ctx.data, buffer) {
                buffer.truncate(start);
                return Err(ctx.malformed(m));
            }
        }
    }
    let added = buffer.len() - start;
    if added == 0 {
        return Ok(None);
    }
    let total = message_bytes.saturating_add(added);
    if total > ctx.limits.max_message_bytes {
        buffer.truncate(start);
        return Err(Error::limit_exceeded(
            LimitKind::MessageBytes,
            ctx.limits.max_message_bytes,
        ));
    }
    *message_bytes = total;
    Ok(Some(start..buffer.len()))
}
