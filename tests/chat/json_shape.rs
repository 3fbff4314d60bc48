//! serde on the owned data: every type round-trips (value -> JSON -> the same value), a
//! completion's JSON has the documented shape, and a message, a tool and a response
//! format are written exactly as the OpenAI-compatible request body writes them, so a
//! stored conversation can be sent again.
#![cfg(feature = "chat")]

use dashscope_glm::chat::{
    Accumulator, AssistantMessage, ChatRequest, Completion, FinishReason, JsonSchema, Message,
    Protocol, ResponseFormat, Tool, ToolCall, Usage,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) -> String {
    let text = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, value, "{text}");
    text
}

/// A completion with every field set: reasoning, content, two tool calls (one with a
/// synthetic id), usage with details, ids, timestamp, an ignored part.
fn full_completion() -> Completion {
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    acc.push_data(r#"{"id":"chatcmpl-7","created":1767000000,"model":"glm-5","request_id":"req-1","choices":[{"index":0,"delta":{"reasoning_content":"Need \"weather\".","content":[{"type":"text","text":"Checking "},{"type":"image_url","image_url":{"url":"u"}}],"tool_calls":[{"index":0,"id":"call_1","function":{"name":"get_weather","arguments":"{\"city\":\"北京\"}"}},{"index":1,"function":{"name":"now","arguments":""}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":10,"completion_tokens":23,"total_tokens":33,"completion_tokens_details":{"reasoning_tokens":7}}}"#).unwrap();
    let c = acc.finish().unwrap();
    assert!(c.message.tool_calls[1].id_synthetic);
    c
}

#[test]
fn a_completion_round_trips_in_its_documented_shape() {
    let c = full_completion();
    round_trip(&c);
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(
        json,
        json!({
            "message": {
                "reasoning_content": "Need \"weather\".",
                "content": "Checking ",
                "tool_calls": [
                    {"index": 0, "id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"北京\"}"},
                     "id_synthetic": false},
                    {"index": 1, "id": "call_synthetic_1", "type": "function",
                     "function": {"name": "now", "arguments": ""},
                     "id_synthetic": true},
                ],
            },
            "finish_reason": "tool_calls",
            "usage": {"input_tokens": 10, "output_tokens": 23, "total_tokens": 33,
                      "reasoning_tokens": 7, "cached_tokens": null},
            "request_id": "req-1",
            "model": "glm-5",
            "id": "chatcmpl-7",
            "created": 1767000000,
            "ignored_content_parts": 1,
        })
    );
    // An empty completion writes nulls, and reads back from them or from `{}`.
    let empty = Completion::default();
    round_trip(&empty);
    assert_eq!(serde_json::to_value(&empty).unwrap()["usage"], json!(null));
    assert_eq!(serde_json::from_str::<Completion>("{}").unwrap(), empty);
}

#[test]
fn the_parts_round_trip() {
    let c = full_completion();
    round_trip(&c.message);
    round_trip(&AssistantMessage::default());
    for call in &c.message.tool_calls {
        round_trip(call);
    }
    round_trip(&c.usage.unwrap());
    round_trip(&Usage::default());
    for wire in [
        "stop",
        "length",
        "tool_calls",
        "content_filter",
        "model_context_window_exceeded",
        "network_error",
        "abort",
    ] {
        let reason = FinishReason::from_wire(wire).unwrap();
        assert_eq!(round_trip(&reason), format!("\"{wire}\""));
    }
    // Z.ai's `sensitive` reads as `content_filter`, and is written as that.
    let sensitive = FinishReason::from_wire("sensitive").unwrap();
    assert_eq!(sensitive, FinishReason::ContentFilter);
    assert_eq!(round_trip(&sensitive), "\"content_filter\"");
    // Texts that are not a reason on the wire still round-trip, as `Other`.
    let odd = FinishReason::Other("null".into());
    round_trip(&odd);
}

fn conversation() -> Vec<Message> {
    vec![
        Message::system("Be brief."),
        Message::user("Weather in \"Beijing\"?\n"),
        Message::assistant("")
            .with_reasoning("Call the tool.")
            .with_tool_calls(vec![
                ToolCall::new(0, "call_1", "get_weather", r#"{"city":"Beijing"}"#),
                ToolCall::new(1, "call_2", "now", ""),
            ]),
        Message::tool("call_1", r#"{"temp": 21}"#),
        Message::tool("call_2", "12:00"),
        Message::assistant("It is 21 °C").with_partial(true),
    ]
}

/// The request body's messages are the messages' own JSON, byte for byte.
#[test]
fn messages_round_trip_and_are_what_the_compatible_body_writes() {
    let messages = conversation();
    let mut request = ChatRequest::new("glm-5");
    let mut written = Vec::new();
    for m in &messages {
        written.push(round_trip(m));
        request = request.message(m.clone());
    }
    let mut body = Vec::new();
    request
        .write_body(Protocol::OpenAiCompatible, false, &mut body)
        .unwrap();
    let body = String::from_utf8(body).unwrap();
    let expected = format!("\"messages\":[{}]", written.join(","));
    assert!(body.contains(&expected), "{body}\n{expected}");
    // A stored conversation reads back into the same messages.
    let stored = serde_json::to_string(&messages).unwrap();
    assert_eq!(
        serde_json::from_str::<Vec<Message>>(&stored).unwrap(),
        messages
    );
}

/// What OpenAI-style stores hold: `content: null` beside tool calls, extra fields, a
/// tool call's `index`; positions win over written indexes.
#[test]
fn messages_read_the_openai_shape_leniently() {
    let m: Message = serde_json::from_value(json!({
        "role": "assistant",
        "content": null,
        "name": "bot",
        "tool_calls": [
            {"index": 5, "id": "call_9", "type": "function",
             "function": {"name": "f", "arguments": "{}"}}
        ]
    }))
    .unwrap();
    let expected =
        Message::assistant("").with_tool_calls(vec![ToolCall::new(0, "call_9", "f", "{}")]);
    assert_eq!(m, expected);
    assert!(serde_json::from_value::<Message>(json!({"role": "robot", "content": ""})).is_err());
}

#[test]
fn tools_and_formats_round_trip_and_are_what_the_body_writes() {
    let tool = Tool::function(
        "get_weather",
        "Current weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    );
    let formats = [
        ResponseFormat::Text,
        ResponseFormat::JsonObject,
        ResponseFormat::JsonSchema(JsonSchema::new("answer", json!({"type": "object"}))),
        ResponseFormat::JsonSchema(
            JsonSchema::new("strict", json!({"type": "object"})).strict(true),
        ),
    ];
    let tool_json = round_trip(&tool);
    for format in formats {
        let format_json = round_trip(&format);
        let request = ChatRequest::new("glm-5")
            .user("json please")
            .tool(tool.clone())
            .response_format(format);
        let mut body = Vec::new();
        request
            .write_body(Protocol::OpenAiCompatible, false, &mut body)
            .unwrap();
        let body = String::from_utf8(body).unwrap();
        assert!(body.contains(&format!("\"tools\":[{tool_json}]")), "{body}");
        assert!(
            body.contains(&format!("\"response_format\":{format_json}")),
            "{body}"
        );
    }
}
