//! `chat::http`, the protocol's HTTP rules as data: the request for either protocol
//! (method, URL, headers, body; the key redacted; no `Authorization` without one), every
//! error-body shape the tests know mapped to its error (and any bytes mapped without a
//! panic, keeping a bounded snippet and the request id), and the retry decision as a
//! table.
#![cfg(feature = "chat")]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dashscope_glm::chat::http::{
    Attempts, Endpoint, FailedAttempt, MAX_ERROR_BODY, ResponseHead, RetryPolicy,
    error_from_response,
};
use dashscope_glm::chat::{Catalog, ChatRequest, Model, Protocol, Rule};
use dashscope_glm::{ApiErrorOrigin, Category, ConfigKind, Error, ErrorKind, HttpError};
use proptest::prelude::*;

use crate::data::transcript;

/// Wed, 21 Oct 2015 07:28:00 GMT.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_445_412_480)
}

// --- the request as data -------------------------------------------------------------

const ROOT: &str = "https://dashscope.aliyuncs.com";

fn hello() -> ChatRequest {
    ChatRequest::new("glm-5").user("Hello")
}

#[test]
fn requests_of_both_protocols_are_whole() {
    let request = hello().header("X-DashScope-WorkSpace", "ws-1");
    for (protocol, path) in [
        (
            Protocol::OpenAiCompatible,
            "/compatible-mode/v1/chat/completions",
        ),
        (
            Protocol::DashScope,
            "/api/v1/services/aigc/text-generation/generation",
        ),
    ] {
        let endpoint = Endpoint::model_studio(protocol, ROOT)
            .api_key("sk-secret")
            .header("User-Agent", "sdk/1");
        for stream in [true, false] {
            let http = endpoint.request(&request, stream).unwrap();
            let what = format!("{protocol:?}, stream {stream}");
            assert_eq!(http.method(), "POST", "{what}");
            assert_eq!(http.url(), format!("{ROOT}{path}"), "{what}");
            assert_eq!((http.protocol(), http.is_stream()), (protocol, stream));
            let mut want = vec![
                (
                    "Accept",
                    if stream {
                        "text/event-stream"
                    } else {
                        "application/json"
                    },
                ),
                ("User-Agent", "sdk/1"),
                ("X-DashScope-WorkSpace", "ws-1"),
                ("Authorization", "Bearer sk-secret"),
                ("Content-Type", "application/json"),
            ];
            if stream && protocol == Protocol::DashScope {
                want.push(("X-DashScope-SSE", "enable"));
            }
            assert_eq!(http.headers().collect::<Vec<_>>(), want, "{what}");
            // The body is the request's own serialization, for the endpoint's catalog.
            let mut body = Vec::new();
            request
                .write_body_with(&Catalog::builtin(), protocol, stream, &mut body)
                .unwrap();
            assert_eq!(http.body(), body.as_slice(), "{what}");
            // The key never shows.
            for shown in [format!("{http:?}"), format!("{endpoint:?}")] {
                assert!(!shown.contains("sk-secret"), "{shown}");
                assert!(shown.contains("<redacted>"), "{shown}");
            }
        }
    }
}

#[test]
fn without_a_key_there_is_no_authorization_header() {
    let url = "http://127.0.0.1:8000/v1/chat/completions";
    for endpoint in [
        Endpoint::new(Protocol::OpenAiCompatible, url),
        Endpoint::new(Protocol::OpenAiCompatible, url).api_key(""),
    ] {
        let http = endpoint.request(&hello(), true).unwrap();
        assert_eq!(http.url(), url);
        assert_eq!(http.header("authorization"), None);
        assert!(format!("{endpoint:?}").contains("<none>"));
    }
}

#[test]
fn later_headers_replace_earlier_ones_in_place() {
    let endpoint = Endpoint::new(Protocol::OpenAiCompatible, "https://gw.example/v1/chat")
        .header("X-Team", "one")
        .header("x-team", "two")
        .header("X-Trace", "endpoint");
    let request = hello()
        .header("accept", "application/x-ndjson")
        .header("X-TRACE", "request");
    let http = endpoint.request(&request, true).unwrap();
    assert_eq!(
        http.headers().collect::<Vec<_>>(),
        [
            ("Accept", "application/x-ndjson"),
            ("X-Team", "two"),
            ("X-Trace", "request"),
            ("Content-Type", "application/json"),
        ]
    );
}

#[test]
fn the_request_is_checked_before_it_is_made() {
    let endpoint = Endpoint::model_studio(Protocol::OpenAiCompatible, ROOT).api_key("sk-test");
    // A model rule, from the built-in catalog and from the endpoint's own.
    let long = ChatRequest::new("glm-5").user("hi").max_tokens(1 << 30);
    let err = endpoint.request(&long, true).unwrap_err();
    assert_eq!(err.rule(), Some(Rule::MaxTokensAboveLimit));
    let strict = endpoint
        .clone()
        .catalog(Catalog::builtin().with(Model::new("mine").with_max_response(10)));
    let mine = ChatRequest::new("mine").user("hi").max_tokens(11);
    assert!(endpoint.request(&mine, true).is_ok());
    assert_eq!(
        strict.request(&mine, true).unwrap_err().rule(),
        Some(Rule::MaxTokensAboveLimit)
    );
    // A header of the request's, and ones of the endpoint's.
    let owned = hello().header("Content-Type", "text/plain");
    assert_eq!(
        endpoint.request(&owned, true).unwrap_err().rule(),
        Some(Rule::InvalidHeader)
    );
    let bad_default = endpoint.clone().header("Bad Name", "x");
    assert_eq!(
        bad_default
            .request(&hello(), true)
            .unwrap_err()
            .config_kind(),
        Some(ConfigKind::Header)
    );
    let bad_key = endpoint.api_key("sk-\u{e9}");
    let err = bad_key.request(&hello(), true).unwrap_err();
    assert_eq!(err.config_kind(), Some(ConfigKind::ApiKey));
    assert!(!err.to_string().contains("sk-"), "{err}");
}

#[test]
fn the_decoder_of_a_native_cumulative_stream_merges_deltas() {
    let endpoint = Endpoint::model_studio(Protocol::DashScope, ROOT).api_key("sk-test");
    let chunk = |text: &str, finish: &str| {
        format!(
            "data:{{\"output\":{{\"choices\":[{{\"message\":{{\"role\":\"assistant\",\"content\":\"{text}\"}},\"finish_reason\":\"{finish}\"}}]}}}}\n\n"
        )
    };
    let body = chunk("Hel", "null") + &chunk("Hello", "stop");
    for (incremental, want) in [(false, "Hello"), (true, "HelHello")] {
        let request = hello().incremental_output(incremental);
        let http = endpoint.request(&request, true).unwrap();
        let mut decoder = http.decoder();
        decoder.feed(body.as_bytes());
        assert_eq!(decoder.finish().unwrap().message.content, want);
    }
}

// --- an error answer mapped to its error ------------------------------------------------

/// One error answer and what it must map to.
struct Case {
    name: &'static str,
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
    kind: ErrorKind,
    code: Option<&'static str>,
    message: Option<&'static str>,
    request_id: Option<&'static str>,
    category: Category,
    retry_after: Option<Duration>,
}

fn case(name: &'static str, status: u16, body: impl Into<Vec<u8>>) -> Case {
    Case {
        name,
        status,
        headers: Vec::new(),
        body: body.into(),
        kind: ErrorKind::Http,
        code: None,
        message: None,
        request_id: None,
        category: Category::Other,
        retry_after: None,
    }
}

impl Case {
    fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    fn api(mut self, code: &'static str, message: &'static str, category: Category) -> Self {
        self.kind = ErrorKind::Api;
        self.code = Some(code);
        self.message = Some(message);
        self.category = category;
        self
    }

    fn http(mut self, category: Category) -> Self {
        self.kind = ErrorKind::Http;
        self.category = category;
        self
    }

    fn id(mut self, id: &'static str) -> Self {
        self.request_id = Some(id);
        self
    }

    fn after(mut self, d: Duration) -> Self {
        self.retry_after = Some(d);
        self
    }
}

/// Every error-body shape the tests serve (tests/client, tests/chat/limits.rs, the
/// transcripts), and the edges of the mapping.
fn cases() -> Vec<Case> {
    let sse_filter = "data: {\"error\":{\"code\":\"data_inspection_failed\",\"param\":null,\"message\":\"Input text data may contain inappropriate content.\",\"type\":\"data_inspection_failed\"}}\n\n";
    let html = format!(
        "<html><head><title>404 Not Found</title></head><body>{}</body></html>",
        "x".repeat(5000)
    );
    let huge_json = format!(
        r#"{{"code":"InternalError","message":"{}"}}"#,
        "m".repeat(1 << 20)
    );
    vec![
        case(
            "compatible envelope, the body's request id",
            401,
            r#"{"error":{"code":"invalid_api_key","message":"Incorrect API key.","type":"invalid_request_error"},"request_id":"h1"}"#,
        )
        .header("content-type", "application/json")
        .header("x-request-id", "hdr")
        .api("invalid_api_key", "Incorrect API key.", Category::Auth)
        .id("h1"),
        case(
            "native flat, the body's request id",
            401,
            r#"{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"a1c0561c-1dfe"}"#,
        )
        .header("content-type", "application/json")
        .header("x-request-id", "hdr")
        .api("InvalidApiKey", "Invalid API-key provided.", Category::Auth)
        .id("a1c0561c-1dfe"),
        case(
            "numeric envelope code, the header's request id",
            400,
            r#"{"error":{"code":1002,"message":"bad token"}}"#,
        )
        .header("x-request-id", "hdr-2")
        .api("1002", "bad token", Category::Auth)
        .id("hdr-2"),
        case("numeric flat code", 400, r#"{"code":400,"message":"numeric flat"}"#).api(
            "400",
            "numeric flat",
            Category::InvalidRequest,
        ),
        case(
            "busy, retried",
            503,
            r#"{"code":"ServiceUnavailable","message":"busy"}"#,
        )
        .header("retry-after", "0")
        .api("ServiceUnavailable", "busy", Category::Server)
        .after(Duration::ZERO),
        case(
            "rate limit with a millisecond hint",
            429,
            r#"{"error":{"code":"limit_requests","message":"slow down"}}"#,
        )
        .header("retry-after-ms", "1500")
        .header("retry-after", "9")
        .api("limit_requests", "slow down", Category::RateLimit)
        .after(Duration::from_millis(1500)),
        case(
            "an HTTP-date hint",
            429,
            r#"{"error":{"message":"slow"}}"#,
        )
        .header("Retry-After", "Wed, 21 Oct 2015 07:28:05 GMT")
        .api("", "slow", Category::RateLimit)
        .after(Duration::from_secs(5)),
        case("SSE body with its content type", 400, sse_filter)
            .header("content-type", "text/event-stream;charset=UTF-8")
            .header("x-request-id", "sse-err-1")
            .api(
                "data_inspection_failed",
                "Input text data may contain inappropriate content.",
                Category::ContentFilter,
            )
            .id("sse-err-1"),
        case(
            "native SSE error without a blank line nor a content type",
            400,
            transcript("native_error_no_blank_line.sse"),
        )
        .api(
            "InvalidParameter",
            "Role must be user or assistant and Content length must be greater than 0",
            Category::InvalidRequest,
        )
        .id("7671ecd8-93cc-9ee9-bc89-739f0fd8b809"),
        case(
            "a BOM and blank lines before the JSON",
            500,
            "\u{feff}\r\n  {\"code\":\"InternalError\",\"message\":\"oops\"}",
        )
        .api("InternalError", "oops", Category::Server),
        case("HTML from a wrong base URL", 404, html)
            .header("content-type", "text/html")
            .header("x-request-id", "html-1")
            .http(Category::NotFound)
            .id("html-1"),
        case("an empty body", 403, "").http(Category::Permission),
        case("plain text", 500, "oops")
            .header("content-type", "text/plain")
            .http(Category::Server),
        case("JSON that is not an error", 502, r#"{"choices":[]}"#).http(Category::Server),
        case("an error body over the read limit", 500, huge_json).http(Category::Server),
        case("bytes that are not UTF-8", 502, [0xff, 0xfe, b'<', b'h', 0x80]).http(Category::Server),
    ]
}

#[test]
fn every_error_body_shape_maps_to_its_error() {
    for c in cases() {
        let err = error_from_response(c.status, c.headers.iter().copied(), &c.body, now());
        let name = c.name;
        assert_eq!(err.kind(), c.kind, "{name}: {err:?}");
        assert_eq!(err.status(), Some(c.status), "{name}");
        assert_eq!(err.category(), c.category, "{name}: {err:?}");
        assert_eq!(err.request_id(), c.request_id, "{name}");
        assert_eq!(err.retry_after(), c.retry_after, "{name}");
        assert_eq!(err.attempts(), 0, "{name}: the mapping sends nothing");
        assert!(err.partial().is_none(), "{name}");
        match c.kind {
            ErrorKind::Api => {
                let api = err.api().unwrap();
                assert_eq!(api.origin, ApiErrorOrigin::Response, "{name}");
                assert_eq!(
                    api.code.as_deref(),
                    c.code.filter(|c| !c.is_empty()),
                    "{name}"
                );
                assert_eq!(Some(api.message.as_str()), c.message, "{name}");
                let start = String::from_utf8_lossy(&c.body);
                let body = api.body.as_deref().unwrap();
                assert!(start.starts_with(body), "{name}: {body:?}");
                assert!(body.len() <= HttpError::SNIPPET_LEN, "{name}");
            }
            _ => {
                let http = err.http().unwrap();
                assert_eq!(http.status, c.status, "{name}");
                let start = String::from_utf8_lossy(&c.body);
                assert!(start.starts_with(&http.body_snippet), "{name}");
                assert!(http.body_snippet.len() <= HttpError::SNIPPET_LEN, "{name}");
                assert_eq!(
                    http.body_snippet.is_empty(),
                    c.body.is_empty(),
                    "{name}: {http:?}"
                );
            }
        }
        // The head's own reading, and the one-call function, agree.
        let head = ResponseHead::new(c.status, c.headers.iter().copied());
        assert_eq!(head.error(&c.body, now()), err, "{name}");
        assert_eq!(
            head.request_id(),
            c.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("x-request-id"))
                .map(|(_, v)| *v)
        );
    }
}

#[test]
fn the_error_body_is_read_up_to_its_limit_only() {
    // An error cut at the limit is the error of the first MAX_ERROR_BODY bytes.
    let message = "m".repeat(MAX_ERROR_BODY);
    let whole = format!(r#"{{"code":"InternalError","message":"{message}"}}"#);
    let cut = &whole.as_bytes()[..MAX_ERROR_BODY];
    let head = ResponseHead::new(500, [("content-type", "application/json")]);
    assert_eq!(head.error(whole.as_bytes(), now()), head.error(cut, now()));
    // Under it, the whole message is kept.
    let fits = format!(
        r#"{{"code":"InternalError","message":"{}"}}"#,
        "m".repeat(1000)
    );
    let err = head.error(fits.as_bytes(), now());
    assert_eq!(err.api().unwrap().message.len(), 1000);
}

/// A body shaped like one of the error bodies, with arbitrary parts; or any bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let text = ".{0,40}";
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        (text, text, proptest::option::of(text)).prop_map(|(code, message, id)| {
            serde_json::json!({"code": code, "message": message, "request_id": id})
                .to_string()
                .into_bytes()
        }),
        (any::<i64>(), text).prop_map(|(code, message)| {
            serde_json::json!({"error": {"code": code, "message": message}})
                .to_string()
                .into_bytes()
        }),
        (text, text).prop_map(|(code, message)| {
            let json = serde_json::json!({"error": {"code": code, "message": message}});
            format!("id:1\nevent:error\n:HTTP_STATUS/400\ndata:{json}\n\n").into_bytes()
        }),
        (proptest::collection::vec(any::<u8>(), 0..64), 0..3usize).prop_map(|(tail, prefix)| {
            let mut body = [&b"{\"code\":"[..], b"data:", b"<html>"][prefix].to_vec();
            body.extend(tail);
            body
        }),
        Just(vec![b'x'; MAX_ERROR_BODY + 17]),
    ]
}

/// Headers drawn from the ones the mapping reads, with arbitrary values.
fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let name = prop_oneof![
        Just("X-Request-Id"),
        Just("content-type"),
        Just("retry-after"),
        Just("retry-after-ms"),
        Just("x-should-retry"),
        Just("x-other"),
    ];
    let value = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..24),
        "[ -~]{0,24}".prop_map(String::into_bytes),
        Just(b"text/event-stream".to_vec()),
        Just(b"application/json".to_vec()),
        Just(b"Sun, 06 Nov 1994 08:49:37 GMT".to_vec()),
        "[0-9.]{1,12}".prop_map(String::into_bytes),
    ];
    proptest::collection::vec((name.prop_map(str::to_owned), value), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any status, headers and body map to an error without a panic; the error names
    /// the status, keeps a bounded snippet, and keeps the request id (the body's, or
    /// else the header's).
    #[test]
    fn any_answer_maps_without_a_panic(status in any::<u16>(), headers in headers(), body in body()) {
        let err = error_from_response(status, headers.iter().map(|(n, v)| (n, v)), &body, now());
        prop_assert_eq!(err.status(), Some(status));
        prop_assert!(matches!(err.kind(), ErrorKind::Api | ErrorKind::Http));
        if let Some(api) = err.api() {
            prop_assert!(api.body.as_ref().is_some_and(|b| b.len() <= HttpError::SNIPPET_LEN));
            prop_assert!(api.message.len() <= MAX_ERROR_BODY);
        }
        if let Some(http) = err.http() {
            prop_assert!(http.body_snippet.len() <= HttpError::SNIPPET_LEN);
        }
        let header_id = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-request-id"))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .filter(|v| v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)));
        match (err.request_id(), header_id) {
            (None, Some(id)) => prop_assert!(false, "the header's id {id:?} was lost"),
            (Some(got), Some(id)) if got != id => {
                // Only a body that carries its own id replaces the header's.
                prop_assert!(err.api().is_some_and(|a| a.request_id.as_deref() == Some(got)));
                prop_assert!(String::from_utf8_lossy(&body).contains("request_id"));
            }
            _ => {}
        }
        // The hint, when there is one, is the head's.
        let head = ResponseHead::new(status, headers.iter().map(|(n, v)| (n, v)));
        prop_assert_eq!(err.retry_after(), head.retry_after(now()));
    }
}

// --- the retry decision -----------------------------------------------------------------

/// What the default policy decides for the first failure of a call answered with
/// `status`, `headers` and `body`.
fn decide_status(status: u16, headers: &[(&str, &str)], body: &str) -> Option<Duration> {
    let head = ResponseHead::new(status, headers.iter().copied());
    let error = head.error(body.as_bytes(), now());
    RetryPolicy::default().decide(
        1,
        FailedAttempt::Status {
            head: &head,
            error: &error,
        },
        false,
        0.0,
    )
}

#[test]
fn retried_statuses_and_codes() {
    let first = Some(Duration::from_millis(500));
    for status in [408, 409, 429, 500, 502, 503, 504] {
        assert_eq!(decide_status(status, &[], ""), first, "{status}");
        assert_eq!(
            decide_status(status, &[], "<html>busy</html>"),
            first,
            "{status}"
        );
    }
    for status in [400, 401, 403, 404, 413, 422, 501, 505] {
        assert_eq!(decide_status(status, &[], ""), None, "{status}");
    }
    // Codes a person must settle, or that change the request, on a retried status.
    for (code, message) in [
        ("Arrearage", "no"),
        (
            "Throttling.AllocationQuota",
            "Free allocated quota exceeded.",
        ),
        ("AllocationQuota.FreeTierOnly", "no"),
        ("InvalidApiKey", "no"),
        ("data_inspection_failed", "no"),
    ] {
        let body = format!(r#"{{"code":"{code}","message":"{message}"}}"#);
        assert_eq!(decide_status(429, &[], &body), None, "{code}");
    }
    assert_eq!(
        decide_status(
            429,
            &[],
            r#"{"code":"Throttling.RateQuota","message":"slow"}"#
        ),
        first
    );
}

#[test]
fn x_should_retry_decides_except_for_what_a_person_settles() {
    let yes = [("x-should-retry", "true")];
    let no = [("X-Should-Retry", "FALSE")];
    assert_eq!(
        decide_status(400, &yes, ""),
        Some(Duration::from_millis(500))
    );
    assert_eq!(decide_status(503, &no, ""), None);
    assert_eq!(
        decide_status(503, &[("x-should-retry", "perhaps")], ""),
        Some(Duration::from_millis(500))
    );
    for body in [
        r#"{"error":{"code":"invalid_api_key","message":"no"}}"#,
        r#"{"code":"Arrearage","message":"no"}"#,
        r#"{"code":"Model.AccessDenied","message":"no"}"#,
    ] {
        assert_eq!(decide_status(429, &yes, body), None, "{body}");
    }
}

#[test]
fn the_server_s_hint_in_each_form_capped() {
    let secs = Duration::from_secs;
    assert_eq!(
        decide_status(503, &[("retry-after", "2")], ""),
        Some(secs(2))
    );
    assert_eq!(
        decide_status(503, &[("retry-after", "1.5")], ""),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(
        decide_status(503, &[("retry-after-ms", "250"), ("retry-after", "9")], ""),
        Some(Duration::from_millis(250))
    );
    assert_eq!(
        decide_status(503, &[("retry-after", "Wed, 21 Oct 2015 07:28:05 GMT")], ""),
        Some(secs(5))
    );
    assert_eq!(
        decide_status(503, &[("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT")], ""),
        Some(Duration::ZERO)
    );
    assert_eq!(
        decide_status(503, &[("retry-after", "600")], ""),
        Some(secs(60))
    );
    // Unparseable: the backoff.
    assert_eq!(
        decide_status(503, &[("retry-after", "soon")], ""),
        Some(Duration::from_millis(500))
    );
    // A hint on a status that is not retried changes nothing.
    assert_eq!(decide_status(400, &[("retry-after", "1")], ""), None);
}

#[test]
fn failures_without_an_answer() {
    let strict = RetryPolicy::default();
    let lenient = strict.retry_unanswered(true);
    let half = Some(Duration::from_millis(500));
    assert_eq!(strict.decide(1, FailedAttempt::NotSent, false, 0.0), half);
    assert_eq!(
        strict.decide(1, FailedAttempt::Unanswered, false, 0.0),
        None
    );
    assert_eq!(
        lenient.decide(1, FailedAttempt::Unanswered, false, 0.0),
        half
    );
    for policy in [strict, lenient] {
        assert_eq!(policy.decide(1, FailedAttempt::Other, false, 0.0), None);
    }
}

#[test]
fn nothing_after_an_event_was_delivered() {
    let head = ResponseHead::new(503, [("x-should-retry", "true")]);
    let error = head.error(b"", now());
    let policy = RetryPolicy::default().retry_unanswered(true);
    for failed in [
        FailedAttempt::Status {
            head: &head,
            error: &error,
        },
        FailedAttempt::NotSent,
        FailedAttempt::Unanswered,
        FailedAttempt::Other,
    ] {
        assert_eq!(policy.decide(1, failed, true, 0.0), None, "{failed:?}");
    }
}

#[test]
fn the_attempt_limit_and_the_backoff() {
    let policy = RetryPolicy::default();
    let ms = Duration::from_millis;
    assert_eq!(
        policy.decide(1, FailedAttempt::NotSent, false, 0.0),
        Some(ms(500))
    );
    assert_eq!(
        policy.decide(2, FailedAttempt::NotSent, false, 0.0),
        Some(ms(1000))
    );
    assert_eq!(policy.decide(3, FailedAttempt::NotSent, false, 0.0), None);
    assert_eq!(policy.decide(0, FailedAttempt::NotSent, false, 0.0), None);
    let none = RetryPolicy::none();
    assert_eq!(none.decide(1, FailedAttempt::NotSent, false, 0.0), None);
    let many = RetryPolicy::default().max_retries(10);
    assert_eq!(
        many.decide(10, FailedAttempt::NotSent, false, 0.0),
        Some(ms(8000))
    );
    assert_eq!(many.decide(11, FailedAttempt::NotSent, false, 0.0), None);
}

#[test]
fn jitter_at_its_extremes() {
    let policy = RetryPolicy::default();
    let ms = Duration::from_millis;
    let at = |jitter: f64| {
        policy
            .decide(1, FailedAttempt::NotSent, false, jitter)
            .unwrap()
    };
    assert_eq!(at(0.0), ms(500));
    assert_eq!(at(1.0), ms(375));
    let near_one = at(1.0 - f64::EPSILON);
    assert!(near_one > ms(374) && near_one <= ms(376), "{near_one:?}");
    // Out of range: clamped; not a number: none.
    assert_eq!(at(-5.0), ms(500));
    assert_eq!(at(7.0), ms(375));
    assert_eq!(at(f64::NAN), ms(500));
    assert_eq!(at(f64::INFINITY), ms(500));
    // A server's hint is taken as it is, whatever the jitter.
    let head = ResponseHead::new(503, [("retry-after", "3")]);
    let error = head.error(b"", now());
    for jitter in [0.0, 0.5, 0.999] {
        assert_eq!(
            policy.decide(
                1,
                FailedAttempt::Status {
                    head: &head,
                    error: &error
                },
                false,
                jitter
            ),
            Some(Duration::from_secs(3))
        );
    }
}

/// An error the mapping did not make (no hint) is decided on its own.
#[test]
fn a_status_error_without_a_hint_backs_off() {
    let head = ResponseHead::new(503, [("retry-after", "3")]);
    let error = Error::from(HttpError::new(503, "busy"));
    let failed = FailedAttempt::Status {
        head: &head,
        error: &error,
    };
    assert_eq!(
        RetryPolicy::default().decide(1, failed, false, 0.0),
        Some(Duration::from_millis(500))
    );
}

// --- a call's attempts --------------------------------------------------------------------

/// Runs a call's retry loop over `answers` (status and headers, an empty body each) with
/// `policy`, as a transport does: the error it returns, and the delays it slept.
fn run_loop(policy: RetryPolicy, answers: &[(u16, &[(&str, &str)])]) -> (Error, Vec<Duration>) {
    let mut attempts = Attempts::new();
    let mut delays = Vec::new();
    let mut answers = answers.iter();
    loop {
        let n = attempts.begin();
        assert_eq!(n, attempts.count());
        let (status, headers) = answers.next().expect("the policy stopped in time");
        let head = ResponseHead::new(*status, headers.iter().copied());
        let error = head.error(b"", now());
        let failed = FailedAttempt::Status {
            head: &head,
            error: &error,
        };
        // The record asks the policy for the count-th request, nothing delivered.
        let want = policy.decide(n, failed, false, 0.25);
        match attempts.retry(&policy, failed, 0.25) {
            Some(delay) => {
                assert_eq!(Some(delay), want);
                delays.push(delay);
            }
            None => {
                assert_eq!(want, None);
                return (attempts.error(error), delays);
            }
        }
    }
}

#[test]
fn attempts_count_the_requests_and_keep_the_last_hint() {
    let ms = Duration::from_millis;
    let policy = RetryPolicy::default();
    let hint = |v: &'static str| -> (&'static str, &'static str) { ("retry-after-ms", v) };
    /// A name, the answers (status, headers), the requests sent and the last hint.
    type Case = (
        &'static str,
        Vec<(u16, Vec<(&'static str, &'static str)>)>,
        u32,
        Option<Duration>,
    );
    let cases: Vec<Case> = vec![
        // A hint, then answers without one: the hint stays.
        (
            "hint kept",
            vec![(503, vec![hint("20")]), (500, vec![]), (500, vec![])],
            3,
            Some(ms(20)),
        ),
        // A later hint replaces an earlier one.
        (
            "hint replaced",
            vec![
                (429, vec![hint("20")]),
                (503, vec![hint("7")]),
                (500, vec![]),
            ],
            3,
            Some(ms(7)),
        ),
        // The last answer's own hint.
        (
            "last hint",
            vec![(500, vec![]), (500, vec![]), (503, vec![hint("9")])],
            3,
            Some(ms(9)),
        ),
        (
            "no hint",
            vec![(500, vec![]), (502, vec![]), (504, vec![])],
            3,
            None,
        ),
        // Not retried: one request, its own hint.
        ("once", vec![(400, vec![hint("5")])], 1, Some(ms(5))),
        // A hint, then an answer the policy does not retry.
        (
            "hint, then 401",
            vec![(429, vec![hint("20")]), (401, vec![])],
            2,
            Some(ms(20)),
        ),
    ];
    for (what, answers, sent, last_hint) in cases {
        let answers: Vec<(u16, &[(&str, &str)])> =
            answers.iter().map(|(s, h)| (*s, h.as_slice())).collect();
        let (err, delays) = run_loop(policy, &answers);
        assert_eq!(err.attempts(), sent, "{what}");
        assert_eq!(delays.len() as u32, sent - 1, "{what}");
        assert_eq!(err.retry_after(), last_hint, "{what}");
        assert_eq!(err.status(), answers.last().map(|a| a.0), "{what}");
    }
}

#[test]
fn attempts_give_errors_of_their_own_the_count_and_the_hint() {
    let mut attempts = Attempts::new();
    // Nothing sent: a cancel before the first request.
    let before = attempts.error(Error::cancelled(None));
    assert_eq!((before.attempts(), before.retry_after()), (0, None));
    assert_eq!(attempts, Attempts::default());

    attempts.begin();
    let head = ResponseHead::new(503, [("retry-after", "2")]);
    let busy = head.error(b"", now());
    let failed = FailedAttempt::Status {
        head: &head,
        error: &busy,
    };
    assert_eq!(
        attempts.retry(&RetryPolicy::default(), failed, 0.0),
        Some(Duration::from_secs(2))
    );
    assert_eq!(attempts.retry_after(), Some(Duration::from_secs(2)));
    // A failure with no answer keeps the hint and is decided as the policy decides it.
    attempts.begin();
    assert_eq!(
        attempts.retry(&RetryPolicy::default(), FailedAttempt::NotSent, 0.0),
        Some(Duration::from_secs(1))
    );
    assert_eq!(attempts.retry_after(), Some(Duration::from_secs(2)));
    // A deadline that passes before the third request: the transport's own error.
    let late = attempts.error(Error::timeout(dashscope_glm::TimeoutKind::Total, None));
    assert_eq!(
        (late.attempts(), late.retry_after()),
        (2, Some(Duration::from_secs(2)))
    );
    assert!(late.to_string().contains("after 2 requests"), "{late}");
    // An error's own hint comes first.
    let own = attempts.error(busy.clone().with_retry_after(Some(Duration::from_secs(5))));
    assert_eq!(own.retry_after(), Some(Duration::from_secs(5)));
    // No retries allowed: the first failure ends the call.
    let mut once = Attempts::new();
    once.begin();
    assert_eq!(
        once.retry(&RetryPolicy::none(), FailedAttempt::NotSent, 0.0),
        None
    );
}
