//! Recording round trip: a stream served by `ReplayServer` at random splits, teed by
//! `ChatStream::record_to`, is the served body byte for byte, and decoding the
//! recording the way the `replay` example does gives what the live stream gave.
#![cfg(feature = "blocking")]

use crate::outcome;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use dashscope_glm::blocking::{ChatStream, Client};
use dashscope_glm::chat::{
    Accumulator, ChatRequest, Completion, Protocol, StreamDecoder, StreamEvent,
};
use dashscope_glm::testing::{ReplayServer, Reply, Split};
use dashscope_glm::{Error, ErrorKind};
use serde_json::Value;

fn client(server: &ReplayServer, protocol: Protocol) -> Client {
    Client::builder()
        .api_key("sk-recording-test")
        .base_url(server.base_url())
        .protocol(protocol)
        .no_proxy()
        .max_retries(0)
        .build()
        .unwrap()
}

fn request(cumulative: bool) -> ChatRequest {
    ChatRequest::new("glm-5")
        .user("Who are you")
        .incremental_output(!cumulative)
}

/// Drains `stream` as a program would: every event, until the end or the first error.
fn drain<W: Write>(stream: &mut ChatStream<W>) -> Vec<String> {
    let mut events = Vec::new();
    loop {
        match stream.next_event() {
            Ok(Some(event)) => events.push(format!("{event:?}")),
            Ok(None) | Err(_) => return events,
        }
    }
}

/// The `replay` example's loop: feed `body` in `chunk`-byte pieces, drain, end, drain,
/// finish.
fn replay(
    body: &[u8],
    protocol: Protocol,
    cumulative: bool,
    chunk: usize,
) -> (Vec<String>, Result<Completion, Error>) {
    let accumulator = Accumulator::new(protocol).cumulative(cumulative);
    let mut stream = StreamDecoder::from_accumulator(accumulator);
    let mut events = Vec::new();
    let mut run = || -> Result<(), Error> {
        for piece in body.chunks(chunk.max(1)) {
            stream.feed(piece);
            while let Some(event) = stream.next_event()? {
                events.push(format!("{event:?}"));
            }
        }
        stream.end()?;
        while let Some(event) = stream.next_event()? {
            events.push(format!("{event:?}"));
        }
        Ok(())
    };
    let outcome = run();
    (events, outcome.and_then(|()| stream.finish()))
}

/// Every transcript and every bundled recording, each at three seeded random splits.
fn bodies() -> Vec<(String, Vec<u8>, Protocol, bool)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["tests/data/transcripts", "examples/recordings"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "sse"))
            .collect();
        paths.sort();
        for path in paths {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let native = name.starts_with("native_") || name.ends_with("_dashscope");
            let protocol = if native {
                Protocol::DashScope
            } else {
                Protocol::OpenAiCompatible
            };
            let cumulative = name.contains("cumulative");
            out.push((name, std::fs::read(&path).unwrap(), protocol, cumulative));
        }
    }
    assert!(out.len() >= 21, "{}", out.len());
    out
}

#[test]
fn a_recording_is_the_served_body_and_replays_to_the_same_completion() {
    for (name, body, protocol, cumulative) in bodies() {
        for seed in [1, 2, 3] {
            let split = Split::Random { seed, max: 97 };
            let server = ReplayServer::start(Reply::sse(body.clone()).split(split)).unwrap();
            let mut stream = client(&server, protocol)
                .stream(&request(cumulative))
                .unwrap()
                .record_to(Vec::new());
            let live_events = drain(&mut stream);
            assert!(stream.recording_error().is_none(), "{name}");
            let (live, recording) = stream.finish_recording();
            assert!(recording.error.is_none(), "{name}");
            let recording = recording.writer;
            // A stream that failed stops reading at the error: its recording is what was
            // read, a prefix of the body. Otherwise it is the body, byte for byte.
            if live.is_ok()
                || live
                    .as_ref()
                    .is_err_and(|e| e.kind() == ErrorKind::Interrupted)
            {
                assert_eq!(recording, body, "{name}, seed {seed}");
            } else {
                assert!(body.starts_with(&recording), "{name}, seed {seed}");
            }
            for chunk in [1, 13, usize::MAX] {
                let (events, replayed) = replay(&recording, protocol, cumulative, chunk);
                assert_eq!(events, live_events, "{name}, seed {seed}, chunk {chunk}");
                assert_eq!(
                    outcome::of(&replayed),
                    outcome::of(&live),
                    "{name}, seed {seed}, chunk {chunk}"
                );
            }
            if let Ok(live) = &live {
                let (_, replayed) = replay(&recording, protocol, cumulative, usize::MAX);
                let replayed = replayed.unwrap();
                assert_eq!(replayed.message, live.message, "{name}");
                assert_eq!(replayed.usage, live.usage, "{name}");
            }
        }
    }
}

fn temp_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "dashscope-glm-recording-{tag}-{}.sse",
        std::process::id()
    ))
}

/// A file works as well as a Vec, and the `replay` example's decoding of the file gives
/// the live completion.
#[test]
fn recording_to_a_file_then_replaying_the_file() {
    let path = temp_path("file");
    let body = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recordings/tools_turn1_dashscope.sse"),
    )
    .unwrap();
    let server = ReplayServer::start(
        Reply::sse(body.clone())
            .split(Split::Random { seed: 9, max: 40 })
            .header("x-request-id", "from-the-header"),
    )
    .unwrap();
    let mut stream = client(&server, Protocol::DashScope)
        .stream(&request(false))
        .unwrap()
        .record_to(io::BufWriter::new(std::fs::File::create(&path).unwrap()));
    drain(&mut stream);
    assert!(stream.recording_error().is_none());
    let live = stream.finish().unwrap();
    // The body ended: the writer was flushed then, and dropped with the stream.
    let recorded = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(recorded, body);
    let (_, replayed) = replay(&recorded, Protocol::DashScope, false, 4096);
    let replayed = replayed.unwrap();
    assert_eq!(outcome::view(&replayed), outcome::view(&live));
    // The body has a request id of its own; the header's is the live stream's.
    assert_eq!(live.request_id.as_deref(), Some("from-the-header"));
    assert_eq!(
        replayed.request_id.as_deref(),
        Some("1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b")
    );
}

/// A JSON body where a stream was expected is recorded too.
#[test]
fn a_json_body_is_recorded() {
    let body = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
    let server = ReplayServer::start(Reply::json(200, body)).unwrap();
    let mut stream = client(&server, Protocol::OpenAiCompatible)
        .stream(&request(false))
        .unwrap()
        .record_to(Vec::new());
    drain(&mut stream);
    let (completion, recording) = stream.finish_recording();
    assert_eq!(recording.writer, body.as_bytes());
    assert!(recording.error.is_none());
    assert_eq!(completion.unwrap().message.content, "Hi");
}

/// Accepts `room` bytes, then fails every write.
struct Shortfall {
    written: Vec<u8>,
    room: usize,
}

impl Write for Shortfall {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written.len() >= self.room {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "no room"));
        }
        let n = buf.len().min(self.room - self.written.len());
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A failed write stops the tee and is reported, once, by `recording_error`; the stream
/// goes on to the end unharmed, and the writer keeps what it took.
#[test]
fn a_failed_write_stops_the_tee_not_the_stream() {
    let body = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/transcripts/openai_thinking.sse"),
    )
    .unwrap();
    let server = ReplayServer::start(Reply::sse(body.clone()).split(Split::Every(50))).unwrap();
    let mut stream = client(&server, Protocol::OpenAiCompatible)
        .stream(&request(false))
        .unwrap()
        .record_to(Shortfall {
            written: Vec::new(),
            room: 120,
        });
    let mut content = String::new();
    while let Some(event) = stream.next_event().unwrap() {
        if let StreamEvent::Content(text) = event {
            content.push_str(text);
        }
    }
    assert_eq!(content, "I am GLM, a language model.");
    let err = stream.recording_error().expect("the write error");
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    // The writer comes back with the error and what it took.
    let (completion, recording) = stream.finish_recording();
    assert_eq!(recording.error.unwrap().kind(), io::ErrorKind::StorageFull);
    assert_eq!(recording.writer.written, body[..120]);
    completion.unwrap();
}

/// Without `record_to` nothing is recorded; the stream is `Send + Sync`, and with a
/// writer it is `Send` when the writer is (and `Sync` only when the writer is too).
#[test]
fn no_recorder_and_auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<ChatStream>();
    send_sync::<ChatStream<Vec<u8>>>();
    let server = ReplayServer::start(Reply::sse("data: [DONE]\n\n")).unwrap();
    let stream = client(&server, Protocol::OpenAiCompatible)
        .stream(&request(false))
        .unwrap();
    assert!(stream.recording_error().is_none());
    // A `Send`-only writer (a `Cell` is not `Sync`).
    struct SendOnly(std::cell::Cell<u8>);
    impl Write for SendOnly {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.set(self.0.get().wrapping_add(1));
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    send::<ChatStream<SendOnly>>();
    let mut stream = stream.record_to(SendOnly(std::cell::Cell::new(0)));
    drain(&mut stream);
    let (completion, recording) = stream.finish_recording();
    assert!(recording.writer.0.get() >= 1);
    let _: Value = outcome::of(&completion);
}

/// Takes every byte, then fails to flush.
struct FlushFails(Vec<u8>);

impl Write for FlushFails {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Err(io::Error::other("flush failed"))
    }
}

/// The writer is flushed when the body ends; a failed flush is reported like a failed
/// write, and the stream still ends cleanly.
#[test]
fn a_failed_flush_at_the_end_of_the_body_is_reported() {
    let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    let server = ReplayServer::start(Reply::sse(body)).unwrap();
    let mut stream = client(&server, Protocol::OpenAiCompatible)
        .stream(&request(false))
        .unwrap()
        .record_to(FlushFails(Vec::new()));
    drain(&mut stream);
    assert_eq!(
        stream.recording_error().map(ToString::to_string).as_deref(),
        Some("flush failed")
    );
    let (completion, recording) = stream.finish_recording();
    assert_eq!(
        recording.writer.0,
        body.as_bytes(),
        "every byte was written"
    );
    assert_eq!(
        recording.error.map(|e| e.to_string()).as_deref(),
        Some("flush failed")
    );
    assert_eq!(completion.unwrap().message.content, "Hi");
}
