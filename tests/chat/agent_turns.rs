//! Agent turns: an assistant turn made from a completion keeps the reasoning that led to
//! its tool calls (and, asked, any other), by value or by reference; both protocols
//! write it on the assistant turn only; `push_turn` appends a turn and its results in
//! the calls' order under their ids; `wants_tool_results` and `tools`.

use dashscope_glm::chat::{
    Accumulator, ChatRequest, Completion, FinishReason, KeepReasoning, Message, Protocol, Role,
    Tool, ToolCall,
};
use serde_json::{Value, json};

fn body(request: &ChatRequest, protocol: Protocol) -> Value {
    let mut out = Vec::new();
    request.write_body(protocol, true, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

/// The messages of a body, wherever the protocol puts them.
fn messages(request: &ChatRequest, protocol: Protocol) -> Vec<Value> {
    let b = body(request, protocol);
    let list = match protocol {
        Protocol::DashScope => &b["input"]["messages"],
        _ => &b["messages"],
    };
    list.as_array().unwrap().clone()
}

const PROTOCOLS: [Protocol; 2] = [Protocol::OpenAiCompatible, Protocol::DashScope];

/// A turn as the merger builds it: thinking, then two tool calls.
fn calling() -> Completion {
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    acc.push_data(r#"{"choices":[{"index":0,"delta":{"reasoning_content":"Two cities: call twice.","tool_calls":[{"index":0,"id":"call_a","function":{"name":"get_weather","arguments":"{\"city\":\"Beijing\"}"}},{"index":1,"id":"call_b","function":{"name":"get_weather","arguments":"{\"city\":\"Shanghai\"}"}}]},"finish_reason":"tool_calls"}]}"#).unwrap();
    acc.finish().unwrap()
}

/// A turn that answers: thinking, then text.
fn answering() -> Completion {
    let mut acc = Accumulator::new(Protocol::DashScope);
    acc.push_data(r#"{"output":{"choices":[{"message":{"role":"assistant","content":"Shanghai is warmer.","reasoning_content":"26 beats 23."},"finish_reason":"stop"}]}}"#).unwrap();
    acc.finish().unwrap()
}

#[test]
fn a_tool_calling_turn_keeps_its_reasoning_by_value_and_by_reference() {
    let c = calling();
    let by_ref = Message::from(&c);
    let by_value = Message::from(c.clone());
    assert_eq!(by_ref, by_value);
    assert_eq!(by_value.role, Role::Assistant);
    assert_eq!(
        by_value.reasoning_content.as_deref(),
        Some("Two cities: call twice.")
    );
    assert_eq!(by_value.content, "");
    assert_eq!(by_value.tool_calls, c.message.tool_calls);
    assert_eq!(
        by_value
            .tool_calls
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        ["call_a", "call_b"]
    );
}

#[test]
fn a_plain_answer_goes_back_without_its_reasoning_by_value_and_by_reference() {
    let c = answering();
    for m in [Message::from(&c), Message::from(c.clone())] {
        assert_eq!(m.content, "Shanghai is warmer.");
        assert_eq!(m.reasoning_content, None);
        assert!(m.tool_calls.is_empty());
    }
}

#[test]
fn each_keep_choice_on_each_kind_of_turn() {
    for (c, tools) in [(calling(), true), (answering(), false)] {
        let reasoning = c.message.reasoning_content.clone();
        for (keep, kept) in [
            (KeepReasoning::WithToolCalls, tools),
            (KeepReasoning::Always, true),
            (KeepReasoning::Never, false),
        ] {
            let m = Message::from_completion(c.clone(), keep);
            assert_eq!(
                m.reasoning_content.as_deref(),
                kept.then_some(reasoning.as_str()),
                "{keep:?} tools={tools}"
            );
            assert_eq!(m.content, c.message.content);
            assert_eq!(m.tool_calls, c.message.tool_calls);
        }
    }
    assert_eq!(KeepReasoning::default(), KeepReasoning::WithToolCalls);
}

/// Thinking off leaves the reasoning empty: nothing to send, under any choice (not
/// `"reasoning_content": ""`).
#[test]
fn an_empty_reasoning_is_never_kept() {
    let mut c = calling();
    c.message.reasoning_content.clear();
    for keep in [KeepReasoning::WithToolCalls, KeepReasoning::Always] {
        assert_eq!(
            Message::from_completion(c.clone(), keep).reasoning_content,
            None
        );
    }
    assert_eq!(Message::from(&c).reasoning_content, None);
    let r = ChatRequest::new("glm-5")
        .user("hi")
        .message(Message::from(c));
    for protocol in PROTOCOLS {
        assert!(messages(&r, protocol)[1].get("reasoning_content").is_none());
    }
}

/// By value, the strings move: the turn holds the completion's own allocations.
#[test]
fn by_value_moves_the_strings() {
    let mut c = calling();
    c.message.content = "Checking both.".into();
    let reasoning = c.message.reasoning_content.as_ptr();
    let content = c.message.content.as_ptr();
    let arguments = c.message.tool_calls[1].arguments.as_ptr();
    let m = Message::from(c);
    assert_eq!(m.reasoning_content.as_deref().unwrap().as_ptr(), reasoning);
    assert_eq!(m.content.as_ptr(), content);
    assert_eq!(m.tool_calls[1].arguments.as_ptr(), arguments);

    let mut plain = answering();
    plain.message.reasoning_content = "Kept on request.".into();
    let reasoning = plain.message.reasoning_content.as_ptr();
    let m = Message::from_completion(plain, KeepReasoning::Always);
    assert_eq!(m.reasoning_content.as_deref().unwrap().as_ptr(), reasoning);
}

#[test]
fn without_and_with_reasoning_override_the_default() {
    assert_eq!(
        Message::from(&calling())
            .without_reasoning()
            .reasoning_content,
        None
    );
    let a = answering();
    let kept = Message::from(&a).with_reasoning(&a.message.reasoning_content);
    assert_eq!(kept.reasoning_content.as_deref(), Some("26 beats 23."));
}

/// Both protocols write the reasoning on the assistant turn, next to its tool calls,
/// and serde writes the same shape.
#[test]
fn both_protocols_send_the_reasoning_on_the_assistant_turn() {
    let mut r = ChatRequest::new("glm-5").user("Warmer: Beijing or Shanghai?");
    r.push_turn(calling(), |call| format!("result of {}", call.id));
    for protocol in PROTOCOLS {
        let m = messages(&r, protocol);
        assert_eq!(m.len(), 4, "{protocol}");
        assert_eq!(m[1]["role"], "assistant");
        assert_eq!(m[1]["reasoning_content"], "Two cities: call twice.");
        assert_eq!(m[1]["tool_calls"][0]["id"], "call_a", "{protocol}");
        assert_eq!(m[1]["tool_calls"][1]["id"], "call_b", "{protocol}");
        for i in [0, 2, 3] {
            assert!(m[i].get("reasoning_content").is_none(), "{protocol} {i}");
        }
    }
    let json = serde_json::to_value(&r.messages()[1]).unwrap();
    assert_eq!(json["reasoning_content"], "Two cities: call twice.");
    assert_eq!(
        serde_json::from_value::<Message>(json).unwrap(),
        r.messages()[1]
    );
}

/// `reasoning_content` is an assistant field: set on another role, it is not sent (on
/// either protocol, nor by serde).
#[test]
fn reasoning_is_sent_on_assistant_turns_only() {
    let r = ChatRequest::new("glm-5")
        .message(Message::system("Be brief.").with_reasoning("stray"))
        .message(Message::user("hi").with_reasoning("stray"))
        .message(Message::assistant("Hello.").with_reasoning("Greet."))
        .message(Message::tool("call_1", "21C").with_reasoning("stray"));
    for protocol in PROTOCOLS {
        let m = messages(&r, protocol);
        let sent: Vec<Option<&str>> = m
            .iter()
            .map(|m| m.get("reasoning_content").and_then(Value::as_str))
            .collect();
        assert_eq!(sent, [None, None, Some("Greet."), None], "{protocol}");
    }
    for (message, sent) in r.messages().iter().zip([false, false, true, false]) {
        let json = serde_json::to_value(message).unwrap();
        assert_eq!(json.get("reasoning_content").is_some(), sent, "{json}");
    }
}

/// `push_turn` appends the turn, then one result per call in the calls' order, each
/// under its call's id, calling `run` once per call in that order.
#[test]
fn push_turn_answers_each_call_in_order_under_its_id() {
    let mut c = calling();
    // Three calls, the last to another tool, the ids not in sorted order.
    c.message.tool_calls[0].id = "call_z".into();
    c.message
        .tool_calls
        .push(ToolCall::new(2, "call_m", "now", ""));
    let mut seen = Vec::new();
    let mut r = ChatRequest::new("glm-5").user("q");
    r.push_turn(c.clone(), |call| {
        seen.push((call.index, call.id.clone()));
        format!("{}:{}", call.name, call.id)
    });
    assert_eq!(
        seen,
        [
            (0, "call_z".to_owned()),
            (1, "call_b".to_owned()),
            (2, "call_m".to_owned())
        ]
    );
    let m = r.messages();
    let roles: Vec<Role> = m.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::Tool,
            Role::Tool
        ]
    );
    assert_eq!(m[1], Message::from(&c));
    for (result, call) in m[2..].iter().zip(&c.message.tool_calls) {
        assert_eq!(result.tool_call_id.as_deref(), Some(call.id.as_str()));
        assert_eq!(result.content, format!("{}:{}", call.name, call.id));
        assert_eq!(result.reasoning_content, None);
    }

    // On the wire too: each tool message names the call it answers.
    let wire = messages(&r, Protocol::DashScope);
    let ids: Vec<&str> = wire[2..]
        .iter()
        .map(|m| m["tool_call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["call_z", "call_b", "call_m"]);
}

/// A turn without calls is appended alone (`run` never called); a `Message` chooses
/// the reasoning; by reference works as well.
#[test]
fn push_turn_with_an_answer_a_message_or_a_reference() {
    let mut r = ChatRequest::new("glm-5").user("q");
    let mut calls = 0;
    r.push_turn(answering(), |_| {
        calls += 1;
        ""
    });
    assert_eq!(calls, 0);
    assert_eq!(r.messages().len(), 2);
    assert_eq!(r.messages()[1].content, "Shanghai is warmer.");

    let mut r = ChatRequest::new("glm-5").user("q");
    r.push_turn(
        Message::from_completion(calling(), KeepReasoning::Never),
        |_| "x",
    );
    assert_eq!(r.messages().len(), 4);
    assert_eq!(r.messages()[1].reasoning_content, None);

    let c = calling();
    let mut by_ref = ChatRequest::new("glm-5").user("q");
    by_ref.push_turn(&c, |call| call.arguments.clone());
    let mut by_value = ChatRequest::new("glm-5").user("q");
    by_value.push_turn(c, |call| call.arguments.clone());
    assert_eq!(by_ref, by_value);
}

/// Three requests of a loop, built from the merger's completions: the third carries the
/// reasoning of both earlier turns, each on its own assistant turn.
#[test]
fn a_loop_carries_every_tool_turns_reasoning() {
    let mut second = Accumulator::new(Protocol::DashScope);
    second.push_data(r#"{"output":{"choices":[{"message":{"role":"assistant","content":"","reasoning_content":"Shanghai is warmer; pack for rain.","tool_calls":[{"index":0,"id":"call_p","type":"function","function":{"name":"packing_list","arguments":"{\"temperature_c\":26,\"rain\":true}"}}]},"finish_reason":"tool_calls"}]}}"#).unwrap();
    let mut r = ChatRequest::new("glm-5").user("Warmer, and what to pack?");
    let mut turns = vec![calling(), second.finish().unwrap(), answering()].into_iter();
    let mut turn = turns.next().unwrap();
    let mut requests = 0;
    while turn.wants_tool_results() {
        r.push_turn(turn, |call| format!("ok {}", call.id));
        requests += 1;
        for protocol in PROTOCOLS {
            let reasoning: Vec<String> = messages(&r, protocol)
                .iter()
                .filter_map(|m| Some(m.get("reasoning_content")?.as_str()?.to_owned()))
                .collect();
            let expected = [
                "Two cities: call twice.",
                "Shanghai is warmer; pack for rain.",
            ];
            assert_eq!(reasoning, expected[..requests], "{protocol}");
        }
        turn = turns.next().unwrap();
    }
    assert_eq!(requests, 2);
    assert_eq!(turn.message.content, "Shanghai is warmer.");
    assert_eq!(r.messages().len(), 1 + 3 + 2);
}

#[test]
fn wants_tool_results_needs_calls_and_a_whole_turn() {
    let call = ToolCall::new(0, "call_1", "now", "");
    for (calls, reason, wants) in [
        (true, Some(FinishReason::ToolCalls), true),
        // Some OpenAI-compatible servers end a tool-calling turn with `stop`.
        (true, Some(FinishReason::Stop), true),
        // Cut or withheld: the arguments may be truncated.
        (true, Some(FinishReason::Length), false),
        (true, Some(FinishReason::ContentFilter), false),
        (true, None, false),
        // Nothing to answer.
        (false, Some(FinishReason::ToolCalls), false),
        (false, Some(FinishReason::Stop), false),
    ] {
        let mut c = Completion::default();
        if calls {
            c.message.tool_calls.push(call.clone());
        }
        c.finish_reason = reason.clone();
        assert_eq!(c.wants_tool_results(), wants, "calls={calls} {reason:?}");
    }
}

#[test]
fn tools_offers_several_after_those_offered_before() {
    let schema = json!({"type": "object", "properties": {}});
    let tool = |name: &str| Tool::function(name, "d", schema.clone());
    let r = ChatRequest::new("glm-5")
        .user("q")
        .tool(tool("a"))
        .tools([tool("b"), tool("c")])
        .tools(Vec::new())
        .tools(std::iter::once(tool("d")));
    for protocol in PROTOCOLS {
        let b = body(&r, protocol);
        let tools = match protocol {
            Protocol::DashScope => &b["parameters"]["tools"],
            _ => &b["tools"],
        };
        let names: Vec<&str> = tools
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["function"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d"], "{protocol}");
    }
}
