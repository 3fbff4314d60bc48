//! Checking a [`ChatRequest`] before it is sent.

use serde_json::Value;

use crate::chat::catalog::{self, Catalog};
use crate::chat::model::{Model, Rule};
use crate::chat::{ChatRequest, ResponseFormat};
use crate::error::Error;

/// Body keys the builder writes itself, on either protocol; [`ChatRequest::extra`]
/// refuses them.
const TYPED_KEYS: &[&str] = &[
    "model",
    "messages",
    "input",
    "parameters",
    "stream",
    "stream_options",
    "result_format",
    "incremental_output",
    "enable_thinking",
    "thinking_budget",
    "reasoning_effort",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "tool_stream",
    "response_format",
    "temperature",
    "top_p",
    "top_k",
    "repetition_penalty",
    "presence_penalty",
    "max_tokens",
    "seed",
    "stop",
];

impl ChatRequest {
    /// Checks the request before anything is sent, against the built-in catalog
    /// ([`Catalog::builtin`]): [`validate_with`](ChatRequest::validate_with) says what is
    /// checked.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) naming the [`Rule`] broken.
    ///
    /// # Example
    ///
    /// This example shows a rule refused for a catalog model and not checked for an unknown one.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Rule};
    ///
    /// let budget = ChatRequest::new("glm-5").user("hi").thinking_budget(50_000);
    /// let err = budget.validate().unwrap_err();
    /// assert_eq!(err.rule(), Some(Rule::ThinkingBudgetAboveLimit));
    /// let unknown = ChatRequest::new("my-fine-tune").user("hi").thinking_budget(50_000);
    /// assert!(unknown.validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        self.validate_with(catalog::builtin_ref())
    }

    /// Checks the request before anything is sent, against `catalog`. First the sanity
    /// rules, for every request: sampling values finite and in range
    /// ([`Rule::SamplingOutOfRange`]), no extra field colliding with a typed one
    /// ([`Rule::ExtraCollidesWithField`]), headers valid and not the client's own
    /// ([`Rule::InvalidHeader`]). Then, unless the request is
    /// [`unchecked`](ChatRequest::unchecked), the model rules of the catalog's entry for
    /// its model ([`Model::check`]); a model the catalog does not have passes them
    /// unchecked.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) naming the [`Rule`] broken.
    ///
    /// # Example
    ///
    /// This example checks a model the crate does not know against an entry registered
    /// for it.
    ///
    /// ```
    /// use dashscope_glm::chat::{Catalog, ChatRequest, Model, Rule};
    ///
    /// let catalog = Catalog::builtin().with(Model::new("glm-next").with_thinking_budget(false));
    /// let request = ChatRequest::new("glm-next").user("hi").thinking_budget(1_024);
    /// assert!(request.validate().is_ok());
    /// assert_eq!(
    ///     request.validate_with(&catalog).unwrap_err().rule(),
    ///     Some(Rule::ThinkingBudgetUnsupported)
    /// );
    /// ```
    pub fn validate_with(&self, catalog: &Catalog) -> Result<(), Error> {
        self.check_sanity()?;
        for (name, value) in self.headers() {
            Self::check_header(name, value)
                .map_err(|why| Error::validation(Rule::InvalidHeader, why))?;
        }
        if self.unchecked {
            return Ok(());
        }
        match catalog.get(&self.model) {
            Some(model) => model.check(self),
            None => Ok(()),
        }
    }

    /// The rules of the body itself, which [`write_body`](ChatRequest::write_body)
    /// checks too: no extra field colliding with a typed one, and sampling values a
    /// server takes.
    pub(super) fn check_sanity(&self) -> Result<(), Error> {
        self.check_extra()?;
        self.check_sampling()
    }

    fn check_extra(&self) -> Result<(), Error> {
        match self
            .extra
            .iter()
            .find(|(k, _)| TYPED_KEYS.contains(&k.as_str()))
        {
            Some((key, _)) => Err(Error::validation(
                Rule::ExtraCollidesWithField,
                format!(
                    "extra field {key:?} collides with a field the request builder sets; use its typed setter"
                ),
            )),
            None => Ok(()),
        }
    }

    /// Every float setter against its documented range. A non-finite value would be
    /// written as `null`, a different request, so it is refused with the rest.
    /// `top_k` is not here: its type already excludes what is invalid (negatives), and
    /// no upper bound is documented for GLM.
    fn check_sampling(&self) -> Result<(), Error> {
        // Model Studio's error page: "Temperature should be in [0.0, 2.0)" and "Range of
        // top_p should be (0.0, 1.0]" (https://www.alibabacloud.com/help/en/model-studio/error-code).
        let temperature = |v: f64| (0.0..2.0).contains(&v);
        in_range(
            "temperature",
            self.temperature,
            temperature,
            "in [0.0, 2.0)",
        )?;
        in_range(
            "top_p",
            self.top_p,
            |v| v > 0.0 && v <= 1.0,
            "in (0.0, 1.0]",
        )?;
        // OpenAI's range; Model Studio's pages give none for GLM.
        let presence = |v: f64| (-2.0..=2.0).contains(&v);
        in_range(
            "presence_penalty",
            self.presence_penalty,
            presence,
            "in [-2.0, 2.0]",
        )?;
        // It scales the scores of repeated tokens: 1.0 is no penalty, and it must stay
        // above 0.
        let repetition = |v: f64| v > 0.0 && v.is_finite();
        in_range(
            "repetition_penalty",
            self.repetition_penalty,
            repetition,
            "above 0.0",
        )
    }
}

/// Refuses `value` unless `ok` holds for it (NaN fails every comparison, so only the
/// infinities need saying).
fn in_range(
    field: &str,
    value: Option<f64>,
    ok: fn(f64) -> bool,
    range: &str,
) -> Result<(), Error> {
    match value {
        Some(v) if !ok(v) => Err(Error::validation(
            Rule::SamplingOutOfRange,
            format!("{field} {v} is out of range: the server takes a finite number {range}"),
        )),
        _ => Ok(()),
    }
}

/// Sets a header in a list of them: a name set again (any case) keeps its first place
/// (and spelling) and takes its last value, as every header setter promises; also how
/// a request's headers are laid over its endpoint's.
pub(crate) fn set_header<S: AsRef<str>>(headers: &mut Vec<(S, S)>, name: S, value: S) {
    match headers
        .iter_mut()
        .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(name.as_ref()))
    {
        Some(slot) => slot.1 = value,
        None => headers.push((name, value)),
    }
}

/// Headers the client writes itself: a caller setting one would fight it.
const OWNED_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "x-dashscope-sse",
    // HTTP framing, which the HTTP layer writes.
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
];

impl ChatRequest {
    /// Checks a header a caller adds (per request, or a client's default header): a valid
    /// name (an RFC 9110 token) and value (visible characters, spaces and tabs; no line
    /// breaks or other controls), and not one of the headers the client writes itself.
    /// The value is never echoed: it may be a credential. Also used for a client's
    /// default headers; the caller makes the error (a rule of the request, or a
    /// setting of the client) from what is wrong.
    pub(crate) fn check_header(name: &str, value: &str) -> Result<(), String> {
        const TOKEN_PUNCT: &[u8] = b"!#$%&'*+-.^_`|~";
        let token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || TOKEN_PUNCT.contains(&b));
        if !token {
            return Err(format!(
                "{name:?} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
            ));
        }
        if OWNED_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
            return Err(format!(
                "the header {name} is set by the client itself (the API key, the body's type, streaming, HTTP framing) and cannot be set by hand"
            ));
        }
        if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(format!(
                "the value of the header {name} is not a valid HTTP header value (it has a line break or another control character)"
            ));
        }
        Ok(())
    }

    /// A header's value as `Debug` shows it: `<redacted>` for a credential
    /// (`Authorization`, `Proxy-Authorization`), else the value.
    pub(crate) fn printable_header_value<'v>(name: &str, value: &'v str) -> &'v str {
        if name.eq_ignore_ascii_case("authorization")
            || name.eq_ignore_ascii_case("proxy-authorization")
        {
            "<redacted>"
        } else {
            value
        }
    }
}

// `Model::check` lives here rather than in `model.rs`: it reads the request's fields,
// and the catalog stays data that knows nothing of requests.
impl Model {
    /// Checks `request` against this model's rules (whether or not the request is
    /// [`unchecked`](ChatRequest::unchecked), which only [`ChatRequest::validate_with`]
    /// reads), first broken rule first: partial mode, web search, tools, `max_tokens`,
    /// `thinking_budget` (taken at all, then its size), `reasoning_effort` (taken at all,
    /// then its level), structured output (offered at all, then with thinking),
    /// `json_object` without "json", forced tool choice with thinking.
    ///
    /// A capability refuses only where the entry says `Some(false)`, and a limit bounds
    /// only where it is `Some`. Thinking is as the request sets it, else the entry's
    /// default; where neither says, the rules that depend on thinking let the request
    /// through. The `json_object` rule is Model Studio's for every model, so it holds for
    /// any entry.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) naming the [`Rule`].
    ///
    /// # Example
    ///
    /// This example shows JSON output refused while thinking is on by default.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Model, ResponseFormat, Rule};
    ///
    /// let glm5 = Model::lookup("glm-5").unwrap();
    /// let json = ChatRequest::new("glm-5")
    ///     .user("Answer in JSON")
    ///     .response_format(ResponseFormat::JsonObject);
    /// // Thinking is on by default, and glm-5 gives JSON only without it.
    /// assert_eq!(
    ///     glm5.check(&json).unwrap_err().rule(),
    ///     Some(Rule::StructuredOutputWithThinking)
    /// );
    /// assert!(glm5.check(&json.thinking(false)).is_ok());
    /// ```
    pub fn check(&self, request: &ChatRequest) -> Result<(), Error> {
        let fail = |rule: Rule, message: String| Err(Error::validation(rule, message));
        let name = self.name.as_str();
        let caps = &self.capabilities;
        let lacks = |capability: Option<bool>| capability == Some(false);
        if lacks(caps.partial_mode) {
            let partial_message = request.messages.iter().any(|m| m.partial);
            let partial_extra = request
                .extra
                .iter()
                .any(|(k, v)| k == "partial" && is_truthy(v));
            if partial_message || partial_extra {
                return fail(
                    Rule::PartialMode,
                    format!("{name} does not support partial mode (a message with partial: true)"),
                );
            }
        }
        if lacks(caps.web_search) {
            let search = request.extra.iter().any(|(k, v)| {
                (k == "enable_search" && is_truthy(v)) || (k == "search_options" && !v.is_null())
            });
            if search {
                return fail(
                    Rule::WebSearch,
                    format!("{name} does not support web search (enable_search)"),
                );
            }
        }
        if lacks(caps.tools) && !request.tools.is_empty() {
            return fail(
                Rule::ToolsUnsupported,
                format!("{name} does not support function calling (tools)"),
            );
        }
        if let (Some(n), Some(max)) = (request.max_tokens, self.limits.max_response) {
            if n > max {
                return fail(
                    Rule::MaxTokensAboveLimit,
                    format!("max_tokens {n} is above {name}'s maximum response of {max} tokens"),
                );
            }
        }
        if let Some(n) = request.thinking_budget {
            if lacks(caps.thinking_budget) {
                return fail(
                    Rule::ThinkingBudgetUnsupported,
                    format!("{name} does not take thinking_budget; leave it unset"),
                );
            }
            if let Some(max) = self.limits.max_reasoning.filter(|max| n > *max) {
                return fail(
                    Rule::ThinkingBudgetAboveLimit,
                    format!(
                        "thinking_budget {n} is above {name}'s maximum reasoning length of {max} tokens"
                    ),
                );
            }
        }
        if let Some(effort) = &request.reasoning_effort {
            if lacks(caps.reasoning_effort) {
                return fail(
                    Rule::ReasoningEffortUnsupported,
                    format!("{name} does not take reasoning_effort; leave it unset"),
                );
            }
            let levels = &caps.reasoning_effort_levels;
            if !levels.is_empty() && !levels.contains(effort) {
                let listed: Vec<&str> = levels.iter().map(|l| l.as_str()).collect();
                return fail(
                    Rule::ReasoningEffortLevelUnsupported,
                    format!(
                        "reasoning_effort {:?} is not a level {name} lists ({})",
                        effort.as_str(),
                        listed.join(", ")
                    ),
                );
            }
        }
        let thinking = request.thinking.or(self.defaults.thinking);
        let format = request.response_format.as_ref();
        if let Some(format) = format.filter(|f| f.is_structured()) {
            if lacks(caps.structured_output) {
                return fail(
                    Rule::StructuredOutputUnsupported,
                    format!("{name} does not give structured output (json_object, json_schema)"),
                );
            }
            if thinking == Some(true) && lacks(caps.structured_output_with_thinking) {
                return fail(
                    Rule::StructuredOutputWithThinking,
                    format!(
                        "{name} gives structured output only with thinking off, and thinking is on{}; call .thinking(false)",
                        if request.thinking.is_none() {
                            " by default"
                        } else {
                            ""
                        }
                    ),
                );
            }
            if *format == ResponseFormat::JsonObject
                && !request
                    .messages()
                    .iter()
                    .any(|m| contains_json_word(&m.content))
            {
                return fail(
                    Rule::JsonObjectWithoutJsonWord,
                    "response_format json_object needs the word \"json\" in the messages".into(),
                );
            }
        }
        let forced = request.tool_choice.as_ref().is_some_and(|c| c.is_forced());
        if forced && thinking == Some(true) && lacks(caps.forced_tool_choice_with_thinking) {
            return fail(
                Rule::ForcedToolChoiceWithThinking,
                format!(
                    "{name} takes only tool_choice auto or none with thinking on; call .thinking(false) to force a tool"
                ),
            );
        }
        Ok(())
    }
}

fn is_truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
}

fn contains_json_word(text: &str) -> bool {
    text.as_bytes()
        .windows(4)
        .any(|w| w.eq_ignore_ascii_case(b"json"))
}
