//! Time as the emulated clouds show it.

use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Now, in UTC.
pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `at + duration`, saturating instead of overflowing on absurd durations.
pub(crate) fn after(at: OffsetDateTime, duration: Duration) -> OffsetDateTime {
    let duration = time::Duration::try_from(duration).unwrap_or(time::Duration::DAY);
    at.checked_add(duration).unwrap_or(at)
}

/// ISO 8601 with whole seconds (`2018-11-15T16:00:11Z`), the form the clouds' examples use.
pub(crate) fn display(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Seconds since the Unix epoch, as rate-limit headers carry them.
pub(crate) fn epoch_seconds(at: OffsetDateTime) -> i64 {
    at.unix_timestamp()
}

/// ISO 8601 with sub-second precision, for logs where the order of close events matters.
pub(crate) fn display_precise(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}
