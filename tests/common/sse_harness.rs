//! Shared helpers for the SSE tests: run a decoder over chunks and record what it does
//! as owned values, so that runs can be compared.
#![allow(dead_code, reason = "each includer uses a different subset")]
#![allow(
    unreachable_pub,
    reason = "included as a private module by several tests"
)]

use dashscope_glm::sse::{Decoder, DecoderLimits, Error, Item};

/// One item, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    Event {
        ty: String,
        data: String,
        id: String,
        offset: u64,
    },
    Comment(String),
    Error(Error),
}

/// What `finish` said (after an error from `finish`, the second call's answer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EofOut {
    pub clean: bool,
    pub dropped: bool,
    pub unterminated: bool,
    /// (type, data, id) of `Eof::pending`.
    pub pending: Option<(String, String, String)>,
}

/// A whole run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub items: Vec<Out>,
    pub eof: EofOut,
    pub retry: Option<u64>,
    pub last_id: String,
    pub offset: u64,
}

pub fn event(ty: &str, data: &str, id: &str, offset: u64) -> Out {
    Out::Event {
        ty: ty.into(),
        data: data.into(),
        id: id.into(),
        offset,
    }
}

pub fn comment(text: &str) -> Out {
    Out::Comment(text.into())
}

/// Drains `next_item` into `items`.
pub fn drain(decoder: &mut Decoder, items: &mut Vec<Out>) {
    while let Some(item) = decoder.next_item() {
        items.push(match item {
            Ok(Item::Event(e)) => Out::Event {
                ty: e.event_type().into(),
                data: e.data().into(),
                id: e.id().into(),
                offset: e.offset(),
            },
            Ok(Item::Comment(c)) => Out::Comment(c.into()),
            Ok(other) => panic!("unknown item {other:?}"),
            Err(e) => Out::Error(e),
        });
    }
}

/// Feeds `input` cut at the (sorted) offsets in `cuts`, draining after each feed, then
/// finishes.
pub fn run_cuts(mut decoder: Decoder, input: &[u8], cuts: &[usize]) -> Run {
    let mut items = Vec::new();
    let mut fed = 0;
    let mut last = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(last, input.len());
        decoder.feed(&input[last..cut]);
        fed += cut - last;
        last = cut;
        drain(&mut decoder, &mut items);
    }
    assert_eq!(fed, input.len());
    finish(decoder, items)
}

/// Feeds `input` in `chunk`-byte pieces.
pub fn run_chunked(decoder: Decoder, input: &[u8], chunk: usize) -> Run {
    let cuts: Vec<usize> = (chunk..input.len()).step_by(chunk.max(1)).collect();
    run_cuts(decoder, input, &cuts)
}

pub fn finish(mut decoder: Decoder, mut items: Vec<Out>) -> Run {
    let eof = match decoder.finish() {
        Ok(eof) => eof_out(&eof),
        Err(e) => {
            items.push(Out::Error(e));
            eof_out(
                &decoder
                    .finish()
                    .expect("finish succeeds after reporting its error"),
            )
        }
    };
    Run {
        items,
        eof,
        retry: decoder.retry(),
        last_id: decoder.last_event_id().into(),
        offset: decoder.offset(),
    }
}

fn eof_out(eof: &dashscope_glm::sse::Eof<'_>) -> EofOut {
    EofOut {
        clean: eof.is_clean(),
        dropped: eof.dropped(),
        unterminated: eof.unterminated_line(),
        pending: eof
            .pending()
            .map(|e| (e.event_type().into(), e.data().into(), e.id().into())),
    }
}

/// Runs `input` whole, one byte at a time and at every two-way split, asserting that all
/// runs agree; returns the whole run.
pub fn run_all_splits(make: impl Fn() -> Decoder, input: &[u8]) -> Run {
    let whole = run_cuts(make(), input, &[]);
    let bytes = run_chunked(make(), input, 1);
    assert_eq!(bytes, whole, "byte-at-a-time differs for {input:?}");
    for cut in 0..=input.len() {
        let split = run_cuts(make(), input, &[cut]);
        assert_eq!(split, whole, "split at {cut} differs for {input:?}");
    }
    whole
}

/// Default limits, strict UTF-8.
pub fn strict() -> Decoder {
    Decoder::new()
}

/// Default limits, lossy UTF-8.
pub fn lossy() -> Decoder {
    Decoder::new().lossy(true)
}

/// Small limits.
pub fn small(max_line: usize, max_event: usize) -> Decoder {
    Decoder::with_limits(DecoderLimits::new().max_line(max_line).max_event(max_event))
}
