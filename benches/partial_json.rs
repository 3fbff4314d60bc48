//! `PartialJson` throughput on realistic tool arguments fed in 16-byte fragments, reading
//! `value()` after every fragment. Two shapes: the side-by-side kit's stage 4 (an
//! escape-heavy edit list of code strings, as the side-by-side kit generates it) against one
//! `serde_json::Value` parse of the final text, in time and in allocations per fragment
//! (one extra counted run); and a mixed shape of this bench's own against re-parsing
//! the closed prefix with serde_json after every fragment (what most clients do). In
//! between, two checks of growth: siblings deep against at the top, and the bytes a
//! long key costs around many duplicate keys or strings.
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

#[path = "../tests/common/alloc_counter.rs"]
mod alloc_counter;

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

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

/// The side-by-side kit's stage-4 arguments (`tool_arguments` in its `gen.rs`: the same
/// generator, seed and vocabulary): an edit list whose `old`/`new` strings are code with
/// quotes, backslashes, newlines, tabs and non-ASCII.
fn edit_list(target: usize) -> String {
    let mut rng = SplitMix(42);
    let mut s = String::with_capacity(target + 512);
    s.push_str(
        "{\"path\":\"src/generated/module.rs\",\"mode\":\"patch\",\"dry_run\":false,\"edits\":[",
    );
    let mut first = true;
    let mut i = 0u64;
    while s.len() < target.saturating_sub(40) || first {
        if !first {
            s.push(',');
        }
        first = false;
        s.push_str("{\"line\":");
        s.push_str(&(10 + i * 7).to_string());
        s.push_str(",\"old\":");
        let mut old = String::new();
        for _ in 0..rng.range(1, 3) {
            old.push_str(CODE_LINES[rng.below(CODE_LINES.len() as u64) as usize]);
            old.push('\n');
        }
        push_json_str(&mut s, &old);
        s.push_str(",\"new\":");
        let mut new = String::new();
        for _ in 0..rng.range(1, 4) {
            new.push_str(CODE_LINES[rng.below(CODE_LINES.len() as u64) as usize]);
            new.push('\n');
        }
        push_json_str(&mut s, &new);
        s.push_str(",\"score\":");
        s.push_str(&format!("{:.3}", (rng.below(1000) as f64) / 1000.0));
        s.push_str(",\"tags\":[\"refactor\",\"auto\"],\"replace_all\":");
        s.push_str(if rng.below(2) == 0 { "true" } else { "false" });
        s.push_str(",\"meta\":null}");
        i += 1;
    }
    s.push_str("],\"summary\":\"");
    while s.len() < target {
        s.push('x');
    }
    s.push_str("\"}");
    s
}

/// The kit's splitmix64.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: u64, hi_incl: u64) -> u64 {
        lo + self.below(hi_incl - lo + 1)
    }
}

const CODE_LINES: &[&str] = &[
    "fn main() {",
    "    let cfg = Config::load(\"settings.toml\")?;",
    "    println!(\"{}\", cfg.name);",
    "}",
    "// TODO: handle the \\r\\n case",
    "if (a < b && c > d) { return \"yes\"; }",
    "const msg = `héllo ${name} 🚀`;",
    "SELECT * FROM users WHERE name = 'O''Brien';",
    "path = \"C:\\\\Users\\\\dev\\\\file.txt\"",
    "# 中文注释：解析结果",
    "\treturn x;",
    "",
];

/// A JSON string literal (with quotes), as the kit writes it (`ensure_ascii` off).
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The kit's fixed-size split: at most `size` bytes, the end moved back to a char
/// boundary (a char wider than `size` alone).
fn kit_fragments(text: &str, size: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let mut end = (i + size).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if end == i {
            end = i + 1;
            while !text.is_char_boundary(end) {
                end += 1;
            }
        }
        out.push(&text[i..end]);
        i = end;
    }
    out
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

/// One `serde_json::Value` parse of the final text, appended from the fragments first
/// (as the side-by-side kit's `[once]` row does).
#[inline(never)]
fn run_once(pieces: &[&str]) -> Duration {
    let start = Instant::now();
    let mut buf = String::new();
    for piece in pieces {
        buf.push_str(piece);
    }
    black_box(serde_json::from_str::<serde_json::Value>(&buf).expect("valid"));
    start.elapsed()
}

/// The kit's stage-4 loop: push, then `value()`, after every fragment (no `finish`).
#[inline(never)]
fn run_views(pieces: &[&str]) -> Duration {
    let start = Instant::now();
    let mut p = PartialJson::new();
    for piece in pieces {
        p.push(piece).expect("valid");
        black_box(p.value());
    }
    start.elapsed()
}

/// The stage-4 table: PartialJson against one serde_json parse of the final text, in
/// time and allocations per fragment (one extra counted run each).
fn stage4() {
    println!("Stage-4 shape (the side-by-side kit's edit list), against one serde_json::Value");
    println!("parse of the final text; allocations per fragment from one counted run:\n");
    println!(
        "| size | PartialJson ms | ns/byte | allocs/fragment | one-shot parse ms | one-shot allocs/fragment | time ratio | allocs ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut first_ns = 0.0;
    for (label, size, runs) in [
        ("1 KB", 1_000, 401),
        ("10 KB", 10_000, 101),
        ("100 KB", 100_000, 21),
        ("1 MB", 1_000_000, 9),
    ] {
        let text = edit_list(size);
        let expected: serde_json::Value = serde_json::from_str(&text).expect("generated JSON");
        let pieces = kit_fragments(&text, 16);
        let mut check = PartialJson::new();
        for piece in &pieces {
            check.push(piece).expect("valid");
        }
        assert_eq!(check.finish().expect("valid"), expected);
        let (_, allocs) = alloc_counter::count(|| run_views(&pieces));
        let (_, once_allocs) = alloc_counter::count(|| run_once(&pieces));
        let t = median((0..runs).map(|_| run_views(&pieces)).collect());
        let once = median((0..runs).map(|_| run_once(&pieces)).collect());
        let n = text.len() as f64;
        let frags = pieces.len() as f64;
        let ns = t.as_secs_f64() * 1e9 / n;
        if size == 1_000 {
            first_ns = ns;
        }
        println!(
            "| {label} ({} B, {} fragments) | {:.3} | {ns:.2} | {:.3} | {:.3} | {:.3} | {:.2}x | {:.2}x |",
            text.len(),
            pieces.len(),
            t.as_secs_f64() * 1e3,
            allocs as f64 / frags,
            once.as_secs_f64() * 1e3,
            once_allocs as f64 / frags,
            t.as_secs_f64() / once.as_secs_f64(),
            allocs as f64 / once_allocs as f64,
        );
        if size == 1_000_000 {
            println!("\nns/byte growth, 1 MB vs 1 KB: {:.2}x\n", ns / first_ns);
        }
    }
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

/// `PARTIAL_JSON_ONLY=views` (or `once`) runs the 1 MB stage-4 loop (or the one-shot
/// parse) once and nothing else: a short run for callgrind, with
/// `--toggle-collect='*run_views*'` (or `*run_once*`) counting that loop alone. `whole`
/// pushes the 1 MB text at once: what the loop costs beyond it is the cost per push.
fn profile_only(which: &str) {
    let text = edit_list(1_000_000);
    let pieces = kit_fragments(&text, 16);
    let whole = [text.as_str()];
    let spent = match which {
        "views" => run_views(&pieces),
        "whole" => run_views(&whole),
        "once" => run_once(&pieces),
        other => panic!("PARTIAL_JSON_ONLY={other}: views, whole or once"),
    };
    println!("{which}: {:.3} ms", spent.as_secs_f64() * 1e3);
}

/// Work per push is O(fragment + depth): siblings 1,000 objects deep, in 64 KiB
/// fragments, against the same siblings at the top, per byte (best of five, timed in
/// turn). Finding each closed sibling's parent again from the root would cost about a
/// hundred times more per byte; this bench, not a timed test, watches for it.
fn depth_growth() {
    fn nested(depth: usize) -> String {
        let mut s = r#"{"level":"#.repeat(depth);
        s.push('[');
        for i in 0..40_000 {
            s.push_str(&format!("[{}],", i % 10));
        }
        s.push_str("null]");
        s.push_str(&"}".repeat(depth));
        s
    }
    let limits = dashscope_glm::json::PartialJsonLimits::new().max_depth(2000);
    let time = |text: &str| {
        let pieces = fragments(text, 64 << 10);
        let start = Instant::now();
        let mut p = PartialJson::with_limits(limits);
        for piece in &pieces {
            p.push(piece).expect("valid");
            black_box(p.value());
        }
        assert!(p.finish().is_ok());
        start.elapsed().as_secs_f64() / text.len() as f64
    };
    let (top, deep) = (nested(1), nested(1000));
    let (mut best_top, mut best_deep) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..5 {
        best_top = best_top.min(time(&top));
        best_deep = best_deep.min(time(&deep));
    }
    println!(
        "ns/byte growth, siblings 1,000 deep vs at the top: {:.2}x\n",
        best_deep / best_top
    );
}

/// What a 256 KiB key costs around 4,000 duplicate keys, or 4,000 strings, read in one
/// push: bytes allocated against the same under a 1-byte key. The parser keeps the key
/// a few times (as read, in the tree, aside once); a copy per duplicate or string would
/// be over 1 GiB.
fn long_key_bytes() {
    let bytes = |text: &str| {
        let before = alloc_counter::allocated_bytes();
        let mut p = PartialJson::new();
        p.push(text).expect("valid");
        black_box(p.finish().expect("valid"));
        alloc_counter::allocated_bytes() - before
    };
    let long = "k".repeat(256 << 10);
    for (name, open, member, close) in [
        ("4,000 duplicate keys", "{", r#""a":1"#, "}"),
        ("4,000 strings", "[", r#""""#, "]"),
    ] {
        let text = |key: &str| format!(r#"{{"{key}":{open}{}{close}}}"#, [member; 4_000].join(","));
        let (short, under_long) = (bytes(&text("k")), bytes(&text(&long)));
        println!(
            "{name}: {:.2} MiB allocated under a 256 KiB key, {:.2} MiB under a 1-byte key",
            under_long as f64 / f64::from(1 << 20),
            short as f64 / f64::from(1 << 20)
        );
    }
    println!();
}

fn main() {
    if let Ok(which) = std::env::var("PARTIAL_JSON_ONLY") {
        profile_only(&which);
        return;
    }
    println!("PartialJson, 16-byte fragments, value() read after each (median of runs)\n");
    stage4();
    depth_growth();
    long_key_bytes();
    println!("Mixed shape (this bench's own), against re-parsing the closed prefix:\n");
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
