//! `chat::EventReader`: any `io::Read` gives what `StreamDecoder` gives for the same
//! bytes (every transcript, any read size); a reader that breaks off, times out or is
//! interrupted mid-event; nothing read after `[DONE]`; and a failed reader's error
//! shared, not copied, on later calls.
#![cfg(feature = "chat")]

use crate::data::{Transcript, transcripts};
use crate::outcome;

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use dashscope_glm::chat::{
    Accumulator, Completion, EventReader, Protocol, StreamDecoder, StreamEvent,
};
use dashscope_glm::{Error, ErrorKind, TimeoutKind};

fn decoder(t: &Transcript) -> StreamDecoder {
    let accumulator = Accumulator::new(t.protocol).cumulative(t.cumulative);
    StreamDecoder::from_accumulator(accumulator)
}

/// StreamDecoder fed the whole body: feed, drain, end, drain, finish.
fn decode(t: &Transcript) -> (Vec<String>, Result<Completion, Error>) {
    let mut stream = decoder(t);
    let mut events = Vec::new();
    let mut run = |stream: &mut StreamDecoder| -> Result<(), Error> {
        stream.feed(&t.bytes);
        while let Some(e) = stream.next_event()? {
            events.push(format!("{e:?}"));
        }
        stream.end()?;
        while let Some(e) = stream.next_event()? {
            events.push(format!("{e:?}"));
        }
        Ok(())
    };
    let outcome = run(&mut stream);
    let result = outcome.and_then(|()| stream.finish());
    (events, result)
}

/// EventReader over `reader`: drain, then finish.
fn read<R: Read>(mut reader: EventReader<R>) -> (Vec<String>, Result<Completion, Error>) {
    let mut events = Vec::new();
    let result = loop {
        match reader.next_event() {
            Ok(Some(e)) => events.push(format!("{e:?}")),
            Ok(None) => break reader.finish(),
            Err(e) => {
                // Fused: finish gives the same error.
                assert_eq!(reader.finish().as_ref(), Err(&e));
                break Err(e);
            }
        }
    };
    (events, result)
}

/// A reader that gives at most `max` bytes per call.
struct Trickle<'a> {
    bytes: &'a [u8],
    max: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.max).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

#[test]
fn every_transcript_reads_as_the_decoder_decodes_it() {
    for t in transcripts() {
        let (want_events, want) = decode(&t);
        let want = outcome::of(&want);
        for buffer in [1, 7, 64, 16 * 1024] {
            let reader =
                EventReader::from_decoder(t.bytes.as_slice(), decoder(&t)).read_buffer(buffer);
            let (events, got) = read(reader);
            assert_eq!(events, want_events, "{}, buffer {buffer}", t.name);
            assert_eq!(outcome::of(&got), want, "{}, buffer {buffer}", t.name);
        }
        for max in [1, 3, 101] {
            let trickle = Trickle {
                bytes: &t.bytes,
                max,
            };
            let (events, got) = read(EventReader::from_decoder(trickle, decoder(&t)));
            assert_eq!(events, want_events, "{}, trickle {max}", t.name);
            assert_eq!(outcome::of(&got), want, "{}, trickle {max}", t.name);
        }
    }
}

/// Plays a script of read results, then counts the reads asked for past its end.
struct Script {
    steps: Vec<io::Result<Vec<u8>>>,
    reads_past_end: Rc<Cell<usize>>,
    dropped: Rc<Cell<bool>>,
}

impl Script {
    fn new(steps: Vec<io::Result<Vec<u8>>>) -> Self {
        Self {
            steps: steps.into_iter().rev().collect(),
            reads_past_end: Rc::default(),
            dropped: Rc::default(),
        }
    }
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.steps.pop() {
            Some(Ok(bytes)) => {
                assert!(bytes.len() <= buf.len());
                buf[..bytes.len()].copy_from_slice(&bytes);
                Ok(bytes.len())
            }
            Some(Err(e)) => Err(e),
            None => {
                self.reads_past_end.set(self.reads_past_end.get() + 1);
                Ok(0)
            }
        }
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

const HEL: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n";
const STOP: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n";

fn ok(s: &str) -> io::Result<Vec<u8>> {
    Ok(s.as_bytes().to_vec())
}

fn content_and_error(script: Script) -> (String, Error) {
    let mut reader = EventReader::new(script, Protocol::OpenAiCompatible);
    let mut content = String::new();
    loop {
        match reader.next_event() {
            Ok(Some(StreamEvent::Content(t))) => content.push_str(t),
            Ok(Some(_)) => {}
            Ok(None) => panic!("finished: {content:?}"),
            Err(e) => return (content, e),
        }
    }
}

#[test]
fn a_body_that_breaks_off_mid_event_is_interrupted_with_the_text_before() {
    let (head, rest) = STOP.split_at(30);
    let broken = || Err(io::Error::from(io::ErrorKind::ConnectionReset));
    let eof = || Ok(Vec::new());
    for (end, cause) in [
        (broken(), Some(io::ErrorKind::ConnectionReset)),
        (eof(), None),
    ] {
        let script = Script::new(vec![ok(HEL), ok(head), end, ok(rest)]);
        let dropped = script.dropped.clone();
        let (content, err) = content_and_error(script);
        assert_eq!(content, "Hel");
        assert_eq!(err.kind(), ErrorKind::Interrupted, "{err:?}");
        // The read error that broke the body off is the source; a plain end has none.
        let source = std::error::Error::source(&err)
            .map(|e| e.downcast_ref::<io::Error>().expect("an io::Error").kind());
        assert_eq!(source, cause, "{err:?}");
        assert_eq!(err.partial().unwrap().message.content, "Hel");
        assert!(
            dropped.get(),
            "the reader is dropped at the end of the body"
        );
    }
}

#[test]
fn a_read_timeout_is_an_idle_timeout_with_the_text_before() {
    for kind in [io::ErrorKind::TimedOut, io::ErrorKind::WouldBlock] {
        let script = Script::new(vec![ok(HEL), Err(io::Error::from(kind))]);
        let (content, err) = content_and_error(script);
        assert_eq!(content, "Hel");
        assert_eq!(err.timeout_kind(), Some(TimeoutKind::Idle), "{err:?}");
        assert_eq!(err.partial().unwrap().message.content, "Hel");
    }
}

#[test]
fn after_the_finish_reason_a_tail_that_times_out_or_breaks_ends_the_stream() {
    for kind in [io::ErrorKind::TimedOut, io::ErrorKind::ConnectionReset] {
        let script = Script::new(vec![ok(HEL), ok(STOP), Err(io::Error::from(kind))]);
        let reader = EventReader::new(script, Protocol::OpenAiCompatible);
        assert_eq!(
            reader.finish().unwrap().message.content,
            "Hello",
            "{kind:?}"
        );
    }
}

#[test]
fn an_interrupted_read_is_retried() {
    let (head, rest) = STOP.split_at(30);
    let script = Script::new(vec![
        ok(HEL),
        ok(head),
        Err(io::Error::from(io::ErrorKind::Interrupted)),
        ok(rest),
    ]);
    let reader = EventReader::new(script, Protocol::OpenAiCompatible);
    assert_eq!(reader.finish().unwrap().message.content, "Hello");
}

#[test]
fn nothing_is_read_after_done_and_the_reader_is_dropped_there() {
    let script = Script::new(vec![ok(HEL), ok(STOP), ok("data: [DONE]\n\n")]);
    let (past_end, dropped) = (script.reads_past_end.clone(), script.dropped.clone());
    let mut reader = EventReader::new(script, Protocol::OpenAiCompatible);
    while reader.next_event().unwrap().is_some() {}
    assert!(dropped.get());
    assert_eq!(past_end.get(), 0, "no read after [DONE]");
    assert_eq!(reader.finish().unwrap().message.content, "Hello");
}

/// The error of a failed reader comes back on every later call sharing its partial
/// completion (one allocation, the same address), not a copy of it.
#[test]
fn a_failed_reader_shares_its_partial_on_later_calls() {
    let bad = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"";
    let inband = "data: {\"error\":{\"code\":\"data_inspection_failed\",\"message\":\"no\"}}\n\n";
    let timeout = Err(io::Error::from(io::ErrorKind::TimedOut));
    let cases = [
        Script::new(vec![ok(HEL), ok(bad), ok("\n\n")]),
        Script::new(vec![ok(HEL), ok(inband)]),
        Script::new(vec![ok(HEL)]),
        Script::new(vec![ok(HEL), timeout]),
    ];
    for script in cases {
        let (past_end, dropped) = (script.reads_past_end.clone(), script.dropped.clone());
        let mut reader = EventReader::new(script, Protocol::OpenAiCompatible);
        let first = loop {
            if let Err(e) = reader.next_event() {
                break e;
            }
        };
        let reads = past_end.get();
        let first_partial = first.partial().expect("a partial completion");
        assert_eq!(first_partial.message.content, "Hel");
        for _ in 0..3 {
            let again = reader.next_event().unwrap_err();
            assert_eq!(again, first);
            assert!(
                std::ptr::eq(again.partial().unwrap(), first_partial),
                "{first:?}: the partial completion was copied"
            );
        }
        assert!(dropped.get(), "{first:?}");
        assert_eq!(past_end.get(), reads, "not read again after {first:?}");
    }
}

/// StreamDecoder, likewise.
#[test]
fn a_failed_decoder_shares_its_partial_on_later_calls() {
    let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    stream.feed(HEL.as_bytes());
    stream.feed(b"data: {\"error\":{\"code\":\"x\",\"message\":\"no\"}}\n\n");
    assert!(stream.next_event().unwrap().is_some());
    let first = stream.next_event().unwrap_err();
    let again = stream.next_event().unwrap_err();
    assert!(std::ptr::eq(
        again.partial().unwrap(),
        first.partial().unwrap()
    ));
    let last = stream.finish().unwrap_err();
    assert!(std::ptr::eq(
        last.partial().unwrap(),
        first.partial().unwrap()
    ));
}
