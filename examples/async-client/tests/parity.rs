//! The async client against the blocking client: every bundled recording and a set of
//! error answers, served by `ReplayServer` on 127.0.0.1 to each client in turn, give the
//! same events, the same `Completion` (timings aside: they are measured) or the same
//! error (every field but the identity of its foreign cause, its attempts and retry hint
//! included), from the same call (`next_event` or `finish`), after the same number of
//! requests, and the server receives the same requests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed assertion is its report"
)]

use std::error::Error as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use dashscope_glm::blocking;
use dashscope_glm::chat::http::RetryPolicy;
use dashscope_glm::chat::{ChatRequest, Completion, OwnedStreamEvent, Protocol};
use dashscope_glm::testing::{Framing, RecordedRequest, ReplayServer, Reply, Split};
use dashscope_glm::{Error, ErrorKind, LimitKind, TimeoutKind};
use dashscope_glm_async_client::Client;

const KEY: &str = "sk-async-parity";
const COMPATIBLE: &str = "/compatible-mode/v1/chat/completions";
/// Long enough never to strike on a loaded machine, except where a test stalls.
const IDLE: Duration = Duration::from_secs(20);
/// The idle timeout of the stall tests.
const SHORT_IDLE: Duration = Duration::from_millis(300);
/// A whole OpenAI-compatible answer, and the same answer as a stream.
const WHOLE: &str = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
const STREAM: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

/// How both clients are set up for a case.
#[derive(Clone, Copy)]
struct Setup {
    protocol: Protocol,
    policy: RetryPolicy,
    idle: Duration,
}

impl Setup {
    /// The default policy with delays short enough for tests: the same decisions.
    fn new(protocol: Protocol) -> Self {
        let policy = RetryPolicy::default()
            .base_delay(Duration::from_millis(1))
            .max_delay(Duration::from_millis(4))
            .max_retry_after(Duration::from_millis(10));
        Self {
            protocol,
            policy,
            idle: IDLE,
        }
    }

    fn blocking(&self, base_url: &str) -> blocking::Client {
        blocking::Client::builder()
            .api_key(KEY)
            .base_url(base_url)
            .no_proxy()
            .protocol(self.protocol)
            .retry_policy(self.policy)
            .idle_timeout(self.idle)
            .build()
            .unwrap()
    }

    fn asynchronous(&self, base_url: &str) -> Client {
        Client::new(base_url, KEY)
            .protocol(self.protocol)
            .retry_policy(self.policy)
            .idle_timeout(self.idle)
    }
}

#[derive(Clone, Copy, Debug)]
enum Call {
    Stream,
    Complete,
}

/// What a call gave: the events handed out, whether `next_event` itself returned the
/// error (rather than `finish`), and the result.
#[derive(Debug)]
struct Outcome {
    events: Vec<OwnedStreamEvent>,
    next_event_failed: bool,
    result: Result<Completion, Error>,
}

fn run_blocking(client: &blocking::Client, call: Call, request: &ChatRequest) -> Outcome {
    let (mut events, mut next_event_failed) = (Vec::new(), false);
    let result = match call {
        Call::Complete => client.complete(request),
        Call::Stream => match client.stream(request) {
            Err(e) => Err(e),
            Ok(mut stream) => loop {
                match stream.next_event() {
                    Ok(Some(event)) => events.push(event.into_owned()),
                    Ok(None) => break stream.finish(),
                    Err(e) => {
                        next_event_failed = true;
                        break Err(e);
                    }
                }
            },
        },
    };
    Outcome {
        events,
        next_event_failed,
        result,
    }
}

async fn run_async(client: &Client, call: Call, request: &ChatRequest) -> Outcome {
    let (mut events, mut next_event_failed) = (Vec::new(), false);
    let result = match call {
        Call::Complete => client.complete(request).await,
        Call::Stream => match client.stream(request).await {
            Err(e) => Err(e),
            Ok(mut stream) => loop {
                match stream.next_event().await {
                    Ok(Some(event)) => events.push(event.into_owned()),
                    Ok(None) => break stream.finish().await,
                    Err(e) => {
                        next_event_failed = true;
                        break Err(e);
                    }
                }
            },
        },
    };
    Outcome {
        events,
        next_event_failed,
        result,
    }
}

/// One side's run: its outcome and the requests the server received.
struct Side {
    outcome: Outcome,
    requests: Vec<RecordedRequest>,
}

/// Runs `call` through the blocking client, then the async client, each against a
/// fresh server from `serve`, and asserts that they agree. Returns (async, blocking).
async fn compare(
    what: &str,
    setup: Setup,
    call: Call,
    request: &ChatRequest,
    serve: &dyn Fn() -> ReplayServer,
) -> (Side, Side) {
    let server = serve();
    let outcome = run_blocking(&setup.blocking(&server.base_url()), call, request);
    let want = Side {
        outcome,
        requests: server.requests(),
    };
    drop(server);
    let server = serve();
    let outcome = run_async(&setup.asynchronous(&server.base_url()), call, request).await;
    let got = Side {
        outcome,
        requests: server.requests(),
    };
    drop(server);
    assert_same(&got.outcome, &want.outcome, what);
    assert_same_requests(&got.requests, &want.requests, what);
    if let Err(e) = &want.outcome.result {
        assert_eq!(e.attempts() as usize, want.requests.len(), "{what}: {e}");
    }
    (got, want)
}

fn untimed(c: &Completion) -> Completion {
    let mut c = c.clone();
    c.timings = None;
    c
}

/// The same events, the same result, from the same call.
fn assert_same(got: &Outcome, want: &Outcome, what: &str) {
    assert_eq!(got.events, want.events, "{what}: events");
    assert_eq!(
        got.next_event_failed, want.next_event_failed,
        "{what}: which call failed"
    );
    match (&got.result, &want.result) {
        (Ok(got), Ok(want)) => assert_eq!(untimed(got), untimed(want), "{what}"),
        (Err(got), Err(want)) => assert_same_error(got, want, what),
        (got, want) => panic!("{what}: the async client gave {got:?}, the blocking {want:?}"),
    }
}

/// Every field of the two errors but the identity of the foreign cause (compared by
/// identity by `Error`'s `PartialEq`; here only whether there is one).
fn assert_same_error(got: &Error, want: &Error, what: &str) {
    let what = format!("{what}: {want}");
    assert_eq!(got.kind(), want.kind(), "{what}");
    assert_eq!(got.category(), want.category(), "{what}");
    assert_eq!(got.status(), want.status(), "{what}");
    assert_eq!(got.code(), want.code(), "{what}");
    assert_eq!(got.api(), want.api(), "{what}");
    assert_eq!(got.http(), want.http(), "{what}");
    assert_eq!(got.request_id(), want.request_id(), "{what}");
    assert_eq!(got.retry_after(), want.retry_after(), "{what}");
    assert_eq!(got.attempts(), want.attempts(), "{what}");
    assert_eq!(got.timeout_kind(), want.timeout_kind(), "{what}");
    assert_eq!(got.malformed_chunk(), want.malformed_chunk(), "{what}");
    assert_eq!(got.sse(), want.sse(), "{what}");
    assert_eq!(got.limit(), want.limit(), "{what}");
    assert_eq!(got.rule(), want.rule(), "{what}");
    assert_eq!(got.is_retryable(), want.is_retryable(), "{what}");
    assert_eq!(
        got.partial().map(untimed),
        want.partial().map(untimed),
        "{what}"
    );
    assert_eq!(got.source().is_some(), want.source().is_some(), "{what}");
    assert_eq!(got.to_string(), want.to_string(), "{what}");
}

/// The same requests, in order: method, path, body, and every header but the user
/// agent and HTTP framing.
fn assert_same_requests(got: &[RecordedRequest], want: &[RecordedRequest], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: requests");
    let headers = |r: &RecordedRequest| {
        let skip = ["user-agent", "host", "content-length", "connection"];
        let mut kept: Vec<(String, String)> = r
            .headers()
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .filter(|(n, _)| !skip.contains(&n.as_str()))
            .collect();
        kept.sort();
        kept
    };
    for (got, want) in got.iter().zip(want) {
        assert_eq!(got.method(), want.method(), "{what}");
        assert_eq!(got.path(), want.path(), "{what}");
        assert_eq!(got.body(), want.body(), "{what}");
        assert_eq!(headers(got), headers(want), "{what}");
    }
}

fn request(cumulative: bool) -> ChatRequest {
    ChatRequest::new("glm-5")
        .user("Who are you")
        .incremental_output(!cumulative)
}

/// Every SSE body the library's tests replay: `tests/data/transcripts/` and the
/// examples' `examples/recordings/`, as (name, body, protocol, cumulative).
fn recordings() -> Vec<(String, Vec<u8>, Protocol, bool)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for dir in ["tests/data/transcripts", "examples/recordings"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "sse"))
            .collect();
        paths.sort();
        for path in paths {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let native = name.starts_with("native_") || name.ends_with("_dashscope");
            let protocol = if native {
                Protocol::DashScope
            } else {
                Protocol::OpenAiCompatible
            };
            let cumulative = name.contains("cumulative");
            out.push((name, std::fs::read(&path).unwrap(), protocol, cumulative));
        }
    }
    assert!(out.len() >= 29, "recordings missing: {}", out.len());
    out
}

#[tokio::test]
async fn every_recording_streams_to_the_same_events_and_completion() {
    let mut cases = 0;
    for (name, body, protocol, cumulative) in recordings() {
        let splits = [Split::Whole, Split::Random { seed: 7, max: 97 }];
        for split in splits {
            let reply = Reply::sse(body.clone())
                .header("x-request-id", "hdr-1")
                .split(split);
            let what = format!("{name}, {split:?}");
            let serve = || ReplayServer::start(reply.clone()).unwrap();
            let setup = Setup::new(protocol);
            compare(&what, setup, Call::Stream, &request(cumulative), &serve).await;
            cases += 1;
        }
    }
    assert!(cases >= 58, "{cases}");
}

/// An answer: its status, headers and body.
type Answer = (u16, Vec<(&'static str, &'static str)>, Vec<u8>);

/// Error answers of every shape: JSON of both protocols, an SSE error body, HTML,
/// nothing.
fn error_answers() -> Vec<Answer> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let native_sse =
        std::fs::read(root.join("tests/data/transcripts/native_error_no_blank_line.sse"));
    let sse_filter = "data: {\"error\":{\"code\":\"data_inspection_failed\",\"message\":\"Input text data may contain inappropriate content.\"}}\n\n";
    let json = ("content-type", "application/json");
    vec![
        (
            401,
            vec![json, ("x-request-id", "hdr")],
            br#"{"error":{"code":"invalid_api_key","message":"Incorrect API key."},"request_id":"h1"}"#.to_vec(),
        ),
        (
            401,
            vec![json],
            br#"{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"a1"}"#.to_vec(),
        ),
        (
            400,
            vec![json, ("x-request-id", "hdr-2")],
            br#"{"error":{"code":1002,"message":"bad token"}}"#.to_vec(),
        ),
        (
            400,
            vec![("content-type", "text/event-stream;charset=UTF-8"), ("x-request-id", "sse-1")],
            sse_filter.as_bytes().to_vec(),
        ),
        (400, vec![], native_sse.unwrap()),
        (
            404,
            vec![("content-type", "text/html"), ("x-request-id", "html-1")],
            format!("<html>{}</html>", "x".repeat(5000)).into_bytes(),
        ),
        (403, vec![], Vec::new()),
        (
            429,
            vec![json, ("retry-after-ms", "5")],
            br#"{"error":{"code":"limit_requests","message":"slow"}}"#.to_vec(),
        ),
        (
            429,
            vec![json, ("x-should-retry", "true")],
            br#"{"code":"Arrearage","message":"Access denied, please make sure your account is in good standing."}"#.to_vec(),
        ),
        (429, vec![("x-should-retry", "false")], Vec::new()),
        (503, vec![("retry-after", "1")], b"<html>busy</html>".to_vec()),
        (502, vec![], Vec::new()),
        (
            500,
            vec![json],
            format!(r#"{{"code":"InternalError","message":"{}"}}"#, "m".repeat(100_000)).into_bytes(),
        ),
        (
            500,
            vec![("content-type", "text/event-stream")],
            b"id:1\nevent:error\n:HTTP_STATUS/500\ndata:{\"code\":\"InternalError.Algo\",\"message\":\"An internal error has occured during execution\",\"request_id\":\"r-500\"}\n\n".to_vec(),
        ),
    ]
}

#[tokio::test]
async fn every_error_answer_gives_the_same_error_after_the_same_retries() {
    let mut cases = 0;
    for (status, headers, body) in error_answers() {
        for framing in [Framing::ContentLength, Framing::Chunked] {
            let reply = headers.iter().fold(
                Reply::new(status).body(body.clone()).framing(framing),
                |reply, (n, v)| reply.header(*n, *v),
            );
            for call in [Call::Stream, Call::Complete] {
                for protocol in [Protocol::OpenAiCompatible, Protocol::DashScope] {
                    let what = format!("{status} {headers:?} {framing:?} {call:?} {protocol:?}");
                    let serve = || ReplayServer::start(reply.clone()).unwrap();
                    let setup = Setup::new(protocol);
                    let (got, _) = compare(&what, setup, call, &request(false), &serve).await;
                    assert!(got.outcome.result.is_err(), "{what}");
                    cases += 1;
                }
            }
        }
    }
    assert!(cases >= 100, "{cases}");
}

#[tokio::test]
async fn whole_answers_give_the_same_completion_or_error() {
    let answers = [
        (
            Protocol::OpenAiCompatible,
            r#"{"id":"c-1","model":"glm-5","choices":[{"index":0,"message":{"role":"assistant","reasoning_content":"Greet.","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}"#,
        ),
        (
            Protocol::OpenAiCompatible,
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Beijing\"}"}}]},"finish_reason":"tool_calls"}]}"#,
        ),
        (
            Protocol::DashScope,
            r#"{"request_id":"r-n","output":{"choices":[{"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}]},"usage":{"input_tokens":5,"output_tokens":1,"total_tokens":6}}"#,
        ),
        // Not an answer: cut JSON, an error inside a 200, HTML.
        (
            Protocol::OpenAiCompatible,
            r#"{"choices":[{"index":0,"message":{"role":"assis"#,
        ),
        (
            Protocol::OpenAiCompatible,
            r#"{"error":{"code":"data_inspection_failed","message":"Output data may contain inappropriate content."}}"#,
        ),
        (Protocol::DashScope, "<html>gateway</html>"),
    ];
    let mut cases = 0;
    for (protocol, body) in answers {
        // A whole answer where a stream was asked for is a gateway's: merged whole too.
        for call in [Call::Complete, Call::Stream] {
            let reply = Reply::json(200, body).header("x-request-id", "hdr-w");
            let what = format!("{body} {call:?}");
            let serve = || ReplayServer::start(reply.clone()).unwrap();
            compare(&what, Setup::new(protocol), call, &request(false), &serve).await;
            cases += 1;
        }
    }
    assert_eq!(cases, 12);
}

fn sequence(replies: &[Reply]) -> ReplayServer {
    ReplayServer::builder()
        .route_sequence(COMPATIBLE, replies.to_vec())
        .start()
        .unwrap()
}

#[tokio::test]
async fn retries_then_an_answer_or_the_last_error() {
    let body = STREAM;
    let busy = Reply::json(503, r#"{"code":"ServiceUnavailable","message":"busy"}"#);
    let slow = Reply::json(
        429,
        r#"{"error":{"code":"limit_requests","message":"slow"}}"#,
    )
    .header("retry-after-ms", "3");
    let whole = WHOLE;
    let bad = Reply::json(400, r#"{"code":"InvalidParameter","message":"no"}"#);
    let cases: [(&str, Vec<Reply>, Call, usize); 6] = [
        (
            "429, 503, stream",
            vec![slow.clone(), busy.clone(), Reply::sse(body)],
            Call::Stream,
            3,
        ),
        (
            "503, 429, answer",
            vec![busy.clone(), slow.clone(), Reply::json(200, whole)],
            Call::Complete,
            3,
        ),
        ("503, 400", vec![busy.clone(), bad.clone()], Call::Stream, 2),
        (
            "429 thrice",
            vec![slow.clone(), slow.clone(), slow.clone(), Reply::sse(body)],
            Call::Stream,
            3,
        ),
        // A connection lost after the request was written: not sent again.
        (
            "hang-up",
            vec![Reply::sse(body).hang_up(), Reply::sse(body)],
            Call::Stream,
            1,
        ),
        (
            "hang-up, complete",
            vec![Reply::sse(body).hang_up(), Reply::json(200, whole)],
            Call::Complete,
            1,
        ),
    ];
    for (what, replies, call, requests) in cases {
        let serve = || sequence(&replies);
        let setup = Setup::new(Protocol::OpenAiCompatible);
        let (got, want) = compare(what, setup, call, &request(false), &serve).await;
        assert_eq!(want.requests.len(), requests, "{what}");
        assert_eq!(got.requests.len(), requests, "{what}");
    }
    // The same hang-up, with retry_unanswered: sent again.
    let mut setup = Setup::new(Protocol::OpenAiCompatible);
    setup.policy = setup.policy.retry_unanswered(true);
    let serve = || sequence(&[Reply::sse(body).hang_up(), Reply::sse(body)]);
    let (got, _) = compare(
        "hang-up, retried",
        setup,
        Call::Stream,
        &request(false),
        &serve,
    )
    .await;
    assert_eq!(got.requests.len(), 2);
    assert_eq!(got.outcome.result.unwrap().message.content, "Hi");
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_alike() {
    // A port nobody listens on any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base_url = format!("http://127.0.0.1:{port}");
    let setup = Setup::new(Protocol::OpenAiCompatible);
    for call in [Call::Stream, Call::Complete] {
        let want = run_blocking(&setup.blocking(&base_url), call, &request(false));
        let got = run_async(&setup.asynchronous(&base_url), call, &request(false)).await;
        assert_same(&got, &want, "refused");
        let err = want.result.unwrap_err();
        assert_eq!((err.kind(), err.attempts()), (ErrorKind::Transport, 3));
    }
}

#[tokio::test]
async fn a_stall_is_the_same_idle_timeout_and_a_cut_the_same_interruption() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let body = std::fs::read(root.join("tests/data/transcripts/openai_thinking.sse")).unwrap();
    let native =
        std::fs::read(root.join("tests/data/transcripts/native_parallel_tools.sse")).unwrap();
    let mut setup = Setup::new(Protocol::OpenAiCompatible);
    setup.idle = SHORT_IDLE;
    let hold = Duration::from_secs(10);
    let (thinking, tools) = (Reply::sse(body.clone()), Reply::sse(native.clone()));
    let failing = Reply::json(500, r#"{"code":"InternalError","message":"boom"}"#);
    let (n, m) = (body.len(), native.len());
    let (c, d) = (Protocol::OpenAiCompatible, Protocol::DashScope);
    let (timeout, interrupted) = (ErrorKind::Timeout, ErrorKind::Interrupted);
    let cases: Vec<(&str, Protocol, Reply, Call, ErrorKind)> = vec![
        (
            "stall mid-stream",
            c,
            thinking
                .clone()
                .split(Split::PerEvent)
                .stall_until_client_closes(n / 2, hold),
            Call::Stream,
            timeout,
        ),
        (
            "stall before the body",
            c,
            thinking.clone().stall_until_client_closes(0, hold),
            Call::Stream,
            timeout,
        ),
        (
            "stall before the head",
            c,
            thinking.clone().head_delay(Duration::from_secs(2)),
            Call::Stream,
            timeout,
        ),
        (
            "stall in a whole answer",
            c,
            Reply::json(200, WHOLE).stall_until_client_closes(20, hold),
            Call::Complete,
            timeout,
        ),
        (
            "stall in an error body: what came is the error",
            c,
            failing.stall_until_client_closes(20, hold),
            Call::Stream,
            ErrorKind::Http,
        ),
        (
            "stall mid-stream, native tools",
            d,
            tools.clone().stall_until_client_closes(m / 2, hold),
            Call::Stream,
            timeout,
        ),
        (
            "cut, chunked",
            c,
            thinking.clone().split(Split::Every(50)).cut_after(n / 2),
            Call::Stream,
            interrupted,
        ),
        (
            "cut, content-length",
            c,
            thinking
                .clone()
                .framing(Framing::ContentLength)
                .cut_after(n / 3),
            Call::Stream,
            interrupted,
        ),
        (
            "cut, close",
            c,
            thinking.clone().framing(Framing::Close).cut_after(n / 4),
            Call::Stream,
            interrupted,
        ),
        (
            "cut mid-line, native tools",
            d,
            tools.clone().cut_after(m * 2 / 3),
            Call::Stream,
            interrupted,
        ),
    ];
    for (what, protocol, reply, call, kind) in cases {
        setup.protocol = protocol;
        let serve = || ReplayServer::start(reply.clone()).unwrap();
        let (_, want) = compare(what, setup, call, &request(false), &serve).await;
        let err = want.outcome.result.unwrap_err();
        assert_eq!(err.kind(), kind, "{what}: {err}");
        if kind == ErrorKind::Timeout {
            assert_eq!(err.timeout_kind(), Some(TimeoutKind::Idle), "{what}");
        }
    }
}

#[tokio::test]
async fn a_request_refused_by_validation_is_refused_alike() {
    // A temperature out of range: nothing is sent.
    let request = ChatRequest::new("glm-5").user("hi").temperature(7.0);
    let serve = || ReplayServer::start(Reply::sse("data: [DONE]\n\n")).unwrap();
    for call in [Call::Stream, Call::Complete] {
        let setup = Setup::new(Protocol::OpenAiCompatible);
        let (got, _) = compare("validation", setup, call, &request, &serve).await;
        assert_eq!(
            got.outcome.result.unwrap_err().kind(),
            ErrorKind::Validation
        );
        assert!(got.requests.is_empty());
    }
}

/// The cases that once differed because the public layers lacked a piece (each now in
/// the chat layer, used by both clients): compared as every other case, with what each
/// must give spelled out.
#[tokio::test]
async fn what_the_layers_once_left_to_the_blocking_client_is_the_same() {
    let setup = Setup::new(Protocol::OpenAiCompatible);
    let once = |reply: Reply| move || ReplayServer::start(reply.clone()).unwrap();
    let stream = request(false);

    // 1. The attempts (`Attempts`, `Error::with_attempts`): 3 requests, every error
    //    says so.
    let (got, _) = compare(
        "503",
        setup,
        Call::Stream,
        &stream,
        &once(Reply::json(503, "{}")),
    )
    .await;
    assert_eq!(got.outcome.result.unwrap_err().attempts(), 3);

    // 2. The server's last hint, kept when the last answer has none (`Attempts`).
    let hinted = Reply::json(503, "{}").header("retry-after-ms", "2");
    let serve = || {
        sequence(&[
            hinted.clone(),
            Reply::json(500, "{}"),
            Reply::json(500, "{}"),
        ])
    };
    let (got, _) = compare("hint kept", setup, Call::Stream, &stream, &serve).await;
    let err = got.outcome.result.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_millis(2)));

    // 3. A body that ends before the answer is complete: `next_event` itself says
    //    `Interrupted` (the decoder's `ready` after `end`).
    let cut = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n";
    let (got, _) = compare("cut", setup, Call::Stream, &stream, &once(Reply::sse(cut))).await;
    assert!(got.outcome.next_event_failed);
    assert_eq!(
        got.outcome.result.unwrap_err().kind(),
        ErrorKind::Interrupted
    );

    // 4. A stall after the finish reason (no usage, no `[DONE]`): the stream ends with
    //    the answer (`StreamDecoder::timed_out`).
    let finished = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n";
    let mut short = setup;
    short.idle = SHORT_IDLE;
    let reply =
        Reply::sse(finished).stall_until_client_closes(finished.len(), Duration::from_secs(10));
    let (got, _) = compare(
        "stall after the finish",
        short,
        Call::Stream,
        &stream,
        &once(reply),
    )
    .await;
    assert_eq!(got.outcome.result.unwrap().message.content, "Hi");

    // 5. The header's request id on an error reading a whole body
    //    (`Error::with_request_id`).
    let reply = Reply::json(200, WHOLE)
        .header("x-request-id", "hdr-cut")
        .framing(Framing::ContentLength)
        .cut_after(20);
    for call in [Call::Complete, Call::Stream] {
        let (got, _) = compare("cut whole body", setup, call, &stream, &once(reply.clone())).await;
        let err = got.outcome.result.unwrap_err();
        assert_eq!(
            (err.kind(), err.request_id()),
            (ErrorKind::Transport, Some("hdr-cut"))
        );
    }

    // 6. A whole body that is not UTF-8, or over its limit, is refused
    //    (`StreamDecoder::push_whole_body`).
    let mut latin1 = WHOLE.replace("Hi", "H\u{e9}").into_bytes();
    let at = latin1.iter().position(|&b| b == 0xc3).unwrap();
    latin1.splice(at..at + 2, [0xe9]);
    for call in [Call::Complete, Call::Stream] {
        let reply = Reply::json(200, latin1.clone()).header("x-request-id", "hdr-l1");
        let (got, _) = compare("latin-1", setup, call, &stream, &once(reply)).await;
        let err = got.outcome.result.unwrap_err();
        assert_eq!(
            (err.kind(), err.request_id()),
            (ErrorKind::Malformed, Some("hdr-l1"))
        );
    }
    // One byte over the limit: the answer, then spaces.
    let over =
        WHOLE.to_owned() + &" ".repeat(dashscope_glm::chat::http::MAX_BODY + 1 - WHOLE.len());
    let (got, _) = compare(
        "over 64 MiB",
        setup,
        Call::Complete,
        &stream,
        &once(Reply::json(200, over)),
    )
    .await;
    let err = got.outcome.result.unwrap_err();
    assert_eq!(err.limit().map(|l| l.kind), Some(LimitKind::BodyBytes));
}
