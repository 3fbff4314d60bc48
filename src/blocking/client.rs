//! [`Client`]: validating a request, sending it, and retrying until an answer starts.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::blocking::cancel::CancelToken;
use crate::blocking::config::{CatalogNames, ClientBuilder, Config, Route};
use crate::blocking::response::{
    Rejected, Started, Why, read_whole_body, since, started_or_rejected, timeout_kind, transport,
};
use crate::blocking::retry::{Delivery, Jitter, send_failure};
use crate::blocking::stream::ChatStream;
use crate::blocking::transport::{CallContext, is_cancel_ureq};
use crate::chat::http::{Attempts, Endpoint, FailedAttempt, HttpRequest};
use crate::chat::{Catalog, ChatRequest, Completion, Protocol, Rule, StreamDecoder};
use crate::error::{ConfigKind, Error, ErrorKind, TimeoutKind};

struct Inner {
    config: Config,
    jitter: Jitter,
    /// The request body buffer, taken for a call and put back, so that serializing
    /// reuses its capacity.
    body: Mutex<Vec<u8>>,
}

/// A blocking client for Model Studio's chat endpoints, or another OpenAI-compatible
/// GLM server's ([`ClientBuilder::endpoint`]). Cheap to clone (shared); safe to use
/// from several threads.
///
/// The API key is never printed: not by `Debug`, not in any error.
///
/// # Example
///
/// This example streams an answer (it needs a key and the network, so it is not run
/// here).
///
/// ```no_run
/// use dashscope_glm::blocking::Client;
/// use dashscope_glm::chat::{ChatRequest, StreamEvent};
///
/// let client = Client::from_env()?;
/// let request = ChatRequest::new("glm-5").user("Who are you");
/// let mut stream = client.stream(&request)?;
/// while let Some(event) = stream.next_event()? {
///     match event {
///         StreamEvent::Reasoning(text) | StreamEvent::Content(text) => print!("{text}"),
///         _ => {}
///     }
/// }
/// let completion = stream.finish()?;
/// println!("\n{:?}", completion.usage);
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner.config;
        f.debug_struct("Client")
            .field("api_key", &c.api_key)
            .field("endpoints", &Endpoints(&c.routes))
            .field("protocol", &c.protocol)
            .field("catalog", &CatalogNames(&c.catalog))
            .field("connect_timeout", &c.connect_timeout)
            .field("idle_timeout", &c.idle_timeout)
            .field("total_timeout", &c.total_timeout)
            .field("retry", &c.retry)
            .field("proxy", &c.proxy)
            .field("headers", &DefaultHeaders(&c.endpoints))
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client running with settings [`ClientBuilder::build`] checked.
    pub(crate) fn new(config: Config) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                jitter: Jitter::new(),
                body: Mutex::new(Vec::new()),
            }),
        }
    }

    /// A builder with the defaults.
    ///
    /// # Example
    ///
    /// This example asks a local [`ReplayServer`] for an answer. Against Model Studio,
    /// leave out `base_url` and `no_proxy`, and give your key.
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::ChatRequest;
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let server = ReplayServer::start(Reply::sse(
    ///     "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n",
    /// ))?;
    /// let client = Client::builder()
    ///     .api_key("sk-test")
    ///     .base_url(server.base_url())
    ///     .no_proxy()
    ///     .build()?;
    /// let stream = client.stream(&ChatRequest::new("glm-5").user("Hello"))?;
    /// assert_eq!(stream.finish()?.message.content, "Hi");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`ReplayServer`]: crate::testing::ReplayServer
    #[must_use]
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the process environment (see
    /// [`ClientBuilder::apply_env`]); the proxy comes from the usual variables.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`], e.g. when `DASHSCOPE_API_KEY` is not set (which only a
    /// client of a `DASHSCOPE_ENDPOINT` alone may go without).
    ///
    /// # Example
    ///
    /// This example runs whether or not the environment has a key: a missing or wrong
    /// setting is an [`ErrorKind::Config`] error that says which.
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::Protocol;
    /// use dashscope_glm::ErrorKind;
    ///
    /// match Client::from_env() {
    ///     Ok(client) => println!("calling {:?}", client.endpoint(Protocol::OpenAiCompatible)),
    ///     Err(err) if err.kind() == ErrorKind::Config => eprintln!("not configured: {err}"),
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        Self::builder()
            .apply_env(|k| std::env::var(k).ok())?
            .build()
    }

    /// The URL requests of `protocol` go to: the endpoint given for it
    /// ([`ClientBuilder::endpoint`]), else Model Studio's path under the base URL,
    /// workspace or region; `None` when it has none (endpoints were given for the other
    /// protocol only, and no Model Studio host was set), and a request of that protocol
    /// is then refused before anything is sent.
    ///
    /// # Example
    ///
    /// This example shows an endpoint for one protocol next to a region for the other.
    ///
    /// ```
    /// use dashscope_glm::blocking::{Client, Region};
    /// use dashscope_glm::chat::Protocol;
    ///
    /// let client = Client::builder()
    ///     .api_key("sk-test")
    ///     .endpoint(Protocol::OpenAiCompatible, "https://api.z.ai/api/paas/v4/chat/completions")
    ///     .region(Region::Singapore)
    ///     .build()?;
    /// assert_eq!(
    ///     client.endpoint(Protocol::OpenAiCompatible),
    ///     Some("https://api.z.ai/api/paas/v4/chat/completions")
    /// );
    /// assert_eq!(
    ///     client.endpoint(Protocol::DashScope),
    ///     Some("https://dashscope-intl.aliyuncs.com/api/v1/services/aigc/text-generation/generation")
    /// );
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn endpoint(&self, protocol: Protocol) -> Option<&str> {
        self.route(protocol).map(|(r, _)| r.url.as_str())
    }

    /// The models requests are checked against ([`ClientBuilder::model`],
    /// [`ClientBuilder::catalog`]; [`Catalog::builtin`] unless either was set).
    #[must_use]
    pub fn catalog(&self) -> &Catalog {
        &self.inner.config.catalog
    }

    /// Where requests of `protocol` go, and what they are built from.
    fn route(&self, protocol: Protocol) -> Option<(&Route, &Endpoint)> {
        let config = &self.inner.config;
        config
            .routes
            .iter()
            .zip(&config.endpoints)
            .find(|(r, _)| r.protocol == protocol)
    }

    /// Sends `request` as a stream and returns once the response headers are in.
    /// The request is validated first, against the client's [`catalog`](Client::catalog)
    /// ([`ChatRequest::validate_with`]); nothing is sent when it fails. Failures before
    /// the body are retried by the policy.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Validation`] (a rule of the model, or a request header refused),
    /// [`ErrorKind::Config`] (a [`protocol`](ChatRequest::with_protocol) the client has no
    /// URL for: see [`endpoint`](Client::endpoint)),
    /// [`ErrorKind::Api`] (an error status with a JSON or SSE body),
    /// [`ErrorKind::Http`] (an error status with another body),
    /// [`ErrorKind::Transport`], [`ErrorKind::Timeout`].
    ///
    /// # Example
    ///
    /// This example prints an answer as it streams from a local [`ReplayServer`], then
    /// takes the whole [`Completion`].
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::{ChatRequest, FinishReason, StreamEvent};
    /// use dashscope_glm::testing::{ReplayServer, Reply, Split};
    ///
    /// let body = concat!(
    ///     "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
    ///     "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
    ///     "data: [DONE]\n\n",
    /// );
    /// let server = ReplayServer::start(Reply::sse(body).split(Split::PerEvent))?;
    /// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
    ///
    /// let mut stream = client.stream(&ChatRequest::new("glm-5").user("Say hello"))?;
    /// while let Some(event) = stream.next_event()? {
    ///     if let StreamEvent::Content(text) = event {
    ///         print!("{text}");
    ///     }
    /// }
    /// let completion = stream.finish()?;
    /// assert_eq!(completion.message.content, "Hello");
    /// assert_eq!(completion.finish_reason, Some(FinishReason::Stop));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`ReplayServer`]: crate::testing::ReplayServer
    pub fn stream(&self, request: &ChatRequest) -> Result<ChatStream, Error> {
        self.stream_with(request, None)
    }

    /// [`stream`](Client::stream), stoppable through `token` from the moment it is
    /// called: [`CancelToken::cancel`] from another thread ends the call in whatever
    /// phase it is (resolving, connecting, the TLS handshake, writing the request,
    /// waiting for the response head, sleeping before a retry), and later the stream's
    /// reads ([`ChatStream::cancel_token`] is this token).
    ///
    /// A cancelled call returns [`ErrorKind::Cancelled`] soon after the cancel (a
    /// median well under a millisecond on loopback in every phase, a few milliseconds at
    /// worst on a loaded machine); once the stream has started,
    /// [`next_event`](ChatStream::next_event) returns it with everything merged so far
    /// ([`Error::partial`]), and then returns it again. Nothing is retried after a
    /// cancel; the cancelled connection is closed, never pooled. The client and its
    /// other calls (on this thread or others) are not affected, and a call that has
    /// already finished is not affected either. One token may guard many calls.
    ///
    /// With an agent of your own ([`ClientBuilder::agent`]) the client does not see its
    /// connections: a cancel is then seen only before each attempt, between attempts
    /// and before each read of the body, not inside a connect or a blocked read.
    ///
    /// # Errors
    ///
    /// As [`stream`](Client::stream), and [`ErrorKind::Cancelled`] (with
    /// [`attempts`](Error::attempts) saying how many requests were sent; 0 when the
    /// token was cancelled before the call).
    ///
    /// # Example
    ///
    /// This example stops a call from another thread while it waits for an answer
    /// that is slow to come (a local [`ReplayServer`] holding the response head back).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use dashscope_glm::blocking::{CancelToken, Client};
    /// use dashscope_glm::chat::ChatRequest;
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    /// use dashscope_glm::ErrorKind;
    ///
    /// let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n";
    /// let server = ReplayServer::start(Reply::sse(body).head_delay(Duration::from_secs(60)))?;
    /// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
    ///
    /// let token = CancelToken::new();
    /// let stop = token.clone();
    /// let stop_button = std::thread::spawn(move || {
    ///     // Once the server has the request, press stop.
    ///     while server.request_count() == 0 {
    ///         std::thread::sleep(Duration::from_millis(1));
    ///     }
    ///     stop.cancel();
    /// });
    /// let request = ChatRequest::new("glm-5").user("Hello");
    /// let err = client.stream_cancellable(&request, &token).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Cancelled);
    /// assert_eq!(err.attempts(), 1);
    /// stop_button.join().unwrap();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`ReplayServer`]: crate::testing::ReplayServer
    pub fn stream_cancellable(
        &self,
        request: &ChatRequest,
        token: &CancelToken,
    ) -> Result<ChatStream, Error> {
        self.stream_with(request, Some(token))
    }

    fn stream_with(
        &self,
        request: &ChatRequest,
        token: Option<&CancelToken>,
    ) -> Result<ChatStream, Error> {
        let call_start = Instant::now();
        let (started, decoder) = self.send(request, true, token, call_start)?;
        let decoder = decoder.request_id(started.request_id.as_deref().unwrap_or(""));
        let config = &self.inner.config;
        // A stream started without a token gets one of its own for its reads, so that
        // `cancel_token` always works; its request went out without one (nobody could
        // have cancelled it), so no helper thread was needed to connect.
        let token = token.cloned().unwrap_or_default();
        Ok(ChatStream::new(
            started,
            decoder,
            config.read_buffer,
            config.max_body_bytes,
            token,
        ))
    }

    /// Sends `request` without streaming and returns the whole answer. The body is read
    /// up to the configured limit (64 MiB by default).
    ///
    /// # Errors
    ///
    /// As [`stream`](Client::stream), plus [`ErrorKind::Limit`] for a body over the
    /// limit and the errors of a body that is not a valid response.
    ///
    /// # Example
    ///
    /// This example gets a whole answer from a local [`ReplayServer`], and shows an
    /// error status with a JSON body coming back as an [`ErrorKind::Api`] error.
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::ChatRequest;
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    /// use dashscope_glm::ErrorKind;
    ///
    /// let answer = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
    /// let server = ReplayServer::start(Reply::json(200, answer))?;
    /// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
    /// let completion = client.complete(&ChatRequest::new("glm-5").user("Hello"))?;
    /// assert_eq!(completion.message.content, "Hi");
    ///
    /// let refusal = r#"{"error":{"code":"invalid_api_key","message":"Incorrect API key provided."}}"#;
    /// let server = ReplayServer::start(Reply::json(401, refusal))?;
    /// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
    /// let err = client.complete(&ChatRequest::new("glm-5").user("Hello")).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Api);
    /// let api = err.api().unwrap();
    /// assert_eq!((api.status, api.code.as_deref()), (Some(401), Some("invalid_api_key")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`ReplayServer`]: crate::testing::ReplayServer
    pub fn complete(&self, request: &ChatRequest) -> Result<Completion, Error> {
        self.complete_with(request, None)
    }

    /// [`complete`](Client::complete), stoppable through `token` in every phase, the
    /// reading of the body included: see
    /// [`stream_cancellable`](Client::stream_cancellable) for what a cancel does. A
    /// non-streaming answer is merged only once its body is whole, so a cancelled one
    /// has no partial completion.
    ///
    /// # Errors
    ///
    /// As [`complete`](Client::complete), and [`ErrorKind::Cancelled`].
    ///
    /// # Example
    ///
    /// This example gives a call a deadline of the program's own: a timer thread
    /// cancels it if the answer has not come by then.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use dashscope_glm::blocking::{CancelToken, Client};
    /// use dashscope_glm::chat::ChatRequest;
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    /// use dashscope_glm::ErrorKind;
    ///
    /// let answer = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
    /// let slow = Reply::json(200, answer).head_delay(Duration::from_secs(60));
    /// let server = ReplayServer::start(slow)?;
    /// let client = Client::builder().api_key("sk-test").base_url(server.base_url()).no_proxy().build()?;
    ///
    /// let token = CancelToken::new();
    /// let timer = token.clone();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(Duration::from_millis(50));
    ///     timer.cancel();
    /// });
    /// let request = ChatRequest::new("glm-5").user("Hello");
    /// let err = client.complete_cancellable(&request, &token).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Cancelled);
    /// assert!(err.partial().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn complete_cancellable(
        &self,
        request: &ChatRequest,
        token: &CancelToken,
    ) -> Result<Completion, Error> {
        self.complete_with(request, Some(token))
    }

    fn complete_with(
        &self,
        request: &ChatRequest,
        token: Option<&CancelToken>,
    ) -> Result<Completion, Error> {
        let call_start = Instant::now();
        let (started, decoder) = self.send(request, false, token, call_start)?;
        let attempts = started.attempts;
        let mut timings = started.timings();
        let call = &started.call;
        let request_id = started.request_id.as_deref();
        let limit = self.inner.config.max_body_bytes;
        let body = call.reader(started.body.into_reader());
        let (bytes, read) = read_whole_body(body, limit, request_id, None);
        // The chat layer checks the body (its limit, UTF-8) and merges it.
        let mut decoder = decoder.request_id(request_id.unwrap_or(""));
        let result = read
            .and_then(|()| decoder.push_whole_body(&bytes, limit))
            .and_then(|()| decoder.finish());
        let mut completion = match result {
            Ok(completion) => completion,
            // A cancel can surface as whatever the cut body gave: the cancel is what
            // happened.
            Err(_) if call.is_cancelled() => {
                return Err(Error::cancelled(None)
                    .with_request_id(request_id)
                    .with_attempts(attempts));
            }
            Err(e) => return Err(e.with_attempts(attempts)),
        };
        // The merger hands the whole answer out at once, when the body is merged.
        let merged = since(call_start, Instant::now());
        let message = &completion.message;
        timings.first_byte = call.first_body_byte_at().map(|at| since(call_start, at));
        timings.first_reasoning = (!message.reasoning_content.is_empty()).then_some(merged);
        timings.first_content = (!message.content.is_empty()).then_some(merged);
        timings.first_tool_call = (!message.tool_calls.is_empty()).then_some(merged);
        timings.end = Some(merged);
        completion.timings = Some(timings);
        Ok(completion)
    }

    /// Sends `request` (retrying as the policy says) until an answer starts; gives the
    /// answer and the decoder its body goes to.
    fn send(
        &self,
        request: &ChatRequest,
        stream: bool,
        token: Option<&CancelToken>,
        call_start: Instant,
    ) -> Result<(Started, StreamDecoder), Error> {
        let inner = &*self.inner;
        let protocol = request.protocol().unwrap_or(inner.config.protocol);
        let (route, endpoint) = self.route(protocol).ok_or_else(|| {
            Error::config(
                ConfigKind::Url,
                format!(
                    "no URL for the protocol {protocol:?} this request asks for: the client has an endpoint for another protocol only, and no base URL, workspace or region (ClientBuilder::endpoint)"
                ),
            )
        })?;
        // The chat layer validates the request against the catalog, writes its body
        // into the reused buffer and puts its headers together: the rules live there.
        let buffer = std::mem::take(&mut *inner.body.lock().unwrap_or_else(|p| p.into_inner()));
        let http = endpoint.request_into(request, stream, buffer)?;
        log::debug!(
            "POST {} (model {}, protocol {protocol}, {})",
            route.path,
            request.model(),
            if stream { "streaming" } else { "not streaming" },
        );
        let result = header_map(&http).and_then(|headers| {
            let call = Call {
                url: http.url(),
                headers: &headers,
                stream,
                body: http.body(),
                token,
                start: call_start,
            };
            self.send_with_retries(&call)
        });
        let decoder = http.decoder();
        let body = http.into_body();
        let mut slot = inner.body.lock().unwrap_or_else(|p| p.into_inner());
        if body.capacity() > slot.capacity() {
            *slot = body;
        }
        result.map(|started| (started, decoder))
    }

    fn send_with_retries(&self, call: &Call<'_>) -> Result<Started, Error> {
        let inner = &*self.inner;
        let config = &inner.config;
        // `build` turned a timeout too long for the clock into none; an overflow here
        // is no deadline all the same.
        let deadline = config.total_timeout.and_then(|t| call.start.checked_add(t));
        // Every error returned says how many requests were sent and the server's last
        // hint: the chat layer's record of the call's attempts keeps both.
        let mut attempts = Attempts::new();
        loop {
            // Before each attempt: a call cancelled already sends nothing more.
            if call.token.is_some_and(CancelToken::is_cancelled) {
                return Err(attempts.error(Error::cancelled(None)));
            }
            let remaining = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(r) if !r.is_zero() => Some(r),
                    _ => return Err(attempts.error(Error::timeout(TimeoutKind::Total, None))),
                },
                None => None,
            };
            let sent = attempts.begin();
            let rejected = match self.attempt(call, remaining) {
                Ok(started) => {
                    return Ok(Started {
                        attempts: sent,
                        ..started
                    });
                }
                Err(rejected) => rejected,
            };
            // The chat layer's policy decides: what failed, how many requests were sent,
            // the server's hints, and nothing delivered yet (the answer has not started).
            let Some(delay) = attempts.retry(&config.retry, rejected.failed(), inner.jitter.next())
            else {
                return Err(attempts.error(rejected.error));
            };
            if let Some(d) = deadline {
                // A delay the clock cannot hold ends after any deadline.
                if Instant::now().checked_add(delay).is_none_or(|at| at >= d) {
                    log::debug!(
                        "not retrying {}: the delay {delay:?} would pass the total timeout",
                        cause(&rejected.error)
                    );
                    return Err(attempts.error(rejected.error));
                }
            }
            log::debug!(
                "retry {sent} of {} in {delay:?} after {}",
                config.retry.max_retries,
                cause(&rejected.error)
            );
            let stopped = match (&config.sleeper, call.token) {
                // A sleeper cannot be woken: the cancel is seen when it returns.
                (Some(sleep), token) => {
                    sleep(delay);
                    token.is_some_and(CancelToken::is_cancelled)
                }
                (None, Some(token)) => token.wait_timeout(delay),
                (None, None) => {
                    std::thread::sleep(delay);
                    false
                }
            };
            if stopped {
                return Err(attempts.error(Error::cancelled(None)));
            }
        }
    }

    /// One attempt: the answer, or why there is none (a send error, or an error status)
    /// with the server's retry hint and whether a retry is allowed. A cancelled attempt
    /// is a [`Rejected`] holding the cancel, never retryable.
    fn attempt(&self, call: &Call<'_>, remaining: Option<Duration>) -> Result<Started, Rejected> {
        let config = &self.inner.config;
        let mut req = config
            .agent
            .post(call.url)
            .config()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_resolve(config.connect_timeout)
            .timeout_connect(config.connect_timeout)
            .timeout_per_read(config.idle_timeout)
            .timeout_per_write(config.idle_timeout)
            .timeout_global(remaining)
            .build();
        if let Some(map) = req.headers_mut() {
            map.extend(call.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        // A context per attempt: what the transport records is about one request on
        // one connection.
        let context = CallContext::new(call.token.cloned());
        let sent = context.run(|| req.send(call.body));
        let cancelled = || Rejected {
            error: Error::cancelled(None),
            why: Why::NoAnswer(FailedAttempt::Other),
        };
        // The cancel first: a cancelled send can fail in any way (a socket shut down
        // reads as a closed connection), and it is never retried.
        if context.is_cancelled() || sent.as_ref().is_err_and(is_cancel_ureq) {
            return Err(cancelled());
        }
        let answer = match sent {
            // An error body is read inside the attempt's scope, so a cancel reaches it.
            Ok(response) => {
                context.run(|| started_or_rejected(response, call.stream, &context, call.start))
            }
            Err(e) => {
                let delivery = if !config.own_transport {
                    Delivery::Unknown
                } else if context.nothing_sent() {
                    Delivery::NotSent
                } else {
                    Delivery::MaybeSent
                };
                return Err(Rejected {
                    why: Why::NoAnswer(send_failure(&e, delivery)),
                    error: send_error(e, config.proxy.as_deref()),
                });
            }
        };
        // Cancelled while an error body was read, or as the head came in: stop here
        // rather than hand back a stream the caller asked to stop.
        if context.is_cancelled() {
            return Err(cancelled());
        }
        answer
    }
}

/// The routes as `Debug` shows them: each protocol's URL.
struct Endpoints<'r>(&'r [Route]);

impl fmt::Debug for Endpoints<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|r| (r.protocol, &r.url)))
            .finish()
    }
}

/// The headers every request carries (the user agent and the default headers, the
/// same on every endpoint), as `Debug` shows them: credentials redacted.
struct DefaultHeaders<'e>(&'e [Endpoint]);

impl fmt::Debug for DefaultHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers = self.0.first().into_iter().flat_map(Endpoint::headers);
        f.debug_list()
            .entries(headers.map(|(n, v)| (n, ChatRequest::printable_header_value(n, v))))
            .finish()
    }
}

/// One call as its attempts see it: what to send, the token, the call's start.
struct Call<'a> {
    url: &'a str,
    headers: &'a HeaderMap,
    stream: bool,
    body: &'a [u8],
    token: Option<&'a CancelToken>,
    /// Before validation: the start of the timings and of the total deadline.
    start: Instant,
}

/// What a failed attempt's error was, for the retry log: its kind and status, never a
/// body or a message that could quote the request.
fn cause(error: &Error) -> String {
    let status = error.status().map_or_else(String::new, |s| format!(" {s}"));
    match error.kind() {
        ErrorKind::Api => format!("API error{status} {}", error.code().unwrap_or("(no code)")),
        ErrorKind::Http => format!("HTTP status{status}"),
        ErrorKind::Timeout => format!(
            "{} timeout",
            error.timeout_kind().unwrap_or(TimeoutKind::Connect)
        ),
        kind => format!("{kind} error"),
    }
}

/// Maps a ureq error from sending (before any response) to ours; a transport error
/// through a proxy names it (`proxy`, as `scheme://host:port`).
fn send_error(e: ureq::Error, proxy: Option<&str>) -> Error {
    match e {
        ureq::Error::Timeout(t) => Error::timeout(timeout_kind(t), None),
        ureq::Error::InvalidProxyUrl => Error::config(ConfigKind::Proxy, "invalid proxy URL"),
        ureq::Error::BadUri(why) => Error::config(ConfigKind::Url, format!("bad URL: {why}")),
        ureq::Error::RequireHttpsOnly(why) => Error::config(
            ConfigKind::Conflict,
            format!("the agent only allows https: {why}"),
        ),
        other => match proxy {
            Some(proxy) => transport(
                &format!("sending the request through the proxy {proxy}"),
                other,
                None,
            ),
            None => transport("sending the request", other, None),
        },
    }
}

/// The headers of `http` as ureq takes them; `Authorization` is marked sensitive.
/// [`Endpoint::request_into`] checked them all, so a failure here is a header the
/// `http` crate reads more strictly than the chat layer's rules, refused as the
/// request's.
fn header_map(http: &HttpRequest<'_>) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::with_capacity(http.headers().len());
    for (name, value) in http.headers() {
        let bad = || {
            Error::validation(
                Rule::InvalidHeader,
                format!("the header {name} is not valid HTTP"),
            )
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let mut value = HeaderValue::from_str(value).map_err(|_| bad())?;
        if name == header::AUTHORIZATION {
            value.set_sensitive(true);
        }
        map.insert(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connect timeouts cannot be provoked on loopback; the mapping that gives them
    /// their own kind is checked here.
    #[test]
    fn timeouts_map_to_their_kinds() {
        use ureq::Timeout as T;
        assert_eq!(timeout_kind(T::Connect), TimeoutKind::Connect);
        assert_eq!(timeout_kind(T::Resolve), TimeoutKind::Connect);
        assert_eq!(timeout_kind(T::PerRead), TimeoutKind::Idle);
        assert_eq!(timeout_kind(T::PerWrite), TimeoutKind::Idle);
        assert_eq!(timeout_kind(T::Global), TimeoutKind::Total);
        let e = send_error(ureq::Error::Timeout(T::Connect), None);
        assert_eq!(e.timeout_kind(), Some(TimeoutKind::Connect));
        assert!(e.partial().is_none());
        assert!(e.is_retryable());
    }
}
