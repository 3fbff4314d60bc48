//! The conversation: [`Message`] and its [`Role`].

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::chat::types::{CallIn, CallOut};
use crate::chat::{Completion, ToolCall};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
    #[must_use]
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
/// Each field is written under its own name (`role`, `content`, `reasoning_content`,
/// `tool_calls`, `tool_call_id`, `partial`), the optional ones only when set, and
/// `reasoning_content` on assistant turns only, the same on both protocols; on the native
/// protocol each tool call also carries its `index`.
///
/// With serde, a message is written in the OpenAI chat message shape, exactly as the
/// OpenAI-compatible request body writes it: `{"role", "content", "reasoning_content"?,
/// "tool_calls"?: [{"id", "type": "function", "function": {"name", "arguments"}}],
/// "tool_call_id"?, "partial"?}`, so that a stored conversation can be sent again.
/// Reading takes the same shape (a `null` content reads as empty; a tool call's
/// `index` is its position; unknown fields are ignored). A tool call's
/// [`id_synthetic`](ToolCall::id_synthetic) is not part of the shape and reads back
/// `false`.
///
/// ```
/// use dashscope_glm::chat::{Message, ToolCall};
///
/// let turn = Message::assistant("")
///     .with_tool_calls(vec![ToolCall::new(0, "call_1", "now", "{}")]);
/// let json = serde_json::to_string(&turn).unwrap();
/// assert_eq!(
///     json,
///     r#"{"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function","function":{"name":"now","arguments":"{}"}}]}"#
/// );
/// assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), turn);
/// ```
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
    /// An assistant turn's thinking, sent back when set (and ignored on other roles).
    pub reasoning_content: Option<String>,
    /// An assistant turn's tool calls.
    pub tool_calls: Vec<ToolCall>,
    /// For a tool result: the id of the call it answers.
    pub tool_call_id: Option<String>,
    /// Partial mode: the last assistant message is a prefix the model should continue
    /// (`"partial": true`). Of the GLM models, only ZHIPU/GLM-5 is documented to offer
    /// it (see [`Capabilities::partial_mode`](crate::chat::Capabilities::partial_mode)).
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

    /// Sets the reasoning to replay with an assistant turn (sent on assistant turns
    /// only). Defaults to none (not sent). A turn made from a [`Completion`] has its
    /// reasoning already when it made tool calls (see [`KeepReasoning`]).
    #[must_use]
    pub fn with_reasoning(mut self, reasoning: impl Into<String>) -> Self {
        self.reasoning_content = Some(reasoning.into());
        self
    }

    /// Drops the reasoning, so that the turn goes back without it.
    ///
    /// # Example
    ///
    /// This example sends a tool-calling turn back without its thinking.
    ///
    /// ```
    /// use dashscope_glm::chat::{Completion, FinishReason, Message, ToolCall};
    ///
    /// let mut completion = Completion::default();
    /// completion.message.reasoning_content = "Look it up.".into();
    /// completion.message.tool_calls.push(ToolCall::new(0, "call_1", "now", "{}"));
    /// completion.finish_reason = Some(FinishReason::ToolCalls);
    ///
    /// assert_eq!(Message::from(&completion).reasoning_content.as_deref(), Some("Look it up."));
    /// assert_eq!(Message::from(&completion).without_reasoning().reasoning_content, None);
    /// ```
    #[must_use]
    pub fn without_reasoning(mut self) -> Self {
        self.reasoning_content = None;
        self
    }

    /// Sets an assistant turn's tool calls. Defaults to none (not sent).
    #[must_use]
    pub fn with_tool_calls(mut self, calls: Vec<ToolCall>) -> Self {
        self.tool_calls = calls;
        self
    }

    /// Sets whether the message is a prefix to continue (partial mode). Defaults to
    /// `false` (not sent).
    #[must_use]
    pub fn with_partial(mut self, partial: bool) -> Self {
        self.partial = partial;
        self
    }
}

/// Which of a [`Completion`]'s reasoning its assistant turn keeps, to send back in the
/// next request ([`Message::from_completion`]).
///
/// GLM thinks between tool calls ("interleaved thinking"), and Z.ai's thinking-mode
/// guide asks that this thinking be "explicitly preserved and returned together with
/// the tool results"; its Chinese edition names the field, the assistant message's
/// `reasoning_content`, which both protocols' bodies write. So a turn that made tool calls keeps its reasoning by default.
/// The thinking of a turn that answered is not needed by the next question, unless the
/// model is asked to keep all of its thinking ("preserved thinking"), hence
/// [`Always`](KeepReasoning::Always). An empty reasoning (thinking off) is never sent.
///
/// # Example
///
/// This example keeps the thinking of a plain answer, then drops it from a tool call.
///
/// ```
/// use dashscope_glm::chat::{Completion, FinishReason, KeepReasoning, Message, ToolCall};
///
/// let mut answer = Completion::default();
/// answer.message.reasoning_content = "A greeting.".into();
/// answer.message.content = "Hello!".into();
/// answer.finish_reason = Some(FinishReason::Stop);
/// assert_eq!(Message::from(&answer).reasoning_content, None);
/// let kept = Message::from_completion(answer, KeepReasoning::Always);
/// assert_eq!(kept.reasoning_content.as_deref(), Some("A greeting."));
///
/// let mut call = Completion::default();
/// call.message.reasoning_content = "Look it up.".into();
/// call.message.tool_calls.push(ToolCall::new(0, "call_1", "now", "{}"));
/// let dropped = Message::from_completion(call, KeepReasoning::Never);
/// assert_eq!(dropped.reasoning_content, None);
/// assert_eq!(dropped.tool_calls[0].id, "call_1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KeepReasoning {
    /// Keep it when the turn made tool calls (what [`Message::from`] a [`Completion`]
    /// does).
    #[default]
    WithToolCalls,
    /// Keep it on every turn.
    Always,
    /// Never keep it.
    Never,
}

impl KeepReasoning {
    /// Whether a turn with `reasoning` and `calls` keeps its reasoning.
    fn keeps(self, reasoning: &str, calls: &[ToolCall]) -> bool {
        !reasoning.is_empty()
            && match self {
                Self::WithToolCalls => !calls.is_empty(),
                Self::Always => true,
                Self::Never => false,
            }
    }
}

impl Message {
    /// The assistant turn `completion` holds, to send back in the next request: its
    /// content, its tool calls and, as `keep` says, its reasoning. The strings move; none
    /// is copied.
    ///
    /// [`Message::from`] a completion (by value or by reference) is this with
    /// [`KeepReasoning::WithToolCalls`]; by reference, [`without_reasoning`](Message::without_reasoning)
    /// and [`with_reasoning`](Message::with_reasoning) change that choice.
    ///
    /// # Example
    ///
    /// This example keeps every turn's thinking in a conversation.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Completion, KeepReasoning, Message};
    ///
    /// let mut answer = Completion::default();
    /// answer.message.reasoning_content = "Greet back.".into();
    /// answer.message.content = "Hi!".into();
    ///
    /// let mut request = ChatRequest::new("glm-5").user("Hi");
    /// request.push(Message::from_completion(answer, KeepReasoning::Always));
    /// request.push(Message::user("What can you do?"));
    /// assert_eq!(request.messages()[1].reasoning_content.as_deref(), Some("Greet back."));
    /// ```
    #[must_use]
    pub fn from_completion(completion: Completion, keep: KeepReasoning) -> Self {
        let m = completion.message;
        let keeps = keep.keeps(&m.reasoning_content, &m.tool_calls);
        let mut turn = Self::assistant(m.content).with_tool_calls(m.tool_calls);
        if keeps {
            turn.reasoning_content = Some(m.reasoning_content);
        }
        turn
    }

    /// The reasoning the request body writes: an assistant turn's, never another role's.
    pub(crate) fn reasoning_to_send(&self) -> Option<&str> {
        match self.role {
            Role::Assistant => self.reasoning_content.as_deref(),
            _ => None,
        }
    }
}

/// The assistant turn a [`Completion`] holds, to send back in the next request: its
/// content, its tool calls and, when it made tool calls, its reasoning
/// ([`KeepReasoning::WithToolCalls`]). By value, the strings move.
///
/// # Example
///
/// This example answers a tool call (the turn keeps the thinking that led to the call),
/// then sends a plain answer back without its thinking.
///
/// ```
/// use dashscope_glm::chat::{Accumulator, ChatRequest, Message, Protocol};
///
/// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
/// acc.push_data(r#"{"choices":[{"index":0,"delta":{"reasoning_content":"Look it up.","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Beijing\"}"}}]},"finish_reason":"tool_calls"}]}"#)?;
/// let completion = acc.finish()?;
///
/// let mut request = ChatRequest::new("glm-5").user("Weather in Beijing?");
/// request.push(Message::from(completion));
/// request.push(Message::tool("call_1", r#"{"temp": 21}"#));
/// assert_eq!(request.messages()[1].tool_calls[0].name, "get_weather");
/// assert_eq!(request.messages()[1].reasoning_content.as_deref(), Some("Look it up."));
///
/// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
/// acc.push_data(r#"{"choices":[{"index":0,"delta":{"reasoning_content":"Report it.","content":"21 °C."},"finish_reason":"stop"}]}"#)?;
/// let answer = acc.finish()?;
/// assert_eq!(Message::from(&answer).content, "21 °C.");
/// assert_eq!(Message::from(&answer).reasoning_content, None);
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
impl From<Completion> for Message {
    fn from(completion: Completion) -> Self {
        Self::from_completion(completion, KeepReasoning::default())
    }
}

/// As `From<Completion>`, copying the strings it keeps (the reasoning only when kept).
impl From<&Completion> for Message {
    fn from(completion: &Completion) -> Self {
        let m = &completion.message;
        let mut turn = Self::assistant(m.content.clone()).with_tool_calls(m.tool_calls.clone());
        if KeepReasoning::default().keeps(&m.reasoning_content, &m.tool_calls) {
            turn.reasoning_content = Some(m.reasoning_content.clone());
        }
        turn
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MessageOut {
            message: self,
            native: false,
        }
        .serialize(s)
    }
}

/// A message as written, by serde and in the request bodies alike; on the native
/// protocol each tool call also carries its `index`.
pub(crate) struct MessageOut<'a> {
    pub(crate) message: &'a Message,
    pub(crate) native: bool,
}

impl Serialize for MessageOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (m, native) = (self.message, self.native);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("role", &m.role)?;
        map.serialize_entry("content", &m.content)?;
        if let Some(reasoning) = m.reasoning_to_send() {
            map.serialize_entry("reasoning_content", reasoning)?;
        }
        if !m.tool_calls.is_empty() {
            map.serialize_entry("tool_calls", &Calls(&m.tool_calls, native))?;
        }
        if let Some(id) = &m.tool_call_id {
            map.serialize_entry("tool_call_id", id)?;
        }
        if m.partial {
            map.serialize_entry("partial", &true)?;
        }
        map.end()
    }
}

/// Tool calls in the OpenAI shape, with each one's `index` on the native protocol.
struct Calls<'a>(&'a [ToolCall], bool);

impl Serialize for Calls<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|call| NativeCall {
            call: CallOut::from(call),
            index: self.1.then_some(call.index),
        }))
    }
}

/// A call in the OpenAI shape with `index` after `type` when there is one.
struct NativeCall<'a> {
    call: CallOut<'a>,
    index: Option<usize>,
}

impl Serialize for NativeCall<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", self.call.id)?;
        map.serialize_entry("type", self.call.kind)?;
        if let Some(index) = self.index {
            map.serialize_entry("index", &index)?;
        }
        map.serialize_entry("function", &self.call.function)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct In {
            role: Role,
            #[serde(default)]
            content: Option<String>,
            #[serde(default)]
            reasoning_content: Option<String>,
            #[serde(default)]
            tool_calls: Option<Vec<CallIn>>,
            #[serde(default)]
            tool_call_id: Option<String>,
            #[serde(default)]
            partial: Option<bool>,
        }
        let m = In::deserialize(d)?;
        Ok(Self {
            role: m.role,
            // Absent or null content is no text.
            content: m.content.unwrap_or_default(),
            reasoning_content: m.reasoning_content,
            tool_calls: m
                .tool_calls
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, call)| call.into_call(Some(i)))
                .collect(),
            tool_call_id: m.tool_call_id,
            partial: m.partial.unwrap_or(false),
        })
    }
}
