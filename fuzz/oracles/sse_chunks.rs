//! The SSE decoder fed in arbitrary chunks must behave exactly like one feed.
//!
//! Input layout: byte 0 = flags (bit 0: lossy; bit 1: tiny limits, chosen by bytes 1-2;
//! bit 2: the legacy `split_on_new_id` framing),
//! byte 3 = number of cuts k (mod 16), then k bytes of chunk sizes, then the stream.
//!
//! No libFuzzer here: `fuzz_targets/sse_chunks.rs` calls [`check`], and so does
//! `tests/fuzz_seeds.rs` for every committed seed on stable.

use dashscope_glm::__private::buffered_capacity;
use dashscope_glm::sse::{Decoder, DecoderLimits, Error, Item};

#[derive(Debug, PartialEq, Eq)]
enum Out {
    Event(String, String, String, u64),
    Comment(String),
    Error(Error),
}

fn drain(d: &mut Decoder, out: &mut Vec<Out>, limit: usize, fed: usize) {
    while let Some(item) = d.next_item() {
        out.push(match item {
            Ok(Item::Event(e)) => {
                assert!(e.offset() < fed as u64);
                // Limits count raw bytes; U+FFFD replacement can triple them.
                assert!(e.data().len() <= 3 * limit);
                Out::Event(
                    e.event_type().into(),
                    e.data().into(),
                    e.id().into(),
                    e.offset(),
                )
            }
            Ok(Item::Comment(c)) => Out::Comment(c.into()),
            Ok(_) => unreachable!("no other items yet"),
            Err(e) => Out::Error(e),
        });
        assert!(d.offset() <= fed as u64);
    }
}

/// Returns the items, the Eof answer, and the final decoder state.
fn run(
    make: &dyn Fn() -> Decoder,
    lossy: bool,
    stream: &[u8],
    sizes: &[usize],
) -> (Vec<Out>, String) {
    let mut d = make();
    let limits = d.limits();
    let bound = limits.max_line.max(limits.max_event);
    // Lossy decoding can triple a line (U+FFFD is 3 bytes for each bad byte), in the
    // line buffer and in the data buffer, each with doubling growth.
    let factor = if lossy { 16 } else { 2 };
    let mut out = Vec::new();
    let mut rest = stream;
    let mut fed = 0;
    let mut largest = 0;
    let mut sizes = sizes.iter().copied();
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(n);
        d.feed(chunk);
        fed += n;
        largest = largest.max(n);
        rest = tail;
        drain(&mut d, &mut out, limits.max_event, fed);
        // The buffers stay within the limits plus a feed (and growth slack), also while
        // discarding.
        let cap = buffered_capacity(&d);
        assert!(
            cap <= factor * bound.min(stream.len()) + 2 * largest + 256,
            "capacity {cap} bound {bound} feed {largest}"
        );
    }
    let eof = match d.finish() {
        Ok(eof) => format!("{eof:?}"),
        Err(e) => {
            out.push(Out::Error(e));
            format!("{:?}", d.finish().expect("second finish succeeds"))
        }
    };
    assert_eq!(d.offset(), stream.len() as u64);
    assert!(d.next_item().is_none());
    let state = format!("{eof} {:?} {:?}", d.retry(), d.last_event_id());
    (out, state)
}

/// Runs one input through the oracle; panics if it does not hold.
pub(crate) fn check(input: &[u8]) {
    if input.len() < 4 {
        return;
    }
    let flags = input[0];
    let lossy = flags & 1 != 0;
    let limits = if flags & 2 != 0 {
        DecoderLimits::new()
            .max_line(usize::from(input[1] % 64))
            .max_event(usize::from(input[2] % 128))
    } else {
        DecoderLimits::new()
    };
    let k = usize::from(input[3] % 16).min(input.len() - 4);
    let sizes: Vec<usize> = input[4..4 + k].iter().map(|&b| usize::from(b)).collect();
    let stream = &input[4 + k..];
    let split = flags & 4 != 0;
    let make = || {
        Decoder::with_limits(limits)
            .lossy(lossy)
            .split_on_new_id(split)
    };
    let whole = run(&make, lossy, stream, &[]);
    let split = run(&make, lossy, stream, &sizes);
    assert_eq!(whole, split);
    let bytes = run(&make, lossy, stream, &vec![1; stream.len()]);
    assert_eq!(whole, bytes);
}
