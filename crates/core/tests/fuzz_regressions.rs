//! Inputs found by the `retry_headers` fuzz target (see docs/fuzzing.md): a server's
//! `Retry-After` may hold any text, and the retry policy must turn it into a wait or a refusal
//! to retry, never a panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use strata_core::retry::{server_delay, RetryPolicy};

fn retry_after(value: &str) -> Option<Duration> {
    server_delay(
        |name| (name == "retry-after").then_some(value),
        true,
        SystemTime::now(),
    )
}

/// Found: `Retry-After: 9e55` panicked converting the seconds to a `Duration`.
#[test]
fn a_retry_after_beyond_any_duration_means_do_not_retry() {
    for value in ["9e55", "1e308", "33333333333333333333"] {
        assert_eq!(retry_after(value), Some(Duration::MAX), "{value}");
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.next_delay(1, retry_after(value), Duration::ZERO, 0.5),
            None,
            "{value}: a wait past the deadline is no retry"
        );
    }
}

/// Found: a wait near `Duration::MAX` (`Retry-After: 33333333333333333333`, or u64::MAX
/// seconds) overflowed when added to the time already spent.
#[test]
fn the_longest_waits_after_some_time_spent_are_no_retry() {
    let policy = RetryPolicy::default();
    for value in ["18446744073709551615", "33333333333333333333"] {
        for elapsed in [Duration::from_millis(1), Duration::from_secs(179)] {
            assert_eq!(
                policy.next_delay(7, retry_after(value), elapsed, 0.5),
                None,
                "{value} after {elapsed:?}"
            );
        }
    }
    assert_eq!(
        policy.next_delay(1, Some(Duration::MAX), Duration::MAX, 0.0),
        None
    );
}

#[test]
fn odd_retry_after_values_are_ignored_or_honoured_never_panic() {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for value in [
        "",
        " ",
        "-1",
        "-0.0",
        "NaN",
        "inf",
        "-inf",
        "1e-400",
        "0x10",
        "7 ",
        "\t7",
        "١٢",
        "Mon, 31 Dec 9999 23:59:59 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",
    ] {
        let delay = server_delay(|n| (n == "retry-after").then_some(value), true, now);
        let _ = RetryPolicy::default().next_delay(3, delay, Duration::from_secs(1), 0.5);
    }
    for reset in ["9223372036854775807", "-9223372036854775808", "0"] {
        let delay = server_delay(|n| (n == "ratelimit-reset").then_some(reset), true, now);
        assert!(delay.is_some(), "{reset}");
    }
}
