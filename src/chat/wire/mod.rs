//! Wire chunks: one event's JSON data decoded into reused, owned buffers.
//!
//! Both protocols share one decoder: a chunk is a JSON object whose useful parts live
//! at `choices[]` (OpenAI-compatible, under `delta`) or `output.choices[]` (native, under
//! `message`), with `usage`, `request_id`, `id` and `model` beside them, and errors as
//! `{"error": {...}}` or a non-empty top-level `code`. Gateways answer either path with
//! either error shape, so both are accepted everywhere.
//!
//! Two decoders give the same chunk. [`scan`] reads the shapes chunks have in practice
//! in one pass over the bytes, validating as it goes; anything else (an error object, a
//! key with escapes, a duplicate key, a wrong type, malformed JSON) it hands back
//! undecided, and [`derived`], serde-derive structs over the same data, decides: that
//! is the reference the fast one is tested and fuzzed against. Either way no text is
//! copied while decoding: a chunk holds where each string's content is in the event
//! data ([`TextSpan`]), and the merger copies it from there, resolving escapes
//! ([`unescape`]) only where the scan saw one. Short strings with escapes (ids, names)
//! are unescaped at decode time, which checks them as serde_json would.

mod derived;
mod scan;
pub(crate) mod unescape;

use std::ops::Range;

use crate::chat::Usage;

/// Tool-call fragments accepted in one chunk. Real chunks carry one or two; the cap keeps
/// a hostile chunk from growing the fragment buffers without bound.
pub(crate) const MAX_TOOL_FRAGMENTS_PER_CHUNK: usize = 1024;

/// Decodes one event's data into `out` (cleared first).
///
/// # Errors
///
/// Not one JSON object (trailing data included: a second frame glued onto the first is
/// an error), or a known field of the wrong type (as the serde-derive structs say).
pub(crate) fn decode(data: &str, out: &mut WireChunk) -> Result<(), serde_json::Error> {
    out.clear();
    if !out.serde_only && scan::chunk(data, out).is_some() {
        return Ok(());
    }
    out.clear();
    derived::decode(data, out)
}

/// Where a text is in the event data: a JSON string's content (quotes excluded), or JSON
/// text kept verbatim (tool arguments some gateways send as an object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TextSpan {
    range: (usize, usize),
    /// Whether the text has escapes to resolve.
    escaped: bool,
}

impl TextSpan {
    fn new(range: Range<usize>, escaped: bool) -> Self {
        Self {
            range: (range.start, range.end),
            escaped,
        }
    }

    /// The text as it is in `data`, the event data the span was decoded from.
    fn raw(self, data: &str) -> &str {
        let text = data.get(self.range.0..self.range.1);
        debug_assert!(text.is_some(), "{self:?} is outside the chunk");
        text.unwrap_or_default()
    }

    /// Appends the text to `out`, escapes resolved.
    ///
    /// # Errors
    ///
    /// A malformed escape or an unpaired surrogate ([`unescape::unescape`]).
    pub(crate) fn append_to(self, data: &str, out: &mut String) -> Result<(), &'static str> {
        if self.escaped {
            unescape::unescape(self.raw(data), out)
        } else {
            out.push_str(self.raw(data));
            Ok(())
        }
    }
}

/// A short string field (ids, the model, a name, the finish reason): where it is in the
/// data when it has no escape (no copy), else its text unescaped at decode time (which
/// checks the escapes, as serde_json would).
#[derive(Debug, Default)]
pub(crate) struct ShortText {
    /// The string, when one was sent (not `null`).
    span: Option<TextSpan>,
    unescaped: String,
}

impl ShortText {
    fn clear(&mut self) {
        self.span = None;
    }

    fn set(&mut self, span: TextSpan, data: &str) -> Result<(), &'static str> {
        self.span = Some(span);
        if span.escaped {
            self.unescaped.clear();
            unescape::unescape(span.raw(data), &mut self.unescaped)?;
        }
        Ok(())
    }

    /// Whether a string was sent.
    fn is_present(&self) -> bool {
        self.span.is_some()
    }

    /// The text, read from `data`, the event data the chunk was decoded from (empty:
    /// absent).
    pub(crate) fn get<'a>(&'a self, data: &'a str) -> &'a str {
        match self.span {
            Some(span) if !span.escaped => span.raw(data),
            Some(_) => &self.unescaped,
            None => "",
        }
    }
}

/// One `choices[]` entry (OpenAI `delta` or native `message`), decoded.
#[derive(Debug, Default)]
pub(crate) struct WireChoice {
    /// The choice's `index`, when sent.
    pub(crate) index: Option<u64>,
    /// `reasoning_content` (present and not null).
    reasoning: Option<TextSpan>,
    /// `reasoning`: vLLM's name for it since 0.11 (SGLang and older vLLM send
    /// `reasoning_content`).
    reasoning_alt: Option<TextSpan>,
    /// `content` as a string (present and not null).
    content: Option<TextSpan>,
    /// `content` was an array of parts (the multimodal shape): its text parts are
    /// `content_parts`, the others counted in `ignored_parts`.
    has_parts: bool,
    content_parts: Vec<TextSpan>,
    pub(crate) ignored_parts: u32,
    /// `finish_reason` as sent.
    pub(crate) finish: ShortText,
    /// This chunk's tool-call fragments, and cleared ones kept for reuse.
    tools: Vec<WireTool>,
    spare_tools: Vec<WireTool>,
}

impl WireChoice {
    fn clear(&mut self) {
        self.index = None;
        self.reasoning = None;
        self.reasoning_alt = None;
        self.content = None;
        self.has_parts = false;
        self.content_parts.clear();
        self.ignored_parts = 0;
        self.finish.clear();
        if !self.tools.is_empty() {
            self.spare_tools.append(&mut self.tools);
        }
    }

    /// A cleared tool-call fragment appended to the chunk's, `None` past the cap.
    fn push_tool(&mut self) -> Option<&mut WireTool> {
        if self.tools.len() >= MAX_TOOL_FRAGMENTS_PER_CHUNK {
            return None;
        }
        // An empty pool: a new fragment.
        let mut tool = self.spare_tools.pop().unwrap_or_default();
        tool.clear();
        self.tools.push(tool);
        self.tools.last_mut()
    }

    /// The reasoning delta: `reasoning_content` when present, else `reasoning`.
    pub(crate) fn reasoning(&self) -> Option<TextSpan> {
        self.reasoning.or(self.reasoning_alt)
    }

    /// The content delta: one string, or the text parts of a multimodal array in order
    /// (possibly none); `None` when the chunk had no content.
    pub(crate) fn content(&self) -> Option<&[TextSpan]> {
        match &self.content {
            Some(span) => Some(std::slice::from_ref(span)),
            None => self.has_parts.then_some(self.content_parts.as_slice()),
        }
    }

    pub(crate) fn tools(&self) -> &[WireTool] {
        &self.tools
    }
}

/// One `tool_calls[]` fragment. Empty strings stand for absent, `null` and `""` alike.
#[derive(Debug, Default)]
pub(crate) struct WireTool {
    pub(crate) index: Option<u64>,
    pub(crate) id: ShortText,
    pub(crate) name: ShortText,
    pub(crate) arguments: Option<TextSpan>,
}

impl WireTool {
    fn clear(&mut self) {
        self.index = None;
        self.id.clear();
        self.name.clear();
        self.arguments = None;
    }
}

/// One decoded chunk. Reused across chunks: [`decode`] clears it first.
#[derive(Debug, Default)]
pub(crate) struct WireChunk {
    /// The choice this crate follows (index 0, or the first one without an index).
    pub(crate) choice: WireChoice,
    pub(crate) has_choice: bool,
    /// Scratch for decoding further choices.
    spare: WireChoice,
    /// Choices with another index (n > 1), counted, not merged.
    pub(crate) ignored_choices: u32,
    /// Usage, when the chunk had a non-empty one.
    pub(crate) usage: Option<Usage>,
    /// Top-level `id` and `model` (empty: absent).
    pub(crate) id: ShortText,
    pub(crate) model: ShortText,
    /// Top-level `request_id` (empty: absent).
    pub(crate) request_id: String,
    /// Top-level `created` (OpenAI-compatible), when it is a non-negative integer (a
    /// Unix timestamp; a float or a string is ignored).
    pub(crate) created: Option<u64>,
    /// An error object or a non-empty top-level `code`.
    pub(crate) has_error: bool,
    pub(crate) error_code: String,
    pub(crate) error_message: String,
    /// Decode with the serde-derive structs only: the reference, for tests and fuzzing.
    pub(crate) serde_only: bool,
}

impl WireChunk {
    fn clear(&mut self) {
        self.choice.clear();
        self.has_choice = false;
        self.ignored_choices = 0;
        self.usage = None;
        self.id.clear();
        self.model.clear();
        self.request_id.clear();
        self.created = None;
        self.has_error = false;
        self.error_code.clear();
        self.error_message.clear();
    }

    /// The choice the next `choices[]` entry is decoded into: the followed one until it
    /// is found, scratch after.
    fn next_choice(&mut self) -> &mut WireChoice {
        let target = if self.has_choice {
            &mut self.spare
        } else {
            &mut self.choice
        };
        target.clear();
        target
    }

    /// After `choices[]`: without a followed choice, `choice` holds the last entry
    /// decoded, which must not show through (native `output.finish_reason` may still
    /// fill it).
    fn end_choices(&mut self) {
        if !self.has_choice {
            self.choice.clear();
        }
    }

    /// Counts the entry just decoded (at `position` in `choices[]`): it is the followed
    /// choice if it has index 0 (or none, in first position) and none was found before.
    fn end_choice(&mut self, position: u64) {
        if !self.has_choice && self.choice.index.unwrap_or(position) == 0 {
            self.has_choice = true;
        } else {
            self.ignored_choices = self.ignored_choices.saturating_add(1);
        }
    }
}

/// `usage` in either protocol's names. Every field is optional; `{}` is "unknown".
#[derive(serde::Deserialize, Default)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    total_tokens: Option<u64>,
    output_tokens_details: Option<Details>,
    completion_tokens_details: Option<Details>,
    prompt_tokens_details: Option<Details>,
    input_tokens_details: Option<Details>,
}

/// A `*_tokens_details` object (the reasoning count under output or completion, the
/// cached one under input or prompt).
#[derive(serde::Deserialize, Default, Clone, Copy)]
struct Details {
    reasoning_tokens: Option<u64>,
    cached_tokens: Option<u64>,
}

impl WireUsage {
    /// `None` when no count at all was sent (`{}`), so that it never erases a real one.
    fn into_usage(self) -> Option<Usage> {
        let input = self.input_tokens.or(self.prompt_tokens);
        let output = self.output_tokens.or(self.completion_tokens);
        if input.is_none() && output.is_none() && self.total_tokens.is_none() {
            return None;
        }
        let (input, output) = (input.unwrap_or(0), output.unwrap_or(0));
        Some(Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: self.total_tokens.unwrap_or(input.saturating_add(output)),
            reasoning_tokens: self
                .output_tokens_details
                .or(self.completion_tokens_details)
                .and_then(|d| d.reasoning_tokens),
            cached_tokens: self
                .prompt_tokens_details
                .or(self.input_tokens_details)
                .and_then(|d| d.cached_tokens),
        })
    }
}
