//! The decoder does not read bytes again and again: the cost of a feed, or of an item,
//! does not grow with what the decoder holds (a long unfinished line, a feed of many
//! events), at any read size, through split characters, invalid bytes and the raw
//! buffer they bring.
//!
//! No counter kept by the decoder is trusted for this: what is observable from outside is
//! time, and time is for a bench, not a test. Each row times batches of calls and
//! compares the cheapest batch near the end of the input with the cheapest near its
//! start. Linear work gives a ratio near 1; a decoder that searched its unfinished line
//! again on every feed gives 16 or more (the line is 16 times longer or more by then).
//! The first row runs such a consumer, to show the harness sees it.
//!
//! Run with `cargo bench --bench sse_linear`. Std only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a bench"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use dashscope_glm::__private::buffered_capacity;
use dashscope_glm::sse::{Decoder, Item};

/// Above this, the growth row says so: linear work stays near 1.
const SLACK: f64 = 4.0;

fn row(what: &str, ratio: f64) {
    let verdict = if ratio < SLACK { "linear" } else { "GROWS" };
    println!("| {what} | {ratio:.2}x | {verdict} |");
}

/// Runs `step(0..)` over `cycles` cycles (a cycle is one long line, say) of `per_cycle`
/// batches of `batch` calls each, timing each batch. Returns how many times costlier the
/// cheapest batch among the last eighth of a cycle is than the cheapest among the first
/// eighth, over every cycle but the first (a warm-up: then the buffers have grown, and
/// what is compared is the work alone). With a single cycle, only its first batch warms
/// up. Stops early, with infinity, once eight batches in a row cost 64 times the
/// cheapest early one: work that grows that fast would take minutes to finish.
fn growth(cycles: usize, per_cycle: usize, batch: usize, mut step: impl FnMut(usize)) -> f64 {
    let eighth = per_cycle / 8;
    assert!(eighth >= 2, "{per_cycle} batches make too short a cycle");
    let (mut early, mut late, mut slow_run) = (Duration::MAX, Duration::MAX, 0);
    for b in 0..cycles * per_cycle {
        let start = Instant::now();
        for i in b * batch..(b + 1) * batch {
            step(i);
        }
        let took = start.elapsed();
        let (cycle, at) = (b / per_cycle, b % per_cycle);
        if cycle == 0 && (cycles > 1 || at == 0) {
            continue;
        }
        if at < eighth {
            early = early.min(took);
        } else if at >= per_cycle - eighth {
            late = late.min(took);
        }
        slow_run = if early < Duration::MAX && took > early * 64 {
            slow_run + 1
        } else {
            0
        };
        if slow_run == 8 {
            return f64::INFINITY;
        }
    }
    late.as_secs_f64() / early.as_secs_f64().max(1e-9)
}

/// `cycles` events, each `start` and then `text` repeated (and cut to fit) up to
/// `line_len` bytes with its line ends.
fn long_events(start: &[u8], cycles: usize, line_len: usize, text: &[u8]) -> Vec<u8> {
    let mut event = start.to_vec();
    event.extend(text.iter().cycle().take(line_len - event.len() - 4));
    event.extend_from_slice(b"\r\n\r\n");
    event.repeat(cycles)
}

/// Feeds `cycles` long events of `per_cycle` batches of `batch` reads of `read` bytes,
/// draining after each read; returns the growth (see [`growth`]) and the decoder.
fn feed_growth(
    mut decoder: Decoder,
    start: &[u8],
    text: &[u8],
    read: usize,
    per_cycle: usize,
    batch: usize,
) -> (f64, Decoder) {
    let cycles = 4;
    let input = long_events(start, cycles, per_cycle * batch * read, text);
    let reads: Vec<&[u8]> = input.chunks(read).collect();
    let mut events = 0;
    let ratio = growth(cycles, per_cycle, batch, |i| {
        decoder.feed(reads[i]);
        while let Some(item) = decoder.next_item() {
            // An event per line, or (strict mode, invalid bytes) an error.
            events += usize::from(matches!(item, Ok(Item::Event(_)) | Err(_)));
        }
    });
    // (Unless the growth stopped early.)
    assert!(
        events == cycles || ratio.is_infinite(),
        "{events} of {cycles} events"
    );
    (ratio, decoder)
}

/// The harness sees what it is there to see: a consumer that searches all it holds of a
/// line again on every read grows far past the slack.
fn growth_detects_work_that_grows_with_what_is_held() {
    let (per_cycle, batch, read) = (64, 4, 1460);
    let input = long_events(b"data: ", 4, per_cycle * batch * read, b"x");
    let reads: Vec<&[u8]> = input.chunks(read).collect();
    let mut held = Vec::new();
    let ratio = growth(4, per_cycle, batch, |i| {
        if i % (per_cycle * batch) == 0 {
            held.clear();
        }
        held.extend_from_slice(reads[i]);
        black_box(held.iter().filter(|&&b| b == b'\n').count());
    });
    row(
        "a consumer that rescans what it holds (the harness's check)",
        ratio,
    );
}

/// Events of one 360 KiB line in network-sized reads: a read near the end of the line
/// costs what a read near its start does, and the buffer holds the line once (plus
/// growth slack), not a copy per read.
fn a_long_line_costs_the_same_per_feed_at_its_end() {
    let (ratio, d) = feed_growth(
        Decoder::new(),
        b"data: ",
        b"abcdefghijklmnopqrstuvwxyz",
        1460,
        64,
        4,
    );
    row(
        "a 360 KiB line in 1,460-byte reads, a late read vs an early one",
        ratio,
    );
    assert!(buffered_capacity(&d) <= 3 * 64 * 4 * 1460);
}

/// In the mode that starts a new event at an `id` or `event` line (the native
/// protocol's), a long line without a colon after a data line: whether it starts a new
/// event is decided from its first bytes, not by searching the whole line at each read.
fn a_long_line_in_split_on_new_id_mode_costs_the_same_per_feed_at_its_end() {
    for (read, per_cycle, batch) in [(1, 64, 256), (1460, 64, 4)] {
        let decoder = Decoder::new().split_on_new_id(true);
        let (ratio, _) = feed_growth(decoder, b"data: {}\n", b"x", read, per_cycle, batch);
        row(
            &format!("split on new id: a colon-less line after data, {read}-byte reads"),
            ratio,
        );
    }
}

/// 100,000 events in one feed: the last ones cost what the first ones do.
fn the_last_events_of_a_large_feed_cost_what_the_first_do() {
    let input: Vec<u8> = (0..102_400)
        .flat_map(|i| format!("id: {i}\n: c\ndata: {i}\n\n").into_bytes())
        .collect();
    let mut d = Decoder::new();
    d.feed(&input);
    let mut events = 0;
    let ratio = growth(1, 256, 400, |_| {
        while let Some(item) = d.next_item() {
            if let Ok(Item::Event(_)) = item {
                events += 1;
                break;
            }
        }
    });
    assert_eq!(events, 102_400);
    row(
        "100,000 events in one feed, a late event vs an early one",
        ratio,
    );
}

/// Long lines of multi-byte text, split characters at every read size, and invalid bytes
/// that turn the buffer raw (strict errors, lossy replacement): no read size makes the
/// cost of a read grow with the line.
fn long_lines_with_split_characters_and_invalid_bytes_stay_linear() {
    let mut text = "杭州 é 🌤 x".repeat(300).into_bytes();
    text.extend_from_slice(b"\xFF\xE6\x9D");
    for (read, per_cycle, batch) in [(1, 64, 256), (3, 64, 128), (64, 64, 16), (1460, 64, 4)] {
        for lossy in [false, true] {
            let (ratio, _) = feed_growth(
                Decoder::new().lossy(lossy),
                b"data: ",
                &text,
                read,
                per_cycle,
                batch,
            );
            row(
                &format!("multi-byte line with invalid bytes, {read}-byte reads, lossy {lossy}"),
                ratio,
            );
        }
    }
}

fn main() {
    println!("Cost of late work against early work (cheapest batch of each)\n");
    println!("| input | late / early | |\n|---|---|---|");
    growth_detects_work_that_grows_with_what_is_held();
    a_long_line_costs_the_same_per_feed_at_its_end();
    a_long_line_in_split_on_new_id_mode_costs_the_same_per_feed_at_its_end();
    the_last_events_of_a_large_feed_cost_what_the_first_do();
    long_lines_with_split_characters_and_invalid_bytes_stay_linear();
}
