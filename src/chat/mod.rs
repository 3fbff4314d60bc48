//! The chat layer: requests and the model catalog, wire chunks of both protocols, the
//! delta merger, and the owned result types.
//!
//! [`ChatRequest`] builds and serializes a request for either protocol; [`Model`]
//! knows the GLM models' limits and refuses what they would reject. [`Accumulator`]
//! takes one response's SSE events (from [`crate::sse::Decoder`] or any other SSE
//! parser) and lends protocol-neutral [`StreamEvent`]s; at the end it gives a
//! [`Completion`]. Nothing here reads a socket, a clock or a thread.

mod merge;
mod model;
mod request;
mod stream;
mod types;
mod wire;

pub use merge::{Accumulator, Limits, StreamEvent};
pub use model::{Capabilities, Model, ModelDefaults, ModelLimits, Rule};
pub use request::{ChatRequest, JsonSchema, Message, ResponseFormat, Role, Stop, Tool, ToolChoice};
pub use stream::StreamDecoder;
pub use types::{AssistantMessage, Completion, FinishReason, Protocol, ToolCall, Usage};

/// What an error body said: `{"code","message","request_id"}` or `{"error":{...}}`.
#[cfg(feature = "blocking")]
pub(crate) struct ParsedError {
    pub(crate) code: Option<String>,
    pub(crate) message: String,
    pub(crate) request_id: Option<String>,
}

/// Reads an error body in either shape (code a string or a number); `None` when it is
/// not JSON or not an error.
#[cfg(feature = "blocking")]
pub(crate) fn parse_error_body(body: &str) -> Option<ParsedError> {
    let mut chunk = wire::WireChunk::default();
    wire::decode(body.trim(), &mut chunk).ok()?;
    if !chunk.has_error {
        return None;
    }
    Some(ParsedError {
        code: (!chunk.error_code.is_empty()).then(|| chunk.error_code.clone()),
        message: chunk.error_message.clone(),
        request_id: (!chunk.request_id.is_empty()).then(|| chunk.request_id.clone()),
    })
}
