//! Named tests for the SSE framing bugs other clients have shipped (split CRLF, BOM,
//! invalid UTF-8, over-long lines, unterminated final events, ...), plus limits, UTF-8
//! and BOM tests.

use crate::harness;

use dashscope_glm::__private::buffered_capacity;
use dashscope_glm::sse::{Decoder, DecoderLimits, Error, Item};
use harness::{Out, comment, event};

fn data_of(item: Option<Result<Item<'_>, Error>>) -> String {
    match item {
        Some(Ok(Item::Event(e))) => e.data().to_owned(),
        other => panic!("expected an event, got {other:?}"),
    }
}

#[test]
fn bom_whole_and_split_across_feeds() {
    let input = b"\xEF\xBB\xBFdata: first\n\n";
    for cuts in [&[][..], &[1], &[2], &[1, 2], &[3], &[1, 3]] {
        let run = harness::run_cuts(harness::strict(), input, cuts);
        assert_eq!(
            run.items,
            [event("message", "first", "", 3)],
            "cuts {cuts:?}"
        );
        assert_eq!(run.offset, input.len() as u64);
    }
    // A BOM split and then not completed is data (here: invalid UTF-8 at offset 0).
    let run = harness::run_cuts(harness::strict(), b"\xEF\xBBX\n", &[1, 2]);
    assert_eq!(run.items, [Out::Error(Error::InvalidUtf8 { offset: 0 })]);
    // Only at the start of the stream.
    let mut d = Decoder::new();
    d.feed(b"data: a\n\n");
    d.feed(b"\xEF\xBB\xBFdata: b\n\ndata: c\n\n");
    assert_eq!(data_of(d.next_item()), "a");
    assert_eq!(data_of(d.next_item()), "c");
}

#[test]
fn many_events_in_one_feed() {
    // Allocation counts are in tests/alloc/sse.rs; here: all events, in order.
    let input: Vec<u8> = (0..100_000)
        .flat_map(|i| format!("data: {i}\n\n").into_bytes())
        .collect();
    let mut d = Decoder::new();
    d.feed(&input);
    let mut n = 0;
    while let Some(item) = d.next_item() {
        assert_eq!(data_of(Some(item)), n.to_string());
        n += 1;
    }
    assert_eq!(n, 100_000);
}

#[test]
fn invalid_utf8_is_reported_at_once() {
    let mut d = Decoder::new();
    d.feed(b"data: ok\n\ndata: bad \xFF here\n");
    assert_eq!(data_of(d.next_item()), "ok");
    // Reported as soon as the line is complete, before any blank line arrives.
    assert_eq!(d.next_item(), Some(Err(Error::InvalidUtf8 { offset: 20 })));
    assert_eq!(d.next_item(), None);
    // Events after it are not held back.
    d.feed(b"\ndata: after\n\n");
    assert_eq!(data_of(d.next_item()), "after");
    // Lossy: U+FFFD, no error.
    let mut d = Decoder::new().lossy(true);
    d.feed(b"data: bad \xFF here\n\n");
    assert_eq!(data_of(d.next_item()), "bad \u{FFFD} here");
    d.feed(b"data: \xC3\n\n");
    assert_eq!(data_of(d.next_item()), "\u{FFFD}");
}

#[test]
fn split_crlf_is_one_line_end() {
    let run = harness::run_cuts(
        harness::strict(),
        b"data: A\r\ndata: B\r\n\r\n",
        &[8, 18, 20],
    );
    assert_eq!(run.items, [event("message", "A\nB", "", 0)]);
    assert!(run.eof.clean);
}

#[test]
fn bare_cr_event_dispatched_in_the_same_feed() {
    let mut d = Decoder::new();
    d.feed(b"data: A\r\r");
    assert_eq!(data_of(d.next_item()), "A");
    assert_eq!(d.next_item(), None);
    // The LF that may follow is swallowed, not taken as another (blank) line.
    d.feed(b"\ndata: B\r");
    assert_eq!(d.next_item(), None);
    d.feed(b"\n\r\n");
    assert_eq!(data_of(d.next_item()), "B");
}

#[test]
fn crlf_only_stream() {
    let input = b"data: 1\r\n\r\nevent: x\r\ndata: 2\r\n\r\ndata: 3\r\n\r\n";
    let run = harness::run_all_splits(harness::strict, input);
    assert_eq!(
        run.items,
        [
            event("message", "1", "", 0),
            event("x", "2", "", 11),
            event("message", "3", "", 32),
        ]
    );
}

#[test]
fn limits_with_recovery() {
    // Line too long, found before the line is complete; the event is discarded up to
    // its blank line and the next one decodes.
    let mut d = Decoder::with_limits(DecoderLimits::new().max_line(16).max_event(1024));
    d.feed(b"id: 1\ndata: 0123456789abcdef");
    assert_eq!(
        d.next_item(),
        Some(Err(Error::LineTooLong {
            limit: 16,
            offset: 6
        }))
    );
    d.feed(b"more\ndata: also dropped\n\n");
    assert_eq!(d.next_item(), None);
    d.feed(b"data: next\n\n");
    let Some(Ok(Item::Event(e))) = d.next_item() else {
        panic!()
    };
    assert_eq!((e.data(), e.id()), ("next", "1"));

    // Event too long, over several lines.
    let mut d = Decoder::with_limits(DecoderLimits::new().max_line(100).max_event(20));
    d.feed(b"data: 0123456789\ndata: 0123456789\ndata: x\n\ndata: ok\n\n");
    assert_eq!(
        d.next_item(),
        Some(Err(Error::EventTooLong {
            limit: 20,
            offset: 0
        }))
    );
    assert_eq!(data_of(d.next_item()), "ok");
    assert_eq!(d.next_item(), None);
}

#[test]
fn limits_exact_boundaries() {
    // A line of exactly max_line bytes is accepted; one more is not.
    let mut d = Decoder::with_limits(DecoderLimits::new().max_line(8));
    d.feed(b"data: ab\n\ndata: abc\n\n");
    assert_eq!(data_of(d.next_item()), "ab");
    assert_eq!(
        d.next_item(),
        Some(Err(Error::LineTooLong {
            limit: 8,
            offset: 10
        }))
    );
    assert_eq!(d.next_item(), None);
    // Same for events: "data: ab" is 8 bytes.
    let mut d = Decoder::with_limits(DecoderLimits::new().max_event(8));
    d.feed(b"data: ab\n\ndata: a\ndata: b\n\n");
    assert_eq!(data_of(d.next_item()), "ab");
    assert!(matches!(
        d.next_item(),
        Some(Err(Error::EventTooLong {
            limit: 8,
            offset: 10
        }))
    ));
}

#[test]
fn limits_keep_memory_bounded_while_discarding() {
    let limit = 64 * 1024;
    let feed = 4096;
    let mut d = Decoder::with_limits(DecoderLimits::new().max_line(limit).max_event(limit));
    let mut errors = 0;
    let mut peak = 0;
    d.feed(b"data: ");
    for _ in 0..1000 {
        d.feed(&[b'x'; 4096]);
        while let Some(item) = d.next_item() {
            assert!(matches!(item, Err(Error::LineTooLong { .. })));
            errors += 1;
        }
        peak = peak.max(buffered_capacity(&d));
    }
    assert_eq!(errors, 1, "reported once");
    assert!(peak <= limit + feed + 64, "peak {peak}");
    d.feed(b"\n\ndata: fine\n\n");
    assert_eq!(data_of(d.next_item()), "fine");
    assert_eq!(d.offset(), 6 + 1000 * 4096 + 14);

    // Multi-line data near the limit: input buffer and join buffer both bounded.
    let mut d = Decoder::with_limits(DecoderLimits::new().max_line(limit).max_event(limit));
    let line = format!("data: {}\n", "y".repeat(1000));
    let mut peak = 0;
    for _ in 0..200 {
        d.feed(line.as_bytes());
        while let Some(item) = d.next_item() {
            assert!(matches!(item, Err(Error::EventTooLong { .. })));
        }
        peak = peak.max(buffered_capacity(&d));
    }
    assert!(peak <= 2 * limit + 2 * line.len() + 64, "peak {peak}");
}

#[test]
fn unterminated_final_event_reported_by_finish() {
    let mut d = Decoder::new();
    d.feed(b"data: a\n\ndata: [DONE]");
    assert_eq!(data_of(d.next_item()), "a");
    assert_eq!(d.next_item(), None);
    let eof = d.finish().unwrap();
    assert!(!eof.is_clean() && eof.dropped() && eof.unterminated_line());
    assert_eq!(eof.pending().unwrap().data(), "[DONE]");
    assert_eq!(eof.pending().unwrap().offset(), 9);
    // Idempotent, and nothing more comes out.
    assert_eq!(d.finish().unwrap().pending().unwrap().data(), "[DONE]");
    assert_eq!(d.next_item(), None);

    // Terminated line, missing blank line.
    let mut d = Decoder::new();
    d.feed(b"data: [DONE]\n");
    assert_eq!(d.next_item(), None);
    let eof = d.finish().unwrap();
    assert!(eof.dropped() && !eof.unterminated_line());

    // A clean end is distinguishable.
    let mut d = Decoder::new();
    d.feed(b"data: [DONE]\n\n");
    assert_eq!(data_of(d.next_item()), "[DONE]");
    let eof = d.finish().unwrap();
    assert!(eof.is_clean() && !eof.dropped() && eof.pending().is_none());
}

#[test]
fn finish_drops_undrained_items_but_reports_their_errors() {
    let mut d = Decoder::new();
    d.feed(b"data: a\n\ndata: \xFF\n\ndata: b");
    assert_eq!(d.finish(), Err(Error::InvalidUtf8 { offset: 15 }));
    let eof = d.finish().unwrap();
    assert_eq!(eof.pending().unwrap().data(), "b");
    assert_eq!(d.offset(), 25);
    // Feeds after finish are ignored until reset.
    d.feed(b"data: x\n\n");
    assert_eq!(d.next_item(), None);
}

#[test]
fn reset_keeps_last_event_id_and_retry() {
    let mut d = Decoder::new();
    d.feed(b"retry: 3000\nid: 41\ndata: a\n\ndata: pending");
    assert_eq!(data_of(d.next_item()), "a");
    d.reset();
    assert_eq!(
        (d.retry(), d.last_event_id(), d.offset()),
        (Some(3000), "41", 0)
    );
    d.feed(b"\xEF\xBB\xBFdata: b\n\n");
    let Some(Ok(Item::Event(e))) = d.next_item() else {
        panic!()
    };
    assert_eq!((e.data(), e.id(), e.offset()), ("b", "41", 3));
}

#[test]
fn no_space_after_colon() {
    let run = harness::run_all_splits(
        harness::strict,
        b"event:error\ndata:{\"a\":1}\n\nevent: error\ndata: {\"a\":1}\n\n",
    );
    assert_eq!(
        run.items,
        [
            event("error", "{\"a\":1}", "", 0),
            event("error", "{\"a\":1}", "", 26)
        ]
    );
}

#[test]
fn multi_line_data_joined() {
    let run = harness::run_all_splits(harness::strict, b"data: a\ndata: b\ndata:\ndata: c\n\n");
    assert_eq!(run.items, [event("message", "a\nb\n\nc", "", 0)]);
}

#[test]
fn no_over_trim() {
    let run = harness::run_all_splits(harness::strict, b"data:   x  \n\nevent:  t \ndata:\t\n\n");
    assert_eq!(
        run.items,
        [event("message", "  x  ", "", 0), event(" t ", "\t", "", 13)]
    );
}

#[test]
fn comments_and_dataless_blocks_not_dispatched() {
    let run = harness::run_all_splits(
        harness::strict,
        b":HTTP_STATUS/200\n\nevent: ping\n\nid: 3\n\n: x\nretry: 5\n\ndata: real\n\n",
    );
    assert_eq!(
        run.items,
        [
            comment("HTTP_STATUS/200"),
            comment(" x"),
            event("message", "real", "3", 52)
        ]
    );
    assert!(run.eof.clean);
}

#[test]
fn comments_come_out_before_the_event_that_follows() {
    // DashScope puts the status in a comment before the data line.
    let mut d = Decoder::new();
    d.feed(b"id:1\nevent:error\n:HTTP_STATUS/400\n");
    assert_eq!(d.next_item(), Some(Ok(Item::Comment("HTTP_STATUS/400"))));
    assert_eq!(d.next_item(), None);
    d.feed(b"data:{}\n\n");
    let Some(Ok(Item::Event(e))) = d.next_item() else {
        panic!()
    };
    assert_eq!((e.event_type(), e.id(), e.offset()), ("error", "1", 0));
}

#[test]
fn multibyte_at_every_split_offset() {
    let text = "杭州今天晴，气温二十二度。😀 naïve";
    let input = format!("data: {text}\ndata: {text}\n\n");
    for lossy in [false, true] {
        let make = if lossy {
            harness::lossy
        } else {
            harness::strict
        };
        let run = harness::run_all_splits(make, input.as_bytes());
        assert_eq!(
            run.items,
            [event("message", &format!("{text}\n{text}"), "", 0)]
        );
    }
    // Three-way splits too, inside every character.
    let joined = format!("{text}\n{text}");
    for a in 0..input.len() {
        for b in a..input.len().min(a + 5) {
            let run = harness::run_cuts(harness::strict(), input.as_bytes(), &[a, b]);
            assert_eq!(
                run.items,
                [event("message", &joined, "", 0)],
                "cuts {a},{b}"
            );
        }
    }
}

#[test]
fn offsets_count_every_byte() {
    let input = b"\xEF\xBB\xBF: c\r\n\r\nid: 1\r\ndata: x\r\n\r\n\n\ndata: y\n\ndata: partial";
    let mut d = Decoder::new();
    d.feed(input);
    assert_eq!(d.next_item(), Some(Ok(Item::Comment(" c"))));
    let Some(Ok(Item::Event(e))) = d.next_item() else {
        panic!()
    };
    assert_eq!(e.offset(), 10);
    let Some(Ok(Item::Event(e))) = d.next_item() else {
        panic!()
    };
    assert_eq!(e.offset(), 30);
    assert_eq!(d.next_item(), None);
    assert_eq!(d.offset(), 39);
    let _ = d.finish().unwrap();
    assert_eq!(d.offset(), input.len() as u64);
}

#[test]
fn error_display_names_the_offset() {
    assert_eq!(
        Error::LineTooLong {
            limit: 8,
            offset: 3
        }
        .to_string(),
        "event stream line at byte offset 3 is longer than the 8-byte limit"
    );
    assert_eq!(
        Error::EventTooLong {
            limit: 9,
            offset: 4
        }
        .to_string(),
        "event stream event at byte offset 4 is larger than the 9-byte limit"
    );
    assert_eq!(
        Error::EventTooLong {
            limit: 9,
            offset: 4
        }
        .offset(),
        4
    );
    assert_eq!(DecoderLimits::default(), DecoderLimits::new());
    assert_eq!(DecoderLimits::new().max_line, 16 << 20);
}

/// A long stream of multi-byte text with invalid bytes in a few places, at the read sizes
/// that matter (one byte, odd sizes that split characters, a network read, a large
/// read): every read size gives what one feed gives, the events around each bad line
/// come out whole, and the errors carry the offsets of the bad bytes. Exercises the
/// decoder's validated-text buffer, its raw fallback and its return to text.
#[test]
fn multibyte_streams_with_invalid_bytes_at_every_read_size() {
    let mut input = Vec::new();
    let mut bad_offsets = Vec::new();
    for i in 0..400 {
        let text = format!("{{\"n\":{i},\"t\":\"杭州 é 🌤 {}\"}}", "x".repeat(i % 37));
        input.extend_from_slice(format!("data: {text}\n").as_bytes());
        if i % 97 == 13 {
            // A bad line inside an event: strict mode drops that line only.
            input.extend_from_slice(b"data: bad ");
            bad_offsets.push(input.len() as u64);
            input.extend_from_slice(b"\xE6\x9D\n");
        }
        input.extend_from_slice(if i % 2 == 0 { b"\n" } else { b"\r\n" });
    }
    let whole = harness::run_cuts(harness::strict(), &input, &[]);
    let errors: Vec<u64> = whole
        .items
        .iter()
        .filter_map(|item| match item {
            Out::Error(e) => Some(e.offset()),
            _ => None,
        })
        .collect();
    assert_eq!(errors, bad_offsets);
    let events = whole
        .items
        .iter()
        .filter(|item| matches!(item, Out::Event { .. }))
        .count();
    assert_eq!(events, 400);
    assert!(whole.eof.clean);
    for chunk in [1, 2, 3, 5, 7, 64, 1460, 4096, 16384] {
        assert_eq!(
            harness::run_chunked(harness::strict(), &input, chunk),
            whole,
            "reads of {chunk}"
        );
    }
    let lossy = harness::run_cuts(harness::lossy(), &input, &[]);
    for chunk in [1, 3, 1460] {
        assert_eq!(
            harness::run_chunked(harness::lossy(), &input, chunk),
            lossy,
            "lossy, reads of {chunk}"
        );
    }
}
