//! Throughput of the SSE decoder on a GLM-like stream (std only, no criterion).
//!
//! Run with `cargo bench --bench sse`. Prints one table row per scenario: MB/s (10^6
//! bytes per second), ns per event and allocations per event, each the median of
//! several runs.
#![allow(missing_docs, reason = "a bench binary")]

#[path = "../tests/common/alloc_counter.rs"]
#[allow(
    unreachable_pub,
    reason = "shared helper file, included as a private module"
)]
mod alloc_counter;

use std::hint::black_box;
use std::time::{Duration, Instant};

use dashscope_glm::sse::{Decoder, Item};

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

/// A tiny deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "the",
    "user",
    "asks",
    "for",
    "a",
    "function",
    "that",
    "returns",
    "weather",
    "in",
    "Hangzhou",
    "so",
    "I",
    "should",
    "call",
    "tool",
    "with",
    "city",
    "parameter",
    "then",
    "answer",
    "briefly",
    "杭州",
    "天气",
    "晴朗",
    "，",
    "温度",
    "摄氏度",
    "。",
    "\\n",
    "\\\"ok\\\"",
];

fn phrase(rng: &mut Rng, max_words: u64) -> String {
    let n = 1 + rng.below(max_words);
    let mut s = String::new();
    for _ in 0..n {
        s.push(' ');
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    s
}

/// A native-protocol stream (`id`, `event:result`, `:HTTP_STATUS/200`, `data:`) with
/// reasoning, content and tool-argument deltas, like PROTOCOL.md's transcripts T1/T2.
fn native_stream(events: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = String::new();
    let rid = "5c0a7e1b-3f2d-9a41-b8c6-0d2e4f6a8b10";
    for i in 1..=events {
        let (reasoning, content, tool) = match i * 10 / events {
            0..=4 => (phrase(&mut rng, 4), String::new(), None),
            5..=7 => (String::new(), phrase(&mut rng, 4), None),
            _ => (String::new(), String::new(), Some(phrase(&mut rng, 3))),
        };
        let message = match tool {
            None => format!(
                r#"{{"content":"{content}","reasoning_content":"{reasoning}","role":"assistant"}}"#
            ),
            Some(args) => format!(
                r#"{{"content":"","role":"assistant","tool_calls":[{{"index":0,"id":"","type":"function","function":{{"arguments":"{args}"}}}}]}}"#
            ),
        };
        let finish = if i == events { "stop" } else { "null" };
        out.push_str(&format!(
            "id:{i}\nevent:result\n:HTTP_STATUS/200\ndata:{{\"output\":{{\"choices\":[{{\"message\":{message},\"index\":0,\"finish_reason\":\"{finish}\"}}]}},\"usage\":{{\"total_tokens\":{},\"output_tokens\":{i},\"input_tokens\":10}},\"request_id\":\"{rid}\"}}\n\n",
            10 + i
        ));
    }
    out.into_bytes()
}

/// The same deltas in the OpenAI-compatible shape (`data: {...}` then a blank line).
fn compat_stream(events: usize) -> Vec<u8> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut out = String::new();
    for i in 1..=events {
        let delta = match i * 10 / events {
            0..=4 => format!(r#"{{"reasoning_content":"{}"}}"#, phrase(&mut rng, 4)),
            5..=7 => format!(r#"{{"content":"{}"}}"#, phrase(&mut rng, 4)),
            _ => format!(
                r#"{{"tool_calls":[{{"index":0,"function":{{"arguments":"{}"}}}}]}}"#,
                phrase(&mut rng, 3)
            ),
        };
        out.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-5c0a7e1b-3f2d-9a41-b8c6-0d2e4f6a8b10\",\"object\":\"chat.completion.chunk\",\"created\":1760000000,\"model\":\"glm-5\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":null}}]}}\n\n"
        ));
    }
    out.push_str("data: [DONE]\n\n");
    out.into_bytes()
}

/// One 8 MiB `data:` line (JSON-like ASCII), then a blank line.
fn big_event() -> Vec<u8> {
    let mut out = b"data:{\"arguments\":\"".to_vec();
    let mut rng = Rng(7);
    while out.len() < 8 * 1024 * 1024 {
        out.extend_from_slice(WORDS[rng.below(22) as usize].as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(b"\"}\n\n");
    out
}

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

fn main() {
    let native = native_stream(50_000);
    let compat = compat_stream(50_000);
    let big = big_event();
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
    scenario(
        "compat (first 1/8), 1 B reads",
        prefix(&compat, compat.len() / 8),
        1,
        3,
    );
    scenario("one 8 MiB event, 1460 B reads", &big, 1460, 7);
    scenario("one 8 MiB event, 16 KiB reads", &big, 16 * 1024, 7);
}
