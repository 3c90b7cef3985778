//! Data-driven checks of `strata validate` on broken projects: each case folder under
//! tests/fixtures/config-cases holds a project and `expected.txt`, the diagnostics `strata
//! validate` prints (paths relative to the case). `UPDATE_EXPECT=1` rewrites them.

use crate::support::fixture;
use std::path::Path;
use std::process::Command;

fn run_case(dir: &Path) -> Result<(), String> {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--dir")
        .arg(dir.join("project"))
        .arg("validate")
        .env_remove("STRATA_ENV")
        .output()
        .map_err(|e| e.to_string())?;
    let root = dir
        .join("project")
        .canonicalize()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stderr).replace(&format!("{}/", root.display()), "");
    let text = format!("exit {}\n{}", out.status.code().unwrap_or(-1), text);
    let expected_path = dir.join("expected.txt");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expected_path, &text).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(&expected_path)
        .map_err(|e| format!("{}: {e}", expected_path.display()))?;
    if expected != text {
        return Err(format!(
            "{}:\n--- expected\n{expected}\n--- actual\n{text}",
            dir.display()
        ));
    }
    Ok(())
}

#[test]
fn validate_reports_every_error_with_its_place() {
    let cases = fixture("config-cases");
    let mut failures = Vec::new();
    let mut n = 0;
    for entry in std::fs::read_dir(&cases).unwrap() {
        let dir = entry.unwrap().path();
        if dir.is_dir() {
            n += 1;
            if let Err(e) = run_case(&dir) {
                failures.push(e);
            }
        }
    }
    assert!(n >= 3, "no cases found in {}", cases.display());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
