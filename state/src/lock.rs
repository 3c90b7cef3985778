//! The project lock of the local backend: one process at a time per project.
//!
//! It is an OS lock (`flock` on Unix, `LockFileEx` on Windows) on `.strata/state.lock`, not the
//! existence of a file, so it disappears with the process that holds it, even after a SIGKILL,
//! and there is never a stale lock to clean up. `flock` belongs to an open file description:
//! a second open of the same project conflicts even within one process. The file's content
//! only tells others who holds the lock.

use crate::error::StateError;
use crate::model::now_rfc3339;
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Who holds a state lock, shown to whoever else wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// What the holder is doing: `apply`, `plan`, `state`.
    pub operation: String,
    pub pid: u32,
    pub user: String,
    pub host: String,
    /// RFC 3339.
    pub since: String,
}

impl LockInfo {
    /// This process, doing `operation`, from now.
    pub fn current(operation: &str) -> LockInfo {
        LockInfo {
            operation: operation.to_string(),
            pid: std::process::id(),
            user: ["USER", "USERNAME", "LOGNAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
                .unwrap_or_else(|| "unknown".into()),
            host: host_name(),
            since: now_rfc3339(),
        }
    }

    /// Stands in when the holder's file cannot be read: the lock is still held, we just cannot
    /// say by whom.
    fn unknown() -> LockInfo {
        LockInfo {
            operation: "unknown operation".into(),
            pid: 0,
            user: "unknown".into(),
            host: "unknown".into(),
            since: "an unknown time".into(),
        }
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            ["HOSTNAME", "COMPUTERNAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        })
        .unwrap_or_else(|| "localhost".into())
}

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub(crate) struct ProjectLock {
    file: File,
}

impl ProjectLock {
    /// Takes the lock at `path` without waiting, and records `holder` in it.
    pub(crate) fn acquire(path: &Path, holder: &LockInfo) -> Result<ProjectLock, StateError> {
        let io = |context: &str, source| StateError::Io {
            context: context.to_string(),
            path: PathBuf::from(path),
            source,
        };
        // Never truncate on open: before we hold the lock, the content belongs to the holder.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| io("opening the state lock", e))?;
        if !FileExt::try_lock_exclusive(&file).map_err(|e| io("locking the state", e))? {
            return Err(StateError::Locked {
                holder: read_holder(&mut file),
            });
        }
        let text =
            serde_json::to_vec(holder).map_err(|e| io("recording the lock holder", e.into()))?;
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(&text))
            .and_then(|()| file.sync_data())
            .map_err(|e| io("recording the lock holder", e))?;
        Ok(ProjectLock { file })
    }
}

impl Drop for ProjectLock {
    fn drop(&mut self) {
        // Best effort: the holder's details are stale once we let go. The OS releases the lock
        // itself when the file is closed.
        let _ = self.file.set_len(0);
    }
}

/// The holder recorded in a lock file someone else holds. It may have taken the lock an
/// instant ago without having written its details yet, so a few short retries are allowed.
fn read_holder(file: &mut File) -> LockInfo {
    for _ in 0..20 {
        let mut text = Vec::new();
        if file.seek(SeekFrom::Start(0)).is_ok() && file.read_to_end(&mut text).is_ok() {
            if let Ok(info) = serde_json::from_slice::<LockInfo>(&text) {
                return info;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    LockInfo::unknown()
}
