//! The `tools` example end to end: the built binary, offline (its own replay server) and
//! against a `ReplayServer` of this test (`--base-url`), in both protocols. Offline
//! checks what it prints; against our server, also the two requests it sent.
#![cfg(feature = "blocking")]

use crate::example_bin;

use std::path::Path;
use std::process::Output;

use dashscope_glm::chat::{Completion, Protocol, StreamDecoder};
use dashscope_glm::testing::{ReplayServer, Reply, Split};
use serde_json::{Value, json};

const PROTOCOLS: [(&str, Protocol); 2] = [
    ("openai", Protocol::OpenAiCompatible),
    ("dashscope", Protocol::DashScope),
];

/// Runs the example with no DASHSCOPE_* and no proxy variables.
fn tools(args: &[&str]) -> Output {
    example_bin::run("tools", args, &[])
}

fn recording(turn: u8, flag: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/recordings")
            .join(format!("tools_turn{turn}_{flag}.sse")),
    )
    .unwrap()
}

/// A recording run through the library's own decoder and merger.
fn decoded(turn: u8, flag: &str, protocol: Protocol) -> Completion {
    let mut stream = StreamDecoder::new(protocol);
    stream.feed(&recording(turn, flag));
    stream.finish().unwrap()
}

fn usage_line(c: &Completion) -> String {
    let u = c.usage.unwrap();
    format!(
        "[usage] input {} + output {} = {} tokens (reasoning {}, cached {})",
        u.input_tokens,
        u.output_tokens,
        u.total_tokens,
        u.reasoning_tokens.unwrap(),
        u.cached_tokens.unwrap()
    )
}

/// Checks the printed conversation against the two recordings of `flag`.
fn check_output(out: &Output, flag: &str, protocol: Protocol) {
    assert_eq!(out.status.code(), Some(0), "{flag}: {out:?}");
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let turn1 = decoded(1, flag, protocol);
    let turn2 = decoded(2, flag, protocol);
    let call = &turn1.message.tool_calls[0];

    // Turn 1: one `[tool_call]` line per fragment, each followed by the arguments so far;
    // the fragments make up the recorded arguments.
    let prefix = format!("[tool_call] id={}, name=get_weather, args=", call.id);
    let mut fragments = String::new();
    let mut so_far = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(fragment) = line.strip_prefix("[tool_call] ") {
            assert!(line.starts_with(&prefix), "{flag}: {line}");
            fragments.push_str(fragment.split_once(", args=").unwrap().1);
            let next = lines[i + 1];
            let value = next
                .strip_prefix("[arguments so far] ")
                .unwrap_or_else(|| panic!("{flag}: after {line}: {next}"));
            so_far.push(serde_json::from_str::<Value>(value).unwrap());
        }
    }
    assert_eq!(fragments, call.arguments, "{flag}");
    assert_eq!(fragments, r#"{"city": "Beijing"}"#, "{flag}");
    assert!(so_far.len() >= 3, "{flag}: {so_far:?}");
    assert!(
        so_far.contains(&json!({"city": "Bei"})),
        "{flag}: {so_far:?}"
    );
    assert_eq!(so_far.last(), Some(&json!({"city": "Beijing"})), "{flag}");

    // The order of the sections, and what each says.
    let position = |wanted: &str| {
        lines
            .iter()
            .position(|l| *l == wanted)
            .unwrap_or_else(|| panic!("{flag}: no line {wanted:?} in\n{text}"))
    };
    let reasoning1 = position(&format!("[reasoning] {}", turn1.message.reasoning_content));
    let first_call = lines.iter().position(|l| l.starts_with(&prefix)).unwrap();
    let finish1 = position("[finish_reason] tool_calls");
    let usage1 = position(&usage_line(&turn1));
    let result = position(&format!(
        "[tool_result] id={}, name=get_weather, result={}",
        call.id,
        r#"{"city":"Beijing","forecast":"sunny","temperature_c":23,"wind":"light north wind"}"#
    ));
    let reasoning2 = position(&format!("[reasoning] {}", turn2.message.reasoning_content));
    let answer = position(&format!("[answer] {}", turn2.message.content));
    let finish2 = position("[finish_reason] stop");
    let usage2 = position(&usage_line(&turn2));
    assert_eq!(lines[0], "[user] What is the weather like in Beijing");
    let order = [
        reasoning1, first_call, finish1, usage1, result, reasoning2, answer, finish2, usage2,
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "{flag}: {order:?}\n{text}"
    );
    assert_eq!(
        usage2,
        lines.len() - 1,
        "{flag}: nothing after the last usage"
    );
    assert!(text.contains("It is sunny in Beijing"), "{flag}");
}

/// The offline default: no key and no `--base-url` replays both turns of the chosen
/// protocol through the whole client, and says so once on standard error.
#[test]
fn no_key_replays_both_turns_in_each_protocol() {
    for (flag, protocol) in PROTOCOLS {
        let out = tools(&["--protocol", flag]);
        check_output(&out, flag, protocol);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("DASHSCOPE_API_KEY is not set") && err.contains("replaying"),
            "{err}"
        );
    }
}

/// Against our own server: the same output, and exactly the two requests of the
/// exchange — the second carrying the assistant's reasoning and tool call, and the
/// tool's result.
#[test]
fn the_second_request_carries_the_tool_call_and_its_result() {
    let tool = json!({"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city name, e.g. Beijing"}},
            "required": ["city"],
        },
    }});
    let call_id = "call_9f8e7d6c5b4a39281706f5e4";
    let user = json!({"role": "user", "content": "What is the weather like in Beijing"});
    // The assistant's turn goes back with the thinking that led to its call; the native
    // protocol echoes the call's index, as its responses carry it.
    let reasoning = "The user wants the current weather in Beijing. I have a get_weather tool that takes a city, so I should call it with Beijing.";
    let assistant = |native: bool| {
        let mut call = json!({
            "id": call_id,
            "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\": \"Beijing\"}"},
        });
        if native {
            call["index"] = json!(0);
        }
        json!({"role": "assistant", "content": "", "reasoning_content": reasoning, "tool_calls": [call]})
    };
    let tool_message = json!({
        "role": "tool",
        "tool_call_id": call_id,
        "content": r#"{"city":"Beijing","forecast":"sunny","temperature_c":23,"wind":"light north wind"}"#,
    });
    for (flag, protocol) in PROTOCOLS {
        let path = match protocol {
            Protocol::DashScope => "/api/v1/services/aigc/text-generation/generation",
            _ => "/compatible-mode/v1/chat/completions",
        };
        let server = ReplayServer::builder()
            .route_sequence(
                path,
                [1, 2].map(|turn| {
                    Reply::sse(recording(turn, flag)).split(Split::Random {
                        seed: u64::from(turn),
                        max: 64,
                    })
                }),
            )
            .start()
            .unwrap();
        let out = tools(&["--protocol", flag, "--base-url", &server.base_url()]);
        check_output(&out, flag, protocol);
        assert!(out.stderr.is_empty(), "{flag}: no offline notice");

        let requests = server.requests();
        assert_eq!(requests.len(), 2, "{flag}");
        let body = |i: usize| -> Value { serde_json::from_slice(requests[i].body()).unwrap() };
        for r in &requests {
            assert_eq!(r.path(), path);
            assert!(r.api_key_is("sk-placeholder"));
        }
        let (first, second) = match protocol {
            Protocol::DashScope => {
                let wrap = |messages: Value| {
                    json!({
                        "model": "glm-5",
                        "input": {"messages": messages},
                        "parameters": {
                            "result_format": "message",
                            "incremental_output": true,
                            "enable_thinking": true,
                            "tools": [tool],
                            "tool_stream": true,
                        },
                    })
                };
                (
                    wrap(json!([user])),
                    wrap(json!([user, assistant(true), tool_message])),
                )
            }
            _ => {
                let wrap = |messages: Value| {
                    json!({
                        "model": "glm-5",
                        "messages": messages,
                        "stream": true,
                        "stream_options": {"include_usage": true},
                        "enable_thinking": true,
                        "tools": [tool],
                        "tool_stream": true,
                    })
                };
                (
                    wrap(json!([user])),
                    wrap(json!([user, assistant(false), tool_message])),
                )
            }
        };
        assert_eq!(body(0), first, "{flag}");
        assert_eq!(body(1), second, "{flag}");
    }
}

#[test]
fn bad_usage_exits_2() {
    for args in [&["--protocol", "grpc"][..], &["--model"], &["extra"]] {
        let out = tools(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
}
