//! Found by the fault soak: a stream that had delivered its finish reason (and, on the
//! OpenAI-compatible endpoint, `[DONE]`) and then hung was reported as an idle timeout
//! once the whole answer was in. `[DONE]` now ends the read, and a stalled tail after
//! a finish reason ends the stream normally.

use std::time::Duration;

use dashscope_glm::blocking::Client;
use dashscope_glm::chat::{ChatRequest, Protocol};
use dashscope_glm::testing::{ReplayServer, Reply};

#[test]
fn a_finished_native_stream_that_then_hangs_keeps_its_answer() {
    let body = "id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"choices\":[{\"message\":{\"content\":\"2\",\"role\":\"assistant\"},\"finish_reason\":\"stop\"}]},\"request_id\":\"r1\"}\n\n";
    let server =
        ReplayServer::start(Reply::sse(body).stall_after(body.len(), Duration::MAX)).unwrap();
    let client = Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .protocol(Protocol::DashScope)
        .idle_timeout(Duration::from_millis(200))
        .no_proxy()
        .build()
        .unwrap();
    let completion = client
        .stream(&ChatRequest::new("glm-5").user("1+1"))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(completion.message.content, "2");
}
