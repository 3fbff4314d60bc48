//! The request as data: [`Endpoint`] (where and how) and [`HttpRequest`] (what to send).

use crate::chat::request::set_header;
use std::borrow::Cow;
use std::fmt;

use crate::chat::{Accumulator, Catalog, ChatRequest, Protocol, StreamDecoder};
use crate::error::{ConfigKind, Error};

/// Where requests of one protocol go, and what every one of them carries: the URL, the
/// API key (sent as `Authorization: Bearer <key>`; none, no header), headers for every
/// request (a user agent, a workspace), and the [`Catalog`] requests are checked against
/// and their bodies' defaults taken from ([`Catalog::builtin`] unless given).
/// [`request`](Endpoint::request) turns a [`ChatRequest`] into the [`HttpRequest`] to
/// send there.
///
/// It is data: it opens nothing, and the URL is used as given (the transport parses it,
/// and decides whether a key may go over plain `http`). `blocking::Client` (feature
/// `blocking`) holds one per protocol and builds every request with it. `Debug` never
/// shows the key.
///
/// # Example
///
/// This example builds both protocols' requests for one call, the way a client with a
/// default protocol would pick between them.
///
/// ```
/// use dashscope_glm::chat::http::Endpoint;
/// use dashscope_glm::chat::{ChatRequest, Protocol};
///
/// let root = "https://dashscope-intl.aliyuncs.com";
/// let endpoints = [Protocol::OpenAiCompatible, Protocol::DashScope]
///     .map(|p| Endpoint::model_studio(p, root).api_key("sk-test").header("User-Agent", "my-sdk/1.0"));
/// let request = ChatRequest::new("glm-5").user("Hello").with_protocol(Protocol::DashScope);
///
/// let protocol = request.protocol().unwrap_or(Protocol::OpenAiCompatible);
/// let endpoint = endpoints.iter().find(|e| e.protocol() == protocol).unwrap();
/// let http = endpoint.request(&request, true)?;
/// assert_eq!(http.url(), "https://dashscope-intl.aliyuncs.com/api/v1/services/aigc/text-generation/generation");
/// assert_eq!(http.header("X-DashScope-SSE"), Some("enable"));
/// assert_eq!(http.header("user-agent"), Some("my-sdk/1.0"));
/// assert!(!format!("{endpoint:?}").contains("sk-test"));
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
#[derive(Clone)]
pub struct Endpoint {
    protocol: Protocol,
    url: String,
    /// `Bearer <key>`; `None` without a key.
    authorization: Option<String>,
    headers: Vec<(String, String)>,
    catalog: Catalog,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("protocol", &self.protocol)
            .field("url", &self.url)
            .field(
                "api_key",
                &format_args!(
                    "{}",
                    if self.authorization.is_some() {
                        "<redacted>"
                    } else {
                        "<none>"
                    }
                ),
            )
            .field("headers", &Printable(&self.headers))
            .field("catalog", &self.catalog.len())
            .finish()
    }
}

/// Headers as `Debug` shows them: credentials redacted.
struct Printable<'h, S>(&'h [(S, S)]);

impl<S: AsRef<str>> fmt::Debug for Printable<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, v)| {
                let (n, v) = (n.as_ref(), v.as_ref());
                (n, ChatRequest::printable_header_value(n, v))
            }))
            .finish()
    }
}

impl Endpoint {
    /// Requests of `protocol` sent to `url`, the whole URL as given (a Model Studio
    /// path under its host, as [`model_studio`](Endpoint::model_studio) makes it, or
    /// another server's, such as `http://127.0.0.1:8000/v1/chat/completions` for vLLM).
    /// No key, no extra headers, the built-in catalog.
    #[must_use]
    pub fn new(protocol: Protocol, url: impl Into<String>) -> Self {
        Self {
            protocol,
            url: url.into(),
            authorization: None,
            headers: Vec::new(),
            catalog: Catalog::builtin(),
        }
    }

    /// Model Studio's endpoint of `protocol` under `root` (a scheme and host, such as
    /// `https://dashscope.aliyuncs.com` or a workspace host; trailing slashes are
    /// dropped): `root` followed by [`ChatRequest::endpoint_path`].
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::chat::http::Endpoint;
    /// use dashscope_glm::chat::Protocol;
    ///
    /// let native = Endpoint::model_studio(Protocol::DashScope, "https://dashscope.aliyuncs.com/");
    /// assert_eq!(native.url(), "https://dashscope.aliyuncs.com/api/v1/services/aigc/text-generation/generation");
    /// ```
    #[must_use]
    pub fn model_studio(protocol: Protocol, root: &str) -> Self {
        let root = root.trim_end_matches('/');
        Self::new(
            protocol,
            format!("{root}{}", ChatRequest::endpoint_path(protocol)),
        )
    }

    /// The API key, sent as `Authorization: Bearer <key>` with every request. An empty
    /// key is none: no `Authorization` header (a local vLLM or SGLang server). A key
    /// with characters that cannot go in a header makes [`request`](Endpoint::request)
    /// fail ([`ConfigKind::ApiKey`]). Defaults to none.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        self.authorization = (!key.is_empty()).then(|| format!("Bearer {key}"));
        self
    }

    /// A header sent with every request, after `Accept` and before the request's own
    /// (a request header of the same name replaces it). Setting the same name again (any
    /// case) keeps its first place and its last value. The headers the crate writes
    /// itself (`Authorization`, `Content-Type`, `X-DashScope-SSE`, and HTTP framing)
    /// and names or values that are not valid HTTP make [`request`](Endpoint::request)
    /// fail ([`ConfigKind::Header`]). Defaults to none.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        set_header(&mut self.headers, name.into(), value.into());
        self
    }

    /// The models requests are checked against ([`ChatRequest::validate_with`]) and
    /// whose defaults their bodies say ([`ChatRequest::write_body_with`]). Defaults to
    /// [`Catalog::builtin`].
    #[must_use]
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = catalog;
        self
    }

    /// The protocol of this endpoint's requests.
    #[must_use]
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The URL requests are sent to.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The headers sent with every request ([`header`](Endpoint::header)), in the
    /// order first set; the key is not among them.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Checks the endpoint's own settings: the key and the headers can go in an HTTP
    /// request. [`request`](Endpoint::request) checks them too; call this to find out
    /// when a client is set up rather than at its first request.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config): [`ConfigKind::ApiKey`] for a key
    /// with spaces, control or non-ASCII characters; [`ConfigKind::Header`] for a header
    /// the crate writes itself or one that is not valid HTTP.
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::chat::http::Endpoint;
    /// use dashscope_glm::chat::Protocol;
    /// use dashscope_glm::ConfigKind;
    ///
    /// let endpoint = Endpoint::new(Protocol::OpenAiCompatible, "http://127.0.0.1:8000/v1/chat/completions");
    /// assert!(endpoint.clone().header("X-Team", "search").check().is_ok());
    /// let owned = endpoint.clone().header("Content-Type", "text/plain").check().unwrap_err();
    /// assert_eq!(owned.config_kind(), Some(ConfigKind::Header));
    /// let spaced = endpoint.api_key("sk key").check().unwrap_err();
    /// assert_eq!(spaced.config_kind(), Some(ConfigKind::ApiKey));
    /// ```
    pub fn check(&self) -> Result<(), Error> {
        if let Some(authorization) = &self.authorization {
            let key = authorization.get("Bearer ".len()..).unwrap_or("");
            if !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::config(
                    ConfigKind::ApiKey,
                    "the API key contains characters that cannot go in an HTTP header (spaces, control or non-ASCII characters)",
                ));
            }
        }
        for (name, value) in &self.headers {
            ChatRequest::check_header(name, value)
                .map_err(|why| Error::config(ConfigKind::Header, why))?;
        }
        Ok(())
    }

    /// The HTTP request that sends `request` here, streaming (`stream`) or not: the
    /// request is validated against the endpoint's catalog
    /// ([`ChatRequest::validate_with`]), its body written for the endpoint's protocol
    /// ([`ChatRequest::write_body_with`]), and its headers put together.
    ///
    /// The request's own protocol ([`ChatRequest::protocol`]) is the caller's to honour
    /// when it picks the endpoint; the endpoint's protocol is the one used here.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for the endpoint's own settings
    /// (see [`check`](Endpoint::check)); [`ErrorKind::Validation`](crate::ErrorKind::Validation)
    /// for the request (a model's rule, a header of the request).
    ///
    /// # Example
    ///
    /// See [`HttpRequest`].
    pub fn request(&self, request: &ChatRequest, stream: bool) -> Result<HttpRequest<'_>, Error> {
        self.request_into(request, stream, Vec::new())
    }

    /// [`request`](Endpoint::request), writing the body into `buffer` (cleared first;
    /// its capacity is reused), which [`HttpRequest::into_body`] hands back for the next
    /// request.
    ///
    /// # Errors
    ///
    /// As [`request`](Endpoint::request).
    ///
    /// # Example
    ///
    /// This example reuses one buffer for two requests.
    ///
    /// ```
    /// use dashscope_glm::chat::http::Endpoint;
    /// use dashscope_glm::chat::{ChatRequest, Protocol};
    ///
    /// let endpoint = Endpoint::model_studio(Protocol::OpenAiCompatible, "https://dashscope.aliyuncs.com").api_key("sk-test");
    /// let mut buffer = Vec::with_capacity(4096);
    /// for question in ["Hello", "Who are you"] {
    ///     let request = ChatRequest::new("glm-5").user(question);
    ///     let http = endpoint.request_into(&request, true, buffer)?;
    ///     assert!(http.body().starts_with(br#"{"model":"glm-5""#));
    ///     buffer = http.into_body();
    /// }
    /// assert!(buffer.capacity() >= 4096);
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    pub fn request_into(
        &self,
        request: &ChatRequest,
        stream: bool,
        mut buffer: Vec<u8>,
    ) -> Result<HttpRequest<'_>, Error> {
        self.check()?;
        request.validate_with(&self.catalog)?;
        request.write_body_with(&self.catalog, self.protocol, stream, &mut buffer)?;
        let mut headers: Vec<Header<'_>> =
            Vec::with_capacity(4 + self.headers.len() + request.headers().count());
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        set_header(&mut headers, "Accept".into(), accept.into());
        for (name, value) in self.headers() {
            set_header(&mut headers, name.into(), value.into());
        }
        // The request's own are copied (a request seldom has any), so that the request
        // can be dropped or changed while this one is sent.
        for (name, value) in request.headers() {
            set_header(
                &mut headers,
                name.to_owned().into(),
                value.to_owned().into(),
            );
        }
        if let Some(authorization) = &self.authorization {
            set_header(
                &mut headers,
                "Authorization".into(),
                authorization.as_str().into(),
            );
        }
        set_header(
            &mut headers,
            "Content-Type".into(),
            "application/json".into(),
        );
        // The native protocol streams when a header asks (its body has no `stream`).
        if stream && self.protocol == Protocol::DashScope {
            set_header(&mut headers, "X-DashScope-SSE".into(), "enable".into());
        }
        Ok(HttpRequest {
            protocol: self.protocol,
            stream,
            cumulative: stream
                && self.protocol == Protocol::DashScope
                && !request.is_incremental_output(),
            url: &self.url,
            headers,
            body: buffer,
        })
    }
}

/// One HTTP request to send, as data: the method, the URL, the headers and the body
/// bytes, made by [`Endpoint::request`]. Send it with any HTTP client (adding only the
/// framing: `Host`, `Content-Length` or chunked encoding), then read the answer's head
/// into a [`ResponseHead`](crate::chat::http::ResponseHead): a 2xx body goes to the
/// [`decoder`](HttpRequest::decoder), an error status to
/// [`ResponseHead::error`](crate::chat::http::ResponseHead::error). It can be sent again
/// as it is when [`RetryPolicy::decide`](crate::chat::http::RetryPolicy::decide) says so.
///
/// The headers are, in order, a later one giving its value to an earlier one of the same
/// name (any case), which keeps its place and spelling:
/// `Accept` (`text/event-stream` for a stream, else `application/json`), the endpoint's
/// headers, the request's own, `Authorization: Bearer <key>` when the endpoint has a
/// key, `Content-Type: application/json`, and, for a stream on the native protocol,
/// `X-DashScope-SSE: enable`. `Debug` shows `Authorization` as `<redacted>` and the body
/// by its length.
///
/// # Example
///
/// This example builds a native streaming request and writes its head as HTTP/1.1.
///
/// ```
/// use dashscope_glm::chat::http::Endpoint;
/// use dashscope_glm::chat::{ChatRequest, Protocol};
///
/// let endpoint = Endpoint::model_studio(Protocol::DashScope, "https://dashscope.aliyuncs.com")
///     .api_key("sk-test");
/// let request = ChatRequest::new("glm-5").user("Who are you").header("X-DashScope-WorkSpace", "ws-1");
/// let http = endpoint.request(&request, true)?;
///
/// let mut head = format!("{} /api/v1/services/aigc/text-generation/generation HTTP/1.1\r\nHost: dashscope.aliyuncs.com\r\n", http.method());
/// for (name, value) in http.headers() {
///     head.push_str(&format!("{name}: {value}\r\n"));
/// }
/// head.push_str(&format!("Content-Length: {}\r\n\r\n", http.body().len()));
/// assert!(head.contains("Authorization: Bearer sk-test\r\n"));
/// assert!(head.contains("X-DashScope-SSE: enable\r\n"));
/// assert!(head.contains("X-DashScope-WorkSpace: ws-1\r\n"));
/// assert!(http.body().starts_with(br#"{"model":"glm-5","input":"#));
///
/// let shown = format!("{http:?}");
/// assert!(shown.contains("<redacted>") && !shown.contains("sk-test"));
/// # Ok::<(), dashscope_glm::Error>(())
/// ```
pub struct HttpRequest<'e> {
    protocol: Protocol,
    stream: bool,
    /// A native stream of cumulative texts (`incremental_output(false)`).
    cumulative: bool,
    url: &'e str,
    /// Borrowed from the endpoint (or static), owned when the request's own.
    headers: Vec<Header<'e>>,
    body: Vec<u8>,
}

/// A header's name and value.
type Header<'e> = (Cow<'e, str>, Cow<'e, str>);

impl fmt::Debug for HttpRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method())
            .field("url", &self.url)
            .field("headers", &Printable(&self.headers))
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("protocol", &self.protocol)
            .field("stream", &self.stream)
            .finish()
    }
}

impl<'e> HttpRequest<'e> {
    /// The method: `POST`, for either protocol.
    #[must_use]
    pub fn method(&self) -> &'static str {
        "POST"
    }

    /// The whole URL: the endpoint's.
    #[must_use]
    pub fn url(&self) -> &'e str {
        self.url
    }

    /// The headers, `(name, value)`, in order, each name once (see the type docs).
    #[must_use]
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.headers.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }

    /// The value of the header `name` (any case).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// The body: JSON, in the shape of the protocol.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body's buffer, for the next [`Endpoint::request_into`].
    #[must_use]
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The protocol the request speaks, and its answer.
    #[must_use]
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Whether the request asks for a stream.
    #[must_use]
    pub fn is_stream(&self) -> bool {
        self.stream
    }

    /// The decoder for this request's answer: its protocol, and cumulative mode for a
    /// native stream asked for with
    /// [`incremental_output(false)`](ChatRequest::incremental_output). Give it the
    /// request id of the answer's head ([`StreamDecoder::request_id`]) before feeding it
    /// the body.
    ///
    /// # Example
    ///
    /// This example decodes a native answer that repeats the text so far.
    ///
    /// ```
    /// use dashscope_glm::chat::http::Endpoint;
    /// use dashscope_glm::chat::{ChatRequest, Protocol};
    ///
    /// let endpoint = Endpoint::model_studio(Protocol::DashScope, "https://dashscope.aliyuncs.com").api_key("sk-test");
    /// let request = ChatRequest::new("glm-5").user("Hello").incremental_output(false);
    /// let http = endpoint.request(&request, true)?;
    /// let mut decoder = http.decoder().request_id("r-1");
    /// decoder.feed(b"data:{\"output\":{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":\"null\"}]}}\n\n");
    /// decoder.feed(b"data:{\"output\":{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"finish_reason\":\"stop\"}]}}\n\n");
    /// let completion = decoder.finish()?;
    /// assert_eq!(completion.message.content, "Hello");
    /// assert_eq!(completion.request_id.as_deref(), Some("r-1"));
    /// # Ok::<(), dashscope_glm::Error>(())
    /// ```
    #[must_use]
    pub fn decoder(&self) -> StreamDecoder {
        StreamDecoder::from_accumulator(Accumulator::new(self.protocol).cumulative(self.cumulative))
    }
}
