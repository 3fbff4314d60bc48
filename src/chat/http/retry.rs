//! The retry decision: whether a failed attempt is worth another, and after how long,
//! as a pure function of the attempt, the failure, the server's hints and a jitter value
//! (no clock, no sleeping here).

use std::time::Duration;

use crate::chat::http::ResponseHead;
use crate::error::{Category, Error};

/// When and how often to send a failed request again.
///
/// [`decide`](RetryPolicy::decide) is the whole rule; a transport tells it what failed
/// ([`FailedAttempt`]) and sleeps for the delay it gives. A request is sent again only
/// before any event of its answer was delivered, and only when sending it again cannot
/// make the server do (and bill) the work twice:
///
/// - failures that provably never reached the server ([`FailedAttempt::NotSent`]): the
///   host lookup, a refused or timed-out connect, the TLS handshake, a proxy's
///   `CONNECT`, a pooled connection found closed before the request was written;
/// - statuses 408, 409, 429, 500, 502, 503 and 504 (or any status with
///   `x-should-retry: true`; `x-should-retry: false` forbids it): the server answered,
///   and said a retry is safe ([`FailedAttempt::Status`]).
///
/// A connection that fails once the request was written, in full or in part (reset or
/// closed before the response head), is not retried ([`FailedAttempt::Unanswered`]):
/// the server may have received the request and be generating (and billing) the answer.
/// Opt in with [`retry_unanswered`](RetryPolicy::retry_unanswered) when a duplicate costs
/// less than a failure. A timeout after the request was written (waiting for the head,
/// a total deadline) is never retried ([`FailedAttempt::Other`]), nor is a cancel.
///
/// Errors a person must settle ([`Category`] `Auth`, `Permission` or `Quota`: arrears, a
/// used-up free tier, a workspace that has not subscribed) are never retried, whatever
/// the server's `x-should-retry` says, and nothing is retried once an event of the
/// answer was delivered.
///
/// The delay before retry `n` (0-based) is the server's hint when it sent one
/// (`retry-after-ms`, else `retry-after` in seconds or as an HTTP date), capped at
/// [`max_retry_after`](RetryPolicy::max_retry_after); otherwise
/// `base_delay * 2^n`, capped at [`max_delay`](RetryPolicy::max_delay), minus up to a
/// quarter of jitter.
///
/// The blocking client (feature `blocking`, as `blocking::RetryPolicy`) runs this
/// policy; a transport of one's own runs the same.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use dashscope_glm::chat::http::RetryPolicy;
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_retries, 2);
/// // No hint: exponential backoff; jitter 0.0 takes the full delay.
/// assert_eq!(policy.delay(0, None, 0.0), Duration::from_millis(500));
/// assert_eq!(policy.delay(1, None, 0.0), Duration::from_secs(1));
/// // A hint wins, capped at a minute.
/// assert_eq!(policy.delay(0, Some(Duration::from_secs(3)), 0.9), Duration::from_secs(3));
/// assert_eq!(policy.delay(0, Some(Duration::from_secs(600)), 0.0), Duration::from_secs(60));
/// // A request the server may have received is not sent again unless asked for.
/// assert!(!policy.retry_unanswered);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 2; 0 turns retrying off).
    pub max_retries: u32,
    /// The first backoff delay (default 500 ms).
    pub base_delay: Duration,
    /// The longest backoff delay (default 8 s).
    pub max_delay: Duration,
    /// The longest server-requested delay honoured (default 60 s).
    pub max_retry_after: Duration,
    /// Whether to retry a request whose connection failed after the request was
    /// written, before any answer (default `false`): see
    /// [`retry_unanswered`](RetryPolicy::retry_unanswered).
    pub retry_unanswered: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            retry_unanswered: false,
        }
    }
}

/// What failed in an attempt, as the transport knows it, for
/// [`RetryPolicy::decide`].
///
/// # Example
///
/// See [`RetryPolicy::decide`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum FailedAttempt<'a> {
    /// The server answered with an error status: its `head`, and the `error` its body
    /// maps to ([`ResponseHead::error`], which also gives the error the server's retry
    /// hint, [`Error::retry_after`]). Retried when `x-should-retry` says so, else when
    /// [`Error::is_retryable`] does; never when a person must settle it.
    Status {
        /// The answer's head.
        head: &'a ResponseHead,
        /// The error the answer stands for.
        error: &'a Error,
    },
    /// The request provably never reached the server: the host lookup, a refused or
    /// timed-out connect, the TLS handshake, a proxy's `CONNECT`, a connection that
    /// failed before any byte of the request was written to it. Always retried.
    NotSent,
    /// The connection failed after the request was written, in full or in part, and
    /// before the response head (reset, closed, broken off): the server may have it.
    /// Retried only with [`RetryPolicy::retry_unanswered`].
    Unanswered,
    /// Anything else: a timeout after the request was written, a cancel, an answer that
    /// is not HTTP, a failure once the answer started. Never retried.
    Other,
}

impl RetryPolicy {
    /// No retries at all.
    #[must_use]
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The retries after the first attempt; 0 turns retrying off. Defaults to 2.
    #[must_use]
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The first backoff delay, doubled for each retry after it. Defaults to 500 ms.
    #[must_use]
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }

    /// The longest backoff delay. Defaults to 8 s.
    #[must_use]
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// The longest server-requested delay honoured; longer hints are cut to it.
    /// Defaults to 60 s.
    #[must_use]
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// Whether to send a request again when its connection failed after the request
    /// was written, in full or in part, and before the response head arrived (reset,
    /// closed, broken off). Defaults to `false`: the server may have received the
    /// request and be generating the answer, which it bills whether or not the answer
    /// arrives, so a retry can bill the call twice. Turn it on when a failure costs
    /// more than a possible duplicate (short prompts, a flaky network).
    ///
    /// Failures before the request was written are retried either way, timeouts after
    /// it never (the server is likely still working on the request).
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::chat::http::RetryPolicy;
    ///
    /// let policy = RetryPolicy::default().retry_unanswered(true);
    /// assert!(policy.retry_unanswered);
    /// ```
    #[must_use]
    pub fn retry_unanswered(mut self, retry: bool) -> Self {
        self.retry_unanswered = retry;
        self
    }

    /// Whether to send the request again after `failure`, and after how long: `Some`
    /// of the delay to wait before the next attempt, or `None` to stop and return the
    /// failure's error.
    ///
    /// - `attempts`: the requests sent so far, the failed one included (1 after the
    ///   first); a retry is allowed while `attempts <= max_retries` (0 allows none).
    /// - `failure`: what failed ([`FailedAttempt`]).
    /// - `event_delivered`: whether any event of the answer was handed out; then
    ///   nothing is retried, whatever failed.
    /// - `jitter`: the caller's randomness, a value in `[0, 1)` (clamped; a NaN counts
    ///   as 0), which takes up to a quarter off a backoff (see
    ///   [`delay`](RetryPolicy::delay)); the server's hint is taken as it is.
    ///
    /// A total deadline is the caller's: it owns the clock, and does not retry when the
    /// delay would pass it.
    ///
    /// # Example
    ///
    /// This example decides on a 503 with a retry hint, on a 429 for an unpaid bill, and
    /// on a connection reset after the request was written.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use dashscope_glm::chat::http::{FailedAttempt, ResponseHead, RetryPolicy};
    ///
    /// let policy = RetryPolicy::default();
    /// let now = SystemTime::now();
    ///
    /// let head = ResponseHead::new(503, [("retry-after", "2")]);
    /// let error = head.error(b"upstream busy", now);
    /// let failed = FailedAttempt::Status { head: &head, error: &error };
    /// assert_eq!(policy.decide(1, failed, false, 0.5), Some(Duration::from_secs(2)));
    /// assert_eq!(policy.decide(3, failed, false, 0.5), None); // two retries spent
    /// assert_eq!(policy.decide(1, failed, true, 0.5), None); // an event was shown
    ///
    /// let head = ResponseHead::new(429, [("x-should-retry", "true")]);
    /// let error = head.error(br#"{"code":"Arrearage","message":"Access denied, please make sure your account is in good standing."}"#, now);
    /// let failed = FailedAttempt::Status { head: &head, error: &error };
    /// assert_eq!(policy.decide(1, failed, false, 0.5), None);
    ///
    /// assert_eq!(policy.decide(1, FailedAttempt::Unanswered, false, 0.0), None);
    /// let lenient = policy.retry_unanswered(true);
    /// assert_eq!(lenient.decide(1, FailedAttempt::Unanswered, false, 0.0), Some(Duration::from_millis(500)));
    /// ```
    #[must_use]
    pub fn decide(
        &self,
        attempts: u32,
        failure: FailedAttempt<'_>,
        event_delivered: bool,
        jitter: f64,
    ) -> Option<Duration> {
        if event_delivered || attempts == 0 || attempts > self.max_retries {
            return None;
        }
        let (retry, hint) = match failure {
            FailedAttempt::Status { head, error } => {
                // What a person must settle is never retried, whatever the server's
                // header says.
                let settled_by_person = matches!(
                    error.category(),
                    Category::Auth | Category::Permission | Category::Quota
                );
                let retry = !settled_by_person
                    && head.should_retry().unwrap_or_else(|| error.is_retryable());
                (retry, error.retry_after())
            }
            FailedAttempt::NotSent => (true, None),
            FailedAttempt::Unanswered => (self.retry_unanswered, None),
            FailedAttempt::Other => (false, None),
        };
        retry.then(|| self.delay(attempts - 1, hint, jitter))
    }

    /// The delay before retry `retry` (0 for the first retry), given the server's hint
    /// (`retry-after-ms`, else `retry-after` in seconds or as an HTTP date:
    /// [`ResponseHead::retry_after`]) and a jitter value in `[0, 1)` (clamped): a hint
    /// is taken as is, capped; a backoff loses `jitter / 4` of itself.
    #[must_use]
    pub fn delay(&self, retry: u32, hint: Option<Duration>, jitter: f64) -> Duration {
        if let Some(hint) = hint {
            return hint.min(self.max_retry_after);
        }
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        let backoff = self
            .base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        // `mul_f64` panics when the product rounds past `Duration::MAX` (a backoff of
        // `Duration::MAX` times 1.0 does); the factor is at most 1, so the backoff
        // itself bounds it.
        Duration::try_from_secs_f64(backoff.as_secs_f64() * (1.0 - jitter / 4.0))
            .map_or(backoff, |d| d.min(backoff))
    }
}

/// One call's attempts, across its retry loop: how many requests were sent, and the
/// last retry hint any answer gave. What the blocking client keeps for every error it
/// returns ([`Error::attempts`], [`Error::retry_after`]), kept here so that a transport
/// of one's own keeps the same:
///
/// 1. [`begin`](Attempts::begin) before each request is sent;
/// 2. on a failed attempt, [`retry`](Attempts::retry) notes the answer's hint and asks
///    the [`RetryPolicy`]: `Some(delay)` is a sleep and another attempt, `None` the
///    end;
/// 3. every error the call returns goes through [`error`](Attempts::error) (the failed
///    attempt's, or one of the transport's own: a cancel, a total deadline), which
///    gives it the count and the last hint; an answer that started is the
///    [`count`](Attempts::count)-th request, which the errors of its body carry
///    ([`Error::with_attempts`]).
///
/// An earlier answer's hint is kept when a later answer has none (a 429 asking for 2 s,
/// then a 500 without a hint: the call's error says 2 s), as the server's last word on
/// when to come back.
///
/// # Example
///
/// This example runs a retry loop over answers given as data: a 503 with a hint, then
/// two 500s without one.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use dashscope_glm::chat::http::{Attempts, FailedAttempt, ResponseHead, RetryPolicy};
///
/// let policy = RetryPolicy::default();
/// let answers = [
///     ResponseHead::new(503, [("retry-after-ms", "20")]),
///     ResponseHead::new(500, [("x-request-id", "r-2")]),
///     ResponseHead::new(500, [("x-request-id", "r-3")]),
/// ];
/// let mut attempts = Attempts::new();
/// let mut answers = answers.iter();
/// let err = loop {
///     attempts.begin();
///     let head = answers.next().unwrap(); // send the request; the answer's head
///     let error = head.error(b"", SystemTime::now());
///     let failed = FailedAttempt::Status { head, error: &error };
///     match attempts.retry(&policy, failed, 0.5) {
///         Some(_delay) => {} // sleep for it, then send again
///         None => break attempts.error(error),
///     }
/// };
/// assert_eq!(err.attempts(), 3);
/// assert_eq!(err.request_id(), Some("r-3"));
/// assert_eq!(err.retry_after(), Some(Duration::from_millis(20)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    sent: u32,
    retry_after: Option<Duration>,
}

impl Attempts {
    /// No request sent yet.
    ///
    /// # Example
    ///
    /// See [`Attempts`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a request about to be sent, and returns its number: 1 for the first.
    ///
    /// # Example
    ///
    /// ```
    /// use dashscope_glm::chat::http::Attempts;
    ///
    /// let mut attempts = Attempts::new();
    /// assert_eq!((attempts.begin(), attempts.begin()), (1, 2));
    /// assert_eq!(attempts.count(), 2);
    /// ```
    pub fn begin(&mut self) -> u32 {
        self.sent = self.sent.saturating_add(1);
        self.sent
    }

    /// The requests sent so far ([`begin`](Attempts::begin) calls).
    #[must_use]
    pub fn count(&self) -> u32 {
        self.sent
    }

    /// The last retry hint an answer gave, if any did (see the type docs).
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The last request failed with `failure`: notes the server's hint (an error
    /// status's [`Error::retry_after`]), and says whether to send again and after how
    /// long, as [`RetryPolicy::decide`] does for the [`count`](Attempts::count)-th
    /// request with no event delivered (an answer that started is not retried).
    ///
    /// # Example
    ///
    /// See [`Attempts`].
    #[must_use]
    pub fn retry(
        &mut self,
        policy: &RetryPolicy,
        failure: FailedAttempt<'_>,
        jitter: f64,
    ) -> Option<Duration> {
        if let FailedAttempt::Status { error, .. } = failure {
            self.retry_after = error.retry_after().or(self.retry_after);
        }
        policy.decide(self.sent, failure, false, jitter)
    }

    /// `error` as the call returns it: with the requests sent
    /// ([`Error::with_attempts`]) and the server's last hint ([`Error::with_retry_after`]:
    /// the error's own, else an earlier answer's).
    ///
    /// # Example
    ///
    /// This example stops a call cancelled while it waited to retry after a 429.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use dashscope_glm::chat::http::{Attempts, FailedAttempt, ResponseHead, RetryPolicy};
    /// use dashscope_glm::{Error, ErrorKind};
    ///
    /// let mut attempts = Attempts::new();
    /// attempts.begin();
    /// let head = ResponseHead::new(429, [("retry-after", "1")]);
    /// let error = head.error(b"", SystemTime::now());
    /// let delay = attempts.retry(&RetryPolicy::default(), FailedAttempt::Status { head: &head, error: &error }, 0.0);
    /// assert_eq!(delay, Some(Duration::from_secs(1)));
    /// // ... the caller stops the call during that second:
    /// let err = attempts.error(Error::cancelled(None));
    /// assert_eq!((err.kind(), err.attempts()), (ErrorKind::Cancelled, 1));
    /// assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    /// ```
    #[must_use]
    pub fn error(&self, error: Error) -> Error {
        let hint = error.retry_after().or(self.retry_after);
        error.with_attempts(self.sent).with_retry_after(hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_down() {
        let p = RetryPolicy::default();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(p.delay(0, None, 0.0), ms(500));
        assert_eq!(p.delay(1, None, 0.0), ms(1000));
        assert_eq!(p.delay(2, None, 0.0), ms(2000));
        assert_eq!(p.delay(4, None, 0.0), ms(8000));
        assert_eq!(p.delay(40, None, 0.0), ms(8000));
        assert_eq!(p.delay(u32::MAX, None, 0.0), ms(8000));
        assert_eq!(p.delay(0, None, 1.0), ms(375));
        assert_eq!(p.delay(0, None, f64::NAN), ms(500));
        let d = p.delay(1, None, 0.5);
        assert!(d >= ms(750) && d <= ms(1000), "{d:?}");
    }

    #[test]
    fn delays_too_long_for_the_clock_do_not_panic() {
        let p = RetryPolicy::default()
            .base_delay(Duration::MAX)
            .max_delay(Duration::MAX)
            .max_retry_after(Duration::MAX);
        assert_eq!(p.delay(0, None, 0.0), Duration::MAX);
        assert!(p.delay(3, None, 0.99) <= Duration::MAX);
        assert_eq!(p.delay(0, Some(Duration::MAX), 0.0), Duration::MAX);
        let never = RetryPolicy::default().max_retries(u32::MAX);
        assert_eq!(
            never.decide(u32::MAX, FailedAttempt::NotSent, false, 0.0),
            Some(Duration::from_secs(8))
        );
    }

    #[test]
    fn hints_cap_at_the_policy_maximum() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(3, Some(Duration::from_millis(1500)), 0.7),
            Duration::from_millis(1500)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3600)), 0.0),
            Duration::from_secs(60)
        );
    }
}
