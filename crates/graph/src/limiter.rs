//! Bounded, adaptive concurrency: how many operations may be in flight against a cloud at once.
//!
//! The bound adapts like TCP congestion control (AIMD): when the cloud says "slow down" the limit
//! halves at once, and it creeps back up by one after a full limit's worth of successes. That
//! backs off fast enough to stop a throttling storm and recovers without oscillating.
//!
//! Unlike a network link, a cloud also throttles for reasons fewer calls do not cure: a shared
//! account quota, a busy region, a flaky front end answering 429 at random. Halving on every
//! such answer would shrink a run to one call at a time while the cloud throttles just as often.
//! So each cut is a probe: the limiter compares how many calls went through per second in the
//! [`PROBE_WINDOW`] before the cut and in the one after. If the cut cost no throughput (the cloud
//! was serving all it would), it stands; if throughput fell with it, the cut is undone and the
//! limiter holds that limit, ignoring throttling, for [`HOLD`] before it probes again. While a
//! probe runs, further throttled answers do not cut again: they are the same storm. And a cut
//! needs evidence of load: when fewer than [`MIN_LOAD`] calls went through in the window before,
//! the calls in flight are too few to be what overloads the cloud, and the throttled calls'
//! own retries (which honour the cloud's `Retry-After`) are slowdown enough.
//!
//! The limiter does not learn about outcomes by itself: only the caller knows whether an error
//! was throttling, so the code that talks to the cloud calls [`Limiter::throttled`] and
//! [`Limiter::succeeded`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long after a cut the limiter measures throughput before it judges the cut.
pub const PROBE_WINDOW: Duration = Duration::from_secs(2);

/// How long a limit whose cut was undone is held before throttling may cut it again.
pub const HOLD: Duration = Duration::from_secs(8);

/// Successes in the window before a throttled answer below which it does not cut.
pub const MIN_LOAD: usize = 16;

/// A cut stands when throughput after it is at least this share of throughput before it.
const KEEP_SHARE: f64 = 0.75;

/// A shared concurrency bound. Clones share the same bound and the same count of permits.
#[derive(Clone, Debug)]
pub struct Limiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    /// Woken when a permit is returned or the limit grows.
    released: Notify,
    min: usize,
    max: usize,
}

#[derive(Debug)]
struct State {
    in_flight: usize,
    limit: usize,
    /// Successes since the limit last changed; the limit grows when this reaches the limit.
    successes: usize,
    /// When the last successes happened (at most one window's worth is kept).
    recent: VecDeque<Instant>,
    /// The cut being judged, if any.
    probe: Option<Probe>,
    /// Until then, throttling neither cuts nor grows the limit: a cut was just found useless.
    hold_until: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Probe {
    at: Instant,
    /// Successes per second in the window before the cut.
    before: f64,
    /// The limit before the cut.
    restore_to: usize,
}

impl State {
    /// Successes in `[from, to]`.
    fn count(&self, from: Instant, to: Instant) -> usize {
        self.recent
            .iter()
            .filter(|t| **t >= from && **t <= to)
            .count()
    }

    /// Successes per second in `[from, to]`.
    fn rate(&self, from: Instant, to: Instant) -> f64 {
        let span = to.saturating_duration_since(from).as_secs_f64();
        if span <= 0.0 {
            return 0.0;
        }
        self.count(from, to) as f64 / span
    }

    fn held(&self, now: Instant) -> bool {
        self.hold_until.is_some_and(|until| now < until)
    }

    /// Judges a cut once its window has passed.
    fn judge(&mut self, now: Instant) {
        let Some(probe) = self.probe else {
            return;
        };
        if now.saturating_duration_since(probe.at) < PROBE_WINDOW {
            return;
        }
        self.probe = None;
        let after = self.rate(probe.at, now);
        if after < probe.before * KEEP_SHARE {
            // Fewer calls at once got fewer calls through: the throttling was not ours to cure.
            self.limit = probe.restore_to;
            self.successes = 0;
            self.hold_until = Some(now + HOLD);
        }
    }

    fn forget_before(&mut self, now: Instant) {
        let keep_from = now.checked_sub(PROBE_WINDOW * 2).unwrap_or(now);
        while self.recent.front().is_some_and(|t| *t < keep_from) {
            self.recent.pop_front();
        }
    }
}

/// The right to run one operation; returned to the limiter when dropped.
#[derive(Debug)]
#[must_use = "the permit is returned as soon as it is dropped"]
pub struct Permit {
    inner: Arc<Inner>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.inner.lock().in_flight -= 1;
        self.inner.released.notify_one();
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a few counters updated in single statements: a panic elsewhere while the
        // lock was held cannot leave it half-updated, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Limiter {
    /// A fixed bound of `max` operations at once (at least one: a bound of zero could never
    /// make progress).
    pub fn new(max: usize) -> Limiter {
        let max = max.max(1);
        Limiter::adaptive(max, max, max)
    }

    /// A bound that starts at `initial`, never drops below `min` nor grows above `max`.
    /// Inconsistent arguments are normalised: `min` is at least one, `max` at least `min`, and
    /// `initial` is clamped into `min..=max`.
    pub fn adaptive(initial: usize, min: usize, max: usize) -> Limiter {
        let min = min.max(1);
        let max = max.max(min);
        Limiter {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    in_flight: 0,
                    limit: initial.clamp(min, max),
                    successes: 0,
                    recent: VecDeque::new(),
                    probe: None,
                    hold_until: None,
                }),
                released: Notify::new(),
                min,
                max,
            }),
        }
    }

    /// Waits until fewer than [`Limiter::current`] operations are in flight and takes a permit.
    pub async fn acquire(&self) -> Permit {
        loop {
            // Register interest before checking, so a release between the check and the await
            // is not missed.
            let released = self.inner.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if let Some(permit) = self.try_acquire() {
                return permit;
            }
            released.await;
        }
    }

    /// Takes a permit if one is free right now.
    pub fn try_acquire(&self) -> Option<Permit> {
        let mut state = self.inner.lock();
        if state.in_flight < state.limit {
            state.in_flight += 1;
            Some(Permit {
                inner: Arc::clone(&self.inner),
            })
        } else {
            None
        }
    }

    /// The cloud asked us to slow down: halve the limit (not below the minimum), unless a cut
    /// is already being judged or a useless cut was just undone. Operations already in flight
    /// continue; new ones wait until the count drops below the new limit.
    pub fn throttled(&self) {
        let now = Instant::now();
        let mut state = self.inner.lock();
        let before = state.limit;
        state.judge(now);
        if state.limit > before {
            self.inner.released.notify_waiters();
        }
        if state.probe.is_some() || state.held(now) {
            return;
        }
        let cut = (state.limit / 2).max(self.inner.min);
        if cut == state.limit {
            return;
        }
        let since = now.checked_sub(PROBE_WINDOW).unwrap_or(now);
        if state.count(since, now) < MIN_LOAD {
            return;
        }
        let before = state.rate(since, now);
        state.probe = Some(Probe {
            at: now,
            before,
            restore_to: state.limit,
        });
        state.limit = cut;
        state.successes = 0;
    }

    /// An operation succeeded: after as many successes as the current limit, the limit grows
    /// by one (up to the maximum) — except while a limit is held.
    pub fn succeeded(&self) {
        let now = Instant::now();
        let grew = {
            let mut state = self.inner.lock();
            state.recent.push_back(now);
            state.forget_before(now);
            let before = state.limit;
            state.judge(now);
            if !state.held(now) && state.probe.is_none() {
                state.successes += 1;
                if state.successes >= state.limit && state.limit < self.inner.max {
                    state.limit += 1;
                    state.successes = 0;
                }
            }
            state.limit > before
        };
        if grew {
            self.inner.released.notify_waiters();
        }
    }

    /// The current limit.
    pub fn current(&self) -> usize {
        self.inner.lock().limit
    }

    /// How many permits are held right now.
    pub fn in_flight(&self) -> usize {
        self.inner.lock().in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_storm_cuts_once_and_never_below_the_minimum() {
        let l = Limiter::adaptive(16, 2, 16);
        traffic(&l, 20, |_| 1).await;
        l.throttled();
        assert_eq!(l.current(), 8);
        l.throttled();
        l.throttled();
        assert_eq!(
            l.current(),
            8,
            "throttling while a cut is judged is the same storm"
        );
        for expected in [4, 2, 2] {
            // As many calls went through after the cut as before: it stands, and the next
            // throttled answer cuts again.
            traffic(&l, 20, |_| 1).await;
            l.throttled();
            assert_eq!(l.current(), expected, "never below the minimum");
        }
    }

    #[test]
    fn the_limit_grows_by_one_after_a_limit_of_successes() {
        let l = Limiter::adaptive(2, 2, 20);
        for _ in 0..2 {
            l.succeeded();
        }
        assert_eq!(l.current(), 3);
        for _ in 0..2 {
            l.succeeded();
        }
        assert_eq!(l.current(), 3, "needs three successes at limit three");
        l.succeeded();
        assert_eq!(l.current(), 4);
        for _ in 0..1000 {
            l.succeeded();
        }
        assert_eq!(l.current(), 20, "never above the maximum");
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_without_load_does_not_cut() {
        let l = Limiter::adaptive(16, 1, 16);
        // Ten calls in two seconds.
        let step = std::cell::Cell::new(0);
        traffic(&l, 20, |_| {
            step.set(step.get() + 1);
            step.get() % 2
        })
        .await;
        l.throttled();
        assert_eq!(
            l.current(),
            16,
            "a handful of calls cannot be what overloads the cloud"
        );
    }

    /// Runs `steps` steps of 100 ms; `through(limit)` calls go through in each.
    async fn traffic(l: &Limiter, steps: usize, through: impl Fn(usize) -> usize) {
        for _ in 0..steps {
            tokio::time::advance(Duration::from_millis(100)).await;
            for _ in 0..through(l.current()) {
                l.succeeded();
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_that_costs_no_throughput_stands() {
        // A quota: one call per 100 ms goes through however many are in flight.
        let l = Limiter::adaptive(16, 1, 16);
        traffic(&l, 20, |_| 1).await;
        l.throttled();
        assert_eq!(l.current(), 8);
        traffic(&l, 20, |_| 1).await;
        l.throttled();
        assert_eq!(l.current(), 4, "the cut stood and this answer cut again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_that_costs_throughput_is_undone_and_held() {
        // Throttling at random: every call in flight goes through, fewer calls get less done.
        let l = Limiter::adaptive(16, 1, 16);
        traffic(&l, 20, |limit| limit).await;
        l.throttled();
        assert_eq!(l.current(), 8);
        traffic(&l, 20, |limit| limit).await;
        assert_eq!(
            l.current(),
            16,
            "the cut halved throughput, so it was undone"
        );
        l.throttled();
        traffic(&l, 10, |limit| limit).await;
        l.throttled();
        assert_eq!(
            l.current(),
            16,
            "held: throttling does not cut again so soon"
        );
        traffic(&l, 80, |limit| limit).await;
        l.throttled();
        assert_eq!(l.current(), 8, "after the hold, throttling probes again");
    }

    #[tokio::test(start_paused = true)]
    async fn undoing_a_cut_wakes_waiters() {
        let l = Limiter::adaptive(2, 1, 2);
        traffic(&l, 20, |limit| limit).await;
        l.throttled();
        let _held = l.acquire().await;
        let l2 = l.clone();
        let waiter = tokio::spawn(async move {
            let _p = l2.acquire().await;
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished(), "one call at a time after the cut");
        tokio::time::advance(PROBE_WINDOW).await;
        l.throttled();
        assert_eq!(l.current(), 2);
        waiter.await.unwrap();
    }

    #[test]
    fn fixed_limiter_does_not_move_and_nonsense_is_normalised() {
        let l = Limiter::new(4);
        l.throttled();
        l.succeeded();
        assert_eq!(l.current(), 4);
        assert_eq!(Limiter::new(0).current(), 1);
        assert_eq!(Limiter::adaptive(100, 0, 3).current(), 3);
        assert_eq!(Limiter::adaptive(0, 5, 2).current(), 5);
    }

    #[test]
    fn permits_are_bounded_and_returned_on_drop() {
        let l = Limiter::new(2);
        let a = l.try_acquire().unwrap();
        let _b = l.try_acquire().unwrap();
        assert!(l.try_acquire().is_none());
        assert_eq!(l.in_flight(), 2);
        drop(a);
        assert!(l.try_acquire().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_gets_the_permit_when_one_is_released() {
        let l = Limiter::new(1);
        let held = l.acquire().await;
        let l2 = l.clone();
        let waiter = tokio::spawn(async move {
            let _p = l2.acquire().await;
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished(), "the waiter must wait for the permit");
        drop(held);
        waiter.await.unwrap();
        assert_eq!(l.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn growing_the_limit_wakes_waiters() {
        let l = Limiter::adaptive(1, 1, 2);
        let _held = l.acquire().await;
        let l2 = l.clone();
        let waiter = tokio::spawn(async move {
            let _p = l2.acquire().await;
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished());
        l.succeeded();
        assert_eq!(l.current(), 2);
        waiter.await.unwrap();
    }
}
