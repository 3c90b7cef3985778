//! The one retry policy every API call follows.
//!
//! Throttling (429), server errors (5xx) and connection failures are retried with exponential
//! backoff and jitter until a total deadline. When the server says how long to wait —
//! `Retry-After` (seconds or an HTTP date) or, on a 429, `ratelimit-reset` (a Unix time) — the
//! wait is at least that long; when that is beyond the deadline the call gives up at once
//! rather than sleeping for nothing.

use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Backoff and deadline for retried calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The backoff before the first retry; it doubles on every further retry.
    pub initial_delay: Duration,
    /// The backoff never grows past this (a server's own delay may be longer).
    pub max_delay: Duration,
    /// The total time one call may spend, its retries included.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(15),
            deadline: Duration::from_secs(180),
        }
    }
}

impl RetryPolicy {
    /// The backoff before retry number `attempt` (1 for the first retry), given `unit`, a
    /// random number in `[0, 1)`. Half of the delay is fixed and half random ("equal jitter"),
    /// so that many callers throttled at once spread out without any retrying immediately.
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let full = self
            .initial_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let half = full / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// How long to sleep before retry number `attempt`, or `None` when that retry could not
    /// start before the deadline. `server` is the delay the server asked for, if any.
    pub fn next_delay(
        &self,
        attempt: u32,
        server: Option<Duration>,
        elapsed: Duration,
        unit: f64,
    ) -> Option<Duration> {
        let delay = self.backoff(attempt, unit).max(server.unwrap_or_default());
        (elapsed + delay < self.deadline).then_some(delay)
    }
}

/// The delay a response asks for: `Retry-After` if present, else, when `throttled`, the time
/// until `ratelimit-reset`.
pub(crate) fn server_delay(
    headers: &HeaderMap,
    throttled: bool,
    now: SystemTime,
) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(text) = header("retry-after") {
        if let Ok(secs) = text.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(secs) = text.parse::<f64>() {
            if secs.is_finite() && secs >= 0.0 {
                return Some(Duration::from_secs_f64(secs));
            }
        }
        if let Ok(at) =
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc2822)
        {
            return Some(until(at.unix_timestamp(), now));
        }
    }
    if throttled {
        if let Some(reset) = header("ratelimit-reset").and_then(|t| t.parse::<i64>().ok()) {
            return Some(until(reset, now));
        }
    }
    None
}

fn until(unix_seconds: i64, now: SystemTime) -> Duration {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    Duration::from_secs_f64((unix_seconds as f64 - now).max(0.0))
}

/// A random number in `[0, 1)` for jitter.
pub(crate) fn jitter_unit() -> f64 {
    rand::random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            deadline: Duration::from_secs(10),
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = policy();
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(50));
        assert!(p.backoff(1, 0.999_999) < Duration::from_millis(100));
        assert_eq!(p.backoff(2, 0.0), Duration::from_millis(100));
        assert_eq!(p.backoff(3, 0.0), Duration::from_millis(200));
        assert_eq!(p.backoff(30, 0.0), Duration::from_secs(1));
        assert!(p.backoff(30, 0.99) <= p.max_delay);
        for attempt in 1..10 {
            let lo = p.backoff(attempt, 0.0);
            let hi = p.backoff(attempt, 0.99);
            assert!(lo <= hi && hi <= lo * 2, "attempt {attempt}: {lo:?} {hi:?}");
        }
    }

    #[test]
    fn the_server_delay_wins_when_longer_and_the_deadline_stops_retries() {
        let p = policy();
        assert_eq!(
            p.next_delay(1, Some(Duration::from_secs(3)), Duration::ZERO, 0.5),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            p.next_delay(1, None, Duration::ZERO, 0.0),
            Some(Duration::from_millis(50))
        );
        assert_eq!(
            p.next_delay(1, Some(Duration::from_secs(3600)), Duration::ZERO, 0.5),
            None
        );
        assert_eq!(p.next_delay(1, None, Duration::from_secs(10), 0.0), None);
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_and_ratelimit_reset_are_honoured() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            server_delay(&headers(&[("retry-after", "7")]), true, now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            server_delay(&headers(&[("retry-after", "0.5")]), false, now),
            Some(Duration::from_millis(500))
        );
        // An HTTP date, 30 seconds after `now`.
        assert_eq!(
            server_delay(
                &headers(&[("retry-after", "Tue, 14 Nov 2023 22:13:50 GMT")]),
                false,
                now
            ),
            Some(Duration::from_secs(30))
        );
        let reset = [
            ("ratelimit-reset", "1700000012"),
            ("ratelimit-remaining", "0"),
        ];
        assert_eq!(
            server_delay(&headers(&reset), true, now),
            Some(Duration::from_secs(12))
        );
        // ratelimit-reset only matters for a throttled answer; a reset in the past means now.
        assert_eq!(server_delay(&headers(&reset), false, now), None);
        assert_eq!(
            server_delay(&headers(&[("ratelimit-reset", "1600000000")]), true, now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            server_delay(&headers(&[("retry-after", "soon")]), true, now),
            None
        );
        assert_eq!(server_delay(&HeaderMap::new(), true, now), None);
    }
}
