//! The outcome of a stream in the form the expectation files of `tests/data/transcripts/`
//! are written in: the merged message's fields, the finish reason and the usage (with the
//! OpenAI-compatible usage names), or an error as the examples print it. The expectations
//! were written by hand from the transcripts, apart from the crate's serde form, so that
//! a change to that form does not rewrite the oracle.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use dashscope_glm::Error;
use dashscope_glm::chat::Completion;
use serde_json::{Value, json};

use crate::render;

/// A completion in the expectation files' form.
pub(crate) fn view(c: &Completion) -> Value {
    let m = &c.message;
    json!({
        "reasoning_content": m.reasoning_content,
        "content": m.content,
        "tool_calls": m.tool_calls.iter().map(|t| json!({
            "index": t.index,
            "id": t.id,
            "name": t.name,
            "arguments": t.arguments,
        })).collect::<Vec<_>>(),
        "finish_reason": c.finish_reason.as_ref().map(|r| r.as_str()),
        "usage": c.usage.map(|u| json!({
            "prompt_tokens": u.input_tokens,
            "completion_tokens": u.output_tokens,
            "total_tokens": u.total_tokens,
            "reasoning_tokens": u.reasoning_tokens,
            "cached_tokens": u.cached_tokens,
        })),
    })
}

/// A stream's result in the expectation files' form.
pub(crate) fn of(r: &Result<Completion, Error>) -> Value {
    match r {
        Ok(c) => view(c),
        Err(e) => render::error(e),
    }
}

/// What an example printed with `--json`, in the expectation files' form: an error as it
/// is, a completion read back through its serde form.
pub(crate) fn of_printed(printed: &Value) -> Value {
    if printed.get("error").is_some() {
        return printed.clone();
    }
    let completion: Completion = serde_json::from_value(printed.clone())
        .unwrap_or_else(|e| panic!("the printed completion does not read back ({e}): {printed}"));
    view(&completion)
}

/// Every state the merged completion passes through while a stream of `bytes` is read
/// (`request_id` being the response header's), as [`view`]s, from the empty one to the
/// state after the end of the body: a stream stopped at any point (a cancel) carries one
/// of these as its partial completion, and nothing else. States after a decoding error
/// are left out (the stream fails there).
///
/// The bytes are fed a line at a time, since only a line's end can complete an event
/// and change the completion; after each line every event is taken.
pub(crate) fn merged_states(
    protocol: dashscope_glm::chat::Protocol,
    cumulative: bool,
    request_id: &str,
    bytes: &[u8],
) -> Vec<Value> {
    use dashscope_glm::chat::{Accumulator, StreamDecoder};
    let mut stream = StreamDecoder::from_accumulator(
        Accumulator::new(protocol)
            .cumulative(cumulative)
            .request_id(request_id),
    );
    let mut states = vec![view(stream.accumulator().completion())];
    fn push(states: &mut Vec<Value>, stream: &StreamDecoder) {
        let state = view(stream.accumulator().completion());
        if states.last() != Some(&state) {
            states.push(state);
        }
    }
    // Drains the ready events; false after an error.
    fn drain(stream: &mut StreamDecoder) -> bool {
        loop {
            match stream.next_event() {
                Ok(Some(_)) => {}
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    }
    for line in bytes.split_inclusive(|&b| b == b'\n' || b == b'\r') {
        stream.feed(line);
        let ok = drain(&mut stream);
        push(&mut states, &stream);
        if !ok {
            return states;
        }
    }
    if stream.end().is_ok() && drain(&mut stream) {
        push(&mut states, &stream);
    }
    states
}
