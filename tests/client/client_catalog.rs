//! The catalog on the client (`ClientBuilder::model`, `ClientBuilder::catalog`) against
//! `testing::ReplayServer`: what it refuses is never sent, what it allows is, and the
//! body takes its defaults.

use dashscope_glm::blocking::{Client, ClientBuilder};
use dashscope_glm::chat::{Catalog, ChatRequest, Model, Rule};
use dashscope_glm::testing::{ReplayServer, Reply};
use dashscope_glm::{Error, ErrorKind};

const KEY: &str = "sk-catalog-secret-0123456789";

const SSE_BODY: &str = concat!(
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: [DONE]\n\n",
);

fn server() -> ReplayServer {
    ReplayServer::start(Reply::sse(SSE_BODY)).unwrap()
}

fn builder(server: &ReplayServer) -> ClientBuilder {
    Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .no_proxy()
        .max_retries(0)
}

fn stream_text(client: &Client, request: &ChatRequest) -> Result<String, Error> {
    let mut stream = client.stream(request)?;
    while stream.next_event()?.is_some() {}
    Ok(stream.finish()?.message.content)
}

/// The JSON body of the server's `n`th request.
fn body(server: &ReplayServer, n: usize) -> serde_json::Value {
    serde_json::from_slice(server.requests()[n].body()).unwrap()
}

#[test]
fn a_registered_model_limit_refuses_before_sending() {
    let server = server();
    let client = builder(&server)
        .model(Model::new("my-glm-ft").with_max_response(4_096))
        .build()
        .unwrap();
    assert!(client.catalog().get("my-glm-ft").is_some());
    let long = ChatRequest::new("my-glm-ft").user("hi").max_tokens(5_000);
    let err = client.stream(&long).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(err.rule(), Some(Rule::MaxTokensAboveLimit));
    assert_eq!(err.attempts(), 0);
    let err = client.complete(&long).unwrap_err();
    assert_eq!(err.rule(), Some(Rule::MaxTokensAboveLimit));
    assert_eq!(server.request_count(), 0);

    // Within the limit it is sent; a client without the entry sends the long one.
    let short = ChatRequest::new("my-glm-ft").user("hi").max_tokens(4_096);
    assert_eq!(stream_text(&client, &short).unwrap(), "Hi");
    assert_eq!(server.request_count(), 1);
    let plain = builder(&server).build().unwrap();
    assert_eq!(stream_text(&plain, &long).unwrap(), "Hi");
    assert_eq!(server.request_count(), 2);
    assert_eq!(body(&server, 1)["max_tokens"], 5_000);
}

#[test]
fn an_override_loosens_a_built_in_rule() {
    let server = server();
    // glm-5's built-in answer limit is 16,384.
    let long = ChatRequest::new("glm-5").user("hi").max_tokens(20_000);
    let built_in = builder(&server).build().unwrap();
    assert_eq!(
        built_in.stream(&long).unwrap_err().rule(),
        Some(Rule::MaxTokensAboveLimit)
    );
    assert_eq!(server.request_count(), 0);

    let corrected = Model::lookup("glm-5")
        .unwrap()
        .clone()
        .with_max_response(32_768);
    let client = builder(&server).model(corrected).build().unwrap();
    assert_eq!(stream_text(&client, &long).unwrap(), "Hi");
    assert_eq!(server.request_count(), 1);
    assert_eq!(body(&server, 0)["max_tokens"], 20_000);
    // The entry replaced the built-in one in place: one glm-5, the rest untouched.
    let names: Vec<&str> = client.catalog().iter().map(|m| m.name.as_str()).collect();
    let builtin = Catalog::builtin();
    let builtin_names: Vec<&str> = builtin.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, builtin_names);
    // Other rules of the built-in entry still hold where the override kept them.
    let budget = ChatRequest::new("glm-5").user("hi").thinking_budget(50_000);
    assert_eq!(
        client.stream(&budget).unwrap_err().rule(),
        Some(Rule::ThinkingBudgetAboveLimit)
    );
    assert_eq!(server.request_count(), 1);
}

#[test]
fn an_unchecked_request_goes_through_the_client_catalog() {
    let server = server();
    let client = builder(&server)
        .model(Model::new("my-glm-ft").with_thinking_budget(false))
        .build()
        .unwrap();
    let budget = ChatRequest::new("my-glm-ft")
        .user("hi")
        .thinking_budget(1_024);
    assert_eq!(
        client.stream(&budget).unwrap_err().rule(),
        Some(Rule::ThinkingBudgetUnsupported)
    );
    assert_eq!(server.request_count(), 0);
    assert_eq!(stream_text(&client, &budget.unchecked()).unwrap(), "Hi");
    assert_eq!(server.request_count(), 1);
    assert_eq!(body(&server, 0)["thinking_budget"], 1_024);
}

#[test]
fn the_body_takes_the_client_catalog_defaults() {
    let server = server();
    let client = builder(&server)
        .model(Model::new("my-glm").with_default_thinking(true))
        .build()
        .unwrap();
    let request = ChatRequest::new("my-glm").user("hi");
    stream_text(&client, &request).unwrap();
    stream_text(&builder(&server).build().unwrap(), &request).unwrap();
    assert_eq!(body(&server, 0)["enable_thinking"], true);
    assert!(body(&server, 1).get("enable_thinking").is_none());
}

#[test]
fn a_whole_catalog_replaces_the_one_built_so_far() {
    let server = server();
    let long = ChatRequest::new("glm-5").user("hi").max_tokens(20_000);
    // No entries: no model rule is checked.
    let client = builder(&server)
        .model(Model::new("my-glm-ft").with_max_response(1))
        .catalog(Catalog::empty())
        .build()
        .unwrap();
    assert!(client.catalog().is_empty());
    assert_eq!(stream_text(&client, &long).unwrap(), "Hi");
    // Models registered after it go into it.
    let client = builder(&server)
        .catalog(Catalog::empty())
        .model(Model::new("my-glm-ft").with_max_response(1))
        .build()
        .unwrap();
    assert_eq!(client.catalog().len(), 1);
    let ft = ChatRequest::new("my-glm-ft").user("hi").max_tokens(2);
    assert_eq!(
        client.stream(&ft).unwrap_err().rule(),
        Some(Rule::MaxTokensAboveLimit)
    );
    assert_eq!(server.request_count(), 1);
    // Debug names the entries.
    assert!(format!("{client:?}").contains("my-glm-ft"));
}
