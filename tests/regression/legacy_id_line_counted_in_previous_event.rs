//! Found by the `sse_chunks` fuzz target: in `split_on_new_id` mode, an unfinished `id:`
//! line was counted against the limit of the event before it when the input stopped
//! inside that line, so the same bytes gave an event whole and `EventTooLong` fed byte
//! by byte. The line now starts the next event as soon as its bytes say so.

use dashscope_glm::sse::{Decoder, DecoderLimits, Error};

use crate::harness::{self, Out};

fn decoder() -> Decoder {
    Decoder::with_limits(DecoderLimits::new().max_line(56).max_event(57)).split_on_new_id(true)
}

#[test]
fn an_id_line_does_not_count_against_the_event_before_it() {
    let input = b"data: a\nid:y: 1500hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\ndata: b\n\n";
    let whole = harness::run_cuts(decoder(), input, &[]);
    // The first event is `a`, dispatched by the new id; the overlong id line is its own
    // line's error, not the previous event's.
    assert!(
        matches!(whole.items.first(), Some(Out::Event { data, id, .. }) if data == "a" && id.is_empty()),
        "{whole:?}"
    );
    let errors: Vec<_> = whole
        .items
        .iter()
        .filter_map(|item| match item {
            Out::Error(e) => Some(*e),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors,
        [Error::LineTooLong {
            limit: 56,
            offset: 8
        }],
        "{whole:?}"
    );
    assert_eq!(harness::run_chunked(decoder(), input, 1), whole);
}
