//! The rules a request is checked against before it is sent: the sanity rules that
//! hold for every request; and reasoning_effort in both protocols' bodies.

use dashscope_glm::chat::{ChatRequest, Protocol, ReasoningEffort, Rule};
use serde_json::Value;

fn body(request: &ChatRequest, protocol: Protocol) -> Value {
    let mut out = Vec::new();
    request.write_body(protocol, false, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn rule_of(r: &ChatRequest) -> Option<Rule> {
    match r.validate() {
        Ok(()) => None,
        Err(err) => Some(err.rule().unwrap_or_else(|| panic!("no rule in {err}"))),
    }
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

/// NaN, the infinities and values just outside the documented range are refused for
/// every float setter, on a catalog model and an unknown one; the range's ends that are
/// inside pass. write_body refuses them too, so that no `null` is ever written in
/// their place.
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
        let base = || ChatRequest::new(model).user("hi");
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
}
