//! Fault injection: latency, jitter, server errors and throttling, decided per request.
//!
//! Each emulated API renders the decided fault in its own cloud's shape; this module only
//! decides. Decisions come from one seeded generator so a test with `Faults::seed` set sees a
//! reproducible sequence (for a given order of requests).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::Faults;

/// A fault to answer instead of handling the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// 429 with the cloud's rate-limit headers.
    Throttle,
    /// A 5xx server error.
    ServerError,
}

pub(crate) struct FaultInjector {
    faults: Faults,
    rng: Mutex<StdRng>,
    /// Tokens left in the rate limit's bucket, and when it was last refilled.
    bucket: Mutex<(f64, Instant)>,
}

impl FaultInjector {
    pub fn new(faults: Faults) -> FaultInjector {
        let rng = match faults.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let burst = faults.rate_limit.unwrap_or(0.0).max(1.0);
        FaultInjector {
            faults,
            rng: Mutex::new(rng),
            bucket: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes one token from the rate limit's bucket; false when the quota is used up.
    fn within_quota(&self) -> bool {
        let Some(rate) = self.faults.rate_limit else {
            return true;
        };
        let burst = rate.max(1.0);
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let (tokens, last) = *bucket;
        let tokens = (tokens + now.duration_since(last).as_secs_f64() * rate).min(burst);
        if tokens >= 1.0 {
            *bucket = (tokens - 1.0, now);
            true
        } else {
            *bucket = (tokens, now);
            false
        }
    }

    /// Waits the configured latency (plus jitter), then says whether this request fails.
    /// Throttling is decided first: a real API rejects over-quota requests before doing work.
    pub async fn delay_and_decide(&self) -> Option<Fault> {
        if self.faults.is_none() {
            return None;
        }
        let (delay, fault) = {
            let mut rng = self
                .rng
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let jitter = if self.faults.jitter.is_zero() {
                Duration::ZERO
            } else {
                self.faults.jitter.mul_f64(rng.random::<f64>())
            };
            let fault = if !self.within_quota() || rng.random::<f64>() < self.faults.throttle_rate {
                Some(Fault::Throttle)
            } else if rng.random::<f64>() < self.faults.error_rate {
                Some(Fault::ServerError)
            } else {
                None
            };
            (self.faults.latency + jitter, fault)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        fault
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn throttled(f: &FaultInjector, requests: usize) -> usize {
        let mut n = 0;
        for _ in 0..requests {
            if f.delay_and_decide().await == Some(Fault::Throttle) {
                n += 1;
            }
        }
        n
    }

    #[tokio::test]
    async fn a_rate_limit_throttles_what_exceeds_the_quota_and_refills() {
        let f = FaultInjector::new(Faults {
            rate_limit: Some(10.0),
            ..Faults::default()
        });
        // A burst of 30 at once: one second's worth (10) passes.
        let burst = throttled(&f, 30).await;
        assert!((19..=20).contains(&burst), "{burst} of 30 throttled");
        // Half a second later, about five more are accepted.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let later = 10 - throttled(&f, 10).await;
        assert!((4..=6).contains(&later), "{later} of 10 accepted");
    }
}
