//! The request body, written as JSON for either protocol by serde: the messages, tools
//! and response format through their own `Serialize` impls (the shapes a stored
//! conversation is written in), the rest field by field.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::message::MessageOut;
use crate::chat::catalog::{self, Catalog};
use crate::chat::{ChatRequest, Message, Protocol, Stop, ToolChoice};
use crate::error::Error;

impl ChatRequest {
    /// Serializes the body for `protocol` into `out` (cleared first; its capacity is
    /// reused). `stream` adds `stream: true` and `stream_options.include_usage: true`
    /// on the OpenAI-compatible protocol; the native protocol streams through a header
    /// (`X-DashScope-SSE: enable`), and `stream` adds only
    /// `parameters.incremental_output` to its body.
    ///
    /// Thinking left unset is sent as the built-in catalog's default for the model (see
    /// [`ChatRequest`]). Only the rules of the body itself are checked here (an extra
    /// field colliding with a typed one, a sampling value out of range, which would be
    /// sent as something else or refused); the model rules and the headers are
    /// [`validate`](ChatRequest::validate)'s.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) with
    /// [`Rule::ExtraCollidesWithField`](crate::chat::Rule::ExtraCollidesWithField) or
    /// [`Rule::SamplingOutOfRange`](crate::chat::Rule::SamplingOutOfRange).
    ///
    /// # Example
    ///
    /// This example serializes the same request for the native endpoint.
    ///
    /// ```
    /// use dashscope_glm::chat::{ChatRequest, Protocol};
    ///
    /// let mut body = Vec::new();
    /// ChatRequest::new("glm-4.6")
    ///     .user("Who are you")
    ///     .write_body(Protocol::DashScope, true, &mut body)?;
    /// assert_eq!(
    ///     String::from_utf8(body).unwrap(),
    ///     r#"{"model":"glm-4.6","input":{"messages":[{"role":"user","content":"Who are you"}]},"parameters":{"result_format":"message","incremental_output":true,"enable_thinking":true}}"#
    /// );
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn write_body(
        &self,
        protocol: Protocol,
        stream: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.write_body_with(catalog::builtin_ref(), protocol, stream, out)
    }

    /// [`write_body`](ChatRequest::write_body) with the thinking default taken from
    /// `catalog`, the one the request is validated against
    /// ([`validate_with`](ChatRequest::validate_with)), so that the rules checked and
    /// the body sent agree on whether the model thinks.
    ///
    /// # Errors
    ///
    /// As [`write_body`](ChatRequest::write_body).
    ///
    /// # Example
    ///
    /// This example registers a model that thinks by default, and shows the body saying so.
    ///
    /// ```
    /// use dashscope_glm::chat::{Catalog, ChatRequest, Model, Protocol};
    ///
    /// let catalog = Catalog::builtin().with(Model::new("my-glm").with_default_thinking(true));
    /// let request = ChatRequest::new("my-glm").user("hi");
    /// let mut body = Vec::new();
    /// request.write_body_with(&catalog, Protocol::OpenAiCompatible, false, &mut body)?;
    /// assert!(body.ends_with(br#","enable_thinking":true}"#));
    /// request.write_body(Protocol::OpenAiCompatible, false, &mut body)?;
    /// assert!(!body.windows(15).any(|w| w == b"enable_thinking"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn write_body_with(
        &self,
        catalog: &Catalog,
        protocol: Protocol,
        stream: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.check_sanity()?;
        out.clear();
        let body = Body {
            request: self,
            catalog,
            // The OpenAI-compatible shape is the default for protocols added later.
            native: protocol == Protocol::DashScope,
            stream,
        };
        // Writing to a Vec cannot fail, and every value serializes (a non-finite float
        // would be `null`: the sampling check refuses those first).
        let written = serde_json::to_writer(&mut *out, &body);
        debug_assert!(written.is_ok(), "{written:?}");
        Ok(())
    }
}

/// The body of one request.
struct Body<'a> {
    request: &'a ChatRequest,
    catalog: &'a Catalog,
    native: bool,
    stream: bool,
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.request;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("model", &r.model)?;
        let messages = Messages(&r.messages, self.native);
        if self.native {
            map.serialize_entry("input", &Input { messages })?;
            map.serialize_entry("parameters", &NativeParameters(self))?;
        } else {
            map.serialize_entry("messages", &messages)?;
            if self.stream {
                map.serialize_entry("stream", &true)?;
                map.serialize_entry(
                    "stream_options",
                    &StreamOptions {
                        include_usage: true,
                    },
                )?;
            }
            self.parameters(&mut map)?;
        }
        map.end()
    }
}

impl Body<'_> {
    /// Every parameter after the protocol's fixed ones, each only when set.
    fn parameters<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        let r = self.request;
        entry(map, "enable_thinking", r.thinking_in(self.catalog))?;
        entry(map, "thinking_budget", r.thinking_budget)?;
        entry(
            map,
            "reasoning_effort",
            r.reasoning_effort.as_ref().map(|e| e.as_str()),
        )?;
        entry(map, "temperature", r.temperature)?;
        entry(map, "top_p", r.top_p)?;
        entry(map, "top_k", r.top_k)?;
        entry(map, "repetition_penalty", r.repetition_penalty)?;
        entry(map, "presence_penalty", r.presence_penalty)?;
        entry(map, "max_tokens", r.max_tokens)?;
        entry(map, "seed", r.seed)?;
        match &r.stop {
            Some(Stop::One(s)) => map.serialize_entry("stop", s)?,
            Some(Stop::Many(v)) => map.serialize_entry("stop", v)?,
            None => {}
        }
        entry(map, "tools", (!r.tools.is_empty()).then_some(&r.tools))?;
        match &r.tool_choice {
            Some(ToolChoice::Auto) => map.serialize_entry("tool_choice", "auto")?,
            Some(ToolChoice::None) => map.serialize_entry("tool_choice", "none")?,
            Some(ToolChoice::Function(name)) => {
                let function = Forced {
                    kind: "function",
                    function: ForcedName { name },
                };
                map.serialize_entry("tool_choice", &function)?;
            }
            None => {}
        }
        entry(map, "parallel_tool_calls", r.parallel_tool_calls)?;
        entry(map, "tool_stream", r.tool_stream)?;
        entry(map, "response_format", r.response_format.as_ref())?;
        for (key, value) in &r.extra {
            map.serialize_entry(key, value)?;
        }
        Ok(())
    }
}

/// A member written only when its value is set.
fn entry<M: SerializeMap, T: Serialize>(
    map: &mut M,
    key: &str,
    value: Option<T>,
) -> Result<(), M::Error> {
    value.map_or(Ok(()), |value| map.serialize_entry(key, &value))
}

/// The messages, each with its tool calls' `index` on the native protocol.
struct Messages<'a>(&'a [Message], bool);

impl Serialize for Messages<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|message| MessageOut {
            message,
            native: self.1,
        }))
    }
}

/// The native protocol's `input`.
#[derive(serde::Serialize)]
struct Input<'a> {
    messages: Messages<'a>,
}

/// The native protocol's `parameters`: the result format, whether a stream is
/// incremental (only a stream is incremental or cumulative; a whole answer is neither),
/// then every other parameter.
struct NativeParameters<'a>(&'a Body<'a>);

impl Serialize for NativeParameters<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("result_format", "message")?;
        if self.0.stream {
            map.serialize_entry("incremental_output", &self.0.request.incremental_output)?;
        }
        self.0.parameters(&mut map)?;
        map.end()
    }
}

#[derive(serde::Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// `tool_choice` forcing a function.
#[derive(serde::Serialize)]
struct Forced<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: ForcedName<'a>,
}

#[derive(serde::Serialize)]
struct ForcedName<'a> {
    name: &'a str,
}
