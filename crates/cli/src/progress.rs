//! Live progress of an apply: one line when an operation starts, when the cloud reports a new
//! status, every few seconds while it runs, and when it ends.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata_core::{Address, Diagnostic};
use strata_engine::Events;
use strata_plan::Action;

struct InFlight {
    action: Action,
    status: Option<String>,
    started: Instant,
}

/// Prints engine events as plain lines on stdout; warnings and notes go to stderr.
pub struct Progress {
    in_flight: Mutex<BTreeMap<Address, InFlight>>,
}

impl Progress {
    pub fn new() -> Arc<Progress> {
        Arc::new(Progress {
            in_flight: Mutex::new(BTreeMap::new()),
        })
    }

    /// Prints a "still …" line for every operation in flight; called from a timer.
    pub fn tick(&self) {
        let lines: Vec<String> = {
            let map = self.in_flight.lock().expect("progress lock");
            map.iter()
                .map(|(a, f)| {
                    let status = f
                        .status
                        .as_deref()
                        .map(|s| format!("{s}, "))
                        .unwrap_or_default();
                    format!(
                        "{a}: Still {}... [{status}{} elapsed]",
                        ing(f.action),
                        elapsed(f.started.elapsed())
                    )
                })
                .collect()
        };
        for l in lines {
            say(&l);
        }
    }

    /// Spawns the timer that calls [`Progress::tick`]; `STRATA_PROGRESS_INTERVAL` (seconds)
    /// overrides the default of 10.
    pub fn start_ticker(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        let secs = std::env::var("STRATA_PROGRESS_INTERVAL")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10u64)
            .max(1);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_secs(secs));
            interval.tick().await;
            loop {
                interval.tick().await;
                me.tick();
            }
        })
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn ing(a: Action) -> &'static str {
    match a {
        Action::Create => "creating",
        Action::Update => "modifying",
        Action::Replace => "replacing",
        Action::Delete => "destroying",
        Action::Read => "reading",
        Action::NoOp => "checking",
    }
}

fn done(a: Action) -> &'static str {
    match a {
        Action::Create => "Creation complete",
        Action::Update => "Modifications complete",
        Action::Replace => "Replacement complete",
        Action::Delete => "Destruction complete",
        Action::Read => "Read complete",
        Action::NoOp => "Done",
    }
}

/// `4m10s`, `12s`.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

impl Events for Progress {
    fn operation_started(&self, address: &Address, action: Action) {
        self.in_flight.lock().expect("progress lock").insert(
            address.clone(),
            InFlight {
                action,
                status: None,
                started: Instant::now(),
            },
        );
        let mut word = ing(action).to_string();
        word[..1].make_ascii_uppercase();
        say(&format!("{address}: {word}..."));
    }

    fn operation_progress(&self, address: &Address, status: &str, elapsed_time: Duration) {
        let changed = {
            let mut map = self.in_flight.lock().expect("progress lock");
            match map.get_mut(address) {
                Some(f) if f.status.as_deref() != Some(status) && elapsed_time.as_secs() >= 1 => {
                    f.status = Some(status.to_string());
                    Some(f.action)
                }
                _ => None,
            }
        };
        if let Some(action) = changed {
            say(&format!(
                "{address}: Still {}... [{status}, {} elapsed]",
                ing(action),
                elapsed(elapsed_time)
            ));
        }
    }

    fn operation_succeeded(
        &self,
        address: &Address,
        action: Action,
        id: Option<&str>,
        elapsed_time: Duration,
    ) {
        self.in_flight
            .lock()
            .expect("progress lock")
            .remove(address);
        let id = id.map(|i| format!(" [id={i}]")).unwrap_or_default();
        say(&format!(
            "{address}: {} after {}{id}",
            done(action),
            elapsed(elapsed_time)
        ));
    }

    fn operation_failed(
        &self,
        address: &Address,
        action: Action,
        error: &str,
        elapsed_time: Duration,
    ) {
        self.in_flight
            .lock()
            .expect("progress lock")
            .remove(address);
        let first = error.lines().next().unwrap_or(error);
        say(&format!(
            "{address}: {} failed after {}: {first}",
            ing(action),
            elapsed(elapsed_time)
        ));
    }

    fn warning(&self, diagnostic: &Diagnostic) {
        eprint!("{}", diagnostic.render());
    }

    fn note(&self, message: &str) {
        eprintln!("{message}");
    }
}

/// Events for commands that show no progress (plan): only warnings and notes, on stderr.
pub struct Quiet;

impl Events for Quiet {
    fn warning(&self, diagnostic: &Diagnostic) {
        eprint!("{}", diagnostic.render());
    }

    fn note(&self, message: &str) {
        eprintln!("{message}");
    }
}
