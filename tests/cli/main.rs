//! Black-box tests: run the real `strata` binary in a fresh folder, with the in-process testing
//! provider keeping its "cloud" in another folder.

mod support;

mod aws;
mod azure;
mod bad_input;
mod commands;
mod config_cases;
mod crash;
mod doks;
mod drift;
mod encryption;
mod failures;
mod google;
mod interrupt;
mod language;
mod lifecycle;
mod onprem;
mod rules;
mod s3;
mod saved_plan;
mod secrets;
