//! Throughput of the whole sans-IO pipeline, SSE decoder + merger, on the GLM-like
//! stream of `benches/sse.rs` (std only, no criterion).
//!
//! Run with `cargo bench --bench pipeline`. Prints one table row per scenario: MB/s
//! (10^6 bytes per second), ns per SSE event and allocations per event, each the median
//! of several runs. The allocations include the one-time growth of the merged strings.
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
use std::time::Instant;

use dashscope_glm::chat::{Protocol, StreamDecoder, StreamEvent};

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

/// Runs `input` through decoder and merger in `chunk`-byte reads; returns the number of
/// stream events lent and a checksum.
fn run(protocol: Protocol, input: &[u8], chunk: usize) -> (u64, u64) {
    let mut stream = StreamDecoder::new(protocol);
    let (mut events, mut sum) = (0u64, 0u64);
    let mut take = |stream: &mut StreamDecoder| {
        while let Some(event) = stream.next_event().expect("bench input is valid") {
            events += 1;
            sum += match event {
                StreamEvent::Reasoning(t) | StreamEvent::Content(t) => t.len() as u64,
                StreamEvent::ToolCallArguments { fragment, .. } => fragment.len() as u64,
                _ => 1,
            };
        }
    };
    for read in input.chunks(chunk) {
        stream.feed(read);
        take(&mut stream);
    }
    stream.end().expect("clean end");
    take(&mut stream);
    let completion = stream.finish().expect("bench stream finishes");
    (
        events,
        black_box(sum + completion.message.content.len() as u64),
    )
}

/// The baseline: the SSE decoder plus serde_json merely validating each event's data
/// (`IgnoredAny`), no merging at all.
fn validate_only(_: Protocol, input: &[u8], chunk: usize) -> (u64, u64) {
    let mut decoder = dashscope_glm::sse::Decoder::new();
    let mut events = 0;
    for read in input.chunks(chunk) {
        decoder.feed(read);
        while let Some(item) = decoder.next_item() {
            if let Ok(dashscope_glm::sse::Item::Event(e)) = item {
                if e.data() != "[DONE]" {
                    serde_json::from_str::<serde::de::IgnoredAny>(e.data()).expect("valid JSON");
                }
                events += 1;
            }
        }
    }
    (events, 0)
}

type Runner = fn(Protocol, &[u8], usize) -> (u64, u64);

fn scenario(
    name: &str,
    runner: Runner,
    protocol: Protocol,
    input: &[u8],
    sse_events: usize,
    chunk: usize,
    runs: usize,
) {
    if let Some(filter) = std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        if !name.contains(filter.as_str()) {
            return;
        }
    }
    let mut times = Vec::with_capacity(runs);
    let mut allocs = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let (_, a) = alloc_counter::count(|| runner(protocol, black_box(input), chunk));
        times.push(start.elapsed());
        allocs.push(a);
    }
    times.sort();
    allocs.sort_unstable();
    let secs = times[runs / 2].as_secs_f64();
    let allocations = allocs[runs / 2];
    println!(
        "| {name:<31} | {:>7.1} | {:>8.1} | {:>8.1} | {:>7} | {:>9.5} |",
        input.len() as f64 / 1e6,
        input.len() as f64 / secs / 1e6,
        secs * 1e9 / sse_events as f64,
        allocations,
        allocations as f64 / sse_events as f64,
    );
}

fn main() {
    const EVENTS: usize = 50_000;
    let native = glm_stream::native_stream(EVENTS);
    let compat = glm_stream::compat_stream(EVENTS);
    println!(
        "| {:<31} | {:>7} | {:>8} | {:>8} | {:>7} | {:>9} |",
        "scenario", "MB", "MB/s", "ns/event", "allocs", "allocs/ev"
    );
    println!(
        "|{:-<33}|{:->9}|{:->10}|{:->10}|{:->9}|{:->11}|",
        "", "", "", "", "", ""
    );
    let (n, c) = (Protocol::DashScope, Protocol::OpenAiCompatible);
    let kib16 = 16 * 1024;
    scenario("native, 1460 B reads", run, n, &native, EVENTS, 1460, 7);
    scenario("native, 16 KiB reads", run, n, &native, EVENTS, kib16, 7);
    scenario("compat, 1460 B reads", run, c, &compat, EVENTS + 1, 1460, 7);
    scenario(
        "compat, 16 KiB reads",
        run,
        c,
        &compat,
        EVENTS + 1,
        kib16,
        7,
    );
    let v = validate_only;
    scenario(
        "baseline: native, validate only",
        v,
        n,
        &native,
        EVENTS,
        1460,
        7,
    );
    scenario(
        "baseline: compat, validate only",
        v,
        c,
        &compat,
        EVENTS + 1,
        1460,
        7,
    );
}
