//! The blocking client against scripted HTTP/1.1 servers on 127.0.0.1: exact requests,
//! every error shape, retries and their delays, timeouts, interrupted streams, and the
//! HTTP-layer mistakes other clients have made (retries after the body started, lost
//! request ids, error bodies dropped).
//!
//! The server is the crate's own `testing::ReplayServer`.
#![cfg(feature = "blocking")]

use crate::{outcome, render};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::data::{body_json, expected, transcript};
use dashscope_glm::blocking::{Client, ClientBuilder, Region, RetryPolicy};
use dashscope_glm::chat::OwnedStreamEvent;
use dashscope_glm::chat::{
    ChatRequest, FinishReason, Protocol, ResponseFormat, Rule, StreamEvent, Tool, ToolChoice,
};
use dashscope_glm::testing::{Framing, ReplayServer, Reply, Split};
use dashscope_glm::{ApiErrorOrigin, ConfigKind, Error, ErrorKind, LimitKind, TimeoutKind};
use serde_json::json;

const KEY: &str = "sk-very-secret-0123456789";

const COMPAT_PATH: &str = "/compatible-mode/v1/chat/completions";
const NATIVE_PATH: &str = "/api/v1/services/aigc/text-generation/generation";

/// A `200` SSE stream with the request id header the tests expect, written in pieces of
/// `split` bytes (whole when 0).
fn sse(body: impl Into<Vec<u8>>, split: usize) -> Reply {
    let reply = Reply::sse(body).header("x-request-id", "req-header-1");
    if split == 0 {
        reply
    } else {
        reply.split(Split::Every(split))
    }
}

/// A JSON reply with a `content-length`.
fn json_reply(status: u16, body: &str) -> Reply {
    Reply::json(status, body).framing(Framing::ContentLength)
}

/// A server answering the OpenAI-compatible path with `replies` in order (the last one
/// for every request after).
fn serve(replies: impl IntoIterator<Item = Reply>) -> ReplayServer {
    ReplayServer::builder()
        .route_sequence(COMPAT_PATH, replies)
        .start()
        .unwrap()
}

/// A builder pointed at `server`, no proxy, recording retry delays instead of sleeping.
fn builder(server: &ReplayServer, delays: &Arc<Mutex<Vec<Duration>>>) -> ClientBuilder {
    let delays = delays.clone();
    Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .no_proxy()
        .sleeper(move |d| delays.lock().unwrap().push(d))
}

fn client(server: &ReplayServer) -> Client {
    builder(server, &Arc::default()).build().unwrap()
}

fn hello() -> ChatRequest {
    ChatRequest::new("glm-5").user("Who are you")
}

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "Current weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    )
}

/// Streams `request` and returns the rendered outcome and the request the server saw.
fn stream_all(
    client: &Client,
    request: &ChatRequest,
) -> Result<dashscope_glm::chat::Completion, Error> {
    let mut stream = client.stream(request)?;
    while stream.next_event()?.is_some() {}
    stream.finish()
}

#[test]
fn openai_stream_request_is_exact() {
    let server = ReplayServer::start(sse(transcript("openai_thinking.sse"), 97)).unwrap();
    let request = hello()
        .tool(weather_tool())
        .tool_stream(true)
        .thinking(true);
    let completion = stream_all(&client(&server), &request).unwrap();
    assert_eq!(outcome::view(&completion), expected("openai_thinking.json"));
    assert_eq!(completion.request_id.as_deref(), Some("req-header-1"));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method(), "POST");
    assert_eq!(r.path(), COMPAT_PATH);
    assert!(r.api_key_is(KEY));
    assert_eq!(r.header("authorization"), Some("Bearer <redacted>"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("accept"), Some("text/event-stream"));
    assert_eq!(r.header("x-dashscope-sse"), None);
    assert!(
        r.header("user-agent")
            .unwrap()
            .starts_with("dashscope-glm/")
    );
    assert_eq!(
        body_json(r),
        json!({
            "model": "glm-5",
            "messages": [{"role": "user", "content": "Who are you"}],
            "stream": true,
            "stream_options": {"include_usage": true},
            "enable_thinking": true,
            "tools": [{"type": "function", "function": {
                "name": "get_weather",
                "description": "Current weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            }}],
            "tool_stream": true,
        })
    );
}

#[test]
fn native_stream_request_is_exact() {
    let server = ReplayServer::start(sse(transcript("native_thinking.sse"), 0)).unwrap();
    let c = builder(&server, &Arc::default())
        .protocol(Protocol::DashScope)
        .build()
        .unwrap();
    let completion = stream_all(&c, &hello().system("Be brief.")).unwrap();
    assert_eq!(outcome::view(&completion), expected("native_thinking.json"));
    let r = &server.requests()[0];
    assert_eq!(r.path(), NATIVE_PATH);
    assert_eq!(r.header("x-dashscope-sse"), Some("enable"));
    assert_eq!(r.header("accept"), Some("text/event-stream"));
    assert!(r.api_key_is(KEY));
    assert_eq!(
        body_json(r),
        json!({
            "model": "glm-5",
            "input": {"messages": [
                {"role": "user", "content": "Who are you"},
                {"role": "system", "content": "Be brief."},
            ]},
            "parameters": {"result_format": "message", "incremental_output": true, "enable_thinking": true},
        })
    );
}

#[test]
fn structured_output_without_thinking_both_protocols_and_per_request_protocol() {
    let server = ReplayServer::builder()
        .route(COMPAT_PATH, sse(transcript("openai_thinking.sse"), 0))
        .route(NATIVE_PATH, sse(transcript("native_thinking.sse"), 0))
        .start()
        .unwrap();
    let c = client(&server);
    let request = ChatRequest::new("glm-4.6")
        .user("Reply in JSON")
        .thinking(false)
        .response_format(ResponseFormat::JsonObject);
    stream_all(&c, &request).unwrap();
    stream_all(&c, &request.clone().with_protocol(Protocol::DashScope)).unwrap();
    let requests = server.requests();
    assert_eq!(
        body_json(&requests[0]),
        json!({
            "model": "glm-4.6",
            "messages": [{"role": "user", "content": "Reply in JSON"}],
            "stream": true,
            "stream_options": {"include_usage": true},
            "enable_thinking": false,
            "response_format": {"type": "json_object"},
        })
    );
    assert_eq!(requests[1].path(), NATIVE_PATH);
    assert_eq!(
        body_json(&requests[1]),
        json!({
            "model": "glm-4.6",
            "input": {"messages": [{"role": "user", "content": "Reply in JSON"}]},
            "parameters": {"result_format": "message", "incremental_output": true,
                           "enable_thinking": false, "response_format": {"type": "json_object"}},
        })
    );
}

/// Every recorded transcript served through the whole client, in small chunks, gives
/// the outcome its `.json` file expects.
#[test]
fn every_transcript_through_the_client() {
    for t in crate::data::transcripts() {
        let name = &t.name;
        let server = ReplayServer::start(sse(t.bytes.clone(), 13)).unwrap();
        let c = builder(&server, &Arc::default())
            .protocol(t.protocol)
            .build()
            .unwrap();
        let request = hello().incremental_output(!t.cumulative);
        let outcome = stream_all(&c, &request);
        let mut expected = t.expected();
        // An error whose body named no request id takes the response header's.
        if let Some(id) = expected.pointer_mut("/error/request_id") {
            if id.is_null() {
                *id = json!("req-header-1");
            }
        }
        assert_eq!(outcome::of(&outcome), expected, "{name}");
        let r = &server.requests()[0];
        if name.contains("cumulative") {
            assert_eq!(
                body_json(r)["parameters"]["incremental_output"],
                false,
                "{name}"
            );
        }
        assert_eq!(server.request_count(), 1, "{name}");
    }
}

#[test]
fn owned_iterator_yields_the_same_events() {
    let body = transcript("openai_tool_stream.sse");
    // The same reply for both requests.
    let server = ReplayServer::start(sse(body, 50)).unwrap();
    let c = client(&server);
    let mut borrowed = Vec::new();
    let mut stream = c.stream(&hello()).unwrap();
    while let Some(e) = stream.next_event().unwrap() {
        borrowed.push(OwnedStreamEvent::from(e));
    }
    let mut stream = c.stream(&hello()).unwrap();
    let owned: Vec<_> = stream.by_ref().map(Result::unwrap).collect();
    assert_eq!(owned, borrowed);
    assert!(
        owned
            .iter()
            .any(|e| matches!(e, OwnedStreamEvent::ToolCallStart { .. }))
    );
    assert!(stream.next().is_none());
    let completion = stream.finish().unwrap();
    assert_eq!(completion.finish_reason, Some(FinishReason::ToolCalls));
}

#[test]
fn complete_parses_both_non_streaming_shapes() {
    let openai = r#"{"id":"chatcmpl-1","object":"chat.completion","model":"glm-4.6","choices":[{"index":0,"message":{"role":"assistant","content":"Hi there","reasoning_content":"Greet."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}"#;
    let native = r#"{"output":{"choices":[{"finish_reason":"tool_calls","message":{"role":"assistant","content":"","tool_calls":[{"index":0,"id":"call_9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"杭州\"}"}}]}}]},"usage":{"input_tokens":8,"output_tokens":39,"total_tokens":47},"request_id":"e764bfe3"}"#;
    let server = ReplayServer::builder()
        .route(
            COMPAT_PATH,
            json_reply(200, openai).header("x-request-id", "hdr-1"),
        )
        .route(NATIVE_PATH, json_reply(200, native))
        .start()
        .unwrap();
    let c = client(&server);
    let request = ChatRequest::new("glm-4.6").user("hi").thinking(false);
    let a = c.complete(&request).unwrap();
    assert_eq!(a.message.content, "Hi there");
    assert_eq!(a.message.reasoning_content, "Greet.");
    assert_eq!(a.finish_reason, Some(FinishReason::Stop));
    assert_eq!(a.usage.unwrap().total_tokens, 12);
    assert_eq!(a.request_id.as_deref(), Some("hdr-1"));
    let b = c
        .complete(&request.clone().with_protocol(Protocol::DashScope))
        .unwrap();
    assert_eq!(b.message.tool_calls[0].arguments, r#"{"city":"杭州"}"#);
    assert_eq!(b.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(b.usage.unwrap().output_tokens, 39);
    assert_eq!(b.request_id.as_deref(), Some("e764bfe3"));

    let requests = server.requests();
    assert_eq!(requests[0].header("accept"), Some("application/json"));
    assert_eq!(
        body_json(&requests[0]),
        json!({"model": "glm-4.6", "messages": [{"role": "user", "content": "hi"}], "enable_thinking": false})
    );
    assert_eq!(requests[1].header("x-dashscope-sse"), None);
}

#[test]
fn complete_body_limit() {
    let big = format!(
        r#"{{"choices":[{{"index":0,"message":{{"content":"{}"}},"finish_reason":"stop"}}]}}"#,
        "x".repeat(2000)
    );
    let server = ReplayServer::start(json_reply(200, &big)).unwrap();
    let limited = builder(&server, &Arc::default())
        .max_body_bytes(1024)
        .build()
        .unwrap();
    let err = limited.complete(&hello()).unwrap_err();
    assert_eq!(
        err.limit().map(|l| (l.kind, l.limit)),
        Some((LimitKind::BodyBytes, 1024)),
        "{err:?}"
    );
    let roomy = builder(&server, &Arc::default())
        .max_body_bytes(big.len())
        .build()
        .unwrap();
    assert_eq!(
        roomy.complete(&hello()).unwrap().message.content.len(),
        2000
    );
}

#[test]
fn business_error_in_a_200_json_body() {
    let server = ReplayServer::start(json_reply(
        200,
        r#"{"code":"InvalidParameter","message":"bad","request_id":"r-200"}"#,
    ))
    .unwrap();
    let err = client(&server).complete(&hello()).unwrap_err();
    let api = err.api().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(api.code.as_deref(), Some("InvalidParameter"));
    assert_eq!(api.request_id.as_deref(), Some("r-200"));
}

fn api_error(e: Error) -> dashscope_glm::ApiError {
    e.api()
        .cloned()
        .unwrap_or_else(|| panic!("expected an API error, got {e:?}"))
}

/// A native 401 with a flat JSON body keeps everything, and is not
/// retried.
#[test]
fn native_json_error_keeps_everything() {
    let body = r#"{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"a1c0561c-1dfe"}"#;
    let server = ReplayServer::start(json_reply(401, body).header("x-request-id", "hdr")).unwrap();
    let delays = Arc::default();
    let c = builder(&server, &delays).build().unwrap();
    let api = api_error(c.stream(&hello()).unwrap_err());
    assert_eq!(api.status, Some(401));
    assert_eq!(api.code.as_deref(), Some("InvalidApiKey"));
    assert_eq!(api.message, "Invalid API-key provided.");
    assert_eq!(api.request_id.as_deref(), Some("a1c0561c-1dfe"));
    assert_eq!(api.body.as_deref(), Some(body));
    assert_eq!(server.request_count(), 1);
    assert!(delays.lock().unwrap().is_empty());
}

/// The envelope shape, with the code a string or a number.
#[test]
fn envelope_errors_code_string_or_number() {
    let server = serve([
        json_reply(
            401,
            r#"{"error":{"message":"Incorrect API key provided. ","type":"invalid_request_error","param":null,"code":"invalid_api_key"},"request_id":"4c7a91c5"}"#,
        ),
        json_reply(400, r#"{"error":{"code":1002,"message":"bad token"}}"#)
            .header("x-request-id", "hdr-2"),
        json_reply(400, r#"{"code":400,"message":"numeric flat"}"#),
    ]);
    let c = client(&server);
    let a = api_error(c.stream(&hello()).unwrap_err());
    assert_eq!(
        (a.status, a.code.as_deref()),
        (Some(401), Some("invalid_api_key"))
    );
    assert_eq!(a.message, "Incorrect API key provided. ");
    assert_eq!(a.request_id.as_deref(), Some("4c7a91c5"));
    let b = api_error(c.stream(&hello()).unwrap_err());
    assert_eq!((b.status, b.code.as_deref()), (Some(400), Some("1002")));
    assert_eq!(
        b.request_id.as_deref(),
        Some("hdr-2"),
        "the header when the body has none"
    );
    let n = api_error(c.complete(&hello()).unwrap_err());
    assert_eq!(n.code.as_deref(), Some("400"));
}

/// A non-2xx status with an SSE body: the first data event is the error.
#[test]
fn non_2xx_with_sse_body() {
    let body = "data: {\"error\":{\"code\":\"data_inspection_failed\",\"param\":null,\"message\":\"Input text data may contain inappropriate content.\",\"type\":\"data_inspection_failed\"}}\n\n";
    let server = ReplayServer::start(
        Reply::new(400)
            .header("content-type", "text/event-stream;charset=UTF-8")
            .header("x-request-id", "sse-err-1")
            .body(body)
            .split(Split::Every(10)),
    )
    .unwrap();
    let err = client(&server).stream(&hello()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api, "{err:?}");
    let api = err.api().unwrap();
    assert_eq!(api.status, Some(400));
    assert_eq!(api.code.as_deref(), Some("data_inspection_failed"));
    assert!(api.message.starts_with("Input text data"));
    assert_eq!(api.request_id.as_deref(), Some("sse-err-1"));
    assert_eq!(api.origin, ApiErrorOrigin::Response);
    let rendered = render::error(&err);
    assert_eq!(rendered["error"]["kind"], "api");
    assert_eq!(rendered["error"]["category"], "content_filter");
    assert_eq!(rendered["error"]["status"], 400);
    assert_eq!(rendered["error"]["request_id"], "sse-err-1");
}

/// HTML from a wrong base URL is an HTTP error with a snippet, not a JSON
/// decode error.
#[test]
fn html_error_body() {
    let html = format!(
        "<html><head><title>404 Not Found</title></head><body>{}</body></html>",
        "x".repeat(5000)
    );
    let server = serve([
        Reply::new(404)
            .header("content-type", "text/html")
            .header("x-request-id", "html-1")
            .body(html)
            .split(Split::Every(700)),
        Reply::new(403).framing(Framing::ContentLength),
    ]);
    let c = client(&server);
    let err = c.stream(&hello()).unwrap_err();
    let h = err.http().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(h.status, 404);
    assert!(h.body_snippet.starts_with("<html><head><title>404"));
    assert!(h.body_snippet.len() <= dashscope_glm::HttpError::SNIPPET_LEN);
    assert_eq!(err.request_id(), Some("html-1"));
    let err = c.stream(&hello()).unwrap_err();
    let h = err.http().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!((h.status, h.body_snippet.as_str()), (403, ""));
}

#[test]
fn in_band_error_and_malformed_chunk_keep_request_id_and_partial() {
    let native_err = transcript("native_error_midstream.sse");
    let malformed = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Par\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}data: {\n\n";
    let server = ReplayServer::builder()
        .route(NATIVE_PATH, sse(native_err, 5))
        .route(COMPAT_PATH, sse(&malformed[..], 7))
        .start()
        .unwrap();
    let c = builder(&server, &Arc::default())
        .protocol(Protocol::DashScope)
        .build()
        .unwrap();
    let err = stream_all(&c, &hello()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stream, "{err:?}");
    let api = err.api().unwrap();
    assert_eq!(
        (api.status, api.code.as_deref()),
        (Some(400), Some("DataInspectionFailed"))
    );
    assert!(err.partial().is_some());
    assert!(err.request_id().is_some());

    let err = stream_all(&c, &hello().with_protocol(Protocol::OpenAiCompatible)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed, "{err:?}");
    assert_eq!(err.partial().unwrap().message.content, "Par");
    assert_eq!(err.request_id(), Some("req-header-1"));
    assert_eq!(server.request_count(), 2);
}

/// A socket closed mid-stream: Interrupted with the partial text, the
/// request id, and exactly one request, whatever the framing.
#[test]
fn closed_mid_stream_is_interrupted_never_retried() {
    let part = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello, wor\"}}]}\n\ndata: {\"choices\":[{\"ind";
    // A body longer than what is sent: the content-length promises 100 more bytes.
    let mut body = part.to_vec();
    body.extend_from_slice(&[b'x'; 100]);
    for framing in [Framing::Chunked, Framing::ContentLength, Framing::Close] {
        let reply = sse(&body[..], 9).framing(framing).cut_after(part.len());
        let server = serve([reply, sse(transcript("openai_thinking.sse"), 0)]);
        let delays = Arc::default();
        let c = builder(&server, &delays).build().unwrap();
        let mut stream = c.stream(&hello()).unwrap();
        let mut text = String::new();
        let err = loop {
            match stream.next_event() {
                Ok(Some(StreamEvent::Content(t))) => text.push_str(t),
                Ok(Some(_)) => {}
                Ok(None) => panic!("{framing:?}: a cut stream must not end cleanly"),
                Err(e) => break e,
            }
        };
        assert_eq!(text, "Hello, wor", "{framing:?}");
        assert_eq!(err.kind(), ErrorKind::Interrupted, "{framing:?}: {err:?}");
        let partial = err.partial().unwrap();
        assert_eq!(partial.message.content, "Hello, wor");
        assert_eq!(partial.request_id.as_deref(), Some("req-header-1"));
        assert_eq!(server.request_count(), 1, "{framing:?}: never retried");
        assert!(delays.lock().unwrap().is_empty());
        assert_eq!(render::error(&err)["error"]["kind"], "interrupted");
    }
}

/// A connection dropped after the server read the whole request, before any response:
/// the server may be generating (and billing) the answer, so it is not sent again by
/// default; `RetryPolicy::retry_unanswered` opts in.
#[test]
fn hang_up_after_the_request_is_retried_only_when_asked() {
    let server = serve([
        Reply::new(200).hang_up(),
        sse(transcript("openai_thinking.sse"), 0),
    ]);
    let delays = Arc::default();
    let c = builder(&server, &delays).build().unwrap();
    let err = stream_all(&c, &hello()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    assert_eq!(err.attempts(), 1);
    assert!(
        std::error::Error::source(&err).is_some(),
        "the I/O cause is kept"
    );
    assert_eq!(server.request_count(), 1, "sent once");
    assert!(delays.lock().unwrap().is_empty());

    let server = serve([
        Reply::new(200).hang_up(),
        sse(transcript("openai_thinking.sse"), 0),
    ]);
    let delays = Arc::default();
    let c = builder(&server, &delays)
        .retry_policy(RetryPolicy::default().retry_unanswered(true))
        .build()
        .unwrap();
    let completion = stream_all(&c, &hello()).unwrap();
    assert_eq!(completion.message.content, "I am GLM, a language model.");
    assert_eq!(server.request_count(), 2);
    assert_eq!(delays.lock().unwrap().len(), 1);
    assert_eq!(completion.timings.unwrap().requests, 2);
}

#[test]
fn connection_refused_is_a_transport_error_after_retries() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let delays: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let d = delays.clone();
    let c = Client::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}"))
        .no_proxy()
        .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(100)))
        .sleeper(move |x| d.lock().unwrap().push(x))
        .build()
        .unwrap();
    let err = c.stream(&hello()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    assert_eq!(err.attempts(), 3, "the first request and two retries");
    // The message says how many requests were sent; the cause stays in the source.
    assert!(err.to_string().ends_with(" (after 3 requests)"), "{err}");
    assert!(err.is_retryable());
    assert!(std::error::Error::source(&err).is_some());
    let delays = delays.lock().unwrap().clone();
    assert_eq!(delays.len(), 2, "two retries by default");
    assert!(delays[0] <= Duration::from_millis(100) && delays[0] >= Duration::from_millis(75));
    assert!(delays[1] <= Duration::from_millis(200) && delays[1] >= Duration::from_millis(150));
    assert!(!format!("{err} {err:?}").contains(KEY));
}

fn retried_delays(reply: Reply, max_retries: u32) -> (usize, Vec<Duration>, Result<(), Error>) {
    let server = serve([reply, sse(transcript("openai_thinking.sse"), 0)]);
    let delays: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let c = builder(&server, &delays)
        .max_retries(max_retries)
        .build()
        .unwrap();
    let result = stream_all(&c, &hello()).map(|_| ());
    let d = delays.lock().unwrap().clone();
    (server.request_count(), d, result)
}

/// Each Retry-After form gives its delay (recorded, not slept), capped.
#[test]
fn retry_after_forms() {
    let throttle = r#"{"code":"Throttling.RateQuota","message":"Requests rate limit exceeded, please try again later.","request_id":"t-1"}"#;
    let cases: Vec<(Reply, Duration)> = vec![
        (
            json_reply(429, throttle).header("retry-after", "3"),
            Duration::from_secs(3),
        ),
        (
            json_reply(429, throttle)
                .header("retry-after-ms", "1500")
                .header("retry-after", "9"),
            Duration::from_millis(1500),
        ),
        (
            json_reply(429, throttle).header("retry-after", "120"),
            Duration::from_secs(60),
        ),
        (
            json_reply(503, "{}").header("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"),
            Duration::from_secs(60),
        ),
        (
            json_reply(503, "{}").header("retry-after", "Thu, 01 Jan 1970 00:00:00 GMT"),
            Duration::ZERO,
        ),
    ];
    for (reply, want) in cases {
        let (requests, delays, result) = retried_delays(reply, 2);
        result.unwrap();
        assert_eq!(requests, 2);
        assert_eq!(delays, [want]);
    }
    // An HTTP date a few seconds ahead: about that many seconds.
    let soon = std::time::SystemTime::now() + Duration::from_secs(30);
    let secs = soon
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let date = imf_fixdate(secs);
    let (_, delays, result) =
        retried_delays(json_reply(429, throttle).header("retry-after", &date), 2);
    result.unwrap();
    assert!(
        delays[0] > Duration::from_secs(25) && delays[0] <= Duration::from_secs(30),
        "{delays:?}"
    );
}

fn imf_fixdate(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant), for the test only.
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn retryable_statuses_and_the_should_retry_header() {
    for status in [408, 409, 429, 500, 502, 503, 504] {
        let (requests, delays, result) = retried_delays(json_reply(status, "{}"), 1);
        assert!(result.is_ok(), "{status}: {result:?}");
        assert_eq!((requests, delays.len()), (2, 1), "{status}");
    }
    for status in [400, 401, 403, 404, 413] {
        let (requests, delays, result) = retried_delays(json_reply(status, "{}"), 2);
        assert!(result.is_err(), "{status}");
        assert_eq!((requests, delays.len()), (1, 0), "{status}");
    }
    let (requests, _, result) =
        retried_delays(json_reply(503, "{}").header("x-should-retry", "false"), 2);
    assert_eq!(requests, 1);
    assert!(result.is_err());
    let (requests, _, result) =
        retried_delays(json_reply(400, "{}").header("x-should-retry", "true"), 2);
    assert_eq!(requests, 2);
    assert!(result.is_ok());
    // max_retries(0): off.
    let (requests, delays, result) = retried_delays(json_reply(503, "{}"), 0);
    assert_eq!((requests, delays.len()), (1, 0));
    assert!(result.is_err());
}

#[test]
fn retries_give_up_after_the_policy_with_backoff() {
    let server = serve([
        json_reply(500, "{}"),
        json_reply(500, "{}"),
        json_reply(500, r#"{"code":"InternalError","message":"third"}"#),
    ]);
    let delays: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let c = builder(&server, &delays).build().unwrap();
    let api = api_error(c.stream(&hello()).unwrap_err());
    assert_eq!(api.message, "third");
    assert_eq!(server.request_count(), 3);
    let d = delays.lock().unwrap().clone();
    assert_eq!(d.len(), 2);
    assert!(
        d[0] >= Duration::from_millis(375) && d[0] <= Duration::from_millis(500),
        "{d:?}"
    );
    assert!(
        d[1] >= Duration::from_millis(750) && d[1] <= Duration::from_millis(1000),
        "{d:?}"
    );
}

/// Quota and billing errors are never retried; a plain throttle is.
#[test]
fn quota_errors_are_not_retried() {
    // What a person must settle: arrears, a used-up free quota, a workspace that has not
    // subscribed (429, but no retry helps), Z.ai's arrears and expired plan codes.
    for body in [
        r#"{"code":"Throttling.AllocationQuota","message":"Free allocated quota exceeded."}"#,
        r#"{"error":{"message":"Free allocated quota exceeded.","type":"insufficient_quota","code":"insufficient_quota"}}"#,
        r#"{"code":"Arrearage","message":"Access denied, please make sure your account is in good standing."}"#,
        r#"{"code":"CommodityNotPurchased","message":"Commodity has not purchased yet."}"#,
        r#"{"error":{"code":"1113","message":"Your account is in arrears, please recharge and try again"}}"#,
        r#"{"error":{"code":"1309","message":"Your GLM Coding Plan package has expired"}}"#,
    ] {
        let (requests, delays, result) = retried_delays(
            json_reply(429, body)
                .header("retry-after", "1")
                .header("x-should-retry", "true"),
            2,
        );
        assert_eq!((requests, delays.len()), (1, 0), "{body}");
        let err = result.unwrap_err();
        assert!(!err.is_retryable(), "{body}");
    }
    // Rate limits are retried: Model Studio's tokens-per-minute limit reads
    // `Throttling.AllocationQuota` / `insufficient_quota` (not money, unlike OpenAI's word).
    for body in [
        r#"{"code":"Throttling","message":"Requests throttling triggered."}"#,
        r#"{"code":"Throttling.AllocationQuota","message":"Allocated quota exceeded, please increase your quota limit."}"#,
        r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","code":"insufficient_quota"}}"#,
        r#"{"error":{"code":"1302","message":"Rate limit reached for requests"}}"#,
    ] {
        let (requests, _, result) = retried_delays(json_reply(429, body), 2);
        assert_eq!(requests, 2, "{body}");
        assert!(result.is_ok(), "{body}");
    }
}

/// Nothing is retried after the first event, even when the status would be retryable
/// in-band (a `:HTTP_STATUS/500` error event).
#[test]
fn no_retry_after_the_first_event() {
    let body = b"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"choices\":[{\"message\":{\"content\":\"Hi\",\"role\":\"assistant\"},\"finish_reason\":\"null\"}]},\"request_id\":\"r9\"}\n\nid:2\nevent:error\n:HTTP_STATUS/500\ndata:{\"code\":\"InternalError\",\"message\":\"boom\",\"request_id\":\"r9\"}\n\n";
    let (requests, delays, result) = {
        let server = ReplayServer::start(sse(&body[..], 11)).unwrap();
        let delays: Arc<Mutex<Vec<Duration>>> = Arc::default();
        let c = builder(&server, &delays)
            .protocol(Protocol::DashScope)
            .build()
            .unwrap();
        let result = stream_all(&c, &hello());
        let d = delays.lock().unwrap().clone();
        (server.request_count(), d, result)
    };
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stream, "{err:?}");
    let api = err.api().unwrap();
    assert_eq!(
        (api.status, api.code.as_deref()),
        (Some(500), Some("InternalError"))
    );
    assert!(
        err.is_retryable(),
        "retryable by status, yet the client did not retry"
    );
    assert_eq!(err.partial().unwrap().message.content, "Hi");
    assert_eq!((requests, delays.len()), (1, 0));
}

/// Headers, one event, then silence: an idle timeout, with the partial.
#[test]
fn idle_timeout_on_a_stalled_stream() {
    let first = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n";
    let server =
        ReplayServer::start(sse(&first[..], 0).stall_after(first.len(), Duration::from_secs(10)))
            .unwrap();
    let c = builder(&server, &Arc::default())
        .idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = stream_all(&c, &hello()).unwrap_err();
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::Idle), "{err:?}");
    let partial = err.partial().expect("the partial completion");
    assert_eq!(partial.message.content, "Hel");
    assert_eq!(partial.request_id.as_deref(), Some("req-header-1"));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the stall was cut by the timeout"
    );
    assert_eq!(server.request_count(), 1);
}

#[test]
fn idle_timeout_waiting_for_the_response_headers() {
    let server = ReplayServer::start(sse(&b""[..], 0).head_delay(Duration::from_secs(10))).unwrap();
    let c = builder(&server, &Arc::default())
        .idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = c.stream(&hello()).unwrap_err();
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::Idle), "{err:?}");
    assert!(err.partial().is_none());
    assert_eq!(server.request_count(), 1, "a read timeout is not retried");
}

/// A body paced over ~2 s, a piece every 100 ms.
fn trickle() -> Reply {
    let body = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"slow but steady\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    sse(&body[..], body.len().div_ceil(20)).pause(Duration::from_millis(100))
}

/// A slow, steady stream is never cut by the idle timeout.
#[test]
fn slow_steady_stream_survives_the_idle_timeout() {
    let server = ReplayServer::start(trickle()).unwrap();
    let c = builder(&server, &Arc::default())
        .idle_timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let completion = stream_all(&c, &hello()).unwrap();
    assert_eq!(completion.message.content, "slow but steady");
    assert!(
        started.elapsed() > Duration::from_millis(1500),
        "the body really trickled"
    );
}

/// The total deadline is separate and opt-in: it cuts the same stream.
#[test]
fn total_deadline_cuts_a_long_stream() {
    let server = ReplayServer::start(trickle()).unwrap();
    let c = builder(&server, &Arc::default())
        .idle_timeout(Duration::from_millis(400))
        .total_timeout(Duration::from_millis(600))
        .build()
        .unwrap();
    let err = stream_all(&c, &hello()).unwrap_err();
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::Total), "{err:?}");
    assert!(err.partial().is_some());
}

/// A normal end with tool_calls or length: Ok(None), one request.
#[test]
fn normal_end_with_tool_calls_or_length() {
    for (name, native, reason) in [
        ("openai_tool_stream.sse", false, FinishReason::ToolCalls),
        ("native_parallel_tools.sse", true, FinishReason::ToolCalls),
        ("native_length.sse", true, FinishReason::Length),
    ] {
        let server = ReplayServer::start(sse(transcript(name), 31)).unwrap();
        let c = builder(&server, &Arc::default())
            .protocol(if native {
                Protocol::DashScope
            } else {
                Protocol::OpenAiCompatible
            })
            .build()
            .unwrap();
        let mut stream = c.stream(&hello()).unwrap();
        let mut last = None;
        for event in stream.by_ref() {
            last = Some(event.unwrap());
        }
        assert!(stream.next().is_none());
        assert!(matches!(stream.next_event(), Ok(None)), "{name}");
        let completion = stream.finish().unwrap();
        assert_eq!(completion.finish_reason, Some(reason.clone()), "{name}");
        assert!(last.is_some());
        assert_eq!(server.request_count(), 1, "{name}");
    }
}

/// After a terminal error the stream is fused and never reads again. The
/// server keeps the socket open after the error: a read would block until the idle
/// timeout and give a Timeout instead of the same API error.
#[test]
fn fused_after_an_error_no_read() {
    let body = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\ndata: {\"error\":{\"code\":\"data_inspection_failed\",\"message\":\"no\"}}\n\n";
    let stalled = || sse(&body[..], 0).stall_after(body.len(), Duration::from_secs(30));
    let server = ReplayServer::start(stalled()).unwrap();
    let c = builder(&server, &Arc::default())
        .idle_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let mut stream = c.stream(&hello()).unwrap();
    assert!(matches!(
        stream.next_event(),
        Ok(Some(StreamEvent::Content("x")))
    ));
    let first = stream.next_event().unwrap_err();
    assert_eq!(first.kind(), ErrorKind::Stream, "{first:?}");
    for _ in 0..3 {
        assert_eq!(stream.next_event().unwrap_err(), first);
    }
    // The iterator: the error once, then None forever.
    let server2 = ReplayServer::start(stalled()).unwrap();
    let c2 = builder(&server2, &Arc::default())
        .idle_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut it = c2.stream(&hello()).unwrap();
    assert!(matches!(it.next(), Some(Ok(OwnedStreamEvent::Content(_)))));
    assert!(matches!(it.next(), Some(Err(e)) if e.kind() == ErrorKind::Stream));
    assert!(it.next().is_none());
    assert!(it.next().is_none());
    assert_eq!(it.finish().unwrap_err(), first);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "no read blocked"
    );
}

/// The socket is read only inside next_event: while the consumer waits, the
/// server cannot push the whole body (TCP flow control), and nothing buffers it.
#[test]
fn reads_only_inside_next_event() {
    let piece = format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}\"}}}}]}}\n\n",
        "y".repeat(64 * 1024)
    );
    let events = 400; // ~26 MB, more than loopback socket buffers hold
    let mut body = Vec::new();
    for _ in 0..events {
        body.extend_from_slice(piece.as_bytes());
    }
    body.extend_from_slice(b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
    let total = body.len() as u64;
    let server = ReplayServer::start(sse(body, 64 * 1024)).unwrap();
    let c = client(&server);
    let mut stream = c.stream(&hello()).unwrap();
    assert!(matches!(
        stream.next_event(),
        Ok(Some(StreamEvent::Content(_)))
    ));
    std::thread::sleep(Duration::from_millis(300));
    let written = server.body_bytes_written();
    assert!(
        written < total / 2,
        "the server wrote {written} of {total} bytes while the consumer waited"
    );
    let mut n = 1;
    while let Some(e) = stream.next_event().unwrap() {
        if matches!(e, StreamEvent::Content(_)) {
            n += 1;
        }
    }
    assert_eq!(n, events);
}

#[test]
fn validation_failure_sends_nothing() {
    let server = ReplayServer::builder().start().unwrap();
    let c = client(&server);
    let bad = [
        (
            hello()
                .response_format(ResponseFormat::JsonObject)
                .user("json please"),
            Rule::StructuredOutputWithThinking,
        ),
        (
            hello()
                .thinking(false)
                .response_format(ResponseFormat::JsonObject),
            Rule::JsonObjectWithoutJsonWord,
        ),
        (hello().max_tokens(16_385), Rule::MaxTokensAboveLimit),
        (
            hello().thinking_budget(40_000),
            Rule::ThinkingBudgetAboveLimit,
        ),
        (hello().extra("enable_search", true), Rule::WebSearch),
        (hello().extra("partial", true), Rule::PartialMode),
        (
            hello()
                .tool(weather_tool())
                .tool_choice(ToolChoice::function("get_weather")),
            Rule::ForcedToolChoiceWithThinking,
        ),
        (hello().extra("stream", false), Rule::ExtraCollidesWithField),
    ];
    for (request, want) in bad {
        for result in [
            c.stream(&request).map(|_| ()),
            c.complete(&request).map(|_| ()),
        ] {
            let err = result.unwrap_err();
            assert_eq!(err.rule(), Some(want), "{err:?}");
            assert_eq!(err.attempts(), 0, "nothing was sent");
        }
    }
    assert_eq!(server.request_count(), 0);
}

/// The base URL joins the endpoint with exactly one `/`, and a versioned
/// prefix is never injected twice.
#[test]
fn base_url_joining() {
    let body = transcript("openai_thinking.sse");
    let native = transcript("native_thinking.sse");
    for (suffix, protocol, path) in [
        (
            "",
            Protocol::OpenAiCompatible,
            "/compatible-mode/v1/chat/completions",
        ),
        (
            "/",
            Protocol::OpenAiCompatible,
            "/compatible-mode/v1/chat/completions",
        ),
        (
            "//",
            Protocol::DashScope,
            "/api/v1/services/aigc/text-generation/generation",
        ),
        (
            "/compatible-mode/v1",
            Protocol::OpenAiCompatible,
            "/compatible-mode/v1/chat/completions",
        ),
        (
            "/compatible-mode/v1/",
            Protocol::OpenAiCompatible,
            "/compatible-mode/v1/chat/completions",
        ),
        (
            "/api/v1",
            Protocol::DashScope,
            "/api/v1/services/aigc/text-generation/generation",
        ),
        (
            "/api/v1/",
            Protocol::OpenAiCompatible,
            "/compatible-mode/v1/chat/completions",
        ),
        (
            "/gateway/",
            Protocol::OpenAiCompatible,
            "/gateway/compatible-mode/v1/chat/completions",
        ),
    ] {
        let reply = if protocol == Protocol::DashScope {
            &native
        } else {
            &body
        };
        // Every path gets the stream: the test checks which one was asked for.
        let server = ReplayServer::start(sse(reply.clone(), 0)).unwrap();
        let c = Client::builder()
            .api_key(KEY)
            .base_url(format!("{}{suffix}", server.base_url()))
            .protocol(protocol)
            .no_proxy()
            .build()
            .unwrap();
        stream_all(&c, &hello()).unwrap();
        assert_eq!(server.requests()[0].path(), path, "{suffix:?}");
    }
}

/// Bad configuration is a typed error, never a panic.
#[test]
fn bad_proxy_and_config_errors() {
    for proxy in [
        "http://[::1",
        "http://exa mple.com:80",
        "http://host:99999999",
        "ftp://user@:",
        "socks5://proxy.example:1080",
        "socks4://proxy.example:1080",
    ] {
        let err = Client::builder()
            .api_key(KEY)
            .proxy(proxy)
            .build()
            .unwrap_err();
        assert_eq!(
            err.config_kind(),
            Some(ConfigKind::Proxy),
            "{proxy:?}: {err:?}"
        );
        assert!(err.to_string().contains("proxy"), "{err}");
    }
    let err = Client::builder().build().unwrap_err();
    assert!(
        err.config_kind() == Some(ConfigKind::ApiKey)
            && err.to_string().contains("DASHSCOPE_API_KEY"),
        "{err}"
    );
    assert_eq!(
        Client::builder()
            .api_key("sk bad\nkey")
            .build()
            .unwrap_err()
            .config_kind(),
        Some(ConfigKind::ApiKey)
    );
    let insecure = Client::builder()
        .api_key(KEY)
        .base_url("http://gateway.example.com")
        .build()
        .unwrap_err();
    assert_eq!(insecure.config_kind(), Some(ConfigKind::Url), "{insecure}");
    assert!(insecure.to_string().contains("http"), "{insecure}");
    assert!(!insecure.to_string().contains(KEY));
    assert!(
        Client::builder()
            .api_key(KEY)
            .base_url("http://gateway.example.com")
            .allow_insecure_http(true)
            .no_proxy()
            .build()
            .is_ok()
    );
    assert_eq!(
        Client::builder()
            .api_key(KEY)
            .base_url("not a url")
            .build()
            .unwrap_err()
            .config_kind(),
        Some(ConfigKind::Url)
    );
    assert_eq!(
        Client::builder()
            .api_key(KEY)
            .workspace("bad.host/x")
            .no_proxy()
            .build()
            .unwrap_err()
            .config_kind(),
        Some(ConfigKind::Workspace)
    );
}

#[test]
fn regions_workspaces_and_env() {
    let c = |b: ClientBuilder| b.api_key(KEY).no_proxy().build().unwrap();
    assert_eq!(
        c(Client::builder()).endpoint(Protocol::OpenAiCompatible),
        Some("https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions")
    );
    for (region, host) in [
        (Region::Beijing, "https://dashscope.aliyuncs.com"),
        (Region::Singapore, "https://dashscope-intl.aliyuncs.com"),
        (Region::Us, "https://dashscope-us.aliyuncs.com"),
        (
            Region::HongKong,
            "https://cn-hongkong.dashscope.aliyuncs.com",
        ),
    ] {
        assert_eq!(
            c(Client::builder().region(region)).endpoint(Protocol::DashScope),
            Some(format!("{host}/api/v1/services/aigc/text-generation/generation").as_str())
        );
    }
    assert_eq!(
        c(Client::builder()
            .region(Region::Singapore)
            .workspace("ws-123"))
        .endpoint(Protocol::OpenAiCompatible),
        Some("https://ws-123.ap-southeast-1.maas.aliyuncs.com/compatible-mode/v1/chat/completions")
    );
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let from_env = Client::builder()
        .apply_env(env(&[
            ("DASHSCOPE_API_KEY", KEY),
            ("DASHSCOPE_REGION", "cn-hongkong"),
            ("DASHSCOPE_WORKSPACE", "llm-abc"),
        ]))
        .unwrap()
        .no_proxy()
        .build()
        .unwrap();
    assert_eq!(
        from_env.endpoint(Protocol::OpenAiCompatible),
        Some("https://llm-abc.cn-hongkong.maas.aliyuncs.com/compatible-mode/v1/chat/completions")
    );
    let base = Client::builder()
        .apply_env(env(&[
            ("DASHSCOPE_API_KEY", KEY),
            ("DASHSCOPE_BASE_URL", "http://127.0.0.1:1/api/v1/"),
            ("DASHSCOPE_WORKSPACE", "ignored"),
        ]))
        .unwrap()
        .no_proxy()
        .build()
        .unwrap();
    assert_eq!(
        base.endpoint(Protocol::DashScope),
        Some("http://127.0.0.1:1/api/v1/services/aigc/text-generation/generation")
    );
    assert_eq!(
        Client::builder()
            .apply_env(env(&[("DASHSCOPE_REGION", "mars-1")]))
            .unwrap_err()
            .config_kind(),
        Some(ConfigKind::Region)
    );
    let missing = Client::builder()
        .apply_env(env(&[("DASHSCOPE_API_KEY", "  ")]))
        .unwrap()
        .build();
    assert_eq!(missing.unwrap_err().config_kind(), Some(ConfigKind::ApiKey));
}

/// The API key never appears in a Debug print or an error.
#[test]
fn api_key_is_never_printed() {
    let builder = Client::builder().api_key(KEY).no_proxy();
    assert!(!format!("{builder:?}").contains(KEY));
    assert!(format!("{builder:?}").contains("redacted"));
    let c = builder.build().unwrap();
    assert!(!format!("{c:?}").contains(KEY));
    assert!(!format!("{c:#?}").contains(KEY));
    let server = serve([
        json_reply(
            401,
            r#"{"code":"InvalidApiKey","message":"Invalid API-key provided."}"#,
        ),
        Reply::new(500)
            .header("content-type", "text/plain")
            .body("oops"),
    ]);
    let c = builder_no_retry(&server);
    for _ in 0..2 {
        let err = c.stream(&hello()).unwrap_err();
        let printed = format!("{err} {err:?} {}", render::error(&err));
        assert!(!printed.contains(KEY), "{printed}");
    }
    let stream_server = ReplayServer::start(sse("data: {\"choices\":[]}\n\n", 0)).unwrap();
    let s = builder_no_retry(&stream_server).stream(&hello()).unwrap();
    assert!(!format!("{s:?}").contains(KEY));
}

fn builder_no_retry(server: &ReplayServer) -> Client {
    builder(server, &Arc::default())
        .max_retries(0)
        .build()
        .unwrap()
}

/// The stream reads into a reused buffer of the configured size and dropping it closes
/// the connection (the server sees the peer go away).
#[test]
fn dropping_the_stream_closes_the_connection() {
    let first = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n";
    // The stall ends when the client closes its end, long before the hold.
    let reply = sse(&first[..], 0).stall_until_client_closes(first.len(), Duration::from_secs(30));
    let server = ReplayServer::start(reply).unwrap();
    let c = builder(&server, &Arc::default())
        .read_buffer(1024)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    {
        let mut stream = c.stream(&hello()).unwrap();
        assert!(stream.next_event().unwrap().is_some());
    }
    while server.open_connection_count() > 0 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        server.open_connection_count(),
        0,
        "the client kept the socket open"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}
