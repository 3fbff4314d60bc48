//! The shape of the answer and where it stops: [`ResponseFormat`], [`JsonSchema`],
//! [`Stop`].

use serde_json::Value;

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
