//! The `--json` output of the `replay` and `chat` examples: a completion is the
//! `Completion`'s own JSON (its serde form, documented on `chat::Completion`), an error
//! is `{"error": {"kind", "status", "code", "message", "request_id"}}` (see [`error`]).
#![allow(dead_code, reason = "each includer uses a different subset")]

use dashscope_glm::Error;
use dashscope_glm::chat::Completion;
use serde_json::{Value, json};

/// A completion as the examples print it: its serde JSON.
pub(crate) fn completion(c: &Completion) -> Value {
    serde_json::to_value(c)
        .unwrap_or_else(|e| json!({"error": {"kind": "serialize", "message": e.to_string()}}))
}

/// An error in the examples' `--json` schema: `{"error": {"kind", "category", "status",
/// "code", "message", "request_id"}}`. `kind` is [`Error::kind`]'s name: `http` (a
/// non-2xx answer whose body is not an API error), `api` (a non-2xx answer with an API
/// error body), `stream` (an error inside a 2xx response's body), `transport`,
/// `timeout`, `interrupted`, `malformed`, `sse`, `limit`, `validation`, `config`,
/// `cancelled`. `category` is [`Error::category`]'s name (`auth`, `rate_limit`, `quota`,
/// ...: what to do about it). `status` is [`Error::status`]: the HTTP status for `http`
/// and `api`, the status the error event named (or null) for `stream`, else null.
/// `code` is the provider's code (`api`, `stream`) or the broken rule (`validation`),
/// else null. `message` is the provider's message for `api` and `stream`, else the error
/// and its sources joined by `": "`.
pub(crate) fn error(e: &Error) -> Value {
    let (code, message) = match (e.api(), e.rule()) {
        (Some(api), _) => (api.code.clone(), api.message.clone()),
        (None, Some(rule)) => (Some(rule.as_str().to_owned()), chain(e)),
        (None, None) => (None, chain(e)),
    };
    json!({"error": {
        "kind": e.kind().as_str(),
        "category": e.category().as_str(),
        "status": e.status(),
        "code": code,
        "message": message,
        "request_id": e.request_id(),
    }})
}

/// The error and each of its sources, joined by `": "`.
pub(crate) fn chain(e: &Error) -> String {
    let mut text = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(source) = next {
        text.push_str(": ");
        text.push_str(&source.to_string());
        next = source.source();
    }
    text
}

/// Either of the above.
pub(crate) fn result(r: &Result<Completion, Error>) -> Value {
    match r {
        Ok(c) => completion(c),
        Err(e) => error(e),
    }
}
