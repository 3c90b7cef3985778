//! `--emulate` and `strata emulator …`: the cloud emulator started in-process, and its admin
//! operations on a persisted emulated cloud.

use crate::session::hinted;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use strata_emulator::{Emulator, EmulatorConfig, Faults};

/// Where a project keeps its emulated cloud.
pub fn project_data_dir(root: &Path) -> PathBuf {
    root.join(".strata").join("emulator")
}

fn env_f64(name: &str) -> anyhow::Result<f64> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| hinted(format!("{name}={v:?} is not a number"), "use a value such as 0.2")),
        Err(_) => Ok(0.0),
    }
}

fn env_ms(name: &str, default: u64) -> anyhow::Result<Duration> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| hinted(format!("{name}={v:?} is not a whole number of milliseconds"), "use a value such as 500")),
        Err(_) => Ok(Duration::from_millis(default)),
    }
}

/// Faults from the environment, so that tests and drills can turn them on for any command:
/// `STRATA_EMULATOR_LATENCY_MS`, `STRATA_EMULATOR_JITTER_MS`, `STRATA_EMULATOR_ERROR_RATE`,
/// `STRATA_EMULATOR_THROTTLE_RATE`.
fn faults_from_env() -> anyhow::Result<Faults> {
    Ok(Faults {
        latency: env_ms("STRATA_EMULATOR_LATENCY_MS", 0)?,
        jitter: env_ms("STRATA_EMULATOR_JITTER_MS", 0)?,
        error_rate: env_f64("STRATA_EMULATOR_ERROR_RATE")?,
        throttle_rate: env_f64("STRATA_EMULATOR_THROTTLE_RATE")?,
        ..Faults::default()
    })
}

/// Starts the emulator for a project and points every provider at it with fake credentials.
///
/// The port is kept in `.strata/emulator/port` and reused, so that endpoints recorded in state
/// (a cluster's API address in its kubeconfig) stay valid from one command to the next; only one
/// strata process works on a project at a time, so the port is free unless something else took it.
pub async fn start_for_project(root: &Path) -> anyhow::Result<Emulator> {
    let dir = project_data_dir(root);
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    let port_file = dir.join("port");
    let remembered: Option<u16> = std::fs::read_to_string(&port_file).ok().and_then(|s| s.trim().parse().ok());
    let config = |dir: &Path| -> anyhow::Result<EmulatorConfig> {
        Ok(EmulatorConfig {
            data_dir: Some(dir.to_path_buf()),
            request_log: Some(dir.join("requests.jsonl")),
            provision_time: env_ms("STRATA_EMULATOR_PROVISION_MS", 2000)?,
            faults: faults_from_env()?,
        })
    };
    let emulator = match remembered {
        Some(port) => match Emulator::start(SocketAddr::from(([127, 0, 0, 1], port)), config(&dir)?).await {
            Ok(e) => e,
            Err(_) => Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config(&dir)?).await?,
        },
        None => Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config(&dir)?).await?,
    };
    std::fs::write(&port_file, emulator.addr().port().to_string())
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", port_file.display()))?;
    point_providers_at(&emulator.base_url());
    Ok(emulator)
}

/// Fake credentials and endpoints for every provider, read by the providers when they are
/// configured. Set before any provider is configured, from the single thread that starts the run.
fn point_providers_at(base_url: &str) {
    for (k, v) in [("DIGITALOCEAN_TOKEN", "emulator-token"), ("DIGITALOCEAN_API_URL", base_url)] {
        std::env::set_var(k, v);
    }
}
