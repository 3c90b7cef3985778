//! A dependency DAG over petgraph: building, cycle reports, and a parallel walker with bounded,
//! adaptive concurrency.
//!
//! The crate knows nothing of clouds, stacks or resources: a node is any `N`, an edge says "this
//! node needs that one done first". Strata builds one such graph across all stacks and walks it
//! for plan, apply, destroy and refresh.

mod dag;
mod edge_set;
mod limiter;
mod render;
mod walk;

pub use dag::{Cycle, Dag, NodeId};
pub use limiter::{Limiter, Permit, HOLD, PROBE_WINDOW};
pub use walk::{walk, Outcome, WalkReport};
