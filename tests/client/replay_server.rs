//! `testing::ReplayServer` over real loopback sockets, driven by a minimal HTTP/1.1
//! client written here (a request writer and a response reader that decodes chunked
//! bodies and keeps the size of every chunk): bodies served byte-identical in every
//! split and framing, chunk sizes on the wire, routes and reply sequences, request
//! recording with the API key redacted, stalls (held, or until the client closes), cuts,
//! hang-ups, pauses and head delays, the connection and body-byte counts, client
//! limits, and drop.
#![cfg(feature = "testing")]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::data::{transcript, transcript_path};
use dashscope_glm::testing::{Framing, ReplayServer, Reply, Split};

const SECRET: &str = "sk-live-0123456789abcdef";

/// Writes one request; `content-length` is added when there is a body.
fn send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nhost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    stream
}

/// How a response body ended.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum End {
    /// The final chunk, or all of `content-length`.
    Complete,
    /// The connection closed first.
    Eof,
    /// No byte came within the read timeout.
    Timeout,
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The size of every chunk, in order (chunked framing only).
    chunks: Vec<usize>,
    end: End,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn classify(e: &io::Error) -> End {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => End::Timeout,
        _ => End::Eof,
    }
}

/// Reads one line, or says why there is none.
fn line(reader: &mut impl BufRead) -> Result<String, End> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) => Err(End::Eof),
        Ok(_) => Ok(line.trim_end_matches(['\r', '\n']).to_owned()),
        Err(e) => Err(classify(&e)),
    }
}

/// Reads a response; a read that waits longer than `timeout` ends the body.
fn read_response(stream: TcpStream, timeout: Duration) -> Response {
    stream.set_read_timeout(Some(timeout)).unwrap();
    read_response_from(&mut BufReader::new(stream))
}

/// Reads one response from `reader`, leaving what follows it unread.
fn read_response_from(reader: &mut impl BufRead) -> Response {
    let mut reader = reader;
    let status_line = line(&mut reader).expect("a status line");
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let header = line(&mut reader).expect("a header line");
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').expect("a colon");
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
        chunks: Vec::new(),
        end: End::Eof,
    };
    if response.header("transfer-encoding") == Some("chunked") {
        response.end = read_chunks(&mut reader, &mut response.body, &mut response.chunks);
    } else if let Some(length) = response.header("content-length") {
        let length: usize = length.parse().unwrap();
        response.end = read_up_to(&mut reader, &mut response.body, length);
    } else {
        response.end = read_up_to(&mut reader, &mut response.body, usize::MAX);
    }
    response
}

fn read_chunks(reader: &mut impl BufRead, body: &mut Vec<u8>, chunks: &mut Vec<usize>) -> End {
    loop {
        let size = match line(reader) {
            Ok(size) => usize::from_str_radix(&size, 16).expect("a chunk size"),
            Err(end) => return end,
        };
        if size == 0 {
            return match line(reader) {
                Ok(trailer) if trailer.is_empty() => End::Complete,
                Ok(trailer) => panic!("unexpected trailer {trailer:?}"),
                Err(end) => end,
            };
        }
        let mut chunk = vec![0; size];
        if let Err(e) = reader.read_exact(&mut chunk) {
            panic!(
                "a chunk cut short ({:?}): the server sends whole chunks",
                classify(&e)
            );
        }
        assert_eq!(line(reader), Ok(String::new()), "CRLF after a chunk");
        body.extend_from_slice(&chunk);
        chunks.push(size);
    }
}

fn read_up_to(reader: &mut impl Read, body: &mut Vec<u8>, length: usize) -> End {
    let mut buf = [0; 4096];
    while body.len() < length {
        match reader.read(&mut buf) {
            Ok(0) => return End::Eof,
            Ok(n) => body.extend_from_slice(&buf[..n]),
            Err(e) => return classify(&e),
        }
    }
    End::Complete
}

fn get(server: &ReplayServer, target: &str) -> Response {
    read_response(
        send(server.addr(), "GET", target, &[], b""),
        Duration::from_secs(5),
    )
}

/// Lengths of the pieces of `body` when it is cut after every `separator`.
fn split_after(body: &[u8], separator: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + separator.len() <= body.len() {
        if &body[i..i + separator.len()] == separator {
            i += separator.len();
            out.push(i - start);
            start = i;
        } else {
            i += 1;
        }
    }
    if start < body.len() {
        out.push(body.len() - start);
    }
    out
}

#[test]
fn every_split_and_framing_serves_the_transcript_byte_for_byte() {
    let names = [
        "openai_thinking.sse",
        "native_thinking.sse",
        "openai_crlf_keepalive_shared_index.sse",
        "native_legacy_framing.sse",
    ];
    let splits = [
        Split::Whole,
        Split::PerEvent,
        Split::Every(1),
        Split::Every(7),
        Split::Random { seed: 1, max: 50 },
    ];
    for name in names {
        let body = transcript(name);
        for split in splits {
            for framing in [Framing::Chunked, Framing::ContentLength, Framing::Close] {
                let reply = Reply::sse_file(transcript_path(name))
                    .unwrap()
                    .header("x-request-id", "77aa0000-0000-4000-8000-000000000004")
                    .split(split)
                    .framing(framing);
                let server = ReplayServer::start(reply).unwrap();
                let response = get(&server, "/api/v1/services/aigc/text-generation/generation");
                let case = format!("{name} {split:?} {framing:?}");
                assert_eq!(response.status, 200, "{case}");
                assert_eq!(
                    response.header("content-type"),
                    Some("text/event-stream;charset=UTF-8"),
                    "{case}"
                );
                assert_eq!(
                    response.header("x-request-id"),
                    Some("77aa0000-0000-4000-8000-000000000004"),
                    "{case}"
                );
                assert_eq!(response.header("connection"), Some("close"), "{case}");
                assert!(response.body == body, "{case}: body differs");
                match framing {
                    Framing::Chunked => {
                        assert_eq!(response.end, End::Complete, "{case}");
                        assert_eq!(response.chunks, split.piece_lengths(&body), "{case}");
                        assert_eq!(response.header("content-length"), None, "{case}");
                    }
                    Framing::ContentLength => {
                        assert_eq!(response.end, End::Complete, "{case}");
                        let length = body.len().to_string();
                        assert_eq!(response.header("content-length"), Some(&*length), "{case}");
                        assert_eq!(response.header("transfer-encoding"), None, "{case}");
                    }
                    _ => {
                        assert_eq!(response.end, End::Eof, "{case}");
                        assert_eq!(response.header("content-length"), None, "{case}");
                        assert_eq!(response.header("transfer-encoding"), None, "{case}");
                    }
                }
            }
        }
    }
}

#[test]
fn chunk_sizes_on_the_wire_follow_the_split() {
    let serve = |name: &str, split| {
        let reply = Reply::sse_file(transcript_path(name)).unwrap().split(split);
        let server = ReplayServer::start(reply).unwrap();
        get(&server, "/").chunks
    };

    // One chunk per event, whatever the line ends; checked against a plain search.
    let lf = transcript("openai_thinking.sse");
    assert_eq!(
        serve("openai_thinking.sse", Split::PerEvent),
        split_after(&lf, b"\n\n")
    );
    assert!(split_after(&lf, b"\n\n").len() > 5);
    let crlf = transcript("openai_crlf_keepalive_shared_index.sse");
    assert_eq!(
        serve("openai_crlf_keepalive_shared_index.sse", Split::PerEvent),
        split_after(&crlf, b"\r\n\r\n")
    );
    // A native stream without blank lines is one event as far as framing goes.
    let legacy = transcript("native_legacy_framing.sse");
    assert_eq!(
        serve("native_legacy_framing.sse", Split::PerEvent),
        [legacy.len()]
    );

    // Every N: N-byte chunks, then the remainder.
    let chunks = serve("openai_thinking.sse", Split::Every(100));
    assert!(chunks[..chunks.len() - 1].iter().all(|&n| n == 100));
    assert_eq!(chunks.len(), lf.len().div_ceil(100));
    assert_eq!(chunks.iter().sum::<usize>(), lf.len());

    // Whole: one chunk.
    assert_eq!(serve("openai_thinking.sse", Split::Whole), [lf.len()]);
}

#[test]
fn random_splits_are_deterministic_per_seed_and_differ_across_seeds() {
    let name = "openai_tool_stream.sse";
    let len = transcript(name).len();
    let reply = |seed| {
        Reply::sse_file(transcript_path(name))
            .unwrap()
            .split(Split::Random { seed, max: 64 })
    };
    let server = ReplayServer::builder()
        .route("/a", reply(42))
        .route("/b", reply(43))
        .start()
        .unwrap();
    let first = get(&server, "/a").chunks;
    let again = get(&server, "/a").chunks;
    let other = get(&server, "/b").chunks;
    assert_eq!(first, again);
    assert_ne!(first, other);
    for chunks in [&first, &other] {
        assert_eq!(chunks.iter().sum::<usize>(), len);
        assert!(chunks.iter().all(|&n| (1..=64).contains(&n)));
        assert!(chunks.len() > len / 64, "not all one size: {chunks:?}");
    }
    assert!(first.iter().any(|&n| n != first[0]), "sizes vary");
}

#[test]
fn routes_sequences_and_the_fallback() {
    let chat = "/compatible-mode/v1/chat/completions";
    let stream = transcript("openai_thinking.sse");
    let server = ReplayServer::builder()
        .route_sequence(
            chat,
            [
                Reply::json(503, r#"{"error":{"message":"busy"}}"#).header("retry-after", "0"),
                Reply::json(429, r#"{"error":{"message":"slow"}}"#).header("retry-after-ms", "5"),
                Reply::sse(stream.clone()),
            ],
        )
        .route(
            "/native",
            Reply::sse("id:1\n\n").header("x-request-id", "n-1"),
        )
        .start()
        .unwrap();

    let first = get(&server, chat);
    assert_eq!(first.status, 503);
    assert_eq!(first.header("retry-after"), Some("0"));
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.body, br#"{"error":{"message":"busy"}}"#);
    let second = get(&server, chat);
    assert_eq!(
        (second.status, second.header("retry-after-ms")),
        (429, Some("5"))
    );
    // The last reply repeats; the query string does not take part in matching.
    for target in [chat, &format!("{chat}?x=1")] {
        let third = get(&server, target);
        assert_eq!(third.status, 200);
        assert!(third.body == stream);
    }
    let native = get(&server, "/native");
    assert_eq!(
        (native.status, native.header("x-request-id")),
        (200, Some("n-1"))
    );

    let missing = get(&server, "/nowhere");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, b"no route for /nowhere\n");
    assert_eq!(server.request_count(), 6);

    let server = ReplayServer::builder()
        .fallback(Reply::new(418).body("teapot"))
        .start()
        .unwrap();
    let response = get(&server, "/anything");
    assert_eq!((response.status, &response.body[..]), (418, &b"teapot"[..]));

    let empty = ReplayServer::builder().route_sequence("/x", []).start();
    assert_eq!(empty.unwrap_err().kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn requests_are_recorded_with_the_key_redacted() {
    let server = ReplayServer::start(Reply::sse(transcript("openai_thinking.sse"))).unwrap();
    let body =
        r#"{"model":"glm-5","messages":[{"role":"user","content":"Who are you"}],"stream":true}"#;
    let bearer = format!("Bearer {SECRET}");
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
        ("Accept", "text/event-stream"),
        ("X-DashScope-SSE", "enable"),
    ];
    let stream = send(
        server.addr(),
        "POST",
        "/compatible-mode/v1/chat/completions?a=1&b=2",
        &headers,
        body.as_bytes(),
    );
    assert_eq!(read_response(stream, Duration::from_secs(5)).status, 200);

    // A chunked body, and no key.
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(
            b"POST /api/v1/services/aigc/text-generation/generation HTTP/1.1\r\n\
              host: x\r\ntransfer-encoding: chunked\r\n\r\n\
              5\r\n{\"in\"\r\n3;ext=1\r\n:1}\r\n0\r\ntrailer: t\r\n\r\n",
        )
        .unwrap();
    assert_eq!(read_response(stream, Duration::from_secs(5)).status, 200);

    let requests = server.requests();
    assert_eq!(server.request_count(), 2);
    let first = &requests[0];
    assert_eq!(first.method(), "POST");
    assert_eq!(
        first.target(),
        "/compatible-mode/v1/chat/completions?a=1&b=2"
    );
    assert_eq!(first.path(), "/compatible-mode/v1/chat/completions");
    assert_eq!(first.query(), Some("a=1&b=2"));
    assert_eq!(first.body_str(), Some(body));
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.header("x-dashscope-sse"), Some("enable"));
    assert_eq!(first.header("AUTHORIZATION"), Some("Bearer <redacted>"));
    let names: Vec<&str> = first.headers().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "host",
            "Authorization",
            "Content-Type",
            "Accept",
            "X-DashScope-SSE",
            "content-length"
        ]
    );
    assert!(first.authorization_present());
    assert!(first.api_key_is(SECRET));
    assert!(!first.api_key_is("sk-live-0123456789abcdeX"));
    assert!(!first.api_key_is(&bearer));

    let second = &requests[1];
    assert_eq!(
        second.path(),
        "/api/v1/services/aigc/text-generation/generation"
    );
    assert_eq!(second.query(), None);
    assert_eq!(second.body(), br#"{"in":1}"#);
    assert!(!second.authorization_present());
    assert!(!second.api_key_is(SECRET));

    for text in [
        format!("{requests:?}"),
        format!("{requests:#?}"),
        format!("{server:?}"),
        format!("{:?}", first.headers()),
    ] {
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains("0123456789abcdef"), "{text}");
    }
    assert!(format!("{first:?}").contains("Bearer <redacted>"));
}

#[test]
fn a_request_sent_a_byte_at_a_time_is_read_whole() {
    let server = ReplayServer::start(Reply::new(204)).unwrap();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_nodelay(true).unwrap();
    let request = b"POST /p HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\n\r\nbody";
    for byte in request {
        stream.write_all(&[*byte]).unwrap();
    }
    assert_eq!(read_response(stream, Duration::from_secs(5)).status, 204);
    assert_eq!(server.requests()[0].body(), b"body");

    // Bare LF line ends and `expect: 100-continue`.
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(b"PUT /q HTTP/1.1\nhost: x\nexpect: 100-continue\ncontent-length: 2\n\n")
        .unwrap();
    let mut interim = [0; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"ok").unwrap();
    assert_eq!(read_response(stream, Duration::from_secs(5)).status, 204);
    assert_eq!(server.requests()[1].body(), b"ok");
}

#[test]
fn a_stall_holds_the_socket_open_without_blocking_others_and_ends_at_drop() {
    let body = transcript("openai_thinking.sse");
    let first_event = split_after(&body, b"\n\n")[0];
    let server = ReplayServer::builder()
        .route(
            "/stall",
            Reply::sse(body.clone())
                .split(Split::PerEvent)
                .stall_after(first_event, Duration::MAX),
        )
        .route("/ok", Reply::sse("data: [DONE]\n\n"))
        .start()
        .unwrap();

    let stalled = send(server.addr(), "GET", "/stall", &[], b"");
    let reader = stalled.try_clone().unwrap();
    let response = read_response(reader, Duration::from_millis(150));
    assert_eq!(response.end, End::Timeout);
    assert_eq!(response.body, &body[..first_event]);
    assert_eq!(response.chunks, [first_event]);

    // Another request is served while the stall goes on.
    let ok = get(&server, "/ok");
    assert_eq!((ok.status, ok.end), (200, End::Complete));
    assert_eq!(server.request_count(), 2);

    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "drop took {:?}",
        started.elapsed()
    );
    // The stalled connection is closed, not left hanging.
    let mut stalled = stalled;
    stalled
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut rest = Vec::new();
    match stalled.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) => assert_eq!(classify(&e), End::Eof, "{e}"),
    }
}

#[test]
fn a_stall_with_a_hold_closes_after_it() {
    let body = transcript("native_thinking.sse");
    let reply = Reply::sse(body.clone()).stall_after(100, Duration::from_millis(100));
    let server = ReplayServer::start(reply).unwrap();
    let started = Instant::now();
    let response = read_response(
        send(server.addr(), "GET", "/", &[], b""),
        Duration::from_secs(5),
    );
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(response.end, End::Eof);
    assert_eq!(response.body, &body[..100]);
    assert_eq!(response.chunks, [100]);
}

#[test]
fn a_cut_closes_the_socket_after_exactly_n_body_bytes() {
    let body = transcript("openai_tool_stream.sse");
    for (split, n) in [
        (Split::Whole, 1),
        (Split::PerEvent, 300),
        (Split::Every(64), 640),
        (Split::Random { seed: 9, max: 40 }, 1000),
    ] {
        let reply = Reply::sse(body.clone()).split(split).cut_after(n);
        let server = ReplayServer::start(reply).unwrap();
        let response = get(&server, "/");
        assert_eq!(response.end, End::Eof, "{split:?}");
        assert_eq!(response.body, &body[..n], "{split:?}");
        // The pieces up to the cut, the last one shortened to end there.
        let mut expected = Vec::new();
        let mut left = n;
        for len in split.piece_lengths(&body) {
            if left == 0 {
                break;
            }
            expected.push(len.min(left));
            left -= len.min(left);
        }
        assert_eq!(response.chunks, expected, "{split:?}");
    }

    // With content-length the client sees fewer bytes than announced.
    let reply = Reply::sse(body.clone())
        .framing(Framing::ContentLength)
        .cut_after(500);
    let response = get(&ReplayServer::start(reply).unwrap(), "/");
    assert_eq!(
        response.header("content-length"),
        Some(&*body.len().to_string())
    );
    assert_eq!((response.end, &response.body[..]), (End::Eof, &body[..500]));

    // A cut at or past the end sends the whole body but never its final chunk.
    let reply = Reply::sse(body.clone()).cut_after(body.len() + 10);
    let response = get(&ReplayServer::start(reply).unwrap(), "/");
    assert_eq!(response.end, End::Eof);
    assert!(response.body == body);

    // A cut at 0 sends only the head.
    let response = get(
        &ReplayServer::start(Reply::sse(body).cut_after(0)).unwrap(),
        "/",
    );
    assert_eq!(
        (response.status, response.end, response.body.len()),
        (200, End::Eof, 0)
    );
}

#[test]
fn pauses_space_the_pieces() {
    let body = transcript("openai_thinking.sse");
    let pause = Duration::from_millis(30);
    let reply = Reply::sse(body.clone())
        .split(Split::Every(body.len().div_ceil(4)))
        .pause(pause);
    let server = ReplayServer::start(reply).unwrap();

    let sent = Instant::now();
    let stream = send(server.addr(), "GET", "/", &[], b"");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    while !line(&mut reader).unwrap().is_empty() {}
    let mut arrivals = Vec::new();
    let mut received = Vec::new();
    loop {
        let size = usize::from_str_radix(&line(&mut reader).unwrap(), 16).unwrap();
        if size == 0 {
            break;
        }
        let mut chunk = vec![0; size];
        reader.read_exact(&mut chunk).unwrap();
        arrivals.push(sent.elapsed());
        line(&mut reader).unwrap();
        received.extend_from_slice(&chunk);
    }
    assert!(received == body);
    assert_eq!(arrivals.len(), 4);
    // Piece i is written i pauses after the first, which is written after the request
    // was sent. (Arrivals can bunch up behind a slow reader, so gaps between them
    // prove nothing.)
    for (i, arrival) in arrivals.iter().enumerate() {
        assert!(*arrival >= pause * i as u32, "piece {i} after {arrival:?}");
    }
}

#[test]
fn drop_stops_the_server() {
    let server = ReplayServer::start(Reply::sse("data:{}\n\n")).unwrap();
    let addr = server.addr();
    assert_eq!(
        server.base_url(),
        format!("http://127.0.0.1:{}", addr.port())
    );
    assert_eq!(
        server.url("/v1"),
        format!("http://127.0.0.1:{}/v1", addr.port())
    );
    assert_eq!(get(&server, "/").status, 200);
    // A client that connects and sends nothing does not hold drop up.
    let idle = TcpStream::connect(addr).unwrap();
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "drop took {:?}",
        started.elapsed()
    );
    drop(idle);
    match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
        Err(_) => {}
        // Should something else have taken the port meanwhile, it is not our server.
        Ok(mut stream) => {
            stream
                .set_read_timeout(Some(Duration::from_secs(1)))
                .unwrap();
            let _ = stream.write_all(b"GET / HTTP/1.1\r\n\r\n");
            let mut reply = Vec::new();
            let _ = stream.read_to_end(&mut reply);
            assert!(!reply.starts_with(b"HTTP/1.1 200"));
        }
    }
}

/// Writes raw bytes and returns the status the server answered.
fn raw_status(addr: SocketAddr, request: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request).unwrap();
    read_response(stream, Duration::from_secs(5)).status
}

#[test]
fn client_limits_and_malformed_requests_are_answered_and_not_recorded() {
    let server = ReplayServer::builder()
        .fallback(Reply::new(200))
        .max_request_head(1024)
        .max_request_body(1024)
        .start()
        .unwrap();
    let addr = server.addr();
    let big_header = format!("GET / HTTP/1.1\r\nx-big: {}\r\n\r\n", "a".repeat(2000));
    let many_fields = format!("GET / HTTP/1.1\r\n{}\r\n", "a:1\r\n".repeat(300));
    let cases: [(&[u8], u16); 11] = [
        (big_header.as_bytes(), 431),
        (many_fields.as_bytes(), 431),
        (b"POST / HTTP/1.1\r\ncontent-length: 1025\r\n\r\n", 413),
        (
            b"POST / HTTP/1.1\r\ncontent-length: 99999999999999999999999\r\n\r\n",
            413,
        ),
        (
            b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n401\r\n",
            413,
        ),
        (
            b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            400,
        ),
        (b"POST / HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
            400,
        ),
        (b"POST / HTTP/1.1\r\ncontent-length: x\r\n\r\n", 400),
        (b"hello\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400),
    ];
    for (i, (request, status)) in cases.iter().enumerate() {
        assert_eq!(raw_status(addr, request), *status, "case {i}");
    }
    // An oversized chunked body that the client keeps sending.
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n")
        .unwrap();
    for _ in 0..3 {
        stream.write_all(b"200\r\n").unwrap();
        stream.write_all(&[b'x'; 0x200]).unwrap();
        stream.write_all(b"\r\n").unwrap();
    }
    assert_eq!(read_response(stream, Duration::from_secs(5)).status, 413);

    assert_eq!(server.request_count(), 0);
    assert_eq!(server.rejected_count(), cases.len() + 1);
    // A client that connects and leaves is neither.
    drop(TcpStream::connect(addr).unwrap());
    // The server still serves well-formed requests, up to the limits.
    let at_limit = vec![b'x'; 1024];
    let stream = send(addr, "POST", "/", &[], &at_limit);
    assert_eq!(read_response(stream, Duration::from_secs(5)).status, 200);
    assert_eq!(server.requests()[0].body(), &at_limit[..]);
    assert_eq!(server.rejected_count(), cases.len() + 1);
}

#[test]
fn a_hang_up_closes_the_connection_before_the_status_line() {
    let server = ReplayServer::builder()
        .route_sequence(
            "/",
            [
                Reply::sse("data:1\n\n").hang_up(),
                Reply::sse("data:1\n\n")
                    .head_delay(Duration::from_millis(50))
                    .hang_up(),
                Reply::new(204),
            ],
        )
        .start()
        .unwrap();
    for _ in 0..2 {
        let mut stream = send(server.addr(), "POST", "/", &[], b"{}");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut response = Vec::new();
        // A close (0 bytes) or a reset: either way, not one byte of a response.
        let _ = stream.read_to_end(&mut response);
        assert_eq!(String::from_utf8_lossy(&response), "");
    }
    assert_eq!(get(&server, "/").status, 204);
    // The request is read (and recorded) before the hang-up.
    assert_eq!(server.request_count(), 3);
    assert_eq!(server.requests()[0].body(), b"{}");
    assert_eq!(server.body_bytes_written(), 0);
}

#[test]
fn a_head_delay_holds_back_the_status_line() {
    let delay = Duration::from_millis(300);
    let server = ReplayServer::start(Reply::sse("data:1\n\n").head_delay(delay)).unwrap();
    let mut stream = send(server.addr(), "GET", "/", &[], b"");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let started = Instant::now();
    // Nothing within the first 100 ms...
    let early = stream.read(&mut [0; 64]).map_err(|e| classify(&e));
    assert_eq!(early, Err(End::Timeout));
    // ...then the whole response.
    let response = read_response(stream, Duration::from_secs(5));
    assert!(started.elapsed() >= delay - Duration::from_millis(20));
    assert_eq!((response.status, response.end), (200, End::Complete));
    assert_eq!(response.body, b"data:1\n\n");
}

#[test]
fn body_bytes_written_counts_body_bytes_without_framing() {
    let body = transcript("openai_thinking.sse");
    let server = ReplayServer::builder()
        .route(
            "/stall",
            Reply::sse(body.clone())
                .split(Split::Every(10))
                .stall_after(35, Duration::MAX),
        )
        .route("/whole", Reply::sse(body.clone()).split(Split::Every(7)))
        .start()
        .unwrap();
    assert_eq!(server.body_bytes_written(), 0);
    let stalled = read_response(
        send(server.addr(), "GET", "/stall", &[], b""),
        Duration::from_millis(150),
    );
    assert_eq!(stalled.chunks, [10, 10, 10, 5]);
    assert_eq!(server.body_bytes_written(), 35);
    let whole = get(&server, "/whole");
    assert_eq!(whole.end, End::Complete);
    assert_eq!(server.body_bytes_written(), 35 + body.len() as u64);
}

/// Waits up to 5 s for the server to have `n` connections open.
fn open_connections_reach(server: &ReplayServer, n: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.open_connection_count() != n {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

#[test]
fn a_stall_until_the_client_closes_ends_when_it_does() {
    let body = b"data:1\n\ndata:2\n\n";
    let server = ReplayServer::builder()
        .route(
            "/until-closed",
            Reply::sse(&body[..]).stall_until_client_closes(8, Duration::from_secs(30)),
        )
        .route(
            "/held",
            Reply::sse(&body[..]).stall_after(8, Duration::from_secs(30)),
        )
        .start()
        .unwrap();
    for target in ["/until-closed", "/held"] {
        let stream = send(server.addr(), "GET", target, &[], b"");
        let response = read_response(stream.try_clone().unwrap(), Duration::from_millis(100));
        assert_eq!(
            (response.body.as_slice(), response.end),
            (&body[..8], End::Timeout)
        );
        assert!(open_connections_reach(&server, 1), "{target}");
        drop(stream);
        if target == "/until-closed" {
            assert!(
                open_connections_reach(&server, 0),
                "the stall outlived the client"
            );
        } else {
            // A plain stall does not read, so it does not notice: it lasts its hold.
            std::thread::sleep(Duration::from_millis(300));
            assert_eq!(server.open_connection_count(), 1);
        }
    }
}

#[test]
fn a_stall_until_the_client_closes_still_ends_after_its_hold() {
    let reply =
        Reply::sse("data:1\n\ndata:2\n\n").stall_until_client_closes(8, Duration::from_millis(100));
    let server = ReplayServer::start(reply).unwrap();
    let started = Instant::now();
    let response = read_response(
        send(server.addr(), "GET", "/", &[], b""),
        Duration::from_secs(5),
    );
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(
        (response.body.as_slice(), response.end),
        (&b"data:1\n\n"[..], End::Eof)
    );
}

#[test]
fn connections_are_counted_as_accepted() {
    let server = ReplayServer::start(Reply::new(204)).unwrap();
    assert_eq!(server.connection_count(), 0);
    // A connection that never sends a request counts too; connections are accepted
    // in order, so it is counted by the time the two requests after it are answered.
    let idle = TcpStream::connect(server.addr()).unwrap();
    for _ in 0..2 {
        assert_eq!(get(&server, "/").status, 204);
    }
    assert_eq!(server.connection_count(), 3);
    assert_eq!(server.request_count(), 2);
    drop(idle);
}

/// With `keep_alive`, replies that end normally leave their connection open: three
/// requests in a row on one socket get three answers (chunked and `content-length`),
/// over one accepted connection; a request saying `connection: close` gets a response
/// saying so, and the server closes the connection after it.
#[test]
fn keep_alive_serves_requests_in_a_row_on_one_connection() {
    let server = ReplayServer::builder()
        .route("/sse", Reply::sse("data:1\n\n"))
        .route(
            "/json",
            Reply::json(200, "{}").framing(Framing::ContentLength),
        )
        .keep_alive(true)
        .start()
        .unwrap();
    let stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    for path in ["/sse", "/json", "/sse"] {
        write!(writer, "GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
        let response = read_response_from(&mut reader);
        assert_eq!(
            (response.status, response.end),
            (200, End::Complete),
            "{path}"
        );
        assert_eq!(response.header("connection"), None, "{path}");
    }
    writer
        .write_all(b"GET /json HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let last = read_response_from(&mut reader);
    assert_eq!(last.header("connection"), Some("close"));
    assert_eq!(
        reader.read(&mut [0; 1]).unwrap(),
        0,
        "closed after the last reply"
    );
    assert_eq!((server.connection_count(), server.request_count()), (1, 4));
}

/// Without `keep_alive` (the default) each response closes its connection.
#[test]
fn without_keep_alive_each_response_closes_its_connection() {
    let server =
        ReplayServer::start(Reply::json(200, "{}").framing(Framing::ContentLength)).unwrap();
    let stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    writer
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    let response = read_response_from(&mut reader);
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(reader.read(&mut [0; 1]).unwrap(), 0);
}
