//! The blocking client is one transport around the chat layer's HTTP rules: the request
//! it sends is the one `chat::http::Endpoint` makes (method, path, headers, body), the
//! error it returns for an error answer is the one `chat::http::error_from_response`
//! gives for the same status, headers and body, its retries follow
//! `RetryPolicy::decide` (and its errors say what `Attempts` keeps), and a whole body is
//! what `StreamDecoder::push_whole_body` makes of it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use dashscope_glm::blocking::{Client, RetryPolicy};
use dashscope_glm::chat::http::{
    Attempts, Endpoint, FailedAttempt, ResponseHead, error_from_response,
};
use dashscope_glm::chat::{ChatRequest, Protocol};
use dashscope_glm::testing::{Framing, ReplayServer, Reply};

use crate::data::transcript;

const KEY: &str = "sk-parity-test";

/// An answer: its status, headers and body.
type Answer = (u16, Vec<(&'static str, &'static str)>, Vec<u8>);

fn client(server: &ReplayServer, protocol: Protocol, retries: u32) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .no_proxy()
        .protocol(protocol)
        .user_agent("parity/1")
        .default_header("X-DashScope-WorkSpace", "ws-1")
        .retry_policy(RetryPolicy::default().max_retries(retries))
        .sleeper(|_| {})
        .build()
        .unwrap()
}

#[test]
fn the_client_sends_the_request_the_endpoint_makes() {
    let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    let request = ChatRequest::new("glm-5")
        .user("Hello")
        .header("X-DashScope-DataInspection", r#"{"input":"disable"}"#);
    for protocol in [Protocol::OpenAiCompatible, Protocol::DashScope] {
        for stream in [true, false] {
            let reply = if stream {
                Reply::sse(body)
            } else {
                Reply::json(
                    200,
                    r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#,
                )
            };
            let server = ReplayServer::start(reply).unwrap();
            let c = client(&server, protocol, 0);
            if stream {
                c.stream(&request).unwrap().finish().unwrap();
            } else if protocol == Protocol::OpenAiCompatible {
                c.complete(&request).unwrap();
            } else {
                // The native answer has another shape; the request is what counts here.
                let _ = c.complete(&request);
            }
            let endpoint = Endpoint::model_studio(protocol, &server.base_url())
                .api_key(KEY)
                .header("User-Agent", "parity/1")
                .header("X-DashScope-WorkSpace", "ws-1");
            let want = endpoint.request(&request, stream).unwrap();
            let got = &server.requests()[0];
            let what = format!("{protocol:?}, stream {stream}");
            assert_eq!(got.method(), want.method(), "{what}");
            assert_eq!(
                format!("{}{}", server.base_url(), got.path()),
                want.url(),
                "{what}"
            );
            assert_eq!(got.body(), want.body(), "{what}");
            for (name, value) in want.headers() {
                if name.eq_ignore_ascii_case("authorization") {
                    assert!(got.api_key_is(KEY), "{what}");
                } else {
                    assert_eq!(got.header(name), Some(value), "{what}: {name}");
                }
            }
            // Nothing but framing besides.
            for (name, _) in got.headers() {
                let framing = ["host", "content-length", "transfer-encoding", "connection"];
                assert!(
                    want.header(name).is_some()
                        || framing.iter().any(|f| f.eq_ignore_ascii_case(name)),
                    "{what}: the client added {name}"
                );
            }
        }
    }
}

#[test]
fn the_client_s_errors_are_the_mapping_s() {
    let sse_filter = "data: {\"error\":{\"code\":\"data_inspection_failed\",\"message\":\"Input text data may contain inappropriate content.\"}}\n\n";
    let answers: Vec<Answer> = vec![
        (
            401,
            vec![("content-type", "application/json"), ("x-request-id", "hdr")],
            br#"{"error":{"code":"invalid_api_key","message":"Incorrect API key."},"request_id":"h1"}"#.to_vec(),
        ),
        (
            401,
            vec![("content-type", "application/json")],
            br#"{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"a1"}"#.to_vec(),
        ),
        (
            400,
            vec![("content-type", "application/json"), ("x-request-id", "hdr-2")],
            br#"{"error":{"code":1002,"message":"bad token"}}"#.to_vec(),
        ),
        (
            400,
            vec![("content-type", "text/event-stream;charset=UTF-8"), ("x-request-id", "sse-1")],
            sse_filter.as_bytes().to_vec(),
        ),
        (400, vec![], transcript("native_error_no_blank_line.sse")),
        (
            404,
            vec![("content-type", "text/html"), ("x-request-id", "html-1")],
            format!("<html>{}</html>", "x".repeat(5000)).into_bytes(),
        ),
        (403, vec![], Vec::new()),
        (
            429,
            vec![("content-type", "application/json"), ("retry-after-ms", "5")],
            br#"{"error":{"code":"limit_requests","message":"slow"}}"#.to_vec(),
        ),
        (
            503,
            vec![("retry-after", "1")],
            b"<html>busy</html>".to_vec(),
        ),
        (
            500,
            vec![("content-type", "application/json")],
            format!(r#"{{"code":"InternalError","message":"{}"}}"#, "m".repeat(100_000)).into_bytes(),
        ),
    ];
    for (status, headers, body) in answers {
        let mut reply = Reply::new(status)
            .body(body.clone())
            .framing(Framing::ContentLength);
        for (name, value) in &headers {
            reply = reply.header(*name, *value);
        }
        let server = ReplayServer::start(reply).unwrap();
        let got = client(&server, Protocol::OpenAiCompatible, 0)
            .stream(&ChatRequest::new("glm-5").user("hi"))
            .unwrap_err();
        let want = error_from_response(status, headers.iter().copied(), &body, SystemTime::now());
        let what = format!("{status} {headers:?}");
        assert_eq!(got.kind(), want.kind(), "{what}");
        assert_eq!(got.api(), want.api(), "{what}");
        assert_eq!(got.http(), want.http(), "{what}");
        assert_eq!(got.request_id(), want.request_id(), "{what}");
        assert_eq!(got.category(), want.category(), "{what}");
        assert_eq!(got.retry_after(), want.retry_after(), "{what}");
        assert_eq!(got.attempts(), 1, "{what}");
    }
}

#[test]
fn the_client_retries_as_the_policy_decides() {
    // 503 with a hint, 429 with another, then a 400 the policy does not retry.
    let answers = [
        (503, vec![("retry-after", "2")], b"busy".to_vec()),
        (
            429,
            vec![("retry-after-ms", "1500")],
            br#"{"error":{"code":"limit_requests","message":"slow"}}"#.to_vec(),
        ),
        (
            400,
            vec![],
            br#"{"code":"InvalidParameter","message":"no"}"#.to_vec(),
        ),
    ];
    let replies: Vec<Reply> = answers
        .iter()
        .map(|(status, headers, body)| {
            headers
                .iter()
                .fold(Reply::new(*status).body(body.clone()), |reply, (n, v)| {
                    reply.header(*n, *v)
                })
        })
        .collect();
    let server =
        ReplayServer::builder().route_sequence("/compatible-mode/v1/chat/completions", replies);
    let server = server.start().unwrap();
    let slept: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let record = slept.clone();
    let c = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .no_proxy()
        .retry_policy(RetryPolicy::default().max_retries(5))
        .sleeper(move |d| record.lock().unwrap().push(d))
        .build()
        .unwrap();
    let err = c.stream(&ChatRequest::new("glm-5").user("hi")).unwrap_err();
    assert_eq!(err.attempts(), 3);
    assert_eq!(err.code(), Some("InvalidParameter"));
    // The same decisions, as data.
    let policy = RetryPolicy::default().max_retries(5);
    let mut want = Vec::new();
    for (attempt, (status, headers, body)) in answers.iter().enumerate() {
        let head = ResponseHead::new(*status, headers.iter().copied());
        let error = head.error(body, SystemTime::now());
        let failed = FailedAttempt::Status {
            head: &head,
            error: &error,
        };
        let attempts = u32::try_from(attempt).unwrap() + 1;
        match policy.decide(attempts, failed, false, 0.5) {
            Some(delay) => want.push(delay),
            None => break,
        }
    }
    assert_eq!(want, [Duration::from_secs(2), Duration::from_millis(1500)]);
    assert_eq!(*slept.lock().unwrap(), want);
}

#[test]
fn the_client_s_retry_loop_keeps_what_attempts_keeps() {
    // A hint, then two answers without one: the call's error keeps the hint.
    let answers: [(u16, Vec<(&str, &str)>); 3] = [
        (503, vec![("retry-after-ms", "20")]),
        (500, vec![("x-request-id", "r-2")]),
        (500, vec![("x-request-id", "r-3")]),
    ];
    let replies = answers.iter().map(|(status, headers)| {
        headers
            .iter()
            .fold(Reply::new(*status), |reply, (n, v)| reply.header(*n, *v))
    });
    let server = ReplayServer::builder()
        .route_sequence("/compatible-mode/v1/chat/completions", replies)
        .start()
        .unwrap();
    let got = client(&server, Protocol::OpenAiCompatible, 2)
        .stream(&ChatRequest::new("glm-5").user("hi"))
        .unwrap_err();
    // The same loop, as data, on the chat layer's record.
    let policy = RetryPolicy::default().max_retries(2);
    let mut attempts = Attempts::new();
    let mut answers = answers.iter();
    let want = loop {
        attempts.begin();
        let (status, headers) = answers.next().unwrap();
        let head = ResponseHead::new(*status, headers.iter().copied());
        let error = head.error(b"", SystemTime::now());
        let failed = FailedAttempt::Status {
            head: &head,
            error: &error,
        };
        if attempts.retry(&policy, failed, 0.5).is_none() {
            break attempts.error(error);
        }
    };
    assert_eq!(got, want);
    assert_eq!(
        (got.attempts(), got.retry_after(), got.request_id()),
        (3, Some(Duration::from_millis(20)), Some("r-3"))
    );
}

#[test]
fn the_client_s_whole_bodies_are_the_decoder_s() {
    let answer = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
    // "H\xe9": Latin-1 where UTF-8 was due.
    let latin1: Vec<u8> = answer
        .replace("Hi", "H\u{1}")
        .bytes()
        .map(|b| if b == 1 { 0xe9 } else { b })
        .collect();
    let limit = answer.len() + 10;
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("an answer", answer.as_bytes().to_vec()),
        ("at the limit", format!("{answer:<limit$}").into_bytes()),
        ("over the limit", format!("{answer:<0$}", limit + 1).into_bytes()),
        ("not UTF-8", latin1),
        ("a page", b"<html>gateway</html>".to_vec()),
        (
            "an error in a 200",
            br#"{"error":{"code":"data_inspection_failed","message":"Output data may contain inappropriate content."}}"#.to_vec(),
        ),
        ("nothing", Vec::new()),
    ];
    let request = ChatRequest::new("glm-5").user("hi");
    for (what, body) in bodies {
        for stream in [false, true] {
            let reply = Reply::json(200, body.clone()).header("x-request-id", "hdr-w");
            let server = ReplayServer::start(reply).unwrap();
            let c = Client::builder()
                .api_key(KEY)
                .base_url(server.base_url())
                .no_proxy()
                .max_body_bytes(limit)
                .build()
                .unwrap();
            let got = if stream {
                c.stream(&request).and_then(|s| s.finish())
            } else {
                c.complete(&request)
            };
            let endpoint = Endpoint::model_studio(Protocol::OpenAiCompatible, &server.base_url());
            let mut decoder = endpoint
                .request(&request, stream)
                .unwrap()
                .decoder()
                .request_id("hdr-w");
            let want = decoder
                .push_whole_body(&body, limit)
                .and_then(|()| decoder.finish());
            let what = format!("{what}, stream {stream}");
            match (got, want) {
                (Ok(mut got), Ok(want)) => {
                    got.timings = None;
                    assert_eq!(got, want, "{what}");
                }
                (Err(got), Err(want)) => assert_eq!(got, want.with_attempts(1), "{what}"),
                (got, want) => panic!("{what}: the client gave {got:?}, the decoder {want:?}"),
            }
        }
    }
}
