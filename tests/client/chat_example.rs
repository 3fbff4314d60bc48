//! The `chat` example end to end: the built binary against a `ReplayServer` on
//! 127.0.0.1, in text and `--json` mode, for answers, HTTP errors, broken bodies and
//! missing configuration.
#![cfg(feature = "blocking")]

use crate::example_bin;
use crate::{outcome, render};

use std::path::PathBuf;
use std::process::Output;

use crate::data::{body_json, expected, transcript};
use dashscope_glm::chat::{Protocol, StreamDecoder, Timings};
use dashscope_glm::testing::{ReplayServer, Reply, Split};
use serde_json::{Value, json};

/// A server answering every path with `body` as an SSE stream in `split`-byte pieces.
fn serve_sse(body: Vec<u8>, split: usize) -> ReplayServer {
    ReplayServer::start(Reply::sse(body).split(Split::Every(split))).unwrap()
}

/// Runs the example with a clean environment: no DASHSCOPE_* and no proxy variables
/// unless given.
fn chat(args: &[&str], env: &[(&str, &str)]) -> Output {
    example_bin::run("chat", args, env)
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn json_answer_openai() {
    let server = serve_sse(transcript("openai_thinking.sse"), 40);
    let out = chat(
        &["--base-url", &server.base_url(), "--json"],
        &[("DASHSCOPE_API_KEY", "sk-example")],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        outcome::of_printed(&stdout_json(&out)),
        expected("openai_thinking.json")
    );
    let r = &server.requests()[0];
    assert_eq!(r.path(), "/compatible-mode/v1/chat/completions");
    assert!(r.api_key_is("sk-example"));
    assert_eq!(
        body_json(r),
        json!({
            "model": "glm-5",
            "messages": [{"role": "user", "content": "Who are you"}],
            "stream": true,
            "stream_options": {"include_usage": true},
            "enable_thinking": true,
        })
    );
}

#[test]
fn json_answer_native_cumulative_without_thinking() {
    let server = serve_sse(transcript("native_cumulative.sse"), 17);
    let out = chat(
        &[
            "--protocol",
            "dashscope",
            "--model",
            "glm-4.6",
            "--no-thinking",
            "--no-incremental-output",
            "--base-url",
            &format!("{}/", server.base_url()),
            "--json",
            "Hello there",
        ],
        &[],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        outcome::of_printed(&stdout_json(&out)),
        expected("native_cumulative.json")
    );
    let r = &server.requests()[0];
    assert_eq!(r.path(), "/api/v1/services/aigc/text-generation/generation");
    assert_eq!(r.header("x-dashscope-sse"), Some("enable"));
    assert_eq!(
        body_json(r),
        json!({
            "model": "glm-4.6",
            "input": {"messages": [{"role": "user", "content": "Hello there"}]},
            "parameters": {"result_format": "message", "incremental_output": false, "enable_thinking": false},
        })
    );
}

#[test]
fn text_mode_prints_the_banners_in_order() {
    let server = serve_sse(transcript("native_thinking.sse"), 64);
    let out = chat(
        &["--protocol", "dashscope", "--base-url", &server.base_url()],
        &[("DASHSCOPE_API_KEY", "sk-example")],
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let expect = expected("native_thinking.json");
    let thought = text
        .find("====================Thought Process====================")
        .expect("thought banner");
    let answer = text
        .find("====================Complete Response====================")
        .expect("answer banner");
    let usage = text
        .find("====================Token Usage====================")
        .expect("usage banner");
    assert!(thought < answer && answer < usage, "{text}");
    let reasoning = expect["reasoning_content"].as_str().unwrap();
    let content = expect["content"].as_str().unwrap();
    assert!(text[thought..answer].contains(reasoning), "{text}");
    assert!(text[answer..usage].contains(content), "{text}");
    let u = &expect["usage"];
    assert!(
        text[usage..].contains(&format!(
            "input_tokens: {}, output_tokens: {}, total_tokens: {}",
            u["prompt_tokens"], u["completion_tokens"], u["total_tokens"]
        )),
        "{text}"
    );
}

#[test]
fn api_error_body_is_kind_api_and_a_page_is_kind_http() {
    let server = ReplayServer::start(Reply::json(
        401,
        r#"{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"r1"}"#,
    ))
    .unwrap();
    let out = chat(
        &["--base-url", &server.base_url(), "--json"],
        &[("DASHSCOPE_API_KEY", "sk-wrong")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout_json(&out),
        json!({"error": {"kind": "api", "category": "auth", "status": 401, "code": "InvalidApiKey", "message": "Invalid API-key provided.", "request_id": "r1"}})
    );
    let html = ReplayServer::start(Reply::new(502).body("<html>Bad Gateway</html>")).unwrap();
    let out = chat(
        &[
            "--base-url",
            &html.base_url(),
            "--json",
            "--max-retries",
            "0",
        ],
        &[("DASHSCOPE_API_KEY", "sk-x")],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    assert_eq!(v["error"]["kind"], "http");
    assert_eq!(v["error"]["category"], "server");
    assert_eq!(v["error"]["status"], 502);
    assert_eq!(v["error"]["code"], Value::Null);
    assert_eq!(html.request_count(), 1, "--max-retries 0");
}

#[test]
fn broken_body_is_kind_interrupted() {
    let part = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Half an ans\"}}]}\n\n";
    // The whole piece goes out, then the connection closes without ending the body.
    let server = ReplayServer::start(Reply::sse(&part[..]).cut_after(part.len())).unwrap();
    let out = chat(
        &["--base-url", &server.base_url(), "--json"],
        &[("DASHSCOPE_API_KEY", "sk-x")],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    assert_eq!(v["error"]["kind"], "interrupted");
    assert_eq!(v["error"]["category"], "network");
}

/// What the `--json` output of a replay of `recording` must be: the recording run
/// through the library's own decoder and merger, with the request id the offline server
/// sends in its `x-request-id` header.
fn expected_from_recording(recording: &str, protocol: Protocol) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/recordings")
        .join(recording);
    let mut stream =
        StreamDecoder::new(protocol).request_id("6b1d2f7e-1c3a-4e5b-9d8f-0a1b2c3d4e5f");
    stream.feed(&std::fs::read(path).unwrap());
    render::result(&stream.finish())
}

/// The offline default: no key and no `--base-url` replays the bundled recording of the
/// chosen protocol through the whole client, and says so once on standard error.
#[test]
fn no_key_replays_the_recording_of_each_protocol() {
    for (flag, recording, protocol) in [
        ("openai", "chat_openai.sse", Protocol::OpenAiCompatible),
        ("dashscope", "chat_dashscope.sse", Protocol::DashScope),
    ] {
        let out = chat(&["--json", "--protocol", flag], &[]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let mut printed = stdout_json(&out);
        // The client's timings are printed too: measured, so checked for their shape and
        // order here, and left out of the comparison with the sans-IO layers (which
        // measure nothing).
        let timings: Timings =
            serde_json::from_value(printed["timings"].take()).expect("timings in the output");
        printed.as_object_mut().unwrap().remove("timings");
        assert_eq!(timings.requests, 1, "{flag}");
        assert!(
            timings.response_head <= timings.first_byte,
            "{flag}: {timings:?}"
        );
        assert!(
            timings.first_byte <= timings.first_reasoning,
            "{flag}: {timings:?}"
        );
        assert!(
            timings.first_reasoning <= timings.first_content,
            "{flag}: {timings:?}"
        );
        assert!(timings.first_content <= timings.end, "{flag}: {timings:?}");
        assert_eq!(
            printed,
            expected_from_recording(recording, protocol),
            "{flag}"
        );
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("DASHSCOPE_API_KEY is not set") && err.contains("replaying"),
            "{err}"
        );
    }
}

#[test]
fn no_key_text_mode_prints_the_three_sections() {
    let out = chat(&[], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let banners: Vec<&str> = text.lines().filter(|l| l.starts_with("====")).collect();
    assert_eq!(
        banners,
        [
            "====================Thought Process====================",
            "====================Complete Response====================",
            "====================Token Usage====================",
        ]
    );
    assert!(text.contains("I am GLM"), "{text}");
    assert!(
        text.contains("input_tokens: 9, output_tokens: 112, total_tokens: 121"),
        "{text}"
    );
}

/// A proxy variable that does not parse is a
/// configuration error (exit 2), not a panic and not silently ignored.
#[test]
fn invalid_proxy_in_the_environment_is_a_config_error() {
    let out = chat(
        &[],
        &[
            ("DASHSCOPE_API_KEY", "sk-secret-proxy-test"),
            ("HTTPS_PROXY", "http://[::1"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("HTTPS_PROXY"), "{err}");
    assert!(!err.contains("sk-secret-proxy-test"));
}

#[test]
fn bad_usage_exits_2() {
    let out = chat(&["--protocol", "grpc"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

/// An error inside a 2xx stream is kind `stream`, on both protocols: `status` is what
/// the event named (native `:HTTP_STATUS/400`), or null when it named none.
#[test]
fn error_inside_the_stream_is_kind_stream() {
    for (flag, recording, status, request_id) in [
        (
            "dashscope",
            "native_error_midstream.sse",
            json!(400),
            "c3d40000-0000-4000-8000-000000000005",
        ),
        (
            "openai",
            "openai_error_midstream.sse",
            Value::Null,
            "abcdabcd-0000-1111-2222-333344445555",
        ),
    ] {
        let server = serve_sse(transcript(recording), 17);
        let out = chat(
            &[
                "--protocol",
                flag,
                "--base-url",
                &server.base_url(),
                "--json",
            ],
            &[("DASHSCOPE_API_KEY", "sk-x")],
        );
        assert_eq!(out.status.code(), Some(1), "{flag}");
        let v = stdout_json(&out);
        assert_eq!(v["error"]["kind"], "stream", "{flag}");
        assert_eq!(v["error"]["category"], "content_filter", "{flag}");
        assert_eq!(v["error"]["status"], status, "{flag}");
        assert_eq!(v["error"]["request_id"], request_id, "{flag}");
        assert_eq!(
            v["error"]["message"],
            "Output data may contain inappropriate content."
        );
    }
}
