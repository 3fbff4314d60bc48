//! What the retry decision
//! ([`RetryPolicy::decide`](crate::chat::http::RetryPolicy::decide), in the chat layer)
//! needs from this
//! transport: ureq's send errors sorted into [`FailedAttempt`]s by what is known of the
//! request's delivery, and the jitter, from the clock.

use std::time::{SystemTime, UNIX_EPOCH};

use super::transport::never_connected;
use crate::chat::http::FailedAttempt;

/// What the client knows of whether a failed attempt's request reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// No byte of the request was handed to a connection: the client's own transport
    /// counted none.
    NotSent,
    /// Some of it was, or all: the server may have it.
    MaybeSent,
    /// Not known: an agent of the user's own, whose connections the client does not
    /// see.
    Unknown,
}

/// What a failure to send (no answer at all) was, for the retry decision, given what is
/// known of its delivery: see [`RetryPolicy`](crate::chat::http::RetryPolicy).
pub(crate) fn send_failure(e: &ureq::Error, delivery: Delivery) -> FailedAttempt<'static> {
    use ureq::Timeout;
    match e {
        // Before there was a connection to write to.
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Timeout(Timeout::Resolve | Timeout::Connect) => FailedAttempt::NotSent,
        ureq::Error::Io(io) => match delivery {
            Delivery::NotSent => FailedAttempt::NotSent,
            Delivery::MaybeSent => FailedAttempt::Unanswered,
            Delivery::Unknown if never_connected(io) => FailedAttempt::NotSent,
            Delivery::Unknown => FailedAttempt::Unanswered,
        },
        _ => FailedAttempt::Other,
    }
}

/// A tiny xorshift generator for jitter, seeded from the clock and an address.
#[derive(Debug)]
pub(crate) struct Jitter(std::sync::atomic::AtomicU64);

impl Jitter {
    pub(crate) fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let local = 0u8;
        let addr = std::ptr::addr_of!(local) as usize as u64;
        Self(std::sync::atomic::AtomicU64::new(
            (nanos ^ addr.rotate_left(32)) | 1,
        ))
    }

    /// A value in `[0, 1)`.
    pub(crate) fn next(&self) -> f64 {
        use std::sync::atomic::Ordering;
        let mut x = self.0.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::http::RetryPolicy;

    /// Whether `policy` retries the first failure of a call that failed with `e`.
    fn retries(policy: RetryPolicy, e: &ureq::Error, delivery: Delivery) -> bool {
        policy
            .decide(1, send_failure(e, delivery), false, 0.0)
            .is_some()
    }

    #[test]
    fn send_failures_are_retried_only_when_nothing_reached_the_server() {
        use std::io::{Error as IoError, ErrorKind};
        use ureq::Timeout;
        let io = |kind| ureq::Error::Io(IoError::from(kind));
        let strict = RetryPolicy::default();
        let lenient = RetryPolicy::default().retry_unanswered(true);
        for policy in [strict, lenient] {
            for delivery in [Delivery::NotSent, Delivery::MaybeSent, Delivery::Unknown] {
                // Before any connection: always.
                for e in [
                    ureq::Error::HostNotFound,
                    ureq::Error::ConnectionFailed,
                    ureq::Error::Timeout(Timeout::Connect),
                    ureq::Error::Timeout(Timeout::Resolve),
                ] {
                    assert!(retries(policy, &e, delivery), "{e:?}");
                }
                // Timeouts after writing, and answers that are not HTTP: never.
                for e in [
                    ureq::Error::Timeout(Timeout::PerRead),
                    ureq::Error::Timeout(Timeout::Global),
                    ureq::Error::Timeout(Timeout::RecvResponse),
                    ureq::Error::BodyStalled,
                    ureq::Error::LargeResponseHeader(1, 1),
                ] {
                    assert!(!retries(policy, &e, delivery), "{e:?}");
                }
            }
            let reset = io(ErrorKind::ConnectionReset);
            assert!(retries(policy, &reset, Delivery::NotSent));
            assert_eq!(
                retries(policy, &reset, Delivery::MaybeSent),
                policy.retry_unanswered
            );
            assert_eq!(
                retries(policy, &reset, Delivery::Unknown),
                policy.retry_unanswered
            );
            // Refused: no connection, even where the client cannot see the writes.
            let refused = io(ErrorKind::ConnectionRefused);
            assert!(retries(policy, &refused, Delivery::Unknown));
        }
    }

    #[test]
    fn jitter_stays_in_range() {
        let j = Jitter::new();
        for _ in 0..10_000 {
            let x = j.next();
            assert!((0.0..1.0).contains(&x), "{x}");
        }
    }
}
