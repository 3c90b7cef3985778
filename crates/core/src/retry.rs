//! The one retry policy every provider follows, and the throttling signal that lets the engine
//! adapt how many calls it runs at once.
//!
//! Throttling (429 and each cloud's equivalent), server errors (5xx) and connection failures are
//! retried with exponential backoff and jitter until a total deadline, and only for calls that
//! are idempotent or protected by an idempotency token. When the server says how long to wait —
//! `Retry-After` (seconds or an HTTP date) or, on a throttled answer, `ratelimit-reset` (a Unix
//! time) — the wait is at least that long; when that is beyond the deadline the call gives up at
//! once rather than sleeping for nothing.
//!
//! This module only computes: the providers own their loops (each knows which answers of its
//! cloud are transient), and report every throttled answer and every success to
//! [`Pressure::of`] their provider name, which the engine's adaptive limiter listens to.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
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
    /// Backoff from 200 ms doubling up to 2 s. The cap is short on purpose: a cloud that wants
    /// a longer pause says so (`Retry-After`), and sustained overload is answered by the engine
    /// cutting the provider's calls in flight, so a longer own backoff would only stretch the
    /// unlucky runs of failures a flaky cloud produces (at 60% failed answers, one call in 60
    /// fails eight times in a row, and one such call holds up everything after it).
    fn default() -> RetryPolicy {
        RetryPolicy {
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
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
        // Checked: a server may ask for a wait near `Duration::MAX`, which is past any deadline.
        elapsed
            .checked_add(delay)
            .is_some_and(|end| end < self.deadline)
            .then_some(delay)
    }
}

/// The delay a response asks for, given a way to look up its headers by lower-case name:
/// `Retry-After` if present, else, when `throttled`, the time until `ratelimit-reset`.
pub fn server_delay<'h>(
    header: impl Fn(&str) -> Option<&'h str>,
    throttled: bool,
    now: SystemTime,
) -> Option<Duration> {
    let header = |name: &str| header(name).map(str::trim);
    if let Some(text) = header("retry-after") {
        if let Ok(secs) = text.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(secs) = text.parse::<f64>() {
            if secs.is_finite() && secs >= 0.0 {
                // More seconds than a Duration holds (`9e55`) is "longer than any deadline".
                return Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
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
pub fn jitter_unit() -> f64 {
    rand::random::<f64>()
}

/// What a provider tells the engine about the cloud's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The cloud asked to slow down (429, `ThrottlingException`, `RESOURCE_EXHAUSTED`…).
    Throttled,
    /// A call went through.
    Succeeded,
}

type Listener = Arc<dyn Fn(Signal) + Send + Sync>;

/// The throttling signal of one provider: providers report to it, the engine listens.
///
/// One per provider name for the whole process, so that every configured instance of a provider
/// (one per stack) feeds the same limiter, the way they share the same cloud quota.
pub struct Pressure {
    listeners: Mutex<Vec<(u64, Listener)>>,
    next_id: Mutex<u64>,
}

/// Keeps a listener registered; dropping it unregisters the listener.
pub struct Subscription {
    pressure: Arc<Pressure>,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut listeners = lock(&self.pressure.listeners);
        listeners.retain(|(id, _)| *id != self.id);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Listeners are plain callbacks; a poisoned lock still holds a usable list.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pressure {
    /// The signal of the provider named `provider`.
    pub fn of(provider: &str) -> Arc<Pressure> {
        static ALL: OnceLock<Mutex<BTreeMap<String, Arc<Pressure>>>> = OnceLock::new();
        let mut all = lock(ALL.get_or_init(Default::default));
        all.entry(provider.to_string())
            .or_insert_with(|| {
                Arc::new(Pressure {
                    listeners: Mutex::new(Vec::new()),
                    next_id: Mutex::new(0),
                })
            })
            .clone()
    }

    /// The cloud throttled a call.
    pub fn throttled(&self) {
        self.emit(Signal::Throttled);
    }

    /// A call succeeded.
    pub fn succeeded(&self) {
        self.emit(Signal::Succeeded);
    }

    fn emit(&self, signal: Signal) {
        let listeners: Vec<Listener> = lock(&self.listeners)
            .iter()
            .map(|(_, l)| l.clone())
            .collect();
        for l in listeners {
            l(signal);
        }
    }

    /// Calls `listener` for every signal until the returned subscription is dropped.
    pub fn subscribe(
        self: &Arc<Self>,
        listener: impl Fn(Signal) + Send + Sync + 'static,
    ) -> Subscription {
        let id = {
            let mut next = lock(&self.next_id);
            *next += 1;
            *next
        };
        lock(&self.listeners).push((id, Arc::new(listener)));
        Subscription {
            pressure: self.clone(),
            id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn headers<'a>(pairs: &'a [(&'static str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }

    #[test]
    fn retry_after_and_ratelimit_reset_are_honoured() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            server_delay(headers(&[("retry-after", "7")]), true, now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            server_delay(headers(&[("retry-after", "0.5")]), false, now),
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
            server_delay(headers(&reset), true, now),
            Some(Duration::from_secs(12))
        );
        // ratelimit-reset only matters for a throttled answer; a reset in the past means now.
        assert_eq!(server_delay(headers(&reset), false, now), None);
        assert_eq!(
            server_delay(headers(&[("ratelimit-reset", "1600000000")]), true, now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            server_delay(headers(&[("retry-after", "soon")]), true, now),
            None
        );
        assert_eq!(server_delay(headers(&[]), true, now), None);
    }

    #[test]
    fn pressure_reaches_listeners_until_they_unsubscribe() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let p = Pressure::of("retry-test-provider");
        let sub = {
            let seen = seen.clone();
            p.subscribe(move |s| seen.lock().unwrap().push(s))
        };
        Pressure::of("retry-test-provider").throttled();
        Pressure::of("another-provider").throttled();
        p.succeeded();
        drop(sub);
        p.throttled();
        assert_eq!(
            *seen.lock().unwrap(),
            vec![Signal::Throttled, Signal::Succeeded]
        );
    }
}
