//! Every `Error` kind: its message is not empty and never repeats what its
//! `source()` chain says (the Rust API guidelines' rule), its `kind()` is the one the
//! `--json` output names, and `ToolCall`'s argument errors go through `?` as the crate's
//! error with serde_json's error as the source.

use std::error::Error as _;

use dashscope_glm::chat::{
    Accumulator, AccumulatorLimits, ChatRequest, Protocol, StreamDecoder, ToolCall,
};
use dashscope_glm::{ApiError, ApiErrorOrigin, Error, ErrorKind, HttpError, TimeoutKind};

/// Each kind, built the way the library builds it where a public path exists.
fn one_of_each() -> Vec<Error> {
    let mut all = Vec::new();
    // Sse: invalid UTF-8 in the framing.
    let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    stream.feed(b"data: \xFF\n\n");
    all.push(stream.next_event().unwrap_err());
    // Api, from an HTTP answer and from inside a stream.
    let mut api = ApiError::new(429, Some("Throttling".into()), "slow down".into(), None);
    api.request_id = Some("r-1".into());
    all.push(Error::from(api));
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    all.push(
        acc.push_data(r#"{"error":{"code":"data_inspection_failed","message":"bad"}}"#)
            .unwrap_err(),
    );
    // MalformedChunk.
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    all.push(acc.push_data("{not json").unwrap_err());
    // Interrupted: content, then the end without a finish reason.
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#)
        .unwrap();
    all.push(acc.finish().unwrap_err());
    // LimitExceeded.
    let mut acc = Accumulator::with_limits(
        Protocol::OpenAiCompatible,
        AccumulatorLimits::new().max_message_bytes(2),
    );
    all.push(
        acc.push_data(r#"{"choices":[{"index":0,"delta":{"content":"Hello"}}]}"#)
            .unwrap_err(),
    );
    // Validation.
    all.push(
        ChatRequest::new("glm-5")
            .user("hi")
            .max_tokens(1 << 30)
            .validate()
            .unwrap_err(),
    );
    // Config: a protocol name the crate does not know.
    all.push("grpc".parse::<Protocol>().unwrap_err());
    all.push(Error::from(HttpError::new(502, "<html>Bad Gateway</html>")));
    // Transport, with a cause whose text must not be repeated above it.
    let cause = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused by peer");
    all.push(Error::transport("sending the request", cause));
    all.push(Error::timeout(TimeoutKind::Idle, None));
    // ToolArguments.
    all.push(
        ToolCall::new(0, "c1", "get_weather", r#"{"city": "Bei"#)
            .parse_arguments()
            .unwrap_err(),
    );
    all.push(Error::cancelled(None));
    all
}

/// The messages of `err` and of each source under it, outermost first.
fn chain(err: &Error) -> Vec<String> {
    let mut out = vec![err.to_string()];
    let mut next = err.source();
    while let Some(e) = next {
        out.push(e.to_string());
        next = e.source();
    }
    out
}

#[test]
fn no_message_repeats_its_source() {
    let all = one_of_each();
    let kinds: Vec<ErrorKind> = all.iter().map(Error::kind).collect();
    assert_eq!(
        kinds,
        [
            ErrorKind::Sse,
            ErrorKind::Api,
            ErrorKind::Stream,
            ErrorKind::Malformed,
            ErrorKind::Interrupted,
            ErrorKind::Limit,
            ErrorKind::Validation,
            ErrorKind::Config,
            ErrorKind::Http,
            ErrorKind::Transport,
            ErrorKind::Timeout,
            ErrorKind::ToolArguments,
            ErrorKind::Cancelled,
        ]
    );
    for err in &all {
        let messages = chain(err);
        for (i, message) in messages.iter().enumerate() {
            assert!(!message.is_empty(), "{:?}: level {i} is empty", err.kind());
            if let Some(next) = messages.get(i + 1) {
                assert!(
                    !message.contains(next.as_str()),
                    "{:?}: {message:?} repeats its source {next:?}",
                    err.kind()
                );
            }
        }
    }
}

#[test]
fn foreign_causes_are_the_source() {
    let all = one_of_each();
    let transport = all
        .iter()
        .find(|e| e.kind() == ErrorKind::Transport)
        .unwrap();
    assert_eq!(
        chain(transport),
        ["transport: sending the request", "refused by peer"]
    );
    let io = transport.source().unwrap();
    assert!(io.downcast_ref::<std::io::Error>().is_some());
    let args = all
        .iter()
        .find(|e| e.kind() == ErrorKind::ToolArguments)
        .unwrap();
    let json = args.source().unwrap();
    assert!(json.downcast_ref::<serde_json::Error>().unwrap().is_eof());
    // The crate's own parts are in the message, not behind a source.
    let sse = all.iter().find(|e| e.kind() == ErrorKind::Sse).unwrap();
    assert!(sse.source().is_none());
    assert!(sse.to_string().contains("invalid UTF-8"), "{sse}");
}

/// `?` turns a tool call's bad arguments into the crate's error, keeping the call.
#[test]
fn tool_arguments_error_keeps_the_call_and_works_with_question_mark() {
    #[derive(Debug, serde::Deserialize)]
    struct Args {
        #[allow(dead_code, reason = "only the parse matters")]
        days: u8,
    }
    fn days(call: &ToolCall) -> Result<Args, Error> {
        let args = call.arguments_as::<Args>()?;
        Ok(args)
    }
    let call = ToolCall::new(3, "c3", "forecast", r#"{"days": "three"}"#);
    let err = days(&call).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ToolArguments, "{err:?}");
    let e = err.tool_arguments_error().unwrap();
    assert_eq!((e.index, e.name.as_str()), (3, "forecast"));
    assert!(e.json_error().is_data(), "{}", e.json_error());
    assert!(e.to_string().contains("forecast"), "{e}");
    assert!(err.to_string().contains("forecast"), "{err}");
    assert_eq!(
        days(&ToolCall::new(0, "c0", "forecast", r#"{"days": 3}"#))
            .unwrap()
            .days,
        3
    );
    // Nothing retries a parse.
    let err = ToolCall::new(0, "c", "f", "[")
        .parse_arguments()
        .unwrap_err();
    assert!(!err.is_retryable());
    assert_eq!(err.status(), None);
}

/// The origin of an in-band error, and the status it named, on both protocols; an
/// error from an HTTP answer is `Response` (tests/client/error_origin.rs covers it end
/// to end).
#[test]
fn in_band_errors_say_they_came_in_the_stream() {
    // Native: the event names its status in `:HTTP_STATUS/<n>`.
    let mut native = StreamDecoder::new(Protocol::DashScope);
    native.feed(b"id:1\nevent:error\n:HTTP_STATUS/400\ndata:{\"code\":\"DataInspectionFailed\",\"message\":\"bad\",\"request_id\":\"n1\"}\n\n");
    let err = native.next_event().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stream);
    assert_eq!(err.status(), Some(400));
    let api = err.api().unwrap();
    assert_eq!(api.origin, ApiErrorOrigin::Stream);
    assert_eq!(api.status, Some(400));
    // Native, a `code` in a `result` event without a status comment.
    let mut native = Accumulator::new(Protocol::DashScope);
    let err = native
        .push_data(r#"{"code":"InternalError","message":"oops","request_id":"n2"}"#)
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.origin, ApiErrorOrigin::Stream);
    assert_eq!(api.status, None);
    assert_eq!(err.status(), None);
    // OpenAI-compatible: an `{"error":...}` chunk names no status.
    let mut compat = StreamDecoder::new(Protocol::OpenAiCompatible);
    compat.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"error\":{\"code\":\"x\",\"message\":\"bad\"}}\n\n");
    let err = loop {
        match compat.next_event() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("no error"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::Stream);
    assert_eq!(err.status(), None);
    assert_eq!(err.api().unwrap().status, None);
    assert!(
        err.to_string().starts_with("API error in the stream"),
        "{err}"
    );
    // `ApiError::new` is an error from an HTTP answer.
    let answer = Error::from(ApiError::new(503, None, "busy".into(), None));
    assert_eq!(
        (answer.kind(), answer.status()),
        (ErrorKind::Api, Some(503))
    );
}

/// What a transport of its own sets on an error: the request id of the answer's head,
/// the requests it sent, the server's last hint. Each is kept as given, reads back
/// through its accessor, says itself in the message, and counts for equality.
#[test]
fn a_transport_s_builders_set_what_it_knows() {
    use dashscope_glm::{ApiError, Category, ConfigKind, chat::Rule};
    use std::time::Duration;

    // The request id: the first one given stays; an error body's own id comes first.
    let reset = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    let err = Error::transport("reading the response body", reset());
    assert_eq!(err.request_id(), None);
    let err = err.with_request_id(None).with_request_id(Some("hdr-1"));
    assert_eq!(err.request_id(), Some("hdr-1"));
    assert_eq!(
        err.clone().with_request_id(Some("hdr-2")).request_id(),
        Some("hdr-1")
    );
    assert!(err.to_string().ends_with("[request id hdr-1]"), "{err}");
    let mut api = ApiError::new(500, None, "boom".into(), None);
    api.request_id = Some("body-1".into());
    let api = Error::from(api).with_request_id(Some("hdr-1"));
    assert_eq!(api.request_id(), Some("body-1"));

    // The attempts and the hint, in the message and in equality.
    let busy = Error::from(HttpError::new(503, ""));
    let told = busy
        .clone()
        .with_attempts(3)
        .with_retry_after(Some(Duration::from_millis(1500)));
    assert_eq!(
        (told.attempts(), told.retry_after()),
        (3, Some(Duration::from_millis(1500)))
    );
    assert!(
        told.to_string()
            .ends_with(" (after 3 requests; the server asked to retry after 1.5s)"),
        "{told}"
    );
    assert_ne!(told, busy);
    assert_eq!(told.clone().with_attempts(0).with_retry_after(None), busy);
    assert_eq!(busy.clone().with_attempts(1).to_string(), busy.to_string());
    // Setting them changes nothing else.
    assert_eq!(
        (told.kind(), told.status(), told.is_retryable()),
        (busy.kind(), busy.status(), busy.is_retryable())
    );

    // A setting and a rule of an SDK's own.
    let config = Error::config(ConfigKind::Url, "no URL for the native protocol");
    assert_eq!(
        (config.kind(), config.category()),
        (ErrorKind::Config, Category::InvalidRequest)
    );
    assert_eq!(config.config_kind(), Some(ConfigKind::Url));
    assert_eq!(
        config.to_string(),
        "configuration: no URL for the native protocol"
    );
    let key = Error::config(ConfigKind::ApiKey, "no key");
    assert_eq!(key.category(), Category::Auth);
    let refused = Error::validation(Rule::InvalidHeader, "the header x-a is not valid HTTP");
    assert_eq!(
        (refused.kind(), refused.rule()),
        (ErrorKind::Validation, Some(Rule::InvalidHeader))
    );
    assert_eq!(refused.category(), Category::InvalidRequest);
    assert!(!refused.is_retryable() && !config.is_retryable());
    for err in [&config, &refused] {
        assert!(err.source().is_none());
        assert!(err.partial().is_none());
    }
    // The same as the library's own: a request refused by the catalog says its rule the
    // same way.
    let too_long = Error::validation(Rule::MaxTokensAboveLimit, "too many");
    assert_eq!(too_long.category(), Category::ContextLength);
}

/// A tool call that came without an id, cut short: every error that carries what was
/// merged gives the call the id `finish` would (the same partial, whatever ended it).
#[test]
fn every_partial_names_id_less_tool_calls_as_finish_does() {
    let chunk = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"now","arguments":"{}"}}]}}]}"#;
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    acc.push_data(chunk).unwrap();
    let oracle = acc.finish().unwrap_err();
    let oracle = oracle.partial().unwrap();
    assert_eq!(oracle.message.tool_calls[0].id, "call_synthetic_0");

    let fed = || {
        let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
        stream.feed(format!("data: {chunk}\n\n").as_bytes());
        while stream.next_event().unwrap().is_some() {}
        stream
    };
    let mut ended = fed();
    ended.end().unwrap();
    let interrupted = ended.next_event().unwrap_err();
    let mut stalled = fed();
    let timed_out = stalled.timed_out(TimeoutKind::Idle).unwrap_err();
    for err in [interrupted, timed_out] {
        assert_eq!(err.partial(), Some(oracle), "{err:?}");
    }
}

/// Nothing after `data: [DONE]` is decoded, not even bytes fed with it, and nothing fed
/// after it is kept: junk there cannot fail a stream that finished.
#[test]
fn a_tail_after_done_is_neither_decoded_nor_kept() {
    let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    stream.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\ndata: \xFF\xFE\n\n");
    while stream.next_event().unwrap().is_some() {}
    assert!(!stream.wants_input());
    stream.feed(b"data: {\"error\":{\"message\":\"late\"}}\n\n");
    assert_eq!(stream.next_event(), Ok(None));
    assert_eq!(stream.finish().unwrap().message.content, "Hi");
}
