//! Finding the project, choosing the environment, opening state, registering providers.

use crate::args::Cli;
use anyhow::{anyhow, bail, Context};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use strata_config::Project;
use strata_engine::{Events, Options, Registry, Session};
use strata_state::{LocalStore, LockInfo, StateStore};
use tokio_util::sync::CancellationToken;

/// An error with a next step for the user.
#[derive(Debug)]
pub struct Hinted {
    pub message: String,
    pub hint: Option<String>,
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        message: message.into(),
        hint: Some(hint.into()),
    })
}

/// Configuration errors, printed as diagnostics.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<strata_core::Diagnostic>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} configuration error(s)", self.0.len())
    }
}

impl std::error::Error for ConfigErrors {}

/// The providers this binary ships.
pub fn registry() -> Registry {
    #[allow(unused_mut)]
    let mut r = Registry::new();
    r.register(Arc::new(
        strata_provider_digitalocean::DigitalOceanProvider::new(),
    ));
    r.register(Arc::new(
        strata_provider_kubernetes::KubernetesProvider::new(),
    ));
    #[cfg(feature = "testing")]
    r.register(Arc::new(strata_provider_testing::TestingProvider::new()));
    r
}

/// `--dir`, or the nearest folder upwards from the current one that holds `strata.hcl`.
pub fn find_root(dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(d) = dir {
        let d = d
            .canonicalize()
            .with_context(|| format!("project folder {} does not exist", d.display()))?;
        if !d.join("strata.hcl").is_file() {
            return Err(hinted(
                format!("{} has no strata.hcl", d.display()),
                "a project's root folder holds strata.hcl with a project block: project \"NAME\" {}",
            ));
        }
        return Ok(d);
    }
    let cwd = std::env::current_dir().context("reading the current folder")?;
    for d in cwd.ancestors() {
        if d.join("strata.hcl").is_file() {
            return Ok(d.to_path_buf());
        }
    }
    Err(hinted(
        format!("no strata.hcl in {} or any parent folder", cwd.display()),
        "run strata inside a project, or pass --dir PROJECT",
    ))
}

pub fn load_project(cli: &Cli) -> anyhow::Result<Project> {
    let root = find_root(cli.dir.as_deref())?;
    strata_config::load_project(&root).map_err(|d| anyhow::Error::new(ConfigErrors(d.0)))
}

/// The environment: `--env`, else the only one declared, else `default` when none is.
pub fn choose_env(project: &Project, flag: Option<&str>) -> anyhow::Result<String> {
    let names: Vec<&String> = project.environments.keys().collect();
    match flag {
        Some(e) if project.environments.contains_key(e) || (names.is_empty() && e == "default") => {
            Ok(e.to_string())
        }
        Some(e) => Err(hinted(
            format!("environment {e:?} is not declared in strata.hcl"),
            if names.is_empty() {
                "declare it with: environment \"NAME\" { variables = { ... } }".to_string()
            } else {
                format!(
                    "declared environments: {}",
                    names
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        )),
        None => match names.as_slice() {
            [] => Ok("default".into()),
            [one] => Ok(one.to_string()),
            many => Err(hinted(
                "this project declares several environments; say which one to use",
                format!(
                    "pass --env NAME (or set STRATA_ENV); declared: {}",
                    many.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        },
    }
}

/// Opens the project's state backend, holding its lock for the rest of the process.
pub fn open_store(project: &Project, operation: &str) -> anyhow::Result<Arc<dyn StateStore>> {
    match project.backend.kind.as_str() {
        "local" => {
            let holder = LockInfo::current(operation);
            let store = LocalStore::open(&project.root, holder).map_err(|e| match &e {
                strata_state::StateError::Locked { .. } => hinted(
                    e.to_string(),
                    "wait for that run to finish; the lock is released as soon as its process exits",
                ),
                _ => anyhow!(e),
            })?;
            Ok(Arc::new(store))
        }
        other => bail!(Hinted {
            message: format!("state backend {other:?} is not supported by this build"),
            hint: Some(
                "use backend \"local\" {} (the default when no backend block is present)".into()
            ),
        }),
    }
}

/// The `STRATA_VAR_<name>` variables of the process environment, under their full names.
pub fn env_vars() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with(strata_config::ENV_VAR_PREFIX))
        .collect()
}

pub struct Opened {
    pub session: Session,
    /// The in-process emulator under `--emulate`; it serves until the command ends.
    pub _emulator: Option<strata_emulator::Emulator>,
}

pub async fn open(
    cli: &Cli,
    operation: &str,
    options: Options,
    events: Arc<dyn Events>,
    cancel: CancellationToken,
) -> anyhow::Result<Opened> {
    let project = load_project(cli)?;
    let env = choose_env(&project, cli.env.as_deref())?;
    let store = open_store(&project, operation)?;
    // Started after the lock is taken: only the process holding the project's lock runs the
    // project's emulated cloud.
    let emulator = match cli.emulate {
        true => Some(crate::emulate::start_for_project(&project.root).await?),
        false => None,
    };
    Ok(Opened {
        session: Session {
            project,
            env,
            store,
            registry: registry(),
            events,
            options,
            cancel,
        },
        _emulator: emulator,
    })
}
