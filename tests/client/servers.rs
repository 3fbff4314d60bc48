//! OpenAI-compatible GLM servers other than Model Studio (`ClientBuilder::endpoint`),
//! against `testing::ReplayServer` at their own paths: a vLLM-style stream
//! (`delta.reasoning`, usage on the finishing chunk) with no key, a Z.ai-style answer that
//! ends at a `sensitive` finish reason without `[DONE]`, and how an endpoint sits next to
//! Model Studio's settings.

use dashscope_glm::blocking::{Client, ClientBuilder, Region};
use dashscope_glm::chat::{ChatRequest, Completion, FinishReason, Protocol, StreamEvent, Usage};
use dashscope_glm::testing::{Framing, ReplayServer, Reply, Split};
use dashscope_glm::{ConfigKind, Error, ErrorKind};

const KEY: &str = "sk-servers-secret-0123456789";

/// Where vLLM and SGLang serve chat completions.
const VLLM_PATH: &str = "/v1/chat/completions";
/// Where Z.ai serves them.
const ZAI_PATH: &str = "/api/paas/v4/chat/completions";

/// A vLLM stream as its GLM reasoning parser writes it: a role chunk, reasoning in
/// `delta.reasoning` (vLLM's name since it renamed `reasoning_content`), the answer,
/// then the finishing chunk carrying the usage, and `[DONE]`.
const VLLM_STREAM: &str = concat!(
    "data: {\"id\":\"chatcmpl-8f2c\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"zai-org/GLM-4.6\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-8f2c\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"zai-org/GLM-4.6\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"The user greets me.\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-8f2c\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"zai-org/GLM-4.6\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\" A short reply.\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-8f2c\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"zai-org/GLM-4.6\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-8f2c\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"zai-org/GLM-4.6\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"! How can I help?\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-8f2c\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"zai-org/GLM-4.6\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"logprobs\":null,\"finish_reason\":\"stop\",\"stop_reason\":151336}],\"usage\":{\"prompt_tokens\":9,\"total_tokens\":27,\"completion_tokens\":18,\"prompt_tokens_details\":null}}\n\n",
    "data: [DONE]\n\n",
);

/// The same answer, not streamed, as vLLM returns it.
const VLLM_JSON: &str = r#"{"id":"chatcmpl-8f2d","object":"chat.completion","created":1767225600,"model":"zai-org/GLM-4.6","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help?","reasoning":"The user greets me. A short reply.","tool_calls":[]},"logprobs":null,"finish_reason":"stop","stop_reason":151336}],"usage":{"prompt_tokens":9,"total_tokens":27,"completion_tokens":18,"prompt_tokens_details":null}}"#;

/// A Z.ai stream stopped by moderation: the finish reason `sensitive`, with the usage,
/// and then the body ends: no `[DONE]`.
const ZAI_SENSITIVE: &str = concat!(
    "data: {\"id\":\"20260101120000a1b2\",\"created\":1767225600,\"model\":\"glm-4.6\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"I can\"}}]}\n\n",
    "data: {\"id\":\"20260101120000a1b2\",\"created\":1767225600,\"model\":\"glm-4.6\",\"choices\":[{\"index\":0,\"finish_reason\":\"sensitive\",\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":2,\"total_tokens\":14}}\n\n",
);

fn usage(input: u64, output: u64, total: u64) -> Usage {
    let mut usage = Usage::default();
    usage.input_tokens = input;
    usage.output_tokens = output;
    usage.total_tokens = total;
    usage
}

/// A client for the server's `path` and nothing else, with no key.
fn vllm_client(server: &ReplayServer, path: &str) -> Client {
    Client::builder()
        .endpoint(Protocol::OpenAiCompatible, server.url(path))
        .no_proxy()
        .max_retries(0)
        .build()
        .unwrap()
}

fn vllm_server(reply: Reply) -> ReplayServer {
    ReplayServer::builder()
        .route(VLLM_PATH, reply)
        .start()
        .unwrap()
}

/// Every event of a stream, owned, and its completion.
fn collect(client: &Client, request: &ChatRequest) -> Result<(Vec<String>, Completion), Error> {
    let mut stream = client.stream(request)?;
    let mut events = Vec::new();
    while let Some(event) = stream.next_event()? {
        events.push(match event {
            StreamEvent::Reasoning(t) => format!("reasoning {t}"),
            StreamEvent::Content(t) => format!("content {t}"),
            StreamEvent::Usage(u) => format!("usage {}", u.total_tokens),
            StreamEvent::Finish(f) => format!("finish {}", f.as_str()),
            other => format!("{other:?}"),
        });
    }
    // After the end, the end again.
    assert!(stream.next_event()?.is_none());
    Ok((events, stream.finish()?))
}

fn hello(model: &str) -> ChatRequest {
    ChatRequest::new(model).user("Hello")
}

#[test]
fn a_vllm_stream_at_its_exact_path_without_a_key() {
    for split in [Split::Whole, Split::PerEvent, Split::Every(7)] {
        let server = vllm_server(Reply::sse(VLLM_STREAM).split(split));
        let client = vllm_client(&server, VLLM_PATH);
        let (events, completion) = collect(&client, &hello("zai-org/GLM-4.6")).unwrap();
        assert_eq!(completion.message.content, "Hello! How can I help?");
        assert_eq!(completion.finish_reason, Some(FinishReason::Stop));
        assert_eq!(completion.usage, Some(usage(9, 18, 27)));
        assert_eq!(completion.model.as_deref(), Some("zai-org/GLM-4.6"));
        let answer: Vec<&String> = events
            .iter()
            .filter(|e| !e.starts_with("reasoning "))
            .collect();
        assert_eq!(
            answer,
            [
                "content Hello",
                "content ! How can I help?",
                "usage 27",
                "finish stop"
            ],
            "{split:?}"
        );

        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let sent = &requests[0];
        assert_eq!(sent.method(), "POST");
        assert_eq!(sent.target(), VLLM_PATH);
        assert!(!sent.authorization_present());
        assert_eq!(sent.header("Authorization"), None);
        assert_eq!(sent.header("X-DashScope-SSE"), None);
        assert_eq!(sent.header("Accept"), Some("text/event-stream"));
        let body: serde_json::Value = serde_json::from_slice(sent.body()).unwrap();
        assert_eq!(body["model"], "zai-org/GLM-4.6");
        assert_eq!(body["stream"], true);
        assert_eq!(body["messages"][0]["content"], "Hello");
    }
}

/// vLLM names the reasoning delta `reasoning`: this needs the wire decoder to read it
/// as `reasoning_content`.
#[test]
fn a_vllm_stream_reasoning_field_is_the_reasoning() {
    let server = vllm_server(Reply::sse(VLLM_STREAM).split(Split::PerEvent));
    let client = vllm_client(&server, VLLM_PATH);
    let (events, completion) = collect(&client, &hello("zai-org/GLM-4.6")).unwrap();
    assert_eq!(
        completion.message.reasoning_content,
        "The user greets me. A short reply."
    );
    assert_eq!(
        events[..2],
        ["reasoning The user greets me.", "reasoning  A short reply."]
    );
    let server = vllm_server(Reply::json(200, VLLM_JSON));
    let completion = vllm_client(&server, VLLM_PATH)
        .complete(&hello("zai-org/GLM-4.6"))
        .unwrap();
    assert_eq!(
        completion.message.reasoning_content,
        "The user greets me. A short reply."
    );
}

#[test]
fn a_vllm_answer_not_streamed() {
    let server = vllm_server(Reply::json(200, VLLM_JSON).framing(Framing::ContentLength));
    let completion = vllm_client(&server, VLLM_PATH)
        .complete(&hello("zai-org/GLM-4.6"))
        .unwrap();
    assert_eq!(completion.message.content, "Hello! How can I help?");
    assert_eq!(completion.finish_reason, Some(FinishReason::Stop));
    assert_eq!(completion.usage, Some(usage(9, 18, 27)));
    let sent = &server.requests()[0];
    assert_eq!(sent.path(), VLLM_PATH);
    assert!(!sent.authorization_present());
    assert_eq!(sent.header("Accept"), Some("application/json"));
}

/// Z.ai ends a moderated answer with `sensitive` and no `[DONE]`: the stream is
/// complete at the end of the body, however it is framed and cut into pieces.
#[test]
fn a_sensitive_finish_without_done_completes() {
    for framing in [Framing::Chunked, Framing::ContentLength, Framing::Close] {
        for split in [Split::Whole, Split::PerEvent, Split::Every(5)] {
            let reply = Reply::sse(ZAI_SENSITIVE).framing(framing).split(split);
            // Kept alive where the framing allows it, so that the body's end is its
            // framing's and not the connection closing.
            let server = ReplayServer::builder()
                .route(ZAI_PATH, reply)
                .keep_alive(framing != Framing::Close)
                .start()
                .unwrap();
            let client = Client::builder()
                .api_key(KEY)
                .endpoint(Protocol::OpenAiCompatible, server.url(ZAI_PATH))
                .no_proxy()
                .max_retries(0)
                .build()
                .unwrap();
            let (events, completion) = collect(&client, &hello("glm-4.6")).unwrap();
            let case = format!("{framing:?} {split:?}");
            assert_eq!(
                events,
                ["content I can", "usage 14", "finish content_filter"],
                "{case}"
            );
            assert_eq!(
                completion.finish_reason,
                Some(FinishReason::ContentFilter),
                "{case}"
            );
            assert_eq!(completion.message.content, "I can", "{case}");
            assert_eq!(completion.usage, Some(usage(12, 2, 14)), "{case}");
            let sent = &server.requests()[0];
            assert_eq!(sent.path(), ZAI_PATH);
            assert!(sent.api_key_is(KEY), "{case}");
        }
    }
}

/// The control for the test above: the same body cut before its finish reason is an
/// interruption, so it is the finish reason that completes it.
#[test]
fn the_same_stream_cut_before_its_finish_reason_is_interrupted() {
    let first_event = ZAI_SENSITIVE.find("\n\n").unwrap() + 2;
    let server = ReplayServer::builder()
        .route(ZAI_PATH, Reply::sse(&ZAI_SENSITIVE[..first_event]))
        .start()
        .unwrap();
    let client = Client::builder()
        .endpoint(Protocol::OpenAiCompatible, server.url(ZAI_PATH))
        .no_proxy()
        .build()
        .unwrap();
    let err = collect(&client, &hello("glm-4.6")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interrupted);
    assert_eq!(err.partial().unwrap().message.content, "I can");
}

#[test]
fn a_moderated_answer_not_streamed_reads_as_content_filter() {
    let answer = r#"{"id":"20260101120000a1b3","created":1767225600,"model":"glm-4.6","choices":[{"index":0,"finish_reason":"sensitive","message":{"role":"assistant","content":""}}],"usage":{"prompt_tokens":12,"completion_tokens":0,"total_tokens":12}}"#;
    let server = ReplayServer::builder()
        .route(ZAI_PATH, Reply::json(200, answer))
        .start()
        .unwrap();
    let client = Client::builder()
        .api_key(KEY)
        .endpoint(Protocol::OpenAiCompatible, server.url(ZAI_PATH))
        .no_proxy()
        .build()
        .unwrap();
    let completion = client.complete(&hello("glm-4.6")).unwrap();
    assert_eq!(completion.finish_reason, Some(FinishReason::ContentFilter));
}

#[test]
fn the_endpoint_is_used_as_given_query_included() {
    let server = vllm_server(Reply::sse(VLLM_STREAM));
    let client = vllm_client(&server, "/v1/chat/completions?api-version=2024-10-21");
    collect(&client, &hello("zai-org/GLM-4.6")).unwrap();
    let sent = &server.requests()[0];
    assert_eq!(sent.path(), VLLM_PATH);
    assert_eq!(sent.query(), Some("api-version=2024-10-21"));
    // A Model Studio path is not where it goes: that would be the 404 fallback.
    let wrong = vllm_client(&server, "/compatible-mode/v1/chat/completions");
    assert_eq!(
        collect(&wrong, &hello("zai-org/GLM-4.6"))
            .unwrap_err()
            .status(),
        Some(404)
    );
}

#[test]
fn a_request_for_a_protocol_without_a_url_is_refused_before_sending() {
    let server = vllm_server(Reply::sse(VLLM_STREAM));
    let client = vllm_client(&server, VLLM_PATH);
    assert_eq!(client.endpoint(Protocol::DashScope), None);
    let native = hello("zai-org/GLM-4.6").with_protocol(Protocol::DashScope);
    for err in [
        client.stream(&native).unwrap_err(),
        client.complete(&native).unwrap_err(),
    ] {
        assert_eq!(err.config_kind(), Some(ConfigKind::Url));
        assert_eq!(err.attempts(), 0);
        assert!(err.to_string().contains("DashScope"), "{err}");
    }
    assert_eq!(server.request_count(), 0);
}

/// An endpoint for one protocol; the other goes to the base URL given, with the same key.
#[test]
fn the_other_protocol_goes_to_the_base_url() {
    let vllm = vllm_server(Reply::sse(VLLM_STREAM));
    let native_body = "data: {\"output\":{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]},\"request_id\":\"r1\"}\n\n";
    let gateway = ReplayServer::builder()
        .route(
            "/api/v1/services/aigc/text-generation/generation",
            Reply::sse(native_body),
        )
        .start()
        .unwrap();
    let client = Client::builder()
        .api_key(KEY)
        .endpoint(Protocol::OpenAiCompatible, vllm.url(VLLM_PATH))
        .base_url(gateway.base_url())
        .no_proxy()
        .build()
        .unwrap();
    let (_, openai) = collect(&client, &hello("zai-org/GLM-4.6")).unwrap();
    assert_eq!(openai.message.content, "Hello! How can I help?");
    let (_, native) = collect(&client, &hello("glm-5").with_protocol(Protocol::DashScope)).unwrap();
    assert_eq!(native.message.content, "Hi");
    assert_eq!((vllm.request_count(), gateway.request_count()), (1, 1));
    assert!(vllm.requests()[0].api_key_is(KEY));
    assert!(gateway.requests()[0].api_key_is(KEY));
    assert_eq!(
        gateway.requests()[0].header("X-DashScope-SSE"),
        Some("enable")
    );
}

/// Only a client whose every URL is an endpoint may go without a key.
#[test]
fn model_studio_hosts_still_need_a_key() {
    let vllm = || {
        Client::builder()
            .endpoint(
                Protocol::OpenAiCompatible,
                "http://127.0.0.1:8000/v1/chat/completions",
            )
            .no_proxy()
    };
    assert!(vllm().build().is_ok());
    let needs_key = |b: ClientBuilder| b.build().unwrap_err().config_kind();
    assert_eq!(
        needs_key(vllm().region(Region::Us)),
        Some(ConfigKind::ApiKey)
    );
    assert_eq!(
        needs_key(vllm().workspace("ws-1")),
        Some(ConfigKind::ApiKey)
    );
    assert_eq!(
        needs_key(vllm().base_url("https://gw.example")),
        Some(ConfigKind::ApiKey)
    );
    assert_eq!(
        needs_key(Client::builder().no_proxy()),
        Some(ConfigKind::ApiKey)
    );
    // Plain http to a host that is not loopback is refused, key or not.
    let far = Client::builder()
        .endpoint(
            Protocol::OpenAiCompatible,
            "http://10.0.0.5:8000/v1/chat/completions",
        )
        .no_proxy();
    assert_eq!(
        far.clone().build().unwrap_err().config_kind(),
        Some(ConfigKind::Url)
    );
    assert!(far.allow_insecure_http(true).build().is_ok());
}

#[test]
fn dashscope_endpoint_from_the_environment() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let url = "http://127.0.0.1:8000/v1/chat/completions";
    let client = Client::builder()
        .apply_env(env(&[(
            "DASHSCOPE_ENDPOINT",
            " http://127.0.0.1:8000/v1/chat/completions ",
        )]))
        .unwrap()
        .no_proxy()
        .build()
        .unwrap();
    assert_eq!(client.endpoint(Protocol::OpenAiCompatible), Some(url));
    assert_eq!(client.endpoint(Protocol::DashScope), None);
    // With a region as well, the native protocol goes there, and so needs the key.
    let both = || {
        Client::builder()
            .apply_env(env(&[
                (
                    "DASHSCOPE_ENDPOINT",
                    "http://127.0.0.1:8000/v1/chat/completions",
                ),
                ("DASHSCOPE_REGION", "ap-southeast-1"),
            ]))
            .unwrap()
            .no_proxy()
    };
    assert_eq!(
        both().build().unwrap_err().config_kind(),
        Some(ConfigKind::ApiKey)
    );
    let client = both().api_key(KEY).build().unwrap();
    assert_eq!(client.endpoint(Protocol::OpenAiCompatible), Some(url));
    assert_eq!(
        client.endpoint(Protocol::DashScope),
        Some("https://dashscope-intl.aliyuncs.com/api/v1/services/aigc/text-generation/generation")
    );
}

/// Debug shows where requests go, and never the key.
#[test]
fn debug_shows_the_endpoint_and_never_the_key() {
    let url = "https://api.z.ai/api/paas/v4/chat/completions";
    let builder = Client::builder()
        .api_key(KEY)
        .endpoint(Protocol::OpenAiCompatible, url)
        .no_proxy();
    assert!(!format!("{builder:?}").contains(KEY));
    let client = builder.build().unwrap();
    for printed in [format!("{client:?}"), format!("{client:#?}")] {
        assert!(!printed.contains(KEY), "{printed}");
        assert!(printed.contains(url), "{printed}");
    }
}
