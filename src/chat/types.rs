//! Owned, protocol-neutral result types: what a finished (or interrupted) stream holds.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Which of Model Studio's two wire protocols a stream speaks.
///
/// Both end in the same [`StreamEvent`](crate::chat::StreamEvent)s and
/// [`Completion`]; they differ in framing, field names and how a stream ends.
///
/// # Example
///
/// This example shows the default protocol.
///
/// ```
/// use dashscope_glm::chat::Protocol;
///
/// assert_eq!(Protocol::default(), Protocol::OpenAiCompatible);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// `/compatible-mode/v1/chat/completions`: `data: {chat.completion.chunk}` events,
    /// usage in a final `choices: []` chunk, `data: [DONE]` at the end.
    #[default]
    OpenAiCompatible,
    /// `/api/v1/services/aigc/text-generation/generation` with `X-DashScope-SSE: enable`:
    /// `id:` / `event:result` / `:HTTP_STATUS/200` / `data:` events, cumulative usage on
    /// every event, no `[DONE]` (the stream ends after the event with a finish reason).
    DashScope,
}

impl Protocol {
    /// The short name the examples take on their command line: `openai` or `dashscope`
    /// (what [`Display`](fmt::Display) writes and [`FromStr`](std::str::FromStr) reads).
    ///
    /// # Example
    ///
    /// This example shows both names.
    ///
    /// ```
    /// use dashscope_glm::chat::Protocol;
    ///
    /// assert_eq!(Protocol::OpenAiCompatible.as_str(), "openai");
    /// assert_eq!(Protocol::DashScope.as_str(), "dashscope");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAiCompatible => "openai",
            Self::DashScope => "dashscope",
        }
    }
}

/// Writes the short name (see [`Protocol::as_str`]).
///
/// # Example
///
/// This example shows the name in a message.
///
/// ```
/// use dashscope_glm::chat::Protocol;
///
/// assert_eq!(format!("protocol {}", Protocol::DashScope), "protocol dashscope");
/// ```
impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads a protocol name, ignoring ASCII case: `openai` (also `openai-compatible`,
/// `compatible`) or `dashscope` (also `native`).
///
/// # Errors
///
/// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the accepted names, for any other
/// text.
///
/// # Example
///
/// This example shows a command-line value read, and an unknown one refused.
///
/// ```
/// use dashscope_glm::chat::Protocol;
///
/// assert_eq!("dashscope".parse::<Protocol>()?, Protocol::DashScope);
/// assert_eq!("OpenAI".parse::<Protocol>()?, Protocol::OpenAiCompatible);
/// assert!("grpc".parse::<Protocol>().is_err());
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
impl std::str::FromStr for Protocol {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        for (names, protocol) in [
            (
                &["openai", "openai-compatible", "compatible"][..],
                Self::OpenAiCompatible,
            ),
            (&["dashscope", "native"][..], Self::DashScope),
        ] {
            if names.iter().any(|name| s.eq_ignore_ascii_case(name)) {
                return Ok(protocol);
            }
        }
        Err(crate::Error::config(
            crate::ConfigKind::Protocol,
            format!("unknown protocol {s:?}: expected openai or dashscope"),
        ))
    }
}

/// Why the model stopped.
///
/// Only [`Stop`](FinishReason::Stop) and [`ToolCalls`](FinishReason::ToolCalls) end a
/// whole answer; every other reason means the answer was cut or withheld
/// ([`Completion::is_whole`] says which in one call). Values the providers document
/// map to their own variant, Z.ai's words included (GLM servers outside Model Studio
/// send them): `sensitive` is [`ContentFilter`](FinishReason::ContentFilter). Anything
/// else is kept verbatim in [`Other`](FinishReason::Other); a value kept there may get
/// a variant of its own in a later version (as `sensitive` and `network_error` did), so
/// match on the variants rather than on `Other`'s text. The wire values `null`,
/// `"null"` and `""` mean "not finished yet" and never become a `FinishReason`.
///
/// # Example
///
/// This example shows a documented value, "not finished", Z.ai's word for a moderated
/// answer and an undocumented value.
///
/// ```
/// use dashscope_glm::chat::FinishReason;
///
/// assert_eq!(FinishReason::from_wire("tool_calls"), Some(FinishReason::ToolCalls));
/// assert_eq!(FinishReason::from_wire("null"), None);
/// assert_eq!(FinishReason::from_wire("sensitive"), Some(FinishReason::ContentFilter));
/// assert_eq!(
///     FinishReason::from_wire("abort"),
///     Some(FinishReason::Other("abort".into()))
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FinishReason {
    /// The model finished its answer (`stop`).
    Stop,
    /// The output hit `max_tokens` (or the reasoning budget) and was cut (`length`).
    Length,
    /// The model wants tool results (`tool_calls`).
    ToolCalls,
    /// Moderation stopped or withheld the answer (`content_filter`; Z.ai's
    /// `sensitive`).
    ContentFilter,
    /// The input and the output together filled the model's context window, and the
    /// answer was cut (`model_context_window_exceeded`, as Z.ai's GLM servers send it).
    ContextWindowExceeded,
    /// The server's inference failed mid-answer (`network_error`, as Z.ai's GLM servers
    /// send it: a failure on the server's side, not of the client's connection).
    NetworkError,
    /// Any other value, verbatim.
    Other(String),
}

impl FinishReason {
    /// Maps a wire value; `""` and `"null"` (not finished) give `None`.
    ///
    /// # Example
    ///
    /// This example shows a documented value, an undocumented one and "not finished".
    ///
    /// ```
    /// use dashscope_glm::chat::FinishReason;
    ///
    /// assert_eq!(FinishReason::from_wire("length"), Some(FinishReason::Length));
    /// assert_eq!(FinishReason::from_wire("abort"), Some(FinishReason::Other("abort".into())));
    /// assert_eq!(FinishReason::from_wire(""), None);
    /// ```
    #[must_use]
    pub fn from_wire(value: &str) -> Option<Self> {
        Some(match value {
            "" | "null" => return None,
            "stop" => Self::Stop,
            "length" => Self::Length,
            "tool_calls" => Self::ToolCalls,
            "content_filter" | "sensitive" => Self::ContentFilter,
            "model_context_window_exceeded" => Self::ContextWindowExceeded,
            "network_error" => Self::NetworkError,
            other => Self::Other(other.to_owned()),
        })
    }

    /// The wire spelling of this reason.
    ///
    /// # Example
    ///
    /// This example shows that `as_str` gives back the wire value `from_wire` read
    /// (`sensitive` reads as `content_filter`).
    ///
    /// ```
    /// use dashscope_glm::chat::FinishReason;
    ///
    /// for wire in ["stop", "length", "tool_calls", "content_filter", "network_error", "abort"] {
    ///     let reason = FinishReason::from_wire(wire).unwrap();
    ///     assert_eq!(reason.as_str(), wire);
    ///     assert_eq!(reason.to_string(), wire);
    /// }
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::ToolCalls => "tool_calls",
            Self::ContentFilter => "content_filter",
            Self::ContextWindowExceeded => "model_context_window_exceeded",
            Self::NetworkError => "network_error",
            Self::Other(other) => other,
        }
    }
}

impl fmt::Display for FinishReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Token counts, in the names of the native protocol.
///
/// OpenAI-compatible names map as `prompt_tokens` → `input_tokens`,
/// `completion_tokens` → `output_tokens`,
/// `completion_tokens_details.reasoning_tokens` → `reasoning_tokens`; both protocols use
/// `prompt_tokens_details.cached_tokens`. Detail counts the server did not send are
/// `None`; a main count it did not send is 0.
///
/// # Example
///
/// This example shows that counts the server did not send are absent or 0.
///
/// ```
/// use dashscope_glm::chat::Usage;
///
/// let usage = Usage::default();
/// assert_eq!(usage.total_tokens, 0);
/// assert_eq!(usage.reasoning_tokens, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Usage {
    /// Tokens in the prompt (`input_tokens` / `prompt_tokens`).
    pub input_tokens: u64,
    /// Tokens generated, reasoning included (`output_tokens` / `completion_tokens`).
    pub output_tokens: u64,
    /// `input_tokens + output_tokens`, as the server reports it.
    pub total_tokens: u64,
    /// Of `output_tokens`, how many were reasoning, when reported.
    pub reasoning_tokens: Option<u64>,
    /// Of `input_tokens`, how many came from the context cache, when reported.
    pub cached_tokens: Option<u64>,
}

/// One line for a person reading a log or a terminal:
/// `input 10 + output 13 = 23 tokens (reasoning 7, cached 0)`, with `n/a` for a detail
/// the server did not report.
///
/// # Example
///
/// This example shows the line for a usage that reports reasoning but not the cache.
///
/// ```
/// use dashscope_glm::chat::Usage;
///
/// let mut usage = Usage::default();
/// (usage.input_tokens, usage.output_tokens, usage.total_tokens) = (10, 13, 23);
/// usage.reasoning_tokens = Some(7);
/// assert_eq!(usage.to_string(), "input 10 + output 13 = 23 tokens (reasoning 7, cached n/a)");
/// ```
impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "input {} + output {} = {} tokens (reasoning ",
            self.input_tokens, self.output_tokens, self.total_tokens
        )?;
        for (n, after) in [
            (self.reasoning_tokens, ", cached "),
            (self.cached_tokens, ")"),
        ] {
            match n {
                Some(n) => write!(f, "{n}{after}")?,
                None => write!(f, "n/a{after}")?,
            }
        }
        Ok(())
    }
}

/// One tool call the model made, with its arguments as the raw JSON text it streamed.
///
/// # Example
///
/// This example shows a call's arguments parsed as JSON.
///
/// ```
/// use dashscope_glm::chat::ToolCall;
///
/// let call = ToolCall::new(0, "call_1", "get_weather", r#"{"city": "Beijing"}"#);
/// assert_eq!(call.parse_arguments()?["city"], "Beijing");
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ToolCall {
    /// Position of this call in [`AssistantMessage::tool_calls`] (0, 1, 2, ...), in the
    /// order the calls first appeared. Not the wire `index`, which may start at 1, have
    /// gaps, or be shared by two calls.
    pub index: usize,
    /// The call id (`call_...`). When the server never sent one, a synthetic id
    /// `call_synthetic_<index>` and [`id_synthetic`](ToolCall::id_synthetic) `true`.
    pub id: String,
    /// `true` when [`id`](ToolCall::id) was made up because the server sent none.
    pub id_synthetic: bool,
    /// The function name.
    pub name: String,
    /// The arguments exactly as streamed: a JSON text, possibly truncated or malformed
    /// (see [`parse_arguments`](ToolCall::parse_arguments)).
    pub arguments: String,
}

impl ToolCall {
    /// A complete tool call, for building assistant turns by hand and for tests.
    ///
    /// # Example
    ///
    /// This example shows a hand-built call replayed as an earlier assistant turn.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Message, ToolCall};
    ///
    /// let call = ToolCall::new(0, "call_1", "get_weather", r#"{"city":"Beijing"}"#);
    /// assert!(!call.id_synthetic);
    /// let request = ChatRequest::new("glm-5")
    ///     .user("Weather in Beijing?")
    ///     .message(Message::assistant("").with_tool_calls(vec![call]))
    ///     .tool_result("call_1", "21 °C");
    /// assert_eq!(request.messages()[1].tool_calls[0].name, "get_weather");
    /// ```
    pub fn new(
        index: usize,
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Self {
            index,
            id: id.into(),
            id_synthetic: false,
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    /// Parses the arguments strictly. An empty text parses as the empty object `{}`, as
    /// servers send `""` for calls without parameters.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ToolArguments`](crate::ErrorKind::ToolArguments) (this call's index and
    /// name in [`Error::tool_arguments_error`](crate::Error::tool_arguments_error),
    /// serde_json's error as the source) when the text is not one complete JSON value:
    /// truncated (check the completion's finish reason: [`FinishReason::Length`] means the
    /// output limit cut it, anything else a malformed stream) or invalid. The arguments are
    /// never "repaired".
    ///
    /// # Example
    ///
    /// This example shows empty arguments read as `{}`, and truncated ones refused.
    ///
    /// ```
    /// use dashscope_glm::chat::ToolCall;
    /// use dashscope_glm::Error;
    /// use serde_json::json;
    ///
    /// assert_eq!(ToolCall::new(0, "c1", "now", "").parse_arguments()?, json!({}));
    /// let cut = ToolCall::new(0, "c2", "get_weather", r#"{"city": "Bei"#);
    /// let err = cut.parse_arguments().unwrap_err();
    /// assert!(err.tool_arguments_error().unwrap().json_error().is_eof());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn parse_arguments(&self) -> Result<serde_json::Value, crate::Error> {
        self.arguments_as()
    }

    /// Parses the arguments into `T` (see [`parse_arguments`](ToolCall::parse_arguments)).
    ///
    /// # Errors
    ///
    /// As [`parse_arguments`](ToolCall::parse_arguments), or when the JSON does not fit `T`.
    ///
    /// # Example
    ///
    /// This example shows arguments deserialized into a struct.
    ///
    /// ```
    /// use dashscope_glm::chat::ToolCall;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Forecast {
    ///     city: String,
    ///     days: u8,
    /// }
    ///
    /// let call = ToolCall::new(0, "call_1", "forecast", r#"{"city":"Beijing","days":3}"#);
    /// let args: Forecast = call.arguments_as()?;
    /// assert_eq!((args.city.as_str(), args.days), ("Beijing", 3));
    /// assert!(call.arguments_as::<Forecast>().is_ok());
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn arguments_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::Error> {
        let text = if self.arguments.trim_ascii().is_empty() {
            "{}"
        } else {
            &self.arguments
        };
        serde_json::from_str(text)
            .map_err(|e| crate::Error::tool_arguments(self.index, &self.name, e))
    }
}

/// The assistant's turn as the stream built it.
///
/// # Example
///
/// This example shows an empty message.
///
/// ```
/// use dashscope_glm::chat::AssistantMessage;
///
/// let message = AssistantMessage::default();
/// assert!(message.content.is_empty() && message.tool_calls.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AssistantMessage {
    /// The thinking text (`reasoning_content`, or `reasoning` from some gateways).
    pub reasoning_content: String,
    /// The answer text.
    pub content: String,
    /// Tool calls in order of first appearance.
    pub tool_calls: Vec<ToolCall>,
}

/// The result of one chat call: the merged message and what the server said about it.
///
/// # JSON
///
/// With serde (`Serialize` and `Deserialize`), a completion is written as one object
/// with every field present, absent values as `null`:
///
/// ```json
/// {
///   "message": {
///     "reasoning_content": "The user asks for the weather.",
///     "content": "",
///     "tool_calls": [
///       {"index": 0, "id": "call_1", "type": "function",
///        "function": {"name": "get_weather", "arguments": "{\"city\":\"Beijing\"}"},
///        "id_synthetic": false}
///     ]
///   },
///   "finish_reason": "tool_calls",
///   "usage": {"input_tokens": 10, "output_tokens": 23, "total_tokens": 33,
///             "reasoning_tokens": 7, "cached_tokens": null},
///   "request_id": "5c0a7e1b-3f2d-9a41-b8c6-0d2e4f6a8b10",
///   "model": "glm-5",
///   "id": "chatcmpl-2f96ef0b",
///   "created": 1767000000,
///   "ignored_content_parts": 0
/// }
/// ```
///
/// `finish_reason` is the wire spelling ([`FinishReason::as_str`]) or `null`; `usage`
/// uses the native names (see [`Usage`]) or is `null`; a tool call is the OpenAI request
/// shape plus its position `index` and `id_synthetic`. Reading accepts missing fields
/// (their defaults), so the JSON of an older version still reads.
///
/// # Example
///
/// This example shows a finished OpenAI-compatible stream's completion.
///
/// ```
/// use dashscope_glm::chat::{Accumulator, FinishReason, Protocol};
///
/// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
/// acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]}"#)?;
/// acc.push_data("[DONE]")?;
/// let completion = acc.finish()?;
/// assert_eq!(completion.message.content, "Hi");
/// assert_eq!(completion.finish_reason, Some(FinishReason::Stop));
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
///
/// This example shows a completion stored as JSON and read back.
///
/// ```
/// use dashscope_glm::chat::{Accumulator, Completion, Protocol};
///
/// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
/// acc.push_data(r#"{"id":"chatcmpl-1","created":1767000000,"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]}"#)?;
/// let completion = acc.finish()?;
/// let json = serde_json::to_value(&completion).unwrap();
/// assert_eq!(json["message"]["content"], "Hi");
/// assert_eq!(json["finish_reason"], "stop");
/// assert_eq!(json["created"], 1767000000);
/// assert_eq!(serde_json::from_value::<Completion>(json).unwrap(), completion);
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Completion {
    /// The merged assistant message.
    pub message: AssistantMessage,
    /// Why the model stopped; `None` when the stream ended without saying (an
    /// OpenAI-compatible stream that reached `[DONE]` without a finish reason).
    pub finish_reason: Option<FinishReason>,
    /// The latest non-empty usage the server sent (totals, never summed).
    pub usage: Option<Usage>,
    /// The request id (`request_id` in the body, or the `x-request-id` header).
    pub request_id: Option<String>,
    /// The model that answered, when the server said.
    pub model: Option<String>,
    /// The OpenAI-compatible completion id (`chatcmpl-...`), when sent.
    pub id: Option<String>,
    /// When the answer was created, in seconds since the Unix epoch: the
    /// OpenAI-compatible protocol's `created` (the first chunk's), when sent. The native
    /// protocol does not send it.
    pub created: Option<u64>,
    /// Parts of a multimodal `content` array that were not text (an image, audio, a
    /// part of an unknown type) and so were left out of the message, counted as
    /// received (a part repeated in each chunk of a cumulative stream counts each time).
    /// 0 for the plain string content GLM text models send.
    pub ignored_content_parts: u64,
    /// When each step of the call happened, as the blocking client measured it; `None`
    /// from the sans-IO layers, which read no clock (and then left out of the JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<crate::chat::Timings>,
}

impl Completion {
    /// Whether this is a whole answer: the model stopped by itself
    /// ([`FinishReason::Stop`]) or asked for tool results ([`FinishReason::ToolCalls`]).
    /// `false` for an answer cut by `max_tokens` or the context window, withheld by
    /// moderation, broken off by a server failure, or with no finish reason at all, so
    /// one call tells a whole answer from a cut one.
    ///
    /// # Example
    ///
    /// This example shows a moderated answer (Z.ai's `sensitive`), which arrives as a
    /// successful response, told apart from a whole one.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, FinishReason, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"I can"},"finish_reason":"sensitive"}]}"#)?;
    /// let completion = acc.finish()?;
    /// assert_eq!(completion.finish_reason, Some(FinishReason::ContentFilter));
    /// assert!(!completion.is_whole());
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn is_whole(&self) -> bool {
        matches!(
            self.finish_reason,
            Some(FinishReason::Stop | FinishReason::ToolCalls)
        )
    }

    /// Whether the model is waiting for tool results: it made tool calls and its turn
    /// is whole ([`is_whole`](Completion::is_whole)). This is the test an agent
    /// loop runs after each turn: `true`, run the calls and send the results back
    /// ([`ChatRequest::push_turn`](crate::chat::ChatRequest::push_turn)); `false`, the
    /// turn is the answer, or (when it is not complete) cut or withheld.
    ///
    /// The calls decide, not only the finish reason: calls that end with `stop` (as some
    /// OpenAI-compatible servers send them) are waiting too, while `tool_calls` with no
    /// call has nothing to answer, and calls cut by `length` may hold truncated
    /// arguments, so neither is.
    ///
    /// # Example
    ///
    /// This example tells a turn that calls a tool from the answer that follows it.
    ///
    /// ```
    /// use dashscope_glm::chat::{Completion, FinishReason, ToolCall};
    ///
    /// let mut calls = Completion::default();
    /// calls.message.tool_calls.push(ToolCall::new(0, "call_1", "get_weather", r#"{"city":"Beijing"}"#));
    /// calls.finish_reason = Some(FinishReason::ToolCalls);
    /// assert!(calls.wants_tool_results());
    ///
    /// calls.finish_reason = Some(FinishReason::Length); // the arguments may be cut
    /// assert!(!calls.wants_tool_results());
    ///
    /// let mut answer = Completion::default();
    /// answer.message.content = "Sunny, 23 °C.".into();
    /// answer.finish_reason = Some(FinishReason::Stop);
    /// assert!(!answer.wants_tool_results());
    /// ```
    #[must_use]
    pub fn wants_tool_results(&self) -> bool {
        !self.message.tool_calls.is_empty() && self.is_whole()
    }
}

/// Written as its wire spelling ([`FinishReason::as_str`]); read back with
/// [`FinishReason::from_wire`], any other text (`""`, `"null"` included) as
/// [`Other`](FinishReason::Other), so that every value round-trips.
impl Serialize for FinishReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FinishReason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Self::from_wire(&text).unwrap_or(Self::Other(text)))
    }
}

/// A tool call's `function`, borrowed for writing.
#[derive(Serialize)]
pub(crate) struct FunctionOut<'a> {
    pub(crate) name: &'a str,
    pub(crate) arguments: &'a str,
}

/// A tool call in the OpenAI request shape, `{id, type: "function", function: {name,
/// arguments}}`, borrowed for writing.
#[derive(Serialize)]
pub(crate) struct CallOut<'a> {
    pub(crate) id: &'a str,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) function: FunctionOut<'a>,
}

impl<'a> From<&'a ToolCall> for CallOut<'a> {
    fn from(call: &'a ToolCall) -> Self {
        Self {
            id: &call.id,
            kind: "function",
            function: FunctionOut {
                name: &call.name,
                arguments: &call.arguments,
            },
        }
    }
}

/// A tool call read back: the OpenAI shape, with the crate's `index` and `id_synthetic`
/// when present (`type` and unknown fields are ignored).
#[derive(Deserialize)]
pub(crate) struct CallIn {
    #[serde(default)]
    index: usize,
    #[serde(default)]
    id: String,
    #[serde(default)]
    id_synthetic: bool,
    #[serde(default)]
    function: FunctionIn,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FunctionIn {
    name: String,
    arguments: String,
}

impl CallIn {
    /// The call, at `index` when given, else at the index it was written with.
    pub(crate) fn into_call(self, index: Option<usize>) -> ToolCall {
        ToolCall {
            index: index.unwrap_or(self.index),
            id: self.id,
            id_synthetic: self.id_synthetic,
            name: self.function.name,
            arguments: self.function.arguments,
        }
    }
}

/// Written in the OpenAI shape with the crate's two extra fields:
/// `{"index", "id", "type": "function", "function": {"name", "arguments"}, "id_synthetic"}`.
impl Serialize for ToolCall {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            index: usize,
            #[serde(flatten)]
            call: CallOut<'a>,
            id_synthetic: bool,
        }
        Out {
            index: self.index,
            call: CallOut::from(self),
            id_synthetic: self.id_synthetic,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ToolCall {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CallIn::deserialize(d).map(|call| call.into_call(None))
    }
}
