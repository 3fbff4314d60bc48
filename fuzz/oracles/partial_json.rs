//! `PartialJson` on arbitrary text split arbitrarily: never panics, every snapshot
//! extends the previous one, the string deltas of each push add up to the strings the
//! snapshot shows, and `finish()` agrees with `serde_json::from_str` on the whole text
//! (Ok/Err and value).
//!
//! Input: the first byte gives how many following bytes are split sizes (at most 16);
//! the rest, made valid UTF-8, is the text, cut at char boundaries by those sizes
//! (cycled).
//!
//! No libFuzzer here: `fuzz_targets/partial_json.rs` calls [`check`], and so does
//! `tests/fuzz_seeds.rs` for every committed seed on stable.

use std::collections::HashMap;

use dashscope_glm::json::PartialJson;
use serde_json::Value;

#[path = "../../tests/common/json_extends.rs"]
mod json_extends;
use json_extends::extends;

/// Runs one input through the oracle; panics if it does not hold.
pub(crate) fn check(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 17).min(rest.len());
    let (sizes, body) = rest.split_at(n);
    let text = String::from_utf8_lossy(body);
    let text = text.as_ref();

    let mut parser = PartialJson::new();
    let mut prev: Option<Value> = None;
    let mut streamed: HashMap<String, String> = HashMap::new();
    let mut pos = 0;
    let mut k = 0;
    let mut pushed = Ok(());
    while pos < text.len() {
        let size = sizes
            .get(k % sizes.len().max(1))
            .map_or(7, |&s| usize::from(s) + 1);
        k += 1;
        let mut end = (pos + size).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        pushed = parser.push(&text[pos..end]);
        let snap = parser.value().cloned();
        if let Some(old) = &prev {
            let new = snap.as_ref().expect("a shown value never disappears");
            assert!(extends(old, new), "not monotone: {old} -> {new}");
        }
        for delta in parser.string_deltas() {
            let pointer = delta.pointer();
            assert_eq!(
                delta.is_new(),
                !streamed.contains_key(&pointer),
                "{pointer}"
            );
            let acc = streamed.entry(pointer).or_default();
            acc.push_str(delta.text());
            let at = snap.as_ref().and_then(|v| v.pointer(&delta.pointer()));
            let s = at
                .and_then(Value::as_str)
                .expect("a delta names a shown string");
            assert_eq!(
                s,
                acc,
                "the deltas of {} add up to its string",
                delta.pointer()
            );
        }
        prev = snap;
        if let Err(err) = pushed {
            assert!(err.offset() <= end);
            break;
        }
        pos = end;
    }
    let complete = parser.is_complete();
    let got = parser.finish();
    assert_eq!(complete, got.is_ok());
    if let Err(err) = pushed {
        assert_eq!(got, Err(err), "errors are fused");
    }
    match (serde_json::from_str::<Value>(text), got) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "value of {text:?}"),
        (Err(_), Err(_)) => {}
        (want, got) => panic!("{text:?}: serde_json {want:?}, PartialJson {got:?}"),
    }
}
