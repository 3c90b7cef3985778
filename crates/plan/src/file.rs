//! The plan file: a saved plan that `strata apply PLANFILE` executes.
//!
//! The file is JSON so that it can be inspected and diffed, and it is versioned:
//!
//! ```json
//! { "kind": "strata-plan", "format_version": 1, "project": "shop", "env": "stage", ... }
//! ```
//!
//! Values are stored with [`Value::to_marked_json`] in redacted form: **a sensitive value is
//! never written**, only the fact that there was one. The engine does not need the secrets
//! back: it plans again at apply time and checks, with [`Plan::fingerprint`], that the new
//! plan is the one that was approved.

use crate::model::{Action, OutputChange, Plan, ResourceChange, StackPlan, FORMAT_VERSION};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use strata_core::value::MarkedJson;
use strata_core::{Address, Path, Value};
use strata_encryption::Sealer;

/// The purpose sealed plan files are authenticated with.
const SEALED_PURPOSE: &str = "plan";

/// The value of the `kind` field that identifies a plan file.
const KIND: &str = "strata-plan";

/// Why a plan file could not be written or read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read plan file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write plan file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a Strata plan file: {detail}")]
    NotAPlan { path: PathBuf, detail: String },
    #[error("plan file {path} is truncated: it ends before the plan does ({detail}); make the plan again")]
    Truncated { path: PathBuf, detail: String },
    #[error(
        "plan file {path} has format version {found}, newer than this Strata reads (up to {supported}); \
         upgrade Strata or make the plan again with this version"
    )]
    NewerVersion {
        path: PathBuf,
        found: u64,
        supported: u32,
    },
    #[error("plan file {path} is damaged: {detail}")]
    Damaged { path: PathBuf, detail: String },
    #[error("cannot read plan file {path}: {reason}")]
    Encrypted { path: PathBuf, reason: String },
}

#[derive(Serialize, Deserialize)]
struct PlanFile {
    kind: String,
    format_version: u32,
    project: String,
    env: String,
    destroy: bool,
    created_at: String,
    strata_version: String,
    stacks: Vec<StackFile>,
}

#[derive(Serialize, Deserialize)]
struct StackFile {
    stack: String,
    state_lineage: Option<String>,
    state_serial: u64,
    config_digest: String,
    changes: Vec<ChangeFile>,
    outputs: Vec<OutputFile>,
}

#[derive(Serialize, Deserialize)]
struct ChangeFile {
    address: Address,
    provider: String,
    action: String,
    before: Option<MarkedJson>,
    after: Option<MarkedJson>,
    #[serde(default)]
    replace_because: Vec<Path>,
    #[serde(default)]
    create_before_destroy: bool,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct OutputFile {
    name: String,
    before: Option<MarkedJson>,
    after: Option<MarkedJson>,
    sensitive: bool,
}

fn encode(v: &Option<Value>) -> Option<MarkedJson> {
    v.as_ref().map(|v| v.to_marked_json(true))
}

fn decode(m: &Option<MarkedJson>) -> Option<Value> {
    m.as_ref().map(Value::from_marked_json)
}

/// An output marked sensitive is stored fully redacted, even where its value carries no mark.
fn encode_output(v: &Option<Value>, sensitive: bool) -> Option<MarkedJson> {
    v.as_ref().map(|v| {
        if sensitive {
            v.clone().sensitive().to_marked_json(true)
        } else {
            v.to_marked_json(true)
        }
    })
}

impl PlanFile {
    fn from_plan(plan: &Plan) -> PlanFile {
        PlanFile {
            kind: KIND.into(),
            format_version: FORMAT_VERSION,
            project: plan.project.clone(),
            env: plan.env.clone(),
            destroy: plan.destroy,
            created_at: plan.created_at.clone(),
            strata_version: plan.strata_version.clone(),
            stacks: plan
                .stacks
                .iter()
                .map(|s| StackFile {
                    stack: s.stack.clone(),
                    state_lineage: s.state_lineage.clone(),
                    state_serial: s.state_serial,
                    config_digest: s.config_digest.clone(),
                    changes: s
                        .changes
                        .iter()
                        .map(|c| ChangeFile {
                            address: c.address.clone(),
                            provider: c.provider.clone(),
                            action: c.action.as_str().into(),
                            before: encode(&c.before),
                            after: encode(&c.after),
                            replace_because: c.replace_because.clone(),
                            create_before_destroy: c.create_before_destroy,
                            reason: c.reason.clone(),
                        })
                        .collect(),
                    outputs: s
                        .outputs
                        .iter()
                        .map(|o| OutputFile {
                            name: o.name.clone(),
                            before: encode_output(&o.before, o.sensitive),
                            after: encode_output(&o.after, o.sensitive),
                            sensitive: o.sensitive,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn into_plan(self) -> Result<Plan, String> {
        let mut stacks = Vec::with_capacity(self.stacks.len());
        for s in self.stacks {
            let mut changes = Vec::with_capacity(s.changes.len());
            for c in s.changes {
                let action = Action::parse(&c.action)
                    .ok_or_else(|| format!("unknown action {:?} for {}", c.action, c.address))?;
                changes.push(ResourceChange {
                    address: c.address,
                    provider: c.provider,
                    action,
                    before: decode(&c.before),
                    after: decode(&c.after),
                    replace_because: c.replace_because,
                    create_before_destroy: c.create_before_destroy,
                    reason: c.reason,
                });
            }
            let outputs = s
                .outputs
                .into_iter()
                .map(|o| OutputChange {
                    name: o.name,
                    before: decode(&o.before),
                    after: decode(&o.after),
                    sensitive: o.sensitive,
                })
                .collect();
            stacks.push(StackPlan {
                stack: s.stack,
                state_lineage: s.state_lineage,
                state_serial: s.state_serial,
                config_digest: s.config_digest,
                changes,
                outputs,
            });
        }
        Ok(Plan {
            format_version: self.format_version,
            project: self.project,
            env: self.env,
            destroy: self.destroy,
            created_at: self.created_at,
            strata_version: self.strata_version,
            stacks,
        })
    }
}

impl Plan {
    /// The plan file's bytes: pretty JSON, sensitive values redacted.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(&PlanFile::from_plan(self))
            .expect("a plan file is plain JSON data and always serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Parses plan file bytes; `path` is only used to name the file in errors.
    pub fn from_file_bytes(path: &FsPath, bytes: &[u8]) -> Result<Plan, PlanFileError> {
        let path = path.to_path_buf();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(PlanFileError::NotAPlan {
                path,
                detail: "the file is empty".into(),
            });
        }
        let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_eof() {
                PlanFileError::Truncated {
                    path: path.clone(),
                    detail: e.to_string(),
                }
            } else {
                PlanFileError::NotAPlan {
                    path: path.clone(),
                    detail: format!("it is not JSON ({e})"),
                }
            }
        })?;
        let Some(obj) = json.as_object() else {
            return Err(PlanFileError::NotAPlan {
                path,
                detail: "it is JSON but not an object".into(),
            });
        };
        match obj.get("kind").and_then(|k| k.as_str()) {
            Some(KIND) => {}
            Some(other) => {
                return Err(PlanFileError::NotAPlan {
                    path,
                    detail: format!("its kind is {other:?}, expected {KIND:?}"),
                })
            }
            None => {
                return Err(PlanFileError::NotAPlan {
                    path,
                    detail: format!("it has no \"kind\": {KIND:?} field"),
                })
            }
        }
        let version = obj
            .get("format_version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| PlanFileError::Damaged {
                path: path.clone(),
                detail: "format_version is missing or not a whole number".into(),
            })?;
        if version > u64::from(FORMAT_VERSION) {
            return Err(PlanFileError::NewerVersion {
                path,
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version == 0 {
            return Err(PlanFileError::Damaged {
                path,
                detail: "format_version 0 does not exist".into(),
            });
        }
        let file: PlanFile = serde_json::from_value(json).map_err(|e| PlanFileError::Damaged {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        file.into_plan()
            .map_err(|detail| PlanFileError::Damaged { path, detail })
    }

    /// Writes the plan to `path`, replacing any file there. Sensitive values are never
    /// written. The file is written beside its destination and renamed into place, so a
    /// crash leaves either the old file or the new one, never half of one.
    ///
    /// With a `sealer` (an `encryption` block in the project), the file is sealed with
    /// AES-256-GCM and only a run with the same passphrase can read it.
    pub fn write_file(
        &self,
        path: impl AsRef<FsPath>,
        sealer: Option<&Sealer>,
    ) -> Result<(), PlanFileError> {
        let path = path.as_ref();
        let err = |source| PlanFileError::Write {
            path: path.to_path_buf(),
            source,
        };
        let file_name = path
            .file_name()
            .ok_or_else(|| err(std::io::Error::other("the path names no file")))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(file_name);
        tmp_name.push(format!(".{}.tmp", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let result = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut f = options.open(&tmp)?;
            let bytes = self.to_file_bytes();
            match sealer {
                Some(s) => f.write_all(&s.seal(SEALED_PURPOSE, &bytes))?,
                None => f.write_all(&bytes)?,
            }
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(err)
    }

    /// Reads a plan written by [`Plan::write_file`]. A file that is not JSON, not a plan,
    /// truncated, damaged or of a newer format gives an error that says which.
    /// A sealed plan file needs the `sealer` of the passphrase it was written with.
    pub fn read_file(
        path: impl AsRef<FsPath>,
        sealer: Option<&Sealer>,
    ) -> Result<Plan, PlanFileError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| PlanFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if !strata_encryption::is_sealed(&bytes) {
            return Plan::from_file_bytes(path, &bytes);
        }
        let encrypted = |reason: String| PlanFileError::Encrypted {
            path: path.to_path_buf(),
            reason,
        };
        let sealer = sealer
            .ok_or_else(|| encrypted("it is encrypted and no passphrase is configured".into()))?;
        let plain = sealer
            .open(SEALED_PURPOSE, &bytes)
            .map_err(|e| encrypted(e.to_string()))?;
        Plan::from_file_bytes(path, &plain)
    }

    /// A digest of what the plan would do: every address, action and redacted before/after
    /// value, in order. A plan read back from its file has the same fingerprint as the plan
    /// that was written, so the engine can plan again at apply time and check that the new
    /// plan still matches the saved one.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        for s in &self.stacks {
            field(b"stack");
            field(s.stack.as_bytes());
            for c in &s.changes {
                field(c.address.to_string().as_bytes());
                field(c.action.as_str().as_bytes());
                for v in [&c.before, &c.after] {
                    let json =
                        serde_json::to_vec(&encode(v)).expect("marked JSON always serializes");
                    field(&json);
                }
            }
        }
        let digest = h.finalize();
        let mut out = String::with_capacity(7 + 64);
        out.push_str("sha256:");
        for b in digest {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}
