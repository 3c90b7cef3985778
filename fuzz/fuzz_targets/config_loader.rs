//! The configuration loader on any text: a stack's `main.hcl`, or the project's `strata.hcl`
//! when the input starts with the line `# strata.hcl`. Loading, validation against real
//! provider schemas, variable resolution and the rendering of every diagnostic must never
//! panic, whatever the file holds (invalid UTF-8 included).
//!
//! The loader reads a folder, so the input is written into a scratch project (in `/dev/shm`
//! when there is one, to keep the disk out of the loop); the folder is made once per process.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use strata_core::provider::Provider;
use strata_core::schema::{ProviderSchema, ResourceSchema};
use strata_core::Mode;

/// Marks an input meant as the project file rather than a stack file.
const PROJECT_MARK: &[u8] = b"# strata.hcl\n";

/// The project file used when the input is a stack file.
const PROJECT_FILE: &str = r#"project "fuzz" {}

environment "stage" {
  variables = {
    region = "nyc1"
    nodes  = 2
  }
}
"#;

/// The stack file used when the input is the project file.
const STACK_FILE: &str = r#"variable "region" {
  type = string
}

resource "digitalocean_vpc" "main" {
  name   = "fuzz-${var.region}"
  region = var.region
}

output "vpc_id" {
  value = digitalocean_vpc.main.id
}
"#;

struct Scratch {
    root: PathBuf,
    schemas: Vec<ProviderSchema>,
}

fn scratch() -> &'static Scratch {
    static SCRATCH: OnceLock<Scratch> = OnceLock::new();
    SCRATCH.get_or_init(|| {
        let base = ["/dev/shm", "/tmp"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        remove_stale_scratch(&base);
        let root = base.join(format!("{SCRATCH_PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(root.join("app")).expect("scratch project folder");
        Scratch {
            root,
            schemas: vec![
                strata_provider_digitalocean::DigitalOceanProvider::new().schema(),
                strata_provider_testing::TestingProvider::new().schema(),
            ],
        }
    })
}

/// Scratch folders are named after the process that uses them.
const SCRATCH_PREFIX: &str = "strata-fuzz-config-";

/// libFuzzer ends the process without running destructors, so each run's scratch folder is
/// left behind; the next run removes those whose process is gone.
fn remove_stale_scratch(base: &std::path::Path) {
    for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(SCRATCH_PREFIX)) else {
            continue;
        };
        if !std::path::Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn schema_of(schemas: &[ProviderSchema], mode: Mode, type_name: &str) -> Option<ResourceSchema> {
    schemas.iter().find_map(|s| {
        match mode {
            Mode::Managed => &s.resources,
            Mode::Data => &s.data_sources,
        }
        .get(type_name)
        .cloned()
    })
}

fn type_names(schemas: &[ProviderSchema], mode: Mode) -> Vec<String> {
    schemas
        .iter()
        .flat_map(|s| match mode {
            Mode::Managed => s.resources.keys(),
            Mode::Data => s.data_sources.keys(),
        })
        .cloned()
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let s = scratch();
    let (project, stack) = match data.strip_prefix(PROJECT_MARK) {
        Some(rest) => (rest, STACK_FILE.as_bytes()),
        None => (PROJECT_FILE.as_bytes(), data),
    };
    std::fs::write(s.root.join("strata.hcl"), project).expect("write strata.hcl");
    std::fs::write(s.root.join("app").join("main.hcl"), stack).expect("write main.hcl");

    let (loaded, diags) = strata_config::load_project_partial(&s.root);
    for d in &diags.0 {
        let _ = d.render();
    }
    let Some(project) = loaded else {
        return;
    };
    let checked = strata_config::validate_with_types(
        &project,
        &|mode, t| schema_of(&s.schemas, mode, t),
        &|mode| type_names(&s.schemas, mode),
    );
    for d in &checked.0 {
        let _ = d.render();
    }
    let environment = project.environments.get("stage");
    for stack in project.stacks.values() {
        if let Err(d) = strata_config::resolve_variables(stack, environment, &BTreeMap::new()) {
            for d in &d.0 {
                let _ = d.render();
            }
        }
    }
    // The strict entry point agrees with the partial one on whether the project loads.
    let strict = strata_config::load_project(&s.root);
    assert_eq!(
        strict.is_ok(),
        !diags.has_errors(),
        "load_project and load_project_partial disagree"
    );
});
