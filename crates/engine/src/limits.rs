//! How many provider calls run at once.
//!
//! Two bounds apply to every call: the run's `--parallelism` (at most that many calls in flight
//! in all), and one per provider that adapts to the cloud. A provider reports each throttled
//! answer and each success to its [`Pressure`] signal (see `strata_core::retry`); the provider's
//! limiter halves on throttling and grows back by one after a limit's worth of successes (AIMD,
//! see [`Limiter`]), and undoes a cut that cost throughput, since then the cloud throttles for
//! reasons fewer calls do not cure. So a cloud that says "slow down" gets fewer calls at once —
//! and fewer retries wasted on throttled answers — while the other clouds of the run keep their
//! pace.
//!
//! A call waits for its provider's permit before it takes one of the run's, so calls held back
//! by a throttling cloud never occupy slots another cloud could use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use strata_core::retry::{Pressure, Signal, Subscription};
use strata_graph::{Limiter, Permit};

/// The bounds of one run. Cheap to share.
pub struct CallLimits {
    parallelism: usize,
    adaptive: bool,
    total: Limiter,
    per_provider: Mutex<HashMap<String, ProviderLimit>>,
}

struct ProviderLimit {
    limiter: Limiter,
    /// Keeps the limiter listening to the provider's signal for as long as the run lasts.
    _signal: Option<Subscription>,
}

/// The right to make one provider call; both permits return when it is dropped.
pub struct CallPermit {
    _provider: Permit,
    _total: Permit,
}

impl CallLimits {
    /// At most `parallelism` calls at once; with `adaptive`, fewer for a provider whose cloud
    /// throttles.
    pub fn new(parallelism: usize, adaptive: bool) -> Arc<CallLimits> {
        let parallelism = parallelism.max(1);
        Arc::new(CallLimits {
            parallelism,
            adaptive,
            total: Limiter::new(parallelism),
            per_provider: Mutex::new(HashMap::new()),
        })
    }

    fn provider(&self, name: &str) -> Limiter {
        let mut all = self.per_provider.lock().unwrap_or_else(|e| e.into_inner());
        all.entry(name.to_string())
            .or_insert_with(|| {
                if !self.adaptive {
                    return ProviderLimit {
                        limiter: Limiter::new(self.parallelism),
                        _signal: None,
                    };
                }
                let limiter = Limiter::adaptive(self.parallelism, 1, self.parallelism);
                let listening = limiter.clone();
                let provider = name.to_string();
                let signal = Pressure::of(name).subscribe(move |s| {
                    let was = listening.current();
                    match s {
                        Signal::Throttled => listening.throttled(),
                        Signal::Succeeded => listening.succeeded(),
                    }
                    let now = listening.current();
                    if now != was {
                        tracing::debug!(%provider, was, now, "calls at once for the provider");
                    }
                });
                ProviderLimit {
                    limiter,
                    _signal: Some(signal),
                }
            })
            .limiter
            .clone()
    }

    /// Waits until the provider named `provider` may make one more call.
    pub async fn acquire(&self, provider: &str) -> CallPermit {
        let own = self.provider(provider).acquire().await;
        let total = self.total.acquire().await;
        CallPermit {
            _provider: own,
            _total: total,
        }
    }

    /// How many calls the provider may make at once right now.
    pub fn current(&self, provider: &str) -> usize {
        self.provider(provider).current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_throttling_cloud_gets_fewer_calls_and_the_others_keep_theirs() {
        let limits = CallLimits::new(16, true);
        let _warm = (
            limits.acquire("limits-test-a").await,
            limits.acquire("limits-test-b").await,
        );
        // A cloud serving one call per 100 ms, however many are in flight.
        let quota = || async {
            for _ in 0..20 {
                tokio::time::advance(std::time::Duration::from_millis(100)).await;
                Pressure::of("limits-test-a").succeeded();
            }
        };
        quota().await;
        Pressure::of("limits-test-a").throttled();
        assert_eq!(limits.current("limits-test-a"), 8);
        assert_eq!(limits.current("limits-test-b"), 16);
        // The cut cost no throughput: it stands, and the limit grows back from there.
        quota().await;
        for _ in 0..8 {
            Pressure::of("limits-test-a").succeeded();
        }
        assert_eq!(limits.current("limits-test-a"), 9, "it grows back");
    }

    #[tokio::test]
    async fn a_fixed_limit_ignores_throttling() {
        let limits = CallLimits::new(8, false);
        drop(limits.acquire("limits-test-fixed").await);
        Pressure::of("limits-test-fixed").throttled();
        assert_eq!(limits.current("limits-test-fixed"), 8);
    }
}
