//! The provider block, merged with Google Cloud's standard environment variables.
//!
//! ```hcl
//! provider "google" {
//!   project      = "acme-prod"            # or $GOOGLE_PROJECT / $GOOGLE_CLOUD_PROJECT / $CLOUDSDK_CORE_PROJECT
//!   region       = "europe-west1"         # or `location`, or $GOOGLE_REGION
//!   credentials  = file("sa.json")        # a path or the JSON itself; else $GOOGLE_APPLICATION_CREDENTIALS,
//!                                         # else the gcloud application default credentials file
//!   endpoint     = "https://container.googleapis.com"   # or $GOOGLE_CONTAINER_CUSTOM_ENDPOINT
//!   sql_endpoint = "https://sqladmin.googleapis.com"    # or $GOOGLE_SQL_CUSTOM_ENDPOINT
//! }
//! ```
//!
//! The credential JSON is held in [`Secret`], whose `Debug` is redacted: it goes to the Google
//! auth library and nowhere else.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};
use strata_core::retry::RetryPolicy;
use strata_core::Value;

/// The standard variable naming a credential file (service account key or authorized user).
pub const CREDENTIALS_ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";
/// Project variables, read in this order (Terraform's, then the client libraries', then gcloud's).
pub const PROJECT_ENVS: [&str; 3] = [
    "GOOGLE_PROJECT",
    "GOOGLE_CLOUD_PROJECT",
    "CLOUDSDK_CORE_PROJECT",
];
/// The default region (Terraform reads the same variable).
pub const REGION_ENV: &str = "GOOGLE_REGION";
/// Overrides the GKE API's base URL (Terraform reads the same variable).
pub const CONTAINER_ENDPOINT_ENV: &str = "GOOGLE_CONTAINER_CUSTOM_ENDPOINT";
/// Overrides the Cloud SQL Admin API's base URL (Terraform reads the same variable).
pub const SQL_ENDPOINT_ENV: &str = "GOOGLE_SQL_CUSTOM_ENDPOINT";
/// Milliseconds between two polls of a long-running operation.
pub const POLL_ENV: &str = "STRATA_GOOGLE_POLL_MS";
pub const DEFAULT_CONTAINER_ENDPOINT: &str = "https://container.googleapis.com";
pub const DEFAULT_SQL_ENDPOINT: &str = "https://sqladmin.googleapis.com";

const DEFAULT_POLL: Duration = Duration::from_millis(5000);
/// GKE clusters take five to fifteen minutes and Cloud SQL instances up to half an hour;
/// forty-five minutes leaves room without letting a stuck operation hold an apply forever.
const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(45 * 60);

/// A credential document. Only the auth library ever sees its content.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// Where the credentials came from, for error messages (never their content).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub source: String,
    pub json: Secret,
}

/// How a configured provider talks to Google Cloud.
#[derive(Debug, Clone)]
pub struct Settings {
    pub project: Option<String>,
    pub region: Option<String>,
    pub credentials: Credentials,
    /// The GKE API's base URL, without a trailing slash (`/v1/projects/...` is appended).
    pub container_endpoint: String,
    /// The Cloud SQL Admin API's base URL, without a trailing slash.
    pub sql_endpoint: String,
    pub poll_interval: Duration,
    pub operation_timeout: Duration,
    pub retry: RetryPolicy,
}

fn invalid(message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidConfig, message)
}

/// The gcloud application default credentials file, `~/.config/gcloud/...` (AIP-4113).
pub fn adc_path(env: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("HOME")
        .map(|home| PathBuf::from(home).join(".config/gcloud/application_default_credentials.json"))
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
                    "the google provider block must be a block, found {}",
                    other.type_name()
                )))
            }
        };
        let field = |name: &str| -> ProviderResult<Option<String>> {
            match fields.get(name).map(Value::unwrap_sensitive) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_str()
                    .map(|s| Some(s.trim().to_string()).filter(|s| !s.is_empty()))
                    .ok_or_else(|| {
                        invalid(format!(
                            "{name} in provider \"google\" must be a string, found {}",
                            v.type_name()
                        ))
                    }),
            }
        };
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());

        let project = match field("project")? {
            Some(p) => Some(p),
            None => PROJECT_ENVS.iter().find_map(|k| env(k)),
        };
        let region = field("region")?
            .or(field("location")?)
            .or_else(|| env(REGION_ENV));
        let credentials = credentials(field("credentials")?, &env)?;
        let container_endpoint = checked_endpoint(
            "endpoint",
            &field("endpoint")?
                .or_else(|| env(CONTAINER_ENDPOINT_ENV))
                .unwrap_or_else(|| DEFAULT_CONTAINER_ENDPOINT.into()),
        )?;
        let sql_endpoint = checked_endpoint(
            "sql_endpoint",
            &field("sql_endpoint")?
                .or_else(|| env(SQL_ENDPOINT_ENV))
                .unwrap_or_else(|| DEFAULT_SQL_ENDPOINT.into()),
        )?;
        let mut poll_interval = DEFAULT_POLL;
        if let Some(text) = env(POLL_ENV) {
            let ms: u64 = text.trim().parse().map_err(|_| {
                invalid(format!(
                    "{POLL_ENV} must be a whole number of milliseconds, found {text:?}"
                ))
            })?;
            poll_interval = Duration::from_millis(ms.max(1));
        }
        Ok(Settings {
            project,
            region,
            credentials,
            container_endpoint,
            sql_endpoint,
            poll_interval,
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            retry: RetryPolicy::default(),
        })
    }

    /// The project of a resource: its own `project` attribute, else the provider's.
    pub fn project_for(&self, own: Option<String>, what: &str) -> ProviderResult<String> {
        own.or_else(|| self.project.clone()).ok_or_else(|| {
            invalid(format!(
                "{what} has no project: set project on the resource or in provider \"google\""
            ))
            .with_hint(format!("or export {} with the project id", PROJECT_ENVS[0]))
        })
    }

    /// The region of a resource: its own attribute, else the provider's.
    pub fn region_for(&self, own: Option<String>, what: &str) -> ProviderResult<String> {
        own.or_else(|| self.region.clone()).ok_or_else(|| {
            invalid(format!(
                "{what} has no region: set it on the resource or region in provider \"google\""
            ))
            .with_hint(format!("or export {REGION_ENV}"))
        })
    }
}

/// Finds the credential document: the `credentials` setting (a path or the JSON itself), then
/// the file named by `$GOOGLE_APPLICATION_CREDENTIALS`, then gcloud's application default
/// credentials file. A missing credential names every place looked at.
fn credentials(
    setting: Option<String>,
    env: &impl Fn(&str) -> Option<String>,
) -> ProviderResult<Credentials> {
    let read = |path: &str, source: String| -> ProviderResult<Credentials> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ProviderError::new(
                ErrorKind::Credentials,
                format!("cannot read the Google credentials file {path} ({source}): {e}"),
            )
            .with_hint("point it at a service account key or an authorized_user JSON file")
        })?;
        Ok(Credentials {
            source,
            json: Secret::new(text),
        })
    };
    if let Some(value) = setting {
        if value.trim_start().starts_with('{') {
            return Ok(Credentials {
                source: "credentials in provider \"google\"".into(),
                json: Secret::new(value),
            });
        }
        return read(&value, "credentials in provider \"google\"".into());
    }
    if let Some(path) = env(CREDENTIALS_ENV) {
        return read(&path, format!("${CREDENTIALS_ENV}"));
    }
    let adc = adc_path(env);
    if let Some(path) = adc.as_ref().filter(|p| p.is_file()) {
        return read(
            &path.display().to_string(),
            "the application default credentials file".into(),
        );
    }
    let adc_text = adc
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "$HOME/.config/gcloud/application_default_credentials.json".into());
    Err(ProviderError::new(
        ErrorKind::Credentials,
        format!(
            "no Google credentials: looked at credentials in provider \"google\", then \
             ${CREDENTIALS_ENV}, then the application default credentials file {adc_text}"
        ),
    )
    .with_hint(format!(
        "export {CREDENTIALS_ENV}=/path/to/service-account.json, or run `gcloud auth application-default login`"
    )))
}

/// Accepts `https://` anywhere and `http://` only on a loopback host (the emulator): a token
/// must never cross a network in clear.
pub(crate) fn checked_endpoint(setting: &str, endpoint: &str) -> ProviderResult<String> {
    strata_core::endpoint::checked("google", setting, endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_missing_credential_names_every_place_looked_at() {
        let e =
            Settings::from_config(&Value::Null, env(&[("HOME", "/nonexistent-home")])).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Credentials);
        for name in [
            "credentials",
            CREDENTIALS_ENV,
            "/nonexistent-home/.config/gcloud/application_default_credentials.json",
        ] {
            assert!(e.message.contains(name), "{e}");
        }
    }

    #[test]
    fn the_block_wins_over_the_environment() {
        let config = Value::map([
            ("project", Value::from("p1")),
            ("location", Value::from("europe-west1")),
            (
                "credentials",
                Value::from("{\"type\":\"authorized_user\"}").sensitive(),
            ),
            (
                "endpoint",
                Value::from("http://127.0.0.1:9/google/container/"),
            ),
        ]);
        let s = Settings::from_config(&config, env(&[("GOOGLE_PROJECT", "p2"), (POLL_ENV, "40")]))
            .unwrap();
        assert_eq!(s.project.as_deref(), Some("p1"));
        assert_eq!(s.region.as_deref(), Some("europe-west1"));
        assert_eq!(s.container_endpoint, "http://127.0.0.1:9/google/container");
        assert_eq!(s.sql_endpoint, DEFAULT_SQL_ENDPOINT);
        assert_eq!(s.poll_interval, Duration::from_millis(40));
        assert!(!format!("{s:?}").contains("authorized_user"));
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        assert!(checked_endpoint("endpoint", "http://localhost:1").is_ok());
        assert!(checked_endpoint("endpoint", "https://container.googleapis.com").is_ok());
        for bad in ["http://container.googleapis.com", "ftp://127.0.0.1", "nope"] {
            let e = checked_endpoint("sql_endpoint", bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidConfig, "{bad}");
            assert!(e.message.contains("sql_endpoint"), "{e}");
        }
    }
}
