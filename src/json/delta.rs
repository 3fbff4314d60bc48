//! What one push appended to the snapshot's strings: [`StringDelta`] and its path.

use std::ops::Range;

use serde_json::Value;

use super::PartialJson;
use super::machine::Frame;

// A JSON path step is a key or an index; JSON has no third kind of container.
/// One step of a path from the document root: an object key or an array index.
///
/// # Example
///
/// This example shows the path of a string inside an array inside an object.
///
/// ```
/// use dashscope_glm::json::{PartialJson, PathSegment};
///
/// let mut parser = PartialJson::new();
/// parser.push(r#"{"tags":["a","b"#)?;
/// let delta = parser.string_deltas().last().unwrap();
/// let path: Vec<PathSegment<'_>> = delta.path().collect();
/// assert_eq!(path, [PathSegment::Key("tags"), PathSegment::Index(1)]);
/// # Ok::<(), dashscope_glm::json::JsonError>(())
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
/// use dashscope_glm::json::PartialJson;
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
/// # Ok::<(), dashscope_glm::json::JsonError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StringDelta<'a> {
    pub(super) parser: &'a PartialJson,
    pub(super) rec: &'a DeltaRecord,
}

impl<'a> StringDelta<'a> {
    /// The string's path from the document root (empty for a root string).
    ///
    /// # Example
    ///
    /// This example shows the path of a nested string.
    ///
    /// ```
    /// use dashscope_glm::json::{PartialJson, PathSegment};
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"{"a":{"b":"x"#)?;
    /// let delta = parser.string_deltas().next().unwrap();
    /// assert!(delta.path().eq([PathSegment::Key("a"), PathSegment::Key("b")]));
    /// # Ok::<(), dashscope_glm::json::JsonError>(())
    /// ```
    #[must_use]
    pub fn path(&self) -> impl ExactSizeIterator<Item = PathSegment<'a>> + use<'a> {
        let parser = self.parser;
        match &self.rec.path {
            // Still open after the push: its path is the chain's.
            None => Steps::Open(parser.chain.iter()),
            Some(range) => {
                let steps = parser.delta_path.get(range.clone());
                debug_assert!(steps.is_some(), "a closed string's path was recorded");
                Steps::Closed(steps.unwrap_or_default().iter(), &parser.delta_keys)
            }
        }
    }

    /// The path as an RFC 6901 JSON Pointer (`""` for the root, `/a/0/b` otherwise,
    /// with `~` written `~0` and `/` written `~1`).
    ///
    /// # Example
    ///
    /// This example shows a key with a slash in it.
    ///
    /// ```
    /// use dashscope_glm::json::PartialJson;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"{"a/b":["x"#)?;
    /// assert_eq!(parser.string_deltas().next().unwrap().pointer(), "/a~1b/0");
    /// # Ok::<(), dashscope_glm::json::JsonError>(())
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
    /// only opened or only closed it). Found in the snapshot by the path: a few map
    /// look-ups, which a push does not spend on deltas nobody reads.
    ///
    /// # Example
    ///
    /// This example shows that an escape split across pushes is appended once, whole.
    ///
    /// ```
    /// use dashscope_glm::json::PartialJson;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"["a\"#)?;
    /// assert_eq!(parser.string_deltas().next().unwrap().text(), "a");
    /// parser.push(r#"nb"#)?;
    /// assert_eq!(parser.string_deltas().next().unwrap().text(), "\nb");
    /// # Ok::<(), dashscope_glm::json::JsonError>(())
    /// ```
    #[must_use]
    pub fn text(&self) -> &'a str {
        let mut node = self.parser.root.as_ref();
        for seg in self.path() {
            node = node.and_then(|v| match seg {
                PathSegment::Key(k) => v.get(k),
                PathSegment::Index(i) => v.get(i),
            });
        }
        let text = node
            .and_then(Value::as_str)
            .and_then(|s| s.get(self.rec.from..));
        debug_assert!(
            text.is_some(),
            "a delta names a shown string that grew from `from`"
        );
        text.unwrap_or_default()
    }

    /// Whether this push opened the string (it first appeared in the snapshot, as `""`
    /// plus [`text`](Self::text)).
    ///
    /// # Example
    ///
    /// This example shows a string opened by one push and continued by the next.
    ///
    /// ```
    /// use dashscope_glm::json::PartialJson;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"{"a":""#)?;
    /// assert!(parser.string_deltas().next().unwrap().is_new());
    /// parser.push("x")?;
    /// assert!(!parser.string_deltas().next().unwrap().is_new());
    /// # Ok::<(), dashscope_glm::json::JsonError>(())
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
    /// use dashscope_glm::json::PartialJson;
    ///
    /// let mut parser = PartialJson::new();
    /// parser.push(r#"{"a":"xy"#)?;
    /// parser.push(r#"","#)?;
    /// let delta = parser.string_deltas().next().unwrap();
    /// assert!(delta.is_closed() && delta.text().is_empty());
    /// # Ok::<(), dashscope_glm::json::JsonError>(())
    /// ```
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.rec.path.is_some()
    }
}

/// One step of the path of a string that closed during a push, as offsets into the
/// parser's scratch buffers (so that recording a push's deltas allocates nothing once
/// the buffers have grown).
#[derive(Debug, Clone)]
pub(super) enum PathStep {
    /// An array element, by index.
    Index(usize),
    /// An object member: its key's range in the parser's `delta_keys`.
    Key(Range<usize>),
}

/// What one push did to one shown string.
#[derive(Debug, Clone)]
pub(super) struct DeltaRecord {
    /// `None` while the string is open (its path is then the chain's); once it closed, a
    /// range of the parser's `delta_path`.
    pub(super) path: Option<Range<usize>>,
    /// The string's length before this push appended to it.
    pub(super) from: usize,
    /// The string was opened by this push.
    pub(super) new: bool,
}

/// A delta's path: the open frames', or the steps recorded when the string closed.
enum Steps<'a> {
    Open(std::slice::Iter<'a, Frame>),
    Closed(std::slice::Iter<'a, PathStep>, &'a str),
}

impl<'a> Iterator for Steps<'a> {
    type Item = PathSegment<'a>;

    fn next(&mut self) -> Option<PathSegment<'a>> {
        match self {
            Self::Open(frames) => frames.next().map(Frame::segment),
            Self::Closed(steps, keys) => steps.next().map(|step| match step {
                PathStep::Index(i) => PathSegment::Index(*i),
                PathStep::Key(range) => {
                    let key = keys.get(range.clone());
                    debug_assert!(key.is_some(), "a recorded key range is in `delta_keys`");
                    PathSegment::Key(key.unwrap_or_default())
                }
            }),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Self::Open(frames) => frames.size_hint(),
            Self::Closed(steps, _) => steps.size_hint(),
        }
    }
}

impl ExactSizeIterator for Steps<'_> {}
