//! What a transport of one's own needs from the chat layer past the bytes, each rule
//! decided there once: how a stream ends when its body ends, breaks off or stalls
//! (`StreamDecoder::end`, `broke_off`, `timed_out`, `wants_input`), at every cut of every
//! transcript and the same as `EventReader` over a reader that fails the same way; and a
//! whole body checked and merged (`StreamDecoder::push_whole_body`).
#![cfg(feature = "chat")]

use std::error::Error as _;
use std::io::{self, Read};

use dashscope_glm::chat::http::MAX_BODY;
use dashscope_glm::chat::{
    Accumulator, Completion, EventReader, OwnedStreamEvent, Protocol, StreamDecoder, StreamEvent,
};
use dashscope_glm::{Error, ErrorKind, LimitKind, TimeoutKind};

use crate::data::{Transcript, transcripts};
use crate::transcripts::render_event;

fn decoder(t: &Transcript) -> StreamDecoder {
    StreamDecoder::from_accumulator(Accumulator::new(t.protocol).cumulative(t.cumulative))
}

/// What the read after the first bytes gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    /// The end of the body.
    End,
    /// A connection reset.
    Reset,
    /// The idle timeout.
    Stall,
}

impl After {
    fn io_error(self) -> Option<io::Error> {
        match self {
            Self::End => None,
            Self::Reset => Some(io::Error::from(io::ErrorKind::ConnectionReset)),
            Self::Stall => Some(io::Error::from(io::ErrorKind::TimedOut)),
        }
    }
}

/// How a run went: the events lent, whether `ready` or the read call itself gave the
/// error (rather than `finish`), and the result.
#[derive(Debug)]
struct Run {
    events: Vec<String>,
    failed_before_finish: bool,
    result: Result<Completion, Error>,
    /// Whether the answer was complete when the read failed.
    complete_at_read: bool,
}

/// `bytes`, then `after`, through the two phases as an async client drives them: output
/// until `ready` says `false`, then one read while `wants_input` says so.
fn drive(t: &Transcript, bytes: &[u8], after: After) -> Run {
    let mut stream = decoder(t);
    stream.feed(bytes);
    let mut events = Vec::new();
    let mut complete_at_read = None;
    let outcome = loop {
        match stream.ready() {
            Ok(true) => {
                events.push(render_event(&stream.take_event().unwrap()));
                continue;
            }
            Ok(false) => {}
            Err(e) => break Err(e),
        }
        if !stream.wants_input() {
            break Ok(());
        }
        assert!(
            complete_at_read.is_none(),
            "{}: wants input after the body ended",
            t.name
        );
        complete_at_read = Some(stream.accumulator().is_complete());
        let told = match after {
            After::End => stream.end(),
            After::Reset => stream.broke_off(After::Reset.io_error().unwrap()),
            After::Stall => stream.timed_out(TimeoutKind::Idle),
        };
        if let Err(e) = told {
            break Err(e);
        }
    };
    let failed_before_finish = outcome.is_err();
    let result = match outcome {
        // Failed: every later call gives the same error.
        Err(e) => {
            assert!(!stream.wants_input(), "{}", t.name);
            assert_eq!(stream.ready().as_ref(), Err(&e), "{}", t.name);
            assert_eq!(stream.end().as_ref(), Err(&e), "{}", t.name);
            assert_eq!(stream.finish().as_ref(), Err(&e), "{}", t.name);
            Err(e)
        }
        Ok(()) => stream.finish(),
    };
    Run {
        events,
        failed_before_finish,
        result,
        complete_at_read: complete_at_read.unwrap_or(true),
    }
}

/// `bytes`, then `after`, read by `EventReader` (through `io::Read`).
fn read(t: &Transcript, bytes: &[u8], after: After) -> (Vec<String>, Result<Completion, Error>) {
    struct Then<'a>(&'a [u8], Option<io::Error>);
    impl Read for Then<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return self.1.take().map_or(Ok(0), Err);
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let mut reader = EventReader::from_decoder(Then(bytes, after.io_error()), decoder(t));
    let mut events = Vec::new();
    loop {
        match reader.next_event() {
            Ok(Some(event)) => events.push(render_event(&event)),
            Ok(None) => return (events, reader.finish()),
            Err(e) => return (events, Err(e)),
        }
    }
}

/// Where to cut a transcript: after every line, and inside each line.
fn cuts(bytes: &[u8]) -> Vec<usize> {
    let mut cuts = vec![0];
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            cuts.push((start + i) / 2);
            cuts.push(i + 1);
            start = i + 1;
        }
    }
    cuts.push(bytes.len());
    cuts.dedup();
    cuts
}

/// Two errors alike in all but the identity of their foreign cause.
fn same_error(a: &Error, b: &Error) -> bool {
    a.kind() == b.kind()
        && a.to_string() == b.to_string()
        && a.partial() == b.partial()
        && a.request_id() == b.request_id()
        && a.source().map(ToString::to_string) == b.source().map(ToString::to_string)
}

fn same_result(a: &Result<Completion, Error>, b: &Result<Completion, Error>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a == b,
        (Err(a), Err(b)) => same_error(a, b),
        _ => false,
    }
}

#[test]
fn a_body_that_ends_or_breaks_off_unfinished_is_interrupted_by_next_event_itself() {
    let mut interrupted = 0;
    for t in transcripts() {
        for cut in cuts(&t.bytes) {
            let bytes = &t.bytes[..cut];
            let what = format!("{} cut at {cut}", t.name);
            let end = drive(&t, bytes, After::End);
            let reset = drive(&t, bytes, After::Reset);
            // Breaking off is an end of body: the same events and outcome, and the
            // read's error as the source of an interruption.
            assert_eq!(reset.events, end.events, "{what}");
            match (&end.result, &reset.result) {
                (Err(e), Err(r)) if e.kind() == ErrorKind::Interrupted => {
                    interrupted += 1;
                    assert!(
                        end.failed_before_finish && reset.failed_before_finish,
                        "{what}"
                    );
                    assert_eq!(r.kind(), ErrorKind::Interrupted, "{what}");
                    assert_eq!(r.partial(), e.partial(), "{what}");
                    assert!(e.source().is_none(), "{what}");
                    let source = r.source().expect("the reset").to_string();
                    assert_eq!(source, After::Reset.io_error().unwrap().to_string());
                    // An answer the server finished is never interrupted.
                    assert!(!end.complete_at_read, "{what}");
                }
                (end_result, reset_result) => {
                    assert!(same_result(end_result, reset_result), "{what}");
                }
            }
            // EventReader reads through the same calls, and ends the same way.
            for (after, run) in [(After::End, &end), (After::Reset, &reset)] {
                let (events, result) = read(&t, bytes, after);
                assert_eq!(events, run.events, "{what}, {after:?}");
                assert!(same_result(&result, &run.result), "{what}, {after:?}");
            }
        }
    }
    assert!(interrupted > 100, "{interrupted}");
}

#[test]
fn a_read_that_times_out_fails_before_the_finish_and_ends_the_stream_after() {
    let (mut timed_out, mut ended) = (0, 0);
    for t in transcripts() {
        for cut in cuts(&t.bytes) {
            let bytes = &t.bytes[..cut];
            let what = format!("{} cut at {cut}", t.name);
            let stall = drive(&t, bytes, After::Stall);
            match &stall.result {
                Err(e) if e.kind() == ErrorKind::Timeout => {
                    timed_out += 1;
                    assert!(!stall.complete_at_read, "{what}");
                    assert!(stall.failed_before_finish, "{what}");
                    assert_eq!(e.timeout_kind(), Some(TimeoutKind::Idle), "{what}");
                    assert!(e.partial().is_some(), "{what}");
                }
                Ok(completion) => {
                    ended += 1;
                    assert!(stall.complete_at_read, "{what}");
                    // The answer as far as it came: what the body's end would give,
                    // but for an event left without its blank line at the cut.
                    let end = drive(&t, bytes, After::End);
                    assert!(end.events.starts_with(&stall.events), "{what}");
                    assert_eq!(
                        completion.finish_reason,
                        end.result.unwrap().finish_reason,
                        "{what}"
                    );
                }
                // An error in the bytes that came, before the read.
                Err(e) => assert!(
                    ![ErrorKind::Interrupted, ErrorKind::Timeout].contains(&e.kind()),
                    "{what}: {e}"
                ),
            }
            let (events, result) = read(&t, bytes, After::Stall);
            assert_eq!(events, stall.events, "{what}");
            assert!(same_result(&result, &stall.result), "{what}");
        }
    }
    assert!(timed_out > 100 && ended > 10, "{timed_out} {ended}");
}

#[test]
fn wants_input_until_the_end_done_or_an_error() {
    let hi = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n";
    let fresh = || StreamDecoder::new(Protocol::OpenAiCompatible);

    // A finish reason alone: more may come (the usage chunk, `[DONE]`).
    let mut stream = fresh();
    stream.feed(hi);
    while stream.ready().unwrap() {
        let _ = stream.take_event();
    }
    assert!(stream.wants_input());
    // `[DONE]`: nothing after it is needed, and the stream finished.
    stream.feed(b"data: [DONE]\n\n");
    assert!(!stream.ready().unwrap());
    assert!(!stream.wants_input());
    stream.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late\"}}]}\n\n");
    assert!(!stream.ready().unwrap());
    assert_eq!(stream.finish().unwrap().message.content, "Hi");

    // The end of the body.
    let mut stream = fresh();
    stream.end().unwrap();
    assert!(!stream.wants_input());

    // An error.
    let mut stream = fresh();
    stream.feed(b"data: {broken\n\n");
    let err = stream.ready().unwrap_err();
    assert!(!stream.wants_input());
    assert_eq!(stream.timed_out(TimeoutKind::Idle), Err(err.clone()));
    assert_eq!(
        stream.broke_off(io::Error::from(io::ErrorKind::ConnectionReset)),
        Err(err.clone())
    );
    // A body broken off after the failure does not become its source.
    assert!(stream.ready().unwrap_err().source().is_none());
}

#[test]
fn timing_out_twice_or_after_the_end_changes_nothing() {
    let hel = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n";
    let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    stream.feed(hel);
    while stream.next_event().unwrap().is_some() {}
    let first = stream.timed_out(TimeoutKind::Total).unwrap_err();
    assert_eq!(first.timeout_kind(), Some(TimeoutKind::Total));
    assert_eq!(stream.timed_out(TimeoutKind::Idle), Err(first.clone()));
    assert_eq!(stream.next_event(), Err(first));

    // Ended (unfinished), then a timeout: the end decided, and the interruption stands.
    let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    stream.feed(hel);
    stream.end().unwrap();
    assert_eq!(stream.timed_out(TimeoutKind::Idle), Ok(()));
    assert_eq!(stream.next_event(), Ok(Some(StreamEvent::Content("Hel"))));
    let err = stream.next_event().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interrupted);
    assert_eq!(stream.timed_out(TimeoutKind::Idle), Err(err));
}

/// The events and completion of a whole `body` the way `push_whole_body` takes it, and
/// the way `Accumulator::push_body` takes its text.
fn whole(
    protocol: Protocol,
    body: &[u8],
    limit: usize,
) -> (Vec<String>, Result<Completion, Error>) {
    let mut stream = StreamDecoder::new(protocol).request_id("hdr-1");
    let mut events = Vec::new();
    let pushed = stream.push_whole_body(body, limit).and_then(|()| {
        while let Some(event) = stream.next_event()? {
            events.push(render_event(&event));
        }
        Ok(())
    });
    match pushed {
        Ok(()) => (events, stream.finish()),
        Err(e) => {
            assert_eq!(stream.finish().as_ref(), Err(&e), "fused");
            (events, Err(e))
        }
    }
}

#[test]
fn a_whole_body_merges_as_push_body_merges_its_text() {
    let bodies = [
        (
            Protocol::OpenAiCompatible,
            r#"{"id":"c-1","choices":[{"index":0,"message":{"role":"assistant","reasoning_content":"Greet.","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}"#,
        ),
        (
            Protocol::OpenAiCompatible,
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"","tool_calls":[{"index":0,"function":{"name":"now","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#,
        ),
        (
            Protocol::DashScope,
            r#"{"request_id":"r-n","output":{"choices":[{"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}]}}"#,
        ),
        // Not answers: cut JSON, an error inside a 200, a page.
        (
            Protocol::OpenAiCompatible,
            r#"{"choices":[{"index":0,"mess"#,
        ),
        (
            Protocol::OpenAiCompatible,
            r#"{"error":{"code":"data_inspection_failed","message":"Output data may contain inappropriate content."}}"#,
        ),
        (Protocol::DashScope, "<html>gateway</html>"),
        (Protocol::OpenAiCompatible, ""),
    ];
    for (protocol, body) in bodies {
        let mut accumulator = Accumulator::new(protocol).request_id("hdr-1");
        let mut want_events = Vec::new();
        let want = accumulator.push_body(body).map(|()| {
            while let Some(event) = accumulator.next_event() {
                want_events.push(render_event(&event));
            }
        });
        let want = want.and_then(|()| accumulator.finish());
        let (events, got) = whole(protocol, body.as_bytes(), MAX_BODY);
        assert_eq!(events, want_events, "{body}");
        assert_eq!(got, want, "{body}");
    }
}

#[test]
fn a_whole_body_over_its_limit_or_not_utf8_is_refused_before_merging() {
    let body = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
    // At the limit: merged.
    let (_, at) = whole(Protocol::OpenAiCompatible, body, body.len());
    assert_eq!(at.unwrap().message.content, "Hi");
    // One byte over (what a transport reading `limit + 1` bytes hands over).
    let (events, over) = whole(Protocol::OpenAiCompatible, body, body.len() - 1);
    let err = over.unwrap_err();
    assert!(events.is_empty());
    assert_eq!(err.kind(), ErrorKind::Limit);
    let limit = err.limit().unwrap();
    assert_eq!(
        (limit.kind, limit.limit),
        (LimitKind::BodyBytes, body.len() - 1)
    );
    assert_eq!(err.request_id(), Some("hdr-1"));
    assert!(err.partial().is_none(), "nothing was merged");

    // Latin-1 where UTF-8 was due: "H\xe9".
    let latin1 = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"H"#
        .iter()
        .chain(b"\xe9\"},\"finish_reason\":\"stop\"}]}")
        .copied()
        .collect::<Vec<u8>>();
    let (events, result) = whole(Protocol::OpenAiCompatible, &latin1, MAX_BODY);
    let err = result.unwrap_err();
    assert!(events.is_empty());
    assert_eq!(err.kind(), ErrorKind::Malformed);
    let chunk = err.malformed_chunk().unwrap();
    assert_eq!(chunk.offset, 0);
    let at = latin1.iter().position(|&b| b == 0xe9).unwrap();
    assert!(
        chunk.message.contains(&format!("offset {at}")),
        "{}",
        chunk.message
    );
    assert!(chunk.snippet.contains("H\u{fffd}"), "{}", chunk.snippet);
    assert_eq!(err.request_id(), Some("hdr-1"));
    assert!(err.partial().is_none(), "nothing was merged");

    // Without a request id from the head, the errors name none.
    let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    let err = stream.push_whole_body(&latin1, 1).unwrap_err();
    assert_eq!((err.kind(), err.request_id()), (ErrorKind::Limit, None));
}

#[test]
fn a_whole_body_ends_the_body_and_events_come_out_in_order() {
    let body = br#"{"choices":[{"index":0,"message":{"role":"assistant","reasoning_content":"Greet.","content":"Hi"},"finish_reason":"stop"}]}"#;
    let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    assert!(stream.wants_input());
    stream.push_whole_body(body, MAX_BODY).unwrap();
    assert!(!stream.wants_input());
    let mut events = Vec::new();
    while stream.ready().unwrap() {
        events.push(stream.take_event().unwrap().into_owned());
    }
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(
        events.first(),
        Some(&OwnedStreamEvent::Reasoning("Greet.".into()))
    );
    // A second body, or a failure after it, changes nothing: the body ended.
    assert!(stream.timed_out(TimeoutKind::Idle).is_ok());
    assert_eq!(stream.finish().unwrap().message.content, "Hi");
}
