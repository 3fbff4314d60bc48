//! The conversation: [`Message`] and its [`Role`].

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
