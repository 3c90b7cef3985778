//! `--emulate` and `strata emulator …`: the cloud emulator started in-process, and its admin
//! operations on a persisted emulated cloud.

use crate::session::hinted;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use strata_emulator::{BadAnswer, BadAnswers, Emulator, EmulatorConfig, Faults};

/// Where a project keeps its emulated cloud.
pub fn project_data_dir(root: &Path) -> PathBuf {
    root.join(".strata").join("emulator")
}

fn env_f64(name: &str) -> anyhow::Result<f64> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| {
            hinted(
                format!("{name}={v:?} is not a number"),
                "use a value such as 0.2",
            )
        }),
        Err(_) => Ok(0.0),
    }
}

fn env_ms(name: &str, default: u64) -> anyhow::Result<Duration> {
    match std::env::var(name) {
        Ok(v) => v.parse().map(Duration::from_millis).map_err(|_| {
            hinted(
                format!("{name}={v:?} is not a whole number of milliseconds"),
                "use a value such as 500",
            )
        }),
        Err(_) => Ok(Duration::from_millis(default)),
    }
}

/// Faults from the environment, so that tests and drills can turn them on for any command:
/// `STRATA_EMULATOR_LATENCY_MS`, `STRATA_EMULATOR_JITTER_MS`, `STRATA_EMULATOR_ERROR_RATE`,
/// `STRATA_EMULATOR_THROTTLE_RATE`, `STRATA_EMULATOR_RATE_LIMIT` (requests per second).
fn faults_from_env() -> anyhow::Result<Faults> {
    Ok(Faults {
        latency: env_ms("STRATA_EMULATOR_LATENCY_MS", 0)?,
        jitter: env_ms("STRATA_EMULATOR_JITTER_MS", 0)?,
        error_rate: env_f64("STRATA_EMULATOR_ERROR_RATE")?,
        throttle_rate: env_f64("STRATA_EMULATOR_THROTTLE_RATE")?,
        rate_limit: match env_f64("STRATA_EMULATOR_RATE_LIMIT")? {
            r if r > 0.0 => Some(r),
            _ => None,
        },
        ..Faults::default()
    })
}

/// Bad answers from the environment, for drills of what a client does with them:
/// `STRATA_EMULATOR_BAD_ANSWER` (`garbage`, `html502`, `huge`, `reset` or `hang`),
/// `STRATA_EMULATOR_BAD_ANSWER_RATE` (fraction of matching requests, default 1) and
/// `STRATA_EMULATOR_BAD_ANSWER_PATH` (only requests whose `METHOD /path` contains this text).
fn bad_answers_from_env() -> anyhow::Result<BadAnswers> {
    let kind = match std::env::var("STRATA_EMULATOR_BAD_ANSWER") {
        Ok(v) if !v.trim().is_empty() => Some(v.parse::<BadAnswer>().map_err(|e| {
            hinted(
                format!("STRATA_EMULATOR_BAD_ANSWER: {e}"),
                "for cut-off JSON answers: STRATA_EMULATOR_BAD_ANSWER=garbage",
            )
        })?),
        _ => None,
    };
    let rate = match std::env::var("STRATA_EMULATOR_BAD_ANSWER_RATE") {
        Ok(_) => env_f64("STRATA_EMULATOR_BAD_ANSWER_RATE")?,
        Err(_) => 1.0,
    };
    if !(0.0..=1.0).contains(&rate) {
        return Err(hinted(
            format!("STRATA_EMULATOR_BAD_ANSWER_RATE={rate} is not a fraction between 0 and 1"),
            "for one request in five: STRATA_EMULATOR_BAD_ANSWER_RATE=0.2",
        ));
    }
    Ok(BadAnswers {
        kind,
        rate,
        path_contains: std::env::var("STRATA_EMULATOR_BAD_ANSWER_PATH")
            .ok()
            .filter(|p| !p.is_empty()),
        ..BadAnswers::default()
    })
}

/// Starts the emulator for a project and points every provider at it with fake credentials.
///
/// The port is kept in `.strata/emulator/port` and reused, so that endpoints recorded in state
/// (a cluster's API address in its kubeconfig) stay valid from one command to the next; only one
/// strata process works on a project at a time, so the port is free unless something else took it.
pub async fn start_for_project(root: &Path) -> anyhow::Result<Emulator> {
    let dir = project_data_dir(root);
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    let port_file = dir.join("port");
    let remembered: Option<u16> = std::fs::read_to_string(&port_file)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let config = |dir: &Path| -> anyhow::Result<EmulatorConfig> {
        Ok(EmulatorConfig {
            data_dir: Some(dir.to_path_buf()),
            request_log: Some(dir.join("requests.jsonl")),
            provision_time: env_ms("STRATA_EMULATOR_PROVISION_MS", 2000)?,
            faults: faults_from_env()?,
            bad_answers: bad_answers_from_env()?,
        })
    };
    let emulator = match remembered {
        Some(port) => {
            match Emulator::start(SocketAddr::from(([127, 0, 0, 1], port)), config(&dir)?).await {
                Ok(e) => e,
                Err(_) => {
                    Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config(&dir)?).await?
                }
            }
        }
        None => Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config(&dir)?).await?,
    };
    std::fs::write(&port_file, emulator.addr().port().to_string())
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", port_file.display()))?;
    point_providers_at(&emulator.base_url(), &dir);
    Ok(emulator)
}

/// Fake credentials and endpoints for every provider, read by the providers when they are
/// configured. Set before any provider is configured, from the single thread that starts the run.
fn point_providers_at(base_url: &str, data_dir: &Path) {
    for (k, v) in [
        ("DIGITALOCEAN_TOKEN", "emulator-token"),
        ("DIGITALOCEAN_API_URL", base_url),
    ] {
        std::env::set_var(k, v);
    }
    let others = [
        strata_provider_aws::emulator_env(base_url, data_dir),
        strata_provider_azure::emulator_env(base_url, data_dir),
        strata_provider_google::emulator_env(base_url, data_dir),
        strata_provider_onprem::emulator_env(base_url, data_dir),
    ];
    for (k, v) in others.into_iter().flatten() {
        std::env::set_var(k, v);
    }
}

/// The data folder an admin command works on: `--data`, else the project's emulated cloud.
fn admin_data_dir(cli: &crate::args::Cli, data: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(d) = data {
        return Ok(d.to_path_buf());
    }
    let root = crate::session::find_root(cli.dir.as_deref()).map_err(|_| {
        hinted(
            "no emulated cloud to work on",
            "pass --data DIR, or run inside a project that was used with --emulate",
        )
    })?;
    let dir = project_data_dir(&root);
    if !dir.is_dir() {
        return Err(hinted(
            format!("{} has no emulated cloud yet", root.display()),
            "run a command with --emulate first, e.g. strata --emulate apply --all",
        ));
    }
    Ok(dir)
}

/// `strata emulator serve|list|set|delete`.
pub async fn command(
    cli: &crate::args::Cli,
    cmd: &crate::args::EmulatorCommand,
) -> anyhow::Result<u8> {
    use crate::args::EmulatorCommand;
    match cmd {
        EmulatorCommand::Serve {
            addr,
            data,
            request_log,
            provision_seconds,
            latency_ms,
            jitter_ms,
            error_rate,
            throttle_rate,
            rate_limit,
        } => {
            if !(0.0..=1.0).contains(error_rate) || !(0.0..=1.0).contains(throttle_rate) {
                return Err(hinted(
                    "rates are fractions between 0 and 1",
                    "for one request in five: --error-rate 0.2",
                ));
            }
            if !addr.ip().is_loopback() {
                return Err(hinted(
                    format!("the emulator serves plain HTTP and only on loopback, not on {addr}"),
                    "use an address such as 127.0.0.1:8787",
                ));
            }
            let config = EmulatorConfig {
                data_dir: data.clone(),
                request_log: request_log.clone(),
                provision_time: Duration::from_secs_f64(provision_seconds.max(0.0)),
                faults: Faults {
                    latency: Duration::from_millis(*latency_ms),
                    jitter: Duration::from_millis(*jitter_ms),
                    error_rate: *error_rate,
                    throttle_rate: *throttle_rate,
                    rate_limit: rate_limit.filter(|r| *r > 0.0),
                    ..Faults::default()
                },
                bad_answers: bad_answers_from_env()?,
            };
            let emulator = Emulator::start(*addr, config).await?;
            outln!("Emulator serving on {}", emulator.base_url());
            outln!(
                "  DigitalOcean:  DIGITALOCEAN_API_URL={} DIGITALOCEAN_TOKEN=any",
                emulator.base_url()
            );
            outln!(
                "  Kubernetes:    each emulated cluster's kubeconfig points at {}/k8s/<cluster>",
                emulator.base_url()
            );
            outln!("Press Ctrl-C to stop.");
            let _ = tokio::signal::ctrl_c().await;
            emulator.shutdown().await;
            Ok(crate::exit::OK)
        }
        EmulatorCommand::List { data, json } => {
            let dir = admin_data_dir(cli, data.as_deref())?;
            let objects =
                tokio::task::spawn_blocking(move || strata_emulator::admin::list(&dir)).await??;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&objects)?);
            } else if objects.is_empty() {
                outln!("The emulated cloud is empty.");
            } else {
                for o in &objects {
                    let fields: Vec<String> =
                        o.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    outln!(
                        "{:<13} {:<22} {:<38} {:<28} {}",
                        o.cloud,
                        o.kind,
                        o.id,
                        o.name,
                        fields.join(" ")
                    );
                }
            }
            Ok(crate::exit::OK)
        }
        EmulatorCommand::Set {
            object,
            field,
            value,
            data,
        } => {
            let dir = admin_data_dir(cli, data.as_deref())?;
            let v: serde_json::Value = serde_json::from_str(value)
                .unwrap_or_else(|_| serde_json::Value::String(value.clone()));
            let (o, f) = (object.clone(), field.clone());
            tokio::task::spawn_blocking(move || strata_emulator::admin::set(&dir, &o, &f, v))
                .await??;
            outln!("Set {field} of {object}.");
            Ok(crate::exit::OK)
        }
        EmulatorCommand::Delete { object, data } => {
            let dir = admin_data_dir(cli, data.as_deref())?;
            let o = object.clone();
            tokio::task::spawn_blocking(move || strata_emulator::admin::delete(&dir, &o)).await??;
            outln!("Deleted {object}.");
            Ok(crate::exit::OK)
        }
    }
}
