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
    r.register(Arc::new(strata_provider_aws::AwsProvider::new()));
    r.register(Arc::new(strata_provider_azure::AzureProvider::new()));
    r.register(Arc::new(strata_provider_google::GoogleProvider::new()));
    r.register(Arc::new(strata_provider_onprem::OnpremProvider::new()));
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

/// The sealer of the project's `encryption` block, or `None` without one.
pub fn sealer(project: &Project) -> anyhow::Result<Option<Arc<strata_encryption::Sealer>>> {
    let Some(enc) = &project.encryption else {
        return Ok(None);
    };
    let passphrase = std::env::var(&enc.passphrase_env).unwrap_or_default();
    if passphrase.is_empty() {
        return Err(hinted(
            format!(
                "strata.hcl asks for encrypted state, but ${} is not set",
                enc.passphrase_env
            ),
            format!(
                "export {}=... with the project's passphrase (keep it in your CI's secret store)",
                enc.passphrase_env
            ),
        ));
    }
    let sealer = strata_encryption::Sealer::new(&passphrase)?;
    Ok(Some(Arc::new(sealer)))
}

/// The codec state is written with: sealed when the project has an encryption block.
pub fn state_codec(project: &Project) -> anyhow::Result<strata_state::codec::Codec> {
    Ok(match sealer(project)? {
        Some(s) => strata_state::codec::Codec::sealed(s),
        None => strata_state::codec::Codec::plain(),
    })
}

/// Opens the project's state backend. The local backend holds its project-wide lock for the
/// rest of the process; the s3 backend locks each state when a run takes it (see [`lock_stacks`]).
pub async fn open_store(project: &Project, operation: &str) -> anyhow::Result<Arc<dyn StateStore>> {
    open_backend(project, &project.backend, operation).await
}

/// Opens the state backend `backend` of `project` (the configured one, or another during a
/// migration).
pub async fn open_backend(
    project: &Project,
    backend: &strata_config::Backend,
    operation: &str,
) -> anyhow::Result<Arc<dyn StateStore>> {
    let codec = state_codec(project)?;
    match backend.kind.as_str() {
        "local" => {
            let holder = LockInfo::current(operation);
            let store = LocalStore::open(&project.root, holder).map_err(|e| match &e {
                strata_state::StateError::Locked { .. } => hinted(
                    e.to_string(),
                    "wait for that run to finish; the lock is released as soon as its process exits",
                ),
                _ => anyhow!(e),
            })?;
            Ok(Arc::new(store.with_codec(codec)))
        }
        "s3" => Ok(Arc::new(
            open_s3_backend(backend, operation).await?.with_codec(codec),
        )),
        other => bail!(Hinted {
            message: format!("unknown state backend {other:?}"),
            hint: Some(
                "use backend \"local\" {} (the default) or backend \"s3\" { bucket = ... }".into()
            ),
        }),
    }
}

/// The s3 backend from `backend "s3" { ... }`. Credentials come from the standard AWS chain
/// (`AWS_ACCESS_KEY_ID`, profiles, …) unless the block names environment variables for them.
pub async fn open_s3(project: &Project, operation: &str) -> anyhow::Result<strata_state::S3Store> {
    open_s3_backend(&project.backend, operation).await
}

async fn open_s3_backend(
    backend: &strata_config::Backend,
    operation: &str,
) -> anyhow::Result<strata_state::S3Store> {
    let settings = &backend.settings;
    let text = |k: &str| settings.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let Some(bucket) = text("bucket") else {
        return Err(hinted(
            "backend \"s3\" needs a bucket",
            "add bucket = \"NAME\" to the backend block in strata.hcl",
        ));
    };
    let mut s3 = strata_state::S3Settings::new(bucket);
    s3.prefix = text("prefix").unwrap_or_default();
    s3.region = text("region");
    s3.endpoint = text("endpoint");
    s3.force_path_style = settings
        .get("force_path_style")
        .and_then(|v| v.as_bool())
        .unwrap_or(s3.endpoint.is_some());
    if let Some(secs) = settings.get("lease_seconds").and_then(|v| v.as_f64()) {
        s3.lease = std::time::Duration::from_secs_f64(secs.max(1.0));
    }
    // Secrets never live in strata.hcl: the block may only name the variables that hold them.
    let from_env = |k: &str| text(k).and_then(|var| std::env::var(var).ok());
    s3.access_key = from_env("access_key_env");
    s3.secret_key = from_env("secret_key_env");
    let store = strata_state::S3Store::connect(s3, LockInfo::current(operation)).await?;
    Ok(store)
}

/// Takes the lock of every selected stack's state, in a fixed order; released when dropped.
pub async fn lock_stacks(
    session: &Session,
    stacks: &std::collections::BTreeSet<String>,
    operation: &str,
) -> anyhow::Result<Vec<strata_state::LockGuard>> {
    let mut guards = Vec::new();
    for stack in stacks {
        let key = session.key(stack);
        guards.push(session.store.lock(&key, operation).await.map_err(|e| {
            let hint = e.hint();
            match hint {
                Some(h) => hinted(e.to_string(), h),
                None => anyhow!(e),
            }
        })?);
    }
    Ok(guards)
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
    let store = open_store(&project, operation).await?;
    // Started after the lock is taken: only the process holding the project's lock runs the
    // project's emulated cloud.
    let emulator = match cli.emulate {
        true => Some(crate::emulate::start_for_project(&project.root).await?),
        false => None,
    };
    Ok(Opened {
        session: Session::new(project, env, store, registry(), events, options, cancel),
        _emulator: emulator,
    })
}

/// Releases locks taken by [`lock_stacks`] and waits for it, so that the next run finds them free
/// (a lock only dropped is released in the background, which a process about to exit may cut off;
/// its lease then expires on its own).
pub async fn release_locks(guards: Vec<strata_state::LockGuard>) {
    for g in guards {
        if let Err(e) = g.release().await {
            tracing::warn!("releasing a state lock: {e}");
        }
    }
}
