//! What the server read: [`RecordedRequest`], with the credentials of the
//! `Authorization` header replaced by a keyed hash.

use std::fmt;
use std::hash::{BuildHasher, RandomState};

/// One request as the server read it, with the API key redacted.
///
/// The `Authorization` (and `Proxy-Authorization`) header keeps its scheme and loses its
/// credentials: `Bearer sk-...` is recorded as `Bearer <redacted>`. The credentials are
/// not stored anywhere; only a hash keyed with a per-server random key is, so
/// [`RecordedRequest::api_key_is`] can still check which key was sent. `Debug` shows the
/// redacted form.
///
/// # Example
///
/// This example shows a request with a query string and a chunked body.
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::TcpStream;
///
/// use dashscope_glm::testing::{ReplayServer, Reply};
///
/// let server = ReplayServer::start(Reply::new(204))?;
/// let mut client = TcpStream::connect(server.addr())?;
/// client.write_all(
///     b"PUT /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nAuthorization: Bearer sk-abc\r\n\
///       transfer-encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n",
/// )?;
/// client.read_to_end(&mut Vec::new())?;
///
/// let request = &server.requests()[0];
/// assert_eq!((request.method(), request.path(), request.query()), ("PUT", "/v1/x", Some("debug=1")));
/// assert_eq!(request.body(), br#"{"a":1}"#);
/// assert!(request.authorization_present() && request.api_key_is("sk-abc"));
/// assert!(!format!("{request:?}").contains("sk-abc"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct RecordedRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    key: Option<KeyHash>,
}

/// A keyed hash of the credentials of the first `Authorization` header.
#[derive(Clone)]
pub(super) struct KeyHash {
    hasher: RandomState,
    hash: u64,
}

impl RecordedRequest {
    /// A request as read; `headers` already went through [`redact_header`], and `key`
    /// is what it left.
    pub(super) fn new(
        method: String,
        target: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        key: Option<KeyHash>,
    ) -> Self {
        Self {
            method,
            target,
            headers,
            body,
            key,
        }
    }

    /// The method, as sent (`POST`).
    #[must_use]
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target as sent: path and query (`/v1/x?debug=1`).
    #[must_use]
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path: the target up to any `?` (`/v1/x`).
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(
    /// #     b"POST /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-abc\r\n\
    /// #       content-length: 7\r\n\r\n{\"a\":1}",
    /// # )?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert_eq!(request.path(), "/v1/x");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(&*self.target, |(path, _)| path)
    }

    /// The query string after the `?`, if there is one (`debug=1`).
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(
    /// #     b"POST /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-abc\r\n\
    /// #       content-length: 7\r\n\r\n{\"a\":1}",
    /// # )?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert_eq!(request.query(), Some("debug=1"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// Every header in the order sent: the name as sent, the value trimmed, credentials
    /// redacted.
    #[must_use]
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The value of the first header with this name (ASCII case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body, de-chunked if it was sent chunked.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text, if it is UTF-8 (a JSON request body always is).
    #[must_use]
    pub fn body_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// Whether the request had an `Authorization` header.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(
    /// #     b"POST /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-abc\r\n\
    /// #       content-length: 7\r\n\r\n{\"a\":1}",
    /// # )?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert!(request.authorization_present());
    /// assert_eq!(request.header("authorization"), Some("Bearer <redacted>"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn authorization_present(&self) -> bool {
        self.key.is_some()
    }

    /// Whether the first `Authorization` header carried exactly `key` as its
    /// credentials (`Bearer <key>`, any scheme), compared through the stored hash.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// # let mut client = std::net::TcpStream::connect(server.addr())?;
    /// # client.write_all(
    /// #     b"POST /v1/x?debug=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-abc\r\n\
    /// #       content-length: 7\r\n\r\n{\"a\":1}",
    /// # )?;
    /// # client.read_to_end(&mut Vec::new())?;
    /// let request = &server.requests()[0];
    /// assert!(request.api_key_is("sk-abc"));
    /// assert!(!request.api_key_is("Bearer sk-abc"));
    /// assert!(!request.api_key_is("sk-ab"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn api_key_is(&self, key: &str) -> bool {
        self.key
            .as_ref()
            .is_some_and(|k| k.hasher.hash_one(key) == k.hash)
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .field("authorization_present", &self.authorization_present())
            .finish()
    }
}

/// The value to record for the header `name: value`: the value itself, or, for
/// `Authorization` and `Proxy-Authorization`, the scheme only. The credentials of the
/// first `Authorization` header go into `key` (while it is `None`) as a hash keyed
/// with `hasher`; they are not kept anywhere else.
pub(super) fn redact_header(
    name: &str,
    value: &str,
    hasher: &RandomState,
    key: &mut Option<KeyHash>,
) -> String {
    if !name.eq_ignore_ascii_case("authorization")
        && !name.eq_ignore_ascii_case("proxy-authorization")
    {
        return value.to_owned();
    }
    let (redacted, credentials) = redact(value);
    if key.is_none() && name.eq_ignore_ascii_case("authorization") {
        *key = Some(KeyHash {
            hash: hasher.hash_one(credentials),
            hasher: hasher.clone(),
        });
    }
    redacted
}

/// `Bearer sk-...` -> (`Bearer <redacted>`, `sk-...`); a value without a scheme is
/// redacted whole.
fn redact(value: &str) -> (String, &str) {
    match value.split_once(' ') {
        Some((scheme, credentials)) => (
            format!("{scheme} <redacted>"),
            credentials.trim_start_matches(' '),
        ),
        None => ("<redacted>".to_owned(), value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_only_the_scheme() {
        assert_eq!(
            redact("Bearer sk-1"),
            ("Bearer <redacted>".to_owned(), "sk-1")
        );
        assert_eq!(redact("sk-1"), ("<redacted>".to_owned(), "sk-1"));
    }
}
