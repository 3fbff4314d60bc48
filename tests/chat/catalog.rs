//! The model catalog: every rule of every built-in entry at and past its limit, the
//! catalog a user extends and corrects, unchecked requests, reasoning_effort in both
//! protocols' bodies, and the sanity rules that hold for every request.

use dashscope_glm::ErrorKind;
use dashscope_glm::chat::{
    Catalog, ChatRequest, JsonSchema, Message, Model, Protocol, ReasoningEffort, ResponseFormat,
    Rule, Tool, ToolChoice,
};
use serde_json::{Value, json};

fn body_with(catalog: &Catalog, request: &ChatRequest, protocol: Protocol) -> Value {
    let mut out = Vec::new();
    request
        .write_body_with(catalog, protocol, false, &mut out)
        .unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn body(request: &ChatRequest, protocol: Protocol) -> Value {
    body_with(&Catalog::builtin(), request, protocol)
}

fn verdict(result: Result<(), dashscope_glm::Error>) -> Option<Rule> {
    match result {
        Ok(()) => None,
        Err(err) => {
            assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
            Some(err.rule().unwrap_or_else(|| panic!("no rule in {err}")))
        }
    }
}

fn rule_of(r: &ChatRequest) -> Option<Rule> {
    verdict(r.validate())
}

fn rule_with(catalog: &Catalog, r: &ChatRequest) -> Option<Rule> {
    verdict(r.validate_with(catalog))
}

fn weather_tool() -> Tool {
    Tool::function("get_weather", "Current weather", json!({"type": "object"}))
}

const LADDER: [ReasoningEffort; 7] = [
    ReasoningEffort::None,
    ReasoningEffort::Minimal,
    ReasoningEffort::Low,
    ReasoningEffort::Medium,
    ReasoningEffort::High,
    ReasoningEffort::XHigh,
    ReasoningEffort::Max,
];

/// Every built-in entry's rules, driven by the entry's own data and checked by
/// behaviour: a request at a limit passes and one past it is refused with that rule; a
/// feature the entry documents as missing is refused and the same request without it
/// passes; what the entry leaves `None` refuses nothing. The verdicts by name are in
/// `builtin_verdicts`, so a change of data shows there.
#[test]
fn every_entry_rule_at_and_past_its_limit() {
    let catalog = Catalog::builtin();
    assert_eq!(catalog.len(), 7);
    for model in &catalog {
        let name = model.name.as_str();
        let base = || ChatRequest::new(name).user("hello");
        let caps = &model.capabilities;
        let lacks =
            |capability: Option<bool>, rule: Rule| (capability == Some(false)).then_some(rule);
        assert_eq!(rule_of(&base()), None, "{name}");
        assert_eq!(verdict(model.check(&base())), None, "{name}");

        // max_tokens: at the limit passes, one past is refused and the message says why;
        // no limit bounds nothing.
        match model.limits.max_response {
            Some(max) => {
                assert_eq!(rule_of(&base().max_tokens(max)), None, "{name}");
                let over = base().max_tokens(max + 1);
                assert_eq!(rule_of(&over), Some(Rule::MaxTokensAboveLimit), "{name}");
                let message = over.validate().unwrap_err().to_string();
                assert!(
                    message.contains(name) && message.contains(&max.to_string()),
                    "{message}"
                );
            }
            None => assert_eq!(rule_of(&base().max_tokens(u32::MAX)), None, "{name}"),
        }

        // thinking_budget: refused outright where not taken, else bounded by the
        // longest chain of thought where one is documented.
        match (caps.thinking_budget, model.limits.max_reasoning) {
            (Some(false), _) => {
                for n in [1, u32::MAX] {
                    let r = base().thinking_budget(n);
                    assert_eq!(rule_of(&r), Some(Rule::ThinkingBudgetUnsupported), "{name}");
                }
            }
            (_, Some(max)) => {
                assert_eq!(rule_of(&base().thinking_budget(max)), None, "{name}");
                assert_eq!(
                    rule_of(&base().thinking_budget(max + 1)),
                    Some(Rule::ThinkingBudgetAboveLimit),
                    "{name}"
                );
            }
            (_, None) => assert_eq!(rule_of(&base().thinking_budget(u32::MAX)), None, "{name}"),
        }

        // reasoning_effort: refused where not taken; else every level passes unless the
        // entry lists its levels, and then exactly the listed ones pass.
        let custom = ReasoningEffort::custom("ultra");
        for level in LADDER.iter().chain([&custom]) {
            let expected = if caps.reasoning_effort == Some(false) {
                Some(Rule::ReasoningEffortUnsupported)
            } else if caps.reasoning_effort_levels.is_empty()
                || caps.reasoning_effort_levels.contains(level)
            {
                None
            } else {
                Some(Rule::ReasoningEffortLevelUnsupported)
            };
            let r = base().reasoning_effort(level.clone());
            assert_eq!(rule_of(&r), expected, "{name} {level}");
        }

        // Tools.
        let tools = base().tool(weather_tool());
        assert_eq!(
            rule_of(&tools),
            lacks(caps.tools, Rule::ToolsUnsupported),
            "{name}"
        );

        // Structured output: refused where not offered; with thinking on, refused where
        // offered only without; with thinking left unset, the entry's default decides.
        let json = base()
            .user("answer in JSON")
            .response_format(ResponseFormat::JsonObject);
        let unsupported = lacks(caps.structured_output, Rule::StructuredOutputUnsupported);
        let with_thinking = unsupported.or(lacks(
            caps.structured_output_with_thinking,
            Rule::StructuredOutputWithThinking,
        ));
        assert_eq!(
            rule_of(&json.clone().thinking(true)),
            with_thinking,
            "{name}"
        );
        assert_eq!(
            rule_of(&json.clone().thinking(false)),
            unsupported,
            "{name}"
        );
        let by_default = match model.defaults.thinking {
            Some(true) => with_thinking,
            _ => unsupported,
        };
        assert_eq!(rule_of(&json), by_default, "{name}");

        // json_object needs the word "json", on every entry that gives structured output.
        if unsupported.is_none() {
            let no_word = base()
                .thinking(false)
                .response_format(ResponseFormat::JsonObject);
            assert_eq!(
                rule_of(&no_word),
                Some(Rule::JsonObjectWithoutJsonWord),
                "{name}"
            );
            assert_eq!(rule_of(&no_word.user("reply with JSON")), None, "{name}");
        }

        // Web search and partial mode: refused exactly where documented as missing.
        let search = lacks(caps.web_search, Rule::WebSearch);
        assert_eq!(
            rule_of(&base().extra("enable_search", true)),
            search,
            "{name}"
        );
        assert_eq!(
            rule_of(&base().extra("enable_search", false)),
            None,
            "{name}"
        );
        let partial = lacks(caps.partial_mode, Rule::PartialMode);
        let prefix = |partial| Message::assistant("Once upon").with_partial(partial);
        assert_eq!(rule_of(&base().message(prefix(true))), partial, "{name}");
        assert_eq!(rule_of(&base().message(prefix(false))), None, "{name}");

        // A forced tool: refused with thinking on where documented; never without.
        let forced = tools.tool_choice(ToolChoice::function("get_weather"));
        let tools_rule = lacks(caps.tools, Rule::ToolsUnsupported);
        let forced_rule = tools_rule.or(lacks(
            caps.forced_tool_choice_with_thinking,
            Rule::ForcedToolChoiceWithThinking,
        ));
        assert_eq!(
            rule_of(&forced.clone().thinking(true)),
            forced_rule,
            "{name}"
        );
        assert_eq!(rule_of(&forced.thinking(false)), tools_rule, "{name}");

        // Thinking left unset: the entry's default, in the rules above and in the body.
        let thinking = model.defaults.thinking;
        assert_eq!(base().effective_thinking(), thinking, "{name}");
        let sent = body(&base(), Protocol::OpenAiCompatible);
        assert_eq!(
            sent.get("enable_thinking").and_then(Value::as_bool),
            thinking,
            "{name}"
        );
    }
}

/// The verdicts each built-in entry gives, by name: what its pages document is enforced,
/// and what is disputed or not documented is let through.
#[test]
fn builtin_verdicts() {
    let r = |name: &str| ChatRequest::new(name).user("hello");
    let json = |name: &str| {
        r(name)
            .user("answer in JSON")
            .response_format(ResponseFormat::JsonObject)
    };
    let search = |name: &str| r(name).extra("enable_search", true);
    let partial = |name: &str| r(name).message(Message::assistant("Once").with_partial(true));
    let forced = |name: &str| {
        r(name)
            .tool(weather_tool())
            .tool_choice(ToolChoice::function("get_weather"))
            .thinking(true)
    };

    // glm-5.3: "128K-token maximum output" read as 131,072; no web search or prefix
    // completion; reasoning_effort at any level (the card does not name them); nothing
    // bounds thinking_budget or forbids JSON while thinking.
    assert_eq!(rule_of(&r("glm-5.3").max_tokens(131_072)), None);
    assert_eq!(
        rule_of(&r("glm-5.3").max_tokens(131_073)),
        Some(Rule::MaxTokensAboveLimit)
    );
    assert_eq!(rule_of(&search("glm-5.3")), Some(Rule::WebSearch));
    assert_eq!(rule_of(&partial("glm-5.3")), Some(Rule::PartialMode));
    assert_eq!(rule_of(&r("glm-5.3").reasoning_effort("minimal")), None);
    assert_eq!(rule_of(&r("glm-5.3").thinking_budget(1_000_000)), None);
    assert_eq!(rule_of(&json("glm-5.3").thinking(true)), None);
    assert_eq!(rule_of(&forced("glm-5.3")), None);

    // glm-5.2: nothing documented on Model Studio is enforceable; everything passes.
    for request in [
        r("glm-5.2").max_tokens(u32::MAX),
        r("glm-5.2").reasoning_effort(ReasoningEffort::XHigh),
        r("glm-5.2").thinking_budget(u32::MAX),
        json("glm-5.2").thinking(true),
        search("glm-5.2"),
        partial("glm-5.2"),
        forced("glm-5.2"),
    ] {
        assert_eq!(rule_of(&request), None, "{request:?}");
    }

    // glm-5: its GLM-page limits; JSON refused while thinking (on by default) but not
    // without (the card's "not at all" is disputed); reasoning_effort not documented.
    assert_eq!(rule_of(&r("glm-5").max_tokens(16_384)), None);
    assert_eq!(
        rule_of(&r("glm-5").max_tokens(16_385)),
        Some(Rule::MaxTokensAboveLimit)
    );
    assert_eq!(rule_of(&r("glm-5").thinking_budget(32_768)), None);
    assert_eq!(
        rule_of(&r("glm-5").thinking_budget(32_769)),
        Some(Rule::ThinkingBudgetAboveLimit)
    );
    assert_eq!(
        rule_of(&json("glm-5")),
        Some(Rule::StructuredOutputWithThinking)
    );
    assert_eq!(rule_of(&json("glm-5").thinking(false)), None);
    let schema =
        r("glm-5").response_format(ResponseFormat::JsonSchema(JsonSchema::new("a", json!({}))));
    assert_eq!(rule_of(&schema), Some(Rule::StructuredOutputWithThinking));
    assert_eq!(rule_of(&search("glm-5")), Some(Rule::WebSearch));
    assert_eq!(
        rule_of(&r("glm-5").extra("search_options", json!({"forced_search": true}))),
        Some(Rule::WebSearch)
    );
    assert_eq!(rule_of(&partial("glm-5")), Some(Rule::PartialMode));
    assert_eq!(
        rule_of(&r("glm-5").extra("partial", true)),
        Some(Rule::PartialMode)
    );
    assert_eq!(
        rule_of(&forced("glm-5")),
        Some(Rule::ForcedToolChoiceWithThinking)
    );
    assert_eq!(
        rule_of(
            &r("glm-5")
                .tool(weather_tool())
                .tool_choice(ToolChoice::None)
        ),
        None
    );
    assert_eq!(
        rule_of(&r("glm-5").reasoning_effort(ReasoningEffort::High)),
        None
    );

    // ZHIPU/GLM-5.3: exactly max, high and low.
    for level in ["max", "high", "low"] {
        assert_eq!(
            rule_of(&r("ZHIPU/GLM-5.3").reasoning_effort(level)),
            None,
            "{level}"
        );
    }
    for level in ["none", "minimal", "medium", "xhigh", "ultra", "MAX"] {
        assert_eq!(
            rule_of(&r("ZHIPU/GLM-5.3").reasoning_effort(level)),
            Some(Rule::ReasoningEffortLevelUnsupported),
            "{level}"
        );
    }
    let message = r("ZHIPU/GLM-5.3")
        .reasoning_effort("minimal")
        .validate()
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("\"minimal\"") && message.contains("max, high, low"),
        "{message}"
    );
    assert_eq!(rule_of(&r("ZHIPU/GLM-5.3").max_tokens(u32::MAX)), None);

    // ZHIPU/GLM-5: 131,072 answer tokens; no thinking_budget at any size; partial mode,
    // JSON and a forced tool while thinking are its pages' or not documented.
    assert_eq!(rule_of(&r("ZHIPU/GLM-5").max_tokens(131_072)), None);
    assert_eq!(
        rule_of(&r("ZHIPU/GLM-5").max_tokens(131_073)),
        Some(Rule::MaxTokensAboveLimit)
    );
    assert_eq!(
        rule_of(&r("ZHIPU/GLM-5").thinking_budget(1)),
        Some(Rule::ThinkingBudgetUnsupported)
    );
    assert_eq!(rule_of(&partial("ZHIPU/GLM-5")), None);
    assert_eq!(rule_of(&json("ZHIPU/GLM-5").thinking(true)), None);
    assert_eq!(rule_of(&forced("ZHIPU/GLM-5")), None);
    assert_eq!(rule_of(&r("ZHIPU/GLM-5").reasoning_effort("max")), None);

    // glm-4.7 and glm-4.6: the GLM page's limits and rules.
    for name in ["glm-4.7", "glm-4.6"] {
        assert_eq!(
            rule_of(&r(name).max_tokens(16_385)),
            Some(Rule::MaxTokensAboveLimit)
        );
        assert_eq!(
            rule_of(&r(name).thinking_budget(32_769)),
            Some(Rule::ThinkingBudgetAboveLimit)
        );
        assert_eq!(
            rule_of(&json(name)),
            Some(Rule::StructuredOutputWithThinking)
        );
        assert_eq!(rule_of(&json(name).thinking(false)), None);
        assert_eq!(
            rule_of(&forced(name)),
            Some(Rule::ForcedToolChoiceWithThinking)
        );
    }

    // Names are exact: another case is a model the catalog does not know.
    assert_eq!(rule_of(&r("zhipu/glm-5").thinking_budget(1)), None);
    assert_eq!(rule_of(&r("GLM-5").max_tokens(u32::MAX)), None);
}

#[test]
fn unknown_models_pass_the_model_rules() {
    let unknown = ChatRequest::new("glm-9-experimental")
        .user("no word here")
        .max_tokens(u32::MAX)
        .thinking_budget(u32::MAX)
        .reasoning_effort("ultra")
        .response_format(ResponseFormat::JsonObject)
        .extra("enable_search", true)
        .tool_choice(ToolChoice::function("f"));
    assert_eq!(rule_of(&unknown), None);
    assert_eq!(rule_with(&Catalog::empty(), &unknown), None);
    // An empty catalog knows nothing, not even glm-5.
    let glm5 = ChatRequest::new("glm-5").user("x").max_tokens(u32::MAX);
    assert_eq!(rule_of(&glm5), Some(Rule::MaxTokensAboveLimit));
    assert_eq!(rule_with(&Catalog::empty(), &glm5), None);
}

/// A model the crate does not know, checked against an entry registered for it; the
/// body follows the same entry's thinking default.
#[test]
fn unknown_model_validated_against_a_registered_entry() {
    let entry = Model::new("glm-9")
        .with_max_response(8_192)
        .with_default_thinking(true)
        .with_structured_output_with_thinking(false)
        .with_reasoning_effort_levels(["fast", "deep"]);
    let catalog = Catalog::builtin().with(entry.clone());
    assert_eq!(catalog.get("glm-9"), Some(&entry));
    assert_eq!(catalog.len(), 8);

    let r = || ChatRequest::new("glm-9").user("answer in json");
    assert_eq!(rule_with(&catalog, &r().max_tokens(8_192)), None);
    assert_eq!(
        rule_with(&catalog, &r().max_tokens(8_193)),
        Some(Rule::MaxTokensAboveLimit)
    );
    assert_eq!(
        rule_of(&r().max_tokens(8_193)),
        None,
        "built-in catalog: unknown"
    );
    assert_eq!(rule_with(&catalog, &r().reasoning_effort("deep")), None);
    assert_eq!(
        rule_with(&catalog, &r().reasoning_effort(ReasoningEffort::Max)),
        Some(Rule::ReasoningEffortLevelUnsupported)
    );
    let json = r().response_format(ResponseFormat::JsonObject);
    assert_eq!(
        rule_with(&catalog, &json),
        Some(Rule::StructuredOutputWithThinking)
    );
    assert_eq!(rule_with(&catalog, &json.clone().thinking(false)), None);
    // Model::check gives the same verdicts without a catalog.
    assert_eq!(
        verdict(entry.check(&json)),
        Some(Rule::StructuredOutputWithThinking)
    );

    // The body sends the registered default only when written against the catalog.
    assert_eq!(
        body_with(&catalog, &r(), Protocol::OpenAiCompatible)["enable_thinking"],
        true
    );
    assert_eq!(
        body_with(&catalog, &r(), Protocol::DashScope)["parameters"]["enable_thinking"],
        true
    );
    assert!(
        body(&r(), Protocol::OpenAiCompatible)
            .get("enable_thinking")
            .is_none()
    );

    // A bare entry knows nothing: only the json_object rule, Model Studio's own, applies.
    let bare = Catalog::empty().with(Model::new("glm-9"));
    let anything = ChatRequest::new("glm-9")
        .user("hi")
        .max_tokens(u32::MAX)
        .thinking_budget(u32::MAX)
        .reasoning_effort("ultra")
        .tool(weather_tool())
        .tool_choice(ToolChoice::function("get_weather"))
        .thinking(true)
        .extra("enable_search", true)
        .message(Message::assistant("Once").with_partial(true));
    assert_eq!(rule_with(&bare, &anything), None);
    let no_word = anything.response_format(ResponseFormat::JsonObject);
    assert_eq!(
        rule_with(&bare, &no_word),
        Some(Rule::JsonObjectWithoutJsonWord)
    );
}

/// Correcting an entry changes the verdict, for the catalog corrected and no other.
#[test]
fn catalog_override_changes_a_verdict() {
    let builtin = Catalog::builtin();
    let glm5 = builtin.get("glm-5").unwrap().clone();
    let mut corrected = builtin.clone();
    let replaced = corrected.insert(glm5.clone().with_max_response(32_768));
    assert_eq!(replaced, Some(glm5.clone()));
    assert_eq!(corrected.len(), builtin.len(), "replaced, not added");
    let names = |c: &Catalog| c.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&corrected), names(&builtin), "in its place");

    let long = ChatRequest::new("glm-5").user("x").max_tokens(32_768);
    assert_eq!(rule_with(&corrected, &long), None);
    assert_eq!(rule_with(&builtin, &long), Some(Rule::MaxTokensAboveLimit));
    assert_eq!(
        rule_of(&long),
        Some(Rule::MaxTokensAboveLimit),
        "the built-in one is untouched"
    );
    assert_eq!(Model::lookup("glm-5"), Some(&glm5));

    // A capability corrected by assigning its field, and one made unknown.
    let mut relaxed = glm5.clone();
    relaxed.capabilities.structured_output_with_thinking = Some(true);
    relaxed.capabilities.web_search = None;
    let relaxed = Catalog::builtin().with(relaxed);
    let json = ChatRequest::new("glm-5")
        .user("answer in JSON")
        .response_format(ResponseFormat::JsonObject);
    assert_eq!(rule_of(&json), Some(Rule::StructuredOutputWithThinking));
    assert_eq!(rule_with(&relaxed, &json), None);
    let search = ChatRequest::new("glm-5")
        .user("x")
        .extra("enable_search", true);
    assert_eq!(rule_with(&relaxed, &search), None);

    // A stricter correction refuses what the built-in entry lets through.
    let strict = Catalog::builtin().with(glm5.clone().with_reasoning_effort(false));
    let effort = ChatRequest::new("glm-5").user("x").reasoning_effort("high");
    assert_eq!(rule_of(&effort), None);
    assert_eq!(
        rule_with(&strict, &effort),
        Some(Rule::ReasoningEffortUnsupported)
    );

    // Removing an entry makes the name unknown.
    let mut without = Catalog::builtin();
    assert_eq!(without.remove("glm-5"), Some(glm5));
    assert_eq!(without.remove("glm-5"), None);
    assert_eq!(rule_with(&without, &long), None);
    assert_eq!(without.len(), builtin.len() - 1);
}

#[test]
fn catalog_is_cheap_to_share_between_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Catalog>();
    shareable::<Model>();

    let catalog = Catalog::builtin().with(Model::new("glm-9").with_max_response(10));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let catalog = catalog.clone();
            std::thread::spawn(move || {
                let r = ChatRequest::new("glm-9").user("x").max_tokens(11);
                rule_with(&catalog, &r)
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), Some(Rule::MaxTokensAboveLimit));
    }
    assert_eq!(Catalog::default(), Catalog::builtin());
    assert!(Catalog::empty().is_empty() && !Catalog::builtin().is_empty());
    let builtin = Catalog::builtin();
    assert!(
        builtin.iter().eq(Model::all()),
        "Model::all() is the built-in catalog"
    );
}

/// Unchecked: the catalog is off for one request, its rules and its defaults, while the
/// sanity rules still hold.
#[test]
fn unchecked_skips_model_rules_but_not_sanity_rules() {
    let r = || ChatRequest::new("glm-5").user("hello");
    let breaking = [
        r().max_tokens(u32::MAX),
        r().thinking_budget(u32::MAX),
        r().response_format(ResponseFormat::JsonObject),
        r().extra("enable_search", true),
        r().message(Message::assistant("Once").with_partial(true)),
        r().tool(weather_tool())
            .tool_choice(ToolChoice::function("get_weather")),
        ChatRequest::new("ZHIPU/GLM-5").user("x").thinking_budget(1),
        ChatRequest::new("ZHIPU/GLM-5.3")
            .user("x")
            .reasoning_effort("minimal"),
    ];
    for request in breaking {
        assert!(rule_of(&request).is_some(), "{request:?}");
        assert!(!request.is_unchecked());
        let unchecked = request.unchecked();
        assert!(unchecked.is_unchecked());
        assert_eq!(rule_of(&unchecked), None, "{unchecked:?}");
        assert_eq!(rule_with(&Catalog::builtin(), &unchecked), None);
    }

    // The sanity rules stay.
    let sane = || r().max_tokens(u32::MAX).unchecked();
    assert_eq!(
        rule_of(&sane().temperature(f64::NAN)),
        Some(Rule::SamplingOutOfRange)
    );
    assert_eq!(rule_of(&sane().top_p(0.0)), Some(Rule::SamplingOutOfRange));
    assert_eq!(
        rule_of(&sane().extra("reasoning_effort", "max")),
        Some(Rule::ExtraCollidesWithField)
    );
    assert_eq!(
        rule_of(&sane().header("Content-Type", "text/plain")),
        Some(Rule::InvalidHeader)
    );

    // No catalog default is sent; what the request sets is.
    let b = body(&r().unchecked(), Protocol::OpenAiCompatible);
    assert!(b.get("enable_thinking").is_none(), "{b}");
    assert_eq!(r().unchecked().effective_thinking(), None);
    let b = body(&r().thinking(true).unchecked(), Protocol::DashScope);
    assert_eq!(b["parameters"]["enable_thinking"], true);
}

/// NaN, the infinities and values just outside the documented range are refused for
/// every float setter, on a catalog model, an unknown one and an unchecked request; the
/// range's ends that are inside pass. write_body refuses them too, so that no `null`
/// is ever written in their place.
#[test]
fn bad_sampling_values_never_leave_the_machine() {
    type Setter = fn(ChatRequest, f64) -> ChatRequest;
    let cases: [(&str, Setter, &[f64], &[f64]); 4] = [
        (
            "temperature",
            ChatRequest::temperature,
            &[0.0, 1.0, 1.999],
            &[-0.001, 2.0, 2.5, -1.0],
        ),
        (
            "top_p",
            ChatRequest::top_p,
            &[1e-9, 0.5, 1.0],
            &[0.0, -0.1, 1.000_001],
        ),
        (
            "presence_penalty",
            ChatRequest::presence_penalty,
            &[-2.0, 0.0, 2.0],
            &[-2.001, 2.001],
        ),
        (
            "repetition_penalty",
            ChatRequest::repetition_penalty,
            &[1e-9, 1.0, 1e6],
            &[0.0, -1.0],
        ),
    ];
    let non_finite = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
    for model in ["glm-5", "my-model"] {
        for unchecked in [false, true] {
            let base = || {
                let r = ChatRequest::new(model).user("hi");
                if unchecked { r.unchecked() } else { r }
            };
            for (field, set, inside, outside) in cases {
                for &v in inside {
                    assert_eq!(rule_of(&set(base(), v)), None, "{field} {v}");
                }
                for &v in outside.iter().chain(&non_finite) {
                    let request = set(base(), v);
                    let err = request.validate().unwrap_err();
                    assert_eq!(err.rule(), Some(Rule::SamplingOutOfRange), "{field} {v}");
                    let message = err.to_string();
                    assert!(message.contains(field), "{message}");
                    let mut out = b"untouched".to_vec();
                    let written = request.write_body(Protocol::OpenAiCompatible, true, &mut out);
                    assert_eq!(written.unwrap_err().rule(), Some(Rule::SamplingOutOfRange));
                    assert_eq!(out, b"untouched", "nothing written");
                }
            }
        }
    }
    let message = ChatRequest::new("glm-5")
        .temperature(2.0)
        .validate()
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("temperature 2") && message.contains("[0.0, 2.0)"),
        "{message}"
    );

    // top_k takes any non-negative integer, which is every value of its type.
    for k in [0, 1, 100, 101, u32::MAX] {
        let r = ChatRequest::new("glm-5").user("hi").top_k(k);
        assert_eq!(rule_of(&r), None, "{k}");
        assert_eq!(body(&r, Protocol::OpenAiCompatible)["top_k"], k);
    }
}

/// reasoning_effort goes at the top level on the OpenAI-compatible protocol and under
/// `parameters` on the native one, each named level and any other string verbatim.
#[test]
fn reasoning_effort_in_both_protocols_bodies() {
    let custom = ReasoningEffort::custom("ultra-deep");
    for effort in LADDER.iter().chain([&custom]) {
        let r = ChatRequest::new("glm-5.3")
            .user("hi")
            .reasoning_effort(effort.clone());
        let openai = body(&r, Protocol::OpenAiCompatible);
        assert_eq!(openai["reasoning_effort"], effort.as_str());
        assert!(openai.get("parameters").is_none());
        let native = body(&r, Protocol::DashScope);
        assert_eq!(native["parameters"]["reasoning_effort"], effort.as_str());
        assert!(native.get("reasoning_effort").is_none());
    }
    let named = [
        (ReasoningEffort::None, "none"),
        (ReasoningEffort::Minimal, "minimal"),
        (ReasoningEffort::Low, "low"),
        (ReasoningEffort::Medium, "medium"),
        (ReasoningEffort::High, "high"),
        (ReasoningEffort::XHigh, "xhigh"),
        (ReasoningEffort::Max, "max"),
    ];
    for (level, text) in named {
        let r = ChatRequest::new("glm-5.3")
            .user("hi")
            .reasoning_effort(text);
        assert_eq!(
            body(&r, Protocol::OpenAiCompatible)["reasoning_effort"],
            text
        );
        assert_eq!(ReasoningEffort::from(text), level);
        assert_eq!(level.to_string(), text);
    }
    // Unset is not sent; a string is sent verbatim, quotes and case included.
    let plain = ChatRequest::new("glm-5.3").user("hi");
    assert!(
        body(&plain, Protocol::OpenAiCompatible)
            .get("reasoning_effort")
            .is_none()
    );
    assert!(
        body(&plain, Protocol::DashScope)["parameters"]
            .get("reasoning_effort")
            .is_none()
    );
    let odd = plain.reasoning_effort(String::from("Hi \"there\""));
    assert_eq!(
        body(&odd, Protocol::OpenAiCompatible)["reasoning_effort"],
        "Hi \"there\""
    );
    // The typed field owns the key.
    let clash = ChatRequest::new("glm-5.3")
        .user("hi")
        .extra("reasoning_effort", "max");
    assert_eq!(rule_of(&clash), Some(Rule::ExtraCollidesWithField));
}

#[test]
fn reasoning_effort_values() {
    // A named level's string is that level, however it was built.
    assert_eq!(ReasoningEffort::Other("max".into()), ReasoningEffort::Max);
    assert_eq!(ReasoningEffort::custom("high"), ReasoningEffort::High);
    assert!(matches!(
        ReasoningEffort::custom("xhigh"),
        ReasoningEffort::XHigh
    ));
    assert!(matches!(ReasoningEffort::custom("Max"), ReasoningEffort::Other(ref s) if s == "Max"));
    assert_ne!(ReasoningEffort::custom("Max"), ReasoningEffort::Max);
    let set: std::collections::HashSet<ReasoningEffort> =
        [ReasoningEffort::Other("low".into()), ReasoningEffort::Low]
            .into_iter()
            .collect();
    assert_eq!(set.len(), 1, "equal values hash alike");
    // An entry listing a level by its string accepts the named level, and back.
    let catalog = Catalog::empty().with(Model::new("m").with_reasoning_effort_levels(["max"]));
    let r = ChatRequest::new("m")
        .user("x")
        .reasoning_effort(ReasoningEffort::Max);
    assert_eq!(rule_with(&catalog, &r), None);
}

#[test]
fn rule_names_are_distinct() {
    let rules = [
        Rule::StructuredOutputWithThinking,
        Rule::StructuredOutputUnsupported,
        Rule::JsonObjectWithoutJsonWord,
        Rule::MaxTokensAboveLimit,
        Rule::ThinkingBudgetAboveLimit,
        Rule::ThinkingBudgetUnsupported,
        Rule::ReasoningEffortUnsupported,
        Rule::ReasoningEffortLevelUnsupported,
        Rule::ToolsUnsupported,
        Rule::WebSearch,
        Rule::PartialMode,
        Rule::ForcedToolChoiceWithThinking,
        Rule::SamplingOutOfRange,
        Rule::ExtraCollidesWithField,
        Rule::InvalidHeader,
    ];
    let names: std::collections::HashSet<&str> = rules.iter().map(|r| r.as_str()).collect();
    assert_eq!(names.len(), rules.len());
    assert_eq!(
        Rule::SamplingOutOfRange.to_string(),
        "sampling_out_of_range"
    );
    // A model's structured-output and tools rules, which no built-in entry uses.
    let catalog = Catalog::empty().with(
        Model::new("m")
            .with_structured_output(false)
            .with_tools(false),
    );
    let json = ChatRequest::new("m")
        .user("json please")
        .thinking(false)
        .response_format(ResponseFormat::JsonObject);
    assert_eq!(
        rule_with(&catalog, &json),
        Some(Rule::StructuredOutputUnsupported)
    );
    let tools = ChatRequest::new("m").user("x").tool(weather_tool());
    assert_eq!(rule_with(&catalog, &tools), Some(Rule::ToolsUnsupported));
}
