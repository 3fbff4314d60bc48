//! The fast path of [`decode`](super::decode): one pass over the chunk's bytes for the
//! shapes chunks have in practice, validating every byte as serde_json would.
//!
//! Every function answers `None` for "not decided here" (malformed JSON, a type the
//! serde-derive structs would reject or read differently, an escaped or repeated key,
//! an error object): the caller then decodes the chunk again with those structs. So
//! this path only ever has to be right when it answers `Some`, and it is tested and
//! fuzzed against them.

use super::unescape::string_stop;
use super::{Details, ShortText, TextSpan, WireChoice, WireChunk, WireTool, WireUsage};
use crate::chat::Usage;

/// Nesting a skipped value may have here (serde_json's own limit is 128).
const MAX_DEPTH: u32 = 64;

/// Decodes `data` into `out` (cleared), or `None` if the serde path must decide.
pub(super) fn chunk(data: &str, out: &mut WireChunk) -> Option<()> {
    let mut c = Cursor::new(data);
    let mut seen = Seen::default();
    c.object(false, |c, key| match key {
        b"id" => seen.once(0).and_then(|()| c.short(&mut out.id)),
        b"model" => seen.once(1).and_then(|()| c.short(&mut out.model)),
        // Kept when it is a non-negative integer; any other value is ignored.
        b"created" => seen.once(2).and_then(|()| match c.peek()? {
            b'0'..=b'9' => set(&mut out.created, c.number()),
            _ => c.skip(0),
        }),
        b"choices" => seen.once(3).and_then(|()| c.choices(out)),
        b"output" => seen.once(4).and_then(|()| c.output(out)),
        b"usage" => seen.once(5).and_then(|()| set(&mut out.usage, c.usage())),
        b"request_id" => {
            seen.once(6)?;
            if !c.null() {
                let span = c.span()?;
                span.append_to(data, &mut out.request_id).ok()?;
            }
            Some(())
        }
        // Error shapes, rare: the serde path reads them.
        b"error" | b"code" | b"message" => None,
        _ => c.skip(0),
    })?;
    // Both paths to the choices in one chunk: the order they are read in would matter.
    if seen.has(3) && seen.has(4) {
        return None;
    }
    c.peek().is_none().then_some(())
}

/// The known keys one object has had, to leave a repeated one to serde (which rejects
/// it).
#[derive(Default)]
struct Seen(u16);

impl Seen {
    fn once(&mut self, key: u16) -> Option<()> {
        let bit = 1 << key;
        let first = self.0 & bit == 0;
        self.0 |= bit;
        first.then_some(())
    }

    fn has(&self, key: u16) -> bool {
        self.0 & (1 << key) != 0
    }
}

/// Sets `slot` to a value read, or answers `None` if it could not be.
fn set<T>(slot: &mut T, value: Option<T>) -> Option<()> {
    *slot = value?;
    Some(())
}

/// The place in the data being read: `rest` is a suffix of `data`, so every offset
/// taken from it is inside the data.
struct Cursor<'d> {
    data: &'d str,
    rest: &'d [u8],
}

const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl<'d> Cursor<'d> {
    fn new(data: &'d str) -> Self {
        Self {
            data,
            rest: data.as_bytes(),
        }
    }

    /// Where the cursor is in the data.
    fn at(&self) -> usize {
        self.data.len() - self.rest.len()
    }

    /// The next byte past JSON whitespace (which is consumed); `None` at the end.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        match *self.rest {
            [b, ..] if !is_space(b) => Some(b),
            _ => self.skip_space(),
        }
    }

    #[cold]
    fn skip_space(&mut self) -> Option<u8> {
        let skip = self.rest.iter().position(|&b| !is_space(b))?;
        let (_, rest) = self.rest.split_at_checked(skip)?;
        self.rest = rest;
        rest.first().copied()
    }

    /// Consumes the next byte past whitespace, and returns it.
    #[inline]
    fn next(&mut self) -> Option<u8> {
        self.peek()?;
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }

    /// Consumes `byte`, the next one past whitespace, if it is that.
    #[inline]
    fn eat(&mut self, byte: u8) -> bool {
        match *self.rest {
            [b, ref rest @ ..] if b == byte => {
                self.rest = rest;
                true
            }
            [b, ..] if is_space(b) => self.skip_space().is_some() && self.eat(byte),
            _ => false,
        }
    }

    /// Consumes `word` (a literal: `null`, `true`, `false`) if it comes next.
    fn word(&mut self, word: &[u8]) -> bool {
        self.peek();
        match self.rest.strip_prefix(word) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    #[inline]
    fn null(&mut self) -> bool {
        self.word(b"null")
    }

    /// A string: its content's span and bytes, every escape and byte checked as
    /// serde_json skips a string (a surrogate's pairing is checked when the text is
    /// unescaped).
    fn string(&mut self) -> Option<(TextSpan, &'d [u8])> {
        if !self.eat(b'"') {
            return None;
        }
        let (start, content) = (self.at(), self.rest);
        let mut escaped = false;
        loop {
            let (_, tail) = self.rest.split_at_checked(string_stop(self.rest)?)?;
            self.rest = match tail {
                [b'"', after @ ..] => {
                    let (text, _) = content.split_at_checked(content.len() - tail.len())?;
                    self.rest = after;
                    return Some((TextSpan::new(start..start + text.len(), escaped), text));
                }
                [
                    b'\\',
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't',
                    after @ ..,
                ] => after,
                [b'\\', b'u', a, b, c, d, after @ ..]
                    if [a, b, c, d].iter().all(|h| h.is_ascii_hexdigit()) =>
                {
                    after
                }
                // A control character, or a malformed escape.
                _ => return None,
            };
            escaped = true;
        }
    }

    fn span(&mut self) -> Option<TextSpan> {
        self.string().map(|(span, _)| span)
    }

    /// A number, checked against JSON's grammar: its value when it is an integer that
    /// fits a `u64` (what serde reads into one), else `None` inside.
    fn number(&mut self) -> Option<Option<u64>> {
        let negative = self.eat(b'-');
        // No whitespace inside a number: from here on, bytes as they come.
        let first = self.rest.first().copied();
        let (int, value) = self.digits()?;
        // The integer part: `0`, or digits not starting with `0`.
        if int == 0 || (int > 1 && first == Some(b'0')) {
            return None;
        }
        let mut plain = !negative;
        if let [b'.', rest @ ..] = self.rest {
            self.rest = rest;
            plain = false;
            if self.digits()?.0 == 0 {
                return None;
            }
        }
        if let [b'e' | b'E', rest @ ..] = self.rest {
            self.rest = match rest {
                [b'+' | b'-', digits @ ..] => digits,
                digits => digits,
            };
            plain = false;
            if self.digits()?.0 == 0 {
                return None;
            }
        }
        Some(value.filter(|_| plain))
    }

    /// Consumes a run of digits: how many, and their value if it fits a `u64`.
    fn digits(&mut self) -> Option<(usize, Option<u64>)> {
        let (mut n, mut value) = (0, 0u64);
        for &b in self.rest {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            n += 1;
            value = value.wrapping_mul(10).wrapping_add(u64::from(digit));
        }
        let (digits, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        // Up to 19 digits always fit; 20 may not.
        let fits = n < 20 || (n == 20 && digits <= b"18446744073709551615".as_slice());
        Some((n, fits.then_some(value)))
    }

    /// A `u64` field as serde reads `Option<u64>`: `null` or a non-negative integer.
    fn uint(&mut self) -> Option<Option<u64>> {
        match self.peek()? {
            b'n' => self.null().then_some(None),
            b'0'..=b'9' => self.number()?.map(Some),
            _ => None,
        }
    }

    /// Any value, checked and skipped.
    fn skip(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let skipped = match self.peek()? {
            b'"' => self.string().is_some(),
            b'{' => self.object(false, |c, _| c.skip(depth + 1)).is_some(),
            b'[' => self.array(false, |c| c.skip(depth + 1)).is_some(),
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.null(),
            _ => self.number().is_some(),
        };
        skipped.then_some(())
    }

    /// An object, or `null` (nothing) when `nullable`: `member` reads each value after
    /// its key. A key with escapes (which would need unescaping to be matched) is left
    /// to serde.
    fn object(
        &mut self,
        nullable: bool,
        mut member: impl FnMut(&mut Self, &'d [u8]) -> Option<()>,
    ) -> Option<()> {
        if nullable && self.null() {
            return Some(());
        }
        if !self.eat(b'{') {
            return None;
        }
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let key = self.key()?;
            member(self, key)?;
            match self.next()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// A key without escapes, and the colon after it.
    #[inline]
    fn key(&mut self) -> Option<&'d [u8]> {
        if !self.eat(b'"') {
            return None;
        }
        let (key, tail) = self.rest.split_at_checked(string_stop(self.rest)?)?;
        self.rest = match *tail {
            [b'"', b':', ref rest @ ..] => rest,
            [b'"', ref rest @ ..] => {
                self.rest = rest;
                (self.next()? == b':').then_some(self.rest)?
            }
            _ => return None,
        };
        Some(key)
    }

    /// An array's elements, each read by `element`, or `null` (nothing) when `nullable`.
    fn array(
        &mut self,
        nullable: bool,
        mut element: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        if nullable && self.null() {
            return Some(());
        }
        if !self.eat(b'[') {
            return None;
        }
        if self.eat(b']') {
            return Some(());
        }
        loop {
            element(self)?;
            match self.next()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    /// A short string: `null` (absent) or a string.
    fn short(&mut self, out: &mut ShortText) -> Option<()> {
        if self.peek()? == b'"' {
            let span = self.span()?;
            out.set(span, self.data).ok()
        } else {
            self.null().then_some(())
        }
    }

    /// A growing text: `null` (absent) or a string; with `raw_json`, an object or an
    /// array too, kept as its JSON text.
    fn text(&mut self, out: &mut Option<TextSpan>, raw_json: bool) -> Option<()> {
        *out = match self.peek()? {
            b'n' => self.null().then_some(None)?,
            b'"' => Some(self.span()?),
            b'{' | b'[' if raw_json => {
                let start = self.at();
                self.skip(0)?;
                Some(TextSpan::new(start..self.at(), false))
            }
            _ => return None,
        };
        Some(())
    }

    fn choices(&mut self, out: &mut WireChunk) -> Option<()> {
        let mut position = 0;
        self.array(true, |c| {
            c.choice(out.next_choice())?;
            out.end_choice(position);
            position += 1;
            Some(())
        })?;
        out.end_choices();
        Some(())
    }

    fn choice(&mut self, choice: &mut WireChoice) -> Option<()> {
        let mut seen = Seen::default();
        self.object(false, |c, key| match key {
            b"index" => seen.once(0).and_then(|()| set(&mut choice.index, c.uint())),
            // One field under two names, as `#[serde(alias)]` reads it.
            b"delta" | b"message" => seen.once(1).and_then(|()| c.message(choice)),
            b"finish_reason" => seen.once(2).and_then(|()| c.short(&mut choice.finish)),
            _ => c.skip(0),
        })
    }

    fn message(&mut self, choice: &mut WireChoice) -> Option<()> {
        let mut seen = Seen::default();
        self.object(true, |c, key| match key {
            b"content" => seen.once(0).and_then(|()| c.content(choice)),
            b"reasoning_content" => seen
                .once(1)
                .and_then(|()| c.text(&mut choice.reasoning, false)),
            b"reasoning" => seen
                .once(2)
                .and_then(|()| c.text(&mut choice.reasoning_alt, false)),
            b"tool_calls" => seen.once(3).and_then(|()| c.tools(choice)),
            _ => c.skip(0),
        })
    }

    /// `content`: `null`, a string, or an array of parts (the multimodal shape): each
    /// `{"type": "text", "text": "..."}` part (`type` may be missing) is a text, any
    /// other element is counted as ignored.
    fn content(&mut self, choice: &mut WireChoice) -> Option<()> {
        if self.peek()? != b'[' {
            return self.text(&mut choice.content, false);
        }
        choice.has_parts = true;
        self.array(false, |c| {
            let text = if c.peek()? == b'{' {
                c.part()?
            } else {
                c.skip(1)?;
                None
            };
            match text {
                Some(span) => choice.content_parts.push(span),
                None => choice.ignored_parts = choice.ignored_parts.saturating_add(1),
            }
            Some(())
        })
    }

    /// One content part object: its text, if it is a text part.
    fn part(&mut self) -> Option<Option<TextSpan>> {
        let (mut seen, mut is_text, mut text) = (Seen::default(), true, None);
        self.object(false, |c, key| {
            let is_type = match key {
                b"type" => true,
                b"text" => false,
                _ => return c.skip(2),
            };
            seen.once(u16::from(is_type))?;
            // Anything but a string is not a text (the serde path reads raw values
            // here); `type` is compared as sent, `"text"` exactly, and `null` is none.
            let string = match c.peek()? {
                b'n' if is_type => return c.null().then_some(()),
                b'"' => Some(c.string()?),
                _ => {
                    c.skip(2)?;
                    None
                }
            };
            if is_type {
                is_text = string.is_some_and(|(k, name)| !k.escaped && name == b"text");
            } else {
                text = string.map(|(span, _)| span);
            }
            Some(())
        })?;
        Some(text.filter(|_| is_text))
    }

    fn tools(&mut self, choice: &mut WireChoice) -> Option<()> {
        self.array(true, |c| c.tool(choice.push_tool()?))
    }

    fn tool(&mut self, tool: &mut WireTool) -> Option<()> {
        let mut seen = Seen::default();
        self.object(false, |c, key| match key {
            b"index" => seen.once(0).and_then(|()| set(&mut tool.index, c.uint())),
            b"id" => seen.once(1).and_then(|()| c.short(&mut tool.id)),
            b"function" => seen.once(2).and_then(|()| c.function(tool)),
            _ => c.skip(0),
        })
    }

    fn function(&mut self, tool: &mut WireTool) -> Option<()> {
        let mut seen = Seen::default();
        self.object(true, |c, key| match key {
            b"name" => seen.once(0).and_then(|()| c.short(&mut tool.name)),
            b"arguments" => seen
                .once(1)
                .and_then(|()| c.text(&mut tool.arguments, true)),
            _ => c.skip(1),
        })
    }

    /// Native `output`: `choices` (result_format "message") or `text` + `finish_reason`
    /// (result_format "text").
    fn output(&mut self, out: &mut WireChunk) -> Option<()> {
        let mut seen = Seen::default();
        self.object(true, |c, key| match key {
            b"choices" => seen.once(0).and_then(|()| c.choices(out)),
            b"text" => {
                seen.once(1)?;
                c.text(&mut out.choice.content, false)?;
                out.has_choice |= out.choice.content.is_some();
                Some(())
            }
            b"finish_reason" => {
                seen.once(2)?;
                c.short(&mut out.choice.finish)?;
                out.has_choice |= out.choice.finish.is_present();
                Some(())
            }
            _ => c.skip(0),
        })?;
        // Both shapes at once: the serde path says in which order they apply.
        (!(seen.has(0) && (seen.has(1) || seen.has(2)))).then_some(())
    }

    fn usage(&mut self) -> Option<Option<Usage>> {
        let (mut usage, mut seen) = (WireUsage::default(), Seen::default());
        if self.null() {
            return Some(None);
        }
        self.object(false, |c, key| {
            let count = match key {
                b"input_tokens" => Some((0, &mut usage.input_tokens)),
                b"output_tokens" => Some((1, &mut usage.output_tokens)),
                b"prompt_tokens" => Some((2, &mut usage.prompt_tokens)),
                b"completion_tokens" => Some((3, &mut usage.completion_tokens)),
                b"total_tokens" => Some((4, &mut usage.total_tokens)),
                _ => None,
            };
            if let Some((bit, count)) = count {
                seen.once(bit)?;
                return set(count, c.uint());
            }
            let (bit, details) = match key {
                b"output_tokens_details" => (5, &mut usage.output_tokens_details),
                b"completion_tokens_details" => (6, &mut usage.completion_tokens_details),
                b"prompt_tokens_details" => (7, &mut usage.prompt_tokens_details),
                b"input_tokens_details" => (8, &mut usage.input_tokens_details),
                _ => return c.skip(0),
            };
            seen.once(bit)?;
            let (mut d, mut inner) = (Details::default(), Seen::default());
            if c.null() {
                return Some(());
            }
            c.object(false, |c, key| match key {
                b"reasoning_tokens" => inner
                    .once(0)
                    .and_then(|()| set(&mut d.reasoning_tokens, c.uint())),
                b"cached_tokens" => inner
                    .once(1)
                    .and_then(|()| set(&mut d.cached_tokens, c.uint())),
                _ => c.skip(1),
            })?;
            *details = Some(d);
            Some(())
        })?;
        Some(usage.into_usage())
    }
}
