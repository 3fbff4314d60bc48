//! The SSE vectors in `tests/data/sse_vectors.txt`, each run whole, one byte at a time
//! and at every two-way split.

use crate::harness;

use dashscope_glm::sse::Error;
use harness::{EofOut, Out, Run};

#[derive(Debug, Default)]
struct Vector {
    name: String,
    input: Vec<u8>,
    lossy: bool,
    items: Vec<Out>,
    eof: Option<EofOut>,
    retry: Option<Option<u64>>,
    last_id: Option<String>,
}

/// Decodes the escapes of the vector format into bytes.
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'0' => out.push(0),
                b'\\' => out.push(b'\\'),
                b'x' => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                other => panic!("unknown escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn text(s: &str) -> String {
    String::from_utf8(unescape(s)).expect("expected text is UTF-8")
}

/// `type | data | id`: one space around each `|` belongs to the separator.
fn triple(s: &str) -> (String, String, String) {
    let parts: Vec<&str> = s.split('|').collect();
    assert_eq!(parts.len(), 3, "need `type | data | id`: {s:?}");
    let ty = parts[0].strip_suffix(' ').unwrap_or(parts[0]);
    let data = parts[1].strip_prefix(' ').unwrap_or(parts[1]);
    let data = data.strip_suffix(' ').unwrap_or(data);
    let id = parts[2].strip_prefix(' ').unwrap_or(parts[2]);
    (text(ty), text(data), text(id))
}

fn load() -> Vec<Vector> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sse_vectors.txt");
    let file = std::fs::read_to_string(path).unwrap();
    let mut vectors: Vec<Vector> = Vec::new();
    for line in file.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix("=== ") {
            vectors.push(Vector {
                name: name.into(),
                ..Vector::default()
            });
            continue;
        }
        let v = vectors.last_mut().expect("a vector starts with ===");
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "input" => v.input = unescape(rest),
            "lossy" => v.lossy = true,
            "event" => {
                let (ty, data, id) = triple(rest);
                v.items.push(harness::event(&ty, &data, &id, 0));
            }
            "comment" => v.items.push(Out::Comment(text(rest))),
            "error" => {
                let offset = rest.strip_prefix("utf8 ").unwrap().parse().unwrap();
                v.items.push(Out::Error(Error::InvalidUtf8 { offset }));
            }
            "eof" => {
                let dropped = rest.contains("dropped");
                let unterminated = rest.contains("unterminated");
                v.eof = Some(EofOut {
                    clean: rest == "clean",
                    dropped,
                    unterminated,
                    pending: None,
                });
            }
            "pending" => v.eof.as_mut().expect("eof before pending").pending = Some(triple(rest)),
            "retry" => v.retry = Some(rest.parse().ok()),
            "last_id" => v.last_id = Some(text(rest)),
            other => panic!("unknown key {other:?} in vector {}", v.name),
        }
    }
    vectors
}

/// Event offsets are checked by the named tests, not by the vectors.
fn without_offsets(items: &[Out]) -> Vec<Out> {
    items
        .iter()
        .map(|item| match item {
            Out::Event { ty, data, id, .. } => harness::event(ty, data, id, 0),
            other => other.clone(),
        })
        .collect()
}

fn check(v: &Vector, run: &Run) {
    assert_eq!(
        without_offsets(&run.items),
        v.items,
        "items of {:?}",
        v.name
    );
    assert_eq!(Some(&run.eof), v.eof.as_ref(), "eof of {:?}", v.name);
    if let Some(retry) = v.retry {
        assert_eq!(run.retry, retry, "retry of {:?}", v.name);
    }
    if let Some(id) = &v.last_id {
        assert_eq!(&run.last_id, id, "last_id of {:?}", v.name);
    }
    assert_eq!(run.offset, v.input.len() as u64, "offset of {:?}", v.name);
}

#[test]
fn vectors_whole_bytewise_and_every_split() {
    let vectors = load();
    assert!(vectors.len() >= 40, "only {} vectors loaded", vectors.len());
    for v in &vectors {
        assert!(v.eof.is_some(), "vector {:?} has no eof line", v.name);
        let run = if v.lossy {
            harness::run_all_splits(harness::lossy, &v.input)
        } else {
            harness::run_all_splits(harness::strict, &v.input)
        };
        check(v, &run);
    }
}

#[test]
fn glm_native_thinking_fixture_decodes() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/glm_native_thinking.sse"
    );
    let input = std::fs::read(path).unwrap();
    let run = harness::run_all_splits(harness::strict, &input);
    let events: Vec<_> = run
        .items
        .iter()
        .filter_map(|i| match i {
            Out::Event { ty, data, id, .. } => Some((ty.as_str(), data.as_str(), id.as_str())),
            _ => None,
        })
        .collect();
    let comments = run
        .items
        .iter()
        .filter(|i| matches!(i, Out::Comment(_)))
        .count();
    assert_eq!(events.len(), 8);
    assert_eq!(comments, 8);
    assert!(events.iter().all(|(ty, _, _)| *ty == "result"));
    assert_eq!(events[0].2, "1");
    assert_eq!(events[7].2, "8");
    assert!(events[7].1.contains(r#""finish_reason":"stop""#));
    assert!(run.eof.clean);
    assert_eq!(run.last_id, "8");
}
