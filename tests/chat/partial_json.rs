//! `PartialJson` against oracles: `serde_json::from_str` on the whole text, a from-scratch
//! reference for every prefix's snapshot, and an `extends` checker for monotonicity.
#![cfg(feature = "chat")]

#[path = "partial_json/reference.rs"]
mod reference;

use std::collections::HashMap;

use dashscope_glm::json::{JsonError, JsonErrorKind, PartialJson, PartialJsonLimits, PathSegment};
use proptest::prelude::*;
use reference::{Doc, Rng, Style, doc, extends, snapshot_of_prefix, split, style, write};
use serde_json::{Value, json};

/// Feeds `pieces` and checks every invariant after each push; returns the verdict.
fn feed_checked(pieces: &[&str], check_reference: bool) -> Result<Value, JsonError> {
    let mut parser = PartialJson::new();
    let mut prefix = String::new();
    let mut prev: Option<Value> = None;
    let mut streamed: HashMap<String, String> = HashMap::new();
    for piece in pieces {
        let pushed = parser.push(piece);
        let snap = parser.value().cloned();
        assert!(
            extends(prev.as_ref(), snap.as_ref()),
            "not monotone after {prefix:?} + {piece:?}: {prev:?} -> {snap:?}"
        );
        for delta in parser.string_deltas() {
            let ptr = delta.pointer();
            let seen = streamed.contains_key(&ptr);
            assert_eq!(delta.is_new(), !seen, "is_new for {ptr} after {piece:?}");
            let acc = streamed.entry(ptr.clone()).or_default();
            acc.push_str(delta.text());
            let at = snap.as_ref().and_then(|v| v.pointer(&ptr));
            assert_eq!(at, Some(&Value::String(acc.clone())), "delta at {ptr}");
            assert_eq!(delta.path().len(), ptr.matches('/').count());
        }
        if let Err(err) = pushed {
            assert!(err.offset() <= prefix.len() + piece.len());
            // Fused.
            assert_eq!(parser.push("1"), Err(err));
            assert_eq!(parser.clone().finish(), Err(err));
            return Err(err);
        }
        prefix.push_str(piece);
        if check_reference {
            assert_eq!(
                snap,
                snapshot_of_prefix(&prefix),
                "snapshot of {prefix:?} differs from the reference"
            );
        }
        assert_eq!(
            parser.is_complete(),
            parser.clone().finish().is_ok(),
            "is_complete for {prefix:?}"
        );
        prev = snap;
    }
    // Every string of the final snapshot was streamed exactly by its deltas.
    if let Some(v) = parser.value() {
        check_strings_streamed(v, &mut String::new(), &streamed);
    }
    parser.finish()
}

fn check_strings_streamed(v: &Value, ptr: &mut String, streamed: &HashMap<String, String>) {
    let len = ptr.len();
    match v {
        Value::String(s) => assert_eq!(streamed.get(ptr.as_str()), Some(s), "deltas of {ptr}"),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                ptr.push_str(&format!("/{i}"));
                check_strings_streamed(x, ptr, streamed);
                ptr.truncate(len);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                ptr.push('/');
                ptr.push_str(&k.replace('~', "~0").replace('/', "~1"));
                check_strings_streamed(x, ptr, streamed);
                ptr.truncate(len);
            }
        }
        _ => {}
    }
}

fn assert_agrees(text: &str, got: &Result<Value, JsonError>) {
    let want = serde_json::from_str::<Value>(text);
    match (&want, got) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "value of {text:?}"),
        (Err(_), Err(_)) => {}
        _ => panic!("{text:?}: serde_json says {want:?}, PartialJson says {got:?}"),
    }
}

fn feed(pieces: &[&str]) -> Result<Value, JsonError> {
    let mut parser = PartialJson::new();
    for p in pieces {
        parser.push(p)?;
    }
    parser.finish()
}

fn mutate(text: &str, op: u8, at: usize, c: char) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = if chars.is_empty() {
        0
    } else {
        at % (chars.len() + 1)
    };
    let mut out: Vec<char> = chars.clone();
    match op % 3 {
        0 if at < chars.len() => {
            out.remove(at);
        }
        1 if at < chars.len() => out[at] = c,
        _ => out.insert(at, c),
    }
    out.into_iter().collect()
}

fn interesting_char() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        '"', '\\', '{', '}', '[', ']', ',', ':', '0', '1', '-', '+', '.', 'e', 'E', ' ', '\n', 'u',
        'd', 'D', '8', 'c', '\u{0}', '\u{1f}', 't', 'n', 'f', 'x', 'é', '😀', '/', '\'',
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    /// Valid documents in every style, split at random char boundaries: the verdict
    /// equals serde_json's, every snapshot equals the reference and extends the last.
    #[test]
    fn valid_documents_agree(
        d in doc(),
        st in style(),
        escape_rate in 0u64..=4,
        seed in any::<u64>(),
        sizes in prop::collection::vec(1usize..24, 1..8),
    ) {
        let text = write(&d, st, escape_rate, &mut Rng(seed));
        let pieces = split(&text, &sizes);
        let got = feed_checked(&pieces, true);
        assert_agrees(&text, &got);
        prop_assert!(got.is_ok(), "{text:?}: {got:?}");
        // Whole at once and char by char give the same verdict.
        prop_assert_eq!(&feed(&[text.as_str()]), &got);
        let chars = split(&text, &[1]);
        prop_assert_eq!(&feed(&chars), &got);
    }

    /// Mutations of valid documents (a character deleted, replaced or inserted): an
    /// error from push or finish exactly when serde_json rejects the whole text.
    #[test]
    fn mutated_documents_agree(
        d in doc(),
        st in style(),
        escape_rate in 0u64..=4,
        seed in any::<u64>(),
        ops in prop::collection::vec((any::<u8>(), any::<usize>(), interesting_char()), 1..3),
        sizes in prop::collection::vec(1usize..16, 1..6),
    ) {
        let mut text = write(&d, st, escape_rate, &mut Rng(seed));
        for (op, at, c) in ops {
            text = mutate(&text, op, at, c);
        }
        let pieces = split(&text, &sizes);
        let got = feed_checked(&pieces, false);
        assert_agrees(&text, &got);
        prop_assert_eq!(&feed(&[text.as_str()]), &got);
    }
}

#[test]
fn hand_cases_agree_with_serde_json() {
    let cases = [
        "",
        " ",
        "1",
        "-",
        "-0",
        "-0.0",
        "01",
        "1.",
        ".5",
        "+1",
        "1e",
        "1e+",
        "1E+2",
        "1e400",
        "-1e400",
        "0e400",
        "1e-400",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "123456789012345678901234567890e-20",
        "[1,]",
        "[,1]",
        "{\"a\":1,}",
        "{,}",
        "{\"a\" 1}",
        "{\"a\":}",
        "{1:2}",
        "{'a':1}",
        "NaN",
        "Infinity",
        "[1 2]",
        "tru",
        "truex",
        "[true false]",
        "nul",
        "nulll",
        "[1true]",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"\\ud800x\"",
        "\"\\ud800\\n\"",
        "\"\\ud83d\\ude00\"",
        "\"\\uD83D\\uDE00\"",
        "\"\\u00e9\"",
        "\"\\U00e9\"",
        "\"\\x\"",
        "\"\\u12g4\"",
        "\"a\u{1}\"",
        "\"a\u{1f}\"",
        "\"\u{7f}\"",
        "\"\\/\"",
        " \u{c}1",
        "1 \u{b}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":1}{\"b\":2}",
        "{\"a\":\"x\"}{\"b\":1}",
        "[]]",
        "[}",
        "{]",
        "/* c */ 1",
        "1 // c",
        "[\n\t\r 1 \n]",
        "\u{feff}1",
        "\"\\",
        "\"\\u",
        "\"\\ud83d\\",
        "\"\\ud83d\\u",
        "\"\\ud83d\\ude0",
        "[\"a\"\"b\"]",
        "{\"a\":{\"b\":[1,{\"c\":null}]},\"a\":[1]}",
        "{\"a\":{\"b\":1,\"b\":2},\"a\":{\"c\":3},\"a\":{\"b\":{\"b\":4,\"b\":5}}}",
        "[{\"k\":\"x\",\"k\":\"y\"},{\"k\":[\"z\"],\"k\":\"w\"}]",
    ];
    for text in cases {
        for sizes in [&[1usize][..], &[2, 3], &[64]] {
            let pieces = split(text, sizes);
            let got = feed_checked(&pieces, false);
            assert_agrees(text, &got);
        }
    }
}

#[test]
fn depth_limit_agrees_with_serde_json_by_default() {
    for n in [1usize, 2, 126, 127, 128, 129, 300] {
        for (open, close, inner) in [("[", "]", ""), ("{\"a\":", "}", "1")] {
            let text = format!("{}{inner}{}", open.repeat(n), close.repeat(n));
            let got = feed(&[&text]);
            assert_agrees(&text, &got);
            assert_eq!(got.is_ok(), n <= 127, "depth {n}");
            if n > 127 {
                let err = got.unwrap_err();
                assert_eq!(err.kind(), JsonErrorKind::DepthLimit { limit: 128 });
                assert_eq!(err.offset(), 127 * open.len(), "offset of the 128th opener");
            }
        }
    }
}

#[test]
fn custom_depth_limit() {
    let limits = PartialJsonLimits::new().max_depth(4);
    let mut p = PartialJson::with_limits(limits);
    p.push(r#"{"a":[{"#).unwrap();
    let err = p.push(r#""b":[1]}]}"#).unwrap_err();
    assert_eq!(err.kind(), JsonErrorKind::DepthLimit { limit: 4 });
    assert_eq!(err.offset(), 11);
    assert_eq!(p.value(), Some(&json!({"a": [{}]})));
    assert_eq!(p.finish(), Err(err));
    // Depth goes back down when containers close.
    let mut p = PartialJson::with_limits(limits);
    p.push("[[[]],[[]],[[1]]]").unwrap();
    assert_eq!(p.finish().unwrap(), json!([[[]], [[]], [[1]]]));
}

#[test]
fn size_limit_counts_all_pushes() {
    let mut p = PartialJson::with_limits(PartialJsonLimits::new().max_bytes(10));
    p.push(r#"["abcd","#).unwrap();
    assert_eq!(p.push("\"e").map_err(|e| e.kind()), Ok(()));
    let err = p.push("\"]").unwrap_err();
    assert_eq!(err.kind(), JsonErrorKind::SizeLimit { limit: 10 });
    assert_eq!(err.offset(), 10);
    assert_eq!(p.value(), Some(&json!(["abcd", "e"])));
    assert_eq!(p.push(""), Err(err));
    // Exactly at the limit is fine.
    let mut p = PartialJson::with_limits(PartialJsonLimits::new().max_bytes(5));
    p.push("[1,2]").unwrap();
    assert_eq!(p.finish().unwrap(), json!([1, 2]));
}

#[test]
fn error_kinds_and_offsets() {
    use dashscope_glm::json::Expected;
    let cases: &[(&str, JsonErrorKind, usize)] = &[
        (
            "[1,]",
            JsonErrorKind::Syntax {
                expected: Expected::Value,
                found: ']',
            },
            3,
        ),
        (
            "{\"a\" 1}",
            JsonErrorKind::Syntax {
                expected: Expected::Colon,
                found: '1',
            },
            5,
        ),
        (
            "[tru ]",
            JsonErrorKind::Syntax {
                expected: Expected::Literal("true"),
                found: ' ',
            },
            4,
        ),
        ("{} {}", JsonErrorKind::TrailingData { found: '{' }, 3),
        ("[01]", JsonErrorKind::InvalidNumber, 2),
        ("[1.]", JsonErrorKind::InvalidNumber, 3),
        ("[-]", JsonErrorKind::InvalidNumber, 2),
        ("[1, 1e400]", JsonErrorKind::NumberOutOfRange, 4),
        ("\"\\q\"", JsonErrorKind::InvalidEscape { found: 'q' }, 2),
        (
            "\"\\u00g0\"",
            JsonErrorKind::InvalidEscape { found: 'g' },
            5,
        ),
        ("\"\\udc00\"", JsonErrorKind::LoneSurrogate, 6),
        ("\"\\ud800\"", JsonErrorKind::LoneSurrogate, 7),
        ("\"\\ud800\\u0041\"", JsonErrorKind::LoneSurrogate, 12),
        (
            "\"a\tb\"",
            JsonErrorKind::ControlCharacter { found: '\t' },
            2,
        ),
        ("[1", JsonErrorKind::Incomplete, 2),
        ("  ", JsonErrorKind::Incomplete, 2),
        ("\"é\\", JsonErrorKind::Incomplete, 4),
    ];
    for &(text, kind, offset) in cases {
        for sizes in [&[1usize][..], &[100]] {
            let err = feed(&split(text, sizes)).unwrap_err();
            assert_eq!((err.kind(), err.offset()), (kind, offset), "{text:?}");
            assert!(!err.to_string().is_empty());
        }
    }
    let e: Box<dyn std::error::Error> = Box::new(feed(&["[1,]"]).unwrap_err());
    assert_eq!(e.to_string(), "expected a value, found ']' at byte 3");
}

/// A split escape never makes the string vanish or show half an escape.
#[test]
fn every_prefix_shows_a_prefix_of_the_final_string() {
    let text = r#"{"a":"x\u00e9\ud83d\ude00y"}"#;
    let full = "x\u{e9}\u{1f600}y";
    for cut in 0..=text.len() {
        let mut p = PartialJson::new();
        p.push(&text[..cut]).unwrap();
        let shown = p.value().and_then(|v| v.get("a")).and_then(Value::as_str);
        if cut >= r#"{"a":""#.len() {
            let s = shown.unwrap_or_else(|| panic!("string vanished at {cut}"));
            assert!(full.starts_with(s), "{s:?} at {cut}");
        } else {
            assert_eq!(shown, None);
        }
        p.push(&text[cut..]).unwrap();
        assert_eq!(p.finish().unwrap(), json!({"a": full}));
    }
}

/// No prefix yields an unpaired surrogate; the pair decodes to one scalar.
#[test]
fn surrogate_pairs_split_across_chunks() {
    let text = r#"["\ud83d\ude00","\uD834\uDD1E"]"#;
    for cut in 0..=text.len() {
        let mut p = PartialJson::new();
        p.push(&text[..cut]).unwrap();
        let shown = serde_json::to_string(&p.value()).unwrap();
        for s in p.value().and_then(Value::as_array).into_iter().flatten() {
            let s = s.as_str().unwrap();
            assert!(s.is_empty() || s == "😀" || s == "𝄞", "{s:?} at {cut}");
        }
        assert!(!shown.contains("\\u"), "{shown}");
        p.push(&text[cut..]).unwrap();
        let v = p.finish().unwrap();
        assert_eq!(v, json!(["😀", "𝄞"]));
        assert_eq!(v[0].as_str().unwrap().chars().count(), 1);
    }
    let mut p = PartialJson::new();
    p.push(r#"["\ud83d"#).unwrap();
    assert_eq!(p.value(), Some(&json!([""])));
    assert_eq!(
        p.push(r#""]"#).unwrap_err().kind(),
        JsonErrorKind::LoneSurrogate
    );
}

/// Numbers and literals are not exposed before their token ends.
#[test]
fn numbers_and_literals_wait_for_their_token_to_end() {
    let mut p = PartialJson::new();
    let steps: &[(&str, Value)] = &[
        (r#"{"a":1"#, json!({})),
        ("2", json!({})),
        (".", json!({})),
        ("5", json!({})),
        ("e", json!({})),
        ("-", json!({})),
        ("1", json!({})),
        (",", json!({"a": 1.25})),
        (r#""b":[t"#, json!({"a": 1.25, "b": []})),
        ("ru", json!({"a": 1.25, "b": []})),
        ("e", json!({"a": 1.25, "b": [true]})),
        (",nul", json!({"a": 1.25, "b": [true]})),
        ("l,-", json!({"a": 1.25, "b": [true, null]})),
        ("0 ", json!({"a": 1.25, "b": [true, null, -0.0]})),
        ("]}", json!({"a": 1.25, "b": [true, null, -0.0]})),
    ];
    for (piece, want) in steps {
        p.push(piece).unwrap();
        assert_eq!(p.value(), Some(want), "after {piece:?}");
    }
    // A bare root number has no delimiter: shown only by finish.
    let mut p = PartialJson::new();
    p.push("12").unwrap();
    assert_eq!(p.value(), None);
    assert!(p.is_complete());
    p.push("3").unwrap();
    assert_eq!(p.finish().unwrap(), json!(123));
    let mut p = PartialJson::new();
    p.push("1e400").unwrap();
    assert!(!p.is_complete());
    assert_eq!(
        p.finish().unwrap_err().kind(),
        JsonErrorKind::NumberOutOfRange
    );
}

/// Trailing data is an error, also at finalization.
#[test]
fn trailing_data_is_an_error() {
    let mut p = PartialJson::new();
    p.push(r#"{"a":"x"}"#).unwrap();
    assert!(p.is_complete());
    let err = p.push(r#"{"b":1}"#).unwrap_err();
    assert_eq!(err.kind(), JsonErrorKind::TrailingData { found: '{' });
    assert_eq!(err.offset(), 9);
    assert_eq!(p.value(), Some(&json!({"a": "x"})));
    assert!(!p.is_complete());
    assert_eq!(p.finish(), Err(err));
    let mut p = PartialJson::new();
    p.push("{\"a\":\"x\"} \n\t\r").unwrap();
    assert_eq!(p.finish().unwrap(), json!({"a": "x"}));
}

/// At every cut point of varied documents the snapshot is the reference
/// snapshot of that prefix and the two halves finish like the full parse.
#[test]
fn every_cut_point_is_consistent() {
    let texts = [
        r#"{"q":"caf\u00e9 \"x\" \\ 😀 \ud83d\ude00","n":[-1.5e3,0,12,true,false,null],"o":{"k":[{},[]]}}"#,
        "[\n  {\"a\": \"\\t\\b\\f\\r\\n\\/\"},\n  -0.0,\n  1E+2\n]",
        r#"{"a":"1","a":"2","b":{"c":"3","c":[4]},"c":"中文"}"#,
    ];
    for text in texts {
        let full: Value = serde_json::from_str(text).unwrap();
        for (cut, _) in text.char_indices().chain([(text.len(), ' ')]) {
            let mut p = PartialJson::new();
            p.push(&text[..cut]).unwrap();
            assert_eq!(
                p.value().cloned(),
                snapshot_of_prefix(&text[..cut]),
                "{cut}"
            );
            p.push(&text[cut..]).unwrap();
            assert_eq!(p.finish().unwrap(), full);
        }
    }
}

/// The snapshot is rooted at the document root, never the innermost
/// open container.
#[test]
fn the_snapshot_is_rooted_at_the_document_root() {
    let mut p = PartialJson::new();
    p.push(r#"{"a": [1, 2"#).unwrap();
    assert_eq!(p.value(), Some(&json!({"a": [1]})));
    p.push(r#", {"b": "#).unwrap();
    assert_eq!(p.value(), Some(&json!({"a": [1, 2, {}]})));
    p.push(r#"{"c": ["deep"#).unwrap();
    assert_eq!(
        p.value(),
        Some(&json!({"a": [1, 2, {"b": {"c": ["deep"]}}]}))
    );
}

#[test]
fn appendix_1c_table() {
    let rows: &[(&str, Option<Value>)] = &[
        (r#"{"a": "hel"#, Some(json!({"a": "hel"}))),
        (r#"{"a": "he\"#, Some(json!({"a": "he"}))),
        (r#"{"a": "\u00"#, Some(json!({"a": ""}))),
        (r#"{"a": "x\ud83d"#, Some(json!({"a": "x"}))),
        (r#"{"a": 12"#, Some(json!({}))),
        (r#"{"a": 12."#, Some(json!({}))),
        (r#"{"a": 1e"#, Some(json!({}))),
        (r#"{"a": -"#, Some(json!({}))),
        (r#"{"a": tru"#, Some(json!({}))),
        (r#"{"a": nul"#, Some(json!({}))),
        (r#"{"a": [1, 2"#, Some(json!({"a": [1]}))),
        (r#"{"a": {"b": "#, Some(json!({"a": {}}))),
        ("", None),
        ("   ", None),
    ];
    for (text, want) in rows {
        let mut p = PartialJson::new();
        p.push(text).unwrap();
        assert_eq!(p.value(), want.as_ref(), "{text:?}");
        assert!(!p.is_complete());
        assert_eq!(p.finish().unwrap_err().kind(), JsonErrorKind::Incomplete);
    }
}

#[test]
fn string_deltas_describe_each_push() {
    let mut p = PartialJson::new();
    p.push(r#"{"cmd":"ls","args":["-l","#).unwrap();
    let got: Vec<(String, String, bool, bool)> = p
        .string_deltas()
        .map(|d| (d.pointer(), d.text().to_owned(), d.is_new(), d.is_closed()))
        .collect();
    let want = [("/cmd", "ls", true, true), ("/args/0", "-l", true, true)]
        .map(|(a, b, c, d)| (a.to_owned(), b.to_owned(), c, d));
    assert_eq!(got, want);
    // Half an escape: nothing visible, no delta.
    p.push(r#""\u00"#).unwrap();
    let d: Vec<_> = p
        .string_deltas()
        .map(|d| (d.pointer(), d.text().to_owned()))
        .collect();
    assert_eq!(d, [("/args/1".to_owned(), String::new())]);
    p.push("e").unwrap();
    assert_eq!(p.string_deltas().len(), 0);
    p.push(r#"9"]}"#).unwrap();
    let d = p.string_deltas().next().unwrap();
    assert_eq!((d.text(), d.is_new(), d.is_closed()), ("é", false, true));
    assert!(
        d.path()
            .eq([PathSegment::Key("args"), PathSegment::Index(1)])
    );
    // Keys are never reported; duplicate members are not either.
    let mut p = PartialJson::new();
    p.push(r#"{"long key":"v","long key":"w"}"#).unwrap();
    let texts: Vec<_> = p.string_deltas().map(|d| d.text().to_owned()).collect();
    assert_eq!(texts, ["v"]);
    // A root string has the empty path.
    let mut p = PartialJson::new();
    p.push(r#""a~/b"#).unwrap();
    let d = p.string_deltas().next().unwrap();
    assert_eq!((d.pointer(), d.path().len()), (String::new(), 0));
    // A failed push keeps the deltas of what it read before the error.
    let mut p = PartialJson::new();
    assert!(p.push(r#"["ok",x"#).is_err());
    assert_eq!(p.string_deltas().next().unwrap().text(), "ok");
}

#[test]
fn duplicate_keys_snapshot_first_finish_last() {
    let text = r#"{"a":{"x":"1"},"b":[1],"a":{"y":[2,"s"]},"b":"t","a":3}"#;
    for sizes in [&[1usize][..], &[5], &[1000]] {
        let mut p = PartialJson::new();
        let mut prev = None;
        for piece in split(text, sizes) {
            p.push(piece).unwrap();
            assert!(extends(prev.as_ref(), p.value()));
            prev = p.value().cloned();
        }
        assert_eq!(p.value(), Some(&json!({"a": {"x": "1"}, "b": [1]})));
        assert_eq!(p.finish().unwrap(), json!({"a": 3, "b": "t"}));
    }
}

#[test]
fn partial_json_is_send_sync_and_clone() {
    fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug + Default>() {}
    assert_traits::<PartialJson>();
    fn assert_err<T: std::error::Error + Send + Sync + Copy + 'static>() {}
    assert_err::<JsonError>();
}

#[test]
fn doc_unused_variants_build() {
    // Keeps the Doc constructors in use for every strategy shape.
    let d = Doc::Arr(vec![Doc::Null, Doc::Bool(true), Doc::Num("1".into())]);
    let text = write(&d, Style::Spaced, 0, &mut Rng(7));
    assert_eq!(feed(&[&text]).unwrap(), json!([null, true, 1]));
}

/// Long strings read across many pushes, at nested paths with escaped keys, each
/// starting in a push that also reported other strings (so the kept path of the string
/// being read is not at the front of the previous push's paths): every push's deltas
/// name the right path and text, at every split size.
#[test]
fn long_strings_keep_their_path_across_pushes() {
    let long = "line with \\\"quotes\\\" and \\\\ and caf\\u00e9 \\ud83d\\ude00\\n".repeat(12);
    let text = format!(
        r#"{{"x~/y":[{{"k":"a","m":"b"}},{{"deep":{{"s":"{long}","n":"z"}}}}],"t":["u","{long}"],"v":"{long}"}}"#
    );
    let expected: Value = serde_json::from_str(&text).unwrap();
    for size in [1, 2, 3, 5, 7, 16, 31, 64] {
        let pieces = split(&text, &[size]);
        assert_eq!(
            feed_checked(&pieces, false).unwrap(),
            expected,
            "size {size}"
        );
    }
}

/// Deep siblings in big fragments: finding the open value again after each close would
/// cost the depth per sibling, so the push switches to editing its frames (the look-up
/// budget of a push is its length plus twice the depth). Snapshots, deltas and the
/// verdict stay the same as with small fragments.
#[test]
fn deep_siblings_in_big_fragments() {
    let depth = 61;
    let mut text = String::new();
    for i in 0..depth {
        text.push_str(if i % 2 == 0 { "[" } else { "{\"k\":" });
    }
    text.push_str("[0]");
    for i in 0..300 {
        text.push_str(&format!(",[{i},\"s{i}\",{{\"a\":[true,null]}}]"));
    }
    for i in (0..depth).rev() {
        text.push_str(if i % 2 == 0 { "]" } else { "}" });
    }
    let expected: Value = serde_json::from_str(&text).unwrap();
    for size in [text.len(), 4096, 700, 33, 5] {
        let pieces = split(&text, &[size]);
        assert_eq!(
            feed_checked(&pieces, true).unwrap(),
            expected,
            "size {size}"
        );
    }
}

/// Duplicate keys and closed strings under long keys, at several depths, with an
/// object's own duplicates around those of objects inside it (and a later duplicate
/// replacing a member that had duplicates inside): the verdict is `serde_json`'s and the
/// deltas name the long keys, at every split size.
#[test]
fn duplicates_and_strings_under_long_keys_agree_with_serde_json() {
    let long = "k~/".repeat(400);
    let text = format!(
        r#"{{"{long}":{{"a":1,"b":{{"c":1,"c":[2]}},"a":{{"d":3}},"{long}":[{{"e":"","e":"x","f":["","y"]}},{{"{long}":{{"g":1,"g":2}},"{long}":0}}],"b":{{"c":"last"}},"a":[4],"{long}":{{"h":""}}}},"z":["",""],"z":{{"i":"j"}}}}"#
    );
    let expected: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        expected,
        json!({long.clone(): {"a": [4], "b": {"c": "last"}, long.clone(): {"h": ""}}, "z": {"i": "j"}})
    );
    for size in [text.len(), 1_000, 97, 7] {
        let pieces = split(&text, &[size]);
        assert_eq!(
            feed_checked(&pieces, true).unwrap(),
            expected,
            "size {size}"
        );
    }
}
