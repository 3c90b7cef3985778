//! The plan data model: what would change, per resource and output, across stacks.

use crate::compare::values_equal;
use std::fmt;
use strata_core::{Address, Path, Value};

/// The version of the plan *file* format written by [`Plan::write_file`]. Files with a newer
/// version are refused rather than misread.
pub const FORMAT_VERSION: u32 = 1;

/// What will happen to one resource instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Delete and create again (in the order `create_before_destroy` says).
    Replace,
    Delete,
    /// A data source read deferred to apply time because its configuration is not yet known.
    Read,
}

impl Action {
    /// The lowercase name used in plan files and reports: `no-op`, `create`, `update`,
    /// `replace`, `delete`, `read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Read => "read",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "no-op" => Action::NoOp,
            "create" => Action::Create,
            "update" => Action::Update,
            "replace" => Action::Replace,
            "delete" => Action::Delete,
            "read" => Action::Read,
            _ => return None,
        })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The planned change of one resource instance.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceChange {
    pub address: Address,
    /// The provider configuration that manages it (`digitalocean`, `aws.west`).
    pub provider: String,
    pub action: Action,
    /// What state holds; `None` for a create.
    pub before: Option<Value>,
    /// The planned value, with unknowns; `None` for a delete.
    pub after: Option<Value>,
    /// The attributes whose change forces a replacement.
    pub replace_because: Vec<Path>,
    pub create_before_destroy: bool,
    /// Why the action was chosen when the diff alone does not say it, e.g. "deleted outside
    /// Strata", "tainted", "removed from configuration", "dependency of a replaced resource".
    pub reason: Option<String>,
}

/// The planned change of one stack output.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputChange {
    pub name: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub sensitive: bool,
}

impl OutputChange {
    /// True if the output is added, removed, or gets a different (or unknown) value.
    pub fn is_change(&self) -> bool {
        match (&self.before, &self.after) {
            (None, None) => false,
            (Some(b), Some(a)) => !values_equal(b, a),
            _ => true,
        }
    }
}

/// The plan of one stack, with what it was planned against, so that a saved plan can be
/// refused when state or configuration moved since.
#[derive(Debug, Clone, PartialEq)]
pub struct StackPlan {
    pub stack: String,
    pub state_lineage: Option<String>,
    pub state_serial: u64,
    pub config_digest: String,
    pub changes: Vec<ResourceChange>,
    pub outputs: Vec<OutputChange>,
}

/// A whole plan: every selected stack of one project and environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub format_version: u32,
    pub project: String,
    pub env: String,
    /// Made by `strata plan --destroy` / `strata destroy`.
    pub destroy: bool,
    /// RFC 3339 time of planning.
    pub created_at: String,
    pub strata_version: String,
    pub stacks: Vec<StackPlan>,
}

/// Counts of a plan's actions, as in `Plan: 3 to add, 1 to change, 1 to destroy.`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Creates, plus one per replace.
    pub add: usize,
    pub change: usize,
    /// Deletes, plus one per replace.
    pub destroy: usize,
    pub no_op: usize,
}

impl Plan {
    /// Every resource change of every stack, in plan order.
    pub fn changes(&self) -> impl Iterator<Item = &ResourceChange> {
        self.stacks.iter().flat_map(|s| s.changes.iter())
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in self.changes() {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::Delete => s.destroy += 1,
                Action::NoOp => s.no_op += 1,
                Action::Read => {}
            }
        }
        s
    }

    /// True if applying the plan would change a resource or an output. Deferred data source
    /// reads alone change nothing.
    pub fn has_changes(&self) -> bool {
        self.has_resource_changes()
            || self
                .stacks
                .iter()
                .flat_map(|s| &s.outputs)
                .any(OutputChange::is_change)
    }

    /// True if applying the plan would create, update, replace or delete a resource.
    pub fn has_resource_changes(&self) -> bool {
        self.changes()
            .any(|c| !matches!(c.action, Action::NoOp | Action::Read))
    }
}
