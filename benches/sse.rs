//! Throughput of the SSE decoder on a GLM-like stream (std only, no criterion).
//!
//! Run with `cargo bench --bench sse`. Prints one table row per scenario: MB/s (10^6
//! bytes per second), ns per event and allocations per event, each the median of
//! several runs.
#![allow(missing_docs, reason = "a bench binary")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a benchmark harness stops on a broken setup"
)]

#[path = "../tests/common/alloc_counter.rs"]
mod alloc_counter;
#[path = "common/glm_stream.rs"]
mod glm_stream;

use std::hint::black_box;
use std::time::{Duration, Instant};

use dashscope_glm::sse::{Decoder, Item};

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

/// Decodes `input` in `chunk`-byte reads; returns (events, checksum).
fn decode(input: &[u8], chunk: usize) -> (u64, u64) {
    let mut decoder = Decoder::new();
    let mut events = 0;
    let mut sum = 0u64;
    for read in input.chunks(chunk) {
        decoder.feed(read);
        while let Some(item) = decoder.next_item() {
            match item {
                Ok(Item::Event(event)) => {
                    events += 1;
                    sum += event.data().len() as u64 + event.event_type().len() as u64;
                }
                Ok(Item::Comment(text)) => sum += text.len() as u64,
                Ok(_) => {}
                Err(e) => panic!("bench input is valid: {e}"),
            }
        }
    }
    assert!(decoder.finish().expect("clean end").is_clean());
    (events, black_box(sum))
}

/// The first `len` bytes of `input`, extended to the end of the event there.
fn prefix(input: &[u8], len: usize) -> &[u8] {
    let end = input[len..]
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(input.len(), |i| len + i + 2);
    &input[..end]
}

fn scenario(name: &str, input: &[u8], chunk: usize, runs: usize) {
    // `cargo bench --bench sse -- <text>` runs only the scenarios whose name holds it.
    if let Some(filter) = std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        if !name.contains(filter.as_str()) {
            return;
        }
    }
    let runs = std::env::var("SSE_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(runs);
    let mut times = Vec::with_capacity(runs);
    let mut allocs = Vec::with_capacity(runs);
    let mut events = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let ((n, _), a) = alloc_counter::count(|| decode(black_box(input), chunk));
        times.push(start.elapsed());
        allocs.push(a);
        events = n;
    }
    times.sort();
    allocs.sort_unstable();
    let t: Duration = times[runs / 2];
    let secs = t.as_secs_f64();
    println!(
        "| {name:<34} | {:>9.1} | {:>9.1} | {:>8.1} | {:>10} | {:>8.4} |",
        input.len() as f64 / 1e6,
        input.len() as f64 / secs / 1e6,
        secs * 1e9 / events as f64,
        allocs[runs / 2],
        allocs[runs / 2] as f64 / events as f64,
    );
}

/// A floor for the decoder: the same bytes through one pass of `work` in 16 KiB reads,
/// MB/s only (median of 7 runs).
fn baseline(name: &str, input: &[u8], work: fn(&[u8]) -> usize) {
    if let Some(filter) = std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        if !name.contains(filter.as_str()) {
            return;
        }
    }
    let mut times: Vec<Duration> = (0..7)
        .map(|_| {
            let start = Instant::now();
            let n: usize = input
                .chunks(16 * 1024)
                .map(|read| work(black_box(read)))
                .sum();
            black_box(n);
            start.elapsed()
        })
        .collect();
    times.sort();
    let secs = times[3].as_secs_f64();
    println!(
        "| {name:<34} | {:>9.1} | {:>9.1} | {:>8} | {:>10} | {:>8} |",
        input.len() as f64 / 1e6,
        input.len() as f64 / secs / 1e6,
        "",
        "",
        ""
    );
}

/// UTF-8 validation with the standard library, which the decoder runs once on each read.
fn validate_utf8(read: &[u8]) -> usize {
    // A read may end inside a character: validate up to there.
    match std::str::from_utf8(read) {
        Ok(s) => s.len(),
        Err(e) => e.valid_up_to(),
    }
}

/// What any decoder with this API must do to every byte: copy it into its own buffer
/// (items borrow the decoder) and validate it as UTF-8 (items are `&str`).
fn copy_and_validate(read: &[u8]) -> usize {
    thread_local! {
        static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    let valid = match std::str::from_utf8(read) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&read[..e.valid_up_to()]).unwrap(),
    };
    BUF.with_borrow_mut(|buf| {
        buf.clear();
        buf.push_str(valid);
        buf.len()
    })
}

fn main() {
    let native = glm_stream::native_stream(50_000);
    let compat = glm_stream::compat_stream(50_000);
    let big = glm_stream::big_event();
    // The same stream with CRLF line ends (the kit's CRLF rows).
    let compat_crlf: Vec<u8> = compat
        .iter()
        .flat_map(|b| {
            if *b == b'\n' {
                &b"\r\n"[..]
            } else {
                std::slice::from_ref(b)
            }
        })
        .copied()
        .collect();
    let one_byte = prefix(&native, native.len() / 8);
    println!(
        "| {:<34} | {:>9} | {:>9} | {:>8} | {:>10} | {:>8} |",
        "scenario", "MB", "MB/s", "ns/event", "allocs", "allocs/ev"
    );
    println!(
        "|{:-<36}|{:->11}|{:->11}|{:->10}|{:->12}|{:->10}|",
        "", "", "", "", "", ""
    );
    scenario("native, 16 KiB reads", &native, 16 * 1024, 7);
    scenario("native, 1460 B reads", &native, 1460, 7);
    scenario("native (first 1/8), 1 B reads", one_byte, 1, 3);
    scenario("compat, 16 KiB reads", &compat, 16 * 1024, 7);
    scenario("compat, 1460 B reads", &compat, 1460, 7);
    scenario("compat CRLF, 1460 B reads", &compat_crlf, 1460, 7);
    scenario(
        "compat (first 1/8), 1 B reads",
        prefix(&compat, compat.len() / 8),
        1,
        3,
    );
    scenario("one 8 MiB event, 1460 B reads", &big, 1460, 7);
    scenario("one 8 MiB event, 16 KiB reads", &big, 16 * 1024, 7);
    baseline("baseline: native, from_utf8 only", &native, validate_utf8);
    baseline("baseline: compat, from_utf8 only", &compat, validate_utf8);
    baseline(
        "baseline: compat, copy + from_utf8",
        &compat,
        copy_and_validate,
    );
}
