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
//!
//! A third table (`-- pool`) counts the TCP connections 32 threads open for 16 short
//! streams each on one `Client`: with one idle connection kept per thread, at most 32.
//!
//! A fourth (`-- memory`) holds 256 streams open at once over loopback, each after its
//! first event (the server, a child process of this binary, sends one event and then
//! holds the body open), and prints the client's live heap bytes per open stream (all
//! threads, from the counting allocator) and its resident-memory growth per stream
//! (`VmRSS`, Linux), with the split: ureq's input and output buffers (their configured
//! sizes), the stream's read buffer, the decoder state after one event (measured on
//! the same bytes without a socket), the `ChatStream` value itself, and the rest
//! (ureq's connection, transport and call state, the response head, the request id).
//! Each row runs in a process of its own, so that its RSS does not start from memory
//! an earlier row freed.
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

use dashscope_glm::blocking::{ChatStream, Client, ClientBuilder};
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
    let protocol = request.protocol().unwrap_or_default();
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
        .with_protocol(protocol);
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

/// The first argument that makes this binary the holding server of the memory table.
const HOLD_SERVER: &str = "hold-server";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some(HOLD_SERVER) => return hold_server(),
        Some(MEMORY_ROW) => return memory_row(&args[2], &args[3]),
        _ => {}
    }
    // `-- short`, `-- pool` or `-- memory` run that table alone (several may be named).
    let tables = ["short", "pool", "memory"];
    let named = |t: &str| args.iter().any(|a| a == t);
    let all = !tables.iter().any(|t| named(t));
    if all {
        throughput();
    }
    if all || named("short") {
        short_stream_table();
    }
    if all || named("pool") {
        pool_table();
    }
    if all || named("memory") {
        memory_table();
    }
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
        .with_protocol(Protocol::DashScope);
    let compat_req = ChatRequest::new("bench-model")
        .user("hi")
        .with_protocol(Protocol::OpenAiCompatible);
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

/// 32 threads, 16 short streams each, on one `Client` against a keep-alive server:
/// the connections it accepted (fewest, median, most of 5 runs, each with a new
/// client) and the wall time of a run.
fn pool_table() {
    const THREADS: usize = 32;
    const PER_THREAD: usize = 16;
    const RUNS: usize = 5;
    let (url, accepted) = serve_counting(glm_stream::compat_stream(10));
    let request = ChatRequest::new("bench-model")
        .user("hi")
        .with_protocol(Protocol::OpenAiCompatible);
    let mut connections = Vec::with_capacity(RUNS);
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let client = Client::builder()
            .api_key("sk-bench")
            .base_url(&url)
            .no_proxy()
            .build()
            .expect("client");
        let before = accepted.load(Ordering::SeqCst);
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    for _ in 0..PER_THREAD {
                        black_box(via_client(&client, &request, &[]));
                    }
                });
            }
        });
        times.push(start.elapsed());
        connections.push(accepted.load(Ordering::SeqCst) - before);
    }
    connections.sort_unstable();
    times.sort();
    println!();
    println!(
        "| {:<30} | {:>8} | {:>17} | {:>9} |",
        "32 threads x 16 short streams", "requests", "connections", "ms/run"
    );
    println!("|{:-<32}|{:->10}|{:->19}|{:->11}|", "", "", "", "");
    println!(
        "| {:<30} | {:>8} | {:>5} / {:>3} / {:>3} | {:>9.1} |",
        "one Client: min / median / max",
        THREADS * PER_THREAD,
        connections[0],
        connections[RUNS / 2],
        connections[RUNS - 1],
        times[RUNS / 2].as_secs_f64() * 1e3,
    );
}

/// The first event of every held stream: one compat chunk of about 300 bytes.
fn first_event() -> Vec<u8> {
    let stream = glm_stream::compat_stream(4);
    let end = stream
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("an event")
        + 2;
    stream[..end].to_vec()
}

/// The holding server (run as a child process, so that its memory is not the
/// client's): prints its address, then answers every request with the head and one
/// event of a chunked SSE body, and holds the body open until the client closes the
/// connection. Exits when its standard input closes.
fn hold_server() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    println!("{}", listener.local_addr().expect("addr"));
    std::io::stdout().flush().expect("flush");
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || hold(conn))
                .expect("spawn");
        }
    });
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

fn hold(conn: TcpStream) {
    let _ = conn.set_nodelay(true);
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut len = 0usize;
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        line.clear();
    }
    if reader.read_exact(&mut vec![0; len]).is_err() {
        return;
    }
    let event = first_event();
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream;charset=UTF-8\r\nx-request-id: bench\r\ntransfer-encoding: chunked\r\n\r\n";
    let mut conn = conn;
    let chunk = format!("{:x}\r\n", event.len());
    let sent = conn
        .write_all(head.as_bytes())
        .and_then(|()| conn.write_all(chunk.as_bytes()))
        .and_then(|()| conn.write_all(&event))
        .and_then(|()| conn.write_all(b"\r\n"));
    if sent.is_ok() {
        // Held open: the body never ends; the client's close ends this read.
        let _ = reader.read_to_end(&mut Vec::new());
    }
}

/// This process's resident memory in bytes (`VmRSS`), where `/proc` has it.
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Live heap bytes of a stream's decoder after the first event, with no socket: an
/// `EventReader` over the same bytes, less its read buffer.
fn decoder_bytes(read_buffer: usize) -> isize {
    let event = first_event();
    let before = alloc_counter::live_bytes();
    let mut reader = dashscope_glm::chat::EventReader::new(&event[..], Protocol::OpenAiCompatible)
        .read_buffer(read_buffer);
    assert!(reader.next_event().expect("valid").is_some());
    let bytes = alloc_counter::live_bytes() - before;
    drop(reader);
    bytes - read_buffer as isize
}

/// A row of the memory table: a name, the builder, and its ureq buffer sizes.
struct MemoryRow {
    name: &'static str,
    builder: fn() -> ClientBuilder,
    input: usize,
    output: usize,
}

const MEMORY_ROWS: [MemoryRow; 2] = [
    MemoryRow {
        name: "client defaults",
        builder: Client::builder,
        input: 16 * 1024,
        output: 16 * 1024,
    },
    MemoryRow {
        name: "ureq's buffers (128 KiB each)",
        builder: || {
            Client::builder()
                .input_buffer_size(128 * 1024)
                .output_buffer_size(128 * 1024)
        },
        input: 128 * 1024,
        output: 128 * 1024,
    },
];

/// One row of the memory table: `STREAMS` streams held open at once on one client.
fn held_streams(row: &MemoryRow, url: &str) {
    const STREAMS: usize = 256;
    const READ_BUFFER: usize = 16 * 1024;
    let client = (row.builder)()
        .api_key("sk-bench")
        .base_url(url)
        .no_proxy()
        .build()
        .expect("client");
    let request = ChatRequest::new("bench-model")
        .user("hi")
        .with_protocol(Protocol::OpenAiCompatible);
    // Warm-up: whatever the client allocates once (and keeps) is not per stream.
    for _ in 0..2 {
        let mut stream = client.stream(&request).expect("stream");
        assert!(stream.next_event().expect("event").is_some());
    }
    let (heap0, rss0) = (alloc_counter::live_bytes(), rss());
    // The streams themselves count: a caller keeps them somewhere.
    let mut held = Vec::with_capacity(STREAMS);
    for _ in 0..STREAMS {
        let mut stream = client.stream(&request).expect("stream");
        assert!(stream.next_event().expect("event").is_some());
        held.push(stream);
    }
    let (heap1, rss1) = (alloc_counter::live_bytes(), rss());
    let per_stream = (heap1 - heap0) as f64 / STREAMS as f64;
    let rss_per_stream = match (rss0, rss1) {
        (Some(a), Some(b)) => format!("{:.1}", (b as f64 - a as f64) / STREAMS as f64 / 1024.0),
        _ => "n/a".to_owned(),
    };
    let decoder = decoder_bytes(READ_BUFFER) as f64;
    let value = size_of::<ChatStream>() as f64;
    let rest = per_stream - (row.input + row.output + READ_BUFFER) as f64 - decoder - value;
    let kib = |b: f64| b / 1024.0;
    println!(
        "| {:<30} | {:>5.1} | {:>5} | {:>7.1} | {:>8.1} | {:>4.1} | {:>7.2} | {:>6.2} | {:>4.1} |",
        row.name,
        kib(per_stream),
        rss_per_stream,
        kib(row.input as f64),
        kib(row.output as f64),
        kib(READ_BUFFER as f64),
        kib(decoder),
        kib(value),
        kib(rest),
    );
    drop(held);
}

/// The first argument that makes this binary run one row of the memory table (the row's
/// index and the holding server's URL follow), in a process of its own so that its
/// resident memory does not start from what an earlier row freed.
const MEMORY_ROW: &str = "memory-row";

fn memory_row(index: &str, url: &str) {
    held_streams(&MEMORY_ROWS[index.parse::<usize>().expect("a row")], url);
}

fn memory_table() {
    let exe = std::env::current_exe().expect("exe");
    let mut child = std::process::Command::new(&exe)
        .arg(HOLD_SERVER)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the holding server starts");
    let mut addr = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut addr)
        .expect("its address");
    let url = format!("http://{}", addr.trim());
    println!();
    println!(
        "| {:<30} | {:>5} | {:>5} | {:>7} | {:>8} | {:>4} | {:>7} | {:>6} | {:>4} |",
        "256 open streams: KiB each",
        "heap",
        "RSS",
        "ureq in",
        "ureq out",
        "read",
        "decoder",
        "stream",
        "rest"
    );
    println!(
        "|{:-<32}|{:->7}|{:->7}|{:->9}|{:->10}|{:->6}|{:->9}|{:->8}|{:->6}|",
        "", "", "", "", "", "", "", "", ""
    );
    for index in 0..MEMORY_ROWS.len() {
        let status = std::process::Command::new(&exe)
            .args([MEMORY_ROW, &index.to_string(), &url])
            .status()
            .expect("a row runs");
        assert!(status.success(), "row {index}: {status}");
    }
    // Closing its stdin ends the server.
    drop(child.stdin.take());
    let _ = child.wait();
}
