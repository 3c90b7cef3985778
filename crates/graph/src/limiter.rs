//! Bounded, adaptive concurrency: how many operations may be in flight against a cloud at once.
//!
//! The bound adapts like TCP congestion control (AIMD): when the cloud says "slow down" the limit
//! halves at once, and it creeps back up by one after a full limit's worth of successes. That
//! backs off fast enough to stop a throttling storm and recovers without oscillating.
//!
//! The limiter does not learn about outcomes by itself: only the caller knows whether an error
//! was throttling, so the code that talks to the cloud calls [`Limiter::throttled`] and
//! [`Limiter::succeeded`].

use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

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

    /// The cloud asked us to slow down: halve the limit (not below the minimum). Operations
    /// already in flight continue; new ones wait until the count drops below the new limit.
    pub fn throttled(&self) {
        let mut state = self.inner.lock();
        state.limit = (state.limit / 2).max(self.inner.min);
        state.successes = 0;
    }

    /// An operation succeeded: after as many successes as the current limit, the limit grows
    /// by one (up to the maximum).
    pub fn succeeded(&self) {
        let grew = {
            let mut state = self.inner.lock();
            state.successes += 1;
            if state.successes >= state.limit && state.limit < self.inner.max {
                state.limit += 1;
                state.successes = 0;
                true
            } else {
                false
            }
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

    #[test]
    fn adaptive_limit_halves_on_throttling_and_grows_back() {
        let l = Limiter::adaptive(16, 2, 20);
        l.throttled();
        assert_eq!(l.current(), 8);
        l.throttled();
        l.throttled();
        l.throttled();
        assert_eq!(l.current(), 2, "never below the minimum");
        // +1 after a full limit's worth of successes: 2 successes at 2, 3 at 3, ...
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
