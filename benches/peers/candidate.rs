//! The crate under test (dashscope-glm), through its public API, for the side-by-side
//! benchmark kit (a separate project; `benches/README.md` says how to run it). A copy of
//! the kit's own candidate file adapted to the 0.1 API (`json::PartialJson`); not built
//! by this crate's cargo.
//!
//! Each function does what a user of the crate's public API would do, nothing tuned for
//! the harness: stage 2 is `sse::Decoder`, stage 3 `chat::StreamDecoder` (decoder +
//! wire chunks + merger) ending in a `Completion`, stage 4 `PartialJson` with `value()`
//! read after every fragment.

use crate::decode::{Merged, ToolAcc};
use candidate::chat::{FinishReason, Protocol, StreamDecoder};
use candidate::sse::{Decoder, Item};
use candidate::json::PartialJson;

pub const NAME: &str = "CANDIDATE";

/// Stage 2 — SSE framing only.
pub fn frame(buf: &[u8], read: usize, sink: &mut dyn FnMut(&str)) -> Option<()> {
    let mut d = Decoder::new();
    for c in buf.chunks(read) {
        d.feed(c);
        while let Some(item) = d.next_item() {
            if let Item::Event(ev) = item.expect("sse error") {
                sink(ev.data());
            }
        }
    }
    d.finish().expect("sse finish");
    Some(())
}

/// Stage 3 — framing + per-event JSON + delta merging, to a `Completion`.
pub fn full(buf: &[u8], read: usize) -> Option<Merged> {
    let mut s = StreamDecoder::new(Protocol::OpenAiCompatible);
    let mut events = 0u64;
    for c in buf.chunks(read) {
        s.feed(c);
        while let Some(_ev) = s.next_event().expect("stream error") {
            events += 1;
        }
    }
    s.end().expect("end");
    while s.next_event().expect("stream error").is_some() {
        events += 1;
    }
    let c = s.finish().expect("finish");
    let m = Merged {
        role: Some("assistant".into()),
        reasoning: c.message.reasoning_content,
        content: c.message.content,
        tools: c
            .message
            .tool_calls
            .into_iter()
            .map(|t| ToolAcc { id: t.id, name: t.name, arguments: t.arguments })
            .collect(),
        finish_reason: c.finish_reason.map(|f| match f {
            FinishReason::ToolCalls => "tool_calls".to_string(),
            FinishReason::Stop => "stop".to_string(),
            FinishReason::Length => "length".to_string(),
            other => format!("{other:?}"),
        }),
        usage: c.usage.map(|u| (u.input_tokens, u.output_tokens, u.total_tokens)),
        chunks: events,
        done: true, // finish() succeeded: the stream ended as the protocol says ([DONE])
    };
    Some(m)
}

/// Stage 4 — partial tool-argument tracking with a best-so-far view after every fragment.
pub fn partial_args(frags: &[&str]) -> Option<u64> {
    let mut p = PartialJson::new();
    let mut seen = 0u64;
    for f in frags {
        p.push(f).expect("partial json");
        if let Some(v) = p.value() {
            seen = std::hint::black_box(summary(v));
        }
    }
    Some(seen)
}

fn summary(v: &serde_json::Value) -> u64 {
    match v {
        serde_json::Value::Object(o) => {
            o.len() as u64 + o.get("edits").and_then(|e| e.as_array()).map(|a| a.len() as u64).unwrap_or(0)
        }
        _ => 1,
    }
}
