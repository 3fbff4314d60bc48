//! The serde visitors behind [`decode`]: one pass over the event data, straight into a
//! reused [`WireChunk`].

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{Src, TextSpan, WireChoice, WireChunk, WireTool, unescape_into};
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
    // Scanning every chunk for a content array would cost a second pass over the data
    // (a fifth of the whole decode on a text stream); only a stream that has sent one
    // pays for it (see `ContentOf`).
    let parts_first = out.content_arrays && has_content_array(data);
    match decode_with(data, out, parts_first) {
        // Rare (a content array and, elsewhere, a content string with escapes): the
        // message is only built then.
        Err(e) if parts_first && e.to_string().contains(RETRY_AS_RAW) => {
            decode_with(data, out, false)
        }
        result => result,
    }
}

fn decode_with(
    data: &str,
    out: &mut WireChunk,
    parts_first: bool,
) -> Result<(), serde_json::Error> {
    out.clear();
    out.src = Src::of(data);
    out.src.parts_first = parts_first;
    let mut de = serde_json::Deserializer::from_str(data);
    de.deserialize_map(Top(out))?;
    de.end()
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

/// A text that grows the message (reasoning, content, tool arguments): where its JSON
/// string literal is in the data, not a copy. `null` and `[]` (the multimodal shape) are
/// absent; with `raw_json`, an object or array is kept as its JSON text (tool arguments
/// some gateways send as JSON itself).
struct SpanOf<'s> {
    out: &'s mut Option<TextSpan>,
    src: Src,
    raw_json: bool,
}

impl<'de> DeserializeSeed<'de> for SpanOf<'_> {
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
            Some(TextSpan::Literal {
                start: range.start,
                end: range.end,
            })
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

/// A message's `content`: a string (a [`TextSpan`], as [`SpanOf`]), `null`, or the
/// multimodal shape, an array of parts: each `{"text": "..."}` (or
/// `{"type": "text", "text": "..."}`) part becomes a span of
/// [`WireChoice::content_parts`], in order; any other part is counted in
/// [`WireChoice::ignored_parts`].
///
/// Neither way of reading it allocates in every case, because serde_json's scratch
/// buffer is new for each chunk: a raw value (the default) costs nothing for a string
/// but grows the scratch to skip an array of objects, and visiting the value costs
/// nothing for an array but unescapes a string with escapes into the scratch. So
/// [`decode`] reads raw values until the stream has sent a content array (that chunk
/// allocates, once: [`WireChunk::content_arrays`]); from then on it visits the value
/// ([`Src::parts_first`]) when the data looks like it holds a content array, and
/// decodes again the default way if a string with escapes shows up.
struct ContentOf<'s>(&'s mut WireChoice, Src);

impl<'de> DeserializeSeed<'de> for ContentOf<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let (c, src) = (self.0, self.1);
        c.content = None;
        c.has_parts = false;
        c.content_parts.clear();
        c.ignored_parts = 0;
        if src.parts_first {
            return d.deserialize_any(ContentVisitor(c, src));
        }
        let Some(raw) = Option::<&'de RawValue>::deserialize(d)? else {
            return Ok(());
        };
        let raw = raw.get();
        if raw.starts_with('"') {
            let range = src
                .range_of(raw)
                .ok_or_else(|| de::Error::custom("value outside the chunk"))?;
            c.content = Some(TextSpan::Literal {
                start: range.start,
                end: range.end,
            });
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
            .deserialize_seq(ContentVisitor(c, src))
            .map_err(de::Error::custom)
    }
}

/// The message [`decode`] retries on: a content string with escapes, met while visiting
/// content values directly.
const RETRY_AS_RAW: &str = "content string with escapes: decode again with raw values";

/// `content` visited directly: `null`, a string without escapes (borrowed from the data,
/// so its span is known), or an array of parts.
struct ContentVisitor<'s>(&'s mut WireChoice, Src);

impl<'de> Visitor<'de> for ContentVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of content parts")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        // Without escapes, serde_json lends the text between the quotes.
        let range = self
            .1
            .range_of(v)
            .ok_or_else(|| E::custom("value outside the chunk"))?;
        self.0.content = Some(TextSpan::Literal {
            start: range.start.saturating_sub(1),
            end: range.end.saturating_add(1),
        });
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(RETRY_AS_RAW))
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
struct PartSeed(Src);

impl<'de> DeserializeSeed<'de> for PartSeed {
    type Value = Option<TextSpan>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<TextSpan>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PartSeed {
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
        Ok(Some(TextSpan::Literal {
            start: range.start,
            end: range.end,
        }))
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

/// Whether `data` seems to hold a `"content": [` (whitespace allowed): then [`decode`]
/// visits content values directly (see [`ContentOf`]). A wrong guess costs an allocation
/// or a second decode, never a wrong result.
fn has_content_array(data: &str) -> bool {
    const KEY: &str = "\"content\"";
    let mut rest = data;
    while let Some(at) = rest.find(KEY) {
        let after = rest.get(at + KEY.len()..).unwrap_or_default();
        if let Some(value) = after.trim_start().strip_prefix(':') {
            if value.trim_start().starts_with('[') {
                return true;
            }
        }
        rest = after;
    }
    false
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
        impl<'de> DeserializeSeed<'de> for $seed<'_> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.$shape(self)
            }
        }
    };
}

macro_rules! fields {
    ($name:ident { $($variant:ident = $wire:literal),* $(,)? }) => {
        #[derive(Deserialize)]
        #[serde(field_identifier)]
        enum $name {
            $(#[serde(rename = $wire)] $variant,)*
            #[serde(other)]
            Other,
        }
    };
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

struct Top<'s>(&'s mut WireChunk);

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a chunk object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        while let Some(key) = map.next_key::<TopField>()? {
            match key {
                TopField::Id => _ = map.next_value_seed(UnescapedInto(&mut out.id))?,
                TopField::Model => _ = map.next_value_seed(UnescapedInto(&mut out.model))?,
                TopField::Created => {
                    // A Unix timestamp; anything else (a float, a string) is ignored.
                    let raw = map.next_value::<Option<&'de RawValue>>()?;
                    out.created = raw.and_then(|raw| raw.get().parse().ok());
                }
                TopField::RequestId => {
                    _ = map.next_value_seed(UnescapedInto(&mut out.request_id))?
                }
                TopField::Choices => map.next_value_seed(Nullable(Choices(out)))?,
                TopField::Output => map.next_value_seed(Nullable(Output(out)))?,
                TopField::Usage => {
                    if let Some(usage) = map.next_value::<Option<WireUsage>>()? {
                        out.usage = usage.into_usage().or(out.usage);
                    }
                }
                TopField::Error => map.next_value_seed(ErrorObject(out))?,
                TopField::Code => {
                    let present = map.next_value_seed(Scalar(&mut out.error_code))?;
                    out.has_error |= present && !out.error_code.is_empty();
                }
                TopField::Message => _ = map.next_value_seed(Scalar(&mut out.error_message))?,
                TopField::Other => _ = map.next_value::<IgnoredAny>()?,
            }
        }
        Ok(())
    }
}

fields!(PartField { Text = "text", Type = "type" });

fields!(OutputField { Choices = "choices", Text = "text", FinishReason = "finish_reason" });

/// Native `output`: `choices` (result_format "message") or `text` + `finish_reason`
/// (result_format "text").
struct Output<'s>(&'s mut WireChunk);

seed_is_visitor!(Output, deserialize_map);

impl<'de> Visitor<'de> for Output<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an output object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        while let Some(key) = map.next_key::<OutputField>()? {
            match key {
                OutputField::Choices => map.next_value_seed(Nullable(Choices(&mut *out)))?,
                OutputField::Text => {
                    let c = &mut out.choice;
                    map.next_value_seed(SpanOf {
                        out: &mut c.content,
                        src: out.src,
                        raw_json: false,
                    })?;
                    out.has_choice |= c.content.is_some();
                }
                OutputField::FinishReason => {
                    let c = &mut out.choice;
                    c.has_finish = map.next_value_seed(UnescapedInto(&mut c.finish_text))?;
                    out.has_choice |= c.has_finish;
                }
                OutputField::Other => _ = map.next_value::<IgnoredAny>()?,
            }
        }
        Ok(())
    }
}

/// `choices[]`: the first entry with index 0 (or without an index, in first position) is
/// decoded into `out.choice`; the others are decoded into scratch and counted.
struct Choices<'s>(&'s mut WireChunk);

seed_is_visitor!(Choices, deserialize_seq);

impl<'de> Visitor<'de> for Choices<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a choices array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let out = self.0;
        let mut position = 0u64;
        loop {
            out.spare.clear();
            if seq
                .next_element_seed(Choice(&mut out.spare, out.src))?
                .is_none()
            {
                return Ok(());
            }
            out.content_arrays |= out.spare.has_parts;
            let ours = !out.has_choice && out.spare.index.unwrap_or(position) == 0;
            if ours {
                std::mem::swap(&mut out.choice, &mut out.spare);
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

struct Choice<'s>(&'s mut WireChoice, Src);

seed_is_visitor!(Choice, deserialize_map);

impl<'de> Visitor<'de> for Choice<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a choice object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (c, src) = (self.0, self.1);
        while let Some(key) = map.next_key::<ChoiceField>()? {
            match key {
                ChoiceField::Index => c.index = map.next_value()?,
                ChoiceField::Delta | ChoiceField::Message => {
                    map.next_value_seed(Nullable(MessageVisitor(&mut *c, src)))?;
                }
                ChoiceField::FinishReason => {
                    c.has_finish = map.next_value_seed(UnescapedInto(&mut c.finish_text))?;
                }
                ChoiceField::Other => _ = map.next_value::<IgnoredAny>()?,
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
struct MessageVisitor<'s>(&'s mut WireChoice, Src);

seed_is_visitor!(MessageVisitor, deserialize_map);

impl<'de> Visitor<'de> for MessageVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a delta or message object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (c, src) = (self.0, self.1);
        while let Some(key) = map.next_key::<MessageField>()? {
            let raw_json = false;
            match key {
                MessageField::Content => map.next_value_seed(ContentOf(&mut *c, src))?,
                MessageField::ReasoningContent => {
                    map.next_value_seed(SpanOf {
                        out: &mut c.reasoning,
                        src,
                        raw_json,
                    })?;
                }
                MessageField::Reasoning => {
                    map.next_value_seed(SpanOf {
                        out: &mut c.reasoning_alt,
                        src,
                        raw_json,
                    })?;
                }
                MessageField::ToolCalls => map.next_value_seed(Nullable(Tools(&mut *c, src)))?,
                MessageField::Other => _ = map.next_value::<IgnoredAny>()?,
            }
        }
        Ok(())
    }
}

struct Tools<'s>(&'s mut WireChoice, Src);

seed_is_visitor!(Tools, deserialize_seq);

impl<'de> Visitor<'de> for Tools<'_> {
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

struct ToolVisitor<'s>(&'s mut WireTool, Src);

seed_is_visitor!(ToolVisitor, deserialize_map);

impl<'de> Visitor<'de> for ToolVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tool call object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (t, src) = (self.0, self.1);
        while let Some(key) = map.next_key::<ToolField>()? {
            match key {
                ToolField::Index => t.index = map.next_value()?,
                ToolField::Id => _ = map.next_value_seed(UnescapedInto(&mut t.id))?,
                ToolField::Function => map.next_value_seed(Nullable(Function(&mut *t, src)))?,
                ToolField::Other => _ = map.next_value::<IgnoredAny>()?,
            }
        }
        Ok(())
    }
}

fields!(FunctionField { Name = "name", Arguments = "arguments" });

struct Function<'s>(&'s mut WireTool, Src);

seed_is_visitor!(Function, deserialize_map);

impl<'de> Visitor<'de> for Function<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a function object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (t, src) = (self.0, self.1);
        while let Some(key) = map.next_key::<FunctionField>()? {
            match key {
                FunctionField::Name => _ = map.next_value_seed(UnescapedInto(&mut t.name))?,
                FunctionField::Arguments => {
                    map.next_value_seed(SpanOf {
                        out: &mut t.arguments,
                        src,
                        raw_json: true,
                    })?;
                }
                FunctionField::Other => _ = map.next_value::<IgnoredAny>()?,
            }
        }
        Ok(())
    }
}

fields!(ErrorField { Code = "code", Message = "message", Type = "type" });

/// `error`: an object `{code, message, type}` (code string or number; `type` stands in
/// for a missing code), a bare string, or `null` (no error).
struct ErrorObject<'s>(&'s mut WireChunk);

seed_is_visitor!(ErrorObject, deserialize_any);

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
        while let Some(key) = map.next_key::<ErrorField>()? {
            match key {
                ErrorField::Code => has_code = map.next_value_seed(Scalar(&mut out.error_code))?,
                ErrorField::Message => _ = map.next_value_seed(Scalar(&mut out.error_message))?,
                ErrorField::Type => _ = map.next_value_seed(Scalar(&mut error_type))?,
                ErrorField::Other => _ = map.next_value::<IgnoredAny>()?,
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
