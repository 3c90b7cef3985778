//! The few object operations state needs, with S3's answers sorted into what the callers act
//! on: absent (404), refused by a condition (412, or 409 when a concurrent conditional write
//! won), or a failure worth reporting.

use crate::error::StateError;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use futures::{StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many requests a listing-driven read or cleanup keeps in flight.
pub(crate) const PARALLEL_REQUESTS: usize = 16;

/// A precondition on a write.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Condition<'a> {
    /// Unconditional.
    Any,
    /// `If-None-Match: *`: only if no object has this name.
    Absent,
    /// `If-Match: etag`: only if the object is still the one read.
    Matches(&'a str),
}

/// An object as read: its bytes, its ETag (for a later `If-Match`) and its metadata.
#[derive(Debug)]
pub(crate) struct Object {
    pub body: Vec<u8>,
    pub etag: String,
    pub metadata: HashMap<String, String>,
}

/// One name from a listing.
#[derive(Debug)]
pub(crate) struct Listed {
    pub key: String,
    /// RFC 3339, when the store says.
    pub last_modified: Option<String>,
}

/// A bucket, and the bytes written to it through this handle.
pub(crate) struct Bucket {
    pub client: aws_sdk_s3::Client,
    pub name: String,
    bytes_written: AtomicU64,
}

fn status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// A condition that failed: 412, or 409 (`ConditionalRequestConflict`) when another conditional
/// write to the same name was in progress.
fn refused(code: Option<u16>) -> bool {
    matches!(code, Some(412 | 409))
}

impl Bucket {
    pub fn new(client: aws_sdk_s3::Client, name: String) -> Bucket {
        Bucket {
            client,
            name,
            bytes_written: AtomicU64::new(0),
        }
    }

    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.name)
    }

    pub fn bytes_written(&self) -> u64 {
        self.bytes_written.load(Ordering::Relaxed)
    }

    fn failed<E>(&self, doing: &str, key: &str, e: E) -> StateError
    where
        E: std::error::Error + 'static,
    {
        StateError::storage(
            format!("{doing} {}", self.url(key)),
            std::io::Error::other(DisplayErrorContext(e).to_string()),
        )
    }

    /// Checks that the bucket exists and these credentials reach it.
    pub async fn check(&self) -> Result<(), StateError> {
        match self.client.head_bucket().bucket(&self.name).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(match status(&e) {
                Some(404) => StateError::InvalidSettings(format!(
                    "bucket {} does not exist (or is in another region)",
                    self.name
                )),
                Some(401 | 403) => StateError::InvalidSettings(format!(
                    "access to bucket {} is denied with these credentials",
                    self.name
                )),
                _ => StateError::storage(
                    format!("reaching bucket {}", self.name),
                    std::io::Error::other(DisplayErrorContext(e).to_string()),
                ),
            }),
        }
    }

    /// The object, or `None` if there is none by that name.
    pub async fn get(&self, key: &str) -> Result<Option<Object>, StateError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if status(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(self.failed("reading", key, e)),
        };
        let etag = out.e_tag().unwrap_or_default().to_string();
        let metadata = out.metadata().cloned().unwrap_or_default();
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| self.failed("reading", key, e))?
            .into_bytes()
            .to_vec();
        Ok(Some(Object {
            body,
            etag,
            metadata,
        }))
    }

    /// The metadata of an object, or `None` if there is none by that name.
    pub async fn metadata(&self, key: &str) -> Result<Option<HashMap<String, String>>, StateError> {
        match self
            .client
            .head_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.metadata().cloned().unwrap_or_default())),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.failed("reading", key, e)),
        }
    }

    /// The ETag of an object, or `None` if there is none by that name.
    pub async fn etag(&self, key: &str) -> Result<Option<String>, StateError> {
        match self
            .client
            .head_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.e_tag().unwrap_or_default().to_string())),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.failed("reading", key, e)),
        }
    }

    /// Writes `body` under `key` if `condition` holds: `Some(etag)` of the new object, or
    /// `None` if the store refused because of the condition (or, for [`Condition::Matches`],
    /// because the object is gone).
    pub async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: Condition<'_>,
        metadata: &[(&str, String)],
    ) -> Result<Option<String>, StateError> {
        let len = body.len() as u64;
        let mut req = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        match condition {
            Condition::Any => {}
            Condition::Absent => req = req.if_none_match("*"),
            Condition::Matches(etag) => req = req.if_match(etag),
        }
        for (name, value) in metadata {
            req = req.metadata(*name, value);
        }
        match req.send().await {
            Ok(out) => {
                self.bytes_written.fetch_add(len, Ordering::Relaxed);
                Ok(Some(out.e_tag().unwrap_or_default().to_string()))
            }
            Err(e) if refused(status(&e)) => Ok(None),
            Err(e) if matches!(condition, Condition::Matches(_)) && status(&e) == Some(404) => {
                Ok(None)
            }
            Err(e) => Err(self.failed("writing", key, e)),
        }
    }

    /// Removes `key` (if `etag` is given, only if it is still that object). True if it was
    /// removed or already absent, false if the condition failed.
    pub async fn delete(&self, key: &str, etag: Option<&str>) -> Result<bool, StateError> {
        let mut req = self.client.delete_object().bucket(&self.name).key(key);
        if let Some(etag) = etag {
            req = req.if_match(etag);
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if status(&e) == Some(404) => Ok(true),
            Err(e) if refused(status(&e)) => Ok(false),
            Err(e) => Err(self.failed("removing", key, e)),
        }
    }

    /// Removes every object of `keys`, a bounded number at a time. Single deletes rather than
    /// DeleteObjects: that call requires a Content-MD5 on some stores and a CRC on others.
    pub async fn delete_all(&self, keys: Vec<String>) -> Result<(), StateError> {
        futures::stream::iter(keys)
            .map(|key| async move { self.delete(&key, None).await.map(|_| ()) })
            .buffer_unordered(PARALLEL_REQUESTS)
            .try_collect::<()>()
            .await
    }

    /// The objects whose names start with `prefix`, in lexical order, after `start_after` if
    /// given. With `direct_only`, only those directly in the `prefix` folder.
    pub async fn list(
        &self,
        prefix: &str,
        direct_only: bool,
        start_after: Option<String>,
    ) -> Result<Vec<Listed>, StateError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = self
                .client
                .list_objects_v2()
                .bucket(&self.name)
                .prefix(prefix)
                .set_start_after(start_after.clone())
                .set_continuation_token(token.take());
            if direct_only {
                req = req.delimiter("/");
            }
            let page = req
                .send()
                .await
                .map_err(|e| self.failed("listing", prefix, e))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    out.push(Listed {
                        key: key.to_string(),
                        last_modified: object.last_modified().and_then(|t| {
                            t.fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime).ok()
                        }),
                    });
                }
            }
            match (page.is_truncated(), page.next_continuation_token()) {
                (Some(true), Some(next)) => token = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Reads every object of `keys`, a bounded number at a time, in the order given. A name
    /// that disappeared meanwhile gives `None`.
    pub async fn get_all(&self, keys: Vec<String>) -> Result<Vec<Option<Object>>, StateError> {
        futures::stream::iter(keys)
            .map(|key| async move { self.get(&key).await })
            .buffered(PARALLEL_REQUESTS)
            .try_collect()
            .await
    }
}
