//! Throughput of the whole sans-IO pipeline, SSE decoder + merger, on the GLM-like
//! stream of `benches/sse.rs` (std only, no criterion).
//!
//! Run with `cargo bench --bench pipeline`. Prints one table row per scenario: MB/s
//! (10^6 bytes per second), ns per SSE event and allocations per event, each the median
//! of several runs. The allocations include the one-time growth of the merged strings.
#![allow(missing_docs, reason = "a bench binary")]

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

fn scenario(
    name: &str,
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
        let (_, a) = alloc_counter::count(|| run(protocol, black_box(input), chunk));
        times.push(start.elapsed());
        allocs.push(a);
    }
    times.sort();
    allocs.sort_unstable();
    let secs = times[runs / 2].as_secs_f64();
    let allocations = allocs[runs / 2];
    println!(
        "| {name:<30} | {:>7.1} | {:>8.1} | {:>8.1} | {:>7} | {:>9.5} |",
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
        "| {:<30} | {:>7} | {:>8} | {:>8} | {:>7} | {:>9} |",
        "scenario", "MB", "MB/s", "ns/event", "allocs", "allocs/ev"
    );
    println!(
        "|{:-<32}|{:->9}|{:->10}|{:->10}|{:->9}|{:->11}|",
        "", "", "", "", "", ""
    );
    scenario(
        "native, 1460 B reads",
        Protocol::DashScope,
        &native,
        EVENTS,
        1460,
        7,
    );
    scenario(
        "native, 16 KiB reads",
        Protocol::DashScope,
        &native,
        EVENTS,
        16 * 1024,
        7,
    );
    scenario(
        "compat, 1460 B reads",
        Protocol::OpenAiCompatible,
        &compat,
        EVENTS + 1,
        1460,
        7,
    );
    scenario(
        "compat, 16 KiB reads",
        Protocol::OpenAiCompatible,
        &compat,
        EVENTS + 1,
        16 * 1024,
        7,
    );
}
