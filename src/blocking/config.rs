//! [`ClientBuilder`] and what it checks: the region, base URL or endpoints, the API key,
//! the proxy, timeouts and limits. [`ClientBuilder::build`] hands the checked settings to
//! [`Client`].

use crate::chat::request::set_header;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ureq::http;

use crate::blocking::client::Client;
use crate::blocking::proxy::{ProxyEnv, ProxySetting, choose_proxy, proxy_name};
use crate::blocking::transport;
use crate::chat::http::{Endpoint, RetryPolicy};
use crate::chat::{Catalog, ChatRequest, Model, Protocol};
use crate::error::{ConfigKind, Error};

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
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Beijing => "cn-beijing",
            Self::Singapore => "ap-southeast-1",
            Self::Us => "us-east-1",
            Self::HongKong => "cn-hongkong",
        }
    }

    /// The shared host, with scheme.
    #[must_use]
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
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the regions this client
    /// knows.
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "cn-beijing" | "beijing" => Self::Beijing,
            "ap-southeast-1" | "singapore" | "intl" => Self::Singapore,
            "us-east-1" | "us" | "virginia" => Self::Us,
            "cn-hongkong" | "hongkong" | "hong-kong" => Self::HongKong,
            _ => {
                return Err(Error::config(
                    ConfigKind::Region,
                    format!(
                        "{s:?} is not a region this client knows (cn-beijing, ap-southeast-1, us-east-1, cn-hongkong)"
                    ),
                ));
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

/// Configures a [`Client`]. Every setting has a default except the API key, which only
/// a client whose every URL was given with [`endpoint`](ClientBuilder::endpoint) may go
/// without.
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
///     Some("http://127.0.0.1:8080/api/v1/services/aigc/text-generation/generation")
/// );
/// assert!(!format!("{client:?}").contains("sk-test"));
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    api_key: ApiKey,
    /// `None` until set: see [`ClientBuilder::endpoint`] for why that differs from the
    /// default region.
    region: Option<Region>,
    workspace: Option<String>,
    base_url: Option<String>,
    /// The endpoints given, one per protocol, as given.
    endpoints: Vec<(Protocol, String)>,
    protocol: Protocol,
    catalog: Catalog,
    connect_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    total_timeout: Option<Duration>,
    retry: RetryPolicy,
    agent: Option<ureq::Agent>,
    /// The pool and buffer settings given; `None` for the defaults.
    connections: Connections,
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
            .field("endpoints", &self.endpoints)
            .field("protocol", &self.protocol)
            .field("catalog", &CatalogNames(&self.catalog))
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("retry", &self.retry)
            .field("custom_agent", &self.agent.is_some())
            .field("connections", &self.connections)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("user_agent", &self.user_agent)
            .field("default_headers", &RedactedHeaders(&self.default_headers))
            .finish_non_exhaustive()
    }
}

/// A catalog as `Debug` shows it: the names of its entries.
pub(crate) struct CatalogNames<'c>(pub(crate) &'c Catalog);

impl fmt::Debug for CatalogNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|m| m.name.as_str()))
            .finish()
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
            region: None,
            workspace: None,
            base_url: None,
            endpoints: Vec::new(),
            protocol: Protocol::default(),
            catalog: Catalog::builtin(),
            connect_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_secs(180)),
            total_timeout: None,
            retry: RetryPolicy::default(),
            agent: None,
            connections: Connections::default(),
            allow_insecure_http: false,
            proxy: ProxySetting::FromEnv,
            max_body_bytes: crate::chat::http::MAX_BODY,
            read_buffer: 16 * 1024,
            sleeper: None,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            default_headers: Vec::new(),
        }
    }
}

impl ClientBuilder {
    /// The API key, sent as `Authorization: Bearer ...` to every URL the client has.
    /// Defaults to none, which only a client whose every URL is an
    /// [`endpoint`](ClientBuilder::endpoint) may have: it then sends no `Authorization`
    /// header. Model Studio's hosts (region, workspace, base URL) always need one.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = ApiKey(key.into());
        self
    }

    /// The region whose host is called; ignored when a base URL is set. Defaults to
    /// [`Region::Beijing`] (unless endpoints are given: see
    /// [`endpoint`](ClientBuilder::endpoint)).
    #[must_use]
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// The workspace whose host is called, `https://{id}.{region}.maas.aliyuncs.com`;
    /// ignored when a base URL is set. Defaults to none (the region's shared host).
    #[must_use]
    pub fn workspace(mut self, id: impl Into<String>) -> Self {
        self.workspace = Some(id.into());
        self
    }

    /// The gateway root, overriding region and workspace (and overridden, for one
    /// protocol, by an [`endpoint`](ClientBuilder::endpoint)). Defaults to none.
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

    /// The full URL requests of `protocol` go to, used as given (no path added or
    /// removed), for a server other than Model Studio: vLLM or SGLang
    /// (`http://host:8000/v1/chat/completions`), Z.ai
    /// (`https://api.z.ai/api/paas/v4/chat/completions`), a gateway of your own. Setting
    /// it again for the same protocol keeps the last URL. Defaults to none: each
    /// protocol goes to Model Studio's path under the base URL, workspace or region.
    ///
    /// - **Only that protocol.** A protocol without an endpoint still goes to the
    ///   [`base_url`](ClientBuilder::base_url), [`workspace`](ClientBuilder::workspace) or
    ///   [`region`](ClientBuilder::region), if one of them was set (by its setter or
    ///   [`apply_env`](ClientBuilder::apply_env)). If none was, it has no URL:
    ///   [`Client::endpoint`] says `None`, [`build`](ClientBuilder::build) refuses a
    ///   client whose own [`protocol`](ClientBuilder::protocol) has none, and a request
    ///   that asks for it ([`ChatRequest::with_protocol`]) is refused before anything is sent
    ///   ([`ConfigKind::Url`]). So no request goes to Model Studio, with a key meant
    ///   for another server, unless the builder named a Model Studio host.
    /// - **The key is optional.** A client whose every URL is an endpoint builds
    ///   without one and then sends no `Authorization` header (a vLLM or SGLang server
    ///   started without `--api-key`). Model Studio's hosts always need one, so a client
    ///   that can reach one still refuses to build without it: the mistake shows at
    ///   `build`, not as a `401` later.
    /// - **Checked as a base URL is:** `https://`, or `http://` only to a loopback host
    ///   unless [`allow_insecure_http`](ClientBuilder::allow_insecure_http) (with or
    ///   without a key: the messages travel too); no fragment and no credentials in the
    ///   URL (give the key with [`api_key`](ClientBuilder::api_key)). It must have a path:
    ///   `http://host:8000` alone is more likely a base URL than an endpoint. A query is
    ///   kept.
    /// - **The proxy** from the environment is chosen for each URL the client has;
    ///   `build` refuses URLs that would need different ones (a loopback server and a
    ///   proxied host): use one client per server, or [`proxy`](ClientBuilder::proxy) or
    ///   [`no_proxy`](ClientBuilder::no_proxy).
    ///
    /// The request body is Model Studio's for the protocol, model rules included (see
    /// [`model`](ClientBuilder::model) to register the server's model names);
    /// [`ChatRequest::extra`] adds a field only the other server knows.
    ///
    /// # Example
    ///
    /// This example streams from a local vLLM-style server (here a [`ReplayServer`]) at
    /// `/v1/chat/completions`, with no API key and so no `Authorization` header.
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::{ChatRequest, Protocol};
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let stream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    /// let server = ReplayServer::builder()
    ///     .route("/v1/chat/completions", Reply::sse(stream))
    ///     .start()?;
    /// let url = server.url("/v1/chat/completions");
    /// let client = Client::builder()
    ///     .endpoint(Protocol::OpenAiCompatible, &url)
    ///     .no_proxy()
    ///     .build()?;
    /// assert_eq!(client.endpoint(Protocol::OpenAiCompatible), Some(url.as_str()));
    /// assert_eq!(client.endpoint(Protocol::DashScope), None);
    ///
    /// let completion = client.stream(&ChatRequest::new("zai-org/GLM-4.6").user("Hello"))?.finish()?;
    /// assert_eq!(completion.message.content, "Hi");
    /// assert_eq!(server.requests()[0].header("Authorization"), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`ChatRequest::with_protocol`]: crate::chat::ChatRequest::with_protocol
    /// [`ChatRequest::extra`]: crate::chat::ChatRequest::extra
    /// [`ConfigKind::Url`]: crate::ConfigKind::Url
    /// [`ReplayServer`]: crate::testing::ReplayServer
    #[must_use]
    pub fn endpoint(mut self, protocol: Protocol, url: impl Into<String>) -> Self {
        let url = url.into();
        match self.endpoints.iter_mut().find(|(p, _)| *p == protocol) {
            Some(slot) => slot.1 = url,
            None => self.endpoints.push((protocol, url)),
        }
        self
    }

    /// The protocol of requests that do not set one ([`ChatRequest::with_protocol`]).
    /// Defaults to [`Protocol::OpenAiCompatible`].
    ///
    /// [`ChatRequest::with_protocol`]: crate::chat::ChatRequest::with_protocol
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Registers `model` in the client's catalog: a model the crate does not know (a
    /// fine-tune, a newer GLM, a name another server gives), or a correction to a
    /// built-in entry, which an entry of the same name replaces. Defaults to none
    /// registered: the catalog is [`Catalog::builtin`].
    ///
    /// Every request is checked against the client's catalog before it is sent
    /// ([`ChatRequest::validate_with`]), and its body written with the catalog's defaults
    /// ([`ChatRequest::write_body_with`]); an
    /// [`unchecked`](crate::chat::ChatRequest::unchecked) request skips the model rules.
    ///
    /// # Example
    ///
    /// This example registers a fine-tune with a shorter answer limit: a request over it
    /// is refused before anything is sent.
    ///
    /// ```
    /// use dashscope_glm::blocking::Client;
    /// use dashscope_glm::chat::{ChatRequest, Model, Rule};
    ///
    /// let client = Client::builder()
    ///     .api_key("sk-test")
    ///     .model(Model::new("my-glm-ft").with_max_response(4_096))
    ///     .build()?;
    /// let request = ChatRequest::new("my-glm-ft").user("hi").max_tokens(8_192);
    /// let err = client.complete(&request).unwrap_err();
    /// assert_eq!(err.rule(), Some(Rule::MaxTokensAboveLimit));
    /// assert_eq!(err.attempts(), 0);
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    ///
    /// [`ChatRequest::validate_with`]: crate::chat::ChatRequest::validate_with
    /// [`ChatRequest::write_body_with`]: crate::chat::ChatRequest::write_body_with
    #[must_use]
    pub fn model(mut self, model: Model) -> Self {
        self.catalog.insert(model);
        self
    }

    /// The whole catalog requests are checked against, replacing the one built so far
    /// (models registered before with [`model`](ClientBuilder::model) included; later
    /// ones go into this one). Defaults to [`Catalog::builtin`].
    ///
    /// For a catalog shared with code that validates on its own
    /// ([`ChatRequest::validate_with`]), or [`Catalog::empty`] to check no model rule
    /// on any request.
    ///
    /// [`ChatRequest::validate_with`]: crate::chat::ChatRequest::validate_with
    #[must_use]
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = catalog;
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
    /// The agent is used as it was built, with its own proxy (ureq's default config
    /// reads `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` its own way, not as
    /// [`no_proxy`](ClientBuilder::no_proxy) describes), pool and buffers. So
    /// [`build`](ClientBuilder::build) refuses an agent together with a setting it would
    /// ignore: [`proxy`](ClientBuilder::proxy), [`no_proxy`](ClientBuilder::no_proxy),
    /// [`max_idle_connections_per_host`](ClientBuilder::max_idle_connections_per_host),
    /// [`max_idle_connections`](ClientBuilder::max_idle_connections),
    /// [`max_idle_age`](ClientBuilder::max_idle_age),
    /// [`input_buffer_size`](ClientBuilder::input_buffer_size) and
    /// [`output_buffer_size`](ClientBuilder::output_buffer_size). Set them on the agent's
    /// config instead: `ureq::config::ConfigBuilder` has setters of the same names
    /// (`proxy(None)` for no proxy).
    ///
    /// The agent runs on ureq's own transport, not the client's, so the client does
    /// not see its connections. A [`CancelToken`](crate::blocking::CancelToken) is then
    /// seen only before each attempt, between attempts and before each read of the
    /// body: not inside a connect, a TLS handshake or a blocked read, which run to
    /// their own timeouts. And a connection failure cannot be told apart as before or
    /// after the request was written, so only failures before any connection (the host
    /// lookup, a refused or timed-out connect) are retried, unless
    /// [`RetryPolicy::retry_unanswered`](crate::blocking::RetryPolicy::retry_unanswered)
    /// is on; and [`Timings`](crate::chat::Timings) has no `connecting`, `connected`
    /// or `request_written`.
    ///
    /// # Example
    ///
    /// This example builds the agent with the ureq the client re-exports
    /// ([`blocking::ureq`](crate::blocking::ureq)), so the versions match, and shows a
    /// pool setting on the builder refused next to it.
    ///
    /// ```
    /// use dashscope_glm::blocking::{Client, ureq};
    /// use dashscope_glm::ConfigKind;
    ///
    /// let agent = ureq::Agent::config_builder()
    ///     .max_idle_connections(4)
    ///     .proxy(None)
    ///     .build()
    ///     .new_agent();
    /// let client = Client::builder().api_key("sk-test").agent(agent.clone()).build()?;
    /// # let _ = client;
    ///
    /// let refused = Client::builder()
    ///     .api_key("sk-test")
    ///     .agent(agent)
    ///     .max_idle_connections(8)
    ///     .build();
    /// let err = refused.unwrap_err();
    /// assert_eq!(err.config_kind(), Some(ConfigKind::Conflict));
    /// assert!(err.to_string().contains("max_idle_connections"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn agent(mut self, agent: ureq::Agent) -> Self {
        self.agent = Some(agent);
        self
    }

    /// Whether the API key may go over plain `http://` to a host that is not loopback.
    /// Defaults to `false`: `build` refuses such a base URL or endpoint.
    #[must_use]
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The proxy (`http://host:port` or `https://...`, spoken to with `CONNECT`; a
    /// SOCKS proxy is refused by [`build`](ClientBuilder::build)), used for every host,
    /// loopback included. Defaults to the environment's: see
    /// [`no_proxy`](ClientBuilder::no_proxy).
    ///
    /// A transport error through a proxy names it (`scheme://host:port`, never its
    /// credentials). Not with [`agent`](ClientBuilder::agent), whose proxy is its own.
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
    /// [`build`](ClientBuilder::build). Not with [`agent`](ClientBuilder::agent), whose
    /// proxy is its own.
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

    /// The most idle connections kept open per host for later requests. Defaults to 32.
    ///
    /// A request that finds no idle connection opens one; with at least one kept per
    /// thread, `n` threads calling one host never open more than `n` connections.
    #[must_use]
    pub fn max_idle_connections_per_host(mut self, n: usize) -> Self {
        self.connections.idle_per_host = Some(n);
        self
    }

    /// The most idle connections kept open in all, over every host. Defaults to 64.
    #[must_use]
    pub fn max_idle_connections(mut self, n: usize) -> Self {
        self.connections.idle_total = Some(n);
        self
    }

    /// How long an idle connection is kept for reuse. Defaults to 15 s.
    #[must_use]
    pub fn max_idle_age(mut self, age: Duration) -> Self {
        self.connections.idle_age = Some(age);
        self
    }

    /// The size of each connection's input buffer in ureq, from 1 KiB to 16 MiB, which
    /// must hold a whole response head (status line and headers). Defaults to 16 KiB.
    ///
    /// A longer head fails the request with a transport error ([`ErrorKind::Transport`](crate::ErrorKind::Transport)) (`response header is
    /// too big`), not retried; so does one of more than 128 headers, ureq's limit
    /// whatever the size. The body streams through the buffer, whatever its length.
    #[must_use]
    pub fn input_buffer_size(mut self, bytes: usize) -> Self {
        self.connections.input_buffer = Some(bytes);
        self
    }

    /// The size of each connection's output buffer in ureq, from 1 KiB to 16 MiB, which
    /// must hold the request line and the longest header line. Defaults to 16 KiB.
    ///
    /// The request body, and headers that do not fit all at once, go out in pieces of
    /// this size, whatever their length.
    #[must_use]
    pub fn output_buffer_size(mut self, bytes: usize) -> Self {
        self.connections.output_buffer = Some(bytes);
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
    /// use dashscope_glm::ConfigKind;
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
    /// assert_eq!(refused.unwrap_err().config_kind(), Some(ConfigKind::Header));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn default_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        set_header(&mut self.default_headers, name.into(), value.into());
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
    /// `DASHSCOPE_REGION`, `DASHSCOPE_WORKSPACE`, `DASHSCOPE_BASE_URL`, and
    /// `DASHSCOPE_ENDPOINT`, the full URL of an OpenAI-compatible server (as
    /// [`endpoint`](ClientBuilder::endpoint)`(Protocol::OpenAiCompatible, ..)`: the
    /// protocol the servers other than Model Studio speak). Empty values count as unset;
    /// variables that are unset leave the builder as it was.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a region it does not know.
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
    /// assert!(client.endpoint(Default::default()).unwrap().starts_with("https://dashscope-intl.aliyuncs.com/"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn apply_env(mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        if let Some(key) = get("DASHSCOPE_API_KEY") {
            self.api_key = ApiKey(key.trim().to_owned());
        }
        if let Some(region) = get("DASHSCOPE_REGION") {
            self.region = Some(region.parse().map_err(|e| {
                Error::config(ConfigKind::Region, format!("DASHSCOPE_REGION: {e}"))
            })?);
        }
        if let Some(ws) = get("DASHSCOPE_WORKSPACE") {
            self.workspace = Some(ws.trim().to_owned());
        }
        if let Some(url) = get("DASHSCOPE_BASE_URL") {
            self.base_url = Some(url.trim().to_owned());
        }
        if let Some(url) = get("DASHSCOPE_ENDPOINT") {
            self = self.endpoint(Protocol::OpenAiCompatible, url.trim());
        }
        Ok(self)
    }

    /// Checks the configuration and builds the client. Nothing is sent.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config), with
    /// [`config_kind`](Error::config_kind) naming the setting: no API key for a client
    /// that can reach a Model Studio host (or a key that cannot go in a header), a base
    /// URL that is not `http(s)://host[:port][/path]` or an endpoint that is not
    /// `http(s)://host[:port]/path[?query]`, plain `http://` to a host that is not
    /// loopback without [`allow_insecure_http`](ClientBuilder::allow_insecure_http), no
    /// URL for the client's [`protocol`](ClientBuilder::protocol) (endpoints given for
    /// the other protocol only), a workspace id that is
    /// not a DNS label, an invalid proxy (given or from the environment) or URLs that
    /// need different proxies from the environment, a default header
    /// or user agent that is not valid HTTP or that the client writes itself, a buffer
    /// size out of range, a custom [`agent`](ClientBuilder::agent) together with settings
    /// it would ignore (the proxy, pool and buffer settings; the message names them).
    pub fn build(self) -> Result<Client, Error> {
        let env = ProxyEnv::read(|k| std::env::var(k).ok());
        self.build_with_env(&env)
    }

    /// [`build`](ClientBuilder::build) with the proxy variables read already.
    fn build_with_env(self, env: &ProxyEnv) -> Result<Client, Error> {
        let routes = self.routes()?;
        if !routes.iter().any(|r| r.protocol == self.protocol) {
            let given: Vec<String> = self
                .endpoints
                .iter()
                .map(|(p, _)| format!("{p:?}"))
                .collect();
            return Err(Error::config(
                ConfigKind::Url,
                format!(
                    "no URL for the client's protocol {:?}: endpoint(..) was given for {} only, and no base URL, workspace or region; give an endpoint for it, or set protocol(..) to one that has one",
                    self.protocol,
                    given.join(", ")
                ),
            ));
        }
        let key = &self.api_key.0;
        let needs_key = routes.iter().any(|r| !r.custom);
        if key.is_empty() && needs_key {
            return Err(Error::config(
                ConfigKind::ApiKey,
                "no API key: set DASHSCOPE_API_KEY or call ClientBuilder::api_key (Model Studio's hosts need one; only a server given with ClientBuilder::endpoint may go without)",
            ));
        }
        // Each protocol's requests are built by the chat layer from its endpoint: the URL,
        // the key, the user agent and default headers, the catalog. Checked here, so that
        // a bad key or header fails `build`, not the first request.
        let mut endpoints = Vec::with_capacity(routes.len());
        for route in &routes {
            let mut endpoint = Endpoint::new(route.protocol, route.url.as_str())
                .api_key(key.as_str())
                .header("User-Agent", self.user_agent.as_str())
                .catalog(self.catalog.clone());
            for (name, value) in &self.default_headers {
                endpoint = endpoint.header(name.as_str(), value.as_str());
            }
            endpoint.check()?;
            endpoints.push(endpoint);
        }
        let (agent, proxy, own_transport) = match self.agent {
            Some(agent) => {
                let ignored = agent_would_ignore(&self.proxy, &self.connections);
                if !ignored.is_empty() {
                    let ours: Vec<&str> = ignored.iter().map(|(ours, _)| *ours).collect();
                    let theirs: Vec<&str> = ignored.iter().map(|(_, theirs)| *theirs).collect();
                    return Err(Error::config(
                        ConfigKind::Conflict,
                        format!(
                            "ClientBuilder::agent conflicts with {}: a custom agent keeps the proxy, pool and buffers it was built with; set {} on its ureq config instead ({})",
                            ours.join(", "),
                            if ours.len() == 1 { "that" } else { "those" },
                            theirs.join(", "),
                        ),
                    ));
                }
                (agent, None, false)
            }
            None => {
                let proxy = one_proxy(&self.proxy, env, &routes)?;
                let name = proxy.as_ref().map(proxy_name);
                let c = &self.connections;
                let input = c.buffer("input_buffer_size", c.input_buffer)?;
                let output = c.buffer("output_buffer_size", c.output_buffer)?;
                // On the client's own transport, which honours a CancelToken.
                let agent = transport::new_agent(
                    ureq::Agent::config_builder()
                        .proxy(proxy)
                        .max_idle_connections_per_host(
                            c.idle_per_host.unwrap_or(DEFAULT_IDLE_PER_HOST),
                        )
                        .max_idle_connections(c.idle_total.unwrap_or(DEFAULT_IDLE_TOTAL))
                        .max_idle_age(c.idle_age.unwrap_or(DEFAULT_IDLE_AGE))
                        .input_buffer_size(input)
                        .output_buffer_size(output)
                        // ureq can only parse a head that fits in the input buffer; a
                        // longer one would end its read loop as a disconnect, an I/O
                        // error (retried as a connect failure). Below the buffer's size,
                        // ureq stops with `LargeResponseHeader` once the buffer is full.
                        .max_response_header_size(input - 1)
                        .http_status_as_error(false)
                        .max_redirects(0)
                        .max_redirects_will_error(false)
                        .user_agent(DEFAULT_USER_AGENT)
                        .build(),
                );
                (agent, name, true)
            }
        };
        Ok(Client::new(Config {
            agent,
            own_transport,
            api_key: self.api_key,
            endpoints,
            proxy,
            routes,
            protocol: self.protocol,
            catalog: self.catalog,
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

impl ClientBuilder {
    /// Where each protocol's requests go: its endpoint if one was given, else Model
    /// Studio's path under the root (base URL, workspace or region), unless endpoints
    /// were given and no root was set (see [`ClientBuilder::endpoint`]). A protocol
    /// missing from the list has no URL.
    fn routes(&self) -> Result<Vec<Route>, Error> {
        let allow = self.allow_insecure_http;
        let mut endpoints = Vec::with_capacity(self.endpoints.len());
        for (protocol, url) in &self.endpoints {
            endpoints.push(endpoint_route(*protocol, url, allow)?);
        }
        let root = match (&self.base_url, &self.workspace, self.region) {
            (Some(url), _, _) => Some(root_url(url, allow)?),
            (None, Some(ws), region) => {
                if !valid_workspace(ws) {
                    return Err(Error::config(
                        ConfigKind::Workspace,
                        format!(
                            "workspace id {ws:?} is not valid (letters, digits, '_' and '-', at most 64, starting with a letter or digit)"
                        ),
                    ));
                }
                Some(format!(
                    "https://{ws}.{}.maas.aliyuncs.com",
                    // No region: the default one, as without a workspace.
                    region.unwrap_or_default().id()
                ))
            }
            (None, None, Some(region)) => Some(region.host().to_owned()),
            (None, None, None) if endpoints.is_empty() => Some(Region::default().host().to_owned()),
            (None, None, None) => None,
        };
        // Every protocol the client speaks; a protocol added to `Protocol` joins here.
        let mut routes = Vec::with_capacity(2);
        for protocol in [Protocol::OpenAiCompatible, Protocol::DashScope] {
            if let Some(at) = endpoints.iter().position(|r| r.protocol == protocol) {
                routes.push(endpoints.swap_remove(at));
            } else if let Some(root) = &root {
                let path = ChatRequest::endpoint_path(protocol);
                routes.push(Route {
                    protocol,
                    url: format!("{root}{path}"),
                    path: path.to_owned(),
                    custom: false,
                });
            }
        }
        Ok(routes)
    }
}

/// Where requests of one protocol go, as [`ClientBuilder::build`] resolved it.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub(crate) protocol: Protocol,
    /// The whole URL requests are posted to.
    pub(crate) url: String,
    /// The URL's path, without the query, for the request log: for a Model Studio
    /// root, the endpoint path alone (as [`ChatRequest::endpoint_path`]).
    pub(crate) path: String,
    /// Given with [`ClientBuilder::endpoint`] (no key needed), rather than a Model
    /// Studio path under a root.
    pub(crate) custom: bool,
}

/// The proxy for every URL of the client: from the environment, each URL's choice,
/// which must agree, since one agent serves them all.
fn one_proxy(
    setting: &ProxySetting,
    env: &ProxyEnv,
    routes: &[Route],
) -> Result<Option<ureq::Proxy>, Error> {
    let mut chosen: Option<(Option<ureq::Proxy>, &str)> = None;
    for route in routes {
        let proxy = choose_proxy(setting, env, &route.url)?;
        match &chosen {
            None => chosen = Some((proxy, &route.url)),
            Some((first, url)) if *first != proxy => {
                let name = |p: &Option<ureq::Proxy>| {
                    p.as_ref().map_or_else(
                        || "no proxy".to_owned(),
                        |p| format!("the proxy {}", proxy_name(p)),
                    )
                };
                return Err(Error::config(
                    ConfigKind::Conflict,
                    format!(
                        "the environment gives {url} {} and {} {}, but a client has one proxy: use one client per server, or set proxy(..) or no_proxy()",
                        name(first),
                        route.url,
                        name(&proxy),
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(chosen.and_then(|(proxy, _)| proxy))
}

/// The pool and buffer settings a builder was given (`None`: the default). They
/// configure the client's own agent only.
#[derive(Debug, Clone, Default)]
struct Connections {
    idle_per_host: Option<usize>,
    idle_total: Option<usize>,
    idle_age: Option<Duration>,
    input_buffer: Option<usize>,
    output_buffer: Option<usize>,
}

impl Connections {
    /// A buffer size as given to the setter `name`, or the default, checked: ureq
    /// panics on an empty buffer and on an input buffer over 100 MB.
    fn buffer(&self, name: &str, bytes: Option<usize>) -> Result<usize, Error> {
        let bytes = bytes.unwrap_or(DEFAULT_BUFFER);
        if !(MIN_BUFFER..=MAX_BUFFER).contains(&bytes) {
            return Err(Error::config(
                ConfigKind::Connection,
                format!("{name} is {bytes} bytes: it must be from 1 KiB to 16 MiB"),
            ));
        }
        Ok(bytes)
    }
}

/// ureq's input and output buffers, each, unless the builder says otherwise: they live
/// as long as their connection, open streams and idle ones alike (ureq's 128 KiB each
/// made an open stream cost about 277 KiB; 16 KiB, about 53 KiB).
///
/// - Input: ureq reads the response head into it and needs the whole head there; a
///   Model Studio head is about 1 KiB, and 16 KiB is twice what nginx allows a
///   proxied response head by default (`proxy_buffer_size`, 4 or 8 KiB). Past the
///   head the body passes through it in reads of up to its size, matching the
///   stream's own 16 KiB read buffer.
/// - Output: ureq writes the request line and headers into it, line by line over as
///   many writes as they need (a single line must fit: 16 KiB is twice nginx's
///   `large_client_header_buffers` line limit), and a body with a length in writes of
///   its size (ureq's `send_body`), so a request of any size goes out through it.
const DEFAULT_BUFFER: usize = 16 * 1024;
const MIN_BUFFER: usize = 1024;
const MAX_BUFFER: usize = 16 << 20;

/// The settings given that configure the client's own agent, which a custom agent would
/// ignore: each setter's name, and the `ureq::config::ConfigBuilder` call that sets the
/// same on an agent.
fn agent_would_ignore(proxy: &ProxySetting, c: &Connections) -> Vec<(&'static str, &'static str)> {
    let proxy = match proxy {
        ProxySetting::FromEnv => None,
        ProxySetting::None => Some(("no_proxy()", "proxy(None)")),
        ProxySetting::Url(_) => Some(("proxy(..)", "proxy(Some(..))")),
    };
    let given = [
        (c.idle_per_host.is_some(), "max_idle_connections_per_host"),
        (c.idle_total.is_some(), "max_idle_connections"),
        (c.idle_age.is_some(), "max_idle_age"),
        (c.input_buffer.is_some(), "input_buffer_size"),
        (c.output_buffer.is_some(), "output_buffer_size"),
    ];
    proxy
        .into_iter()
        .chain(
            given
                .into_iter()
                .filter(|(set, _)| *set)
                .map(|(_, name)| (name, name)),
        )
        .collect()
}

/// Idle connections kept per host: one per thread for up to 32 threads calling one
/// host (ureq's default, 3, made 32 threads open 80 to 133 connections for 512
/// requests).
const DEFAULT_IDLE_PER_HOST: usize = 32;

/// Idle connections kept in all: the per-host figure for two hosts (say two regions, or
/// a gateway and a region). An idle connection keeps its two ureq buffers (32 KiB by
/// default), so a full pool holds a little over 2 MiB.
const DEFAULT_IDLE_TOTAL: usize = 64;

/// How long an idle connection is kept: ureq's default. Below the idle timeouts
/// servers and load balancers commonly use (60 s, nginx's 75 s), so the pool
/// normally drops a connection before the server does and a request seldom meets a
/// connection closing under it. A thread's next request usually follows its previous
/// answer within seconds; longer would save a TLS handshake only after long pauses.
const DEFAULT_IDLE_AGE: Duration = Duration::from_secs(15);

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

/// What [`ClientBuilder::build`] checked, for the client to run with.
pub(crate) struct Config {
    pub(crate) agent: ureq::Agent,
    /// Whether `agent` runs on the client's own transport
    /// ([`super::transport`]): a cancel reaches every phase, and what a
    /// failed attempt wrote is known. `false` for an agent of the user's own.
    pub(crate) own_transport: bool,
    pub(crate) api_key: ApiKey,
    /// What each protocol's requests are built from (one per route, in its order): the
    /// URL, the key (none when every URL is an endpoint), the `User-Agent` and the
    /// default headers, the catalog.
    pub(crate) endpoints: Vec<Endpoint>,
    /// The proxy the client's own agent goes through, as `scheme://host:port`.
    pub(crate) proxy: Option<String>,
    /// Where each protocol's requests go; a protocol missing here has no URL.
    pub(crate) routes: Vec<Route>,
    pub(crate) protocol: Protocol,
    /// What requests are checked against and their bodies' defaults taken from.
    pub(crate) catalog: Catalog,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) total_timeout: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_body_bytes: usize,
    pub(crate) read_buffer: usize,
    pub(crate) sleeper: Option<Sleeper>,
}

fn valid_workspace(ws: &str) -> bool {
    let b = ws.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

/// A URL the client is given, trimmed and checked: it parses, `https://` (or `http://`
/// to a loopback host, or anywhere with `allow_insecure_http`), a host, no credentials,
/// no fragment. `what` names it in the error (`base URL`, `endpoint URL`).
fn checked_url<'u>(
    what: &str,
    url: &'u str,
    allow_insecure_http: bool,
) -> Result<(&'u str, http::Uri), Error> {
    let shown = shown_url(url);
    let bad = |why: &str| Error::config(ConfigKind::Url, format!("{what} {shown:?} {why}"));
    let url = url.trim();
    let uri: http::Uri = url
        .parse()
        .map_err(|e| bad(&format!("does not parse ({e})")))?;
    let scheme = uri.scheme_str().ok_or_else(|| bad("has no scheme"))?;
    let host = uri.host().ok_or_else(|| bad("has no host"))?;
    if url.contains('#') {
        return Err(bad("must not have a fragment"));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(bad(
            "must not carry credentials (user:password@): give the key with api_key",
        ));
    }
    match scheme {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(host) => {}
        "http" => {
            return Err(bad(
                "is plain http to a host that is not loopback: the API key and the messages would travel unencrypted (use https, or opt in with allow_insecure_http)",
            ));
        }
        _ => return Err(bad("must start with https:// or http://")),
    }
    Ok((url, uri))
}

/// A URL as an error shows it: credentials before the host (`user:password@`) replaced
/// by `<credentials>@`, since a URL that carries them is refused with a message that
/// quotes it.
fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at_checked(end).unwrap_or((rest, ""));
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://<credentials>@{host}{tail}"),
        None => url.to_owned(),
    }
}

/// The gateway root of a base URL: validated, without trailing slashes and without a
/// trailing protocol prefix (`/compatible-mode/v1`, `/api/v1`).
fn root_url(url: &str, allow_insecure_http: bool) -> Result<String, Error> {
    let (trimmed, uri) = checked_url("base URL", url, allow_insecure_http)?;
    if uri.query().is_some() {
        return Err(Error::config(
            ConfigKind::Url,
            format!("base URL {:?} must not have a query", shown_url(url)),
        ));
    }
    let mut root = trimmed.trim_end_matches('/');
    for suffix in ["/compatible-mode/v1", "/api/v1"] {
        if let Some(stripped) = root.strip_suffix(suffix) {
            root = stripped.trim_end_matches('/');
            break;
        }
    }
    Ok(root.to_owned())
}

/// An endpoint given for `protocol`: checked, and used as given (trimmed of surrounding
/// spaces only). It must have a path: a bare `scheme://host[:port]` is refused.
fn endpoint_route(
    protocol: Protocol,
    url: &str,
    allow_insecure_http: bool,
) -> Result<Route, Error> {
    let what = format!("endpoint URL for {protocol:?}");
    let (trimmed, uri) = checked_url(&what, url, allow_insecure_http)?;
    let path = uri.path();
    if path.is_empty() || path == "/" {
        return Err(Error::config(
            ConfigKind::Url,
            format!(
                "{what} {trimmed:?} has no path: give the full URL requests go to (such as http://host:8000/v1/chat/completions), or a gateway root with base_url"
            ),
        ));
    }
    Ok(Route {
        protocol,
        url: trimmed.to_owned(),
        path: path.to_owned(),
        custom: true,
    })
}

pub(crate) fn is_loopback(host: &str) -> bool {
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
                root_url(url, false).is_err_and(|e| e.config_kind() == Some(ConfigKind::Url)),
                "{url:?}"
            );
        }
        assert!(root_url("http://10.0.0.1:8080", true).is_ok());
    }

    #[test]
    fn endpoints_are_used_as_given() {
        let ok = |u| endpoint_route(Protocol::OpenAiCompatible, u, false).unwrap();
        let vllm = ok(" http://127.0.0.1:8000/v1/chat/completions ");
        assert_eq!(vllm.url, "http://127.0.0.1:8000/v1/chat/completions");
        assert_eq!(vllm.path, "/v1/chat/completions");
        assert!(vllm.custom);
        // No slash added or removed, no Model Studio prefix stripped.
        assert_eq!(
            ok("https://gw.example/compatible-mode/v1/").url,
            "https://gw.example/compatible-mode/v1/"
        );
        let query = ok("https://gw.example/openai/chat/completions?api-version=2024-10-21");
        assert_eq!(
            query.url,
            "https://gw.example/openai/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(query.path, "/openai/chat/completions");
        assert_eq!(
            ok("http://[::1]:8000/v1/chat/completions").path,
            "/v1/chat/completions"
        );
    }

    #[test]
    fn bad_endpoints_are_config_errors() {
        for url in [
            "",
            "127.0.0.1:8000/v1/chat/completions",
            "http://127.0.0.1:8000",
            "http://127.0.0.1:8000/",
            "https://api.z.ai/api/paas/v4/chat/completions#x",
            "http://10.0.0.5:8000/v1/chat/completions",
            "ftp://h.example/v1/chat/completions",
        ] {
            assert!(
                endpoint_route(Protocol::OpenAiCompatible, url, false)
                    .is_err_and(|e| e.config_kind() == Some(ConfigKind::Url)),
                "{url:?}"
            );
        }
        assert!(
            endpoint_route(
                Protocol::OpenAiCompatible,
                "http://10.0.0.5:8000/v1/chat/completions",
                true
            )
            .is_ok()
        );
        // Credentials in a URL are refused, and not echoed.
        for (url, shown) in [
            (
                "https://bob:hunter2@h.example/v1/chat/completions",
                "https://<credentials>@h.example/v1/chat/completions",
            ),
            (
                "https://hunter2@h.example",
                "https://<credentials>@h.example",
            ),
        ] {
            let err = endpoint_route(Protocol::OpenAiCompatible, url, false).unwrap_err();
            assert_eq!(err.config_kind(), Some(ConfigKind::Url));
            assert!(!err.to_string().contains("hunter2"), "{err}");
            assert!(err.to_string().contains(shown), "{err}");
            let err = root_url(url, false).unwrap_err();
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }

    /// Which protocols have a URL, and whether a key is needed, for each combination of
    /// an endpoint with the Model Studio settings.
    #[test]
    fn an_endpoint_replaces_the_root_for_its_protocol_only() {
        const VLLM: &str = "http://127.0.0.1:8000/v1/chat/completions";
        const NATIVE: &str = "/api/v1/services/aigc/text-generation/generation";
        let urls = |b: ClientBuilder| {
            let routes = b.routes().unwrap();
            let url = |p| {
                routes
                    .iter()
                    .find(|r| r.protocol == p)
                    .map(|r| r.url.clone())
            };
            (url(Protocol::OpenAiCompatible), url(Protocol::DashScope))
        };
        let vllm = || ClientBuilder::default().endpoint(Protocol::OpenAiCompatible, VLLM);
        assert_eq!(urls(vllm()), (Some(VLLM.to_owned()), None));
        assert_eq!(
            urls(vllm().region(Region::Singapore)).1.unwrap(),
            format!("https://dashscope-intl.aliyuncs.com{NATIVE}")
        );
        assert_eq!(
            urls(vllm().workspace("ws-1")).1.unwrap(),
            format!("https://ws-1.cn-beijing.maas.aliyuncs.com{NATIVE}")
        );
        assert_eq!(
            urls(vllm().base_url("https://gw.example/api/v1"))
                .1
                .unwrap(),
            format!("https://gw.example{NATIVE}")
        );
        // The last endpoint given for a protocol wins.
        assert_eq!(
            urls(vllm().endpoint(
                Protocol::OpenAiCompatible,
                "https://h.example/v4/chat/completions"
            ))
            .0
            .unwrap(),
            "https://h.example/v4/chat/completions"
        );
        // Without endpoints, the default region as before.
        assert_eq!(
            urls(ClientBuilder::default()).0.unwrap(),
            "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"
        );

        let env = ProxyEnv::default();
        let built = |b: ClientBuilder| b.no_proxy().build_with_env(&env);
        // A key is needed exactly when a Model Studio host is reachable.
        assert!(built(vllm()).is_ok());
        assert!(
            built(
                vllm()
                    .endpoint(Protocol::DashScope, "https://h.example/native")
                    .base_url("https://gw.example")
            )
            .is_ok()
        );
        for needs_key in [
            ClientBuilder::default(),
            vllm().region(Region::Beijing),
            vllm().workspace("ws-1"),
            vllm().base_url("http://127.0.0.1:9"),
        ] {
            assert_eq!(
                built(needs_key).unwrap_err().config_kind(),
                Some(ConfigKind::ApiKey)
            );
        }
        assert!(built(vllm().region(Region::Beijing).api_key("sk-test")).is_ok());
        // The client's own protocol must have a URL.
        let native_only =
            || ClientBuilder::default().endpoint(Protocol::DashScope, "https://h.example/native");
        let err = built(native_only()).unwrap_err();
        assert_eq!(err.config_kind(), Some(ConfigKind::Url));
        assert!(err.to_string().contains("OpenAiCompatible"), "{err}");
        assert!(built(native_only().protocol(Protocol::DashScope)).is_ok());
    }

    #[test]
    fn urls_that_need_different_proxies_are_refused() {
        let env = ProxyEnv::read(|k| {
            (k == "HTTPS_PROXY").then(|| "http://proxy.example:3128".to_owned())
        });
        let vllm = || {
            ClientBuilder::default().api_key("sk-test").endpoint(
                Protocol::OpenAiCompatible,
                "http://127.0.0.1:8000/v1/chat/completions",
            )
        };
        // Loopback (no proxy) next to a proxied Model Studio host.
        let err = vllm().region(Region::Us).build_with_env(&env).unwrap_err();
        assert_eq!(err.config_kind(), Some(ConfigKind::Conflict));
        assert!(err.to_string().contains("proxy.example:3128"), "{err}");
        // Alone, or with one proxy for both, or none given: fine.
        assert!(vllm().build_with_env(&env).is_ok());
        assert!(
            vllm()
                .region(Region::Us)
                .no_proxy()
                .build_with_env(&env)
                .is_ok()
        );
        assert!(
            vllm()
                .region(Region::Us)
                .proxy("http://p.example:1")
                .build_with_env(&env)
                .is_ok()
        );
        let zai = ClientBuilder::default()
            .api_key("sk-test")
            .endpoint(
                Protocol::OpenAiCompatible,
                "https://api.z.ai/api/paas/v4/chat/completions",
            )
            .region(Region::Us);
        assert!(zai.build_with_env(&env).is_ok());
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
        assert_eq!(
            "mars".parse::<Region>().unwrap_err().config_kind(),
            Some(ConfigKind::Region)
        );
        // DASHSCOPE_REGION goes through the same parser.
        let err = ClientBuilder::default()
            .apply_env(|k| (k == "DASHSCOPE_REGION").then(|| "mars".to_owned()))
            .unwrap_err();
        assert!(err.to_string().contains("DASHSCOPE_REGION"), "{err}");
        let b = ClientBuilder::default()
            .apply_env(|k| (k == "DASHSCOPE_REGION").then(|| "virginia".to_owned()))
            .unwrap();
        assert_eq!(b.region, Some(Region::Us));
    }

    #[test]
    fn workspace_ids() {
        assert!(valid_workspace("ws-1_a"));
        assert!(!valid_workspace("-ws"));
        assert!(!valid_workspace("ws.evil.com/x"));
        assert!(!valid_workspace(&"a".repeat(65)));
    }
}
