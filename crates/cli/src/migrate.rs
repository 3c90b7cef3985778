//! `strata init -migrate-state`: moving every state from the backend the last `init` saw to the
//! one `strata.hcl` names now (local sled to an S3 bucket, and back).
//!
//! Each `init` records the backend it checked in `.strata/backend.json` (kind and settings; the
//! settings hold names of variables, never secrets). When the block changes, `init` refuses to go
//! on until the states are migrated, so that no run starts from an empty backend while the real
//! state sits in the old one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, Context};
use serde::{Deserialize, Serialize};
use strata_config::{Backend, Project};
use strata_core::Value;
use strata_state::{JournalEntry, StateStore};

use crate::session::{self, hinted};

#[derive(Serialize, Deserialize)]
struct Recorded {
    kind: String,
    settings: BTreeMap<String, serde_json::Value>,
}

fn record_path(project: &Project) -> PathBuf {
    project.root.join(".strata").join("backend.json")
}

/// The backend the last `strata init` of this project checked, if any.
pub fn previous_backend(project: &Project) -> anyhow::Result<Option<Backend>> {
    let path = record_path(project);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow!("reading {}: {e}", path.display())),
    };
    let recorded: Recorded = serde_json::from_str(&text).map_err(|e| {
        hinted(
            format!("{} is damaged: {e}", path.display()),
            "delete it and run strata init again (it only remembers the last backend)",
        )
    })?;
    Ok(Some(Backend {
        kind: recorded.kind,
        settings: recorded
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), Value::from_json(v)))
            .collect(),
        span: None,
    }))
}

/// Records the project's backend as the one this `init` checked.
pub fn remember_backend(project: &Project) -> anyhow::Result<()> {
    let path = record_path(project);
    let recorded = Recorded {
        kind: project.backend.kind.clone(),
        settings: project
            .backend
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&recorded)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// True when both name the same place.
pub fn same(a: &Backend, b: &Backend) -> bool {
    a.kind == b.kind && a.settings == b.settings
}

/// `local`, or `s3 (bucket NAME, prefix P)`.
pub fn describe(b: &Backend) -> String {
    let text = |k: &str| b.settings.get(k).and_then(|v| v.as_str()).unwrap_or("");
    match b.kind.as_str() {
        "s3" if text("prefix").is_empty() => format!("s3 (bucket {})", text("bucket")),
        "s3" => format!("s3 (bucket {}, prefix {})", text("bucket"), text("prefix")),
        other => other.to_string(),
    }
}

/// Copies every state of `from` into `to`, with its open intents; a state already copied (same
/// lineage, serial at least as new) is left alone, so an interrupted migration can run again.
pub async fn migrate(project: &Project, from: &Backend, to: &dyn StateStore) -> anyhow::Result<()> {
    let source = session::open_backend(project, from, "migrate").await?;
    let keys = source.keys().await?;
    outln!(
        "Migrating {} state(s) from {} to {}:",
        keys.len(),
        describe(from),
        describe(&project.backend)
    );
    for key in keys {
        let _held = (
            source.lock(&key, "migrate").await?,
            to.lock(&key, "migrate").await?,
        );
        let Some(loaded) = source.load(&key).await? else {
            continue;
        };
        let state = loaded.state;
        let base = match to.load(&key).await? {
            Some(existing) if existing.state.lineage != state.lineage => {
                return Err(hinted(
                    format!(
                        "{key} already holds another state in {} (lineage {}, migrating lineage {})",
                        describe(&project.backend),
                        existing.state.lineage,
                        state.lineage
                    ),
                    "point the backend at an empty bucket or prefix, or remove that state first",
                ));
            }
            Some(existing) if existing.state.serial >= state.serial => {
                outln!("  {key}: already there (serial {})", existing.state.serial);
                continue;
            }
            Some(existing) => existing.state.serial,
            None => 0,
        };
        let serial = to.persist(&key, &state, base).await?;
        for intent in &loaded.open_intents {
            to.append(&key, &JournalEntry::Intent(intent.clone()))
                .await?;
        }
        let copied = to
            .load(&key)
            .await?
            .ok_or_else(|| anyhow!("{key} is missing right after it was copied"))?;
        if copied.state.resources != state.resources || copied.state.outputs != state.outputs {
            return Err(anyhow!(
                "{key} reads back differently after the copy; the old backend is untouched"
            ));
        }
        outln!(
            "  {key}: {} resources, serial {serial}",
            copied.state.resources.len()
        );
    }
    outln!(
        "The states are in {} now. The old backend keeps its copy until you remove it.",
        describe(&project.backend)
    );
    Ok(())
}
