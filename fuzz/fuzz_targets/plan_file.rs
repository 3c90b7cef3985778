//! Plan files as `strata apply PLANFILE` reads them: any bytes must give a plan or a
//! `PlanFileError` naming the file, never a panic.
//!
//! A plan that parses must also survive the trip back to a file: writing it and reading it
//! again gives a plan with the same fingerprint, which is what apply relies on to check that
//! it executes the plan that was approved.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use strata_plan::Plan;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.plan");
    match Plan::from_file_bytes(path, data) {
        Ok(plan) => {
            let bytes = plan.to_file_bytes();
            let again = Plan::from_file_bytes(path, &bytes)
                .unwrap_or_else(|e| panic!("a written plan does not read back: {e}"));
            assert_eq!(
                again.fingerprint(),
                plan.fingerprint(),
                "the fingerprint changed through write/read"
            );
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains("fuzz.plan"),
                "error does not name the file: {message}"
            );
        }
    }
});
