//! Whether an API error came as the HTTP answer or inside a 2xx stream is readable
//! from the `Error` itself (`ApiError::origin`, `Error::kind`, `Error::status`), on
//! both protocols, through the whole client; and a real transport error's chain names
//! what was being done once and the cause once.

use std::error::Error as _;

use crate::data::transcript;
use dashscope_glm::blocking::Client;
use dashscope_glm::chat::{ChatRequest, Protocol};
use dashscope_glm::testing::{ReplayServer, Reply, Split};
use dashscope_glm::{ApiErrorOrigin, Error, ErrorKind};

fn client(server: &ReplayServer, protocol: Protocol) -> Client {
    Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .no_proxy()
        .protocol(protocol)
        .retry_policy(dashscope_glm::blocking::RetryPolicy::default().max_retries(0))
        .build()
        .unwrap()
}

/// Streams to the end and returns the error.
fn stream_error(client: &Client) -> Error {
    let request = ChatRequest::new("glm-5").user("hi");
    let mut stream = match client.stream(&request) {
        Ok(stream) => stream,
        Err(e) => return e,
    };
    loop {
        match stream.next_event() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the stream ended without an error"),
            Err(e) => return e,
        }
    }
}

#[test]
fn api_error_in_the_http_answer_on_both_protocols() {
    for (protocol, body) in [
        (
            Protocol::OpenAiCompatible,
            r#"{"error":{"code":"invalid_api_key","message":"Incorrect API key.","type":"invalid_request_error"},"request_id":"h1"}"#,
        ),
        (
            Protocol::DashScope,
            r#"{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"h1"}"#,
        ),
    ] {
        let server = ReplayServer::start(Reply::json(401, body)).unwrap();
        let err = stream_error(&client(&server, protocol));
        assert_eq!(err.kind(), ErrorKind::Api, "{protocol:?}");
        assert_eq!(err.status(), Some(401), "{protocol:?}");
        let api = err.api().unwrap_or_else(|| panic!("{protocol:?}: {err:?}"));
        assert_eq!(api.origin, ApiErrorOrigin::Response, "{protocol:?}");
        assert_eq!(api.status, Some(401), "{protocol:?}");
        assert_eq!(api.request_id.as_deref(), Some("h1"));
        assert!(err.to_string().starts_with("API error (HTTP 401)"), "{err}");
    }
}

#[test]
fn api_error_inside_the_stream_on_both_protocols() {
    for (protocol, recording, named) in [
        (Protocol::DashScope, "native_error_midstream.sse", Some(400)),
        (
            Protocol::OpenAiCompatible,
            "openai_error_midstream.sse",
            None,
        ),
    ] {
        let server =
            ReplayServer::start(Reply::sse(transcript(recording)).split(Split::Every(11))).unwrap();
        let err = stream_error(&client(&server, protocol));
        assert_eq!(err.kind(), ErrorKind::Stream, "{protocol:?}");
        assert_eq!(err.status(), named, "{protocol:?}");
        let api = err.api().unwrap_or_else(|| panic!("{protocol:?}: {err:?}"));
        assert_eq!(api.origin, ApiErrorOrigin::Stream, "{protocol:?}");
        // The status the error named (none on the compatible protocol), not the 200
        // of the stream around it.
        assert_eq!(api.status, named, "{protocol:?}");
        assert!(api.body.is_none());
        // What came before the error is kept.
        assert!(!err.partial().unwrap().message.content.is_empty());
    }
}

/// A refused connection: the message says what was being done, the source says why,
/// and neither repeats the other.
#[test]
fn a_refused_connection_chains_without_repeating() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = Client::builder()
        .api_key("sk-test")
        .base_url(format!("http://127.0.0.1:{port}"))
        .no_proxy()
        .retry_policy(dashscope_glm::blocking::RetryPolicy::default().max_retries(0))
        .build()
        .unwrap();
    let err = client
        .complete(&ChatRequest::new("glm-5").user("hi"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    let message = err.to_string();
    let cause = err.source().expect("the cause is the source").to_string();
    assert!(!cause.is_empty());
    assert!(!message.contains(&cause), "{message:?} repeats {cause:?}");
    // What was being done, in whatever words the error module chooses around it.
    assert!(message.contains("sending the request"), "{message:?}");
}
