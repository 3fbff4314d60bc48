//! The rules a request is checked against before it is sent: the sanity rules that
//! hold for every request.

use dashscope_glm::chat::{ChatRequest, Protocol, Rule};
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
