//! Command-line flags.

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "strata",
    version,
    about = "Infrastructure as code for Kubernetes platforms on several clouds",
    long_about = "Strata plans and applies micro-stacks (base, database, deploy) as one dependency graph, \
                  keeps their state locally or in a shared bucket, and reports drift."
)]
pub struct Cli {
    /// The project root (default: the nearest parent folder with strata.hcl).
    #[arg(long, global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The environment whose variables and state to use.
    #[arg(long, global = true, env = "STRATA_ENV", value_name = "NAME")]
    pub env: Option<String>,
    /// More log output on stderr: -v for info, -vv for debug (RUST_LOG also works).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Run against the built-in cloud emulator instead of real clouds: no account needed. The
    /// emulated cloud is kept under .strata/emulator/ between commands.
    #[arg(long, global = true)]
    pub emulate: bool,
    /// Plain output without colour (output is plain in any case when not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the project, its providers and its state backend.
    Init {
        /// Copy every state from the previous backend (the one the last init saw) to the one
        /// strata.hcl names now. `-migrate-state` works too.
        #[arg(long)]
        migrate_state: bool,
    },
    /// Check the configuration without touching state or the network.
    Validate {
        #[arg(long)]
        json: bool,
    },
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Make the cloud match the configuration.
    Apply(ApplyArgs),
    /// Delete everything the selected stacks manage.
    Destroy(DestroyArgs),
    /// Check, read-only, whether the cloud, state and configuration still agree (for CI).
    Drift(DriftArgs),
    /// Show a stack's outputs.
    Output {
        stack: String,
        name: Option<String>,
        #[arg(long)]
        json: bool,
        /// Print one output's bare value, sensitive ones included.
        #[arg(long)]
        raw: bool,
    },
    /// Show the stack and resource graph.
    Graph {
        stacks: Vec<String>,
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Show a saved plan file.
    Show {
        planfile: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Run the cloud emulator, or change its emulated cloud out of band.
    #[command(subcommand)]
    Emulator(EmulatorCommand),
    /// Inspect and edit state.
    #[command(subcommand)]
    State(StateCommand),
    /// List providers, their resource types and attribute schemas.
    Providers {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, Args, Clone)]
pub struct Selection {
    /// Stacks to work on (default: all of them).
    pub stacks: Vec<String>,
    /// Every stack of the project, in dependency order.
    #[arg(long)]
    pub all: bool,
    /// Only this resource (and what it depends on); repeatable.
    #[arg(long, value_name = "ADDR")]
    pub target: Vec<String>,
    /// Leave out this resource (and what depends on it); repeatable.
    #[arg(long, value_name = "ADDR")]
    pub exclude: Vec<String>,
    /// How many operations may run at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    /// Keep N calls in flight even when a cloud throttles (by default a throttling cloud gets
    /// fewer calls at once, and more again as its answers go through).
    #[arg(long)]
    pub fixed_parallelism: bool,
    /// Read every resource from the cloud before planning (--refresh=false to skip).
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub refresh: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Save the plan to FILE for a later `strata apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Plan deleting everything instead.
    #[arg(long)]
    pub destroy: bool,
    /// Exit 0 with no changes, 2 with changes, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Print the plan as JSON (see docs/plan-json.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Stacks, and optionally a plan file saved by `strata plan --out`.
    #[arg(value_name = "STACK|PLANFILE")]
    pub args: Vec<String>,
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_name = "ADDR")]
    pub target: Vec<String>,
    #[arg(long, value_name = "ADDR")]
    pub exclude: Vec<String>,
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    /// Keep N calls in flight even when a cloud throttles (by default a throttling cloud gets
    /// fewer calls at once, and more again as its answers go through).
    #[arg(long)]
    pub fixed_parallelism: bool,
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub refresh: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DriftFormat {
    Text,
    Json,
    Markdown,
    Junit,
    Sarif,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Stacks to check (default: all of them).
    pub stacks: Vec<String>,
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_enum, default_value_t = DriftFormat::Text)]
    pub format: DriftFormat,
    /// Write the report to FILE instead of standard output (a one-line summary is still printed).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Check only shard I of N (1-based): every stack falls in exactly one shard.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Also list cloud objects, of the types the stacks manage, that no state of the
    /// environment knows.
    #[arg(long)]
    pub unmanaged: bool,
    /// Concurrent reads from the cloud.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    /// Keep N calls in flight even when a cloud throttles (by default a throttling cloud gets
    /// fewer calls at once, and more again as its answers go through).
    #[arg(long)]
    pub fixed_parallelism: bool,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub selection: Selection,
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the resources in state.
    List { stacks: Vec<String> },
    /// Show one resource's attributes (sensitive ones masked).
    Show { address: String },
    /// Forget a resource without deleting it from the cloud.
    Rm { address: String },
    /// Move a resource to another address in the same stack.
    Mv { source: String, destination: String },
    /// List the saved versions of a stack's state.
    History { stack: String },
    /// Make an earlier version of a stack's state current again (as a new version).
    Restore { stack: String, serial: u64 },
    /// Write a stack's current state to FILE (sensitive values included: the file is created
    /// readable by its owner only, and sealed when the project has an encryption block).
    Pull { stack: String, file: PathBuf },
    /// Replace a stack's state by the one in FILE (from `state pull`); refused if FILE belongs
    /// to another lineage or is older than the stored state, unless --force.
    Push {
        stack: String,
        file: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// List operations a killed run left unfinished, and what the next run will do about them.
    Pending { stacks: Vec<String> },
    /// Remove a stack's lock by hand (s3 backend), after checking its id.
    Unlock { stack: String, lock_id: String },
}

#[derive(Debug, Subcommand)]
pub enum EmulatorCommand {
    /// Serve the emulated clouds over HTTP until interrupted.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8787")]
        addr: std::net::SocketAddr,
        /// Folder that keeps the emulated cloud (default: in memory only).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Append every request and response to FILE as JSON lines.
        #[arg(long, value_name = "FILE")]
        request_log: Option<PathBuf>,
        /// Seconds a cluster or database stays provisioning.
        #[arg(long, default_value_t = 2.0)]
        provision_seconds: f64,
        /// Milliseconds added to every answer.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Extra random milliseconds, up to this many, added to every answer.
        #[arg(long, default_value_t = 0)]
        jitter_ms: u64,
        /// Fraction of requests answered with a 5xx error (0 to 1).
        #[arg(long, default_value_t = 0.0)]
        error_rate: f64,
        /// Fraction of requests answered with 429 and rate-limit headers (0 to 1).
        #[arg(long, default_value_t = 0.0)]
        throttle_rate: f64,
        /// Requests per second accepted before answering 429 (a quota that throttles under load).
        #[arg(long, value_name = "PER_SECOND")]
        rate_limit: Option<f64>,
    },
    /// List every emulated object.
    List {
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Change one field of one emulated object out of band (e.g. a node pool's count).
    Set {
        /// The object's id or name.
        object: String,
        /// A dotted field path: count, tags, spec.replicas, …
        field: String,
        /// The new value, as JSON (a bare word is taken as a string).
        value: String,
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
    },
    /// Delete one emulated object out of band.
    Delete {
        object: String,
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
    },
}
