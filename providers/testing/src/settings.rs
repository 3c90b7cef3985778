//! The provider block, merged with the environment variables tests use to steer the provider
//! without editing configuration (a test can inject a failure into an otherwise normal project).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};
use strata_core::Value;

pub const DIR_ENV: &str = "STRATA_TESTING_DIR";
pub const FAIL_ON_ENV: &str = "STRATA_TESTING_FAIL_ON";
pub const LATENCY_ENV: &str = "STRATA_TESTING_LATENCY_MS";

/// How a configured testing provider behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The folder that is the "cloud": one JSON file per object.
    pub dir: PathBuf,
    /// How long every create, update and delete takes.
    pub latency: Duration,
    /// Names of objects whose create or update fails.
    pub fail_on: BTreeSet<String>,
}

impl Settings {
    pub fn new(dir: impl Into<PathBuf>) -> Settings {
        Settings {
            dir: dir.into(),
            latency: Duration::ZERO,
            fail_on: BTreeSet::new(),
        }
    }

    /// Reads the evaluated provider block (`Null` when there is none) and the environment,
    /// given as a lookup so that tests need not mutate the process environment. Unknown keys
    /// are left to the engine, which validates the block against the schema.
    pub fn from_config(
        config: &Value,
        env: impl Fn(&str) -> Option<String>,
    ) -> ProviderResult<Settings> {
        let invalid = |msg: String| ProviderError::new(ErrorKind::InvalidConfig, msg);
        let empty = Default::default();
        let fields = match config.unwrap_sensitive() {
            Value::Null => &empty,
            Value::Map(m) => m,
            other => {
                return Err(invalid(format!(
                    "the testing provider block must be a block, found {}",
                    other.type_name()
                )))
            }
        };
        let field = |name: &str| fields.get(name).filter(|v| !v.is_null());

        let dir = match field("dir") {
            Some(v) => v
                .as_str()
                .map(PathBuf::from)
                .ok_or_else(|| invalid(format!("dir must be a string, found {}", v.type_name())))?,
            None => env(DIR_ENV).filter(|d| !d.is_empty()).map(PathBuf::from).ok_or_else(|| {
                invalid(format!(
                    "the testing provider needs a folder for its objects: set dir in provider \"testing\" or the {DIR_ENV} environment variable"
                ))
            })?,
        };

        let mut latency_ms = match field("latency_ms") {
            Some(v) => v
                .as_f64()
                .filter(|n| *n >= 0.0 && n.is_finite())
                .ok_or_else(|| {
                    invalid("latency_ms must be a number of milliseconds, 0 or more".into())
                })? as u64,
            None => 0,
        };
        if let Some(text) = env(LATENCY_ENV).filter(|t| !t.trim().is_empty()) {
            latency_ms = text.trim().parse().map_err(|_| {
                invalid(format!(
                    "{LATENCY_ENV} must be a whole number of milliseconds, found {text:?}"
                ))
            })?;
        }

        let mut fail_on = BTreeSet::new();
        if let Some(v) = field("fail_on") {
            let items = v
                .as_list()
                .ok_or_else(|| invalid("fail_on must be a list of object names".into()))?;
            for item in items {
                let name = item
                    .as_str()
                    .ok_or_else(|| invalid("fail_on must be a list of object names".into()))?;
                fail_on.insert(name.to_string());
            }
        }
        if let Some(list) = env(FAIL_ON_ENV) {
            fail_on.extend(
                list.split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
            );
        }

        Ok(Settings {
            dir,
            latency: Duration::from_millis(latency_ms),
            fail_on,
        })
    }
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
    fn block_settings_are_read_and_environment_adds_to_them() {
        let config = Value::map([
            ("dir", Value::from("/tmp/cloud")),
            ("latency_ms", Value::from(5i64)),
            ("fail_on", Value::List(vec![Value::from("db")])),
        ]);
        let s = Settings::from_config(
            &config,
            env(&[(FAIL_ON_ENV, "app, worker"), (LATENCY_ENV, "25")]),
        )
        .unwrap();
        assert_eq!(s.dir, PathBuf::from("/tmp/cloud"));
        assert_eq!(s.latency, Duration::from_millis(25));
        assert_eq!(
            s.fail_on,
            BTreeSet::from(["app".to_string(), "db".into(), "worker".into()])
        );
    }

    #[test]
    fn the_folder_comes_from_the_environment_when_the_block_has_none() {
        let s = Settings::from_config(&Value::Null, env(&[(DIR_ENV, "/var/cloud")])).unwrap();
        assert_eq!(s, Settings::new("/var/cloud"));
        let s = Settings::from_config(&Value::map::<&str>([]), env(&[(DIR_ENV, "/c")])).unwrap();
        assert_eq!(s.dir, PathBuf::from("/c"));
    }

    #[test]
    fn a_missing_folder_names_both_ways_to_set_it() {
        let e = Settings::from_config(&Value::Null, env(&[])).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidConfig);
        assert!(
            e.message.contains("dir") && e.message.contains(DIR_ENV),
            "{e}"
        );
    }

    #[test]
    fn bad_settings_are_errors_not_panics() {
        let dir = ("dir", Value::from("/c"));
        for (config, expect) in [
            (
                Value::map([dir.clone(), ("latency_ms", Value::from(-1i64))]),
                "latency_ms",
            ),
            (
                Value::map([dir.clone(), ("fail_on", Value::from("x"))]),
                "fail_on",
            ),
            (
                Value::map([("dir", Value::from(true))]),
                "dir must be a string",
            ),
            (Value::from("x"), "must be a block"),
        ] {
            let e = Settings::from_config(&config, env(&[])).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidConfig);
            assert!(e.message.contains(expect), "{e}");
        }
        let e = Settings::from_config(&Value::Null, env(&[(DIR_ENV, "/c"), (LATENCY_ENV, "soon")]))
            .unwrap_err();
        assert!(e.message.contains(LATENCY_ENV), "{e}");
    }
}
