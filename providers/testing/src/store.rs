//! The "cloud": one JSON file per object, `<dir>/<type>/<id>.json`.
//!
//! Tests kill `strata` with SIGKILL at arbitrary moments and then check that state and cloud
//! agree, so a write must never leave a torn object behind. Every write goes to a temporary file
//! in the same folder, is flushed to disk, and is renamed over the object; the folder is flushed
//! too so the rename itself survives. A reader therefore sees the old object or the new one,
//! never half of either. Temporary files left by a kill start with `.` and are ignored.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const SUFFIX: &str = ".json";

/// An object file's folder and the operations on it. Blocking: callers run it off the async
/// executor.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    fn type_dir(&self, type_name: &str) -> PathBuf {
        self.root.join(type_name)
    }

    fn object_path(&self, type_name: &str, id: &str) -> io::Result<PathBuf> {
        if !is_valid_id(id) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{id:?} is not an id of the testing provider"),
            ));
        }
        Ok(self.type_dir(type_name).join(format!("{id}{SUFFIX}")))
    }

    /// Writes the object atomically: afterwards the file holds `object`, and at any instant
    /// before it held the previous version (or nothing).
    pub fn write(&self, type_name: &str, id: &str, object: &serde_json::Value) -> io::Result<()> {
        let path = self.object_path(type_name, id)?;
        let dir = self.type_dir(type_name);
        fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{id}.{}.tmp", uuid::Uuid::new_v4().simple()));
        let result = (|| {
            let mut file = File::create(&tmp)?;
            serde_json::to_writer_pretty(&mut file, object)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&tmp, &path)?;
            sync_dir(&dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// The object, or `None` if there is no such object.
    pub fn read(&self, type_name: &str, id: &str) -> io::Result<Option<serde_json::Value>> {
        let path = self.object_path(type_name, id)?;
        match fs::read(&path) {
            Ok(bytes) => parse(&path, &bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes the object; one that is already gone counts as deleted.
    pub fn remove(&self, type_name: &str, id: &str) -> io::Result<()> {
        let path = self.object_path(type_name, id)?;
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.type_dir(type_name)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every object of one type as `(id, object)`, sorted by id.
    pub fn list(&self, type_name: &str) -> io::Result<Vec<(String, serde_json::Value)>> {
        let dir = self.type_dir(type_name);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(object_id) else {
                continue;
            };
            // An object deleted between listing and reading is simply gone.
            match fs::read(entry.path()) {
                Ok(bytes) => out.push((id.to_string(), parse(&entry.path(), &bytes)?)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The object types that have a folder, sorted.
    fn types(&self) -> io::Result<Vec<String>> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut types = Vec::new();
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                if let Some(name) = entry.file_name().to_str() {
                    types.push(name.to_string());
                }
            }
        }
        types.sort();
        Ok(types)
    }
}

/// Every object in the cloud folder `dir` as `(type, id, attributes)`, sorted by type then id,
/// so that tests can compare what exists with what state records. A folder that does not exist
/// holds no objects.
pub fn inventory(dir: &Path) -> io::Result<Vec<(String, String, serde_json::Value)>> {
    let store = Store::new(dir);
    let mut out = Vec::new();
    for type_name in store.types()? {
        for (id, object) in store.list(&type_name)? {
            out.push((type_name.clone(), id, object));
        }
    }
    Ok(out)
}

/// Ids become file names, so only a conservative alphabet is accepted: no separators, no
/// leading dot (temporary files), nothing that could climb out of the folder.
fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// The id of an object file name, `None` for temporary and foreign files.
fn object_id(file_name: &str) -> Option<&str> {
    file_name.strip_suffix(SUFFIX).filter(|id| is_valid_id(id))
}

fn parse(path: &Path, bytes: &[u8]) -> io::Result<serde_json::Value> {
    serde_json::from_slice(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a valid object: {e}", path.display()),
        )
    })
}

/// Flushes a folder's entries (a rename or removal) to disk.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_round_trip_and_leftover_temporary_files_are_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        store
            .write("testing_thing", "a1", &json!({"name": "a"}))
            .unwrap();
        store
            .write("testing_thing", "a1", &json!({"name": "b"}))
            .unwrap();
        // What a SIGKILL between write and rename leaves behind.
        fs::write(tmp.path().join("testing_thing/.a2.123.tmp"), "{\"na").unwrap();
        assert_eq!(
            store.read("testing_thing", "a1").unwrap(),
            Some(json!({"name": "b"}))
        );
        assert_eq!(
            inventory(tmp.path()).unwrap(),
            vec![("testing_thing".into(), "a1".into(), json!({"name": "b"}))]
        );
        store.remove("testing_thing", "a1").unwrap();
        store.remove("testing_thing", "a1").unwrap();
        assert_eq!(store.read("testing_thing", "a1").unwrap(), None);
        assert!(inventory(tmp.path()).unwrap().is_empty());
    }

    #[test]
    fn ids_cannot_escape_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("cloud"));
        for bad in ["../x", "a/b", "", ".hidden"] {
            let e = store.read("testing_thing", bad).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn a_missing_cloud_folder_is_empty() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(inventory(&tmp.path().join("nothing")).unwrap().is_empty());
    }
}
