//! One named test for each merging decision other clients have got wrong: in-band
//! errors, finish reasons, usage, tool-call identity (index, id, name), argument
//! fragments and the end of a stream.
#![cfg(feature = "chat")]

use dashscope_glm::chat::{Accumulator, Completion, FinishReason, Protocol, StreamEvent};
use dashscope_glm::{Error, ErrorKind, LimitKind};

/// An OpenAI-compatible chunk with one choice whose delta is `delta` (JSON text).
fn delta(delta: &str) -> String {
    format!(r#"{{"choices":[{{"index":0,"delta":{delta},"finish_reason":null}}]}}"#)
}

fn finish(reason: &str) -> String {
    format!(r#"{{"choices":[{{"index":0,"delta":{{}},"finish_reason":"{reason}"}}]}}"#)
}

fn tools(fragments: &str) -> String {
    delta(&format!(r#"{{"tool_calls":{fragments}}}"#))
}

/// Feeds OpenAI-compatible data payloads, then `[DONE]`, and finishes.
fn run(chunks: &[String]) -> Result<Completion, Error> {
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    for chunk in chunks {
        acc.push_data(chunk)?;
        while acc.next_event().is_some() {}
    }
    acc.push_data("[DONE]")?;
    acc.finish()
}

/// Pushes every item of an SSE text, read by the crate's decoder, stopping at the first
/// error.
fn push_sse(acc: &mut Accumulator, sse: &str) -> Result<(), Error> {
    let mut decoder = dashscope_glm::sse::Decoder::new();
    decoder.feed(sse.as_bytes());
    while let Some(item) = decoder.next_item() {
        acc.push(&item.unwrap())?;
    }
    Ok(())
}

/// Collects every event of every chunk as owned strings, for order checks.
fn events(acc: &mut Accumulator, data: &str) -> Vec<String> {
    acc.push_data(data).unwrap();
    let mut out = Vec::new();
    while let Some(e) = acc.next_event() {
        out.push(match e {
            StreamEvent::Reasoning(t) => format!("reasoning:{t}"),
            StreamEvent::Content(t) => format!("content:{t}"),
            StreamEvent::ToolCallStart { index, id, name } => format!("start:{index}:{id}:{name}"),
            StreamEvent::ToolCallArguments { index, fragment } => {
                format!("args:{index}:{fragment}")
            }
            StreamEvent::Usage(u) => format!("usage:{}", u.total_tokens),
            StreamEvent::Finish(r) => format!("finish:{r}"),
            other => format!("{other:?}"),
        });
    }
    out
}

#[test]
fn keepalive_comments_and_empty_data_are_skipped() {
    let mut acc = Accumulator::new(Protocol::DashScope);
    push_sse(&mut acc, ": keep-alive\nevent:ping\ndata:\n\n").unwrap();
    acc.push_data("").unwrap();
    assert!(acc.next_event().is_none());
    assert_eq!(acc.completion(), &Completion::default());
}

#[test]
fn two_frames_glued_mid_json_are_a_malformed_chunk() {
    let glued = r#"{"choices":[{"index":0,"delta":{"content":"a"}}]data: {"choices":[]}"#;
    let err = run(&[delta(r#"{"content":"before"}"#), glued.to_owned()]).unwrap_err();
    let m = err.malformed_chunk().unwrap_or_else(|| panic!("{err:?}"));
    assert!(glued.starts_with(&m.snippet));
    assert_eq!(err.partial().unwrap().message.content, "before");
    assert!(!err.is_retryable());
}

#[test]
fn normal_end_with_tool_calls_or_length_is_ok() {
    for reason in ["tool_calls", "length"] {
        let c = run(&[delta(r#"{"content":"x"}"#), finish(reason)]).unwrap();
        assert_eq!(c.finish_reason.unwrap().as_str(), reason);
    }
}

#[test]
fn in_band_errors_of_each_shape_are_api_errors() {
    // OpenAI envelope in a 200 stream.
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    acc.push_data(&delta(r#"{"content":"Par"}"#)).unwrap();
    let err = acc
        .push_data(r#"{"error":{"message":"bad","type":"data_inspection_failed","code":null},"request_id":"r1"}"#)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stream, "{err:?}");
    let api = err.api().unwrap();
    // The chunk named no status: none, not the 200 of the stream around it.
    assert_eq!(
        (api.status, api.code.as_deref(), api.message.as_str()),
        (None, Some("data_inspection_failed"), "bad")
    );
    assert_eq!(api.request_id.as_deref(), Some("r1"));
    assert_eq!(err.partial().unwrap().message.content, "Par");
    // Never partial success: finish() repeats the error.
    assert_eq!(acc.finish().unwrap_err(), err);

    // Native event:error with the status in a comment.
    let mut acc = Accumulator::new(Protocol::DashScope);
    let err = push_sse(
        &mut acc,
        ":HTTP_STATUS/400\nevent:error\ndata:{\"code\":\"InvalidParameter\",\"message\":\"m\",\"request_id\":\"r2\"}\n\n",
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stream, "{err:?}");
    let api = err.api().unwrap();
    assert_eq!(
        (api.status, api.code.as_deref(), api.request_id.as_deref()),
        (Some(400), Some("InvalidParameter"), Some("r2"))
    );

    // Native payload with a non-empty code in a `result` event.
    let mut acc = Accumulator::new(Protocol::DashScope);
    let err = acc
        .push_data(r#"{"code":"Throttling","message":"slow","request_id":"r3"}"#)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stream, "{err:?}");
    assert!(
        err.api()
            .is_some_and(|api| api.code.as_deref() == Some("Throttling") && api.status.is_none()),
        "{err:?}"
    );

    // An event:error whose data is not JSON keeps the text as the message.
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    let err = push_sse(&mut acc, "event:error\ndata:upstream timed out\n\n").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stream, "{err:?}");
    assert!(
        err.api()
            .is_some_and(|api| api.message == "upstream timed out"),
        "{err:?}"
    );
}

#[test]
fn numeric_and_string_codes_both_parse() {
    for (payload, code) in [
        (r#"{"error":{"code":400,"message":"m"}}"#, "400"),
        (
            r#"{"error":{"code":"InvalidParameter","message":"m"}}"#,
            "InvalidParameter",
        ),
        (r#"{"code":1301,"message":"unsafe"}"#, "1301"),
    ] {
        let err = run(&[payload.to_owned()]).unwrap_err();
        assert!(
            err.api()
                .is_some_and(|api| api.code.as_deref() == Some(code)),
            "{err:?}"
        );
    }
}

#[test]
fn nonstandard_finish_reasons() {
    for (wire, expected) in [
        ("stop", Some(FinishReason::Stop)),
        ("content_filter", Some(FinishReason::ContentFilter)),
        ("eos_token", Some(FinishReason::Other("eos_token".into()))),
        // Z.ai's word for a moderated answer.
        ("sensitive", Some(FinishReason::ContentFilter)),
        ("network_error", Some(FinishReason::NetworkError)),
        ("abort", Some(FinishReason::Other("abort".into()))),
        (
            "model_context_window_exceeded",
            Some(FinishReason::ContextWindowExceeded),
        ),
        ("", None),
        ("null", None),
    ] {
        let c = run(&[delta(r#"{"content":"x"}"#), finish(wire)]).unwrap();
        assert_eq!(c.finish_reason, expected, "{wire}");
        // Only a stop (or a request for tool results) is a whole answer.
        assert_eq!(c.is_whole(), wire == "stop", "{wire}");
    }
    // Native: the string "null" is "not finished", so the stream is interrupted.
    let mut acc = Accumulator::new(Protocol::DashScope);
    acc.push_data(r#"{"output":{"choices":[{"message":{"content":"x"},"finish_reason":"null"}]}}"#)
        .unwrap();
    assert!(!acc.is_complete());
    let err = acc.finish().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interrupted, "{err:?}");
    assert_eq!(err.partial().unwrap().message.content, "x");
}

#[test]
fn done_without_finish_reason_is_ok_with_none() {
    let c = run(&[delta(r#"{"content":"x"}"#)]).unwrap();
    assert_eq!((c.finish_reason, c.message.content.as_str()), (None, "x"));
}

#[test]
fn role_missing_empty_or_repeated() {
    for role in ["", r#""role":"","#, r#""role":"assistant","#] {
        let chunks: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(|t| delta(&format!(r#"{{{role}"content":"{t}"}}"#)))
            .collect();
        assert_eq!(run(&chunks).unwrap().message.content, "abc");
    }
}

#[test]
fn top_level_fields_absent_null_or_varying() {
    let c = run(&[
        r#"{"choices":[{"index":0,"delta":{"content":"a"}}],"created":null}"#.to_owned(),
        r#"{"id":"chatcmpl-1","model":"glm-5","choices":[{"index":0,"delta":{"content":"b"}}]}"#.to_owned(),
        r#"{"id":"chatcmpl-2","model":"glm-4.6","object":null,"choices":[{"index":0,"delta":{"content":"c"}}]}"#.to_owned(),
    ])
    .unwrap();
    assert_eq!(c.message.content, "abc");
    assert_eq!(
        (c.id.as_deref(), c.model.as_deref()),
        (Some("chatcmpl-1"), Some("glm-5"))
    );
}

#[test]
fn usage_replaced_never_summed_and_empty_never_erases() {
    let usage = |u: &str| format!(r#"{{"choices":[],"usage":{u}}}"#);
    let c = run(&[
        usage(r#"{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}"#),
        usage(r#"{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14,"completion_tokens_details":{"reasoning_tokens":4},"prompt_tokens_details":{"cached_tokens":2}}"#),
        usage("{}"),
        usage("null"),
        finish("stop"),
    ])
    .unwrap();
    let u = c.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.total_tokens),
        (5, 9, 14)
    );
    assert_eq!((u.reasoning_tokens, u.cached_tokens), (Some(4), Some(2)));
}

#[test]
fn cumulative_native_output_gives_suffixes() {
    let mut acc = Accumulator::new(Protocol::DashScope).cumulative(true);
    let mut deltas = Vec::new();
    for (text, reason) in [
        ("I", "null"),
        ("I like", "null"),
        ("I like apples.", "null"),
        ("I like apples.", "stop"),
    ] {
        let data = format!(
            r#"{{"output":{{"choices":[{{"message":{{"content":"{text}"}},"finish_reason":"{reason}"}}]}}}}"#
        );
        deltas.extend(events(&mut acc, &data));
    }
    assert_eq!(
        deltas,
        [
            "content:I",
            "content: like",
            "content: apples.",
            "finish:stop"
        ]
    );
    assert_eq!(acc.finish().unwrap().message.content, "I like apples.");

    let mut acc = Accumulator::new(Protocol::DashScope).cumulative(true);
    acc.push_data(r#"{"output":{"choices":[{"message":{"content":"abc"}}]}}"#)
        .unwrap();
    let err = acc
        .push_data(r#"{"output":{"choices":[{"message":{"content":"xyz"}}]}}"#)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed, "{err:?}");
}

#[test]
fn reasoning_under_either_name_and_content_wins() {
    let c = run(&[
        delta(r#"{"reasoning":"a"}"#),
        delta(r#"{"reasoning_content":"b","reasoning":"IGNORED"}"#),
        delta(r#"{"reasoning_content":null,"reasoning":"c"}"#),
        delta(r#"{"reasoning_content":"","content":"x"}"#),
    ])
    .unwrap();
    assert_eq!(c.message.reasoning_content, "abc");
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    assert_eq!(
        events(
            &mut acc,
            &delta(r#"{"reasoning_content":"","content":null}"#)
        ),
        Vec::<String>::new()
    );
}

#[test]
fn one_delta_with_every_kind_emits_all_in_order() {
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    let data = r#"{"choices":[{"finish_reason":"tool_calls","delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{}"}}],"content":"C","reasoning_content":"R"},"index":0}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#;
    assert_eq!(
        events(&mut acc, data),
        [
            "reasoning:R",
            "content:C",
            "start:0:c1:f",
            "args:0:{}",
            "usage:3",
            "finish:tool_calls"
        ]
    );
}

#[test]
fn missing_index() {
    // One index-less call goes to slot 0.
    let c = run(&[
        tools(r#"[{"id":"c1","function":{"name":"f","arguments":"{\"a\""}}]"#),
        tools(r#"[{"function":{"arguments":":1}"}}]"#),
    ])
    .unwrap();
    assert_eq!(c.message.tool_calls.len(), 1);
    assert_eq!(c.message.tool_calls[0].arguments, r#"{"a":1}"#);
    // Several index-less calls told apart by id; nothing dropped.
    let c = run(&[
        tools(r#"[{"id":"c1","function":{"name":"f","arguments":"{\"a\":"}}]"#),
        tools(r#"[{"id":"c2","function":{"name":"g","arguments":"{\"b\":2}"}}]"#),
        tools(r#"[{"id":"c1","function":{"arguments":"1}"}}]"#),
    ])
    .unwrap();
    let calls: Vec<_> = c
        .message
        .tool_calls
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str(), t.arguments.as_str()))
        .collect();
    assert_eq!(
        calls,
        [("c1", "f", r#"{"a":1}"#), ("c2", "g", r#"{"b":2}"#)]
    );
}

#[test]
fn parallel_calls_sharing_index_0() {
    let c = run(&[
        tools(r#"[{"index":0,"id":"call_1","function":{"name":"a","arguments":"{}"}}]"#),
        tools(r#"[{"index":0,"id":"call_2","function":{"name":"b","arguments":"{}"}}]"#),
    ])
    .unwrap();
    let calls: Vec<_> = c
        .message
        .tool_calls
        .iter()
        .map(|t| {
            (
                t.index,
                t.id.as_str(),
                t.name.as_str(),
                t.arguments.as_str(),
            )
        })
        .collect();
    assert_eq!(calls, [(0, "call_1", "a", "{}"), (1, "call_2", "b", "{}")]);
}

#[test]
fn index_starting_at_1_or_with_gaps_makes_no_phantoms() {
    let c = run(&[
        tools(r#"[{"index":1,"id":"c1","function":{"name":"f","arguments":"{}"}}]"#),
        tools(r#"[{"index":5,"id":"c5","function":{"name":"g","arguments":"[]"}}]"#),
    ])
    .unwrap();
    let ids: Vec<_> = c
        .message
        .tool_calls
        .iter()
        .map(|t| (t.index, t.id.as_str()))
        .collect();
    assert_eq!(ids, [(0, "c1"), (1, "c5")]);
}

#[test]
fn same_index_twice_in_one_chunk_merges() {
    let c = run(&[tools(
        r#"[{"index":0,"id":"c1","function":{"name":"f"}},{"index":0,"function":{"arguments":"{\"x\":1}"}}]"#,
    )])
    .unwrap();
    assert_eq!(c.message.tool_calls.len(), 1);
    assert_eq!(c.message.tool_calls[0].arguments, r#"{"x":1}"#);
}

#[test]
fn repeated_id_name_type_stored_once() {
    let frag = |args: &str| {
        tools(&format!(
            r#"[{{"index":0,"id":"call_1","type":"function","function":{{"name":"get","arguments":"{args}"}}}}]"#
        ))
    };
    let c = run(&[frag("{"), frag("}")]).unwrap();
    let t = &c.message.tool_calls[0];
    assert_eq!(
        (t.id.as_str(), t.name.as_str(), t.arguments.as_str()),
        ("call_1", "get", "{}")
    );
}

#[test]
fn empty_name_appends_and_keeps_the_original() {
    let c = run(&[
        tools(r#"[{"index":0,"id":"c1","function":{"name":"get","arguments":"{"}}]"#),
        tools(r#"[{"index":0,"id":"","function":{"name":"","arguments":"}"}}]"#),
    ])
    .unwrap();
    assert_eq!(
        (
            c.message.tool_calls[0].name.as_str(),
            c.message.tool_calls[0].arguments.as_str()
        ),
        ("get", "{}")
    );
}

#[test]
fn missing_id_gets_a_stable_synthetic_one() {
    let c = run(&[
        tools(r#"[{"index":0,"function":{"name":"f","arguments":"{}"}}]"#),
        finish("tool_calls"),
    ])
    .unwrap();
    let t = &c.message.tool_calls[0];
    assert_eq!((t.id.as_str(), t.id_synthetic), ("call_synthetic_0", true));
    // A real id arriving later is kept, not a synthetic one.
    let c = run(&[
        tools(r#"[{"index":0,"function":{"name":"f","arguments":"{"}}]"#),
        tools(r#"[{"index":0,"id":"real","function":{"arguments":"}"}}]"#),
    ])
    .unwrap();
    assert_eq!(
        (
            c.message.tool_calls[0].id.as_str(),
            c.message.tool_calls[0].id_synthetic
        ),
        ("real", false)
    );
}

#[test]
fn id_less_continuations_are_merged() {
    let c = run(&[
        tools(
            r#"[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":""}}]"#,
        ),
        tools(r#"[{"index":0,"function":{"arguments":"{\"q\":"}}]"#),
        tools(r#"[{"index":0,"function":{}}]"#),
        tools(r#"[{"index":0,"function":{"arguments":null}}]"#),
        tools(r#"[{"index":0,"function":{"arguments":"1}"}}]"#),
    ])
    .unwrap();
    assert_eq!(c.message.tool_calls[0].arguments, r#"{"q":1}"#);
}

#[test]
fn whole_arguments_then_empty_fragment_with_finish() {
    let c = run(&[
        tools(r#"[{"index":0,"id":"c1","function":{"name":"f","arguments":"{\"a\":1}"}}]"#),
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":""}}]},"finish_reason":"tool_calls"}]}"#.to_owned(),
    ])
    .unwrap();
    assert_eq!(c.message.tool_calls.len(), 1);
    assert_eq!(c.message.tool_calls[0].arguments, r#"{"a":1}"#);
}

#[test]
fn a_call_is_not_final_because_its_prefix_parses() {
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    acc.push_data(&tools(
        r#"[{"index":0,"id":"c1","function":{"name":"f","arguments":"{\"a\":1}"}}]"#,
    ))
    .unwrap();
    // Parses already, but the stream is not finished: more arguments still append.
    assert!(acc.tool_call(0).unwrap().parse_arguments().is_ok());
    assert!(!acc.is_complete());
    acc.push_data(&tools(r#"[{"index":0,"function":{"arguments":" "}}]"#))
        .unwrap();
    let err = acc.finish().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interrupted, "{err:?}");
    assert_eq!(
        err.partial().unwrap().message.tool_calls[0].arguments,
        "{\"a\":1} "
    );
}

#[test]
fn truncated_arguments_keep_their_raw_text() {
    let c = run(&[
        tools(r#"[{"index":0,"id":"c1","function":{"name":"f","arguments":"{\"path\": \"/tm"}}]"#),
        finish("length"),
    ])
    .unwrap();
    let t = &c.message.tool_calls[0];
    assert_eq!(t.arguments, r#"{"path": "/tm"#);
    assert!(t.parse_arguments().is_err());
    assert_eq!(c.finish_reason, Some(FinishReason::Length));
}

#[test]
fn identity_change_is_deterministic() {
    // A new id at the same index opens a new call.
    let c = run(&[
        tools(r#"[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]"#),
        tools(r#"[{"index":0,"id":"b","function":{"name":"g","arguments":"{}"}}]"#),
    ])
    .unwrap();
    assert_eq!(c.message.tool_calls.len(), 2);
    // A new name with no new id is a malformed stream.
    let err = run(&[
        tools(r#"[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]"#),
        tools(r#"[{"index":0,"function":{"name":"g"}}]"#),
    ])
    .unwrap_err();
    assert!(
        err.malformed_chunk()
            .is_some_and(|m| m.message.contains("changed its name")),
        "{err:?}"
    );
}

#[test]
fn finish_returns_ordered_calls_with_id_name_and_raw_arguments() {
    let c = run(&[
        tools(r#"[{"index":0,"id":"c0","function":{"name":"a","arguments":"{\"x\":1}"}},{"index":1,"id":"c1","function":{"name":"b","arguments":"[1,"}}]"#),
        tools(r#"[{"index":1,"function":{"arguments":"2]"}}]"#),
        finish("tool_calls"),
    ])
    .unwrap();
    let calls = &c.message.tool_calls;
    assert_eq!(calls.iter().map(|t| t.index).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(
        calls[0].parse_arguments().unwrap(),
        serde_json::json!({"x": 1})
    );
    assert_eq!(calls[1].arguments_as::<Vec<u8>>().unwrap(), [1, 2]);
}

#[test]
fn limit_tool_calls_per_response() {
    let chunks: Vec<String> = (0..129)
        .map(|i| {
            tools(&format!(
                r#"[{{"index":{i},"id":"c{i}","function":{{"name":"f"}}}}]"#
            ))
        })
        .collect();
    let err = run(&chunks).unwrap_err();
    assert_eq!(
        err.limit().map(|l| (l.kind, l.limit)),
        Some((LimitKind::ToolCalls, 128))
    );
    // The calls before the limit are kept.
    assert_eq!(err.partial().unwrap().message.tool_calls.len(), 128);
    assert!(run(&chunks[..128]).is_ok());
}

#[test]
fn limit_message_bytes() {
    use dashscope_glm::chat::AccumulatorLimits;
    let mut acc = Accumulator::with_limits(
        Protocol::OpenAiCompatible,
        AccumulatorLimits::default().max_message_bytes(10),
    );
    acc.push_data(&delta(r#"{"content":"0123456789"}"#))
        .unwrap();
    let err = acc.push_data(&delta(r#"{"content":"x"}"#)).unwrap_err();
    assert_eq!(
        err.limit().map(|l| (l.kind, l.limit)),
        Some((LimitKind::MessageBytes, 10))
    );
    assert_eq!(
        err.partial().map(|c| c.message.content.as_str()),
        Some("0123456789"),
        "a limit error carries what was merged before it, nothing of the chunk past it"
    );
    // One budget for every text: reasoning and arguments count with the content.
    let mut acc = Accumulator::with_limits(
        Protocol::OpenAiCompatible,
        AccumulatorLimits::default().max_message_bytes(10),
    );
    acc.push_data(&delta(r#"{"reasoning_content":"think"}"#))
        .unwrap();
    acc.push_data(&delta(
        r#"{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]}"#,
    ))
    .unwrap();
    acc.push_data(&delta(r#"{"content":"abc"}"#)).unwrap();
    let err = acc.push_data(&delta(r#"{"content":"d"}"#)).unwrap_err();
    assert_eq!(err.limit().map(|l| l.kind), Some(LimitKind::MessageBytes));
}

#[test]
fn after_done_further_events_are_ignored() {
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    acc.push_data(&delta(r#"{"content":"a"}"#)).unwrap();
    acc.push_data("[DONE]").unwrap();
    acc.push_data(&delta(r#"{"content":"b"}"#)).unwrap();
    assert_eq!(acc.finish().unwrap().message.content, "a");
}

#[test]
fn other_choices_are_counted_not_merged() {
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    acc.push_data(
        r#"{"choices":[{"index":1,"delta":{"content":"B"}},{"index":0,"delta":{"content":"A"}}]}"#,
    )
    .unwrap();
    assert_eq!(acc.completion().message.content, "A");
    assert_eq!(acc.ignored_choices(), 1);
}

#[test]
fn tracked_arguments_show_the_best_value_as_they_stream() {
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible).track_arguments(true);
    let pieces = [
        r#"{\"path\": \"no"#,
        r#"te.txt\", \"text\": \"line1\\"#,
        r#"nline2 \\u2713\"}"#,
    ];
    let mut seen = Vec::new();
    acc.push_data(&tools(
        r#"[{"index":0,"id":"c1","function":{"name":"write_file","arguments":""}}]"#,
    ))
    .unwrap();
    assert_eq!(
        acc.tool_arguments(0),
        None,
        "nothing to show before the first byte"
    );
    for piece in pieces {
        acc.push_data(&tools(&format!(
            r#"[{{"index":0,"function":{{"arguments":"{piece}"}}}}]"#
        )))
        .unwrap();
        seen.push(acc.tool_arguments(0).cloned());
    }
    assert_eq!(
        seen,
        [
            Some(serde_json::json!({"path": "no"})),
            Some(serde_json::json!({"path": "note.txt", "text": "line1"})),
            Some(serde_json::json!({"path": "note.txt", "text": "line1\nline2 ✓"})),
        ]
    );
    // The tracker says which string grew in the last chunk.
    let deltas: Vec<_> = acc
        .arguments_tracker(0)
        .unwrap()
        .string_deltas()
        .map(|d| (d.pointer(), d.text().to_owned()))
        .collect();
    assert_eq!(deltas, [("/text".to_owned(), "\nline2 ✓".to_owned())]);
    let c = {
        acc.push_data(&finish("tool_calls")).unwrap();
        acc.finish().unwrap()
    };
    assert_eq!(
        c.message.tool_calls[0].parse_arguments().unwrap(),
        seen[2].clone().unwrap()
    );
    // Without tracking there is no parse.
    let mut plain = Accumulator::new(Protocol::OpenAiCompatible);
    plain
        .push_data(&tools(
            r#"[{"index":0,"id":"c1","function":{"name":"f","arguments":"{}"}}]"#,
        ))
        .unwrap();
    assert_eq!(plain.tool_arguments(0), None);
}

#[test]
fn a_lone_surrogate_in_a_delta_is_a_malformed_chunk_like_serde_json_says() {
    let bad = delta(r#"{"content":"\ud83d!"}"#);
    assert!(serde_json::from_str::<serde_json::Value>(&bad).is_err());
    let err = run(&[delta(r#"{"content":"ok"}"#), bad]).unwrap_err();
    assert!(
        err.malformed_chunk()
            .is_some_and(|m| m.message.contains("surrogate")),
        "{err:?}"
    );
    assert_eq!(
        err.partial().unwrap().message.content,
        "ok",
        "nothing of the bad chunk is kept"
    );
}

/// `push` takes both kinds of SSE item: a comment sets nothing but a status, an event's
/// byte offset reaches a malformed-chunk error, and after a failure a comment repeats
/// the error like any other push.
#[test]
fn push_takes_comments_and_events_with_their_offsets() {
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    let err = push_sse(&mut acc, ": keep-alive\n\ndata: {\"choices\":[\n\n").unwrap_err();
    let chunk = err.malformed_chunk().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(chunk.offset, 14);
    let comment = dashscope_glm::sse::Item::Comment("HTTP_STATUS/200");
    assert_eq!(acc.push(&comment), Err(err));
}

/// `into_owned` keeps every field of every kind of event.
#[test]
fn owned_events_keep_every_field() {
    use dashscope_glm::chat::{OwnedStreamEvent, Usage};
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    acc.push_data(r#"{"choices":[{"index":0,"delta":{"reasoning_content":"r","content":"c","tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#).unwrap();
    let mut owned = Vec::new();
    while let Some(e) = acc.next_event() {
        owned.push(e.into_owned());
    }
    let usage = *acc.completion().usage.as_ref().unwrap();
    assert_eq!((usage.input_tokens, usage.total_tokens), (1, 3));
    assert_eq!(
        owned,
        [
            OwnedStreamEvent::Reasoning("r".into()),
            OwnedStreamEvent::Content("c".into()),
            OwnedStreamEvent::ToolCallStart {
                index: 0,
                id: "call_1".into(),
                name: "f".into()
            },
            OwnedStreamEvent::ToolCallArguments {
                index: 0,
                fragment: "{}".into()
            },
            OwnedStreamEvent::Usage(usage),
            OwnedStreamEvent::Finish(FinishReason::ToolCalls),
        ]
    );
    assert_ne!(OwnedStreamEvent::Usage(Usage::default()), owned[4]);
}

/// `created` is the first chunk's Unix timestamp, when it is an integer; the native
/// protocol has none.
#[test]
fn created_is_the_first_chunks_timestamp() {
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    for created in ["\"soon\"", "1.5", "1761234567", "1761234599"] {
        acc.push_data(&format!(
            r#"{{"id":"chatcmpl-1","created":{created},"model":"glm-5","choices":[{{"index":0,"delta":{{"content":"a"}}}}]}}"#
        ))
        .unwrap();
    }
    acc.push_data("[DONE]").unwrap();
    let c = acc.finish().unwrap();
    assert_eq!(c.created, Some(1_761_234_567));
    assert_eq!(
        (c.id.as_deref(), c.model.as_deref()),
        (Some("chatcmpl-1"), Some("glm-5"))
    );

    let mut native = Accumulator::new(Protocol::DashScope);
    native.push_data(r#"{"output":{"choices":[{"message":{"role":"assistant","content":"a"},"finish_reason":"stop"}]},"request_id":"r"}"#).unwrap();
    assert_eq!(native.finish().unwrap().created, None);
}

/// `Protocol` prints the names the examples take, and reads them back.
#[test]
fn protocol_names_round_trip() {
    for protocol in [Protocol::OpenAiCompatible, Protocol::DashScope] {
        assert_eq!(protocol.to_string().parse::<Protocol>().unwrap(), protocol);
    }
    assert_eq!(Protocol::DashScope.to_string(), "dashscope");
    assert_eq!(" Native ".parse::<Protocol>().unwrap(), Protocol::DashScope);
    let err = "http".parse::<Protocol>().unwrap_err();
    assert!(
        err.config_kind() == Some(dashscope_glm::ConfigKind::Protocol)
            && err.to_string().contains("openai or dashscope"),
        "{err}"
    );
}

/// Every event a list of data payloads gives, rendered, and the completion.
fn events_of(protocol: Protocol, cumulative: bool, payloads: &[&str]) -> (Vec<String>, Completion) {
    let mut acc = Accumulator::new(protocol).cumulative(cumulative);
    let mut out = Vec::new();
    for data in payloads {
        out.extend(events(&mut acc, data));
    }
    (out, acc.finish().unwrap())
}

/// `delta.content` as an array of parts (OpenAI-compatible, streaming): the text parts
/// are merged in order with their escapes resolved, `[]` and `null` add nothing, other
/// parts are left out and counted.
#[test]
fn compatible_content_parts_merge_their_text() {
    let (events, c) = events_of(
        Protocol::OpenAiCompatible,
        false,
        &[
            &delta(r#"{"content":[{"type":"text","text":"Hel"}]}"#),
            &delta(r#"{"content":[]}"#),
            &delta(r#"{"content":null}"#),
            &delta(
                r#"{"content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}},{"type":"text","text":"lo \"w\" \u00e9"},{"text":"!"}]}"#,
            ),
            &delta(r#"{"content":"plain \"escaped\" string"}"#),
            &finish("stop"),
        ],
    );
    assert_eq!(
        events,
        [
            "content:Hel",
            "content:lo \"w\" é!",
            "content:plain \"escaped\" string",
            "finish:stop"
        ]
    );
    assert_eq!(c.message.content, "Hello \"w\" é!plain \"escaped\" string");
    assert_eq!(c.ignored_content_parts, 1);
}

/// `message.content` as an array of parts on the native protocol, streaming
/// (incremental and cumulative): the shape Model Studio's multimodal models send.
#[test]
fn native_content_parts_merge_their_text() {
    let chunk = |parts: &str, finish: &str| {
        format!(
            r#"{{"output":{{"choices":[{{"message":{{"role":"assistant","content":{parts}}},"finish_reason":"{finish}"}}]}},"request_id":"r1"}}"#
        )
    };
    let (events, c) = events_of(
        Protocol::DashScope,
        false,
        &[
            &chunk(
                r#"[{"text":"The "},{"image":"https://example.com/cat.png"},{"text":"cat"}]"#,
                "null",
            ),
            &chunk("[]", "null"),
            &chunk(r#"[{"text":"\n\u732b"}]"#, "stop"),
        ],
    );
    assert_eq!(events, ["content:The cat", "content:\n猫", "finish:stop"]);
    assert_eq!(c.message.content, "The cat\n猫");
    assert_eq!(c.ignored_content_parts, 1);

    let (events, c) = events_of(
        Protocol::DashScope,
        true,
        &[
            &chunk(r#"[{"text":"The "}]"#, "null"),
            &chunk(
                r#"[{"text":"The "},{"text":"cat"},{"audio":"a.wav"}]"#,
                "stop",
            ),
        ],
    );
    assert_eq!(events, ["content:The ", "content:cat", "finish:stop"]);
    assert_eq!(
        (c.message.content.as_str(), c.ignored_content_parts),
        ("The cat", 1)
    );
}

/// A whole non-streaming body with `message.content` as an array of parts, on both
/// protocols, merged as the one chunk of a finished response.
#[test]
fn whole_bodies_with_content_parts() {
    for (protocol, body) in [
        (
            Protocol::OpenAiCompatible,
            r#"{"id":"chatcmpl-9","object":"chat.completion","created":1761234567,"model":"qwen-vl","choices":[{"index":0,"message":{"role":"assistant","content":[{"type":"text","text":"A \"cat\"."}]},"finish_reason":"stop"}]}"#,
        ),
        (
            Protocol::DashScope,
            r#"{"output":{"choices":[{"finish_reason":"stop","message":{"role":"assistant","content":[{"text":"A \"cat\"."},{"box":"<ref>cat</ref>"}]}}]},"usage":{"input_tokens":5,"output_tokens":3},"request_id":"r2"}"#,
        ),
    ] {
        let mut acc = Accumulator::new(protocol);
        acc.push_data(body).unwrap();
        acc.push_data("[DONE]").unwrap();
        let c = acc.finish().unwrap();
        assert_eq!(c.message.content, "A \"cat\".", "{protocol:?}");
        assert_eq!(c.finish_reason, Some(FinishReason::Stop));
        let ignored = u64::from(protocol == Protocol::DashScope);
        assert_eq!(c.ignored_content_parts, ignored, "{protocol:?}");
    }
}

/// Odd parts are left out and counted, never an error: a part that is not an object, a
/// `text` that is not a string, a typed part that is not text. Content that is neither
/// a string nor an array is still a malformed chunk.
#[test]
fn odd_content_parts_are_counted_and_bad_content_is_malformed() {
    let (events, c) = events_of(
        Protocol::OpenAiCompatible,
        false,
        &[
            &delta(
                r#"{"content":["bare",7,null,[1,[2]],{"text":5},{"type":"refusal","text":"no"},{"text":"ok"}]}"#,
            ),
            "[DONE]",
        ],
    );
    assert_eq!(events, ["content:ok"]);
    assert_eq!(c.ignored_content_parts, 6);

    for content in [r#"{"text":"x"}"#, "7", "true"] {
        let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
        let err = acc
            .push_data(&delta(&format!(r#"{{"content":{content}}}"#)))
            .unwrap_err();
        assert!(err.kind() == ErrorKind::Malformed, "{content}: {err:?}");
    }
}

/// One chunk whose choice 0 has a content string with escapes and whose choice 1 has a
/// content array (the decoder's second way of reading content meets the first's case).
#[test]
fn escaped_string_content_beside_a_content_array_elsewhere() {
    let data = r#"{"choices":[{"index":1,"delta":{"content":[{"text":"other"}]}},{"index":0,"delta":{"content":"a \"quoted\" word"}}]}"#;
    let (events, c) = events_of(Protocol::OpenAiCompatible, false, &[data, "[DONE]"]);
    assert_eq!(events, ["content:a \"quoted\" word"]);
    assert_eq!(c.ignored_content_parts, 0);
}
