//! The chunk decoder reads a chunk with its byte scanner when it has a shape streams
//! send, and with serde-derive structs (its reference) otherwise; both must merge the
//! same chunks into the same events and completion. Each stream here is fed as written,
//! with whitespace around every colon and comma, with every key written with an escape
//! (`"\u0063ontent"`, which the scanner leaves to serde), with only the last key of each
//! object escaped (the scanner has read part of the chunk when it leaves it to serde),
//! and as written through the serde-derive structs alone, and the five runs are
//! compared. (Arguments sent as a JSON
//! object are kept verbatim, spacing included, so they are left out here.)
#![cfg(feature = "chat")]

use crate::data::transcripts;

use dashscope_glm::chat::{Accumulator, OwnedStreamEvent, Protocol, StreamDecoder};
use dashscope_glm::{Error, ErrorKind};
use serde_json::Value;

/// How a chunk is written back from its parsed value.
#[derive(Clone, Copy, Debug)]
enum Style {
    Compact,
    Spaced,
    EscapedKeys,
    /// Only the last key of each object of two or more keys escaped: the scanner reads
    /// part of the chunk (into the same output) before it leaves the chunk to serde.
    LastKeyEscaped,
    /// As written, decoded by the serde-derive structs alone.
    SerdeOnly,
}

fn write_string(out: &mut String, s: &str, escape_first: bool) {
    let mut chars = s.chars();
    out.push('"');
    if escape_first {
        if let Some(c) = chars.next() {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    let rest = serde_json::to_string(chars.as_str()).unwrap();
    out.push_str(&rest[1..]);
}

fn write(out: &mut String, value: &Value, style: Style) {
    let sep = if matches!(style, Style::Spaced) {
        " "
    } else {
        ""
    };
    match value {
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                    out.push(',');
                    out.push_str(sep);
                }
                let escaped = match style {
                    Style::EscapedKeys => true,
                    Style::LastKeyEscaped => i > 0 && i + 1 == map.len(),
                    _ => false,
                };
                write_string(out, k, escaped);
                out.push_str(sep);
                out.push(':');
                out.push_str(sep);
                write(out, v, style);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    out.push_str(sep);
                }
                write(out, v, style);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

/// Events and the completion (or the error) of `chunks` written in `style`.
fn run(protocol: Protocol, chunks: &[&str], style: Style) -> (Vec<OwnedStreamEvent>, String) {
    let mut acc = Accumulator::new(protocol);
    if matches!(style, Style::SerdeOnly) {
        acc = dashscope_glm::__private::serde_decoding_only(acc);
    }
    let mut events = Vec::new();
    for chunk in chunks {
        let data = match serde_json::from_str::<Value>(chunk) {
            Ok(_) if matches!(style, Style::SerdeOnly) => (*chunk).to_owned(),
            Ok(value) => {
                let mut out = String::new();
                write(&mut out, &value, style);
                out
            }
            // Not JSON for serde_json::Value (a lone surrogate): fed as written.
            Err(_) => (*chunk).to_owned(),
        };
        if let Err(e) = acc.push_data(&data) {
            return (events, format!("error: {}", describe(&e)));
        }
        while let Some(event) = acc.next_event() {
            events.push(event.into_owned());
        }
    }
    let end = match acc.finish() {
        Ok(c) => serde_json::to_string(&c).unwrap(),
        Err(e) => format!("error: {}", describe(&e)),
    };
    (events, end)
}

/// An error without the parts that name a position in the data (it moves with the
/// whitespace).
fn describe(e: &Error) -> String {
    match (e.kind(), e.malformed_chunk(), e.partial()) {
        (ErrorKind::Malformed, Some(m), _) => format!(
            "malformed: {}",
            m.message.split(" at line").next().unwrap_or_default()
        ),
        (ErrorKind::Interrupted, _, Some(c)) => {
            format!("interrupted: {}", serde_json::to_string(c).unwrap())
        }
        _ => format!("{e:?}"),
    }
}

fn same_in_every_style(protocol: Protocol, chunks: &[&str]) -> (Vec<OwnedStreamEvent>, String) {
    let compact = run(protocol, chunks, Style::Compact);
    for style in [
        Style::Spaced,
        Style::EscapedKeys,
        Style::LastKeyEscaped,
        Style::SerdeOnly,
    ] {
        assert_eq!(
            run(protocol, chunks, style),
            compact,
            "{style:?}: {chunks:?}"
        );
    }
    compact
}

#[test]
fn every_field_merges_the_same_whatever_the_keys_and_spacing() {
    let (events, completion) = same_in_every_style(
        Protocol::OpenAiCompatible,
        &[
            r#"{"id":"chatcmpl-\u0031x","object":"chat.completion.chunk","created":1767225600,"model":"glm-5","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":"Think \"hard\"\n"},"logprobs":null,"finish_reason":null}]}"#,
            r#"{"id":"chatcmpl-1x","created":1767225601,"model":"glm-5","choices":[{"index":0,"delta":{"reasoning":"ignored alt","reasoning_content":"\u676d\ud83d\ude00"},"finish_reason":null}]}"#,
            r#"{"id":"chatcmpl-1x","choices":[{"index":0,"delta":{"content":"Hi \\ there"},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":1,"delta":{"content":"other choice"}},{"index":0,"delta":{"content":[{"type":"text","text":" part\t1"},{"type":"image_url","image_url":{"url":"u"}},{"text":"!"}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":[]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": "}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"北京\"}"}},{"index":1,"id":"call_2","function":{"name":"now","arguments":"{\"tz\":\"UTC\"}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#,
        ],
    );
    assert!(events.len() > 8, "{events:?}");
    let c: Value = serde_json::from_str(&completion).unwrap();
    assert_eq!(c["id"], "chatcmpl-1x");
    assert_eq!(c["created"], 1767225600);
    assert_eq!(c["model"], "glm-5");
    assert_eq!(c["message"]["reasoning_content"], "Think \"hard\"\n杭😀");
    assert_eq!(c["message"]["content"], "Hi \\ there part\t1!");
    assert_eq!(
        c["message"]["tool_calls"][0]["function"]["arguments"],
        "{\"city\": \"北京\"}"
    );
    assert_eq!(
        c["message"]["tool_calls"][1]["function"]["arguments"],
        "{\"tz\":\"UTC\"}"
    );
}

#[test]
fn the_native_shapes_merge_the_same_whatever_the_keys_and_spacing() {
    let (_, completion) = same_in_every_style(
        Protocol::DashScope,
        &[
            r#"{"output":{"choices":[{"message":{"role":"assistant","content":"","reasoning_content":"r\u00e9"},"finish_reason":"null"}]},"usage":{"input_tokens":1,"output_tokens":1,"total_tokens":2},"request_id":"req-\"1\""}"#,
            r#"{"output":{"choices":[{"message":{"role":"assistant","content":"a\nb"},"finish_reason":"stop"}]},"request_id":"req-\"1\""}"#,
        ],
    );
    let c: Value = serde_json::from_str(&completion).unwrap();
    assert_eq!(c["request_id"], "req-\"1\"");
    assert_eq!(c["message"]["content"], "a\nb");
    let (_, text) = same_in_every_style(
        Protocol::DashScope,
        &[r#"{"output":{"text":"x\u0079","finish_reason":"stop"},"request_id":"r"}"#],
    );
    assert!(text.contains(r#""content":"xy""#), "{text}");
}

#[test]
fn created_is_kept_only_when_it_is_a_non_negative_integer() {
    for (created, expected) in [
        ("1.5", Value::Null),
        ("-3", Value::Null),
        ("1e3", Value::Null),
        ("\"17\"", Value::Null),
        ("null", Value::Null),
        ("18446744073709551616", Value::Null),
        ("0", Value::from(0)),
        ("17", Value::from(17)),
    ] {
        let first = format!(
            r#"{{"created":{created},"choices":[{{"index":0,"delta":{{"content":"a"}}}}]}}"#
        );
        let (_, completion) = same_in_every_style(
            Protocol::OpenAiCompatible,
            &[
                &first,
                r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
            ],
        );
        let c: Value = serde_json::from_str(&completion).unwrap();
        assert_eq!(c["created"], expected, "{created}");
        // A later valid timestamp fills a missing one.
        let second = r#"{"created":99,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
        let (_, completion) = same_in_every_style(Protocol::OpenAiCompatible, &[&first, second]);
        let c: Value = serde_json::from_str(&completion).unwrap();
        let kept = if expected.is_null() {
            Value::from(99)
        } else {
            expected
        };
        assert_eq!(c["created"], kept, "{created} then 99");
    }
}

#[test]
fn ids_and_models_are_checked_on_every_chunk_not_only_the_first() {
    // The first chunk's id is kept; a later chunk's id is not read, but an escape in it
    // that serde_json would reject is still a malformed chunk.
    for (field, bad) in [
        ("id", r#""c\ud83d""#),
        ("model", r#""m\x""#),
        ("id", "7"),
        ("model", "{}"),
    ] {
        let good =
            format!(r#"{{"{field}":"first","choices":[{{"index":0,"delta":{{"content":"a"}}}}]}}"#);
        let later =
            format!(r#"{{"{field}":{bad},"choices":[{{"index":0,"delta":{{"content":"b"}}}}]}}"#);
        let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
        acc.push_data(&good).unwrap();
        let err = acc.push_data(&later).unwrap_err();
        assert!(
            err.kind() == ErrorKind::Malformed,
            "{field}: {bad}: {err:?}"
        );
        assert_eq!(
            err.partial().unwrap().message.content,
            "a",
            "{field}: {bad}"
        );
    }
    // The same id again, and another one, are both fine; the first is kept.
    let (_, completion) = same_in_every_style(
        Protocol::OpenAiCompatible,
        &[
            r#"{"id":"a","choices":[{"index":0,"delta":{"content":"1"}}]}"#,
            r#"{"id":"a","choices":[{"index":0,"delta":{"content":"2"}}]}"#,
            r#"{"id":"ab","choices":[{"index":0,"delta":{"content":"3"}}]}"#,
            r#"{"id":"a\"","choices":[{"index":0,"delta":{"content":"4"}}]}"#,
            r#"{"id":"","choices":[{"index":0,"delta":{"content":"5"}, "finish_reason":"stop"}]}"#,
        ],
    );
    let c: Value = serde_json::from_str(&completion).unwrap();
    assert_eq!(
        (c["id"].as_str(), c["message"]["content"].as_str()),
        (Some("a"), Some("12345"))
    );
}

#[test]
fn wrong_types_are_the_same_errors_on_every_path() {
    for chunk in [
        r#"{"choices":[{"index":0,"delta":{"content":5}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"reasoning_content":true}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"reasoning_content":["x"]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":7}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"content":"\ud83d"}}]}"#,
        r#"{"choices":{"index":0}}"#,
        r#"{"choices":[{"index":0,"delta":[]}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":{}}}]}"#,
        r#"{"choices":[{"index":0,"finish_reason":3}]}"#,
        r#"{"id":["x"],"choices":[]}"#,
    ] {
        let (_, end) = same_in_every_style(Protocol::OpenAiCompatible, &[chunk]);
        assert!(end.starts_with("error: malformed"), "{chunk}: {end}");
    }
    // `null` everywhere is absent, and `[]` for a text is an empty content.
    let (events, end) = same_in_every_style(
        Protocol::OpenAiCompatible,
        &[
            r#"{"id":null,"model":null,"created":null,"choices":[{"index":0,"delta":{"content":null,"reasoning_content":null,"reasoning":[],"tool_calls":null},"finish_reason":null}],"usage":null}"#,
        ],
    );
    assert!(events.is_empty(), "{events:?}");
    assert!(end.starts_with("error: interrupted"), "{end}");
}

#[test]
fn vllm_streams_reasoning_under_delta_reasoning() {
    // vLLM >= 0.11 names the field `reasoning` (older vLLM and SGLang:
    // `reasoning_content`); both are the reasoning.
    let (events, completion) = same_in_every_style(
        Protocol::OpenAiCompatible,
        &[
            r#"{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1767225600,"model":"zai-org/GLM-4.6","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
            r#"{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1767225600,"model":"zai-org/GLM-4.6","choices":[{"index":0,"delta":{"reasoning":"The user "},"logprobs":null,"finish_reason":null}]}"#,
            r#"{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1767225600,"model":"zai-org/GLM-4.6","choices":[{"index":0,"delta":{"reasoning":"greets.\n"},"logprobs":null,"finish_reason":null}]}"#,
            r#"{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1767225600,"model":"zai-org/GLM-4.6","choices":[{"index":0,"delta":{"content":"Hello!"},"logprobs":null,"finish_reason":"stop","stop_reason":null}]}"#,
        ],
    );
    assert_eq!(
        events.first(),
        Some(&OwnedStreamEvent::Reasoning("The user ".to_owned()))
    );
    let c: Value = serde_json::from_str(&completion).unwrap();
    assert_eq!(c["message"]["reasoning_content"], "The user greets.\n");
    assert_eq!(c["message"]["content"], "Hello!");
    assert_eq!(c["finish_reason"], "stop");
}

#[test]
fn every_transcript_merges_the_same_through_the_serde_reference() {
    for t in transcripts() {
        let run = |serde_only: bool| {
            let mut acc = Accumulator::new(t.protocol).cumulative(t.cumulative);
            if serde_only {
                acc = dashscope_glm::__private::serde_decoding_only(acc);
            }
            let mut stream = StreamDecoder::from_parts(dashscope_glm::sse::Decoder::new(), acc);
            stream.feed(&t.bytes);
            let mut events = Vec::new();
            let outcome = loop {
                match stream.next_event() {
                    Ok(Some(e)) => events.push(e.into_owned()),
                    Ok(None) => break stream.end().and_then(|()| stream.finish()),
                    Err(e) => break Err(e),
                }
            };
            (events, format!("{outcome:?}"))
        };
        assert_eq!(run(false), run(true), "{}", t.name);
    }
}

#[test]
fn a_repeated_known_key_is_an_error_as_serde_derive_says_and_others_are_not() {
    for (chunk, ok) in [
        (
            r#"{"choices":[{"index":0,"delta":{"content":"a","content":"b"}}]}"#,
            false,
        ),
        (
            r#"{"choices":[{"index":0,"delta":{"content":"a"},"message":{}}]}"#,
            false,
        ),
        (r#"{"id":"a","choices":[],"id":"a"}"#, false),
        (r#"{"usage":{"total_tokens":1,"total_tokens":1}}"#, false),
        (
            r#"{"choices":[{"index":0,"delta":{"role":"a","role":"b","content":"c"}}]}"#,
            true,
        ),
    ] {
        for serde_only in [false, true] {
            let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
            if serde_only {
                acc = dashscope_glm::__private::serde_decoding_only(acc);
            }
            let result = acc.push_data(chunk);
            assert_eq!(result.is_ok(), ok, "{chunk} {serde_only}: {result:?}");
            if let Err(e) = result {
                assert_eq!(e.kind(), ErrorKind::Malformed, "{chunk}");
            }
        }
    }
}

#[test]
fn numbers_the_scanner_skips_are_checked_as_serde_json_checks_them() {
    for (number, ok) in [
        ("- 5", false),
        ("01", false),
        ("1.", false),
        ("1e", false),
        ("-", false),
        (".5", false),
        ("1.5e+", false),
        ("+1", false),
        ("-0", true),
        ("1E+2", true),
        ("0.5e-3", true),
        ("18446744073709551616", true),
    ] {
        for field in ["x", "created"] {
            let chunk = format!(
                r#"{{"{field}":{number},"choices":[{{"index":0,"delta":{{"content":"a"}}}}]}}"#
            );
            for serde_only in [false, true] {
                let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
                if serde_only {
                    acc = dashscope_glm::__private::serde_decoding_only(acc);
                }
                let result = acc.push_data(&chunk);
                assert_eq!(result.is_ok(), ok, "{chunk} {serde_only}: {result:?}");
            }
        }
    }
}

#[test]
fn a_choice_not_followed_never_shows_through_on_either_decoder() {
    // Found by the merge_chunks fuzz target: the serde path left the last (ignored)
    // entry of `output.choices` in place, and its `finish_reason` made it the followed
    // choice, tool call and all.
    let chunk = r#"{"output":{"choices":[{"message":{"content":"","tool_calls":[{"index":0,"id":"","type":"function","function":{"name":"get_weather","arguments":""}}]},"index":5,"finish_reason":"null"}]},"usage":{"total_tokens":270,"output_tokens":22,"input_tokens":248},"request_id":"r"}"#;
    for serde_only in [false, true] {
        let mut acc = Accumulator::new(Protocol::DashScope);
        if serde_only {
            acc = dashscope_glm::__private::serde_decoding_only(acc);
        }
        acc.push_data(chunk).unwrap();
        let mut events = Vec::new();
        while let Some(e) = acc.next_event() {
            events.push(e.into_owned());
        }
        assert!(
            matches!(events.as_slice(), [OwnedStreamEvent::Usage(_)]),
            "{serde_only}: {events:?}"
        );
        assert_eq!(acc.ignored_choices(), 1, "{serde_only}");
    }
}

/// A field nobody reads, nested deep: the scanner skips it up to its own depth limit
/// and hands deeper ones to serde (which skips an ignored value without recursing);
/// every path reads the chunk the same, and no depth overflows the stack.
#[test]
fn deeply_nested_skipped_fields_are_read_the_same_at_any_depth() {
    for depth in [1, 63, 64, 65, 100, 127, 200, 100_000] {
        let extra = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let chunk = format!(
            r#"{{"extra":{extra},"choices":[{{"index":0,"delta":{{"content":"a"}},"finish_reason":"stop"}}]}}"#
        );
        let (events, end) = same_in_every_style(Protocol::OpenAiCompatible, &[&chunk]);
        assert_eq!(events.len(), 2, "depth {depth}: {end}");
    }
}
