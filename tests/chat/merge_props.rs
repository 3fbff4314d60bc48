//! Property test: random streams built from known parts, with every server quirk the
//! merger must absorb, framed for either protocol and split anywhere. The expected
//! completion is known by construction (the plain reference at the bottom merges the
//! same parts the obvious way).
#![cfg(feature = "chat")]

use dashscope_glm::chat::{Accumulator, Completion, FinishReason, Protocol, StreamDecoder, Usage};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone)]
struct Call {
    id: String,
    name: String,
    pieces: Vec<String>,
}

#[derive(Debug, Clone)]
struct Spec {
    native: bool,
    cumulative: bool,
    reasoning: Vec<String>,
    content: Vec<String>,
    calls: Vec<Call>,
    /// How wire indices are given: 0 = 0,1,2; 1 = starting at 1 with gaps; 2 = all 0
    /// (calls told apart by id); 3 = absent.
    index_mode: u8,
    finish: Option<&'static str>,
    usages: Vec<Option<(u64, u64)>>,
    /// Per-op style choices (null vs "" vs absent, alias names, repeats...).
    style: Vec<u8>,
    /// Which ops share a chunk with the one before.
    glue: Vec<bool>,
    crlf: bool,
    keepalive: bool,
}

fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z \"\\\\\n\t/é杭州😀\u{1}]{1,8}").unwrap()
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(text(), 0..4),
        proptest::collection::vec(text(), 0..4),
        proptest::collection::vec(
            (0u8..3, proptest::collection::vec(text(), 1..4)).prop_map(|(n, pieces)| (n, pieces)),
            0..3,
        ),
        0u8..4,
        prop_oneof![
            Just(None),
            Just(Some("stop")),
            Just(Some("length")),
            Just(Some("tool_calls")),
            Just(Some("sensitive"))
        ],
        proptest::collection::vec(proptest::option::of((0u64..1000, 0u64..1000)), 0..4),
        proptest::collection::vec(any::<u8>(), 64),
        proptest::collection::vec(any::<bool>(), 64),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                native,
                cumulative,
                reasoning,
                content,
                calls,
                index_mode,
                finish,
                usages,
                style,
                glue,
                crlf,
                keepalive,
            )| {
                let calls = calls
                    .into_iter()
                    .enumerate()
                    .map(|(i, (n, pieces))| Call {
                        id: format!("call_{i}"),
                        name: ["f", "g", "get_weather"][n as usize].into(),
                        pieces,
                    })
                    .collect();
                Spec {
                    native,
                    cumulative: native && cumulative,
                    reasoning,
                    content,
                    calls,
                    index_mode,
                    finish,
                    usages,
                    style,
                    glue,
                    crlf,
                    keepalive,
                }
            },
        )
}

/// One thing a chunk can carry.
#[derive(Debug, Clone)]
enum Op {
    Reasoning(String),
    Content(String),
    Tool { call: usize, piece: usize },
    Usage(Option<(u64, u64)>),
    Finish,
}

fn ops(s: &Spec) -> Vec<Op> {
    let mut ops: Vec<Op> = s.reasoning.iter().cloned().map(Op::Reasoning).collect();
    ops.extend(s.content.iter().cloned().map(Op::Content));
    for (call, c) in s.calls.iter().enumerate() {
        for piece in 0..c.pieces.len() {
            ops.push(Op::Tool { call, piece });
        }
    }
    ops.extend(s.usages.iter().copied().map(Op::Usage));
    if s.finish.is_some() {
        ops.push(Op::Finish);
    }
    ops
}

/// Builds the chunks' JSON values.
fn chunks(s: &Spec) -> Vec<Value> {
    let ops = ops(s);
    let mut out: Vec<Value> = Vec::new();
    let (mut reasoning_so_far, mut content_so_far) = (String::new(), String::new());
    let mut args_so_far = vec![String::new(); s.calls.len()];
    for (k, op) in ops.iter().enumerate() {
        let style = s.style[k % s.style.len()];
        // A chunk holds one text of each kind: the same kind twice starts a new chunk.
        let same_kind = k > 0
            && matches!(
                (&ops[k - 1], op),
                (Op::Reasoning(_), Op::Reasoning(_)) | (Op::Content(_), Op::Content(_))
            );
        let glue = k > 0 && s.glue[k % s.glue.len()] && !same_kind && !matches!(op, Op::Usage(_));
        if !glue {
            out.push(json!({"message": {}, "usage_slot": null, "finish": null}));
        }
        let chunk = out.last_mut().unwrap();
        let message = chunk["message"].as_object_mut().unwrap();
        match op {
            Op::Reasoning(t) => {
                reasoning_so_far.push_str(t);
                let v = if s.cumulative {
                    reasoning_so_far.clone()
                } else {
                    t.clone()
                };
                let key = if !s.native && style % 2 == 1 {
                    "reasoning"
                } else {
                    "reasoning_content"
                };
                message.insert(key.into(), json!(v));
            }
            Op::Content(t) => {
                content_so_far.push_str(t);
                let v = if s.cumulative {
                    content_so_far.clone()
                } else {
                    t.clone()
                };
                message.insert("content".into(), json!(v));
            }
            Op::Tool { call, piece } => {
                let c = &s.calls[*call];
                args_so_far[*call].push_str(&c.pieces[*piece]);
                let args = if s.cumulative {
                    args_so_far[*call].clone()
                } else {
                    c.pieces[*piece].clone()
                };
                let mut frag = Map::new();
                match s.index_mode {
                    0 => _ = frag.insert("index".into(), json!(call)),
                    1 => _ = frag.insert("index".into(), json!(1 + 3 * call)),
                    2 => _ = frag.insert("index".into(), json!(0)),
                    _ => {}
                }
                let first = *piece == 0;
                // Continuations: id absent, "", null, or repeated; name likewise.
                let id = match (first, style % 4) {
                    (true, _) | (false, 3) => json!(c.id),
                    (false, 0) => Value::Null,
                    (false, 1) => json!(""),
                    _ => json!("__absent__"),
                };
                if id != json!("__absent__") {
                    frag.insert("id".into(), id);
                }
                frag.insert("type".into(), json!("function"));
                let mut function = Map::new();
                match (first, (style / 4) % 3) {
                    (true, _) | (false, 0) => _ = function.insert("name".into(), json!(c.name)),
                    (false, 1) => _ = function.insert("name".into(), json!("")),
                    _ => {}
                }
                function.insert("arguments".into(), json!(args));
                frag.insert("function".into(), Value::Object(function));
                let list = message.entry("tool_calls").or_insert_with(|| json!([]));
                list.as_array_mut().unwrap().push(Value::Object(frag));
            }
            Op::Usage(u) => {
                chunk["usage_slot"] = match u {
                    Some((i, o)) => json!({"i": i, "o": o}),
                    None if style % 2 == 0 => json!("empty"),
                    None => json!("null"),
                };
            }
            Op::Finish => chunk["finish"] = json!(s.finish.unwrap()),
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(k, c)| render(s, c, s.style[(k + 7) % s.style.len()]))
        .collect()
}

/// Turns a chunk sketch into the protocol's JSON, with the not-yet-finished and absent
/// spellings varying.
fn render(s: &Spec, sketch: Value, style: u8) -> Value {
    let mut message = sketch["message"].as_object().unwrap().clone();
    // Absent text fields: missing, null, or "" (the last only where "" adds nothing).
    for key in ["content", "reasoning_content"] {
        if !message.contains_key(key) {
            match style % 3 {
                0 => {}
                1 => _ = message.insert(key.into(), Value::Null),
                // "" is present, and a present reasoning_content wins over `reasoning`.
                _ if !s.cumulative && !message.contains_key("reasoning") => {
                    _ = message.insert(key.into(), json!(""));
                }
                _ => {}
            }
        }
    }
    if style % 5 == 0 {
        message.insert("role".into(), json!("assistant"));
    }
    let finish = match sketch["finish"].as_str() {
        Some(reason) => json!(reason),
        None if s.native => json!("null"),
        None if style % 2 == 0 => Value::Null,
        None => json!(""),
    };
    let usage = match &sketch["usage_slot"] {
        Value::Object(u) => {
            let (i, o) = (u["i"].as_u64().unwrap(), u["o"].as_u64().unwrap());
            if s.native {
                json!({"input_tokens": i, "output_tokens": o, "total_tokens": i + o})
            } else {
                json!({"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o})
            }
        }
        Value::String(e) if e == "empty" => json!({}),
        _ => Value::Null,
    };
    if s.native {
        json!({"output": {"choices": [{"message": message, "index": 0, "finish_reason": finish}]}, "usage": usage, "request_id": "rid"})
    } else {
        json!({"id": "chatcmpl-x", "choices": [{"index": 0, "delta": message, "finish_reason": finish}], "usage": usage, "model": "glm-5"})
    }
}

fn frame(s: &Spec, chunks: &[Value]) -> Vec<u8> {
    let nl = if s.crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    for (k, c) in chunks.iter().enumerate() {
        if s.keepalive && k % 2 == 1 {
            out.push_str(&format!(": keep-alive{nl}{nl}"));
        }
        if s.native {
            out.push_str(&format!(
                "id:{}{nl}event:result{nl}:HTTP_STATUS/200{nl}data:{c}{nl}{nl}",
                k + 1
            ));
        } else {
            out.push_str(&format!("data: {c}{nl}{nl}"));
        }
    }
    if !s.native {
        out.push_str(&format!("data: [DONE]{nl}{nl}"));
    }
    out.into_bytes()
}

/// The plain reference: what the parts add up to.
fn reference(s: &Spec) -> Completion {
    let mut c = Completion::default();
    c.message.reasoning_content = s.reasoning.concat();
    c.message.content = s.content.concat();
    for (i, call) in s.calls.iter().enumerate() {
        c.message
            .tool_calls
            .push(dashscope_glm::chat::ToolCall::new(
                i,
                call.id.clone(),
                call.name.clone(),
                call.pieces.concat(),
            ));
    }
    c.finish_reason = s.finish.and_then(FinishReason::from_wire);
    let mut usage = None;
    for u in s.usages.iter().flatten() {
        let mut v = Usage::default();
        (v.input_tokens, v.output_tokens, v.total_tokens) = (u.0, u.1, u.0 + u.1);
        usage = Some(v);
    }
    c.usage = usage;
    if ops(s).is_empty() {
        // No chunk at all: nothing said who answered.
    } else if s.native {
        c.request_id = Some("rid".into());
    } else {
        c.id = Some("chatcmpl-x".into());
        c.model = Some("glm-5".into());
    }
    c
}

fn run(s: &Spec, bytes: &[u8], cuts: &[usize]) -> Result<Completion, dashscope_glm::Error> {
    let protocol = if s.native {
        Protocol::DashScope
    } else {
        Protocol::OpenAiCompatible
    };
    let acc = Accumulator::new(protocol).cumulative(s.cumulative);
    let mut stream = StreamDecoder::from_accumulator(acc);
    let mut start = 0;
    for &cut in cuts.iter().chain([&bytes.len()]) {
        stream.feed(&bytes[start..cut]);
        start = cut;
        while stream.next_event()?.is_some() {}
    }
    stream.end()?;
    while stream.next_event()?.is_some() {}
    stream.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_streams_merge_like_the_reference(
        s in spec(),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..8),
    ) {
        // Calls that share wire index 0 or have none are told apart by a new id, so their
        // fragments come one call after another (as every such server sends them).
        let bytes = frame(&s, &chunks(&s));
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let expected = reference(&s);
        match run(&s, &bytes, &cuts) {
            Ok(got) => {
                prop_assert!(s.finish.is_some() || !s.native, "native without finish must be interrupted");
                prop_assert_eq!(got, expected);
            }
            Err(e) if e.kind() == dashscope_glm::ErrorKind::Interrupted => {
                prop_assert!(s.native && s.finish.is_none());
                prop_assert_eq!(e.partial(), Some(&expected));
            }
            Err(e) => prop_assert!(false, "unexpected error {e}\n{}", String::from_utf8_lossy(&bytes)),
        }
    }
}
