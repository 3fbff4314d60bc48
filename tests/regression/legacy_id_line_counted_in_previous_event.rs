//! Found by the `sse_chunks` fuzz target: in `split_on_new_id` mode, an unfinished `id:`
//! line was counted against the limit of the event before it when the input stopped
//! inside that line, so the same bytes gave an event whole and `EventTooLong` fed byte
//! by byte. The line now starts the next event as soon as its bytes say so.

use dashscope_glm::sse::{Decoder, Limits};

fn items(input: &[u8], piece: usize) -> Vec<String> {
    let limits = Limits::new().max_line(56).max_event(57);
    let mut decoder = Decoder::with_limits(limits).split_on_new_id(true);
    let mut out = Vec::new();
    for chunk in input.chunks(piece) {
        decoder.feed(chunk);
        while let Some(item) = decoder.next_item() {
            out.push(format!("{item:?}"));
        }
    }
    out.push(format!("{:?}", decoder.finish()));
    out
}

#[test]
fn an_id_line_does_not_count_against_the_event_before_it() {
    let input = b"data: a\nid:y: 1500hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\ndata: b\n\n";
    let whole = items(input, input.len());
    assert!(whole[0].contains("data: \"a\""), "{whole:?}");
    assert_eq!(items(input, 1), whole);
}
