//! The connection settings with their defaults: the pool keeps a connection per thread
//! for 32 threads on one host; ureq's small buffers still carry a request body and
//! request headers larger than the output buffer, and a response head with many
//! headers, while a head longer than the input buffer is a clear error, not retried;
//! and a custom agent, used as it was built, refuses every setting it would ignore.

use dashscope_glm::ConfigKind;
use dashscope_glm::blocking::{Client, ClientBuilder, RetryPolicy, ureq};
use dashscope_glm::chat::ChatRequest;
use dashscope_glm::testing::{ReplayServer, Reply};

/// The defaults' ureq buffer sizes (input and output).
const BUFFER: usize = 16 * 1024;

fn builder(server: &ReplayServer) -> ClientBuilder {
    Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        // Retries would not wait, and are counted by the server.
        .sleeper(|_| {})
        .no_proxy()
}

const COMPAT: &str = concat!(
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: [DONE]\n\n",
);

fn request() -> ChatRequest {
    ChatRequest::new("glm-5").user("Hi")
}

/// 32 threads, 16 streams each, on one `Client` with the default pool: each thread
/// holds at most one connection at a time, a connection is opened only when the pool
/// has no idle one, and the pool keeps every one of them (32 per host), so however
/// the threads interleave there are never more than 32. ureq's own default (3 idle per
/// host) opened 80 to 133 here.
#[test]
fn thirty_two_threads_use_at_most_thirty_two_connections() {
    const THREADS: usize = 32;
    const PER_THREAD: usize = 16;
    let server = ReplayServer::builder()
        .fallback(Reply::sse(COMPAT))
        .keep_alive(true)
        .start()
        .unwrap();
    let client = Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        // A failed attempt is not hidden by a retry on a new connection.
        .retry_policy(RetryPolicy::none())
        .no_proxy()
        .build()
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..PER_THREAD {
                    let completion = client.stream(&request()).unwrap().finish().unwrap();
                    assert_eq!(completion.message.content, "Hello");
                }
            });
        }
    });
    assert_eq!(server.request_count(), THREADS * PER_THREAD);
    let connections = server.connection_count();
    assert!(
        (1..=THREADS).contains(&connections),
        "{connections} connections for {THREADS} threads"
    );
}

#[test]
fn a_request_body_larger_than_the_output_buffer_goes_out_whole() {
    // 1 MiB of messages (64 of 16 KiB), sent with a content-length through a 16 KiB
    // buffer, on a connection that then carries a second request.
    let server = ReplayServer::builder()
        .fallback(Reply::sse(COMPAT))
        .keep_alive(true)
        .start()
        .unwrap();
    let client = builder(&server).build().unwrap();
    let mut request = ChatRequest::new("glm-5");
    for i in 0..64 {
        let text = format!("{i:04} {}", "x".repeat(BUFFER - 5));
        request = if i % 2 == 0 {
            request.user(text)
        } else {
            request.assistant(text)
        };
    }
    for _ in 0..2 {
        let completion = client.stream(&request).unwrap().finish().unwrap();
        assert_eq!(completion.message.content, "Hello");
    }
    let requests = server.requests();
    assert_eq!((requests.len(), server.connection_count()), (2, 1));
    for r in &requests {
        let body = r.body_str().unwrap();
        assert!(body.len() > 1 << 20, "{}", body.len());
        assert_eq!(
            r.header("content-length"),
            Some(body.len().to_string().as_str())
        );
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        let messages = json["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 64);
        for (i, m) in messages.iter().enumerate() {
            let text = m["content"].as_str().unwrap();
            assert_eq!(text.len(), BUFFER);
            assert!(text.starts_with(&format!("{i:04} x")), "{i}");
        }
    }
}

#[test]
fn request_headers_larger_than_the_output_buffer_go_out_whole() {
    // Three headers of 12 KiB: each line fits the 16 KiB buffer, all together they
    // take three writes.
    let server = ReplayServer::builder()
        .fallback(Reply::sse(COMPAT))
        .max_request_head(64 << 10)
        .start()
        .unwrap();
    let value = |c: char| c.to_string().repeat(12 * 1024);
    let client = builder(&server)
        .default_header("x-big-a", value('a'))
        .build()
        .unwrap();
    let request = request()
        .header("x-big-b", value('b'))
        .header("x-big-c", value('c'));
    let completion = client.stream(&request).unwrap().finish().unwrap();
    assert_eq!(completion.message.content, "Hello");
    let recorded = &server.requests()[0];
    for c in ['a', 'b', 'c'] {
        assert_eq!(
            recorded.header(&format!("x-big-{c}")),
            Some(value(c).as_str())
        );
    }
}

/// An error and its sources, as one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(&format!(": {e}"));
        source = e.source();
    }
    text
}

/// A reply whose head carries `n` extra headers of `len` bytes each (line included).
fn many_headers(n: usize, len: usize) -> Reply {
    (0..n).fold(Reply::sse(COMPAT), |reply, i| {
        reply.header(format!("x-header-{i:03}"), "v".repeat(len - 16))
    })
}

#[test]
fn a_response_head_with_many_headers_is_read() {
    // 120 headers (ureq takes at most 128), 15 KiB in all: within the 16 KiB buffer.
    let server = ReplayServer::builder()
        .fallback(many_headers(120, 128))
        .keep_alive(true)
        .start()
        .unwrap();
    let client = builder(&server).build().unwrap();
    for _ in 0..2 {
        let completion = client.stream(&request()).unwrap().finish().unwrap();
        assert_eq!(completion.message.content, "Hello");
    }
    assert_eq!(server.connection_count(), 1);
}

#[test]
fn a_response_head_longer_than_the_input_buffer_is_an_error_not_retried() {
    // 40 headers, 20 KiB, for the 16 KiB buffer; 10 headers, 2 KiB, for a 1 KiB one.
    for (reply, builder_for) in [
        (
            many_headers(40, 512),
            builder as fn(&ReplayServer) -> ClientBuilder,
        ),
        (many_headers(10, 200), |server: &ReplayServer| {
            builder(server).input_buffer_size(1024)
        }),
    ] {
        let server = ReplayServer::start(reply).unwrap();
        let client = builder_for(&server).build().unwrap();
        let err = client.stream(&request()).unwrap_err();
        let text = chain(&err);
        assert!(text.contains("response header is too big"), "{text}");
        assert_eq!(server.request_count(), 1, "retried: {text}");
    }
}

#[test]
fn buffer_sizes_out_of_range_are_config_errors() {
    let server = ReplayServer::start(Reply::sse(COMPAT)).unwrap();
    for (b, name) in [
        (builder(&server).input_buffer_size(0), "input_buffer_size"),
        (
            builder(&server).input_buffer_size(1023),
            "input_buffer_size",
        ),
        (builder(&server).output_buffer_size(0), "output_buffer_size"),
        (
            builder(&server).output_buffer_size((16 << 20) + 1),
            "output_buffer_size",
        ),
        (
            builder(&server).input_buffer_size(200 << 20),
            "input_buffer_size",
        ),
    ] {
        match b.build() {
            Err(e) if e.config_kind() == Some(ConfigKind::Connection) => {
                assert!(e.to_string().contains(name), "{e}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // The bounds themselves are allowed.
    for b in [
        builder(&server)
            .input_buffer_size(1024)
            .output_buffer_size(1024),
        builder(&server)
            .input_buffer_size(16 << 20)
            .output_buffer_size(16 << 20),
    ] {
        let completion = b.build().unwrap().stream(&request()).unwrap().finish();
        assert_eq!(completion.unwrap().message.content, "Hello");
    }
}

/// A custom agent with no proxy (set on the agent itself) and `idle_per_host` idle
/// connections kept per host.
fn agent(idle_per_host: usize) -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .max_idle_connections_per_host(idle_per_host)
        .build()
        .new_agent()
}

#[test]
fn a_custom_agent_refuses_each_setting_it_would_ignore() {
    use std::time::Duration;

    let server = ReplayServer::start(Reply::sse(COMPAT)).unwrap();
    let with_agent = || {
        Client::builder()
            .api_key("sk-test")
            .base_url(server.base_url())
            .agent(agent(1))
    };
    let cases: [(ClientBuilder, &str, &str); 7] = [
        (
            with_agent().proxy("http://127.0.0.1:9"),
            "proxy(..)",
            "proxy(Some(..))",
        ),
        (with_agent().no_proxy(), "no_proxy()", "proxy(None)"),
        (
            with_agent().max_idle_connections_per_host(8),
            "max_idle_connections_per_host",
            "max_idle_connections_per_host",
        ),
        (
            with_agent().max_idle_connections(8),
            "max_idle_connections",
            "max_idle_connections",
        ),
        (
            with_agent().max_idle_age(Duration::from_secs(1)),
            "max_idle_age",
            "max_idle_age",
        ),
        (
            with_agent().input_buffer_size(4096),
            "input_buffer_size",
            "input_buffer_size",
        ),
        (
            with_agent().output_buffer_size(4096),
            "output_buffer_size",
            "output_buffer_size",
        ),
    ];
    for (builder, ours, theirs) in cases {
        match builder.build() {
            Err(e) if e.config_kind() == Some(ConfigKind::Conflict) => {
                let m = e.to_string();
                assert!(
                    m.contains(&format!("ClientBuilder::agent conflicts with {ours}:")),
                    "{m}"
                );
                assert!(m.ends_with(&format!("({theirs})")), "{m}");
            }
            other => panic!("{ours}: {other:?}"),
        }
    }
    // Several at once: all named. The order of the calls does not matter.
    let both = Client::builder()
        .api_key("sk-test")
        .no_proxy()
        .input_buffer_size(4096)
        .agent(agent(1));
    match both.build() {
        Err(e) if e.config_kind() == Some(ConfigKind::Conflict) => {
            let m = e.to_string();
            assert!(
                m.contains("conflicts with no_proxy(), input_buffer_size:")
                    && m.contains(
                        "set those on its ureq config instead (proxy(None), input_buffer_size)"
                    ),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_custom_agent_alone_is_used_as_built() {
    // Its pool keeps no idle connection: every request opens one, where the client's
    // own agent would reuse the first.
    let server = ReplayServer::builder()
        .fallback(Reply::sse(COMPAT))
        .keep_alive(true)
        .start()
        .unwrap();
    for (client, connections) in [
        (
            Client::builder()
                .api_key("sk-test")
                .base_url(server.base_url())
                .agent(agent(0))
                .build()
                .unwrap(),
            3,
        ),
        (builder(&server).build().unwrap(), 1),
    ] {
        let before = server.connection_count();
        for _ in 0..3 {
            let completion = client.stream(&request()).unwrap().finish().unwrap();
            assert_eq!(completion.message.content, "Hello");
        }
        assert_eq!(server.connection_count() - before, connections);
    }
}
