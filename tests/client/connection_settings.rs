//! The connection settings with their defaults: the pool keeps a connection per thread
//! for 32 threads on one host.

use dashscope_glm::blocking::{Client, RetryPolicy};
use dashscope_glm::chat::ChatRequest;
use dashscope_glm::testing::{ReplayServer, Reply};

const COMPAT: &str = concat!(
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: [DONE]\n\n",
);

fn request() -> ChatRequest {
    ChatRequest::new("glm-5").user("Hi")
}

/// 32 threads, 16 streams each, on one `Client` with the default pool: each thread
/// holds at most one connection at a time, a connection is opened only when the pool
/// has no idle one, and the pool keeps every one of them (32 per host), so however
/// the threads interleave there are never more than 32. ureq's own default (3 idle per
/// host) opened 80 to 133 here.
#[test]
fn thirty_two_threads_use_at_most_thirty_two_connections() {
    const THREADS: usize = 32;
    const PER_THREAD: usize = 16;
    let server = ReplayServer::builder()
        .fallback(Reply::sse(COMPAT))
        .keep_alive(true)
        .start()
        .unwrap();
    let client = Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        // A failed attempt is not hidden by a retry on a new connection.
        .retry_policy(RetryPolicy::none())
        .no_proxy()
        .build()
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..PER_THREAD {
                    let completion = client.stream(&request()).unwrap().finish().unwrap();
                    assert_eq!(completion.message.content, "Hello");
                }
            });
        }
    });
    assert_eq!(server.request_count(), THREADS * PER_THREAD);
    let connections = server.connection_count();
    assert!(
        (1..=THREADS).contains(&connections),
        "{connections} connections for {THREADS} threads"
    );
}
