//! What state holds: one [`StackState`] per (environment, stack), and the [`JournalEntry`]s that
//! record each completed operation between two snapshots.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use strata_core::{Address, Path, Value};

/// The newest state format this build reads and the one it writes. A snapshot, journal entry or
/// history record with a higher version is refused instead of being misread.
pub const FORMAT_VERSION: u32 = 1;

/// Which state: state is kept per environment and stack.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StateKey {
    pub env: String,
    pub stack: String,
}

impl StateKey {
    pub fn new(env: impl Into<String>, stack: impl Into<String>) -> StateKey {
        StateKey {
            env: env.into(),
            stack: stack.into(),
        }
    }

    /// Why this key cannot name a state, if it cannot. Both parts must be non-empty, and neither
    /// may hold `/` (it separates them in messages and object names) or control characters
    /// (backends use them as separators in storage keys).
    pub fn validate(&self) -> Result<(), String> {
        for (what, part) in [("environment", &self.env), ("stack", &self.stack)] {
            if part.is_empty() {
                return Err(format!("the {what} name is empty"));
            }
            if part.chars().any(char::is_control) {
                return Err(format!(
                    "the {what} name {part:?} contains a control character"
                ));
            }
        }
        // A stack in a nested folder is named with '/' (`platform/base`); an environment is one
        // word, so that "env/stack" reads back unambiguously.
        if self.env.contains('/') {
            return Err(format!("the environment name {:?} contains '/'", self.env));
        }
        if self
            .stack
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        {
            return Err(format!(
                "the stack name {:?} has an empty, '.' or '..' part",
                self.stack
            ));
        }
        Ok(())
    }
}

impl fmt::Display for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.env, self.stack)
    }
}

/// Everything Strata last saw of one stack in one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackState {
    pub format_version: u32,
    /// A UUID fixed when the state is first written; empty in a state that was never stored. A
    /// write carrying another lineage is refused: it belongs to a different history.
    pub lineage: String,
    /// Grows on every write, so that a plan made at one serial can be refused once state moved.
    pub serial: u64,
    /// Keyed by [`Address::local`], e.g. `testing_thing.a["k"]`.
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceState>,
    #[serde(default)]
    pub outputs: BTreeMap<String, OutputState>,
}

impl StackState {
    /// An empty state that was never stored: no lineage yet, serial 0.
    pub fn new() -> StackState {
        StackState {
            format_version: FORMAT_VERSION,
            lineage: String::new(),
            serial: 0,
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    /// Applies one journal entry. Returns true if the entry records a change of resources or
    /// outputs, in which case the serial has been bumped by one.
    pub fn apply(&mut self, entry: &JournalEntry) -> bool {
        match entry {
            JournalEntry::Intent(_) | JournalEntry::Abandoned { .. } => return false,
            JournalEntry::Applied { resource, .. } => {
                self.resources
                    .insert(resource.address.local(), resource.clone());
            }
            JournalEntry::Deleted { address, .. } => {
                self.resources.remove(address);
            }
            JournalEntry::Outputs(outputs) => self.outputs = outputs.clone(),
        }
        // Saturating: a damaged or edited snapshot may carry u64::MAX, and replaying it must
        // neither panic nor wrap the serial back to 0 (which would make old plans look fresh).
        self.serial = self.serial.saturating_add(1);
        true
    }
}

impl Default for StackState {
    fn default() -> StackState {
        StackState::new()
    }
}

/// One managed object as last seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    pub address: Address,
    /// The provider configuration that manages it: `testing`, `aws.west`.
    pub provider: String,
    /// The cloud's id for the object.
    pub id: String,
    /// Plain JSON; the sensitive marks live beside it in `sensitive_paths` so that the stored
    /// form stays ordinary JSON.
    pub attributes: serde_json::Value,
    #[serde(default)]
    pub sensitive_paths: Vec<Path>,
    /// Full addresses it depended on when applied; they order its deletion once it leaves the config.
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub schema_version: u32,
    /// Set when an operation made partial progress and failed; the next plan replaces or resumes it.
    #[serde(default)]
    pub status: ResourceStatus,
}

impl ResourceState {
    /// The attributes with their sensitive marks re-applied.
    pub fn value(&self) -> Value {
        Value::from_json(&self.attributes).mark(&self.sensitive_paths)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    #[default]
    Ready,
    /// An operation failed after the object was (partly) created or changed.
    Partial,
    /// Marked for replacement by the next apply.
    Tainted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputState {
    pub value: serde_json::Value,
    #[serde(default)]
    pub sensitive: bool,
}

/// Recorded before a create, update or delete starts, so that a run that dies mid-operation
/// leaves a trace the next run can reconcile (adopt what was created, confirm what was deleted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// A UUID that the closing entry refers to.
    pub id: String,
    pub action: IntentAction,
    pub address: Address,
    pub provider: String,
    /// Known for updates and deletes; for a create, the id the cloud gave back, if any.
    pub cloud_id: Option<String>,
    /// Redacted planned attributes: enough for a provider's `find` (name, tags), never
    /// sensitive values.
    pub planned: serde_json::Value,
    /// RFC 3339.
    pub started_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentAction {
    Create,
    Update,
    Delete,
}

/// One durable record of the journal. `Applied`, `Deleted` and `Abandoned` close the intent
/// they name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalEntry {
    Intent(Intent),
    Applied {
        intent: String,
        resource: ResourceState,
    },
    Deleted {
        intent: String,
        /// [`Address::local`] of the removed resource.
        address: String,
    },
    /// The operation failed cleanly: nothing changed in the cloud.
    Abandoned {
        intent: String,
    },
    /// The stack's outputs, replaced as a whole.
    Outputs(BTreeMap<String, OutputState>),
}

impl JournalEntry {
    /// The intent this entry closes, if it closes one.
    pub fn closes(&self) -> Option<&str> {
        match self {
            JournalEntry::Applied { intent, .. }
            | JournalEntry::Deleted { intent, .. }
            | JournalEntry::Abandoned { intent } => Some(intent),
            JournalEntry::Intent(_) | JournalEntry::Outputs(_) => None,
        }
    }
}

/// A state as a backend holds it: the last snapshot with every later journal entry replayed.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub state: StackState,
    /// Intents no entry has closed yet, in the order they were recorded: operations a run
    /// started and never reported back on.
    pub open_intents: Vec<Intent>,
}

impl Loaded {
    /// Replays `entries` (in journal order) on `snapshot`.
    pub fn replay<'a>(
        snapshot: StackState,
        entries: impl IntoIterator<Item = &'a JournalEntry>,
    ) -> Loaded {
        let mut state = snapshot;
        let mut open: Vec<Intent> = Vec::new();
        for entry in entries {
            match entry {
                JournalEntry::Intent(intent) => open.push(intent.clone()),
                other => {
                    if let Some(closed) = other.closes() {
                        open.retain(|i| i.id != closed);
                    }
                }
            }
            state.apply(entry);
        }
        Loaded {
            state,
            open_intents: open,
        }
    }
}

/// One stored version of a state, as `strata state history` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub serial: u64,
    /// RFC 3339.
    pub written_at: String,
    /// How many resources that version holds.
    pub resources: usize,
}

/// The current time in RFC 3339, UTC, the form every timestamp in state uses.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}
