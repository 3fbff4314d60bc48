//! The [`ChatRequest`] builder: its fields, setters and getters.

use super::validate::set_header;
use serde_json::Value;

use crate::chat::catalog::{self, Catalog};
use crate::chat::{Message, Protocol, ReasoningEffort, ResponseFormat, Stop, Tool, ToolChoice};

/// One chat request: the model, the messages and the generation parameters.
///
/// Build it with the chained methods, then hand it to the client (which checks it with
/// [`validate`](ChatRequest::validate) before sending a byte), or serialize it yourself
/// with [`write_body`](ChatRequest::write_body). A setter left unset is not sent, so the
/// server's default applies; the one exception is thinking, below. What each model takes
/// (limits, levels, features) is the catalog's: see [`Catalog::builtin`].
///
/// Where each setter lands in the body, on each protocol ("native" is DashScope's own
/// protocol; `parameters.x` is the key `x` inside the `parameters` object):
///
/// | setter | OpenAI-compatible | native |
/// | --- | --- | --- |
/// | [`new`](ChatRequest::new) (the model) | `model` | `model` |
/// | [`message`](ChatRequest::message) and the setters that append one ([`push`](ChatRequest::push), [`system`](ChatRequest::system), [`user`](ChatRequest::user), [`assistant`](ChatRequest::assistant), [`tool_result`](ChatRequest::tool_result)) | `messages` | `input.messages` |
/// | [`thinking`](ChatRequest::thinking) | `enable_thinking` | `parameters.enable_thinking` |
/// | [`thinking_budget`](ChatRequest::thinking_budget) | `thinking_budget` | `parameters.thinking_budget` |
/// | [`reasoning_effort`](ChatRequest::reasoning_effort) | `reasoning_effort` | `parameters.reasoning_effort` |
/// | [`temperature`](ChatRequest::temperature) | `temperature` | `parameters.temperature` |
/// | [`top_p`](ChatRequest::top_p) | `top_p` | `parameters.top_p` |
/// | [`top_k`](ChatRequest::top_k) | `top_k` | `parameters.top_k` |
/// | [`repetition_penalty`](ChatRequest::repetition_penalty) | `repetition_penalty` | `parameters.repetition_penalty` |
/// | [`presence_penalty`](ChatRequest::presence_penalty) | `presence_penalty` | `parameters.presence_penalty` |
/// | [`max_tokens`](ChatRequest::max_tokens) | `max_tokens` | `parameters.max_tokens` |
/// | [`seed`](ChatRequest::seed) | `seed` | `parameters.seed` |
/// | [`stop`](ChatRequest::stop) | `stop` | `parameters.stop` |
/// | [`tool`](ChatRequest::tool) | `tools` | `parameters.tools` |
/// | [`tool_choice`](ChatRequest::tool_choice) | `tool_choice` | `parameters.tool_choice` |
/// | [`parallel_tool_calls`](ChatRequest::parallel_tool_calls) | `parallel_tool_calls` | `parameters.parallel_tool_calls` |
/// | [`tool_stream`](ChatRequest::tool_stream) | `tool_stream` | `parameters.tool_stream` |
/// | [`response_format`](ChatRequest::response_format) | `response_format` | `parameters.response_format` |
/// | [`extra`](ChatRequest::extra)`(key, ..)` | `key` | `parameters.key` |
/// | [`incremental_output`](ChatRequest::incremental_output) | not sent | `parameters.incremental_output` (streaming only) |
/// | [`with_protocol`](ChatRequest::with_protocol) | not sent (picks the endpoint) | not sent (picks the endpoint) |
/// | [`unchecked`](ChatRequest::unchecked) | not sent (turns the catalog off) | not sent (turns the catalog off) |
/// | [`write_body`](ChatRequest::write_body)`(.., stream: true, ..)` | `stream`, `stream_options.include_usage` | not sent (a header asks for the stream) |
/// | (always) | | `parameters.result_format: "message"` |
///
/// When the request does not say whether to think and the model's catalog entry gives a
/// default ([`ModelDefaults::thinking`](crate::chat::ModelDefaults::thinking): on for
/// glm-5, glm-4.7 and glm-4.6), that default is sent explicitly, because Model Studio
/// does not document it and Z.ai's pages differ by model; the catalog's rules then
/// hold for what the server does. Where the entry gives none, and for an
/// [`unchecked`](ChatRequest::unchecked) request, nothing is sent.
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
    pub(super) headers: Headers,
    pub(super) reasoning_effort: Option<ReasoningEffort>,
    pub(super) unchecked: bool,
}

/// A request's headers; `Debug` hides the values of credential headers
/// (`Authorization`, `Proxy-Authorization`), which are refused when sent but could be
/// printed before.
#[derive(Clone, PartialEq, Default)]
pub(super) struct Headers(pub(super) Vec<(String, String)>);

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.0
                    .iter()
                    .map(|(name, value)| (name, ChatRequest::printable_header_value(name, value))),
            )
            .finish()
    }
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
    /// A request to `model` with no messages yet and every parameter unset.
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
    /// assert!(request.is_incremental_output());
    /// assert_eq!(request.protocol(), None);
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
            headers: Headers::default(),
            reasoning_effort: None,
            unchecked: false,
        }
    }

    /// Appends a message. The conversation starts empty.
    #[must_use]
    pub fn message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    /// Appends a message in place, for conversation loops that keep one request.
    pub fn push(&mut self, message: Message) {
        self.messages.push(message);
    }

    /// Appends a system message ([`Message::system`]).
    #[must_use]
    pub fn system(self, content: impl Into<String>) -> Self {
        self.message(Message::system(content))
    }

    /// Appends a user message ([`Message::user`]), its content sent verbatim.
    #[must_use]
    pub fn user(self, content: impl Into<String>) -> Self {
        self.message(Message::user(content))
    }

    /// Appends an assistant message (an earlier answer, as text). For a completion's
    /// turn with its tool calls, append [`Message::from`] the
    /// [`Completion`](crate::chat::Completion).
    #[must_use]
    pub fn assistant(self, content: impl Into<String>) -> Self {
        self.message(Message::assistant(content))
    }

    /// Appends a tool result answering the call `tool_call_id` ([`Message::tool`]).
    #[must_use]
    pub fn tool_result(self, tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        self.message(Message::tool(tool_call_id, content))
    }

    setter!(
        /// Sets thinking on or off. Defaults to the catalog entry's default, sent (on for
        /// glm-5, glm-4.7 and glm-4.6); else to the server's (not sent).
        thinking: bool
    );
    setter!(
        /// Sets the most reasoning tokens, at most the model's
        /// [`max_reasoning`](crate::chat::ModelLimits::max_reasoning) (32,768 for
        /// glm-5; ZHIPU/GLM-5 takes none). Defaults to the model's own (not sent).
        thinking_budget: u32
    );

    /// Sets how long the model thinks (`reasoning_effort`): a [`ReasoningEffort`] level,
    /// or any string (`"max"`, `"ultra"`). Defaults to the model's own (not sent). The
    /// catalog says which models take it and which levels a model lists
    /// ([`Capabilities::reasoning_effort`](crate::chat::Capabilities::reasoning_effort)).
    ///
    /// # Example
    ///
    /// This example shows the field in both protocols' bodies.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol, ReasoningEffort};
    ///
    /// let request = ChatRequest::new("glm-5.3").user("hi").reasoning_effort(ReasoningEffort::High);
    /// let mut body = Vec::new();
    /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// assert_eq!(json["reasoning_effort"], "high");
    /// request.write_body(Protocol::DashScope, false, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// assert_eq!(json["parameters"]["reasoning_effort"], "high");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn reasoning_effort(mut self, effort: impl Into<ReasoningEffort>) -> Self {
        self.reasoning_effort = Some(effort.into());
        self
    }

    /// Turns the catalog off for this request, for when its entry is wrong: no model
    /// rule is checked and no catalog default is sent (thinking is sent only if set).
    /// The sanity rules stay: sampling values in range, no extra field colliding with a
    /// typed one, valid headers. Defaults to checked.
    ///
    /// The choice travels with the request because the client validates each request
    /// itself before sending it; to correct an entry for every request instead, put
    /// the corrected [`Model`](crate::chat::Model) in a [`Catalog`].
    ///
    /// # Example
    ///
    /// This example sends a longer answer than glm-5's entry allows, and shows that a
    /// bad temperature is still refused.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Rule};
    ///
    /// let long = ChatRequest::new("glm-5").user("hi").max_tokens(32_768);
    /// assert_eq!(long.validate().unwrap_err().rule(), Some(Rule::MaxTokensAboveLimit));
    /// let long = long.unchecked();
    /// assert!(long.is_unchecked() && long.validate().is_ok());
    ///
    /// let hot = long.temperature(f64::NAN);
    /// assert_eq!(hot.validate().unwrap_err().rule(), Some(Rule::SamplingOutOfRange));
    /// ```
    #[must_use]
    pub fn unchecked(mut self) -> Self {
        self.unchecked = true;
        self
    }

    /// Whether the catalog is off for this request (see
    /// [`unchecked`](ChatRequest::unchecked)).
    #[must_use]
    pub fn is_unchecked(&self) -> bool {
        self.unchecked
    }

    /// Offers a tool to the model; tools are sent in the order offered. Defaults to no
    /// tools (not sent).
    #[must_use]
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Offers several tools at once, after any offered before (sent where
    /// [`tool`](ChatRequest::tool) sends them, in this order).
    ///
    /// # Example
    ///
    /// This example offers two tools in one call.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol, Tool};
    /// use serde_json::json;
    ///
    /// let object = json!({"type": "object", "properties": {}});
    /// let request = ChatRequest::new("glm-5")
    ///     .user("What time is it in Beijing, and how is the weather?")
    ///     .tools([
    ///         Tool::function("now", "The current time.", object.clone()),
    ///         Tool::function("get_weather", "The current weather.", object),
    ///     ]);
    /// let mut body = Vec::new();
    /// request.write_body(Protocol::OpenAiCompatible, true, &mut body)?;
    /// let json: serde_json::Value = serde_json::from_slice(&body)?;
    /// assert_eq!(json["tools"][0]["function"]["name"], "now");
    /// assert_eq!(json["tools"][1]["function"]["name"], "get_weather");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.tools.extend(tools);
        self
    }

    setter!(
        /// Sets whether and which tool the model must call. Defaults to the server's,
        /// [`ToolChoice::Auto`] (not sent).
        tool_choice: ToolChoice
    );
    setter!(
        /// Sets whether the model may call several tools in one turn. Defaults to the
        /// server's (not sent).
        parallel_tool_calls: bool
    );
    setter!(
        /// Sets whether complex tool arguments stream piece by piece. Defaults to the
        /// server's (not sent).
        tool_stream: bool
    );
    setter!(
        /// Sets the shape of the answer (glm-5, glm-4.7 and glm-4.6 give structured
        /// output only with thinking off). Defaults to [`ResponseFormat::Text`] (not
        /// sent).
        response_format: ResponseFormat
    );
    setter!(
        /// Sets the sampling temperature, in [0.0, 2.0) (else
        /// [`Rule::SamplingOutOfRange`](crate::chat::Rule::SamplingOutOfRange)).
        /// Defaults to the model's own (not sent).
        temperature: f64
    );
    setter!(
        /// Sets nucleus sampling, in (0.0, 1.0] (else
        /// [`Rule::SamplingOutOfRange`](crate::chat::Rule::SamplingOutOfRange)).
        /// Defaults to the model's own (not sent).
        top_p: f64
    );
    setter!(
        /// Sets the candidates considered per token (any value is sent). Defaults to the
        /// model's own (not sent).
        top_k: u32
    );
    setter!(
        /// Sets the penalty for repeated tokens, above 0.0 (else
        /// [`Rule::SamplingOutOfRange`](crate::chat::Rule::SamplingOutOfRange)).
        /// Defaults to the model's own (not sent).
        repetition_penalty: f64
    );
    setter!(
        /// Sets the penalty for tokens already present, in [-2.0, 2.0] (else
        /// [`Rule::SamplingOutOfRange`](crate::chat::Rule::SamplingOutOfRange)).
        /// Defaults to the server's (not sent).
        presence_penalty: f64
    );
    setter!(
        /// Sets the most answer tokens, at most the model's
        /// [`max_response`](crate::chat::ModelLimits::max_response) (16,384 for glm-5,
        /// 131,072 for glm-5.3). Defaults to the model's own (not sent).
        max_tokens: u32
    );
    setter!(
        /// Sets the sampling seed. Defaults to none (not sent).
        seed: u64
    );

    /// Sets the stop sequences, one string or several. Defaults to none (not sent).
    #[must_use]
    pub fn stop(mut self, stop: impl Into<Stop>) -> Self {
        self.stop = Some(stop.into());
        self
    }

    /// Sets a body field this builder does not model, written verbatim: at the top
    /// level on the OpenAI-compatible protocol, inside `parameters` on the native one.
    /// Setting the same key twice keeps its first place and its last value. A key the
    /// builder writes itself (`temperature`, `messages`, ...) makes
    /// [`validate`](ChatRequest::validate) and [`write_body`](ChatRequest::write_body)
    /// fail with
    /// [`Rule::ExtraCollidesWithField`](crate::chat::Rule::ExtraCollidesWithField).
    /// Defaults to no extra fields.
    ///
    /// # Example
    ///
    /// This example shows an extra field accepted, and one that collides refused.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol, Rule};
    ///
    /// let ok = ChatRequest::new("glm-5").user("hi").extra("n", 1);
    /// assert!(ok.validate().is_ok());
    /// let clash = ChatRequest::new("glm-5").user("hi").extra("temperature", 0.2);
    /// assert_eq!(
    ///     clash.validate().unwrap_err().rule(),
    ///     Some(Rule::ExtraCollidesWithField)
    /// );
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

    /// Sets whether the native protocol streams deltas; `false` asks for cumulative
    /// output (every event repeats the text so far), which the client merges back into
    /// deltas. Defaults to `true`. Sent only with a stream; the OpenAI-compatible
    /// protocol always streams deltas.
    #[must_use]
    pub fn incremental_output(mut self, incremental: bool) -> Self {
        self.incremental_output = incremental;
        self
    }

    /// Sets the protocol this request is sent with, read back with
    /// [`protocol`](ChatRequest::protocol). Defaults to the client's (the client, or
    /// a transport of one's own, picks the [`Endpoint`](crate::chat::http::Endpoint) of
    /// this protocol).
    ///
    /// `with_`, because [`protocol`](ChatRequest::protocol) is the getter: a setter takes
    /// the plain name unless its type reads the setting back under it (see the crate
    /// docs' "Naming").
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol};
    ///
    /// let request = ChatRequest::new("glm-5").user("hi").with_protocol(Protocol::DashScope);
    /// assert_eq!(request.protocol(), Some(Protocol::DashScope));
    /// ```
    #[must_use]
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Adds an HTTP header to this request, for what Model Studio reads from headers
    /// (`X-DashScope-DataInspection`, `X-DashScope-WorkSpace`, ...). Setting the same
    /// name again (any case) keeps its first place and its last value; a request header
    /// replaces a client's default header of the same name. Defaults to no headers.
    ///
    /// The headers the client writes itself (`Authorization`, `Content-Type`,
    /// `X-DashScope-SSE`, and HTTP framing: `Host`, `Content-Length`,
    /// `Transfer-Encoding`, `Connection`) and names or values that are not valid HTTP
    /// make [`validate`](ChatRequest::validate), and so sending, fail with
    /// [`Rule::InvalidHeader`](crate::chat::Rule::InvalidHeader).
    ///
    /// # Example
    ///
    /// This example adds a header, and shows one the client owns refused.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Rule};
    ///
    /// let request = ChatRequest::new("glm-5")
    ///     .user("hi")
    ///     .header("X-DashScope-DataInspection", r#"{"input":"disable"}"#);
    /// assert!(request.validate().is_ok());
    /// assert_eq!(
    ///     request.headers().collect::<Vec<_>>(),
    ///     [("X-DashScope-DataInspection", r#"{"input":"disable"}"#)]
    /// );
    ///
    /// let owned = ChatRequest::new("glm-5").user("hi").header("authorization", "Bearer x");
    /// assert_eq!(owned.validate().unwrap_err().rule(), Some(Rule::InvalidHeader));
    /// ```
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        set_header(&mut self.headers.0, name.into(), value.into());
        self
    }

    /// The headers set with [`header`](ChatRequest::header), as `(name, value)`, in the
    /// order first set. [`Endpoint::request`](crate::chat::http::Endpoint::request) sends
    /// them, with the ones each protocol needs.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.headers.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The path, from the gateway root, that requests of `protocol` are sent to:
    /// `/compatible-mode/v1/chat/completions` (OpenAI-compatible) or
    /// `/api/v1/services/aigc/text-generation/generation` (native).
    /// [`Endpoint::model_studio`](crate::chat::http::Endpoint::model_studio) puts it under
    /// a host, and [`Endpoint::request`](crate::chat::http::Endpoint::request) builds the
    /// whole request there: method, URL, headers and body.
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::chat::http::Endpoint;
    /// use dashscope_glm::chat::{ChatRequest, Protocol};
    ///
    /// let path = ChatRequest::endpoint_path(Protocol::DashScope);
    /// assert_eq!(path, "/api/v1/services/aigc/text-generation/generation");
    /// let endpoint = Endpoint::model_studio(Protocol::DashScope, "https://dashscope.aliyuncs.com");
    /// assert!(endpoint.url().ends_with(path));
    /// ```
    #[must_use]
    pub fn endpoint_path(protocol: Protocol) -> &'static str {
        match protocol {
            Protocol::DashScope => "/api/v1/services/aigc/text-generation/generation",
            // The OpenAI-compatible shape is the default for protocols added later.
            _ => "/compatible-mode/v1/chat/completions",
        }
    }

    /// The model name, as given to [`new`](ChatRequest::new).
    #[must_use]
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The messages, in the order appended.
    #[must_use]
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The protocol set with [`with_protocol`](ChatRequest::with_protocol), if any;
    /// `None`: the client's.
    #[must_use]
    pub fn protocol(&self) -> Option<Protocol> {
        self.protocol
    }

    /// Whether the native protocol streams deltas, as set with
    /// [`incremental_output`](ChatRequest::incremental_output).
    #[must_use]
    pub fn is_incremental_output(&self) -> bool {
        self.incremental_output
    }

    /// The extra fields, in the order first set.
    #[must_use]
    pub fn extras(&self) -> &[(String, Value)] {
        &self.extra
    }

    /// Whether thinking is on, as the body sends it: as set, else the built-in catalog
    /// entry's default, else `None` (not sent; the server decides). An
    /// [`unchecked`](ChatRequest::unchecked) request sends only what is set.
    #[must_use]
    pub fn effective_thinking(&self) -> Option<bool> {
        self.thinking_in(catalog::builtin_ref())
    }

    /// [`effective_thinking`](ChatRequest::effective_thinking) against `catalog`.
    pub(super) fn thinking_in(&self, catalog: &Catalog) -> Option<bool> {
        match (self.thinking, self.unchecked) {
            (Some(thinking), _) => Some(thinking),
            (None, true) => None,
            (None, false) => catalog.get(&self.model).and_then(|m| m.defaults.thinking),
        }
    }
}
