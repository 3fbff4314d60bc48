//! The shape of the answer and where it stops: [`ResponseFormat`], [`JsonSchema`],
//! [`Stop`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JsonSchema {
    /// The schema's name.
    pub name: String,
    /// The schema.
    pub schema: Value,
    /// Whether the output must follow the schema exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

impl JsonSchema {
    /// A named schema, not strict unless [`strict`](JsonSchema::strict) says so.
    pub fn new(name: impl Into<String>, schema: Value) -> Self {
        Self {
            name: name.into(),
            schema,
            strict: None,
        }
    }

    /// Sets [`strict`](JsonSchema::strict). Defaults to the server's (not sent).
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = Some(strict);
        self
    }
}

/// The shape of the answer, written as `{"type":"text"}`, `{"type":"json_object"}` or
/// `{"type":"json_schema","json_schema":{"name","schema","strict"?}}`, in the request body
/// and with serde alike.
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
    #[must_use]
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
    /// One string (`"stop": "END"`).
    One(String),
    /// Several strings (`"stop": ["a", "b"]`).
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

/// The serde shape of [`ResponseFormat`], tagged by `type`.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum FormatRepr<S> {
    Text,
    JsonObject,
    JsonSchema { json_schema: S },
}

impl Serialize for ResponseFormat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text => FormatRepr::<&JsonSchema>::Text,
            Self::JsonObject => FormatRepr::JsonObject,
            Self::JsonSchema(schema) => FormatRepr::JsonSchema {
                json_schema: schema,
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ResponseFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match FormatRepr::<JsonSchema>::deserialize(d)? {
            FormatRepr::Text => Self::Text,
            FormatRepr::JsonObject => Self::JsonObject,
            FormatRepr::JsonSchema { json_schema } => Self::JsonSchema(json_schema),
        })
    }
}
