//! The provider block, merged with Azure's standard environment variables.
//!
//! ```hcl
//! provider "azure" {
//!   subscription_id = "..."   # or $AZURE_SUBSCRIPTION_ID (then $ARM_SUBSCRIPTION_ID)
//!   tenant_id       = "..."   # or $AZURE_TENANT_ID (then $ARM_TENANT_ID)
//!   client_id       = "..."   # or $AZURE_CLIENT_ID (then $ARM_CLIENT_ID)
//!   client_secret   = var.sp  # or $AZURE_CLIENT_SECRET (then $ARM_CLIENT_SECRET)
//!   endpoint        = "https://management.azure.com"       # or $AZURE_RESOURCE_MANAGER_ENDPOINT
//!   authority_host  = "https://login.microsoftonline.com"  # or $AZURE_AUTHORITY_HOST
//! }
//! ```
//!
//! The client secret is wrapped in [`ClientSecret`], whose `Debug` output is redacted, so that
//! no log line, error or panic message can carry it by accident.

use std::fmt;
use std::time::Duration;
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};
use strata_core::retry::RetryPolicy;
use strata_core::Value;

pub const SUBSCRIPTION_ENV: &str = "AZURE_SUBSCRIPTION_ID";
pub const TENANT_ENV: &str = "AZURE_TENANT_ID";
pub const CLIENT_ID_ENV: &str = "AZURE_CLIENT_ID";
pub const CLIENT_SECRET_ENV: &str = "AZURE_CLIENT_SECRET";
/// Overrides ARM's base URL.
pub const ENDPOINT_ENV: &str = "AZURE_RESOURCE_MANAGER_ENDPOINT";
/// Overrides the Microsoft Entra authority (the same variable the Azure SDKs read).
pub const AUTHORITY_HOST_ENV: &str = "AZURE_AUTHORITY_HOST";
/// Milliseconds between two polls of a long-running operation when ARM names no `Retry-After`.
pub const POLL_ENV: &str = "STRATA_AZURE_POLL_MS";
pub const DEFAULT_ENDPOINT: &str = "https://management.azure.com";
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

const DEFAULT_POLL: Duration = Duration::from_secs(5);
/// AKS creates take up to fifteen minutes and upgrades longer; an hour leaves room without
/// letting a stuck operation hold an apply forever.
const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// A service principal's client secret. It is only ever written into a token request.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn new(secret: impl Into<String>) -> ClientSecret {
        ClientSecret(secret.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(redacted)")
    }
}

/// How a configured provider talks to Azure.
#[derive(Debug, Clone)]
pub struct Settings {
    pub subscription_id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// ARM's base URL, without a trailing slash.
    pub endpoint: String,
    /// The Microsoft Entra authority, without a trailing slash.
    pub authority_host: String,
    /// Time between two polls of an operation when ARM does not say (`Retry-After`).
    pub poll_interval: Duration,
    /// How long to wait for one long-running operation before giving up.
    pub operation_timeout: Duration,
    pub retry: RetryPolicy,
}

impl Settings {
    /// Reads the evaluated provider block (`Null` when there is none) and the environment,
    /// given as a lookup so that tests need not mutate the process environment.
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
                    "the azure provider block must be a block, found {}",
                    other.type_name()
                )))
            }
        };
        let field = |name: &str| -> ProviderResult<Option<String>> {
            match fields.get(name).filter(|v| !v.is_null()) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .map(|s| Some(s.trim().to_string()).filter(|s| !s.is_empty()))
                    .ok_or_else(|| {
                        invalid(format!(
                            "{name} in provider \"azure\" must be a string, found {}",
                            v.type_name()
                        ))
                    }),
            }
        };
        let env = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        // Terraform's azurerm reads ARM_*; the Azure SDKs and CLI read AZURE_*.
        let credential = |name: &str, primary: &str| -> ProviderResult<String> {
            let fallback = primary.replacen("AZURE_", "ARM_", 1);
            field(name)?
                .or_else(|| env(primary))
                .or_else(|| env(&fallback))
                .ok_or_else(|| {
                    ProviderError::new(
                        ErrorKind::Credentials,
                        format!(
                            "no Azure {name}: looked at {name} in provider \"azure\", then ${primary}, then ${fallback}"
                        ),
                    )
                    .with_hint(
                        "create a service principal (`az ad sp create-for-rbac`) and export AZURE_SUBSCRIPTION_ID, AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
                    )
                })
        };
        let subscription_id = credential("subscription_id", SUBSCRIPTION_ENV)?;
        let tenant_id = credential("tenant_id", TENANT_ENV)?;
        let client_id = credential("client_id", CLIENT_ID_ENV)?;
        let client_secret = ClientSecret::new(credential("client_secret", CLIENT_SECRET_ENV)?);
        let endpoint = field("endpoint")?
            .or_else(|| env(ENDPOINT_ENV))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let authority_host = field("authority_host")?
            .or_else(|| env(AUTHORITY_HOST_ENV))
            .unwrap_or_else(|| DEFAULT_AUTHORITY_HOST.to_string());
        for (what, id) in [
            ("subscription_id", &subscription_id),
            ("tenant_id", &tenant_id),
        ] {
            if !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                return Err(invalid(format!(
                    "{what} {id:?} in provider \"azure\" may only hold letters, digits, dashes and dots"
                )));
            }
        }
        let mut settings = Settings {
            subscription_id,
            tenant_id,
            client_id,
            client_secret,
            endpoint: checked_url(&endpoint, "endpoint")?,
            authority_host: checked_url(&authority_host, "authority_host")?,
            poll_interval: DEFAULT_POLL,
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            retry: RetryPolicy::default(),
        };
        if let Some(text) = env(POLL_ENV) {
            let ms: u64 = text.parse().map_err(|_| {
                invalid(format!(
                    "{POLL_ENV} must be a whole number of milliseconds, found {text:?}"
                ))
            })?;
            settings.poll_interval = Duration::from_millis(ms.max(1));
        }
        Ok(settings)
    }
}

fn invalid(message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidConfig, message)
}

/// Accepts `https://` anywhere and `http://` only on a loopback host (the emulator): a
/// credential must never cross a network in clear.
pub(crate) fn checked_url(text: &str, what: &str) -> ProviderResult<String> {
    strata_core::endpoint::checked("azure", what, text)
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

    const ALL: &[(&str, &str)] = &[
        (SUBSCRIPTION_ENV, "sub-1"),
        (TENANT_ENV, "tenant-1"),
        (CLIENT_ID_ENV, "client-1"),
        (CLIENT_SECRET_ENV, "s3cret"),
    ];

    #[test]
    fn the_block_wins_over_the_environment_and_arm_variables_are_a_fallback() {
        let config = Value::map([
            ("client_secret", Value::from("block-secret").sensitive()),
            ("endpoint", Value::from("http://127.0.0.1:9/azure/")),
        ]);
        let s = Settings::from_config(&config, env(ALL)).unwrap();
        assert_eq!(s.client_secret, ClientSecret::new("block-secret"));
        assert_eq!(s.endpoint, "http://127.0.0.1:9/azure");
        assert_eq!(s.authority_host, DEFAULT_AUTHORITY_HOST);

        let s = Settings::from_config(
            &Value::Null,
            env(&[
                ("ARM_SUBSCRIPTION_ID", "a"),
                ("ARM_TENANT_ID", "b"),
                ("ARM_CLIENT_ID", "c"),
                ("ARM_CLIENT_SECRET", "d"),
                (POLL_ENV, "20"),
            ]),
        )
        .unwrap();
        assert_eq!(s.subscription_id, "a");
        assert_eq!(s.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(s.poll_interval, Duration::from_millis(20));
    }

    #[test]
    fn a_missing_credential_names_every_place_looked_at() {
        let e = Settings::from_config(&Value::Null, env(&ALL[..3])).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Credentials);
        for name in ["client_secret", CLIENT_SECRET_ENV, "ARM_CLIENT_SECRET"] {
            assert!(e.message.contains(name), "{e}");
        }
    }

    #[test]
    fn plain_http_is_refused_off_loopback_and_the_secret_never_shows() {
        let config = Value::map([("authority_host", Value::from("http://login.example.com"))]);
        let e = Settings::from_config(&config, env(ALL)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidConfig);
        assert!(e.message.contains("authority_host"), "{e}");
        let s = Settings::from_config(&Value::Null, env(ALL)).unwrap();
        assert!(!format!("{s:?}").contains("s3cret"));
        assert!(checked_url("http://[::1]:1", "endpoint").is_ok());
        assert!(checked_url("ftp://127.0.0.1", "endpoint").is_err());
    }
}
