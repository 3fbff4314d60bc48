//! [`ChatRequest`]: what to ask, and its serialization for both protocols.
//!
//! The builder holds every field Model Studio documents for GLM; fields it does not
//! model go through [`ChatRequest::extra`]. [`ChatRequest::write_body`] serializes into
//! a caller's buffer (cleared first, its capacity reused) in the shape of either
//! protocol:
//!
//! ```text
//! OpenAI-compatible  {"model", "messages": [...], "stream": true,
//!                     "stream_options": {"include_usage": true},      (streaming only)
//!                     "enable_thinking", "thinking_budget", "top_k",
//!                     "repetition_penalty", "tool_stream", ...,        (top level)
//!                     <extra fields>}
//! native (DashScope) {"model", "input": {"messages": [...]},
//!                     "parameters": {"result_format": "message",
//!                                    "incremental_output": true, ..., <extra fields>}}
//! ```
//!
//! Strings are written as UTF-8 (no `\u` escapes for non-ASCII) and content is never
//! rewritten: a literal backslash-n stays two characters.

use serde_json::Value;

use crate::chat::model::{Model, Rule};
use crate::chat::{Completion, Protocol, ToolCall};
use crate::error::Error;

/// Who said a [`Message`].
///
/// # Example
///
/// ```
/// use dashscope_glm::chat::{Message, Role};
///
/// assert_eq!(Message::user("hi").role, Role::User);
/// assert_eq!(Role::Tool.as_str(), "tool");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// Instructions (`system`), normally the first message.
    System,
    /// The user (`user`).
    User,
    /// The model's earlier turns (`assistant`).
    Assistant,
    /// A tool's result (`tool`), answering a tool call by its id.
    Tool,
}

impl Role {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Tool => "tool",
        }
    }
}

/// One message of the conversation.
///
/// # Example
///
/// ```
/// use dashscope_glm::chat::{Message, ToolCall};
///
/// let turn = Message::assistant("")
///     .with_tool_calls(vec![ToolCall::new(0, "call_1", "get_weather", r#"{"city":"Beijing"}"#)]);
/// let result = Message::tool("call_1", r#"{"temp": 21}"#);
/// assert_eq!(turn.tool_calls.len(), 1);
/// assert_eq!(result.tool_call_id.as_deref(), Some("call_1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// The text, sent verbatim (for a tool result: the tool's output).
    pub content: String,
    /// An assistant turn's thinking, replayed only when set.
    pub reasoning_content: Option<String>,
    /// An assistant turn's tool calls.
    pub tool_calls: Vec<ToolCall>,
    /// For a tool result: the id of the call it answers.
    pub tool_call_id: Option<String>,
    /// Partial mode: the last assistant message is a prefix the model should continue
    /// (`"partial": true`). GLM models do not support it.
    pub partial: bool,
}

impl Message {
    fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            reasoning_content: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
            partial: false,
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    /// An assistant message (an earlier turn of the model).
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }

    /// A tool result answering the call `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        let mut message = Self::new(Role::Tool, content);
        message.tool_call_id = Some(tool_call_id.into());
        message
    }

    /// The assistant turn a [`Completion`] holds: its content and tool calls, and its
    /// reasoning when `with_reasoning` is true.
    pub fn from_completion(completion: &Completion, with_reasoning: bool) -> Self {
        let m = &completion.message;
        let mut message = Self::assistant(m.content.clone()).with_tool_calls(m.tool_calls.clone());
        if with_reasoning && !m.reasoning_content.is_empty() {
            message.reasoning_content = Some(m.reasoning_content.clone());
        }
        message
    }

    /// Sets the reasoning to replay with an assistant turn.
    #[must_use]
    pub fn with_reasoning(mut self, reasoning: impl Into<String>) -> Self {
        self.reasoning_content = Some(reasoning.into());
        self
    }

    /// Sets an assistant turn's tool calls.
    #[must_use]
    pub fn with_tool_calls(mut self, calls: Vec<ToolCall>) -> Self {
        self.tool_calls = calls;
        self
    }

    /// Marks the message as a prefix to continue (partial mode).
    #[must_use]
    pub fn with_partial(mut self, partial: bool) -> Self {
        self.partial = partial;
        self
    }
}

/// A tool the model may call.
///
/// # Example
///
/// ```
/// use dashscope_glm::chat::Tool;
/// use serde_json::json;
///
/// let tool = Tool::function(
///     "get_weather",
///     "Current weather in a city",
///     json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
/// );
/// assert_eq!(tool.name, "get_weather");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tool {
    /// The function name (letters, digits, `_`, `-`; at most 64 characters).
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// Its parameters as a JSON Schema.
    pub parameters: Value,
}

impl Tool {
    /// A function tool.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            parameters,
        }
    }
}

/// Whether and which tool the model must call.
///
/// # Example
///
/// ```
/// use dashscope_glm::chat::ToolChoice;
///
/// let forced = ToolChoice::function("get_weather");
/// assert!(forced.is_forced());
/// assert!(!ToolChoice::Auto.is_forced());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolChoice {
    /// The model decides (`"auto"`, the server's default).
    Auto,
    /// No tool calls (`"none"`).
    None,
    /// This function must be called (`{"type":"function","function":{"name":...}}`).
    /// Thinking-mode models refuse it.
    Function(String),
}

impl ToolChoice {
    /// Forces the function `name`.
    pub fn function(name: impl Into<String>) -> Self {
        Self::Function(name.into())
    }

    /// Whether this forces a call (anything but `auto` and `none`).
    pub fn is_forced(&self) -> bool {
        matches!(self, Self::Function(_))
    }
}

/// A JSON Schema for [`ResponseFormat::JsonSchema`].
///
/// # Example
///
/// ```
/// use dashscope_glm::chat::JsonSchema;
/// use serde_json::json;
///
/// let schema = JsonSchema::new("answer", json!({"type": "object"})).strict(true);
/// assert_eq!(schema.strict, Some(true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JsonSchema {
    /// The schema's name.
    pub name: String,
    /// The schema.
    pub schema: Value,
    /// Whether the output must follow the schema exactly.
    pub strict: Option<bool>,
}

impl JsonSchema {
    /// A named schema.
    pub fn new(name: impl Into<String>, schema: Value) -> Self {
        Self {
            name: name.into(),
            schema,
            strict: None,
        }
    }

    /// Sets [`strict`](JsonSchema::strict).
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = Some(strict);
        self
    }
}

/// The shape of the answer.
///
/// # Example
///
/// ```
/// use dashscope_glm::chat::ResponseFormat;
///
/// assert!(ResponseFormat::JsonObject.is_structured());
/// assert!(!ResponseFormat::Text.is_structured());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseFormat {
    /// Free text (`{"type":"text"}`, the default).
    Text,
    /// A JSON object (`{"type":"json_object"}`); the messages must contain the word
    /// "json".
    JsonObject,
    /// JSON following a schema (`{"type":"json_schema","json_schema":{...}}`).
    JsonSchema(JsonSchema),
}

impl ResponseFormat {
    /// Whether this asks for structured output (JSON object or schema).
    pub fn is_structured(&self) -> bool {
        !matches!(self, Self::Text)
    }
}

/// Stop sequences.
///
/// # Example
///
/// ```
/// use dashscope_glm::chat::Stop;
///
/// assert_eq!(Stop::from("END"), Stop::One("END".into()));
/// assert_eq!(Stop::from(vec!["a", "b"]), Stop::Many(vec!["a".into(), "b".into()]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stop {
    /// One string.
    One(String),
    /// Several strings.
    Many(Vec<String>),
}

impl From<&str> for Stop {
    fn from(s: &str) -> Self {
        Self::One(s.to_owned())
    }
}

impl From<String> for Stop {
    fn from(s: String) -> Self {
        Self::One(s)
    }
}

impl From<Vec<String>> for Stop {
    fn from(v: Vec<String>) -> Self {
        Self::Many(v)
    }
}

impl From<Vec<&str>> for Stop {
    fn from(v: Vec<&str>) -> Self {
        Self::Many(v.into_iter().map(str::to_owned).collect())
    }
}

/// One chat request: the model, the messages and the generation parameters.
///
/// Build it with the chained methods, then hand it to the client (which checks it with
/// [`validate`](ChatRequest::validate) before sending a byte), or serialize it yourself
/// with [`write_body`](ChatRequest::write_body).
///
/// When the request does not say whether to think and the model is in the catalog
/// ([`Model::lookup`]), the catalog's default is sent explicitly (`enable_thinking:
/// true` for GLM), because the documentation disagrees on glm-4.7's server default.
///
/// # Example
///
/// This example builds a request and serializes it for the OpenAI-compatible endpoint.
///
/// ```
/// use dashscope_glm::chat::{ChatRequest, Protocol};
///
/// let request = ChatRequest::new("glm-5")
///     .system("You are terse.")
///     .user("Who are you")
///     .thinking(false)
///     .max_tokens(512);
/// let mut body = Vec::new();
/// request.write_body(Protocol::OpenAiCompatible, true, &mut body)?;
/// let json: serde_json::Value = serde_json::from_slice(&body)?;
/// assert_eq!(json["enable_thinking"], false);
/// assert_eq!(json["stream_options"]["include_usage"], true);
/// assert_eq!(json["messages"][1]["content"], "Who are you");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    model: String,
    messages: Vec<Message>,
    thinking: Option<bool>,
    thinking_budget: Option<u32>,
    tools: Vec<Tool>,
    tool_choice: Option<ToolChoice>,
    parallel_tool_calls: Option<bool>,
    tool_stream: Option<bool>,
    response_format: Option<ResponseFormat>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_k: Option<u32>,
    repetition_penalty: Option<f64>,
    presence_penalty: Option<f64>,
    max_tokens: Option<u32>,
    seed: Option<u64>,
    stop: Option<Stop>,
    extra: Vec<(String, Value)>,
    incremental_output: bool,
    protocol: Option<Protocol>,
}

/// Body keys the builder writes itself, on either protocol; [`ChatRequest::extra`]
/// refuses them.
const TYPED_KEYS: &[&str] = &[
    "model",
    "messages",
    "input",
    "parameters",
    "stream",
    "stream_options",
    "result_format",
    "incremental_output",
    "enable_thinking",
    "thinking_budget",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "tool_stream",
    "response_format",
    "temperature",
    "top_p",
    "top_k",
    "repetition_penalty",
    "presence_penalty",
    "max_tokens",
    "seed",
    "stop",
];

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        #[must_use]
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = Some(value);
            self
        }
    };
}

impl ChatRequest {
    /// A request to `model` with no messages yet.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            messages: Vec::new(),
            thinking: None,
            thinking_budget: None,
            tools: Vec::new(),
            tool_choice: None,
            parallel_tool_calls: None,
            tool_stream: None,
            response_format: None,
            temperature: None,
            top_p: None,
            top_k: None,
            repetition_penalty: None,
            presence_penalty: None,
            max_tokens: None,
            seed: None,
            stop: None,
            extra: Vec::new(),
            incremental_output: true,
            protocol: None,
        }
    }

    /// Appends a message.
    #[must_use]
    pub fn message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    /// Appends a message in place (for conversation loops).
    pub fn push(&mut self, message: Message) {
        self.messages.push(message);
    }

    /// Appends a system message.
    #[must_use]
    pub fn system(self, content: impl Into<String>) -> Self {
        self.message(Message::system(content))
    }

    /// Appends a user message.
    #[must_use]
    pub fn user(self, content: impl Into<String>) -> Self {
        self.message(Message::user(content))
    }

    /// Appends an assistant message (an earlier answer, as text).
    #[must_use]
    pub fn assistant(self, content: impl Into<String>) -> Self {
        self.message(Message::assistant(content))
    }

    /// Appends a completion's message as the assistant turn, with its tool calls and
    /// without its reasoning (see
    /// [`assistant_from_with_reasoning`](ChatRequest::assistant_from_with_reasoning)).
    ///
    /// # Example
    ///
    /// This example answers a tool call: the model's turn, then the tool's result.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, ChatRequest, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Beijing\"}"}}]},"finish_reason":"tool_calls"}]}"#)?;
    /// let completion = acc.finish()?;
    ///
    /// let request = ChatRequest::new("glm-5")
    ///     .user("Weather in Beijing?")
    ///     .assistant_from(&completion)
    ///     .tool_result("call_1", r#"{"temp": 21}"#);
    /// assert_eq!(request.messages().len(), 3);
    /// assert_eq!(request.messages()[1].tool_calls[0].name, "get_weather");
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn assistant_from(self, completion: &Completion) -> Self {
        self.message(Message::from_completion(completion, false))
    }

    /// As [`assistant_from`](ChatRequest::assistant_from), replaying the reasoning
    /// (`reasoning_content`) too.
    #[must_use]
    pub fn assistant_from_with_reasoning(self, completion: &Completion) -> Self {
        self.message(Message::from_completion(completion, true))
    }

    /// Appends a tool result answering the call `tool_call_id`.
    #[must_use]
    pub fn tool_result(self, tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        self.message(Message::tool(tool_call_id, content))
    }

    setter!(
        /// Thinking on or off (`enable_thinking`). GLM thinks by default.
        thinking: bool
    );
    setter!(
        /// The most reasoning tokens (`thinking_budget`; GLM: at most 32,768).
        thinking_budget: u32
    );

    /// Offers a tool to the model.
    #[must_use]
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    setter!(
        /// Whether and which tool to call (`tool_choice`).
        tool_choice: ToolChoice
    );
    setter!(
        /// Whether the model may call several tools in one turn (`parallel_tool_calls`).
        parallel_tool_calls: bool
    );
    setter!(
        /// Stream complex tool arguments piece by piece (`tool_stream`).
        tool_stream: bool
    );
    setter!(
        /// The shape of the answer (`response_format`); GLM gives structured output only
        /// with thinking off.
        response_format: ResponseFormat
    );
    setter!(
        /// Sampling temperature, [0, 2) (`temperature`; GLM default 1.0).
        temperature: f64
    );
    setter!(
        /// Nucleus sampling, (0, 1] (`top_p`; GLM default 0.95).
        top_p: f64
    );
    setter!(
        /// Candidates considered per token (`top_k`; GLM default 20).
        top_k: u32
    );
    setter!(
        /// Penalty for repeated tokens, > 0 (`repetition_penalty`; GLM default 1.0).
        repetition_penalty: f64
    );
    setter!(
        /// Penalty for tokens already present, [-2, 2] (`presence_penalty`).
        presence_penalty: f64
    );
    setter!(
        /// The most answer tokens (`max_tokens`; GLM: at most 16,384).
        max_tokens: u32
    );
    setter!(
        /// Sampling seed (`seed`).
        seed: u64
    );

    /// Stop sequences (`stop`).
    #[must_use]
    pub fn stop(mut self, stop: impl Into<Stop>) -> Self {
        self.stop = Some(stop.into());
        self
    }

    /// A body field this builder does not model, written verbatim: at the top level on
    /// the OpenAI-compatible protocol, inside `parameters` on the native one. Setting
    /// the same key twice keeps the last value. A key the builder writes itself
    /// (`temperature`, `messages`, ...) makes [`validate`](ChatRequest::validate) and
    /// [`write_body`](ChatRequest::write_body) fail with
    /// [`Rule::ExtraCollidesWithField`].
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol, Rule};
    /// use dashscope_glm::Error;
    ///
    /// let ok = ChatRequest::new("glm-5").user("hi").extra("n", 1);
    /// assert!(ok.validate().is_ok());
    /// let clash = ChatRequest::new("glm-5").user("hi").extra("temperature", 0.2);
    /// assert!(matches!(
    ///     clash.validate(),
    ///     Err(Error::Validation { rule: Rule::ExtraCollidesWithField, .. })
    /// ));
    /// ```
    #[must_use]
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        let key = key.into();
        let value = value.into();
        match self.extra.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.extra.push((key, value)),
        }
        self
    }

    /// Native protocol only: `false` asks the server for cumulative output
    /// (`incremental_output: false`, every event repeats the text so far), which the
    /// client merges back into deltas. Default `true`. The OpenAI-compatible protocol
    /// always streams deltas and ignores this.
    #[must_use]
    pub fn incremental_output(mut self, incremental: bool) -> Self {
        self.incremental_output = incremental;
        self
    }

    /// Sends this request with `protocol` whatever the client's default.
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The model name.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The messages so far.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The protocol this request asked for, if any.
    pub fn protocol_override(&self) -> Option<Protocol> {
        self.protocol
    }

    /// Whether the native protocol should stream deltas (see
    /// [`incremental_output`](ChatRequest::incremental_output)).
    pub fn is_incremental(&self) -> bool {
        self.incremental_output
    }

    /// The extra fields, in the order first set.
    pub fn extras(&self) -> &[(String, Value)] {
        &self.extra
    }

    /// Whether thinking is on: as set, else the catalog model's default, else `None`
    /// (unknown model, the server decides).
    pub fn effective_thinking(&self) -> Option<bool> {
        self.thinking
            .or_else(|| Model::lookup(&self.model).map(|m| m.defaults.thinking))
    }

    pub(crate) fn thinking_value(&self) -> Option<bool> {
        self.thinking
    }

    pub(crate) fn response_format_ref(&self) -> Option<&ResponseFormat> {
        self.response_format.as_ref()
    }

    pub(crate) fn tool_choice_ref(&self) -> Option<&ToolChoice> {
        self.tool_choice.as_ref()
    }

    pub(crate) fn max_tokens_value(&self) -> Option<u32> {
        self.max_tokens
    }

    pub(crate) fn thinking_budget_value(&self) -> Option<u32> {
        self.thinking_budget
    }

    /// Checks the request before anything is sent: extra fields must not collide with
    /// typed ones, and a model in the catalog must accept the request (see
    /// [`Model::check`]). Unknown models pass the model rules unchecked.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming the [`Rule`] broken.
    pub fn validate(&self) -> Result<(), Error> {
        self.check_extra()?;
        match Model::lookup(&self.model) {
            Some(model) => model.check(self),
            None => Ok(()),
        }
    }

    fn check_extra(&self) -> Result<(), Error> {
        match self
            .extra
            .iter()
            .find(|(k, _)| TYPED_KEYS.contains(&k.as_str()))
        {
            Some((key, _)) => Err(Error::Validation {
                rule: Rule::ExtraCollidesWithField,
                message: format!(
                    "extra field {key:?} collides with a field the request builder sets; use its typed setter"
                ),
            }),
            None => Ok(()),
        }
    }

    /// Serializes the body for `protocol` into `out` (cleared first; its capacity is
    /// reused). `stream` adds `stream: true` and `stream_options.include_usage: true`
    /// on the OpenAI-compatible protocol; the native protocol streams through a header
    /// (`X-DashScope-SSE: enable`) and its body is the same either way.
    ///
    /// Only the extra-field rule is checked here; the model rules are
    /// [`validate`](ChatRequest::validate)'s.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] with [`Rule::ExtraCollidesWithField`].
    ///
    /// # Example
    ///
    /// This example serializes the same request for the native endpoint.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol};
    ///
    /// let mut body = Vec::new();
    /// ChatRequest::new("glm-4.6")
    ///     .user("Who are you")
    ///     .write_body(Protocol::DashScope, true, &mut body)?;
    /// assert_eq!(
    ///     String::from_utf8(body).unwrap(),
    ///     r#"{"model":"glm-4.6","input":{"messages":[{"role":"user","content":"Who are you"}]},"parameters":{"result_format":"message","incremental_output":true,"enable_thinking":true}}"#
    /// );
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn write_body(
        &self,
        protocol: Protocol,
        stream: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.check_extra()?;
        out.clear();
        let mut w = Writer { out };
        match protocol {
            Protocol::DashScope => {
                w.raw("{\"model\":");
                w.string(&self.model);
                w.raw(",\"input\":{\"messages\":");
                self.write_messages(&mut w, true);
                w.raw("},\"parameters\":{\"result_format\":\"message\",\"incremental_output\":");
                w.raw(if self.incremental_output {
                    "true"
                } else {
                    "false"
                });
                self.write_parameters(&mut w);
                w.raw("}}");
            }
            // The OpenAI-compatible shape is the default for protocols added later.
            _ => {
                w.raw("{\"model\":");
                w.string(&self.model);
                w.raw(",\"messages\":");
                self.write_messages(&mut w, false);
                if stream {
                    w.raw(",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
                }
                self.write_parameters(&mut w);
                w.raw("}");
            }
        }
        Ok(())
    }

    /// Every parameter after the protocol's fixed ones, each preceded by a comma.
    fn write_parameters(&self, w: &mut Writer<'_>) {
        if let Some(thinking) = self.effective_thinking() {
            w.key("enable_thinking");
            w.value(&Value::Bool(thinking));
        }
        if let Some(n) = self.thinking_budget {
            w.key("thinking_budget");
            w.value(&Value::from(n));
        }
        for (key, value) in [("temperature", self.temperature), ("top_p", self.top_p)] {
            if let Some(v) = value {
                w.key(key);
                w.value(&Value::from(v));
            }
        }
        if let Some(k) = self.top_k {
            w.key("top_k");
            w.value(&Value::from(k));
        }
        for (key, value) in [
            ("repetition_penalty", self.repetition_penalty),
            ("presence_penalty", self.presence_penalty),
        ] {
            if let Some(v) = value {
                w.key(key);
                w.value(&Value::from(v));
            }
        }
        if let Some(n) = self.max_tokens {
            w.key("max_tokens");
            w.value(&Value::from(n));
        }
        if let Some(seed) = self.seed {
            w.key("seed");
            w.value(&Value::from(seed));
        }
        match &self.stop {
            Some(Stop::One(s)) => {
                w.key("stop");
                w.string(s);
            }
            Some(Stop::Many(v)) => {
                w.key("stop");
                w.raw("[");
                for (i, s) in v.iter().enumerate() {
                    if i > 0 {
                        w.raw(",");
                    }
                    w.string(s);
                }
                w.raw("]");
            }
            None => {}
        }
        if !self.tools.is_empty() {
            w.key("tools");
            w.raw("[");
            for (i, tool) in self.tools.iter().enumerate() {
                if i > 0 {
                    w.raw(",");
                }
                w.raw("{\"type\":\"function\",\"function\":{\"name\":");
                w.string(&tool.name);
                w.raw(",\"description\":");
                w.string(&tool.description);
                w.raw(",\"parameters\":");
                w.value(&tool.parameters);
                w.raw("}}");
            }
            w.raw("]");
        }
        match &self.tool_choice {
            Some(ToolChoice::Auto) => {
                w.key("tool_choice");
                w.raw("\"auto\"");
            }
            Some(ToolChoice::None) => {
                w.key("tool_choice");
                w.raw("\"none\"");
            }
            Some(ToolChoice::Function(name)) => {
                w.key("tool_choice");
                w.raw("{\"type\":\"function\",\"function\":{\"name\":");
                w.string(name);
                w.raw("}}");
            }
            None => {}
        }
        for (key, value) in [
            ("parallel_tool_calls", self.parallel_tool_calls),
            ("tool_stream", self.tool_stream),
        ] {
            if let Some(v) = value {
                w.key(key);
                w.value(&Value::Bool(v));
            }
        }
        match &self.response_format {
            Some(ResponseFormat::Text) => {
                w.key("response_format");
                w.raw("{\"type\":\"text\"}");
            }
            Some(ResponseFormat::JsonObject) => {
                w.key("response_format");
                w.raw("{\"type\":\"json_object\"}");
            }
            Some(ResponseFormat::JsonSchema(s)) => {
                w.key("response_format");
                w.raw("{\"type\":\"json_schema\",\"json_schema\":{\"name\":");
                w.string(&s.name);
                w.raw(",\"schema\":");
                w.value(&s.schema);
                if let Some(strict) = s.strict {
                    w.raw(",\"strict\":");
                    w.value(&Value::Bool(strict));
                }
                w.raw("}}");
            }
            None => {}
        }
        for (key, value) in &self.extra {
            w.key(key);
            w.value(value);
        }
    }

    fn write_messages(&self, w: &mut Writer<'_>, native: bool) {
        w.raw("[");
        for (i, m) in self.messages.iter().enumerate() {
            if i > 0 {
                w.raw(",");
            }
            w.raw("{\"role\":");
            w.string(m.role.as_str());
            w.raw(",\"content\":");
            w.string(&m.content);
            if let Some(reasoning) = &m.reasoning_content {
                w.raw(",\"reasoning_content\":");
                w.string(reasoning);
            }
            if !m.tool_calls.is_empty() {
                w.raw(",\"tool_calls\":[");
                for (j, call) in m.tool_calls.iter().enumerate() {
                    if j > 0 {
                        w.raw(",");
                    }
                    w.raw("{\"id\":");
                    w.string(&call.id);
                    w.raw(",\"type\":\"function\"");
                    if native {
                        w.raw(",\"index\":");
                        w.value(&Value::from(call.index));
                    }
                    w.raw(",\"function\":{\"name\":");
                    w.string(&call.name);
                    w.raw(",\"arguments\":");
                    w.string(&call.arguments);
                    w.raw("}}");
                }
                w.raw("]");
            }
            if let Some(id) = &m.tool_call_id {
                w.raw(",\"tool_call_id\":");
                w.string(id);
            }
            if m.partial {
                w.raw(",\"partial\":true");
            }
            w.raw("}");
        }
        w.raw("]");
    }
}

/// Appends JSON text to a byte buffer. Every writer here follows a `{` plus at least
/// one member, so [`key`](Writer::key) always writes the separating comma.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    fn raw(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
    }

    fn key(&mut self, key: &str) {
        self.raw(",");
        self.string(key);
        self.raw(":");
    }

    fn string(&mut self, s: &str) {
        // Writing to a Vec cannot fail, and a &str always serializes.
        let _ = serde_json::to_writer(&mut *self.out, s);
    }

    fn value(&mut self, v: &Value) {
        // As above; a non-finite float inside a Value is already `null`.
        let _ = serde_json::to_writer(&mut *self.out, v);
    }
}
