//! Black-box tests: run the real `strata` binary in a fresh folder, with the in-process testing
//! provider keeping its "cloud" in another folder.

mod support;

mod commands;
mod config_cases;
mod crash;
mod doks;
mod drift;
mod failures;
mod interrupt;
mod language;
mod lifecycle;
mod rules;
mod s3;
mod saved_plan;
mod secrets;
