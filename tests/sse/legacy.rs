//! The opt-in legacy framing of `Decoder::split_on_new_id`: DashScope events without the
//! blank lines between them decode to the same events as the properly framed stream.

use dashscope_glm::sse::{Decoder, Item};
use proptest::prelude::*;

/// (id, type, data lines) of each event; renders with or without blank lines.
fn render(events: &[(u32, bool, Vec<String>)], blank_lines: bool, comment: bool) -> Vec<u8> {
    let mut out = String::new();
    for (id, error, data) in events {
        out.push_str(&format!(
            "id:{id}\nevent:{}\n",
            if *error { "error" } else { "result" }
        ));
        if comment {
            out.push_str(":HTTP_STATUS/200\n");
        }
        for line in data {
            out.push_str(&format!("data:{line}\n"));
        }
        if blank_lines {
            out.push('\n');
        }
    }
    out.into_bytes()
}

/// Every event, as (id, type, data), fed in `chunk`-byte pieces, plus the one pending at
/// the end.
fn decode(input: &[u8], split: bool, chunk: usize) -> Vec<(String, String, String)> {
    let mut decoder = Decoder::new().split_on_new_id(split);
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        decoder.feed(piece);
        while let Some(item) = decoder.next_item() {
            if let Item::Event(e) = item.unwrap() {
                out.push((
                    e.id().to_owned(),
                    e.event_type().to_owned(),
                    e.data().to_owned(),
                ));
            }
        }
    }
    if let Some(e) = decoder.finish().unwrap().pending() {
        out.push((
            e.id().to_owned(),
            e.event_type().to_owned(),
            e.data().to_owned(),
        ));
    }
    out
}

fn events() -> impl Strategy<Value = Vec<(u32, bool, Vec<String>)>> {
    proptest::collection::vec(
        (
            1u32..1000,
            any::<bool>(),
            proptest::collection::vec("[a-z{}\":, ]{0,12}", 1..3),
        ),
        0..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn legacy_framing_decodes_like_the_framed_stream(
        events in events(),
        comment in any::<bool>(),
        chunk in 1usize..64,
    ) {
        let framed = render(&events, true, comment);
        let expected = decode(&framed, false, usize::MAX);
        // The mode changes nothing on a framed stream...
        prop_assert_eq!(decode(&framed, true, chunk), expected.clone());
        // ...and recovers the same events from the unframed one.
        prop_assert_eq!(decode(&render(&events, false, comment), true, chunk), expected);
    }
}

#[test]
fn legacy_events_are_dispatched_as_the_next_id_arrives() {
    let mut decoder = Decoder::new().split_on_new_id(true);
    decoder.feed(b"id:1\nevent:result\ndata:{\"a\":1}\n");
    assert!(
        decoder.next_item().is_none(),
        "the event may go on with more data lines"
    );
    decoder.feed(b"id:2\n");
    match decoder.next_item() {
        Some(Ok(Item::Event(e))) => assert_eq!((e.id(), e.data()), ("1", "{\"a\":1}")),
        other => panic!("{other:?}"),
    }
    // Off (the default), the same bytes are one event that never ends.
    let mut strict = Decoder::new();
    strict.feed(b"id:1\nevent:result\ndata:{\"a\":1}\nid:2\n");
    assert!(strict.next_item().is_none());
}

/// Every item (events, comments, errors) with the given limits, fed in `chunk`-byte
/// pieces, then the pending event.
fn items(input: &[u8], max_line: usize, max_event: usize, chunk: usize) -> Vec<String> {
    use dashscope_glm::sse::DecoderLimits;
    let mut decoder =
        Decoder::with_limits(DecoderLimits::new().max_line(max_line).max_event(max_event))
            .split_on_new_id(true);
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        decoder.feed(piece);
        while let Some(item) = decoder.next_item() {
            out.push(format!("{item:?}"));
        }
    }
    out.push(format!("{:?}", decoder.finish()));
    out
}

/// Found by the `sse_chunks` fuzz target: an `id:` line that starts a new event must not
/// count against the limit of the event before it, however the input is split.
#[test]
fn legacy_limits_do_not_depend_on_the_split() {
    let input =
        b"data: a\nid:y: 1500hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\ndata: b\n\n";
    let whole = items(input, 56, 57, usize::MAX);
    assert_eq!(items(input, 56, 57, 1), whole);
    assert!(whole[0].contains("data: \"a\""), "{whole:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn legacy_items_do_not_depend_on_the_split_even_at_tiny_limits(
        events in events(),
        blank_lines in any::<bool>(),
        max_line in 0usize..40,
        max_event in 0usize..80,
        chunk in 1usize..16,
    ) {
        let input = render(&events, blank_lines, true);
        prop_assert_eq!(items(&input, max_line, max_event, chunk), items(&input, max_line, max_event, usize::MAX));
    }
}
