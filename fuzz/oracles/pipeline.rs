//! Arbitrary bytes through the SSE decoder and the merger, split arbitrarily: the same
//! events and the same outcome as one feed, and as one feed whose chunks are decoded by
//! the serde-derive structs alone (the reference of the chunk decoder's byte scanner).
//!
//! Input: byte 0 = flags (bit 0: DashScope protocol, else OpenAI-compatible; bit 1:
//! cumulative; bit 2: lossy UTF-8; high nibble: how many split sizes follow, at most 8),
//! then the split sizes (cycled), then the response body.
//!
//! No libFuzzer here: `fuzz_targets/pipeline.rs` calls [`check`], and so does
//! `tests/fuzz_seeds.rs` for every committed seed on stable.

use dashscope_glm::chat::{Accumulator, Protocol, StreamDecoder, StreamEvent};
use dashscope_glm::sse::{Decoder, DecoderLimits as SseLimits};

/// Runs one input through the oracle; panics if it does not hold.
pub(crate) fn check(input: &[u8]) {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    // The next bytes, up to 8, are split sizes; the rest is the body.
    let n = usize::from(flags >> 4).min(8).min(rest.len());
    let (sizes, body) = rest.split_at(n);
    let whole = run(flags, body, &[], false);
    let split = run(flags, body, sizes, false);
    assert_eq!(whole, split);
    assert_eq!(
        whole,
        run(flags, body, &[], true),
        "the serde-derive reference"
    );
}

fn run(flags: u8, body: &[u8], sizes: &[u8], serde_only: bool) -> (Vec<String>, String) {
    let protocol = if flags & 1 == 0 {
        Protocol::OpenAiCompatible
    } else {
        Protocol::DashScope
    };
    // What the client runs: a native stream splits an event at a new `id:` line.
    let sse = Decoder::with_limits(SseLimits::default().max_line(512).max_event(1024))
        .lossy(flags & 4 != 0)
        .split_on_new_id(protocol == Protocol::DashScope);
    let mut acc = Accumulator::new(protocol).cumulative(flags & 2 != 0);
    if serde_only {
        acc = dashscope_glm::__private::serde_decoding_only(acc);
    }
    let mut stream = StreamDecoder::from_parts(sse, acc);
    let mut events = Vec::new();
    let mut rest = body;
    let mut sizes = sizes.iter().cycle();
    let outcome = loop {
        // No sizes: one feed of the whole body.
        let take = sizes
            .next()
            .map_or(rest.len(), |&n| usize::from(n).max(1))
            .min(rest.len());
        let (piece, tail) = rest.split_at(take);
        rest = tail;
        stream.feed(piece);
        if let Err(e) = drain(&mut stream, &mut events) {
            break Err(e);
        }
        if rest.is_empty() {
            break stream.end().and_then(|()| drain(&mut stream, &mut events));
        }
    };
    let outcome = outcome.and_then(|()| stream.finish());
    (events, format!("{outcome:?}"))
}

fn drain(stream: &mut StreamDecoder, events: &mut Vec<String>) -> Result<(), dashscope_glm::Error> {
    while let Some(e) = stream.next_event()? {
        events.push(match e {
            StreamEvent::Reasoning(t) | StreamEvent::Content(t) => t.to_owned(),
            other => format!("{other:?}"),
        });
    }
    Ok(())
}
