//! [`ChatRequest`]: what to ask, and its serialization for both protocols.
//!
//! The builder holds every field Model Studio documents for GLM; fields it does not
//! model go through [`ChatRequest::extra`]. [`ChatRequest::write_body`] serializes into
//! a caller's buffer (cleared first, its capacity reused) in the shape of either
//! protocol:
//!
//! ```text
//! OpenAI-compatible  {"model", "messages": [...], "stream": true,
//!                     "stream_options": {"include_usage": true},      (streaming only)
//!                     "enable_thinking", "thinking_budget", "top_k",
//!                     "repetition_penalty", "tool_stream", ...,        (top level)
//!                     <extra fields>}
//! native (DashScope) {"model", "input": {"messages": [...]},
//!                     "parameters": {"result_format": "message",
//!                                    "incremental_output": true, ..., <extra fields>}}
//! ```
//!
//! Strings are written as UTF-8 (no `\u` escapes for non-ASCII) and content is never
//! rewritten: a literal backslash-n stays two characters.
mod body;
mod builder;
mod format;
mod message;
mod tool;
mod validate;

pub use builder::ChatRequest;
pub use format::{JsonSchema, ResponseFormat, Stop};
pub use message::{Message, Role};
pub use tool::{Tool, ToolChoice};
