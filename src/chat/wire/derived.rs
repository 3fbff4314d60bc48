//! The reference decoding: serde-derive structs over the event data, strings kept as
//! borrowed raw values so that the chunk holds their place, as the scan's does. It
//! decides every chunk [`scan`](super::scan) leaves undecided, and tests and fuzzing
//! hold the scan to it.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer as _};
use serde_json::Error;
use serde_json::value::RawValue;

use super::{
    MAX_TOOL_FRAGMENTS_PER_CHUNK, ShortText, TextSpan, WireChoice, WireChunk, WireTool, WireUsage,
};

type Raw<'a> = Option<&'a RawValue>;

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct Chunk<'a> {
    id: Raw<'a>,
    model: Raw<'a>,
    created: Raw<'a>,
    choices: Raw<'a>,
    output: Option<Output<'a>>,
    usage: Option<WireUsage>,
    request_id: Raw<'a>,
    error: Raw<'a>,
    code: Raw<'a>,
    message: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct Output<'a> {
    choices: Raw<'a>,
    text: Raw<'a>,
    finish_reason: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct Choice<'a> {
    index: Option<u64>,
    #[serde(alias = "message")]
    delta: Option<Message<'a>>,
    finish_reason: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct Message<'a> {
    content: Raw<'a>,
    reasoning_content: Raw<'a>,
    reasoning: Raw<'a>,
    tool_calls: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct Tool<'a> {
    index: Option<u64>,
    id: Raw<'a>,
    function: Option<Function<'a>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct Function<'a> {
    name: Raw<'a>,
    arguments: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct Part<'a> {
    #[serde(rename = "type")]
    kind: Raw<'a>,
    text: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct ErrorObject<'a> {
    code: Raw<'a>,
    message: Raw<'a>,
    #[serde(rename = "type")]
    kind: Raw<'a>,
}

/// Decodes `data` into `out` (cleared).
pub(super) fn decode(data: &str, out: &mut WireChunk) -> Result<(), Error> {
    let chunk: Chunk<'_> = serde_json::from_str(data)?;
    let src = Src(data);
    src.short(chunk.id, &mut out.id)?;
    src.short(chunk.model, &mut out.model)?;
    // A number that parses as a `u64` is a plain non-negative integer.
    out.created = chunk.created.and_then(|raw| raw.get().parse().ok());
    out.usage = chunk.usage.and_then(WireUsage::into_usage);
    if let Some(span) = src.text(chunk.request_id, false)? {
        span.append_to(data, &mut out.request_id)
            .map_err(Error::custom)?;
    }
    if scalar(chunk.code, &mut out.error_code)? {
        out.has_error |= !out.error_code.is_empty();
    }
    scalar(chunk.message, &mut out.error_message)?;
    if let Some(raw) = chunk.error {
        out.has_error = true;
        error_object(raw, out)?;
    }
    src.choices(chunk.choices, out)?;
    if let Some(output) = chunk.output {
        src.choices(output.choices, out)?;
        let choice = &mut out.choice;
        if let Some(text) = src.text(output.text, false)? {
            choice.content = Some(text);
            out.has_choice = true;
        }
        src.short(output.finish_reason, &mut choice.finish)?;
        out.has_choice |= choice.finish.is_present();
    }
    Ok(())
}

/// `error`: an object `{code, message, type}` (code string or number; `type` stands in
/// for a missing or empty code), or a bare string.
fn error_object(raw: &RawValue, out: &mut WireChunk) -> Result<(), Error> {
    if raw.get().starts_with('"') {
        return scalar(Some(raw), &mut out.error_message).map(drop);
    }
    let raw = raw.get();
    if !raw.starts_with('{') {
        return Err(Error::custom(format_args!(
            "expected an error object, found {}",
            kind(raw)
        )));
    }
    let error: ErrorObject<'_> = serde_json::from_str(raw)?;
    scalar(error.message, &mut out.error_message)?;
    if !scalar(error.code, &mut out.error_code)? || out.error_code.is_empty() {
        out.error_code.clear();
        scalar(error.kind, &mut out.error_code)?;
    }
    Ok(())
}

/// A string unescaped into `out`, or a number or boolean kept as its JSON text (error
/// codes are strings on DashScope and numbers elsewhere). Whether one was sent (if
/// not, `out` is left as it was).
fn scalar(raw: Raw<'_>, out: &mut String) -> Result<bool, Error> {
    let Some(raw) = raw.map(RawValue::get) else {
        return Ok(false);
    };
    out.clear();
    if let Some(literal) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        super::unescape::unescape(literal, out).map_err(Error::custom)?;
    } else if raw.starts_with(['{', '[']) {
        return Err(Error::custom(format_args!(
            "expected a string or number, found {}",
            kind(raw)
        )));
    } else {
        out.push_str(raw);
    }
    Ok(true)
}

/// The event data, for turning raw values borrowed from it into spans.
#[derive(Clone, Copy)]
struct Src<'d>(&'d str);

impl Src<'_> {
    /// A raw value's span, with `escaped` said by its text.
    fn span_of(self, raw: &str, quoted: bool) -> Result<TextSpan, Error> {
        let start = (raw.as_ptr() as usize)
            .checked_sub(self.0.as_ptr() as usize)
            .filter(|start| {
                start
                    .checked_add(raw.len())
                    .is_some_and(|end| end <= self.0.len())
            })
            .ok_or_else(|| Error::custom("value outside the chunk"))?;
        let quote = usize::from(quoted);
        let end = start + raw.len() - quote;
        Ok(TextSpan::new(
            start + quote..end,
            quoted && raw.contains('\\'),
        ))
    }

    /// A text: `null` and `[]` are absent, a string its content; with `raw_json` an
    /// object or an array is kept as its JSON text (tool arguments some gateways send as
    /// JSON itself); anything else is an error.
    fn text(self, raw: Raw<'_>, raw_json: bool) -> Result<Option<TextSpan>, Error> {
        let Some(raw) = raw.map(RawValue::get) else {
            return Ok(None);
        };
        if raw.starts_with('"') {
            self.span_of(raw, true).map(Some)
        } else if raw_json && raw.starts_with(['{', '[']) {
            self.span_of(raw, false).map(Some)
        } else if is_empty_array(raw) {
            Ok(None)
        } else {
            Err(Error::custom(format_args!(
                "expected a string, found {}",
                kind(raw)
            )))
        }
    }

    fn short(self, raw: Raw<'_>, out: &mut ShortText) -> Result<(), Error> {
        match self.text(raw, false)? {
            Some(span) => out.set(span, self.0).map_err(Error::custom),
            None => Ok(()),
        }
    }

    /// `choices`, absent or `null` for none.
    fn choices(self, raw: Raw<'_>, out: &mut WireChunk) -> Result<(), Error> {
        if let Some(raw) = raw {
            let mut position = 0;
            for_each(raw, |choice: Choice<'_>| {
                self.choice(choice, out.next_choice())?;
                out.end_choice(position);
                position += 1;
                Ok(())
            })?;
        }
        out.end_choices();
        Ok(())
    }

    fn choice(self, choice: Choice<'_>, out: &mut WireChoice) -> Result<(), Error> {
        out.index = choice.index;
        self.short(choice.finish_reason, &mut out.finish)?;
        let Some(message) = choice.delta else {
            return Ok(());
        };
        out.reasoning = self.text(message.reasoning_content, false)?;
        out.reasoning_alt = self.text(message.reasoning, false)?;
        self.content(message.content, out)?;
        // Absent or null: no fragments.
        let Some(tools) = message.tool_calls else {
            return Ok(());
        };
        for_each(tools, |tool: Tool<'_>| {
            let out = out.push_tool().ok_or_else(|| {
                Error::custom(format_args!(
                    "more than {MAX_TOOL_FRAGMENTS_PER_CHUNK} tool-call fragments in one chunk"
                ))
            })?;
            self.tool(tool, out)
        })
    }

    fn tool(self, tool: Tool<'_>, out: &mut WireTool) -> Result<(), Error> {
        out.index = tool.index;
        self.short(tool.id, &mut out.id)?;
        if let Some(function) = tool.function {
            self.short(function.name, &mut out.name)?;
            out.arguments = self.text(function.arguments, true)?;
        }
        Ok(())
    }

    /// `content`: a string, or an array of parts (the multimodal shape) whose
    /// `{"type": "text", "text": "..."}` parts (`type` may be missing) are its text and
    /// whose other elements are counted as ignored.
    fn content(self, raw: Raw<'_>, out: &mut WireChoice) -> Result<(), Error> {
        let Some(raw) = raw else {
            return Ok(());
        };
        if !raw.get().starts_with('[') {
            out.content = self.text(Some(raw), false)?;
            return Ok(());
        }
        out.has_parts = true;
        for_each(raw, |part: &RawValue| {
            let text = if part.get().starts_with('{') {
                let part: Part<'_> = serde_json::from_str(part.get())?;
                let is_text = part.kind.is_none_or(|k| k.get() == "\"text\"");
                part.text.filter(|t| is_text && t.get().starts_with('"'))
            } else {
                None
            };
            match text {
                Some(text) => out.content_parts.push(self.span_of(text.get(), true)?),
                None => out.ignored_parts = out.ignored_parts.saturating_add(1),
            }
            Ok(())
        })
    }
}

/// Hands each element of the JSON array `raw` to `each` as it is read, never holding
/// them all: an array of millions of `{}` (16 MiB of them fit in one event) costs no
/// memory per element, and a limit `each` enforces stops the read where it is reached.
fn for_each<'a, T: Deserialize<'a>>(
    raw: &'a RawValue,
    each: impl FnMut(T) -> Result<(), Error>,
) -> Result<(), Error> {
    struct Elements<F, T>(F, PhantomData<T>);

    impl<'de, T: Deserialize<'de>, F: FnMut(T) -> Result<(), Error>> Visitor<'de> for Elements<F, T> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }

        fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
            while let Some(element) = seq.next_element()? {
                (self.0)(element).map_err(A::Error::custom)?;
            }
            Ok(())
        }
    }

    serde_json::Deserializer::from_str(raw.get()).deserialize_seq(Elements(each, PhantomData))
}

/// `[]`, which the multimodal shape sends for an empty text.
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
