//! The `agent` example end to end: the built binary, offline (its own replay server) and
//! against a `ReplayServer` of this test (`--base-url`), in both protocols. Offline
//! checks what it prints; against our server, also the three requests it sent, each
//! carrying every earlier turn's reasoning on its assistant turn.
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

const QUESTION: &str =
    "Which is warmer tomorrow, Beijing or Shanghai? Tell me what to pack for the warmer one.";

/// What the example's tools return for the recorded calls, in order.
const RESULTS: [&str; 3] = [
    r#"{"city":"Beijing","forecast":"sunny","temperature_c":23}"#,
    r#"{"city":"Shanghai","forecast":"rain","temperature_c":26}"#,
    r#"{"items":["umbrella","light rain jacket","breathable shirts"]}"#,
];

/// Runs the example with no DASHSCOPE_* and no proxy variables.
fn agent(args: &[&str]) -> Output {
    example_bin::run("agent", args, &[])
}

fn recording(turn: u8, flag: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/recordings")
            .join(format!("agent_turn{turn}_{flag}.sse")),
    )
    .unwrap()
}

/// The three recorded turns, run through the library's own decoder and merger.
fn decoded(flag: &str, protocol: Protocol) -> [Completion; 3] {
    [1, 2, 3].map(|turn| {
        let mut stream = StreamDecoder::new(protocol);
        stream.feed(&recording(turn, flag));
        stream.finish().unwrap()
    })
}

fn endpoint(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::DashScope => "/api/v1/services/aigc/text-generation/generation",
        _ => "/compatible-mode/v1/chat/completions",
    }
}

/// Checks the printed conversation, line for line, against the recordings of `flag`.
fn check_output(out: &Output, flag: &str, protocol: Protocol) {
    assert_eq!(out.status.code(), Some(0), "{flag}: {out:?}");
    let turns = decoded(flag, protocol);
    // The recordings tell the story the checks below rely on.
    let calls: Vec<(&str, &str)> = turns
        .iter()
        .flat_map(|t| &t.message.tool_calls)
        .map(|c| (c.name.as_str(), c.arguments.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("get_weather", r#"{"city": "Beijing"}"#),
            ("get_weather", r#"{"city": "Shanghai"}"#),
            ("packing_list", r#"{"temperature_c": 26, "rain": true}"#),
        ],
        "{flag}"
    );
    assert!(turns[2].message.tool_calls.is_empty(), "{flag}");

    let mut expected = vec![format!("[user] {QUESTION}")];
    let mut results = RESULTS.iter();
    for turn in &turns {
        let m = &turn.message;
        expected.push(format!("[reasoning] {}", m.reasoning_content));
        for call in &m.tool_calls {
            expected.push(format!(
                "[tool_call] {} {} {}",
                call.id, call.name, call.arguments
            ));
        }
        for call in &m.tool_calls {
            expected.push(format!(
                "[tool_result] {} {}",
                call.id,
                results.next().unwrap()
            ));
        }
    }
    expected.push(format!("[answer] {}", turns[2].message.content));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        expected,
        "{flag}:\n{text}"
    );
    assert!(
        text.ends_with("[answer] Shanghai is warmer tomorrow: 26°C with rain, against 23°C and sunny in Beijing. Pack an umbrella, a light rain jacket and breathable shirts.\n"),
        "{flag}: {text}"
    );
}

/// The offline default: no key and no `--base-url` replays the three turns of the
/// chosen protocol through the whole client, and says so once on standard error.
#[test]
fn no_key_replays_three_turns_in_each_protocol() {
    for (flag, protocol) in PROTOCOLS {
        let out = agent(&["--protocol", flag]);
        check_output(&out, flag, protocol);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("DASHSCOPE_API_KEY is not set") && err.contains("three turns"),
            "{err}"
        );
    }
}

/// Against our own server: the same output, and exactly three requests. Each later one
/// is the one before plus the assistant's turn, with the reasoning that led to its
/// calls, and one result per call under the call's id, in the calls' order.
#[test]
fn each_request_carries_the_earlier_turns_reasoning_and_results() {
    for (flag, protocol) in PROTOCOLS {
        let path = endpoint(protocol);
        let server = ReplayServer::builder()
            .route_sequence(
                path,
                [1, 2, 3].map(|turn| {
                    Reply::sse(recording(turn, flag)).split(Split::Random {
                        seed: u64::from(turn),
                        max: 64,
                    })
                }),
            )
            .start()
            .unwrap();
        let out = agent(&["--protocol", flag, "--base-url", &server.base_url()]);
        check_output(&out, flag, protocol);
        assert!(out.stderr.is_empty(), "{flag}: no offline notice");

        let requests = server.requests();
        assert_eq!(requests.len(), 3, "{flag}");
        let bodies: Vec<Value> = requests
            .iter()
            .map(|r| {
                assert_eq!(r.path(), path);
                assert!(r.api_key_is("sk-placeholder"));
                serde_json::from_slice(r.body()).unwrap()
            })
            .collect();
        let native = protocol == Protocol::DashScope;
        // The same tools, offered on every request.
        for b in &bodies {
            let (_, params) = split(b, native);
            let names: Vec<&str> = params["tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["function"]["name"].as_str().unwrap())
                .collect();
            assert_eq!(names, ["get_weather", "packing_list"], "{flag}");
            assert_eq!(params["enable_thinking"], true, "{flag}");
        }

        // The conversation grows by one assistant turn and its results per request.
        let turns = decoded(flag, protocol);
        let user = json!({"role": "user", "content": QUESTION});
        let assistant = |t: &Completion| {
            let calls: Vec<Value> = t
                .message
                .tool_calls
                .iter()
                .map(|c| {
                    let mut call = json!({
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments},
                    });
                    if native {
                        call["index"] = json!(c.index);
                    }
                    call
                })
                .collect();
            json!({
                "role": "assistant",
                "content": "",
                "reasoning_content": t.message.reasoning_content,
                "tool_calls": calls,
            })
        };
        let result = |t: &Completion, i: usize, r: &str| json!({"role": "tool", "content": r, "tool_call_id": t.message.tool_calls[i].id});
        let second = vec![
            user.clone(),
            assistant(&turns[0]),
            result(&turns[0], 0, RESULTS[0]),
            result(&turns[0], 1, RESULTS[1]),
        ];
        let mut third = second.clone();
        third.extend([assistant(&turns[1]), result(&turns[1], 0, RESULTS[2])]);
        let sent: Vec<Value> = bodies.iter().map(|b| split(b, native).0).collect();
        assert_eq!(sent[0], json!([user]), "{flag}");
        assert_eq!(sent[1], Value::Array(second), "{flag}");
        assert_eq!(sent[2], Value::Array(third), "{flag}");

        // Said plainly: the reasoning each later request carries, in order.
        let reasoning = |b: &Value| -> Vec<String> {
            split(b, native)
                .0
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|m| Some(m.get("reasoning_content")?.as_str()?.to_owned()))
                .collect()
        };
        let r1 = "The user wants tomorrow's weather in Beijing and Shanghai to compare them. I'll call get_weather for both cities.";
        let r2 = "Beijing will be 23°C and sunny, Shanghai 26°C with rain, so Shanghai is warmer. Now I need a packing list for 26°C and rain.";
        assert_eq!(reasoning(&bodies[0]), Vec::<String>::new(), "{flag}");
        assert_eq!(reasoning(&bodies[1]), [r1], "{flag}");
        assert_eq!(reasoning(&bodies[2]), [r1, r2], "{flag}");
    }
}

/// The messages and the parameters of a body, wherever the protocol puts them.
fn split(body: &Value, native: bool) -> (Value, Value) {
    if native {
        (
            body["input"]["messages"].clone(),
            body["parameters"].clone(),
        )
    } else {
        (body["messages"].clone(), body.clone())
    }
}

/// A model that never stops calling tools: the loop gives up after its last turn, with
/// exit status 1.
#[test]
fn a_model_that_keeps_calling_tools_is_stopped() {
    let server = ReplayServer::start(Reply::sse(recording(1, "openai"))).unwrap();
    let out = agent(&["--base-url", &server.base_url()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("still calling tools after 8 turns"), "{err}");
    assert_eq!(server.request_count(), 8);
    // Each request was the one before plus a turn and its two results.
    let sizes: Vec<usize> = server
        .requests()
        .iter()
        .map(|r| {
            let b: Value = serde_json::from_slice(r.body()).unwrap();
            b["messages"].as_array().unwrap().len()
        })
        .collect();
    assert_eq!(sizes, [1, 4, 7, 10, 13, 16, 19, 22]);
}

#[test]
fn bad_usage_exits_2() {
    for args in [
        &["--protocol", "grpc"][..],
        &["--protocol"],
        &["--model"],
        &["extra"],
    ] {
        let out = agent(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
}
