//! The chat layer: wire chunks of both protocols, the delta merger, and the owned result
//! types.
//!
//! [`Accumulator`] takes one response's SSE events (from [`crate::sse::Decoder`] or any
//! other SSE parser) and lends protocol-neutral [`StreamEvent`]s; at the end it gives a
//! [`Completion`]. Nothing here reads a socket, a clock or a thread.

mod merge;
mod stream;
mod types;
mod wire;

pub use merge::{Accumulator, Limits, StreamEvent};
pub use stream::StreamDecoder;
pub use types::{AssistantMessage, Completion, FinishReason, Protocol, ToolCall, Usage};
