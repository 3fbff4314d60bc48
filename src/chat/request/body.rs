//! The request body, written as JSON for either protocol.

use serde_json::Value;

use crate::chat::catalog::{self, Catalog};
use crate::chat::{ChatRequest, Protocol, ResponseFormat, Stop, ToolChoice};
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
        let mut w = JsonWriter { out };
        match protocol {
            Protocol::DashScope => {
                w.raw("{\"model\":");
                w.string(&self.model);
                w.raw(",\"input\":{\"messages\":");
                self.write_messages(&mut w, true);
                w.raw("},\"parameters\":{\"result_format\":\"message\"");
                // Only a stream is incremental or cumulative; a whole answer is neither.
                if stream {
                    w.key("incremental_output");
                    w.raw(if self.incremental_output {
                        "true"
                    } else {
                        "false"
                    });
                }
                self.write_parameters(catalog, &mut w);
                w.raw("}}");
            }
            // The OpenAI-compatible shape is the default for protocols added later.
            _ => {
                w.raw("{\"model\":");
                w.string(&self.model);
                w.raw(",\"messages\":");
                self.write_messages(&mut w, false);
                if stream {
                    w.raw(",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
                }
                self.write_parameters(catalog, &mut w);
                w.raw("}");
            }
        }
        Ok(())
    }

    /// Every parameter after the protocol's fixed ones, each preceded by a comma.
    fn write_parameters(&self, catalog: &Catalog, w: &mut JsonWriter<'_>) {
        if let Some(thinking) = self.thinking_in(catalog) {
            w.key("enable_thinking");
            w.value(&Value::Bool(thinking));
        }
        if let Some(n) = self.thinking_budget {
            w.key("thinking_budget");
            w.value(&Value::from(n));
        }
        if let Some(effort) = &self.reasoning_effort {
            w.key("reasoning_effort");
            w.string(effort.as_str());
        }
        for (key, value) in [("temperature", self.temperature), ("top_p", self.top_p)] {
            if let Some(v) = value {
                w.key(key);
                w.value(&Value::from(v));
            }
        }
        if let Some(k) = self.top_k {
            w.key("top_k");
            w.value(&Value::from(k));
        }
        for (key, value) in [
            ("repetition_penalty", self.repetition_penalty),
            ("presence_penalty", self.presence_penalty),
        ] {
            if let Some(v) = value {
                w.key(key);
                w.value(&Value::from(v));
            }
        }
        if let Some(n) = self.max_tokens {
            w.key("max_tokens");
            w.value(&Value::from(n));
        }
        if let Some(seed) = self.seed {
            w.key("seed");
            w.value(&Value::from(seed));
        }
        match &self.stop {
            Some(Stop::One(s)) => {
                w.key("stop");
                w.string(s);
            }
            Some(Stop::Many(v)) => {
                w.key("stop");
                w.raw("[");
                for (i, s) in v.iter().enumerate() {
                    if i > 0 {
                        w.raw(",");
                    }
                    w.string(s);
                }
                w.raw("]");
            }
            None => {}
        }
        if !self.tools.is_empty() {
            w.key("tools");
            w.raw("[");
            for (i, tool) in self.tools.iter().enumerate() {
                if i > 0 {
                    w.raw(",");
                }
                w.raw("{\"type\":\"function\",\"function\":{\"name\":");
                w.string(&tool.name);
                w.raw(",\"description\":");
                w.string(&tool.description);
                w.raw(",\"parameters\":");
                w.value(&tool.parameters);
                w.raw("}}");
            }
            w.raw("]");
        }
        match &self.tool_choice {
            Some(ToolChoice::Auto) => {
                w.key("tool_choice");
                w.raw("\"auto\"");
            }
            Some(ToolChoice::None) => {
                w.key("tool_choice");
                w.raw("\"none\"");
            }
            Some(ToolChoice::Function(name)) => {
                w.key("tool_choice");
                w.raw("{\"type\":\"function\",\"function\":{\"name\":");
                w.string(name);
                w.raw("}}");
            }
            None => {}
        }
        for (key, value) in [
            ("parallel_tool_calls", self.parallel_tool_calls),
            ("tool_stream", self.tool_stream),
        ] {
            if let Some(v) = value {
                w.key(key);
                w.value(&Value::Bool(v));
            }
        }
        match &self.response_format {
            Some(ResponseFormat::Text) => {
                w.key("response_format");
                w.raw("{\"type\":\"text\"}");
            }
            Some(ResponseFormat::JsonObject) => {
                w.key("response_format");
                w.raw("{\"type\":\"json_object\"}");
            }
            Some(ResponseFormat::JsonSchema(s)) => {
                w.key("response_format");
                w.raw("{\"type\":\"json_schema\",\"json_schema\":{\"name\":");
                w.string(&s.name);
                w.raw(",\"schema\":");
                w.value(&s.schema);
                if let Some(strict) = s.strict {
                    w.raw(",\"strict\":");
                    w.value(&Value::Bool(strict));
                }
                w.raw("}}");
            }
            None => {}
        }
        for (key, value) in &self.extra {
            w.key(key);
            w.value(value);
        }
    }

    fn write_messages(&self, w: &mut JsonWriter<'_>, native: bool) {
        w.raw("[");
        for (i, m) in self.messages.iter().enumerate() {
            if i > 0 {
                w.raw(",");
            }
            w.raw("{\"role\":");
            w.string(m.role.as_str());
            w.raw(",\"content\":");
            w.string(&m.content);
            if let Some(reasoning) = m.reasoning_to_send() {
                w.raw(",\"reasoning_content\":");
                w.string(reasoning);
            }
            if !m.tool_calls.is_empty() {
                w.raw(",\"tool_calls\":[");
                for (j, call) in m.tool_calls.iter().enumerate() {
                    if j > 0 {
                        w.raw(",");
                    }
                    w.raw("{\"id\":");
                    w.string(&call.id);
                    w.raw(",\"type\":\"function\"");
                    if native {
                        w.raw(",\"index\":");
                        w.value(&Value::from(call.index));
                    }
                    w.raw(",\"function\":{\"name\":");
                    w.string(&call.name);
                    w.raw(",\"arguments\":");
                    w.string(&call.arguments);
                    w.raw("}}");
                }
                w.raw("]");
            }
            if let Some(id) = &m.tool_call_id {
                w.raw(",\"tool_call_id\":");
                w.string(id);
            }
            if m.partial {
                w.raw(",\"partial\":true");
            }
            w.raw("}");
        }
        w.raw("]");
    }
}

/// Appends JSON text to a byte buffer. Every writer here follows a `{` plus at least
/// one member, so [`key`](JsonWriter::key) always writes the separating comma.
struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl JsonWriter<'_> {
    fn raw(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
    }

    fn key(&mut self, key: &str) {
        self.raw(",");
        self.string(key);
        self.raw(":");
    }

    fn string(&mut self, s: &str) {
        // Writing to a Vec cannot fail, and a &str always serializes.
        let _ = serde_json::to_writer(&mut *self.out, s);
    }

    fn value(&mut self, v: &Value) {
        // As above. A non-finite float inside a Value would be `null`: the sampling
        // check refuses those before a body is written.
        let _ = serde_json::to_writer(&mut *self.out, v);
    }
}
