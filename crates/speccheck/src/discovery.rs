//! Checks of request-log entries against discovery specifications.
