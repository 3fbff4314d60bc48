//! The retry policy and its delays, as pure functions of the attempt, the server's hints
//! and a jitter value (no clock, no sleeping here).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// When and how often to send a failed request again.
///
/// A call is retried only before any byte of a successful body was read, and only when
/// sending it again cannot make the server do (and bill) the work twice:
///
/// - failures that provably never reached the server: the host lookup, a refused or
///   timed-out connect, the TLS handshake, a proxy's `CONNECT`, a pooled connection
///   found closed before the request was written (the client's own transport counts
///   the request bytes it hands to a connection, so it knows);
/// - statuses 408, 409, 429, 500, 502, 503 and 504 (or any status with
///   `x-should-retry: true`; `x-should-retry: false` forbids it): the server answered,
///   and said a retry is safe.
///
/// A connection that fails once the request was written, in full or in part (reset or
/// closed before the response head), is not retried: the server may have received the
/// request and be generating (and billing) the answer. Opt in with
/// [`retry_unanswered`](RetryPolicy::retry_unanswered) when a duplicate costs less than
/// a failure. A timeout after the request was written (the idle timeout while waiting
/// for the head, the total deadline) is never retried. With an agent of your own
/// ([`ClientBuilder::agent`](crate::blocking::ClientBuilder::agent)) the client cannot
/// see what was written, so only failures before a connection existed (the host
/// lookup, a refused or timed-out connect) count as not sent.
///
/// Errors a person must settle ([`Category`](crate::Category) `Auth`, `Permission` or
/// `Quota`: arrears, a used-up free tier, a workspace that has not subscribed) are never
/// retried, nothing is retried once a stream has started, and nothing after a cancel.
///
/// The delay before retry `n` (0-based) is the server's hint when it sent one
/// (`retry-after-ms`, else `retry-after` in seconds or as an HTTP date), capped at
/// [`max_retry_after`](RetryPolicy::max_retry_after); otherwise
/// `base_delay * 2^n`, capped at [`max_delay`](RetryPolicy::max_delay), minus up to a
/// quarter of jitter.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use dashscope_glm::blocking::RetryPolicy;
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

impl RetryPolicy {
    /// No retries at all.
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
    /// use dashscope_glm::blocking::RetryPolicy;
    ///
    /// let policy = RetryPolicy::default().retry_unanswered(true);
    /// assert!(policy.retry_unanswered);
    /// ```
    #[must_use]
    pub fn retry_unanswered(mut self, retry: bool) -> Self {
        self.retry_unanswered = retry;
        self
    }

    /// Whether a failure to send (no answer at all) is worth another request, given
    /// what is known of its delivery: see the type's docs.
    pub(crate) fn retries_send_failure(&self, e: &ureq::Error, delivery: Delivery) -> bool {
        use ureq::Timeout;
        match e {
            // Before there was a connection to write to.
            ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Timeout(Timeout::Resolve | Timeout::Connect) => true,
            ureq::Error::Io(io) => match delivery {
                Delivery::NotSent => true,
                Delivery::MaybeSent => self.retry_unanswered,
                Delivery::Unknown => never_connected(io) || self.retry_unanswered,
            },
            _ => false,
        }
    }

    /// The delay before retry `retry` (0 for the first retry), given the server's hint
    /// (`retry-after-ms`, else `retry-after` in seconds or as an HTTP date) and a jitter value in `[0, 1)` (clamped): a hint is taken
    /// as is, capped; a backoff loses `jitter / 4` of itself.
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

/// Whether an I/O error is one a connect gives before any connection exists (refused,
/// unreachable), whatever transport made it.
fn never_connected(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::ConnectionRefused
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::NetworkDown
            | ErrorKind::AddrNotAvailable
    )
}

/// The server's retry hint: `retry-after-ms` (milliseconds, fractions allowed) when
/// present and valid, else `retry-after` as seconds (fractions allowed) or as an HTTP
/// date (IMF-fixdate, RFC 850 or asctime), relative to `now`; a date in the past is a
/// zero delay. Unparseable or negative values give `None`. Not capped: the policy caps.
pub(crate) fn retry_after(
    retry_after_ms: Option<&str>,
    retry_after: Option<&str>,
    now: SystemTime,
) -> Option<Duration> {
    if let Some(ms) = retry_after_ms.and_then(|v| seconds(v, 1e-3)) {
        return Some(ms);
    }
    let value = retry_after?.trim();
    if let Some(secs) = seconds(value, 1.0) {
        return Some(secs);
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A non-negative decimal number times `unit` seconds.
fn seconds(value: &str, unit: f64) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let n: f64 = value.parse().ok()?;
    Duration::try_from_secs_f64(n * unit).ok()
}

/// Parses an HTTP date (RFC 9110 section 5.6.7): the preferred IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete forms, RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`). The day
/// name is not checked against the date.
pub(crate) fn parse_http_date(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (day, month, year, time) = if let Some((_, rest)) = s.split_once(", ") {
        let rest = rest.strip_suffix(" GMT")?;
        let (date, time) = rest.rsplit_once(' ')?;
        if date.contains('-') {
            // RFC 850: 06-Nov-94
            let mut parts = date.split('-');
            let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || y.len() != 2 {
                return None;
            }
            let y: u32 = number(y)?;
            // RFC 9110: a two-digit year more than 50 years ahead is in the past century.
            let year = if y < 70 { 2000 + y } else { 1900 + y };
            (number(d)?, month_number(m)?, year, time)
        } else {
            let mut parts = date.split(' ');
            let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || d.len() != 2 || y.len() != 4 {
                return None;
            }
            (number(d)?, month_number(m)?, number(y)?, time)
        }
    } else {
        // asctime: "Sun Nov  6 08:49:37 1994"
        let mut parts = s.split_ascii_whitespace();
        let (_, m, d, time, y) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if parts.next().is_some() || y.len() != 4 {
            return None;
        }
        (number(d)?, month_number(m)?, number(y)?, time)
    };
    let mut hms = time.split(':');
    let (h, mi, se) = (hms.next()?, hms.next()?, hms.next()?);
    if hms.next().is_some() || h.len() != 2 || mi.len() != 2 || se.len() != 2 {
        return None;
    }
    let (h, mi, se): (u32, u32, u32) = (number(h)?, number(mi)?, number(se)?);
    if !(1..=31).contains(&day) || h > 23 || mi > 59 || se > 60 || year < 1970 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    let secs = days * 86_400 + u64::from(h * 3600 + mi * 60 + se);
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn month_number(m: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS
        .iter()
        .position(|&name| name == m)
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), for
/// years from 1970; `None` for a day past the end of its month.
fn days_from_civil(year: u32, month: u32, day: u32) -> Option<u64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_len = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day > month_len {
        return None;
    }
    let y = u64::from(if month <= 2 { year - 1 } else { year });
    let (m, d) = (u64::from(month), u64::from(day));
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
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

    #[test]
    fn retry_after_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            retry_after(Some("1500"), None, now),
            Some(Duration::from_millis(1500))
        );
        // retry-after-ms wins over retry-after.
        assert_eq!(
            retry_after(Some("1500"), Some("9"), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(None, Some("3"), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(None, Some("Wed, 21 Oct 2015 07:28:05 GMT"), now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(retry_after(None, Some("soon"), now), None);
        assert_eq!(
            retry_after(Some("2.5"), None, now),
            Some(Duration::from_micros(2500))
        );
        assert_eq!(
            retry_after(Some("abc"), Some("3"), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(None, Some(" 1.5 "), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(retry_after(None, Some("-1"), now), None);
        assert_eq!(retry_after(None, Some(""), now), None);
        assert_eq!(retry_after(None, None, now), None);
        assert_eq!(
            retry_after(None, Some("Wed, 21 Oct 2015 07:29:00 GMT"), now),
            Some(Duration::from_secs(60))
        );
        // In the past: retry now.
        assert_eq!(
            retry_after(None, Some("Wed, 21 Oct 2015 07:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn http_dates() {
        let at = |s| parse_http_date(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
        assert_eq!(at("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(at("Tue, 29 Feb 2000 12:00:00 GMT"), Some(951_825_600));
        assert_eq!(at("Fri, 31 Dec 2038 23:59:59 GMT"), Some(2_177_452_799));
        assert_eq!(at("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(at("Sun Nov  6 08:49:37 1994"), Some(784_111_777));
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "Sun Nov  6 08:49:37",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "06 Nov 1994",
        ] {
            assert_eq!(at(bad), None, "{bad:?}");
        }
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
                    assert!(policy.retries_send_failure(&e, delivery), "{e:?}");
                }
                // Timeouts after writing, and answers that are not HTTP: never.
                for e in [
                    ureq::Error::Timeout(Timeout::PerRead),
                    ureq::Error::Timeout(Timeout::Global),
                    ureq::Error::Timeout(Timeout::RecvResponse),
                    ureq::Error::BodyStalled,
                    ureq::Error::LargeResponseHeader(1, 1),
                ] {
                    assert!(!policy.retries_send_failure(&e, delivery), "{e:?}");
                }
            }
            let reset = io(ErrorKind::ConnectionReset);
            assert!(policy.retries_send_failure(&reset, Delivery::NotSent));
            assert_eq!(
                policy.retries_send_failure(&reset, Delivery::MaybeSent),
                policy.retry_unanswered
            );
            assert_eq!(
                policy.retries_send_failure(&reset, Delivery::Unknown),
                policy.retry_unanswered
            );
            // Refused: no connection, even where the client cannot see the writes.
            let refused = io(ErrorKind::ConnectionRefused);
            assert!(policy.retries_send_failure(&refused, Delivery::Unknown));
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
