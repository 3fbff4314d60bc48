//! The transport against std servers on 127.0.0.1: a cancel in each phase (connect,
//! TLS handshake, request write, response head, body) ends the call with the cancel
//! error; the pool never hands out a cancelled connection and keeps the others; what a
//! call sent is metered (and a CONNECT proxy's own bytes are not).
//!
//! Outcomes only: a test cancels once the server (or the call's own record) shows the
//! call has reached the phase, and asserts what the call returned, never how fast. The
//! one test that times the cancels is `--ignored` and only prints
//! (`cargo test --release --lib cancel_latency -- --ignored --nocapture`).

use std::io::{BufRead, BufReader, ErrorKind};
use std::net::{Shutdown, TcpListener};
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;

use super::*;

/// Where an attempt's connection came from, as its record tells: a new one is stamped
/// when it is ready; a pooled one took request bytes without that stamp.
#[derive(Debug, PartialEq, Eq)]
enum Origin {
    New,
    Pooled,
}

fn origin(call: &CallContext) -> Option<Origin> {
    if call.connected_at().is_some() {
        Some(Origin::New)
    } else if call.nothing_sent() {
        None
    } else {
        Some(Origin::Pooled)
    }
}

/// An agent on this module's transport, as the client's builder makes it (no proxy from
/// the environment: the tests' servers are on loopback).
fn agent() -> Agent {
    agent_with(Agent::config_builder().proxy(None))
}

fn agent_with(config: ureq::config::ConfigBuilder<ureq::typestate::AgentScope>) -> Agent {
    new_agent(
        config
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(30)))
            .build(),
    )
}

/// A context guarded by a fresh token, and the token.
fn guarded() -> (CallContext, CancelToken) {
    let token = CancelToken::new();
    (CallContext::new(Some(token.clone())), token)
}

/// Reads one request (its head and a `Content-Length` body); returns its target (path,
/// or `host:port` for CONNECT) and its length in bytes; `None` at the end of the stream.
fn read_request(stream: &mut impl BufRead) -> Option<(String, usize)> {
    let mut line = String::new();
    stream.read_line(&mut line).ok().filter(|&n| n > 0)?;
    let target = line.split(' ').nth(1)?.to_owned();
    let mut total = line.len();
    let mut length = 0;
    loop {
        line.clear();
        let n = stream.read_line(&mut line).ok().filter(|&n| n > 0)?;
        total += n;
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).ok()?;
    Some((target, total + length))
}

/// Reads until the client closes or shuts the connection down: holds a stalled
/// connection open without answering.
fn hold_until_closed(stream: &mut impl Read) {
    let mut buf = [0u8; 1024];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}

/// A server on 127.0.0.1 that runs `handle` on each connection (a thread each) and
/// counts them.
struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Server {
    fn start(handle: impl Fn(TcpStream) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let handle = Arc::new(handle);
        let count = Arc::clone(&accepted);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let handle = Arc::clone(&handle);
                thread::spawn(move || handle(stream));
            }
        });
        Self { addr, accepted }
    }

    /// A keep-alive server: `/ok` answers `ok`; `/stall` sends a head and the first
    /// chunk (`hello`) and then nothing; `/silent` never answers. `seen` hears each
    /// request's target and length once it is read.
    fn routes(seen: Sender<(String, usize)>) -> Self {
        let seen = Mutex::new(seen);
        Self::start(move |stream| {
            let mut reader = BufReader::new(stream);
            while let Some((target, length)) = read_request(&mut reader) {
                let _ = seen.lock().unwrap().send((target.clone(), length));
                let stream = reader.get_mut();
                match target.as_str() {
                    "/ok" => {
                        let reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                        if stream.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                    "/stall" => {
                        let head =
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";
                        let _ = stream.write_all(head.as_bytes());
                        hold_until_closed(stream);
                        return;
                    }
                    _ => {
                        hold_until_closed(stream);
                        return;
                    }
                }
            }
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Runs `f` on another thread after `signal` (or at once if it is closed), then
/// cancels `token`; returns the time of the cancel.
fn cancel_after(token: &CancelToken, signal: Receiver<()>) -> thread::JoinHandle<Instant> {
    let token = token.clone();
    thread::spawn(move || {
        let _ = signal.recv();
        let at = Instant::now();
        token.cancel();
        at
    })
}

#[test]
fn a_cancel_while_waiting_for_the_head_ends_send() {
    let (seen, requests) = mpsc::channel();
    let server = Server::routes(seen);
    let (call, token) = guarded();
    let (go, signal) = mpsc::channel();
    let canceller = cancel_after(&token, signal);
    thread::spawn(move || {
        // The request is in: the call is (or is about to be) waiting for the head.
        let _ = requests.recv();
        let _ = go.send(());
    });
    let agent = agent();
    let err = call
        .run(|| agent.post(server.url("/silent")).send("hello"))
        .unwrap_err();
    canceller.join().unwrap();
    assert!(is_cancel_ureq(&err), "{err:?}");
    assert!(!call.nothing_sent());
    assert_eq!(origin(&call), Some(Origin::New));
}

#[test]
fn a_cancel_while_reading_the_body_ends_the_read() {
    let (seen, _requests) = mpsc::channel();
    let server = Server::routes(seen);
    let (call, token) = guarded();
    let (go, signal) = mpsc::channel();
    let canceller = cancel_after(&token, signal);
    let agent = agent();
    let response = call.run(|| agent.get(server.url("/stall")).call()).unwrap();
    let mut body = call.reader(response.into_body().into_reader());
    let mut buf = [0u8; 64];
    let n = body.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello");
    go.send(()).unwrap();
    let err = body.read(&mut buf).unwrap_err();
    canceller.join().unwrap();
    assert!(is_cancel(&err), "{err:?}");
    // Fused: nothing more, not even from ureq's buffer.
    assert!(is_cancel(&body.read(&mut buf).unwrap_err()));
    assert!(call.request_written_at().is_some());
    assert!(call.first_body_byte_at().is_some());
}

/// A listener whose accept queue is full, so that a new connect to it hangs (Linux
/// drops the SYN), and the connections that fill it.
#[cfg(target_os = "linux")]
fn full_listener() -> (TcpListener, Vec<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => fillers.push(stream),
            Err(e) if is_timeout(&e) => return (listener, fillers),
            Err(e) => panic!("filling the accept queue: {e}"),
        }
        assert!(fillers.len() < 100_000, "the accept queue never filled");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_cancel_while_connecting_ends_the_connect() {
    let (listener, _fillers) = full_listener();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (call, token) = guarded();
    let agent = agent();
    let client = {
        let call = call.clone();
        thread::spawn(move || call.run(|| agent.get(&url).call()))
    };
    // Cancelled once the connector has started on the connection, which cannot
    // complete: the cancel comes during the connect.
    while call.connecting_at().is_none() {
        thread::sleep(Duration::from_millis(1));
    }
    token.cancel();
    let err = client.join().unwrap().unwrap_err();
    assert!(is_cancel_ureq(&err), "{err:?}");
    assert_eq!(origin(&call), None);
    assert!(call.nothing_sent());
}

#[test]
fn a_cancel_while_writing_a_large_body_ends_the_write() {
    // Reads the request head only, then never reads again: the body fills the socket
    // buffers and the write blocks.
    let (headed, head_read) = mpsc::channel();
    let (release, hold) = mpsc::channel::<()>();
    let headed = Mutex::new(headed);
    let hold = Mutex::new(hold);
    let server = Server::start(move |stream| {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
            line.clear();
        }
        let _ = headed.lock().unwrap().send(());
        let _ = hold.lock().unwrap().recv();
    });
    let (call, token) = guarded();
    let canceller = cancel_after(&token, head_read);
    let agent = agent();
    let body = vec![b'x'; 32 << 20];
    let err = call
        .run(|| agent.post(server.url("/sink")).send(&body[..]))
        .unwrap_err();
    canceller.join().unwrap();
    drop(release);
    assert!(is_cancel_ureq(&err), "{err:?}");
    assert!(!call.nothing_sent());
    // The body never finished, so the response was never waited for.
    assert_eq!(call.request_written_at(), None);
}

#[test]
fn a_cancel_during_the_tls_handshake_ends_it() {
    // Accepts and never answers the ClientHello.
    let (accepted, on_accept) = mpsc::channel();
    let accepted = Mutex::new(accepted);
    let server = Server::start(move |mut stream| {
        let _ = accepted.lock().unwrap().send(());
        hold_until_closed(&mut stream);
    });
    let (call, token) = guarded();
    let canceller = cancel_after(&token, on_accept);
    let agent = agent();
    let url = format!("https://{}/", server.addr);
    let err = call.run(|| agent.get(&url).call()).unwrap_err();
    canceller.join().unwrap();
    assert!(is_cancel_ureq(&err), "{err:?}");
    // The handshake's bytes are not the request's.
    assert!(call.nothing_sent());
    assert_eq!(origin(&call), None);
}

#[test]
fn a_token_cancelled_before_the_call_fails_at_once_without_connecting() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (call, token) = guarded();
    token.cancel();
    let agent = agent();
    let err = call.run(|| agent.get(&url).call()).unwrap_err();
    assert!(is_cancel_ureq(&err), "{err:?}");
    assert!(call.nothing_sent());
    assert_eq!(origin(&call), None);
    // A connect would have left a connection in the accept queue.
    listener.set_nonblocking(true).unwrap();
    assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
}

#[test]
fn after_a_cancel_the_agent_opens_a_fresh_connection_and_pools_it() {
    let (seen, _requests) = mpsc::channel();
    let server = Server::routes(seen);
    let agent = agent();
    let get_ok = |call: &CallContext| {
        let response = call.run(|| agent.get(server.url("/ok")).call()).unwrap();
        let mut text = String::new();
        call.reader(response.into_body().into_reader())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "ok");
    };

    let first = CallContext::new(None);
    get_ok(&first);
    assert_eq!(origin(&first), Some(Origin::New));
    assert!(first.connecting_at().unwrap() <= first.connected_at().unwrap());
    assert_eq!(server.accepted(), 1);

    // The pooled connection is cut mid-body by a cancel...
    let (call, token) = guarded();
    let response = call.run(|| agent.get(server.url("/stall")).call()).unwrap();
    assert_eq!(origin(&call), Some(Origin::Pooled));
    let mut body = call.reader(response.into_body().into_reader());
    let mut buf = [0u8; 64];
    assert_eq!(body.read(&mut buf).unwrap(), 5);
    let (go, signal) = mpsc::channel();
    let canceller = cancel_after(&token, signal);
    go.send(()).unwrap();
    assert!(is_cancel(&body.read(&mut buf).unwrap_err()));
    canceller.join().unwrap();
    drop(body);

    // ...and never handed out again: the next call opens a second connection, which
    // goes back to the pool as usual.
    let next = CallContext::new(None);
    get_ok(&next);
    assert_eq!(origin(&next), Some(Origin::New));
    assert_eq!(server.accepted(), 2);
    let last = CallContext::new(None);
    get_ok(&last);
    assert_eq!(origin(&last), Some(Origin::Pooled));
    assert_eq!(server.accepted(), 2);
}

#[test]
fn a_cancel_after_a_call_leaves_its_pooled_connection_alone() {
    let (seen, _requests) = mpsc::channel();
    let server = Server::routes(seen);
    let agent = agent();
    let (call, token) = guarded();
    let response = call.run(|| agent.get(server.url("/ok")).call()).unwrap();
    let mut text = String::new();
    call.reader(response.into_body().into_reader())
        .read_to_string(&mut text)
        .unwrap();
    token.cancel();

    let next = CallContext::new(Some(CancelToken::new()));
    let response = next.run(|| agent.get(server.url("/ok")).call()).unwrap();
    text.clear();
    next.reader(response.into_body().into_reader())
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "ok");
    assert_eq!(origin(&next), Some(Origin::Pooled));
    assert_eq!(server.accepted(), 1);
}

#[test]
fn a_transport_that_reported_a_cancel_is_never_open_again() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_server_side, _) = listener.accept().unwrap();
    let mut transport = TcpTransport {
        stream: Arc::new(stream),
        buffers: LazyBuffers::new(1024, 1024),
        timeout_read: None,
        timeout_write: None,
        cancelled: false,
    };
    // Idle and silent: open.
    assert!(transport.is_open());

    let (call, token) = guarded();
    let (go, signal) = mpsc::channel();
    let canceller = cancel_after(&token, signal);
    go.send(()).unwrap();
    let err = call
        .run(|| transport.await_input(NextTimeout::default()))
        .unwrap_err();
    canceller.join().unwrap();
    assert!(is_cancel_ureq(&err), "{err:?}");
    assert!(!transport.is_open());
    // No more I/O on it, even outside the call.
    assert!(is_cancel_ureq(
        &transport.await_input(NextTimeout::default()).unwrap_err()
    ));
}

#[test]
fn only_the_request_is_metered_not_a_connect_proxy_handshake() {
    // A CONNECT proxy that, once the tunnel is up, serves the request itself.
    let (seen, requests) = mpsc::channel();
    let seen = Mutex::new(seen);
    let proxy = Server::start(move |stream| {
        let mut reader = BufReader::new(stream);
        let Some((connect, _)) = read_request(&mut reader) else {
            return;
        };
        let _ = reader
            .get_mut()
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        let Some((path, length)) = read_request(&mut reader) else {
            return;
        };
        let _ = seen.lock().unwrap().send((connect, path, length));
        let _ = reader
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        hold_until_closed(&mut reader);
    });
    let proxied = agent_with(Agent::config_builder().proxy(Some(
        ureq::Proxy::new(&format!("http://{}", proxy.addr)).unwrap(),
    )));
    let call = CallContext::new(Some(CancelToken::new()));
    let response = call
        .run(|| proxied.post("http://origin.test:8080/v1").send("{\"q\":1}"))
        .unwrap();
    let mut text = String::new();
    call.reader(response.into_body().into_reader())
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "ok");
    let (connect, path, length) = requests.recv().unwrap();
    assert_eq!(
        (connect.as_str(), path.as_str()),
        ("origin.test:8080", "/v1")
    );
    assert_eq!(call.request_bytes(), u64::try_from(length).unwrap());
    assert_eq!(origin(&call), Some(Origin::New));
    // The stamps follow the call in order (the clock is monotonic).
    let connected = call.connected_at().unwrap();
    let written = call.request_written_at().unwrap();
    let first_byte = call.first_body_byte_at().unwrap();
    let connecting = call.connecting_at().unwrap();
    assert!(connecting <= connected && connected <= written && written <= first_byte);
}

#[test]
fn failures_before_the_request_leave_nothing_sent() {
    // Refused: a port nobody listens on (bound, then closed).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let agent = agent();
    let call = CallContext::new(Some(CancelToken::new()));
    let err = call
        .run(|| agent.get(format!("http://127.0.0.1:{port}/")).call())
        .unwrap_err();
    assert!(!is_cancel_ureq(&err));
    assert!(call.nothing_sent());
    assert_eq!(origin(&call), None);

    // A TLS handshake refused: the server answers the ClientHello with plain HTTP.
    let server = Server::start(|mut stream| {
        let mut hello = [0u8; 5];
        let _ = stream.read_exact(&mut hello);
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        let _ = stream.shutdown(Shutdown::Write);
        hold_until_closed(&mut stream);
    });
    let call = CallContext::new(None);
    let err = call
        .run(|| agent.get(format!("https://{}/", server.addr)).call())
        .unwrap_err();
    assert!(!is_cancel_ureq(&err), "{err:?}");
    assert!(call.nothing_sent());
    assert_eq!(origin(&call), None);

    // Sent: the request went out, the server closed without answering.
    let (seen, requests) = mpsc::channel();
    let seen = Mutex::new(seen);
    let server = Server::start(move |stream| {
        let mut reader = BufReader::new(stream);
        if let Some((_, length)) = read_request(&mut reader) {
            let _ = seen.lock().unwrap().send(length);
        }
    });
    let call = CallContext::new(None);
    let err = call
        .run(|| agent.post(server.url("/")).send("hello"))
        .unwrap_err();
    assert!(!is_cancel_ureq(&err), "{err:?}");
    assert_eq!(
        call.request_bytes(),
        u64::try_from(requests.recv().unwrap()).unwrap()
    );
}

#[test]
fn a_socks_proxy_is_refused_not_bypassed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let agent = agent_with(
        Agent::config_builder().proxy(Some(ureq::Proxy::new("socks5://127.0.0.1:1").unwrap())),
    );
    let err = agent
        .get(format!("http://{}/", listener.local_addr().unwrap()))
        .call()
        .unwrap_err();
    assert!(
        matches!(&err, ureq::Error::Io(e) if e.kind() == ErrorKind::Unsupported),
        "{err:?}"
    );
    listener.set_nonblocking(true).unwrap();
    assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
}

#[test]
fn scopes_nest_and_restore_the_call_before() {
    assert!(current_call().is_none());
    let outer = CallContext::new(None);
    let inner = CallContext::new(Some(CancelToken::new()));
    {
        let _outer = outer.enter();
        {
            let _inner = inner.enter();
            assert!(current_call().unwrap().token().is_some());
        }
        assert!(current_call().unwrap().token().is_none());
    }
    assert!(current_call().is_none());
}

#[test]
fn the_cancel_error_is_recognised_through_ureqs_wrappers() {
    assert!(is_cancel(&cancel_error()));
    assert!(is_cancel_ureq(&cancelled()));
    assert!(is_cancel(&cancelled().into_io()));
    assert!(is_cancel(&io::Error::other(cancelled())));
    assert!(is_cancel(&io::Error::new(
        ErrorKind::TimedOut,
        cancel_error()
    )));
    assert!(!is_cancel(&io::Error::other("the call was cancelled")));
    assert!(!is_cancel(&io::Error::from(ErrorKind::Other)));
    assert!(!is_cancel_ureq(&ureq::Error::ConnectionFailed));
    assert_eq!(cancel_error().kind(), ErrorKind::Other);
}

/// The time from `cancel()` to the call returning, in each phase, several times each;
/// prints the figures (`cargo test --release --lib cancel_latency -- --ignored
/// --nocapture`). Each cancel comes 50 ms after the server (or the call's record) saw
/// the call reach the phase, so that the call is blocked in it.
#[test]
#[ignore = "a measurement: prints figures, asserts only outcomes"]
fn cancel_latency() {
    const RUNS: usize = 30;
    const SETTLE: Duration = Duration::from_millis(50);

    /// Runs `call` on this thread, cancelling from another once `reached` returns and
    /// SETTLE has passed; the time from the cancel to the return.
    fn time_one(
        reached: impl FnOnce(&CallContext) + Send + 'static,
        call: impl FnOnce(&CallContext) -> bool,
    ) -> Duration {
        let (context, token) = guarded();
        let seen = context.clone();
        let canceller = thread::spawn(move || {
            reached(&seen);
            thread::sleep(SETTLE);
            let at = Instant::now();
            token.cancel();
            at
        });
        let cancelled = call(&context);
        let returned = Instant::now();
        let at = canceller.join().unwrap();
        assert!(cancelled, "the call did not end with the cancel error");
        returned.saturating_duration_since(at)
    }

    /// `reached` for a server that reports each connection or request on `signal`.
    fn next_from(signal: &Arc<Mutex<Receiver<()>>>) -> impl FnOnce(&CallContext) + Send + 'static {
        let signal = Arc::clone(signal);
        move |_| {
            let _ = signal.lock().unwrap().recv();
        }
    }

    fn report(phase: &str, mut times: Vec<Duration>) {
        times.sort();
        let us = |d: &Duration| d.as_secs_f64() * 1e6;
        println!(
            "{phase:<8} n={:<3} min {:>7.1} us  median {:>7.1} us  p90 {:>7.1} us  max {:>7.1} us",
            times.len(),
            us(&times[0]),
            us(&times[times.len() / 2]),
            us(&times[times.len() * 9 / 10]),
            us(times.last().unwrap()),
        );
    }

    let agent = agent();

    #[cfg(target_os = "linux")]
    {
        let (listener, _fillers) = full_listener();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let times = (0..RUNS)
            .map(|_| {
                // Once the connector has started, on a connect that cannot complete.
                time_one(
                    |call| {
                        while call.connecting_at().is_none() {
                            thread::sleep(Duration::from_millis(1));
                        }
                    },
                    |call| call.run(|| is_cancel_ureq(&agent.get(&url).call().unwrap_err())),
                )
            })
            .collect();
        report("connect", times);
    }

    // Accepts and never answers the ClientHello.
    let (accepted, on_accept) = mpsc::channel();
    let accepted = Mutex::new(accepted);
    let tls = Server::start(move |mut stream| {
        let _ = accepted.lock().unwrap().send(());
        hold_until_closed(&mut stream);
    });
    let url = format!("https://{}/", tls.addr);
    let on_accept = Arc::new(Mutex::new(on_accept));
    let times = (0..RUNS)
        .map(|_| {
            time_one(next_from(&on_accept), |call| {
                call.run(|| is_cancel_ureq(&agent.get(&url).call().unwrap_err()))
            })
        })
        .collect();
    report("tls", times);

    // Reads the request head and then nothing for a second (the body blocks the
    // client's write), then drains what the cancelled client left.
    let (headed, head_read) = mpsc::channel();
    let headed = Mutex::new(headed);
    let sink = Server::start(move |stream| {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
            line.clear();
        }
        let _ = headed.lock().unwrap().send(());
        thread::sleep(Duration::from_secs(1));
        hold_until_closed(&mut reader);
    });
    let body = vec![b'x'; 32 << 20];
    let head_read = Arc::new(Mutex::new(head_read));
    let times = (0..RUNS)
        .map(|_| {
            time_one(next_from(&head_read), |call| {
                let sent = call.run(|| agent.post(sink.url("/")).send(&body[..]));
                is_cancel_ureq(&sent.unwrap_err())
            })
        })
        .collect();
    report("write", times);

    let (seen, requests) = mpsc::channel();
    let server = Server::routes(seen);
    let (relay, heard) = mpsc::channel();
    thread::spawn(move || {
        while requests.recv().is_ok() {
            if relay.send(()).is_err() {
                return;
            }
        }
    });
    let heard = Arc::new(Mutex::new(heard));
    let times = (0..RUNS)
        .map(|_| {
            time_one(next_from(&heard), |call| {
                let sent = call.run(|| agent.get(server.url("/silent")).call());
                is_cancel_ureq(&sent.unwrap_err())
            })
        })
        .collect();
    report("head", times);

    let times = (0..RUNS)
        .map(|_| {
            let (go, reached) = mpsc::channel();
            time_one(
                move |_| {
                    let _ = reached.recv();
                },
                |call| {
                    let response = call.run(|| agent.get(server.url("/stall")).call()).unwrap();
                    let _ = heard.lock().unwrap().recv();
                    let mut body = call.reader(response.into_body().into_reader());
                    let mut buf = [0u8; 64];
                    assert_eq!(body.read(&mut buf).unwrap(), 5);
                    go.send(()).unwrap();
                    is_cancel(&body.read(&mut buf).unwrap_err())
                },
            )
        })
        .collect();
    report("body", times);

    let times = (0..RUNS)
        .map(|_| {
            time_one(
                |_| {},
                |call| {
                    call.token()
                        .unwrap()
                        .wait_timeout(Duration::from_secs(3600))
                },
            )
        })
        .collect();
    report("backoff", times);
}
