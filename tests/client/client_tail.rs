//! What happens after the server said it finished: `[DONE]` ends the read, and a tail
//! that stalls or breaks off after a finish reason does not lose the answer.
#![cfg(all(feature = "blocking", feature = "testing"))]

use std::time::{Duration, Instant};

use dashscope_glm::TimeoutKind;
use dashscope_glm::blocking::Client;
use dashscope_glm::chat::{ChatRequest, FinishReason, Protocol};
use dashscope_glm::testing::{ReplayServer, Reply};

const IDLE: Duration = Duration::from_millis(300);

fn client(server: &ReplayServer, protocol: Protocol) -> Client {
    Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .protocol(protocol)
        .idle_timeout(IDLE)
        .no_proxy()
        .build()
        .unwrap()
}

const CHUNK: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n";

#[test]
fn done_ends_the_read_even_if_the_server_then_stalls() {
    let body = format!("{CHUNK}data: [DONE]\n\n");
    // Everything is sent, then the connection hangs open (no end of body).
    let server =
        ReplayServer::start(Reply::sse(body.clone()).stall_after(body.len(), Duration::MAX))
            .unwrap();
    let start = Instant::now();
    let completion = client(&server, Protocol::OpenAiCompatible)
        .stream(&ChatRequest::new("glm-5").user("Hi"))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(completion.message.content, "Hi");
    assert!(
        start.elapsed() < IDLE,
        "waited {:?} after [DONE]",
        start.elapsed()
    );
}

#[test]
fn a_stalled_tail_after_the_finish_reason_is_not_an_error() {
    // The finish reason arrived; the usage chunk and [DONE] never do.
    let server =
        ReplayServer::start(Reply::sse(CHUNK).stall_after(CHUNK.len(), Duration::MAX)).unwrap();
    let completion = client(&server, Protocol::OpenAiCompatible)
        .stream(&ChatRequest::new("glm-5").user("Hi"))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(
        (
            completion.message.content.as_str(),
            completion.finish_reason
        ),
        ("Hi", Some(FinishReason::Stop))
    );
    assert_eq!(completion.usage, None);
}

#[test]
fn a_stall_before_the_finish_is_an_idle_timeout_with_the_partial() {
    let unfinished = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
    let server = ReplayServer::start(
        Reply::sse(unfinished)
            .header("x-request-id", "r-9")
            .stall_after(unfinished.len(), Duration::MAX),
    )
    .unwrap();
    let err = client(&server, Protocol::OpenAiCompatible)
        .stream(&ChatRequest::new("glm-5").user("Hi"))
        .unwrap()
        .finish()
        .unwrap_err();
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::Idle), "{err:?}");
    assert_eq!(err.partial().unwrap().message.content, "Hi");
    assert_eq!(err.request_id(), Some("r-9"));
}
