//! Tools the model may call: [`Tool`] and [`ToolChoice`].

use serde_json::Value;

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
