//! The stream over a socket: `chat::EventReader` over a bare `TcpStream` against
//! `ReplayServer` gives what `StreamDecoder` gives for the served body (and a stall or
//! a cut its timeout or interruption); a failed `ChatStream` shares its partial
//! completion on later calls; the stream's end is logged at debug without message text.
#![cfg(all(feature = "blocking", feature = "testing"))]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use dashscope_glm::blocking::Client;
use dashscope_glm::chat::{ChatRequest, EventReader, Protocol, StreamDecoder};
use dashscope_glm::testing::{Framing, ReplayServer, Reply, Split};
use dashscope_glm::{ErrorKind, TimeoutKind};

use crate::{log_capture, outcome};

/// Sends a request by hand and returns the socket positioned at the body (the
/// response head read up to the blank line).
fn open(server: &ReplayServer, path: &str) -> BufReader<TcpStream> {
    let body = br#"{"model":"glm-5","messages":[]}"#;
    let mut socket = TcpStream::connect(server.addr()).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        socket,
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.addr(),
        body.len()
    )
    .unwrap();
    socket.write_all(body).unwrap();
    let mut response = BufReader::new(socket);
    let mut line = String::new();
    response.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    loop {
        line.clear();
        if response.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            return response;
        }
    }
}

const PATH: &str = "/compatible-mode/v1/chat/completions";

#[test]
fn event_reader_over_a_tcp_stream_gives_what_the_decoder_gives() {
    for name in [
        "openai_thinking",
        "openai_tool_stream",
        "native_parallel_tools",
        "native_legacy_framing",
    ] {
        let body = crate::data::transcript(&format!("{name}.sse"));
        let protocol = if name.starts_with("native_") {
            Protocol::DashScope
        } else {
            Protocol::OpenAiCompatible
        };
        let mut decoder = StreamDecoder::new(protocol);
        decoder.feed(&body);
        let mut want_events = Vec::new();
        while let Some(e) = decoder.next_event().unwrap() {
            want_events.push(format!("{e:?}"));
        }
        decoder.end().unwrap();
        while let Some(e) = decoder.next_event().unwrap() {
            want_events.push(format!("{e:?}"));
        }
        let want = outcome::of(&decoder.finish());
        for seed in [1, 2] {
            let reply = Reply::sse(body.clone())
                .framing(Framing::Close)
                .split(Split::Random { seed, max: 61 });
            let server = ReplayServer::start(reply).unwrap();
            let mut reader = EventReader::new(open(&server, PATH), protocol).read_buffer(100);
            let mut events = Vec::new();
            while let Some(e) = reader.next_event().unwrap() {
                events.push(format!("{e:?}"));
            }
            assert_eq!(events, want_events, "{name}, seed {seed}");
            assert_eq!(outcome::of(&reader.finish()), want, "{name}, seed {seed}");
        }
    }
}

const HEL: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n";

/// A stall past the socket's read timeout is an idle timeout; a cut is an
/// interruption; both carry the text that came.
#[test]
fn a_stall_or_a_cut_on_the_socket() {
    let body = format!("{HEL}{HEL}");
    let stall = Reply::sse(body.clone())
        .framing(Framing::Close)
        .stall_after(HEL.len() + 5, Duration::from_secs(5));
    let server = ReplayServer::start(stall).unwrap();
    let socket = open(&server, PATH);
    socket
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let err = EventReader::new(socket, Protocol::OpenAiCompatible)
        .finish()
        .unwrap_err();
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::Idle), "{err:?}");
    assert_eq!(err.partial().unwrap().message.content, "Hel");

    let cut = Reply::sse(body)
        .framing(Framing::Close)
        .cut_after(HEL.len() + 5);
    let server = ReplayServer::start(cut).unwrap();
    let err = EventReader::new(open(&server, PATH), Protocol::OpenAiCompatible)
        .finish()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interrupted, "{err:?}");
    assert_eq!(err.partial().unwrap().message.content, "Hel");
}

fn client(server: &ReplayServer) -> Client {
    Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .no_proxy()
        .max_retries(0)
        .build()
        .unwrap()
}

/// After a failure, later calls return the same error with the same partial
/// completion (one allocation, shared), and the socket is not read again.
#[test]
fn a_failed_chat_stream_shares_its_partial_on_later_calls() {
    let body = format!("{HEL}data: {{\"error\":{{\"code\":\"x\",\"message\":\"no\"}}}}\n\n{HEL}");
    let server = ReplayServer::start(Reply::sse(body)).unwrap();
    let mut stream = client(&server)
        .stream(&ChatRequest::new("glm-5").user("Hi"))
        .unwrap();
    assert!(stream.next_event().unwrap().is_some());
    let first = stream.next_event().unwrap_err();
    assert_eq!(first.partial().unwrap().message.content, "Hel");
    for _ in 0..3 {
        let again = stream.next_event().unwrap_err();
        assert_eq!(again, first);
        assert!(std::ptr::eq(
            again.partial().unwrap(),
            first.partial().unwrap()
        ));
    }
    let last = stream.finish().unwrap_err();
    assert!(std::ptr::eq(
        last.partial().unwrap(),
        first.partial().unwrap()
    ));
}

/// Runs `f` with this thread's log records captured: (level, "target text").
fn captured(f: impl FnOnce()) -> Vec<(log::Level, String)> {
    log_capture::start();
    f();
    log_capture::take()
        .into_iter()
        .map(|r| (r.level, format!("{} {}", r.target, r.text)))
        .collect()
}

#[test]
fn the_stream_end_is_logged_at_debug_without_text() {
    let text = "UNIQUE-ANSWER-TEXT";
    let body = format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n\
         data: {{\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}]}}\n\n\
         data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}}}\n\n\
         data: [DONE]\n\n"
    );
    let server = ReplayServer::start(Reply::sse(body.clone()).split(Split::Every(9))).unwrap();
    let mut events = 0;
    let records = captured(|| {
        let mut stream = client(&server)
            .stream(&ChatRequest::new("glm-5").user("Hi"))
            .unwrap();
        while stream.next_event().unwrap().is_some() {
            events += 1;
        }
        stream.finish().unwrap();
    });
    let ends: Vec<_> = records
        .iter()
        .filter(|(_, m)| m.contains("stream finished"))
        .collect();
    assert_eq!(ends.len(), 1, "{records:#?}");
    let (level, message) = ends[0];
    assert_eq!(*level, log::Level::Debug);
    // Its `key=value` fields, each read on its own.
    let field = |name: &str| log_capture::field(message, name);
    assert_eq!(field("finish_reason"), Some("Some(\"stop\")"), "{message}");
    assert_eq!(field("bytes"), Some(&*body.len().to_string()), "{message}");
    assert_eq!(field("events"), Some(&*events.to_string()), "{message}");
    let usage = field("usage").unwrap_or_else(|| panic!("no usage in {message}"));
    for count in ["input_tokens: 3", "output_tokens: 4", "total_tokens: 7"] {
        assert!(usage.contains(count), "{count} not in {usage}");
    }
    for (level, message) in &records {
        assert!(
            *level == log::Level::Trace || !message.contains(text),
            "message text logged at {level}: {message}"
        );
    }

    // A failed stream logs its end too, with its kind and no text.
    let server = ReplayServer::start(Reply::sse(format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n"
    )))
    .unwrap();
    let records = captured(|| {
        let stream = client(&server)
            .stream(&ChatRequest::new("glm-5").user("Hi"))
            .unwrap();
        stream.finish().unwrap_err();
    });
    let ends: Vec<_> = records
        .iter()
        .filter(|(_, m)| m.contains("stream failed: interrupted"))
        .collect();
    assert_eq!(ends.len(), 1, "{records:#?}");
    assert!(
        records
            .iter()
            .all(|(l, m)| *l == log::Level::Trace || !m.contains(text))
    );
}
