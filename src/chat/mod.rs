//! The chat layer: requests and the model catalog, wire chunks of both protocols, the
//! delta merger, and the owned result types.
//!
//! [`ChatRequest`] builds and serializes a request for either protocol; [`Model`]
//! knows the GLM models' limits and refuses what they would reject, and a [`Catalog`]
//! holds the models a request is checked against (the built-in ones, and any a user
//! adds or corrects). [`Accumulator`]
//! takes one response's SSE events (from [`crate::sse::Decoder`] or any other SSE
//! parser) and lends protocol-neutral [`StreamEvent`]s; at the end it gives a
//! [`Completion`]. [`StreamDecoder`] joins the SSE decoder and the accumulator, bytes
//! in; [`EventReader`] reads those bytes from any [`std::io::Read`] the caller's
//! transport gives. [`http`] holds the rest of the protocol as data: the HTTP request
//! for a [`ChatRequest`] ([`http::Endpoint`], [`http::HttpRequest`]), an error status and
//! its body mapped to the crate's error ([`http::ResponseHead`]), and the retry decision
//! ([`http::RetryPolicy`]). Nothing here opens a socket or reads a clock or a thread.

mod catalog;
pub mod http;
mod merge;
mod model;
pub(crate) mod reader;
pub(crate) mod request;
mod stream;
mod timings;
mod types;
pub(crate) mod wire;

pub use catalog::Catalog;
pub use merge::{Accumulator, AccumulatorLimits, OwnedStreamEvent, StreamEvent};
pub use model::{Capabilities, Model, ModelDefaults, ModelLimits, Rule};
pub use reader::EventReader;
pub use request::{
    ChatRequest, JsonSchema, KeepReasoning, Message, ReasoningEffort, ResponseFormat, Role, Stop,
    Tool, ToolChoice,
};
pub use stream::StreamDecoder;
pub use timings::Timings;
pub use types::{AssistantMessage, Completion, FinishReason, Protocol, ToolCall, Usage};
