//! The client's own ureq transport: ureq's default connector chain with a TCP connector
//! and a resolver that honour a [`CancelToken`], and a meter at the top that records
//! what a call sent.
//!
//! ```text
//!  Agent::with_parts(config, connector(), CallResolver)
//!
//!  CallConnector            top of the chain, above the proxy and TLS: counts the
//!   |                       plaintext request bytes of the current call, stamps when
//!   |                       the request was written, notes a new connection
//!   ConnectProxyConnector   ureq's: CONNECT through an http(s) proxy (it runs the whole
//!   |                       chain again for the proxy's own connection)
//!   TcpConnector            ours: connect (on a helper thread under a token); each
//!   |                       read and write registered with the token while under way
//!   RustlsConnector         ureq's: TLS for https
//!
//!  CallResolver             ureq's DefaultResolver (on a helper thread under a token)
//! ```
//!
//! This is ureq's `DefaultConnector` chain in the same order, with its TCP connector
//! replaced; ureq's SOCKS connector is not in it (ureq's `socks-proxy` feature is not
//! ours to enable), so a SOCKS proxy is refused rather than silently bypassed.
//!
//! **Per call, not per connector.** ureq's agent and connectors are shared by every
//! call, and a pooled connection serves later calls, so neither can hold a call's
//! token. Instead the client makes a [`CallContext`] per attempt and enters it
//! ([`CallScope`]) around `send` and around each body read; all of ureq's socket I/O
//! for the call happens on that thread inside that scope, where the transport finds it
//! (a thread-local). Outside any scope the transport behaves as ureq's.
//!
//! **What the context learns.** Whether any request byte was handed to the connection
//! ([`CallContext::nothing_sent`]): a failure before that (DNS, refused, TLS handshake,
//! a CONNECT refused, a pooled connection found dead before the request) provably
//! never reached the server and is safe to retry; one after it may have been billed.
//! Also when opening a new connection began and when it was ready (neither, for a
//! pooled one), and when the request was written: the client's `Timings`.
//!
//! **How soon a cancel lands**, from `cancel()` to the call returning, on loopback
//! (`cargo test --release --lib cancel_latency -- --ignored --nocapture`, 30 runs per
//! phase, two cores shared with other builds at load 3 to 5, so the tails are the
//! scheduler's):
//!
//! ```text
//!  phase      blocked in                           median     max
//!  connect    the wait for the connect thread      70-90 us   0.5-6 ms
//!  TLS        the handshake's read                 185-195 us 1.7-2 ms
//!  write      a 32 MiB body the server won't read  130-140 us 0.2-2 ms
//!  head       the read for the response head       195-230 us 0.6-5.5 ms
//!  body       a read of a stalled chunked body     185-245 us 0.26-0.34 ms
//!  backoff    wait_timeout                         90-100 us  0.3-0.6 ms
//! ```
//!
//! The TLS row is a handshake cut while waiting for the server's hello (a loopback
//! server that never answers); reads and writes inside an established TLS session need
//! a certificate to test, and go through the same registered TCP reads and writes.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Read, Write};
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::time::Duration as UreqDuration;
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout,
    RustlsConnector, ShutdownHandle, Transport,
};
use ureq::{Agent, ProxyProtocol, Timeout};

use crate::blocking::cancel::{CancelToken, Detached};
use crate::chat::reader::is_timeout;

// ---------------------------------------------------------------------------------
// The cancel error
// ---------------------------------------------------------------------------------

/// The inner error of the `io::Error` a cancelled call fails with: a private type, so
/// that nothing but a cancel is taken for one ([`is_cancel`]).
#[derive(Debug)]
struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the call was cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// The error a cancelled call fails with, as I/O reports it.
///
/// Its kind is `Other`, on purpose: `Interrupted` would make std's `read_to_end` and
/// `write_all` (and ureq's body reader) retry it forever, and `UnexpectedEof` or
/// `ConnectionReset` would make ureq take it for the server closing a body that ends
/// at close.
pub(crate) fn cancel_error() -> io::Error {
    io::Error::other(Cancelled)
}

/// [`cancel_error`] as ureq reports it.
fn cancelled() -> ureq::Error {
    ureq::Error::Io(io::Error::other(Cancelled))
}

/// Whether `e` is the cancel error, also when wrapped (ureq's body reader turns a ureq
/// error into an `io::Error`, and a ureq error can hold an `io::Error`).
pub(crate) fn is_cancel(e: &io::Error) -> bool {
    // A loop over the wrappers rather than recursion: the nesting comes from the
    // error's producer, and a loop bounds nothing but time.
    let mut inner = e.get_ref();
    while let Some(error) = inner {
        if error.is::<Cancelled>() {
            return true;
        }
        inner = if let Some(ureq::Error::Io(io)) = error.downcast_ref::<ureq::Error>() {
            io.get_ref()
        } else if let Some(io) = error.downcast_ref::<io::Error>() {
            io.get_ref()
        } else {
            None
        };
    }
    false
}

/// Whether `e` is the cancel error as ureq returns it from `send` or a body read.
pub(crate) fn is_cancel_ureq(e: &ureq::Error) -> bool {
    matches!(e, ureq::Error::Io(io) if is_cancel(io))
}

// ---------------------------------------------------------------------------------
// The call context
// ---------------------------------------------------------------------------------

/// One attempt of a call, as the transport sees it: its token and what the transport
/// recorded. Cheap to clone (shared); `Send + Sync`, so it travels with a stream read
/// on another thread.
///
/// Make one per attempt (a retry gets a fresh one, sharing the token): the records
/// below are about one request on one connection.
#[derive(Clone, Debug)]
pub(crate) struct CallContext {
    record: Arc<CallRecord>,
    /// Beside the record, not in it: [`with_token`](CallContext::with_token) guards a
    /// later phase of the same attempt (the body of a stream started without a token)
    /// while the record stays shared.
    token: Option<CancelToken>,
}

/// What a [`CallContext`] shares between its clones and the transport.
#[derive(Debug)]
struct CallRecord {
    /// Plaintext request bytes offered to the connection (counted before each write,
    /// so a write that fails part-way counts: its bytes may have left).
    request_bytes: AtomicU64,
    /// When the connector started on a new connection (the host lookup and the pool
    /// look-up are done by then).
    connecting: OnceLock<Instant>,
    /// When the new connection was ready (TCP, proxy and TLS); unset for a pooled one.
    connected: OnceLock<Instant>,
    /// The first wait for input after writing: the request was written.
    request_written: OnceLock<Instant>,
    /// The first body byte handed out by a [`CallReader`].
    first_body_byte: OnceLock<Instant>,
}

impl CallContext {
    /// A context for one attempt, guarded by `token` if there is one. Without a token
    /// the transport records as usual but never waits on a helper thread.
    pub(crate) fn new(token: Option<CancelToken>) -> Self {
        Self {
            record: Arc::new(CallRecord {
                request_bytes: AtomicU64::new(0),
                connecting: OnceLock::new(),
                connected: OnceLock::new(),
                request_written: OnceLock::new(),
                first_body_byte: OnceLock::new(),
            }),
            token,
        }
    }

    /// The same attempt (its records shared) guarded by `token` from now on: for the
    /// body of a stream whose request was sent without a token, so that
    /// `ChatStream::cancel_token` can stop its reads. The request went out without a
    /// helper thread for the connect, which nobody could have cancelled.
    pub(crate) fn with_token(&self, token: CancelToken) -> Self {
        Self {
            record: Arc::clone(&self.record),
            token: Some(token),
        }
    }

    /// The token guarding this call.
    pub(crate) fn token(&self) -> Option<&CancelToken> {
        self.token.as_ref()
    }

    /// Whether the call's token is cancelled (never, without one).
    pub(crate) fn is_cancelled(&self) -> bool {
        self.token().is_some_and(CancelToken::is_cancelled)
    }

    /// Makes this the thread's current call until the guard drops. See [`CallScope`].
    pub(crate) fn enter(&self) -> CallScope {
        CallScope::enter(self)
    }

    /// Runs `f` (ureq's `send`) with this as the thread's current call.
    pub(crate) fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        let _scope = self.enter();
        f()
    }

    /// `reader` (ureq's body reader) with every read inside this call's scope, and
    /// refused once the call is cancelled (even what ureq has buffered already).
    pub(crate) fn reader<R: Read>(&self, reader: R) -> CallReader<R> {
        CallReader {
            inner: reader,
            call: self.clone(),
        }
    }

    /// Plaintext request bytes (head and body, not TLS or CONNECT) offered to the
    /// connection so far.
    pub(crate) fn request_bytes(&self) -> u64 {
        self.record.request_bytes.load(Ordering::SeqCst)
    }

    /// Whether no request byte was offered to the connection in this attempt: a
    /// failure now (DNS, connect, TLS handshake, CONNECT, a pooled connection found
    /// dead before writing) never reached the server, and retrying it cannot make the
    /// server do (or bill) the work twice. A failure after the first byte may have:
    /// not retried by default.
    pub(crate) fn nothing_sent(&self) -> bool {
        self.request_bytes() == 0
    }

    /// When opening a new connection started (after the host lookup and the pool):
    /// `None` for a pooled one.
    pub(crate) fn connecting_at(&self) -> Option<Instant> {
        self.record.connecting.get().copied()
    }

    /// When the new connection was ready (TCP, proxy and TLS): `None` for a pooled one.
    pub(crate) fn connected_at(&self) -> Option<Instant> {
        self.record.connected.get().copied()
    }

    /// When the request was written: the first wait for the response after writing.
    pub(crate) fn request_written_at(&self) -> Option<Instant> {
        self.record.request_written.get().copied()
    }

    /// When a [`CallReader`] of this call first handed out body bytes: the first byte
    /// of the response body, as the client read it. Also with an agent of the user's
    /// own, whose connections this module does not see.
    pub(crate) fn first_body_byte_at(&self) -> Option<Instant> {
        self.record.first_body_byte.get().copied()
    }

    fn note_new_connection(&self) {
        // Unset for a context made per attempt; a context reused anyway keeps its first.
        self.record.connected.get_or_init(Instant::now);
    }

    fn note_write(&self, amount: usize) {
        self.record
            .request_bytes
            .fetch_add(u64::try_from(amount).unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    fn note_wait(&self) {
        if !self.nothing_sent() {
            self.record.request_written.get_or_init(Instant::now);
        }
    }
}

thread_local! {
    /// The call whose I/O this thread is doing: set by [`CallScope`].
    static CURRENT: Cell<Option<CallContext>> = const { Cell::new(None) };
    /// How deep in [`CallConnector::connect`] this thread is: 1 for a call's own
    /// connection, 2 inside it for a CONNECT proxy's connection.
    static CONNECT_DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// The thread's current call, if it is inside a [`CallScope`].
fn current_call() -> Option<CallContext> {
    // A Cell, not a RefCell: nothing to borrow, so nothing can panic. `try_with` fails
    // only while the thread's locals are destroyed: no current call then.
    CURRENT
        .try_with(|current| {
            let call = current.take();
            current.set(call.clone());
            call
        })
        .ok()
        .flatten()
}

/// While alive, the thread's current call is the one it entered; dropping it restores
/// the one before (scopes nest). Not `Send`: it restores the thread it was made on.
///
/// The client holds one around `request.send()` and around each body `read()`: every
/// socket I/O ureq does for a call happens on the calling thread inside such a scope.
#[derive(Debug)]
#[must_use = "the call is current only while the scope is alive"]
pub(crate) struct CallScope {
    previous: Option<CallContext>,
    _not_send: PhantomData<Rc<()>>,
}

impl CallScope {
    /// Makes `call` the thread's current call until the scope drops.
    pub(crate) fn enter(call: &CallContext) -> Self {
        let previous = CURRENT
            .try_with(|current| current.replace(Some(call.clone())))
            .ok()
            .flatten();
        Self {
            previous,
            _not_send: PhantomData,
        }
    }
}

impl Drop for CallScope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|current| current.set(previous));
    }
}

/// A reader whose reads run inside a call's scope: see [`CallContext::reader`].
#[derive(Debug)]
pub(crate) struct CallReader<R> {
    inner: R,
    call: CallContext,
}

impl<R: Read> Read for CallReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Before ureq: it serves what it has buffered without touching the socket, and
        // nothing is to be delivered after a cancel.
        if self.call.is_cancelled() {
            return Err(cancel_error());
        }
        let _scope = self.call.enter();
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.call.record.first_body_byte.get_or_init(Instant::now);
        }
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------
// The agent and the top of the chain
// ---------------------------------------------------------------------------------

/// An agent with `config` on this module's connector chain and resolver: what
/// [`ClientBuilder::build`](crate::blocking::ClientBuilder::build) makes when the user
/// gives no agent of their own.
pub(crate) fn new_agent(config: Config) -> Agent {
    Agent::with_parts(config, connector(), CallResolver::default())
}

/// ureq's default chain, in its order, with [`TcpConnector`] for ureq's and
/// [`CallConnector`] on top.
fn connector() -> CallConnector<impl Connector> {
    CallConnector {
        chain:
            ().chain(ConnectProxyConnector::default())
                .chain(TcpConnector)
                .chain(RustlsConnector::default()),
    }
}

/// The top of the chain: runs the chain below and wraps what it makes in [`Metered`].
#[derive(Debug)]
struct CallConnector<C> {
    chain: C,
}

/// Counts how deep this thread is in [`CallConnector::connect`] while alive.
struct ConnectDepth {
    outermost: bool,
}

impl ConnectDepth {
    fn enter() -> Self {
        let before = CONNECT_DEPTH
            .try_with(|depth| {
                let before = depth.get();
                depth.set(before.saturating_add(1));
                before
            })
            .unwrap_or(0);
        Self {
            outermost: before == 0,
        }
    }
}

impl Drop for ConnectDepth {
    fn drop(&mut self) {
        let _ = CONNECT_DEPTH.try_with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

impl<C: Connector> Connector for CallConnector<C> {
    type Out = Metered<C::Out>;

    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        // ureq's CONNECT connector runs the whole chain again, this connector included,
        // for the connection to the proxy; the CONNECT request it then writes is not
        // the call's request, so only the outermost connection is metered. The depth
        // is a guard, so an error anywhere below still unwinds it.
        let depth = ConnectDepth::enter();
        let call = current_call();
        if call.as_ref().is_some_and(CallContext::is_cancelled) {
            return Err(cancelled());
        }
        if depth.outermost {
            if let Some(call) = &call {
                call.record.connecting.get_or_init(Instant::now);
            }
        }
        let made = self.chain.connect(details, chained)?;
        if depth.outermost && made.is_some() {
            if let Some(call) = &call {
                call.note_new_connection();
            }
        }
        Ok(made.map(|inner| Metered {
            inner,
            outermost: depth.outermost,
        }))
    }
}

/// A connection as the top of the chain hands it to ureq: it counts the current call's
/// request bytes (plaintext: above TLS and the proxy tunnel) and stamps when the
/// request was written. A CONNECT proxy's own connection is not metered.
#[derive(Debug)]
pub(crate) struct Metered<T> {
    inner: T,
    /// Made as a call's connection, not inside a CONNECT for the proxy's.
    outermost: bool,
}

impl<T: Transport> Transport for Metered<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if self.outermost {
            if let Some(call) = current_call() {
                // A call cancelled already sends nothing more, and does not count the
                // bytes it would have: `nothing_sent` stays true for a call cancelled
                // before its first write (the TCP layer would refuse them anyway).
                if call.is_cancelled() {
                    return Err(cancelled());
                }
                // Before the write: a write that fails part-way may have sent bytes.
                call.note_write(amount);
            }
        }
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        if self.outermost {
            if let Some(call) = current_call() {
                call.note_wait();
            }
        }
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

// ---------------------------------------------------------------------------------
// The resolver
// ---------------------------------------------------------------------------------

/// ureq's resolver, made cancellable: under a token the lookup runs on a helper thread
/// the call waits for (or for the cancel, or the resolve timeout).
///
/// ureq's own resolver already starts a thread per lookup when a resolve timeout is
/// set (the client always sets one), so this costs no extra thread: the helper calls
/// it without a timeout and the wait here enforces it. An IP address needs no lookup
/// and is resolved on the calling thread, with no thread at all, token or not: ureq's
/// resolver starts one for it too, once per call (it resolves before it looks in the
/// pool). On loopback that thread dominated a short request: `cargo bench --bench
/// client -- short` gave 64-94 us per request on this transport against 430-1300 us
/// (median; best runs 63-71 against 123-380) on ureq's default agent, two runs each
/// on two cores at load 3 to 4.
#[derive(Debug, Default)]
struct CallResolver {
    inner: Arc<DefaultResolver>,
}

impl Resolver for CallResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let call = current_call();
        let token = call.as_ref().and_then(CallContext::token);
        // ureq resolves before it looks in the pool: a call cancelled already stops
        // here, before it takes or opens a connection.
        if token.is_some_and(CancelToken::is_cancelled) {
            return Err(cancelled());
        }
        let untimed = NextTimeout {
            after: UreqDuration::NotHappening,
            ..timeout
        };
        if is_ip_literal(uri) {
            return self.inner.resolve(uri, config, untimed);
        }
        let Some(token) = token else {
            return self.inner.resolve(uri, config, timeout);
        };
        let deadline = match timeout.after {
            UreqDuration::Exact(d) => Instant::now().checked_add(d),
            UreqDuration::NotHappening => None,
        };
        let (inner, uri, config) = (Arc::clone(&self.inner), uri.clone(), config.clone());
        match token.run_detached("resolve", deadline, move || {
            inner.resolve(&uri, &config, untimed)
        }) {
            Detached::Done(result) => result,
            Detached::Cancelled => Err(cancelled()),
            Detached::TimedOut => Err(ureq::Error::Timeout(timeout.reason)),
            Detached::NoThread(e) => Err(ureq::Error::Io(e)),
        }
    }
}

/// Whether the URI's host is an IP address (`127.0.0.1`, `[::1]`): nothing to look up.
fn is_ip_literal(uri: &Uri) -> bool {
    uri.host().is_some_and(|host| {
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok()
    })
}

// ---------------------------------------------------------------------------------
// TCP
// ---------------------------------------------------------------------------------

/// ureq's `TcpConnector`, cancellable: the same connect (each resolved address in
/// order, sharing the connect timeout), `TCP_NODELAY` as configured, buffers sized
/// from the config, registered for `Agent::shutdown`; under a token the connect runs
/// on a helper thread.
///
/// Why a thread: a blocking `connect` cannot be interrupted, and std offers no other
/// way (no non-blocking connect with a poll, no handle to the socket before it is
/// connected); connecting in short slices would restart the TCP handshake each time.
/// The thread costs tens of microseconds per *new* connection (pooled ones skip this),
/// small next to a connect's round trips, and a call without a token connects on its
/// own thread as ureq does.
#[derive(Debug)]
struct TcpConnector;

impl<In: Transport> Connector<In> for TcpConnector {
    type Out = Either<In, TcpTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        if let Some(transport) = chained {
            // A CONNECT tunnel from the connector above: nothing to open here.
            return Ok(Some(Either::A(transport)));
        }
        if let Some(proxy) = details.config.proxy() {
            if !matches!(proxy.protocol(), ProxyProtocol::Http | ProxyProtocol::Https) {
                // `build` refuses SOCKS proxies; this guards the agent against one set
                // some other way. ureq's chain would have a SOCKS connector here (with
                // its feature) or warn and connect directly; going around a proxy the
                // user set is worse than failing.
                return Err(ureq::Error::Io(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "SOCKS proxies are not supported by this client's transport (use an http:// proxy)",
                )));
            }
        }
        let started = Instant::now();
        let addrs: Vec<SocketAddr> = details.addrs.iter().copied().collect();
        let timeout = details.timeout;
        let no_delay = details.config.no_delay();
        let call = current_call();
        let stream = match call.as_ref().and_then(CallContext::token) {
            Some(token) => {
                // No deadline on the wait: the connect's own timeouts end the job.
                match token.run_detached("connect", None, move || {
                    connect_addrs(&addrs, timeout, started, no_delay)
                }) {
                    Detached::Done(result) => result?,
                    Detached::Cancelled => return Err(cancelled()),
                    Detached::TimedOut => return Err(ureq::Error::Timeout(timeout.reason)),
                    Detached::NoThread(e) => return Err(ureq::Error::Io(e)),
                }
            }
            None => connect_addrs(&addrs, timeout, started, no_delay)?,
        };
        let stream = Arc::new(stream);
        let handle: Weak<dyn ShutdownHandle> = Arc::downgrade(&stream) as Weak<dyn ShutdownHandle>;
        (details.register_shutdown)(handle)?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TcpTransport {
            stream,
            buffers,
            timeout_read: None,
            timeout_write: None,
            cancelled: false,
        })))
    }
}

/// Connects to the first of `addrs` that answers, as ureq's `try_connect` does: each
/// address gets a share of the timeout (halving: 8/15, 4/15, ... of it for four
/// addresses, at least 10 ms), an address-specific failure moves on to the next, and
/// the whole connect stops at the timeout.
fn connect_addrs(
    addrs: &[SocketAddr],
    timeout: NextTimeout,
    started: Instant,
    no_delay: bool,
) -> Result<TcpStream, ureq::Error> {
    const MIN_PER_ADDRESS: Duration = Duration::from_millis(10);
    let count = i32::try_from(addrs.len()).unwrap_or(i32::MAX);
    let total_weight = 2.0 * (1.0 - 0.5_f64.powi(count));
    let mut weight = 1.0_f64;
    let mut last_error = None;
    for &addr in addrs {
        let per_address = timeout.not_zero().map(|t| {
            Duration::try_from_secs_f64(t.as_secs_f64() * weight / total_weight)
                .unwrap_or(Duration::MAX)
                .max(MIN_PER_ADDRESS)
        });
        match connect_one(addr, per_address, no_delay) {
            Ok(stream) => return Ok(stream),
            Err(ureq::Error::Io(e)) if never_connected(&e) => {
                last_error = Some(ureq::Error::Io(e));
                continue;
            }
            Err(e @ ureq::Error::Timeout(_)) => {
                if started.elapsed() > *timeout.after {
                    return Err(ureq::Error::Timeout(timeout.reason));
                }
                last_error = Some(e);
            }
            Err(e) => return Err(e),
        }
        weight /= 2.0;
    }
    Err(last_error.unwrap_or_else(|| {
        ureq::Error::Io(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "Connection refused",
        ))
    }))
}

/// One connect, with the timeout given; a timeout is ureq's connect timeout (the
/// caller replaces it when the whole connect ran out).
fn connect_one(
    addr: SocketAddr,
    timeout: Option<Duration>,
    no_delay: bool,
) -> Result<TcpStream, ureq::Error> {
    let connected = match timeout {
        Some(t) => TcpStream::connect_timeout(&addr, t),
        None => TcpStream::connect(addr),
    };
    let stream = match connected {
        Ok(stream) => stream,
        Err(e) if is_timeout(&e) => return Err(ureq::Error::Timeout(Timeout::Connect)),
        Err(e) => return Err(e.into()),
    };
    if no_delay {
        stream.set_nodelay(true)?;
    }
    Ok(stream)
}

/// Whether an I/O error is one a connect gives before any connection exists (refused,
/// unreachable), whatever transport made it. ureq's rule for a failed connect that
/// concerns only the address tried: the next resolved address may still work; and the
/// retry's: nothing was sent.
pub(crate) fn never_connected(e: &io::Error) -> bool {
    #[cfg(windows)]
    const WSAEACCES: i32 = 10013;
    #[cfg(windows)]
    if e.raw_os_error() == Some(WSAEACCES) {
        return true;
    }
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
            | io::ErrorKind::AddrNotAvailable
    )
}

/// A TCP connection: ureq's `TcpTransport` plus the token. Before each blocking read
/// or write it registers its socket with the current call's token (or fails at once
/// if that is cancelled); after it, if the token was cancelled, it reports the cancel
/// whatever the I/O gave (a socket shut down by the cancel reads as end of file, which
/// ureq could take for the end of a body). A transport that reported a cancel is
/// never open again, so ureq's pool cannot hand it out.
struct TcpTransport {
    /// Shared with the token while a read or write is under way, and (weakly) with
    /// ureq's agent for `Agent::shutdown`; all I/O goes through `&TcpStream`. An `Arc`
    /// rather than a `try_clone` handle: no second file descriptor and no system call
    /// per connection, and the socket stays open until the last holder (a `cancel`
    /// shutting it down, say) lets go, so its descriptor is never reused under them.
    stream: Arc<TcpStream>,
    buffers: LazyBuffers,
    /// The socket's read and write timeouts as last set: set only when they change.
    timeout_read: Option<UreqDuration>,
    timeout_write: Option<UreqDuration>,
    /// A cancel was reported: the connection is cut at an unknown point.
    cancelled: bool,
}

impl fmt::Debug for TcpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpTransport")
            .field("addr", &self.stream.peer_addr().ok())
            .field("cancelled", &self.cancelled)
            .finish_non_exhaustive()
    }
}

/// Runs one blocking I/O on `stream` under the current call's token: see
/// [`TcpTransport`]. Sets `poisoned` when it reports a cancel, and reports one at once
/// when it is set already.
fn under_token<T>(
    stream: &Arc<TcpStream>,
    poisoned: &mut bool,
    io: impl FnOnce() -> T,
) -> Result<T, ureq::Error> {
    if *poisoned {
        return Err(cancelled());
    }
    let call = current_call();
    let Some(token) = call.as_ref().and_then(CallContext::token) else {
        return Ok(io());
    };
    let Some(window) = token.begin_io(stream) else {
        *poisoned = true;
        return Err(cancelled());
    };
    let result = io();
    if window.close() {
        *poisoned = true;
        return Err(cancelled());
    }
    Ok(result)
}

impl Transport for TcpTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let timeout = checked(timeout.for_write())?;
        update_socket_timeout(
            timeout,
            &mut self.timeout_write,
            &self.stream,
            TcpStream::set_write_timeout,
        )?;
        let output = self.buffers.output().get(..amount).ok_or_else(|| {
            ureq::Error::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "asked to send more than the output buffer holds",
            ))
        })?;
        let stream = &self.stream;
        match under_token(stream, &mut self.cancelled, || {
            (&**stream).write_all(output)
        })? {
            Ok(()) => Ok(()),
            Err(e) if is_timeout(&e) => Err(ureq::Error::Timeout(timeout.reason)),
            Err(e) => Err(e.into()),
        }
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let timeout = checked(timeout.for_read())?;
        update_socket_timeout(
            timeout,
            &mut self.timeout_read,
            &self.stream,
            TcpStream::set_read_timeout,
        )?;
        let stream = &self.stream;
        let input = self.buffers.input_append_buf();
        let cache = &mut self.timeout_read;
        let limit = timeout.not_zero().map(|t| *t);
        let read = under_token(stream, &mut self.cancelled, || {
            read_retrying_interrupts(stream, input, limit, cache)
        })?;
        let amount = match read {
            Ok(amount) => amount,
            Err(e) if is_timeout(&e) => return Err(ureq::Error::Timeout(timeout.reason)),
            Err(e) => return Err(e.into()),
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        !self.cancelled && probe(&self.stream).unwrap_or(false)
    }
}

/// ureq's `NextTimeout::check` (not public): a budget already spent is a timeout now,
/// not a socket timeout of zero (which std refuses) or ureq's one-second floor.
fn checked(timeout: NextTimeout) -> Result<NextTimeout, ureq::Error> {
    if timeout.after.is_zero() {
        Err(ureq::Error::Timeout(timeout.reason))
    } else {
        Ok(timeout)
    }
}

/// Sets the socket's read or write timeout to `timeout`'s, with a system call only
/// when it changed since `previous`, as ureq does.
fn update_socket_timeout(
    timeout: NextTimeout,
    previous: &mut Option<UreqDuration>,
    stream: &TcpStream,
    set: impl Fn(&TcpStream, Option<Duration>) -> io::Result<()>,
) -> io::Result<()> {
    let wanted = timeout.not_zero();
    if wanted != *previous {
        remember_timeout(previous, wanted, || set(stream, wanted.map(|t| *t)))?;
    }
    Ok(())
}

/// Sets a timeout and caches it. macOS can refuse a change after the peer closed with
/// request bytes unread while the response is still readable: the I/O says what
/// happened then, and the cache keeps the old value (ureq's rule).
fn remember_timeout(
    previous: &mut Option<UreqDuration>,
    timeout: Option<UreqDuration>,
    set: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    match set() {
        Ok(()) => *previous = timeout,
        Err(e) if cfg!(target_os = "macos") && e.kind() == io::ErrorKind::InvalidInput => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

/// A read that retries a signal's interruption (EINTR) with what is left of the
/// timeout, as ureq's does: Linux does not restart a socket read that has a timeout.
/// Without a timeout the interruption is the caller's (a handler without SA_RESTART)
/// and is returned.
fn read_retrying_interrupts(
    stream: &TcpStream,
    buf: &mut [u8],
    timeout: Option<Duration>,
    cache: &mut Option<UreqDuration>,
) -> io::Result<usize> {
    let started = Instant::now();
    loop {
        match (&*stream).read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                let Some(timeout) = timeout else {
                    return Err(e);
                };
                let left = timeout.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                remember_timeout(cache, Some(left.into()), || {
                    stream.set_read_timeout(Some(left))
                })?;
            }
            result => return result,
        }
    }
}

/// Whether an idle connection is still usable, as ureq probes it: a non-blocking read
/// must find nothing (bytes are garbage after the previous body; end of file or an
/// error means the server closed it).
fn probe(stream: &TcpStream) -> io::Result<bool> {
    stream.set_nonblocking(true)?;
    let mut byte = [0u8; 1];
    let open = match (&*stream).read(&mut byte) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
        Ok(_) | Err(_) => false,
    };
    if open {
        stream.set_nonblocking(false)?;
    }
    Ok(open)
}

#[cfg(test)]
mod tests;
