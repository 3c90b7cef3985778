//! The waits a server's answer asks for: any `Retry-After` (seconds, fractions, HTTP dates)
//! and `ratelimit-reset` (a Unix time) value, through `strata_core::retry::server_delay` and
//! the retry policy every provider follows. A wait is computed or the header ignored; a
//! panic here would take a provider down on one odd answer.
//!
//! Input: the `Retry-After` value, then optionally a line break and the `ratelimit-reset`
//! value. The same headers reach the policy through real HTTP in `provider_responses`; this
//! target runs them alone, thousands of times faster.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use strata_core::retry::{server_delay, RetryPolicy};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (retry_after, reset) = match text.split_once('\n') {
        Some((a, b)) => (a, Some(b)),
        None => (text, None),
    };
    let header = |name: &str| match name {
        "retry-after" => Some(retry_after),
        "ratelimit-reset" => reset,
        _ => None,
    };
    let policy = RetryPolicy::default();
    for now in [SystemTime::now(), UNIX_EPOCH] {
        for throttled in [false, true] {
            let delay = server_delay(header, throttled, now);
            for (attempt, elapsed) in [(1, Duration::ZERO), (40, Duration::from_secs(179))] {
                if let Some(wait) = policy.next_delay(attempt, delay, elapsed, 0.5) {
                    // A wait the policy grants always fits in the call's deadline.
                    assert!(
                        elapsed + wait < policy.deadline,
                        "{wait:?} after {elapsed:?}"
                    );
                }
            }
        }
    }
});
