//! [`ChatRequest`]: what to ask, and its serialization for both protocols.
//!
//! The builder holds every field Model Studio documents for GLM; fields it does not
//! model go through [`ChatRequest::extra`]. [`ChatRequest::write_body`] serializes into
//! a caller's buffer (cleared first, its capacity reused) in the shape of either
//! protocol (the table on [`ChatRequest`] says where each setter lands):
//!
//! ```text
//! OpenAI-compatible  {"model", "messages": [...],
//!                     "stream": true, "stream_options": {...},   (streaming only)
//!                     <parameters>, <extra fields>}              (top level)
//! native (DashScope) {"model", "input": {"messages": [...]},
//!                     "parameters": {"result_format": "message",
//!                                    "incremental_output" (streaming only),
//!                                    <parameters>,
//!                                    <extra fields>}}
//! ```
//!
//! Strings are written as UTF-8 (no `\u` escapes for non-ASCII) and content is never
//! rewritten: a literal backslash-n stays two characters.
//!
//! One concern per file: `message.rs` (who said what), `tool.rs` (tools and the tool
//! choice), `format.rs` (the answer's shape and stop sequences), `effort.rs` (the
//! reasoning effort), `builder.rs` (the request's fields and setters), `turn.rs` (an
//! agent's turn and its tool results), `validate.rs` (the checks before sending,
//! including [`Model::check`](crate::chat::Model::check), which reads the fields) and
//! `body.rs` (the JSON writer).

mod body;
mod builder;
mod effort;
mod format;
mod message;
mod tool;
mod turn;
mod validate;

pub use builder::ChatRequest;
pub use effort::ReasoningEffort;
pub use format::{JsonSchema, ResponseFormat, Stop};
pub use message::{KeepReasoning, Message, Role};
pub use tool::{Tool, ToolChoice};
pub(crate) use validate::set_header;
