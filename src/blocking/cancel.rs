//! [`CancelToken`]: stopping blocking calls from another thread.
//!
//! A blocking call spends its time in a few places, and a cancel reaches each one
//! differently, and the token is honoured in every phase:
//!
//! ```text
//!  phase                     the calling thread is blocked in      cancel() reaches it by
//!  DNS, TCP connect          waiting for a helper thread          waking the wait (Condvar)
//!  TLS handshake, CONNECT,   read/write on the socket             shutting the socket down
//!    request, head, body       (registered with the token)          (shutdown(Both))
//!  backoff between retries   wait_timeout                         waking the wait (Condvar)
//! ```
//!
//! std cannot interrupt a blocking `connect` or `getaddrinfo`, hence the helper thread
//! there ([`CancelToken::run_detached`]); a socket that is connected can be shut down
//! from any thread, which wakes a blocked read (end of file) or write (broken pipe) at
//! once. The token holds a socket only while a read or write on it is under way
//! ([`CancelToken::begin_io`]), so a cancel never touches a connection that has gone
//! back to the pool for another call.
//!
//! The transport that registers sockets and runs the helper threads is
//! [`transport`](super::transport); this file holds the token and its waits.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Stops blocking calls from another thread: a UI's stop button, a shutdown, a deadline
/// of the program's own.
///
/// Give it to [`Client::stream_cancellable`](crate::blocking::Client::stream_cancellable)
/// or [`Client::complete_cancellable`](crate::blocking::Client::complete_cancellable)
/// before the call starts; a stream that is running has one already
/// ([`ChatStream::cancel_token`](crate::blocking::ChatStream::cancel_token)). A call
/// cancelled returns [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled), carrying what
/// was merged so far.
///
/// Clones share one token. A call guarded by a token returns soon after
/// [`cancel`](CancelToken::cancel) in whatever phase it is: resolving the host,
/// connecting, the TLS handshake, writing the request, waiting for the response head,
/// reading the body, or sleeping before a retry. One token may guard many calls at once,
/// from many threads: cancelling it stops them all (a batch, or everything a user
/// session started). A cancel cannot be undone; make a new token for the next calls.
///
/// A call that was cancelled closes its connection rather than returning it to the
/// pool (its request or response was cut at an unknown point), so the next call opens
/// a fresh one. Cancelling after a call has finished does nothing to that call or its
/// connection.
///
/// Cancelling is cheap and never blocks on I/O: it sets a flag, shuts down the sockets
/// that calls under the token are reading or writing at that moment, and wakes the
/// calls waiting on a helper thread or sleeping between retries.
///
/// # Example
///
/// This example cancels a token from another thread, as a stop button would; the
/// calls it guards would see the same flag.
///
/// ```
/// use dashscope_glm::blocking::CancelToken;
///
/// let token = CancelToken::new();
/// assert!(!token.is_cancelled());
///
/// let stop_button = token.clone();
/// std::thread::spawn(move || stop_button.cancel()).join().unwrap();
///
/// assert!(token.is_cancelled());
/// token.cancel(); // cancelling again changes nothing
/// assert!(token.is_cancelled());
/// ```
#[derive(Clone, Default)]
pub struct CancelToken {
    shared: Arc<Shared>,
}

/// What the clones of one token share.
#[derive(Default)]
struct Shared {
    /// Set once by `cancel`, never cleared. Written under `state`'s lock, so that
    /// [`CancelToken::begin_io`] (which checks it under the same lock) either sees it or
    /// has its socket shut down by the `cancel`; read without the lock elsewhere.
    cancelled: AtomicBool,
    state: Mutex<InIo>,
    /// Woken by `cancel` and by helper threads that finish: everything that waits on
    /// the token waits here, and each waiter looks again at its own result slot. With N
    /// calls connecting at once under one token a finishing connect wakes all N (O(N)
    /// wake-ups, cheap next to a connect); in exchange `cancel` needs to know nothing of
    /// the waits under way.
    wake: Condvar,
}

/// The sockets with a read or write under way under this token.
#[derive(Default)]
struct InIo {
    /// By registration id. A map, not a list: a batch of many streams under one token
    /// registers and unregisters on every read, in O(1) each.
    sockets: HashMap<u64, Arc<TcpStream>>,
    /// The next registration id; ids are never reused within a token (2^64 of them).
    next_id: u64,
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// Locks `mutex`, also after a panic elsewhere poisoned it: the data behind the
/// token's locks (a map of sockets, a result slot) is valid at every step, so a
/// poisoned lock carries no broken invariant, and the library must not panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CancelToken {
    /// A token not cancelled yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every call this token guards, now and later: calls under way return an
    /// error soon (the transport's socket I/O and the waits in this file stop at once;
    /// the figures are in the transport's tests), and calls started after it fail
    /// before they open or use a connection.
    ///
    /// It sets the flag, shuts down (`shutdown(Both)`) each socket that a call under
    /// this token is reading or writing at this moment, and wakes the calls that wait
    /// for a connect, a host lookup or the next retry. Idempotent; never blocks on I/O.
    pub fn cancel(&self) {
        let sockets = {
            let mut state = lock(&self.shared.state);
            self.shared.cancelled.store(true, Ordering::SeqCst);
            self.shared.wake.notify_all();
            std::mem::take(&mut state.sockets)
        };
        // Outside the lock: a shutdown is a system call per socket, and nothing here
        // needs the map any more. The Arc keeps each socket open until it is shut down,
        // even if its call drops the connection meanwhile, so no file descriptor can be
        // reused under us.
        for socket in sockets.into_values() {
            // An error means the socket is closed or shut down already: nothing to stop.
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// Whether [`cancel`](CancelToken::cancel) was called on this token or a clone.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::SeqCst)
    }

    /// Sleeps up to `duration`, returning early when the token is cancelled; returns
    /// whether it is cancelled. The client's wait between retries: a cancel during a
    /// long `Retry-After` ends the call at once instead of after the wait.
    ///
    /// A duration too long for the clock (`Duration::MAX`) waits for the cancel alone.
    pub(crate) fn wait_timeout(&self, duration: Duration) -> bool {
        let deadline = Instant::now().checked_add(duration);
        matches!(self.wait_for(deadline, || None::<()>), Detached::Cancelled)
    }

    /// Waits on the token until it is cancelled, `ready` gives a value, or `deadline`
    /// passes (`None`: no deadline), looking in that order after each wake-up: a
    /// cancel wins over a value that is ready at the same moment. Whatever
    /// sets what `ready` looks at must notify `wake` under the `state` lock, so that the
    /// notification cannot fall between a look and the wait. Never returns
    /// [`Detached::NoThread`].
    fn wait_for<T>(
        &self,
        deadline: Option<Instant>,
        mut ready: impl FnMut() -> Option<T>,
    ) -> Detached<T> {
        let mut state = lock(&self.shared.state);
        loop {
            if self.is_cancelled() {
                return Detached::Cancelled;
            }
            if let Some(value) = ready() {
                return Detached::Done(value);
            }
            // A wake-up that brings neither (a helper thread of another call finishing,
            // or a spurious one) goes round again with the time that is left.
            state = match deadline {
                None => self
                    .shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Detached::TimedOut;
                    }
                    self.shared
                        .wake
                        .wait_timeout(state, left)
                        .map_or_else(|p| p.into_inner().0, |(guard, _)| guard)
                }
            };
        }
    }

    /// Registers `socket` as doing I/O under this token until the returned window is
    /// [closed](IoWindow::close) or dropped, so that a [`cancel`](CancelToken::cancel)
    /// meanwhile shuts it down. `None` when the token is cancelled already: the caller
    /// must fail without doing the I/O.
    pub(crate) fn begin_io(&self, socket: &Arc<TcpStream>) -> Option<IoWindow<'_>> {
        let mut state = lock(&self.shared.state);
        // Checked under the lock `cancel` sets the flag under: either this sees the
        // flag, or the socket is in the map when `cancel` takes it.
        if self.is_cancelled() {
            return None;
        }
        let id = state.next_id;
        state.next_id = state.next_id.wrapping_add(1);
        state.sockets.insert(id, Arc::clone(socket));
        Some(IoWindow {
            token: self,
            id: Some(id),
        })
    }

    /// Runs `job` on a helper thread and waits for its result, for the cancel, or until
    /// `deadline` (`None`: no deadline), whichever comes first. On a cancel or the
    /// deadline it returns at once and leaves the thread to finish alone; what the job
    /// returns then is dropped there (a socket closes, a lookup result is discarded).
    ///
    /// For the blocking system calls that nothing in std can interrupt: `connect` and
    /// the host lookup. `what` names the thread (`dashscope-glm connect`), for a
    /// debugger or `top -H`. If no thread can be started, the job runs here, as if the
    /// call had no token (it cannot be cancelled then, but it still works).
    pub(crate) fn run_detached<T, F>(
        &self,
        what: &str,
        deadline: Option<Instant>,
        job: F,
    ) -> Detached<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        // Cancelled already: no thread, no system call.
        if self.is_cancelled() {
            return Detached::Cancelled;
        }
        // The job goes through a shared cell rather than straight into the closure, so
        // that it can still be run here if the thread cannot be started (`spawn` drops
        // a closure it could not start).
        let job = Arc::new(Mutex::new(Some(job)));
        let slot: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
        let spawned = {
            let job = Arc::clone(&job);
            let slot = Arc::clone(&slot);
            let shared = Arc::clone(&self.shared);
            thread::Builder::new()
                .name(format!("dashscope-glm {what}"))
                .spawn(move || {
                    let Some(job) = lock(&job).take() else {
                        return;
                    };
                    let value = job();
                    *lock(&slot) = Some(value);
                    // Under the token's lock, so the notification cannot fall between
                    // the waiter's look at the slot and its wait.
                    let _state = lock(&shared.state);
                    shared.wake.notify_all();
                })
        };
        if let Err(e) = spawned {
            let job = lock(&job).take();
            return match job {
                Some(job) => Detached::Done(job()),
                None => Detached::NoThread(e),
            };
        }
        // The cancel first: a call cancelled as its connect completes is cancelled.
        self.wait_for(deadline, || lock(&slot).take())
    }
}

/// How [`CancelToken::run_detached`] ended.
#[derive(Debug)]
pub(crate) enum Detached<T> {
    /// The job finished first (or ran on the calling thread); its result.
    Done(T),
    /// The token was cancelled first.
    Cancelled,
    /// The deadline passed first.
    TimedOut,
    /// No thread could be started and the job was gone (not expected: a failed spawn
    /// gives its closure back by dropping it, and the job is taken back from the cell).
    NoThread(io::Error),
}

/// A socket registered with a token for one read or write: see
/// [`CancelToken::begin_io`]. Dropping it unregisters the socket as
/// [`close`](IoWindow::close) does.
#[derive(Debug)]
pub(crate) struct IoWindow<'t> {
    token: &'t CancelToken,
    /// `None` once closed.
    id: Option<u64>,
}

impl IoWindow<'_> {
    /// Unregisters the socket after its I/O and says whether that I/O was cancelled:
    /// the token was cancelled by now, whether or not the cancel came while the socket
    /// was registered (and shut it down). Either way the I/O's result is not to be
    /// trusted as the server's: a shut-down socket reads as end of file.
    pub(crate) fn close(mut self) -> bool {
        self.unregister();
        self.token.is_cancelled()
    }

    fn unregister(&mut self) {
        if let Some(id) = self.id.take() {
            lock(&self.token.shared.state).sockets.remove(&id);
        }
    }
}

impl Drop for IoWindow<'_> {
    fn drop(&mut self) {
        self.unregister();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::mpsc;

    #[test]
    fn wait_timeout_runs_out_when_not_cancelled() {
        let token = CancelToken::new();
        assert!(!token.wait_timeout(Duration::from_millis(5)));
        assert!(!token.wait_timeout(Duration::ZERO));
        assert!(!token.is_cancelled());
    }

    #[test]
    fn wait_timeout_returns_early_on_cancel() {
        let token = CancelToken::new();
        let (ready, waiting) = mpsc::channel();
        let waiter = {
            let token = token.clone();
            thread::spawn(move || {
                ready.send(()).unwrap();
                // Far longer than any test run: it returns only because of the cancel.
                token.wait_timeout(Duration::from_secs(3600))
            })
        };
        waiting.recv().unwrap();
        token.cancel();
        assert!(waiter.join().unwrap());
        // A clock-overflowing duration waits for the cancel alone; cancelled already,
        // it returns at once.
        assert!(token.wait_timeout(Duration::MAX));
    }

    #[test]
    fn a_cancelled_token_refuses_io_and_shuts_down_what_is_registered() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = Arc::new(TcpStream::connect(listener.local_addr().unwrap()).unwrap());
        let (mut server, _) = listener.accept().unwrap();
        let token = CancelToken::new();

        // Registered and closed before the cancel: the cancel leaves the socket alone.
        let window = token.begin_io(&client).unwrap();
        assert!(!window.close());
        let registered = token.begin_io(&client).unwrap();
        token.cancel();
        assert!(registered.close());
        assert!(token.begin_io(&client).is_none());

        // The socket was shut down (its reads end at once) and the server sees the
        // end of the stream.
        let mut buf = [0u8; 1];
        assert_eq!(io::Read::read(&mut &*client, &mut buf).unwrap(), 0);
        assert_eq!(io::Read::read(&mut server, &mut buf).unwrap(), 0);
    }

    #[test]
    fn a_socket_not_in_io_is_not_shut_down_by_a_cancel() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = Arc::new(TcpStream::connect(listener.local_addr().unwrap()).unwrap());
        let (mut server, _) = listener.accept().unwrap();
        let token = CancelToken::new();
        drop(token.begin_io(&client).unwrap());
        token.cancel();
        io::Write::write_all(&mut &*client, b"x").unwrap();
        let mut buf = [0u8; 1];
        io::Read::read_exact(&mut server, &mut buf).unwrap();
        assert_eq!(&buf, b"x");
    }

    #[test]
    fn run_detached_gives_the_result_or_the_cancel() {
        let token = CancelToken::new();
        assert!(matches!(
            token.run_detached("test", None, || 7),
            Detached::Done(7)
        ));
        let (release, blocked) = mpsc::channel::<()>();
        let (started, wait_started) = mpsc::channel();
        let canceller = {
            let token = token.clone();
            thread::spawn(move || {
                wait_started.recv().unwrap();
                token.cancel();
            })
        };
        let outcome = token.run_detached("test", None, move || {
            started.send(()).unwrap();
            // Blocks until the test drops `release`, after the cancel returned.
            let _ = blocked.recv();
            1
        });
        assert!(matches!(outcome, Detached::Cancelled));
        drop(release);
        canceller.join().unwrap();
        // Cancelled before: no wait at all.
        assert!(matches!(
            token.run_detached("test", None, || 2),
            Detached::Cancelled
        ));
    }

    #[test]
    fn run_detached_stops_at_the_deadline() {
        let token = CancelToken::new();
        let (release, blocked) = mpsc::channel::<()>();
        let outcome = token.run_detached("test", Some(Instant::now()), move || {
            let _ = blocked.recv();
        });
        assert!(matches!(outcome, Detached::TimedOut));
        drop(release);
    }

    #[test]
    fn debug_shows_the_flag() {
        let token = CancelToken::new();
        assert_eq!(format!("{token:?}"), "CancelToken { cancelled: false, .. }");
        token.cancel();
        assert_eq!(format!("{token:?}"), "CancelToken { cancelled: true, .. }");
    }
}
