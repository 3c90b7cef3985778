//! The check `strata init` runs on a bucket before trusting it with state.
//!
//! Locking and compare-and-swap rely on the store refusing a PutObject whose `If-None-Match` or
//! `If-Match` condition fails. A store that ignores the headers accepts every write, so two runs
//! would both "take" a lock and overwrite each other's state without an error. Such stores exist
//! (older MinIO, Ceph and Spaces releases, some gateways), so the probe tries each condition on
//! a scratch object, both ways, and refuses the bucket unless all four answers are right.

use super::objects::{Bucket, Condition};
use crate::error::StateError;

/// An ETag no object has.
const NO_SUCH_ETAG: &str = "\"00000000000000000000000000000000\"";

pub(crate) async fn conditional_writes(bucket: &Bucket, object: &str) -> Result<(), StateError> {
    let outcome = run(bucket, object).await;
    // Clean up whatever the probe left, even after a failed check.
    let cleanup = bucket.delete(object, None).await;
    let detail = outcome?;
    cleanup?;
    match detail {
        None => Ok(()),
        Some(detail) => Err(StateError::ConditionalWritesIgnored {
            bucket: bucket.name.clone(),
            detail,
        }),
    }
}

/// `Some(what went wrong)` if the store mishandles a condition.
async fn run(bucket: &Bucket, object: &str) -> Result<Option<String>, StateError> {
    let body = |n: u8| format!("{{\"strata_probe\":{n}}}").into_bytes();
    let Some(etag) = bucket.put(object, body(1), Condition::Absent, &[]).await? else {
        return Ok(Some(format!(
            "creating the new object {} with If-None-Match: * was refused",
            bucket.url(object)
        )));
    };
    if bucket
        .put(object, body(2), Condition::Absent, &[])
        .await?
        .is_some()
    {
        return Ok(Some(
            "a PutObject with If-None-Match: * replaced an existing object instead of failing \
             with 412 Precondition Failed"
                .into(),
        ));
    }
    if bucket
        .put(object, body(3), Condition::Matches(NO_SUCH_ETAG), &[])
        .await?
        .is_some()
    {
        return Ok(Some(
            "a PutObject with If-Match on an ETag the object does not have was accepted instead \
             of failing with 412 Precondition Failed"
                .into(),
        ));
    }
    if bucket
        .put(object, body(4), Condition::Matches(&etag), &[])
        .await?
        .is_none()
    {
        return Ok(Some(
            "a PutObject with If-Match on the object's current ETag was refused".into(),
        ));
    }
    Ok(None)
}
