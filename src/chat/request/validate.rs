//! Checking a [`ChatRequest`] before it is sent.

use crate::chat::ChatRequest;
use crate::chat::model::{Model, Rule};
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
    /// Checks the request before anything is sent: extra fields must not collide with
    /// typed ones, and a model in the catalog must accept the request (see
    /// [`Model::check`]). Unknown models pass the model rules unchecked.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming the [`Rule`] broken.
    ///
    /// # Example
    ///
    /// This example shows a rule refused for a catalog model and not checked for an unknown one.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Rule};
    /// use dashscope_glm::Error;
    ///
    /// let budget = ChatRequest::new("glm-5").user("hi").thinking_budget(50_000);
    /// let err = budget.validate().unwrap_err();
    /// assert!(matches!(err, Error::Validation { rule: Rule::ThinkingBudgetAboveLimit, .. }));
    /// let unknown = ChatRequest::new("my-fine-tune").user("hi").thinking_budget(50_000);
    /// assert!(unknown.validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        self.check_extra()?;
        match Model::lookup(&self.model) {
            Some(model) => model.check(self),
            None => Ok(()),
        }
    }

    pub(super) fn check_extra(&self) -> Result<(), Error> {
        match self
            .extra
            .iter()
            .find(|(k, _)| TYPED_KEYS.contains(&k.as_str()))
        {
            Some((key, _)) => Err(Error::Validation {
                rule: Rule::ExtraCollidesWithField,
                message: format!(
                    "extra field {key:?} collides with a field the request builder sets; use its typed setter"
                ),
            }),
            None => Ok(()),
        }
    }
}
