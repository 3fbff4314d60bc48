//! Wire chunks: one event's JSON data decoded into reused, owned buffers.
//!
//! Both protocols share one decoder: a chunk is a JSON object whose useful parts live
//! at `choices[]` (OpenAI-compatible, under `delta`) or `output.choices[]` (native, under
//! `message`), with `usage`, `request_id`, `id` and `model` beside them, and errors as
//! `{"error": {...}}` or a non-empty top-level `code`. Gateways answer either path with
//! either error shape, so both are accepted everywhere.
//!
//! Decoding is one pass of serde_json over the event data with hand-written visitors
//! ([`chunk`]); no `serde_json::Value` is built. The texts that grow the message
//! (reasoning, content, tool arguments) are not copied at all while decoding: the chunk
//! records where their JSON string literal starts in the event data ([`TextSpan`]), and
//! the merger appends them straight from there to the merged strings, resolving escapes
//! on the way (that is the only time their bytes are read after serde_json's check). The
//! top-level `id` and `model`, which the merger keeps once, are spans too
//! ([`ShortText`]); other small fields (tool-call ids and names, the finish reason, error
//! fields) are unescaped into the chunk's reused `String`s. Either way a chunk costs no
//! allocation once the buffers have grown.

mod chunk;

use std::ops::Range;

pub(crate) use chunk::decode;

use crate::chat::Usage;

/// Where a text value is in the event data: a JSON string literal (escapes unresolved),
/// or JSON text kept verbatim (tool arguments some gateways send as an object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextSpan {
    /// A JSON string literal whose opening quote is `data[start]`. serde_json validated
    /// it while decoding; its end is found when it is read (the first quote not escaped),
    /// so decoding never scans it a second time.
    Literal { start: usize },
    /// JSON text at `data[start..end]`, kept verbatim.
    Raw { start: usize, end: usize },
}

impl TextSpan {
    /// Appends the value to `out`: copied straight from `data` up to each escape, escapes
    /// resolved.
    ///
    /// # Errors
    ///
    /// A malformed escape or an unpaired surrogate (see [`unescape_into`]).
    pub(crate) fn append_to(self, data: &str, out: &mut String) -> Result<(), &'static str> {
        match self {
            Self::Literal { start } => {
                let literal = data.get(start..).ok_or("text outside the chunk")?;
                unescape_prefix(literal, out).map(drop)
            }
            Self::Raw { start, end } => {
                out.push_str(data.get(start..end).ok_or("text outside the chunk")?);
                Ok(())
            }
        }
    }
}

/// The event data being decoded, for turning borrowed keys and values into offsets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Src<'a> {
    data: &'a str,
}

impl<'a> Src<'a> {
    fn of(data: &'a str) -> Self {
        Self { data }
    }

    /// Where `raw`, a slice of the data, is in it.
    fn range_of(self, raw: &str) -> Option<Range<usize>> {
        let start = (raw.as_ptr() as usize).checked_sub(self.data.as_ptr() as usize)?;
        let end = start
            .checked_add(raw.len())
            .filter(|&end| end <= self.data.len())?;
        Some(start..end)
    }

    /// Where the value of a key starts, given where the key's text ends (`after_key`, its
    /// closing quote): past JSON whitespace, the colon, whitespace again. serde_json reads
    /// the same bytes right after (and rejects anything else); `None` if they are not
    /// that shape.
    fn value_after_key(self, after_key: usize) -> Option<usize> {
        let bytes = self.data.as_bytes();
        // `after_key` is the closing quote: the colon comes after it. Compact JSON (every
        // chunk seen in practice) has the value right after the colon.
        // Every index below is read with `get`: the value start returned satisfies
        // `at < data.len()` (a byte was found there), or the answer is `None`.
        let from = after_key.checked_add(1)?;
        if bytes.get(from) == Some(&b':') {
            // `from < bytes.len()`, so `from + 1 <= bytes.len()` does not overflow.
            let at = from + 1;
            if let Some(b) = bytes.get(at) {
                if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                    return Some(at);
                }
            }
        }
        let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        let colon = from + bytes.get(from..)?.iter().position(|b| !is_space(b))?;
        if bytes.get(colon) != Some(&b':') {
            return None;
        }
        let after = colon + 1;
        Some(after + bytes.get(after..)?.iter().position(|b| !is_space(b))?)
    }

    /// The byte at `at`.
    fn byte(self, at: usize) -> Option<u8> {
        self.data.as_bytes().get(at).copied()
    }
}

/// One `choices[]` entry (OpenAI `delta` or native `message`), decoded.
#[derive(Debug, Default)]
pub(crate) struct WireChoice {
    /// The choice's `index`, when sent.
    pub(crate) index: Option<u64>,
    /// `reasoning_content` (present and not null).
    pub(crate) reasoning: Option<TextSpan>,
    /// `reasoning` (another gateway's name for the same thing).
    pub(crate) reasoning_alt: Option<TextSpan>,
    /// `content` as a string (present and not null).
    pub(crate) content: Option<TextSpan>,
    /// `content` was an array of parts (the multimodal shape): its text parts are
    /// `content_parts`, the others counted in `ignored_parts`.
    pub(crate) has_parts: bool,
    pub(crate) content_parts: Vec<TextSpan>,
    pub(crate) ignored_parts: u32,
    /// `finish_reason` as sent (string, present and not null).
    pub(crate) has_finish: bool,
    pub(crate) finish_text: String,
    /// Tool-call fragments; only the first `tools_len` are this chunk's.
    pub(crate) tools: Vec<WireTool>,
    pub(crate) tools_len: usize,
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
        self.has_finish = false;
        self.tools_len = 0;
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

    pub(crate) fn finish(&self) -> Option<&str> {
        self.has_finish.then_some(self.finish_text.as_str())
    }

    pub(crate) fn tools(&self) -> &[WireTool] {
        self.tools.get(..self.tools_len).unwrap_or(&[])
    }
}

/// One `tool_calls[]` fragment. Empty strings stand for absent, `null` and `""` alike.
#[derive(Debug, Default)]
pub(crate) struct WireTool {
    pub(crate) index: Option<u64>,
    pub(crate) id: String,
    pub(crate) name: String,
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
    /// Scratch for decoding further choices; swapped with `choice` when it is the one.
    spare: WireChoice,
    /// Choices with another index (n > 1), counted, not merged.
    pub(crate) ignored_choices: u32,
    /// Usage, when the chunk had a non-empty one.
    pub(crate) usage: Option<Usage>,
    /// Top-level `id` and `model` (empty: absent). The merger keeps only the first of
    /// each, so they are not copied here: see [`ShortText`].
    pub(crate) id: ShortText,
    pub(crate) model: ShortText,
    /// Top-level `request_id` (empty: absent).
    pub(crate) request_id: String,
    /// Top-level `created` (OpenAI-compatible), when it is a number: where its JSON text
    /// starts in the data, parsed by [`WireChunk::created`] only when the merger still
    /// needs it.
    created: Option<usize>,
    /// An error object or a non-empty top-level `code`.
    pub(crate) has_error: bool,
    pub(crate) error_code: String,
    pub(crate) error_message: String,
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
}

impl WireChunk {
    /// Top-level `created` of the chunk decoded from `data`, when it is a non-negative
    /// integer (a Unix timestamp; a float or a string is ignored).
    pub(crate) fn created(&self, data: &str) -> Option<u64> {
        let number = data.get(self.created?..)?;
        // A JSON number (serde_json checked it): its integer digits, then `.`, `e` or
        // `E` for a float, or the end of the token.
        let digits = number
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(number.len());
        let (digits, rest) = number.split_at_checked(digits)?;
        if rest.starts_with(['.', 'e', 'E']) {
            return None;
        }
        digits.parse().ok()
    }
}

/// A short string field the merger reads at most once per stream (ids, the model): where
/// its text is in the event data when the literal has no escape (no copy), or else the
/// text unescaped at decode time (which checks the escapes, as serde_json would).
#[derive(Debug, Default)]
pub(crate) struct ShortText {
    /// `data[start..end]` is the text (quotes excluded), when it has no escape.
    span: Option<(usize, usize)>,
    /// The unescaped text, when the literal had escapes.
    unescaped: String,
    /// The last literal without escapes seen for this field (quotes included; empty:
    /// none), kept across chunks: the same bytes again need no scan.
    last_plain: String,
}

impl ShortText {
    fn clear(&mut self) {
        self.span = None;
        self.unescaped.clear();
    }

    /// The text, read from `data`, the event data the chunk was decoded from (empty:
    /// absent).
    pub(crate) fn get<'a>(&'a self, data: &'a str) -> &'a str {
        match self.span {
            Some((start, end)) => data.get(start..end).unwrap_or_default(),
            None => &self.unescaped,
        }
    }
}

/// Appends the text of a JSON string literal (quotes included, as serde_json validated
/// it) to `out`, resolving escapes.
///
/// # Errors
///
/// A malformed escape or an unpaired UTF-16 surrogate, which serde_json's own string
/// parser rejects too (its validating skip, used for raw values, does not check pairs);
/// anything after the closing quote.
pub(crate) fn unescape_into(literal: &str, out: &mut String) -> Result<(), &'static str> {
    let start = out.len();
    match unescape_prefix(literal, out) {
        Ok(len) if len == literal.len() => Ok(()),
        Ok(_) => {
            out.truncate(start);
            Err("expected a string")
        }
        Err(e) => Err(e),
    }
}

/// Appends the text of the JSON string literal `text` starts with (opening quote first)
/// to `out`, resolving escapes, and returns the literal's length (quotes included). The
/// runs between escapes are found a word at a time and copied whole.
///
/// # Errors
///
/// As [`unescape_into`]; also no opening quote, or no closing one.
pub(crate) fn unescape_prefix(text: &str, out: &mut String) -> Result<usize, &'static str> {
    let mut rest = text.strip_prefix('"').ok_or("expected a string")?;
    loop {
        // A quote or a backslash is ASCII, so `at` is a character boundary.
        let at = find_quote_or_backslash(rest.as_bytes()).ok_or("unterminated string")?;
        let (run, tail) = rest.split_at_checked(at).ok_or("unterminated string")?;
        out.push_str(run);
        let mut chars = tail.chars();
        if chars.next() == Some('"') {
            // `tail` is a suffix of `text` that starts with the closing quote and
            // `text` starts with the opening one: `1 <= tail.len() < text.len()`, so the
            // literal's length `text.len() - tail.len() + 1 <= text.len()`.
            return Ok(text.len() - tail.len() + 1);
        }
        let unescaped = match chars.next() {
            Some('"') => '"',
            Some('\\') => '\\',
            Some('/') => '/',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => {
                let hex = chars.as_str();
                let (c, used) = decode_u_escape(hex)?;
                rest = hex.get(used..).ok_or("invalid \\u escape")?;
                out.push(c);
                continue;
            }
            _ => return Err("invalid escape"),
        };
        out.push(unescaped);
        rest = chars.as_str();
    }
}

/// The index of the first `"` or `\\` in `bytes`, eight bytes at a time (the bit trick
/// serde_json's own string scan uses: a byte equal to the pattern becomes zero, and a
/// zero byte sets its high bit in `(x - 0x01..) & !x`; borrows only ever flag bytes
/// above the first match, so the lowest flag is exact).
///
/// The index returned is `< bytes.len()`: `offset + k` with `k < 8` inside a full word at
/// `offset`, or a position in the remainder.
fn find_quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::MAX / 255;
    const HIGHS: u64 = ONES << 7;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut words = bytes.chunks_exact(8);
    let mut offset = 0;
    for word in &mut words {
        // `chunks_exact(8)` lends 8-byte slices: the conversion cannot fail.
        let x = u64::from_le_bytes(<[u8; 8]>::try_from(word).unwrap_or([0; 8]));
        let found =
            has_zero(x ^ (ONES * u64::from(b'"'))) | has_zero(x ^ (ONES * u64::from(b'\\')));
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|i| offset + i)
}

/// Decodes the `XXXX` after `\u` (and the low half of a surrogate pair, `\uYYYY`, when
/// the first is a high surrogate); returns the character and the bytes used.
fn decode_u_escape(s: &str) -> Result<(char, usize), &'static str> {
    let hi = hex4(s).ok_or("invalid \\u escape")?;
    match hi {
        0xD800..=0xDBFF => {
            let lo = s
                .get(4..6)
                .filter(|p| *p == "\\u")
                .and_then(|_| hex4(s.get(6..)?))
                .filter(|lo| (0xDC00..=0xDFFF).contains(lo))
                .ok_or("lone leading surrogate in \\u escape")?;
            let c = 0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(lo) - 0xDC00);
            char::from_u32(c)
                .map(|c| (c, 10))
                .ok_or("invalid \\u escape")
        }
        0xDC00..=0xDFFF => Err("lone trailing surrogate in \\u escape"),
        _ => char::from_u32(u32::from(hi))
            .map(|c| (c, 4))
            .ok_or("invalid \\u escape"),
    }
}

fn hex4(s: &str) -> Option<u16> {
    let digits = s.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unescape(literal: &str) -> Result<String, &'static str> {
        let mut out = String::new();
        unescape_into(literal, &mut out).map(|()| out)
    }

    #[test]
    fn unescape_agrees_with_serde_json() {
        for literal in [
            r#""""#,
            r#""plain""#,
            r#""a\nb\t\"q\"\\ \/ \b\f\r""#,
            r#""\u00e9t\u00e9 \u676d\u5dde""#,
            r#""\ud83d\ude00!""#,
            r#""杭州 ✓ \u2713""#,
            r#""{\"path\": \"no""#,
        ] {
            let expected: String = serde_json::from_str(literal).unwrap();
            assert_eq!(unescape(literal).unwrap(), expected, "{literal}");
        }
    }

    #[test]
    fn the_word_scan_finds_the_first_quote_or_backslash() {
        // Every length up to three words, every position of the first hit, fillers that
        // include bytes one away from the patterns and non-ASCII bytes (borrows between
        // bytes are where such a scan goes wrong).
        for filler in [
            b'a', b'!', b'#', b'[', b']', 0x21, 0x23, 0x5b, 0x5d, 0x80, 0xa2, 0xdc, 0xff, 0x00,
            0x01,
        ] {
            for len in 0..24 {
                let mut bytes = vec![filler; len];
                assert_eq!(find_quote_or_backslash(&bytes), None, "{filler} {len}");
                for first in 0..len {
                    for hit in [b'"', b'\\'] {
                        bytes.fill(filler);
                        bytes[first] = hit;
                        // A later hit of the other kind does not matter.
                        if let Some(later) = bytes.get_mut(first + 3) {
                            *later = b'"';
                        }
                        assert_eq!(
                            find_quote_or_backslash(&bytes),
                            Some(first),
                            "{filler} {len} {first}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_literal_is_read_to_its_closing_quote_only() {
        let mut out = String::new();
        assert_eq!(unescape_prefix(r#""a\"b\\"c"," tail""#, &mut out), Ok(8));
        assert_eq!(out, "a\"b\\");
        out.clear();
        assert_eq!(unescape_prefix(r#""""#, &mut out), Ok(2));
        assert_eq!(
            unescape_prefix(r#""no end"#, &mut out),
            Err("unterminated string")
        );
        assert!(unescape_into(r#""a"b""#, &mut out).is_err());
    }

    #[test]
    fn unescape_rejects_what_serde_json_rejects() {
        for literal in [
            r#""\ud83d""#,
            r#""\ude00""#,
            r#""\ud83dx""#,
            r#""\ud83d\u0041""#,
            r#""\x""#,
        ] {
            assert!(
                serde_json::from_str::<String>(literal).is_err(),
                "{literal}"
            );
            assert!(unescape(literal).is_err(), "{literal}");
        }
    }
}
