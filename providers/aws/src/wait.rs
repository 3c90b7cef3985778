//! The shared wait loop (`strata_core::wait`), timed by this provider's settings.

use crate::settings::Settings;
use std::time::Duration;
use strata_core::wait::WaitTiming;
pub(crate) use strata_core::wait::Waiter;

impl WaitTiming for Settings {
    fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    fn operation_timeout(&self) -> Duration {
        self.operation_timeout
    }
}
