//! Throughput of the whole blocking client: the GLM-like streams of `benches/pipeline.rs`
//! served from a loopback server (std only, chunked, 16 KiB writes) through
//! `Client::stream` and `ChatStream::next_event`, next to the sans-IO pipeline alone on
//! the same bytes, so the cost of the HTTP layer shows.
//!
//! Run with `cargo bench --bench client`. Prints one row per scenario: MB/s, ns per SSE
//! event and allocations per event (the client's thread only: request building, ureq,
//! reading, decoding, merging), each the median of several runs.
//!
//! A second table times 100 sequential short streams (10 events) on one `Client`, per
//! protocol: the time per request over loopback (median and best of 5 runs) and how
//! many TCP connections the server accepted for them (after a warm-up request), so that connection reuse between requests shows (1 connection
//! when the client returns it to the pool after each answer, 100 when it does not).
//! `cargo bench --bench client -- short` prints that table alone (`-- short compat`
//! or `-- short native`: one row, e.g. under a profiler).
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
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dashscope_glm::blocking::Client;
use dashscope_glm::chat::{ChatRequest, Protocol, StreamDecoder, StreamEvent};

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

/// Serves `body` as a chunked SSE response to every request, on its own thread.
fn serve(body: Vec<u8>) -> String {
    serve_counting(body).0
}

/// As [`serve`], also counting the connections accepted. Keep-alive: a connection
/// carries requests until the client closes it.
fn serve_counting(body: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            std::thread::spawn(move || answer(conn, &body));
        }
    });
    (url, accepted)
}

fn answer(conn: TcpStream, body: &[u8]) {
    // As a production server does: each write goes out at once (no Nagle delay on the
    // chunked terminator that follows the last chunk).
    let _ = conn.set_nodelay(true);
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut conn = conn;
    loop {
        let mut len = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end().to_ascii_lowercase();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut req = vec![0; len];
        if reader.read_exact(&mut req).is_err() {
            return;
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream;charset=UTF-8\r\nx-request-id: bench\r\ntransfer-encoding: chunked\r\n\r\n";
        if conn.write_all(head.as_bytes()).is_err() {
            return;
        }
        for piece in body.chunks(16 * 1024) {
            let ok = conn
                .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                .and_then(|()| conn.write_all(piece))
                .and_then(|()| conn.write_all(b"\r\n"));
            if ok.is_err() {
                return;
            }
        }
        if conn.write_all(b"0\r\n\r\n").is_err() {
            return;
        }
    }
}

fn take(event: StreamEvent<'_>) -> u64 {
    match event {
        StreamEvent::Reasoning(t) | StreamEvent::Content(t) => t.len() as u64,
        StreamEvent::ToolCallArguments { fragment, .. } => fragment.len() as u64,
        _ => 1,
    }
}

fn via_client(client: &Client, request: &ChatRequest, _: &[u8]) -> u64 {
    let mut stream = client.stream(request).expect("stream starts");
    let mut sum = 0;
    while let Some(event) = stream.next_event().expect("bench stream is valid") {
        sum += take(event);
    }
    sum + stream.finish().expect("finishes").message.content.len() as u64
}

fn pipeline_only(_: &Client, request: &ChatRequest, input: &[u8]) -> u64 {
    let protocol = request.protocol_override().unwrap_or_default();
    let mut stream = StreamDecoder::new(protocol);
    let mut sum = 0;
    for read in input.chunks(16 * 1024) {
        stream.feed(read);
        while let Some(event) = stream.next_event().expect("valid") {
            sum += take(event);
        }
    }
    stream.end().expect("clean end");
    while let Some(event) = stream.next_event().expect("valid") {
        sum += take(event);
    }
    sum + stream.finish().expect("finishes").message.content.len() as u64
}

type Runner = fn(&Client, &ChatRequest, &[u8]) -> u64;

fn scenario(
    name: &str,
    runner: Runner,
    client: &Client,
    request: &ChatRequest,
    input: &[u8],
    events: usize,
) {
    const RUNS: usize = 7;
    let mut times = Vec::with_capacity(RUNS);
    let mut allocs = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let (sum, a) = alloc_counter::count(|| runner(client, request, black_box(input)));
        times.push(start.elapsed());
        allocs.push(a);
        black_box(sum);
    }
    times.sort();
    allocs.sort_unstable();
    let secs = times[RUNS / 2].as_secs_f64();
    let allocations = allocs[RUNS / 2];
    println!(
        "| {name:<30} | {:>5.1} | {:>6.1} | {:>8.1} | {:>7} | {:>9.4} |",
        input.len() as f64 / 1e6,
        input.len() as f64 / secs / 1e6,
        secs * 1e9 / events as f64,
        allocations,
        allocations as f64 / events as f64,
    );
}

/// Times `REQUESTS` sequential short streams on one client (after a warm-up request):
/// the time per request and the connections the server accepted for them.
fn short_streams(name: &str, protocol: Protocol, body: Vec<u8>) {
    const REQUESTS: usize = 100;
    const RUNS: usize = 5;
    let (url, accepted) = serve_counting(body);
    let request = ChatRequest::new("bench-model")
        .user("hi")
        .protocol(protocol);
    let mut per_request = Vec::with_capacity(RUNS);
    let mut connections = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let client = Client::builder()
            .api_key("sk-bench")
            .base_url(&url)
            .protocol(protocol)
            .no_proxy()
            .build()
            .expect("client");
        black_box(via_client(&client, &request, &[]));
        let before = accepted.load(Ordering::SeqCst);
        let start = Instant::now();
        for _ in 0..REQUESTS {
            black_box(via_client(&client, &request, &[]));
        }
        per_request.push(start.elapsed() / REQUESTS as u32);
        connections.push(accepted.load(Ordering::SeqCst) - before);
    }
    per_request.sort();
    connections.sort_unstable();
    let median: Duration = per_request[RUNS / 2];
    let best: Duration = per_request[0];
    println!(
        "| {name:<30} | {:>8} | {:>10.1} | {:>9.1} | {:>11} |",
        REQUESTS,
        median.as_secs_f64() * 1e6,
        best.as_secs_f64() * 1e6,
        connections[RUNS / 2],
    );
}

fn main() {
    // `cargo bench --bench client -- short` runs only the short-stream table.
    if !std::env::args().any(|a| a == "short") {
        throughput();
    }
    short_stream_table();
}

fn throughput() {
    const EVENTS: usize = 50_000;
    let native = glm_stream::native_stream(EVENTS);
    let compat = glm_stream::compat_stream(EVENTS);
    let native_url = serve(native.clone());
    let compat_url = serve(compat.clone());
    let client_for = |url: &str, protocol| {
        Client::builder()
            .api_key("sk-bench")
            .base_url(url)
            .protocol(protocol)
            .no_proxy()
            .build()
            .expect("client")
    };
    let native_client = client_for(&native_url, Protocol::DashScope);
    let compat_client = client_for(&compat_url, Protocol::OpenAiCompatible);
    // An unknown model name keeps the body minimal; the protocol rides on the request
    // so that the pipeline-only rows pick the same decoder.
    let native_req = ChatRequest::new("bench-model")
        .user("hi")
        .protocol(Protocol::DashScope);
    let compat_req = ChatRequest::new("bench-model")
        .user("hi")
        .protocol(Protocol::OpenAiCompatible);
    println!(
        "| {:<30} | {:>5} | {:>6} | {:>8} | {:>7} | {:>9} |",
        "scenario", "MB", "MB/s", "ns/event", "allocs", "allocs/ev"
    );
    println!(
        "|{:-<32}|{:->7}|{:->8}|{:->10}|{:->9}|{:->11}|",
        "", "", "", "", "", ""
    );
    let (nc, cc) = (&native_client, &compat_client);
    scenario(
        "native, client over loopback",
        via_client,
        nc,
        &native_req,
        &native,
        EVENTS,
    );
    scenario(
        "native, pipeline alone",
        pipeline_only,
        nc,
        &native_req,
        &native,
        EVENTS,
    );
    scenario(
        "compat, client over loopback",
        via_client,
        cc,
        &compat_req,
        &compat,
        EVENTS + 1,
    );
    scenario(
        "compat, pipeline alone",
        pipeline_only,
        cc,
        &compat_req,
        &compat,
        EVENTS + 1,
    );
}

fn short_stream_table() {
    // `-- short native` or `-- short compat` runs one protocol (for a profiler).
    let only = |name: &str| {
        let args: Vec<String> = std::env::args().collect();
        !args.iter().any(|a| a == "native" || a == "compat") || args.iter().any(|a| a == name)
    };
    println!();
    println!(
        "| {:<30} | {:>8} | {:>10} | {:>9} | {:>11} |",
        "100 sequential short streams", "requests", "us/request", "best run", "connections"
    );
    println!(
        "|{:-<32}|{:->10}|{:->12}|{:->11}|{:->13}|",
        "", "", "", "", ""
    );
    if only("native") {
        short_streams(
            "native, 10 events",
            Protocol::DashScope,
            glm_stream::native_stream(10),
        );
    }
    if only("compat") {
        short_streams(
            "compat, 10 events + [DONE]",
            Protocol::OpenAiCompatible,
            glm_stream::compat_stream(10),
        );
    }
}
