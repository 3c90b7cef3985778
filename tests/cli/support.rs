//! Running `strata` against a copy of a fixture project.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

/// An example project of `stacks/`.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../stacks")
        .join(name)
}

/// A project copied into a temporary folder, and an empty cloud beside it.
pub struct Project {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub cloud: PathBuf,
    pub env: BTreeMap<String, String>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

impl Project {
    pub fn new(fixture_name: &str) -> Project {
        Project::from_dir(&fixture(fixture_name))
    }

    /// A copy of the project in `dir` (without its `.strata` folder).
    pub fn from_dir(dir: &Path) -> Project {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("project");
        copy_dir(dir, &root);
        let _ = std::fs::remove_dir_all(root.join(".strata"));
        let cloud = tmp.path().join("cloud");
        std::fs::create_dir_all(&cloud).unwrap();
        Project {
            _tmp: tmp,
            root,
            cloud,
            env: BTreeMap::new(),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_strata"));
        c.arg("--dir").arg(&self.root).args(args);
        c.env("STRATA_TESTING_DIR", &self.cloud);
        c.env_remove("STRATA_ENV")
            .env_remove("RUST_LOG")
            .env_remove("STRATA_TESTING_FAIL_ON");
        c.env_remove("STRATA_TESTING_LATENCY_MS");
        c.envs(&self.env);
        c.stdin(std::process::Stdio::null());
        c
    }

    /// Runs strata and waits for it, at most `STRATA_TEST_COMMAND_TIMEOUT` seconds (default 240):
    /// a command that hangs fails its test with what it printed so far instead of stalling the
    /// suite.
    pub fn run(&self, args: &[&str]) -> Run {
        use std::io::Read;
        let mut child = self
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("strata runs");
        let mut out_pipe = child.stdout.take().unwrap();
        let mut err_pipe = child.stderr.take().unwrap();
        let out_reader = std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = out_pipe.read_to_end(&mut b);
            b
        });
        let err_reader = std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = err_pipe.read_to_end(&mut b);
            b
        });
        let limit: u64 = std::env::var("STRATA_TEST_COMMAND_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(240);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(limit);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let stdout = String::from_utf8_lossy(&out_reader.join().unwrap()).into_owned();
        let stderr = String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned();
        match status {
            Some(status) => Run { code: status.code().unwrap_or(-1), stdout, stderr },
            None => panic!("strata {args:?} did not finish within {limit}s\n--- stdout\n{stdout}\n--- stderr\n{stderr}"),
        }
    }

    /// Runs and asserts the exit code.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, 0, "strata {args:?} failed:\n{r:?}");
        r
    }

    pub fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.root.join(rel), text).unwrap();
    }

    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let p = self.root.join(rel);
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.contains(from), "{rel} does not contain {from:?}");
        std::fs::write(p, s.replacen(from, to, 1)).unwrap();
    }

    /// The objects the testing provider holds: (type, name, id).
    pub fn inventory(&self) -> Vec<(String, String, String)> {
        let mut out: Vec<(String, String, String)> =
            strata_provider_testing::inventory(&self.cloud)
                .unwrap()
                .into_iter()
                .map(|(t, id, v)| (t, v["name"].as_str().unwrap_or_default().to_string(), id))
                .collect();
        out.sort();
        out
    }

    /// `strata state list` for every stack: the addresses in state.
    pub fn state_list(&self) -> Vec<String> {
        let r = self.ok(&["state", "list"]);
        let mut v: Vec<String> = r
            .stdout
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect();
        v.sort();
        v
    }

    /// `strata --env ENV state list`.
    pub fn state_list_env(&self, env: &str) -> Vec<String> {
        let r = self.ok(&["--env", env, "state", "list"]);
        r.stdout
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// The cloud ids state holds, read through `state show`.
    pub fn state_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for a in self.state_list() {
            if a.contains("(interrupted") {
                continue;
            }
            let r = self.ok(&["state", "show", &a]);
            let id = r
                .stdout
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("# provider = ")
                        .and_then(|x| x.split("id = ").nth(1))
                })
                .unwrap_or_else(|| panic!("no id in {r:?}"))
                .to_string();
            ids.push(id);
        }
        ids.sort();
        ids
    }
}
