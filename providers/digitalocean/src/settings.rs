//! The provider block, merged with DigitalOcean's standard environment variables.
//!
//! ```hcl
//! provider "digitalocean" {
//!   token    = var.do_token                     # or $DIGITALOCEAN_TOKEN / $DIGITALOCEAN_ACCESS_TOKEN
//!   endpoint = "https://api.digitalocean.com"   # or $DIGITALOCEAN_API_URL
//! }
//! ```
//!
//! Timings for tests and slow networks come from the environment only:
//! `STRATA_DIGITALOCEAN_POLL_MS` (status polls), `DIGITALOCEAN_HTTP_TIMEOUT_MS` (one request,
//! default 60 s) and `DIGITALOCEAN_RETRY_DEADLINE_MS` (one call with its retries, default 180 s).
//!
//! The token is wrapped in [`Token`], whose `Debug` output is redacted, so that no log line,
//! error or panic message can carry it by accident.

use std::fmt;
use std::time::Duration;
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};
use strata_core::retry::RetryPolicy;
use strata_core::Value;

/// The token variable `doctl` and Terraform read first.
pub const TOKEN_ENV: &str = "DIGITALOCEAN_TOKEN";
/// The token variable read when [`TOKEN_ENV`] is unset.
pub const ACCESS_TOKEN_ENV: &str = "DIGITALOCEAN_ACCESS_TOKEN";
/// Overrides the API's base URL (Terraform reads the same variable).
pub const API_URL_ENV: &str = "DIGITALOCEAN_API_URL";
/// Milliseconds between two status polls of a long-running operation.
pub const POLL_ENV: &str = "STRATA_DIGITALOCEAN_POLL_MS";
/// Milliseconds one HTTP request may take, from connecting to the last byte of the answer,
/// before it is abandoned as timed out (and retried like any transient failure).
pub const HTTP_TIMEOUT_ENV: &str = "DIGITALOCEAN_HTTP_TIMEOUT_MS";
/// Milliseconds one API call may spend in total, its retries included.
pub const RETRY_DEADLINE_ENV: &str = "DIGITALOCEAN_RETRY_DEADLINE_MS";
/// The public API.
pub const DEFAULT_ENDPOINT: &str = "https://api.digitalocean.com";

const DEFAULT_POLL: Duration = Duration::from_millis(2000);
/// Generous for the API's slowest answers (long lists), short enough that a hung connection is
/// given up and retried well within the retry deadline.
const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of an answer body that is ever read: the API's largest pages are a few hundred
/// kilobytes, so anything this big is not an API answer and reading it on would only eat memory.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;
/// Real clusters take up to ten minutes to provision and upgrades longer; half an hour leaves
/// room without letting a stuck operation hold an apply forever.
const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// An API token. It is only ever written into an `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(redacted)")
    }
}

/// How a configured provider talks to the API.
#[derive(Debug, Clone)]
pub struct Settings {
    pub token: Token,
    /// The base URL, without a trailing slash; request paths (`/v2/...`) are appended to it.
    pub endpoint: String,
    /// Time between two status polls while waiting for a cluster or database.
    pub poll_interval: Duration,
    /// How long to wait for a cluster or database to become ready before giving up.
    pub operation_timeout: Duration,
    /// How long one HTTP request may take before it is abandoned as timed out.
    pub http_timeout: Duration,
    /// The largest answer body read; a larger one is refused.
    pub max_answer_bytes: usize,
    pub retry: RetryPolicy,
}

impl Settings {
    /// Settings with the default timings, after checking the endpoint.
    pub fn new(token: Token, endpoint: &str) -> ProviderResult<Settings> {
        Ok(Settings {
            token,
            endpoint: checked_endpoint(endpoint)?,
            poll_interval: DEFAULT_POLL,
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
            retry: RetryPolicy::default(),
        })
    }

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
                    "the digitalocean provider block must be a block, found {}",
                    other.type_name()
                )))
            }
        };
        let field = |name: &str| -> ProviderResult<Option<String>> {
            match fields.get(name).filter(|v| !v.is_null()) {
                None => Ok(None),
                Some(v) => v.as_str().map(|s| Some(s.to_string())).ok_or_else(|| {
                    invalid(format!(
                        "{name} in provider \"digitalocean\" must be a string, found {}",
                        v.type_name()
                    ))
                }),
            }
        };
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());

        let token = field("token")?
            .filter(|t| !t.trim().is_empty())
            .or_else(|| env(TOKEN_ENV))
            .or_else(|| env(ACCESS_TOKEN_ENV))
            .ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::Credentials,
                    format!(
                        "no DigitalOcean API token: looked at token in provider \"digitalocean\", \
                         then ${TOKEN_ENV}, then ${ACCESS_TOKEN_ENV}"
                    ),
                )
                .with_hint(format!(
                    "create a token at https://cloud.digitalocean.com/account/api/tokens and export {TOKEN_ENV}"
                ))
            })?;
        let endpoint = field("endpoint")?
            .or_else(|| env(API_URL_ENV))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());

        let mut settings = Settings::new(Token::new(token.trim()), &endpoint)?;
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

fn invalid(message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidConfig, message)
}

/// Accepts `https://` anywhere and `http://` only on a loopback host (the emulator): a token
/// must never cross a network in clear.
fn checked_endpoint(endpoint: &str) -> ProviderResult<String> {
    strata_core::endpoint::checked("digitalocean", "endpoint", endpoint)
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
    fn token_and_endpoint_come_from_the_block_first() {
        let config = Value::map([
            ("token", Value::from("block-token").sensitive()),
            ("endpoint", Value::from("http://127.0.0.1:8080/")),
        ]);
        let s = Settings::from_config(
            &config,
            env(&[(TOKEN_ENV, "env-token"), (API_URL_ENV, "https://x.test")]),
        )
        .unwrap();
        assert_eq!(s.token, Token::new("block-token"));
        assert_eq!(s.endpoint, "http://127.0.0.1:8080");
    }

    #[test]
    fn environment_fills_in_what_the_block_leaves_out() {
        let s = Settings::from_config(&Value::Null, env(&[(ACCESS_TOKEN_ENV, "t2")])).unwrap();
        assert_eq!(s.token, Token::new("t2"));
        assert_eq!(s.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(s.poll_interval, DEFAULT_POLL);

        let s = Settings::from_config(
            &Value::Null,
            env(&[
                (TOKEN_ENV, "t1"),
                (ACCESS_TOKEN_ENV, "t2"),
                (API_URL_ENV, "http://localhost:9"),
                (POLL_ENV, "50"),
            ]),
        )
        .unwrap();
        assert_eq!(s.token, Token::new("t1"));
        assert_eq!(s.endpoint, "http://localhost:9");
        assert_eq!(s.poll_interval, Duration::from_millis(50));
    }

    #[test]
    fn a_missing_token_is_a_credentials_error_naming_every_place_looked_at() {
        let e = Settings::from_config(&Value::Null, env(&[(TOKEN_ENV, "  ")])).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Credentials);
        for name in ["token", TOKEN_ENV, ACCESS_TOKEN_ENV] {
            assert!(e.message.contains(name), "{e}");
        }
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        for ok in [
            "http://127.0.0.1:1",
            "http://[::1]:1",
            "http://LOCALHOST:1",
            "https://api.example.com",
        ] {
            assert!(checked_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.digitalocean.com",
            "http://10.0.0.1:80",
            "ftp://127.0.0.1",
            "not a url",
            "https://x.test/?a=b",
        ] {
            let e = checked_endpoint(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidConfig, "{bad}");
        }
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let s = Settings::new(Token::new("dop_v1_secret"), DEFAULT_ENDPOINT).unwrap();
        let text = format!("{s:?}");
        assert!(!text.contains("dop_v1_secret"), "{text}");
    }

    #[test]
    fn bad_settings_are_errors_not_panics() {
        let e = Settings::from_config(&Value::from("x"), env(&[])).unwrap_err();
        assert!(e.message.contains("must be a block"), "{e}");
        let e = Settings::from_config(
            &Value::map([("token", Value::from(3i64))]),
            env(&[(TOKEN_ENV, "t")]),
        )
        .unwrap_err();
        assert!(e.message.contains("token"), "{e}");
        let e = Settings::from_config(&Value::Null, env(&[(TOKEN_ENV, "t"), (POLL_ENV, "soon")]))
            .unwrap_err();
        assert!(e.message.contains(POLL_ENV), "{e}");
        for name in [HTTP_TIMEOUT_ENV, RETRY_DEADLINE_ENV] {
            let e = Settings::from_config(&Value::Null, env(&[(TOKEN_ENV, "t"), (name, "2s")]))
                .unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidConfig);
            assert!(
                e.message.contains(name) && e.message.contains("\"2s\""),
                "{e}"
            );
        }
    }

    #[test]
    fn timeouts_default_generously_and_can_be_shortened_from_the_environment() {
        let s = Settings::from_config(&Value::Null, env(&[(TOKEN_ENV, "t")])).unwrap();
        assert_eq!(s.http_timeout, DEFAULT_HTTP_TIMEOUT);
        assert_eq!(s.retry, RetryPolicy::default());
        assert_eq!(s.max_answer_bytes, DEFAULT_MAX_ANSWER_BYTES);
        let s = Settings::from_config(
            &Value::Null,
            env(&[
                (TOKEN_ENV, "t"),
                (HTTP_TIMEOUT_ENV, "750"),
                (RETRY_DEADLINE_ENV, " 3000 "),
            ]),
        )
        .unwrap();
        assert_eq!(s.http_timeout, Duration::from_millis(750));
        assert_eq!(s.retry.deadline, Duration::from_millis(3000));
    }
}
