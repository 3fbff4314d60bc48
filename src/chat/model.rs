//! A model of the catalog ([`Model`]: its limits, defaults and capabilities) and the
//! rules a request must follow before it is sent ([`Rule`]).
//!
//! This file is names and shapes; the built-in entries and [`Catalog`](crate::chat::Catalog)
//! are in `catalog.rs`, and [`Model::check`], which applies the rules to a request's
//! fields, lives beside those fields in `request/validate.rs`, so the catalog knows
//! nothing of requests.

use std::fmt;

use crate::chat::ReasoningEffort;

/// A rule a request broke, named by [`Error::rule`](crate::Error::rule).
///
/// Two kinds: the model rules, which a catalog entry sets and which
/// [`ChatRequest::unchecked`](crate::chat::ChatRequest::unchecked) turns off, and the
/// sanity rules ([`SamplingOutOfRange`](Rule::SamplingOutOfRange),
/// [`ExtraCollidesWithField`](Rule::ExtraCollidesWithField),
/// [`InvalidHeader`](Rule::InvalidHeader)), checked for every request.
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
    /// Structured output (`json_object`, `json_schema`) with thinking on, on a model that
    /// gives structured output only with thinking off.
    StructuredOutputWithThinking,
    /// Structured output on a model that does not give it.
    StructuredOutputUnsupported,
    /// `json_object` output, but no message contains the word "json" (any case), which
    /// the server requires.
    JsonObjectWithoutJsonWord,
    /// `max_tokens` above the model's maximum response length.
    MaxTokensAboveLimit,
    /// `thinking_budget` above the model's maximum reasoning length.
    ThinkingBudgetAboveLimit,
    /// `thinking_budget` on a model that does not take it.
    ThinkingBudgetUnsupported,
    /// `reasoning_effort` on a model that does not take it.
    ReasoningEffortUnsupported,
    /// A `reasoning_effort` level the model does not list.
    ReasoningEffortLevelUnsupported,
    /// Tools on a model without function calling.
    ToolsUnsupported,
    /// Web search (`enable_search`, `search_options`), which the model does not offer.
    WebSearch,
    /// Partial mode (a message with `partial: true`), which the model does not offer.
    PartialMode,
    /// A forced `tool_choice` (a named function) with thinking on, on a model that takes
    /// only `auto` and `none` while thinking.
    ForcedToolChoiceWithThinking,
    /// A sampling value that is not a finite number in its documented range
    /// (`temperature`, `top_p`, `presence_penalty`, `repetition_penalty`); the message
    /// names the field and the range.
    SamplingOutOfRange,
    /// An extra field with the name of a field the builder sets itself.
    ExtraCollidesWithField,
    /// A request header whose name or value is not valid HTTP, or that the client
    /// writes itself (`Authorization`, `Content-Type`, `X-DashScope-SSE`, framing).
    InvalidHeader,
}

impl Rule {
    /// A stable snake_case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StructuredOutputWithThinking => "structured_output_with_thinking",
            Self::StructuredOutputUnsupported => "structured_output_unsupported",
            Self::JsonObjectWithoutJsonWord => "json_object_without_json_word",
            Self::MaxTokensAboveLimit => "max_tokens_above_limit",
            Self::ThinkingBudgetAboveLimit => "thinking_budget_above_limit",
            Self::ThinkingBudgetUnsupported => "thinking_budget_unsupported",
            Self::ReasoningEffortUnsupported => "reasoning_effort_unsupported",
            Self::ReasoningEffortLevelUnsupported => "reasoning_effort_level_unsupported",
            Self::ToolsUnsupported => "tools_unsupported",
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

/// A model's size limits, in tokens; `None` where the model's pages give no figure.
///
/// Two of them are rules: [`max_response`](ModelLimits::max_response) bounds
/// `max_tokens` and [`max_reasoning`](ModelLimits::max_reasoning) bounds
/// `thinking_budget`; a limit that is `None` bounds nothing. The context and the
/// longest input are for reading only: the crate counts no tokens, so the server is
/// the one that refuses a long input.
///
/// A limit is an upper bound, so where a page gives only a round figure ("1M", "128K")
/// the entry keeps the larger reading (1,048,576, 131,072), and where two pages give
/// different figures it keeps the larger one: a bound set too high lets the server
/// refuse what the catalog let through, one set too low would refuse what the server
/// takes.
///
/// # Example
///
/// This example shows glm-4.7's limits: a shorter input than its window.
///
/// ```
/// use dashscope_glm::chat::Model;
///
/// let limits = Model::lookup("glm-4.7").unwrap().limits;
/// assert_eq!((limits.context, limits.max_input), (Some(202_752), Some(169_984)));
/// assert_eq!((limits.max_reasoning, limits.max_response), (Some(32_768), Some(16_384)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ModelLimits {
    /// The context window.
    pub context: Option<u32>,
    /// The longest input.
    pub max_input: Option<u32>,
    /// The longest chain of thought (and the largest `thinking_budget`).
    pub max_reasoning: Option<u32>,
    /// The longest answer (and the largest `max_tokens`).
    pub max_response: Option<u32>,
}

/// What the server uses when a request does not say; `None` where the model's pages do
/// not say.
///
/// Only [`thinking`](ModelDefaults::thinking) is acted on: the rules that depend on
/// thinking read it when a request leaves thinking unset, and the request body sends
/// it explicitly (see [`ChatRequest`](crate::chat::ChatRequest)). The others are for
/// reading.
///
/// # Example
///
/// This example shows two entries' defaults: glm-5 thinks by default, and ZHIPU/GLM-5
/// answers with at most 65,536 tokens unless `max_tokens` says more.
///
/// ```
/// use dashscope_glm::chat::Model;
///
/// let glm5 = &Model::lookup("glm-5").unwrap().defaults;
/// assert_eq!(glm5.thinking, Some(true));
/// assert_eq!((glm5.temperature, glm5.top_p), (Some(1.0), Some(0.95)));
/// assert_eq!(Model::lookup("ZHIPU/GLM-5").unwrap().defaults.max_tokens, Some(65_536));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ModelDefaults {
    /// Thinking on or off.
    pub thinking: Option<bool>,
    /// `max_tokens`.
    pub max_tokens: Option<u32>,
    /// `reasoning_effort`.
    pub reasoning_effort: Option<ReasoningEffort>,
    /// `temperature`.
    pub temperature: Option<f64>,
    /// `top_p`.
    pub top_p: Option<f64>,
    /// `top_k`.
    pub top_k: Option<u32>,
    /// `repetition_penalty`.
    pub repetition_penalty: Option<f64>,
}

/// What the model offers: `Some(true)` documented as offered, `Some(false)` documented
/// as not offered, `None` not documented either way.
///
/// A request that uses what is `Some(false)` is refused, naming the [`Rule`]; what is
/// `None` is let through, for the server to decide. [`context_cache`](Capabilities::context_cache)
/// is for reading only (nothing in a request asks for the implicit cache). Batch
/// inference is not here: no GLM model on Model Studio offers it, and the crate has no
/// batch API.
///
/// # Example
///
/// This example shows what glm-4.6 offers and what it does not.
///
/// ```
/// use dashscope_glm::chat::Model;
///
/// let caps = &Model::lookup("glm-4.6").unwrap().capabilities;
/// assert_eq!((caps.tools, caps.structured_output), (Some(true), Some(true)));
/// assert_eq!(caps.structured_output_with_thinking, Some(false));
/// assert_eq!((caps.web_search, caps.partial_mode), (Some(false), Some(false)));
/// assert_eq!(caps.reasoning_effort, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Capabilities {
    /// Function calling ([`Rule::ToolsUnsupported`]).
    pub tools: Option<bool>,
    /// Structured output (JSON) at all ([`Rule::StructuredOutputUnsupported`]).
    pub structured_output: Option<bool>,
    /// Structured output with thinking on ([`Rule::StructuredOutputWithThinking`]).
    pub structured_output_with_thinking: Option<bool>,
    /// A forced `tool_choice` with thinking on ([`Rule::ForcedToolChoiceWithThinking`]).
    pub forced_tool_choice_with_thinking: Option<bool>,
    /// Web search ([`Rule::WebSearch`]).
    pub web_search: Option<bool>,
    /// Partial mode, also called prefix completion ([`Rule::PartialMode`]).
    pub partial_mode: Option<bool>,
    /// `thinking_budget` ([`Rule::ThinkingBudgetUnsupported`]).
    pub thinking_budget: Option<bool>,
    /// `reasoning_effort` ([`Rule::ReasoningEffortUnsupported`]).
    pub reasoning_effort: Option<bool>,
    /// The `reasoning_effort` levels the model lists; empty when its pages list none,
    /// and then any level is let through. A level not in a non-empty list is refused
    /// ([`Rule::ReasoningEffortLevelUnsupported`]): a server that ignores a level it
    /// does not know would think at its default without saying so.
    pub reasoning_effort_levels: Vec<ReasoningEffort>,
    /// Context cache (for reading only).
    pub context_cache: Option<bool>,
}

/// A model of the catalog: its name as the API spells it, and what its pages document.
///
/// The built-in entries are in [`Catalog::builtin`](crate::chat::Catalog::builtin),
/// with their sources; [`Model::lookup`] finds one. To check a model the crate does not
/// know, or to correct an entry, build a `Model` with [`new`](Model::new) (nothing
/// known: no model rule applies) or from a clone of an entry, change it with the
/// `with_*` setters (or assign a field, `None` included), and put it in a
/// [`Catalog`](crate::chat::Catalog).
///
/// # Example
///
/// This example shows glm-5's entry, a model the crate does not know, and an entry for
/// it built by hand.
///
/// ```
/// use dashscope_glm::chat::Model;
///
/// let glm5 = Model::lookup("glm-5").unwrap();
/// assert_eq!(glm5.limits.max_response, Some(16_384));
/// assert_eq!(glm5.defaults.thinking, Some(true));
/// assert!(Model::lookup("my-glm").is_none());
///
/// let mine = Model::new("my-glm").with_max_response(8_192).with_web_search(false);
/// assert_eq!(mine.name, "my-glm");
/// assert_eq!(mine.limits.max_response, Some(8_192));
/// assert_eq!(mine.limits.max_reasoning, None);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Model {
    /// The model name as the API takes it (exact case).
    pub name: String,
    /// Size limits.
    pub limits: ModelLimits,
    /// Server defaults.
    pub defaults: ModelDefaults,
    /// What it offers.
    pub capabilities: Capabilities,
}

macro_rules! model_setter {
    ($(#[$doc:meta])* $name:ident: $group:ident.$field:ident: $ty:ty) => {
        $(#[$doc])*
        #[must_use]
        pub fn $name(mut self, value: $ty) -> Self {
            self.$group.$field = Some(value);
            self
        }
    };
}

impl Model {
    /// A model named `name` (exact, as the API spells it) with nothing known: every
    /// limit, default and capability `None`, so no model rule applies to it but the
    /// `json_object` one ([`Rule::JsonObjectWithoutJsonWord`], a Model Studio rule for
    /// every model).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            limits: ModelLimits::default(),
            defaults: ModelDefaults::default(),
            capabilities: Capabilities::default(),
        }
    }

    /// The built-in entry for `name` (exact, as the API spells it), or `None` for a model
    /// the crate does not know. The same as
    /// [`Catalog::builtin`](crate::chat::Catalog::builtin)`().get(name)`, but borrowed for
    /// the whole program.
    ///
    /// # Example
    ///
    /// This example shows glm-5's limits, and that names must match exactly.
    ///
    /// ```
    /// use dashscope_glm::chat::Model;
    ///
    /// let glm5 = Model::lookup("glm-5").expect("in the catalog");
    /// assert_eq!(glm5.limits.max_reasoning, Some(32_768));
    /// assert!(Model::lookup("GLM-5").is_none());
    /// assert!(Model::lookup("ZHIPU/GLM-5").is_some());
    /// ```
    #[must_use]
    pub fn lookup(name: &str) -> Option<&'static Self> {
        crate::chat::catalog::builtin_ref().get(name)
    }

    /// Every built-in entry, in the catalog's order.
    #[must_use]
    pub fn all() -> &'static [Self] {
        crate::chat::catalog::builtin_ref().as_slice()
    }

    model_setter!(
        /// Sets the context window ([`ModelLimits::context`]). Defaults to `None`.
        with_context: limits.context: u32
    );
    model_setter!(
        /// Sets the longest input ([`ModelLimits::max_input`]). Defaults to `None`.
        with_max_input: limits.max_input: u32
    );
    model_setter!(
        /// Sets the longest chain of thought, the largest `thinking_budget`
        /// ([`ModelLimits::max_reasoning`]). Defaults to `None` (no bound).
        with_max_reasoning: limits.max_reasoning: u32
    );
    model_setter!(
        /// Sets the longest answer, the largest `max_tokens`
        /// ([`ModelLimits::max_response`]). Defaults to `None` (no bound).
        with_max_response: limits.max_response: u32
    );
    model_setter!(
        /// Sets whether the model thinks when a request does not say
        /// ([`ModelDefaults::thinking`]). Defaults to `None` (not known, and not sent).
        with_default_thinking: defaults.thinking: bool
    );
    model_setter!(
        /// Sets the server's `max_tokens` ([`ModelDefaults::max_tokens`]). Defaults to
        /// `None`.
        with_default_max_tokens: defaults.max_tokens: u32
    );
    model_setter!(
        /// Sets the server's `reasoning_effort` ([`ModelDefaults::reasoning_effort`]).
        /// Defaults to `None`.
        with_default_reasoning_effort: defaults.reasoning_effort: ReasoningEffort
    );
    model_setter!(
        /// Sets whether the model calls tools ([`Capabilities::tools`]). Defaults to
        /// `None`.
        with_tools: capabilities.tools: bool
    );
    model_setter!(
        /// Sets whether the model gives structured output
        /// ([`Capabilities::structured_output`]). Defaults to `None`.
        with_structured_output: capabilities.structured_output: bool
    );
    model_setter!(
        /// Sets whether the model gives structured output with thinking on
        /// ([`Capabilities::structured_output_with_thinking`]). Defaults to `None`.
        with_structured_output_with_thinking: capabilities.structured_output_with_thinking: bool
    );
    model_setter!(
        /// Sets whether the model takes a forced `tool_choice` with thinking on
        /// ([`Capabilities::forced_tool_choice_with_thinking`]). Defaults to `None`.
        with_forced_tool_choice_with_thinking: capabilities.forced_tool_choice_with_thinking: bool
    );
    model_setter!(
        /// Sets whether the model offers web search ([`Capabilities::web_search`]).
        /// Defaults to `None`.
        with_web_search: capabilities.web_search: bool
    );
    model_setter!(
        /// Sets whether the model offers partial mode ([`Capabilities::partial_mode`]).
        /// Defaults to `None`.
        with_partial_mode: capabilities.partial_mode: bool
    );
    model_setter!(
        /// Sets whether the model takes `thinking_budget`
        /// ([`Capabilities::thinking_budget`]). Defaults to `None`.
        with_thinking_budget: capabilities.thinking_budget: bool
    );
    model_setter!(
        /// Sets whether the model takes `reasoning_effort`
        /// ([`Capabilities::reasoning_effort`]). Defaults to `None`.
        with_reasoning_effort: capabilities.reasoning_effort: bool
    );
    model_setter!(
        /// Sets whether the model has a context cache ([`Capabilities::context_cache`]).
        /// Defaults to `None`.
        with_context_cache: capabilities.context_cache: bool
    );

    /// Sets the `reasoning_effort` levels the model lists, and that it takes
    /// `reasoning_effort` ([`Capabilities::reasoning_effort_levels`]). Defaults to none
    /// listed (any level passes).
    #[must_use]
    pub fn with_reasoning_effort_levels<I>(mut self, levels: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<ReasoningEffort>,
    {
        self.capabilities.reasoning_effort = Some(true);
        self.capabilities.reasoning_effort_levels = levels.into_iter().map(Into::into).collect();
        self
    }
}
