//! Incremental, linear-time, monotone partial JSON for streamed tool-call arguments.
//!
//! A tool call's `arguments` arrive as fragments of one JSON text, split anywhere: inside
//! a string, inside an escape, inside a number. [`PartialJson`] reads each fragment once,
//! keeps the best value so far as a live [`serde_json::Value`] tree, and gives a strict
//! verdict at the end:
//!
//! ```text
//!  push("{\"city\":\"Ber")  ──► value() = {"city":"Ber"}     string_deltas(): /city += "Ber"
//!  push("lin\",\"days\":")  ──► value() = {"city":"Berlin"}  string_deltas(): /city += "lin" (closed)
//!  push("3}")               ──► value() = {"city":"Berlin","days":3}
//!  finish()                 ──► Ok({"city":"Berlin","days":3})   (the same as serde_json::from_str)
//! ```
//!
//! In scope: one JSON text per parser, RFC 8259 exactly as `serde_json` reads it (same
//! accepted texts, same values, same recursion limit). Out of scope: JSON5, comments,
//! several concatenated texts, and `serde_json`'s `preserve_order` or
//! `arbitrary_precision` behaviours beyond what its `Value` does by itself.

use std::fmt;

use serde_json::map::Entry;
use serde_json::{Map, Value};

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

/// What the parser expected where it found something else (see [`JsonErrorKind::Syntax`]).
///
/// # Example
///
/// This example shows what was expected after an object key, and the message it gives.
///
/// ```
/// use dashscope_glm::{Expected, JsonErrorKind, PartialJson};
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
/// use dashscope_glm::{JsonErrorKind, JsonLimits, PartialJson};
///
/// let err = PartialJson::new().push(r#"{"a":1}{"#).unwrap_err();
/// assert_eq!(err.kind(), JsonErrorKind::TrailingData { found: '{' });
/// let mut shallow = PartialJson::with_limits(JsonLimits::new().with_max_depth(1));
/// assert_eq!(shallow.push("[[").unwrap_err().kind(), JsonErrorKind::DepthLimit { limit: 1 });
/// let mut cut = PartialJson::new();
/// cut.push(r#"{"a":"#)?;
/// assert_eq!(cut.finish().unwrap_err().kind(), JsonErrorKind::Incomplete);
/// # Ok::<(), dashscope_glm::JsonError>(())
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
    /// An array or object opened beyond [`JsonLimits::max_depth`].
    DepthLimit {
        /// The nesting budget in force.
        limit: usize,
    },
    /// The text grew beyond [`JsonLimits::max_bytes`].
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
/// use dashscope_glm::{Expected, JsonErrorKind, PartialJson};
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
/// # Ok::<(), dashscope_glm::JsonError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JsonError {
    kind: JsonErrorKind,
    offset: usize,
}

impl JsonError {
    const fn new(kind: JsonErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }

    /// What is wrong.
    ///
    /// # Example
    ///
    /// This example shows an unfinished text.
    ///
    /// ```
    /// use dashscope_glm::{JsonErrorKind, PartialJson};
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push("[1,")?;
    /// assert_eq!(parser.finish().unwrap_err().kind(), JsonErrorKind::Incomplete);
    /// # Ok::<(), dashscope_glm::JsonError>(())
    /// ```
    #[must_use]
    pub const fn kind(&self) -> JsonErrorKind {
        self.kind
    }

    /// The byte offset in the whole text (all pushes together) where the problem was
    /// found: the offending character, the start of an out-of-range number, the `[` or
    /// `{` over the depth budget, the size cap, or the text's length for
    /// [`JsonErrorKind::Incomplete`].
    ///
    /// # Example
    ///
    /// This example shows the offset of trailing data.
    ///
    /// ```
    /// use dashscope_glm::PartialJson;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push("[1] ")?;
    /// assert_eq!(parser.push("x").unwrap_err().offset(), 4);
    /// # Ok::<(), dashscope_glm::JsonError>(())
    /// ```
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

// A JSON path step is a key or an index; JSON has no third kind of container.
/// One step of a path from the document root: an object key or an array index.
///
/// # Example
///
/// This example shows the path of a string inside an array inside an object.
///
/// ```
/// use dashscope_glm::{PartialJson, PathSegment};
///
/// let mut parser = PartialJson::new();
/// parser.push(r#"{"tags":["a","b"#)?;
/// let delta = parser.string_deltas().last().unwrap();
/// let path: Vec<PathSegment<'_>> = delta.path().collect();
/// assert_eq!(path, [PathSegment::Key("tags"), PathSegment::Index(1)]);
/// # Ok::<(), dashscope_glm::JsonError>(())
/// ```
#[allow(clippy::exhaustive_enums, reason = "JSON has only objects and arrays")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathSegment<'a> {
    /// A member of an object, by its decoded key.
    Key(&'a str),
    /// An element of an array, by its index.
    Index(usize),
}

/// What one [`PartialJson::push`] appended to one string of the snapshot.
///
/// Obtained from [`PartialJson::string_deltas`]. [`text`](Self::text) is exactly the
/// decoded text by which the string at [`path`](Self::path) grew in
/// [`PartialJson::value`] during that push.
///
/// # Example
///
/// This example shows how to stream one argument character by character.
///
/// ```
/// use dashscope_glm::PartialJson;
///
/// let mut parser = PartialJson::new();
/// let mut shown = String::new();
/// for fragment in [r#"{"query":"caf"#, r#"\u00"#, r#"e9 au lait","n":2}"#] {
///     parser.push(fragment)?;
///     for delta in parser.string_deltas() {
///         if delta.pointer() == "/query" {
///             shown.push_str(delta.text());
///         }
///     }
/// }
/// assert_eq!(shown, "café au lait");
/// # Ok::<(), dashscope_glm::JsonError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StringDelta<'a> {
    parser: &'a PartialJson,
    rec: &'a DeltaRec,
}

impl<'a> StringDelta<'a> {
    /// The string's path from the document root (empty for a root string).
    ///
    /// # Example
    ///
    /// This example shows the path of a nested string.
    ///
    /// ```
    /// use dashscope_glm::{PartialJson, PathSegment};
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"{"a":{"b":"x"#)?;
    /// let delta = parser.string_deltas().next().unwrap();
    /// assert!(delta.path().eq([PathSegment::Key("a"), PathSegment::Key("b")]));
    /// # Ok::<(), dashscope_glm::JsonError>(())
    /// ```
    pub fn path(&self) -> impl ExactSizeIterator<Item = PathSegment<'a>> + use<'a> {
        let parser = self.parser;
        let segs = parser
            .delta_segs
            .get(self.rec.segs.0..self.rec.segs.1)
            .unwrap_or_default();
        segs.iter().map(move |seg| match *seg {
            SegRec::Index(i) => PathSegment::Index(i),
            SegRec::Key(a, b) => PathSegment::Key(parser.delta_keys.get(a..b).unwrap_or("")),
        })
    }

    /// The path as an RFC 6901 JSON Pointer (`""` for the root, `/a/0/b` otherwise,
    /// with `~` written `~0` and `/` written `~1`).
    ///
    /// # Example
    ///
    /// This example shows a key with a slash in it.
    ///
    /// ```
    /// use dashscope_glm::PartialJson;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"{"a/b":["x"#)?;
    /// assert_eq!(parser.string_deltas().next().unwrap().pointer(), "/a~1b/0");
    /// # Ok::<(), dashscope_glm::JsonError>(())
    /// ```
    #[must_use]
    pub fn pointer(&self) -> String {
        let mut out = String::new();
        for seg in self.path() {
            out.push('/');
            match seg {
                PathSegment::Index(i) => out.push_str(&i.to_string()),
                PathSegment::Key(k) => {
                    for c in k.chars() {
                        match c {
                            '~' => out.push_str("~0"),
                            '/' => out.push_str("~1"),
                            c => out.push(c),
                        }
                    }
                }
            }
        }
        out
    }

    /// The decoded text this push appended to the string (possibly empty when the push
    /// only opened or only closed it).
    ///
    /// # Example
    ///
    /// This example shows that an escape split across pushes is appended once, whole.
    ///
    /// ```
    /// use dashscope_glm::PartialJson;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"["a\"#)?;
    /// assert_eq!(parser.string_deltas().next().unwrap().text(), "a");
    /// parser.push(r#"nb"#)?;
    /// assert_eq!(parser.string_deltas().next().unwrap().text(), "\nb");
    /// # Ok::<(), dashscope_glm::JsonError>(())
    /// ```
    #[must_use]
    pub fn text(&self) -> &'a str {
        self.parser
            .delta_text
            .get(self.rec.text.0..self.rec.text.1)
            .unwrap_or("")
    }

    /// Whether this push opened the string (it first appeared in the snapshot, as `""`
    /// plus [`text`](Self::text)).
    ///
    /// # Example
    ///
    /// This example shows a string opened by one push and continued by the next.
    ///
    /// ```
    /// use dashscope_glm::PartialJson;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"{"a":""#)?;
    /// assert!(parser.string_deltas().next().unwrap().is_new());
    /// parser.push("x")?;
    /// assert!(!parser.string_deltas().next().unwrap().is_new());
    /// # Ok::<(), dashscope_glm::JsonError>(())
    /// ```
    #[must_use]
    pub fn is_new(&self) -> bool {
        self.rec.new
    }

    /// Whether this push read the string's closing quote: it will not grow again.
    ///
    /// # Example
    ///
    /// This example shows a push that only closes a string.
    ///
    /// ```
    /// use dashscope_glm::PartialJson;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"{"a":"xy"#)?;
    /// parser.push(r#"","#)?;
    /// let delta = parser.string_deltas().next().unwrap();
    /// assert!(delta.is_closed() && delta.text().is_empty());
    /// # Ok::<(), dashscope_glm::JsonError>(())
    /// ```
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.rec.closed
    }
}

/// An incremental, strict JSON parser whose partial result can be read after every
/// fragment.
///
/// **Protocol.** Create with [`new`](Self::new) or [`with_limits`](Self::with_limits);
/// call [`push`](Self::push) for each fragment, reading [`value`](Self::value) and
/// [`string_deltas`](Self::string_deltas) after it as you like; end with
/// [`finish`](Self::finish), which gives the strict verdict. [`is_complete`](Self::is_complete)
/// tells whether `finish` would succeed now.
///
/// **Cost.** Each byte is read once, when it is pushed; a push costs O(fragment length
/// plus depth), where the depth part is one map look-up by key per enclosing object
/// member (to find the open containers again in the tree, and to report the path of
/// a growing string). Reading `value()` costs nothing: the tree is kept up to date in
/// place.
///
/// **What the snapshot shows.** The snapshot is always rooted at the document root and
/// only ever grows: every snapshot extends the one before it (strings only grow,
/// arrays and objects only gain elements or extend their last one).
/// - A string shows its decoded prefix as soon as its opening quote is read; never half
///   an escape, never half a surrogate pair (`\ud83d` waits for its `\ude00`).
/// - A number is shown once a character after it ends the token (`,`, `]`, `}` or
///   whitespace). A bare root number such as `12` has nothing after it, so `value()`
///   stays `None` and only [`finish`](Self::finish) returns it.
/// - `true`, `false` and `null` are shown once their last letter is read (nothing valid
///   can extend them), never earlier: `tru` shows nothing.
/// - An object member is shown once its value shows something: a string, array or
///   object as soon as its opening `"`, `[` or `{` is read (as `""`, `[]`, `{}`); a
///   number or literal as above. Keys being read are never shown.
/// - Duplicate keys: `serde_json` keeps the last value for a key. A snapshot cannot
///   replace a shown member and stay monotone, so the snapshot keeps showing the
///   *first* member with that key, and later duplicates are read, checked and kept
///   aside (and not reported in [`string_deltas`](Self::string_deltas)).
///   [`finish`](Self::finish) applies them, so its result equals `serde_json`'s.
///
/// **Strictness.** [`finish`](Self::finish) returns exactly what `serde_json::from_str`
/// returns for the whole text (same values, an error exactly when it errors), with two
/// documented limits of this parser's own: [`JsonLimits::max_bytes`] (default 16 MiB;
/// `serde_json` has no size cap) and [`JsonLimits::max_depth`] (the default equals
/// `serde_json`'s recursion limit). `push` reports an error as soon as the text can no
/// longer become valid, at the offending byte; incomplete text is not an error until
/// `finish`.
///
/// **Errors are fused.** After a push fails, every later `push` and `finish` return the
/// same error; `value()` keeps the snapshot of the text before the offending byte.
///
/// # Example
///
/// This example shows the snapshot while the arguments stream, then the verdict.
///
/// ```
/// use dashscope_glm::PartialJson;
/// use serde_json::json;
///
/// let mut parser = PartialJson::new();
/// parser.push(r#"{"city":"Par"#)?;
/// assert_eq!(parser.value(), Some(&json!({"city": "Par"})));
/// parser.push(r#"is","days":1"#)?;
/// // `1` may be the start of `12`: not shown yet.
/// assert_eq!(parser.value(), Some(&json!({"city": "Paris"})));
/// parser.push("2}")?;
/// assert_eq!(parser.value(), Some(&json!({"city": "Paris", "days": 12})));
/// assert!(parser.is_complete());
/// assert_eq!(parser.finish()?, json!({"city": "Paris", "days": 12}));
/// # Ok::<(), dashscope_glm::JsonError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PartialJson {
    limits: JsonLimits,
    /// The snapshot. Between pushes every shown open value is attached in it.
    root: Option<Value>,
    /// The open arrays, objects and value string, outermost first. During a push every
    /// frame owns its value (detached from the tree); between pushes the shown frames
    /// (a prefix of the chain) are attached and hold `Null`.
    chain: Vec<Open>,
    /// Open arrays and objects: `depth <= chain.len()` and `depth < limits.max_depth`.
    depth: usize,
    state: State,
    esc: Esc,
    /// The string being read is an object key (decoded into the top frame's `key`).
    str_key: bool,
    /// The number token being read (`num_start` is its offset).
    num: String,
    num_start: usize,
    /// Bytes accepted so far: the offset of the next pushed byte.
    consumed: usize,
    error: Option<JsonError>,
    /// Duplicate-key members of shown objects, applied by `finish`, in order.
    overrides: Vec<Override>,
    deltas: Vec<DeltaRec>,
    delta_segs: Vec<SegRec>,
    delta_keys: String,
    delta_text: String,
    /// The delta of the string being read, if this push created one.
    cur_delta: Option<usize>,
    touched: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Array,
    Object,
    Str,
}

#[derive(Debug, Clone)]
struct Open {
    kind: Kind,
    /// Not in the snapshot (inside a duplicate-key member).
    hidden: bool,
    value: Value,
    /// Object frames: the current member's key.
    key: String,
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone)]
struct Override {
    path: Vec<Seg>,
    key: String,
    value: Value,
}

#[derive(Debug, Clone, Copy)]
enum SegRec {
    Index(usize),
    Key(usize, usize),
}

#[derive(Debug, Clone)]
struct DeltaRec {
    segs: (usize, usize),
    text: (usize, usize),
    new: bool,
    closed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A value (root start, after `:`, after `,` in an array).
    Value,
    ArrayFirst,
    ObjectFirst,
    /// A key, after `,` in an object.
    Key,
    Colon,
    /// After a value inside a container.
    After,
    /// The root value is complete.
    Done,
    Str,
    Num(Num),
    Lit(Lit, u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
}

impl Num {
    const fn can_end(self) -> bool {
        matches!(self, Self::Zero | Self::Int | Self::Frac | Self::ExpDigits)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lit {
    True,
    False,
    Null,
}

impl Lit {
    const fn text(self) -> &'static str {
        match self {
            Self::True => "true",
            Self::False => "false",
            Self::Null => "null",
        }
    }

    const fn value(self) -> Value {
        match self {
            Self::True => Value::Bool(true),
            Self::False => Value::Bool(false),
            Self::Null => Value::Null,
        }
    }
}

/// Escape sub-state inside a string. `high` is a pending high surrogate (0 if none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Esc {
    None,
    Backslash,
    Hex {
        n: u8,
        acc: u32,
        high: u32,
    },
    /// After a complete high-surrogate escape: `\` must follow.
    High(u32),
    /// After the `\` following a high surrogate: `u` must follow.
    HighBackslash(u32),
}

const fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn char_at(frag: &str, i: usize) -> char {
    frag.get(i..)
        .and_then(|s| s.chars().next())
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

impl Default for PartialJson {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialJson {
    /// A parser with the default [`JsonLimits`].
    ///
    /// # Example
    ///
    /// This example shows that nothing is shown before any input.
    ///
    /// ```
    /// let parser = dashscope_glm::PartialJson::new();
    /// assert_eq!(parser.value(), None);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::with_limits(JsonLimits::new())
    }

    /// A parser with the given limits.
    ///
    /// # Example
    ///
    /// This example shows a depth-limited parser rejecting deep nesting.
    ///
    /// ```
    /// use dashscope_glm::{JsonErrorKind, JsonLimits, PartialJson};
    ///
    /// let mut parser = PartialJson::with_limits(JsonLimits::new().with_max_depth(2));
    /// let err = parser.push(r#"{"a":{"#).unwrap_err();
    /// assert_eq!(err.kind(), JsonErrorKind::DepthLimit { limit: 2 });
    /// assert_eq!(err.offset(), 5);
    /// ```
    #[must_use]
    pub fn with_limits(limits: JsonLimits) -> Self {
        Self {
            limits,
            root: None,
            chain: Vec::new(),
            depth: 0,
            state: State::Value,
            esc: Esc::None,
            str_key: false,
            num: String::new(),
            num_start: 0,
            consumed: 0,
            error: None,
            overrides: Vec::new(),
            deltas: Vec::new(),
            delta_segs: Vec::new(),
            delta_keys: String::new(),
            delta_text: String::new(),
            cur_delta: None,
            touched: 0,
        }
    }

    /// The limits this parser enforces.
    ///
    /// # Example
    ///
    /// This example shows the default limits.
    ///
    /// ```
    /// use dashscope_glm::{JsonLimits, PartialJson};
    /// assert_eq!(PartialJson::new().limits(), JsonLimits::default());
    /// ```
    #[must_use]
    pub const fn limits(&self) -> JsonLimits {
        self.limits
    }

    /// The best value so far, rooted at the document root; `None` until the root value
    /// has something to show. Free to call: [`push`](Self::push) keeps it up to date.
    ///
    /// See the type documentation for what is shown when; every snapshot extends the
    /// one before it.
    ///
    /// # Example
    ///
    /// This example shows an unfinished number and a split escape not being shown.
    ///
    /// ```
    /// use dashscope_glm::PartialJson;
    /// use serde_json::json;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"{"a":[1,2"#)?;
    /// assert_eq!(parser.value(), Some(&json!({"a": [1]})));
    /// parser.push(r#"],"b":"x\u00"#)?;
    /// assert_eq!(parser.value(), Some(&json!({"a": [1, 2], "b": "x"})));
    /// # Ok::<(), dashscope_glm::JsonError>(())
    /// ```
    #[must_use]
    pub const fn value(&self) -> Option<&Value> {
        self.root.as_ref()
    }

    /// Whether the text so far is one whole JSON value (trailing whitespace allowed):
    /// true exactly when [`finish`](Self::finish) would succeed now.
    ///
    /// # Example
    ///
    /// This example shows a bare root number: complete, though not yet shown.
    ///
    /// ```
    /// use dashscope_glm::PartialJson;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push("12")?;
    /// assert!(parser.is_complete());
    /// assert_eq!(parser.value(), None);
    /// assert_eq!(parser.finish()?, 12);
    /// # Ok::<(), dashscope_glm::JsonError>(())
    /// ```
    #[must_use]
    pub fn is_complete(&self) -> bool {
        if self.error.is_some() {
            return false;
        }
        match self.state {
            State::Done => true,
            State::Num(n) => {
                n.can_end() && self.chain.is_empty() && parse_number(&self.num).is_some()
            }
            _ => false,
        }
    }

    /// Reads the next fragment of the text.
    ///
    /// Afterwards [`value`](Self::value) shows everything the text so far determines,
    /// and [`string_deltas`](Self::string_deltas) tells what this push appended to
    /// which strings. The fragment may end anywhere (inside a string, an escape, a
    /// number or a literal). Costs O(fragment length + depth); earlier bytes are never
    /// read again.
    ///
    /// # Errors
    ///
    /// A [`JsonError`] as soon as the text can no longer become valid JSON (at the
    /// offending byte), or when it exceeds a [`JsonLimits`] bound. Errors are fused:
    /// after one, every later call returns the same error and reads nothing.
    ///
    /// # Example
    ///
    /// This example shows a fragment split inside a surrogate-pair escape.
    ///
    /// ```
    /// use dashscope_glm::PartialJson;
    /// use serde_json::json;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"["x\ud83d"#)?;
    /// assert_eq!(parser.value(), Some(&json!(["x"])));
    /// parser.push(r#"\ude00"]"#)?;
    /// assert_eq!(parser.value(), Some(&json!(["x😀"])));
    /// # Ok::<(), dashscope_glm::JsonError>(())
    /// ```
    pub fn push(&mut self, fragment: &str) -> Result<(), JsonError> {
        if let Some(err) = self.error {
            return Err(err);
        }
        self.deltas.clear();
        self.delta_segs.clear();
        self.delta_keys.clear();
        self.delta_text.clear();
        self.cur_delta = None;
        if fragment.is_empty() {
            return Ok(());
        }
        let within = self
            .consumed
            .checked_add(fragment.len())
            .is_some_and(|end| end <= self.limits.max_bytes);
        if !within {
            let err = JsonError::new(
                JsonErrorKind::SizeLimit {
                    limit: self.limits.max_bytes,
                },
                self.limits.max_bytes,
            );
            self.error = Some(err);
            return Err(err);
        }
        self.touched = self
            .touched
            .saturating_add(u64::try_from(fragment.len()).unwrap_or(u64::MAX));
        self.detach();
        let result = self.run(fragment);
        self.attach();
        match result {
            Ok(()) => {
                self.consumed += fragment.len();
                Ok(())
            }
            Err(err) => {
                self.error = Some(err);
                Err(err)
            }
        }
    }

    /// What the last [`push`](Self::push) appended to strings of the snapshot, in text
    /// order: one [`StringDelta`] per string that the push opened, grew or closed.
    ///
    /// Only strings that are values in the snapshot are reported: keys being read are
    /// not, nor are strings inside duplicate-key members (which the snapshot does not
    /// show). Concatenating the texts of all deltas for a path gives that string's
    /// value in the snapshot.
    ///
    /// # Example
    ///
    /// This example shows one push that finishes one string and starts another.
    ///
    /// ```
    /// use dashscope_glm::PartialJson;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"{"a":"he"#)?;
    /// parser.push(r#"llo","b":["wo"#)?;
    /// let deltas: Vec<_> = parser
    ///     .string_deltas()
    ///     .map(|d| (d.pointer(), d.text().to_owned(), d.is_new(), d.is_closed()))
    ///     .collect();
    /// assert_eq!(
    ///     deltas,
    ///     [
    ///         ("/a".to_owned(), "llo".to_owned(), false, true),
    ///         ("/b/0".to_owned(), "wo".to_owned(), true, false),
    ///     ]
    /// );
    /// # Ok::<(), dashscope_glm::JsonError>(())
    /// ```
    pub fn string_deltas(&self) -> impl ExactSizeIterator<Item = StringDelta<'_>> + '_ {
        self.deltas
            .iter()
            .map(move |rec| StringDelta { parser: self, rec })
    }

    /// The strict verdict: the whole text's value, exactly as `serde_json::from_str`
    /// would return it (duplicate keys resolved last-wins, numbers as `serde_json`
    /// reads them).
    ///
    /// # Errors
    ///
    /// The fused error of an earlier push, [`JsonErrorKind::Incomplete`] if the text
    /// stops before its value ends (including empty or all-whitespace text), or
    /// [`JsonErrorKind::NumberOutOfRange`] for a bare root number such as `1e400`.
    ///
    /// # Example
    ///
    /// This example shows duplicate keys: the snapshot keeps the first, `finish` the
    /// last, like `serde_json`.
    ///
    /// ```
    /// use dashscope_glm::PartialJson;
    /// use serde_json::json;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"{"a":"first","a":"second"}"#)?;
    /// assert_eq!(parser.value(), Some(&json!({"a": "first"})));
    /// assert_eq!(parser.finish()?, json!({"a": "second"}));
    /// # Ok::<(), dashscope_glm::JsonError>(())
    /// ```
    pub fn finish(mut self) -> Result<Value, JsonError> {
        if let Some(err) = self.error {
            return Err(err);
        }
        let incomplete = JsonError::new(JsonErrorKind::Incomplete, self.consumed);
        match self.state {
            State::Done => {}
            State::Num(n) if n.can_end() && self.chain.is_empty() => {
                self.touched = self.touched.saturating_add(self.num.len() as u64);
                let value = parse_number(&self.num).ok_or(JsonError::new(
                    JsonErrorKind::NumberOutOfRange,
                    self.num_start,
                ))?;
                self.root = Some(value);
            }
            _ => return Err(incomplete),
        }
        let mut root = self.root.ok_or(incomplete)?;
        for ov in self.overrides {
            if let Some(Value::Object(m)) = lookup(&mut root, &ov.path) {
                m.insert(ov.key, ov.value);
            }
        }
        Ok(root)
    }

    /// Bytes the parser has read: each pushed byte once, plus the bytes of number
    /// tokens (read again when converted) and the delimiter that ends each number.
    /// Always at most three times the text's length. For tests of linearity only.
    #[doc(hidden)]
    #[must_use]
    pub const fn bytes_touched(&self) -> u64 {
        self.touched
    }

    /// Takes every shown open value out of the tree, outermost first, so that the
    /// push can own them.
    fn detach(&mut self) {
        for i in 0..self.chain.len() {
            let (done, rest) = self.chain.split_at_mut(i);
            let Some(frame) = rest.first_mut() else {
                break;
            };
            if frame.hidden {
                break;
            }
            let slot = match done.last_mut() {
                None => self.root.as_mut(),
                Some(parent) => slot_of(parent),
            };
            if let Some(slot) = slot {
                frame.value = std::mem::take(slot);
            }
        }
    }

    /// Puts every shown open value back into the tree, innermost first.
    fn attach(&mut self) {
        for i in (0..self.chain.len()).rev() {
            let (done, rest) = self.chain.split_at_mut(i);
            let Some(frame) = rest.first_mut() else {
                continue;
            };
            if frame.hidden {
                continue;
            }
            let value = std::mem::take(&mut frame.value);
            match done.last_mut() {
                None => self.root = Some(value),
                Some(parent) => {
                    if let Some(slot) = slot_of(parent) {
                        *slot = value;
                    }
                }
            }
        }
    }

    fn run(&mut self, frag: &str) -> Result<(), JsonError> {
        let bytes = frag.as_bytes();
        let base = self.consumed;
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            let at = base + i;
            match self.state {
                State::Str => {
                    i = self.string_step(frag, i, base)?;
                    continue;
                }
                State::Num(n) => {
                    let start = i;
                    let mut n = n;
                    let mut ended = false;
                    while let Some(&b) = bytes.get(i) {
                        let next = match (n, b) {
                            (Num::Minus, b'0') => Num::Zero,
                            (Num::Minus, b'1'..=b'9') => Num::Int,
                            (Num::Int, b'0'..=b'9') => Num::Int,
                            (Num::Zero | Num::Int, b'.') => Num::Dot,
                            (Num::Dot | Num::Frac, b'0'..=b'9') => Num::Frac,
                            (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Num::Exp,
                            (Num::Exp, b'+' | b'-') => Num::ExpSign,
                            (Num::Exp | Num::ExpSign | Num::ExpDigits, b'0'..=b'9') => {
                                Num::ExpDigits
                            }
                            (n, b) if n.can_end() && !b.is_ascii_digit() => {
                                ended = true;
                                break;
                            }
                            _ => {
                                return Err(JsonError::new(JsonErrorKind::InvalidNumber, base + i));
                            }
                        };
                        n = next;
                        i += 1;
                    }
                    self.num.push_str(frag.get(start..i).unwrap_or(""));
                    self.state = State::Num(n);
                    if ended {
                        // The delimiter is read again by the next state.
                        self.touched = self
                            .touched
                            .saturating_add(1)
                            .saturating_add(self.num.len() as u64);
                        let value = parse_number(&self.num).ok_or(JsonError::new(
                            JsonErrorKind::NumberOutOfRange,
                            self.num_start,
                        ))?;
                        self.place_scalar(value);
                    }
                    continue;
                }
                State::Lit(lit, n) => {
                    let text = lit.text().as_bytes();
                    let want = text.get(usize::from(n)).copied().unwrap_or(0);
                    if b != want {
                        return Err(self.syntax(Expected::Literal(lit.text()), frag, i));
                    }
                    let n = n + 1;
                    if usize::from(n) == text.len() {
                        self.place_scalar(lit.value());
                    } else {
                        self.state = State::Lit(lit, n);
                    }
                }
                _ if is_ws(b) => {}
                State::Value | State::ArrayFirst => match b {
                    b']' if self.state == State::ArrayFirst => self.close_container(),
                    _ => {
                        let expected = if self.state == State::ArrayFirst {
                            Expected::ValueOrArrayEnd
                        } else {
                            Expected::Value
                        };
                        self.start_value(frag, i, at, expected)?;
                    }
                },
                State::ObjectFirst | State::Key => match b {
                    b'"' => {
                        if let Some(top) = self.chain.last_mut() {
                            top.key.clear();
                        }
                        self.str_key = true;
                        self.esc = Esc::None;
                        self.state = State::Str;
                    }
                    b'}' if self.state == State::ObjectFirst => self.close_container(),
                    _ => {
                        let expected = if self.state == State::ObjectFirst {
                            Expected::KeyOrObjectEnd
                        } else {
                            Expected::Key
                        };
                        return Err(self.syntax(expected, frag, i));
                    }
                },
                State::Colon => {
                    if b == b':' {
                        self.state = State::Value;
                    } else {
                        return Err(self.syntax(Expected::Colon, frag, i));
                    }
                }
                State::After => {
                    let in_array = self.chain.last().is_some_and(|f| f.kind == Kind::Array);
                    match (b, in_array) {
                        (b',', true) => self.state = State::Value,
                        (b',', false) => self.state = State::Key,
                        (b']', true) | (b'}', false) => self.close_container(),
                        (_, true) => return Err(self.syntax(Expected::CommaOrArrayEnd, frag, i)),
                        (_, false) => {
                            return Err(self.syntax(Expected::CommaOrObjectEnd, frag, i));
                        }
                    }
                }
                State::Done => {
                    return Err(JsonError::new(
                        JsonErrorKind::TrailingData {
                            found: char_at(frag, i),
                        },
                        at,
                    ));
                }
            }
            i += 1;
        }
        Ok(())
    }

    fn syntax(&self, expected: Expected, frag: &str, i: usize) -> JsonError {
        JsonError::new(
            JsonErrorKind::Syntax {
                expected,
                found: char_at(frag, i),
            },
            self.consumed + i,
        )
    }

    /// Begins the value whose first byte is `frag[i]` (not whitespace).
    fn start_value(
        &mut self,
        frag: &str,
        i: usize,
        at: usize,
        expected: Expected,
    ) -> Result<(), JsonError> {
        let b = frag.as_bytes().get(i).copied().unwrap_or(0);
        match b {
            b'"' => {
                self.open(Kind::Str, Value::String(String::new()));
                self.str_key = false;
                self.esc = Esc::None;
                self.state = State::Str;
                if let Some(d) = self.touch_delta() {
                    d.new = true;
                }
            }
            b'[' | b'{' => {
                // serde_json's recursion budget: the text is rejected when it hits zero.
                if self.depth.saturating_add(1) >= self.limits.max_depth {
                    return Err(JsonError::new(
                        JsonErrorKind::DepthLimit {
                            limit: self.limits.max_depth,
                        },
                        at,
                    ));
                }
                self.depth += 1;
                if b == b'[' {
                    self.open(Kind::Array, Value::Array(Vec::new()));
                    self.state = State::ArrayFirst;
                } else {
                    self.open(Kind::Object, Value::Object(Map::new()));
                    self.state = State::ObjectFirst;
                }
            }
            b'-' | b'0'..=b'9' => {
                self.num.clear();
                self.num_start = at;
                self.state = State::Num(Num::Minus);
                if b == b'-' {
                    self.num.push('-');
                } else {
                    self.state = State::Num(if b == b'0' { Num::Zero } else { Num::Int });
                    self.num.push(char::from(b));
                }
            }
            b't' => self.state = State::Lit(Lit::True, 1),
            b'f' => self.state = State::Lit(Lit::False, 1),
            b'n' => self.state = State::Lit(Lit::Null, 1),
            _ => return Err(self.syntax(expected, frag, i)),
        }
        Ok(())
    }

    /// Pushes a new open value (container or value string) as the current member of
    /// the top frame, showing it (with a placeholder in the parent) unless hidden.
    fn open(&mut self, kind: Kind, value: Value) {
        let hidden = match self.chain.last_mut() {
            None => false,
            Some(parent) if parent.hidden => true,
            Some(parent) => match &mut parent.value {
                Value::Array(a) => {
                    a.push(Value::Null);
                    false
                }
                Value::Object(m) => match m.entry(parent.key.as_str()) {
                    Entry::Vacant(v) => {
                        v.insert(Value::Null);
                        false
                    }
                    // A duplicate key: keep showing the first member.
                    Entry::Occupied(_) => true,
                },
                _ => true,
            },
        };
        self.chain.push(Open {
            kind,
            hidden,
            value,
            key: String::new(),
        });
    }

    /// Pops the top frame (its closing `]`, `}` or `"` was read) and places its value.
    fn close_container(&mut self) {
        let Some(frame) = self.chain.pop() else {
            return;
        };
        if frame.kind != Kind::Str {
            self.depth = self.depth.saturating_sub(1);
        }
        match self.chain.last_mut() {
            None => self.root = Some(frame.value),
            Some(parent) => {
                if !frame.hidden {
                    if let Some(slot) = slot_of(parent) {
                        *slot = frame.value;
                    }
                    parent.key.clear();
                } else if parent.hidden {
                    insert_member(parent, frame.value);
                } else {
                    self.add_override(frame.value);
                }
            }
        }
        self.state = if self.chain.is_empty() {
            State::Done
        } else {
            State::After
        };
    }

    /// Places a complete number or literal as the current member of the top frame.
    fn place_scalar(&mut self, value: Value) {
        match self.chain.last_mut() {
            None => self.root = Some(value),
            Some(parent) => {
                let duplicate = !parent.hidden
                    && matches!(&parent.value, Value::Object(m) if m.contains_key(&parent.key));
                if duplicate {
                    self.add_override(value);
                } else {
                    insert_member(parent, value);
                }
            }
        }
        self.state = if self.chain.is_empty() {
            State::Done
        } else {
            State::After
        };
    }

    /// Records `value` as the last-wins value of the top object's current (duplicate)
    /// key, for `finish`.
    fn add_override(&mut self, value: Value) {
        let mut path = Vec::with_capacity(self.chain.len());
        for pair in self.chain.windows(2) {
            if let [parent, _] = pair {
                path.push(match &parent.value {
                    Value::Array(a) => Seg::Index(a.len().saturating_sub(1)),
                    _ => Seg::Key(parent.key.clone()),
                });
            }
        }
        let Some(top) = self.chain.last_mut() else {
            return;
        };
        let key = std::mem::take(&mut top.key);
        self.overrides.push(Override { path, key, value });
    }

    /// The delta record of the string being read, creating it (with the string's
    /// path) on the first visible change in this push. `None` for keys and hidden
    /// strings.
    fn touch_delta(&mut self) -> Option<&mut DeltaRec> {
        if self.str_key || self.chain.last().is_none_or(|f| f.hidden) {
            return None;
        }
        let idx = match self.cur_delta {
            Some(idx) => idx,
            None => {
                let seg_start = self.delta_segs.len();
                for pair in self.chain.windows(2) {
                    if let [parent, _] = pair {
                        let seg = match &parent.value {
                            Value::Array(a) => SegRec::Index(a.len().saturating_sub(1)),
                            _ => {
                                let a = self.delta_keys.len();
                                self.delta_keys.push_str(&parent.key);
                                SegRec::Key(a, self.delta_keys.len())
                            }
                        };
                        self.delta_segs.push(seg);
                    }
                }
                let t = self.delta_text.len();
                self.deltas.push(DeltaRec {
                    segs: (seg_start, self.delta_segs.len()),
                    text: (t, t),
                    new: false,
                    closed: false,
                });
                let idx = self.deltas.len() - 1;
                self.cur_delta = Some(idx);
                idx
            }
        };
        self.deltas.get_mut(idx)
    }

    /// Appends decoded text to the string being read.
    fn append(&mut self, s: &str) {
        if self.str_key {
            if let Some(top) = self.chain.last_mut() {
                top.key.push_str(s);
            }
            return;
        }
        let Some(top) = self.chain.last_mut() else {
            return;
        };
        if let Value::String(t) = &mut top.value {
            t.push_str(s);
        }
        if top.hidden {
            return;
        }
        // Create the record (its text starts here) before appending.
        if self.touch_delta().is_none() {
            return;
        }
        self.delta_text.push_str(s);
        let end = self.delta_text.len();
        if let Some(d) = self.cur_delta.and_then(|i| self.deltas.get_mut(i)) {
            d.text.1 = end;
        }
    }

    fn append_char(&mut self, c: char) {
        let mut buf = [0; 4];
        self.append(c.encode_utf8(&mut buf));
    }

    /// Reads string content starting at `frag[i]`; returns the index after what it read.
    fn string_step(&mut self, frag: &str, mut i: usize, base: usize) -> Result<usize, JsonError> {
        let bytes = frag.as_bytes();
        let at = base + i;
        let Some(&b) = bytes.get(i) else {
            return Ok(i);
        };
        match self.esc {
            Esc::None => {
                let start = i;
                while let Some(&b) = bytes.get(i) {
                    if b == b'"' || b == b'\\' || b < 0x20 {
                        break;
                    }
                    i += 1;
                }
                if i > start {
                    // Stops only at ASCII bytes, so `start..i` are char boundaries.
                    self.append(frag.get(start..i).unwrap_or(""));
                }
                match bytes.get(i) {
                    None => {}
                    Some(b'"') => {
                        i += 1;
                        self.close_string();
                    }
                    Some(b'\\') => {
                        i += 1;
                        self.esc = Esc::Backslash;
                    }
                    Some(&c) => {
                        return Err(JsonError::new(
                            JsonErrorKind::ControlCharacter {
                                found: char::from(c),
                            },
                            base + i,
                        ));
                    }
                }
                return Ok(i);
            }
            Esc::Backslash => {
                let c = match b {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => {
                        self.esc = Esc::Hex {
                            n: 0,
                            acc: 0,
                            high: 0,
                        };
                        return Ok(i + 1);
                    }
                    _ => {
                        return Err(JsonError::new(
                            JsonErrorKind::InvalidEscape {
                                found: char_at(frag, i),
                            },
                            at,
                        ));
                    }
                };
                self.esc = Esc::None;
                self.append_char(c);
            }
            Esc::Hex { n, acc, high } => {
                let Some(d) = char::from(b).to_digit(16) else {
                    return Err(JsonError::new(
                        JsonErrorKind::InvalidEscape {
                            found: char_at(frag, i),
                        },
                        at,
                    ));
                };
                let acc = (acc << 4) | d;
                if n < 3 {
                    self.esc = Esc::Hex {
                        n: n + 1,
                        acc,
                        high,
                    };
                    return Ok(i + 1);
                }
                let lone = JsonError::new(JsonErrorKind::LoneSurrogate, at);
                let code = if high != 0 {
                    if !(0xDC00..=0xDFFF).contains(&acc) {
                        return Err(lone);
                    }
                    0x1_0000 + ((high - 0xD800) << 10) + (acc - 0xDC00)
                } else if (0xD800..=0xDBFF).contains(&acc) {
                    self.esc = Esc::High(acc);
                    return Ok(i + 1);
                } else if (0xDC00..=0xDFFF).contains(&acc) {
                    return Err(lone);
                } else {
                    acc
                };
                let c = char::from_u32(code).ok_or(lone)?;
                self.esc = Esc::None;
                self.append_char(c);
            }
            Esc::High(high) => {
                if b != b'\\' {
                    return Err(JsonError::new(JsonErrorKind::LoneSurrogate, at));
                }
                self.esc = Esc::HighBackslash(high);
            }
            Esc::HighBackslash(high) => {
                if b != b'u' {
                    return Err(JsonError::new(JsonErrorKind::LoneSurrogate, at));
                }
                self.esc = Esc::Hex { n: 0, acc: 0, high };
            }
        }
        Ok(i + 1)
    }

    fn close_string(&mut self) {
        if self.str_key {
            self.str_key = false;
            self.state = State::Colon;
            return;
        }
        if let Some(d) = self.touch_delta() {
            d.closed = true;
        }
        self.cur_delta = None;
        self.close_container();
    }
}

/// The value at `path` under `root`.
fn lookup<'v>(root: &'v mut Value, path: &[Seg]) -> Option<&'v mut Value> {
    let mut node = root;
    for seg in path {
        node = match (seg, node) {
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k.as_str())?,
            _ => return None,
        };
    }
    Some(node)
}

/// The slot of `parent`'s current member or last element (its open child).
fn slot_of(parent: &mut Open) -> Option<&mut Value> {
    match &mut parent.value {
        Value::Array(a) => a.last_mut(),
        Value::Object(m) => m.get_mut(parent.key.as_str()),
        _ => None,
    }
}

/// Adds a complete value to `parent` as a new element or member (last wins).
fn insert_member(parent: &mut Open, value: Value) {
    match &mut parent.value {
        Value::Array(a) => a.push(value),
        Value::Object(m) => {
            m.insert(std::mem::take(&mut parent.key), value);
        }
        _ => {}
    }
}

/// The value of a complete, grammatical number token, exactly as `serde_json` reads it;
/// `None` if out of range.
fn parse_number(token: &str) -> Option<Value> {
    let bytes = token.as_bytes();
    // Fast paths for plain integers that certainly fit; serde_json gives the same
    // values for these (`-0` is a float in serde_json, so it takes the slow path).
    if bytes.len() <= 19 && bytes.iter().all(u8::is_ascii_digit) {
        return token.parse::<u64>().ok().map(Value::from);
    }
    if let [b'-', b'1'..=b'9', rest @ ..] = bytes {
        if rest.len() <= 17 && rest.iter().all(u8::is_ascii_digit) {
            return token.parse::<i64>().ok().map(Value::from);
        }
    }
    serde_json::from_str::<Value>(token).ok()
}
