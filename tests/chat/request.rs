//! Request bodies for both protocols, exactly; the catalog's rules are in `catalog.rs`.
#![cfg(feature = "chat")]

use dashscope_glm::ErrorKind;
use dashscope_glm::chat::{
    Accumulator, ChatRequest, JsonSchema, Message, Protocol, ReasoningEffort, ResponseFormat, Role,
    Rule, Tool, ToolChoice,
};
use serde_json::{Value, json};

fn body(request: &ChatRequest, protocol: Protocol, stream: bool) -> Value {
    let mut out = Vec::new();
    request.write_body(protocol, stream, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "Current weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    )
}

#[test]
fn openai_streaming_with_default_thinking() {
    let r = ChatRequest::new("glm-5").user("Who are you");
    assert_eq!(
        body(&r, Protocol::OpenAiCompatible, true),
        json!({
            "model": "glm-5",
            "messages": [{"role": "user", "content": "Who are you"}],
            "stream": true,
            "stream_options": {"include_usage": true},
            "enable_thinking": true,
        })
    );
    // Not streaming: no stream fields at all.
    assert_eq!(
        body(&r, Protocol::OpenAiCompatible, false),
        json!({
            "model": "glm-5",
            "messages": [{"role": "user", "content": "Who are you"}],
            "enable_thinking": true,
        })
    );
}

#[test]
fn unknown_model_gets_no_thinking_default() {
    let r = ChatRequest::new("qwen-plus").user("hi");
    let b = body(&r, Protocol::OpenAiCompatible, true);
    assert!(b.get("enable_thinking").is_none(), "{b}");
}

#[test]
fn native_body_every_message_has_its_role() {
    let r = ChatRequest::new("glm-4.7")
        .system("Be brief.")
        .user("Who are you")
        .thinking(false);
    assert_eq!(
        body(&r, Protocol::DashScope, true),
        json!({
            "model": "glm-4.7",
            "input": {"messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Who are you"},
            ]},
            "parameters": {
                "result_format": "message",
                "incremental_output": true,
                "enable_thinking": false,
            },
        })
    );
    let cumulative = r.clone().incremental_output(false);
    assert_eq!(
        body(&cumulative, Protocol::DashScope, true)["parameters"]["incremental_output"],
        false
    );
}

#[test]
fn native_non_streaming_body_has_no_incremental_output() {
    // A whole answer is neither incremental nor cumulative: the key is a stream's only.
    for incremental in [true, false] {
        let r = ChatRequest::new("glm-4.7")
            .user("Who are you")
            .thinking(false)
            .incremental_output(incremental);
        assert_eq!(
            body(&r, Protocol::DashScope, false),
            json!({
                "model": "glm-4.7",
                "input": {"messages": [{"role": "user", "content": "Who are you"}]},
                "parameters": {"result_format": "message", "enable_thinking": false},
            })
        );
        assert_eq!(
            body(&r, Protocol::DashScope, true)["parameters"]["incremental_output"],
            incremental
        );
    }
}

#[test]
fn request_headers_are_kept_in_order_and_checked() {
    let r = ChatRequest::new("glm-5")
        .user("hi")
        .header("X-DashScope-DataInspection", r#"{"input":"disable"}"#)
        .header("X-DashScope-WorkSpace", "ws-1")
        .header("x-dashscope-datainspection", "enable");
    // The same name again (any case) keeps its first place and its last value.
    assert_eq!(
        r.headers().collect::<Vec<_>>(),
        [
            ("X-DashScope-DataInspection", "enable"),
            ("X-DashScope-WorkSpace", "ws-1"),
        ]
    );
    assert!(r.validate().is_ok());
    // Headers are not part of the body.
    assert!(
        !String::from_utf8(serde_json::to_vec(&body(&r, Protocol::DashScope, true)).unwrap())
            .unwrap()
            .contains("ws-1")
    );

    let refused = |name: &str, value: &str| {
        let err = ChatRequest::new("glm-5")
            .user("hi")
            .header(name, value)
            .validate()
            .unwrap_err();
        // A request's header is a rule of the request, not a setting of the client.
        assert_eq!(
            err.rule(),
            Some(Rule::InvalidHeader),
            "{name:?}: expected an invalid-header validation error, got {err:?}"
        );
        let message = err.to_string();
        assert!(!message.contains("sk-secret"), "{message}");
        message
    };
    for owned in [
        "Authorization",
        "authorization",
        "CONTENT-TYPE",
        "X-DashScope-SSE",
        "x-dashscope-sse",
        "Content-Length",
        "Host",
    ] {
        let message = refused(owned, "Bearer sk-secret");
        assert!(message.contains("set by the client"), "{message}");
    }
    for (name, value) in [
        ("", "v"),
        ("X Space", "v"),
        ("X-Colon:", "v"),
        ("X-Ünicode", "v"),
        ("X-Ok", "sk-secret\r\nInjected: 1"),
        ("X-Ok", "sk-secret\n"),
        ("X-Ok", "sk-secret\u{7f}"),
        ("X-Ok", "sk-secret\u{0}"),
    ] {
        let message = refused(name, value);
        assert!(message.contains("not a valid HTTP header"), "{message}");
    }
    // Tabs, spaces and non-ASCII text are valid values.
    assert!(
        ChatRequest::new("glm-5")
            .user("hi")
            .header("X-Ok", "a\tb c é")
            .validate()
            .is_ok()
    );
}

#[test]
fn endpoint_paths_per_protocol() {
    assert_eq!(
        ChatRequest::endpoint_path(Protocol::OpenAiCompatible),
        "/compatible-mode/v1/chat/completions"
    );
    assert_eq!(
        ChatRequest::endpoint_path(Protocol::DashScope),
        "/api/v1/services/aigc/text-generation/generation"
    );
}

#[test]
fn every_parameter_openai_top_level_native_in_parameters() {
    let r = ChatRequest::new("glm-5")
        .user("Weather in Beijing?")
        .thinking(true)
        .thinking_budget(1024)
        .reasoning_effort(ReasoningEffort::High)
        .tool(weather_tool())
        .tool_choice(ToolChoice::Auto)
        .parallel_tool_calls(true)
        .tool_stream(true)
        .temperature(0.5)
        .top_p(0.9)
        .top_k(10)
        .repetition_penalty(1.1)
        .presence_penalty(0.25)
        .max_tokens(100)
        .seed(42)
        .stop(vec!["END", "STOP"])
        .extra("n", 1);
    let params = json!({
        "enable_thinking": true,
        "thinking_budget": 1024,
        "reasoning_effort": "high",
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 10,
        "repetition_penalty": 1.1,
        "presence_penalty": 0.25,
        "max_tokens": 100,
        "seed": 42,
        "stop": ["END", "STOP"],
        "tools": [{"type": "function", "function": {
            "name": "get_weather",
            "description": "Current weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }}],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "tool_stream": true,
        "n": 1,
    });
    let mut openai = json!({
        "model": "glm-5",
        "messages": [{"role": "user", "content": "Weather in Beijing?"}],
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    for (k, v) in params.as_object().unwrap() {
        openai[k] = v.clone();
    }
    assert_eq!(body(&r, Protocol::OpenAiCompatible, true), openai);

    let mut native_params = json!({"result_format": "message", "incremental_output": true});
    for (k, v) in params.as_object().unwrap() {
        native_params[k] = v.clone();
    }
    assert_eq!(
        body(&r, Protocol::DashScope, true),
        json!({
            "model": "glm-5",
            "input": {"messages": [{"role": "user", "content": "Weather in Beijing?"}]},
            "parameters": native_params,
        })
    );
}

#[test]
fn structured_output_shapes() {
    let object = ChatRequest::new("glm-5")
        .user("Reply in JSON")
        .thinking(false)
        .response_format(ResponseFormat::JsonObject);
    assert_eq!(
        body(&object, Protocol::OpenAiCompatible, false)["response_format"],
        json!({"type": "json_object"})
    );
    assert_eq!(
        body(&object, Protocol::DashScope, false)["parameters"]["response_format"],
        json!({"type": "json_object"})
    );
    let schema = ChatRequest::new("glm-5")
        .user("x")
        .thinking(false)
        .response_format(ResponseFormat::JsonSchema(
            JsonSchema::new("answer", json!({"type": "object"})).strict(true),
        ));
    assert_eq!(
        body(&schema, Protocol::OpenAiCompatible, false)["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}})
    );
    let loose = ChatRequest::new("glm-5")
        .user("x")
        .thinking(false)
        .response_format(ResponseFormat::JsonSchema(JsonSchema::new(
            "answer",
            json!({"type": "object"}),
        )));
    assert_eq!(
        body(&loose, Protocol::OpenAiCompatible, false)["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}),
        "no strict unless set"
    );
    let text = ChatRequest::new("glm-5")
        .user("x")
        .response_format(ResponseFormat::Text);
    assert!(!ResponseFormat::Text.is_structured());
    assert!(
        text.validate().is_ok(),
        "text is not refused with thinking on"
    );
    assert_eq!(
        body(&text, Protocol::OpenAiCompatible, false)["response_format"],
        json!({"type": "text"})
    );
    let forced = ChatRequest::new("glm-5")
        .user("x")
        .thinking(false)
        .tool(weather_tool())
        .tool_choice(ToolChoice::function("get_weather"));
    let function = json!({"type": "function", "function": {"name": "get_weather"}});
    assert_eq!(
        body(&forced, Protocol::DashScope, false)["parameters"]["tool_choice"],
        function
    );
    assert_eq!(
        body(&forced, Protocol::OpenAiCompatible, false)["tool_choice"],
        function
    );
    let none = ChatRequest::new("glm-5")
        .user("x")
        .tool_choice(ToolChoice::None);
    assert!(!ToolChoice::None.is_forced() && !ToolChoice::Auto.is_forced());
    assert_eq!(
        body(&none, Protocol::OpenAiCompatible, false)["tool_choice"],
        "none"
    );
}

/// What the setters' and getters' docs say, beyond the full bodies above.
#[test]
fn setters_and_getters() {
    let roles = [Role::System, Role::User, Role::Assistant, Role::Tool].map(Role::as_str);
    assert_eq!(roles, ["system", "user", "assistant", "tool"]);
    let user = Message::user("Who are you");
    assert_eq!(
        (user.role, user.content.as_str()),
        (Role::User, "Who are you")
    );
    assert!(user.tool_calls.is_empty() && user.tool_call_id.is_none() && !user.partial);
    assert_eq!(Message::assistant("I am GLM.").reasoning_content, None);

    // Messages keep their order, appended by value or in place.
    let mut r = ChatRequest::new("glm-4.6").system("Be terse.");
    for question in ["hi", "and now?"] {
        r.push(Message::user(question));
        r.push(Message::assistant("..."));
    }
    assert_eq!(r.model(), "glm-4.6");
    let texts: Vec<&str> = r.messages().iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["Be terse.", "hi", "...", "and now?", "..."]);

    // A tool result on the native protocol.
    let tool = ChatRequest::new("glm-5").message(Message::tool("call_1", r#"{"temp":21}"#));
    assert_eq!(
        body(&tool, Protocol::DashScope, true)["input"]["messages"][0],
        json!({"role": "tool", "content": r#"{"temp":21}"#, "tool_call_id": "call_1"})
    );

    // Content is written verbatim and as UTF-8, in the raw text.
    let mut out = Vec::new();
    ChatRequest::new("glm-5")
        .user(r"a\nb, 你好")
        .write_body(Protocol::OpenAiCompatible, false, &mut out)
        .unwrap();
    let raw = String::from_utf8(out).unwrap();
    assert!(
        raw.contains(r#"{"role":"user","content":"a\\nb, 你好"}"#),
        "{raw}"
    );

    // Tools in the order offered; one stop string is a string, not a list.
    let tools = ChatRequest::new("glm-5")
        .user("hi")
        .tool(weather_tool())
        .tool(Tool::function(
            "get_time",
            "Time",
            json!({"type": "object"}),
        ))
        .stop("END");
    let b = body(&tools, Protocol::DashScope, true);
    assert_eq!(b["parameters"]["tools"][1]["function"]["name"], "get_time");
    assert_eq!(b["parameters"]["stop"], "END");

    // Extra fields keep their first place and their last value.
    let extras = ChatRequest::new("glm-5")
        .extra("n", 1)
        .extra("user", "u-1")
        .extra("n", 2);
    let expected = [
        ("n".to_owned(), json!(2)),
        ("user".to_owned(), json!("u-1")),
    ];
    assert_eq!(extras.extras(), expected);

    // Protocol override and incremental output.
    let r = ChatRequest::new("glm-5");
    assert_eq!(r.protocol(), None);
    assert!(r.is_incremental_output());
    let r = r
        .with_protocol(Protocol::DashScope)
        .incremental_output(false);
    assert_eq!(r.protocol(), Some(Protocol::DashScope));
    assert!(!r.is_incremental_output());

    // Thinking: as set, else the catalog default, else unknown.
    assert_eq!(
        ChatRequest::new("glm-5")
            .thinking(false)
            .effective_thinking(),
        Some(false)
    );
    assert_eq!(ChatRequest::new("glm-4.7").effective_thinking(), Some(true));
    assert_eq!(ChatRequest::new("my-fine-tune").effective_thinking(), None);
}

#[test]
fn multi_turn_with_tool_calls_and_results() {
    let mut acc = Accumulator::new(Protocol::DashScope);
    acc.push_data(r#"{"output":{"choices":[{"message":{"role":"assistant","content":"","reasoning_content":"Need weather.","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Beijing\"}"}}]},"finish_reason":"tool_calls"}]},"request_id":"r1"}"#).unwrap();
    let completion = acc.finish().unwrap();
    let base = ChatRequest::new("glm-5").user("Weather?");
    // A turn that made tool calls goes back with the reasoning that led to them.
    let with = base
        .clone()
        .message(Message::from(&completion))
        .tool_result("call_1", "21C");
    let call = json!({"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Beijing\"}"}});
    let mut native_call = call.clone();
    native_call["index"] = json!(0);
    assert_eq!(
        body(&with, Protocol::OpenAiCompatible, true)["messages"],
        json!([
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": "", "reasoning_content": "Need weather.", "tool_calls": [call]},
            {"role": "tool", "content": "21C", "tool_call_id": "call_1"},
        ])
    );
    assert_eq!(
        body(&with, Protocol::DashScope, true)["input"]["messages"][1],
        json!({"role": "assistant", "content": "", "reasoning_content": "Need weather.", "tool_calls": [native_call]})
    );
    let without = base.message(Message::from(&completion).without_reasoning());
    assert_eq!(
        body(&without, Protocol::OpenAiCompatible, true)["messages"][1],
        json!({"role": "assistant", "content": "", "tool_calls": [call]})
    );
}

/// Extra fields go through verbatim; a collision is a typed error, never a
/// duplicate key and never a panic.
#[test]
fn extra_fields_verbatim_and_collisions_refused() {
    let r = ChatRequest::new("glm-5")
        .user("hi")
        .extra("logprobs", true)
        .extra("metadata", json!({"a": [1, "二"]}))
        .extra("logprobs", false);
    let b = body(&r, Protocol::OpenAiCompatible, true);
    assert_eq!(b["logprobs"], false);
    assert_eq!(b["metadata"], json!({"a": [1, "二"]}));
    assert_eq!(
        body(&r, Protocol::DashScope, true)["parameters"]["metadata"],
        json!({"a": [1, "二"]})
    );
    for key in [
        "temperature",
        "messages",
        "stream",
        "enable_thinking",
        "model",
        "input",
    ] {
        let clash = ChatRequest::new("some-model").user("hi").extra(key, 1);
        let mut out = Vec::new();
        match clash.write_body(Protocol::OpenAiCompatible, true, &mut out) {
            Err(err) if err.kind() == ErrorKind::Validation => {
                assert_eq!(err.rule(), Some(Rule::ExtraCollidesWithField));
                let message = err.to_string();
                assert!(message.contains(key), "{message}");
            }
            other => panic!("{key}: {other:?}"),
        }
        assert!(clash.validate().is_err());
    }
}

/// Content is never rewritten; non-ASCII is written raw.
#[test]
fn content_round_trips_unchanged() {
    let text = "a literal \\n backslash-n, a real\nnewline, a tab\t, quotes \"\" and 杭州 😀";
    let r = ChatRequest::new("glm-5").user(text);
    let mut out = Vec::new();
    r.write_body(Protocol::OpenAiCompatible, true, &mut out)
        .unwrap();
    let raw = String::from_utf8(out.clone()).unwrap();
    assert!(raw.contains("杭州 😀"), "non-ASCII written raw: {raw}");
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["messages"][0]["content"], text);
}

#[test]
fn write_body_reuses_the_buffer() {
    let r = ChatRequest::new("glm-5").user("hi");
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(b"garbage");
    let ptr = out.as_ptr();
    r.write_body(Protocol::OpenAiCompatible, true, &mut out)
        .unwrap();
    assert!(out.starts_with(b"{\"model\""));
    assert_eq!(out.as_ptr(), ptr, "no reallocation");
}

#[test]
fn validation_error_names_the_rule() {
    let err = ChatRequest::new("glm-4.6")
        .user("x")
        .max_tokens(99_999)
        .validate()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("max_tokens_above_limit"), "{text}");
    assert!(text.contains("99999") && text.contains("16384"), "{text}");
    assert!(!err.is_retryable());
}
