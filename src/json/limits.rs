//! [`JsonLimits`]: the bounds on one parser's memory and nesting.

#[cfg(doc)]
use super::PartialJson;

/// Limits that bound a [`PartialJson`]'s memory and nesting.
///
/// The defaults (nesting budget 128, 16 MiB of text) accept every text that
/// `serde_json::from_str` accepts up to 16 MiB long.
///
/// # Example
///
/// This example shows how to tighten both limits.
///
/// ```
/// use dashscope_glm::{JsonLimits, PartialJson};
///
/// let limits = JsonLimits::default().with_max_depth(16).with_max_bytes(64 * 1024);
/// let mut parser = PartialJson::with_limits(limits);
/// parser.push(r#"{"a":[1,2]}"#)?;
/// assert_eq!(parser.limits().max_depth, 16);
/// # Ok::<(), dashscope_glm::JsonError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct JsonLimits {
    /// The nesting budget, counted the way `serde_json` counts its recursion limit:
    /// each `[` or `{` spends one unit and the text is rejected when the budget reaches
    /// zero. So at most `max_depth - 1` arrays and objects can be open at once; with the
    /// default 128 that is 127 levels, exactly what `serde_json::from_str` admits.
    pub max_depth: usize,
    /// The most bytes of JSON text accepted in total, over all pushes (default 16 MiB).
    pub max_bytes: usize,
}

impl JsonLimits {
    /// The default limits: nesting budget 128, 16 MiB of text.
    ///
    /// # Example
    ///
    /// This example shows the default values.
    ///
    /// ```
    /// let limits = dashscope_glm::JsonLimits::new();
    /// assert_eq!((limits.max_depth, limits.max_bytes), (128, 16 << 20));
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            max_depth: 128,
            max_bytes: 16 << 20,
        }
    }

    /// Returns these limits with the nesting budget set to `max_depth` (see
    /// [`JsonLimits::max_depth`]).
    ///
    /// # Example
    ///
    /// This example shows that a budget of 3 admits two nested arrays but not three.
    ///
    /// ```
    /// use dashscope_glm::{JsonLimits, PartialJson};
    ///
    /// let limits = JsonLimits::new().with_max_depth(3);
    /// assert!(PartialJson::with_limits(limits).push("[[]]").is_ok());
    /// assert!(PartialJson::with_limits(limits).push("[[[]]]").is_err());
    /// ```
    #[must_use]
    pub const fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Returns these limits with the total text size capped at `max_bytes`.
    ///
    /// # Example
    ///
    /// This example shows a push that would exceed the cap failing.
    ///
    /// ```
    /// use dashscope_glm::{JsonErrorKind, JsonLimits, PartialJson};
    ///
    /// let mut parser = PartialJson::with_limits(JsonLimits::new().with_max_bytes(4));
    /// let err = parser.push("[1,2]").unwrap_err();
    /// assert_eq!(err.kind(), JsonErrorKind::SizeLimit { limit: 4 });
    /// assert_eq!(err.offset(), 4);
    /// ```
    #[must_use]
    pub const fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }
}

impl Default for JsonLimits {
    fn default() -> Self {
        Self::new()
    }
}
