//! [`PartialJsonLimits`]: the bounds on one parser's memory and nesting.

#[cfg(doc)]
use super::PartialJson;

/// The limits that bound a [`PartialJson`]'s memory and nesting.
///
/// The defaults (nesting budget 128, 16 MiB of text) are [`PartialJsonLimits::new`] and
/// [`PartialJsonLimits::default`]; each setter is named after the field it sets. They accept every
/// text that `serde_json::from_str` accepts up to 16 MiB long.
///
/// # Example
///
/// This example shows how to tighten both limits.
///
/// ```
/// use dashscope_glm::json::{PartialJsonLimits, PartialJson};
///
/// let limits = PartialJsonLimits::new().max_depth(16).max_bytes(64 * 1024);
/// let mut parser = PartialJson::with_limits(limits);
/// parser.push(r#"{"a":[1,2]}"#)?;
/// assert_eq!(parser.limits().max_depth, 16);
/// # Ok::<(), dashscope_glm::json::JsonError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PartialJsonLimits {
    /// The nesting budget, counted the way `serde_json` counts its recursion limit:
    /// each `[` or `{` spends one unit and the text is rejected when the budget reaches
    /// zero. So at most `max_depth - 1` arrays and objects can be open at once; with the
    /// default 128 that is 127 levels, exactly what `serde_json::from_str` admits.
    pub max_depth: usize,
    /// The most bytes of JSON text accepted in total, over all pushes (default 16 MiB).
    pub max_bytes: usize,
}

impl PartialJsonLimits {
    /// The default limits: nesting budget 128, 16 MiB of text.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            max_depth: 128,
            max_bytes: 16 << 20,
        }
    }

    /// Sets the nesting budget (see [`PartialJsonLimits::max_depth`]). Defaults to 128.
    #[must_use]
    pub const fn max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Sets the most bytes of text accepted over all pushes. Defaults to 16 MiB.
    #[must_use]
    pub const fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }
}

impl Default for PartialJsonLimits {
    fn default() -> Self {
        Self::new()
    }
}
