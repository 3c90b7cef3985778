//! Checks of request-log entries against botocore specifications.
