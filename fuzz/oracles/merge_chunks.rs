//! Arbitrary event sequences into the merger: never a panic, the events it lends always
//! add up to the completion it ends with, and an accumulator whose chunks are decoded by
//! the serde-derive structs alone (the reference of the chunk decoder's byte scanner)
//! lends the same events and returns the same results.
//!
//! Input: byte 0 = flags (bit 0: DashScope protocol, else OpenAI-compatible; bit 1:
//! cumulative), then events separated by `0xFF`, the first byte of each saying what it
//! is (mod 8: 0 comment, 1 `event:error`, 2 `[DONE]`, 3 `result`, else `message`).
//!
//! No libFuzzer here: `fuzz_targets/merge_chunks.rs` calls [`check`], and so does
//! `tests/fuzz_seeds.rs` for every committed seed on stable.

use dashscope_glm::Error;
use dashscope_glm::chat::{Accumulator, AccumulatorLimits, Completion, Protocol, StreamEvent};
use dashscope_glm::sse::{Decoder, Item};

/// Pushes an event of type `event_type` whose data is `data` (its lines joined by `\n`),
/// framed and read back by the crate's SSE decoder, as a stream gives it. Data that
/// frames to no event (empty) pushes nothing.
fn push_event(acc: &mut Accumulator, event_type: &str, data: &str) -> Result<(), Error> {
    let mut framed = format!("event:{event_type}\n");
    for line in data.split(['\r', '\n']) {
        framed.push_str("data:");
        framed.push_str(line);
        framed.push('\n');
    }
    framed.push('\n');
    let mut decoder = Decoder::new();
    decoder.feed(framed.as_bytes());
    match decoder.next_item() {
        Some(Ok(item)) => acc.push(&item),
        _ => Ok(()),
    }
}

/// Runs one input through the oracle; panics if it does not hold.
pub(crate) fn check(input: &[u8]) {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let protocol = if flags & 1 == 0 {
        Protocol::OpenAiCompatible
    } else {
        Protocol::DashScope
    };
    let limits = AccumulatorLimits::default()
        .max_tool_calls(4)
        .max_message_bytes(4096);
    let new = || Accumulator::with_limits(protocol, limits).cumulative(flags & 2 != 0);
    let mut acc = new();
    let mut reference = dashscope_glm::__private::serde_decoding_only(new());
    let mut seen = Seen::default();
    let mut failed = None;
    // Events are separated by 0xFF; the first byte of each says what it is.
    for event in rest.split(|&b| b == 0xFF) {
        let Some((&kind, data)) = event.split_first() else {
            continue;
        };
        let data = String::from_utf8_lossy(data);
        let push = |acc: &mut Accumulator| match kind % 8 {
            // Comments only set the next event's status (and repeat a failure).
            0 => acc.push(&Item::Comment(&data)),
            1 => push_event(acc, "error", &data),
            2 => acc.push_data("[DONE]"),
            3 => push_event(acc, "result", &data),
            _ => acc.push_data(&data),
        };
        let result = push(&mut acc);
        assert_eq!(result, push(&mut reference), "the serde-derive reference");
        while let Some(e) = acc.next_event() {
            assert_eq!(Some(&e), reference.next_event().as_ref());
            seen.add(&e);
        }
        assert_eq!(reference.next_event(), None);
        match (result, &failed) {
            // A failed accumulator repeats its error.
            (Err(e), Some(first)) => assert_eq!(&e, first),
            (Err(e), None) => failed = Some(e),
            (Ok(()), Some(_)) => panic!("a failed accumulator accepted more input"),
            (Ok(()), None) => {}
        }
    }
    let state = acc.completion().clone();
    seen.check(&state);
    assert!(state.message.tool_calls.len() <= 4);
    let total = state.message.content.len()
        + state.message.reasoning_content.len()
        + state
            .message
            .tool_calls
            .iter()
            .map(|t| t.arguments.len())
            .sum::<usize>();
    assert!(total <= 4096);
    match acc.finish() {
        Ok(c) => {
            assert!(failed.is_none());
            assert_eq!(c.message.content, state.message.content);
        }
        Err(e) => {
            if let Some(first) = failed {
                assert_eq!(e, first);
            }
        }
    }
}

/// The deltas lent so far, joined.
#[derive(Default)]
struct Seen {
    reasoning: String,
    content: String,
    arguments: Vec<String>,
}

impl Seen {
    fn add(&mut self, e: &StreamEvent<'_>) {
        match e {
            StreamEvent::Reasoning(t) => self.reasoning.push_str(t),
            StreamEvent::Content(t) => self.content.push_str(t),
            StreamEvent::ToolCallStart { index, .. } => {
                assert_eq!(*index, self.arguments.len(), "calls open in order, densely");
                self.arguments.push(String::new());
            }
            StreamEvent::ToolCallArguments { index, fragment } => {
                assert!(!fragment.is_empty());
                self.arguments[*index].push_str(fragment);
            }
            _ => {}
        }
    }

    fn check(&self, c: &Completion) {
        assert_eq!(self.reasoning, c.message.reasoning_content);
        assert_eq!(self.content, c.message.content);
        assert_eq!(self.arguments.len(), c.message.tool_calls.len());
        for (i, call) in c.message.tool_calls.iter().enumerate() {
            assert_eq!(call.index, i);
            assert_eq!(self.arguments[i], call.arguments);
        }
    }
}
