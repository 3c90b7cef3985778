//! The provider block, merged with the environment.
//!
//! ```hcl
//! provider "onprem" {
//!   ssh_config              = "~/.ssh/config"       # or $STRATA_ONPREM_SSH_CONFIG
//!   known_hosts             = "~/.ssh/known_hosts"  # or $STRATA_ONPREM_KNOWN_HOSTS
//!   connect_timeout_seconds = 30                    # or $STRATA_ONPREM_CONNECT_TIMEOUT_MS
//! }
//! ```

use std::path::PathBuf;
use std::time::Duration;

use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};
use strata_core::Value;

use crate::ssh::Timeouts;
use crate::ssh_config::expand_home;

/// An OpenSSH client configuration to read host aliases from.
pub const SSH_CONFIG_ENV: &str = "STRATA_ONPREM_SSH_CONFIG";
/// The `known_hosts` file host keys are verified against.
pub const KNOWN_HOSTS_ENV: &str = "STRATA_ONPREM_KNOWN_HOSTS";
/// How long, in milliseconds, a refused or dropped connection is retried.
pub const CONNECT_TIMEOUT_ENV: &str = "STRATA_ONPREM_CONNECT_TIMEOUT_MS";
/// Milliseconds between two checks of a node's readiness.
pub const POLL_ENV: &str = "STRATA_ONPREM_POLL_MS";

const DEFAULT_CONNECT: Duration = Duration::from_secs(30);
/// An install downloads k3s and starts it; slow mirrors take minutes.
const DEFAULT_COMMAND: Duration = Duration::from_secs(15 * 60);
const DEFAULT_POLL: Duration = Duration::from_secs(2);
/// How long a node may take to report Ready after its install.
const DEFAULT_READY: Duration = Duration::from_secs(5 * 60);

/// How a configured provider reaches hosts.
#[derive(Debug, Clone)]
pub struct Settings {
    pub ssh_config: Option<PathBuf>,
    /// The default `known_hosts` (a resource's own `known_hosts` wins).
    pub known_hosts: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    pub poll_interval: Duration,
    pub ready_timeout: Duration,
}

impl Settings {
    /// Reads the evaluated provider block (`Null` when there is none) and the environment.
    pub fn from_config(
        config: &Value,
        env: impl Fn(&str) -> Option<String>,
    ) -> ProviderResult<Settings> {
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let field = |name: &str| -> ProviderResult<Option<&Value>> {
            match config.unwrap_sensitive() {
                Value::Null => Ok(None),
                Value::Map(m) => Ok(m.get(name).filter(|v| !v.is_null())),
                other => Err(invalid(format!(
                    "the onprem provider block must be a block, found {}",
                    other.type_name()
                ))),
            }
        };
        let path = |name: &str, var: &str| -> ProviderResult<Option<PathBuf>> {
            match field(name)? {
                Some(v) => v.as_str().map(|s| Some(expand_home(s))).ok_or_else(|| {
                    invalid(format!("{name} in provider \"onprem\" must be a path"))
                }),
                None => Ok(env(var).map(|s| expand_home(s.trim()))),
            }
        };
        let ssh_config = path("ssh_config", SSH_CONFIG_ENV)?;
        let known_hosts = path("known_hosts", KNOWN_HOSTS_ENV)?;
        let connect_timeout = match field("connect_timeout_seconds")? {
            Some(v) => v
                .as_f64()
                .filter(|s| *s > 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| {
                    invalid(
                        "connect_timeout_seconds in provider \"onprem\" must be a positive number"
                            .into(),
                    )
                })?,
            None => {
                millis(env(CONNECT_TIMEOUT_ENV), CONNECT_TIMEOUT_ENV)?.unwrap_or(DEFAULT_CONNECT)
            }
        };
        Ok(Settings {
            ssh_config,
            known_hosts,
            connect_timeout,
            command_timeout: DEFAULT_COMMAND,
            poll_interval: millis(env(POLL_ENV), POLL_ENV)?.unwrap_or(DEFAULT_POLL),
            ready_timeout: DEFAULT_READY,
        })
    }

    pub(crate) fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.connect_timeout,
            command: self.command_timeout,
        }
    }
}

fn millis(text: Option<String>, name: &str) -> ProviderResult<Option<Duration>> {
    match text {
        None => Ok(None),
        Some(t) => t
            .trim()
            .parse::<u64>()
            .map(|ms| Some(Duration::from_millis(ms.max(1))))
            .map_err(|_| {
                invalid(format!(
                    "{name} must be a whole number of milliseconds, found {t:?}"
                ))
            }),
    }
}

fn invalid(message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidConfig, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_wins_over_the_environment() {
        let env = |k: &str| match k {
            SSH_CONFIG_ENV => Some("/env/config".to_string()),
            KNOWN_HOSTS_ENV => Some("/env/known".to_string()),
            CONNECT_TIMEOUT_ENV => Some("250".to_string()),
            _ => None,
        };
        let s = Settings::from_config(&Value::Null, env).unwrap();
        assert_eq!(s.ssh_config, Some(PathBuf::from("/env/config")));
        assert_eq!(s.connect_timeout, Duration::from_millis(250));
        let block = Value::map([
            ("known_hosts", Value::from("/block/known")),
            ("connect_timeout_seconds", Value::Number(5.0)),
        ]);
        let s = Settings::from_config(&block, env).unwrap();
        assert_eq!(s.known_hosts, Some(PathBuf::from("/block/known")));
        assert_eq!(s.connect_timeout, Duration::from_secs(5));
        let e = Settings::from_config(&Value::Null, |k| {
            (k == POLL_ENV).then(|| "soon".to_string())
        })
        .unwrap_err();
        assert!(e.message.contains(POLL_ENV), "{e}");
    }
}
