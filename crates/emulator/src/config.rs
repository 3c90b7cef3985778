//! How an emulator instance behaves: where it keeps its cloud, what it logs, how fast emulated
//! objects become ready and which faults it injects.

use std::path::PathBuf;
use std::time::Duration;

use crate::bad_answers::BadAnswers;

/// Configuration of one [`crate::Emulator`].
///
/// Build it with struct update syntax over [`EmulatorConfig::default`], so that fields added
/// later do not break callers.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Folder holding the persisted cloud (`cloud.json`, plus whatever the emulated Kubernetes
    /// API servers keep). `None` keeps everything in memory, which suits unit tests.
    pub data_dir: Option<PathBuf>,
    /// File to which one JSON line per request is appended. `None` disables the log.
    pub request_log: Option<PathBuf>,
    /// How long a cluster or database stays provisioning before it is running (DigitalOcean),
    /// and how long an upgrade or resize takes.
    pub provision_time: Duration,
    /// Faults injected into cloud API requests (never into the admin API).
    pub faults: Faults,
    /// Bad answers (garbage, HTML error pages, huge bodies, resets, hangs) given to cloud API
    /// requests (never to the admin API).
    pub bad_answers: BadAnswers,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            data_dir: None,
            request_log: None,
            provision_time: Duration::from_secs(2),
            faults: Faults::default(),
            bad_answers: BadAnswers::default(),
        }
    }
}

/// Faults injected into cloud API requests, decided independently for each request.
///
/// A faulted request is answered before it reaches the emulated service, so it never changes
/// the emulated cloud: a client that retries it sees exactly the state it would have seen
/// after a real transient failure.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Fixed delay added before every cloud API request is answered.
    pub latency: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` for every request.
    pub jitter: Duration,
    /// Fraction (0..=1) of requests answered with a 5xx server error.
    pub error_rate: f64,
    /// Fraction (0..=1) of requests answered with 429 and the cloud's rate-limit headers.
    pub throttle_rate: f64,
    /// Requests per second the emulated clouds accept, together, before answering 429 (a token
    /// bucket holding one second's worth): throttling that grows with load, the way real API
    /// quotas behave. `None` for no quota.
    pub rate_limit: Option<f64>,
    /// Seed for the fault decisions, so that a test can replay one sequence of faults.
    /// `None` draws a fresh seed from the operating system.
    pub seed: Option<u64>,
}

impl Faults {
    /// True when no fault can ever be injected, which lets the server skip the fault layer's
    /// random draws entirely.
    pub(crate) fn is_none(&self) -> bool {
        self.latency.is_zero()
            && self.jitter.is_zero()
            && self.error_rate <= 0.0
            && self.throttle_rate <= 0.0
            && self.rate_limit.is_none()
    }
}
