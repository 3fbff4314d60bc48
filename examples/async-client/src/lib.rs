//! A small async client for the GLM models on Model Studio, on tokio and hyper, built on
//! `dashscope-glm`'s sans-IO layers only (`default-features = false, features =
//! ["chat"]`): [`Endpoint`] makes each request, [`ResponseHead`] reads the answer and maps
//! an error status, [`RetryPolicy::decide`] says whether to send again, and
//! [`StreamDecoder`] takes the body in two phases. What is left here is the transport:
//! hyper's calls, tokio's clock, and which [`FailedAttempt`] a hyper error is.
//!
//! Plain HTTP only: there is no TLS connector (the point is the layers; add
//! `hyper-rustls` for https). Timeouts: connect (10 s) and idle (180 s without a byte,
//! waiting for the head or between body reads), as the blocking client's defaults. A
//! total deadline is `tokio::time::timeout` around a call, and a cancel is dropping its
//! future. Run it on a tokio runtime with time enabled (`#[tokio::main]` is).
//!
//! `tests/parity.rs` serves every bundled recording and error body to this client and
//! to the blocking one and checks that both give the same events, completion or error.
//! Where the public layers leave a piece out, it differs (`gaps_in_the_layers` there):
//! its errors' [`attempts`](Error::attempts) is 0 and their
//! [`retry_after`](Error::retry_after) is the last answer's only; a body cut before the
//! answer was complete ends `next_event` with `Ok(None)` and `finish` says
//! `Interrupted`; a stall after the finish reason is an idle timeout; an error reading
//! a whole body has no request id; a whole body is read as lossy UTF-8, and one over
//! 64 MiB is a transport error.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use dashscope_glm::chat::http::{
    Endpoint, FailedAttempt, HttpRequest, MAX_ERROR_BODY, ResponseHead, RetryPolicy,
};
use dashscope_glm::chat::{ChatRequest, Completion, Protocol, StreamDecoder, StreamEvent};
use dashscope_glm::{Error, ErrorKind, TimeoutKind};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::{Client as Hyper, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;

/// The most bytes of a whole (non-streaming) answer read: the blocking client's default.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// An async client of both protocols, streaming or not, with the blocking client's
/// retries, errors and idle timeout. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    hyper: Hyper<HttpConnector, Full<Bytes>>,
    /// OpenAI-compatible, then native.
    endpoints: [Endpoint; 2],
    protocol: Protocol,
    retry: RetryPolicy,
    idle_timeout: Duration,
}

impl Client {
    /// Model Studio's endpoints of both protocols under `root` (`http://host:port`),
    /// with `api_key`; requests use the OpenAI-compatible protocol unless they say
    /// otherwise.
    #[must_use]
    pub fn new(root: &str, api_key: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        let endpoint = |protocol| {
            Endpoint::model_studio(protocol, root)
                .api_key(api_key)
                .header("User-Agent", "dashscope-glm-async-client/0")
        };
        Self {
            hyper: Hyper::builder(TokioExecutor::new()).build(connector),
            endpoints: [Protocol::OpenAiCompatible, Protocol::DashScope].map(endpoint),
            protocol: Protocol::OpenAiCompatible,
            retry: RetryPolicy::default(),
            idle_timeout: Duration::from_secs(180),
        }
    }

    /// The protocol of requests that do not name one.
    #[must_use]
    pub fn protocol(self, protocol: Protocol) -> Self {
        Self { protocol, ..self }
    }

    /// When to send a failed request again (default: [`RetryPolicy::default`]).
    #[must_use]
    pub fn retry_policy(self, retry: RetryPolicy) -> Self {
        Self { retry, ..self }
    }

    /// The longest wait for a byte: the response head, or the next piece of a body.
    #[must_use]
    pub fn idle_timeout(self, idle_timeout: Duration) -> Self {
        Self {
            idle_timeout,
            ..self
        }
    }

    /// Sends `request` as a stream, retrying as the policy says, and returns once the
    /// response head is in.
    ///
    /// # Errors
    ///
    /// As the blocking client's `stream`: validation, API and HTTP errors, transport
    /// errors and timeouts.
    pub async fn stream(&self, request: &ChatRequest) -> Result<ChatStream, Error> {
        let http = self.endpoint(request).request(request, true)?;
        let (head, body) = self.send(&http).await?;
        let decoder = http.decoder().request_id(head.request_id().unwrap_or(""));
        let mut stream = ChatStream {
            body,
            decoder,
            idle_timeout: self.idle_timeout,
            ended: false,
            failed: None,
        };
        if head.is_json() {
            // A gateway that answered without streaming: its body is one whole chunk.
            let text = read_body(&mut stream.body, self.idle_timeout).await?;
            stream.decoder.end()?;
            stream.decoder.accumulator_mut().push_body(&text)?;
            stream.ended = true;
        }
        Ok(stream)
    }

    /// Sends `request` without streaming and returns the whole answer.
    ///
    /// # Errors
    ///
    /// As [`stream`](Client::stream), and those of a body that is not an answer.
    pub async fn complete(&self, request: &ChatRequest) -> Result<Completion, Error> {
        let http = self.endpoint(request).request(request, false)?;
        let (head, mut body) = self.send(&http).await?;
        let text = read_body(&mut body, self.idle_timeout).await?;
        let mut decoder = http.decoder().request_id(head.request_id().unwrap_or(""));
        decoder.end()?;
        decoder.accumulator_mut().push_body(&text)?;
        decoder.finish()
    }

    fn endpoint(&self, request: &ChatRequest) -> &Endpoint {
        let [compatible, native] = &self.endpoints;
        match request.protocol().unwrap_or(self.protocol) {
            Protocol::DashScope => native,
            _ => compatible,
        }
    }

    /// Sends `http` until an answer starts or the policy says to stop.
    async fn send(&self, http: &HttpRequest<'_>) -> Result<(ResponseHead, Incoming), Error> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (error, why) = match self.attempt(http).await {
                Ok(answer) => return Ok(answer),
                Err(rejected) => rejected,
            };
            let failed = match &why {
                Why::Status(head) => FailedAttempt::Status {
                    head,
                    error: &error,
                },
                Why::NoAnswer(failed) => *failed,
            };
            match self.retry.decide(attempts, failed, false, jitter()) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(error),
            }
        }
    }

    /// One attempt: a 2xx answer's head and body, or the error and why there is none.
    async fn attempt(
        &self,
        http: &HttpRequest<'_>,
    ) -> Result<(ResponseHead, Incoming), (Error, Why)> {
        let mut builder = hyper::Request::builder()
            .method(http.method())
            .uri(http.url());
        for (name, value) in http.headers() {
            builder = builder.header(name, value);
        }
        let body = Full::new(Bytes::copy_from_slice(http.body()));
        let request = builder.body(body).map_err(|e| {
            let error = Error::transport("building the request", e);
            (error, Why::NoAnswer(FailedAttempt::Other))
        })?;
        let response =
            match tokio::time::timeout(self.idle_timeout, self.hyper.request(request)).await {
                Ok(Ok(response)) => response,
                Ok(Err(e)) => return Err(send_error(e)),
                Err(_) => {
                    let error = Error::timeout(TimeoutKind::Idle, None);
                    return Err((error, Why::NoAnswer(FailedAttempt::Other)));
                }
            };
        let head = ResponseHead::new(response.status().as_u16(), response.headers().iter());
        let mut body = response.into_body();
        if head.is_success() {
            return Ok((head, body));
        }
        // The start of an error body is the error; a read that fails keeps what came.
        let mut bytes = Vec::new();
        while bytes.len() < MAX_ERROR_BODY {
            match next_chunk(&mut body, self.idle_timeout).await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        Err((head.error(&bytes, SystemTime::now()), Why::Status(head)))
    }
}

/// Why an attempt has no answer to read: an error status, or no answer at all.
enum Why {
    Status(ResponseHead),
    NoAnswer(FailedAttempt<'static>),
}

/// What a hyper error before any answer was: a failed connect never reached the server;
/// anything later may have (the request was written, in full or in part).
fn send_error(e: hyper_util::client::legacy::Error) -> (Error, Why) {
    if !e.is_connect() {
        let error = Error::transport("sending the request", e);
        return (error, Why::NoAnswer(FailedAttempt::Unanswered));
    }
    let timed_out = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::TimedOut);
    let error = if timed_out {
        Error::timeout(TimeoutKind::Connect, None)
    } else {
        Error::transport("sending the request", e)
    };
    (error, Why::NoAnswer(FailedAttempt::NotSent))
}

/// The next piece of a body (`Ok(None)` at its end), waiting at most `idle` for it.
async fn next_chunk(body: &mut Incoming, idle: Duration) -> Result<Option<Bytes>, Error> {
    loop {
        match tokio::time::timeout(idle, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
            Ok(Some(Err(e))) => return Err(Error::transport("reading the response body", e)),
            Ok(None) => return Ok(None),
            Err(_) => return Err(Error::timeout(TimeoutKind::Idle, None)),
        }
    }
}

/// A whole body, up to [`MAX_BODY`] bytes, as text.
async fn read_body(body: &mut Incoming, idle: Duration) -> Result<String, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = next_chunk(body, idle).await? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_BODY {
            let over = std::io::Error::other("the response body is over 64 MiB");
            return Err(Error::transport("reading the response body", over));
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A value in `[0, 1)` for the backoff's jitter, from std's random hash keys.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// One streaming answer: [`next_event`](ChatStream::next_event) reads the body as
/// needed and lends each event; [`finish`](ChatStream::finish) gives the completion.
#[derive(Debug)]
pub struct ChatStream {
    body: Incoming,
    decoder: StreamDecoder,
    idle_timeout: Duration,
    /// The body ended (or broke off) and the decoder was told.
    ended: bool,
    /// The idle timeout struck: every later call returns it.
    failed: Option<Error>,
}

impl ChatStream {
    /// The next event, lent; `Ok(None)` once the body is used up. A body that ended
    /// before the answer was complete also ends here: [`finish`](ChatStream::finish)
    /// says so (`ErrorKind::Interrupted`).
    ///
    /// # Errors
    ///
    /// An error inside the stream, a malformed chunk, a limit, the idle timeout; each
    /// carries what was merged.
    pub async fn next_event(&mut self) -> Result<Option<StreamEvent<'_>>, Error> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        loop {
            // Two phases: `ready` holds no borrow, so the loop may go on to read.
            if self.decoder.ready()? {
                return Ok(self.decoder.take_event());
            }
            if self.ended {
                return Ok(None);
            }
            // `[DONE]` ends the answer: nothing after it is read.
            let read = if self.decoder.accumulator().received_done() {
                Ok(None)
            } else {
                next_chunk(&mut self.body, self.idle_timeout).await
            };
            match read {
                Ok(Some(bytes)) => self.decoder.feed(&bytes),
                Err(e) if e.kind() == ErrorKind::Timeout => {
                    let partial = self.decoder.accumulator().completion().clone();
                    let error = Error::timeout(TimeoutKind::Idle, Some(partial));
                    self.failed = Some(error.clone());
                    return Err(error);
                }
                // The end of the body, or a body that broke off.
                Ok(None) | Err(_) => {
                    self.ended = true;
                    self.decoder.end()?;
                }
            }
        }
    }

    /// Reads and merges the rest, and returns the completion.
    ///
    /// # Errors
    ///
    /// As [`next_event`](ChatStream::next_event), and `ErrorKind::Interrupted` (with
    /// what came) for a body that ended before the answer was complete.
    pub async fn finish(mut self) -> Result<Completion, Error> {
        while self.next_event().await?.is_some() {}
        self.decoder.finish()
    }
}
