//! [`Client`]: validating a request, sending it, and retrying until an answer starts.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::blocking::config::{ClientBuilder, Config};
use crate::blocking::response::{
    Rejected, Started, completion_from_body, read_limited, started_or_rejected, timeout_kind,
    transport,
};
use crate::blocking::retry::Jitter;
use crate::blocking::stream::ChatStream;
use crate::chat::{Accumulator, ChatRequest, Completion, Protocol, StreamDecoder};
use crate::error::{Error, TimeoutKind};
use crate::sse;

const COMPAT_PATH: &str = "/compatible-mode/v1/chat/completions";
const NATIVE_PATH: &str = "/api/v1/services/aigc/text-generation/generation";

struct Inner {
    config: Config,
    jitter: Jitter,
    /// The request body buffer, taken for a call and put back, so that serializing
    /// reuses its capacity.
    body: Mutex<Vec<u8>>,
}

/// A blocking client for Model Studio's chat endpoints. Cheap to clone (shared); safe
/// to use from several threads.
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
            .field("root", &c.root)
            .field("protocol", &c.protocol)
            .field("connect_timeout", &c.connect_timeout)
            .field("idle_timeout", &c.idle_timeout)
            .field("total_timeout", &c.total_timeout)
            .field("retry", &c.retry)
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
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the process environment (see
    /// [`ClientBuilder::apply_env`]); the proxy comes from the usual variables.
    ///
    /// # Errors
    ///
    /// [`Error::Config`], e.g. when `DASHSCOPE_API_KEY` is not set.
    ///
    /// # Example
    ///
    /// This example runs whether or not the environment has a key: a missing or wrong
    /// setting is an [`Error::Config`] that says which.
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::Protocol;
    /// use dashscope_glm::Error;
    ///
    /// match Client::from_env() {
    ///     Ok(client) => println!("calling {}", client.endpoint(Protocol::OpenAiCompatible)),
    ///     Err(Error::Config(why)) => eprintln!("not configured: {why}"),
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        Self::builder()
            .apply_env(|k| std::env::var(k).ok())?
            .build()
    }

    /// The URL requests of `protocol` go to.
    pub fn endpoint(&self, protocol: Protocol) -> String {
        let path = match protocol {
            Protocol::DashScope => NATIVE_PATH,
            _ => COMPAT_PATH,
        };
        format!("{}{path}", self.inner.config.root)
    }

    /// Sends `request` as a stream and returns once the response headers are in.
    /// The request is validated first ([`ChatRequest::validate`]); nothing is sent when
    /// it fails. Failures before the body are retried by the policy.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`], [`Error::Api`] (an error status with a JSON or SSE body),
    /// [`Error::Http`] (an error status with another body), [`Error::Transport`],
    /// [`Error::Timeout`].
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
        let started = self.send(request, true)?;
        let accumulator = Accumulator::new(started.protocol)
            .cumulative(started.protocol == Protocol::DashScope && !request.is_incremental());
        let mut decoder = StreamDecoder::from_parts(sse::Decoder::new(), accumulator);
        if let Some(id) = &started.request_id {
            decoder.set_request_id(id);
        }
        let config = &self.inner.config;
        Ok(ChatStream::new(
            started,
            decoder,
            config.read_buffer,
            config.max_body_bytes,
        ))
    }

    /// Sends `request` without streaming and returns the whole answer. The body is read
    /// up to the configured limit (64 MiB by default).
    ///
    /// # Errors
    ///
    /// As [`stream`](Client::stream), plus [`Error::LimitExceeded`] for a body over the
    /// limit and the errors of a body that is not a valid response.
    ///
    /// # Example
    ///
    /// This example gets a whole answer from a local [`ReplayServer`], and shows an
    /// error status with a JSON body coming back as [`Error::Api`].
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::ChatRequest;
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    /// use dashscope_glm::Error;
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
    /// let Err(Error::Api(api)) = client.complete(&ChatRequest::new("glm-5").user("Hello")) else {
    ///     panic!("expected an API error");
    /// };
    /// assert_eq!((api.status, api.code.as_deref()), (401, Some("invalid_api_key")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`ReplayServer`]: crate::testing::ReplayServer
    pub fn complete(&self, request: &ChatRequest) -> Result<Completion, Error> {
        let started = self.send(request, false)?;
        let body = read_limited(
            started.body,
            self.inner.config.max_body_bytes,
            started.request_id.as_deref(),
        )?;
        completion_from_body(started.protocol, &body, started.request_id.as_deref())
    }

    fn send(&self, request: &ChatRequest, stream: bool) -> Result<Started, Error> {
        request.validate()?;
        let inner = &*self.inner;
        let protocol = request.protocol_override().unwrap_or(inner.config.protocol);
        let url = self.endpoint(protocol);
        let mut body = std::mem::take(&mut *inner.body.lock().unwrap_or_else(|p| p.into_inner()));
        let result = request
            .write_body(protocol, stream, &mut body)
            .and_then(|()| self.send_with_retries(&url, protocol, stream, &body));
        let mut slot = inner.body.lock().unwrap_or_else(|p| p.into_inner());
        if body.capacity() > slot.capacity() {
            *slot = body;
        }
        result
    }

    fn send_with_retries(
        &self,
        url: &str,
        protocol: Protocol,
        stream: bool,
        body: &[u8],
    ) -> Result<Started, Error> {
        let inner = &*self.inner;
        let config = &inner.config;
        let start = Instant::now();
        let deadline = config.total_timeout.map(|t| start + t);
        let mut retry = 0u32;
        loop {
            let remaining = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(r) if !r.is_zero() => Some(r),
                    _ => {
                        return Err(Error::Timeout {
                            kind: TimeoutKind::Total,
                            partial: None,
                        });
                    }
                },
                None => None,
            };
            let rejected = match self.attempt(url, protocol, stream, body, remaining) {
                Ok(started) => return Ok(started),
                Err(rejected) => rejected,
            };
            if retry >= config.retry.max_retries || !rejected.retryable {
                return Err(rejected.error);
            }
            let delay = config
                .retry
                .delay(retry, rejected.retry_after, inner.jitter.next());
            if let Some(d) = deadline {
                if Instant::now() + delay >= d {
                    return Err(rejected.error);
                }
            }
            match &config.sleeper {
                Some(sleep) => sleep(delay),
                None => std::thread::sleep(delay),
            }
            retry += 1;
        }
    }

    /// One attempt: the answer, or why there is none (a send error, or an error status)
    /// with the server's retry hint and whether a retry is allowed.
    fn attempt(
        &self,
        url: &str,
        protocol: Protocol,
        stream: bool,
        body: &[u8],
        remaining: Option<Duration>,
    ) -> Result<Started, Rejected> {
        let config = &self.inner.config;
        let mut req = config
            .agent
            .post(url)
            .config()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_resolve(config.connect_timeout)
            .timeout_connect(config.connect_timeout)
            .timeout_per_read(config.idle_timeout)
            .timeout_per_write(config.idle_timeout)
            .timeout_global(remaining)
            .build()
            .header(
                "Authorization",
                format!("Bearer {}", config.api_key.secret()),
            )
            .header("Content-Type", "application/json");
        req = if stream {
            req.header("Accept", "text/event-stream")
        } else {
            req.header("Accept", "application/json")
        };
        if stream && protocol == Protocol::DashScope {
            req = req.header("X-DashScope-SSE", "enable");
        }
        match req.send(body) {
            Ok(response) => started_or_rejected(response, protocol, stream),
            Err(e) => Err(Rejected {
                retryable: is_connect_failure(&e),
                error: send_error(e),
                retry_after: None,
            }),
        }
    }
}

/// Whether a send error means the request never reached a server that answered: worth
/// a retry.
fn is_connect_failure(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve)
    )
}

/// Maps a ureq error from sending (before any response) to ours.
fn send_error(e: ureq::Error) -> Error {
    match e {
        ureq::Error::Timeout(t) => Error::Timeout {
            kind: timeout_kind(t),
            partial: None,
        },
        ureq::Error::InvalidProxyUrl => Error::Config("invalid proxy URL".into()),
        ureq::Error::BadUri(why) => Error::Config(format!("bad URL: {why}")),
        ureq::Error::RequireHttpsOnly(why) => {
            Error::Config(format!("the agent only allows https: {why}"))
        }
        other => transport("sending the request", other, None),
    }
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
        let e = send_error(ureq::Error::Timeout(T::Connect));
        assert!(matches!(
            e,
            Error::Timeout {
                kind: TimeoutKind::Connect,
                partial: None
            }
        ));
        assert!(e.is_retryable());
        assert!(is_connect_failure(&ureq::Error::Timeout(T::Connect)));
        assert!(!is_connect_failure(&ureq::Error::Timeout(T::PerRead)));
    }
}
