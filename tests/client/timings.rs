//! `chat::Timings` as the blocking client fills them: which steps are measured for
//! which answers (reasoning and text, tool calls, a whole JSON answer, a retried call,
//! a failed stream, a pooled connection, an agent of the user's own), that they are readable while streaming
//! and end up in the completion, and that they come in the order the steps happen.
//!
//! Orderings and presence only, never durations: a loaded machine changes every figure
//! but not the order of the steps.

use std::time::Duration;

use dashscope_glm::blocking::{Client, ClientBuilder, ureq};
use dashscope_glm::chat::{Accumulator, ChatRequest, Completion, Protocol, Timings};
use dashscope_glm::testing::{ReplayServer, Reply, Split};
use dashscope_glm::{Error, ErrorKind};

use crate::data::transcript;

const COMPAT_PATH: &str = "/compatible-mode/v1/chat/completions";

fn builder(server: &ReplayServer) -> ClientBuilder {
    Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .no_proxy()
        .sleeper(|_| {})
}

fn hello() -> ChatRequest {
    ChatRequest::new("glm-5").user("Who are you")
}

fn stream_all(client: &Client) -> Result<Completion, Error> {
    let mut stream = client.stream(&hello())?;
    while stream.next_event()?.is_some() {}
    stream.finish()
}

/// The steps of a call whose answer has reasoning and text, after its connection.
const ANSWERED_WITH_REASONING: [&str; 6] = [
    "request_written",
    "response_head",
    "first_byte",
    "first_reasoning",
    "first_content",
    "end",
];

/// `steps` after those of opening a new connection.
fn on_new_connection<'s>(steps: &[&'s str]) -> Vec<&'s str> {
    [&["connecting", "connected"], steps].concat()
}

/// The steps that happened come in order: connecting <= connected <= request written
/// <= head <= first byte <= each first text <= end; the steps given as `present` are
/// measured, the others not.
fn assert_ordered(t: &Timings, present: &[&str]) {
    let steps = [
        ("connecting", t.connecting),
        ("connected", t.connected),
        ("request_written", t.request_written),
        ("response_head", t.response_head),
        ("first_byte", t.first_byte),
        ("first_reasoning", t.first_reasoning),
        ("first_content", t.first_content),
        ("first_tool_call", t.first_tool_call),
        ("end", t.end),
    ];
    for (name, value) in steps {
        assert_eq!(value.is_some(), present.contains(&name), "{name}: {t:?}");
    }
    // The steps before any text, those measured, in order; then each text after the
    // first byte and not after the end.
    let chain: Vec<Duration> = [
        t.connecting,
        t.connected,
        t.request_written,
        t.response_head,
        t.first_byte,
        t.end,
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(chain.is_sorted(), "{t:?}");
    for text in [t.first_reasoning, t.first_content, t.first_tool_call]
        .into_iter()
        .flatten()
    {
        assert!(t.first_byte.is_some_and(|b| b <= text), "{t:?}");
        assert!(t.end.is_none_or(|end| text <= end), "{t:?}");
    }
}

#[test]
fn a_stream_with_reasoning_and_text_times_both_and_no_tool_call() {
    let body = transcript("openai_thinking.sse");
    let server = ReplayServer::start(Reply::sse(body).split(Split::PerEvent)).unwrap();
    let client = builder(&server).build().unwrap();
    let mut stream = client.stream(&hello()).unwrap();
    // Readable while streaming: the head is in, no body byte was read yet.
    let at_head = *stream.timings();
    assert_ordered(
        &at_head,
        &[
            "connecting",
            "connected",
            "request_written",
            "response_head",
        ],
    );
    assert_eq!(at_head.requests, 1);
    assert_eq!(at_head.first_token(), None);
    assert!(stream.next_event().unwrap().is_some());
    assert!(stream.timings().first_byte.is_some());
    assert!(stream.timings().first_token().is_some());
    assert_eq!(stream.timings().end, None, "not over yet");
    while stream.next_event().unwrap().is_some() {}
    let timings = *stream.timings();
    let completion = stream.finish().unwrap();
    assert_eq!(completion.timings, Some(timings), "the same figures");
    assert_ordered(&timings, &on_new_connection(&ANSWERED_WITH_REASONING));
    // Reasoning comes before the answer in this transcript.
    assert!(timings.first_reasoning < timings.first_content);
    assert_eq!(timings.first_token(), timings.first_reasoning);
    assert_eq!(timings.requests, 1);
}

#[test]
fn a_stream_of_tool_calls_times_the_first_fragment() {
    let body = transcript("openai_tool_stream.sse");
    let server = ReplayServer::start(Reply::sse(body).split(Split::Every(61))).unwrap();
    let client = builder(&server).build().unwrap();
    let completion = stream_all(&client).unwrap();
    assert!(!completion.message.tool_calls.is_empty());
    let timings = completion.timings.unwrap();
    let mut present = vec![
        "connecting",
        "connected",
        "request_written",
        "response_head",
        "first_byte",
        "first_tool_call",
        "end",
    ];
    if !completion.message.content.is_empty() {
        present.push("first_content");
    }
    if !completion.message.reasoning_content.is_empty() {
        present.push("first_reasoning");
    }
    assert_ordered(&timings, &present);
}

#[test]
fn a_whole_answer_takes_its_texts_when_merged() {
    let answer = r#"{"choices":[{"index":0,"message":{"role":"assistant","reasoning_content":"Think.","content":"Hi"},"finish_reason":"stop"}]}"#;
    let server = ReplayServer::start(Reply::json(200, answer)).unwrap();
    let client = builder(&server).build().unwrap();
    let completion = client.complete(&hello()).unwrap();
    let timings = completion.timings.unwrap();
    assert_ordered(&timings, &on_new_connection(&ANSWERED_WITH_REASONING));
    // Merged whole: the texts and the end are one moment.
    assert_eq!(timings.first_reasoning, timings.end);
    assert_eq!(timings.first_content, timings.end);
    assert_eq!(timings.requests, 1);
}

#[test]
fn a_retried_call_counts_its_requests_and_times_the_last() {
    let server = ReplayServer::builder()
        .route_sequence(
            COMPAT_PATH,
            [
                Reply::json(503, r#"{"code":"ServiceUnavailable","message":"busy"}"#),
                Reply::sse(transcript("openai_thinking.sse")),
            ],
        )
        .start()
        .unwrap();
    let client = builder(&server).build().unwrap();
    let timings = stream_all(&client).unwrap().timings.unwrap();
    assert_eq!(timings.requests, 2);
    assert_eq!(server.request_count(), 2);
    assert_ordered(&timings, &on_new_connection(&ANSWERED_WITH_REASONING));
}

#[test]
fn a_stream_that_fails_has_its_end_and_no_completion() {
    let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n";
    let server = ReplayServer::start(Reply::sse(body)).unwrap();
    let client = builder(&server).build().unwrap();
    let mut stream = client.stream(&hello()).unwrap();
    let err = loop {
        match stream.next_event() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the stream was cut"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::Interrupted);
    assert_ordered(
        stream.timings(),
        &[
            "connecting",
            "connected",
            "request_written",
            "response_head",
            "first_byte",
            "first_content",
            "end",
        ],
    );
}

#[test]
fn a_call_on_a_pooled_connection_has_no_connection_steps() {
    let server = ReplayServer::builder()
        .fallback(Reply::sse(transcript("openai_thinking.sse")))
        .keep_alive(true)
        .start()
        .unwrap();
    let client = builder(&server).build().unwrap();
    let first = stream_all(&client).unwrap().timings.unwrap();
    let second = stream_all(&client).unwrap().timings.unwrap();
    assert_eq!(
        server.connection_count(),
        1,
        "the second call reused the first's"
    );
    assert_ordered(&first, &on_new_connection(&ANSWERED_WITH_REASONING));
    assert_ordered(&second, &ANSWERED_WITH_REASONING);
}

#[test]
fn with_an_agent_of_your_own_the_connection_and_the_request_write_are_not_seen() {
    let server = ReplayServer::start(Reply::sse(transcript("openai_thinking.sse"))).unwrap();
    let client = Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .agent(
            ureq::Agent::config_builder()
                .proxy(None)
                .build()
                .new_agent(),
        )
        .build()
        .unwrap();
    let timings = stream_all(&client).unwrap().timings.unwrap();
    assert_ordered(
        &timings,
        &[
            "response_head",
            "first_byte",
            "first_reasoning",
            "first_content",
            "end",
        ],
    );
}

#[test]
fn the_sans_io_layers_measure_nothing() {
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]}"#)
        .unwrap();
    let completion = acc.finish().unwrap();
    assert_eq!(completion.timings, None);
    // And a completion without timings leaves them out of its JSON.
    let json = serde_json::to_value(&completion).unwrap();
    assert!(json.get("timings").is_none());
}
