//! Tools the model may call: [`Tool`] and [`ToolChoice`].

use serde_json::Value;

/// A tool the model may call, written as
/// `{"type":"function","function":{"name","description","parameters"}}`.
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
    pub fn function(name: impl Into<String>) -> Self {
        Self::Function(name.into())
    }

    /// Whether this forces a call (anything but `auto` and `none`).
    pub fn is_forced(&self) -> bool {
        matches!(self, Self::Function(_))
    }
}
