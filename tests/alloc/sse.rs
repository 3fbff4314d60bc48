//! Steady-state allocation tests with the per-thread counting allocator.

use crate::alloc_counter;

use dashscope_glm::sse::{Decoder, Item};

/// Drains the decoder, returning (events, comments, total data bytes).
fn drain(d: &mut Decoder) -> (usize, usize, usize) {
    let (mut events, mut comments, mut bytes) = (0, 0, 0);
    while let Some(item) = d.next_item() {
        match item.expect("valid input") {
            Item::Event(e) => {
                events += 1;
                bytes += e.data().len() + e.id().len() + e.event_type().len();
            }
            Item::Comment(_) => comments += 1,
            _ => {}
        }
    }
    (events, comments, bytes)
}

#[test]
fn a_feed_of_100k_events_allocates_o1() {
    let input: Vec<u8> = (0..100_000u32)
        .flat_map(|i| {
            format!("id:{i}\nevent:result\n:HTTP_STATUS/200\ndata:{{\"n\":{i}}}\n\n").into_bytes()
        })
        .collect();
    let mut d = Decoder::new();
    let ((events, comments, _), allocs) = alloc_counter::count(|| {
        d.feed(&input);
        drain(&mut d)
    });
    assert_eq!((events, comments), (100_000, 100_000));
    // The input buffer, and the type/id strings growing once.
    assert!(allocs <= 8, "{allocs} allocations for 100k events");

    // Warm: the same again allocates nothing at all.
    let ((events, _, _), allocs) = alloc_counter::count(|| {
        d.feed(&input);
        drain(&mut d)
    });
    assert_eq!(events, 100_000);
    assert_eq!(allocs, 0);
}

#[test]
fn steady_state_in_small_reads_allocates_nothing() {
    // Multi-line data (joined in the owned buffer), ids, comments, CRLF, split reads.
    let one =
        "id: 17\r\nevent: delta\r\n: c\r\ndata: {\"a\":\r\ndata: \"杭州\"}\r\n\r\ndata: x\r\n\r\n";
    let input = one.repeat(2000);
    let mut d = Decoder::new();
    for chunk in input.as_bytes().chunks(1460).take(20) {
        d.feed(chunk);
        drain(&mut d);
    }
    let (seen, allocs) = alloc_counter::count(|| {
        let mut seen = (0, 0, 0);
        for chunk in input.as_bytes().chunks(1460).skip(20) {
            d.feed(chunk);
            let (e, c, b) = drain(&mut d);
            seen = (seen.0 + e, seen.1 + c, seen.2 + b);
        }
        seen
    });
    assert!(seen.0 > 3000, "{seen:?}");
    assert_eq!(allocs, 0);
}

#[test]
fn counter_sees_allocations() {
    // The oracle works: a fresh decoder fed a large line must allocate.
    let (_, allocs) = alloc_counter::count(|| {
        let mut d = Decoder::new();
        d.feed(&[b'x'; 100_000]);
        d.next_item().is_none()
    });
    assert!(allocs >= 1);
}

#[test]
fn steady_state_in_one_byte_and_odd_reads_allocates_nothing() {
    // Characters of two, three and four bytes split across reads, CRLF, comments, and
    // multi-line data: the split-character path and the small-read shortcuts.
    let one = "data: {\"c\":\"杭州 é 🌤\"}\n\n: keep-alive\r\ndata: 天气\r\ndata: b\r\n\r\n";
    let input = one.repeat(300);
    let bytes = input.as_bytes();
    let (warm, rest) = bytes.split_at(bytes.len() / 3);
    for read in [1, 7, 1460] {
        let mut d = Decoder::new();
        for chunk in warm.chunks(read) {
            d.feed(chunk);
            drain(&mut d);
        }
        let (seen, allocs) = alloc_counter::count(|| {
            let mut seen = 0;
            for chunk in rest.chunks(read) {
                d.feed(chunk);
                seen += drain(&mut d).0;
            }
            seen
        });
        assert!(seen > 350, "reads of {read}: {seen} events");
        assert_eq!(allocs, 0, "reads of {read}");
    }
}

#[test]
fn after_invalid_bytes_the_steady_state_allocates_nothing_again() {
    // Lossy mode: the bad byte is replaced; later events decode without allocating.
    let good = "data: {\"c\":\"杭州\"}\n\n".repeat(200);
    let mut d = Decoder::new().lossy(true);
    for chunk in good.as_bytes().chunks(1460) {
        d.feed(chunk);
        drain(&mut d);
    }
    d.feed(b"data: \xFF\n\n");
    drain(&mut d);
    for chunk in good.as_bytes().chunks(1460) {
        d.feed(chunk);
        drain(&mut d);
    }
    let (events, allocs) = alloc_counter::count(|| {
        let mut events = 0;
        for chunk in good.as_bytes().chunks(1460) {
            d.feed(chunk);
            events += drain(&mut d).0;
        }
        events
    });
    assert_eq!(events, 200);
    assert_eq!(allocs, 0);
}
