//! Tools the model may call: [`Tool`] and [`ToolChoice`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A tool the model may call, written as
/// `{"type":"function","function":{"name","description","parameters"}}`, in the request
/// body and with serde alike (reading ignores `type`; a missing description reads as
/// empty, missing parameters as `null`).
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
    #[must_use]
    pub fn is_forced(&self) -> bool {
        matches!(self, Self::Function(_))
    }
}

impl Serialize for Tool {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Function<'a> {
            name: &'a str,
            description: &'a str,
            parameters: &'a Value,
        }
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            function: Function<'a>,
        }
        Out {
            kind: "function",
            function: Function {
                name: &self.name,
                description: &self.description,
                parameters: &self.parameters,
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Tool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Function {
            name: String,
            #[serde(default)]
            description: String,
            #[serde(default)]
            parameters: Value,
        }
        #[derive(Deserialize)]
        struct In {
            function: Function,
        }
        let f = In::deserialize(d)?.function;
        Ok(Self::function(f.name, f.description, f.parameters))
    }
}
