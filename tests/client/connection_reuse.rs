//! The connection between requests: once an answer is complete (`[DONE]`, or the end
//! of a native body) what is left of the body is read, so that ureq returns the
//! connection to its pool and the next request on the same `Client` goes out on it;
//! a stream dropped mid-answer closes its connection (it never goes back to the pool
//! half-read); a tail that stalls or runs on still ends the stream normally, and that
//! connection is not reused.

use std::time::{Duration, Instant};

use dashscope_glm::blocking::Client;
use dashscope_glm::chat::{ChatRequest, Protocol};
use dashscope_glm::testing::{ReplayServer, Reply, Split};

const IDLE: Duration = Duration::from_millis(300);
const N: usize = 5;

fn client(server: &ReplayServer, protocol: Protocol) -> Client {
    Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .protocol(protocol)
        .idle_timeout(IDLE)
        .retry_policy(dashscope_glm::blocking::RetryPolicy::none())
        .no_proxy()
        .build()
        .unwrap()
}

fn request() -> ChatRequest {
    ChatRequest::new("glm-5").user("Hi")
}

const COMPAT: &str = concat!(
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n",
    "data: [DONE]\n\n",
);

const NATIVE: &str = concat!(
    "id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"choices\":[{\"message\":{\"content\":\"Hel\",\"role\":\"assistant\"},\"finish_reason\":\"null\"}]},\"request_id\":\"r1\"}\n\n",
    "id:2\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"choices\":[{\"message\":{\"content\":\"lo\",\"role\":\"assistant\"},\"finish_reason\":\"stop\"}]},\"request_id\":\"r1\"}\n\n",
);

fn body(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::OpenAiCompatible => COMPAT,
        _ => NATIVE,
    }
}

fn keep_alive_server(reply: Reply) -> ReplayServer {
    ReplayServer::builder()
        .fallback(reply)
        .keep_alive(true)
        .start()
        .unwrap()
}

/// Polls `f` until it is true or 5 s passed.
fn eventually(f: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

const PROTOCOLS: [Protocol; 2] = [Protocol::OpenAiCompatible, Protocol::DashScope];

#[test]
fn sequential_streams_share_one_connection_after_finish() {
    for protocol in PROTOCOLS {
        for split in [Split::Whole, Split::PerEvent, Split::Every(7)] {
            let server = keep_alive_server(Reply::sse(body(protocol)).split(split));
            let client = client(&server, protocol);
            for _ in 0..N {
                let completion = client.stream(&request()).unwrap().finish().unwrap();
                assert_eq!(completion.message.content, "Hello");
            }
            assert_eq!(
                (server.request_count(), server.connection_count()),
                (N, 1),
                "{protocol:?} {split:?}"
            );
        }
    }
}

#[test]
fn sequential_streams_share_one_connection_when_read_to_the_end_and_dropped() {
    for protocol in PROTOCOLS {
        let server = keep_alive_server(Reply::sse(body(protocol)).split(Split::PerEvent));
        let client = client(&server, protocol);
        for _ in 0..N {
            let mut stream = client.stream(&request()).unwrap();
            while stream.next_event().unwrap().is_some() {}
            drop(stream);
        }
        // The iterator too.
        for _ in 0..N {
            let events = client
                .stream(&request())
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            assert!(!events.is_empty());
        }
        assert_eq!(server.connection_count(), 1, "{protocol:?}");
    }
}

#[test]
fn complete_shares_one_connection() {
    let answer = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
    let server = keep_alive_server(Reply::json(200, answer));
    let client = client(&server, Protocol::OpenAiCompatible);
    for _ in 0..N {
        assert_eq!(client.complete(&request()).unwrap().message.content, "Hi");
    }
    assert_eq!((server.request_count(), server.connection_count()), (N, 1));
}

#[test]
fn streams_and_completions_interleaved_share_one_connection() {
    let answer = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}]}"#;
    let path = ChatRequest::endpoint_path(Protocol::OpenAiCompatible);
    let server = ReplayServer::builder()
        .route_sequence(
            path,
            [
                Reply::sse(COMPAT),
                Reply::json(200, answer),
                Reply::sse(COMPAT),
                Reply::json(200, answer),
            ],
        )
        .keep_alive(true)
        .start()
        .unwrap();
    let client = client(&server, Protocol::OpenAiCompatible);
    for i in 0..4 {
        let completion = if i % 2 == 0 {
            client.stream(&request()).unwrap().finish().unwrap()
        } else {
            client.complete(&request()).unwrap()
        };
        assert_eq!(completion.message.content, "Hello");
    }
    assert_eq!(server.connection_count(), 1);
}

#[test]
fn a_stream_dropped_mid_answer_closes_its_connection() {
    for protocol in PROTOCOLS {
        // Paced, so that the first stream is dropped with most of its body unsent.
        let server = keep_alive_server(
            Reply::sse(body(protocol))
                .split(Split::Every(16))
                .pause(Duration::from_millis(5)),
        );
        let client = client(&server, protocol);
        let mut stream = client.stream(&request()).unwrap();
        assert!(stream.next_event().unwrap().is_some());
        drop(stream);
        // Closed by the client: the server's writes fail and its connection ends.
        assert!(
            eventually(|| server.open_connection_count() == 0),
            "{protocol:?}: the dropped stream's connection is still open"
        );
        // The next request cannot have had it from the pool: a new connection.
        let completion = client.stream(&request()).unwrap().finish().unwrap();
        assert_eq!(completion.message.content, "Hello");
        assert_eq!(server.connection_count(), 2, "{protocol:?}");
        // That one went back to the pool, open, for a third request.
        assert_eq!(server.open_connection_count(), 1, "{protocol:?}");
        client.stream(&request()).unwrap().finish().unwrap();
        assert_eq!(server.connection_count(), 2, "{protocol:?}");
    }
}

#[test]
fn a_stream_dropped_before_its_first_event_closes_its_connection() {
    for protocol in PROTOCOLS {
        let server = keep_alive_server(Reply::sse(body(protocol)));
        let client = client(&server, protocol);
        drop(client.stream(&request()).unwrap());
        assert!(
            eventually(|| server.open_connection_count() == 0),
            "{protocol:?}"
        );
        client.stream(&request()).unwrap().finish().unwrap();
        assert_eq!(server.connection_count(), 2, "{protocol:?}");
    }
}

#[test]
fn a_tail_that_stalls_after_done_ends_the_stream_and_is_not_reused() {
    let path = ChatRequest::endpoint_path(Protocol::OpenAiCompatible);
    let server = ReplayServer::builder()
        .route_sequence(
            path,
            [
                // Everything is sent, then the connection hangs (no end of body) until
                // the client closes it.
                Reply::sse(COMPAT).stall_until_client_closes(COMPAT.len(), Duration::MAX),
                Reply::sse(COMPAT),
            ],
        )
        .keep_alive(true)
        .start()
        .unwrap();
    let client = client(&server, Protocol::OpenAiCompatible);
    let start = Instant::now();
    let completion = client.stream(&request()).unwrap().finish().unwrap();
    assert!(
        start.elapsed() < IDLE,
        "waited {:?} after [DONE]",
        start.elapsed()
    );
    assert_eq!(completion.message.content, "Hello");
    assert!(completion.usage.is_some());
    assert!(eventually(|| server.open_connection_count() == 0));
    client.stream(&request()).unwrap().finish().unwrap();
    assert_eq!(server.connection_count(), 2);
}

#[test]
fn a_short_tail_after_done_is_read_and_the_connection_reused() {
    // Comments and a late chunk after [DONE]: ignored, read, and the body's end reached.
    let tail =
        ": keep-alive\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late\"}}]}\n\n";
    let server = keep_alive_server(Reply::sse(format!("{COMPAT}{tail}")).split(Split::PerEvent));
    let client = client(&server, Protocol::OpenAiCompatible);
    for _ in 0..N {
        let completion = client.stream(&request()).unwrap().finish().unwrap();
        assert_eq!(completion.message.content, "Hello");
    }
    assert_eq!(server.connection_count(), 1);
}

#[test]
fn a_long_tail_after_done_is_not_read_to_its_end() {
    // More than the 64 KiB drained after [DONE]: the stream ends normally, the rest is
    // left unread and the connection closed, not reused.
    let tail = ": padding padding padding padding padding padding padding padding\n".repeat(2048);
    assert!(tail.len() > 128 * 1024);
    let server = keep_alive_server(Reply::sse(format!("{COMPAT}{tail}")).split(Split::Every(4096)));
    let client = client(&server, Protocol::OpenAiCompatible);
    for _ in 0..2 {
        let stream = client.stream(&request()).unwrap().record_to(Vec::new());
        let (completion, recording) = stream.finish_recording();
        assert_eq!(completion.unwrap().message.content, "Hello");
        // What was read: the read that held [DONE] (at most one 16 KiB read buffer
        // past it), then at most 64 KiB + 1 byte of the tail.
        let read = recording.writer.len();
        assert!(read > COMPAT.len(), "{read}");
        assert!(read <= COMPAT.len() + 16 * 1024 + 64 * 1024 + 1, "{read}");
    }
    assert_eq!(server.connection_count(), 2);
}

#[test]
fn a_recording_holds_the_tail_read_after_done() {
    let tail = ": bye\n\n";
    let body = format!("{COMPAT}{tail}");
    let server = keep_alive_server(Reply::sse(body.clone()).split(Split::PerEvent));
    let client = client(&server, Protocol::OpenAiCompatible);
    let stream = client.stream(&request()).unwrap().record_to(Vec::new());
    let (completion, recording) = stream.finish_recording();
    assert_eq!(completion.unwrap().message.content, "Hello");
    assert!(recording.error.is_none());
    assert_eq!(recording.writer, body.as_bytes());
}

/// A keep-alive server (no `connection: close`) that sends the whole body, `[DONE]`
/// included, and then neither ends the chunked body nor closes: what `ReplayServer`'s
/// stalls cannot show, since they say `connection: close`. Answers each connection's
/// first request only; counts connections.
fn stalling_keep_alive_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&accepted);
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut len = 0;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    line.clear();
                }
                let _ = reader.read_exact(&mut vec![0; len]);
                let mut conn = conn;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                let chunk = format!("{:x}\r\n{COMPAT}\r\n", COMPAT.len());
                let _ = conn.write_all(format!("{head}{chunk}").as_bytes());
                // Hold the connection open until the client closes it.
                let _ = reader.read_to_end(&mut Vec::new());
            });
        }
    });
    (url, accepted)
}

#[test]
fn a_keep_alive_tail_that_stalls_after_done_ends_the_stream_at_the_idle_timeout() {
    use std::sync::atomic::Ordering;
    let (url, accepted) = stalling_keep_alive_server();
    let client = Client::builder()
        .api_key("sk-test")
        .base_url(url)
        .idle_timeout(IDLE)
        .retry_policy(dashscope_glm::blocking::RetryPolicy::none())
        .no_proxy()
        .build()
        .unwrap();
    for _ in 0..2 {
        let start = Instant::now();
        let completion = client.stream(&request()).unwrap().finish().unwrap();
        // The answer is whole; the drain waited one idle timeout for the body's end.
        assert_eq!(completion.message.content, "Hello");
        assert!(completion.usage.is_some());
        assert!(start.elapsed() < IDLE * 3, "{:?}", start.elapsed());
    }
    // The stalled connection was closed, not reused.
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}
