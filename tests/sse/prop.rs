//! Property tests: any input, split any way, decodes the same as one feed and the same as
//! a plain reference decoder written here from the spec (split the whole input into
//! lines first, then apply the field rules).

use crate::harness;

use dashscope_glm::sse::Error;
use harness::{EofOut, Out, Run};
use proptest::prelude::*;

/// The reference: obviously correct, not fast.
fn reference(input: &[u8], lossy: bool) -> Run {
    // BOM only at the very start.
    let base = if input.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let body = &input[base..];
    // Split into (offset, line) for every terminated line, plus the unterminated tail.
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\n' => {
                lines.push((start, &body[start..i]));
                i += 1;
                start = i;
            }
            b'\r' => {
                lines.push((start, &body[start..i]));
                i += if body.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    let tail = &body[start..];

    let mut items = Vec::new();
    let mut data: Option<String> = None; // None: empty data buffer
    let mut ty = String::new();
    let mut id_buf = String::new();
    let mut last_id = String::new();
    let mut retry = None;
    let mut event_start: Option<u64> = None;

    // Returns a decoded line, or pushes the strict error.
    let decode = |offset: usize, line: &[u8], items: &mut Vec<Out>| -> Option<String> {
        match std::str::from_utf8(line) {
            Ok(s) => Some(s.to_owned()),
            Err(_) if lossy => Some(String::from_utf8_lossy(line).into_owned()),
            Err(e) => {
                items.push(Out::Error(Error::InvalidUtf8 {
                    offset: (base + offset + e.valid_up_to()) as u64,
                }));
                None
            }
        }
    };
    fn field(
        line: &str,
        data: &mut Option<String>,
        ty: &mut String,
        id_buf: &mut String,
        retry: &mut Option<u64>,
    ) {
        let (name, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (line, ""),
        };
        match name {
            "data" => {
                let d = data.get_or_insert_with(String::new);
                d.push_str(value);
                d.push('\n');
            }
            "event" => *ty = value.to_owned(),
            "id" if !value.contains('\0') => *id_buf = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                *retry = Some(value.parse::<u64>().unwrap_or(u64::MAX));
            }
            _ => {}
        }
    }

    for (offset, line) in lines {
        if line.is_empty() {
            last_id = id_buf.clone();
            if let Some(mut d) = data.take() {
                d.pop(); // one trailing LF
                items.push(Out::Event {
                    ty: if ty.is_empty() {
                        "message".into()
                    } else {
                        ty.clone()
                    },
                    data: d,
                    id: last_id.clone(),
                    offset: event_start.unwrap(),
                });
            }
            ty.clear();
            event_start = None;
            continue;
        }
        event_start.get_or_insert((base + offset) as u64);
        let Some(text) = decode(offset, line, &mut items) else {
            continue;
        };
        if let Some(c) = text.strip_prefix(':') {
            items.push(Out::Comment(c.to_owned()));
            continue;
        }
        field(&text, &mut data, &mut ty, &mut id_buf, &mut retry);
    }

    // End of input: the pending event is discarded, but reported.
    let unterminated = !tail.is_empty();
    if unterminated {
        if let Some(text) = decode(start, tail, &mut items) {
            if !text.starts_with(':') {
                let mut ignored_retry = None;
                field(&text, &mut data, &mut ty, &mut id_buf, &mut ignored_retry);
            }
        }
    }
    let pending = data.map(|mut d| {
        d.pop();
        (
            if ty.is_empty() {
                "message".into()
            } else {
                ty.clone()
            },
            d,
            id_buf.clone(),
        )
    });
    Run {
        items,
        eof: EofOut {
            clean: pending.is_none() && !unterminated,
            dropped: pending.is_some(),
            unterminated,
            pending,
        },
        retry,
        last_id,
        offset: input.len() as u64,
    }
}

/// SSE-ish input: tokens from the alphabet the rules care about, plus any byte.
fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        4 => prop::sample::select(vec![
            &b"data"[..], b"data:", b"data: ", b":", b" ", b"\r", b"\n", b"\r\n", b"\n\n",
            b"id", b"id:", b"id: ", b"event", b"event:", b"event: ", b"retry:", b"retry: ",
            b"1", b"42", b"99999999999999999999", b"\0", b"\xEF\xBB\xBF", b"\xEF", b"\xBB",
            b"\xFF", b"\xC3", b"\xA9", b"\xE6\x9D\xAD", b"a", b"x y", b"{\"k\":1}",
        ])
        .prop_map(<[u8]>::to_vec),
        1 => any::<u8>().prop_map(|b| vec![b]),
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..200, 0..8).prop_map(|mut c| {
        c.sort_unstable();
        c
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn any_split_matches_one_feed_and_the_reference(
        input in sse_bytes(),
        cuts in cuts(),
        lossy in any::<bool>(),
    ) {
        let make = || if lossy { harness::lossy() } else { harness::strict() };
        let whole = harness::run_cuts(make(), &input, &[]);
        let split = harness::run_cuts(make(), &input, &cuts);
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(&whole, &reference(&input, lossy));
    }

    #[test]
    fn one_byte_feeds_match_the_reference(input in sse_bytes(), lossy in any::<bool>()) {
        let make = || if lossy { harness::lossy() } else { harness::strict() };
        prop_assert_eq!(harness::run_chunked(make(), &input, 1), reference(&input, lossy));
    }

    #[test]
    fn arbitrary_bytes_match_the_reference(
        input in prop::collection::vec(any::<u8>(), 0..300),
        cuts in cuts(),
    ) {
        prop_assert_eq!(harness::run_cuts(harness::strict(), &input, &cuts), reference(&input, false));
        prop_assert_eq!(harness::run_cuts(harness::lossy(), &input, &cuts), reference(&input, true));
    }
}

#[test]
fn cr_lf_straddling_a_split_is_one_line_end() {
    // Every way to place the cut inside or around each CRLF.
    let input = b"data: a\r\ndata: b\r\n\r\ndata: c\r\r\n";
    for cut in 0..=input.len() {
        let run = harness::run_cuts(harness::strict(), input, &[cut]);
        assert_eq!(run, reference(input, false), "cut at {cut}");
        assert_eq!(
            run.items,
            [
                harness::event("message", "a\nb", "", 0),
                harness::event("message", "c", "", 20)
            ]
        );
    }
}

#[test]
fn reference_agrees_with_the_spec_examples() {
    // The oracle itself, on the spec's canonical example.
    let run = reference(b"data\n\ndata\ndata\n\ndata:", false);
    assert_eq!(
        run.items,
        [
            harness::event("message", "", "", 0),
            harness::event("message", "\n", "", 6)
        ]
    );
    assert!(run.eof.dropped && run.eof.unterminated);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// With tiny limits (errors everywhere), the split still does not matter.
    #[test]
    fn tiny_limits_any_split_matches_one_feed(
        input in sse_bytes(),
        cuts in cuts(),
        lossy in any::<bool>(),
        max_line in 0usize..40,
        max_event in 0usize..80,
    ) {
        let make = || harness::small(max_line, max_event).lossy(lossy);
        let whole = harness::run_cuts(make(), &input, &[]);
        prop_assert_eq!(&harness::run_cuts(make(), &input, &cuts), &whole);
        prop_assert_eq!(&harness::run_chunked(make(), &input, 1), &whole);
    }
}

#[test]
fn limit_error_does_not_depend_on_the_split() {
    // Found by fuzzing: a line crossing max_line while its event crosses max_event.
    // The limit crossed at the earlier byte is reported, however the input is split.
    let input = b"data: a\nd\xf6??????\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n\ndata: ok\n\n";
    let whole = harness::run_cuts(harness::small(16, 24), input, &[]);
    assert_eq!(
        whole.items,
        [
            Out::Error(Error::InvalidUtf8 { offset: 9 }),
            Out::Error(Error::EventTooLong {
                limit: 24,
                offset: 0
            }),
            harness::event("message", "ok", "", 48),
        ]
    );
    for cut in 0..=input.len() {
        assert_eq!(
            harness::run_cuts(harness::small(16, 24), input, &[cut]),
            whole,
            "cut {cut}"
        );
    }
}
