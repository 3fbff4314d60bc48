//! The limits on what the network can make the client hold that no other test file
//! covers: tool-call fragments per chunk, and the error body of a non-2xx answer.
#![cfg(feature = "chat")]

use dashscope_glm::chat::{Accumulator, Protocol};

fn fragments(n: usize) -> String {
    let one = r#"{"index":0,"id":"c1","function":{"arguments":"x"}}"#;
    let list = vec![one; n].join(",");
    format!(r#"{{"choices":[{{"index":0,"delta":{{"tool_calls":[{list}]}}}}]}}"#)
}

#[test]
fn at_most_1024_tool_call_fragments_in_one_chunk() {
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    acc.push_data(&fragments(1024)).unwrap();
    assert_eq!(acc.completion().message.tool_calls[0].arguments.len(), 1024);
    let mut acc = Accumulator::new(Protocol::OpenAiCompatible);
    let err = acc.push_data(&fragments(1025)).unwrap_err();
    assert!(
        err.malformed_chunk()
            .is_some_and(|m| m.message.contains("more than 1024 tool-call fragments")),
        "{err:?}"
    );
}

#[cfg(all(feature = "blocking", feature = "testing"))]
mod client {
    use std::time::{Duration, Instant};

    use dashscope_glm::blocking::Client;
    use dashscope_glm::chat::ChatRequest;
    use dashscope_glm::testing::{ReplayServer, Reply, Split};
    use dashscope_glm::{Error, HttpError};

    /// Streams one request against a server answering `reply`; returns the error and the
    /// server (to ask what it wrote).
    fn send_to(reply: Reply) -> (Error, ReplayServer) {
        let server = ReplayServer::start(reply).unwrap();
        let client = Client::builder()
            .api_key("sk-test")
            .base_url(server.base_url())
            .max_retries(0)
            .no_proxy()
            .build()
            .unwrap();
        let err = client
            .stream(&ChatRequest::new("glm-5").user("Hi"))
            .map(|_| ())
            .unwrap_err();
        (err, server)
    }

    fn send(reply: Reply) -> Error {
        send_to(reply).0
    }

    /// A huge error page is read only up to 64 KiB and kept as a short snippet: the
    /// client hangs up after that, so the server cannot write the 32 MiB page (only what
    /// the loopback socket buffers take, a few MiB at most).
    #[test]
    fn a_huge_error_body_is_cut_to_a_snippet() {
        let page = format!("<html>{}</html>", "x".repeat(32 << 20));
        let (err, server) = send_to(
            Reply::new(502)
                .header("content-type", "text/html")
                .body(page)
                .split(Split::Every(64 << 10)),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while server.open_connection_count() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(server.open_connection_count(), 0, "the client hung up");
        let written = server.body_bytes_written();
        assert!(
            written < 16 << 20,
            "{written} bytes of the page were written"
        );
        let http = err.http().unwrap_or_else(|| panic!("{err:?}"));
        assert_eq!(http.status, 502);
        assert!(http.body_snippet.starts_with("<html>xxx"));
        assert!(http.body_snippet.len() <= HttpError::SNIPPET_LEN);
    }

    /// A JSON error body past the 64 KiB read limit cannot be parsed whole: it is an
    /// HTTP error with its start, not a hang or an unbounded read.
    #[test]
    fn a_json_error_body_over_the_limit_is_an_http_error() {
        let body = format!(
            r#"{{"code":"InternalError","message":"{}"}}"#,
            "m".repeat(1 << 20)
        );
        let err = send(Reply::json(500, body));
        assert!(
            err.http()
                .is_some_and(|h| h.status == 500 && h.body_snippet.starts_with(r#"{"code""#)),
            "{err:?}"
        );
    }
}
