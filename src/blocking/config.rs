//! [`ClientBuilder`] and what it checks: the region or base URL, the API key, the proxy,
//! timeouts and limits. [`ClientBuilder::build`] hands the checked settings to
//! [`Client`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ureq::http::{self, HeaderMap, HeaderName, HeaderValue};

use crate::blocking::client::Client;
use crate::blocking::retry::RetryPolicy;
use crate::blocking::transport;
use crate::chat::{ChatRequest, Protocol};
use crate::error::Error;

/// A Model Studio region: which shared host (or workspace host) to call.
///
/// # Example
///
/// ```
/// use dashscope_glm::blocking::Region;
///
/// assert_eq!(Region::default(), Region::Beijing);
/// assert_eq!(Region::Singapore.host(), "https://dashscope-intl.aliyuncs.com");
/// assert_eq!("us-east-1".parse::<Region>()?, Region::Us);
/// assert_eq!(Region::HongKong.to_string(), "cn-hongkong");
/// # Ok::<(), dashscope_glm::Error>(())
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
}

impl std::str::FromStr for Region {
    type Err = Error;

    /// A region from its id or name, any case, surrounding spaces ignored (`cn-beijing`
    /// or `beijing`, `ap-southeast-1` or `singapore` or `intl`, `us-east-1` or `us` or
    /// `virginia`, `cn-hongkong` or `hongkong` or `hong-kong`): the names
    /// `DASHSCOPE_REGION` takes.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the regions this client knows.
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "cn-beijing" | "beijing" => Self::Beijing,
            "ap-southeast-1" | "singapore" | "intl" => Self::Singapore,
            "us-east-1" | "us" | "virginia" => Self::Us,
            "cn-hongkong" | "hongkong" | "hong-kong" => Self::HongKong,
            _ => {
                return Err(Error::Config(format!(
                    "{s:?} is not a region this client knows (cn-beijing, ap-southeast-1, us-east-1, cn-hongkong)"
                )));
            }
        })
    }
}

impl fmt::Display for Region {
    /// The region id, which [`FromStr`](std::str::FromStr) reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
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
pub(crate) struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "<none>"
        } else {
            "<redacted>"
        })
    }
}

pub(crate) type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;

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
    user_agent: String,
    default_headers: Vec<(String, String)>,
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
            .field("user_agent", &self.user_agent)
            .field("default_headers", &RedactedHeaders(&self.default_headers))
            .finish_non_exhaustive()
    }
}

/// Headers as `Debug` shows them: credentials redacted.
struct RedactedHeaders<'h>(&'h [(String, String)]);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.0
                    .iter()
                    .map(|(n, v)| (n, ChatRequest::printable_header_value(n, v))),
            )
            .finish()
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
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            default_headers: Vec::new(),
        }
    }
}

impl ClientBuilder {
    /// The API key, sent as `Authorization: Bearer ...`. Required: there is no default.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = ApiKey(key.into());
        self
    }

    /// The region whose host is called; ignored when a base URL is set. Defaults to
    /// [`Region::Beijing`].
    #[must_use]
    pub fn region(mut self, region: Region) -> Self {
        self.region = region;
        self
    }

    /// The workspace whose host is called, `https://{id}.{region}.maas.aliyuncs.com`;
    /// ignored when a base URL is set. Defaults to none (the region's shared host).
    #[must_use]
    pub fn workspace(mut self, id: impl Into<String>) -> Self {
        self.workspace = Some(id.into());
        self
    }

    /// The gateway root, overriding region and workspace. Defaults to none.
    ///
    /// The client appends `/compatible-mode/v1/chat/completions` or
    /// `/api/v1/services/aigc/text-generation/generation` with exactly one `/`, whatever
    /// trailing slashes the URL has. A URL that already ends in the protocol prefix
    /// (`/compatible-mode/v1` or `/api/v1`, as the official SDKs' variables do) is taken
    /// as that prefix's root; no path segment is ever injected twice.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The protocol of requests that do not set one ([`ChatRequest::protocol`]).
    /// Defaults to [`Protocol::OpenAiCompatible`].
    ///
    /// [`ChatRequest::protocol`]: crate::chat::ChatRequest::protocol
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// The connect timeout, DNS and TLS included; `None` (or a duration too long for
    /// the clock, such as `Duration::MAX`) for none. Defaults to 10 s.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// The longest wait for the next byte, for the response headers and inside the
    /// body; `None` (or a duration too long for the clock, such as `Duration::MAX`) for
    /// none. Defaults to 180 s.
    ///
    /// A stream that keeps sending, however slowly, is never cut by it.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.idle_timeout = timeout.into();
        self
    }

    /// A deadline for the whole call, retries and the whole stream included; `None` (or
    /// a duration too long for the clock, such as `Duration::MAX`) for none. Defaults
    /// to none.
    #[must_use]
    pub fn total_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.total_timeout = timeout.into();
        self
    }

    /// When and how long to wait before retrying. Defaults to
    /// [`RetryPolicy::default`].
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The policy's [`max_retries`](RetryPolicy::max_retries); 0 turns retrying off.
    /// Defaults to the default policy's.
    #[must_use]
    pub fn max_retries(mut self, n: u32) -> Self {
        self.retry.max_retries = n;
        self
    }

    /// The ureq agent to send through (its TLS, proxy and pool settings). Defaults to
    /// an agent of the client's own.
    ///
    /// The client still sets, per request, its timeouts, no redirects, status codes as
    /// responses rather than errors, and its headers (the user agent included).
    ///
    /// # Example
    ///
    /// This example builds the agent with the ureq the client re-exports
    /// ([`blocking::ureq`](crate::blocking::ureq)), so the versions match.
    ///
    /// ```
    /// use dashscope_glm::blocking::{Client, ureq};
    ///
    /// let agent = ureq::Agent::config_builder().max_idle_connections(4).build().new_agent();
    /// let client = Client::builder().api_key("sk-test").agent(agent).build()?;
    /// # let _ = client;
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn agent(mut self, agent: ureq::Agent) -> Self {
        self.agent = Some(agent);
        self
    }

    /// Whether the API key may go over plain `http://` to a host that is not loopback.
    /// Defaults to `false`: `build` refuses such a base URL.
    #[must_use]
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The proxy (`http://host:port`; `socks5://...` needs ureq's socks feature), used
    /// for every host, loopback included. Defaults to the environment's: see
    /// [`no_proxy`](ClientBuilder::no_proxy).
    ///
    /// A transport error through a proxy names it (`scheme://host:port`, never its
    /// credentials).
    #[must_use]
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxySetting::Url(url.into());
        self
    }

    /// No proxy, whatever the environment says. Defaults to the environment's proxy, as
    /// curl reads it: for an `https://` base URL `https_proxy`, else `HTTPS_PROXY`, else
    /// `all_proxy`, else `ALL_PROXY`; for `http://`, `http_proxy`, `HTTP_PROXY`, then
    /// the same `ALL_PROXY` pair. No proxy is used for a loopback host (`localhost`,
    /// `127.0.0.0/8`, `::1`) or a host `NO_PROXY` (or `no_proxy`) names: a comma list
    /// of `*` (every host), host names that also match their subdomains (with or
    /// without a leading `.` or `*.`), IP addresses and IP ranges (`10.0.0.0/8`); ports
    /// in it are ignored. The environment is read once, by
    /// [`build`](ClientBuilder::build).
    #[must_use]
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxySetting::None;
        self
    }

    /// The largest non-streaming response body, in bytes. Defaults to 64 MiB.
    #[must_use]
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// The size of a stream's socket read buffer, at least 1 KiB. Defaults to 16 KiB.
    #[must_use]
    pub fn read_buffer(mut self, n: usize) -> Self {
        self.read_buffer = n.max(1024);
        self
    }

    /// The `User-Agent` header. Defaults to `dashscope-glm/<crate version>`.
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// A header sent with every request. Setting the same name again (any case) keeps
    /// its last value; a request's own [`header`] of the same name replaces it. Defaults
    /// to none.
    ///
    /// The headers the client writes itself (`Authorization`, `Content-Type`,
    /// `X-DashScope-SSE`, and HTTP framing) and names or values that are not valid HTTP
    /// make [`build`](ClientBuilder::build) fail.
    ///
    /// [`header`]: crate::chat::ChatRequest::header
    ///
    /// # Example
    ///
    /// This example sends a workspace header with every request, and shows the
    /// `Authorization` header refused.
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::Error;
    ///
    /// let client = Client::builder()
    ///     .api_key("sk-test")
    ///     .default_header("X-DashScope-WorkSpace", "ws-1")
    ///     .build()?;
    ///
    /// let refused = Client::builder()
    ///     .api_key("sk-test")
    ///     .default_header("Authorization", "Bearer sk-other")
    ///     .build();
    /// assert!(matches!(refused, Err(Error::Config(_))));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn default_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        let value = value.into();
        match self
            .default_headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(slot) => slot.1 = value,
            None => self.default_headers.push((name, value)),
        }
        self
    }

    /// What waits out the delays between retries: tests record them instead of
    /// waiting, programs can log them. Defaults to `std::thread::sleep`.
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
            self.region = region.parse().map_err(|e| match e {
                Error::Config(why) => Error::Config(format!("DASHSCOPE_REGION: {why}")),
                other => other,
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
    /// environment), a default header or user agent that is not valid HTTP or that the
    /// client writes itself.
    pub fn build(self) -> Result<Client, Error> {
        let env = ProxyEnv::read(|k| std::env::var(k).ok());
        self.build_with_env(&env)
    }

    /// [`build`](ClientBuilder::build) with the proxy variables read already.
    fn build_with_env(self, env: &ProxyEnv) -> Result<Client, Error> {
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
        let headers = header_map(&self.user_agent, &self.default_headers)?;
        let mut authorization = HeaderValue::try_from(format!("Bearer {key}"))
            .map_err(|_| Error::Config("the API key cannot go in an HTTP header".into()))?;
        authorization.set_sensitive(true);
        let (agent, proxy) = match self.agent {
            Some(agent) => (agent, None),
            None => {
                let proxy = choose_proxy(&self.proxy, env, &root)?;
                let name = proxy.as_ref().map(proxy_name);
                // On the client's own transport, which honours a CancelToken.
                let agent = transport::new_agent(
                    ureq::Agent::config_builder()
                        .proxy(proxy)
                        .http_status_as_error(false)
                        .max_redirects(0)
                        .max_redirects_will_error(false)
                        .user_agent(DEFAULT_USER_AGENT)
                        .build(),
                );
                (agent, name)
            }
        };
        Ok(Client::new(Config {
            agent,
            api_key: self.api_key,
            authorization,
            headers,
            proxy,
            root,
            protocol: self.protocol,
            connect_timeout: clock_limit(self.connect_timeout),
            idle_timeout: clock_limit(self.idle_timeout),
            total_timeout: clock_limit(self.total_timeout),
            retry: self.retry,
            max_body_bytes: self.max_body_bytes,
            read_buffer: self.read_buffer,
            sleeper: self.sleeper,
        }))
    }
}

/// `User-Agent` unless [`ClientBuilder::user_agent`] says otherwise.
const DEFAULT_USER_AGENT: &str = concat!("dashscope-glm/", env!("CARGO_PKG_VERSION"));

/// Durations from now on that an `Instant` (ours or ureq's) can be moved by without
/// overflowing, with a year to spare for the later instants ureq offsets them from.
const CLOCK_SLACK: Duration = Duration::from_secs(366 * 24 * 3600);

/// A timeout the clock can hold, or `None` (no limit) for one too long for it: a user
/// writes `Duration::MAX` for "no limit", and `Instant + Duration::MAX` panics.
pub(crate) fn clock_limit(timeout: Option<Duration>) -> Option<Duration> {
    timeout.filter(|t| {
        std::time::Instant::now()
            .checked_add(t.saturating_add(CLOCK_SLACK))
            .is_some()
    })
}

/// The `User-Agent` and the default headers, each checked, as sent before a request's
/// own headers.
fn header_map(user_agent: &str, defaults: &[(String, String)]) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::new();
    for (name, value) in std::iter::once(("User-Agent", user_agent))
        .chain(defaults.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    {
        let (name, value) = checked_header(name, value)?;
        map.insert(name, value);
    }
    Ok(map)
}

/// A header a caller adds, checked (as [`ChatRequest::header`] says) and converted.
pub(crate) fn checked_header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Error> {
    ChatRequest::check_header(name, value)?;
    let bad = || Error::Config(format!("the header {name} is not valid HTTP"));
    let name = HeaderName::try_from(name).map_err(|_| bad())?;
    let value = HeaderValue::try_from(value).map_err(|_| bad())?;
    Ok((name, value))
}

/// What [`ClientBuilder::build`] checked, for the client to run with.
pub(crate) struct Config {
    pub(crate) agent: ureq::Agent,
    pub(crate) api_key: ApiKey,
    /// `Bearer <key>`, marked sensitive.
    pub(crate) authorization: HeaderValue,
    /// The `User-Agent` and the default headers.
    pub(crate) headers: HeaderMap,
    /// The proxy the client's own agent goes through, as `scheme://host:port`.
    pub(crate) proxy: Option<String>,
    /// The gateway root, without a trailing slash; the endpoint paths are appended.
    pub(crate) root: String,
    pub(crate) protocol: Protocol,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) total_timeout: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_body_bytes: usize,
    pub(crate) read_buffer: usize,
    pub(crate) sleeper: Option<Sleeper>,
}

/// The proxy variables of an environment, read once (see [`ClientBuilder::no_proxy`]
/// for how they are used).
#[derive(Debug, Clone, Default)]
pub(crate) struct ProxyEnv {
    vars: Vec<(&'static str, String)>,
}

impl ProxyEnv {
    const NAMES: [&'static str; 8] = [
        "https_proxy",
        "HTTPS_PROXY",
        "http_proxy",
        "HTTP_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ];

    /// The variables `lookup` gives; empty values count as unset.
    pub(crate) fn read(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let vars = Self::NAMES
            .iter()
            .filter_map(|&name| {
                let value = lookup(name)?;
                let value = value.trim();
                (!value.is_empty()).then(|| (name, value.to_owned()))
            })
            .collect();
        Self { vars }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The variable naming the proxy for a target of `scheme` and its value.
    fn proxy_var(&self, scheme: &str) -> Option<(&'static str, &str)> {
        let names: [&'static str; 4] = if scheme.eq_ignore_ascii_case("https") {
            ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
        } else {
            ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        };
        names
            .into_iter()
            .find_map(|name| self.get(name).map(|value| (name, value)))
    }

    /// The `NO_PROXY` list, lower case first.
    fn no_proxy(&self) -> Option<&str> {
        self.get("no_proxy").or_else(|| self.get("NO_PROXY"))
    }
}

/// The proxy for requests to `root` (the gateway root URL): the caller's, none, or the
/// environment's unless the host is loopback or `NO_PROXY` names it. A variable that
/// would be used but does not parse is a configuration error (ureq alone would skip it
/// silently); its value is not echoed, as proxy URLs can carry credentials.
fn choose_proxy(
    setting: &ProxySetting,
    env: &ProxyEnv,
    root: &str,
) -> Result<Option<ureq::Proxy>, Error> {
    match setting {
        ProxySetting::None => Ok(None),
        ProxySetting::Url(url) => parse_proxy(url)
            .map(Some)
            .map_err(|e| Error::Config(format!("invalid proxy URL: {e}"))),
        ProxySetting::FromEnv => {
            let uri: http::Uri = root
                .parse()
                .map_err(|e| Error::Config(format!("base URL {root:?} does not parse ({e})")))?;
            let host = uri.host().unwrap_or("");
            let Some((name, value)) = env.proxy_var(uri.scheme_str().unwrap_or("https")) else {
                return Ok(None);
            };
            if is_loopback(host)
                || env
                    .no_proxy()
                    .is_some_and(|list| no_proxy_matches(list, host))
            {
                return Ok(None);
            }
            parse_proxy(value).map(Some).map_err(|e| {
                Error::Config(format!(
                    "the proxy in {name} is not a valid proxy URL ({e})"
                ))
            })
        }
    }
}

/// A proxy as errors name it: `scheme://host:port`, never its credentials.
fn proxy_name(proxy: &ureq::Proxy) -> String {
    format!(
        "{}://{}:{}",
        proxy.protocol().to_string().to_ascii_lowercase(),
        proxy.host(),
        proxy.port()
    )
}

/// Whether a `NO_PROXY` list names `host`, as curl reads it: `*` names every host; an
/// entry names the host itself and its subdomains (`example.com`, `.example.com` and
/// `*.example.com` alike); an IP address names itself, an IP range (`10.0.0.0/8`) its
/// addresses; a port on an entry is ignored; names compare case-insensitively.
pub(crate) fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.');
    let ip = host.parse::<std::net::IpAddr>().ok();
    list.split(',').map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = strip_port(entry);
        if let Some(ip) = ip {
            return match entry.split_once('/') {
                Some((net, bits)) => in_range(ip, net, bits),
                None => entry.parse::<std::net::IpAddr>().is_ok_and(|e| e == ip),
            };
        }
        let entry = entry
            .strip_prefix("*.")
            .or_else(|| entry.strip_prefix('.'))
            .unwrap_or(entry)
            .trim_end_matches('.');
        if entry.is_empty() {
            return false;
        }
        match host.len().checked_sub(entry.len()) {
            Some(0) => host.eq_ignore_ascii_case(entry),
            Some(cut) => {
                host.get(cut..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case(entry))
                    && host.get(..cut).is_some_and(|head| head.ends_with('.'))
            }
            None => false,
        }
    })
}

/// A `NO_PROXY` entry without its port: `[::1]:80` is `::1`, `host:80` is `host`, and
/// a bare IPv6 address (several colons) is kept whole.
fn strip_port(entry: &str) -> &str {
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(addr, _)| addr);
    }
    match entry.split_once(':') {
        Some((host, port)) if !port.contains(':') => host,
        _ => entry,
    }
}

/// Whether `ip` is in the range `net/bits` (both of one family).
fn in_range(ip: std::net::IpAddr, net: &str, bits: &str) -> bool {
    use std::net::IpAddr;
    let Ok(bits) = bits.parse::<u32>() else {
        return false;
    };
    let (ip, net, width) = match (ip, net.parse::<IpAddr>()) {
        (IpAddr::V4(ip), Ok(IpAddr::V4(net))) => {
            (u128::from(u32::from(ip)), u128::from(u32::from(net)), 32)
        }
        (IpAddr::V6(ip), Ok(IpAddr::V6(net))) => (u128::from(ip), u128::from(net), 128),
        _ => return false,
    };
    if bits > width {
        return false;
    }
    let shift = width - bits;
    ip.checked_shr(shift).unwrap_or(0) == net.checked_shr(shift).unwrap_or(0)
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

    fn env(vars: &[(&str, &str)]) -> ProxyEnv {
        ProxyEnv::read(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    /// The proxy the environment gives requests to `root`, by name.
    fn env_proxy(vars: &[(&str, &str)], root: &str) -> Option<String> {
        choose_proxy(&ProxySetting::FromEnv, &env(vars), root)
            .unwrap()
            .map(|p| proxy_name(&p))
    }

    #[test]
    fn the_proxy_variable_follows_the_scheme_lower_case_first() {
        let all = [
            ("https_proxy", "http://lower-https:1"),
            ("HTTPS_PROXY", "http://upper-https:2"),
            ("http_proxy", "http://lower-http:3"),
            ("HTTP_PROXY", "http://upper-http:4"),
            ("all_proxy", "http://lower-all:5"),
            ("ALL_PROXY", "http://upper-all:6"),
        ];
        let https = "https://dashscope.aliyuncs.com";
        let http = "http://10.0.0.1:8080";
        assert_eq!(
            env_proxy(&all, https).as_deref(),
            Some("http://lower-https:1")
        );
        assert_eq!(
            env_proxy(&all, http).as_deref(),
            Some("http://lower-http:3")
        );
        assert_eq!(
            env_proxy(&all[1..], https).as_deref(),
            Some("http://upper-https:2")
        );
        assert_eq!(
            env_proxy(&all[3..], http).as_deref(),
            Some("http://upper-http:4")
        );
        // An https target never takes HTTP_PROXY, nor an http one HTTPS_PROXY.
        assert_eq!(env_proxy(&all[2..4], https), None);
        assert_eq!(env_proxy(&all[..2], http), None);
        assert_eq!(
            env_proxy(&all[4..], https).as_deref(),
            Some("http://lower-all:5")
        );
        assert_eq!(
            env_proxy(&all[5..], http).as_deref(),
            Some("http://upper-all:6")
        );
        // Empty counts as unset.
        assert_eq!(
            env_proxy(&[("https_proxy", " "), ("ALL_PROXY", "http://p:7")], https).as_deref(),
            Some("http://p:7")
        );
        assert_eq!(env_proxy(&[], https), None);
    }

    #[test]
    fn loopback_hosts_never_take_the_environment_proxy() {
        let vars = [
            ("ALL_PROXY", "http://proxy.example:3128"),
            ("HTTP_PROXY", "http://proxy.example:3128"),
        ];
        for root in [
            "http://127.0.0.1:9",
            "http://127.1.2.3:9",
            "http://[::1]:9",
            "http://localhost:9",
            "http://LOCALHOST",
        ] {
            assert_eq!(env_proxy(&vars, root), None, "{root}");
        }
        assert_eq!(
            env_proxy(&vars, "http://128.0.0.1:9").as_deref(),
            Some("http://proxy.example:3128")
        );
        // A proxy the caller sets is used even for loopback.
        let explicit = ProxySetting::Url("http://127.0.0.1:1".into());
        let proxy = choose_proxy(&explicit, &env(&[]), "http://127.0.0.1:9").unwrap();
        assert_eq!(
            proxy.map(|p| proxy_name(&p)).as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert!(
            choose_proxy(&ProxySetting::None, &env(&vars), "https://h.example")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn no_proxy_lists() {
        let host = "dashscope.aliyuncs.com";
        for list in [
            "*",
            "aliyuncs.com",
            ".aliyuncs.com",
            "*.aliyuncs.com",
            "dashscope.aliyuncs.com",
            "DashScope.AliyunCS.com",
            "aliyuncs.com.",
            "other.example, aliyuncs.com",
            " other.example ,aliyuncs.com:443",
            "dashscope.aliyuncs.com:8080",
        ] {
            assert!(no_proxy_matches(list, host), "{list:?}");
        }
        for list in [
            "",
            ",",
            ".",
            "*.",
            "scope.aliyuncs.com",
            "yuncs.com",
            "other.example",
            "dashscope.aliyuncs.com.cn",
            "10.0.0.1",
        ] {
            assert!(!no_proxy_matches(list, host), "{list:?}");
        }
        // IP addresses match exactly or by range, never by suffix.
        assert!(no_proxy_matches("10.0.0.1", "10.0.0.1"));
        assert!(no_proxy_matches("10.0.0.1:8080", "10.0.0.1"));
        assert!(no_proxy_matches("10.0.0.0/8", "10.1.2.3"));
        assert!(no_proxy_matches("0.0.0.0/0", "10.1.2.3"));
        assert!(!no_proxy_matches("10.0.0.0/8", "11.1.2.3"));
        assert!(!no_proxy_matches("0.0.1", "10.0.0.1"));
        assert!(!no_proxy_matches("10.0.0.0/33", "10.0.0.1"));
        assert!(no_proxy_matches("fd00::1", "[fd00::1]"));
        assert!(no_proxy_matches("[fd00::1]:443", "[fd00::1]"));
        assert!(no_proxy_matches("fd00::/8", "[fd12::1]"));
        assert!(!no_proxy_matches("fd00::/8", "10.0.0.1"));

        let vars = [
            ("HTTPS_PROXY", "http://proxy.example:3128"),
            ("NO_PROXY", ".aliyuncs.com"),
        ];
        assert_eq!(env_proxy(&vars, "https://dashscope.aliyuncs.com"), None);
        assert!(env_proxy(&vars, "https://h.example").is_some());
        // no_proxy wins over NO_PROXY, as the proxy variables' lower case does.
        let both = [
            ("HTTPS_PROXY", "http://proxy.example:3128"),
            ("no_proxy", "h.example"),
            ("NO_PROXY", ".aliyuncs.com"),
        ];
        assert!(env_proxy(&both, "https://dashscope.aliyuncs.com").is_some());
        assert_eq!(env_proxy(&both, "https://h.example"), None);
    }

    #[test]
    fn bad_environment_proxies_are_config_errors_only_when_used() {
        let vars = [("HTTPS_PROXY", "http://user:pw@proxy.example:99999")];
        let err =
            choose_proxy(&ProxySetting::FromEnv, &env(&vars), "https://h.example").unwrap_err();
        let Error::Config(message) = err else {
            panic!("{err:?}")
        };
        assert!(message.contains("HTTPS_PROXY"), "{message}");
        assert!(!message.contains("pw"), "{message}");
        // Not used: a loopback target, or NO_PROXY.
        assert!(choose_proxy(&ProxySetting::FromEnv, &env(&vars), "http://127.0.0.1:9").is_ok());
        let skipped = [vars[0], ("NO_PROXY", "*")];
        assert!(choose_proxy(&ProxySetting::FromEnv, &env(&skipped), "https://h.example").is_ok());
    }

    #[test]
    fn proxy_names_carry_no_credentials() {
        let proxy = parse_proxy("http://user:secret@proxy.example:3128").unwrap();
        assert_eq!(proxy_name(&proxy), "http://proxy.example:3128");
        let proxy = parse_proxy("socks5://user:secret@[::1]:1080").unwrap();
        assert_eq!(proxy_name(&proxy), "socks5://[::1]:1080");
    }

    #[test]
    fn timeouts_too_long_for_the_clock_are_none() {
        let d = Duration::from_secs(5);
        assert_eq!(clock_limit(Some(d)), Some(d));
        assert_eq!(clock_limit(None), None);
        assert_eq!(clock_limit(Some(Duration::MAX)), None);
        assert_eq!(clock_limit(Some(Duration::from_secs(u64::MAX / 2))), None);
        let hundred_years = Duration::from_secs(100 * 366 * 24 * 3600);
        assert_eq!(clock_limit(Some(hundred_years)), Some(hundred_years));
    }

    #[test]
    fn region_names_parse_in_one_place_and_display_as_ids() {
        for region in [
            Region::Beijing,
            Region::Singapore,
            Region::Us,
            Region::HongKong,
        ] {
            assert_eq!(region.to_string(), region.id());
            assert_eq!(region.to_string().parse::<Region>().unwrap(), region);
        }
        for (name, region) in [
            ("beijing", Region::Beijing),
            (" CN-Beijing ", Region::Beijing),
            ("intl", Region::Singapore),
            ("singapore", Region::Singapore),
            ("virginia", Region::Us),
            ("us", Region::Us),
            ("hong-kong", Region::HongKong),
            ("hongkong", Region::HongKong),
        ] {
            assert_eq!(name.parse::<Region>().unwrap(), region, "{name}");
        }
        assert!(matches!("mars".parse::<Region>(), Err(Error::Config(_))));
        // DASHSCOPE_REGION goes through the same parser.
        let err = ClientBuilder::default()
            .apply_env(|k| (k == "DASHSCOPE_REGION").then(|| "mars".to_owned()))
            .unwrap_err();
        assert!(err.to_string().contains("DASHSCOPE_REGION"), "{err}");
        let b = ClientBuilder::default()
            .apply_env(|k| (k == "DASHSCOPE_REGION").then(|| "virginia".to_owned()))
            .unwrap();
        assert_eq!(b.region, Region::Us);
    }

    #[test]
    fn workspace_ids() {
        assert!(valid_workspace("ws-1_a"));
        assert!(!valid_workspace("-ws"));
        assert!(!valid_workspace("ws.evil.com/x"));
        assert!(!valid_workspace(&"a".repeat(65)));
    }
}
