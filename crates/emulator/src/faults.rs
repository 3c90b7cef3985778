//! Fault injection: latency, jitter, server errors and throttling, decided per request.
//!
//! Each emulated API renders the decided fault in its own cloud's shape; this module only
//! decides. Decisions come from one seeded generator so a test with `Faults::seed` set sees a
//! reproducible sequence (for a given order of requests).

use std::sync::Mutex;
use std::time::Duration;

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
}

impl FaultInjector {
    pub fn new(faults: Faults) -> FaultInjector {
        let rng = match faults.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        FaultInjector {
            faults,
            rng: Mutex::new(rng),
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
            let fault = if rng.random::<f64>() < self.faults.throttle_rate {
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
