//! The merger's steady state allocates only to grow the merged strings: no allocation
//! per chunk once its buffers have grown (O(n) copying over the stream, nothing cloned
//! per chunk).
#![cfg(feature = "chat")]

use crate::alloc_counter;

use dashscope_glm::chat::{Protocol, StreamDecoder, StreamEvent};

/// `n` chunks of each kind the GLM stream has, with escapes in every one (so that
/// unescaping is exercised, not just borrowing).
fn stream(protocol: Protocol, n: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..n {
        let text = format!("piece {i} with \\\"quotes\\\", a tab\\t, \\u00e9t\\u00e9 and 杭州\\n");
        let data = match (protocol, i % 3) {
            (Protocol::OpenAiCompatible, 0) => format!(
                r#"{{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"glm-5","choices":[{{"index":0,"delta":{{"content":null,"reasoning_content":"{text}"}},"finish_reason":null}}],"usage":null}}"#
            ),
            (Protocol::OpenAiCompatible, 1) => format!(
                r#"{{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"glm-5","choices":[{{"index":0,"delta":{{"content":"{text}","reasoning_content":null}},"finish_reason":null}}],"usage":null}}"#
            ),
            (Protocol::OpenAiCompatible, _) => format!(
                r#"{{"id":"chatcmpl-1","choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":0,"id":"","type":"function","function":{{"arguments":"{{\"k\": \"{text}\"}}"}}}}]}},"finish_reason":null}}]}}"#
            ),
            (_, k) => {
                let message = match k {
                    0 => format!(r#""content":"","reasoning_content":"{text}""#),
                    1 => format!(r#""content":"{text}","reasoning_content":"""#),
                    _ => format!(
                        r#""content":"","tool_calls":[{{"index":0,"id":"","type":"function","function":{{"arguments":"{text}"}}}}]"#
                    ),
                };
                format!(
                    r#"{{"output":{{"choices":[{{"message":{{{message},"role":"assistant"}},"index":0,"finish_reason":"null"}}]}},"usage":{{"total_tokens":{},"output_tokens":{i},"input_tokens":10,"output_tokens_details":{{"reasoning_tokens":{i}}}}},"request_id":"5c0a7e1b"}}"#,
                    10 + i
                )
            }
        };
        match protocol {
            Protocol::DashScope => out.push_str(&format!(
                "id:{i}\nevent:result\n:HTTP_STATUS/200\ndata:{data}\n\n"
            )),
            _ => out.push_str(&format!("data: {data}\n\n")),
        }
    }
    out.into_bytes()
}

fn allocations_per_chunk(protocol: Protocol) -> (u64, usize) {
    const WARM: usize = 300;
    const STEADY: usize = 9_000;
    let body = stream(protocol, WARM + STEADY);
    let mut stream = StreamDecoder::new(protocol);
    // The first tool fragment opens the call (a one-time allocation); feed the warm-up
    // part first.
    let warm_end = {
        let marker = if protocol == Protocol::DashScope {
            format!("id:{WARM}\n")
        } else {
            String::new()
        };
        if marker.is_empty() {
            body.len() * WARM / (WARM + STEADY)
        } else {
            find(&body, marker.as_bytes())
        }
    };
    let mut events = 0usize;
    let mut feed = |stream: &mut StreamDecoder, bytes: &[u8]| {
        for piece in bytes.chunks(1460) {
            stream.feed(piece);
            while let Some(event) = stream.next_event().unwrap() {
                if let StreamEvent::Content(t) | StreamEvent::Reasoning(t) = event {
                    std::hint::black_box(t);
                }
                events += 1;
            }
        }
    };
    feed(&mut stream, &body[..warm_end]);
    let ((), allocations) = alloc_counter::count(|| feed(&mut stream, &body[warm_end..]));
    (allocations, events)
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

#[test]
fn steady_state_allocates_only_to_grow_the_merged_strings() {
    for protocol in [Protocol::OpenAiCompatible, Protocol::DashScope] {
        let (allocations, events) = allocations_per_chunk(protocol);
        // Three strings grow from ~100 KiB to ~1 MiB each by doubling: a few dozen
        // reallocations in all, against ~9,000 chunks and events.
        eprintln!("{protocol:?}: {allocations} allocations over {events} events");
        assert!(events > 9_000, "{protocol:?}: {events} events");
        assert!(
            allocations <= 40,
            "{protocol:?}: {allocations} allocations for {events} events"
        );
    }
}

/// The multimodal shape, `content` as an array of parts (text parts with escapes, an
/// image part ignored and counted), costs no allocation per chunk either, on both
/// protocols.
#[test]
fn content_parts_cost_no_allocation_per_chunk() {
    const WARM: usize = 300;
    const STEADY: usize = 6_000;
    for protocol in [Protocol::OpenAiCompatible, Protocol::DashScope] {
        let mut body = String::new();
        for i in 0..WARM + STEADY {
            // Every third chunk sends a plain string with escapes instead: a stream may
            // mix both shapes.
            let parts = if i % 3 == 2 {
                format!(r#""string {i} \"q\" \u00e9\n""#)
            } else {
                format!(
                    r#"[{{"type":"text","text":"part {i} \"q\" \u00e9 "}},{{"type":"image_url","image_url":{{"url":"https://example.com/{i}.png"}}}},{{"text":"杭州\n"}}]"#
                )
            };
            match protocol {
                Protocol::DashScope => body.push_str(&format!(
                    "id:{i}\nevent:result\n:HTTP_STATUS/200\ndata:{{\"output\":{{\"choices\":[{{\"message\":{{\"role\":\"assistant\",\"content\":{parts}}},\"finish_reason\":\"null\"}}]}},\"request_id\":\"r\"}}\n\n"
                )),
                _ => body.push_str(&format!(
                    "data: {{\"id\":\"chatcmpl-1\",\"created\":1761234567,\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{parts}}},\"finish_reason\":null}}]}}\n\n"
                )),
            }
        }
        let body = body.into_bytes();
        let warm_end = body.len() * WARM / (WARM + STEADY);
        let mut stream = StreamDecoder::new(protocol);
        let mut events = 0usize;
        let mut feed = |stream: &mut StreamDecoder, bytes: &[u8]| {
            for piece in bytes.chunks(1460) {
                stream.feed(piece);
                while let Some(event) = stream.next_event().unwrap() {
                    std::hint::black_box(event);
                    events += 1;
                }
            }
        };
        feed(&mut stream, &body[..warm_end]);
        let ((), allocations) = alloc_counter::count(|| feed(&mut stream, &body[warm_end..]));
        let ignored = stream.accumulator().completion().ignored_content_parts;
        eprintln!("{protocol:?}: {allocations} allocations over {events} events");
        assert!(events > STEADY - 10, "{protocol:?}: {events} events");
        assert!(
            ignored > STEADY as u64 / 2,
            "{protocol:?}: {ignored} ignored parts"
        );
        assert!(
            allocations <= 20,
            "{protocol:?}: {allocations} allocations for {events} events"
        );
    }
}

/// `PartialJson` on streamed tool arguments allocates what one `serde_json::Value` parse
/// of the whole text allocates, give or take a few buffers: each string, key, array and
/// object once, nothing per fragment. An edit list of code strings (escapes, CJK,
/// emoji), numbers and literals, in 16-byte fragments with `value()` read after each.
#[test]
fn partial_json_allocates_what_one_parse_allocates() {
    use dashscope_glm::json::PartialJson;

    let mut text = String::from(r#"{"path":"src/模块/main.rs","dry_run":false,"edits":["#);
    for i in 0..2_000 {
        let code = [
            "fn main() {\\n",
            "    let s = \\\"héllo 🚀\\\";\\n",
            "\\t// 中文\\n",
            "}\\n",
        ];
        let old: String = code
            .iter()
            .cycle()
            .skip(i % 4)
            .take(1 + i % 3)
            .copied()
            .collect();
        let new: String = code
            .iter()
            .cycle()
            .skip(i % 3)
            .take(2 + i % 2)
            .copied()
            .collect();
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            r#"{{"line":{},"old":"{old}","new":"{new}","score":0.{:03},"tags":["refactor","auto"],"replace_all":{},"meta":null}}"#,
            10 + 7 * i,
            i % 1000,
            i % 2 == 0
        ));
    }
    text.push_str(r#"],"summary":"done"}"#);
    // 16-byte fragments, each ended on a char boundary, as the kit cuts them.
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + 16).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        pieces.push(&text[start..end]);
        start = end;
    }
    assert_eq!(pieces.concat(), text);
    let (value, parsed) = alloc_counter::count(|| {
        let mut whole = String::new();
        for piece in &pieces {
            whole.push_str(piece);
        }
        serde_json::from_str::<serde_json::Value>(&whole).unwrap()
    });
    let (snapshot, partial) = alloc_counter::count(|| {
        let mut parser = PartialJson::new();
        for piece in &pieces {
            parser.push(piece).unwrap();
            std::hint::black_box(parser.value());
        }
        parser.finish().unwrap()
    });
    assert_eq!(snapshot, value);
    eprintln!(
        "{} fragments: PartialJson {partial} allocations, one parse {parsed}",
        pieces.len()
    );
    assert!(
        partial <= parsed + parsed / 50 + 16,
        "PartialJson {partial} allocations against {parsed} for one parse"
    );
}

/// Bytes fed after the stream finished (`data: [DONE]`) are dropped, not buffered: a
/// transport that keeps feeding an endless tail holds no more memory for it.
#[test]
fn a_tail_fed_after_done_is_not_kept() {
    let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
    stream.feed(
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n",
    );
    while stream.next_event().unwrap().is_some() {}
    let junk = vec![b'x'; 64 * 1024];
    let ((), allocations) = alloc_counter::count(|| {
        for _ in 0..128 {
            stream.feed(&junk);
        }
    });
    assert_eq!(allocations, 0, "8 MiB fed after [DONE]");
}

/// A chunk the scan leaves to serde (an escaped key) with a million elements in an
/// array: the elements are handed on one at a time, so feeding and decoding it asks the
/// allocator for less than twice the chunk's size (the decoder's copy of the bytes is
/// one), not for a `Vec` of a million decoded elements.
#[test]
fn arrays_of_a_chunk_decoded_by_serde_are_not_held_whole() {
    let empties = vec!["{}"; 1 << 20].join(",");
    let decode = |data: String| {
        let event = format!("data: {data}\n\n");
        let mut stream = StreamDecoder::new(Protocol::OpenAiCompatible);
        let (outcome, asked) = alloc_counter::bytes_asked(|| {
            stream.feed(event.as_bytes());
            while stream.next_event()?.is_some() {}
            Ok::<_, dashscope_glm::Error>(())
        });
        assert!(
            asked < 2 * event.len() as u64,
            "{asked} bytes asked for a {}-byte event",
            event.len()
        );
        outcome
    };
    // Choices: the first is followed, the rest are counted and ignored.
    decode(format!(r#"{{"\u0063hoices":[{empties}]}}"#)).unwrap();
    // Content parts: each one that is not text is counted as ignored.
    decode(format!(
        r#"{{"choices":[{{"index":0,"delta":{{"\u0063ontent":[{empties}]}}}}]}}"#
    ))
    .unwrap();
    // Tool-call fragments over the limit are refused as they are read.
    let err = decode(format!(
        r#"{{"choices":[{{"index":0,"delta":{{"\u0074ool_calls":[{empties}]}}}}]}}"#
    ))
    .unwrap_err();
    assert_eq!(err.kind(), dashscope_glm::ErrorKind::Malformed, "{err}");
    assert!(err.to_string().contains("tool-call fragments"), "{err}");
}
