//! The model catalog: what Model Studio documents for glm-5, glm-4.7 and glm-4.6, and
//! the rules a request must follow before it is sent.
//!
//! This file is data and names; [`Model::check`], which applies the rules to a
//! request's fields, lives beside those fields in `request/validate.rs`, so the catalog
//! knows nothing of requests.

use std::fmt;

/// A rule a request broke, named by [`Error::rule`](crate::Error::rule).
///
/// # Example
///
/// This example shows a rule's stable name.
///
/// ```
/// use dashscope_glm::chat::Rule;
///
/// assert_eq!(Rule::PartialMode.as_str(), "partial_mode");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// Structured output (`json_object`, `json_schema`) with thinking on; GLM gives
    /// structured output only with thinking off (and thinks by default).
    StructuredOutputWithThinking,
    /// `json_object` output, but no message contains the word "json" (any case), which
    /// the server requires.
    JsonObjectWithoutJsonWord,
    /// `max_tokens` above the model's maximum response length.
    MaxTokensAboveLimit,
    /// `thinking_budget` above the model's maximum reasoning length.
    ThinkingBudgetAboveLimit,
    /// Web search (`enable_search`, `search_options`), which the model does not offer.
    WebSearch,
    /// Partial mode (a message with `partial: true`), which the model does not offer.
    PartialMode,
    /// A forced `tool_choice` (a named function) with thinking on; thinking models take
    /// only `auto` and `none`.
    ForcedToolChoiceWithThinking,
    /// A sampling value that is not a finite number in its documented range
    /// (`temperature`, `top_p`, `presence_penalty`, `repetition_penalty`); the message
    /// names the field and the range. Checked for every request, whatever its model.
    SamplingOutOfRange,
    /// An extra field with the name of a field the builder sets itself.
    ExtraCollidesWithField,
    /// A request header whose name or value is not valid HTTP, or that the client
    /// writes itself (`Authorization`, `Content-Type`, `X-DashScope-SSE`, framing).
    InvalidHeader,
}

impl Rule {
    /// A stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StructuredOutputWithThinking => "structured_output_with_thinking",
            Self::JsonObjectWithoutJsonWord => "json_object_without_json_word",
            Self::MaxTokensAboveLimit => "max_tokens_above_limit",
            Self::ThinkingBudgetAboveLimit => "thinking_budget_above_limit",
            Self::WebSearch => "web_search",
            Self::PartialMode => "partial_mode",
            Self::ForcedToolChoiceWithThinking => "forced_tool_choice_with_thinking",
            Self::SamplingOutOfRange => "sampling_out_of_range",
            Self::ExtraCollidesWithField => "extra_collides_with_field",
            Self::InvalidHeader => "invalid_header",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A model's size limits, in tokens.
///
/// # Example
///
/// This example shows glm-4.7's limits: a shorter input than glm-5 in the same window.
///
/// ```
/// use dashscope_glm::chat::Model;
///
/// let limits = Model::lookup("glm-4.7").unwrap().limits;
/// assert_eq!((limits.context, limits.max_input), (202_752, 169_984));
/// assert_eq!((limits.max_reasoning, limits.max_response), (32_768, 16_384));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelLimits {
    /// The context window.
    pub context: u32,
    /// The longest input.
    pub max_input: u32,
    /// The longest chain of thought (and the largest `thinking_budget`).
    pub max_reasoning: u32,
    /// The longest answer (and the largest `max_tokens`).
    pub max_response: u32,
}

/// What the server uses when a request does not say.
///
/// # Example
///
/// This example shows the server defaults of glm-5.
///
/// ```
/// use dashscope_glm::chat::Model;
///
/// let defaults = Model::lookup("glm-5").unwrap().defaults;
/// assert!(defaults.thinking);
/// assert_eq!((defaults.temperature, defaults.top_p, defaults.top_k), (1.0, 0.95, 20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ModelDefaults {
    /// Thinking on.
    pub thinking: bool,
    /// `temperature`.
    pub temperature: f64,
    /// `top_p`.
    pub top_p: f64,
    /// `top_k`.
    pub top_k: u32,
    /// `repetition_penalty`.
    pub repetition_penalty: f64,
}

/// What the model offers.
///
/// # Example
///
/// This example shows what glm-4.6 offers and what it does not.
///
/// ```
/// use dashscope_glm::chat::Model;
///
/// let caps = Model::lookup("glm-4.6").unwrap().capabilities;
/// assert!(caps.tools && caps.structured_output);
/// assert!(!caps.structured_output_with_thinking && !caps.web_search && !caps.partial_mode);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Function calling.
    pub tools: bool,
    /// Structured output (JSON) with thinking off.
    pub structured_output: bool,
    /// Structured output with thinking on.
    pub structured_output_with_thinking: bool,
    /// Web search.
    pub web_search: bool,
    /// Partial mode (prefix continuation).
    pub partial_mode: bool,
    /// Implicit context cache.
    pub implicit_cache: bool,
}

/// A model of the catalog, as the Model Studio GLM page documents it.
///
/// # Example
///
/// This example shows glm-5's catalog entry and a model the catalog does not know.
///
/// ```
/// use dashscope_glm::chat::Model;
///
/// let glm5 = Model::lookup("glm-5").unwrap();
/// assert_eq!(glm5.limits.max_response, 16_384);
/// assert!(glm5.defaults.thinking);
/// assert!(glm5.capabilities.implicit_cache);
/// assert!(!Model::lookup("glm-4.7").unwrap().capabilities.implicit_cache);
/// assert!(Model::lookup("qwen-plus").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Model {
    /// The model name as the API takes it.
    pub name: &'static str,
    /// Size limits.
    pub limits: ModelLimits,
    /// Server defaults.
    pub defaults: ModelDefaults,
    /// What it offers.
    pub capabilities: Capabilities,
}

const GLM_DEFAULTS: ModelDefaults = ModelDefaults {
    thinking: true,
    temperature: 1.0,
    top_p: 0.95,
    top_k: 20,
    repetition_penalty: 1.0,
};

const fn glm(name: &'static str, max_input: u32, implicit_cache: bool) -> Model {
    Model {
        name,
        limits: ModelLimits {
            context: 202_752,
            max_input,
            max_reasoning: 32_768,
            max_response: 16_384,
        },
        defaults: GLM_DEFAULTS,
        capabilities: Capabilities {
            tools: true,
            structured_output: true,
            structured_output_with_thinking: false,
            web_search: false,
            partial_mode: false,
            implicit_cache,
        },
    }
}

static CATALOG: [Model; 3] = [
    glm("glm-5", 202_752, true),
    glm("glm-4.7", 169_984, false),
    glm("glm-4.6", 169_984, false),
];

impl Model {
    /// The catalog entry for `name` (exact, as the API spells it), or `None` for a model
    /// the crate does not know; requests to those are sent unchecked.
    ///
    /// # Example
    ///
    /// This example shows glm-5's limits, and that names must match exactly.
    ///
    /// ```
    /// use dashscope_glm::chat::Model;
    ///
    /// let glm5 = Model::lookup("glm-5").expect("in the catalog");
    /// assert_eq!((glm5.limits.context, glm5.limits.max_input), (202_752, 202_752));
    /// assert_eq!((glm5.limits.max_reasoning, glm5.limits.max_response), (32_768, 16_384));
    /// assert!(Model::lookup("GLM-5").is_none());
    /// ```
    pub fn lookup(name: &str) -> Option<&'static Self> {
        CATALOG.iter().find(|m| m.name == name)
    }

    /// Every model in the catalog.
    pub fn all() -> &'static [Self] {
        &CATALOG
    }
}
