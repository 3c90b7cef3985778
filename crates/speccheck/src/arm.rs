//! Checks of request-log entries against arm specifications.
