//! The server's lifecycle: [`Builder`] and its routes, [`ReplayServer`], the accept loop
//! and a thread per connection, and the stop on drop.

use std::collections::HashMap;
use std::fmt;
use std::hash::RandomState;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::http::{
    Conn, Fail, POLL, RequestLimits, Reuse, read_request, write_reply, write_simple,
};
use super::{RecordedRequest, Reply};

/// How long drop waits, in all, for the server's threads to end.
const JOIN_WAIT: Duration = Duration::from_secs(2);
/// Connections served at once; more are closed at accept.
const MAX_CONNECTIONS: usize = 256;

/// Configures and starts a [`ReplayServer`]: routes, a fallback, limits.
///
/// A request is matched on its path without the query string, exactly. Routing a path
/// again replaces its replies. A path without a route gets the fallback (by default a
/// `404` whose text names the path).
///
/// # Example
///
/// This example shows a retry scenario and a second endpoint.
///
/// ```
/// use dashscope_glm::testing::{ReplayServer, Reply};
///
/// let server = ReplayServer::builder()
///     .route_sequence(
///         "/compatible-mode/v1/chat/completions",
///         [Reply::new(503).header("retry-after", "0"), Reply::sse("data: [DONE]\n\n")],
///     )
///     .route("/api/v1/services/aigc/text-generation/generation", Reply::sse("id:1\n\n"))
///     .fallback(Reply::json(404, r#"{"code":"NotFound"}"#))
///     .max_request_body(1 << 20)
///     .start()?;
/// assert!(server.base_url().starts_with("http://127.0.0.1:"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    routes: Vec<(String, Vec<Reply>)>,
    fallback: Option<Reply>,
    max_head: Option<usize>,
    max_body: Option<usize>,
    keep_alive: bool,
}

impl Builder {
    /// Answers every request for `path` with `reply`.
    #[must_use]
    pub fn route(self, path: impl Into<String>, reply: Reply) -> Self {
        self.route_sequence(path, [reply])
    }

    /// Answers the first request for `path` with the first reply, the second with the
    /// second, and so on; the last reply answers every request after that.
    ///
    /// An empty sequence makes [`Builder::start`] fail.
    ///
    /// # Example
    ///
    /// This example shows "503, then 429, then the stream".
    ///
    /// ```
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let server = ReplayServer::builder()
    ///     .route_sequence(
    ///         "/v1/chat",
    ///         [Reply::new(503), Reply::new(429), Reply::sse("data: [DONE]\n\n")],
    ///     )
    ///     .start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn route_sequence(
        mut self,
        path: impl Into<String>,
        replies: impl IntoIterator<Item = Reply>,
    ) -> Self {
        let path = path.into();
        let replies = replies.into_iter().collect();
        self.routes.retain(|(p, _)| *p != path);
        self.routes.push((path, replies));
        self
    }

    /// Answers requests for paths without a route (default: `404`, `text/plain`).
    #[must_use]
    pub fn fallback(mut self, reply: Reply) -> Self {
        self.fallback = Some(reply);
        self
    }

    /// The most bytes read for a request's line and headers (default 64 KiB; also the
    /// bound for the trailers of a chunked body). A longer head gets
    /// `431 Request Header Fields Too Large`, as do more than 256 header fields.
    #[must_use]
    pub fn max_request_head(mut self, bytes: usize) -> Self {
        self.max_head = Some(bytes);
        self
    }

    /// The largest request body accepted, `content-length` or chunked (default 16 MiB).
    /// A larger one gets `413 Content Too Large`, as soon as the server knows.
    #[must_use]
    pub fn max_request_body(mut self, bytes: usize) -> Self {
        self.max_body = Some(bytes);
        self
    }

    /// Serves more than one request per connection: a reply that ends normally with
    /// chunked or `content-length` framing leaves its connection open for the client's
    /// next request (unless the request said `connection: close`); a stalled, cut,
    /// hung-up or close-delimited reply still ends it. Defaults to off: every response
    /// says `connection: close` and its connection closes after it.
    #[must_use]
    pub fn keep_alive(mut self, keep_alive: bool) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// Binds 127.0.0.1 on an ephemeral port and starts serving on a background thread.
    ///
    /// # Errors
    ///
    /// The error of binding or of spawning the thread, or `InvalidInput` for a route
    /// with an empty sequence of replies.
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::testing::ReplayServer;
    ///
    /// let server = ReplayServer::builder().start()?;
    /// assert!(server.addr().ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(self) -> io::Result<ReplayServer> {
        let mut routes = HashMap::with_capacity(self.routes.len());
        for (path, replies) in self.routes {
            if replies.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("the route for {path:?} has no replies"),
                ));
            }
            routes.insert(path, Route::new(replies));
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            routes,
            fallback: self.fallback.map(|r| Route::new(vec![r])),
            limits: RequestLimits {
                max_head: self.max_head.unwrap_or(64 << 10),
                max_body: self.max_body.unwrap_or(16 << 20),
            },
            hasher: RandomState::new(),
            keep_alive: self.keep_alive,
            requests: Mutex::new(Vec::new()),
            rejected: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            body_written: AtomicU64::new(0),
            workers: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                // The port in every thread's name tells one server's threads from
                // another's (Linux shows the first 15 bytes: `replay-PORT-ac`).
                .name(format!("replay-{}-accept", addr.port()))
                .spawn(move || accept_loop(&listener, &shared))?
        };
        Ok(ReplayServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }
}

/// An HTTP/1.1 server on 127.0.0.1 that answers with scripted [`Reply`]s and records
/// every request. It stops when dropped.
///
/// See the [module docs](crate::testing) for the guarantees and a test to copy.
///
/// # Example
///
/// This example shows one reply for every path, then the recorded request.
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::TcpStream;
///
/// use dashscope_glm::testing::{ReplayServer, Reply};
///
/// let server = ReplayServer::start(Reply::json(200, r#"{"ok":true}"#))?;
/// let mut client = TcpStream::connect(server.addr())?;
/// client.write_all(b"GET /anything?x=1 HTTP/1.1\r\nhost: x\r\n\r\n")?;
/// let mut response = String::new();
/// client.read_to_string(&mut response)?;
/// assert!(response.contains(r#"{"ok":true}"#));
/// assert_eq!(server.request_count(), 1);
/// assert_eq!(server.requests()[0].target(), "/anything?x=1");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ReplayServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl ReplayServer {
    /// Starts a server that answers every request with `reply`.
    ///
    /// # Errors
    ///
    /// As [`Builder::start`].
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let server = ReplayServer::start(Reply::sse("data: [DONE]\n\n"))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(reply: Reply) -> io::Result<Self> {
        Self::builder().fallback(reply).start()
    }

    /// A [`Builder`] with no routes and the default limits.
    #[must_use]
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The address the server listens on: 127.0.0.1 and an ephemeral port.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash: what a client takes as its
    /// base URL.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// [`ReplayServer::base_url`] followed by `path` (which should start with `/`).
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests received so far, in the order they were read in full. A request is
    /// recorded before its reply is written, so a stalled reply's request is here too.
    ///
    /// # Example
    ///
    /// ```
    /// let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// assert!(server.requests().is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many requests were recorded.
    #[must_use]
    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// How many requests were answered `400`, `413` or `431` and not recorded.
    ///
    /// # Example
    ///
    /// This example shows a request that is not HTTP.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::TcpStream;
    ///
    /// let server = dashscope_glm::testing::ReplayServer::builder().start()?;
    /// let mut client = TcpStream::connect(server.addr())?;
    /// client.write_all(b"hello\r\n\r\n")?;
    /// let mut response = String::new();
    /// client.read_to_string(&mut response)?;
    /// assert!(response.starts_with("HTTP/1.1 400 "));
    /// assert_eq!((server.rejected_count(), server.request_count()), (1, 0));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn rejected_count(&self) -> usize {
        self.shared.rejected.load(Ordering::SeqCst)
    }

    /// How many TCP connections the server accepted, whether or not a request came on
    /// them. Every reply closes its connection, so a client that reuses connections
    /// still opens one per request here.
    ///
    /// # Example
    ///
    /// This example shows two requests on two connections.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::TcpStream;
    ///
    /// use dashscope_glm::testing::{ReplayServer, Reply};
    ///
    /// let server = ReplayServer::start(Reply::new(204))?;
    /// for _ in 0..2 {
    ///     let mut client = TcpStream::connect(server.addr())?;
    ///     client.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")?;
    ///     client.read_to_end(&mut Vec::new())?;
    /// }
    /// assert_eq!((server.connection_count(), server.request_count()), (2, 2));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn connection_count(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// How many connections are open now: accepted, and not yet closed by the server.
    /// A reply closes its connection once it is written, cut, hung up, or at the end
    /// of its stall; see [`Reply::stall_until_client_closes`].
    #[must_use]
    pub fn open_connection_count(&self) -> usize {
        lock(&self.shared.workers)
            .iter()
            .filter(|worker| !worker.is_finished())
            .count()
    }

    /// How many body bytes the replies have written to their sockets so far, over all
    /// connections, without the chunk framing. A piece counts once it is written in
    /// full; written is not read: the bytes may still sit in socket buffers.
    ///
    /// # Example
    ///
    /// This example shows an 8-byte body sent as two chunks.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::TcpStream;
    ///
    /// use dashscope_glm::testing::{ReplayServer, Reply, Split};
    ///
    /// let server = ReplayServer::start(Reply::sse("data:1\n\n").split(Split::Every(4)))?;
    /// let mut client = TcpStream::connect(server.addr())?;
    /// client.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")?;
    /// client.read_to_end(&mut Vec::new())?;
    /// assert_eq!(server.body_bytes_written(), 8);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn body_bytes_written(&self) -> u64 {
        self.shared.body_written.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for ReplayServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayServer")
            .field("addr", &self.addr)
            .field("routes", &self.shared.routes.keys().collect::<Vec<_>>())
            .field("request_count", &self.request_count())
            .field("rejected_count", &self.rejected_count())
            .field("connection_count", &self.connection_count())
            .finish_non_exhaustive()
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept; it sees the flag and returns, closing the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let deadline = Instant::now() + JOIN_WAIT;
        if let Some(acceptor) = self.acceptor.take() {
            join_by(acceptor, deadline);
        }
        // No worker is spawned once the acceptor has ended.
        let workers = std::mem::take(&mut *lock(&self.shared.workers));
        for worker in workers {
            join_by(worker, deadline);
        }
    }
}

/// Joins `thread` if it ends before `deadline`; otherwise leaves it detached (it is
/// polling the stop flag and ends on its own a few milliseconds later).
fn join_by(thread: JoinHandle<()>, deadline: Instant) {
    while !thread.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    if thread.is_finished() {
        let _ = thread.join();
    }
}

/// State shared by the server handle, the acceptor and the connection threads.
struct Shared {
    stop: AtomicBool,
    routes: HashMap<String, Route>,
    fallback: Option<Route>,
    limits: RequestLimits,
    hasher: RandomState,
    /// Whether a complete reply leaves its connection open for the next request.
    keep_alive: bool,
    requests: Mutex<Vec<RecordedRequest>>,
    rejected: AtomicUsize,
    /// TCP connections accepted.
    connections: AtomicUsize,
    /// Body bytes written, over all replies.
    body_written: AtomicU64,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

/// A non-empty sequence of replies and how many requests it answered.
struct Route {
    replies: Vec<Reply>,
    hits: AtomicUsize,
}

impl Route {
    fn new(replies: Vec<Reply>) -> Self {
        Self {
            replies,
            hits: AtomicUsize::new(0),
        }
    }

    /// The reply for the next request: the n-th, or the last one.
    fn next(&self) -> Option<&Reply> {
        let n = self.hits.fetch_add(1, Ordering::SeqCst);
        self.replies.get(n).or_else(|| self.replies.last())
    }
}

/// A lock that survives a panicked holder (the data is append-only).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let port = listener.local_addr().map_or(0, |addr| addr.port());
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of descriptors or similar: back off instead of spinning.
            thread::sleep(POLL);
            continue;
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let mut workers = lock(&shared.workers);
        workers.retain(|worker| !worker.is_finished());
        if workers.len() >= MAX_CONNECTIONS {
            continue;
        }
        let conn_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("replay-{port}-conn"))
            .spawn(move || serve(stream, &conn_shared));
        // A failed spawn drops the closure, which closes the connection.
        if let Ok(worker) = spawned {
            workers.push(worker);
        }
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    if stream.set_read_timeout(Some(POLL)).is_err() || stream.set_write_timeout(Some(POLL)).is_err()
    {
        return;
    }
    let mut conn = Conn::new(stream, &shared.stop);
    loop {
        match read_request(&mut conn, shared.limits, &shared.hasher) {
            Ok(request) => {
                let path = request.path().to_owned();
                let client_closes = request
                    .header("connection")
                    .is_some_and(|v| v.eq_ignore_ascii_case("close"));
                lock(&shared.requests).push(request);
                let route = shared.routes.get(&path).or(shared.fallback.as_ref());
                let Some(reply) = route.and_then(Route::next) else {
                    let text = format!("no route for {path}\n");
                    let _ = write_simple(&mut conn, 404, &text);
                    return;
                };
                let keep_alive = shared.keep_alive && !client_closes;
                match write_reply(&mut conn, reply, &shared.body_written, keep_alive) {
                    Ok(Reuse::Yes) => {}
                    Ok(Reuse::No) | Err(_) => return,
                }
            }
            Err(Fail::Reject(status, text)) => {
                shared.rejected.fetch_add(1, Ordering::SeqCst);
                if write_simple(&mut conn, status, text).is_ok() {
                    conn.drain();
                }
                return;
            }
            Err(Fail::Gone) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::Shutdown;

    use super::*;
    use crate::testing::Split;
    use crate::testing::split::XorShift;
    /// Mutated requests (bytes flipped, CR/LF/colons/digits inserted, cut short) never
    /// make a connection thread panic, and the server keeps serving.
    #[test]
    fn mutated_requests_never_panic_a_connection() {
        let template: &[u8] =
            b"POST /v1/x?y=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-1\r\n\
            expect: 100-continue\r\ntransfer-encoding: chunked\r\n\r\n\
            3;a=b\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nt: 1\r\n\r\n";
        let server = ReplayServer::builder()
            .fallback(Reply::sse("data:1\n\n").split(Split::Every(2)))
            .max_request_head(256)
            .max_request_body(64)
            .start()
            .unwrap();
        let mut rng = XorShift::new(1);
        for _ in 0..300 {
            let mut input = template.to_vec();
            for _ in 0..=rng.next() % 4 {
                let at = (rng.next() % input.len() as u64) as usize;
                let byte = [b'\r', b'\n', b':', b' ', b'0', b'f', b'\xff', b';']
                    [(rng.next() % 8) as usize];
                match rng.next() % 3 {
                    0 => input[at] = byte,
                    1 => input.insert(at, byte),
                    _ => input.truncate(at),
                }
            }
            let mut stream = TcpStream::connect(server.addr()).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let _ = stream.write_all(&input);
            let _ = stream.shutdown(Shutdown::Write);
            let _ = stream.read_to_end(&mut Vec::new());
        }
        let workers = std::mem::take(&mut *lock(&server.shared.workers));
        for worker in workers {
            assert!(worker.join().is_ok(), "a connection thread panicked");
        }
        let total = server.request_count() + server.rejected_count();
        assert!(total > 0 && total <= 300);
        assert!(
            server
                .requests()
                .iter()
                .all(|r| r.header("authorization") != Some("Bearer sk-1"))
        );
    }
}
