//! An agent's step: the assistant's turn and the results of its tool calls, appended in
//! one call ([`ChatRequest::push_turn`]).

use crate::chat::{ChatRequest, Message, ToolCall};

impl ChatRequest {
    /// Appends an assistant turn and then one tool result for each tool call it made:
    /// `run` is called once per call, in the calls' order, and what it returns is sent
    /// as that call's result (a [`Message::tool`] under the call's id). This is the step
    /// of an agent loop, after [`Completion::wants_tool_results`](crate::chat::Completion::wants_tool_results).
    ///
    /// `turn` is usually the [`Completion`](crate::chat::Completion) itself, moved: its
    /// turn keeps the reasoning that led to the calls, which GLM reads back
    /// ([`KeepReasoning`](crate::chat::KeepReasoning)); pass a [`Message`] to choose
    /// otherwise ([`Message::from_completion`]). A turn without tool calls is appended
    /// alone, and `run` is not called.
    ///
    /// Since each call gets exactly one result, a result cannot be missing, doubled or
    /// sent under another call's id. A tool that fails should return an error text the
    /// model can read (`{"error": "..."}`): the model then decides what to do. Results
    /// computed beforehand (in parallel, say) are looked up by
    /// [`call.id`](ToolCall::id) in `run`.
    ///
    /// # Example
    ///
    /// This example answers a turn that called two tools, and shows the messages it
    /// appends.
    ///
    /// ```
    /// use dashscope_glm::chat::{Accumulator, ChatRequest, Protocol, Role};
    ///
    /// let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    /// acc.push_data(r#"{"choices":[{"index":0,"delta":{"reasoning_content":"Two cities.","tool_calls":[
    ///     {"index":0,"id":"call_a","function":{"name":"get_weather","arguments":"{\"city\":\"Beijing\"}"}},
    ///     {"index":1,"id":"call_b","function":{"name":"get_weather","arguments":"{\"city\":\"Shanghai\"}"}}
    /// ]},"finish_reason":"tool_calls"}]}"#)?;
    /// let completion = acc.finish()?;
    /// assert!(completion.wants_tool_results());
    ///
    /// let mut request = ChatRequest::new("glm-5").user("Weather in Beijing and Shanghai?");
    /// request.push_turn(completion, |call| format!("sunny in {}", call.arguments));
    ///
    /// let m = request.messages();
    /// assert_eq!(m.len(), 4);
    /// assert_eq!(m[1].role, Role::Assistant);
    /// assert_eq!(m[1].reasoning_content.as_deref(), Some("Two cities."));
    /// assert_eq!(m[2].tool_call_id.as_deref(), Some("call_a"));
    /// assert_eq!(m[2].content, r#"sunny in {"city":"Beijing"}"#);
    /// assert_eq!(m[3].tool_call_id.as_deref(), Some("call_b"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn push_turn<F, S>(&mut self, turn: impl Into<Message>, mut run: F)
    where
        F: FnMut(&ToolCall) -> S,
        S: Into<String>,
    {
        let turn = turn.into();
        let results: Vec<Message> = turn
            .tool_calls
            .iter()
            .map(|call| Message::tool(call.id.as_str(), run(call)))
            .collect();
        self.messages.reserve(1 + results.len());
        self.messages.push(turn);
        self.messages.extend(results);
    }
}
