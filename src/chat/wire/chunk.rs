//! The serde visitors behind [`decode`]: one pass over the event data, straight into a
//! reused [`WireChunk`].
//!
//! Map keys are read borrowed from the data ([`KeySeed`]), so the visitor knows where
//! each value starts and peeks at its first byte before serde_json reads it: a string
//! that only needs its place (the growing texts, ids) is then skipped with
//! [`IgnoredAny`], serde_json's cheapest validating path, and `null` likewise; only the
//! other shapes go through raw values or nested visitors. A key with escapes (never sent
//! in practice) falls back to reading raw values, with the same results.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{ShortText, Src, TextSpan, WireChoice, WireChunk, WireTool, unescape_into};
use crate::chat::Usage;

/// Tool-call fragments accepted in one chunk. Real chunks carry one or two; the cap keeps
/// a hostile chunk from growing the fragment buffers without bound.
pub(crate) const MAX_TOOL_FRAGMENTS_PER_CHUNK: usize = 1024;

/// Decodes one event's data into `out` (cleared first).
///
/// # Errors
///
/// Not one JSON object (trailing data included: a second frame glued onto the first is
/// an error), or a known field of the wrong type.
pub(crate) fn decode(data: &str, out: &mut WireChunk) -> Result<(), serde_json::Error> {
    out.clear();
    let mut de = serde_json::Deserializer::from_str(data);
    de.deserialize_map(Top(out, Src::of(data)))?;
    de.end()
}

/// A field name of one object shape, matched from its (unescaped) key.
trait Field: Sized {
    fn of(name: &str) -> Self;
}

/// Where a value starts in the data and its first byte, known from its key.
#[derive(Clone, Copy)]
struct Peek {
    at: usize,
    first: u8,
}

/// A key: the field it names, and where it ends (its closing quote) when it was borrowed
/// from the data (it had no escapes, as in every chunk seen in practice), to find its
/// value's start when that is wanted ([`Key::peek`]).
struct Key<'a, F> {
    field: F,
    end: Option<usize>,
    src: Src<'a>,
}

impl<F> Key<'_, F> {
    /// Where the value starts and its first byte, when known.
    fn peek(&self) -> Option<Peek> {
        let at = self.src.value_after_key(self.end?)?;
        Some(Peek {
            at,
            first: self.src.byte(at)?,
        })
    }

    /// The value's first byte, when known.
    fn first(&self) -> Option<u8> {
        self.peek().map(|p| p.first)
    }

    /// The start of a string value (its opening quote), when known.
    fn string_at(&self) -> Option<usize> {
        self.peek().filter(|p| p.first == b'"').map(|p| p.at)
    }
}

struct KeySeed<'a, F>(Src<'a>, PhantomData<F>);

impl<'a, F> KeySeed<'a, F> {
    fn new(src: Src<'a>) -> Self {
        Self(src, PhantomData)
    }
}

impl<'de, 'a, F: Field> DeserializeSeed<'de> for KeySeed<'a, F> {
    type Value = Key<'a, F>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key<'a, F>, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de, 'a, F: Field> Visitor<'de> for KeySeed<'a, F> {
    type Value = Key<'a, F>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'a, F>, E> {
        let src = self.0;
        Ok(Key {
            field: F::of(key),
            end: src.range_of(key).map(|range| range.end),
            src,
        })
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'a, F>, E> {
        Ok(Key {
            field: F::of(key),
            end: None,
            src: self.0,
        })
    }
}

/// Skips a value serde_json validates and nothing reads.
fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(drop)
}

/// A value that is an object or array to visit, or `null`: skipped when it is known to
/// be `null`, visited when it is known not to be, else visited through [`Nullable`]
/// (which takes `null` too).
fn nested<'de, A, S>(map: &mut A, first: Option<u8>, seed: S) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    S: DeserializeSeed<'de, Value = ()>,
{
    match first {
        Some(b'n') => skip(map),
        Some(_) => map.next_value_seed(seed),
        None => map.next_value_seed(Nullable(seed)),
    }
}

/// Accepts `null` (and a missing value) as "nothing", and otherwise runs the inner seed.
struct Nullable<S>(S);

impl<'de, S: DeserializeSeed<'de, Value = ()>> DeserializeSeed<'de> for Nullable<S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de, Value = ()>> Visitor<'de> for Nullable<S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.deserialize(d)
    }
}

/// A JSON string, unescaped into the buffer (cleared first). `null` and, for the
/// multimodal shape, an empty array `[]` count as absent. Yields whether it was present.
struct UnescapedInto<'s>(&'s mut String);

impl<'de> DeserializeSeed<'de> for UnescapedInto<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        self.0.clear();
        let Some(raw) = Option::<&'de RawValue>::deserialize(d)? else {
            return Ok(false);
        };
        let raw = raw.get();
        if raw.starts_with('"') {
            unescape_into(raw, self.0).map_err(de::Error::custom)?;
            Ok(true)
        } else if is_empty_array(raw) {
            Ok(false)
        } else {
            Err(de::Error::custom(format_args!(
                "expected a string, found {}",
                kind(raw)
            )))
        }
    }
}

/// [`UnescapedInto`] for a value that is most often `null` (a finish reason): skipped
/// when it is known to be.
fn unescaped_into<'de, A: MapAccess<'de>, F>(
    map: &mut A,
    key: &Key<'_, F>,
    out: &mut String,
) -> Result<bool, A::Error> {
    if key.first() == Some(b'n') {
        out.clear();
        skip(map).map(|()| false)
    } else {
        map.next_value_seed(UnescapedInto(out))
    }
}

/// Like [`UnescapedInto`], but a number or boolean is kept as its JSON text (error codes are
/// strings on DashScope and numbers elsewhere).
struct Scalar<'s>(&'s mut String);

impl<'de> DeserializeSeed<'de> for Scalar<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        self.0.clear();
        let Some(raw) = Option::<&'de RawValue>::deserialize(d)? else {
            return Ok(false);
        };
        let raw = raw.get();
        if raw.starts_with('"') {
            unescape_into(raw, self.0).map_err(de::Error::custom)?;
        } else if raw.starts_with(['{', '[']) {
            return Err(de::Error::custom(format_args!(
                "expected a string or number, found {}",
                kind(raw)
            )));
        } else {
            self.0.push_str(raw);
        }
        Ok(true)
    }
}

/// A short string into a [`ShortText`], taken as [`UnescapedInto`] takes it (`null` and
/// `[]` absent, anything but a string an error): its place in the data when it has no
/// escape, else its unescaped text (which checks the escapes, as serde_json would).
fn short_text<'de, A: MapAccess<'de>, F>(
    map: &mut A,
    key: &Key<'_, F>,
    out: &mut ShortText,
    src: Src<'_>,
) -> Result<(), A::Error> {
    out.clear();
    let Some(at) = key.string_at() else {
        return map
            .next_value_seed(UnescapedInto(&mut out.unescaped))
            .map(drop);
    };
    skip(map)?;
    let literal = src.data.get(at..).unwrap_or_default();
    // The same literal as the last one without escapes (an id or a model repeated on
    // every chunk): its end is known, and it has no escape to check.
    if let Some(len) = out.last_plain.len().checked_sub(2) {
        // `last_plain` is `"` + text + `"` with `len` bytes of text; matched at `at`, the
        // text is `data[at + 1..at + 1 + len]` and `at + len + 2 <= data.len()`.
        if literal.starts_with(out.last_plain.as_str()) {
            out.span = Some((at + 1, at + 1 + len));
            return Ok(());
        }
    }
    let inner = literal.get(1..).unwrap_or_default();
    match super::find_quote_or_backslash(inner.as_bytes()) {
        Some(len) if inner.as_bytes().get(len) == Some(&b'"') => {
            // The closing quote is `data[at + 1 + len]`, so the text `data[at + 1..at + 1 +
            // len]` ends before `data.len()`.
            out.span = Some((at + 1, at + 1 + len));
            out.last_plain.clear();
            out.last_plain
                .push_str(literal.get(..len + 2).unwrap_or_default());
            Ok(())
        }
        _ => super::unescape_prefix(literal, &mut out.unescaped)
            .map(drop)
            .map_err(de::Error::custom),
    }
}

/// A text that grows the message (reasoning, content, tool arguments): where its JSON
/// string literal is in the data, not a copy. `null` and `[]` (the multimodal shape) are
/// absent; with `raw_json`, an object or array is kept as its JSON text (tool arguments
/// some gateways send as JSON itself).
fn text_span<'de, A: MapAccess<'de>, F>(
    map: &mut A,
    key: &Key<'_, F>,
    out: &mut Option<TextSpan>,
    src: Src<'_>,
    raw_json: bool,
) -> Result<(), A::Error> {
    match key.peek() {
        Some(Peek { at, first: b'"' }) => {
            skip(map)?;
            *out = Some(TextSpan::Literal { start: at });
            Ok(())
        }
        Some(Peek { first: b'n', .. }) => {
            skip(map)?;
            *out = None;
            Ok(())
        }
        _ => map.next_value_seed(SpanOf { out, src, raw_json }),
    }
}

/// [`text_span`] for a value that is not a plain string or `null` (or whose key had
/// escapes): read as a raw value.
struct SpanOf<'s, 'a> {
    out: &'s mut Option<TextSpan>,
    src: Src<'a>,
    raw_json: bool,
}

impl<'de> DeserializeSeed<'de> for SpanOf<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        *self.out = None;
        let Some(raw) = Option::<&'de RawValue>::deserialize(d)? else {
            return Ok(());
        };
        let raw = raw.get();
        let range = self
            .src
            .range_of(raw)
            .ok_or_else(|| de::Error::custom("value outside the chunk"))?;
        *self.out = if raw.starts_with('"') {
            Some(TextSpan::Literal { start: range.start })
        } else if self.raw_json && raw.starts_with(['{', '[']) {
            Some(TextSpan::Raw {
                start: range.start,
                end: range.end,
            })
        } else if is_empty_array(raw) {
            None
        } else {
            return Err(de::Error::custom(format_args!(
                "expected a string, found {}",
                kind(raw)
            )));
        };
        Ok(())
    }
}

/// A message's `content`: a string (a [`TextSpan`], as [`text_span`]), `null`, or the
/// multimodal shape, an array of parts: each `{"text": "..."}` (or
/// `{"type": "text", "text": "..."}`) part becomes a span of
/// [`WireChoice::content_parts`], in order; any other part is counted in
/// [`WireChoice::ignored_parts`].
///
/// An array is visited, not skipped as a raw value: serde_json's scratch buffer is new
/// for each chunk, and skipping an array of objects grows it (an allocation per chunk),
/// while visiting one does not. When the key had escapes (the value's first byte is not
/// known), the value is read raw and an array decoded again from its text.
fn content<'de, A: MapAccess<'de>, F>(
    map: &mut A,
    key: &Key<'_, F>,
    c: &mut WireChoice,
    src: Src<'_>,
) -> Result<(), A::Error> {
    c.content = None;
    c.has_parts = false;
    c.content_parts.clear();
    c.ignored_parts = 0;
    match key.first() {
        Some(b'"' | b'n') => text_span(map, key, &mut c.content, src, false),
        Some(b'[') => map.next_value_seed(PartsOf(c, src)),
        _ => map.next_value_seed(ContentOf(c, src)),
    }
}

/// `content` read as a raw value (see [`content`]).
struct ContentOf<'s, 'a>(&'s mut WireChoice, Src<'a>);

impl<'de> DeserializeSeed<'de> for ContentOf<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let (c, src) = (self.0, self.1);
        let Some(raw) = Option::<&'de RawValue>::deserialize(d)? else {
            return Ok(());
        };
        let raw = raw.get();
        if raw.starts_with('"') {
            let range = src
                .range_of(raw)
                .ok_or_else(|| de::Error::custom("value outside the chunk"))?;
            c.content = Some(TextSpan::Literal { start: range.start });
            return Ok(());
        }
        if !raw.starts_with('[') {
            return Err(de::Error::custom(format_args!(
                "expected a string or an array of parts, found {}",
                kind(raw)
            )));
        }
        // A slice of the data: spans read from it are spans of the data.
        serde_json::Deserializer::from_str(raw)
            .deserialize_seq(PartsOf(c, src))
            .map_err(de::Error::custom)
    }
}

/// A content array: its parts, in order.
struct PartsOf<'s, 'a>(&'s mut WireChoice, Src<'a>);

impl<'de> DeserializeSeed<'de> for PartsOf<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PartsOf<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of content parts")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (c, src) = (self.0, self.1);
        c.has_parts = true;
        while let Some(part) = seq.next_element_seed(PartSeed(src))? {
            match part {
                Some(span) => c.content_parts.push(span),
                None => c.ignored_parts = c.ignored_parts.saturating_add(1),
            }
        }
        Ok(())
    }
}

/// One content part: `Some` span for a text part, `None` for any other part (an image,
/// audio, a value that is not an object).
struct PartSeed<'a>(Src<'a>);

impl<'de> DeserializeSeed<'de> for PartSeed<'_> {
    type Value = Option<TextSpan>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<TextSpan>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PartSeed<'_> {
    type Value = Option<TextSpan>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a content part")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<TextSpan>, A::Error> {
        let (mut text, mut is_text) = (None, true);
        while let Some(key) = map.next_key::<PartField>()? {
            match key {
                PartField::Text => text = map.next_value::<Option<&'de RawValue>>()?,
                PartField::Type => {
                    let kind = map.next_value::<Option<&'de RawValue>>()?;
                    is_text = kind.is_none_or(|k| k.get() == "\"text\"");
                }
                PartField::Other => _ = map.next_value::<IgnoredAny>()?,
            }
        }
        let Some(text) = text
            .map(RawValue::get)
            .filter(|t| is_text && t.starts_with('"'))
        else {
            return Ok(None);
        };
        let range = self
            .0
            .range_of(text)
            .ok_or_else(|| de::Error::custom("value outside the chunk"))?;
        Ok(Some(TextSpan::Literal { start: range.start }))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<TextSpan>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Option<TextSpan>, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<TextSpan>, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Option<TextSpan>, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Option<TextSpan>, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<TextSpan>, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<TextSpan>, E> {
        Ok(None)
    }
}

/// `[]`, which the multimodal shape sends for an empty content.
fn is_empty_array(raw: &str) -> bool {
    raw.strip_prefix('[')
        .is_some_and(|rest| rest.trim_start() == "]")
}

fn kind(raw: &str) -> &'static str {
    match raw.as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// The `DeserializeSeed` of a seed that is its own `Visitor`, for the JSON shape it
/// asks the deserializer for.
macro_rules! seed_is_visitor {
    ($seed:ident, $shape:ident) => {
        impl<'de> DeserializeSeed<'de> for $seed<'_, '_> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.$shape(self)
            }
        }
    };
}

/// A field enum: the named fields, and `Other` for any other key.
macro_rules! fields {
    ($name:ident { $($variant:ident = $wire:literal),* $(,)? }) => {
        #[derive(Clone, Copy)]
        enum $name {
            $($variant,)*
            Other,
        }

        impl Field for $name {
            fn of(name: &str) -> Self {
                match name {
                    $($wire => Self::$variant,)*
                    _ => Self::Other,
                }
            }
        }
    };
}

/// The serde field enum of the content parts, read with `next_key` (a rare path).
#[derive(Deserialize)]
#[serde(field_identifier)]
enum PartField {
    #[serde(rename = "text")]
    Text,
    #[serde(rename = "type")]
    Type,
    #[serde(other)]
    Other,
}

fields!(TopField {
    Id = "id",
    Created = "created",
    Model = "model",
    Choices = "choices",
    Usage = "usage",
    Error = "error",
    RequestId = "request_id",
    Code = "code",
    Message = "message",
    Output = "output",
});

struct Top<'s, 'a>(&'s mut WireChunk, Src<'a>);

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a chunk object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (out, src) = (self.0, self.1);
        while let Some(key) = map.next_key_seed(KeySeed::<TopField>::new(src))? {
            match key.field {
                TopField::Id => short_text(&mut map, &key, &mut out.id, src)?,
                TopField::Model => short_text(&mut map, &key, &mut out.model, src)?,
                TopField::Created => {
                    // Parsed only if the merger needs it (`WireChunk::created`); anything
                    // but a number is ignored.
                    out.created = match key.peek() {
                        Some(Peek { at, first }) => {
                            skip(&mut map)?;
                            first.is_ascii_digit().then_some(at)
                        }
                        None => map
                            .next_value::<Option<&'de RawValue>>()?
                            .filter(|raw| raw.get().starts_with(|c: char| c.is_ascii_digit()))
                            .and_then(|raw| src.range_of(raw.get()))
                            .map(|range| range.start),
                    };
                }
                TopField::RequestId => {
                    _ = map.next_value_seed(UnescapedInto(&mut out.request_id))?
                }
                TopField::Choices => nested(&mut map, key.first(), Choices(out, src))?,
                TopField::Output => nested(&mut map, key.first(), Output(out, src))?,
                TopField::Usage => {
                    if key.first() == Some(b'n') {
                        skip(&mut map)?;
                    } else if let Some(usage) = map.next_value::<Option<WireUsage>>()? {
                        out.usage = usage.into_usage().or(out.usage);
                    }
                }
                TopField::Error => map.next_value_seed(ErrorObject(out))?,
                TopField::Code => {
                    let present = map.next_value_seed(Scalar(&mut out.error_code))?;
                    out.has_error |= present && !out.error_code.is_empty();
                }
                TopField::Message => _ = map.next_value_seed(Scalar(&mut out.error_message))?,
                TopField::Other => skip(&mut map)?,
            }
        }
        Ok(())
    }
}

fields!(OutputField { Choices = "choices", Text = "text", FinishReason = "finish_reason" });

/// Native `output`: `choices` (result_format "message") or `text` + `finish_reason`
/// (result_format "text").
struct Output<'s, 'a>(&'s mut WireChunk, Src<'a>);

seed_is_visitor!(Output, deserialize_map);

impl<'de> Visitor<'de> for Output<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an output object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (out, src) = (self.0, self.1);
        while let Some(key) = map.next_key_seed(KeySeed::<OutputField>::new(src))? {
            match key.field {
                OutputField::Choices => nested(&mut map, key.first(), Choices(&mut *out, src))?,
                OutputField::Text => {
                    let c = &mut out.choice;
                    text_span(&mut map, &key, &mut c.content, src, false)?;
                    out.has_choice |= c.content.is_some();
                }
                OutputField::FinishReason => {
                    let c = &mut out.choice;
                    c.has_finish = unescaped_into(&mut map, &key, &mut c.finish_text)?;
                    out.has_choice |= c.has_finish;
                }
                OutputField::Other => skip(&mut map)?,
            }
        }
        Ok(())
    }
}

/// `choices[]`: the first entry with index 0 (or without an index, in first position) is
/// decoded into `out.choice`; the others are decoded into scratch and counted.
struct Choices<'s, 'a>(&'s mut WireChunk, Src<'a>);

seed_is_visitor!(Choices, deserialize_seq);

impl<'de> Visitor<'de> for Choices<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a choices array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (out, src) = (self.0, self.1);
        let mut position = 0u64;
        loop {
            // Until choice 0 is found, entries are decoded in its place (no copy when it
            // is the first, as always with n = 1); a `choice` left without one is clear.
            let target = if out.has_choice {
                &mut out.spare
            } else {
                &mut out.choice
            };
            target.clear();
            if seq.next_element_seed(Choice(target, src))?.is_none() {
                target.clear();
                return Ok(());
            }
            if !out.has_choice && out.choice.index.unwrap_or(position) == 0 {
                out.has_choice = true;
            } else {
                out.ignored_choices = out.ignored_choices.saturating_add(1);
            }
            position += 1;
        }
    }
}

fields!(ChoiceField {
    Index = "index",
    Delta = "delta",
    Message = "message",
    FinishReason = "finish_reason",
});

struct Choice<'s, 'a>(&'s mut WireChoice, Src<'a>);

seed_is_visitor!(Choice, deserialize_map);

impl<'de> Visitor<'de> for Choice<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a choice object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (c, src) = (self.0, self.1);
        while let Some(key) = map.next_key_seed(KeySeed::<ChoiceField>::new(src))? {
            match key.field {
                ChoiceField::Index => c.index = map.next_value()?,
                ChoiceField::Delta | ChoiceField::Message => {
                    nested(&mut map, key.first(), MessageVisitor(&mut *c, src))?;
                }
                ChoiceField::FinishReason => {
                    c.has_finish = unescaped_into(&mut map, &key, &mut c.finish_text)?;
                }
                ChoiceField::Other => skip(&mut map)?,
            }
        }
        Ok(())
    }
}

fields!(MessageField {
    Content = "content",
    ReasoningContent = "reasoning_content",
    Reasoning = "reasoning",
    ToolCalls = "tool_calls",
});

/// OpenAI `delta` or native `message`: the same fields under two names.
struct MessageVisitor<'s, 'a>(&'s mut WireChoice, Src<'a>);

seed_is_visitor!(MessageVisitor, deserialize_map);

impl<'de> Visitor<'de> for MessageVisitor<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a delta or message object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (c, src) = (self.0, self.1);
        while let Some(key) = map.next_key_seed(KeySeed::<MessageField>::new(src))? {
            match key.field {
                MessageField::Content => content(&mut map, &key, c, src)?,
                MessageField::ReasoningContent => {
                    text_span(&mut map, &key, &mut c.reasoning, src, false)?;
                }
                MessageField::Reasoning => {
                    text_span(&mut map, &key, &mut c.reasoning_alt, src, false)?;
                }
                MessageField::ToolCalls => {
                    nested(&mut map, key.first(), Tools(&mut *c, src))?;
                }
                MessageField::Other => skip(&mut map)?,
            }
        }
        Ok(())
    }
}

struct Tools<'s, 'a>(&'s mut WireChoice, Src<'a>);

seed_is_visitor!(Tools, deserialize_seq);

impl<'de> Visitor<'de> for Tools<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tool_calls array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (c, src) = (self.0, self.1);
        // A repeated `tool_calls` key replaces the earlier list, as for any other field.
        c.tools_len = 0;
        loop {
            if c.tools_len == c.tools.len() {
                if c.tools_len >= MAX_TOOL_FRAGMENTS_PER_CHUNK {
                    // Full: one more element is an error, the end of the list is not.
                    let mut extra = WireTool::default();
                    return match seq.next_element_seed(ToolVisitor(&mut extra, src))? {
                        Some(()) => Err(de::Error::custom(format_args!(
                            "more than {MAX_TOOL_FRAGMENTS_PER_CHUNK} tool-call fragments in one chunk"
                        ))),
                        None => Ok(()),
                    };
                }
                c.tools.push(WireTool::default());
            }
            let Some(tool) = c.tools.get_mut(c.tools_len) else {
                return Ok(());
            };
            tool.clear();
            if seq.next_element_seed(ToolVisitor(tool, src))?.is_none() {
                return Ok(());
            }
            c.tools_len += 1;
        }
    }
}

fields!(ToolField { Index = "index", Id = "id", Function = "function" });

struct ToolVisitor<'s, 'a>(&'s mut WireTool, Src<'a>);

seed_is_visitor!(ToolVisitor, deserialize_map);

impl<'de> Visitor<'de> for ToolVisitor<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tool call object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (t, src) = (self.0, self.1);
        while let Some(key) = map.next_key_seed(KeySeed::<ToolField>::new(src))? {
            match key.field {
                ToolField::Index => t.index = map.next_value()?,
                ToolField::Id => _ = map.next_value_seed(UnescapedInto(&mut t.id))?,
                ToolField::Function => {
                    nested(&mut map, key.first(), Function(&mut *t, src))?;
                }
                ToolField::Other => skip(&mut map)?,
            }
        }
        Ok(())
    }
}

fields!(FunctionField { Name = "name", Arguments = "arguments" });

struct Function<'s, 'a>(&'s mut WireTool, Src<'a>);

seed_is_visitor!(Function, deserialize_map);

impl<'de> Visitor<'de> for Function<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a function object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (t, src) = (self.0, self.1);
        while let Some(key) = map.next_key_seed(KeySeed::<FunctionField>::new(src))? {
            match key.field {
                FunctionField::Name => _ = map.next_value_seed(UnescapedInto(&mut t.name))?,
                FunctionField::Arguments => {
                    text_span(&mut map, &key, &mut t.arguments, src, true)?;
                }
                FunctionField::Other => skip(&mut map)?,
            }
        }
        Ok(())
    }
}

fields!(ErrorField { Code = "code", Message = "message", Type = "type" });

/// `error`: an object `{code, message, type}` (code string or number; `type` stands in
/// for a missing code), a bare string, or `null` (no error).
struct ErrorObject<'s>(&'s mut WireChunk);

impl<'de> DeserializeSeed<'de> for ErrorObject<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ErrorObject<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an error object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.has_error = true;
        self.0.error_message.clear();
        self.0.error_message.push_str(v);
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        out.has_error = true;
        let mut error_type = String::new();
        let mut has_code = false;
        while let Some(key) = map.next_key_seed(KeySeed::<ErrorField>::new(Src::of("")))? {
            match key.field {
                ErrorField::Code => has_code = map.next_value_seed(Scalar(&mut out.error_code))?,
                ErrorField::Message => _ = map.next_value_seed(Scalar(&mut out.error_message))?,
                ErrorField::Type => _ = map.next_value_seed(Scalar(&mut error_type))?,
                ErrorField::Other => skip(&mut map)?,
            }
        }
        if !has_code || out.error_code.is_empty() {
            out.error_code = error_type;
        }
        Ok(())
    }
}
/// `usage` in either protocol's names. Every field is optional; `{}` is "unknown".
#[derive(Deserialize)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    total_tokens: Option<u64>,
    output_tokens_details: Option<ReasoningDetails>,
    completion_tokens_details: Option<ReasoningDetails>,
    prompt_tokens_details: Option<CacheDetails>,
    input_tokens_details: Option<CacheDetails>,
}

#[derive(Deserialize)]
struct ReasoningDetails {
    reasoning_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct CacheDetails {
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
