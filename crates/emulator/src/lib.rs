//! The cloud emulator.
//!
//! One HTTP server on a loopback port serves every emulated cloud, each under the paths its real
//! API uses (`/v2/...` for DigitalOcean), plus one emulated Kubernetes API per emulated cluster
//! under `/k8s/{cluster_id}/` (see [`kubernetes`]), plus an admin API under `/_emulator/` for
//! out-of-band changes (see [`admin`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), strata_emulator::EmulatorError> {
//! use strata_emulator::{Emulator, EmulatorConfig};
//! let emulator = Emulator::start("127.0.0.1:0".parse().unwrap(), EmulatorConfig::default()).await?;
//! let endpoint = emulator.base_url(); // point the DigitalOcean provider here
//! # let _ = endpoint;
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Design choices worth knowing:
//! - The emulated cloud is persisted in `DATA_DIR/cloud.json` and re-read whenever another
//!   process changed it, so consecutive commands, and admin changes made while a server runs,
//!   all see one cloud.
//! - Long-running operations are computed from stored deadlines, never from timers: a cluster
//!   created by one process is `running` when a later process reads it.
//! - Faults are injected before a request reaches its handler, so a faulted request never
//!   changes the cloud, and never into the admin API.

pub mod admin;
mod aws;
mod azure;
mod bad_answers;
mod clock;
mod clouds;
mod config;
mod digitalocean;
mod error;
mod faults;
mod google;
pub mod kubernetes;
mod onprem;
mod request_log;
mod server;
mod services;
mod store;

pub use bad_answers::{BadAnswer, BadAnswers, HUGE_BODY_BYTES};
pub use config::{EmulatorConfig, Faults};
pub use error::EmulatorError;
pub use server::Emulator;
