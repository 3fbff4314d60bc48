//! How long the model thinks: [`ReasoningEffort`].

use std::fmt;
use std::hash::{Hash, Hasher};

/// The reasoning effort a request asks for (`reasoning_effort`): how long the model
/// thinks before it answers.
///
/// The named levels are the ladder Z.ai documents for GLM-5.2 and later, from least to
/// most thinking: `none`, `minimal`, `low`, `medium`, `high`, `xhigh`, `max`. Model
/// Studio documents `max` (the default), `high` and `low` for ZHIPU/GLM-5.3. Any other
/// string a server takes goes through [`Other`](ReasoningEffort::Other), sent verbatim.
///
/// Two values are equal when they are sent the same: `Other("max")` equals
/// [`Max`](ReasoningEffort::Max). [`custom`](ReasoningEffort::custom) and `From<&str>`
/// pick the named level when the string is one.
///
/// Which models take `reasoning_effort`, and which levels a model lists, is the
/// catalog's: see [`Capabilities::reasoning_effort`](crate::chat::Capabilities::reasoning_effort).
///
/// # Example
///
/// This example asks ZHIPU/GLM-5.3 for less thinking, and shows a level the catalog
/// does not list for it refused.
///
/// ```
/// use dashscope_glm::chat::{ChatRequest, ReasoningEffort, Rule};
///
/// let quick = ChatRequest::new("ZHIPU/GLM-5.3").user("hi").reasoning_effort(ReasoningEffort::Low);
/// assert!(quick.validate().is_ok());
///
/// let minimal = ChatRequest::new("ZHIPU/GLM-5.3").user("hi").reasoning_effort("minimal");
/// assert_eq!(
///     minimal.validate().unwrap_err().rule(),
///     Some(Rule::ReasoningEffortLevelUnsupported)
/// );
/// assert_eq!(ReasoningEffort::custom("ultra").as_str(), "ultra");
/// assert_eq!(ReasoningEffort::custom("max"), ReasoningEffort::Max);
/// ```
#[derive(Debug, Clone, Eq)]
#[non_exhaustive]
pub enum ReasoningEffort {
    /// `none`: no thinking.
    None,
    /// `minimal`.
    Minimal,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `xhigh`.
    XHigh,
    /// `max`: the most thinking.
    Max,
    /// Any other value, sent verbatim.
    Other(String),
}

impl ReasoningEffort {
    /// The named level spelled `name`, else [`Other`](ReasoningEffort::Other) holding it.
    #[must_use]
    pub fn custom(name: impl Into<String>) -> Self {
        let name = name.into();
        match name.as_str() {
            "none" => Self::None,
            "minimal" => Self::Minimal,
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "xhigh" => Self::XHigh,
            "max" => Self::Max,
            _ => Self::Other(name),
        }
    }

    /// The value as sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::None => "none",
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::XHigh => "xhigh",
            Self::Max => "max",
            Self::Other(name) => name,
        }
    }
}

impl PartialEq for ReasoningEffort {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Hash for ReasoningEffort {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Display for ReasoningEffort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for ReasoningEffort {
    fn from(name: &str) -> Self {
        Self::custom(name)
    }
}

impl From<String> for ReasoningEffort {
    fn from(name: String) -> Self {
        Self::custom(name)
    }
}
