//! The generated GLM-like streams the benches share: deterministic (a tiny xorshift, no
//! rand crate), in the native and the OpenAI-compatible shape, about a quarter of the
//! words Chinese, with escapes.
#![allow(dead_code, reason = "each bench uses a different subset")]
#![allow(unreachable_pub, reason = "items of a module included by benches")]

/// A tiny deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "the",
    "user",
    "asks",
    "for",
    "a",
    "function",
    "that",
    "returns",
    "weather",
    "in",
    "Hangzhou",
    "so",
    "I",
    "should",
    "call",
    "tool",
    "with",
    "city",
    "parameter",
    "then",
    "answer",
    "briefly",
    "杭州",
    "天气",
    "晴朗",
    "，",
    "温度",
    "摄氏度",
    "。",
    "\\n",
    "\\\"ok\\\"",
];

fn phrase(rng: &mut Rng, max_words: u64) -> String {
    let n = 1 + rng.below(max_words);
    let mut s = String::new();
    for _ in 0..n {
        s.push(' ');
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    s
}

/// A native-protocol stream (`id`, `event:result`, `:HTTP_STATUS/200`, `data:`) with
/// reasoning, content and tool-argument deltas, like the transcripts in `tests/data/transcripts/`.
pub fn native_stream(events: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = String::new();
    let rid = "5c0a7e1b-3f2d-9a41-b8c6-0d2e4f6a8b10";
    for i in 1..=events {
        let (reasoning, content, tool) = match i * 10 / events {
            0..=4 => (phrase(&mut rng, 4), String::new(), None),
            5..=7 => (String::new(), phrase(&mut rng, 4), None),
            _ => (String::new(), String::new(), Some(phrase(&mut rng, 3))),
        };
        let message = match tool {
            None => format!(
                r#"{{"content":"{content}","reasoning_content":"{reasoning}","role":"assistant"}}"#
            ),
            Some(args) => format!(
                r#"{{"content":"","role":"assistant","tool_calls":[{{"index":0,"id":"","type":"function","function":{{"arguments":"{args}"}}}}]}}"#
            ),
        };
        let finish = if i == events { "stop" } else { "null" };
        out.push_str(&format!(
            "id:{i}\nevent:result\n:HTTP_STATUS/200\ndata:{{\"output\":{{\"choices\":[{{\"message\":{message},\"index\":0,\"finish_reason\":\"{finish}\"}}]}},\"usage\":{{\"total_tokens\":{},\"output_tokens\":{i},\"input_tokens\":10}},\"request_id\":\"{rid}\"}}\n\n",
            10 + i
        ));
    }
    out.into_bytes()
}

/// The same deltas in the OpenAI-compatible shape (`data: {...}` then a blank line).
pub fn compat_stream(events: usize) -> Vec<u8> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut out = String::new();
    for i in 1..=events {
        let delta = match i * 10 / events {
            0..=4 => format!(r#"{{"reasoning_content":"{}"}}"#, phrase(&mut rng, 4)),
            5..=7 => format!(r#"{{"content":"{}"}}"#, phrase(&mut rng, 4)),
            _ => format!(
                r#"{{"tool_calls":[{{"index":0,"function":{{"arguments":"{}"}}}}]}}"#,
                phrase(&mut rng, 3)
            ),
        };
        out.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-5c0a7e1b-3f2d-9a41-b8c6-0d2e4f6a8b10\",\"object\":\"chat.completion.chunk\",\"created\":1760000000,\"model\":\"glm-5\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":null}}]}}\n\n"
        ));
    }
    out.push_str("data: [DONE]\n\n");
    out.into_bytes()
}

/// One 8 MiB `data:` line (JSON-like ASCII), then a blank line.
pub fn big_event() -> Vec<u8> {
    let mut out = b"data:{\"arguments\":\"".to_vec();
    let mut rng = Rng(7);
    while out.len() < 8 * 1024 * 1024 {
        out.extend_from_slice(WORDS[rng.below(22) as usize].as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(b"\"}\n\n");
    out
}
