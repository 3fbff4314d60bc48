//! The [`ChatRequest`] builder: its fields, setters and getters.

use serde_json::Value;

use crate::chat::model::Model;
use crate::chat::{Completion, Message, Protocol, ResponseFormat, Stop, Tool, ToolChoice};

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
    pub(super) model: String,
    pub(super) messages: Vec<Message>,
    pub(super) thinking: Option<bool>,
    pub(super) thinking_budget: Option<u32>,
    pub(super) tools: Vec<Tool>,
    pub(super) tool_choice: Option<ToolChoice>,
    pub(super) parallel_tool_calls: Option<bool>,
    pub(super) tool_stream: Option<bool>,
    pub(super) response_format: Option<ResponseFormat>,
    pub(super) temperature: Option<f64>,
    pub(super) top_p: Option<f64>,
    pub(super) top_k: Option<u32>,
    pub(super) repetition_penalty: Option<f64>,
    pub(super) presence_penalty: Option<f64>,
    pub(super) max_tokens: Option<u32>,
    pub(super) seed: Option<u64>,
    pub(super) stop: Option<Stop>,
    pub(super) extra: Vec<(String, Value)>,
    pub(super) incremental_output: bool,
    pub(super) protocol: Option<Protocol>,
}

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
    /// [`Rule::ExtraCollidesWithField`](crate::chat::Rule::ExtraCollidesWithField).
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
}
