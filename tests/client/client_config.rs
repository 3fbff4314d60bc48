//! The client's configuration against `testing::ReplayServer`: timeouts too long for
//! the clock, the headers every request and one request carry, a proxy that refuses,
//! and the re-exported ureq.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashscope_glm::blocking::{Client, ClientBuilder, RetryPolicy};
use dashscope_glm::chat::{ChatRequest, Protocol, Rule};
use dashscope_glm::testing::{Framing, ReplayServer, Reply};
use dashscope_glm::{ConfigKind, Error, ErrorKind, TimeoutKind};

const KEY: &str = "sk-config-secret-0123456789";

const COMPAT_PATH: &str = "/compatible-mode/v1/chat/completions";
const NATIVE_PATH: &str = "/api/v1/services/aigc/text-generation/generation";

const SSE_BODY: &str = concat!(
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: [DONE]\n\n",
);
const JSON_BODY: &str = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
const NATIVE_SSE_BODY: &str = "data: {\"output\":{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]},\"request_id\":\"r1\"}\n\n";

fn builder(server: &ReplayServer) -> ClientBuilder {
    Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .no_proxy()
}

fn hello() -> ChatRequest {
    ChatRequest::new("glm-5").user("Who are you")
}

fn stream_text(client: &Client, request: &ChatRequest) -> Result<String, Error> {
    let mut stream = client.stream(request)?;
    while stream.next_event()?.is_some() {}
    Ok(stream.finish()?.message.content)
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn duration_max_timeouts_mean_no_limit() {
    let server = ReplayServer::builder()
        .route_sequence(
            COMPAT_PATH,
            [
                Reply::sse(SSE_BODY),
                Reply::json(200, JSON_BODY).framing(Framing::ContentLength),
            ],
        )
        .start()
        .unwrap();
    for (total, idle, connect) in [
        (Some(Duration::MAX), None, None),
        (None, Some(Duration::MAX), None),
        (None, None, Some(Duration::MAX)),
        (
            Some(Duration::MAX),
            Some(Duration::MAX),
            Some(Duration::MAX),
        ),
    ] {
        let client = builder(&server)
            .total_timeout(total)
            .idle_timeout(idle)
            .connect_timeout(connect)
            .build()
            .unwrap();
        assert_eq!(stream_text(&client, &hello()).unwrap(), "Hi");
        assert_eq!(client.complete(&hello()).unwrap().message.content, "Hi");
    }
    assert_eq!(server.request_count(), 8);
}

#[test]
fn retry_delays_too_long_for_the_clock() {
    let policy = RetryPolicy::default()
        .max_retries(1)
        .base_delay(Duration::MAX)
        .max_delay(Duration::MAX);
    let busy = || Reply::json(503, r#"{"code":"ServiceUnavailable","message":"busy"}"#);

    // With a deadline: a delay past the end of the clock is past the deadline, so the
    // error comes back at once, unslept.
    let server = ReplayServer::builder()
        .route_sequence(COMPAT_PATH, [busy(), Reply::sse(SSE_BODY)])
        .start()
        .unwrap();
    let delays: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let d = delays.clone();
    let client = builder(&server)
        .retry_policy(policy)
        .total_timeout(Duration::from_secs(3600))
        .sleeper(move |x| d.lock().unwrap().push(x))
        .build()
        .unwrap();
    let err = client.stream(&hello()).unwrap_err();
    assert!(
        err.kind() == ErrorKind::Api && err.api().is_some_and(|api| api.status == Some(503)),
        "{err:?}"
    );
    assert!(delays.lock().unwrap().is_empty());
    assert_eq!(server.request_count(), 1);

    // Without one (Duration::MAX is none): the delay is waited out, then the retry.
    let server = ReplayServer::builder()
        .route_sequence(COMPAT_PATH, [busy(), Reply::sse(SSE_BODY)])
        .start()
        .unwrap();
    let delays: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let d = delays.clone();
    let client = builder(&server)
        .retry_policy(policy)
        .total_timeout(Duration::MAX)
        .sleeper(move |x| d.lock().unwrap().push(x))
        .build()
        .unwrap();
    assert_eq!(stream_text(&client, &hello()).unwrap(), "Hi");
    assert_eq!(delays.lock().unwrap().len(), 1);
    assert_eq!(server.request_count(), 2);
}

#[test]
fn a_short_total_timeout_still_applies() {
    // The clock check keeps ordinary deadlines: one already spent fails.
    let server = ReplayServer::start(Reply::sse(SSE_BODY)).unwrap();
    let client = builder(&server)
        .total_timeout(Duration::ZERO)
        .build()
        .unwrap();
    let err = client.stream(&hello()).unwrap_err();
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::Total), "{err:?}");
}

#[test]
fn default_and_request_headers_reach_the_server() {
    let server = ReplayServer::builder()
        .route(COMPAT_PATH, Reply::sse(SSE_BODY))
        .route(NATIVE_PATH, Reply::sse(NATIVE_SSE_BODY))
        .start()
        .unwrap();
    let client = builder(&server)
        .user_agent("my-app/1.0")
        .default_header("X-DashScope-WorkSpace", "ws-default")
        .default_header("X-Team", "first")
        .default_header("x-team", "blue")
        .build()
        .unwrap();
    let request = hello()
        .header("x-dashscope-workspace", "ws-request")
        .header("X-DashScope-DataInspection", r#"{"input":"disable"}"#);
    stream_text(&client, &request).unwrap();
    stream_text(&client, &request.clone().with_protocol(Protocol::DashScope)).unwrap();
    stream_text(&client, &hello()).unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let count = |r: &dashscope_glm::testing::RecordedRequest, name: &str| {
        r.headers()
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    };
    for r in &requests[..2] {
        assert_eq!(r.header("user-agent"), Some("my-app/1.0"));
        // The request's header replaces the default of the same name: sent once.
        assert_eq!(r.header("x-dashscope-workspace"), Some("ws-request"));
        assert_eq!(count(r, "x-dashscope-workspace"), 1);
        assert_eq!(r.header("x-team"), Some("blue"));
        assert_eq!(count(r, "x-team"), 1);
        assert_eq!(
            r.header("x-dashscope-datainspection"),
            Some(r#"{"input":"disable"}"#)
        );
        assert!(r.api_key_is(KEY));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(count(r, "user-agent"), 1);
    }
    assert_eq!(requests[0].header("x-dashscope-sse"), None);
    assert_eq!(requests[1].path(), NATIVE_PATH);
    assert_eq!(requests[1].header("x-dashscope-sse"), Some("enable"));
    // Without its own headers a request carries the defaults.
    assert_eq!(
        requests[2].header("x-dashscope-workspace"),
        Some("ws-default")
    );
    assert_eq!(requests[2].header("x-dashscope-datainspection"), None);

    let debug = format!("{client:?}");
    assert!(
        debug.contains("ws-default") && !debug.contains(KEY),
        "{debug}"
    );
}

#[test]
fn the_default_user_agent_names_the_crate_even_with_a_custom_agent() {
    let server = ReplayServer::start(Reply::sse(SSE_BODY)).unwrap();
    // `blocking::ureq` is the client's own ureq: its Agent is the one `agent` takes.
    use dashscope_glm::blocking::ureq;
    // No proxy for a loopback server: set on the agent, which keeps its own (the
    // builder's `no_proxy()` next to an agent is refused).
    let agent = ureq::Agent::config_builder()
        .proxy(None)
        .build()
        .new_agent();
    for client in [
        builder(&server).build().unwrap(),
        Client::builder()
            .api_key(KEY)
            .base_url(server.base_url())
            .agent(agent)
            .build()
            .unwrap(),
    ] {
        stream_text(&client, &hello()).unwrap();
    }
    let expected = format!("dashscope-glm/{}", env!("CARGO_PKG_VERSION"));
    for r in server.requests() {
        assert_eq!(r.header("user-agent"), Some(expected.as_str()));
    }
}

#[test]
fn headers_the_client_owns_are_refused() {
    for name in [
        "Authorization",
        "AUTHORIZATION",
        "content-type",
        "X-DashScope-SSE",
        "x-dashscope-sse",
    ] {
        let builder = Client::builder()
            .api_key(KEY)
            .no_proxy()
            .default_header(name, format!("Bearer {KEY}"));
        // Not sent yet, but printed: the credential stays hidden.
        let debug = format!("{builder:?}");
        if name.eq_ignore_ascii_case("authorization") {
            assert!(
                !debug.contains(KEY) && debug.contains("<redacted>"),
                "{debug}"
            );
        }
        let err = builder.build().unwrap_err();
        assert!(
            err.config_kind() == Some(ConfigKind::Header)
                && err.to_string().contains("set by the client"),
            "{err:?}"
        );
        assert!(!format!("{err} {err:?}").contains(KEY));
    }
    for (name, value) in [
        ("Bad Name", "v"),
        ("X-Ok", "line\r\nInjected: yes"),
        ("", "v"),
    ] {
        let err = Client::builder()
            .api_key(KEY)
            .no_proxy()
            .default_header(name, value)
            .build()
            .unwrap_err();
        assert_eq!(
            err.config_kind(),
            Some(ConfigKind::Header),
            "{name:?} {value:?}: {err:?}"
        );
    }
    let err = Client::builder()
        .api_key(KEY)
        .no_proxy()
        .user_agent("app\n1.0")
        .build()
        .unwrap_err();
    assert_eq!(err.config_kind(), Some(ConfigKind::Header), "{err:?}");

    // Per request: refused when sent, before anything goes out, as a rule of the
    // request (not a setting of the client).
    let server = ReplayServer::start(Reply::sse(SSE_BODY)).unwrap();
    let client = builder(&server).build().unwrap();
    let with_key = hello().header("authorization", format!("Bearer {KEY}"));
    assert!(!format!("{with_key:?}").contains(KEY), "{with_key:?}");
    for request in [
        with_key.clone(),
        hello().header("X-DashScope-SSE", "disable"),
        hello().header("X-Ok", "a\nb"),
    ] {
        for err in [
            client.stream(&request).map(|_| ()).unwrap_err(),
            client.complete(&request).map(|_| ()).unwrap_err(),
        ] {
            assert_eq!(err.rule(), Some(Rule::InvalidHeader), "{err:?}");
            assert_eq!(err.attempts(), 0, "{err:?}");
            assert!(!format!("{err} {err:?}").contains(KEY));
        }
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_refused_proxy_is_named_in_the_error() {
    let server = ReplayServer::start(Reply::sse(SSE_BODY)).unwrap();
    let port = closed_port();
    // A proxy set on the builder is used even for a loopback host.
    let client = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .proxy(format!("http://proxy-user:proxy-secret@127.0.0.1:{port}"))
        .max_retries(0)
        .build()
        .unwrap();
    let err = client.stream(&hello()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("proxy http://127.0.0.1:{port}")),
        "{text}"
    );
    let all = format!("{err} {err:?}");
    assert!(!all.contains("proxy-secret") && !all.contains(KEY), "{all}");
    assert_eq!(server.request_count(), 0);

    // Without a proxy, a refused connection does not speak of one.
    let direct = Client::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{}", closed_port()))
        .no_proxy()
        .max_retries(0)
        .build()
        .unwrap();
    let err = direct.stream(&hello()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    assert!(!err.to_string().contains("proxy"), "{err}");
}
