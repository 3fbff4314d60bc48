//! [`JsonError`]: what went wrong, and where.

use std::fmt;

#[cfg(doc)]
use super::{PartialJson, PartialJsonLimits};

/// What the parser expected where it found something else (see [`JsonErrorKind::Syntax`]).
///
/// # Example
///
/// This example shows what was expected after an object key, and the message it gives.
///
/// ```
/// use dashscope_glm::json::{Expected, JsonErrorKind, PartialJson};
///
/// let err = PartialJson::new().push(r#"{"a" 1}"#).unwrap_err();
/// assert_eq!(err.kind(), JsonErrorKind::Syntax { expected: Expected::Colon, found: '1' });
/// assert_eq!(Expected::Colon.to_string(), "`:`");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Expected {
    /// A value: a string, number, object, array, `true`, `false` or `null`.
    Value,
    /// A value or `]` (just after `[`).
    ValueOrArrayEnd,
    /// A key (a string) or `}` (just after `{`).
    KeyOrObjectEnd,
    /// A key (a string), after `,` in an object.
    Key,
    /// `:` after an object key.
    Colon,
    /// `,` or `]` after an array element.
    CommaOrArrayEnd,
    /// `,` or `}` after an object member.
    CommaOrObjectEnd,
    /// The rest of the named literal (`true`, `false` or `null`).
    Literal(&'static str),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value => f.write_str("a value"),
            Self::ValueOrArrayEnd => f.write_str("a value or `]`"),
            Self::KeyOrObjectEnd => f.write_str("a string key or `}`"),
            Self::Key => f.write_str("a string key"),
            Self::Colon => f.write_str("`:`"),
            Self::CommaOrArrayEnd => f.write_str("`,` or `]`"),
            Self::CommaOrObjectEnd => f.write_str("`,` or `}`"),
            Self::Literal(name) => write!(f, "the literal `{name}`"),
        }
    }
}

/// What is wrong with the text (see [`JsonError::kind`]).
///
/// # Example
///
/// This example shows errors found while pushing, and the one only `finish` can report.
///
/// ```
/// use dashscope_glm::json::{JsonErrorKind, PartialJsonLimits, PartialJson};
///
/// let err = PartialJson::new().push(r#"{"a":1}{"#).unwrap_err();
/// assert_eq!(err.kind(), JsonErrorKind::TrailingData { found: '{' });
/// let mut shallow = PartialJson::with_limits(PartialJsonLimits::new().max_depth(1));
/// assert_eq!(shallow.push("[[").unwrap_err().kind(), JsonErrorKind::DepthLimit { limit: 1 });
/// let mut cut = PartialJson::new();
/// cut.push(r#"{"a":"#)?;
/// assert_eq!(cut.finish().unwrap_err().kind(), JsonErrorKind::Incomplete);
/// # Ok::<(), dashscope_glm::json::JsonError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JsonErrorKind {
    /// A character that cannot appear here.
    Syntax {
        /// What the grammar allows at this point.
        expected: Expected,
        /// The character found instead.
        found: char,
    },
    /// A non-whitespace character after the complete root value (for example
    /// `{"a":1}{"b":2}`).
    TrailingData {
        /// The first character after the value.
        found: char,
    },
    /// The text ended before the value did (reported by [`PartialJson::finish`] only).
    Incomplete,
    /// An array or object opened beyond [`PartialJsonLimits::max_depth`].
    DepthLimit {
        /// The nesting budget in force.
        limit: usize,
    },
    /// The text grew beyond [`PartialJsonLimits::max_bytes`].
    SizeLimit {
        /// The size cap in force, in bytes.
        limit: usize,
    },
    /// A malformed number: a leading zero (`01`), or a missing digit (`-`, `1.`, `1e`).
    InvalidNumber,
    /// A number too large for an `f64` (such as `1e400`), which `serde_json` rejects.
    NumberOutOfRange,
    /// A backslash followed by something other than `" \ / b f n r t u`, or a `\u`
    /// escape with a non-hex digit.
    InvalidEscape {
        /// The offending character.
        found: char,
    },
    /// A `\u` escape of a UTF-16 surrogate that is not part of a high-low pair.
    LoneSurrogate,
    /// A raw control character (U+0000 to U+001F) inside a string; it must be escaped.
    ControlCharacter {
        /// The control character.
        found: char,
    },
}

impl fmt::Display for JsonErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax { expected, found } => write!(f, "expected {expected}, found {found:?}"),
            Self::TrailingData { found } => {
                write!(f, "trailing data {found:?} after the JSON value")
            }
            Self::Incomplete => f.write_str("the JSON text ended before the value did"),
            Self::DepthLimit { limit } => write!(f, "nesting exceeds the depth budget {limit}"),
            Self::SizeLimit { limit } => write!(f, "the JSON text exceeds {limit} bytes"),
            Self::InvalidNumber => f.write_str("invalid number"),
            Self::NumberOutOfRange => f.write_str("number out of range"),
            Self::InvalidEscape { found } => write!(f, "invalid escape character {found:?}"),
            Self::LoneSurrogate => f.write_str("lone UTF-16 surrogate in a \\u escape"),
            Self::ControlCharacter { found } => {
                write!(f, "unescaped control character {found:?} in a string")
            }
        }
    }
}

/// A [`PartialJson`] error: what is wrong and where.
///
/// # Example
///
/// This example shows the kind and the byte offset of a syntax error.
///
/// ```
/// use dashscope_glm::json::{Expected, JsonErrorKind, PartialJson};
///
/// let mut parser = PartialJson::new();
/// parser.push(r#"{"a":1"#)?;
/// let err = parser.push(" ]").unwrap_err();
/// assert_eq!(err.offset(), 7);
/// assert_eq!(
///     err.kind(),
///     JsonErrorKind::Syntax { expected: Expected::CommaOrObjectEnd, found: ']' }
/// );
/// assert_eq!(err.to_string(), "expected `,` or `}`, found ']' at byte 7");
/// # Ok::<(), dashscope_glm::json::JsonError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JsonError {
    kind: JsonErrorKind,
    offset: usize,
}

impl JsonError {
    pub(super) const fn new(kind: JsonErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }

    /// What is wrong.
    #[must_use]
    pub const fn kind(&self) -> JsonErrorKind {
        self.kind
    }

    /// The byte offset in the whole text (all pushes together) where the problem was
    /// found: the offending character, the start of an out-of-range number, the `[` or
    /// `{` over the depth budget, the size cap, or the text's length for
    /// [`JsonErrorKind::Incomplete`].
    #[must_use]
    pub const fn offset(&self) -> usize {
        self.offset
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

impl std::error::Error for JsonError {}
