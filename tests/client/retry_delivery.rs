//! Retries that never bill twice: a request is sent again only when it provably did not
//! reach the server (a refused connect, a failed TLS handshake, a pooled connection found
//! closed before the request was written), or when the server answered with a status
//! that says a retry is safe; a connection that fails after the request was written is
//! not retried unless `RetryPolicy::retry_unanswered` says so.
//!
//! (A connection dropped by a `ReplayServer` after reading the whole request is in
//! `client.rs`, `hang_up_after_the_request_is_retried_only_when_asked`; a refused
//! connection retried twice is `connection_refused_is_a_transport_error_after_retries`.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use dashscope_glm::blocking::{Client, ClientBuilder, RetryPolicy, ureq};
use dashscope_glm::chat::{ChatRequest, Completion};
use dashscope_glm::testing::{ReplayServer, Reply};
use dashscope_glm::{Error, ErrorKind, TimeoutKind};

const ANSWER: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":\"stop\"}]}\n\n";

/// A server on 127.0.0.1 that runs `handle` on each connection (a thread each), told
/// which connection it is (0 for the first); counts the connections, the requests read
/// in full (through [`Conn::read_request`]) and the connections finished with.
struct Raw {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
}

/// One connection of a [`Raw`] server.
struct Conn {
    reader: BufReader<TcpStream>,
    requests: Arc<AtomicUsize>,
}

impl Conn {
    /// Reads one whole request (head and `content-length` body); false at the end.
    fn read_request(&mut self) -> bool {
        let mut line = String::new();
        let mut length = 0usize;
        loop {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if self.reader.read_exact(&mut body).is_err() {
            return false;
        }
        self.requests.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// Writes a whole streamed answer, keeping the connection open.
    fn answer(&mut self) -> bool {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        let body = format!("{head}{:x}\r\n{ANSWER}\r\n0\r\n\r\n", ANSWER.len());
        self.reader.get_mut().write_all(body.as_bytes()).is_ok()
    }
}

impl Raw {
    fn start(handle: impl Fn(usize, Conn) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let handle = Arc::new(handle);
        let (a, r, f) = (
            Arc::clone(&accepted),
            Arc::clone(&requests),
            Arc::clone(&finished),
        );
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let n = a.fetch_add(1, Ordering::SeqCst);
                let (handle, r, f) = (Arc::clone(&handle), Arc::clone(&r), Arc::clone(&f));
                thread::spawn(move || {
                    handle(
                        n,
                        Conn {
                            reader: BufReader::new(stream),
                            requests: r,
                        },
                    );
                    f.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        Self {
            addr,
            accepted,
            requests,
            finished,
        }
    }

    fn count(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }
}

fn builder(base: String) -> ClientBuilder {
    Client::builder()
        .api_key("sk-test")
        .base_url(base)
        .no_proxy()
        .sleeper(|_| {})
}

fn hello() -> ChatRequest {
    ChatRequest::new("glm-5").user("Say hello")
}

fn stream_all(client: &Client) -> Result<Completion, Error> {
    let mut stream = client.stream(&hello())?;
    while stream.next_event()?.is_some() {}
    stream.finish()
}

/// Waits (polling) until `done` holds, for at most 10 s; whether it did.
fn eventually(done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
    true
}

/// The server closes a kept-alive connection while it sits in the client's pool: the
/// next call finds it closed before writing anything and goes out on a new one, once,
/// and succeeds.
#[test]
fn a_pooled_connection_the_server_closed_is_replaced_before_the_request() {
    let server = Raw::start(|_, mut conn| {
        if conn.read_request() {
            conn.answer();
        }
        // Then closes, while the client keeps the connection in its pool.
    });
    let client = builder(format!("http://{}", server.addr)).build().unwrap();
    assert_eq!(stream_all(&client).unwrap().message.content, "Hello");
    assert!(eventually(|| Raw::count(&server.finished) == 1));
    let completion = stream_all(&client).unwrap();
    assert_eq!(completion.message.content, "Hello");
    assert_eq!(
        completion.timings.unwrap().requests,
        1,
        "no retry was needed"
    );
    assert_eq!(Raw::count(&server.accepted), 2);
    assert_eq!(Raw::count(&server.requests), 2);
}

/// A kept-alive connection that the server drops after reading the second request in
/// full, without answering: the request may have been billed, so it is not sent again
/// by default; with `retry_unanswered` it is, on a new connection.
#[test]
fn a_pooled_connection_dropped_after_the_request_is_retried_only_when_asked() {
    let serve = || {
        Raw::start(|n, mut conn| {
            if n > 0 {
                // Later connections answer normally.
                while conn.read_request() && conn.answer() {}
                return;
            }
            // The first answers one request, then reads the next and hangs up.
            if conn.read_request() && conn.answer() {
                conn.read_request();
            }
        })
    };
    for retry_unanswered in [false, true] {
        let server = serve();
        let client = builder(format!("http://{}", server.addr))
            .retry_policy(RetryPolicy::default().retry_unanswered(retry_unanswered))
            .build()
            .unwrap();
        assert_eq!(stream_all(&client).unwrap().message.content, "Hello");
        let second = stream_all(&client);
        if retry_unanswered {
            let completion = second.unwrap();
            assert_eq!(completion.timings.unwrap().requests, 2);
            assert_eq!(
                Raw::count(&server.accepted),
                2,
                "the retry on a new connection"
            );
            assert_eq!(Raw::count(&server.requests), 3);
        } else {
            let err = second.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
            assert_eq!(err.attempts(), 1);
            assert_eq!(Raw::count(&server.accepted), 1);
            assert_eq!(Raw::count(&server.requests), 2, "sent once");
        }
    }
}

/// A TLS handshake the server breaks off (it closes at once): nothing of the request was
/// sent, so it is retried, twice by default.
#[test]
fn a_failed_tls_handshake_is_retried() {
    let server = Raw::start(|_, conn| drop(conn));
    let client = builder(format!("https://{}", server.addr)).build().unwrap();
    let err = stream_all(&client).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    assert_eq!(err.attempts(), 3);
    assert_eq!(Raw::count(&server.accepted), 3);
    assert_eq!(Raw::count(&server.requests), 0);
}

/// A timeout while waiting for the head, after the request was written, is not
/// retried, even with `retry_unanswered`: the server is likely still at work on it.
#[test]
fn a_timeout_after_the_request_is_never_retried() {
    let server =
        ReplayServer::start(Reply::sse(ANSWER).head_delay(Duration::from_secs(600))).unwrap();
    let client = builder(server.base_url())
        .idle_timeout(Duration::from_millis(100))
        .retry_policy(RetryPolicy::default().retry_unanswered(true))
        .build()
        .unwrap();
    let err = stream_all(&client).unwrap_err();
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::Idle), "{err:?}");
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.request_count(), 1);
}

/// With an agent of the user's own the client cannot see what was written: a refused
/// connect (no connection at all) is retried, a connection dropped after the request is
/// not.
#[test]
fn with_an_agent_of_your_own_only_failures_before_a_connection_are_retried() {
    let agent = || {
        ureq::Agent::config_builder()
            .proxy(None)
            .build()
            .new_agent()
    };
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let with_agent = |base: String| {
        Client::builder()
            .api_key("sk-test")
            .base_url(base)
            .agent(agent())
            .sleeper(|_| {})
            .build()
            .unwrap()
    };
    let client = with_agent(format!("http://127.0.0.1:{port}"));
    let err = stream_all(&client).unwrap_err();
    assert_eq!(
        (err.kind(), err.attempts()),
        (ErrorKind::Transport, 3),
        "{err:?}"
    );

    let server = ReplayServer::builder()
        .route_sequence(
            "/compatible-mode/v1/chat/completions",
            [Reply::new(200).hang_up(), Reply::sse(ANSWER)],
        )
        .start()
        .unwrap();
    let client = with_agent(server.base_url());
    let err = stream_all(&client).unwrap_err();
    assert_eq!(
        (err.kind(), err.attempts()),
        (ErrorKind::Transport, 1),
        "{err:?}"
    );
    assert_eq!(server.request_count(), 1);
}
