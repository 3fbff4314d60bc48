//! `PartialJson` keeps each key once: what it allocates grows with the text, not with
//! the text times the keys around each duplicate key or closed string.
#![cfg(feature = "chat")]

use crate::alloc_counter;

use dashscope_glm::json::PartialJson;
use serde_json::Value;

/// `{"<key>":{"a":1,"a":1,…}}`: `n` duplicate keys, each kept aside for `finish`.
fn duplicates(key: &str, n: usize) -> String {
    format!(r#"{{"{key}":{{{}}}}}"#, vec![r#""a":1"#; n].join(","))
}

/// `{"<key>":["","",…]}`: `n` strings, each closing with a delta that names the key.
fn strings(key: &str, n: usize) -> String {
    format!(r#"{{"{key}":[{}]}}"#, vec![r#""""#; n].join(","))
}

/// The bytes allocated to read `text` in `size`-byte pushes and finish; the verdict is
/// checked against `serde_json`.
fn bytes(text: &str, size: usize) -> u64 {
    let before = alloc_counter::allocated_bytes();
    let mut parser = PartialJson::new();
    for piece in text.as_bytes().chunks(size) {
        parser.push(std::str::from_utf8(piece).unwrap()).unwrap();
    }
    let value = parser.finish().unwrap();
    let spent = alloc_counter::allocated_bytes() - before;
    assert_eq!(value, serde_json::from_str::<Value>(text).unwrap());
    spent
}

/// Doubling the duplicates (or strings) at most about doubles the bytes, and a 256 KiB
/// key around them costs a few copies of it (read, in the tree, aside once), not one
/// per duplicate or string: in one push and in 3-byte pushes. Before, 4,000 of either
/// under that key allocated over 1 GiB.
#[test]
fn duplicates_and_strings_under_a_long_key_allocate_linearly() {
    let long = "k".repeat(256 * 1024);
    for (name, shape) in [
        ("duplicates", duplicates as fn(&str, usize) -> String),
        ("strings", strings),
    ] {
        for (pushes, size) in [("one push", usize::MAX), ("3-byte pushes", 3)] {
            let short = bytes(&shape("k", 4_000), size);
            let doubled = bytes(&shape("k", 8_000), size);
            let under_long = bytes(&shape(&long, 4_000), size);
            eprintln!("{name}, {pushes}: {short} B, doubled {doubled} B, long key {under_long} B");
            assert!(
                doubled <= short * 5 / 2,
                "{name}, {pushes}: {short} B, doubled {doubled} B"
            );
            assert!(
                under_long <= short + 8 * long.len() as u64,
                "{name}, {pushes}: {short} B, under a 256 KiB key {under_long} B"
            );
        }
    }
}
