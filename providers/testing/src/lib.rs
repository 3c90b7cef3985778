//! An in-process provider for the engine's own tests.
//!
//! Its "cloud" is a folder — one JSON file per object, written atomically — so objects survive
//! across separate `strata` processes, including ones killed with SIGKILL mid-apply. Latency and
//! failures can be injected from the provider block or from the environment, and its resource
//! types have force-new, sensitive and computed attributes and a nested block, so that every
//! path of the engine can be exercised without a real cloud.
//!
//! ```hcl
//! provider "testing" {
//!   dir        = "/tmp/cloud"   # or $STRATA_TESTING_DIR
//!   latency_ms = 0              # or $STRATA_TESTING_LATENCY_MS
//!   fail_on    = ["app"]        # plus $STRATA_TESTING_FAIL_ON="a,b"
//! }
//! ```

mod provider;
mod schema;
mod settings;
mod store;

pub use provider::TestingProvider;
pub use schema::{CLUSTER, LOOKUP, THING};
pub use settings::{Settings, DIR_ENV, FAIL_ON_ENV, LATENCY_ENV};
pub use store::inventory;
