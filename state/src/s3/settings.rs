//! The settings of the s3 backend and the client built from them.

use crate::error::StateError;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_smithy_http_client::tls;
use std::fmt;
use std::time::Duration;

/// The lease of a lock when the settings give none: long enough that renewing it every third of
/// it survives a slow network, short enough that a crashed run blocks others only briefly.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// Where the s3 backend keeps state, and how it reaches the store.
///
/// Credentials given here are used for this process only and never written anywhere; without
/// them the standard AWS chain applies (environment, shared profile, SSO, web identity,
/// container or instance role).
#[derive(Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// Folder inside the bucket under which every state lives; may be empty.
    pub prefix: String,
    /// `None`: from the environment or profile (`AWS_REGION`), else `us-east-1`. Stores other
    /// than AWS accept any region but still need one to sign requests.
    pub region: Option<String>,
    /// The store's URL when it is not AWS S3 (`https://fra1.digitaloceanspaces.com`,
    /// `http://127.0.0.1:9000`).
    pub endpoint: Option<String>,
    /// `https://host/bucket/key` instead of `https://bucket.host/key`: MinIO, Ceph and most
    /// self-hosted stores need it.
    pub force_path_style: bool,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub session_token: Option<String>,
    /// How long a lock stays valid without renewal. The holder renews it every third of it.
    pub lease: Duration,
}

impl S3Settings {
    /// Settings for `bucket` with everything else at its default.
    pub fn new(bucket: impl Into<String>) -> S3Settings {
        S3Settings {
            bucket: bucket.into(),
            prefix: String::new(),
            region: None,
            endpoint: None,
            force_path_style: false,
            access_key: None,
            secret_key: None,
            session_token: None,
            lease: DEFAULT_LEASE,
        }
    }

    fn validate(&self) -> Result<(), StateError> {
        let bad = |m: String| Err(StateError::InvalidSettings(m));
        if self.bucket.trim().is_empty() {
            return bad("the s3 backend needs a bucket".into());
        }
        if self.bucket.contains('/') {
            return bad(format!(
                "bucket {:?} contains '/': put the folder in `prefix`",
                self.bucket
            ));
        }
        if let Some(endpoint) = &self.endpoint {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return bad(format!(
                    "endpoint {endpoint:?} must start with https:// (or http:// for a local store)"
                ));
            }
        }
        if self.access_key.is_some() != self.secret_key.is_some() {
            return bad("access_key and secret_key must be given together".into());
        }
        if self.lease < Duration::from_secs(1) {
            return bad(format!(
                "a lock lease of {:?} is too short to be renewed in time",
                self.lease
            ));
        }
        Ok(())
    }

    /// An S3 client for these settings.
    ///
    /// Request checksums are sent only where the API requires them and response checksums
    /// checked only where required: since 2025 the AWS SDKs add CRC checksums to every upload by
    /// default, and many S3-compatible stores (MinIO, Ceph, moto, older Spaces) reject or
    /// mishandle those headers.
    pub async fn client(&self) -> Result<aws_sdk_s3::Client, StateError> {
        self.validate()?;
        // ring rather than aws-lc: the same TLS provider as the rest of the workspace, and no C
        // toolchain needed beyond it.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let (Some(access), Some(secret)) = (&self.access_key, &self.secret_key) {
            loader = loader.credentials_provider(Credentials::new(
                access,
                secret,
                self.session_token.clone(),
                None,
                "strata-backend-settings",
            ));
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(self.force_path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if shared.region().is_none() {
            config = config.region(Region::new("us-east-1"));
        }
        if let Some(endpoint) = &self.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Ok(aws_sdk_s3::Client::from_conf(config.build()))
    }
}

/// Never shows the secret key or session token.
impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("force_path_style", &self.force_path_style)
            .field("access_key", &self.access_key)
            .field("secret_key", &redacted(&self.secret_key))
            .field("session_token", &redacted(&self.session_token))
            .field("lease", &self.lease)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let mut s = S3Settings::new("b");
        s.access_key = Some("AKIAEXAMPLE".into());
        s.secret_key = Some("very-secret".into());
        let shown = format!("{s:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("AKIAEXAMPLE"), "{shown}");
    }

    #[test]
    fn unusable_settings_are_refused_with_a_reason() {
        for (edit, expect) in [
            (
                Box::new(|s: &mut S3Settings| s.bucket.clear()) as Box<dyn Fn(&mut S3Settings)>,
                "needs a bucket",
            ),
            (
                Box::new(|s: &mut S3Settings| s.bucket = "b/folder".into()),
                "prefix",
            ),
            (
                Box::new(|s: &mut S3Settings| s.endpoint = Some("minio:9000".into())),
                "https://",
            ),
            (
                Box::new(|s: &mut S3Settings| s.access_key = Some("a".into())),
                "together",
            ),
            (
                Box::new(|s: &mut S3Settings| s.lease = Duration::from_millis(10)),
                "too short",
            ),
        ] {
            let mut s = S3Settings::new("bucket");
            edit(&mut s);
            match s.validate() {
                Err(StateError::InvalidSettings(m)) => assert!(m.contains(expect), "{m}"),
                other => panic!("{s:?} must be refused, got {other:?}"),
            }
        }
    }
}
