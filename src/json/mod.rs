//! Incremental, read-once, monotone partial JSON for streamed tool-call arguments.
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
//!
//! The module's files: `limits.rs` ([`PartialJsonLimits`]), `error.rs` ([`JsonError`] and what it
//! names), `delta.rs` ([`StringDelta`] and [`PathSegment`], what a push appended), and
//! `machine.rs` (the byte state machine behind [`PartialJson::push`]).

mod delta;
mod error;
mod limits;
mod machine;

pub use delta::{PathSegment, StringDelta};
pub use error::{Expected, JsonError, JsonErrorKind};
pub use limits::PartialJsonLimits;

use serde_json::Value;

use delta::{DeltaRecord, PathStep};
use machine::{Esc, Frame, Overrides, State, parse_number};

/// An incremental, strict JSON parser whose partial result can be read after every
/// fragment.
///
/// **Protocol.** Create with [`new`](Self::new) or [`with_limits`](Self::with_limits);
/// call [`push`](Self::push) for each fragment, reading [`value`](Self::value) and
/// [`string_deltas`](Self::string_deltas) after it as you like; end with
/// [`finish`](Self::finish), which gives the strict verdict. [`is_complete`](Self::is_complete)
/// tells whether `finish` would succeed now.
///
/// **Cost.** Each byte is read once, when it is pushed, and what the parser keeps is
/// linear in the text (a key is kept once, however many duplicate keys or strings lie
/// under it). A push costs O(fragment length + depth + length of the enclosing keys),
/// where the depth and keys part is finding the open value in the tree: one map look-up
/// per enclosing object member, at the push's start and again if a shown container
/// closes and its parent is edited. After that, the rest of the push takes the open
/// containers out of the tree and puts them back at its end, so that closing one never
/// walks the tree again. `serde_json`'s map finds a member only by comparing its whole
/// key, so tiny pushes under a very long key pay for that key on each push (about 2.5 µs
/// per push under a 128 KiB key, in release); a push that closes strings also copies
/// each enclosing key once, for the deltas' paths. Reading `value()` costs nothing: the
/// push edits the tree in place. Reading [`string_deltas`](Self::string_deltas) costs a
/// walk along the path of each delta whose text is read; a push that nobody reads
/// deltas of pays only for noting which strings it grew. A string that stays open
/// across pushes grows in place with amortized capacity (128 bytes at first, then at
/// least doubling), so most streamed strings are allocated once, like `serde_json`
/// allocates each string once.
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
/// documented limits of this parser's own: [`PartialJsonLimits::max_bytes`] (default 16 MiB;
/// `serde_json` has no size cap) and [`PartialJsonLimits::max_depth`] (the default equals
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
/// use dashscope_glm::json::PartialJson;
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
/// # Ok::<(), dashscope_glm::json::JsonError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PartialJson {
    limits: PartialJsonLimits,
    /// The snapshot, with every shown open value in place (taken out only for the
    /// duration of a push, which edits it in place).
    root: Option<Value>,
    /// The open arrays and objects, outermost first; the shown ones (a prefix) have their
    /// containers in the snapshot, the hidden ones (inside a duplicate-key member) own
    /// theirs.
    chain: Vec<Frame>,
    state: State,
    esc: Esc,
    /// Key buffers of closed object frames, reused by the next ones.
    spare_keys: Vec<String>,
    /// A string that is a later duplicate-key member of a shown object, while it is read.
    duplicate: String,
    /// The number token being read (`num_start` is its offset).
    num: String,
    num_start: usize,
    /// Bytes accepted so far: the offset of the next pushed byte.
    consumed: usize,
    error: Option<JsonError>,
    /// Duplicate-key members of shown objects, applied by `finish` (set when the root
    /// container closes; until then each open frame holds its own).
    overrides: Overrides,
    /// What the last push did to shown strings, in text order.
    deltas: Vec<DeltaRecord>,
    /// The path steps of the deltas of strings that closed; each names its range here.
    delta_path: Vec<PathStep>,
    delta_keys: String,
}

impl Default for PartialJson {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialJson {
    /// A parser with the default [`PartialJsonLimits`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_limits(PartialJsonLimits::new())
    }

    /// A parser with the given limits.
    ///
    /// # Example
    ///
    /// This example shows a depth-limited parser rejecting deep nesting.
    ///
    /// ```
    /// use dashscope_glm::json::{JsonErrorKind, PartialJsonLimits, PartialJson};
    ///
    /// let mut parser = PartialJson::with_limits(PartialJsonLimits::new().max_depth(2));
    /// let err = parser.push(r#"{"a":{"#).unwrap_err();
    /// assert_eq!(err.kind(), JsonErrorKind::DepthLimit { limit: 2 });
    /// assert_eq!(err.offset(), 5);
    /// ```
    #[must_use]
    pub fn with_limits(limits: PartialJsonLimits) -> Self {
        Self {
            limits,
            root: None,
            chain: Vec::new(),
            state: State::Value,
            esc: Esc::None,
            spare_keys: Vec::new(),
            duplicate: String::new(),
            num: String::new(),
            num_start: 0,
            consumed: 0,
            error: None,
            overrides: Overrides::default(),
            deltas: Vec::new(),
            delta_path: Vec::new(),
            delta_keys: String::new(),
        }
    }

    /// The limits this parser enforces.
    #[must_use]
    pub const fn limits(&self) -> PartialJsonLimits {
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
    /// use dashscope_glm::json::PartialJson;
    /// use serde_json::json;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"{"a":[1,2"#)?;
    /// assert_eq!(parser.value(), Some(&json!({"a": [1]})));
    /// parser.push(r#"],"b":"x\u00"#)?;
    /// assert_eq!(parser.value(), Some(&json!({"a": [1, 2], "b": "x"})));
    /// # Ok::<(), dashscope_glm::json::JsonError>(())
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
    /// use dashscope_glm::json::PartialJson;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push("12")?;
    /// assert!(parser.is_complete());
    /// assert_eq!(parser.value(), None);
    /// assert_eq!(parser.finish()?, 12);
    /// # Ok::<(), dashscope_glm::json::JsonError>(())
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
    /// number or a literal). Costs O(fragment length + depth + length of the enclosing
    /// keys), as the type documentation details; earlier bytes are never read again.
    ///
    /// # Errors
    ///
    /// A [`JsonError`] as soon as the text can no longer become valid JSON (at the
    /// offending byte), or when it exceeds a [`PartialJsonLimits`] bound. Errors are fused:
    /// after one, every later call returns the same error and reads nothing.
    ///
    /// # Example
    ///
    /// This example shows a fragment split inside a surrogate-pair escape.
    ///
    /// ```
    /// use dashscope_glm::json::PartialJson;
    /// use serde_json::json;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"["x\ud83d"#)?;
    /// assert_eq!(parser.value(), Some(&json!(["x"])));
    /// parser.push(r#"\ude00"]"#)?;
    /// assert_eq!(parser.value(), Some(&json!(["x😀"])));
    /// # Ok::<(), dashscope_glm::json::JsonError>(())
    /// ```
    pub fn push(&mut self, fragment: &str) -> Result<(), JsonError> {
        if let Some(err) = self.error {
            return Err(err);
        }
        self.deltas.clear();
        self.delta_path.clear();
        self.delta_keys.clear();
        for frame in &mut self.chain {
            frame.delta_key = None;
        }
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
        // The push edits the snapshot in place; `run` gets it apart from `self` so that it
        // can hold a reference into it while the machine's state changes.
        let mut root = self.root.take();
        let result = self.run(fragment, &mut root);
        self.root = root;
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
    /// use dashscope_glm::json::PartialJson;
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
    /// # Ok::<(), dashscope_glm::json::JsonError>(())
    /// ```
    #[must_use]
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
    /// use dashscope_glm::json::PartialJson;
    /// use serde_json::json;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"{"a":"first","a":"second"}"#)?;
    /// assert_eq!(parser.value(), Some(&json!({"a": "first"})));
    /// assert_eq!(parser.finish()?, json!({"a": "second"}));
    /// # Ok::<(), dashscope_glm::json::JsonError>(())
    /// ```
    pub fn finish(mut self) -> Result<Value, JsonError> {
        if let Some(err) = self.error {
            return Err(err);
        }
        let incomplete = JsonError::new(JsonErrorKind::Incomplete, self.consumed);
        match self.state {
            State::Done => {}
            State::Num(n) if n.can_end() && self.chain.is_empty() => {
                let value = parse_number(&self.num).ok_or(JsonError::new(
                    JsonErrorKind::NumberOutOfRange,
                    self.num_start,
                ))?;
                self.root = Some(value);
            }
            _ => return Err(incomplete),
        }
        let mut root = self.root.ok_or(incomplete)?;
        self.overrides.apply(&mut root);
        Ok(root)
    }
}
