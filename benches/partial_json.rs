//! `PartialJson` throughput on realistic tool arguments fed in 16-byte fragments, reading
//! `value()` after every fragment, against re-parsing the closed prefix with serde_json
//! after every fragment (what most clients do).
//!
//! Run with `cargo bench --bench partial_json --features chat`. Std only, deterministic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a benchmark harness stops on a broken setup"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use dashscope_glm::json::PartialJson;

/// A tiny xorshift: the same input on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "the",
    "file",
    "函数",
    "返回",
    "value",
    "😀",
    "\\\"quoted\\\"",
    "path\\\\to",
    "line\\n",
    "\\t",
    "caf\\u00e9",
    "\\ud83d\\ude00",
    "数据",
    "error",
    "request",
];

fn sentence(rng: &mut Rng, out: &mut String, bytes: usize) {
    let start = out.len();
    while out.len() - start < bytes {
        out.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        out.push(' ');
    }
}

/// Tool arguments of about `size` bytes: short string fields with escapes and CJK,
/// arrays of numbers and of small objects, and one long "content" string.
fn arguments(size: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut s = String::from("{\"path\":\"src/模块/main.rs\",\"mode\":\"overwrite\",\"title\":\"");
    sentence(&mut rng, &mut s, 40);
    s.push_str("\",\"scores\":[");
    for i in 0..(size / 200).max(3) {
        if i > 0 {
            s.push(',');
        }
        match rng.below(3) {
            0 => s.push_str(&rng.below(100_000).to_string()),
            1 => s.push_str(&format!("-{}.{}", rng.below(1000), rng.below(1000))),
            _ => s.push_str(&format!("{}e-{}", rng.below(100), rng.below(9))),
        }
    }
    s.push_str("],\"items\":[");
    for i in 0..(size / 400).max(2) {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "{{\"id\":{},\"ok\":{},\"note\":\"",
            i,
            rng.below(2) == 0
        ));
        sentence(&mut rng, &mut s, 30);
        s.push_str("\",\"tags\":[\"a\",\"b\",null]}");
    }
    s.push_str("],\"content\":\"");
    let body = size.saturating_sub(s.len() + 2);
    sentence(&mut rng, &mut s, body);
    s.push_str("\"}");
    s
}

fn fragments(text: &str, size: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let mut end = (pos + size).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(&text[pos..end]);
        pos = end;
    }
    out
}

/// Closes a prefix so that serde_json can parse it: ends an open string (dropping a
/// half escape), drops an unfinished number, literal, key or member, closes brackets.
fn close_prefix(prefix: &str) -> String {
    let mut stack = Vec::new();
    let mut in_str = false;
    let mut esc = false;
    for (i, b) in prefix.bytes().enumerate() {
        if in_str {
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => stack.push((b, i)),
            b']' | b'}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    let mut s = prefix.to_owned();
    if in_str {
        // Drop a trailing half escape (`\`, `\u12`, a high surrogate without its pair).
        if let Some(k) = s.rfind('\\') {
            if s.len() - k < 12 && s[k..].starts_with("\\u") || s.len() - k < 2 {
                s.truncate(k);
            }
        }
        s.push('"');
    }
    // Drop a trailing unfinished scalar, key or separator.
    loop {
        let t = s.trim_end();
        let cut = t.ends_with(',')
            || t.ends_with(':')
            || t.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '+');
        if !cut {
            break;
        }
        let mut t = t.to_owned();
        if t.ends_with(':') {
            // Drop the key too.
            t.pop();
            if let Some(q) = t[..t.len() - 1].rfind('"') {
                t.truncate(q);
            }
        } else {
            t.pop();
        }
        s = t;
    }
    if s.trim_end().ends_with(',') {
        s = s.trim_end().trim_end_matches(',').to_owned();
    }
    for &(b, _) in stack.iter().rev() {
        s.push(if b == b'[' { ']' } else { '}' });
    }
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn run_partial(pieces: &[&str]) -> Duration {
    let start = Instant::now();
    let mut p = PartialJson::new();
    for piece in pieces {
        p.push(piece).expect("valid");
        black_box(p.value());
    }
    black_box(p.finish().expect("valid"));
    start.elapsed()
}

fn run_reparse(pieces: &[&str]) -> Duration {
    let start = Instant::now();
    let mut buf = String::new();
    for piece in pieces {
        buf.push_str(piece);
        let closed = close_prefix(&buf);
        black_box(serde_json::from_str::<serde_json::Value>(&closed).ok());
    }
    start.elapsed()
}

fn main() {
    println!("PartialJson, 16-byte fragments, value() read after each (median of runs)");
    println!(
        "| size | PartialJson ms | ns/byte | re-parse ms | re-parse ns/byte |\n|---|---|---|---|---|"
    );
    for (label, size, runs) in [
        ("1 KB", 1_000, 201),
        ("10 KB", 10_000, 51),
        ("100 KB", 100_000, 11),
        ("1 MB", 1_000_000, 7),
    ] {
        let text = arguments(size, 0x9E37_79B9_7F4A_7C15);
        let expected: serde_json::Value = serde_json::from_str(&text).expect("generated JSON");
        let pieces = fragments(&text, 16);
        let mut check = PartialJson::new();
        for piece in &pieces {
            check.push(piece).expect("valid");
        }
        assert_eq!(check.finish().expect("valid"), expected);
        if size == 1_000 {
            // The baseline must really parse its closed prefixes.
            let mut buf = String::new();
            let mut ok = 0;
            for piece in &pieces {
                buf.push_str(piece);
                ok += usize::from(
                    serde_json::from_str::<serde_json::Value>(&close_prefix(&buf)).is_ok(),
                );
            }
            println!(
                "(re-parse baseline: {ok} of {} closed prefixes parse)\n",
                pieces.len()
            );
        }
        let t = median((0..runs).map(|_| run_partial(&pieces)).collect());
        let n = text.len() as f64;
        let (rp_ms, rp_ns) = if size <= 100_000 {
            let r = median((0..runs.min(5)).map(|_| run_reparse(&pieces)).collect());
            (
                format!("{:.2}", r.as_secs_f64() * 1e3),
                format!("{:.0}", r.as_secs_f64() * 1e9 / n),
            )
        } else {
            ("—".to_owned(), "—".to_owned())
        };
        println!(
            "| {label} ({} B) | {:.3} | {:.2} | {rp_ms} | {rp_ns} |",
            text.len(),
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e9 / n,
        );
    }
}
