//! The persisted emulated cloud.
//!
//! Several processes may share one data folder (`strata apply` and then `strata plan` under
//! `--emulate`, or `strata emulator set` while a server runs), so the file on disk is the truth:
//! every access first reloads `cloud.json` if another process replaced it, every mutation holds an
//! exclusive lock on `cloud.json.lock` from reload to write, and writes go to a temporary file that
//! is synced and renamed over the old one, so a reader never sees half a cloud.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::digitalocean::model::Account;
use crate::EmulatorError;

/// Name of the persisted cloud inside the data folder.
pub(crate) const CLOUD_FILE: &str = "cloud.json";

/// The version of the `cloud.json` format this code writes.
const FORMAT_VERSION: u32 = 1;

/// Everything the emulator persists except the emulated Kubernetes objects, which the Kubernetes
/// API servers keep themselves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Cloud {
    /// Lets a newer emulator migrate, and an older one refuse, a file it does not understand.
    pub format_version: u32,
    #[serde(default)]
    pub digitalocean: Account,
    #[serde(default)]
    pub aws: crate::aws::Account,
    #[serde(default)]
    pub azure: crate::azure::Account,
    #[serde(default)]
    pub google: crate::google::Account,
    #[serde(default)]
    pub onprem: crate::onprem::Account,
}

impl Default for Cloud {
    fn default() -> Self {
        Cloud {
            format_version: FORMAT_VERSION,
            digitalocean: Account::default(),
            aws: Default::default(),
            azure: Default::default(),
            google: Default::default(),
            onprem: Default::default(),
        }
    }
}

/// What identifies one version of the file on disk; a change means another process wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

struct Loaded {
    cloud: Cloud,
    stamp: Option<Stamp>,
    /// The file's bytes as last read or written, to tell a real change from a mere touch.
    bytes: Vec<u8>,
}

/// A file modified this recently may be modified again within the same timestamp tick (file
/// systems stamp with a coarse clock), so its stamp alone cannot prove it unchanged.
const RACY_WINDOW: std::time::Duration = std::time::Duration::from_secs(2);

impl Stamp {
    fn is_racy(&self) -> bool {
        match self.modified.map(|m| SystemTime::now().duration_since(m)) {
            Some(Ok(age)) => age < RACY_WINDOW,
            _ => true,
        }
    }
}

/// The emulated cloud, in memory and (with a data folder) on disk.
pub(crate) struct Store {
    file: Option<PathBuf>,
    loaded: Mutex<Loaded>,
    /// Grows whenever the in-memory cloud changes (a mutation here or a reload), so that
    /// dependents such as the Kubernetes API registrations know when to resynchronise.
    generation: AtomicU64,
}

impl Store {
    /// Opens the cloud persisted in `data_dir` (creating the folder if needed), or an empty
    /// in-memory cloud without one.
    pub fn open(data_dir: Option<&Path>) -> Result<Store, EmulatorError> {
        let file = match data_dir {
            Some(dir) => {
                fs::create_dir_all(dir).map_err(|e| EmulatorError::io(dir, e))?;
                Some(dir.join(CLOUD_FILE))
            }
            None => None,
        };
        let store = Store {
            file,
            loaded: Mutex::new(Loaded {
                cloud: Cloud::default(),
                stamp: None,
                bytes: Vec::new(),
            }),
            generation: AtomicU64::new(1),
        };
        drop(store.lock_fresh()?);
        Ok(store)
    }

    /// How many times the in-memory cloud has changed; compare two readings to detect a change.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Runs `f` on the current cloud.
    pub fn read<R>(&self, f: impl FnOnce(&Cloud) -> R) -> Result<R, EmulatorError> {
        let guard = self.lock_fresh()?;
        Ok(f(&guard.cloud))
    }

    /// Runs `f` on a copy of the current cloud and, when it succeeds, makes the copy the new
    /// cloud and persists it. A failing `f` leaves the cloud untouched, which is what keeps a
    /// rejected API request from changing anything.
    pub fn update<R, E>(&self, f: impl FnOnce(&mut Cloud) -> Result<R, E>) -> Result<R, E>
    where
        E: From<EmulatorError>,
    {
        let _file_lock = self.lock_file()?;
        let mut guard = self.lock_fresh()?;
        let mut cloud = guard.cloud.clone();
        let result = f(&mut cloud)?;
        let (stamp, bytes) = self.persist(&cloud)?;
        guard.cloud = cloud;
        guard.stamp = stamp;
        guard.bytes = bytes;
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(result)
    }

    /// Locks the in-memory cloud after reloading it if the file changed behind our back.
    fn lock_fresh(&self) -> Result<MutexGuard<'_, Loaded>, EmulatorError> {
        let mut guard = self
            .loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(path) = &self.file else {
            return Ok(guard);
        };
        let stamp = match fs::metadata(path) {
            Ok(meta) => Some(Stamp {
                modified: meta.modified().ok(),
                len: meta.len(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(EmulatorError::io(path, e)),
        };
        let unchanged = stamp == guard.stamp && !stamp.is_some_and(|s| s.is_racy());
        if unchanged {
            return Ok(guard);
        }
        let bytes = match stamp {
            Some(_) => fs::read(path).map_err(|e| EmulatorError::io(path, e))?,
            None => Vec::new(),
        };
        if bytes != guard.bytes || guard.stamp.is_none() != stamp.is_none() {
            guard.cloud = if bytes.is_empty() {
                Cloud::default()
            } else {
                parse(path, &bytes)?
            };
            guard.bytes = bytes;
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        guard.stamp = stamp;
        Ok(guard)
    }

    /// Takes the cross-process lock that serialises writers; released when the file is dropped.
    fn lock_file(&self) -> Result<Option<File>, EmulatorError> {
        let Some(path) = &self.file else {
            return Ok(None);
        };
        let lock_path = path.with_extension("json.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| EmulatorError::io(&lock_path, e))?;
        fs4::fs_std::FileExt::lock_exclusive(&file)
            .map_err(|e| EmulatorError::io(&lock_path, e))?;
        Ok(Some(file))
    }

    /// Writes the cloud atomically: temporary file, fsync, rename, fsync of the folder.
    fn persist(&self, cloud: &Cloud) -> Result<(Option<Stamp>, Vec<u8>), EmulatorError> {
        let Some(path) = &self.file else {
            return Ok((None, Vec::new()));
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let tmp = dir.join(format!(
            ".{CLOUD_FILE}.{}.{}.tmp",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let mut bytes = serde_json::to_vec_pretty(cloud).map_err(|e| EmulatorError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, path)?;
            // The rename is only durable once the folder entry is; not every platform lets a
            // folder be opened for syncing, and a failure there does not undo the rename.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(())
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&tmp);
            return Err(EmulatorError::io(path, e));
        }
        let meta = fs::metadata(path).map_err(|e| EmulatorError::io(path, e))?;
        let stamp = Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        };
        Ok((Some(stamp), bytes))
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Cloud, EmulatorError> {
    let cloud: Cloud = serde_json::from_slice(bytes).map_err(|e| EmulatorError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if cloud.format_version > FORMAT_VERSION {
        return Err(EmulatorError::Corrupt {
            path: path.to_path_buf(),
            message: format!(
                "it was written in format {} by a newer emulator; this one reads format {FORMAT_VERSION}",
                cloud.format_version
            ),
        });
    }
    Ok(cloud)
}
