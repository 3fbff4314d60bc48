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
/// This example shows a message's role and a role's spelling.
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
    ///
    /// # Example
    ///
    /// This example shows the spelling of every role.
    ///
    /// ```
    /// use dashscope_glm::chat::Role;
    ///
    /// let roles = [Role::System, Role::User, Role::Assistant, Role::Tool].map(Role::as_str);
    /// assert_eq!(roles, ["system", "user", "assistant", "tool"]);
    /// ```
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
/// This example shows a tool call and the tool result that answers it.
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
    ///
    /// # Example
    ///
    /// This example shows a system message as the body carries it.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Message, Protocol};
    /// use serde_json::json;
    ///
    /// let mut body = Vec::new();
    /// let request = ChatRequest::new("glm-5").message(Message::system("Be terse.")).user("hi");
    /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// assert_eq!(json["messages"][0], json!({"role": "system", "content": "Be terse."}));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }

    /// A user message.
    ///
    /// # Example
    ///
    /// This example shows that a user message carries its text and nothing else.
    ///
    /// ```
    /// use dashscope_glm::chat::{Message, Role};
    ///
    /// let message = Message::user("Who are you");
    /// assert_eq!((message.role, message.content.as_str()), (Role::User, "Who are you"));
    /// assert!(message.tool_calls.is_empty() && message.tool_call_id.is_none());
    /// ```
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    /// An assistant message (an earlier turn of the model).
    ///
    /// # Example
    ///
    /// This example shows an earlier answer replayed as text, with no reasoning attached.
    ///
    /// ```
    /// use dashscope_glm::chat::{Message, Role};
    ///
    /// let message = Message::assistant("I am GLM.");
    /// assert_eq!(message.role, Role::Assistant);
    /// assert_eq!(message.reasoning_content, None);
    /// ```
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }

    /// A tool result answering the call `tool_call_id`.
    ///
    /// # Example
    ///
    /// This example shows a tool result as the body carries it.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Message, Protocol};
    /// use serde_json::json;
    ///
    /// let mut body = Vec::new();
    /// let request = ChatRequest::new("glm-5").message(Message::tool("call_1", r#"{"temp":21}"#));
    /// request.write_body(Protocol::DashScope, true, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// let expected = json!({"role": "tool", "content": r#"{"temp":21}"#, "tool_call_id": "call_1"});
    /// assert_eq!(json["input"]["messages"][0], expected);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        let mut message = Self::new(Role::Tool, content);
        message.tool_call_id = Some(tool_call_id.into());
        message
    }

    /// The assistant turn a [`Completion`] holds: its content and tool calls, and its
    /// reasoning when `with_reasoning` is true.
    ///
    /// # Example
    ///
    /// This example shows the reasoning kept or left out of the replayed turn.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, Message, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"reasoning_content":"Easy.","content":"4"},"finish_reason":"stop"}]}"#)?;
    /// let completion = acc.finish()?;
    /// assert_eq!(Message::from_completion(&completion, false).reasoning_content, None);
    /// let with = Message::from_completion(&completion, true);
    /// assert_eq!(with.reasoning_content.as_deref(), Some("Easy."));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn from_completion(completion: &Completion, with_reasoning: bool) -> Self {
        let m = &completion.message;
        let mut message = Self::assistant(m.content.clone()).with_tool_calls(m.tool_calls.clone());
        if with_reasoning && !m.reasoning_content.is_empty() {
            message.reasoning_content = Some(m.reasoning_content.clone());
        }
        message
    }

    /// Sets the reasoning to replay with an assistant turn.
    ///
    /// # Example
    ///
    /// This example shows the reasoning written as `reasoning_content` beside the content.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Message, Protocol};
    ///
    /// let mut body = Vec::new();
    /// let turn = Message::assistant("4").with_reasoning("2 + 2 is 4.");
    /// let request = ChatRequest::new("glm-5").message(turn);
    /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// assert_eq!(json["messages"][0]["reasoning_content"], "2 + 2 is 4.");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_reasoning(mut self, reasoning: impl Into<String>) -> Self {
        self.reasoning_content = Some(reasoning.into());
        self
    }

    /// Sets an assistant turn's tool calls.
    ///
    /// # Example
    ///
    /// This example shows a tool call as the OpenAI-compatible body carries it.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Message, Protocol, ToolCall};
    /// use serde_json::json;
    ///
    /// let call = ToolCall::new(0, "call_1", "get_weather", r#"{"city":"Beijing"}"#);
    /// let mut body = Vec::new();
    /// let turn = Message::assistant("").with_tool_calls(vec![call]);
    /// let request = ChatRequest::new("glm-5").message(turn);
    /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// let function = json!({"name": "get_weather", "arguments": r#"{"city":"Beijing"}"#});
    /// let expected = json!([{"id": "call_1", "type": "function", "function": function}]);
    /// assert_eq!(json["messages"][0]["tool_calls"], expected);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_tool_calls(mut self, calls: Vec<ToolCall>) -> Self {
        self.tool_calls = calls;
        self
    }

    /// Marks the message as a prefix to continue (partial mode).
    ///
    /// # Example
    ///
    /// This example shows partial mode refused for a GLM model before anything is sent.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Message, Rule};
    /// use dashscope_glm::Error;
    ///
    /// let request = ChatRequest::new("glm-5")
    ///     .user("Write a haiku")
    ///     .message(Message::assistant("Autumn moon").with_partial(true));
    /// let err = request.validate().unwrap_err();
    /// assert!(matches!(err, Error::Validation { rule: Rule::PartialMode, .. }));
    /// ```
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
/// This example shows a function tool with a JSON Schema for its parameters.
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
    ///
    /// # Example
    ///
    /// This example shows a function tool as the body carries it.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol, Tool};
    /// use serde_json::json;
    ///
    /// let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}});
    /// let tool = Tool::function("get_weather", "Current weather in a city", schema.clone());
    /// let mut body = Vec::new();
    /// let request = ChatRequest::new("glm-5").user("hi").tool(tool);
    /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// assert_eq!(json["tools"][0]["type"], "function");
    /// assert_eq!(json["tools"][0]["function"]["parameters"], schema);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
/// This example shows a forced choice beside the model's own.
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
    ///
    /// # Example
    ///
    /// This example shows a forced function as the body carries it.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol, ToolChoice};
    /// use serde_json::json;
    ///
    /// let mut body = Vec::new();
    /// let forced = ToolChoice::function("get_weather");
    /// let request = ChatRequest::new("glm-5").user("hi").tool_choice(forced);
    /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// let expected = json!({"type": "function", "function": {"name": "get_weather"}});
    /// assert_eq!(json["tool_choice"], expected);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn function(name: impl Into<String>) -> Self {
        Self::Function(name.into())
    }

    /// Whether this forces a call (anything but `auto` and `none`).
    ///
    /// # Example
    ///
    /// This example shows a forced choice refused while thinking is on, and accepted without it.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Rule, ToolChoice};
    /// use dashscope_glm::Error;
    ///
    /// let choice = ToolChoice::function("get_weather");
    /// assert!(choice.is_forced() && !ToolChoice::None.is_forced());
    /// let request = ChatRequest::new("glm-5").user("Weather?").tool_choice(choice);
    /// let err = request.validate().unwrap_err();
    /// assert!(matches!(err, Error::Validation { rule: Rule::ForcedToolChoiceWithThinking, .. }));
    /// assert!(request.thinking(false).validate().is_ok());
    /// ```
    pub fn is_forced(&self) -> bool {
        matches!(self, Self::Function(_))
    }
}

/// A JSON Schema for [`ResponseFormat::JsonSchema`].
///
/// # Example
///
/// This example shows a strict schema.
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
    ///
    /// # Example
    ///
    /// This example shows a schema as the body carries it (no `strict` unless set).
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, JsonSchema, Protocol, ResponseFormat};
    /// use serde_json::json;
    ///
    /// let schema = JsonSchema::new("answer", json!({"type": "object"}));
    /// let request = ChatRequest::new("glm-5").user("hi").thinking(false)
    ///     .response_format(ResponseFormat::JsonSchema(schema));
    /// let mut body = Vec::new();
    /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// let inner = json!({"name": "answer", "schema": {"type": "object"}});
    /// let expected = json!({"type": "json_schema", "json_schema": inner});
    /// assert_eq!(json["response_format"], expected);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(name: impl Into<String>, schema: Value) -> Self {
        Self {
            name: name.into(),
            schema,
            strict: None,
        }
    }

    /// Sets [`strict`](JsonSchema::strict).
    ///
    /// # Example
    ///
    /// This example shows `strict` written into the schema object.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, JsonSchema, Protocol, ResponseFormat};
    /// use serde_json::json;
    ///
    /// let schema = JsonSchema::new("answer", json!({"type": "object"})).strict(true);
    /// let format = ResponseFormat::JsonSchema(schema);
    /// let request = ChatRequest::new("glm-5").user("hi").response_format(format);
    /// let mut body = Vec::new();
    /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// assert_eq!(json["response_format"]["json_schema"]["strict"], true);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
/// This example shows which formats are structured.
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
    ///
    /// # Example
    ///
    /// This example shows that only structured formats are refused with thinking on.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, JsonSchema, ResponseFormat};
    /// use serde_json::json;
    ///
    /// let schema = ResponseFormat::JsonSchema(JsonSchema::new("answer", json!({})));
    /// assert!(schema.is_structured());
    /// let request = ChatRequest::new("glm-5").user("hi");
    /// assert!(request.clone().response_format(ResponseFormat::Text).validate().is_ok());
    /// assert!(request.response_format(schema).validate().is_err());
    /// ```
    pub fn is_structured(&self) -> bool {
        !matches!(self, Self::Text)
    }
}

/// Stop sequences.
///
/// # Example
///
/// This example shows the conversions from strings.
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
    ///
    /// # Example
    ///
    /// This example shows a new request's defaults.
    ///
    /// ```
    /// use dashscope_glm::chat::ChatRequest;
    ///
    /// let request = ChatRequest::new("glm-4.7");
    /// assert_eq!(request.model(), "glm-4.7");
    /// assert!(request.messages().is_empty() && request.extras().is_empty());
    /// assert!(request.is_incremental());
    /// assert_eq!(request.protocol_override(), None);
    /// ```
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
    ///
    /// # Example
    ///
    /// This example shows a prepared message appended to the conversation.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Message, Role};
    ///
    /// let request = ChatRequest::new("glm-5").message(Message::user("hi").with_partial(false));
    /// assert_eq!(request.messages()[0].role, Role::User);
    /// ```
    #[must_use]
    pub fn message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    /// Appends a message in place (for conversation loops).
    ///
    /// # Example
    ///
    /// This example shows a conversation grown in place, one turn after another.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Message};
    ///
    /// let mut request = ChatRequest::new("glm-5").system("Be terse.");
    /// for question in ["hi", "and now?"] {
    ///     request.push(Message::user(question));
    ///     request.push(Message::assistant("..."));
    /// }
    /// assert_eq!(request.messages().len(), 5);
    /// assert_eq!(request.messages()[3].content, "and now?");
    /// ```
    pub fn push(&mut self, message: Message) {
        self.messages.push(message);
    }

    /// Appends a system message.
    ///
    /// # Example
    ///
    /// This example shows the system message kept where it was appended.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Role};
    ///
    /// let request = ChatRequest::new("glm-5").system("Be terse.").user("hi");
    /// let roles: Vec<Role> = request.messages().iter().map(|m| m.role).collect();
    /// assert_eq!(roles, [Role::System, Role::User]);
    /// ```
    #[must_use]
    pub fn system(self, content: impl Into<String>) -> Self {
        self.message(Message::system(content))
    }

    /// Appends a user message.
    ///
    /// # Example
    ///
    /// This example shows the content sent verbatim: a backslash-n stays two characters.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol};
    ///
    /// let mut body = Vec::new();
    /// let request = ChatRequest::new("glm-5").user(r"a\nb, 你好");
    /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
    /// assert!(String::from_utf8(body)?.contains(r#"{"role":"user","content":"a\\nb, 你好"}"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn user(self, content: impl Into<String>) -> Self {
        self.message(Message::user(content))
    }

    /// Appends an assistant message (an earlier answer, as text).
    ///
    /// # Example
    ///
    /// This example shows an earlier exchange replayed as text.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Role};
    ///
    /// let request = ChatRequest::new("glm-5").user("2 + 2?").assistant("4").user("And times 3?");
    /// assert_eq!(request.messages()[1].role, Role::Assistant);
    /// assert_eq!(request.messages()[1].content, "4");
    /// ```
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
    ///
    /// # Example
    ///
    /// This example shows the reasoning replayed with the turn.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, ChatRequest, Protocol};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"reasoning_content":"Easy.","content":"4"},"finish_reason":"stop"}]}"#)?;
    /// let completion = acc.finish()?;
    /// let request = ChatRequest::new("glm-5")
    ///     .user("2 + 2?")
    ///     .assistant_from_with_reasoning(&completion);
    /// assert_eq!(request.messages()[1].reasoning_content.as_deref(), Some("Easy."));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn assistant_from_with_reasoning(self, completion: &Completion) -> Self {
        self.message(Message::from_completion(completion, true))
    }

    /// Appends a tool result answering the call `tool_call_id`.
    ///
    /// # Example
    ///
    /// This example shows a tool result answering a call by its id.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Role};
    ///
    /// let request = ChatRequest::new("glm-5").user("Weather?").tool_result("call_1", "21 °C");
    /// let result = &request.messages()[1];
    /// assert_eq!((result.role, result.tool_call_id.as_deref()), (Role::Tool, Some("call_1")));
    /// ```
    #[must_use]
    pub fn tool_result(self, tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        self.message(Message::tool(tool_call_id, content))
    }

    setter!(
        /// Thinking on or off (`enable_thinking`). GLM thinks by default.
        ///
        /// # Example
        ///
        /// This example shows that a catalog model gets `enable_thinking` even when unset.
        ///
        /// ```
        /// use dashscope_glm::chat::{ChatRequest, Protocol};
        ///
        /// let mut body = Vec::new();
        /// let request = ChatRequest::new("glm-5").user("hi");
        /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
        /// let json: serde_json::Value = serde_json::from_slice(&body)?;
        /// assert_eq!(json["enable_thinking"], true);
        /// let request = request.thinking(false);
        /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
        /// let json: serde_json::Value = serde_json::from_slice(&body)?;
        /// assert_eq!(json["enable_thinking"], false);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        thinking: bool
    );
    setter!(
        /// The most reasoning tokens (`thinking_budget`; GLM: at most 32,768).
        ///
        /// # Example
        ///
        /// This example shows the budget among the native `parameters`.
        ///
        /// ```
        /// use dashscope_glm::chat::{ChatRequest, Protocol};
        ///
        /// let mut body = Vec::new();
        /// let request = ChatRequest::new("glm-5").user("hi").thinking_budget(4096);
        /// request.write_body(Protocol::DashScope, true, &mut body)?;
        /// let json: serde_json::Value = serde_json::from_slice(&body)?;
        /// assert_eq!(json["parameters"]["thinking_budget"], 4096);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        thinking_budget: u32
    );

    /// Offers a tool to the model.
    ///
    /// # Example
    ///
    /// This example shows tools sent in the order they were offered.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol, Tool};
    /// use serde_json::json;
    ///
    /// let request = ChatRequest::new("glm-5")
    ///     .user("hi")
    ///     .tool(Tool::function("get_weather", "Weather", json!({"type": "object"})))
    ///     .tool(Tool::function("get_time", "Time", json!({"type": "object"})));
    /// let mut body = Vec::new();
    /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// assert_eq!(json["tools"][1]["function"]["name"], "get_time");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    setter!(
        /// Whether and which tool to call (`tool_choice`).
        ///
        /// # Example
        ///
        /// This example shows `none` written as a plain string.
        ///
        /// ```
        /// use dashscope_glm::chat::{ChatRequest, Protocol, ToolChoice};
        ///
        /// let mut body = Vec::new();
        /// let request = ChatRequest::new("glm-5").user("hi").tool_choice(ToolChoice::None);
        /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
        /// let json: serde_json::Value = serde_json::from_slice(&body)?;
        /// assert_eq!(json["tool_choice"], "none");
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        tool_choice: ToolChoice
    );
    setter!(
        /// Whether the model may call several tools in one turn (`parallel_tool_calls`).
        ///
        /// # Example
        ///
        /// This example shows the flag at the top level of the OpenAI-compatible body.
        ///
        /// ```
        /// use dashscope_glm::chat::{ChatRequest, Protocol};
        ///
        /// let mut body = Vec::new();
        /// let request = ChatRequest::new("glm-5").user("hi").parallel_tool_calls(true);
        /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
        /// let json: serde_json::Value = serde_json::from_slice(&body)?;
        /// assert_eq!(json["parallel_tool_calls"], true);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        parallel_tool_calls: bool
    );
    setter!(
        /// Stream complex tool arguments piece by piece (`tool_stream`).
        ///
        /// # Example
        ///
        /// This example shows the flag among the native `parameters`.
        ///
        /// ```
        /// use dashscope_glm::chat::{ChatRequest, Protocol};
        ///
        /// let mut body = Vec::new();
        /// let request = ChatRequest::new("glm-5").user("hi").tool_stream(true);
        /// request.write_body(Protocol::DashScope, true, &mut body)?;
        /// let json: serde_json::Value = serde_json::from_slice(&body)?;
        /// assert_eq!(json["parameters"]["tool_stream"], true);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        tool_stream: bool
    );
    setter!(
        /// The shape of the answer (`response_format`); GLM gives structured output only
        /// with thinking off.
        ///
        /// # Example
        ///
        /// This example shows `json_object` refused until a message says "json".
        ///
        /// ```
        /// use dashscope_glm::chat::{ChatRequest, ResponseFormat, Rule};
        /// use dashscope_glm::Error;
        ///
        /// let request = ChatRequest::new("glm-5")
        ///     .thinking(false)
        ///     .response_format(ResponseFormat::JsonObject);
        /// let err = request.clone().user("List three colours").validate().unwrap_err();
        /// assert!(matches!(err, Error::Validation { rule: Rule::JsonObjectWithoutJsonWord, .. }));
        /// assert!(request.user("List three colours as JSON").validate().is_ok());
        /// ```
        response_format: ResponseFormat
    );
    setter!(
        /// Sampling temperature, [0, 2) (`temperature`; GLM default 1.0).
        ///
        /// # Example
        ///
        /// This example shows the temperature at the top level of the OpenAI-compatible body.
        ///
        /// ```
        /// use dashscope_glm::chat::{ChatRequest, Protocol};
        ///
        /// let mut body = Vec::new();
        /// let request = ChatRequest::new("glm-5").user("hi").temperature(0.2);
        /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
        /// let json: serde_json::Value = serde_json::from_slice(&body)?;
        /// assert_eq!(json["temperature"], 0.2);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        temperature: f64
    );
    setter!(
        /// Nucleus sampling, (0, 1] (`top_p`; GLM default 0.95).
        ///
        /// # Example
        ///
        /// This example shows `top_p` among the native `parameters`.
        ///
        /// ```
        /// use dashscope_glm::chat::{ChatRequest, Protocol};
        ///
        /// let mut body = Vec::new();
        /// let request = ChatRequest::new("glm-5").user("hi").top_p(0.8);
        /// request.write_body(Protocol::DashScope, true, &mut body)?;
        /// let json: serde_json::Value = serde_json::from_slice(&body)?;
        /// assert_eq!(json["parameters"]["top_p"], 0.8);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        top_p: f64
    );
    setter!(
        /// Candidates considered per token (`top_k`; GLM default 20).
        ///
        /// # Example
        ///
        /// This example shows `top_k`, which is not an OpenAI field, written at the top level
        /// of the OpenAI-compatible body all the same.
        ///
        /// ```
        /// use dashscope_glm::chat::{ChatRequest, Protocol};
        ///
        /// let mut body = Vec::new();
        /// let request = ChatRequest::new("glm-5").user("hi").top_k(5);
        /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
        /// let json: serde_json::Value = serde_json::from_slice(&body)?;
        /// assert_eq!(json["top_k"], 5);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        top_k: u32
    );
    setter!(
        /// Penalty for repeated tokens, > 0 (`repetition_penalty`; GLM default 1.0).
        ///
        /// # Example
        ///
        /// This example shows the penalty among the native `parameters`.
        ///
        /// ```
        /// use dashscope_glm::chat::{ChatRequest, Protocol};
        ///
        /// let mut body = Vec::new();
        /// let request = ChatRequest::new("glm-5").user("hi").repetition_penalty(1.05);
        /// request.write_body(Protocol::DashScope, true, &mut body)?;
        /// let json: serde_json::Value = serde_json::from_slice(&body)?;
        /// assert_eq!(json["parameters"]["repetition_penalty"], 1.05);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        repetition_penalty: f64
    );
    setter!(
        /// Penalty for tokens already present, [-2, 2] (`presence_penalty`).
        ///
        /// # Example
        ///
        /// This example shows the penalty at the top level of the OpenAI-compatible body.
        ///
        /// ```
        /// use dashscope_glm::chat::{ChatRequest, Protocol};
        ///
        /// let mut body = Vec::new();
        /// let request = ChatRequest::new("glm-5").user("hi").presence_penalty(-0.5);
        /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
        /// let json: serde_json::Value = serde_json::from_slice(&body)?;
        /// assert_eq!(json["presence_penalty"], -0.5);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        presence_penalty: f64
    );
    setter!(
        /// The most answer tokens (`max_tokens`; GLM: at most 16,384).
        ///
        /// # Example
        ///
        /// This example shows the largest value GLM accepts, and one above it refused.
        ///
        /// ```
        /// use dashscope_glm::chat::{ChatRequest, Rule};
        /// use dashscope_glm::Error;
        ///
        /// assert!(ChatRequest::new("glm-5").user("hi").max_tokens(16_384).validate().is_ok());
        /// let err = ChatRequest::new("glm-5").user("hi").max_tokens(16_385).validate();
        /// assert!(matches!(err, Err(Error::Validation { rule: Rule::MaxTokensAboveLimit, .. })));
        /// ```
        max_tokens: u32
    );
    setter!(
        /// Sampling seed (`seed`).
        ///
        /// # Example
        ///
        /// This example shows the seed among the native `parameters`.
        ///
        /// ```
        /// use dashscope_glm::chat::{ChatRequest, Protocol};
        ///
        /// let mut body = Vec::new();
        /// let request = ChatRequest::new("glm-5").user("hi").seed(42);
        /// request.write_body(Protocol::DashScope, true, &mut body)?;
        /// let json: serde_json::Value = serde_json::from_slice(&body)?;
        /// assert_eq!(json["parameters"]["seed"], 42);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        seed: u64
    );

    /// Stop sequences (`stop`).
    ///
    /// # Example
    ///
    /// This example shows one stop string and several.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol};
    ///
    /// let mut body = Vec::new();
    /// let request = ChatRequest::new("glm-5").user("hi");
    /// request.clone().stop("END").write_body(Protocol::DashScope, true, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// assert_eq!(json["parameters"]["stop"], "END");
    /// request.stop(vec!["\n\n", "END"]).write_body(Protocol::DashScope, true, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// assert_eq!(json["parameters"]["stop"], serde_json::json!(["\n\n", "END"]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    /// This example shows an extra field accepted, and one that collides refused.
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
    ///
    /// # Example
    ///
    /// This example shows cumulative output asked for on the native protocol.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol};
    ///
    /// let request = ChatRequest::new("glm-5").user("hi").incremental_output(false);
    /// assert!(!request.is_incremental());
    /// let mut body = Vec::new();
    /// request.write_body(Protocol::DashScope, true, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// assert_eq!(json["parameters"]["incremental_output"], false);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn incremental_output(mut self, incremental: bool) -> Self {
        self.incremental_output = incremental;
        self
    }

    /// Sends this request with `protocol` whatever the client's default.
    ///
    /// # Example
    ///
    /// This example shows a request pinned to the native protocol.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol};
    ///
    /// let request = ChatRequest::new("glm-5").user("hi").protocol(Protocol::DashScope);
    /// assert_eq!(request.protocol_override(), Some(Protocol::DashScope));
    /// ```
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The model name.
    ///
    /// # Example
    ///
    /// This example shows the model name as given.
    ///
    /// ```
    /// use dashscope_glm::chat::ChatRequest;
    ///
    /// assert_eq!(ChatRequest::new("glm-4.6").model(), "glm-4.6");
    /// ```
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The messages so far.
    ///
    /// # Example
    ///
    /// This example shows the messages in the order appended.
    ///
    /// ```
    /// use dashscope_glm::chat::ChatRequest;
    ///
    /// let request = ChatRequest::new("glm-5").system("Be terse.").user("hi");
    /// let texts: Vec<&str> = request.messages().iter().map(|m| m.content.as_str()).collect();
    /// assert_eq!(texts, ["Be terse.", "hi"]);
    /// ```
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The protocol this request asked for, if any.
    ///
    /// # Example
    ///
    /// This example shows no override until one is set.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol};
    ///
    /// let request = ChatRequest::new("glm-5");
    /// assert_eq!(request.protocol_override(), None);
    /// let request = request.protocol(Protocol::OpenAiCompatible);
    /// assert_eq!(request.protocol_override(), Some(Protocol::OpenAiCompatible));
    /// ```
    pub fn protocol_override(&self) -> Option<Protocol> {
        self.protocol
    }

    /// Whether the native protocol should stream deltas (see
    /// [`incremental_output`](ChatRequest::incremental_output)).
    ///
    /// # Example
    ///
    /// This example shows the default, deltas.
    ///
    /// ```
    /// use dashscope_glm::chat::ChatRequest;
    ///
    /// assert!(ChatRequest::new("glm-5").is_incremental());
    /// assert!(!ChatRequest::new("glm-5").incremental_output(false).is_incremental());
    /// ```
    pub fn is_incremental(&self) -> bool {
        self.incremental_output
    }

    /// The extra fields, in the order first set.
    ///
    /// # Example
    ///
    /// This example shows a key set twice: it keeps its first place and its last value.
    ///
    /// ```
    /// use dashscope_glm::chat::ChatRequest;
    /// use serde_json::json;
    ///
    /// let request = ChatRequest::new("glm-5").extra("n", 1).extra("user", "u-1").extra("n", 2);
    /// let expected = [("n".to_owned(), json!(2)), ("user".to_owned(), json!("u-1"))];
    /// assert_eq!(request.extras(), expected);
    /// ```
    pub fn extras(&self) -> &[(String, Value)] {
        &self.extra
    }

    /// Whether thinking is on: as set, else the catalog model's default, else `None`
    /// (unknown model, the server decides).
    ///
    /// # Example
    ///
    /// This example shows thinking as set, as the catalog's default, and unknown.
    ///
    /// ```
    /// use dashscope_glm::chat::ChatRequest;
    ///
    /// assert_eq!(ChatRequest::new("glm-5").thinking(false).effective_thinking(), Some(false));
    /// assert_eq!(ChatRequest::new("glm-4.7").effective_thinking(), Some(true));
    /// assert_eq!(ChatRequest::new("my-fine-tune").effective_thinking(), None);
    /// ```
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
    ///
    /// # Example
    ///
    /// This example shows a rule refused for a catalog model and not checked for an unknown one.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Rule};
    /// use dashscope_glm::Error;
    ///
    /// let budget = ChatRequest::new("glm-5").user("hi").thinking_budget(50_000);
    /// let err = budget.validate().unwrap_err();
    /// assert!(matches!(err, Error::Validation { rule: Rule::ThinkingBudgetAboveLimit, .. }));
    /// let unknown = ChatRequest::new("my-fine-tune").user("hi").thinking_budget(50_000);
    /// assert!(unknown.validate().is_ok());
    /// ```
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
