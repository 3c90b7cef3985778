//! The provider block, merged with the AWS SDK's standard configuration.
//!
//! ```hcl
//! provider "aws" {
//!   region   = "eu-west-1"                  # or $AWS_REGION / $AWS_DEFAULT_REGION / the profile
//!   endpoint = "https://eks.example.test"   # optional: every service at one URL
//!   endpoints {                              # optional: per service, as Terraform's provider
//!     eks = "http://127.0.0.1:4566/aws/eks" # or $AWS_ENDPOINT_URL_EKS
//!     rds = "http://127.0.0.1:4566/aws/rds" # or $AWS_ENDPOINT_URL_RDS
//!   }
//! }
//! ```
//!
//! Credentials are never part of the block: they come from the SDK's default chain (see
//! [`crate::client`]), so that no configuration, state or plan file ever holds them.

use std::time::Duration;
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};
use strata_core::retry::RetryPolicy;
use strata_core::Value;

/// The EKS endpoint override the AWS SDKs read.
pub const EKS_ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_EKS";
/// The RDS endpoint override the AWS SDKs read.
pub const RDS_ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_RDS";
/// The endpoint override for every service.
pub const ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL";
/// Milliseconds between two status polls of a long-running operation.
pub const POLL_ENV: &str = "STRATA_AWS_POLL_MS";
/// Milliseconds one request may take, from connecting to the last byte of the answer, before
/// it is abandoned as timed out (and retried like any transient failure).
pub const HTTP_TIMEOUT_ENV: &str = "STRATA_AWS_HTTP_TIMEOUT_MS";
/// Milliseconds one API call may spend in total, its retries included.
pub const RETRY_DEADLINE_ENV: &str = "STRATA_AWS_RETRY_DEADLINE_MS";

const DEFAULT_POLL: Duration = Duration::from_secs(10);
/// Far beyond the slowest EKS or RDS answer, short enough that a hung connection is given up
/// and retried well within the retry deadline.
const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// EKS control planes take 10 to 15 minutes and version upgrades up to an hour; an RDS
/// instance 5 to 20 minutes. An hour leaves room without holding an apply forever.
const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// How a configured provider reaches AWS.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `None` lets the SDK's chain decide (environment, then profile).
    pub region: Option<String>,
    pub eks_endpoint: Option<String>,
    pub rds_endpoint: Option<String>,
    pub poll_interval: Duration,
    /// How long one request attempt may take.
    pub http_timeout: Duration,
    pub operation_timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            region: None,
            eks_endpoint: None,
            rds_endpoint: None,
            poll_interval: DEFAULT_POLL,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }
}

fn invalid(message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidConfig, message)
}

impl Settings {
    /// Reads the evaluated provider block (`Null` when there is none) and the environment,
    /// given as a lookup so that tests need not change the process environment.
    pub fn from_config(
        config: &Value,
        env: impl Fn(&str) -> Option<String>,
    ) -> ProviderResult<Settings> {
        let empty = Default::default();
        let fields = match config.unwrap_sensitive() {
            Value::Null => &empty,
            Value::Map(m) => m,
            other => {
                return Err(invalid(format!(
                    "the aws provider block must be a block, found {}",
                    other.type_name()
                )))
            }
        };
        let string = |map: &std::collections::BTreeMap<String, Value>,
                      name: &str|
         -> ProviderResult<Option<String>> {
            match map.get(name).map(Value::unwrap_sensitive) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
                Some(other) => Err(invalid(format!(
                    "{name} in provider \"aws\" must be a string, found {}",
                    other.type_name()
                ))),
            }
        };
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let per_service = match fields.get("endpoints").map(Value::unwrap_sensitive) {
            Some(Value::Map(m)) => m.clone(),
            Some(Value::List(items)) => match items.first().map(Value::unwrap_sensitive) {
                Some(Value::Map(m)) => m.clone(),
                _ => Default::default(),
            },
            _ => Default::default(),
        };
        let common = string(fields, "endpoint")?;
        let endpoint = |service: &str, service_env: &str| -> ProviderResult<Option<String>> {
            let chosen = string(&per_service, service)?
                .or_else(|| common.clone())
                .or_else(|| env(service_env))
                .or_else(|| env(ENDPOINT_ENV));
            chosen.map(|e| checked_endpoint(&e)).transpose()
        };
        let mut settings = Settings {
            region: string(fields, "region")?,
            eks_endpoint: endpoint("eks", EKS_ENDPOINT_ENV)?,
            rds_endpoint: endpoint("rds", RDS_ENDPOINT_ENV)?,
            ..Settings::default()
        };
        let millis = |name: &str| -> ProviderResult<Option<Duration>> {
            let Some(text) = env(name) else {
                return Ok(None);
            };
            let ms: u64 = text.trim().parse().map_err(|_| {
                invalid(format!(
                    "{name} must be a whole number of milliseconds, found {text:?}"
                ))
                .with_hint(format!("for example {name}=5000"))
            })?;
            Ok(Some(Duration::from_millis(ms.max(1))))
        };
        if let Some(poll) = millis(POLL_ENV)? {
            settings.poll_interval = poll;
        }
        if let Some(timeout) = millis(HTTP_TIMEOUT_ENV)? {
            settings.http_timeout = timeout;
        }
        if let Some(deadline) = millis(RETRY_DEADLINE_ENV)? {
            settings.retry.deadline = deadline;
        }
        Ok(settings)
    }
}

/// Accepts `https://` anywhere and `http://` only on a loopback host (the emulator), so that
/// signed requests never cross a network in clear.
pub(crate) fn checked_endpoint(endpoint: &str) -> ProviderResult<String> {
    strata_core::endpoint::checked("aws", "endpoint", endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_block_wins_over_the_environment_per_service() {
        let config = Value::map([
            ("region", Value::from("eu-west-1")),
            (
                "endpoints",
                Value::map([("eks", Value::from("http://127.0.0.1:9/aws/eks/"))]),
            ),
        ]);
        let s = Settings::from_config(
            &config,
            env(&[
                (EKS_ENDPOINT_ENV, "https://eks.env.test"),
                (RDS_ENDPOINT_ENV, "http://localhost:9/aws/rds"),
                (POLL_ENV, "25"),
                (HTTP_TIMEOUT_ENV, "750"),
                (RETRY_DEADLINE_ENV, "9000"),
            ]),
        )
        .unwrap();
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            s.eks_endpoint.as_deref(),
            Some("http://127.0.0.1:9/aws/eks")
        );
        assert_eq!(
            s.rds_endpoint.as_deref(),
            Some("http://localhost:9/aws/rds")
        );
        assert_eq!(s.poll_interval, Duration::from_millis(25));
        assert_eq!(s.http_timeout, Duration::from_millis(750));
        assert_eq!(s.retry.deadline, Duration::from_secs(9));
    }

    #[test]
    fn without_overrides_the_sdk_decides() {
        let s = Settings::from_config(&Value::Null, env(&[])).unwrap();
        assert!(s.region.is_none() && s.eks_endpoint.is_none() && s.rds_endpoint.is_none());
        let s = Settings::from_config(&Value::Null, env(&[(ENDPOINT_ENV, "https://all.test")]))
            .unwrap();
        assert_eq!(s.rds_endpoint.as_deref(), Some("https://all.test"));
    }

    #[test]
    fn plain_http_is_refused_off_loopback_and_bad_input_is_an_error() {
        for ok in [
            "http://127.0.0.1:1/x",
            "http://[::1]:1",
            "https://eks.example",
        ] {
            assert!(checked_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "nope",
            "https://x/?a=b",
        ] {
            assert_eq!(
                checked_endpoint(bad).unwrap_err().kind,
                ErrorKind::InvalidConfig
            );
        }
        let e = Settings::from_config(&Value::from("x"), env(&[])).unwrap_err();
        assert!(e.message.contains("must be a block"));
        let e = Settings::from_config(&Value::map([("region", Value::from(3i64))]), env(&[]))
            .unwrap_err();
        assert!(e.message.contains("region"));
        let e = Settings::from_config(&Value::Null, env(&[(POLL_ENV, "soon")])).unwrap_err();
        assert!(e.message.contains(POLL_ENV));
    }
}
