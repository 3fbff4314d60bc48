//! [`Client`] and its builder: configuration, sending, retries, HTTP errors.

use std::fmt;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use ureq::http::{self, HeaderMap};

use crate::blocking::retry::{Jitter, RetryPolicy, retry_after};
use crate::blocking::stream::ChatStream;
use crate::chat::{Accumulator, ChatRequest, Completion, Protocol, StreamDecoder};
use crate::error::{ApiError, Error, HttpError, TimeoutKind, TransportError, is_quota_code};
use crate::sse;

const COMPAT_PATH: &str = "/compatible-mode/v1/chat/completions";
const NATIVE_PATH: &str = "/api/v1/services/aigc/text-generation/generation";

/// Error bodies are read up to this many bytes; the rest is left unread.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// A Model Studio region: which shared host (or workspace host) to call.
///
/// # Example
///
/// ```
/// use dashscope_glm::blocking::Region;
///
/// assert_eq!(Region::default(), Region::Beijing);
/// assert_eq!(Region::Singapore.host(), "https://dashscope-intl.aliyuncs.com");
/// assert_eq!(Region::parse("us-east-1"), Some(Region::Us));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Region {
    /// China (Beijing), `cn-beijing`: `https://dashscope.aliyuncs.com`.
    #[default]
    Beijing,
    /// Singapore, `ap-southeast-1`: `https://dashscope-intl.aliyuncs.com`.
    Singapore,
    /// US (Virginia), `us-east-1`: `https://dashscope-us.aliyuncs.com`.
    Us,
    /// China (Hong Kong), `cn-hongkong`: `https://cn-hongkong.dashscope.aliyuncs.com`.
    HongKong,
}

impl Region {
    /// The region id (`cn-beijing`, `ap-southeast-1`, `us-east-1`, `cn-hongkong`).
    pub fn id(self) -> &'static str {
        match self {
            Self::Beijing => "cn-beijing",
            Self::Singapore => "ap-southeast-1",
            Self::Us => "us-east-1",
            Self::HongKong => "cn-hongkong",
        }
    }

    /// The shared host, with scheme.
    pub fn host(self) -> &'static str {
        match self {
            Self::Beijing => "https://dashscope.aliyuncs.com",
            Self::Singapore => "https://dashscope-intl.aliyuncs.com",
            Self::Us => "https://dashscope-us.aliyuncs.com",
            Self::HongKong => "https://cn-hongkong.dashscope.aliyuncs.com",
        }
    }

    /// A region from its id or name, any case (`cn-beijing` or `beijing`, `ap-southeast-1`
    /// or `singapore`, `us-east-1` or `us`, `cn-hongkong` or `hongkong`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "cn-beijing" | "beijing" => Self::Beijing,
            "ap-southeast-1" | "singapore" | "intl" => Self::Singapore,
            "us-east-1" | "us" | "virginia" => Self::Us,
            "cn-hongkong" | "hongkong" | "hong-kong" => Self::HongKong,
            _ => return None,
        })
    }
}

/// Where the proxy setting comes from.
#[derive(Clone)]
enum ProxySetting {
    FromEnv,
    None,
    Url(String),
}

/// The API key: never printed.
#[derive(Clone, Default)]
struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "<none>"
        } else {
            "<redacted>"
        })
    }
}

type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;

/// Configures a [`Client`]. Every setting has a default except the API key.
///
/// # Example
///
/// This example configures a client for a local gateway without sending anything.
///
/// ```
/// use std::time::Duration;
/// use dashscope_glm::blocking::Client;
/// use dashscope_glm::chat::Protocol;
///
/// let client = Client::builder()
///     .api_key("sk-test")
///     .base_url("http://127.0.0.1:8080/")
///     .protocol(Protocol::DashScope)
///     .idle_timeout(Duration::from_secs(60))
///     .max_retries(0)
///     .build()?;
/// assert_eq!(
///     client.endpoint(Protocol::DashScope),
///     "http://127.0.0.1:8080/api/v1/services/aigc/text-generation/generation"
/// );
/// assert!(!format!("{client:?}").contains("sk-test"));
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    api_key: ApiKey,
    region: Region,
    workspace: Option<String>,
    base_url: Option<String>,
    protocol: Protocol,
    connect_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    total_timeout: Option<Duration>,
    retry: RetryPolicy,
    agent: Option<ureq::Agent>,
    allow_insecure_http: bool,
    proxy: ProxySetting,
    max_body_bytes: usize,
    read_buffer: usize,
    sleeper: Option<Sleeper>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key)
            .field("region", &self.region)
            .field("workspace", &self.workspace)
            .field("base_url", &self.base_url)
            .field("protocol", &self.protocol)
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("retry", &self.retry)
            .field("custom_agent", &self.agent.is_some())
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_key: ApiKey::default(),
            region: Region::default(),
            workspace: None,
            base_url: None,
            protocol: Protocol::default(),
            connect_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_secs(180)),
            total_timeout: None,
            retry: RetryPolicy::default(),
            agent: None,
            allow_insecure_http: false,
            proxy: ProxySetting::FromEnv,
            max_body_bytes: 64 << 20,
            read_buffer: 16 * 1024,
            sleeper: None,
        }
    }
}

impl ClientBuilder {
    /// The API key (`Authorization: Bearer ...`). Required.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = ApiKey(key.into());
        self
    }

    /// The region (default Beijing). Ignored when a base URL is set.
    #[must_use]
    pub fn region(mut self, region: Region) -> Self {
        self.region = region;
        self
    }

    /// Calls the workspace host of the region, `https://{id}.{region}.maas.aliyuncs.com`,
    /// instead of the shared host. Ignored when a base URL is set.
    #[must_use]
    pub fn workspace(mut self, id: impl Into<String>) -> Self {
        self.workspace = Some(id.into());
        self
    }

    /// The gateway root, overriding region and workspace: the client appends
    /// `/compatible-mode/v1/chat/completions` or
    /// `/api/v1/services/aigc/text-generation/generation` with exactly one `/`, whatever
    /// trailing slashes the URL has. A URL that already ends in the protocol prefix
    /// (`/compatible-mode/v1` or `/api/v1`, as the official SDKs' variables do) is taken
    /// as that prefix's root; no path segment is ever injected twice.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The default protocol (OpenAI-compatible unless set); a request can override it
    /// ([`ChatRequest::protocol`]).
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// The connect timeout, DNS and TLS included (default 10 s; `None`: none).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// The idle timeout: the longest wait for the next byte, for the response headers
    /// and inside the body (default 180 s; `None`: none). A stream that keeps sending,
    /// however slowly, is never cut by it.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.idle_timeout = timeout.into();
        self
    }

    /// A deadline for the whole call, retries and the whole stream included (default
    /// none).
    #[must_use]
    pub fn total_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.total_timeout = timeout.into();
        self
    }

    /// The retry policy (default: [`RetryPolicy::default`]).
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Shorthand for the policy's [`max_retries`](RetryPolicy::max_retries); 0 turns
    /// retrying off.
    #[must_use]
    pub fn max_retries(mut self, n: u32) -> Self {
        self.retry.max_retries = n;
        self
    }

    /// Sends through this ureq agent (its TLS, proxy and pool settings). The client
    /// still sets, per request, its timeouts, no redirects and status codes as
    /// responses rather than errors.
    #[must_use]
    pub fn agent(mut self, agent: ureq::Agent) -> Self {
        self.agent = Some(agent);
        self
    }

    /// Allows sending the API key over plain `http://` to a host that is not loopback.
    /// Off by default: `build` refuses such a base URL.
    #[must_use]
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Uses this proxy (`http://host:port`, `socks5://...` needs ureq's socks feature)
    /// instead of the environment's.
    #[must_use]
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxySetting::Url(url.into());
        self
    }

    /// Uses no proxy, whatever the environment says. By default the proxy comes from
    /// `ALL_PROXY`, `HTTPS_PROXY` or `HTTP_PROXY` (either case), with `NO_PROXY`.
    #[must_use]
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxySetting::None;
        self
    }

    /// The largest non-streaming response body (default 64 MiB).
    #[must_use]
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// The size of a stream's socket read buffer (default 16 KiB; at least 1 KiB).
    #[must_use]
    pub fn read_buffer(mut self, n: usize) -> Self {
        self.read_buffer = n.max(1024);
        self
    }

    /// Replaces `std::thread::sleep` for the delays between retries: tests record the
    /// delays instead of waiting, programs can log them.
    #[must_use]
    pub fn sleeper(mut self, sleep: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        self.sleeper = Some(Arc::new(sleep));
        self
    }

    /// Applies the `DASHSCOPE_*` variables, read through `lookup` (give it
    /// `|k| std::env::var(k).ok()` for the process environment): `DASHSCOPE_API_KEY`,
    /// `DASHSCOPE_REGION`, `DASHSCOPE_WORKSPACE`, `DASHSCOPE_BASE_URL`. Empty values
    /// count as unset; variables that are unset leave the builder as it was.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a region it does not know.
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::blocking::{Client, Region};
    ///
    /// let env = |k: &str| match k {
    ///     "DASHSCOPE_API_KEY" => Some("sk-test".to_string()),
    ///     "DASHSCOPE_REGION" => Some("ap-southeast-1".to_string()),
    ///     _ => None,
    /// };
    /// let client = Client::builder().apply_env(env)?.build()?;
    /// assert!(client.endpoint(Default::default()).starts_with("https://dashscope-intl.aliyuncs.com/"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn apply_env(mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        if let Some(key) = get("DASHSCOPE_API_KEY") {
            self.api_key = ApiKey(key.trim().to_owned());
        }
        if let Some(region) = get("DASHSCOPE_REGION") {
            self.region = Region::parse(&region).ok_or_else(|| {
                Error::Config(format!(
                    "DASHSCOPE_REGION {region:?} is not a region this client knows (cn-beijing, ap-southeast-1, us-east-1, cn-hongkong)"
                ))
            })?;
        }
        if let Some(ws) = get("DASHSCOPE_WORKSPACE") {
            self.workspace = Some(ws.trim().to_owned());
        }
        if let Some(url) = get("DASHSCOPE_BASE_URL") {
            self.base_url = Some(url.trim().to_owned());
        }
        Ok(self)
    }

    /// Checks the configuration and builds the client. Nothing is sent.
    ///
    /// # Errors
    ///
    /// [`Error::Config`]: no API key (or one that cannot go in a header), a base URL
    /// that is not `http(s)://host[:port][/path]`, plain `http://` to a host that is not
    /// loopback without [`allow_insecure_http`](ClientBuilder::allow_insecure_http), a
    /// workspace id that is not a DNS label, an invalid proxy (given or from the
    /// environment).
    pub fn build(self) -> Result<Client, Error> {
        let key = &self.api_key.0;
        if key.is_empty() {
            return Err(Error::Config(
                "no API key: set DASHSCOPE_API_KEY or call ClientBuilder::api_key".into(),
            ));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Config(
                "the API key contains characters that cannot go in an HTTP header (spaces, control or non-ASCII characters)".into(),
            ));
        }
        let root = match &self.base_url {
            Some(url) => root_url(url, self.allow_insecure_http)?,
            None => match &self.workspace {
                Some(ws) => {
                    if !valid_workspace(ws) {
                        return Err(Error::Config(format!(
                            "workspace id {ws:?} is not valid (letters, digits, '_' and '-', at most 64, starting with a letter or digit)"
                        )));
                    }
                    format!("https://{ws}.{}.maas.aliyuncs.com", self.region.id())
                }
                None => self.region.host().to_owned(),
            },
        };
        let agent = match self.agent {
            Some(agent) => agent,
            None => {
                let proxy = match &self.proxy {
                    ProxySetting::None => None,
                    ProxySetting::Url(url) => Some(
                        parse_proxy(url)
                            .map_err(|e| Error::Config(format!("invalid proxy URL: {e}")))?,
                    ),
                    ProxySetting::FromEnv => proxy_from_env()?,
                };
                ureq::Agent::config_builder()
                    .proxy(proxy)
                    .http_status_as_error(false)
                    .max_redirects(0)
                    .max_redirects_will_error(false)
                    .user_agent(concat!("dashscope-glm/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .new_agent()
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                agent,
                api_key: self.api_key,
                root,
                protocol: self.protocol,
                connect_timeout: self.connect_timeout,
                idle_timeout: self.idle_timeout,
                total_timeout: self.total_timeout,
                retry: self.retry,
                max_body_bytes: self.max_body_bytes,
                read_buffer: self.read_buffer,
                sleeper: self.sleeper,
                jitter: Jitter::new(),
                body: Mutex::new(Vec::new()),
            }),
        })
    }
}

/// The proxy the environment asks for. A variable that is set but does not parse is a
/// configuration error (ureq alone would skip it silently); its value is not echoed, as
/// proxy URLs can carry credentials.
fn proxy_from_env() -> Result<Option<ureq::Proxy>, Error> {
    for name in [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ] {
        if let Some(value) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
            if let Err(e) = parse_proxy(value.trim()) {
                return Err(Error::Config(format!(
                    "the proxy in {name} is not a valid proxy URL ({e})"
                )));
            }
        }
    }
    Ok(ureq::Proxy::try_from_env())
}

/// ureq's proxy parser, plus a check it skips: a port that is not a valid `u16`.
fn parse_proxy(url: &str) -> Result<ureq::Proxy, String> {
    let proxy = ureq::Proxy::new(url).map_err(|e| e.to_string())?;
    let authority = proxy.uri().authority().ok_or("no host")?.as_str();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let port = match host_port.rsplit_once(']') {
        Some((_, rest)) => rest.strip_prefix(':'),
        None => host_port.rsplit_once(':').map(|(_, p)| p),
    };
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return Err("the port is not a number from 0 to 65535".into());
    }
    if proxy.host().is_empty() {
        return Err("no host".into());
    }
    Ok(proxy)
}

fn valid_workspace(ws: &str) -> bool {
    let b = ws.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

/// The gateway root of a base URL: validated, without trailing slashes and without a
/// trailing protocol prefix (`/compatible-mode/v1`, `/api/v1`).
fn root_url(url: &str, allow_insecure_http: bool) -> Result<String, Error> {
    let bad = |why: &str| Error::Config(format!("base URL {url:?} {why}"));
    let url = url.trim();
    let uri: http::Uri = url
        .parse()
        .map_err(|e| bad(&format!("does not parse ({e})")))?;
    let scheme = uri.scheme_str().ok_or_else(|| bad("has no scheme"))?;
    let host = uri.host().ok_or_else(|| bad("has no host"))?;
    if uri.query().is_some() || url.contains('#') {
        return Err(bad("must not have a query or fragment"));
    }
    match scheme {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(host) => {}
        "http" => {
            return Err(bad(
                "is plain http to a host that is not loopback: the API key would travel unencrypted (use https, or opt in with allow_insecure_http)",
            ));
        }
        _ => return Err(bad("must start with https:// or http://")),
    }
    let mut root = url.trim_end_matches('/');
    for suffix in ["/compatible-mode/v1", "/api/v1"] {
        if let Some(stripped) = root.strip_suffix(suffix) {
            root = stripped.trim_end_matches('/');
            break;
        }
    }
    Ok(root.to_owned())
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

struct Inner {
    agent: ureq::Agent,
    api_key: ApiKey,
    root: String,
    protocol: Protocol,
    connect_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    total_timeout: Option<Duration>,
    retry: RetryPolicy,
    max_body_bytes: usize,
    read_buffer: usize,
    sleeper: Option<Sleeper>,
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
        let i = &self.inner;
        f.debug_struct("Client")
            .field("api_key", &i.api_key)
            .field("root", &i.root)
            .field("protocol", &i.protocol)
            .field("connect_timeout", &i.connect_timeout)
            .field("idle_timeout", &i.idle_timeout)
            .field("total_timeout", &i.total_timeout)
            .field("retry", &i.retry)
            .finish_non_exhaustive()
    }
}

/// A response that came back 2xx, ready to be read.
pub(crate) struct Started {
    pub(crate) body: ureq::Body,
    pub(crate) request_id: Option<String>,
    pub(crate) protocol: Protocol,
    pub(crate) json_body: bool,
}

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the process environment (see
    /// [`ClientBuilder::apply_env`]); the proxy comes from the usual variables.
    ///
    /// # Errors
    ///
    /// [`Error::Config`], e.g. when `DASHSCOPE_API_KEY` is not set.
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
        format!("{}{path}", self.inner.root)
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
    pub fn stream(&self, request: &ChatRequest) -> Result<ChatStream, Error> {
        let started = self.send(request, true)?;
        let accumulator = Accumulator::new(started.protocol)
            .cumulative(started.protocol == Protocol::DashScope && !request.is_incremental());
        let mut decoder = StreamDecoder::from_parts(sse::Decoder::new(), accumulator);
        if let Some(id) = &started.request_id {
            decoder.set_request_id(id);
        }
        Ok(ChatStream::new(
            started,
            decoder,
            self.inner.read_buffer,
            self.inner.max_body_bytes,
        ))
    }

    /// Sends `request` without streaming and returns the whole answer. The body is read
    /// up to the configured limit (64 MiB by default).
    ///
    /// # Errors
    ///
    /// As [`stream`](Client::stream), plus [`Error::LimitExceeded`] for a body over the
    /// limit and the errors of a body that is not a valid response.
    pub fn complete(&self, request: &ChatRequest) -> Result<Completion, Error> {
        let started = self.send(request, false)?;
        let body = read_limited(
            started.body,
            self.inner.max_body_bytes,
            started.request_id.as_deref(),
        )?;
        completion_from_body(started.protocol, &body, started.request_id.as_deref())
    }

    fn send(&self, request: &ChatRequest, stream: bool) -> Result<Started, Error> {
        request.validate()?;
        let inner = &*self.inner;
        let protocol = request.protocol_override().unwrap_or(inner.protocol);
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
        let start = Instant::now();
        let deadline = inner.total_timeout.map(|t| start + t);
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
            let (err, hint, should_retry) =
                match self.attempt(url, protocol, stream, body, remaining) {
                    Ok(started) => return Ok(started),
                    Err(failure) => failure,
                };
            if retry >= inner.retry.max_retries || !should_retry {
                return Err(err);
            }
            let delay = inner.retry.delay(retry, hint, inner.jitter.next());
            if let Some(d) = deadline {
                if Instant::now() + delay >= d {
                    return Err(err);
                }
            }
            match &inner.sleeper {
                Some(sleep) => sleep(delay),
                None => std::thread::sleep(delay),
            }
            retry += 1;
        }
    }

    /// One attempt. On failure: the error, the server's retry hint, and whether a retry
    /// is allowed.
    fn attempt(
        &self,
        url: &str,
        protocol: Protocol,
        stream: bool,
        body: &[u8],
        remaining: Option<Duration>,
    ) -> Result<Started, (Error, Option<Duration>, bool)> {
        let inner = &*self.inner;
        let mut req = inner
            .agent
            .post(url)
            .config()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_resolve(inner.connect_timeout)
            .timeout_connect(inner.connect_timeout)
            .timeout_per_read(inner.idle_timeout)
            .timeout_per_write(inner.idle_timeout)
            .timeout_global(remaining)
            .build()
            .header("Authorization", format!("Bearer {}", inner.api_key.0))
            .header("Content-Type", "application/json");
        req = if stream {
            req.header("Accept", "text/event-stream")
        } else {
            req.header("Accept", "application/json")
        };
        if stream && protocol == Protocol::DashScope {
            req = req.header("X-DashScope-SSE", "enable");
        }
        let response = match req.send(body) {
            Ok(r) => r,
            Err(e) => {
                let retry = is_connect_failure(&e);
                return Err((send_error(e), None, retry));
            }
        };
        let (parts, body) = response.into_parts();
        let status = parts.status.as_u16();
        let request_id = header(&parts.headers, "x-request-id").map(str::to_owned);
        if (200..300).contains(&status) {
            let json_body = header(&parts.headers, "content-type").is_some_and(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
            return Ok(Started {
                body,
                request_id,
                protocol,
                json_body: json_body || !stream,
            });
        }
        let text = read_error_body(body);
        let err = error_from_response(status, &parts.headers, &text, request_id);
        let quota =
            matches!(&err, Error::Api(api) if api.code.as_deref().is_some_and(is_quota_code));
        let should_retry = !quota
            && match header(&parts.headers, "x-should-retry") {
                Some(v) if v.eq_ignore_ascii_case("true") => true,
                Some(v) if v.eq_ignore_ascii_case("false") => false,
                _ => err.is_retryable(),
            };
        let hint = retry_after(
            header(&parts.headers, "retry-after-ms"),
            header(&parts.headers, "retry-after"),
            SystemTime::now(),
        );
        Err((err, hint, should_retry))
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
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
        other => transport(&other.to_string(), other, None),
    }
}

pub(crate) fn timeout_kind(t: ureq::Timeout) -> TimeoutKind {
    match t {
        ureq::Timeout::Connect | ureq::Timeout::Resolve => TimeoutKind::Connect,
        ureq::Timeout::PerRead
        | ureq::Timeout::PerWrite
        | ureq::Timeout::SendRequest
        | ureq::Timeout::SendBody
        | ureq::Timeout::RecvResponse => TimeoutKind::Idle,
        _ => TimeoutKind::Total,
    }
}

pub(crate) fn transport(
    message: &str,
    source: impl std::error::Error + Send + Sync + 'static,
    request_id: Option<&str>,
) -> Error {
    let mut t = TransportError::new(message, Some(Arc::new(source)));
    t.request_id = request_id.map(str::to_owned);
    Error::Transport(Box::new(t))
}

/// Reads an error body, at most [`ERROR_BODY_LIMIT`] bytes; a failure keeps what was
/// read.
fn read_error_body(body: ureq::Body) -> String {
    let mut bytes = Vec::new();
    let _ = body
        .into_reader()
        .take(ERROR_BODY_LIMIT)
        .read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Reads a whole 2xx body up to `limit` bytes.
fn read_limited(body: ureq::Body, limit: usize, request_id: Option<&str>) -> Result<String, Error> {
    let mut bytes = Vec::new();
    let limit64 = u64::try_from(limit).unwrap_or(u64::MAX);
    let mut reader = body.into_reader().take(limit64.saturating_add(1));
    if let Err(e) = reader.read_to_end(&mut bytes) {
        return Err(read_error(e, request_id, None));
    }
    if bytes.len() > limit {
        return Err(Error::LimitExceeded {
            what: "non-streaming response body bytes",
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(e.as_bytes());
        Error::MalformedChunk(Box::new(crate::error::MalformedChunk::new(
            format!("the response body is not UTF-8 (invalid byte at offset {valid})"),
            &text,
            0,
        )))
    })
}

/// Maps an error reading a body: timeouts to [`Error::Timeout`] (with `partial`), the
/// rest to [`Error::Transport`].
pub(crate) fn read_error(
    e: std::io::Error,
    request_id: Option<&str>,
    partial: Option<&Completion>,
) -> Error {
    match ureq::Error::from(e) {
        ureq::Error::Timeout(t) => Error::Timeout {
            kind: timeout_kind(t),
            partial: partial.map(|p| Box::new(p.clone())),
        },
        other => transport(
            &format!("reading the response body: {other}"),
            other,
            request_id,
        ),
    }
}

/// The error an error status and its body stand for: an API error when the body is a
/// JSON error in either shape or an SSE stream whose first data event is one, else an
/// HTTP error with a snippet of the body.
pub(crate) fn error_from_response(
    status: u16,
    headers: &HeaderMap,
    body: &str,
    request_id: Option<String>,
) -> Error {
    let content_type = header(headers, "content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let trimmed = body.trim_start_matches('\u{feff}').trim_start();
    let looks_sse = content_type.starts_with("text/event-stream")
        || ["data:", "id:", "event:", ":"]
            .iter()
            .any(|p| trimmed.starts_with(p));
    let parsed = if trimmed.starts_with('{') {
        crate::chat::parse_error_body(trimmed)
    } else if looks_sse {
        first_sse_data(body).and_then(|data| crate::chat::parse_error_body(&data))
    } else {
        None
    };
    match parsed {
        Some(found) => {
            let mut api = ApiError::new(
                status,
                found.code,
                found.message,
                found.request_id.or(request_id),
            );
            api.body = Some(crate::error::snippet(body, HttpError::SNIPPET_LEN).to_owned());
            Error::Api(Box::new(api))
        }
        None => Error::Http(Box::new(HttpError::new(status, body, request_id))),
    }
}

/// The data of the first SSE event with data in `body`.
fn first_sse_data(body: &str) -> Option<String> {
    let mut decoder = sse::Decoder::new();
    decoder.feed(body.as_bytes());
    while let Some(item) = decoder.next_item() {
        if let Ok(sse::Item::Event(e)) = item {
            if !e.data().is_empty() {
                return Some(e.data().to_owned());
            }
        }
    }
    let eof = decoder.finish().ok()?;
    eof.pending().map(|e| e.data().to_owned())
}

/// Builds the completion of a non-streaming JSON body (either protocol's shape).
pub(crate) fn completion_from_body(
    protocol: Protocol,
    body: &str,
    request_id: Option<&str>,
) -> Result<Completion, Error> {
    let mut decoder = StreamDecoder::new(protocol);
    if let Some(id) = request_id {
        decoder.set_request_id(id);
    }
    decoder.push_whole_json(body)?;
    decoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_joins_with_exactly_one_slash() {
        let ok = |u| root_url(u, false).unwrap();
        assert_eq!(ok("https://h.example/"), "https://h.example");
        assert_eq!(ok("https://h.example///"), "https://h.example");
        assert_eq!(ok("https://h.example/gw/"), "https://h.example/gw");
        assert_eq!(
            ok("https://h.example/compatible-mode/v1"),
            "https://h.example"
        );
        assert_eq!(
            ok("https://h.example/compatible-mode/v1/"),
            "https://h.example"
        );
        assert_eq!(ok("https://h.example/api/v1"), "https://h.example");
        assert_eq!(ok("https://h.example/x/api/v1//"), "https://h.example/x");
        assert_eq!(ok("http://127.0.0.1:9/"), "http://127.0.0.1:9");
        assert_eq!(ok("http://[::1]:9"), "http://[::1]:9");
        assert_eq!(ok("http://localhost:9"), "http://localhost:9");
    }

    #[test]
    fn bad_base_urls_are_config_errors() {
        for url in [
            "",
            "dashscope.aliyuncs.com",
            "ftp://h.example",
            "https://",
            "https://h.example/?a=1",
            "https://h.example/#x",
            "http://dashscope.aliyuncs.com",
            "http://10.0.0.1:8080",
            "https://exa mple.com",
        ] {
            assert!(
                matches!(root_url(url, false), Err(Error::Config(_))),
                "{url:?}"
            );
        }
        assert!(root_url("http://10.0.0.1:8080", true).is_ok());
    }

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

    #[test]
    fn workspace_ids() {
        assert!(valid_workspace("ws-1_a"));
        assert!(!valid_workspace("-ws"));
        assert!(!valid_workspace("ws.evil.com/x"));
        assert!(!valid_workspace(&"a".repeat(65)));
    }
}
