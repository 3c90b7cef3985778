//! Finding the stacks of a project and fingerprinting their folders.

use super::*;

impl Loader {
    /// Every folder below the root (skipping names starting with `.`) holding `*.hcl` files.
    pub(super) fn find_stacks(&mut self) -> Vec<(String, PathBuf)> {
        let mut out = Vec::new();
        let root = self.root.clone();
        for f in hcl_files(&root) {
            if f.file_name().is_some_and(|n| n != PROJECT_FILE) {
                let rel = self.rel(&f);
                self.diags.push(
                    Diagnostic::error(format!("{} is not part of any stack", rel.display()))
                        .with_detail(format!("Only {PROJECT_FILE} is read at the project root; a stack is a sub-folder with *.hcl files."))
                        .with_hint("move the file into a stack folder"),
                );
            }
        }
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            for sub in subdirs(&dir).into_iter().rev() {
                if !hcl_files(&sub).is_empty() {
                    let name = stack_name(&root, &sub);
                    out.push((name, sub.clone()));
                }
                pending.push(sub);
            }
        }
        out.sort();
        out
    }
}

fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// Sub-folders (not following symlinks), sorted, without hidden ones.
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| !is_hidden(p))
        .collect();
    out.sort();
    out
}

/// The `*.hcl` files directly in `dir`, sorted.
pub(super) fn hcl_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| !is_hidden(p) && p.extension().is_some_and(|x| x == "hcl"))
        .collect();
    out.sort();
    out
}

fn stack_name(root: &Path, dir: &Path) -> String {
    dir.strip_prefix(root)
        .unwrap_or(dir)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// sha256 over every file of a stack folder, sub-folders included except hidden ones and
/// nested stacks (which have digests of their own). Each file contributes its relative path
/// and its bytes, so a rename changes the digest too.
pub(super) fn digest(dir: &Path) -> String {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if is_hidden(&p) {
                continue;
            }
            match e.file_type() {
                Ok(t) if t.is_dir() && hcl_files(&p).is_empty() => pending.push(p),
                Ok(t) if t.is_file() => files.push(p),
                _ => {}
            }
        }
    }
    let mut rel: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|p| (stack_name(dir, &p), p))
        .collect();
    rel.sort();
    let mut h = Sha256::new();
    for (name, path) in rel {
        let bytes = std::fs::read(&path).unwrap_or_default();
        h.update(name.as_bytes());
        h.update([0u8]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    format!("{:x}", h.finalize())
}
