//! The `--json` schema of the `replay` and `chat` examples (the tests read it too):
//!
//! `{"reasoning_content", "content", "tool_calls": [{"index", "id", "name", "arguments"}],
//! "finish_reason", "usage": {"prompt_tokens", "completion_tokens", "total_tokens",
//! "reasoning_tokens", "cached_tokens"} | null}` for a completion, and
//! `{"error": {"kind", "status", "code", "message"}}` for an error.
#![allow(dead_code, reason = "each includer uses a different subset")]

use dashscope_glm::Error;
use dashscope_glm::chat::Completion;
use serde_json::{Value, json};

/// A completion in the examples' `--json` schema.
pub(crate) fn completion(c: &Completion) -> Value {
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

/// An error in the examples' `--json` schema. Kinds: `stream` (the server reported an
/// error inside the stream), `http` (a non-2xx answer: its status, the provider's code
/// or null, its message or the start of its body), `protocol` (the bytes were not a
/// valid stream: framing, malformed chunk, limit), `transport` (the connection failed or
/// the body ended early), `timeout`, `validation` (refused before sending; `code` is the
/// rule), `config`.
pub(crate) fn error(e: &Error) -> Value {
    let (kind, status, code, message) = match e {
        // An API error read from an HTTP error response keeps that response's body.
        Error::Api(api) if api.body.is_some() => (
            "http",
            Some(api.status),
            api.code.clone(),
            api.message.clone(),
        ),
        Error::Api(api) => (
            "stream",
            Some(api.status),
            api.code.clone(),
            api.message.clone(),
        ),
        Error::Http(http) => ("http", Some(http.status), None, e.to_string()),
        Error::Interrupted(_) | Error::Transport(_) => ("transport", None, None, e.to_string()),
        Error::Timeout { .. } => ("timeout", None, None, e.to_string()),
        Error::Validation { rule, .. } => (
            "validation",
            None,
            Some(rule.as_str().to_owned()),
            e.to_string(),
        ),
        Error::Config(_) => ("config", None, None, e.to_string()),
        _ => ("protocol", None, None, e.to_string()),
    };
    json!({"error": {"kind": kind, "status": status, "code": code, "message": message}})
}

/// Either of the above.
pub(crate) fn result(r: &Result<Completion, Error>) -> Value {
    match r {
        Ok(c) => completion(c),
        Err(e) => error(e),
    }
}
