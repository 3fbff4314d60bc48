//! The client's `log` records: what a request, its answer and its retries write, at
//! which level, and that no record holds the API key or the user's words.
//!
//! The binary's one capturing logger (`tests/common/log_capture.rs`) keeps each test's
//! own thread's records (tests run in parallel, and other modules log too).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashscope_glm::blocking::{Client, RetryPolicy};
use dashscope_glm::chat::{ChatRequest, Protocol};
use dashscope_glm::testing::{ReplayServer, Reply};
use log::Level;

use crate::log_capture::{self, field, parse_duration, word_after};

const KEY: &str = "sk-logging-secret-0123456789";
const USER_TEXT: &str = "my-private-question-about-penguins";

const COMPAT_PATH: &str = "/compatible-mode/v1/chat/completions";
const NATIVE_PATH: &str = "/api/v1/services/aigc/text-generation/generation";

fn install() {
    log_capture::start();
}

/// The crate's records written on this thread since `install`: (level, text).
fn records() -> Vec<(Level, String)> {
    log_capture::take()
        .into_iter()
        .map(|r| (r.level, r.text))
        .collect()
}

fn assert_nothing_secret(records: &[(Level, String)]) {
    for (level, text) in records {
        assert!(!text.contains(KEY), "{level}: {text}");
        assert!(
            *level == Level::Trace || !text.contains(USER_TEXT),
            "{level}: {text}"
        );
    }
}

#[test]
fn a_request_logs_what_was_sent_and_answered_at_debug() {
    install();
    let body = concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Penguins\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: [DONE]\n\n",
    );
    let server = ReplayServer::builder()
        .route(
            COMPAT_PATH,
            Reply::sse(body).header("x-request-id", "req-log-1"),
        )
        .route(
            NATIVE_PATH,
            Reply::sse("data: {\"output\":{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Penguins\"},\"finish_reason\":\"stop\"}]},\"request_id\":\"req-log-2\"}\n\n")
                .header("x-request-id", "req-log-2"),
        )
        .start()
        .unwrap();
    let client = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .no_proxy()
        .build()
        .unwrap();
    let request = ChatRequest::new("glm-5").user(USER_TEXT);
    let mut stream = client.stream(&request).unwrap();
    while stream.next_event().unwrap().is_some() {}
    stream.finish().unwrap();
    client
        .complete(&request.clone().with_protocol(Protocol::DashScope))
        .ok();

    let records = records();
    assert_nothing_secret(&records);
    // Each record read for what it says (the words after `POST`, `model`, `protocol`,
    // `status` and `id`), not for its wording.
    let starting = |first: &str| -> Vec<&str> {
        records
            .iter()
            .filter(|(level, text)| *level == Level::Debug && text.split(' ').next() == Some(first))
            .map(|(_, text)| text.as_str())
            .collect()
    };
    // `streaming` or `not streaming`.
    let streaming = |text: &str| match word_after(text, "not") {
        Some("streaming") => Some(false),
        _ => text.contains("streaming").then_some(true),
    };
    let sent: Vec<_> = starting("POST")
        .into_iter()
        .map(|text| {
            (
                word_after(text, "POST"),
                word_after(text, "model"),
                word_after(text, "protocol"),
                streaming(text),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            (Some(COMPAT_PATH), Some("glm-5"), Some("openai"), Some(true)),
            (
                Some(NATIVE_PATH),
                Some("glm-5"),
                Some("dashscope"),
                Some(false)
            ),
        ],
        "{records:?}"
    );
    let answered: Vec<_> = starting("status")
        .into_iter()
        .map(|text| (word_after(text, "status"), word_after(text, "id")))
        .collect();
    assert_eq!(
        answered,
        [
            (Some("200"), Some("req-log-1")),
            (Some("200"), Some("req-log-2")),
        ],
        "{records:?}"
    );
    // Nothing from the client is louder than debug.
    assert!(
        records.iter().all(|(level, _)| *level >= Level::Debug),
        "{records:?}"
    );
}

#[test]
fn each_retry_logs_its_delay_and_cause() {
    install();
    let ok = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    let server = ReplayServer::builder()
        .route_sequence(
            COMPAT_PATH,
            [
                Reply::json(
                    503,
                    format!(r#"{{"code":"ServiceUnavailable","message":"busy: {USER_TEXT}"}}"#),
                )
                .header("retry-after-ms", "1500"),
                Reply::new(502).body(format!("<html>bad gateway {USER_TEXT}</html>")),
                Reply::sse(ok),
            ],
        )
        .start()
        .unwrap();
    // The delays the client waited out, to read the records against.
    let slept = Arc::new(Mutex::new(Vec::new()));
    let client = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .no_proxy()
        .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(400)))
        .sleeper({
            let slept = Arc::clone(&slept);
            move |delay| slept.lock().unwrap().push(delay)
        })
        .build()
        .unwrap();
    let request = ChatRequest::new("glm-5").user(USER_TEXT);
    let mut stream = client.stream(&request).unwrap();
    while stream.next_event().unwrap().is_some() {}

    let records = records();
    // The error bodies quoted the user's words; the retry records do not.
    assert_nothing_secret(&records);
    // Each retry record read for what it says: which retry of how many, the delay (as
    // `{:?}` writes it) and the cause after `after`.
    let retries: Vec<_> = records
        .iter()
        .filter(|(level, text)| *level == Level::Debug && text.starts_with("retry "))
        .map(|(_, text)| {
            (
                word_after(text, "retry"),
                word_after(text, "of"),
                word_after(text, "in").and_then(parse_duration),
                text.split_once(" after ")
                    .map_or_else(Vec::new, |(_, cause)| cause.split(' ').collect()),
            )
        })
        .collect();
    let slept = slept.lock().unwrap().clone();
    assert_eq!(slept.len(), 2, "{records:?}");
    // The server's hint, to the millisecond; then the backoff of retry 2: 400 ms * 2
    // less up to a quarter of jitter.
    assert_eq!(slept[0], Duration::from_millis(1500));
    assert!(
        (Duration::from_millis(600)..=Duration::from_millis(800)).contains(&slept[1]),
        "{slept:?}"
    );
    let expected = [
        ("1", slept[0], &["API", "503", "ServiceUnavailable"][..]),
        ("2", slept[1], &["HTTP", "502"][..]),
    ];
    assert_eq!(retries.len(), expected.len(), "{records:?}");
    for ((n, of, delay, cause), (want_n, want_delay, want_words)) in retries.iter().zip(expected) {
        assert_eq!(
            (*n, *of, *delay),
            (Some(want_n), Some("2"), Some(want_delay)),
            "{records:?}"
        );
        // The cause names the kind of failure, the status and the server's code.
        assert!(
            want_words.iter().all(|word| cause.contains(word)),
            "retry {want_n}: {cause:?} lacks one of {want_words:?}"
        );
    }
    assert_eq!(server.request_count(), 3);
}

/// The stream-end record says the time to the first token and the total time (in
/// milliseconds from the call's start) and the requests sent: parsed here, and checked
/// against the stream's own timings, not against a whole line.
#[test]
fn the_stream_end_record_has_the_time_to_first_token_and_the_total() {
    install();
    let body = concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Think\"}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Penguins\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: [DONE]\n\n",
    );
    let server = ReplayServer::builder()
        .route_sequence(
            COMPAT_PATH,
            [
                Reply::json(503, r#"{"code":"ServiceUnavailable","message":"busy"}"#),
                Reply::sse(body),
            ],
        )
        .start()
        .unwrap();
    let client = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .no_proxy()
        .sleeper(|_| {})
        .build()
        .unwrap();
    let mut stream = client
        .stream(&ChatRequest::new("glm-5").user(USER_TEXT))
        .unwrap();
    while stream.next_event().unwrap().is_some() {}
    let timings = *stream.timings();
    stream.finish().unwrap();

    let records = records();
    assert_nothing_secret(&records);
    let ends: Vec<&String> = records
        .iter()
        .filter(|(level, text)| *level == Level::Debug && text.starts_with("stream finished:"))
        .map(|(_, text)| text)
        .collect();
    assert_eq!(ends.len(), 1, "{records:?}");
    let field = |name: &str| -> &str {
        field(ends[0], name).unwrap_or_else(|| panic!("no {name} in {}", ends[0]))
    };
    let ms = |name: &str| -> f64 {
        field(name)
            .parse()
            .unwrap_or_else(|e| panic!("{name}: {e} in {}", ends[0]))
    };
    let (first_token, total) = (ms("first_token_ms"), ms("total_ms"));
    assert_eq!(field("requests"), "2");
    assert!(first_token <= total, "{}", ends[0]);
    // The figures are the stream's own timings, to the 0.1 ms they are written with.
    let close = |logged: f64, d: Option<Duration>| {
        (logged - d.unwrap().as_secs_f64() * 1e3).abs() <= 0.05 + 1e-9
    };
    assert!(
        close(first_token, timings.first_token()),
        "{} {timings:?}",
        ends[0]
    );
    assert!(close(total, timings.end), "{} {timings:?}", ends[0]);
}

/// A stream with no text at all has no time to first token: `-`.
#[test]
fn the_stream_end_record_has_no_first_token_when_no_text_came() {
    install();
    let body = "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    let server = ReplayServer::start(Reply::sse(body)).unwrap();
    let client = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .no_proxy()
        .build()
        .unwrap();
    client
        .stream(&ChatRequest::new("glm-5").user(USER_TEXT))
        .unwrap()
        .finish()
        .unwrap();
    let records = records();
    let end = records
        .iter()
        .find(|(_, text)| text.starts_with("stream finished:"))
        .map(|(_, text)| text)
        .unwrap();
    assert_eq!(field(end, "first_token_ms"), Some("-"), "{end}");
    assert_eq!(field(end, "requests"), Some("1"), "{end}");
}
