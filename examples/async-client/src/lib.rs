//! A small async client for the GLM models on Model Studio, on tokio and hyper, built on
//! `dashscope-glm`'s sans-IO layers only (`default-features = false, features =
//! ["chat"]`): [`Endpoint`] makes each request, [`ResponseHead`] reads the answer and maps
//! an error status, [`Attempts`] runs the retry loop on [`RetryPolicy`]'s decisions, and
//! [`StreamDecoder`] takes the body in two phases and decides how the stream ends (or
//! checks and merges a whole body). What is left here is the transport: hyper's calls,
//! tokio's clock, which [`FailedAttempt`] a hyper error is, and what each read gave.
//!
//! Plain HTTP only: there is no TLS connector (the point is the layers; add
//! `hyper-rustls` for https). Timeouts: connect (10 s) and idle (180 s without a byte,
//! waiting for the head or between body reads), as the blocking client's defaults. A
//! total deadline is `tokio::time::timeout` around a call, and a cancel is dropping its
//! future. Run it on a tokio runtime with time enabled (`#[tokio::main]` is).
//!
//! `tests/parity.rs` serves every bundled recording and error body to this client and
//! to the blocking one and checks that both give the same events, completion or error
//! (its attempts, retry hint and request id included), from the same call.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use dashscope_glm::chat::http::{
    Attempts, Endpoint, FailedAttempt, HttpRequest, MAX_BODY, MAX_ERROR_BODY, ResponseHead,
    RetryPolicy,
};
use dashscope_glm::chat::{ChatRequest, Completion, Protocol, StreamDecoder, StreamEvent};
use dashscope_glm::{ConfigKind, Error, TimeoutKind};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::{Client as Hyper, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;

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
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// When to send a failed request again (default: [`RetryPolicy::default`]).
    #[must_use]
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The longest wait for a byte: the response head, or the next piece of a body.
    #[must_use]
    pub fn idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// Sends `request` as a stream, retrying as the policy says, and returns once the
    /// response head is in.
    ///
    /// # Errors
    ///
    /// As the blocking client's `stream`: validation, API and HTTP errors, transport
    /// errors and timeouts.
    pub async fn stream(&self, request: &ChatRequest) -> Result<ChatStream, Error> {
        self.call(request, true).await
    }

    /// Sends `request` without streaming and returns the whole answer.
    ///
    /// # Errors
    ///
    /// As [`stream`](Client::stream), and those of a body that is not an answer (over
    /// 64 MiB, not UTF-8, not JSON of either protocol).
    pub async fn complete(&self, request: &ChatRequest) -> Result<Completion, Error> {
        self.call(request, false).await?.finish().await
    }

    /// Sends `request` until an answer starts or the policy says to stop, and gives its
    /// body to the decoder the request asks for.
    async fn call(&self, request: &ChatRequest, stream: bool) -> Result<ChatStream, Error> {
        let [compatible, native] = &self.endpoints;
        let endpoint = match request.protocol().unwrap_or(self.protocol) {
            Protocol::DashScope => native,
            _ => compatible,
        };
        let http = endpoint.request(request, stream)?;
        let mut attempts = Attempts::new();
        loop {
            let sent = attempts.begin();
            let (error, delay) = match self.send(&http).await {
                Ok((head, body)) if head.is_success() => {
                    let decoder = http.decoder().request_id(head.request_id().unwrap_or(""));
                    // A gateway may answer a stream with one JSON body: read whole.
                    let whole = head.is_json() || !stream;
                    let (idle_timeout, failed) = (self.idle_timeout, None);
                    return Ok(ChatStream {
                        body,
                        decoder,
                        idle_timeout,
                        attempts: sent,
                        whole,
                        failed,
                    });
                }
                // The start of an error body is the error; a read that fails keeps what came.
                Ok((head, mut body)) => {
                    let (bytes, _) = read_up_to(&mut body, self.idle_timeout, MAX_ERROR_BODY).await;
                    let error = head.error(&bytes, SystemTime::now());
                    let failed = FailedAttempt::Status {
                        head: &head,
                        error: &error,
                    };
                    let delay = attempts.retry(&self.retry, failed, jitter());
                    (error, delay)
                }
                Err((error, failed)) => {
                    let delay = attempts.retry(&self.retry, failed, jitter());
                    (error, delay)
                }
            };
            match delay {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(attempts.error(error)),
            }
        }
    }

    /// Sends `http` once: the answer's head and body, or why there is none.
    async fn send(
        &self,
        http: &HttpRequest<'_>,
    ) -> Result<(ResponseHead, Incoming), (Error, FailedAttempt<'static>)> {
        let builder = hyper::Request::builder()
            .method(http.method())
            .uri(http.url());
        let builder = http.headers().fold(builder, |b, (n, v)| b.header(n, v));
        // `Endpoint` checked the headers: what hyper can refuse is the URL.
        let request = builder.body(Full::new(Bytes::copy_from_slice(http.body())));
        let request = request.map_err(|e| {
            let error = Error::config(ConfigKind::Url, format!("bad URL: {e}"));
            (error, FailedAttempt::Other)
        })?;
        match tokio::time::timeout(self.idle_timeout, self.hyper.request(request)).await {
            Ok(Ok(response)) => {
                let head = ResponseHead::new(response.status().as_u16(), response.headers().iter());
                Ok((head, response.into_body()))
            }
            Ok(Err(e)) => Err(send_error(e)),
            Err(_) => Err((
                Error::timeout(TimeoutKind::Idle, None),
                FailedAttempt::Other,
            )),
        }
    }
}

/// What a hyper error before any answer was: a failed connect never reached the server;
/// anything later may have (the request was written, in full or in part).
fn send_error(e: hyper_util::client::legacy::Error) -> (Error, FailedAttempt<'static>) {
    if !e.is_connect() {
        let error = Error::transport("sending the request", e);
        return (error, FailedAttempt::Unanswered);
    }
    let timed_out = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::TimedOut);
    let error = if timed_out {
        Error::timeout(TimeoutKind::Connect, None)
    } else {
        Error::transport("sending the request", e)
    };
    (error, FailedAttempt::NotSent)
}

/// A read of a body that gave no bytes and is not its end.
enum ReadFailure {
    /// Nothing came for the idle timeout.
    Stalled,
    /// The body broke off.
    Broken(hyper::Error),
}

/// The next piece of a body (`Ok(None)` at its end), waiting at most `idle` for it.
async fn next_chunk(body: &mut Incoming, idle: Duration) -> Result<Option<Bytes>, ReadFailure> {
    loop {
        match tokio::time::timeout(idle, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
            Ok(Some(Err(e))) => return Err(ReadFailure::Broken(e)),
            Ok(None) => return Ok(None),
            Err(_) => return Err(ReadFailure::Stalled),
        }
    }
}

/// A body until its end or until at least `max` bytes came, and how the reading ended.
async fn read_up_to(
    body: &mut Incoming,
    idle: Duration,
    max: usize,
) -> (Vec<u8>, Result<(), ReadFailure>) {
    let mut bytes = Vec::new();
    while bytes.len() < max {
        match next_chunk(body, idle).await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(failure) => return (bytes, Err(failure)),
        }
    }
    (bytes, Ok(()))
}

/// A value in `[0, 1)` for the backoff's jitter, from std's random hash keys.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// One answer: [`next_event`](ChatStream::next_event) reads the body as needed and
/// lends each event; [`finish`](ChatStream::finish) gives the completion.
#[derive(Debug)]
pub struct ChatStream {
    body: Incoming,
    decoder: StreamDecoder,
    idle_timeout: Duration,
    /// Requests sent for the call: every error says it.
    attempts: u32,
    /// The body is one JSON answer, not SSE, still to be read whole.
    whole: bool,
    /// The whole body could not be read: every later call returns this.
    failed: Option<Error>,
}

impl ChatStream {
    /// The next event, lent; `Ok(None)` once the answer is complete and every event
    /// was taken.
    ///
    /// # Errors
    ///
    /// An error inside the stream, a malformed chunk, a limit, a body that ended or
    /// broke off before the answer was complete (`Interrupted`), the idle timeout; each
    /// carries what was merged. Later calls return the same error.
    pub async fn next_event(&mut self) -> Result<Option<StreamEvent<'_>>, Error> {
        let attempts = self.attempts;
        let event = self.next_decoded().await;
        event.map_err(|e| e.with_attempts(attempts))
    }

    async fn next_decoded(&mut self) -> Result<Option<StreamEvent<'_>>, Error> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if std::mem::take(&mut self.whole) {
            self.read_whole().await?;
        }
        loop {
            // Two phases: `ready` holds no borrow, so the loop may go on to read.
            if self.decoder.ready()? {
                return Ok(self.decoder.take_event());
            }
            // The body ended, or `[DONE]` came: nothing after it is read.
            if !self.decoder.wants_input() {
                return Ok(None);
            }
            // The decoder decides what each read means.
            match next_chunk(&mut self.body, self.idle_timeout).await {
                Ok(Some(bytes)) => self.decoder.feed(&bytes),
                Ok(None) => self.decoder.end()?,
                Err(ReadFailure::Stalled) => self.decoder.timed_out(TimeoutKind::Idle)?,
                Err(ReadFailure::Broken(e)) => self.decoder.broke_off(e)?,
            }
        }
    }

    /// Reads a JSON body whole, up to one byte past its limit, for the decoder, which
    /// checks it and merges it as one chunk; a read that fails is the stream's error.
    async fn read_whole(&mut self) -> Result<(), Error> {
        let (bytes, read) = read_up_to(&mut self.body, self.idle_timeout, MAX_BODY + 1).await;
        let error = match read {
            Ok(()) => return self.decoder.push_whole_body(&bytes, MAX_BODY),
            Err(ReadFailure::Stalled) => Error::timeout(TimeoutKind::Idle, None),
            Err(ReadFailure::Broken(e)) => Error::transport("reading the response body", e),
        };
        let request_id = self
            .decoder
            .accumulator()
            .completion()
            .request_id
            .as_deref();
        let error = error.with_request_id(request_id);
        self.failed = Some(error.clone());
        Err(error)
    }

    /// Reads and merges the rest, and returns the completion.
    ///
    /// # Errors
    ///
    /// As [`next_event`](ChatStream::next_event).
    pub async fn finish(mut self) -> Result<Completion, Error> {
        while self.next_event().await?.is_some() {}
        let attempts = self.attempts;
        self.decoder.finish().map_err(|e| e.with_attempts(attempts))
    }
}
